# Overwrite system files and create the host's marker.
echo pwned >> /etc/passwd 2>/dev/null && echo "ESCAPED: /etc/passwd"
touch /usr/local/bin/evil 2>/dev/null && echo "ESCAPED: /usr/local/bin"
mkdir -p "$(dirname "@MARKER@")" 2>/dev/null; echo pwned > "@MARKER@" 2>/dev/null
cp /bin/sh /bin/bash 2>/dev/null && echo "ESCAPED: replaced bash"
echo CONTAINED
