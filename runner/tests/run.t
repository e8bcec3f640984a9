#!/usr/bin/perl
# What the runner hands the driver (argv, MODDIR, module bytes), large
# output, the run under prove --exec as `make check` does it, and
# valgrind on a passing and a failing run.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

expect_pass('argv reaches the driver unchanged, MODDIR last and absolute',
	driver => [ driver('args'), '--flag', 'two words ', '*.x' ],
	case => case_file('args'));

expect_pass('modules are written byte for byte, and nothing else',
	driver => [ driver('checkmods') ], case => case_file('modules'));

# MODDIR is absolute and at most 24 bytes (PROTOCOL.md §1): a relative or
# long TMPDIR is not used, /tmp is.
{
	my $dir = tempdir('mlr-rel.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	mkdir "$dir/t";
	my $out = `cd $dir && TMPDIR=t $RUN --driver $Selftest::ROOT/${\ driver('args')} --flag 'two words ' '*.x' $Selftest::ROOT/${\ case_file('args')}`;
	like($out, qr/^ok 1 - /m, 'a relative TMPDIR still gives an absolute MODDIR');
	opendir my $d, "$dir/t" or die $!;
	is_deeply([ grep { !/^\.\.?$/ } readdir $d ], [], '... and is left alone');
	my $long = tempdir('mlr-a-rather-long-temporary-directory.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $r = run_runner(args => [ '--driver', driver('checkmods'), case_file('modules') ],
		env => { TMPDIR => $long });
	ok(defined $r->{moddir} && length($r->{moddir}) <= 24 && $r->{moddir} =~ m{^/tmp/ml\.},
	   'a long TMPDIR gives way to /tmp: MODDIR stays within 24 bytes')
		or diag($r->{moddir});
	opendir $d, $long or die $!;
	is_deeply([ grep { !/^\.\.?$/ } readdir $d ], [], '... and the long TMPDIR is left alone');
}

# A large step and a case made on the fly.
{
	my $dir = tempdir('mlr-big.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my $lines = join '', map { "log a.example:big info line $_ " . ('x' x 200) . "\n" } 1 .. 3000;
	open my $c, '>', "$dir/big.case" or die $!;
	print $c "id: big\ntitle: big\nrules: R-SELFTEST-1\n\n=== transcript\n" .
		"> fire a.example big\n${lines}ok true\n";
	close $c;
	open my $l, '>', "$dir/big.log" or die $!;
	print $l "> fire a.example big\n${lines}ok true\n";
	close $l;
	expect_pass('3000 lines of 230 bytes in one step',
		driver => [ driver('correct'), "$dir/big.log" ],
		case => "$dir/big.case", timeout => 10);
	(my $wrong = $lines) =~ s/line 2999 /line 2999! /;
	open $l, '>', "$dir/wrong.log" or die $!;
	print $l "> fire a.example big\n${wrong}ok true\n";
	close $l;
	my $r = expect_fail('... one changed byte among them', qr/differs/,
		driver => [ driver('correct'), "$dir/wrong.log" ],
		case => "$dir/big.case", timeout => 10);
	is($r->{yaml}{first_divergence}{actual_line}, 3000,
	   'divergence at the right line of the actual transcript');
	my @hunk = grep { /^[-+]/ } split /\n/, $r->{yaml}{diff};
	is(scalar @hunk, 4, 'a minimal diff: headers, one - and one +');
}

# --- under prove, as `make check` runs it --------------------------------
sub prove_run {
	my ($log, $case, $v) = @_;
	my $exec = "$RUN --timeout 2 --impl-name fake --driver " .
		driver('correct') . " $log";
	my $out = `prove $v --exec '$exec' $case 2>&1`;
	return ($? >> 8, $out);
}
my ($rc, $out) = prove_run(log_file('basic'), case_file('basic'), '');
is($rc, 0, 'prove: a passing case exits 0');
like($out, qr/^Result: PASS$/m, '... Result: PASS');
($rc, $out) = prove_run(log_file('basic-wrong'), case_file('basic'), '-v');
isnt($rc, 0, 'prove: a failing case fails');
like($out, qr/^Result: FAIL$/m, '... Result: FAIL');
unlike($out, qr/Parse errors/, '... no TAP parse errors');
like($out, qr/^  message: "the output of step 2 /m, '... the YAML is shown');
like($out, qr{^  rerun: make check IMPL=fake CASES=runner/tests/cases/basic\.case$}m,
     '... with the rerun line (--impl-name)');
($rc, $out) = prove_run(log_file('basic'), 'runner/tests/cases/bad/crlf.case', '');
isnt($rc, 0, 'prove: a malformed case fails');
unlike($out, qr/Parse errors/, '... as a test failure, not a parse error');

# --- valgrind -------------------------------------------------------------
SKIP: {
	skip 'valgrind is not installed', 8
		unless system('valgrind --version >/dev/null 2>&1') == 0;
	for my $t ([ 'pass', 'basic' ], [ 'fail', 'basic-wrong' ],
		   [ 'fail', 'basic-short' ]) {
		my ($want, $log) = @$t;
		my $o = `valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 $RUN --timeout 20 --driver ${\ driver('correct')} ${\ log_file($log)} ${\ case_file('basic')} 2>&1`;
		is($? >> 8, 0, "valgrind: clean on a $want ($log)") or diag($o);
	}
	my $o = `valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 $RUN --timeout 20 --driver ${\ driver('correct')} ${\ log_file('basic')} runner/tests/cases/bad/group-across-command.case 2>&1`;
	is($? >> 8, 0, 'valgrind: clean on a malformed case') or diag($o);
	# Directives, a capability skip, an expectations skip, --strict.
	my $vg = 'valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99';
	my $exp = File::Temp->new(TEMPLATE => 'mlr-vg.XXXXXX', TMPDIR => 1);
	print $exp "basic todo pretend\nversions skip not now\n";
	close $exp;
	for my $t (
		[ 'directives', "--driver ${\ driver('checkmods')} ${\ case_file('versions')}" ],
		[ 'a capability skip', "--driver ${\ driver('correct')} ${\ log_file('basic')} ${\ case_file('needs')}" ],
		[ 'an expectations skip', "--expect $exp --driver ${\ driver('checkmods')} ${\ case_file('versions')}" ],
		[ '--strict', "--strict --expect $exp --driver ${\ driver('correct')} ${\ log_file('basic')} ${\ case_file('basic')}" ],
	) {
		$o = `$vg $RUN --timeout 20 $t->[1] 2>&1`;
		is($? >> 8, 0, "valgrind: clean on $t->[0]") or diag($o);
	}
}

done_testing();
