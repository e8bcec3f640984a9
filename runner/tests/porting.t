#!/usr/bin/perl
# PORTING.md for forks and other languages (issue 15): the CI recipe's
# `modlife check` line runs as written, from an installed PREFIX, against
# the toy driver and its known-failures file put where the recipe looks
# (ci/modlife-driver, ci/known-failures.txt), and passes; and the page
# has the sections a porter of a fork needs.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $page = do { open my $f, '<', 'PORTING.md' or die $!; local $/; <$f> };
my ($recipe) = $page =~ /^## 9\. CI with the installed tool\n(.*?)^## /ms;
ok($recipe, 'PORTING.md has the CI recipe');
my @check = ($recipe // '') =~ /^\s+- (modlife check .*)$/mg;
is(scalar @check, 1, '... with one modlife check line');

for my $topic ('is not named `prosody`', 'has no wrappers', 'configuration model differs',
	'auth providers', 'another Lua', 'Keeping the known-failures file honest') {
	like($page, qr/\Q$topic\E/, "PORTING.md: $topic");
}

my $tmp = tempdir('mlr-porting.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = `make --no-print-directory install PREFIX=$tmp/prefix 2>&1`;
is($? >> 8, 0, 'make install') or diag($out);
mkdir "$tmp/port";
mkdir "$tmp/port/ci";
copy('examples/toy-driver/driver', "$tmp/port/ci/modlife-driver") or die $!;
chmod 0755, "$tmp/port/ci/modlife-driver";
SKIP: {
	skip 'no modlife check line to run', 5 unless @check;
	# The list as the recipe says to write it, so that the test does not
	# hang on the toy's own list being current with every new case.
	$out = `cd $tmp/port && PATH=$tmp/prefix/bin:\$PATH modlife known-failures --impl ./ci/modlife-driver > ci/known-failures.txt`;
	ok(-s "$tmp/port/ci/known-failures.txt", 'modlife known-failures writes the first list');
	$out = `cd $tmp/port && PATH=$tmp/prefix/bin:\$PATH $check[0] 2>&1`;
	is($? >> 8, 0, "the recipe's line passes: $check[0]") or diag($out);
	like($out, qr/^modlife: \d+ passed, 0 failed, \d+ todo, \d+ skipped of \d+ against \.\/ci\/modlife-driver$/m,
		'... with the summary line');
	ok(-s "$tmp/port/modlife.xml", '... and writes the JUnit report');
	# A new difference makes it fail: drop one known failure.
	open my $f, '<', "$tmp/port/ci/known-failures.txt" or die $!;
	my @lines = grep { !/^same-host-twice / } <$f>;
	open $f, '>', "$tmp/port/ci/known-failures.txt" or die $!;
	print $f @lines;
	close $f;
	$out = `cd $tmp/port && PATH=$tmp/prefix/bin:\$PATH $check[0] 2>&1`;
	isnt($? >> 8, 0, '... and fails once a known failure is no longer listed');
}
done_testing;
