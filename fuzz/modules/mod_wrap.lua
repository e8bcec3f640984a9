module:wrap_event("ping", function (handlers, name, data)
	module:log("info", "wrapped %s", name);
	if data.stop then return "stopped"; end
	return handlers(name, data);
end);
module:wrap_global("gping", function (event) module:log("info", "wrap_global %s", event.k); end);
module:hook_object_event(prosody.events, "gping", function () return "object"; end);
