# Gen.pm - the scenario generator of tools/difftest (README.md there).
#
# A scenario is 1 to 5 modules, each made of one or two versions, each
# version a list of fragments of lifecycle behaviour (Lua text), and a
# list of commands (protocol commands and `! write` directives). It is
# kept as a structure so that the shrinker can drop commands, fragments
# and modules, and rendered as a case file whose steps have no expected
# lines yet (Gen::render).
#
# Everything a fragment logs is determined by Prosody's defined
# semantics: no addresses (values are described by `d`, the preamble),
# lists sorted where their order is unspecified (R-ITEM-3, get_modules),
# a distinct priority for every generated hook on one event and none
# equal to the manager's own (R-EV-2), shared tables kept alive by
# prosody.* (R-SHAREDDATA-2). The orders that stay unspecified (R-HOST-8,
# R-DEP-10, R-UNLOAD-6) are the comparison's business (Compare.pm).
package Gen;
use strict;
use warnings;

our @HOSTS = ('a.example', 'b.example');

# What every module starts with (never shrunk away): `d` describes a
# value without an address; `mm` is the manager's query interface.
our $PREAMBLE = <<'LUA';
local mm = require "core.modulemanager";
local function d(v, depth)
	local t = type(v);
	if t == "string" then return "'" .. v:gsub("\n[^\n]*stack traceback:.*$", "<tb>") .. "'" end
	if t ~= "table" then
		if t == "function" or t == "userdata" or t == "thread" then return t end
		return tostring(v);
	end
	local m = rawget(v, "module");
	if type(m) == "table" and rawget(m, "name") then return "env:" .. tostring(m.name) .. "@" .. tostring(m.host) end
	if rawget(v, "event_handlers") then return "api:" .. tostring(v.name) .. "@" .. tostring(v.host) end
	if (depth or 0) > 1 then return "table" end
	local keys = {};
	for k in pairs(v) do keys[#keys + 1] = tostring(k) end
	table.sort(keys);
	local out = {};
	for _, k in ipairs(keys) do
		local val = v[k]; if val == nil then val = v[tonumber(k)] end
		out[#out + 1] = k .. "=" .. d(val, (depth or 0) + 1);
	end
	return "{" .. table.concat(out, ",") .. "}";
end
local function st(...)
	local n, a, b, c = select("#", ...), ...;
	return n .. " " .. d(a) .. " " .. d(b) .. " " .. type(c);
end
local function dn(...)
	local out = { tostring(select("#", ...)) };
	for i = 1, select("#", ...) do out[#out + 1] = d((select(i, ...))) end
	return table.concat(out, " ");
end
LUA

sub new {
	my ($class, $seed) = @_;
	# A small LCG of our own: the same seed gives the same scenario on
	# every perl (Perl's rand is drand48 on Linux, but say so once).
	return bless { s => ($seed * 2654435761 + 1) % 4294967296, prio => {} }, $class;
}

sub rnd {
	my ($g, $n) = @_;
	$g->{s} = ($g->{s} * 1103515245 + 12345) % 2147483648;
	return int(($g->{s} / 2147483648) * $n);
}
sub pick { my ($g, @l) = @_; return $l[$g->rnd(scalar @l)]; }
sub chance { my ($g, $p) = @_; return $g->rnd(1000) < $p * 1000; }

# A priority for a new hook on EVENT, distinct from every other generated
# hook on it and from the manager's own (0, 100, 101 on host-activated,
# 0 on host-deactivated; R-EV-2 leaves ties unspecified).
sub prio {
	my ($g, $event) = @_;
	my @near = (-1, -0.5, 0.5, 1, 2, 5, 99, 99.5, 100.5, 101.5, 102, 1000, -1000, 10, -10, 3, 4);
	for (1 .. 30) {
		my $p = $g->pick(@near);
		next if $g->{prio}{$event}{$p};
		$g->{prio}{$event}{$p} = 1;
		return $p;
	}
	return undef;
}

# What a piece of module code can observe mid-step (issue 12, group 1).
sub observe {
	my ($g, $me, $tag) = @_;
	my $other = $g->pick(@{ $g->{names} });
	my $h = $g->pick(@HOSTS, '*');
	my @o = (
		qq{do local ms = mm.get_modules("$h"); local l = {}; if ms then for k in pairs(ms) do l[#l + 1] = k end end; table.sort(l); module:log("info", "$tag get_modules $h %s %s", ms and "map" or "nil", table.concat(l, ",")); end},
		qq{module:log("info", "$tag is_loaded $h $other %s", d(mm.is_loaded("$h", "$other")));},
		qq{do local l = {}; for _, v in ipairs(module:get_host_items("k1")) do l[#l + 1] = d(v) end; table.sort(l); module:log("info", "$tag items %s", table.concat(l, ",")); end},
		qq{module:log("info", "$tag reloading %s saved %s", d(module.reloading), d(module.saved_state));},
		qq{module:log("info", "$tag status %s", st(module:get_status()));},
		qq{module:log("info", "$tag get_module $h $other %s", d(mm.get_module("$h", "$other")));},
		qq{module:log("info", "$tag host %s global %s", d(module.host), d(module.global));},
	);
	return $g->pick(@o);
}

# An error raised at a chosen point, or nothing.
sub maybe_error {
	my ($g, $me, $tag, $p) = @_;
	return $g->chance($p) ? qq{error("$tag boom $me");} : '';
}

# One fragment of module NAME (a string of Lua).
sub fragment {
	my ($g, $me) = @_;
	my $k = $g->rnd(20);
	my $other = $g->pick(@{ $g->{names} });
	if ($k == 0) {
		return "module:set_global();";
	} elsif ($k == 1) {
		my $ret = $g->pick('', '', 'return false;', 'return nil, "why";', qq{error("add_host boom");});
		my $unload = $g->chance(0.5)
			? qq{ function m.unload() m:log("info", "host unload %s", m.host); } . $g->observe($me, 'hu') . " end" : '';
		my $obs = $g->chance(0.5) ? ' ' . $g->observe($me, 'ah') : '';
		my $item = $g->chance(0.3) ? qq{ m:add_item("k1", "h-$me");} : '';
		return qq{function module.add_host(m) m:log("info", "add_host %s", m.host);$unload$obs$item $ret end};
	} elsif ($k == 2 || $k == 3) {
		my $ev = $g->pick('module-loaded', 'module-unloaded', 'module-reloaded', 'item-added/k1', 'item-removed/k1', 'x', 'host-activated', 'host-deactivated', 'module-loaded');
		my $fn = $g->pick('hook', 'hook', 'hook_global', 'wrap');
		my $p = $g->prio($fn eq 'hook_global' ? "*$ev" : $ev);
		return '' unless defined $p;
		my $ret = $g->pick('', '', '', 'return true;', 'return false;', 'return "stop";');
		my $obs = $g->chance(0.5) ? ' ' . $g->observe($me, "h$ev") : '';
		my $err = $g->maybe_error($me, "hook $ev", 0.1);
		my $body = qq{module:log("info", "$fn $ev $p %s", d(e and (e.module or e.item or e.host or e)));$obs $err$ret};
		if ($fn eq 'wrap') {
			return qq{do local r = table.pack(pcall(module.wrap_event, module, "$ev", function (h, name, e) $body return h(name, e); end)); module:log("info", "wrap_event returned %s", dn(table.unpack(r, 1, r.n))); end};
		}
		# Every registration gets its own priority: two instances of one
		# module (hosts, a failed load's leftovers) must not tie (R-EV-2).
		return qq{do prosody.tie = (prosody.tie or 0) + 1e-6; local r = table.pack(module:$fn("$ev", function (e) $body end, $p + prosody.tie)); module:log("info", "$fn returned %s", dn(table.unpack(r, 1, r.n))); end};
	} elsif ($k == 4) {
		# hook_object_event and friends on an object whose add_handler
		# and remove_handler return values (what do the hooks return?)
		my $rv = $g->pick('', 'return "added", 2;', 'return nil, "no";', 'return false;', 'return 1, 2, 3;');
		my $rr = $g->pick('', 'return "removed";', 'return true, "x";');
		my $fn = $g->pick('hook_object_event', 'unhook_object_event', 'wrap_object_event', 'hook_object_event');
		my $obj = qq{{ add_handler = function (n, h, p) module:log("info", "add_handler %s %s", n, d(p)); $rv end, remove_handler = function (n, h) prosody.removed = (prosody.removed or 0) + 1; $rr end, wrappers = { add_handler = function (n, h, p) module:log("info", "wrappers.add_handler %s %s", n, d(p)); $rv end, remove_handler = function (n) prosody.removed = (prosody.removed or 0) + 1; $rr end } }};
		my $p = $g->pick('', ', 3', ', nil');
		my $args = $fn eq 'wrap_object_event' ? qq{o, "obj", f} : $fn eq 'unhook_object_event' ? qq{o, "obj", f} : qq{o, "obj", f$p};
		return qq{do local o = $obj; local f = function () end; local r = table.pack(pcall(module.$fn, module, $args)); module:log("info", "$fn returned %s", dn(table.unpack(r, 1, r.n))); end};
	} elsif ($k == 5) {
		my $fn = $g->pick('hook', 'unhook', 'hook_global', 'hook_tag', 'fire_event', 'wrap_global');
		my %call = (
			hook => qq{module:hook("y", function () end, 1)},
			unhook => qq{module:unhook("y", function () end)},
			hook_global => qq{module:hook_global("y", function () end)},
			hook_tag => qq{module:hook_tag("ns", "t", function () end)},
			fire_event => qq{module:fire_event("y", {})},
			wrap_global => qq{module:wrap_global("y", function (h, n, e) return h(n, e) end)},
		);
		return qq{do local r = table.pack(pcall(function () return $call{$fn} end)); module:log("info", "$fn gives %s", dn(table.unpack(r, 1, r.n))); end};
	} elsif ($k == 6 || $k == 7) {
		my $v = $g->pick("v-$me-1", "v-$me-2", "v-$me-3");
		my $key = $g->pick('k1', 'k1', 'k2');
		return $g->chance(0.75)
			? qq{module:add_item("$key", "$v");}
			: qq{module:remove_item("$key", "$v");};
	} elsif ($k == 8) {
		# Strings (other modules, missing ones, itself, a name with '-'),
		# and nil (a number: see README.md, known divergences).
		my $target = $g->pick(qq{"$other"}, qq{"$other"}, '"missing"', qq{"$me"}, qq{"mod_$other"}, '"*"', '"no-such"', 'nil');
		my $say = $target =~ s/"//gr;
		if ($g->chance(0.5)) {
			return qq{do local r = table.pack(pcall(module.depends, module, $target)); module:log("info", "depends $say %s", dn(table.unpack(r, 1, r.n))); end};
		}
		return qq{module:depends($target);};
	} elsif ($k == 9) {
		my $when = $g->pick('load', 'unload', 'save', 'restore');
		my $obs = $g->observe($me, $when);
		my $err = $g->maybe_error($me, $when, 0.15);
		my $ret = $when eq 'save' ? $g->pick('return { n = 1 };', 'return nil;', 'return "s";', '') : '';
		my $arg = $when eq 'restore' ? 's' : '';
		my $say = $when eq 'restore' ? qq{module:log("info", "restore %s", d(s));} : qq{module:log("info", "$when");};
		return qq{function module.$when($arg) $say $obs $err $ret end};
	} elsif ($k == 10) {
		my $type = $g->pick('info', 'warn', 'error', 'core', 'bogus');
		return $g->pick(
			qq{module:set_status("$type", "st-$me");},
			qq{module:log_status("$type", "ls-$me %s", 1);},
			qq{module:log("info", "status %s", st(module:get_status()));},
		);
	} elsif ($k == 11) {
		my $path = $g->pick('/shared/p', 'p', 'q/p');
		my $id = $path =~ s/\W/_/gr;
		return qq{do local s = module:shared("$path"); prosody.anchor$id = prosody.anchor$id or {}; prosody.anchor$id\[s\] = true; s.n = (s.n or 0) + 1; module:log("info", "shared $path n=%s", d(s.n)); end};
	} elsif ($k == 12) {
		my $level = $g->pick('debug', 'info', 'warn', 'error', 'trace');
		return $g->pick(
			qq{module:log("$level", "plain $me");},
			qq{module:log("$level", "%s and %d", "x", 5);},
			qq{module:log("$level", "extra", 1, nil);},
		);
	} elsif ($k == 13 || $k == 14) {
		return $g->observe($me, 'body');
	} elsif ($k == 15) {
		return $g->maybe_error($me, 'body', 1);
	} elsif ($k == 16) {
		# Lifecycle calls from module code: every return value.
		my $op = $g->pick('load', 'unload', 'reload', 'load');
		my $h = $g->pick('module.host', '"*"', '"a.example"');
		# Not itself, and one level deep: a module that reloads itself
		# from its own body recurses until the C stack runs out.
		$other = $g->pick(grep { $_ ne $me } @{ $g->{names} }) // return '';
		return qq{if not prosody.busy then prosody.busy = true; local r = table.pack(pcall(mm.$op, $h, "$other")); prosody.busy = nil; module:log("info", "mm.$op $other %s", dn(table.unpack(r, 1, r.n))); end};
	} elsif ($k == 17) {
		return qq{module:provides("svc", { name = "$me" });};
	} elsif ($k == 18) {
		# handle_items hooks at priority 0: one module only (R-EV-2).
		return '' if defined $g->{handler} && $g->{handler} ne $me;
		$g->{handler} = $me;
		# The items that exist already come in an unspecified order
		# (R-ITEM-3): logged sorted, after the call.
		return qq{do local seen = {}; local r = table.pack(pcall(module.handle_items, module, "k1", function (e) if seen then seen[#seen + 1] = d(e.item) else module:log("info", "handle added %s", d(e.item)) end end, function (e) module:log("info", "handle removed %s", d(e.item)); end)); table.sort(seen); module:log("info", "handle_items %s existing %s", dn(table.unpack(r, 1, r.n)), table.concat(seen, ",")); seen = nil; end};
	} else {
		return $g->observe($me, 'body');
	}
}

sub version {
	my ($g, $me) = @_;
	my @f;
	my $n = 1 + $g->rnd(7);
	push @f, $g->fragment($me) for 1 .. $n;
	return [grep { $_ ne '' } @f];
}

# The whole scenario: { modules => { NAME => [ v1, v2? ] }, cmds => [...] }.
sub scenario {
	my ($g) = @_;
	my $nmod = 1 + $g->rnd(5);
	my @names = map { "m$_" } 1 .. $nmod;
	$g->{names} = \@names;
	my %mods;
	for my $me (@names) {
		$mods{$me} = [ $g->version($me) ];
		push @{ $mods{$me} }, $g->version($me) if $g->chance(0.4);
	}
	my @cmds;
	push @cmds, 'watch module-status/updated' if $g->chance(0.2);
	push @cmds, 'activate a.example';
	push @cmds, 'activate b.example' if $g->chance(0.6);
	my $ncmd = 3 + $g->rnd(14);
	for (1 .. $ncmd) {
		my $m = $g->pick(@names);
		my $h = $g->pick(@HOSTS, @HOSTS, '*');
		my $c = $g->rnd(20);
		if ($c < 7) { push @cmds, "load $h $m" }
		elsif ($c < 10) { push @cmds, "unload $h $m" }
		elsif ($c < 13) {
			if (@{ $mods{$m} } > 1 && $g->chance(0.6)) {
				push @cmds, $g->chance(0.7) ? "! write mod_$m.lua [v2]" : "! write mod_$m.lua";
			}
			push @cmds, "reload $h $m";
		}
		elsif ($c < 15) { push @cmds, 'list ' . $g->pick(@HOSTS, '*') }
		elsif ($c < 16) { push @cmds, 'fire ' . $g->pick(@HOSTS, '*') . ' x' }
		elsif ($c < 18) { push @cmds, 'deactivate ' . $g->pick(@HOSTS) }
		elsif ($c < 19 && $g->chance(0.3)) {
			push @cmds, 'config ' . $g->pick(@HOSTS, '*') . ' modules_disabled [' . $g->pick(@names) . ']';
		}
		else { push @cmds, 'activate ' . $g->pick(@HOSTS) }
	}
	# A directive may not follow the last step.
	pop @cmds while @cmds && $cmds[-1] =~ /^!/;
	return { modules => \%mods, cmds => \@cmds };
}

# The case file (commands only) for scenario S, named ID; VERSIONS, when
# given, is its `versions:` header (CASES.md "Versions"): the runner then
# refuses a driver of another release.
sub render {
	my ($s, $id, $title, $expected, $versions) = @_;
	my $out = "id: $id\ntitle: $title\nrules: R-EV-1\n"
		. (defined $versions ? "versions: $versions\n" : '') . "\n";
	for my $name (sort keys %{ $s->{modules} }) {
		my @v = @{ $s->{modules}{$name} };
		for my $i (0 .. $#v) {
			next unless $v[$i];
			$out .= "=== mod_$name.lua" . ($i ? " [v" . ($i + 1) . "]" : '') . "\n";
			$out .= $PREAMBLE . join('', map { "$_\n" } @{ $v[$i] });
		}
	}
	$out .= "=== transcript\n";
	for my $i (0 .. $#{ $s->{cmds} }) {
		my $c = $s->{cmds}[$i];
		$out .= $c =~ /^!/ ? "$c\n" : "> $c\n";
		$out .= join('', map { "$_\n" } @{ $expected->[$i] }) if $expected && $expected->[$i];
	}
	return $out;
}

1;
