# Selftest.pm - helpers for the runner's self-tests (runner/tests/*.t).
#
# Each run of build/modlife-run gets a private TMPDIR and a pid file the
# fake drivers write ("PID PGID MODDIR", see drivers/lib.sh). After the
# run the helpers check what a user of the runner relies on:
#   - the verdict as prove itself reads the TAP (TAP::Parser), so that a
#     malformed YAML block or a stray "# TODO" cannot hide;
#   - the runner exited 0 (prove judges the case, not the exit code);
#   - the driver had its own process group, and no process of the run
#     (found by the MLR_TEST_TAG every run carries in its environment)
#     is alive afterwards, sandboxed (runner/sandbox.c) or not;
#   - the private TMPDIR is empty again.
package Selftest;

use strict;
use warnings;

use Cwd qw(abs_path);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use TAP::Parser;
use Test::More;
use Time::HiRes qw(time sleep);

our @EXPORT = qw(tagged run_runner expect_pass expect_fail expect_skip check_clean driver
	case_file log_file $ROOT $RUN);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');
# MODLIFE_RUN: another runner binary (make sanitize runs its ASan build).
our $RUN = $ENV{MODLIFE_RUN} // "$ROOT/build/modlife-run";

# Paths in messages are as given, so run from the root with short paths.
chdir $ROOT or die "chdir $ROOT: $!";
-x $RUN or BAIL_OUT("$RUN is missing: run 'make build/modlife-run' first");

sub driver { "runner/tests/drivers/$_[0]" }
sub case_file { "runner/tests/cases/$_[0].case" }
sub log_file { "runner/tests/logs/$_[0].log" }

sub slurp {
	my ($path) = @_;
	open my $f, '<', $path or return '';
	local $/;
	my $s = <$f>;
	return defined $s ? $s : '';
}

# Live (non-zombie) processes that carry $tag in their environment
# (MLR_TEST_TAG, which every run sets afresh and the runner passes to
# the driver and all it starts): whatever of a run is left, sandboxed or
# not, session or group changed or not, the pid namespace's or ours.
sub tagged {
	my ($tag) = @_;
	my @pids;
	for my $env (glob '/proc/[0-9]*/environ') {
		my ($pid) = $env =~ m{/proc/(\d+)/};
		next if $pid == $$;
		next unless index("\0" . slurp($env), "\0MLR_TEST_TAG=$tag\0") >= 0;
		my $s = slurp("/proc/$pid/stat");
		push @pids, $pid if $s =~ /\) (\S) / && $1 ne 'Z';
	}
	return @pids;
}

