-- zygote.lua: the fork server of `modlife-prosody --serve SOCKET`, loaded
-- by driver.lua once Prosody has started (README.md, "Fork server").
--
-- serve(SOCKET) returns, in a forked child, the MODDIR of one case; the
-- server itself never returns from it (zygote.c). set_plugin_dir(MODDIR)
-- then points Prosody at that directory as CFG_PLUGINDIR would have at
-- start-up, and finish(status) ends the case.

local so = os.getenv("MODLIFE_PROSODY_ZYGOTE")
if not so or so == "" then
	error("MODLIFE_PROSODY_ZYGOTE is not set (use the modlife-prosody wrapper)")
end
local c = assert(package.loadlib(so, "luaopen_modlife_zygote"))()

local M = {}

-- Every child starts from the server's heap. Lua orders equal-priority
-- handlers (util.events sorts a pairs() walk over functions) by their
-- addresses (README.md, note 4), which would then be the same in every
-- child: a case whose order is unspecified would always see the same
-- one. Allocating a random amount first moves what the case allocates,
-- as a fresh process's randomised heap would.
local ballast
local function shake_heap(seed)
	math.randomseed(seed)
	ballast = {}
	for i = 1, math.random(0, 400) do
		ballast[i] = (" "):rep(math.random(1, 64))
	end
	for i = 1, math.random(0, 64) do
		ballast[#ballast + 1] = function () return i end
	end
end

function M.serve(socket)
	local moddir, seed = c.serve(socket)
	shake_heap(seed)
	return moddir
end

-- util.pluginloader reads CFG_PLUGINDIR once, when core.modulemanager
-- first requires it, into a local list of directories. Fill that list as
-- pluginloader itself does from CFG_PLUGINDIR (its module top level).
function M.set_plugin_dir(moddir)
	rawset(_G, "CFG_PLUGINDIR", moddir)
	local prosody = rawget(_G, "prosody")
	if prosody and prosody.paths then prosody.paths.plugins = moddir end
	-- Its exports are bound methods: the list is an upvalue of the
	-- method (load_file) that is an upvalue of the export.
	local function find(f, depth)
		for i = 1, 255 do
			local name, v = debug.getupvalue(f, i)
			if not name then return nil end
			if name == "plugin_dir" then return v end
			if type(v) == "function" and depth > 0 then
				local found = find(v, depth - 1)
				if found then return found end
			end
		end
	end
	local dirs = find((require "util.pluginloader").load_file, 2)
	if type(dirs) ~= "table" then error("util.pluginloader: no plugin_dir list found") end
	for i = #dirs, 1, -1 do dirs[i] = nil end
	local dir_sep, path_sep = package.config:match("^(%S+)%s(%S+)")
	for path in moddir:gsub("[/\\]", dir_sep):gmatch("[^" .. path_sep .. "]+") do
		path = path .. dir_sep
		path = path:gsub(dir_sep .. dir_sep .. "+", dir_sep)
		dirs[#dirs + 1] = path
	end
end

function M.finish(status)
	c.finish(status or 0)
end

return M
