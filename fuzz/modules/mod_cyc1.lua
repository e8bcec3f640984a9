module:depends("cyc2");
module:log("info", "cyc1");
