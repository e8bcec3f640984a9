#!/usr/bin/perl
# Expectations files (--expect): a listed case is reported as TAP TODO,
# whether it fails (a known failure) or passes (the entry can go); an
# unlisted case is judged as usual; a malformed file fails every case with
# FILE:LINE rather than expecting nothing.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Selftest;
use Test::More;
use File::Temp qw(tempfile);

sub expectations {
	my ($text) = @_;
	my ($fh, $path) = tempfile('mlr-expect.XXXXXX', TMPDIR => 1, UNLINK => 1);
	print $fh $text;
	close $fh;
	return $path;
}

sub run_with {
	my ($expect, $log, @opts) = @_;
	return run_runner(args => [ '--timeout', 2, '--expect', $expect, @opts,
		'--driver', driver('correct'), log_file($log), case_file('basic') ]);
}

my $listed = expectations("# known failures\n\nother-case todo not this one\nbasic todo replays the wrong case # really\n");
my $r = run_with($listed, 'basic-wrong');
is($r->{directive}, 'TODO', 'a listed failing case is a TODO');
like($r->{out}, qr/^not ok 1 - basic: .* # TODO replays the wrong case \\# really$/m,
     'not ok with the reason, its # escaped');
is_deeply($r->{parse_errors}, [], 'prove parses it');
like($r->{out}, qr/^  ---$/m, 'the diagnostics are still shown');

$r = run_with($listed, 'basic');
is($r->{directive}, 'TODO', 'a listed passing case is a TODO too');
like($r->{out}, qr/^ok 1 - basic: .* # TODO /m, 'ok ... # TODO: prove says "TODO passed"');

my $unlisted = expectations("other-case todo not this one\n");
$r = run_with($unlisted, 'basic-wrong');
is($r->{directive}, '', 'an unlisted case has no directive');
is($r->{verdict}, 'fail', 'and fails as usual');

my $bad = expectations("other todo fine\nbasic maybe no such kind\n");
$r = run_with($bad, 'basic');
is($r->{verdict}, 'fail', 'a malformed expectations file fails the case');
like($r->{out}, qr/^not ok 1 - \S+:2: expected 'CASE-ID todo REASON' or 'CASE-ID skip REASON'$/m,
     'with FILE:LINE');

$r = run_with(expectations("other todo x\nbasic todo one\n\nbasic skip two\n"), 'basic');
is($r->{verdict}, 'fail', 'a case listed twice fails');
like($r->{out}, qr/^not ok 1 - \S+:4: case 'basic' listed twice \(first at line 2\)$/m,
     'with FILE:LINE of the second entry');

# --- skip: not run at all ----------------------------------------------------
my $skip = expectations("basic skip hangs our port (issue 12)\n");
$r = run_with($skip, 'basic-wrong');
subtest 'a case listed as skip is # SKIP and never started' => sub {
	ok($r->{is_ok}, 'ok 1');
	is($r->{directive}, 'SKIP', 'SKIP');
	is($r->{explanation}, 'hangs our port (issue 12)', 'the reason');
	ok(!defined $r->{driver_pid}, 'no driver was started');
	check_clean($r, 'SKIP');
};

# --- --strict: a known failure that passes is not ok --------------------------
$r = run_with($listed, 'basic', '--strict');
subtest '--strict: a listed todo case that passes is not ok' => sub {
	is($r->{verdict}, 'fail', 'not ok 1');
	is($r->{directive}, '', 'no TODO directive: prove counts the failure');
	like($r->{message}, qr/^known failure now passes: remove it from \Q$listed\E \(line 4: basic todo replays/,
	     'says which entry to remove') or diag($r->{out});
	like($r->{err}, qr/known failure now passes/, '... on stderr too');
	is($r->{yaml}{step}, 'none: every step passed', '... no step is blamed');
	like($r->{yaml}{rerun}, qr/ CASES=\S+basic\.case EXPECT=\Q$listed\E STRICT=1$/,
	     '... and the rerun line reruns it as judged');
	check_clean($r);
};
$r = run_with($listed, 'basic-wrong', '--strict');
is($r->{directive}, 'TODO', '--strict: a listed case that still fails stays a TODO');
like($r->{out}, qr/^not ok 1 - .* # TODO /m, '... not ok # TODO');
$r = run_with($unlisted, 'basic', '--strict');
is($r->{verdict}, 'pass', '--strict: an unlisted passing case passes');
$r = run_with($skip, 'basic', '--strict');
is($r->{directive}, 'SKIP', '--strict: a skip entry stays a skip (nothing ran)');

$r = run_with('/nonexistent/expectations', 'basic');
is($r->{verdict}, 'fail', 'a missing expectations file fails the case');
like($r->{out}, qr/cannot read expectations file/, 'and says why');

done_testing;
