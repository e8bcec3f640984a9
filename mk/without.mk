# needs: proven, not trusted (spec/PROTOCOL.md §1.1, ref/without.c).
#
#   make without                 every case against the reference with each
#                                capability switched off in turn
#                                (MODLIFE_WITHOUT=X): each run must pass,
#                                every case passing or skipped; one line per
#                                capability with its number of skipped cases
#   make without CAPABILITY=x,y  ... only those capabilities
#
# A case that uses a part of the API without naming its capability in
# needs: fails here, where a driver that lacks the part would fail it for
# no reason of its own. make test runs it. The selection knobs of make
# check (CASES, AREA, ...) apply.

# The capability words of protocol version 1 (PROTOCOL.md §1); the
# self-test runner/tests/without.t checks that the reference announces
# exactly these and the runner accepts exactly these in needs:.
CAPABILITIES := config reload depends items host-items status shared-data \
	wrappers components unhook meta reload-state auth-providers format \
	hook-tag context start timers
CAPABILITY ?= $(CAPABILITIES)
without_comma := ,

.PHONY: without
without: $(RUNNER) $(SPAWN) $(REF_DRIVER)
	$(Q)mkdir -p $(B)/without; n=0; \
	for c in $(subst $(without_comma), ,$(CAPABILITY)); do n=$$((n + 1)); \
		log=$(B)/without/$$c.log; \
		if $(MAKE) --no-print-directory check IMPL=ref STRICT=1 \
			WITHOUT=$$c PROVE_FLAGS=-v > $$log 2>&1; then \
			echo "without $$c: passed, $$(grep -c '# SKIP' $$log) cases skipped"; \
		else \
			grep -E '^(not ok|Failed|cases/.*Wstat)' $$log; \
			echo "without $$c: FAILED (log: $$log)"; exit 1; \
		fi; \
	done; echo "without: all $$n capabilities switched off in turn: every case passed or was skipped"
