#!/usr/bin/perl
# Hostile module code against the reference driver (issue 11 §3): module
# bodies that replace what the reference's C code relies on (module.items,
# module.event_handlers, _ENV.module, the api's other fields), hand bad
# arguments to util.events, rewrite the upvalues of every C function they
# can reach (debug.setupvalue, f[""] = v through the function metatable),
# install debug hooks, raise error values whose __tostring raises, log
# huge strings, and write to fd 1.
#
# An attack holds when the driver exits 0 without a signal, answers every
# command with exactly one result line and writes nothing else but log and
# event lines (PROTOCOL.md §3, §4), and, where Prosody defines the outcome
# (spec/rules/hostile.md), writes Prosody's lines. The last line of the
# output reads "hostile modules: N held, F failed" (attacks marked TODO are
# counted apart: known gaps, never hidden).
#
# MODLIFE_REF: another driver binary (make sanitize runs this file against
# its ASan + UBSan build, where any report aborts the driver).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use Selftest;
use Test::More;

my $REF = $ENV{MODLIFE_REF} // "$ROOT/build/modlife-ref";
-x $REF or BAIL_OUT("$REF is missing: run 'make build/modlife-ref' first");
my $TMP = tempdir('mlr-hostile.XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($held, $failed, $todo) = (0, 0, 0);
my $runs = 0;

my $prefix = '/usr/lib/prosody';
my $result_re = qr/^(?:ok(?: .*)?|fail .*|raise .*|bad .*)$/;

# Run the driver on the modules (name => text) with the commands; return
# { out => [lines], err, status, signal }.
sub run_driver {
	my ($mods, $cmds) = @_;
	my $dir = "$TMP/" . ++$runs;
	mkdir $dir or die "mkdir $dir: $!";
	for my $name (keys %$mods) {
		open my $f, '>', "$dir/mod_$name.lua" or die $!;
		print $f $mods->{$name};
		close $f;
	}
	open my $c, '>', "$dir.in" or die $!;
	print $c map { "$_\n" } @$cmds;
	close $c;
	system("timeout -s KILL 60 '$REF' '$dir' < '$dir.in' > '$dir.out' 2> '$dir.err'");
	my $st = $?;
	open my $o, '<', "$dir.out" or die $!;
	my @out = map { chomp; $_ } <$o>;
	close $o;
	my $err = do { local $/; open my $e, '<', "$dir.err" or die $!; <$e> } // '';
	return { out => \@out, err => $err, status => $st >> 8, signal => $st & 127 };
}

# One attack: the protocol properties, then each expected line (a string
# that must be one of the output lines, or a regex that one must match),
# and each forbidden regex that no line may match.
sub attack {
	my ($name, %a) = @_;
	my $cmds = $a{cmds} // [ 'activate a.example', 'load a.example a', 'fire a.example probe',
		'reload a.example a', 'unload a.example a', 'load a.example a',
		'deactivate a.example', 'activate a.example', 'list a.example' ];
	my $r = run_driver($a{mods}, $cmds);
	my @why;
	push @why, "killed by signal $r->{signal}" if $r->{signal};
	push @why, "exit status $r->{status}" if $r->{status};
	my @out = @{ $r->{out} };
	my $greeting = shift @out;
	push @why, 'no greeting' unless defined $greeting && $greeting =~ /^modlife 1\b/;
	my $results = grep { /$result_re/ } @out;
	push @why, "$results result lines for " . scalar(@$cmds) . ' commands' if $results != @$cmds;
	my @stray = grep { !/$result_re/ && !/^(?:log|event) / } @out;
	push @why, "stray line: $stray[0]" if @stray;
	for my $want (@{ $a{expect} // [] }) {
		my $found = ref $want ? grep { /$want/ } @out : grep { $_ eq $want } @out;
		push @why, "missing: $want" unless $found;
	}
	for my $bad (@{ $a{forbid} // [] }) {
		my ($line) = grep { /$bad/ } @out;
		push @why, "forbidden line: $line" if defined $line;
	}
	my $ok;
	TODO: {
		local $TODO = $a{todo};
		$ok = ok(!@why, $name);
		if (!$ok) {
			diag("  $_") for @why;
			my @tail = @out > 6 ? @out[-6 .. -1] : @out;
			diag('  output (last lines): ' . join(' | ', map { substr($_, 0, 200) } @tail));
			diag('  stderr: ' . substr($r->{err}, -600)) if $r->{err} ne '' && !$a{todo};
		}
	}
	if ($a{todo}) { $todo++ } elsif ($ok) { $held++ } else { $failed++ }
}

sub raise_line { qq{raise "$prefix/$_[0]"} }

# ---- module.items (R-HOSTILE-1, R-HOSTILE-2) ----
for my $v ([ '42', 'number' ], [ '"x"', 'string' ], [ 'true', 'boolean' ], [ 'function () end', 'function' ]) {
	attack("module.items = $v->[0]: unload, reload and deactivate raise modulemanager.lua:158's error",
		mods => { a => "module:add_item('thing', 1);\nmodule.items = $v->[0];\n" },
		expect => [ raise_line("core/modulemanager.lua:158: bad argument #1 to 'for iterator' (table expected, got $v->[1])"),
			'ok a' ]);
}
attack('module.items entries that cannot be walked raise at lines 159, 161, 162',
	mods => { a => "module.items = { thing = 5 };\n", b => "module.items = { thing = 'ab' };\n",
		c => "module.items = { [{}] = { 1 } };\n" },
	cmds => [ 'activate a.example', map({ ("load a.example $_", "unload a.example $_") } qw(a b c)), 'list a.example' ],
	expect => [ raise_line("core/modulemanager.lua:159: attempt to get length of a number value (local 't')"),
		raise_line("core/modulemanager.lua:161: attempt to index a string value (local 't')"),
		raise_line("core/modulemanager.lua:162: attempt to concatenate a table value (local 'key')"),
		'ok a b c' ]);
attack('module.items with __index, __newindex, __len, __pairs that raise',
	mods => { a => <<'EOF' });
local function boom() error("metamethod"); end
module.items = setmetatable({ thing = setmetatable({ 1, 2 }, { __len = boom, __index = boom, __newindex = boom }) },
	{ __index = boom, __newindex = boom });
module:hook("probe", function () module.items = setmetatable({}, { __pairs = boom }); end);
EOF

# ---- util.events (R-HOSTILE-5) ----
attack('events.add_handlers(42) and remove_handlers("x") raise events.lua\'s catchable error',
	mods => { a => <<'EOF' },
module:log("info", "add %s", select(2, pcall(prosody.events.add_handlers, 42)));
module:log("info", "remove %s", select(2, pcall(prosody.events.remove_handlers, "x")));
module:log("info", "nil %s", select(2, pcall(prosody.events.add_handlers)));
EOF
	expect => [ "log a.example:a info add $prefix/util/events.lua:68: bad argument #1 to 'for iterator' (table expected, got number)",
		"log a.example:a info remove $prefix/util/events.lua:73: bad argument #1 to 'for iterator' (table expected, got string)" ]);

# ---- module.event_handlers, _ENV.module (R-HOSTILE-3, R-HOSTILE-4) ----
for my $v ([ 'nil', "attempt to index a nil value (field 'event_handlers')" ],
	[ '{}', "attempt to call a nil value (method 'iter')" ],
	[ '42', "attempt to index a number value (field 'event_handlers')" ],
	[ '"x"', "attempt to call a nil value (method 'iter')" ]) {
	attack("module.event_handlers = $v->[0]: unload raises at modulemanager.lua:152, the module stays",
		mods => { a => "module.event_handlers = $v->[0];\n" },
		expect => [ raise_line("core/modulemanager.lua:152: $v->[1]"), 'ok a' ]);
}
attack('a foreign event_handlers with its own add, remove and iter is used like a multitable',
	mods => { a => <<'EOF' },
local seen = {};
module.event_handlers = {
	add = function (self, o, e, h) seen[#seen + 1] = { o, e, h }; end,
	remove = function () end,
	iter = function () local i = 0; return function () i = i + 1; local s = seen[i]; if s then return s[1], s[2], s[3]; end end; end,
};
module:hook("probe", function () module:log("info", "hooked"); end);
EOF
	expect => [ 'log a.example:a info hooked', 'ok true' ]);
attack('_ENV.module = 42: load and unload raise modulemanager.lua:411\'s rawget error',
	mods => { a => "_ENV.module = 42;\n" },
	expect => [ raise_line("core/modulemanager.lua:411: bad argument #1 to 'rawget' (table expected, got number)") ]);

# ---- every other api field replaced ----
my @values = ('42', '"x"', 'true', 'function () error("called") end', 'coroutine.create(print)',
	'setmetatable({}, { __index = function () error("index") end, __newindex = function () error("newindex") end, '
	. '__call = function () error("call") end, __len = function () error("len") end, __pairs = function () error("pairs") end, '
	. '__tostring = function () error("tostring") end, __concat = function () error("concat") end, '
	. '__eq = function () error("eq") end, __lt = function () error("lt") end, __name = 42 })');
for my $field (qw(host name global loaded path environment shared_data dependencies status_type
	status_message reloading saved_state _log log hook fire_event add_item remove_item get_host_items
	set_global depends shared get_option)) {
	for my $i (0 .. $#values) {
		attack("module.$field = value $i, then the whole lifecycle",
			mods => { a => <<"EOF", b => "module:depends('a');\nmodule:hook('probe', function () end);\n" });
module:hook("probe", function () return "hooked"; end);
module:add_item("thing", 1);
module.$field = $values[$i];
pcall(module.add_item, module, "thing", 2);
pcall(module.hook, module, "other", print);
pcall(module.shared, module, "data");
pcall(module.depends, module, "b");
pcall(module.provides, module, "x");
EOF
	}
}

# ---- upvalues of every C function a module can reach ----
my $targets = <<'EOF';
local targets = {};
local function add(f) if type(f) == "function" then targets[#targets + 1] = f; end end
local function add_all(t) for _, v in pairs(t) do add(v); end end
add_all(prosody.events); add_all(prosody.events.wrappers);
add_all(require "core.modulemanager"); add_all(require "util.events");
add_all(getmetatable(module).__index); add(module._log); add(module.log);
add(prosody.lock_globals); add(prosody.unlock_globals);
for _, ev in ipairs { "host-activated", "host-deactivated", "item-added/auth-provider",
	"item-removed/auth-provider", "module-loaded", "module-unloaded", "module-reloaded" } do
	for _, h in ipairs(prosody.events.get_handlers(ev) or {}) do add(h); end
	for _, h in ipairs(module:get_host_items(ev) or {}) do add(h); end
end
add_all(module:get_option_set("s", { "x" })); add_all(getmetatable(module:get_option_array("a", { "x" })).__index);
add_all(require("util.events").new());
module:depends("b");
for _, h in ipairs(prosody.hosts["a.example"].events.get_handlers("module-reloaded") or {}) do add(h); end
for _, h in ipairs(prosody.hosts["a.example"].events.get_handlers("module-unloaded") or {}) do add(h); end
add(module.hourly); add(module:measure("m", "amount"));
EOF
attack('debug.setupvalue with every value on every upvalue of every reachable C function, each call, restored',
	mods => { b => '', a => $targets . <<'EOF' },
local values = { 42, "x", {}, true, print, coroutine.create(print), io.stdout, false };
local n = 0;
for _, f in ipairs(targets) do
	for i = 1, 8 do
		local name, old = debug.getupvalue(f, i);
		if name == nil then break; end
		for _, v in ipairs(values) do
			debug.setupvalue(f, i, v);
			pcall(f, module, "probe", function () end, 1);
			pcall(f, "probe", function () end, 1);
			pcall(f, {}, {});
			debug.setupvalue(f, i, old);
			n = n + 1;
		end
	end
end
module:log("info", "%d upvalue attacks", n);
EOF
	expect => [ qr/^log a\.example:a info [1-9]\d* upvalue attacks$/ ]);
for my $v ('42', '"x"', '{}', 'false', 'prosody.events') {
	attack("every upvalue of every reachable C function set to $v and left so",
		mods => { b => '', a => $targets . <<"EOF" });
for _, f in ipairs(targets) do
	for i = 1, 8 do
		if debug.getupvalue(f, i) == nil then break; end
		debug.setupvalue(f, i, $v);
	end
end
for _, f in ipairs(targets) do pcall(f, module, "probe", {}); pcall(f, "probe", {}); end
EOF
}
attack('f[""] = 42 through the function metatable on every reachable C function',
	mods => { b => '', a => $targets . "for _, f in ipairs(targets) do pcall(function () f[''] = 42; end); end\n" });
attack('the wrapper continuation with each upvalue replaced',
	mods => { a => <<'EOF' });
module:wrap_event("probe", function (next_handler, name, data)
	for i = 1, 4 do
		for _, v in ipairs { 42, "x", {}, false, -1, math.maxinteger, next_handler, print } do
			local _, old = debug.getupvalue(next_handler, i);
			debug.setupvalue(next_handler, i, v);
			pcall(next_handler, name, data);
			debug.setupvalue(next_handler, i, old);
		end
	end
	debug.setupvalue(next_handler, 3, math.maxinteger);
	return next_handler(name, data);
end);
module:hook("probe", function () return "handled"; end);
EOF
attack('debug.getupvalue hands no core to module code: setuservalue on whatever it returns',
	mods => { b => '', a => $targets . <<'EOF' });
for _, f in ipairs(targets) do
	for i = 1, 8 do
		local name, v = debug.getupvalue(f, i);
		if name == nil then break; end
		if type(v) == "userdata" then
			for n = 1, 6 do pcall(debug.setuservalue, v, 42, n); end
			pcall(debug.setmetatable, v, nil);
		end
	end
end
EOF

# ---- debug hooks, odd error values, huge strings ----
attack('a count hook that raises at every instruction',
	mods => { a => "debug.sethook(function () error('hooked'); end, '', 1);\n" });
attack('a call hook that raises from the sixth call on, the driver\'s own calls included',
	mods => { a => "local n = 0;\ndebug.sethook(function () n = n + 1; if n > 5 then error('hooked'); end end, 'c');\n" });
attack('a return hook that yields and a line hook that collects garbage',
	mods => { a => "debug.sethook(function (e) if e == 'line' then collectgarbage(); else pcall(coroutine.yield); end end, 'lr');\n" });
my $bad_error = 'setmetatable({}, { __tostring = function () error("tostring"); end, __name = 42 })';
attack('error values whose __tostring raises, from the body, handlers, unload, save and log arguments',
	mods => { a => <<"EOF", c => "error($bad_error);\n" },
local bad = $bad_error;
module:hook("probe", function () error(bad); end);
function module.unload() error(bad); end
function module.save() error(bad); end
module:log("info", "%s %d", bad, bad);
module:log("info", bad);
module:log(bad, bad);
module:set_status("error", bad);
EOF
	cmds => [ 'activate a.example', 'load a.example a', 'load a.example c', 'fire a.example probe',
		'reload a.example a', 'unload a.example a', 'list a.example' ]);
attack('huge strings: a 4 MB log message, event name, handler result and error',
	mods => { a => <<'EOF' },
local big = string.rep("x", 4 * 1024 * 1024);
module:log("info", big);
module:log("info", "%s", big);
module:hook("probe", function () return big; end);
prosody.events.fire_event(big, { [big] = big });
function module.unload() error(big); end
EOF
	cmds => [ 'activate a.example', 'load a.example a', 'fire a.example probe', 'unload a.example a' ]);
attack('hostile metatables on prosody.hosts, a host session, the events tables and the globals',
	mods => { a => <<'EOF' });
local function boom() error("boom"); end
local mt = { __index = boom, __newindex = boom, __pairs = boom, __len = boom };
pcall(setmetatable, prosody.hosts, mt);
pcall(setmetatable, prosody.hosts["a.example"], mt);
pcall(setmetatable, prosody.events, mt);
pcall(setmetatable, prosody.events.wrappers, mt);
pcall(setmetatable, prosody, mt);
prosody.unlock_globals();
setmetatable(_G, mt);
EOF
attack('prosody.hosts entries and the events functions replaced',
	mods => { a => <<'EOF' });
rawset(prosody.hosts, "a.example", 42);
prosody.events.fire_event = 42;
prosody.events.add_handler = nil;
prosody.hosts["b.example"] = "x";
EOF
attack('debug.setmetatable on nil, numbers, strings, functions and booleans',
	mods => { a => <<'EOF' });
local function boom() error("boom"); end
local mt = { __index = boom, __newindex = boom, __call = boom, __len = boom, __concat = boom,
	__eq = boom, __lt = boom, __le = boom, __tostring = boom, __name = 42 };
for _, v in ipairs { 0, "", print, true } do debug.setmetatable(v, mt); end
debug.setmetatable(nil, mt);
EOF

# ---- fd 1 (R-HOSTILE-6) ----
attack('writes to fd 1 by the module and its children never reach the protocol stream',
	mods => { a => <<'EOF' },
os.execute("echo ok true; echo raise injected");
local f = io.open("/dev/stdout", "w");
if f then f:write("ok from /dev/stdout\n"); f:close(); end
io.stdout:write("ok from io.stdout\n");
print("ok from print");
EOF
	cmds => [ 'activate a.example', 'load a.example a' ],
	forbid => [ qr/injected|from (?:\/dev\/stdout|io\.stdout|print)/ ]);

# ---- known gaps ----
attack('a body that yields inside a coroutine\'s load suspends it (R-HOSTILE-7)',
	mods => { a => <<'EOF', b => "coroutine.yield('from b');\n" },
local co = coroutine.create(function () return require("core.modulemanager").load(module.host, "b"); end);
module:log("info", "%s %s", coroutine.resume(co));
EOF
	cmds => [ 'activate a.example', 'load a.example a' ],
	expect => [ 'log a.example:a info true from b' ]);
attack('suspended loads abandoned, closed, resumed after an unload, raising after a resume; yields where the reference cannot suspend',
	mods => { a => <<'EOF', b => "local v = coroutine.yield('b');\nmodule:log('info', 'b resumed with %s', v);\n",
local mm = require "core.modulemanager";
local co = coroutine.create(function () return mm.load(module.host, "b"); end);
coroutine.resume(co);
mm.unload(module.host, "b");
module:log("info", "late: %s", select(2, coroutine.resume(co, "late")));
local co2 = coroutine.create(function () return mm.load(module.host, "c"); end);
coroutine.resume(co2);
module:log("info", "c: %s", select(2, coroutine.resume(co2)));
local co3 = coroutine.create(function () return mm.load(module.host, "e"); end);
coroutine.resume(co3);
coroutine.close(co3);
for _, f in ipairs {
	function () return module:depends("d"); end,
	function () return mm.reload(module.host, "b"); end,
	function () return prosody.events.fire_event("probe", {}); end,
	function () return mm.load(module.host, "f"); end,
} do
	local c = coroutine.create(f);
	module:log("info", "other: %s %s", coroutine.resume(c));
	module:log("info", "again: %s %s", coroutine.resume(c));
end
EOF
		c => "coroutine.yield();\nerror('after the resume');\n", d => "coroutine.yield('d');\n",
		e => "coroutine.yield('e');\nmodule:log('info', 'never');\n",
		f => "function module.load() coroutine.yield('from load()'); end\n" },
	cmds => [ 'activate a.example', 'load a.example a', 'list a.example', 'unload a.example e',
		'fire a.example probe', 'deactivate a.example' ]);

attack('suspended dispatches resumed after the handlers changed, the host went and the debug hook moved',
	mods => { a => <<'EOF' },
local events = prosody.hosts[module.host].events;
local function h1() local v = coroutine.yield("h1"); return v; end
local function h2() coroutine.yield("h2"); end
module:hook("probe", h1, 10);
module:hook("probe", h2, 5);
local cos = {};
for i = 1, 4 do
	cos[i] = coroutine.create(function () return events.fire_event("probe", {}); end);
	coroutine.resume(cos[i]);
end
module:unhook("probe", h2);
coroutine.resume(cos[1]);
events.set_debug_hook(function (h, name, data) return h(data); end);
coroutine.resume(cos[2], nil);
coroutine.resume(cos[2], nil);
events.set_debug_hook(nil);
module:hook_global("resume", function () for _, co in ipairs(cos) do coroutine.resume(co, "late"); end end);
EOF
	cmds => [ 'activate a.example', 'load a.example a', 'deactivate a.example', 'activate a.example',
		'fire * resume', 'fire a.example probe' ]);

# ---- the registry rewritten (debug.getregistry): not Prosody's business,
# but the driver must survive it ----
my $walk = <<'EOF';
module:hook("probe", function () end);
module:add_item("thing", 1);
module:shared("data");
module:wrap_event("probe", function (n, ...) return n(...); end);
local seen = {};
local function walk(t, depth)
	if seen[t] or depth > 3 then return; end
	seen[t] = true;
	for _, v in pairs(t) do
		if type(v) == "table" then walk(v, depth + 1); end
		if type(v) == "userdata" then
			for n = 1, 5 do
				local u = debug.getuservalue(v, n);
				if type(u) == "table" then walk(u, depth + 1); end
			end
		end
	end
	for k in pairs(t) do rawset(t, k, V); end
end
local reg = debug.getregistry();
for k, v in pairs(reg) do
	if (type(k) == "number" and k > 2 or type(k) == "string" and k:match("^modlife")) and type(v) == "table" then
		walk(v, 1);
	end
end
for k in pairs(reg) do
	if type(k) == "number" and k > 2 or type(k) == "string" and k:match("^modlife") then reg[k] = V; end
end
EOF
my @reg_cmds = ('activate a.example', 'load a.example a', 'fire a.example probe', 'fire * probe',
	'reload a.example a', 'unload a.example a', 'activate b.example', 'load b.example a',
	'list b.example', 'deactivate b.example', 'load * a', 'unload * a', 'watch probe', 'fire * probe');
for my $v ('42', '"abc"', 'print', '{}') {
	attack("every table the library keeps in the registry, and each of its fields, set to $v",
		mods => { a => "local V = $v;\n$walk" }, cmds => \@reg_cmds);
}

diag("hostile modules: $held held, $failed failed" . ($todo ? ", $todo known gaps (TODO)" : ''));
done_testing();
