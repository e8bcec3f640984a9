#!/usr/bin/perl
# needs: proven (spec/PROTOCOL.md §1.1, ref/without.c, mk/without.mk).
# `make without` only proves the cases' needs: if switching a capability
# off really removes that part of the API from the reference and from its
# greeting. This checks it, capability by capability, on the driver
# itself: the greeting, the methods and modulemanager functions module
# code sees, the commands that answer bad, the behaviours that stop. It
# also checks that the three lists of capability words agree: the
# runner's (runner/case.c), make without's (mk/without.mk) and the
# reference's greeting.
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use Selftest;
use File::Temp qw(tempdir);
use IPC::Open3 qw(open3);
use Symbol qw(gensym);
use Test::More;

my $REF = "$ROOT/build/modlife-ref";
-x $REF or BAIL_OUT("$REF is missing: run 'make' first");

sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> }

# Run the reference on MODDIR with MODLIFE_WITHOUT=$without and the
# commands; returns (exit status, stdout lines, stderr).
sub ref_run {
	my ($without, $moddir, @commands) = @_;
	local $ENV{MODLIFE_WITHOUT} = $without;
	my $err = gensym;
	my $pid = open3(my $in, my $out, $err, $REF, $moddir);
	print $in "$_\n" for @commands;
	close $in;
	my @lines = <$out>;
	my $stderr = join '', <$err>;
	waitpid $pid, 0;
	chomp @lines;
	return ($? >> 8, \@lines, $stderr);
}

sub greeting_words { my ($l) = @_; my @w = split ' ', $l; splice @w, 0, 2; @w }

# The three lists.
my ($mk) = slurp("$ROOT/mk/without.mk") =~ /^CAPABILITIES := (.*?)(?<!\\)\n/ms;
$mk =~ s/\\\n//g;
my @caps = split ' ', $mk;
my ($runner) = slurp("$ROOT/runner/case.c") =~ /capabilities\[\] = \{(.*?)\};/s;
my @runner = $runner =~ /"([^"]+)"/g;
is_deeply([ sort @runner ], [ sort @caps ],
	'runner/case.c and mk/without.mk list the same capabilities');

my $moddir = tempdir(CLEANUP => 1);
my ($status, $out) = ref_run('', $moddir);
is($status, 0, 'the reference exits 0');
my %all = map { $_ => 1 } greeting_words($out->[0]);
ok($all{$_}, "the reference announces $_") for @caps;

($status, $out, my $stderr) = ref_run('no-such-word', $moddir);
is($status, 2, 'MODLIFE_WITHOUT with a word that is no capability: exit 2');
like($stderr, qr/not a capability: 'no-such-word'/, '... saying why');
is(scalar @$out, 0, '... and no greeting');

# A probe: what module code sees.
my @methods = qw(depends add_item remove_item handle_items provides
	get_host_items set_status get_status log_status shared wrap_global
	wrap_object_event wrap_event unhook unhook_object_event hook hook_tag
	hook_stanza context add_timer);
