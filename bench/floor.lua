-- floor.lua - the bare-Lua floor of the benchmarks (bench/README.md).
--
-- Run by bench/floor.c with MODDIR as its argument; returns a table of
-- command functions, one per protocol verb, each returning its result
-- line. It does what the module code of a workload needs and nothing of
-- Prosody's bookkeeping: per load the chunk is compiled afresh into a new
-- environment and its body run; a shared module's add_host is called per
-- host on a per-host api; hooks go into per-host lists kept sorted by
-- priority; items into per-host arrays; unload calls module.unload and
-- takes the hooks and items out again; reload calls save, the body or
-- add_host again, and restore; fire calls the handlers in order until one
-- returns a value. Activation looks for the two auth providers in
-- MODDIR and runs them when there, as Prosody's usermanager loads them on
-- every host (R-HOST-14), then loads the modules of the global
-- modules_enabled. A module is searched for along pluginloader's
-- candidate paths and its file read on every load; compiled chunks are
-- cached by path and text, as the reference does (ref/loader.c).
-- No events are fired for the lifecycle, nothing is rendered, logged or
-- checked: a floor, not an implementation.
local moddir = ...

local hosts = {}        -- name -> { handlers = {event -> list}, items, mods }
local shared = {}       -- module name -> its global api (set_global was called)
local enabled = {}      -- the global modules_enabled

local api = {}
api.__index = api

function api:set_global()
	self.global = true
end

function api:log(_, fmt, ...)
	return string.format(fmt, ...)
end

function api:hook(name, fn, priority)
	local list = hosts[self.host].handlers[name]
	if not list then
		list = {}
		hosts[self.host].handlers[name] = list
	end
	local entry = { fn = fn, priority = priority or 0 }
	local i = #list + 1
	while i > 1 and list[i - 1].priority < entry.priority do
		i = i - 1
	end
	table.insert(list, i, entry)
	self.hooks[#self.hooks + 1] = { list = list, entry = entry }
end

function api:add_item(name, value)
	local items = hosts[self.host].items
	local list = items[name]
	if not list then
		list = {}
		items[name] = list
	end
	list[#list + 1] = value
	self.items[#self.items + 1] = { list = list, value = value }
end

local function new_host()
	return { handlers = {}, items = {}, mods = {} }
end
hosts["*"] = new_host()

local function new_api(host, name, parent)
	return setmetatable({ host = host, name = name, hooks = {}, items = {} },
		parent or api)
end

local function remove_from(list, value)
	for i = #list, 1, -1 do
		if list[i] == value then
			return table.remove(list, i)
		end
	end
end

local function release(m)
	for _, hook in ipairs(m.hooks) do
		remove_from(hook.list, hook.entry)
	end
	for _, item in ipairs(m.items) do
		remove_from(item.list, item.value)
	end
	m.hooks, m.items = {}, {}
end

-- The places where Prosody's pluginloader looks for a module, in order
-- (R-LOAD-21): the search is part of what a load must do.
local candidates = {
	"mod_@/@/mod_@.lua", "mod_@/mod_@.lua", "@/mod_@.lua", "mod_@.lua",
	"share/lua/5.4/mod_@.lua", "share/lua/5.4/mod_@/mod_@.lua",
}

-- The text of module 'name', read afresh, and its path; nil if none.
local function read_module(name)
	for _, c in ipairs(candidates) do
		local path = moddir .. "/" .. c:gsub("@", name)
		local f = io.open(path)
		if f then
			local text = f:read("a")
			f:close()
			return text, path
		end
	end
end

-- Compiled chunks by path and text, as the reference caches them
-- (ref/loader.c): a factory returning a new closure of the body.
local factories = {}

local function compile(text, path, env)
	local by_text = factories[path]
	if not by_text then
		by_text = {}
		factories[path] = by_text
	end
	local factory = by_text[text]
	if not factory then
		if not load(text, "@" .. path, "t", env) then
			return nil
		end
		factory = load("local _ENV = ...; return function (...) " .. text .. "\nend",
			"@" .. path, "t")
		by_text[text] = factory
	end
	return factory(env)
end

-- The body of mod_NAME.lua, run on a new api of 'host'. Returns the api,
-- or nil when there is no such module or it cannot be compiled.
local function run_body(host, name)
	local text, path = read_module(name)
	if not text then
		return nil
	end
	local m = new_api(host, name)
	local env = setmetatable({ module = m }, { __index = _G })
	local chunk = compile(text, path, env)
	if not chunk then
		return nil
	end
	chunk()
	return m
end

local function add_host(global, host)
	local m = new_api(host, global.name, global.per_host)
	hosts[host].mods[global.name] = m
	global.add_host(m)
	return m
end

local function load(host, name)
	local global = shared[name]
	if global and host ~= "*" then
		add_host(global, host)
		return "ok"
	end
	local m = run_body(host, name)
	if not m then
		return "ok"
	end
	if m.global then
		m.host = "*"
		m.per_host = { __index = m }
		shared[name] = m
		hosts["*"].mods[name] = m
		if host ~= "*" and m.add_host then
			add_host(m, host)
		end
	else
		hosts[host].mods[name] = m
	end
	return "ok"
end

local function unload(host, name)
	local m = hosts[host].mods[name]
	if m.unload then
		m.unload()
	end
	release(m)
	hosts[host].mods[name] = nil
	if host == "*" then
		shared[name] = nil
	end
	return "ok"
end

local commands = {}

function commands.activate(host)
	hosts[host] = new_host()
	run_body(host, "authz_internal")
	run_body(host, "auth_internal_hashed")
	for _, name in ipairs(enabled) do
		load(host, name)
	end
	return "ok true"
end

function commands.deactivate(host)
	for name in pairs(hosts[host].mods) do
		unload(host, name)
	end
	hosts[host] = nil
	return "ok true"
end

commands.load = load
commands.unload = unload

function commands.reload(host, name)
	local m = hosts[host].mods[name]
	local saved = m.save and m.save()
	if m.unload then
		m.unload()
	end
	release(m)
	local new
	if host == "*" or not shared[name] then
		new = run_body(host, name)
		if host == "*" then
			new.host = "*"
			new.per_host = { __index = new }
			shared[name] = new
		end
		hosts[host].mods[name] = new
	else
		new = add_host(shared[name], host)
	end
	if new.restore then
		new.restore(saved)
	end
	return "ok"
end

function commands.fire(host, event, ...)
	local data = {}
	for i = 1, select("#", ...) do
		local k, v = select(i, ...):match("^([^=]*)=(.*)$")
		data[k] = v
	end
	local list = hosts[host].handlers[event]
	if list then
		for i = 1, #list do
			local ret = list[i].fn(data)
			if ret ~= nil then
				return "ok"
			end
		end
	end
	return "ok nil"
end

function commands.config(host, key, ...)
	local value = table.concat({ ... }, " ")
	if host == "*" and key == "modules_enabled" then
		enabled = {}
		for name in value:gmatch("[^][ ]+") do
			enabled[#enabled + 1] = name
		end
		table.sort(enabled)
	end
	return "ok"
end

function commands.list()
	return "ok"
end

function commands.watch()
	return "ok"
end

return commands
