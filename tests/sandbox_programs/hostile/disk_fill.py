# Write one file until the file size limit stops it.
try:
    with open("/sandbox/big", "wb") as f:
        while True:
            f.write(b"\0" * (1 << 20))
except OSError as error:
    print("CONTAINED", error)
