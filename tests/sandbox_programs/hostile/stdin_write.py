# Standard input must be read-only: no scratch space outside the memory limit (a sealed memfd or a pipe).
import os

wrote = []
try:
    os.write(0, b"x" * 65536)
    wrote.append("fd 0")
except OSError:
    pass
try:
    with open("/proc/self/fd/0", "r+b") as reopened:
        reopened.write(b"y" * 65536)
        reopened.flush()
    wrote.append("/proc/self/fd/0")
except OSError:
    pass
try:
    os.ftruncate(0, 1 << 20)
    wrote.append("ftruncate")
except OSError:
    pass
print("ESCAPED: wrote to stdin through " + ", ".join(wrote) if wrote else "CONTAINED")
