#!/usr/bin/perl
# Hostile drivers and hostile selections (issue 11): each attack is run
# the way a user would meet it and must not pass, and nothing of it may be
# left running or on disk (processes found by the MLR_TEST_TAG each run
# carries, see Selftest.pm). Where the attack needs the sandbox to fail,
# a control runs it with the sandbox off and must see it succeed: so the
# attack is real, and the test could fail. Last line of the output:
# "hostile: N held, M failed".
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my ($held, $failed) = (0, 0);
# An attack: a subtest whose every assertion must hold.
sub attack {
	my ($name, $code) = @_;
	if (subtest("attack: $name", $code)) { $held++ } else { $failed++ }
}

my $case = case_file('basic');
my $log = log_file('basic');
my $off = { MODLIFE_SANDBOX => 0 };

# --- the answer key ----------------------------------------------------------
for my $cheat ('cheat-cmdline', 'cheat-corpus') {
	my $control = run_runner(driver => [ driver($cheat) ], case => $case,
		env => $off);
	is($control->{verdict}, 'pass', "control: $cheat passes with the sandbox off")
		or diag($control->{out});
	my $r = run_runner(driver => [ driver($cheat) ], case => $case);
	attack("$cheat: reading the answer key" => sub {
		is($r->{verdict}, 'fail', 'not ok 1') or diag($r->{out});
		like($r->{out}, qr/bad no answer key/, 'it found no key');
		check_clean($r);
	});
	# The rerun line a failure prints is what a user runs next.
	my ($rerun) = $r->{out} =~ /^\s*rerun: (make check .*)$/m;
	attack("$cheat: its rerun line" => sub {
		ok(defined $rerun, 'a rerun line') or return;
		my $out = `$rerun RULES= JOBS=1 2>&1`; # self-test rules: RULES= off
		isnt($? >> 8, 0, "'$rerun' fails") or diag($out);
		like($out, qr/bad no answer key/, '... because the driver found no key');
		unlike($out, qr/Result: PASS/, 'no PASS');
	});
}

# --- forging the verdict through /proc/PPID/fd/1 --------------------------------
# As make check runs a case: prove, the ModlifeCase source handler and a
# long-lived modlife-spawn, whose end marker the driver forges too.
sub prove_one {
	my ($driver, %env) = @_;
	my $tmp = tempdir('mlrXXXXXX', DIR => '/tmp', CLEANUP => 1);
	my $tag = "hostile.$$." . int(rand(1e9));
	local $ENV{TMPDIR} = $tmp;
	local $ENV{MLR_TEST_TAG} = $tag;
	local $ENV{PERL5LIB} = "$ROOT/tools/perl";
	local @ENV{ keys %env } = values %env;
	my $out = `prove --source ModlifeCase --modlifecase-option spawn=$ROOT/build/modlife-spawn --modlifecase-option 'command=$RUN --timeout 2 --driver $driver' $case 2>&1`;
	my $rc = $? >> 8;
	my @left;
	for (1 .. 200) { @left = tagged($tag); last unless @left; select(undef, undef, undef, 0.01) }
	opendir my $d, $tmp or die $!;
	my @files = grep { !/^\.\.?$/ } readdir $d;
	return ($rc, $out, \@left, \@files);
}
{
	my ($rc, $out) = prove_one(driver('forge-tap'), %$off);
	is($rc, 0, 'control: forge-tap passes through prove with the sandbox off')
		or diag($out);
	my ($left, $files);
	($rc, $out, $left, $files) = prove_one(driver('forge-tap'));
	attack('forge-tap: ok 1 and the spawn end marker on /proc/PPID/fd/1' => sub {
		isnt($rc, 0, 'prove fails') or diag($out);
		like($out, qr/Result: FAIL/, 'Result: FAIL');
		is_deeply($left, [], 'no process left');
		is_deeply($files, [], 'no temporary file left');
	});
}

