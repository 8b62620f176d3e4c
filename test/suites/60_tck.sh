# DMN TCK (../shared/testdata/dmn-tck) through crm.dmn_import and crm.decide on the live cluster.
# The runner prints one line per case and ends with "N passed, N failed" (one per result node).
db=crm_tck
dropdb --if-exists $db; createdb $db
psql -X -q -d $db -c 'CREATE EXTENSION crm' || { echo "0 passed, 1 failed"; exit 1; }
tck=../shared/tools/dmn-tck-run
[ -x "$tck" ] || { echo "$tck not found"; echo "0 passed, 1 failed"; exit 1; }
PGDATABASE=$db "$tck" ../shared/testdata/dmn-tck
