function module.unload() error("unload failed"); end
module:hook("module-unloaded", function () error("handler failed"); end);
