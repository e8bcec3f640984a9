#!/usr/bin/perl
# Capabilities (spec/PROTOCOL.md §1): a case whose "needs:" the driver's
# greeting did not all announce is "ok 1 - ... # SKIP needs X (driver
# announced: ...)", and no command is sent. The driver is still started
# (for the greeting) and must then take the end of its input as usual:
# exit 0 without writing; otherwise the case is not ok, not skipped.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Selftest;
use Test::More;

my $case = case_file('needs');
my $log = log_file('basic');
my $all = 'config reload depends items host-items status shared-data wrappers '
	. 'components unhook meta reload-state auth-providers format hook-tag context start timers';

my $r = expect_pass('a driver announcing exactly what the case needs runs it',
	driver => [ driver('announce'), 'items reload', 0, $log ], case => $case);
like($r->{stdin}, qr/^activate a\.example\n/, '... and got the commands');

expect_pass('a driver announcing every capability runs it',
	driver => [ driver('announce'), $all, 0, $log ], case => $case);

expect_pass('a case that needs nothing runs against a driver announcing nothing',
	driver => [ driver('announce'), '', 0, $log ], case => case_file('basic'));

$r = expect_skip('nothing announced: skipped, every need named',
	qr/^needs reload items \(driver announced: nothing\)$/,
	driver => [ driver('announce'), '', 0, $log ], case => $case);
ok(!defined $r->{stdin}, '... and no command was sent');
like($r->{out}, qr/^ok 1 - needs: A case that needs reload and items # SKIP needs reload items \(driver announced: nothing\)$/m,
     'ok 1 - ID: TITLE # SKIP needs X (driver announced: ...)');
ok(defined $r->{driver_pid}, '... the driver was started for its greeting');

$r = expect_skip('one missing: only it is named; unknown words are ignored',
	qr/^needs items \(driver announced: reload x-future\)$/,
	driver => [ driver('announce'), 'reload  x-future', 0, $log ],
	case => $case);
ok(!defined $r->{stdin}, '... and no command was sent');

expect_fail('a skipped case whose driver then exits 1 is not ok',
	qr/was to be skipped \(needs reload items .*\), but .*exited with status 1/,
	driver => [ driver('announce'), '', 1, $log ], case => $case);

expect_fail('... nor one whose driver writes after its input ended',
	qr/was to be skipped .*wrote 1 line after stdin was closed/,
	driver => [ driver('extra-after'), $log ], case => $case);

$r = expect_fail('... nor one whose driver hangs',
	qr/was to be skipped .*did not exit within 1 s/,
	driver => [ driver('hang') ], case => $case, timeout => 1);
cmp_ok($r->{elapsed}, '<', 3, '... after about the timeout');

expect_fail('a wrong protocol version is a failure, not a skip',
	qr/protocol version mismatch/,
	driver => [ driver('wrong-version'), $log ], case => $case);

done_testing();
