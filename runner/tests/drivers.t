#!/usr/bin/perl
# Fake drivers that crash, hang, lie or break the protocol: each must give
# "not ok" with its reason, and only the correct driver may pass. After
# every run nothing of the driver's process group and nothing in TMPDIR
# may be left (Selftest::check_clean).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Selftest;
use Test::More;

my $case = case_file('basic');
my $log = log_file('basic');

my $r = expect_pass('a correct driver passes',
	driver => [ driver('correct'), $log ], case => $case);
like($r->{desc}, qr/^- basic: A correct driver replays/, 'ok 1 - ID: TITLE');

expect_pass('a slow driver that writes lines in pieces passes',
	driver => [ driver('slow'), $log ], case => $case, timeout => 5);

$r = expect_pass('a driver leaving a child that holds stdout passes, fast',
	driver => [ driver('lingering-child'), $log ], case => $case,
	timeout => 5);
cmp_ok($r->{elapsed}, '<', 4, '... without waiting for the timeout');

# Failures that must never become passes.
$r = expect_fail('a wrong line fails', qr/output of step 2 .*differs/,
	driver => [ driver('correct'), log_file('basic-wrong') ],
	case => $case);
is($r->{yaml}{first_divergence}{expected}, 'log a.example:hello debug hi',
   'first divergence: expected line');
is($r->{yaml}{first_divergence}{actual}, 'log a.example:hello debug HI',
   'first divergence: actual line');
is($r->{yaml}{first_divergence}{case_line}, "$case:14",
   'first divergence: FILE:LINE of the expected line');
is($r->{yaml}{step}{number}, 2, 'step number');
is($r->{yaml}{step}{command}, 'load a.example hello', 'step command');
like($r->{yaml}{diff}, qr/^-log a\.example:hello debug hi\n\+log a\.example:hello debug HI$/m,
     'unified diff');
like($r->{yaml}{diff}, qr/^\@\@ -\d+,\d+ \+\d+,\d+ \@\@$/m, 'hunk header');
is($r->{yaml}{rerun},
   "make check IMPL=runner/tests/drivers/correct CASES=$case",
   'rerun line (impl defaults to the driver)');

$r = expect_fail('one extra line in a step fails', qr/step 2 .*differs/,
	driver => [ driver('correct'), log_file('basic-extra') ],
	case => $case);
is($r->{yaml}{first_divergence}{actual}, 'log a.example:hello debug extra',
   'the extra line is the divergence');

expect_fail('one missing line in a step fails', qr/step 2 .*differs/,
	driver => [ driver('correct'), log_file('basic-missing') ],
	case => $case);

expect_fail('a result line printed twice fails', qr/step 2 .*differs/,
	driver => [ driver('correct'), log_file('basic-twice') ],
	case => $case);

expect_fail('stopping before the last step fails',
	qr/exited with status 0 before the result line of step 2/,
	driver => [ driver('correct'), log_file('basic-short') ],
	case => $case);

expect_fail('the right lines and exit status 1 fail',
	qr/exited with status 1 after stdin was closed/,
	driver => [ driver('exit-nonzero'), $log ], case => $case);

$r = expect_fail('a line after stdin was closed fails',
	qr/wrote 1 line after stdin was closed/,
	driver => [ driver('extra-after'), $log ], case => $case);
like($r->{yaml}{diff}, qr/^\+log a\.example:x debug goodbye$/m,
     'the late line is in the diff');

$r = expect_fail('endless output after stdin was closed fails, in bounded memory',
	qr/wrote 10001 lines after stdin was closed.*did not exit within 2 s/,
	driver => [ driver('endless-after'), $log ], case => $case,
	vmem_kb => 200000);

expect_fail('exiting at once fails',
	qr/exited with status 0 before its greeting/,
	driver => [ driver('exit-at-once') ], case => $case);

$r = expect_fail('SIGSEGV fails and is named',
	qr/was killed by SIGSEGV.* before the result line of step 2/,
	driver => [ driver('segv'), $log ], case => $case);
like($r->{yaml}{diff}, qr/^\+log a\.example:x debug about to crash$/m,
     'output before the crash is shown');

