#!/usr/bin/perl
# Recording (modlife-run --record) and blessing (tools/bless, make bless):
# the record driver's output fills the steps that have no expected lines;
# lines already written are kept when they match (groups and all), refused
# when they differ unless forced; the file is written only if the judge
# driver then passes the recorded case, every time it is asked.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $tmp = tempdir('mlr-bless.XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$tmp/t";
# The wrappers below run fake drivers and logs they do not name on their
# command line: the sandbox (runner/sandbox.c) must be told to show them.
$ENV{MODLIFE_SANDBOX_EXPOSE} = "$Selftest::ROOT/runner/tests/drivers:$Selftest::ROOT/runner/tests/logs:$tmp";

sub slurp { open my $f, '<', $_[0] or die "$_[0]: $!"; local $/; return scalar <$f> }
sub write_file {
	my ($path, $text) = @_;
	open my $f, '>', $path or die "$path: $!";
	print $f $text;
	close $f or die $!;
	return $path;
}
# A one-path driver: a fake driver with its arguments (a log, ...).
my $nw = 0;
sub wrapper {
	my ($name, @args) = @_;
	my $path = write_file("$tmp/drv" . ++$nw,
		"#!/bin/sh\nexec $Selftest::ROOT/@{[ driver($name) ]} @args \"\$\@\"\n");
	chmod 0755, $path or die $!;
	return $path;
}
my $nl = 0;
sub log_of { write_file("$tmp/" . ++$nl . '.log', $_[0]) }

