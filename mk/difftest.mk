# Differential random testing against real Prosody (tools/difftest/
# README.md): random scenarios, each run against the reference and
# against Prosody 0.12.3 (one fork server), compared step by step; every
# divergence shrunk to a case in build/difftest/findings/.
#
#   make difftest N=10000 SEED=1   N scenarios from seed SEED (default
#                                  1000, 1); last line: `difftest: N
#                                  scenarios, D divergences (seed S)`
#   make difftest SEED=1 ONLY=6957 just scenario 6957 of seed 1 (a finding's
#                                  number), MAX_SHRINK=800 to shrink harder
#   make difftest-results          N=10000, into results/difftest.md and
#                                  RESULTS.md, with the line coverage of
#                                  ref/ by the scenarios and by the cases
#   make difftest-coverage         just that coverage table (gcov)
#
# `make test` runs DIFFTEST_TEST_N scenarios of seed 1 (short).
N ?= 1000
SEED ?= 1
DIFFTEST_TEST_N ?= 300
DIFFTEST_FINDINGS ?= $(B)/difftest/findings
# Both drivers are this project's own (the reference, the adapter over
# real Prosody, whose cases are forks of the server): no sandbox.
DIFFTEST = $(NEED) check && MODLIFE_SANDBOX=0 adapters/prosody/with-server tools/difftest/difftest \
	--runner $(abspath $(RUNNER)) --prosody $(abspath $(PROSODY_DRIVER)) \
	--jobs $(JOBS) --findings $(DIFFTEST_FINDINGS)
DIFFTEST_DEPS = $(RUNNER) $(REF_DRIVER) prosody-setup prosody-server

.PHONY: difftest difftest-test difftest-results difftest-coverage
difftest: $(DIFFTEST_DEPS)
	$(Q)$(DIFFTEST) --ref $(abspath $(REF_DRIVER)) --n $(N) --seed $(SEED) \
		$(if $(ONLY),--only $(ONLY)) $(if $(MAX_SHRINK),--max-shrink $(MAX_SHRINK))

difftest-test: $(DIFFTEST_DEPS)
	$(Q)$(DIFFTEST) --ref $(abspath $(REF_DRIVER)) --n $(DIFFTEST_TEST_N) --seed 1 --quiet

# The reference built with gcov instrumentation, in its own folder.
COV := $(B)/cov
COV_OBJ := $(REF_SRC:%.c=$(COV)/%.o)
$(COV)/ref/%.o: ref/%.c $(B)/.lua-flags
	@mkdir -p $(dir $@)
	$(Q)$(CC) -std=c99 -O0 -g --coverage -D_POSIX_C_SOURCE=200809L \
		$$(cat $(B)/.lua-cflags) -c -o $@ $<
$(COV)/modlife-ref: $(COV_OBJ)
	$(Q)$(CC) --coverage -o $@ $^ $$(cat $(B)/.lua-libs) -lm

difftest-coverage: $(DIFFTEST_DEPS) $(COV)/modlife-ref
	$(Q)mkdir -p $(B)/difftest
	$(Q)MODLIFE_SANDBOX=0 tools/difftest/coverage --cov $(COV) --runner $(abspath $(RUNNER)) \
		--n $(N) --seed $(SEED) --jobs $(JOBS) > $(B)/difftest/coverage.md
	$(Q)cat $(B)/difftest/coverage.md

difftest-results: $(DIFFTEST_DEPS) $(COV)/modlife-ref
	$(Q)mkdir -p $(B)/difftest results
	$(Q)rm -rf $(DIFFTEST_FINDINGS)
	$(Q)$(MAKE) --no-print-directory difftest N=10000 SEED=$(SEED) \
		| tee $(B)/difftest/run.log; \
	MODLIFE_SANDBOX=0 tools/difftest/coverage --cov $(COV) --runner $(abspath $(RUNNER)) \
		--n 2000 --seed $(SEED) --jobs $(JOBS) > $(B)/difftest/coverage.md && \
	tools/difftest/results $(B)/difftest/run.log $(B)/difftest/coverage.md \
		> results/difftest.md.new && mv results/difftest.md.new results/difftest.md
	$(Q)tools/assemble-results
