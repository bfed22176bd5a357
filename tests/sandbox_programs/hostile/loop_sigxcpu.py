# Ignore SIGXCPU (the soft CPU rlimit) and keep spinning.
import signal

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
while True:
    pass