$r = expect_fail('a hanging driver times out',
	qr/timeout: no result line for step 1 \(> activate a\.example\) within 1 s/,
	driver => [ driver('hang') ], case => $case, timeout => 1);
cmp_ok($r->{elapsed}, '<', 3, '... after about the timeout');

expect_fail('hanging inside a step times out, partial output shown',
	qr/timeout: no result line for step 2 \(> load a\.example hello\)/,
	driver => [ driver('hang-in-step'), $log ], case => $case,
	timeout => 1);

expect_fail('a background child and a hang: both killed',
	qr/timeout/,
	driver => [ driver('background-hang') ], case => $case, timeout => 1);

expect_fail('a stopped driver is killed at the timeout', qr/timeout/,
	driver => [ driver('stops-itself') ], case => $case, timeout => 1);

# Sandboxed, bwrap's init holds the driver's stdout too: no end of file
# shows, only the timeout. Unsandboxed, the runner says which.
expect_fail('closing stdout without exiting fails',
	qr/timeout: no result line/,
	driver => [ driver('closes-stdout') ], case => $case, timeout => 1);
expect_fail('closing stdout without exiting fails (sandbox off)',
	qr/closed its stdout but did not exit/, env => { MODLIFE_SANDBOX => 0 },
	driver => [ driver('closes-stdout') ], case => $case, timeout => 1);

expect_fail('a driver that closed its stdin (EPIPE) fails',
	qr/exited with status 0 before the result line of step 1/,
	driver => [ driver('closes-stdin') ], case => $case);

expect_fail('garbage with a NUL byte fails', qr/NUL byte/,
	driver => [ driver('garbage') ], case => $case);

$r = expect_fail('endless output fails at 10000 lines',
	qr/more than 10000 output lines for step 1/,
	driver => [ driver('endless') ], case => $case, timeout => 5,
	vmem_kb => 200000);
like($r->{yaml}{diff}, qr/more lines not shown/, 'the diff is capped');

expect_fail('a line over 64 KiB fails', qr/longer than 64 KiB/,
	driver => [ driver('long-line') ], case => $case);

expect_fail('no greeting fails', qr/bad greeting: .*got "ok true"/,
	driver => [ driver('no-greeting'), $log ], case => $case);

expect_fail('another protocol version fails, both named',
	qr/driver speaks version "2", the runner speaks version 1/,
	driver => [ driver('wrong-version'), $log ], case => $case);

expect_fail('a missing newline at the very end fails',
	qr/ended inside a line \(no newline\)/,
	driver => [ driver('no-newline'), $log ], case => $case);

$r = expect_fail('CRLF line endings fail', qr/step 1 .*differs/,
	driver => [ driver('crlf'), $log ], case => $case);
like($r->{yaml}{diff}, qr/^\+event \* host-activated a\.example\\x0d$/m,
     'the carriage return is visible in the diff');

$r = expect_fail('stderr is reported', qr/exited with status 3/,
	driver => [ driver('stderr-noise'), $log ], case => $case);
is($r->{yaml}{stderr},
   "\\x20 indented first line\n\nlua: boom at mod_x.lua:2\n",
   'stderr block, blank and indented lines kept');

$r = expect_fail('a stderr flood is capped', qr/exited with status 1/,
	driver => [ driver('big-stderr') ], case => $case);
like($r->{yaml}{stderr}, qr/more bytes of stderr not kept/, 'cap noted');
cmp_ok(length $r->{yaml}{stderr}, '<', 70000, 'at most 64 KiB kept');

expect_fail('a driver that cannot be run fails',
	qr/cannot run driver 'runner\/tests\/drivers\/no-such-driver': No such file/,
	driver => [ driver('no-such-driver') ], case => $case);

# The runner's own death must not leave the driver behind.
$r = run_runner(driver => [ driver('background-hang') ], case => $case,
	timeout => 30, signal => [ 'TERM', 1 ]);
subtest 'SIGTERM to the runner kills the driver group and cleans up' => sub {
	is($r->{signal}, 15, 'the runner died of SIGTERM');
	ok(defined $r->{driver_pid}, 'the driver had started');
	is_deeply($r->{leftover}, [], 'no process of the driver\'s group is left');
	is_deeply($r->{tmp_left}, [], 'TMPDIR is empty again');
};

done_testing();
