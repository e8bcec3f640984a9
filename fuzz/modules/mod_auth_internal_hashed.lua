module:provides("auth", { name = "internal_hashed" });
