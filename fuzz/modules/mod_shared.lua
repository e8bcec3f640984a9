local data = module:shared("table", "/other.example/shared/t");
data.n = (data.n or 0) + 1;
module:log("info", "shared n=%d", data.n);
if module:get_option_boolean("go_global", false) then module:set_global(); end
module:log("info", "opt=%s set=%s", module:get_option_string("opt", "none"), tostring(module:get_option_set("list", {})));
