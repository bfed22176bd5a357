# The double-fork daemon: detach from everything, then sleep.
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.closerange(0, 3)
        os.execvp("sleep", ["sleep", "@SLEEP@"])
    os._exit(0)
print("CONTAINED parent exits")
