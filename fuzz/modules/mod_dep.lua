-- Depends on a (auto-reload and auto-unload with it).
local a = module:depends("a");
module:log("info", "dep got %s", a and a.name);
module:hook("dep-ev", function () return "dep"; end);
