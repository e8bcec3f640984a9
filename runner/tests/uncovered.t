#!/usr/bin/perl
# tools/uncovered and tools/spec-index on a toy spec: every clause of a
# rule ([.1], [.2], ... in its text, SPEC.md) needs a case of its own, a
# bare rule id names the main clause only, an id the spec does not define
# is an error, and make test fails when any of that is wrong.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $tmp = tempdir('mlr-uncovered.XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_file {
	my ($path, $text) = @_;
	open my $f, '>', "$tmp/$path" or die "$path: $!";
	print $f $text;
	close $f or die $!;
}

sub case {
	my ($name, $rules, $tags) = @_;
	write_file("cases/toy/$name.case", "id: $name\ntitle: t\nrules: $rules\n" .
		($tags ? "tags: $tags\n" : '') . "\n=== transcript\n> list a\nok\n");
}

# Runs TOOL in the toy tree; returns (exit status, output).
sub tool {
	my ($tool) = @_;
	my $out = `cd $tmp && RUNNER=$RUN $ROOT/tools/$tool 2>&1`;
	return ($? >> 8, $out);
}

make_path("$tmp/spec/rules", "$tmp/cases/toy");
write_file('spec/rules/01-toy.md', <<'EOF_SPEC');
# Toy (area `toy`)

- **R-TOY-1** (defined). [.1] The main clause,
  over two lines; [.2] a boundary.
- **R-TOY-2** (defined, quirk). One clause only.
EOF_SPEC
write_file('spec/SPEC.md', "# toy\n\n<!-- BEGIN GENERATED INDEX (make spec-index) -->\n" .
	"<!-- END GENERATED INDEX -->\n");

case('main', 'R-TOY-1');
case('quirk', 'R-TOY-2', 'quirk');
my ($rc, $out) = tool('uncovered');
is($rc, 1, 'a clause without a case: exit 1');
is($out, "R-TOY-1.2 (defined): no case checks it\n",
	'... naming the clause; the bare rule id covered clause 1');

case('boundary', 'R-TOY-1.2');
($rc, $out) = tool('uncovered');
is($out, '', 'every clause named: prints nothing');
is($rc, 0, '... and exits 0');

($rc, $out) = tool('spec-index');
is($rc, 0, 'spec-index runs');
open my $f, '<', "$tmp/spec/SPEC.md" or die $!;
my $spec = do { local $/; <$f> };
like($spec, qr/^\| R-TOY-1\.1 \| defined \| `toy\/main` \|$/m, 'index: clause 1 from the bare id');
like($spec, qr/^\| R-TOY-1\.2 \| defined \| `toy\/boundary` \|$/m, 'index: clause 2');
like($spec, qr/^\| R-TOY-2 \| defined \| `toy\/quirk` \|$/m, 'index: a rule without clauses');
($rc) = tool('spec-index --check');
is($rc, 0, 'spec-index --check: up to date');

case('boundary', 'R-TOY-1.3 R-TOY-2.1');
($rc, $out) = tool('uncovered');
is($rc, 1, 'undefined clause ids: exit 1');
like($out, qr/^cases\/toy\/boundary\.case: names R-TOY-1\.3, which no file/m, '... clause beyond the last');
like($out, qr/^cases\/toy\/boundary\.case: names R-TOY-2\.1, which no file/m, '... clause of a rule without clauses');
like($out, qr/^R-TOY-1\.2 \(defined\): no case checks it$/m, '... and the clause is uncovered again');

case('boundary', 'R-TOY-1.2 R-TOY-2');
($rc, $out) = tool('uncovered');
like($out, qr/boundary\.case: checks quirk R-TOY-2 but lacks the tag quirk/, 'quirk rule without the tag');
is($rc, 1, '... exit 1');
case('boundary', 'R-TOY-1.2');

# A version rule's clauses count for the rule: some case of it must run
# for each release (`versions:`, spec/CASES.md).
write_file('spec/rules/01-toy.md', "- **R-TOY-1** (defined). [.1] a [.2] b\n" .
	"- **R-TOY-2** (defined, quirk). c\n- **R-TOY-3** (version). [.1] d [.2] e\n");
case('v1', 'R-TOY-3', undef);
case('v2', 'R-TOY-3.2', undef);
($rc, $out) = tool('uncovered');
is($out, '', 'a version rule whose cases run for both releases');
write_file('cases/toy/v1.case', "id: v1\ntitle: t\nrules: R-TOY-3.1\nversions: 0.12\n\n=== transcript\n> list a\nok\n");
write_file('cases/toy/v2.case', "id: v2\ntitle: t\nrules: R-TOY-3.2\nversions: 0.12\n\n=== transcript\n> list a\nok\n");
($rc, $out) = tool('uncovered');
is($out, "R-TOY-3 (version): no case runs for Prosody 13\n", '... its clauses all run for 0.12 only: reported once, for the rule');
is($rc, 1, '... exit 1');
unlink "$tmp/cases/toy/v1.case", "$tmp/cases/toy/v2.case";

write_file('spec/rules/01-toy.md', "- **R-TOY-1** (defined). [.1] a [.3] b\n");
($rc, $out) = tool('uncovered');
isnt($rc, 0, 'clause markers out of order: fails');
like($out, qr/R-TOY-1: clause marker \[\.3\] where \[\.2\] was due/, '... saying where');

# make test runs tools/uncovered: it fails on an uncovered clause.
open my $mk, '<', "$ROOT/Makefile" or die $!;
my ($recipe) = do { local $/; <$mk> } =~ /^test:\n((?:\t.*\n)+)/m;
like($recipe, qr/^\ttools\/uncovered$/m, 'make test runs tools/uncovered');

done_testing();
