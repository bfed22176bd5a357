# Links from the working folder to the host's secrets lead nowhere: those paths do not exist inside.
import os

for target in ["/root", "@HOME@/.bashrc", "@PROJECT_FILE@", "/proc/1/root@PROJECT_FILE@"]:
    link = f"/sandbox/link{abs(hash(target))}"
    os.symlink(target, link)
    try:
        os.listdir(link) if os.path.isdir(link) else open(link).read()
        print("ESCAPED:", target)
    except OSError as error:
        print("CONTAINED", target, error.strerror)
