#!/usr/bin/perl
# tools/difftest: the comparison accepts exactly the orders its rules name
# (Compare.pm), the generator is reproducible (Gen.pm), and a scenario
# with a planted difference is found and shrunk (a fake "Prosody" that is
# the reference with one line changed).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../../tools/difftest";
use File::Temp qw(tempdir);
use Test::More;
use Compare;
use Gen;

my $ul = sub { "event a.example module-unloaded host=a.example module=$_[0]" };
my @x = ('log a.example:x info unload x', $ul->('x'));
my @y = ('log a.example:y info unload y', $ul->('y'));
my @tail = ('event * host-deactivated a.example', 'ok true');

is(Compare::step_match('load a.example x', ['ok true'], ['ok true']), '', 'equal lines match');
is(Compare::step_match('load a.example x', ['a', 'b', 'ok'], ['b', 'a', 'ok']), undef,
	'a load whose lines come in another order does not');
is(Compare::step_match('deactivate a.example', [@x, @y, @tail], [@y, @x, @tail]), 'R-HOST-8 weak',
	'deactivate: the unloads in another order (R-HOST-8)');
is(Compare::step_match('deactivate a.example', [@x, @y, @tail], [@y, @tail]), undef,
	'deactivate: one module fewer does not');
is(Compare::step_match('deactivate a.example', [@x, @y, @tail], [@y, @x, 'ok false']), undef,
	'deactivate: another result does not');
is(Compare::step_match('deactivate a.example', [@x, @y, @tail], ['log a.example:y info wrap', 'raise "boom"']), 'R-HOST-8 weak',
	'deactivate: a raise at the first unload where the other order did not raise');
is(Compare::step_match('deactivate a.example', [$x[0], 'raise "boom"'], [@x, @y, 'raise "boom"']), undef,
	'deactivate: but not a raise after more unloads than the other side made');
is(Compare::step_match('deactivate a.example',
	[$ul->('m4'), "log a.example:m2 info hook 'm4'", 'raise "m2 boom"'],
	["log a.example:m4 info wrap 'm2'", 'raise "m4 boom"']), 'R-HOST-8 weak',
	'deactivate: each order runs another raising handler first (both raise)');
is(Compare::step_match('unload a.example d', [@x, @y, 'ok true'], [@y, @x, 'ok true']), 'R-DEP-10',
	'unload: dependents in another order (R-DEP-10)');
is(Compare::step_match('unload a.example d', [@x, @y, 'ok true'], [@y, 'log a.example:x info other', $ul->('x'), 'ok true']), undef,
	'unload: a block with other lines does not');
my $ir = sub { "event a.example item-removed/$_[0] item=$_[1] source=<api m\@a.example>" };
is(Compare::step_match('unload a.example m',
	[$ir->('k1', 1), $ir->('k1', 2), $ir->('k2', 3), 'ok true'],
	[$ir->('k2', 3), $ir->('k1', 1), $ir->('k1', 2), 'ok true']), 'R-UNLOAD-6',
	'item keys in another order (R-UNLOAD-6)');
is(Compare::step_match('unload a.example m',
	[$ir->('k1', 1), $ir->('k1', 2), 'ok true'],
	[$ir->('k1', 2), $ir->('k1', 1), 'ok true']), undef,
	'items of one key in another order do not');
my @w = ("event b.example item-removed/svc item=<table> source=<api m3\@b.example>",
	"log b.example:m2 info wrap item-removed/k1 5 'v'", 'raise "mod_m2.lua:32: boom"');
is(Compare::step_match('unload b.example m3', \@w, [ @w[1, 2] ]), 'R-UNLOAD-6 weak',
	'a wrapper that raises on the first key: its line opens that key\'s run (seed 1, scenario 3295 on 13)');
my $pos = sub { "fail false \"/usr/lib/prosody/core/moduleapi.lua:$_[0]: Unable to load required module, mod_$_[1]: x\"" };
is(Compare::step_match('load a.example x', [$pos->(173, 'y')], [$pos->(167, 'y')]), undef,
	'a position in Prosody\'s code on another line does not match (0.12)');
is(Compare::step_match('load a.example x', [$pos->(173, 'y')], [$pos->(167, 'y')], '13'), 'positions',
	'but does against 13, whose lines are not specified (SPEC.md)');
is(Compare::step_match('load a.example x', [$pos->(173, 'y')], [$pos->(167, 'z')], '13'), undef,
	'against 13, the rest of the line still counts');
my $g = Compare::as_groups('deactivate a.example', [@x, @y, @tail]);
is_deeply($g, ['{ any order', @x, '--', @y, '}', @tail], 'a finding writes the open order as a group');

is(Gen::render(Gen->new(42)->scenario, 'a', 't'), Gen::render(Gen->new(42)->scenario, 'a', 't'),
	'one seed, one scenario');
isnt(Gen::render(Gen->new(42)->scenario, 'a', 't'), Gen::render(Gen->new(43)->scenario, 'a', 't'),
	'another seed, another scenario');

# A planted difference: the "Prosody" side is the reference with every
# `module-loaded` event line renamed. difftest must report divergences,
# and shrink each to a case whose expected lines show the planted line.
SKIP: {
	skip 'build/modlife-ref and build/modlife-run are needed', 6
		unless -x 'build/modlife-ref' && -x 'build/modlife-run';
	my $dir = tempdir('difftest-t.XXXXXX', TMPDIR => 1, CLEANUP => 1);
	# Both drivers are this project's own (as in make difftest): a fake
	# driver in a temporary folder would not be seen by the sandbox.
	local $ENV{MODLIFE_SANDBOX} = '0';
	open my $f, '>', "$dir/fake" or die;
	print $f "#!/bin/sh\nexec \"$ENV{PWD}/build/modlife-ref\" \"\$@\" | sed -u 's/ module-loaded / module-LOADED /'\n";
	close $f;
	chmod 0755, "$dir/fake";
	my $out = `tools/difftest/difftest --runner build/modlife-run --ref build/modlife-ref --prosody $dir/fake --n 4 --seed 1 --jobs 2 --findings $dir/f --quiet 2>&1`;
	like($out, qr/^difftest: 4 scenarios, [1-4] divergences \(seed 1\)$/m, 'the planted difference is found') or diag $out;
	my @cases = glob "$dir/f/*.case";
	ok(@cases, 'each divergence is written as a case');
	my $c = @cases ? do { local (@ARGV, $/) = $cases[0]; <> } : '';
	like($c, qr/module-LOADED/, 'with the judge\'s lines as expected output');
	# --release: both drivers must follow it (a probe case with `versions:`);
	# a driver is a command with its arguments.
	my $r13 = "$ENV{PWD}/build/modlife-ref --prosody 13";
	$out = `tools/difftest/difftest --runner build/modlife-run --ref '$r13' --prosody build/modlife-ref --release 13 --n 2 --findings $dir/g --quiet 2>&1`;
	is($? >> 8, 2, 'a driver of another release is refused') or diag $out;
	like($out, qr/the --prosody driver does not follow Prosody 13/, 'and named');
	$out = `tools/difftest/difftest --runner build/modlife-run --ref '$r13' --prosody '$r13' --release 13 --n 4 --findings $dir/g --quiet 2>&1`;
	like($out, qr/^difftest: 4 scenarios, 0 divergences \(seed 1\)$/m, 'drivers with arguments, release 13') or diag $out;
}

done_testing;
