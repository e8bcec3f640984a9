#!/usr/bin/perl
# tools/precision (part of make test): no expected line pins an installed
# Prosody's paths or line numbers, and a case whose expected text or
# module code depends on Lua 5.4 carries the tag lua54, so that
# NOTAG=lua54 leaves out everything a port on another Lua cannot pass
# (spec/PROTOCOL.md §1.1).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Selftest;
use File::Temp qw(tempdir);
use Test::More;

my $dir = tempdir(CLEANUP => 1);
my $n = 0;

# Run the tool on a case made of HEADER, MODULE and TRANSCRIPT lines.
sub check {
	my ($tags, $module, $transcript) = @_;
	my $file = "$dir/c" . ++$n . '.case';
	open my $fh, '>', $file or die;
	print $fh "id: c$n\ntitle: t\nrules: R-LOAD-1\n";
	print $fh "tags: $tags\n" if $tags;
	print $fh "=== mod_x.lua\n$module\n=== transcript\n> load a.example x\n$transcript\n";
	close $fh;
	my $out = `tools/precision $file`;
	return ($? >> 8, $out);
}

my ($rc, $out) = (system('tools/precision') >> 8);
is($rc, 0, 'every case of cases/ that depends on Lua 5.4 is tagged lua54');

($rc, $out) = check('', 'error("x")', 'fail false "mod_x.lua:1: x\n<traceback>"');
is($rc, 0, 'an error of module code is the same on every Lua');

($rc, $out) = check('', 'local t = nil; t.x = 1', q{fail false "mod_x.lua:1: attempt to index a nil value (local 't')\n<traceback>"});
is($rc, 1, 'Lua 5.4\'s wording of an index error, untagged: a hit');
like($out, qr/c\d+\.case:8: .*variable info/, '... named with file and line');

($rc, $out) = check('quirk lua54', 'local t = nil; t.x = 1', q{fail false "mod_x.lua:1: attempt to index a nil value (local 't')\n<traceback>"});
is($rc, 0, '... tagged lua54: fine');

($rc, $out) = check('', 'module:log("info", "%s", tostring(3.0))', 'log a.example:x info 3.0');
is($rc, 1, 'an integral float: a hit');

($rc, $out) = check('', 'local r = table.pack(1, 2)', 'ok <env x@a.example>');
is($rc, 1, 'table.pack in module code: a hit');
like($out, qr/table\.pack/, '... saying what');

($rc, $out) = check('', 'module:log("info", "table.pack // goto"); -- x // y', 'log a.example:x info table.pack // goto');
is($rc, 0, 'the same words in a string or a comment are not code');

($rc, $out) = check('', 'local f = load("return 1")', 'ok <env x@a.example>');
is($rc, 1, 'load of a string: a hit');

($rc, $out) = check('', 'module:log("info", "a\\x07b")', 'log a.example:x info a\\x07b');
is($rc, 1, 'a \\x escape in a string of module code: a hit (Lua 5.2+)');

($rc, $out) = check('lua54', '', 'fail nil "share/lua/5.4/mod_x/mod_x.lua: No such file or directory"');
is($rc, 1, 'Prosody\'s plugin search path in an expected line: a hit, whatever the tags');
like($out, qr/installed Prosody.*\{\*\}/, '... saying to match it with {*}');

($rc, $out) = check('', '', 'raise "/usr/lib/prosody/util/events.lua:39: attempt to compare {*}"');
is($rc, 1, 'a position in Prosody\'s own code: a hit');

($rc, $out) = check('internals', '', 'raise "/usr/lib/prosody/util/events.lua:39: attempt to compare {*}"');
is($rc, 0, '... unless the case is tagged internals (the position is its point)');

($rc, $out) = check('', '', 'raise "{*}attempt to compare {*}"');
is($rc, 0, 'the same matched with {*}: fine');

($rc, $out) = check('', 'function module.load() end', 'ok <env x@a.example>');
is($rc, 0, 'module.load is no load()');

done_testing();
