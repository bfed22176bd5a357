# Other runs' working folders live under /dev/shm/codemill-sandbox on the host; they must not be visible.
import glob

found = glob.glob("/dev/shm/codemill-sandbox/*") + glob.glob("/tmp/codemill-sandbox/*")
print("ESCAPED: saw", found) if found else print("CONTAINED")
