# ptrace(PTRACE_ATTACH) on PID 1: bubblewrap's init runs outside the program's reach.
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(16, 1, None, None) == 0:  # PTRACE_ATTACH
    print("ESCAPED: attached to pid 1")
else:
    print("CONTAINED ptrace errno", ctypes.get_errno())
