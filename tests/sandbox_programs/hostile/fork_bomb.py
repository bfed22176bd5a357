# Fork as fast as possible; each child forks too. The process limit must hold and the tree must die.
import os

while True:
    try:
        os.fork()
    except OSError:
        pass
