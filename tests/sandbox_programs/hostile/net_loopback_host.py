# Connect to a server the test runs on the host's loopback: inside, 127.0.0.1 is the sandbox's own.
import socket

try:
    socket.create_connection(("127.0.0.1", @PORT@), timeout=2).close()
    print("ESCAPED: reached the host's loopback server")
except OSError as error:
    print("CONTAINED", error)
