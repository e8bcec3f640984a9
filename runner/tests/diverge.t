#!/usr/bin/perl
# Every difference shown (issue 15): after the first diverging step the
# run goes on (each command's output ends at its result line), and the
# report shows each later diverging step too, the first marked as the
# first; it names the case's title and rules; on stderr it is written in
# one piece; MODLIFE_SUMMARY gets one verdict line per run.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $r = expect_fail('two diverging steps: not ok',
	qr/^the output of step 2 \(> load a\.example a\) differs .*the first of 2 steps that differ; later: step 4 \(> unload a\.example a\)\)/,
	driver => [ driver('correct'), log_file('several-two-wrong') ],
	case => case_file('several'));
my $y = $r->{yaml};
is($y->{title}, 'Four steps, for reports that show every diverging step', 'the report names the title');
is($y->{rules}, 'R-SELFTEST-1', '... and the rules');
is($y->{step}{number}, 2, 'step: the first diverging step');
is($y->{first_divergence}{step}, 2, 'first_divergence is step 2');
is($y->{first_divergence}{actual}, 'log a.example:a info A', '... its actual line');
is($y->{first_divergence}{expected}, 'log a.example:a info a', '... its expected line');
is(ref $y->{later_divergences}, 'ARRAY', 'later_divergences: a list') or diag($r->{out});
is(scalar @{ $y->{later_divergences} || [] }, 1, '... of one step (step 3 matched)');
my $l = ($y->{later_divergences} || [])->[0] || {};
is($l->{step}, 4, 'the later one is step 4');
is($l->{command}, 'unload a.example a', '... with its command');
is($l->{actual}, 'fail nil module-not-loaded', '... its actual line');
is($l->{expected}, 'event a.example module-unloaded host=a.example module=a', '... its expected line');
like($l->{case_line}, qr/several\.case:20$/, '... and where it is in the case');
like($y->{diff}, qr/^\+log a\.example:a info A$/m, 'the diff shows step 2');
like($y->{diff}, qr/^\+fail nil module-not-loaded$/m, '... and step 4');

# The stderr copy: one piece, headed by the case's title.
like($r->{err}, qr/\A# \S+several\.case failed against \S+: Four steps/, 'stderr: the header names the title');
like($r->{err}, qr/later_divergences:/, 'stderr: the later divergences too');

# One write(2) for the whole report (strace, where installed).
SKIP: {
	my $strace = `command -v strace 2>/dev/null`;
	chomp $strace;
	skip 'strace is not installed', 1 unless $strace;
	my $dir = tempdir('mlr-div.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	system("$strace -f -e trace=write -o $dir/trace $RUN --driver " .
		driver('correct') . ' ' . log_file('several-two-wrong') . ' ' .
		case_file('several') . " >/dev/null 2>$dir/err");
	open my $t, '<', "$dir/trace" or die $!;
	# LeakSanitizer cannot run under ptrace and says so (make sanitize):
	# its own lines, "==PID==...", are not the report.
	my $writes = grep { /write\(2,/ && !/write\(2, "==\d+==/ } <$t>;
	is($writes, 1, 'the report goes to stderr in one write(2)');
}

# MODLIFE_SUMMARY: one line per run, verdict, area, id, file.
{
	my $dir = tempdir('mlr-sum.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	my %env = (MODLIFE_SUMMARY => "$dir/summary");
	run_runner(driver => [ driver('correct'), log_file('several-two-wrong') ],
		case => case_file('several'), env => \%env);
	run_runner(driver => [ driver('correct'), log_file('basic') ],
		case => case_file('basic'), env => \%env);
	open my $f, '<', "$dir/summary" or die $!;
	my @lines = <$f>;
	is_deeply(\@lines, [ "fail\tcases\tseveral\t" . case_file('several') . "\n",
		"pass\tcases\tbasic\t" . case_file('basic') . "\n" ],
		'MODLIFE_SUMMARY: one line per run');
}
# tools/known-failures: the reason covers every diverging step.
{
	my $dir = tempdir('mlr-kf.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	open my $w, '>', "$dir/port" or die $!;
	print $w "#!/bin/sh\nexec $Selftest::ROOT/" . driver('correct') . " $Selftest::ROOT/" .
		log_file('several-two-wrong') . " \"\$@\"\n";
	close $w;
	chmod 0755, "$dir/port";
	# The wrapper runs a driver and a log it does not name on its command
	# line: the sandbox (runner/sandbox.c) must be told to show them.
	local $ENV{MODLIFE_SANDBOX_EXPOSE} = "$Selftest::ROOT/runner/tests/drivers:$Selftest::ROOT/runner/tests/logs";
	my $out = `tools/known-failures --runner $RUN $dir/port ${\ case_file('several')}`;
	is($out, "several todo step 2 (> load a.example a): got 'log a.example:a info A'; " .
		"step 4 (> unload a.example a): got 'fail nil module-not-loaded'\n",
		'tools/known-failures: the reason names every diverging step');
}
done_testing;
