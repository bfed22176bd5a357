# Writing to fd 0 (opened for writing by a duplicate) must fail: stdin is no scratch space.
if { printf 'xxxxxxxxxxxxxxxx' >&0; } 2>/dev/null; then
  echo "ESCAPED: wrote to fd 0"
else
  echo "CONTAINED"
fi
