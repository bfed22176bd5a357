# Sleep forever: no CPU used, so only the wall-time limit can end it.
import time

time.sleep(100000)
