# Write into PID 1's memory (bubblewrap's init in the sandbox) through /proc/1/mem. Under the Python zygote the
# program is PID 1 itself: there is no other process of the sandbox to attack, and its own memory is its own.
import os

if os.getpid() == 1:
    print("CONTAINED: PID 1 is this program (no init to write into)")
else:
    try:
        with open("/proc/1/mem", "r+b") as f:
            f.seek(0x400000)
            f.write(b"\xcc")
        print("ESCAPED: wrote /proc/1/mem")
    except OSError as error:
        print("CONTAINED", error.strerror)
