# Perl TAP tests (PostgreSQL::Test::Cluster): clusters of their own, run as an unprivileged user
# because initdb refuses root.
export PERL5LIB=/usr/lib/postgresql/15/lib/pgxs/src/test/perl
export PG_REGRESS=/usr/lib/postgresql/15/lib/pgxs/src/test/regress/pg_regress
work=$(mktemp -d /tmp/crm-tap.XXXXXX)
cp -r test/tap "$work/"
chmod -R a+rwX "$work"
run() {
    if [ "$(id -u)" -eq 0 ]; then
        su postgres -s /bin/bash -c "cd '$work' && PATH=/usr/lib/postgresql/15/bin:\$PATH PERL5LIB=$PERL5LIB PG_REGRESS=$PG_REGRESS CRM_DESTDIR=$CRM_DESTDIR \
            CRM_SHARED='$CRM_SHARED' prove -v tap/*.pl 2>&1"
    else
        (cd "$work" && CRM_SHARED="$CRM_SHARED" prove -v tap/*.pl 2>&1)
    fi
}
export CRM_SHARED=$(cd ../shared 2>/dev/null && pwd)
out=$(run)
echo "$out"
p=$(grep -cE '^ *ok [0-9]+' <<<"$out")
n=$(grep -cE '^ *not ok [0-9]+' <<<"$out")
grep -qE '^Result: PASS' <<<"$out" || [ $n -gt 0 ] || n=1
echo "$p passed, $n failed"
rm -rf "$work"
[ $n -eq 0 ]
