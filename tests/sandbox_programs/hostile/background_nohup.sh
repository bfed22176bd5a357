# nohup + disown: survive the end of the shell.
nohup sleep @SLEEP@ >/dev/null 2>&1 &
disown
setsid sleep @SLEEP@ >/dev/null 2>&1 < /dev/null &
echo CONTAINED