sub parse_tap {
	my ($r) = @_;
	if ($r->{out} eq '') {
		@$r{qw(verdict parse_errors tap_version plan tests)} =
			('fail', ['no output'], 0, '', 0);
		return;
	}
	my $p = TAP::Parser->new({ tap => $r->{out} });
	my @tests;
	while (my $res = $p->next) {
		push @tests, $res if $res->is_test;
		$r->{yaml} = $res->data if $res->is_yaml;
	}
	$r->{parse_errors} = [ $p->parse_errors ];
	$r->{tap_version} = $p->version;
	$r->{plan} = $p->plan;
	$r->{tests} = scalar @tests;
	$r->{desc} = @tests ? $tests[0]->description : undef;
	$r->{directive} = @tests ? $tests[0]->directive : undef;
	$r->{explanation} = @tests ? $tests[0]->explanation : undef;
	$r->{is_ok} = @tests == 1 && $tests[0]->is_ok && !@{ $r->{parse_errors} };
	# A pass is what prove would count as one, and only that.
	$r->{verdict} = (@tests == 1 && $tests[0]->is_ok &&
			 $tests[0]->is_actual_ok && !$tests[0]->has_directive &&
			 !@{ $r->{parse_errors} } && ($r->{plan} // '') eq '1..1')
		? 'pass' : 'fail';
	$r->{message} = ref $r->{yaml} eq 'HASH' ? $r->{yaml}{message} : undef;
}

# Runs the runner. Options: args => [...] (the whole command line), or
# driver => [PROGRAM, ARG...], case => FILE, timeout => SECONDS (2);
# signal => [NAME, AFTER_SECONDS] to send the runner a signal;
# env => { ... }; vmem_kb => N to cap the runner's memory. Returns a hash of what happened (see the top).
sub run_runner {
	my %o = @_;
	my $dir = tempdir('mlr-selftest.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	# Short enough for the runner to use it (MODDIR <= 24 bytes).
	my $tmp = tempdir('mlrXXXXXX', DIR => '/tmp', CLEANUP => 1);
	# The fake drivers report into $dir: writable in the sandbox too.
	my @cmd = ($RUN, '--sandbox-bind', $dir, $o{args} ? @{ $o{args} } :
		('--timeout', $o{timeout} // 2, '--driver', @{ $o{driver} },
		 $o{case}));
	# Every process of this run carries the tag (see tagged).
	my $tag = "$$." . ++$Selftest::runs . '.' . int(rand(1e9));
	# A memory limit (KiB) makes a runaway buffer a test failure. An ASan
	# runner (make sanitize) reserves terabytes of address space, so it
	# gets ASan's own limit on resident memory instead.
	my %env = %{ $o{env} || {} };
	if ($o{vmem_kb} && ($ENV{ASAN_OPTIONS} // '') ne '') {
		$env{ASAN_OPTIONS} = "$ENV{ASAN_OPTIONS}:hard_rss_limit_mb=" .
			int($o{vmem_kb} / 1024);
	} elsif ($o{vmem_kb}) {
		@cmd = ('sh', '-c', "ulimit -v $o{vmem_kb} && exec \"\$@\"", 'sh', @cmd);
	}
	# prefix => [...]: a command that execs the runner (to hand it an fd).
	unshift @cmd, @{ $o{prefix} } if $o{prefix};
	my %r = (cmd => "@cmd");

	my $t0 = time;
	my $pid = fork // die "fork: $!";
	if (!$pid) {
		$ENV{TMPDIR} = $tmp;
		$ENV{MLR_TEST_PIDFILE} = "$dir/pid";
		$ENV{MLR_TEST_TAG} = $tag;
		$ENV{$_} = $env{$_} for keys %env;
		open STDIN, '<', '/dev/null';
		open STDOUT, '>', "$dir/out";
		open STDERR, '>', "$dir/err";
		exec @cmd or POSIX::_exit(127);
	}
	my $signalled = 0;
	my $limit = $o{limit} // 30;
	while (waitpid($pid, WNOHANG) == 0) {
		my $t = time - $t0;
		if ($o{signal} && !$signalled && $t >= $o{signal}[1]) {
			kill $o{signal}[0], $pid;
			$signalled = 1;
		}
		if ($t > $limit) {
			$r{hung} = 1;
			kill 'KILL', $pid;
		}
		sleep 0.01;
	}
	$r{status} = $?;
	$r{rc} = $? >> 8;
	$r{signal} = $? & 127;
	$r{elapsed} = time - $t0;
	$r{out} = slurp("$dir/out");
	# What the "announce" driver read on its stdin (undef: nothing).
	$r{stdin} = -e "$dir/pid.stdin" ? slurp("$dir/pid.stdin") : undef;
	$r{err} = slurp("$dir/err");

	if (-e "$dir/pid") {
		@r{qw(driver_pid driver_pgid moddir)} =
			split ' ', slurp("$dir/pid");
	}
	# SIGKILL is asynchronous; give the kernel a moment.
	my @left;
	for (1 .. 200) {
		@left = tagged($tag);
		last unless @left;
		sleep 0.01;
	}
	$r{leftover} = \@left;
	$r{tag} = $tag;
	opendir my $d, $tmp or die "opendir $tmp: $!";
	$r{tmp_left} = [ grep { !/^\.\.?$/ } readdir $d ];
	closedir $d;
	parse_tap(\%r);
	return \%r;
}

# The checks every run must pass, whatever the verdict.
sub check_clean {
	my ($r, $directive) = @_;
	ok(!$r->{hung}, 'the runner finished by itself');
	is($r->{signal}, 0, 'the runner was not killed by a signal');
	is($r->{rc}, 0, 'the runner exited 0 (prove judges the TAP)');
	is_deeply($r->{parse_errors}, [], 'prove parses the TAP and YAML')
		or diag($r->{out});
	is($r->{tap_version}, 13, 'TAP version 13');
	is($r->{directive}, $directive // '', $directive ? "directive $directive"
		: 'no TODO/SKIP directive');
	if (defined $r->{driver_pid}) {
		# Sandboxed, the group is the sandbox's: pid 1's (bwrap's init).
		ok($r->{driver_pgid} == $r->{driver_pid} || $r->{driver_pgid} == 1,
		   'the driver led its own process group (or was in its sandbox)');
		ok(defined $r->{moddir} && $r->{moddir} =~ m{^/},
		   'the driver got an absolute MODDIR');
	}
	is_deeply($r->{leftover}, [], 'no process of the run is left (by its tag)');
	is_deeply($r->{tmp_left}, [], 'TMPDIR is empty again');
}

sub expect_pass {
	my ($name, %o) = @_;
	my $r = run_runner(%o);
	subtest $name => sub {
		is($r->{verdict}, 'pass', 'ok 1') or diag($r->{out}, $r->{err});
		check_clean($r);
	};
	return $r;
}

# $want: a regex the YAML message must match.
sub expect_fail {
	my ($name, $want, %o) = @_;
	my $r = run_runner(%o);
	subtest $name => sub {
		is($r->{verdict}, 'fail', 'not ok 1') or diag($r->{out});
		like($r->{message} // '', $want, 'the reason') or diag($r->{out});
		check_clean($r);
	};
	return $r;
}

# A skip as prove reads it: "ok 1 - ... # SKIP REASON", REASON =~ $want.
sub expect_skip {
	my ($name, $want, %o) = @_;
	my $r = run_runner(%o);
	subtest $name => sub {
		ok($r->{is_ok}, 'ok 1') or diag($r->{out}, $r->{err});
		like($r->{explanation} // '', $want, 'the reason') or diag($r->{out});
		check_clean($r, 'SKIP');
	};
	return $r;
}

1;
