# pg_dump / pg_restore of a database using crm keeps every user row, the identity counters, the
# row-level security and the grants, and the restored database keeps working.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "extension_destdir = '$ENV{CRM_DESTDIR}'") if $ENV{CRM_DESTDIR};
$node->start;

$node->safe_psql('postgres', q{
    CREATE DATABASE src;
    CREATE DATABASE dst;
});
$node->safe_psql('src', q{
    CREATE EXTENSION crm;
    INSERT INTO crm.tenant VALUES (1, '华东医药连锁', '{}'), (2, '江南快消', '{}');
    INSERT INTO crm.rep (tenant_id, employee_no, name, skills) VALUES (1, 'E1', '张伟', '{oncology}'), (2, 'F1', '陈静', '{}');
    INSERT INTO crm.rep (tenant_id, employee_no, name, manager_id) VALUES (1, 'E2', '李娜', 1);
    INSERT INTO crm.store (tenant_id, code, name, city, lon, lat) VALUES (1, 'NJ-1', '新街口店', '南京', 118.78, 32.04);
    INSERT INTO crm.household (tenant_id, label) VALUES (1, '王家');
    INSERT INTO crm.customer (tenant_id, member_no, display_name, household_id, home_store_id) VALUES (1, 'M1', '王女士', 1, 1);
    INSERT INTO crm.lead (tenant_id, source, company_name, owner_rep_id, status) VALUES (1, 'wechat', '诊所', 1, 'assigned');
    INSERT INTO crm.outbox (tenant_id, topic, payload) VALUES (1, 'lead.assigned', '{"lead_id":1}');
    INSERT INTO crm.tenant_member VALUES (1, 'crm_manager');
});

my $counts = q{SELECT string_agg(t || '=' || n, ' ' ORDER BY t) FROM (
    SELECT 'tenant' t, count(*) n FROM crm.tenant UNION ALL SELECT 'member', count(*) FROM crm.tenant_member
    UNION ALL SELECT 'rep', count(*) FROM crm.rep UNION ALL SELECT 'store', count(*) FROM crm.store
    UNION ALL SELECT 'household', count(*) FROM crm.household UNION ALL SELECT 'customer', count(*) FROM crm.customer
    UNION ALL SELECT 'lead', count(*) FROM crm.lead UNION ALL SELECT 'outbox', count(*) FROM crm.outbox) s};
my $before = $node->safe_psql('src', $counts);

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump succeeds');
my ($stdout, $stderr);
my $ok = $node->run_log([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ]);
ok($ok, 'pg_restore succeeds without errors');

is($node->safe_psql('dst', $counts), $before, 'every user table keeps its rows');
is($node->safe_psql('dst', q{SELECT name FROM crm.rep WHERE employee_no = 'E2'}), '李娜', 'UTF-8 text survives');
is($node->safe_psql('dst', q{SELECT m.name FROM crm.rep r JOIN crm.rep m ON m.rep_id = r.manager_id WHERE r.employee_no = 'E2'}),
   '张伟', 'self references survive');
is($node->safe_psql('dst', q{INSERT INTO crm.rep (tenant_id, employee_no, name) VALUES (1, 'E3', '新人') RETURNING rep_id}),
   '4', 'identity counters continue after the restored rows');
is($node->safe_psql('dst', q{INSERT INTO crm.lead (tenant_id, company_name) VALUES (1, 'x') RETURNING lead_id}),
   '2', 'lead ids continue');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_policies WHERE schemaname = 'crm'}),
   $node->safe_psql('src', q{SELECT count(*) FROM pg_policies WHERE schemaname = 'crm'}), 'policies are all there once');
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_class WHERE relnamespace = 'crm'::regnamespace AND relkind = 'r' AND NOT relrowsecurity}),
   '0', 'row-level security stays enabled');
$node->safe_psql('dst', q{CREATE ROLE dump_mgr LOGIN IN ROLE crm_manager});
is($node->safe_psql('dst', q{SET ROLE dump_mgr; SET crm.tenant_id = 1; SELECT count(*) FROM crm.rep}),
   '3', 'a tenant-1 manager sees tenant 1 after the restore');
my ($rc) = $node->psql('dst', q{SET ROLE dump_mgr; SET crm.tenant_id = 2; SELECT count(*) FROM crm.rep});
isnt($rc, 0, 'and still cannot read tenant 2');

$node->stop;
done_testing();
