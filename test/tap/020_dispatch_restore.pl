# Dispatch state across pg_dump / pg_restore: the per-lead dispatch state (reasons, SLA, owners'
# history) comes back from the dump, the rep counters (not dumped) are rebuilt by the triggers as
# reps and leads are restored, and the restored database dispatches on as before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dispatch_dump');
$node->init;
$node->append_conf('postgresql.conf', "extension_destdir = '$ENV{CRM_DESTDIR}'") if $ENV{CRM_DESTDIR};
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE src; CREATE DATABASE dst;');
$node->safe_psql('src', q{
    CREATE EXTENSION crm;
    INSERT INTO crm.rep (employee_no, name, capacity) VALUES ('R1', '甲', 3), ('R2', '乙', 3);
    INSERT INTO crm.territory (code, name, fence)
    VALUES ('NJ', '南京', 'POLYGON((118 31, 119 31, 119 33, 118 33, 118 31))');
    INSERT INTO crm.territory_rep (territory_id, rep_id) SELECT 1, rep_id FROM crm.rep;
    INSERT INTO crm.lead (external_ref, lon, lat) SELECT 'L' || g, 118.5, 32 FROM generate_series(1, 5) g;
    INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('far', 90, 40);
    UPDATE crm.lead SET status = 'converted' WHERE external_ref = 'L1';
});

my $state = q{SELECT string_agg(l.external_ref || ':' || l.status || ':' || coalesce(d.reason, '-') || ':'
                               || coalesce(d.sla_due_at::text, '-'), ' ' ORDER BY l.external_ref)
                FROM crm.lead l JOIN crm.lead_dispatch d USING (tenant_id, lead_id)};
my $load = q{SELECT string_agg(r.employee_no || '=' || ld.open_leads, ' ' ORDER BY r.employee_no)
               FROM crm.rep r JOIN crm.rep_load ld USING (tenant_id, rep_id)};
my $before_state = $node->safe_psql('src', $state);
my $before_load = $node->safe_psql('src', $load);
is($node->safe_psql('src', q{SELECT sum(open_leads) FROM crm.rep_load}), '4', 'four open leads before the dump');

my $dump = $node->basedir . '/dispatch.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump succeeds');
ok($node->run_log([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ]),
   'pg_restore succeeds without errors');
is($node->safe_psql('dst', $state), $before_state, 'dispatch state, reasons and deadlines are restored');
is($node->safe_psql('dst', $load), $before_load, 'rep counters are rebuilt from the restored leads');
is($node->safe_psql('dst', q{SELECT count(*) FROM crm.outbox}), $node->safe_psql('src', q{SELECT count(*) FROM crm.outbox}),
   'no push is sent twice by the restore');
is($node->safe_psql('dst', q{INSERT INTO crm.lead (external_ref, lon, lat) VALUES ('new', 118.5, 32) RETURNING status}),
   'assigned', 'the restored database dispatches new leads');
is($node->safe_psql('dst', q{SELECT string_agg(r.employee_no || '=' || ld.open_leads, ' ' ORDER BY r.employee_no)
                                FROM crm.rep r JOIN crm.rep_load ld USING (tenant_id, rep_id)}),
   $node->safe_psql('dst', q{SELECT string_agg(r.employee_no || '=' || (SELECT count(*) FROM crm.lead l
                                WHERE l.owner_rep_id = r.rep_id AND l.status IN ('assigned', 'accepted', 'qualified')),
                                ' ' ORDER BY r.employee_no) FROM crm.rep r}),
   'and counts them');
$node->stop;
done_testing();
