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
	my ($expect, $log) = @_;
	return run_runner(args => [ '--timeout', 2, '--expect', $expect,
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

my $bad = expectations("basic todo fine\nbasic skip no such kind\n");
$r = run_with($bad, 'basic');
is($r->{verdict}, 'fail', 'a malformed expectations file fails the case');
like($r->{out}, qr/^not ok 1 - \S+:2: expected 'CASE-ID todo REASON'$/m,
     'with FILE:LINE');

$r = run_with('/nonexistent/expectations', 'basic');
is($r->{verdict}, 'fail', 'a missing expectations file fails the case');
like($r->{out}, qr/cannot read expectations file/, 'and says why');

done_testing;
