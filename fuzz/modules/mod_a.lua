-- Per host: logs, hooks, items, save/restore, unload.
module:log("info", "a body on %s, reloading=%s saved=%s", module.host, module.reloading, module.saved_state);
module:hook("ping", function (event) module:log("debug", "ping %s", event.x); return event.r or "pong"; end);
module:hook("ping", function () return "low"; end, -1);
module:add_item("thing", { name = "a" });
module:hook("item-added/thing", function (event) module:log("info", "added %s", event.item.name); end);
function module.save() return { n = 1 }; end
function module.restore(data) module:log("info", "restore %s", data and data.n); end
function module.unload() module:log("info", "a unload"); end
