#!/usr/bin/perl
# Malformed cases are "not ok 1 - FILE:LINE: MESSAGE" (and no driver is
# started for them); --parse and --list for tools; usage errors.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

# file stem => [line, message regex]
my %bad = (
	'missing-id' => [4, qr/missing header key 'id'/],
	'missing-title' => [4, qr/missing header key 'title'/],
	'missing-rules' => [4, qr/missing header key 'rules'/],
	'id-mismatch' => [1, qr/id 'something-else' does not match the file name/],
	'unknown-key' => [4, qr/unknown header key 'author'/],
	'repeated-key' => [4, qr/header key 'title' repeated \(first at line 2\)/],
	'bad-rule' => [3, qr/bad rule id 'R-lower-2'/],
	'bad-rule-number' => [3, qr/bad rule id 'R-SELFTEST-x'/],
	'bad-clause' => [3, qr/bad rule id 'R-SELFTEST-2\.'/],
	'bad-header-line' => [4, qr/expected a header line/],
	'bad-module-name' => [5, qr/bad module name '\.\.\/evil'/],
	'empty-module-name' => [5, qr/bad module name ''/],
	'duplicate-module' => [7, qr/module 'a' defined twice \(first at line 5\)/],
	'unknown-section' => [5, qr/unknown section '=== modules'/],
	'module-after-transcript' => [8, qr/module section after the transcript/],
	'two-transcripts' => [8, qr/second transcript section/],
	'no-transcript' => [6, qr/no '=== transcript' section/],
	'header-only' => [3, qr/no '=== transcript' section/],
	'empty-transcript' => [7, qr/the transcript has no steps/],
	'expected-before-command' => [6, qr/expected line before the first command/],
	'step-without-lines' => [6, qr/step '> list a' has no expected lines/],
	'last-step-without-lines' => [8, qr/step '> list b' has no expected lines/],
	'result-mid-step' => [7, qr/result line before the end of the step/],
	'result-in-early-group' => [7, qr/result line before the end of the step/],
	'no-result-line' => [7, qr/last expected line of step '> list a' must be its result line/],
	'bad-command-line' => [6, qr/a command line is '> COMMAND'/],
	'unclosed-group' => [7, qr/group not closed with '\}'/],
	'group-across-command' => [9, qr/command inside a group: the group opened at line 7/],
	'nested-group' => [8, qr/groups do not nest/],
	'empty-member' => [10, qr/empty member in a group/],
	'empty-group' => [8, qr/empty group/],
	'unknown-group' => [7, qr/unknown group '\{ some order'/],
	'stray-close' => [7, qr/'\}' outside a group/],
	'stray-separator' => [7, qr/'--' outside a group/],
	'crlf' => [6, qr/carriage return/],
	'nul-byte' => [7, qr/NUL byte/],
	# needs: capability words of PROTOCOL.md §1 only
	'unknown-capability' => [4, qr/unknown capability 'reloading' in 'needs'/],
	# module versions and directives
	'duplicate-version' => [7, qr/module 'a' version \[v2\] defined twice \(first at line 5\)/],
	'bad-version-label' => [5, qr/bad module version label 'v 2'/],
	'unknown-directive' => [9, qr/unknown directive '! copy mod_a\.lua'/],
	'directive-unknown-module' => [9, qr/module 'b', which has no '=== mod_b\.lua' section/],
	'directive-unknown-label' => [10, qr/no section '=== mod_a\.lua \[v3\]' to write/],
	'directive-no-first-version' => [9, qr/no section '=== mod_a\.lua' \(the first version/],
	'delete-twice' => [10, qr/mod_a\.lua is not in MODDIR here: deleted at line 7/],
	'delete-never-written' => [9, qr/mod_a\.lua is not in MODDIR here: only labelled versions/],
	'label-on-delete' => [10, qr/bad directive '! delete mod_a\.lua \[v2\]'/],
	'directive-after-last-step' => [9, qr/directive after the last step/],
	'directive-in-group' => [9, qr/directive inside a group: the group opened at line 8/],
	'expected-after-directive' => [10, qr/expected line after a directive/],
	'directive-mid-step' => [8, qr/last expected line of step '> load a a' must be its result line/],
	# cases that could never pass (issue 11)
	'group-without-result' => [7, qr/step '> list a' ends with a group that holds no result line/],
	'line-too-long' => [7, qr/line longer than 65536 bytes, the protocol's limit/],
);

opendir my $d, 'runner/tests/cases/bad' or die $!;
my @files = sort grep { /\.case$/ } readdir $d;
closedir $d;
is_deeply([ sort map { "$_.case" } keys %bad ], \@files,
	  'every malformed case has an expectation here');

for my $stem (sort keys %bad) {
	my ($line, $re) = @{ $bad{$stem} };
	my $file = "runner/tests/cases/bad/$stem.case";
	my $r = run_runner(driver => [ driver('correct'), log_file('basic') ],
		case => $file);
	subtest "$stem: not ok with $file:$line" => sub {
		is($r->{verdict}, 'fail', 'not ok 1');
		like($r->{desc}, qr/^- \Q$file:$line: \E/, 'FILE:LINE') or
			diag($r->{out});
		like($r->{desc}, $re, 'message');
		ok(!defined $r->{driver_pid}, 'no driver was started');
		check_clean($r);
	};
	my $out = `$RUN --parse $file`;
	my $rc = $? >> 8;
	subtest "$stem: --parse" => sub {
		is($rc, 1, 'exit 1');
		like($out, qr/^\Q$file:$line: \E/, 'FILE:LINE');
		like($out, $re, 'message');
	};
}

my $r = run_runner(driver => [ driver('correct'), log_file('basic') ],
	case => 'runner/tests/cases/no-such.case');
subtest 'a missing case file' => sub {
	is($r->{verdict}, 'fail', 'not ok 1');
	like($r->{desc}, qr/no-such\.case: cannot open: No such file/, 'message');
	check_clean($r);
};

# --- --parse and --list on good cases -----------------------------------
my @good = map { case_file($_) }
	qw(basic glob group-lines groups modules one-of versions);
is(`$RUN --parse @good`, "ok\n", '--parse of good cases prints ok');
is($? >> 8, 0, '... and exits 0');
my $out = `$RUN --parse @good runner/tests/cases/bad/crlf.case 2>&1`;
is($? >> 8, 1, '--parse of a good and a bad case exits 1');
unlike($out, qr/^ok$/m, '... without printing ok');

is(`$RUN --list ${\ case_file('basic')} ${\ case_file('modules')}`,
   "basic\tcases\tR-SELFTEST-1\tselftest\t\nmodules\tcases\tR-SELFTEST-1\t\t\n",
   '--list: id, area, rules, tags, needs');
my $tmp = tempdir('mlr-list.XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$tmp/shared";
open my $f, '>', "$tmp/shared/spaced.case" or die $!;
print $f "# comment\nid: spaced\ntitle:  Words  \nrules:   R-A-1\tR-BB-22.3  \n" .
	"tags: x  y\nneeds:  reload   config \n\n=== transcript\n> list a\nok\n";
close $f;
is(`$RUN --list $tmp/shared/spaced.case`,
   "spaced\tshared\tR-A-1 R-BB-22.3\tx y\treload config\n",
   '--list: area from the folder, words normalised');
$out = `$RUN --list runner/tests/cases/bad/crlf.case 2>&1 >/dev/null`;
is($? >> 8, 1, '--list of a bad case exits 1');
like($out, qr/crlf\.case:6: /, '... with FILE:LINE on stderr');

# --- usage errors: exit 2, no TAP -----------------------------------------
for my $args ('', '--timeout 1', '--driver', '--driver x',
	      '--timeout 0 --driver x y', '--timeout abc --driver x y',
	      '--bogus --driver x y', '--parse', '--list') {
	my $o = `$RUN $args 2>&1`;
	is($? >> 8, 2, "usage error: modlife-run $args");
	unlike($o, qr/^1\.\./m, '... prints no TAP');
}
is(system("$RUN --help >/dev/null"), 0, '--help exits 0');

done_testing();
