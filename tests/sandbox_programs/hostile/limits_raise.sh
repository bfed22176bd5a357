# ulimit up, then spin: the CPU limit must still end it.
ulimit -t unlimited 2>/dev/null && echo "ESCAPED: ulimit -t"
ulimit -f unlimited 2>/dev/null && echo "ESCAPED: ulimit -f"
echo CONTAINED
while :; do :; done
