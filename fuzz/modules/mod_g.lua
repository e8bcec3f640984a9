-- Global, shared to every host through add_host.
module:set_global();
module:log("info", "g global body");
module:hook_global("gping", function (event) module:log("info", "gping %s", event.k); return true; end);
function module.add_host(m)
	m:log("info", "g on host %s", m.host);
	m:hook("ping", function () return "from g"; end, 5);
	m:add_item("thing", { name = "g" });
	if m.host == "no.example" then return false; end
end
function module.unload() module:log("info", "g unload"); end
