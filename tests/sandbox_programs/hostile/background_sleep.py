# Leave a long sleep behind, in a new session, and exit at once.
import subprocess

subprocess.Popen(["sleep", "@SLEEP@"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print("CONTAINED exiting")
