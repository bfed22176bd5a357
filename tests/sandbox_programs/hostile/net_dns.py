# Name resolution must fail: no resolver is reachable.
import socket

try:
    print("ESCAPED: resolved", socket.getaddrinfo("pypi.org", 443))
except OSError as error:
    print("CONTAINED", error)
