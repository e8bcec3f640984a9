#!/usr/bin/perl
# The matcher, through the whole runner: a correct driver replays a log
# written here, and the case's groups and globs must accept exactly the
# outputs CASES.md allows.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $logs = tempdir('mlr-logs.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;
my $r;

sub write_log {
	my ($text) = @_;
	my $path = "$logs/" . ++$n . '.log';
	open my $f, '>', $path or die "$path: $!";
	print $f $text;
	close $f or die "$path: $!";
	return $path;
}

# accepts(CASE, NAME, LOG) / rejects(CASE, NAME, LOG[, REASON])
sub accepts {
	my ($case, $name, $log) = @_;
	expect_pass("$case accepts $name",
		driver => [ driver('correct'), write_log($log) ],
		case => case_file($case));
}

sub rejects {
	my ($case, $name, $log, $why) = @_;
	return expect_fail("$case rejects $name", $why // qr/differs/,
		driver => [ driver('correct'), write_log($log) ],
		case => case_file($case));
}

# --- any order, members of several lines -------------------------------
my $x2 = "event a.example item-removed/x item=2\n";
my $x1 = "event a.example item-removed/x item=1\n";
my $y3 = "event a.example item-removed/y item=3\n";
my $head = "> activate a.example\nok true\n> fire a.example x\n";
accepts('groups', 'members in the written order', "$head$x2$x1${y3}ok nil\n");
accepts('groups', 'members in the other order', "$head$y3$x2${x1}ok nil\n");
rejects('groups', 'a member with its lines swapped',
	"$head$x1$x2${y3}ok nil\n");
rejects('groups', 'interleaved members', "$head$x2$y3${x1}ok nil\n");
$r = rejects('groups', 'a missing member', "$head$x2${x1}ok nil\n");
is($r->{yaml}{first_divergence}{actual}, 'ok nil',
   'divergence: the result line came where the member was due');
rejects('groups', 'a member twice', "$head$x2$x1$y3${y3}ok nil\n");
rejects('groups', 'an extra line inside', "$head$x2$x1${y3}log x y z\nok nil\n");
rejects('groups', 'a missing line of a member', "$head$x2${y3}ok nil\n");

# --- any order, one member per line ------------------------------------
my @lines = map { "event a.example item-removed/$_\n" }
	('a item=1', 'b item=2', 'c item=3');
my $tail = "event * module-unloaded host=a.example module=m\nok true\n";
for my $perm ([0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1],
	      [2, 1, 0]) {
	accepts('group-lines', "order @$perm",
		"> unload a.example m\n" . join('', @lines[@$perm]) . $tail);
}
rejects('group-lines', 'a line twice',
	"> unload a.example m\n$lines[0]$lines[0]$lines[1]$tail");
rejects('group-lines', 'a missing line',
	"> unload a.example m\n$lines[0]$lines[1]$tail");
$r = rejects('group-lines', 'a changed line',
	"> unload a.example m\nevent a.example item-removed/b item=9\n$lines[0]$lines[2]$tail");
is($r->{yaml}{first_divergence}{expected}, 'event a.example item-removed/b item=2',
   'divergence: names the member most like the actual line');
rejects('group-lines', 'a line after the group that belongs in it',
	"> unload a.example m\n$lines[0]$lines[1]$tail$lines[2]");

# --- one of ------------------------------------------------------------
my $dep = "event a.example module-unloaded module=dep\n";
my $user = "event a.example module-unloaded module=user\n";
accepts('one-of', 'the first member', "> unload a.example dep\n$dep${user}ok true\n");
accepts('one-of', 'the second member (after backtracking)',
	"> unload a.example dep\n$dep$user${user}ok false\n");
rejects('one-of', 'no member', "> unload a.example dep\n${user}ok true\n");
rejects('one-of', 'both result lines', "> unload a.example dep\n$dep${user}ok true\nok false\n",
	qr/wrote 1 line after stdin was closed/);
rejects('one-of', 'a result line of neither member',
	"> unload a.example dep\n$dep${user}ok nil\n");

