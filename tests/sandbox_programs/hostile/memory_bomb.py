# Allocate and touch memory until something gives.
chunks = []
while True:
    chunks.append(bytearray(64 << 20))
