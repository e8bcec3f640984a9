#!/usr/bin/perl
# The whole suite against a driver that greets and then hangs, as a user
# would run it: make check IMPL=... TIMEOUT=1 JOBS=16. It must finish
# within about (cases x timeout / jobs), report every case not ok, and
# leave no process of any driver and nothing in TMPDIR behind.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use POSIX qw(ceil);
use Selftest;
use Test::More;
use Time::HiRes qw(time sleep);

my $jobs = 16;
my $timeout = 1;
my @cases = glob 'cases/*/*.case';
my $n = @cases;
plan skip_all => 'no cases' unless $n;

# Short, so that the runner uses it for MODDIR (at most 24 bytes).
my $tmp = tempdir('mlrXXXXXX', DIR => '/tmp', CLEANUP => 1);
# Every driver and everything it starts inherits this: found by /proc.
my $mark = "hang-all-$$-" . int(rand 1e9);

sub marked {
	my @left;
	for my $env (glob '/proc/[0-9]*/environ') {
		open my $f, '<', $env or next;
		local $/;
		my $s = <$f> // '';
		push @left, $env =~ m{/proc/(\d+)/} if index($s, "MLR_HANG_MARK=$mark\0") >= 0;
	}
	return @left;
}

my $t0 = time;
my $out = `env TMPDIR=$tmp MLR_HANG_MARK=$mark make --no-print-directory check IMPL=$Selftest::ROOT/runner/tests/drivers/hang TIMEOUT=$timeout JOBS=$jobs 2>&1`;
my $rc = $? >> 8;
my $elapsed = time - $t0;
# The margin: starting the processes of a case costs CPU time, about
# 0.1 s of wall time per case on two cores, more on a loaded machine.
my $cores = () = (`cat /proc/cpuinfo` =~ /^processor\s*:/mg);
my ($load) = split ' ', `cat /proc/loadavg`;
my $busy = $load / ($cores || 1);
my $bound = ceil($n / $jobs) * $timeout + 0.1 * $n * ($busy > 1 ? $busy : 1) + 10;

isnt($rc, 0, "make check against a hanging driver fails ($n cases)");
like($out, qr/^Files=$n, Tests=$n,/m, 'prove ran every case') or diag(substr($out, -2000));
my $failed = () = $out =~ /^cases\/\S+\.case\s+\(Wstat: 0 Tests: 1 Failed: 1\)$/mg;
is($failed, $n, 'every case is not ok');
like($out, qr/timeout: no result line for step 1/, '... by the timeout');
like($out, qr/was to be skipped .*did not exit within $timeout s/,
     '... a case it would skip too: it does not exit when its input ends')
	if grep { /^needs:/m } map { local $/; open my $f, '<', $_; scalar <$f> } @cases;
cmp_ok($elapsed, '<', $bound,
       sprintf('finished in %.1f s, within %d cases x %d s / %d jobs + margin = %.0f s',
	       $elapsed, $n, $timeout, $jobs, $bound));
my @left;
for (1 .. 100) {
	@left = marked();
	last unless @left;
	sleep 0.05;
}
is_deeply(\@left, [], 'no process of any driver is left');
opendir my $d, $tmp or die $!;
is_deeply([ grep { !/^\.\.?$/ } readdir $d ], [], 'TMPDIR is empty again');

done_testing();
