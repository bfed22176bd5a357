# The sandbox starts from an empty environment: nothing of the caller's leaks in.
import os

leaked = [k for k in os.environ if k.startswith("CODEMILL_TEST") or k in ("VIRTUAL_ENV", "SSH_AUTH_SOCK")]
print("ESCAPED: env", leaked) if leaked else print("CONTAINED", sorted(os.environ))
