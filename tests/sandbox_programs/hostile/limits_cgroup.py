# Raise the cgroup's memory limit from inside: /sys is not there, and cgroupfs cannot be mounted.
import ctypes

for path in ["/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/pids/pids.max"]:
    try:
        with open(path, "w") as f:
            f.write("-1")
        print("ESCAPED: wrote", path)
    except OSError as error:
        print("CONTAINED", path, error.strerror)
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"cgroup", b"/tmp", b"cgroup", 0, b"memory") == 0:
    print("ESCAPED: mounted cgroupfs")
else:
    print("CONTAINED mount errno", ctypes.get_errno())
