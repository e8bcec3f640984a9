-- driver.lua: the modlife driver (spec/PROTOCOL.md, version 1) for real
-- Prosody.
--
--   MODLIFE_PROSODY_ROOT=<unpacked package> lua5.4 driver.lua MODDIR
--
-- Every command is answered by Prosody's own core.modulemanager,
-- core.hostmanager, core.moduleapi, util.events and util.logger, loaded from
-- the Debian package that adapters/prosody/setup unpacked. This file only
-- builds the start-up state Prosody expects, observes it (a log sink, event
-- wrappers) and renders what it sees. README.md lists every place where it
-- departs from what /usr/bin/prosody does, and why.

-- luacheck: globals CFG_SOURCEDIR CFG_PLUGINDIR


----------------------------------------------------------------------------
-- Standard output belongs to the protocol.
--
-- The wrapper (modlife-prosody) starts this file with the protocol stream
-- on file descriptor 3 and stdout pointed at stderr, so that print,
-- io.write and io.stdout stay Lua's own functions (print is a C function,
-- as tostring(print) shows in a server whose functions all have
-- Prosody's metatable) and still cannot write into the protocol stream.
----------------------------------------------------------------------------

local stderr = io.stderr
local proto_out -- fd 3, opened by open_protocol()

-- "a": reopening fd 3 through /dev/fd must not truncate a file stdout
-- was redirected to (a pipe behaves the same either way). A fork server
-- (zygote.lua) calls this in each child, once fd 3 is the case's stream.
local function open_protocol()
	proto_out = io.open("/dev/fd/3", "a")
	if not proto_out then
		stderr:write("modlife-prosody: no protocol stream on fd 3 (use the modlife-prosody wrapper)\n")
		os.exit(1)
	end
	proto_out:setvbuf("line")
end

-- Once stdin is closed the driver must write nothing more (PROTOCOL.md §2).
local output_open = true
local function emit(line)
	if output_open then
		proto_out:write(line, "\n")
		proto_out:flush()
	end
end

local function die(msg)
	stderr:write("modlife-prosody: ", msg, "\n")
	os.exit(1)
end

----------------------------------------------------------------------------
-- Arguments and paths
----------------------------------------------------------------------------

-- `--serve SOCKET`: a fork server (zygote.lua), which takes each case's
-- MODDIR from its client after Prosody has started.
local serve_socket
if arg[1] == "--serve" and #arg == 2 then
	serve_socket = arg[2]
elseif #arg ~= 1 then
	die("usage: modlife-prosody MODDIR | modlife-prosody --serve SOCKET")
end
local moddir_arg, moddir -- set by use_moddir()

-- util.pluginloader coalesces repeated separators in a plugin directory;
-- use the same spelling, so that the chunk names it builds start with it.
local function check_moddir(dir)
	moddir_arg = dir
	moddir = moddir_arg:gsub("//+", "/")
	if #moddir > 1 then moddir = moddir:gsub("/$", "") end
	if moddir:sub(1, 1) ~= "/" then die("MODDIR must be an absolute path: " .. moddir_arg) end
	if moddir:find(";", 1, true) then die("MODDIR must not contain ';' (Prosody's plugin path separator)") end
end

local root = os.getenv("MODLIFE_PROSODY_ROOT")
if not root or root == "" then die("MODLIFE_PROSODY_ROOT is not set (use the modlife-prosody wrapper)") end
local source_dir = (root .. "/usr/lib/prosody"):gsub("//+", "/")

-- Which Prosody release the tree holds (its prosody.version): 0.12.3 or
-- 13.0.1. Every place where the driver does something different for 13 tests
-- RELEASE13 (README.md, "Prosody 13.0.1").
local release_file = io.open(source_dir .. "/prosody.version")
local upstream_version = release_file and release_file:read("l") or "?"
if release_file then release_file:close() end
local RELEASE13 = upstream_version:match("^13%.") ~= nil
if not RELEASE13 and not upstream_version:match("^0%.12%.") then
	die("unsupported Prosody version " .. upstream_version .. " in " .. source_dir .. " (0.12.x or 13.x)")
