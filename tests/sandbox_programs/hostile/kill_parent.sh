# kill -9 everything visible, including the parent.
kill -9 $PPID 2>/dev/null
kill -9 1 2>/dev/null
kill -9 -1 2>/dev/null
echo CONTAINED
