module:log("warn", "about to fail");
error("boom");
