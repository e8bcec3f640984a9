#!/usr/bin/perl
# Prosody releases (spec/CASES.md "Versions", PROTOCOL.md §1): the
# greeting word prosody=RELEASE picks the lines a case expects ("[13] "
# lines, none meaning 0.12), a group whose lines are all another
# release's is not there, "versions:" skips a case for other releases,
# and an unknown release or a malformed prefix is an error.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $case = case_file('releases');
my $l12 = log_file('releases-0.12');
my $l13 = log_file('releases-13');

expect_pass('no release word: the 0.12 lines and the unprefixed ones',
	driver => [ driver('announce'), '', 0, $l12 ], case => $case);
expect_pass('prosody=0.12 is the same',
	driver => [ driver('announce'), 'prosody=0.12', 0, $l12 ], case => $case);
expect_pass('prosody=13: the 13 lines, in a group too',
	driver => [ driver('announce'), 'config prosody=13', 0, $l13 ], case => $case);
expect_fail('the 13 output against a driver that says nothing fails',
	qr/differs from the expected lines/,
	driver => [ driver('announce'), '', 0, $l13 ], case => $case);
expect_fail('... and the 0.12 output against prosody=13',
	qr/differs from the expected lines/,
	driver => [ driver('announce'), 'prosody=13', 0, $l12 ], case => $case);
expect_fail('an unknown release fails the case, naming it',
	qr/follows prosody=14, a release the runner does not know/,
	driver => [ driver('announce'), 'prosody=14', 0, $l12 ], case => $case);

my $only = case_file('releases-13-only');
expect_skip('versions: 13 against a 0.12 driver is skipped',
	qr/^applies to prosody 13 only \(the driver follows 0\.12\)$/,
	driver => [ driver('announce'), '', 0, log_file('basic') ], case => $only);
expect_pass('... and runs against a 13 driver',
	driver => [ driver('announce'), 'prosody=13', 0, log_file('basic') ], case => $only);

# Parse errors, found whatever the driver (modlife-run --parse).
my $tmp = tempdir('mlr-releases.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;
sub parse_error {
	my ($transcript, $header) = @_;
	my $id = 'r' . ++$n;
	my $path = "$tmp/$id.case";
	open my $f, '>', $path or die $!;
	print $f "id: $id\ntitle: t\nrules: R-SELFTEST-1\n" . ($header // '') .
		"=== transcript\n> activate a.example\n$transcript";
	close $f or die $!;
	my $out = `$RUN --parse $path 2>&1`;
	return $? == 0 ? '' : $out;
}
like(parse_error("[14] ok true\nok true\n"), qr/bad release prefix/, 'an unknown release in a prefix');
like(parse_error("[13]ok true\nok true\n"), qr/bad release prefix/, 'a prefix without its space');
like(parse_error("[13] {\n"), qr/a release prefix stands before an expected line only/, 'a prefix on a group line');
like(parse_error("[0.12] ok true\n"), qr/has no expected lines.*\(the lines for prosody=13\)/,
	'a step with no line for 13 is malformed, naming the release');
like(parse_error("ok true\n", "versions: 12\n"), qr/unknown release '12' in 'versions'/, 'versions: an unknown release');
is(parse_error("[0.12] ok true\n[13] fail nil x\n"), '', 'one result line per release parses');
done_testing();
