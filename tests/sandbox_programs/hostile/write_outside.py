# Write to the system folders and to a path on the host the test watches.
for path in ["/usr/bin/evil", "/etc/evil", "/evil", "@MARKER@"]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print("ESCAPED: wrote", path)
    except OSError as error:
        print("CONTAINED", path, error.strerror)
