# The mount table must not name the host's folders for this run (its run folder, the workspace base).
with open("/proc/self/mountinfo") as table:
    leaks = [line for line in table.read().splitlines() if "codemill-sandbox" in line or "/run-" in line]
print("ESCAPED: " + leaks[0] if leaks else "CONTAINED")
