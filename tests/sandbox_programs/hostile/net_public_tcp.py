# A public address must be unreachable: the sandbox has no network interface but its own loopback.
import socket

try:
    socket.create_connection(("1.1.1.1", 80), timeout=3).close()
    print("ESCAPED: connected to 1.1.1.1:80")
except OSError as error:
    print("CONTAINED", error)
