# The only network interface is the sandbox's own loopback.
import socket

names = [name for _, name in socket.if_nameindex()]
print("ESCAPED: interfaces", names) if names != ["lo"] else print("CONTAINED", names)
