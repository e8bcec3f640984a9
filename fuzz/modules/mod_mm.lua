-- Lifecycle operations from inside event handlers.
local mm = require "core.modulemanager";
module:hook("mm-load", function (e) return mm.load(e.host or module.host, e.module or "a"); end);
module:hook("mm-unload", function (e) return mm.unload(e.host or module.host, e.module or "mm"); end);
module:hook("mm-reload", function (e) return mm.reload(e.host or module.host, e.module or "a"); end);
module:hook("mm-query", function (e)
	local list = mm.get_modules(e.host or module.host);
	module:log("info", "loaded=%s items=%s", tostring(mm.is_loaded(module.host, e.module or "a")),
		tostring(mm.get_items("thing", module.host)));
	return list;
end);
module:hook("module-loaded", function (e) module:log("debug", "saw load %s", e.module); end);
module:hook("module-unloaded", function (e) if e.module == "boomunload" then error("no"); end end);
