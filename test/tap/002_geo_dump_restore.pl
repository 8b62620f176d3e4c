# pg_dump / pg_restore keeps territories and their geo-fences (every coordinate system, holes,
# circles, the hierarchy), and crm.locate works in the restored database.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('geo_dump');
$node->init;
$node->append_conf('postgresql.conf', "extension_destdir = '$ENV{CRM_DESTDIR}'") if $ENV{CRM_DESTDIR};
$node->start;
$node->safe_psql('postgres', q{CREATE DATABASE src; CREATE DATABASE dst;});
$node->safe_psql('src', q{
    CREATE EXTENSION crm;
    INSERT INTO crm.rep (employee_no, name) VALUES ('M1', '周经理');
    INSERT INTO crm.territory (code, name, fence, priority, manager_rep_id) VALUES
      ('JS', '江苏', 'POLYGON((116.3 30.7, 121.9 30.7, 121.9 35.2, 116.3 35.2, 116.3 30.7))', 200, 1);
    INSERT INTO crm.territory (code, name, fence, parent_id, priority) VALUES
      ('NJ', '南京', 'SRS=gcj02;POLYGON((118.6 31.9, 119.0 31.9, 119.0 32.2, 118.6 32.2, 118.6 31.9), (118.78 32.07, 118.8 32.07, 118.8 32.09, 118.78 32.07))', 1, 100),
      ('SZ', '苏州', 'SRS=bd09;MULTIPOLYGON(((120.4 31.2, 120.8 31.2, 120.8 31.5, 120.4 31.2)), ((120.9 31.3, 121.0 31.3, 121.0 31.4, 120.9 31.3)))', 1, 100),
      ('NJ-DTP', '南京特药圈', 'SRID=4326;CIRCLE(118.7969 32.0603, 800)', 2, 50);
    UPDATE crm.territory SET name = '江苏省' WHERE code = 'JS';   -- the parent row moves after its children
});
my $fences = q{SELECT string_agg(code || ':' || fence::text || ':' || coalesce(parent_id::text, '-'), E'\n' ORDER BY code) FROM crm.territory};
my $locate = q{SELECT string_agg(name, '>') FROM crm.locate(118.7969, 32.0603)};
my $before = $node->safe_psql('src', $fences);
my $located = $node->safe_psql('src', $locate);
is($located, '南京特药圈>南京>江苏省', 'locate before the dump: circle, city, province by priority');

my $dump = $node->basedir . '/geo.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump succeeds');
ok($node->run_log([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ]), 'pg_restore succeeds');
is($node->safe_psql('dst', $fences), $before, 'every fence, coordinate system and parent survives');
is($node->safe_psql('dst', $locate), $located, 'locate gives the same answer after the restore');
is($node->safe_psql('dst', q{INSERT INTO crm.territory (code, name, fence) VALUES ('X', 'x', 'POLYGON((0 0, 1 0, 1 1, 0 0))') RETURNING territory_id}),
   '5', 'territory ids continue');
is($node->safe_psql('dst', q{SELECT count(*) FROM crm.locate(0.5, 0.2)}), '1', 'the restored trigger keeps the index current');
$node->stop;
done_testing();
