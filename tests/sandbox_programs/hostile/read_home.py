# The home folder of whoever runs the sandbox, and the usual secrets in it.
import os

for path in ["@HOME@", "/root", "/home"]:
    try:
        print("ESCAPED: listed", path, os.listdir(path)[:5])
    except OSError as error:
        print("CONTAINED", path, error.strerror)
for path in ["@HOME@/.bashrc", "@HOME@/.ssh/id_rsa", "@HOME@/.netrc", "@HOME@/.profile"]:
    try:
        open(path).read()
        print("ESCAPED: read", path)
    except OSError as error:
        print("CONTAINED", path, error.strerror)
