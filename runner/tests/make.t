#!/usr/bin/perl
# The Makefile's knobs around the runner, as a user types them: STRICT=1,
# the selection knobs (ID, AREA, TAG, NOTAG, RULE with CASES), make list.
# Each runs `make check` against a fake driver on the self-test cases.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $tmp = tempdir('mlr-make.XXXXXX', TMPDIR => 1, CLEANUP => 1);
# The wrappers below run fake drivers and logs they do not name on their
# command line: the sandbox (runner/sandbox.c) must be told to show them.
$ENV{SANDBOX_EXPOSE} = "$Selftest::ROOT/runner/tests/drivers:$Selftest::ROOT/runner/tests/logs";

# make ARGS; returns (exit status, stdout+stderr). The self-test cases
# name rules of their own (R-SELFTEST-1), not spec/rules': RULES= off.
sub make {
	my $out = `make --no-print-directory RULES= @_ 2>&1`;
	return ($? >> 8, $out);
}

sub write_file {
	my ($path, $text) = @_;
	open my $f, '>', $path or die "$path: $!";
	print $f $text;
	close $f or die $!;
	return $path;
}

# IMPL is one path: wrap a fake driver and its log in a script.
sub wrapper {
	my ($name, @args) = @_;
	my $path = write_file("$tmp/$name",
		"#!/bin/sh\nexec $Selftest::ROOT/@{[ driver(shift @args) ]} @args \"\$@\"\n");
	chmod 0755, $path or die $!;
	return $path;
}
my $correct = wrapper('correct', 'correct', "$Selftest::ROOT/" . log_file('basic'));

# --- STRICT=1 ---------------------------------------------------------------
{
	my $exp = write_file("$tmp/exp.txt", "basic todo pretend it fails\n");
	my ($rc, $out) = make("check IMPL=$correct CASES=" . case_file('basic'),
		"EXPECT=$exp JOBS=1");
	is($rc, 0, 'a passing todo case: make check passes') or diag($out);
	like($out, qr/TODO passed/, '... prove says "TODO passed"');
	($rc, $out) = make("check IMPL=$correct CASES=" . case_file('basic'),
		"EXPECT=$exp JOBS=1 STRICT=1");
	isnt($rc, 0, 'STRICT=1: make check fails') or diag($out);
	like($out, qr/known failure now passes: remove it from \Q$exp\E/,
	     '... saying which line to remove');
}

# --- selection: tools/select and the make knobs --------------------------------
my $sel = "$tmp/cases";
mkdir $sel; mkdir "$sel/shared"; mkdir "$sel/unload";
my %cases = (
	'shared/one' => "rules: R-A-1\ntags: quirk seed\n",
	'shared/two' => "rules: R-A-2 R-B-1\nneeds: reload\n",
	'unload/three' => "rules: R-B-1\ntags: seed\n",
	'unload/four-x' => "rules: R-C-1 R-B-2.3\ntags: slow\nneeds: config items\n",
);
for my $k (sort keys %cases) {
	(my $id = $k) =~ s{.*/}{};
	write_file("$sel/$k.case", "id: $id\ntitle: $id\n$cases{$k}\n" .
		"=== transcript\n> list a\nok absolute-dir\n");
}
my @all = map { "$sel/$_.case" } qw(shared/one shared/two unload/four-x unload/three);

sub select_ids {
	my $out = `tools/select --runner $RUN @_ @all 2>&1`;
	return ($? >> 8, join ' ', map { m{([^/]+)\.case$} ? $1 : $_ } split /\n/, $out);
}
my @t = (
	[ '', 'one two four-x three', 'no option: every file, in order' ],
	[ "--id 't*'", 'two three', '--id: a glob' ],
	[ "--id 'one,f?ur-*'", 'one four-x', '--id: globs, comma-separated' ],
	[ "--id '[ot]*e'", 'one three', '--id: brackets' ],
	[ '--area unload', 'four-x three', '--area' ],
	[ '--tag seed', 'one three', '--tag' ],
	[ '--tag slow,quirk', 'one four-x', '--tag: any of a list' ],
	[ '--notag quirk', 'two four-x three', '--notag' ],
	[ '--notag quirk,slow', 'two three', '--notag: none of a list' ],
	[ '--rule R-B-1', 'two three', '--rule' ],
	[ '--rule R-B-2', 'four-x', '--rule: a rule selects its clauses (R-B-2.3)' ],
	[ '--rule R-B-2.3', 'four-x', '--rule: a clause' ],
	[ '--rule R-B-1.1', 'two three', '--rule: clause 1 is the bare rule id' ],
	[ '--area shared --notag quirk', 'two', 'options combine' ],
	[ '--tag seed --rule R-B-1 --area unload', 'three', '... all of them' ],
);
for my $t (@t) {
	my ($rc, $ids) = select_ids($t->[0]);
	is($ids, $t->[1], "tools/select $t->[2]");
}
my ($rc, $out) = select_ids('--tag nosuch');
is($rc, 1, 'tools/select: nothing selected exits 1');
like($out, qr/no case matches --tag nosuch/, '... and says so');
write_file("$sel/unload/broken.case", "id: broken\n");
$out = `tools/select --runner $RUN --tag seed @all $sel/unload/broken.case 2>&1`;
like($out, qr{broken\.case does not parse; selected}, 'a malformed case is selected, with a warning');
like($out, qr{unload/broken\.case$}m, '... so that it fails in the run');
unlink "$sel/unload/broken.case";

