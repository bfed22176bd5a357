# The sandbox has its own PID space: only its own few processes are visible.
import os

pids = [p for p in os.listdir("/proc") if p.isdigit()]
print("ESCAPED: sees", len(pids), "processes") if len(pids) > 4 else print("CONTAINED", pids)
print("ESCAPED: host's init visible") if "systemd" in open("/proc/1/cmdline").read() else print("CONTAINED")
