# Plant links to a host folder the test made, hoping the sandbox's clean-up follows them and deletes it.
import os

os.symlink("@HOST_DIR@", "/sandbox/trap")
os.makedirs("/sandbox/deep/er", exist_ok=True)
os.symlink("@HOST_DIR@/keep.txt", "/sandbox/deep/er/keep.txt")
os.symlink("/", "/sandbox/root")
print("CONTAINED planted")
