# Many files just under the file size limit, in the working folder: bounded by the memory limit.
i = 0
try:
    while True:
        with open(f"/sandbox/f{i}", "wb") as f:
            f.write(b"\1" * (4 << 20))
        i += 1
except OSError as error:
    print("CONTAINED", i, error)