my $args = wrapper('args', 'args');
sub ran {
	my ($out) = @_;
	return join ' ', map { m{([^/]+)\.case \.+} ? $1 : () } split /\n/, $out;
}
($rc, $out) = make("check IMPL=$args JOBS=1 CASES='@all' AREA=unload NOTAG=slow");
is($rc, 0, 'make check AREA= NOTAG=: passes') or diag($out);
is(ran($out), 'three', '... running the selected case only');
($rc, $out) = make("check IMPL=$args JOBS=1 CASES='@all' ID='t*,one' RULE=R-B-1");
is(ran($out), 'two three', 'make check ID= RULE=');
($rc, $out) = make("check IMPL=$args JOBS=1 CASES='@all' TAG=seed");
is(ran($out), 'one three', 'make check TAG=');
($rc, $out) = make("check IMPL=$args JOBS=1 CASES='@all' TAG=nosuch");
isnt($rc, 0, 'make check: an empty selection fails');
unlike($out, qr/Result: PASS/, '... without running anything');

($rc, $out) = make("list CASES='@all'");
is($rc, 0, 'make list exits 0');
like($out, qr/^id\s+area\s+rules\s+tags\s+needs$/m, 'make list: a header');
like($out, qr/^four-x\s+unload\s+R-C-1 R-B-2\.3\s+slow\s+config items$/m, '... a row per case, needs last');
like($out, qr/^two\s+shared\s+R-A-2 R-B-1\s+reload$/m, '... empty tags stay a column');
like($out, qr/^4 cases$/m, '... and a count');
($rc, $out) = make("list CASES='@all' NOTAG=seed");
like($out, qr/^2 cases$/m, 'make list NOTAG=: the selection');

# --- JUNIT=FILE ----------------------------------------------------------------------
{
	my $wrong = wrapper('wrong', 'correct', "$Selftest::ROOT/" . log_file('basic-wrong'));
	my $xml = "$tmp/report.xml";
	my ($rc, $out) = make("check IMPL=$wrong JOBS=1 CASES='" . case_file('basic') . ' ' .
		case_file('args') . "' JUNIT=$xml");
	isnt($rc, 0, 'JUNIT=: a failing run still fails make check');
	like($out, qr/failed \(JUnit XML in \Q$xml\E\)/, '... and names the report');
	my $x = do { open my $f, '<', $xml or die "$xml: $!"; local $/; <$f> };
	like($x, qr/\A<testsuites>\n/, 'the report is JUnit XML');
	like($x, qr/<\/testsuites>\s*\z/, '... complete');
	my @suites = $x =~ /<testsuite\b/g;
	is(scalar @suites, 2, '... one testsuite per case file');
	like($x, qr/<failure\b[^>]*>.*output of step 2 \((?:>|&gt;) load a\.example hello\) differs/s,
	     '... the failure is listed, with its reason');
	like($x, qr/name="runner_tests_cases_basic_case"[^>]*>|<testsuite[^>]*name="runner_tests_cases_basic_case"/s,
	     '... under the case file');
	my $exp = write_file("$tmp/todo.txt", "basic todo known\n");
	($rc, $out) = make("check IMPL=$correct JOBS=1 CASES=" . case_file('basic') .
		" EXPECT=$exp JUNIT=$xml");
	is($rc, 0, 'JUNIT=: a passing todo passes, as without JUNIT') or diag($out);
	$x = do { open my $f, '<', $xml or die "$xml: $!"; local $/; <$f> };
	unlike($x, qr/<failure/, '... and the report agrees');
	($rc, $out) = make("check IMPL=$correct JOBS=1 CASES=" . case_file('basic') .
		" EXPECT=$exp JUNIT=$xml STRICT=1");
	isnt($rc, 0, 'JUNIT= STRICT=1: it fails');
	$x = do { open my $f, '<', $xml or die "$xml: $!"; local $/; <$f> };
	like($x, qr/<failure\b.*known failure now passes/s, '... and the report says why');

	# Skips and known failures are <skipped/>, not passes (issue 15).
	($rc, $out) = make("check IMPL=$wrong JOBS=1 CASES=" . case_file('basic') .
		" EXPECT=$exp JUNIT=$xml");
	is($rc, 0, 'JUNIT=: a known failure that fails passes the run') or diag($out);
	$x = do { open my $f, '<', $xml or die "$xml: $!"; local $/; <$f> };
	like($x, qr/<skipped\b[^>]*message="known failure: known"/, '... and is <skipped/> in the report')
		or diag($x);
	my $skip = write_file("$tmp/skip.txt", "basic skip not for this port\n");
	($rc, $out) = make("check IMPL=$wrong JOBS=1 CASES=" . case_file('basic') .
		" EXPECT=$skip JUNIT=$xml");
	$x = do { open my $f, '<', $xml or die "$xml: $!"; local $/; <$f> };
	like($x, qr/<skipped\b[^>]*message="skipped: not for this port"/, 'a skip is <skipped/> too')
		or diag($x);
	unlike($x, qr/<failure/, '... and nothing fails');
}

