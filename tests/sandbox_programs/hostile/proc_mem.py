# Write into PID 1's memory (bubblewrap's init in the sandbox) through /proc/1/mem.
try:
    with open("/proc/1/mem", "r+b") as f:
        f.seek(0x400000)
        f.write(b"\xcc")
    print("ESCAPED: wrote /proc/1/mem")
except OSError as error:
    print("CONTAINED", error.strerror)
