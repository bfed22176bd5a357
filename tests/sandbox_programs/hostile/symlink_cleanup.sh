# The same trap from the shell: a link to the host folder and a hard link attempt.
ln -s "@HOST_DIR@" /sandbox/trap
ln "@HOST_DIR@/keep.txt" /sandbox/hard 2>/dev/null && echo "ESCAPED: hard link"
echo CONTAINED