my $basic = slurp(case_file('basic'));
(my $proto = $basic) =~ s/^(?![>#=]|\w+:|module|$).*\n//mg;    # keep commands only
like($proto, qr/> activate a\.example\n> load a\.example hello\n/, 'the prototype has bare commands');
my $good = wrapper('correct', "$Selftest::ROOT/" . log_file('basic'));
my $wrong = wrapper('correct', "$Selftest::ROOT/" . log_file('basic-wrong'));

# modlife-run --record DRIVER FILE: (status, stdout, stderr)
sub record {
	my ($driver, $file, @opt) = @_;
	my $out = `$RUN --timeout 5 --record @opt --driver $driver $file 2>$tmp/err`;
	return ($? >> 8, $out, slurp("$tmp/err"));
}

# --- modlife-run --record ------------------------------------------------------
my $file = write_file("$tmp/t/basic.case", $proto);
my ($rc, $out, $err) = record($good, $file);
is($rc, 0, '--record of a prototype exits 0') or diag($err);
is($out, $basic, '... and prints the case with the output as its expected lines');
$out = `$RUN --driver $good $file`;
like($out, qr/^not ok 1 - \S+basic\.case:\d+: step '> activate a\.example' has no expected lines/m,
     'a prototype is still a malformed case for a run');

write_file($file, $basic);
($rc, $out, $err) = record($wrong, $file);
is($rc, 1, '--record: expected lines that differ are refused');
is($out, '', '... nothing on stdout');
like($err, qr/basic\.case:\d+: step 2 \(> load a\.example hello\): the driver's output differs from the expected lines written/,
     '... FILE:LINE and the step');
($rc, $out) = record($wrong, $file, '--force');
is($rc, 0, '--record --force replaces them');
is($out, slurp(log_file('basic-wrong')) =~ s/\A/$basic =~ s{=== transcript\n.*}{=== transcript\n}sr/er,
   '... with the output');

# Groups and globs stay as written when the output matches them.
my $groups = slurp(case_file('groups'));
(my $gproto = $groups) =~ s/(> activate a\.example\n)ok true\n/$1/ or die;
write_file("$tmp/t/groups.case", $gproto);
my $order_b = log_of("> activate a.example\nok true\n> fire a.example x\n" .
	"event a.example item-removed/y item=3\nevent a.example item-removed/x item=2\n" .
	"event a.example item-removed/x item=1\nok nil\n");
my $order_a = log_of("> activate a.example\nok true\n> fire a.example x\n" .
	"event a.example item-removed/x item=2\nevent a.example item-removed/x item=1\n" .
	"event a.example item-removed/y item=3\nok nil\n");
($rc, $out, $err) = record(wrapper('correct', $order_b), "$tmp/t/groups.case");
is($rc, 0, '--record with a group already written') or diag($err);
is($out, $groups, '... fills the empty step and keeps the group as written');

my $odd = log_of("> activate a.example\nlog {*} glob-like\nok true\n> load a.example hello\nok true\n" .
	"> activate a.example\nok true\n> load a.example hello\nok true\n");
($rc, $out, $err) = record(wrapper('correct', $odd), write_file($file, $proto));
is($rc, 1, '--record refuses output the case format would read otherwise');
like($err, qr/step 1 \(> activate a\.example\): output line 1 cannot be written as an expected line: "log \{\*\} glob-like"/,
     '... and names the line');

($rc, $out, $err) = record(wrapper('segv', "$Selftest::ROOT/" . log_file('basic')), $file);
is($rc, 1, '--record: a crashing driver records nothing');
like($err, qr/cannot record: the driver was killed by SIGSEGV/, '... and says why');
is($out, '', '... nothing on stdout');

my $needs = write_file("$tmp/t/needs.case", slurp(case_file('needs')) =~ s/^(?:log|event|ok).*\n//mgr);
($rc, $out, $err) = record($good, $needs);
is($rc, 1, '--record: a driver without the needed capabilities records nothing');
like($err, qr/lacks what the case needs reload items \(driver announced: nothing\)/, '... and says so');

$out = `$RUN --force --driver $good $file 2>&1`;
is($? >> 8, 2, '--force without --record is a usage error');

SKIP: {
	skip 'valgrind is not installed', 1
		unless system('valgrind --version >/dev/null 2>&1') == 0;
	my $o = `valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all --error-exitcode=99 $RUN --timeout 20 --record --driver $good $file 2>&1 >/dev/null`;
	is($? >> 8, 0, 'valgrind: --record is clean') or diag($o);
}

# --- tools/bless ------------------------------------------------------------------
sub run_bless {
	my ($record, $judge, @rest) = @_;
	my $o = `tools/bless --timeout 5 --runner $RUN --record-driver $record --judge-driver $judge @rest 2>&1`;
	return ($? >> 8, $o);
}

write_file($file, $proto);
($rc, $out) = run_bless($good, $good, $file);
is($rc, 0, 'bless: the judge agrees: exit 0') or diag($out);
is(slurp($file), $basic, '... the file now has the expected lines');
like($out, qr/^\+event \* module-loaded host=a\.example module=hello$/m, '... and the change is shown');
($rc, $out) = run_bless($good, $good, $file);
like($out, qr/unchanged/, 'bless again: unchanged');

write_file($file, $proto);
($rc, $out) = run_bless($good, $wrong, $file);
is($rc, 1, 'bless: the judge disagrees: exit 1');
is(slurp($file), $proto, '... nothing written');
like($out, qr/not written: the judge \(\S+\) disagrees:\nnot ok 1/, '... saying so');
like($out, qr/^\s+-log a\.example:hello debug hi\n\s+\+log a\.example:hello debug HI$/m,
     '... with the judge\'s diff');

write_file($file, $basic);
($rc, $out) = run_bless($wrong, $wrong, $file);
is($rc, 1, 'bless: expected lines that differ are never replaced without --force');
is(slurp($file), $basic, '... nothing written');
($rc, $out) = run_bless($wrong, $wrong, '--force', $file);
is($rc, 0, 'bless --force: replaced, the judge agreeing') or diag($out);
like(slurp($file), qr/^log a\.example:hello debug HI$/m, '... the file has the new lines');

# The judge runs the case as written: its groups absorb another order.
write_file("$tmp/t/groups.case", $gproto);
($rc, $out) = run_bless(wrapper('correct', $order_a), wrapper('correct', $order_b), "$tmp/t/groups.case");
is($rc, 0, 'bless: the judge prints another order a group allows') or diag($out);
is(slurp("$tmp/t/groups.case"), $groups, '... the group stays');

write_file($needs, slurp(case_file('needs')) =~ s/^(?:log|event|ok).*\n//mgr);
my $capable = wrapper('announce', "'reload items'", 0, "$Selftest::ROOT/" . log_file('basic'));
($rc, $out) = run_bless($capable, $good, $needs);
is($rc, 1, 'bless: a judge that skips the case does not agree');
like($out, qr/disagrees:\nok 1 - needs: .* # SKIP needs reload items/, '... the skip is shown');
($rc, $out) = run_bless($capable, $capable, $needs);
is($rc, 0, 'bless: ... a capable one does') or diag($out);

# A judge that agrees once, then not: --repeat catches it.
my $count = "$tmp/count";
my $flaky = write_file("$tmp/flaky", "#!/bin/sh\nn=\$(cat $count 2>/dev/null || echo 0); echo \$((n + 1)) > $count\n" .
	"[ \$n -eq 0 ] && exec $good \"\$\@\"\nexec $wrong \"\$\@\"\n");
chmod 0755, $flaky;
write_file($file, $proto);
# The judge keeps a count from run to run, which a sandboxed driver cannot.
{
	local $ENV{MODLIFE_SANDBOX} = 0;
	($rc, $out) = run_bless($good, $flaky, '--repeat', 3, $file);
}
is($rc, 1, 'bless --repeat 3: a judge that agrees only once is refused');
like($out, qr/disagrees on run 2 of 3/, '... naming the run');
is(slurp($file), $proto, '... nothing written');

done_testing();
