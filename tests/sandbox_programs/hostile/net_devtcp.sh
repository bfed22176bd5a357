# bash's /dev/tcp: the host's loopback server and a public address.
if exec 3<>/dev/tcp/127.0.0.1/@PORT@; then echo "ESCAPED: host loopback"; else echo "CONTAINED loopback"; fi
if timeout 3 bash -c 'exec 4<>/dev/tcp/1.1.1.1/80'; then echo "ESCAPED: public"; else echo "CONTAINED public"; fi
