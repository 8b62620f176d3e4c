# Concurrency specs in test/isolation/specs, run by PostgreSQL's isolation tester.
ISO=/usr/lib/postgresql/15/lib/pgxs/src/test/isolation/pg_isolation_regress
specs=$(cd test/isolation/specs && ls *.spec 2>/dev/null | sed 's/\.spec$//' | sort)
[ -n "$specs" ] || { echo "no isolation specs"; echo "0 passed, 1 failed"; exit 1; }
out_dir="$LOG_DIR/isolation"; mkdir -p "$out_dir"
out=$($ISO --inputdir=test/isolation --outputdir="$out_dir" --load-extension=crm \
      --bindir=/usr/lib/postgresql/15/bin --dbname=crm_isolation $specs 2>&1)
rc=$?
echo "$out"
[ -f "$out_dir/regression.diffs" ] && head -200 "$out_dir/regression.diffs"
total=$(grep -cE '^(ok|not ok) |^test .* \.\.\. |^     [a-z_0-9-]+ +\.\.\. ' <<<"$out")
failed=$(grep -cE '^not ok |\.\.\. FAILED|\.\.\. failed' <<<"$out")
[ "$total" -gt 0 ] || { echo "0 passed, 1 failed"; exit 1; }
echo "$((total - failed)) passed, $failed failed"
[ $rc -eq 0 ]
