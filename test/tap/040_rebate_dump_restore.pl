# pg_dump / pg_restore keeps rebate runs exactly: statuses, totals, lines, approvals and the audit
# trail come back as they were (the guard triggers let the extension owner's COPY through), and the
# restored runs are as immutable as before.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rebate_dump');
$node->init;
$node->append_conf('postgresql.conf', "extension_destdir = '$ENV{CRM_DESTDIR}'") if $ENV{CRM_DESTDIR};
$node->start;

$node->safe_psql('postgres', q{
    CREATE DATABASE src;
    CREATE DATABASE dst;
    CREATE ROLE rb_clerk NOLOGIN;
    CREATE ROLE rb_boss NOLOGIN;
});
$node->safe_psql('src', q{
    CREATE EXTENSION crm;
    GRANT crm_manager TO rb_clerk;
    GRANT crm_admin TO rb_boss;
    INSERT INTO crm.dealer (code, name, level, region) VALUES ('D1', '南京经销商', 'A', '江苏'), ('D2', '杭州经销商', 'A', '浙江');
    INSERT INTO crm.rebate_program (code, name, tiers, period_type, cumulative, valid_from, valid_to)
    VALUES ('SAP', 'SAP', '[{"min": 5000, "rate": 0.02}, {"min": 20000, "rate": 0.04}]', 'quarter', true, '2026-01-01', '2026-12-31');
    INSERT INTO crm.dealer_txn (dealer_id, txn_date, kind, sku, amount) VALUES
        (1, '2026-02-10', 'purchase', 'X', 7000), (1, '2026-11-10', 'purchase', 'X', 20000), (2, '2026-02-11', 'purchase', 'X', 9000.5);
    SET ROLE rb_clerk;
    SELECT crm.compute_rebates(1, '2026-01-01', '2026-03-31');
    SELECT crm.submit_run(1);
    RESET ROLE;
    SET ROLE rb_boss;
    SELECT crm.approve_run(1, '同意');
    RESET ROLE;
    SET ROLE rb_clerk;
    SELECT crm.compute_rebates(1, '2026-10-01', '2026-12-31');
    SELECT crm.submit_run(2);
});

my $state = q{SELECT string_agg(format('%s:%s:%s:%s:%s', run_id, status, total_payable, created_by, approved_levels), ' ' ORDER BY run_id) FROM crm.rebate_run};
my $lines = q{SELECT string_agg(format('%s/%s:%s:%s', run_id, dealer_id, payable, explanation->>'settled'), ' ' ORDER BY run_id, dealer_id) FROM crm.rebate_line};
my $trail = q{SELECT string_agg(format('%s:%s:%s', run_id, event, actor), ' ' ORDER BY event_id) FROM crm.rebate_run_event};
my ($s1, $l1, $t1) = map { $node->safe_psql('src', $_) } ($state, $lines, $trail);
like($l1, qr{2/1:940\.00:140\.00}, 'the source has the SAP final line (1080 - 140 = 940)');

my $dump = $node->basedir . '/rebate.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump succeeds');
ok($node->run_log([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ]), 'pg_restore succeeds');

is($node->safe_psql('dst', $state), $s1, 'runs come back with their status, totals, creator and approvals');
is($node->safe_psql('dst', $lines), $l1, 'lines come back unchanged');
is($node->safe_psql('dst', $trail), $t1, 'the audit trail comes back unchanged');
my ($rc, $out, $err) = $node->psql('dst', q{UPDATE crm.rebate_line SET payable = 0 WHERE run_id = 1});
like($err, qr/immutable/, 'restored lines are still immutable');
is($node->safe_psql('dst', q{SET ROLE rb_boss; SELECT (crm.approve_run(2)).status}), 'approved',
   'the pending run can be approved after the restore');
is($node->safe_psql('dst', q{SET ROLE rb_clerk; SELECT crm.compute_rebates(1, '2026-07-01', '2026-09-30')}), '3',
   'run ids continue');

$node->stop;
done_testing();
