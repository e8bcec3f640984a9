module:log("info", "never" ;
