# The Prosody fork server's two C parts (adapters/prosody/README.md, "Fork
# server"): the Lua module that forks (loaded by lua5.4, so it links no
# Lua library) and the client the runner starts as the driver.
PROSODY_ZYGOTE := $(B)/modlife-prosody-zygote.so
PROSODY_CONNECT := $(B)/modlife-prosody-connect

$(PROSODY_ZYGOTE): adapters/prosody/zygote.c $(B)/.lua-flags
	@mkdir -p $(B)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -shared $$(cat $(B)/.lua-cflags) \
		-MF $(B)/zygote.d -o $@.tmp $< && mv -f $@.tmp $@

$(PROSODY_CONNECT): adapters/prosody/connect.c
	@mkdir -p $(B)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(B)/connect.d -o $@.tmp $< && mv -f $@.tmp $@

.PHONY: prosody-server
prosody-server: $(PROSODY_ZYGOTE) $(PROSODY_CONNECT)
