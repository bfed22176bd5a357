# UDP to a public resolver must not leave the sandbox.
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
try:
    s.sendto(b"\x00" * 12, ("1.1.1.1", 53))
    s.recvfrom(512)
    print("ESCAPED: got a UDP answer")
except OSError as error:
    print("CONTAINED", error)