# --- {*} ---------------------------------------------------------------
my $missing = "> load a.example missing\n" .
	"log a.example:missing error Error loading module: cannot open mod_missing.lua: No such file or directory\n";
accepts('glob', 'runs of text, empty runs and a whole line',
	"$missing" . 'fail nil "mod_missing.lua: No such file"' . "\n" .
	"> fire * x\nevent * x\nok xy\n");
accepts('glob', 'runs around and between literals',
	"$missing" . "fail nil x\n> fire * x\nevent * x a=b\nok axbxcy\n");
rejects('glob', 'a different literal',
	"$missing" . "fail nil x\n> fire * x\nevent * x\nok axbz\n");
rejects('glob', 'text after the last literal',
	"$missing" . "fail nil x\n> fire * x\nevent * x\nok xyz\n");
rejects('glob', 'a missing literal part',
	"> load a.example missing\nlog a.example:missing error Error loading module: gone\nfail nil x\n" .
	"> fire * x\nevent * x\nok xy\n");
rejects('glob', 'no line for a lone {*}',
	"$missing" . "fail nil x\n> fire * x\nok xy\n");
rejects('glob', '{*} spanning two lines',
	"$missing" . "fail nil x\n> fire * x\nevent\n* x\nok xy\n");

# --- backtracking across members and the budget -------------------------
accepts('backtrack', 'a line the greedy choice would take',
	"> fire a.example y\nlog a b c\nlog a b x\nok true\n");
accepts('backtrack', 'the other order', "> fire a.example y\nlog a b x\nlog a b c\nok true\n");
rejects('backtrack', 'two lines only the glob matches',
	"> fire a.example y\nlog a b x\nlog a b y\nok true\n");

my $many = "> fire a.example z\n" . ("log a b c d e\n" x 11) . "ok false\n";
$r = rejects('explode', '11! orders of a mismatch, in bounded time',
	$many, qr/in every way tried before the matcher's limit/);
cmp_ok($r->{elapsed}, '<', 20, 'the matcher stops within its budget');
accepts('explode', 'the same lines with the right result line',
	"> fire a.example z\n" . ("log a b c d e\n" x 11) . "ok true\n");

# A big group of distinct members, in the reverse order: the duplicate
# check must not cost n^3 (fuzz/regressions/match/timeout-any-order-*).
my $cases = tempdir('mlr-cases.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $big = "$cases/big-group.case";
open my $bf, '>', $big or die "$big: $!";
print $bf "id: big-group\ntitle: 3000 members\nrules: R-SELFTEST-1\n\n",
	"=== transcript\n> fire a.example big\n{ any order\n",
	(map { "event a.example e$_\n" } 1 .. 3000), "}\nok true\n";
close $bf or die "$big: $!";
$r = expect_pass('big-group accepts 3000 distinct members in the reverse order',
	driver => [ driver('correct'), write_log("> fire a.example big\n" .
		join('', map { "event a.example e$_\n" } reverse 1 .. 3000) . "ok true\n") ],
	case => $big, timeout => 60);

# A glob whose literal run almost matches a long line: linear, not
# pattern * text (fuzz/regressions/match/timeout-glob-*), in the matcher
# and in the report's diff.
my $longglob = "$cases/long-glob.case";
open my $lf, '>', $longglob or die "$longglob: $!";
print $lf "id: long-glob\ntitle: long glob\nrules: R-SELFTEST-1\n\n",
	"=== transcript\n> fire a.example long\n",
	"log {*}" . ('a' x 8000) . "b\nok true\n";
close $lf or die "$longglob: $!";
$r = expect_fail('long-glob rejects a long line that lacks the last byte', qr/differs/,
	driver => [ driver('correct'), write_log("> fire a.example long\nlog " .
		('a' x 60000) . "\nok true\n") ],
	case => $longglob, timeout => 60);

# --- whole-block rules ---------------------------------------------------
$r = rejects('todo-title', 'a wrong result line, whatever the title says',
	"> list a.example\nok a\n");
like($r->{desc}, qr/\\# TODO/, 'the # in the title is escaped');

done_testing();
