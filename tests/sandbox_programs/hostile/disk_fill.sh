# dd until the file size limit.
dd if=/dev/zero of=/sandbox/big bs=1M count=100000
