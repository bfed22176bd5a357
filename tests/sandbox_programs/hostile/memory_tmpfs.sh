# Fill the private /tmp (a tmpfs: RAM, charged to the run) with many files under the file size limit.
i=0
while head -c 8388608 /dev/zero > /tmp/fill.$i; do i=$((i + 1)); done
echo "CONTAINED after $i files"
