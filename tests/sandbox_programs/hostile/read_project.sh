# cat, ls and find on the host's paths.
cat "@PROJECT_FILE@" 2>/dev/null && echo "ESCAPED: cat project"
ls "@HOME@" 2>/dev/null && echo "ESCAPED: ls home"
find / -xdev -name pyproject.toml 2>/dev/null | grep -q . && echo "ESCAPED: found a pyproject.toml"
echo CONTAINED
