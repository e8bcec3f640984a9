#!/usr/bin/perl
# The toy driver of PORTING.md (examples/toy-driver/driver, Lua 5.4): it
# passes what it implements, fails what it does not (with the reason a
# porter would need), skips what needs a capability it does not announce,
# and make check with its expectations file passes.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

plan skip_all => 'lua5.4 is not installed'
	unless system('lua5.4 -v >/dev/null 2>&1') == 0;
my $toy = 'examples/toy-driver/driver';

expect_pass('the toy passes a case within its subset',
	driver => [ $toy ], case => case_file('toy-pass'));

my $r = expect_fail('the toy fails a case that hooks an event',
	qr/output of step 2 \(> load a\.example x\) differs/,
	driver => [ $toy ], case => case_file('toy-fail'));
like($r->{yaml}{first_divergence}{actual},
     qr/^fail false "mod_x\.lua:1: attempt to call a nil value \(method 'hook'\)\\n<traceback>"$/,
     '... showing what the toy answered');

expect_skip('the toy announces no capability: a case that needs one is skipped',
	qr/^needs reload items \(driver announced: nothing\)$/,
	driver => [ $toy ], case => case_file('needs'));

# With an expectations file, as PORTING.md shows.
my $tmp = tempdir('mlr-toy.XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $f, '>', "$tmp/exp.txt" or die $!;
print $f "# the toy's known failures\ntoy-fail todo the toy has no module:hook\n";
close $f;
my @cases = map { case_file($_) } qw(toy-pass toy-fail needs);
my $out = `make --no-print-directory RULES= check IMPL=$toy EXPECT=$tmp/exp.txt JOBS=2 CASES='@cases' 2>&1`;
is($? >> 8, 0, 'make check IMPL=toy EXPECT=...: PASS') or diag($out);
like($out, qr/^Result: PASS$/m, '... Result: PASS');
$out = `make --no-print-directory RULES= check IMPL=$toy JOBS=2 CASES='@cases' 2>&1`;
isnt($? >> 8, 0, '... and without it, FAIL');

# The toy's own list: well-formed, each case once (the runner fails every
# case on a malformed line or a case listed twice, so this is what make
# check would say first).
my (%listed, @bad);
open $f, '<', 'examples/toy-driver/expectations.txt' or die $!;
while (<$f>) {
	next if /^\s*(#|$)/;
	push @bad, "line $.: $_" unless /^\S+ (?:todo|skip) \S/;
	my ($id) = /^(\S+)/;
	push @bad, "line $.: $id listed twice" if $listed{$id}++;
}
close $f;
is_deeply(\@bad, [], 'examples/toy-driver/expectations.txt: CASE-ID todo|skip REASON, each case once');
cmp_ok(scalar keys %listed, '>', 0, '... and it lists known failures');

done_testing();
