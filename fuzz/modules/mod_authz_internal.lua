module:provides("authz", { name = "internal" });
