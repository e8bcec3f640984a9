# Differential random testing against real Prosody (tools/difftest/
# README.md): random scenarios, each run against the reference and
# against real Prosody (one fork server), compared step by step; every
# divergence shrunk to a case in build/difftest/findings/.
#
#   make difftest N=10000 SEED=1   N scenarios from seed SEED (default
#                                  1000, 1); last line: `difftest: N
#                                  scenarios, D divergences (seed S)`
#   make difftest RELEASE=13       the same against Prosody 13.0.1, the
#                                  reference in 13 mode (`--prosody 13`);
#                                  RELEASE=0.12 (the default): 0.12.3
#   make difftest SEED=1 ONLY=6957 just scenario 6957 of seed 1 (a finding's
#                                  number), MAX_SHRINK=800 to shrink harder
#   make difftest-results          N=10000 on each release, into
#                                  results/difftest.md and RESULTS.md, with the line coverage of
#                                  ref/ by the scenarios and by the cases
#   make difftest-coverage         just that coverage table (gcov)
#
# `make test` runs difftest-test: DIFFTEST_TEST_N scenarios of seed 1
# against 0.12.3, then DIFFTEST13_TEST_N against 13.0.1 (short).
N ?= 1000
SEED ?= 1
RELEASE ?= 0.12
DIFFTEST_TEST_N ?= 300
DIFFTEST13_TEST_N ?= 100
DIFFTEST_FINDINGS ?= $(B)/difftest/findings$(if $(filter 13,$(RELEASE)),13)
# Per release: the fork server's Prosody tree (modlife-prosody reads
# MODLIFE_PROSODY_ROOT, adapters/prosody/README.md "Fork server"), the
# driver each scenario starts (a client of that server), the reference's
# mode. difftest's own probe refuses a driver of the other release.
DIFFTEST_ROOT.0.12 := $(abspath $(B)/prosody)
DIFFTEST_PROSODY.0.12 := $(abspath $(PROSODY_DRIVER))
DIFFTEST_REF.0.12 := $(abspath $(REF_DRIVER))
DIFFTEST_ROOT.13 := $(abspath $(B)/prosody13)
DIFFTEST_PROSODY.13 := $(abspath $(PROSODY13_DRIVER))
DIFFTEST_REF.13 := $(abspath $(REF_DRIVER)) --prosody 13
ifeq ($(filter 0.12 13,$(RELEASE)),)
$(error RELEASE=$(RELEASE): difftest knows 0.12 and 13)
endif
# Both drivers are this project's own (the reference, the adapter over
# real Prosody, whose cases are forks of the server): no sandbox.
# $(call DIFFTEST,RELEASE) is the command, up to its scenario options.
DIFFTEST = $(NEED) check && MODLIFE_SANDBOX=0 MODLIFE_PROSODY_ROOT=$(DIFFTEST_ROOT.$(1)) \
	adapters/prosody/with-server tools/difftest/difftest --release $(1) \
	--runner $(abspath $(RUNNER)) --prosody $(DIFFTEST_PROSODY.$(1)) \
	--ref '$(DIFFTEST_REF.$(1))' --jobs $(JOBS)
DIFFTEST_DEPS = $(RUNNER) $(REF_DRIVER) prosody-setup prosody-server \
	$(if $(filter 13,$(RELEASE)),prosody13-setup)

.PHONY: difftest difftest-test difftest-results difftest-coverage
difftest: $(DIFFTEST_DEPS)
	$(Q)$(call DIFFTEST,$(RELEASE)) --findings $(DIFFTEST_FINDINGS) --n $(N) --seed $(SEED) \
		$(if $(ONLY),--only $(ONLY)) $(if $(MAX_SHRINK),--max-shrink $(MAX_SHRINK))

difftest-test: $(DIFFTEST_DEPS) prosody13-setup
	$(Q)$(call DIFFTEST,0.12) --findings $(B)/difftest/findings --n $(DIFFTEST_TEST_N) --seed 1 --quiet
	$(Q)$(call DIFFTEST,13) --findings $(B)/difftest/findings13 --n $(DIFFTEST13_TEST_N) --seed 1 --quiet

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

difftest-results: $(DIFFTEST_DEPS) $(COV)/modlife-ref prosody13-setup
	$(Q)mkdir -p $(B)/difftest results
	$(Q)rm -rf $(B)/difftest/findings $(B)/difftest/findings13
	$(Q)$(MAKE) --no-print-directory difftest N=10000 SEED=$(SEED) RELEASE=0.12 \
		| tee $(B)/difftest/run.log; \
	$(MAKE) --no-print-directory difftest N=10000 SEED=$(SEED) RELEASE=13 \
		| tee $(B)/difftest/run13.log; \
	MODLIFE_SANDBOX=0 tools/difftest/coverage --cov $(COV) --runner $(abspath $(RUNNER)) \
		--n 2000 --seed $(SEED) --jobs $(JOBS) > $(B)/difftest/coverage.md && \
	tools/difftest/results $(B)/difftest/run.log $(B)/difftest/coverage.md $(B)/difftest/run13.log \
		> results/difftest.md.new && mv results/difftest.md.new results/difftest.md
	$(Q)tools/assemble-results
