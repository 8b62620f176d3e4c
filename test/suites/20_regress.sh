# pg_regress over sql/*.sql against expected/*.out, with the extension loaded in each test database.
out=$(make -s installcheck PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config 2>&1)
rc=$?
echo "$out"
[ -f regression.diffs ] && cp regression.diffs "$LOG_DIR/regress.diffs" && head -200 regression.diffs
total=$(grep -cE '^(ok|not ok) |^test .* \.\.\. |^     [a-z_0-9]+ +\.\.\. ' <<<"$out")
failed=$(grep -cE '^not ok |\.\.\. FAILED|\.\.\. failed' <<<"$out")
if [ "$total" -eq 0 ]; then echo "0 passed, 1 failed"; exit 1; fi
echo "$((total - failed)) passed, $failed failed"
[ $rc -eq 0 ]
