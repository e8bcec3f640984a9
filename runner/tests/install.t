#!/usr/bin/perl
# The suite as an installed tool (issue 15): after make install PREFIX=,
# `modlife check --impl DRIVER` runs the whole installed suite from
# anywhere, with no checkout: the PREFIX is moved elsewhere after the
# install and the run starts in an empty directory with a PATH that does
# not lead to the checkout. Its options are make check's; its man pages
# are installed and render.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $tmp = tempdir('mlr-install.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = `make --no-print-directory install PREFIX=$tmp/first 2>&1`;
is($? >> 8, 0, 'make install PREFIX=...') or diag($out);
rename "$tmp/first", "$tmp/moved" or die "rename: $!";
my $p = "$tmp/moved";
mkdir "$tmp/elsewhere";

# Runs a command in $tmp/elsewhere, away from the checkout.
sub away {
	my ($cmd) = @_;
	my $o = `cd $tmp/elsewhere && env -u PERL5LIB -u MODLIFE_SUMMARY PATH=/usr/bin:/bin $cmd 2>&1`;
	return ($? >> 8, $o);
}

for my $f (qw(bin/modlife bin/modlife-run bin/modlife-ref libexec/modlife/modlife-spawn
	share/man/man1/modlife.1 share/man/man5/modlife-protocol.5 share/doc/modlife/PORTING.md
	share/modlife/spec/PROTOCOL.md share/modlife/cases/shared/seed-example-1.case)) {
	ok(-e "$p/$f", "installed: $f");
}
my @text = grep { -T } split /\n/, `find $p/share $p/bin/modlife -type f`;
my @mention = grep { my $t = do { open my $f, '<', $_; local $/; <$f> } // ''; index($t, $Selftest::ROOT) >= 0 } @text;
is_deeply(\@mention, [], 'no installed text file names the checkout');

my ($rc, $o) = away("$p/bin/modlife check --impl $p/bin/modlife-ref");
is($rc, 0, 'modlife check --impl PREFIX/bin/modlife-ref, from elsewhere: passes') or diag($o);
like($o, qr/^Result: PASS$/m, '... Result: PASS');
like($o, qr/^area\s+passed\s+failed\s+todo\s+skipped\n(?:\S+\s+\d+\s+0\s+0\s+0\n)+total\s+\d+\s+0\s+0\s+0$/m,
	'... with the table per area');
my ($n) = $o =~ /^modlife: (\d+) passed, 0 failed, 0 todo, 0 skipped of \1 against \S+modlife-ref$/m;
ok($n && $n > 200, "... every installed case passed (" . ($n // 0) . ')');

# The options of make check.
my $wrong = "$tmp/elsewhere/wrong";
# It runs the installed reference by a path not on its command line: the
# sandbox (runner/sandbox.c) must be told to show it.
$ENV{MODLIFE_SANDBOX_EXPOSE} = "$p/bin";
open my $w, '>', $wrong or die $!;
print $w "#!/bin/sh\nexec $p/bin/modlife-ref \"\$@\" | sed -u 's/^ok true\$/ok false/'\n";
close $w;
chmod 0755, $wrong;
($rc, $o) = away("$p/bin/modlife check --impl ./wrong --id 'seed-example-1' --jobs 1 --timeout 5");
is($rc, 1, 'a failing driver (relative path): the run fails');
like($o, qr/^modlife: 0 passed, 1 failed, 0 todo, 0 skipped of 1 against \.\/wrong$/m, '... and says so');
like($o, qr/first_divergence:.*?actual: ok false/s, '... where the driver differs');
like($o, qr/rerun: modlife check --impl \S+\/wrong \S+seed-example-1\.case/, '... the rerun line is this tool\'s');
open my $e, '>', "$tmp/elsewhere/exp.txt" or die $!;
print $e "seed-example-1 todo returns false\n";
close $e;
($rc, $o) = away("$p/bin/modlife check --impl ./wrong --id seed-example-1 --expect exp.txt --strict --junit report.xml");
is($rc, 0, '--expect --strict: a known failure that still fails passes') or diag($o);
my $xml = do { open my $f, '<', "$tmp/elsewhere/report.xml" or die $!; local $/; <$f> };
like($xml, qr/<skipped\b[^>]*known failure: returns false/, '--junit: the known failure is <skipped/>');
($rc, $o) = away("$p/bin/modlife check --id seed-example-1 --expect exp.txt --strict");
is($rc, 1, '--strict: a known failure that passes fails the run');
($rc, $o) = away("$p/bin/modlife check --area unload,global --notag quirk --repeat 2 --jobs 2");
is($rc, 0, '--area --notag --repeat --jobs') or diag($o);
like($o, qr/^modlife: 2 runs in a row passed against ref$/m, '... 2 runs');
unlike($o, qr/^(?!global|unload|total|area)\S+\s+\d+\s+\d+/m, '... only the selected areas');
($rc, $o) = away("$p/bin/modlife list --rule R-SHARED-3 --tag seed");
like($o, qr/^seed-example-1\s+shared\s/m, 'modlife list --rule --tag');
($rc, $o) = away("$p/bin/modlife check --tag nosuch");
isnt($rc, 0, 'an empty selection fails');
($rc, $o) = away("$p/bin/modlife check --impl ./nosuch");
is($rc, 2, 'a missing driver is a usage error');

# known-failures: a first expectations file for the failing driver.
($rc, $o) = away("$p/bin/modlife known-failures --impl ./wrong --id 'seed-example-*'");
like($o, qr/^seed-example-1 todo step \d+ \(> activate a\.example\): got 'ok false'/m,
	'modlife known-failures: a todo line per failing case');

SKIP: {
	skip 'man is not installed', 2 unless -x '/usr/bin/man';
	for my $page ("$p/share/man/man1/modlife.1", "$p/share/man/man5/modlife-protocol.5") {
		my $text = `MANWIDTH=80 man -l $page 2>&1`;
		like($text, qr/SYNOPSIS|START-UP/, "man -l $page renders");
	}
}
done_testing;
