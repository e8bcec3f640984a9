# Benchmarks (issue 7): workloads through the driver protocol, against the
# reference, real Prosody 0.12.3 and the bare-Lua floor; scaling; suite
# speed. bench/README.md says what is measured and how to read it.
#
#   make bench            the tables on stdout (a run takes minutes)
#   make bench-results    writes results/bench.md, then RESULTS.md
#   make bench BENCH_QUICK=1    small sizes, one run: a smoke test
# Knobs: BENCH_N, BENCH_RUNS, BENCH_SCALE, BENCH_CAP, BENCH_WORKLOADS,
# BENCH_IMPLS, BENCH_SUITE, BENCH_QUICK (bench/bench says what each does).

BENCH_MEASURE := $(B)/modlife-measure
BENCH_FLOOR := $(B)/modlife-floor
BENCH_TOOLS := $(BENCH_MEASURE) $(BENCH_FLOOR)
BENCH_ENV = $(foreach k,BENCH_N BENCH_RUNS BENCH_SCALE BENCH_CAP \
	BENCH_WORKLOADS BENCH_IMPLS BENCH_SUITE BENCH_QUICK,$(if $($(k)),$(k)='$($(k))'))

.PHONY: bench bench-results bench-tools
bench-tools: $(BENCH_TOOLS)

# make selftest also runs bench/tests/ (time-independent smoke checks).
SELFTEST_DIRS += bench/tests/
selftest: $(BENCH_TOOLS) $(REF_DRIVER)

$(B)/bench/%.o: bench/%.c $(B)/.lua-flags
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $$(cat $(B)/.lua-cflags) \
		-DFLOOR_LUA='"$(abspath bench/floor.lua)"' -c -o $@ $<

$(BENCH_MEASURE): $(B)/bench/measure.o
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@.tmp $^ && mv -f $@.tmp $@

$(BENCH_FLOOR): $(B)/bench/floor.o
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@.tmp $^ $$(cat $(B)/.lua-libs) -lm && mv -f $@.tmp $@

-include $(B)/bench/measure.d $(B)/bench/floor.d

bench: $(BENCH_TOOLS) $(REF_DRIVER) $(RUNNER) $(SPAWN) prosody-setup
	$(Q)$(BENCH_ENV) bench/bench

bench-results: $(BENCH_TOOLS) $(REF_DRIVER) $(RUNNER) $(SPAWN) prosody-setup
	$(Q)mkdir -p results && $(BENCH_ENV) bench/bench --markdown > results/bench.md.new && \
		mv results/bench.md.new results/bench.md
	$(Q)tools/assemble-results
	@echo "results/bench.md written, RESULTS.md assembled"
