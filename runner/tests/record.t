#!/usr/bin/perl
# Adding a case is judged by Prosody from the start (issue 15):
# `modlife-run --parse` accepts a commands-only draft, tools/record (make
# record) writes its expected lines from a driver's own output when
# several runs agree and shows the runs when they differ, make record
# IMPL=prosody records from real Prosody, and make uncovered honours
# CASES=.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $tmp = tempdir('mlr-record.XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub write_file {
	my ($path, $text) = @_;
	open my $f, '>', $path or die "$path: $!";
	print $f $text;
	close $f or die $!;
	return $path;
}
sub slurp { my ($p) = @_; open my $f, '<', $p or die "$p: $!"; local $/; return scalar <$f> }

my $draft_text = "id: draft\ntitle: a draft\nrules: R-HOST-1\n\n=== transcript\n" .
	"> activate a.example\n> list a.example\n";
mkdir "$tmp/hosts";
my $draft = write_file("$tmp/hosts/draft.case", $draft_text);

# --parse: a commands-only draft parses, a half-written case does not.
my $out = `$RUN --parse $draft 2>$tmp/err`;
is($? >> 8, 0, '--parse accepts a commands-only draft');
is($out, "ok\n", '... and says ok');
like(slurp("$tmp/err"), qr/draft\.case: a draft: 2 steps with no expected lines yet/, '... noting the steps to record');

# A fake driver: the same answer every run, or a different one each run.
sub fake {
	my ($name, $varying) = @_;
	my $count = "$tmp/$name.count";
	my $line = $varying
		? "n=\$(cat $count 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $count; echo \"event * host-activated a.example run=\$n\"; echo 'ok true'"
		: "echo 'event * host-activated a.example'; echo 'ok true'";
	my $path = write_file("$tmp/$name", <<"EOS");
#!/bin/sh
echo 'modlife 1'
while read -r verb rest; do
	case \$verb in
	activate) $line ;;
	list) echo 'ok' ;;
	*) echo 'bad unknown' ;;
	esac
done
exit 0
EOS
	chmod 0755, $path;
	return $path;
}

my $stable = fake('stable', 0);
$out = `tools/record --runner $RUN --driver $stable $draft 2>&1`;
is($? >> 8, 0, 'tools/record: runs that agree are written') or diag($out);
like($out, qr/recorded from \Q$stable\E, 3 identical runs/, '... after 3 runs');
is(slurp($draft), "id: draft\ntitle: a draft\nrules: R-HOST-1\n\n=== transcript\n" .
	"> activate a.example\nevent * host-activated a.example\nok true\n> list a.example\nok\n",
	'... with the output as expected lines');
$out = `$RUN --driver $stable $draft`;
like($out, qr/^ok 1 - draft/m, '... and the recorded case passes');
$out = `tools/record --runner $RUN --driver $stable $draft 2>&1`;
like($out, qr/unchanged/, 'recording again: unchanged');

write_file($draft, $draft_text);
my $varying = fake('varying', 1);
# It counts its runs in a file, which a sandboxed driver cannot keep.
$out = `MODLIFE_SANDBOX=0 tools/record --runner $RUN --runs 4 --driver $varying $draft 2>&1`;
isnt($? >> 8, 0, 'tools/record: runs that differ are refused');
like($out, qr/the runs of \Q$varying\E differ \(3 of 3 against run 1\)/, '... saying how many differ');
like($out, qr/^-event \* host-activated a\.example run=1$/m, '... showing run 1');
like($out, qr/^\+event \* host-activated a\.example run=2$/m, '... against each other run');
unlike($out, qr/any order/, '... no group is guessed');
is(slurp($draft), $draft_text, '... and nothing is written');

# make record IMPL=prosody: real Prosody writes the expected lines.
SKIP: {
	skip 'real Prosody is not set up (make prosody-setup)', 3
		unless -d 'build/prosody/usr/lib/prosody';
	$out = `make --no-print-directory record IMPL=prosody CASES=$draft 2>&1`;
	is($? >> 8, 0, 'make record IMPL=prosody writes a draft') or diag($out);
	like(slurp($draft), qr/^> activate a\.example\nevent \* host-activated a\.example\nok true\n> list a\.example\nok\n\z/m,
		'... with what Prosody printed');
	$out = `make --no-print-directory check IMPL=prosody RULES= CASES=$draft 2>&1`;
	is($? >> 8, 0, '... and the case passes on Prosody') or diag($out);
}

# make uncovered CASES=: only the selected cases count.
$out = `make --no-print-directory uncovered CASES=cases/hosts/watch-every-event.case 2>&1`;
unlike($out, qr/^R-HOST-14\.1 /m, 'make uncovered CASES=: a clause the case names is covered');
like($out, qr/^R-HOST-1\.1 \(defined\): no case checks it$/m, '... one it does not name is listed');
$out = `make --no-print-directory uncovered 2>&1`;
is($? >> 8, 0, 'make uncovered without CASES: every case, all covered') or diag($out);
done_testing;