# --- the runner's own file descriptors ------------------------------------------
{
	my $marker = "$ROOT/runner/tests/cases/basic.case";
	for my $mode ([ 'sandboxed', {} ], [ 'sandbox off', $off ]) {
		my $r = run_runner(prefix => [ 'sh', '-c', 'exec 7<"$0"; exec "$@"', $marker ],
			driver => [ driver('fds'), $log, $marker ], case => $case,
			env => $mode->[1]);
		attack("fds: an fd the runner inherited reaches the driver ($mode->[0])" => sub {
			is($r->{verdict}, 'pass', 'the driver saw only its own fds')
				or diag($r->{out});
			check_clean($r);
		});
	}
}

# --- escaping the case's end ---------------------------------------------------
for my $variant (qw(setsid setpgid double-fork daemon)) {
	for my $mode ([ 'sandboxed', {} ], [ 'sandbox off', $off ]) {
		my $r = run_runner(driver => [ driver('escape'), $variant ],
			case => $case, env => $mode->[1]);
		attack("escape $variant ($mode->[0])" => sub {
			is($r->{verdict}, 'fail', 'not ok 1') or diag($r->{out});
			check_clean($r);
		});
	}
}

# --- killing the runner --------------------------------------------------------
{
	my $r = run_runner(driver => [ driver('kill-runner') ], case => $case,
		timeout => 1);
	attack('kill-runner: SIGKILL to its parent (sandboxed)' => sub {
		is($r->{verdict}, 'fail', 'not ok 1 (a timeout)') or diag($r->{out});
		check_clean($r);
	});
	$r = run_runner(driver => [ driver('kill-runner') ], case => $case,
		timeout => 5, env => $off);
	attack('kill-runner: SIGKILL to the runner (sandbox off)' => sub {
		is($r->{signal}, 9, 'the runner died of SIGKILL: the run fails');
		isnt($r->{verdict}, 'pass', 'no ok 1');
		is_deeply($r->{leftover}, [], 'no process left');
		is_deeply($r->{tmp_left}, [], 'TMPDIR is empty again (the janitor)');
	});
	for my $mode ([ 'sandboxed', {} ], [ 'sandbox off', $off ]) {
		$r = run_runner(driver => [ driver('background-hang') ], case => $case,
			timeout => 30, signal => [ 'KILL', 1 ], env => $mode->[1]);
		attack("SIGKILL of the runner from outside ($mode->[0])" => sub {
			is($r->{signal}, 9, 'the runner died of SIGKILL');
			ok(defined $r->{driver_pid}, 'the driver had started');
			is_deeply($r->{leftover}, [], 'no process left');
			is_deeply($r->{tmp_left}, [], 'TMPDIR is empty again (the janitor)');
		});
	}
}

# --- MODDIR deeper than the old limit ---------------------------------------------
for my $depth (65, 400) {
	my $r = run_runner(driver => [ driver('deep-tree'), $log, $depth ],
		case => $case, timeout => 20);
	attack("a tree $depth levels deep in MODDIR, its leaf unreadable" => sub {
		is($r->{verdict}, 'pass', 'ok 1: removed') or diag($r->{out});
		check_clean($r);
	});
}

