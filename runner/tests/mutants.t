#!/usr/bin/perl
# make mutants' generator and runner (tools/mutagen, tools/mutants), on
# one small file of ref/ (config.c): the operators make the mutants they
# should, a mutant's identity survives unrelated edits, a known mutant is
# killed, a known equivalent is counted as listed in mutants/equivalent.txt,
# and the last line has its
# exact form. The full run is make mutants (minutes, not in make test).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

require "$Selftest::ROOT/tools/mutagen";

sub slurp {
	open my $f, '<', $_[0] or die "$_[0]: $!";
	local $/;
	return scalar <$f>;
}

my $text = slurp('ref/config.c');
my @m = Mutagen::mutants('ref/config.c', $text);
cmp_ok(scalar @m, '>', 50, 'config.c gives dozens of mutants');
my %ops = map { $_->{op} => 1 } @m;
ok($ops{$_}, "operator $_ applied") for qw(ror neg const del swap args api);
my %ids;
$ids{ $_->{id} }++ for @m;
ok(!grep({ $_ > 1 } values %ids), 'identities are unique');

# The known mutants of this test.
my $killed = 'config-1ca4e526';     # ml_config_set: the config table is not pushed
my $equivalent = 'config-9e2e0da9'; # ml_config_set: rawset -> settable on a plain table
my ($k) = grep { $_->{id} eq $killed } @m;
my ($e) = grep { $_->{id} eq $equivalent } @m;
ok($k && $k->{op} eq 'del' && $k->{func} eq 'ml_config_set', "$killed deletes a statement of ml_config_set");
ok($e && $e->{op} eq 'api' && $e->{what} eq 'lua_rawset -> lua_settable', "$equivalent is rawset -> settable");
like(Mutagen::diff($text, $e), qr/^-\s+lua_rawset\(L, top \+ 2\);\n\+\s+lua_settable\(L, top \+ 2\);$/m,
	'the diff shows the changed line');
like(slurp('mutants/equivalent.txt'), qr/^\Q$equivalent\E\s+\S/m, "$equivalent is listed with a reason");

# Identity is stable across unrelated edits: lines added above, another
# function changed, the whole file reindented.
{
	my $edited = "/* a new comment\n * of two lines */\n" . $text;
	$edited =~ s/(void ml_config_set)/static int unrelated(void)\n{\n    return 1 + 2;\n}\n\n$1/;
	(my $reindented = $edited) =~ s/^    /\t/mg;
	for my $t ([$edited, 'lines added above'], [$reindented, 'reindented']) {
		my %after = map { $_->{id} => $_ } Mutagen::mutants('ref/config.c', $t->[0]);
		ok($after{$killed} && $after{$equivalent}, "ids stable: $t->[1]");
		is($after{$equivalent}{line}, $e->{line} + 7, "... the line moved with the code")
			if $after{$equivalent};
	}
}

# A mutant never touches comments, strings or preprocessor lines.
{
	my @in = Mutagen::mutants('x.c', "#define N 1\nstatic int f(int a)\n{\n    /* a < 2 */\n"
		. "    g(\"x == 1\");\n    return a < 2;\n}\n");
	ok(@in && !grep({ $_->{op} ne 'del' && $_->{line} != 6 } @in), 'operators only in code');
}

# The run: one killed, one equivalent, in a private work folder.
my $tmp = tempdir('mlr-mutants.XXXXXX', TMPDIR => 1, CLEANUP => 1);
# The cases that read the configuration: enough for these mutants, and a
# coverage map in seconds.
my $cases = 'cases/per-host/get-option-*.case cases/options/*.case';
my $out = `MUTANTS_DIR=$tmp tools/mutants --cases "$cases" --files ref/config.c --only $killed,$equivalent 2>&1`;
my $st = $? >> 8;
is($st, 0, 'no survivor, exit 0') or diag $out;
my @lines = split /\n/, $out;
is($lines[-1], 'mutants: 1 killed, 0 survived, 1 equivalent of 2 generated (score 100.0%)',
	'last line');
like($out, qr/^2 mutants run in /m, 'both were run');

# The same again: both come from the cache.
$out = `MUTANTS_DIR=$tmp tools/mutants --cases "$cases" --files ref/config.c --only $killed,$equivalent 2>&1`;
like($out, qr/^0 mutants run in .*2 from the cache/m, 'a rerun comes from the cache') or diag $out;

# Without the equivalents list the equivalent survives, shown with its
# place and diff, and the run fails.
my $none = "$tmp/none.txt";
open my $f, '>', $none or die $!;
close $f;
$out = `MUTANTS_DIR=$tmp tools/mutants --cases "$cases" --equivalents $none --files ref/config.c --only $equivalent 2>&1`;
isnt($? >> 8, 0, 'a survivor fails the run');
like($out, qr/^SURVIVED ref\/config\.c:\d+ \Q$equivalent\E .*\n--- ref\/config\.c\n/m,
	'the survivor is shown with file:line and its diff');
like($out, qr/^mutants: 0 killed, 1 survived, 0 equivalent of 1 generated \(score 0\.0%\)$/m,
	'score 0 with one survivor');

done_testing;
