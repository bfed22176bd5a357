# Read the parent's environment and command line through /proc.
cat /proc/1/environ 2>/dev/null | tr '\0' '\n' | grep -q CODEMILL_TEST_SECRET && echo "ESCAPED: parent environ"
for p in /proc/[0-9]*; do tr '\0' ' ' < $p/cmdline 2>/dev/null; echo; done | grep -q '[p]ytest' && echo "ESCAPED: saw pytest"
echo CONTAINED
