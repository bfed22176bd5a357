# Busy loop in the shell.
while :; do :; done
