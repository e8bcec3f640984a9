-- A component module (config HOST component_module comp).
module:log("info", "component %s", module.host);
module:provides("comp", { name = "c" });
