# pgTAP suites in test/pgtap, run by pg_prove in a fresh database with pgtap and crm installed.
db=crm_pgtap
dropdb --if-exists $db; createdb $db
psql -X -q -d $db -c 'CREATE EXTENSION pgtap' -c 'CREATE EXTENSION crm' || { echo "0 passed, 1 failed"; exit 1; }
pass=0; fail=0
for f in test/pgtap/*.sql; do
    out=$(pg_prove -d $db --verbose "$f" 2>&1)
    echo "$out" | grep -vE '^ok ' 
    p=$(grep -cE '^ok [0-9]+' <<<"$out")
    n=$(grep -cE '^not ok [0-9]+' <<<"$out")
    planned=$(grep -oE '^1\.\.[0-9]+' <<<"$out" | head -1 | cut -d. -f3)
    # a plan not reached (died mid-way) counts the missing tests as failures
    if [ -n "$planned" ] && [ $((p + n)) -lt "$planned" ]; then n=$((planned - p)); fi
    if [ $((p + n)) -eq 0 ]; then n=1; fi
    echo "$(basename "$f"): $p passed, $n failed"
    pass=$((pass + p)); fail=$((fail + n))
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
