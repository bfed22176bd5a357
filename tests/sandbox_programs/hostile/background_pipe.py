# A background child that keeps stdout open: the run must still end when the program does.
import subprocess
import sys

subprocess.Popen(["sleep", "@SLEEP@"], stdout=sys.stdout, stderr=sys.stderr, start_new_session=True)
print("CONTAINED", flush=True)