# --- the summary at the end of make check (issue 15) ---------------------------
{
	my $exp = write_file("$tmp/todo2.txt", "args todo known\n");
	my $wrong = wrapper('wrong2', 'correct', "$Selftest::ROOT/" . log_file('basic-wrong'));
	my ($rc, $out) = make("check IMPL=$wrong JOBS=2 CASES='" . case_file('basic') . ' ' .
		case_file('args') . ' ' . case_file('needs') . "' EXPECT=$exp");
	isnt($rc, 0, 'summary: a failing run fails');
	like($out, qr/^area\s+passed\s+failed\s+todo\s+skipped$/m, 'the table has its header');
	like($out, qr/^cases\s+0\s+1\s+1\s+1$/m, '... a row per area') or diag($out);
	like($out, qr/^modlife: 0 passed, 1 failed, 1 todo, 1 skipped of 3 against \Q$wrong\E$/m,
		'... and the modlife: line') or diag($out);
}

# --- RULES: a case naming a rule the spec does not define fails -----------------
{
	mkdir "$tmp/own";
	my $case = write_file("$tmp/own/norule.case", "id: norule\ntitle: t\nrules: R-PERHOST-1 R-NOPE-99\n\n" .
		"=== transcript\n> activate a.example\nevent * host-activated a.example\nok true\n");
	my ($rc, $out) = make("check CASES=$case RULES=spec/rules");
	isnt($rc, 0, 'a case naming an undefined rule fails make check');
	like($out, qr/norule\.case:3: rule R-NOPE-99 is not defined in \S+spec\/rules/, '... with FILE:LINE')
		or diag($out);
	like($out, qr/^own\s+0\s+1\s+0\s+0$/m, '... and a case outside cases/ has its folder as area');
	(my $ok = $case) =~ s/norule/goodrule/;
	write_file($ok, "id: goodrule\ntitle: t\nrules: R-PERHOST-1 R-PERHOST-9.2\n\n" .
		"=== transcript\n> activate a.example\nevent * host-activated a.example\nok true\n");
	($rc, $out) = make("check CASES=$ok RULES=spec/rules");
	is($rc, 0, '... one naming defined rules and a clause of one passes') or diag($out);
	write_file($case, "id: norule\ntitle: t\nrules: R-NOPE-99.2\n\n" .
		"=== transcript\n> activate a.example\nevent * host-activated a.example\nok true\n");
	($rc, $out) = make("check CASES=$case RULES=spec/rules");
	like($out, qr/norule\.case:3: rule R-NOPE-99\.2 is not defined/, '... a clause of an undefined rule fails');
}

# --- make bless: the reference records, real Prosody judges --------------------
SKIP: {
	skip 'real Prosody is not set up (make prosody-setup)', 4
		unless -d 'build/prosody/usr/lib/prosody';
	mkdir "$tmp/shared";
	my $proto = "id: proto\ntitle: a prototype\nrules: R-SHARED-2\n\n" .
		"=== mod_hello.lua\nmodule:log(\"info\", \"hi\");\n\n=== transcript\n" .
		"> activate a.example\n> load a.example hello\n";
	my $file = write_file("$tmp/shared/proto.case", $proto);
	my ($rc, $out) = make("bless CASES=$file");
	is($rc, 0, 'make bless: a prototype is recorded') or diag($out);
	like(do { open my $f, '<', $file; local $/; <$f> },
	     qr/^> load a\.example hello\nlog a\.example:hello info hi\n.*\nok <env hello\@a\.example>\n\z/ms,
	     '... with the reference\'s lines, Prosody agreeing');
	(my $changed = $proto) =~ s/\n\z/\nlog a.example:hello info bye\nok true\n/;
	write_file($file, $changed);
	($rc, $out) = make("bless CASES=$file");
	isnt($rc, 0, 'make bless: written lines that differ are refused');
	($rc, $out) = make("bless CASES=$file FORCE=1");
	is($rc, 0, 'make bless FORCE=1: replaced') or diag($out);
}

done_testing();