# --- hostile case files -----------------------------------------------------------
my $tmp = tempdir('mlr-hostile.XXXXXX', TMPDIR => 1, CLEANUP => 1);
{
	my $fifo = "$tmp/fifo.case";
	system('mkfifo', $fifo) == 0 or die "mkfifo: $?";
	my $r = run_runner(driver => [ driver('correct'), $log ], case => $fifo,
		limit => 5);
	attack('a FIFO as the case file' => sub {
		ok(!$r->{hung}, 'the runner does not block');
		is($r->{verdict}, 'fail', 'not ok 1');
		like($r->{desc} // '', qr/\Q$fifo\E: not a regular file/, 'naming the file');
	});
	my $big = "$tmp/big.case";
	open my $f, '>', $big or die $!;
	print $f "id: big\ntitle: t\nrules: R-SELFTEST-1\n\n=== transcript\n";
	print $f "> list a\nok\n" x (50 * 1024 * 1024 / 11);
	close $f or die $!;
	$r = run_runner(driver => [ driver('correct'), $log ], case => $big,
		vmem_kb => 300 * 1024);
	attack('a 50 MB case file under a 300 MB memory limit' => sub {
		is($r->{verdict}, 'fail', 'not ok 1') or diag($r->{err});
		like($r->{desc} // '', qr/\Q$big\E: the case file is larger than/,
			'a TAP line naming the file');
		is($r->{rc}, 0, 'no out-of-memory exit');
	});
}

# --- selections: make check as a user mistypes it -------------------------------
sub make {
	my $out = `make --no-print-directory RULES= @_ 2>&1`; # self-test rules
	return ($? >> 8, $out);
}
{
	my $dup = "$tmp/dup";
	mkdir $dup; mkdir "$dup/a"; mkdir "$dup/b";
	mkdir "$tmp/empty";
	for my $area ('a', 'b') {
		open my $f, '>', "$dup/$area/same.case" or die $!;
		print $f "id: same\ntitle: t\nrules: R-SELFTEST-1\n\n=== transcript\n> list a\nok\n";
		close $f or die $!;
	}
	my @mistakes = (
		[ 'CASES= (empty)', 'CASES=', qr/^modlife: no case files: CASES is empty/m ],
		[ 'a missing case file', 'CASES=no/such.case', qr/^modlife: CASES: no such file or folder: 'no\/such\.case'$/m ],
		[ 'a folder with no case', "CASES=$tmp/empty", qr/^modlife: CASES: the folder '\Q$tmp\E\/empty' holds no \*\.case file/m ],
		[ 'REPEAT=0', 'REPEAT=0 CASES=' . $case, qr/^modlife: REPEAT='0' must be a whole number/m ],
		[ 'REPEAT=x', 'REPEAT=x CASES=' . $case, qr/^modlife: REPEAT='x' must be a whole number/m ],
		[ 'a FIFO in CASES', "CASES=$tmp/fifo.case", qr/^modlife: CASES: '\Q$tmp\E\/fifo\.case' is not a regular file$/m ],
		[ 'two cases with one id in the selection', "CASES='$dup/a/same.case $dup/b/same.case'",
		  qr/^modlife: duplicate case id 'same' in the selection/m ],
		[ 'a folder whose cases share an id', "CASES=$dup", qr/^modlife: duplicate case id 'same' in the selection/m ],
	);
	for my $m (@mistakes) {
		my ($name, $args, $want) = @$m;
		my ($rc, $out) = make("check IMPL=$ROOT/build/modlife-ref $args");
		attack("make check: $name" => sub {
			isnt($rc, 0, 'make fails');
			like($out, $want, 'one clear line') or diag($out);
			unlike($out, qr/ at \S+ line \d+\.|Result: (PASS|NOTESTS)/, 'no Perl trace, no run');
		});
	}
	my ($rc, $out) = make("check CASES=cases/unload IMPL=$ROOT/build/modlife-ref");
	attack('make check CASES=FOLDER runs the folder' => sub {
		is($rc, 0, 'passes') or diag($out);
		like($out, qr/unload\/\S+\.case \.+ ok/, 'ran its cases');
		unlike($out, qr/NOTESTS/, 'not NOTESTS');
	});
	my $exp = "$tmp/exp.txt";
	open my $f, '>', $exp or die $!;
	print $f "no-such-case todo hides nothing\n";
	close $f or die $!;
	($rc, $out) = make("check CASES=$case IMPL=$ROOT/build/modlife-ref EXPECT=$exp STRICT=1");
	attack('an expectations entry for no case (STRICT=1)' => sub {
		isnt($rc, 0, 'make fails');
		like($out, qr/^modlife: \Q$exp\E:1: 'no-such-case' is no case id/m, 'FILE:LINE');
	});
	($rc, $out) = make("check CASES=$case IMPL=$ROOT/build/modlife-ref EXPECT=$exp");
	attack('an expectations entry for no case (a warning)' => sub {
		like($out, qr/^modlife: warning: \Q$exp\E:1: 'no-such-case' is no case id/m,
			'the warning') or diag($out);
	});
	my @ids = `ls cases/*/*.case | xargs -n1 basename | sort | uniq -d`;
	attack('the corpus has unique ids' => sub {
		is_deeply(\@ids, [], 'no id twice in cases/');
	});
}

# --- a sandbox that cannot start: said in one line, never a silent fallback ----------
{
	my $fake = "$tmp/fakebin";
	mkdir $fake;
	open my $f, '>', "$fake/bwrap" or die $!;
	print $f "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n";
	close $f or die $!;
	chmod 0755, "$fake/bwrap";
	my $r = run_runner(driver => [ driver('correct'), $log ], case => $case,
		env => { PATH => "$fake:$ENV{PATH}" });
	attack('bwrap cannot create its namespaces: the runner says so' => sub {
		is($r->{verdict}, 'fail', 'not ok 1');
		like($r->{message} // '', qr/^the sandbox could not start \(bwrap: No permissions/,
			'the reason, first') or diag($r->{out});
	});
	$r = run_runner(driver => [ driver('correct'), $log ], case => $case,
		env => { PATH => '/nonexistent' });
	attack('no bwrap at all: the runner says so' => sub {
		is($r->{verdict}, 'fail', 'not ok 1');
		like($r->{message} // '', qr/the sandbox needs bubblewrap/, 'the reason')
			or diag($r->{out});
	});
	my ($rc, $out) = make("check CASES=$case PATH=$fake:\$PATH");
	attack('make check where bwrap cannot start: one line, no run' => sub {
		isnt($rc, 0, 'make fails');
		like($out, qr/^modlife: the driver sandbox \(bubblewrap\) cannot start here \(bwrap: No permissions.*SANDBOX=0/m,
			'one line saying so') or diag($out);
		unlike($out, qr/Result:/, 'nothing ran');
	});
}

# --- make misuse: two builds at once, a path with a space --------------------------
# A fresh copy of the tree (no build/): two makes at once must both
# succeed, every artefact appearing whole (the archive was the victim).
sub fresh_copy {
	my ($dst) = @_;
	mkdir $dst or die "mkdir $dst: $!";
	system("tar -C '$ROOT' --exclude=./build --exclude=./.git -cf - . | tar -C '$dst' -xf -") == 0
		or die "copy: $?";
}
{
	my $dst = "$tmp/fresh";
	fresh_copy($dst);
	my @pids = map {
		my $n = $_;
		my $pid = fork // die;
		if (!$pid) {
			open STDOUT, '>', "$tmp/make$n.log"; open STDERR, '>&', \*STDOUT;
			exec 'make', '-s', '-C', $dst, 'all', 'CFLAGS=-O0';
		}
		$pid;
	} 1, 2;
	my @rc = map { waitpid($_, 0); $? } @pids;
	attack('two make all at once in a fresh copy' => sub {
		is_deeply(\@rc, [ 0, 0 ], 'both succeed') or
			diag(`cat $tmp/make1.log $tmp/make2.log`);
		ok(-x "$dst/build/modlife-ref" && -x "$dst/build/modlife-run", 'built');
		is_deeply([ glob("$dst/build/*.[0-9]* $dst/build/*/*.[0-9]*") ], [],
			'no temporary file left');
	});
	my $space = "$tmp/with space";
	fresh_copy($space);
	my $out = `make --no-print-directory -C '$space' list 2>&1`;
	my $rc = $? >> 8;
	attack('a checkout path with a space' => sub {
		isnt($rc, 0, 'make fails');
		like($out, qr/^Makefile:\d+: \*\*\* modlife: the checkout path '\Q$space\E' contains a space/m,
			'one line naming the path') or diag($out);
		is(scalar(() = $out =~ /\n/g), 1, 'one line only') or diag($out);
	});
}

note("hostile: $held held, $failed failed");
diag("hostile: $held held, $failed failed") if $failed;
done_testing();
