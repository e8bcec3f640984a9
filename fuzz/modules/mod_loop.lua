-- An event that fires itself until Lua's C stack runs out.
module:hook("loop", function (event) return module:fire_event("loop", event); end);
module:hook_global("gloop", function (event) return prosody.events.fire_event("gloop", event); end);
module:hook("raise", function (event) error(event.msg or "handler raised"); end);
