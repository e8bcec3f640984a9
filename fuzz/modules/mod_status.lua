module:set_status("warn", "starting up");
module:hook("status", function (e)
	module:set_status(e.type or "info", e.text or "x", e.override == "true");
	module:log_status(e.level or "info", e.text or "logged");
	return module:get_status();
end);