my @manager = qw(reload get_items load unload get_modules);
open my $fh, '>', "$moddir/mod_probe.lua" or die;
print $fh <<'EOF';
--% colour: green
local mm = require "core.modulemanager";
local seen = {};
for _, m in ipairs { METHODS } do seen[#seen + 1] = m .. "=" .. type(module[m]); end
for _, f in ipairs { MANAGER } do seen[#seen + 1] = "mm." .. f .. "=" .. type(mm[f]); end
seen[#seen + 1] = "meta=" .. type(module.meta);
seen[#seen + 1] = "reloading=" .. tostring(module.reloading);
module:log("info", "%s", table.concat(seen, " "));
module:log("info", "nil as %s", nil);
EOF
close $fh;
my $probe = slurp("$moddir/mod_probe.lua");
$probe =~ s/METHODS/join ', ', map { "\"$_\"" } @methods/e;
$probe =~ s/MANAGER/join ', ', map { "\"$_\"" } @manager/e;
open $fh, '>', "$moddir/mod_probe.lua" or die;
print $fh $probe;
close $fh;
open $fh, '>', "$moddir/mod_authz_internal.lua" or die;
print $fh "module:log(\"info\", \"authz provider loaded\");\n";
close $fh;

# What each capability removes, as the probe and the commands show it.
my %absent = (
	reload => [ 'mm.reload' ],
	depends => [ 'depends' ],
	items => [ qw(add_item remove_item handle_items provides mm.get_items) ],
	'host-items' => [ 'get_host_items' ],
	status => [ qw(set_status get_status log_status) ],
	'shared-data' => [ 'shared' ],
	wrappers => [ qw(wrap_global wrap_object_event wrap_event) ],
	unhook => [ qw(unhook unhook_object_event) ],
	meta => [ 'meta' ],
	'hook-tag' => [ qw(hook_tag hook_stanza) ],
	context => [ 'context' ],
	timers => [ 'add_timer' ],
);
my @commands = ('config a.example x 1', 'config a.example component_module c',
	'activate a.example', 'load a.example probe', 'reload a.example probe',
	'start', 'advance 0');

sub probe_fields {
	my ($lines) = @_;
	my ($l) = grep { /^log a\.example:probe info depends=/ } @$lines;
	return undef unless $l;
	$l =~ s/^log a\.example:probe info //;
	return { map { split /=/, $_, 2 } split ' ', $l };
}

($status, $out) = ref_run('', $moddir, @commands);
my $full = probe_fields($out);
ok($full, 'with everything on, the probe logs what it sees') or diag explain $out;
is($full->{$_}, 'function', "with everything on, $_ is a function")
	for @methods, map { "mm.$_" } @manager;

for my $cap (@caps) {
	($status, $out) = ref_run($cap, $moddir, @commands);
	is($status, 0, "without $cap: exit 0");
	my @words = greeting_words($out->[0]);
	is_deeply(\@words, [ grep { $_ ne $cap } greeting_words(
		(ref_run('', $moddir))[1][0]) ], "without $cap: the greeting lacks only $cap");
	my $seen = probe_fields($out);
	my %gone = map { $_ => 1 } @{ $absent{$cap} // [] };
	for my $field (sort keys %$full) {
		my $want = $gone{$field} ? 'nil' : $full->{$field};
		if ($field eq 'reloading' && $cap eq 'reload-state') {
			$want = 'nil';
		}
		is($seen->{$field}, $want, "without $cap: $field is $want");
	}
	my $text = join "\n", @$out;
	my %bad = (config => qr/^bad config: capability switched off$/m,
		components => qr/^bad components: capability switched off$/m,
		reload => qr/^bad reload: capability switched off$/m,
		start => qr/^bad start: capability switched off$/m,
		timers => qr/^bad timers: capability switched off$/m);
	for my $c (sort keys %bad) {
		if ($c eq $cap) {
			like($text, $bad{$c}, "without $cap: its command answers bad");
		} else {
			unlike($text, $bad{$c}, "without $cap: the $c command works");
		}
	}
	if ($cap eq 'auth-providers') {
		unlike($text, qr/authz provider loaded/, 'without auth-providers: activation loads no provider');
	} else {
		like($text, qr/^log a\.example:authz_internal info authz provider loaded$/m,
			"without $cap: activation loads the authz provider");
	}
	if ($cap eq 'format') {
		like($text, qr/^log a\.example:probe info nil as %s$/m,
			'without format: util.format\'s (nil) is gone');
	} else {
		like($text, qr/^log a\.example:probe info nil as \(nil\)$/m,
			"without $cap: util.format's (nil)");
	}
}

# The point of it all: a case that uses a switched-off part without
# naming it in needs: fails, and passes (skipped) once it names it.
for my $needs ('', "needs: unhook\n") {
	my $case = "$moddir/uses-unhook.case";
	open my $c, '>', $case or die;
	print $c "id: uses-unhook\ntitle: t\nrules: R-EV-1\n$needs=== mod_x.lua\n",
		"local function h() end\nmodule:hook(\"e\", h);\nmodule:unhook(\"e\", h);\n",
		"=== transcript\n> activate a.example\nevent * host-activated a.example\nok true\n",
		"> load a.example x\nevent a.example module-loaded host=a.example module=x\n",
		"ok <env x\@a.example>\n";
	close $c;
	local $ENV{MODLIFE_WITHOUT} = 'unhook';
	my $tap = `$RUN --driver $REF $case 2>&1`;
	if ($needs) {
		like($tap, qr/^ok 1 - .*# SKIP needs unhook/m,
			'a case that needs unhook is skipped without it');
	} else {
		like($tap, qr/^not ok 1 - /m,
			'a case that uses unhook without needing it fails without it');
		local $ENV{MODLIFE_WITHOUT} = '';
		like(`$RUN --driver $REF $case 2>&1`, qr/^ok 1 - uses-unhook: t$/m,
			'... and passes with it');
	}
}

# Two at once, comma- or space-separated.
($status, $out) = ref_run('status,unhook meta', $moddir);
is_deeply([ greeting_words($out->[0]) ],
	[ grep { !/^(status|unhook|meta)$/ } greeting_words((ref_run('', $moddir))[1][0]) ],
	'MODLIFE_WITHOUT takes several words, separated by commas or spaces');

done_testing();
