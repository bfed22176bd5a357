# /proc/<pid>/root and /proc/<pid>/cwd of every visible process lead into the sandbox, never to the host.
import os

for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for part in ("root", "cwd"):
        try:
            seen = os.listdir(f"/proc/{pid}/{part}")
        except OSError:
            continue
        if "work" in seen or "home" in seen or "root" in seen:
            print("ESCAPED:", pid, part, seen)
print("CONTAINED")
