# Every DMN TCK model imports, exports as DMN 1.5 and re-imports identically: the re-imported version
# holds exactly the same rows (crm.dmn_model_json) and exports to exactly the same document.
# A dump and restore keeps models and their versions.
use strict;
use warnings;
use File::Find;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $root = ($ENV{CRM_SHARED} // '../shared') . '/testdata/dmn-tck';
my @models;
find(sub { push @models, $File::Find::name if /\.dmn$/ }, $root);
@models = sort @models;
ok(scalar(@models) > 0, 'TCK models found under ' . $root);

my $node = PostgreSQL::Test::Cluster->new('dmn');
$node->init;
$node->append_conf('postgresql.conf', "extension_destdir = '$ENV{CRM_DESTDIR}'") if $ENV{CRM_DESTDIR};
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION crm');

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s;
}

# text as a SQL literal without quoting problems: base64 through convert_from
sub sql_text
{
	my ($s) = @_;
	require MIME::Base64;
	my $b = MIME::Base64::encode_base64($s, '');
	return "convert_from(decode('$b', 'base64'), 'UTF8')";
}

foreach my $path (@models)
{
	my ($case) = $path =~ m{([^/]+)\.dmn$};
	my $doc = slurp($path);
	$doc =~ s/^<\?xml[^>]*\?>\s*//;    # the xml type refuses an encoding declaration in text
	my $name = $node->safe_psql('postgres', 'SELECT crm.dmn_import(' . sql_text($doc) . '::xml)');
	ok($name ne '', "$case: imports as \"$name\"");
	my $q = $name;
	$q =~ s/'/''/g;
	my $export1 = $node->safe_psql('postgres', "SELECT crm.dmn_export('$q')");
	like($export1, qr{https://www.omg.org/spec/DMN/20230324/MODEL/}, "$case: exports as DMN 1.5");
	my $name2 = $node->safe_psql('postgres',
		"SELECT crm.dmn_import(crm.dmn_export('$q'))");
	is($name2, $name, "$case: the export re-imports under the same name");
	is($node->safe_psql('postgres',
			"SELECT crm.dmn_model_json('$q', 1) = crm.dmn_model_json('$q', 2)"),
		't', "$case: the re-imported version holds the same rows");
	is($node->safe_psql('postgres', "SELECT crm.dmn_export('$q', 2)::text"),
		$node->safe_psql('postgres', "SELECT crm.dmn_export('$q', 1)::text"),
		"$case: both versions export the same document");
}

is($node->safe_psql('postgres', 'SELECT count(*) FROM crm.dmn_model WHERE is_current'),
	scalar(@models), 'one current version per model');

# pg_dump / pg_restore keeps every version and every lead's score (row_security = off during the
# restore: the guards let old versions and partial models in, leads keep their dumped scores)
$node->safe_psql('postgres', q{
	SELECT crm.dmn_import('<definitions xmlns="https://www.omg.org/spec/DMN/20230324/MODEL/" name="restore score" namespace="x">
	  <inputData id="s" name="source"><variable name="source" typeRef="string"/></inputData>
	  <decision id="p" name="points"><informationRequirement><requiredInput href="#s"/></informationRequirement>
	    <decisionTable hitPolicy="COLLECT" aggregation="SUM"><input><inputExpression><text>source</text></inputExpression></input>
	      <output name="points" typeRef="number"/>
	      <rule><description>referral</description><inputEntry><text>"referral"</text></inputEntry><outputEntry><text>30</text></outputEntry></rule>
	      <rule><description>any</description><inputEntry><text>-</text></inputEntry><outputEntry><text>5</text></outputEntry></rule>
	    </decisionTable></decision></definitions>');
	INSERT INTO crm.scoring_config (model_name, decision_name) VALUES ('restore score', 'points');
	INSERT INTO crm.lead (external_ref, source) VALUES ('r1', 'referral'), ('r2', 'web');
	INSERT INTO crm.lead_event (lead_id, kind) SELECT lead_id, 'page_view' FROM crm.lead WHERE external_ref = 'r2';
	CREATE DATABASE restored;
});
my $dump = $node->basedir . '/dmn.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump of models and scores');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
	'pg_restore brings back every model version');
my $snapshot = q{SELECT string_agg(m.name || ' v' || m.version || ' ' || md5(crm.dmn_model_json(m.name, m.version)::text), E'\n'
                    ORDER BY m.name, m.version) FROM crm.dmn_model m};
is($node->safe_psql('restored', $snapshot), $node->safe_psql('postgres', $snapshot),
	'every version has the same content after the restore');
my $scores = q{SELECT string_agg(external_ref || '=' || score || grade || score_reasons::text || scored_at, ' ' ORDER BY external_ref) FROM crm.lead};
is($node->safe_psql('restored', $scores), $node->safe_psql('postgres', $scores), 'leads keep their scores, reasons and times');
is($node->safe_psql('restored', q{INSERT INTO crm.lead (external_ref, source) VALUES ('r3', 'referral') RETURNING score}),
	'35', 'the restored model scores new leads');
$node->stop;
done_testing();
