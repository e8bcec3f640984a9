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

# make ARGS; returns (exit status, stdout+stderr).
sub make {
	my $out = `make --no-print-directory @_ 2>&1`;
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

done_testing();