end

-- The greeting (PROTOCOL.md §1): real Prosody has every part of the module
-- system that protocol 1 names, and the server's start and its timers
-- (`start`, `advance`). 13.0.1 says which release it is (`prosody=13`);
-- no version word means 0.12.
local VERSION_LINE = "modlife 1 config reload depends items host-items status shared-data"
	.. " wrappers components unhook meta reload-state auth-providers format"
	.. " hook-tag context start timers"
	.. (RELEASE13 and " prosody=13" or "")

-- The autoloaded modules (core/modulemanager.lua, autoload_modules; 0.12.3
-- adds prosody.platform, "posix", 13.0.1 no longer does): disabled so that
-- a case sees only its own modules (PROTOCOL.md §6).
local AUTOLOAD = { "presence", "message", "iq", "offline", "c2s", "s2s", "s2s_auth_certs" }
if not RELEASE13 then table.insert(AUTOLOAD, 1, "posix") end

-- Like /usr/bin/prosody: Prosody's own files first, and no relative entries
-- (./?.lua), so nothing in the unspecified working directory can shadow them.
local function sanitise_paths(paths)
	return (paths:gsub("[^;]+;?", function (entry)
		if entry:sub(1, 1) ~= "/" then return "" end
	end):gsub(";;+", ";"))
end
package.path = sanitise_paths(source_dir .. "/?.lua;" .. package.path)
package.cpath = sanitise_paths(source_dir .. "/?.so;" .. package.cpath)

-- Prosody's own files are named as Debian installs them
-- (/usr/lib/prosody/...), wherever the package was unpacked, so that an
-- error raised inside Prosody reads the same on every machine. The name is
-- the chunk name itself, not a rewrite of the output: Lua keeps only the
-- last 59 bytes of a long chunk name in error messages
-- ("...ain/build/prosody/usr/lib/prosody/core/modulemanager.lua:411:"),
-- which no rewrite could restore. This searcher runs before Lua's own
-- (package.searchers[2]) and loads Prosody's Lua files from the unpacked
-- tree under their installed names; everything else (C modules, Debian's
-- Lua libraries) is found as usual.
local INSTALLED_SOURCE_DIR = "/usr/lib/prosody/"

local function prosody_searcher(name)
	local rel = name:gsub("%.", "/") .. ".lua"
	local path = source_dir .. "/" .. rel
	local f = io.open(path, "rb")
	if not f then return "\n\tno file '" .. path .. "'" end
	local code = f:read("a")
	f:close()
	-- As luaL_loadfile: a first line starting with '#' is skipped, its
	-- newline kept so that line numbers stay right.
	if code:sub(1, 1) == "#" then code = code:gsub("^[^\n]*", "", 1) end
	local chunk, err = load(code, "@" .. INSTALLED_SOURCE_DIR .. rel)
	if not chunk then
		error(("error loading module '%s' from file '%s':\n\t%s"):format(name, path, err), 2)
	end
	return chunk, INSTALLED_SOURCE_DIR .. rel
end
table.insert(package.searchers, 2, prosody_searcher)

-- 13.0.1's files require each other as "prosody.util.x": its loader.lua
-- (which /usr/bin/prosody requires before anything else) adds a searcher
-- that maps "prosody.x" to "x" in front of each searcher, this one
-- included, and lets package.loaded answer for both names.
if RELEASE13 then require "loader" end


----------------------------------------------------------------------------
-- Normalisation, escaping and value rendering (PROTOCOL.md §3.3, §5)
----------------------------------------------------------------------------

local strip_prefixes = {}

