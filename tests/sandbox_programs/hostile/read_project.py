# The project's own files (the test passes their real path on the host).
for path in ["@PROJECT_FILE@", "@PROJECT_DIR@/README.md"]:
    try:
        open(path).read()
        print("ESCAPED: read", path)
    except OSError as error:
        print("CONTAINED", path, error.strerror)
