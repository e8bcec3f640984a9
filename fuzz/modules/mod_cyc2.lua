module:depends("cyc1");
module:log("info", "cyc2");