-- The case's MODDIR: checked, and stripped from what is written (§5).
local function use_moddir(dir)
	check_moddir(dir)
	for _, d in ipairs({ moddir_arg, moddir }) do
		local prefix = d:gsub("/$", "") .. "/"
		local dup = false
		for _, p in ipairs(strip_prefixes) do dup = dup or p == prefix end
		if not dup then strip_prefixes[#strip_prefixes + 1] = prefix end
	end
end

-- Beyond §5: any other mention of the unpacked tree (CFG_SOURCEDIR, a path
-- built from it) is rewritten to the installed location too.

-- Replace every plain occurrence of `needle` in `s`. With `whole_path`,
-- an occurrence followed by a character that continues a file name is
-- left alone, so that a directory is replaced only where it is a whole
-- path or a prefix of one (prosody.paths.source reads as installed too).
local function replace_plain(s, needle, replacement, whole_path)
	local out, pos = {}, 1
	while true do
		local i, j = s:find(needle, pos, true)
		if not i then break end
		out[#out + 1] = s:sub(pos, i - 1)
		if whole_path and s:sub(j + 1, j + 1):match("^[%w_.%-]$") then
			out[#out + 1] = needle
		else
			out[#out + 1] = replacement
		end
		pos = j + 1
	end
	out[#out + 1] = s:sub(pos)
	return table.concat(out)
end

local function normalise(s)
	for _, prefix in ipairs(strip_prefixes) do
		s = replace_plain(s, prefix, "")
	end
	if source_dir .. "/" ~= INSTALLED_SOURCE_DIR then
		s = replace_plain(s, source_dir, INSTALLED_SOURCE_DIR:sub(1, -2), true)
	end
	-- A traceback starts the string or follows a newline; the newline stays.
	if s:sub(1, 16) == "stack traceback:" then
		return "<traceback>"
	end
	local tb = s:find("\nstack traceback:", 1, true)
	if tb then
		s = s:sub(1, tb) .. "<traceback>"
	end
	return s
end

local ESCAPES = { ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

-- Keeps every observation on one line; `"` is escaped only inside quotes.
local function escape(s, quoted)
	return (s:gsub('[%c\127\\"]', function (c)
		if c == '"' then return quoted and '\\"' or '"' end
		return ESCAPES[c] or string.format("\\x%02x", c:byte())
	end))
end

local moduleapi -- core.moduleapi's method table, set once it is loaded

-- Reads t[k] as Lua would, following __index tables only: no metamethod
-- of a module's table is ever called while rendering.
local function lookup(t, k)
	for _ = 1, 100 do
		local v = rawget(t, k)
		if v ~= nil then return v end
		local mt = debug.getmetatable(t)
		local index = mt and rawget(mt, "__index")
		if type(index) ~= "table" then return nil end
		t = index
	end
	return nil
end

-- An api object: a full api has own `name` and `event_handlers`; the api of
-- a per-host instance of a shared module reaches core.moduleapi through
-- its global api (__index chains).
local function is_api(t)
	if type(t) ~= "table" then return false end
	if rawget(t, "name") ~= nil and rawget(t, "event_handlers") ~= nil then return true end
	for _ = 1, 100 do
		local mt = debug.getmetatable(t)
		local index = mt and rawget(mt, "__index")
		if type(index) ~= "table" then return false end
		if moduleapi and rawequal(index, moduleapi) then return true end
		t = index
	end
	return false
end

local function is_env(t)
	return type(t) == "table" and is_api(rawget(t, "module"))
end

local function plain(v)
	local t = type(v)
	if t == "string" then return escape(v) end
	if t == "nil" or t == "boolean" or t == "number" then return tostring(v) end
	return "<" .. t .. ">"
end

local function api_label(api)
	return plain(lookup(api, "name")) .. "@" .. plain(lookup(api, "host"))
end

local BARE = "^[A-Za-z_*/][A-Za-z0-9_.*:@/+-]*$"

local function render(v)
	local t = type(v)
	if t == "nil" or t == "boolean" or t == "number" then
		return tostring(v)
	elseif t == "string" then
		-- Normalise first: a path under MODDIR is a bare word once MODDIR/ is
		-- gone, and only the normalised text is comparable across runs.
		local s = normalise(v)
		if s:match(BARE) and s ~= "nil" and s ~= "true" and s ~= "false" then
			return s
		end
		return '"' .. escape(s, true) .. '"'
	elseif t == "table" then
		if is_api(v) then
			return "<api " .. api_label(v) .. ">"
		elseif is_env(v) then
			return "<env " .. api_label(rawget(v, "module")) .. ">"
		end
		return "<table>"
	end
	return "<" .. t .. ">"
end

-- Event data (§3.2): a plain table shows its string-keyed own fields.
local function render_data(data)
	if type(data) ~= "table" or is_api(data) or is_env(data) then
		return render(data)
	end
	local keys = {}
	for k in next, data do
		if type(k) == "string" then keys[#keys + 1] = k end
	end
	table.sort(keys)
	local parts = {}
	for i, k in ipairs(keys) do
		parts[i] = escape(k) .. "=" .. render(rawget(data, k))
	end
	return table.concat(parts, " ")
end

----------------------------------------------------------------------------
-- Observing events
----------------------------------------------------------------------------

local LIFECYCLE = {
	["module-loaded"] = true, ["module-unloaded"] = true, ["module-reloaded"] = true,
	["host-activated"] = true, ["host-deactivated"] = true,
}
local watched = {}

local function is_reported(name)
	if type(name) ~= "string" then return false end
	return LIFECYCLE[name] or watched[name] or watched["*"] -- `watch *`: every event
		or name:sub(1, 11) == "item-added/" or name:sub(1, 13) == "item-removed/"
end

local function report_event(object, name, data)
	local ok, text = pcall(render_data, data)
	if not ok then
		stderr:write("modlife-prosody: cannot render data of ", name, ": ", tostring(text), "\n")
		text = "<unrenderable>"
	end
	emit("event " .. object .. " " .. escape(name) .. (text ~= "" and " " .. text or ""))
end

-- A util.events global wrapper runs inside every wrapper added after it and
-- right around the handlers, so the first one added sees each dispatch just
-- before any handler does (PROTOCOL.md §3.2).
local function make_wrapper(object, on_event)
	return function (handlers, name, data)
		if is_reported(name) then
			report_event(object, name, data)
		end
		if on_event then on_event(name, data) end
		return handlers(name, data)
	end
end

local observed = setmetatable({}, { __mode = "k" }) -- events object -> true

local function observe(events, object, on_event)
	if type(events) == "table" and not observed[events] then
		observed[events] = true
		events.add_wrapper(false, make_wrapper(object, on_event))
	end
end

----------------------------------------------------------------------------
-- Log sink
----------------------------------------------------------------------------

local prosody_format -- util.format.format, loaded with the rest of Prosody

local function safe_tostring(v)
	local ok, s = pcall(tostring, v)
	return ok and s or "<" .. type(v) .. ">"
end

-- PROTOCOL.md §3.1: the message as Prosody's own sinks write it, through
-- util.format.format even when there are no arguments. util.format raises
-- only when fmt is not a string; what a real server does then depends on
-- its log configuration (a sink raises into the module, no sink means no
-- error), so the driver never raises and writes tostring(fmt) instead.
local function format_message(fmt, ...)
	local ok, s = pcall(prosody_format, fmt, ...)
	if ok then return s end
	return safe_tostring(fmt)
end

-- Module loggers are named "<host>:<name>", "*:<name>" (modulemanager) or
-- "mod_<name>" (moduleapi's set_global); Prosody's machinery logs as
-- "modulemanager", "hostmanager", "general", "startup", ...
local function is_module_logger(name)
	return type(name) == "string" and (name:find(":", 1, true) ~= nil or name:sub(1, 4) == "mod_")
end

-- While Prosody starts (start_prosody below), its machinery logs about
-- the driver's own set-up: no certificate folder, no VirtualHost in a
-- configuration that has none yet, the network backend. None of it is
-- about a case, so none of it goes to stderr; a start that fails is
-- reported by die() with its traceback.
local starting = true

-- Activation loads the host's auth providers (R-HOST-14), which a case
-- provides only when it is about them: the error for a default provider
-- whose file is simply not in MODDIR is expected on every activation and
-- kept off stderr; a provider the case wrote, and any other load error,
-- is still shown.
local function missing_auth_provider(name, message, module_name)
	if name ~= "modulemanager" or message ~= "Unable to load module '%s': %s"
		or type(module_name) ~= "string" or not module_name:match("^authz?_") then
		return false
	end
	local f = io.open(moddir .. "/mod_" .. module_name .. ".lua")
	if f then f:close() end
	return f == nil
end

-- The network's machinery (certificates, ports) reacts to host-activated
-- too; no case uses the network (PROTOCOL.md §7), so its lines are noise.
local NETWORK_LOGGERS = { portmanager = true, certmanager = true }

-- Module messages become protocol lines; every other message of the
-- machinery that concerns the case also goes to stderr, which the runner
-- shows when a case fails.
local function modlife_sink_maker()
	return function (name, level, message, ...)
		local text = format_message(message, ...)
		if is_module_logger(name) or not (starting or NETWORK_LOGGERS[name]
			or missing_auth_provider(name, message, ...)) then
			stderr:write(safe_tostring(name), "\t", level, "\t", text, "\n")
		end
		if is_module_logger(name) then
			emit("log " .. escape(name) .. " " .. level .. " " .. escape(normalise(text)))
		end
	end
end

----------------------------------------------------------------------------
-- Prosody start-up (util.startup, the steps of startup.prosody() that need
-- neither a config file, the network nor the main loop; see README.md)
----------------------------------------------------------------------------

-- What /usr/bin/prosody sets before anything else. CFG_PLUGINDIR makes the
-- real util.pluginloader search MODDIR, and nothing else, when
-- core.modulemanager first requires it. No CFG_CONFIGDIR, CFG_DATADIR: no
-- config file is read and nothing is stored.
CFG_SOURCEDIR = source_dir
-- The runner keeps MODDIR short enough that Lua never shortens a chunk
-- name "@MODDIR/mod_x.lua" (PROTOCOL.md §1). A fork server has no MODDIR
-- yet: zygote.lua points the plugin loader at each case's in its child.
if not serve_socket then
	use_moddir(arg[1])
	CFG_PLUGINDIR = moddir
end

----------------------------------------------------------------------------
-- The clock (PROTOCOL.md §7): util.time's `monotonic` and `now` read the
-- driver's clock, which moves only on `advance`. net.server captures both
-- when it is loaded, so they are replaced before anything requires it.
-- Everything else about timers is Prosody's own: util.timer is
-- net.server's timer, module:add_timer and promise next-ticks go through
-- it, and `advance` runs net.server's own runtimers().
----------------------------------------------------------------------------

local clock = 0 -- seconds since the driver started
local WALL_EPOCH = 1000000000 -- what `now` reads at clock 0 (unspecified)
do
	local real_time = require "util.time"
	local fake_time = {}
	for k, v in next, real_time do fake_time[k] = v end
	fake_time.monotonic = function () return clock end
	fake_time.now = function () return WALL_EPOCH + clock end
	package.loaded["util.time"] = fake_time
end

local prosody, config, modulemanager, hostmanager
local startup

local function start_prosody()
	startup = require "util.startup"

	startup.init_global_state()
	prosody = _G.prosody
	prosody.process_type = "prosody"
	prosody.opts = {} -- instead of startup.parse_args(): arg is MODDIR
	prosody_format = require "util.format".format

	-- Installed before anything can fire or wrap an event. Host events
	-- objects are created by hostmanager.activate just before it fires
	-- host-activated here, so this wrapper observes each new host before
	-- modulemanager's host-activated handler can load anything onto it.
	observe(prosody.events, "*", function (name, host)
		if name == "host-activated" and type(host) == "string" then
			local session = rawget(prosody.hosts, host)
			if session then observe(session.events, escape(host)) end
		end
	end)

	-- The configuration, set through configmanager's API in place of
	-- startup.read_config(): a global section with no VirtualHost yet.
	config = require "core.configmanager"
	config.set("*", "modules_disabled", table.move(AUTOLOAD, 1, #AUTOLOAD, 1, {}))
	-- Only the driver's sink: Prosody's file and console sinks raise into
	-- the module when util.format does (module:log with a nil message).
	config.set("*", "log", { { to = "modlife", levels = { min = "debug" } } })
	require "core.loggingmanager".register_sink_type("modlife", modlife_sink_maker)
	prosody.config_loaded = true -- what read_config() sets; net.server checks it

	startup.init_logging()
	startup.init_gc()
	startup.init_errors()
	startup.sandbox_require()
	startup.set_function_metatable()
	startup.check_dependencies()
	startup.load_libraries()
	startup.setup_plugindir()
	startup.setup_datadir()
	startup.add_global_prosody_functions()
	startup.read_version()
	startup.log_greeting()
	startup.log_startup_warnings()
	startup.load_secondary_libraries()
	startup.init_promise()
	startup.init_async()
	if RELEASE13 then startup.instrument() end
	startup.init_http_client()
	startup.init_data_store()

	moduleapi = require "core.moduleapi"
	modulemanager = require "core.modulemanager"
	hostmanager = require "core.hostmanager"

	startup.init_global_protection()
	if RELEASE13 then
		-- New in 13 and run for real: daemonize (no --daemonize, no-op),
		-- the pidfile (none configured, no-op), signal handlers, the
		-- process manager's notification socket (only with NOTIFY_SOCKET).
		-- check_user, also new, is skipped: it exits when run as root.
		startup.posix_daemonize()
		startup.write_pidfile()
		startup.hook_posix_signals()
		startup.notification_socket()
	end
	-- server-starting: hosts and modules are loaded from here on, as in a
	-- server whose configuration names them. notify_started (server-started,
	-- 13's prosody.started) waits for the `start` command (PROTOCOL.md §7).
	startup.prepare_to_start()
end

do
	local ok, err = xpcall(start_prosody, debug.traceback)
	if not ok then die("Prosody failed to start: " .. tostring(err)) end
	starting = false
end

-- How the case ends: os.exit, or the fork server's finish, which also
-- reports the status to the client.
local finish = os.exit
if serve_socket then
	local zygote = dofile((arg[0]:gsub("[^/]*$", "")) .. "zygote.lua")
	use_moddir(zygote.serve(serve_socket)) -- returns in each child only
	zygote.set_plugin_dir(moddir)
	finish = zygote.finish
end
open_protocol()

----------------------------------------------------------------------------
-- Commands (PROTOCOL.md §2, §4)
----------------------------------------------------------------------------

-- Lifecycle result: ok V, fail V ERR, or raise E.
local function lifecycle(f, ...)
	local r = table.pack(pcall(f, ...))
	if not r[1] then return "raise " .. render(r[2]) end
	if r[2] then return "ok " .. render(r[2]) end
	return "fail " .. render(r[2]) .. " " .. render(r[3])
end

local function activate(host)
	-- The host's configuration is exactly what `config` set for it
	-- (PROTOCOL.md §6: empty unless set). A host no `config` named has no
	-- section, and configmanager gives the global section in its place, as
	-- configmanager.get does for every option of such a host: no option
	-- of its own, not even the `defined = true` of a VirtualHost line,
	-- which the C reference does not have either. hostmanager reads
	-- component_module from this table; modulemanager and usermanager read
	-- the rest through configmanager.get, as in a running server.
	return hostmanager.activate(host, config.getconfig()[host])
end

-- PROTOCOL.md §6: the value of `config HOST KEY VALUE`, the rest of the
-- line after KEY: a list `[a b c]`, a quoted `"..."` (the text between
-- the quotes, a string even when it reads `true` or `3`), a boolean, a
-- decimal integer, or else the text itself. Returns nil and a reason for
-- an unclosed list or quote.
local function parse_config_value(...)
	local text = table.concat({ ... }, " ")
	local first = text:sub(1, 1)
	if first == "[" or first == '"' then
		if #text < 2 or text:sub(-1) ~= (first == "[" and "]" or '"') then
			return nil, "an unclosed list [a b c] or quoted \"string\""
		end
		if first == '"' then return text:sub(2, -2) end
		local list = {}
		for word in text:sub(2, -2):gmatch("[^ ]+") do list[#list + 1] = word end
		return list
	end
	if text == "true" then return true end
	if text == "false" then return false end
	if text:match("^%-?%d+$") then
		local i = math.tointeger(tonumber(text))
		if i then return i end
	end
	return text
end

-- Global modules_disabled is the autoload list plus the case's own list
-- (PROTOCOL.md §6), so that a case never sees Prosody's autoloaded modules.
local function set_config(host, key, value)
	if host == "*" and key == "modules_disabled" then
		local list = table.move(AUTOLOAD, 1, #AUTOLOAD, 1, {})
		if type(value) == "table" then
			table.move(value, 1, #value, #list + 1, list)
		else
			list[#list + 1] = value
		end
		value = list
	end
	return config.set(host, key, value)
end

-- net.server's timer heap and its runtimers(), the function its main loop
-- calls when a timeout expires: upvalues of add_task (addtimer) and of
-- loop, found by name so that both releases' server_epoll.lua work.
local function upvalue(f, name)
	for i = 1, 255 do
		local n, v = debug.getupvalue(f, i)
		if n == nil then break end
		if n == name then return v end
	end
end
local timer_heap, runtimers
local MAX_TIMER_PASSES = 10000 -- a timer that re-arms itself at +0 forever

-- PROTOCOL.md §7: run every timer due by clock + seconds, in time order,
-- as the main loop would: the clock is set to each due time in turn and
-- net.server's runtimers() runs what is due then (timers added while it
-- runs with delay 0 are due at once and run in the same pass).
local function advance(seconds)
	if not runtimers then
		local server = require "net.server"
		timer_heap = upvalue(server.add_task, "timers")
		runtimers = upvalue(server.loop, "runtimers")
		assert(timer_heap and runtimers, "net.server has no timers/runtimers upvalue")
	end
	local target = clock + seconds
	for _ = 1, MAX_TIMER_PASSES do
		local due = timer_heap:peek()
		if due == nil or due > target then
			clock = target
			return true
		end
		if due > clock then clock = due end
		runtimers(math.huge, 0)
	end
	return nil, "timers still due after " .. MAX_TIMER_PASSES .. " passes"
end

-- PROTOCOL.md §7: the rest of startup.prosody() (notify_started: 0.12
-- fires server-started; 13 moves its state machine to "running", which
-- fires server-started and so resolves prosody.started), then the main
-- loop's first pass over the timers, which runs what is due: the ready
-- callbacks that prosody.started scheduled.
local started = false
local function start()
	if started then return "bad already started" end
	started = true
	local ok, err = pcall(startup.notify_started)
	if not ok then return "raise " .. render(err) end
	local done, why = advance(0)
	if not done then return "bad " .. escape(why) end
	return "ok"
end

local commands = {
	activate = { nargs = 1, usage = "HOST", run = function (host)
		return lifecycle(activate, host)
	end },
	deactivate = { nargs = 1, usage = "HOST", run = function (host)
		return lifecycle(hostmanager.deactivate, host)
	end },
	load = { nargs = 2, usage = "HOST NAME", run = function (host, name)
		return lifecycle(modulemanager.load, host, name)
	end },
	unload = { nargs = 2, usage = "HOST NAME", run = function (host, name)
		return lifecycle(modulemanager.unload, host, name)
	end },
	reload = { nargs = 2, usage = "HOST NAME", run = function (host, name)
		return lifecycle(modulemanager.reload, host, name)
	end },
	fire = { nargs = 2, variadic = true, usage = "HOST EVENT [K=V ...]", run = function (host, event, ...)
		local data = {}
		for i = 1, select("#", ...) do
			local pair = select(i, ...)
			local k, v = pair:match("^([^=]+)=(.*)$")
			if not k then return "bad fire: expected K=V, got " .. escape(pair) end
			data[k] = v
		end
		local target = prosody.hosts[host] or prosody
		local r = table.pack(pcall(target.events.fire_event, event, data))
		if not r[1] then return "raise " .. render(r[2]) end
		return "ok " .. render(r[2])
	end },
	list = { nargs = 1, usage = "HOST", run = function (host)
		local ok, modules = pcall(modulemanager.get_modules, host)
		if not ok then return "raise " .. render(modules) end
		if modules == nil then return "ok (none)" end
		local names = {}
		for name in next, modules do names[#names + 1] = safe_tostring(name) end
		table.sort(names)
		local line = { "ok" }
		for _, name in ipairs(names) do line[#line + 1] = escape(name) end
		return table.concat(line, " ")
	end },
	config = { nargs = 3, variadic = true, usage = "HOST KEY VALUE", run = function (host, key, ...)
		local value, why = parse_config_value(...)
		if value == nil then return "bad config: " .. escape(why) end
		local ok, err = pcall(set_config, host, key, value)
		if not ok then return "raise " .. render(err) end
		return "ok"
	end },
	watch = { nargs = 1, usage = "EVENT", run = function (event)
		watched[event] = true
		return "ok"
	end },
	start = { nargs = 0, usage = "", run = start },
	advance = { nargs = 1, usage = "SECONDS", run = function (text)
		local seconds = text:match("^%d+$") and math.tointeger(tonumber(text))
		if not seconds then return "bad usage: advance SECONDS (a whole number)" end
		-- No main loop runs before the start has completed (PROTOCOL.md §9):
		-- a pass over the timers then would, among others, run 13's
		-- prosody.started executor early, which no real server does.
		if not started then return "bad the server has not started (start first)" end
		local ok, done, why = pcall(advance, seconds)
		if not ok then return "raise " .. render(done) end
		if not done then return "bad " .. escape(why) end
		return "ok"
	end },
}

local function execute(line)
	local words = {}
	for w in line:gmatch("[^ ]+") do words[#words + 1] = w end
	local verb = words[1]
	if not verb then return "bad empty command" end
	local command = commands[verb]
	if not command then return "bad unknown command " .. escape(verb) end
	local got = #words - 1
	if got < command.nargs or (got > command.nargs and not command.variadic) then
		return "bad usage: " .. verb .. " " .. command.usage
	end
	return command.run(table.unpack(words, 2))
end

emit(VERSION_LINE)

for line in io.stdin:lines() do
	local ok, result = xpcall(execute, debug.traceback, line)
	if not ok then
		-- A driver bug, not Prosody's behaviour: keep the stream in step.
		stderr:write("modlife-prosody: internal error: ", tostring(result), "\n")
		result = "bad internal driver error (see stderr)"
	end
	emit(result)
end

-- Nothing may follow the last result line: no __gc or atexit handler gets
-- to run Lua code that logs (os.exit without closing the Lua state).
output_open = false
proto_out:flush()
finish(0, false)
