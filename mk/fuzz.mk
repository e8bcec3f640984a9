# Fuzzing with libFuzzer (fuzz/README.md): harnesses for the case file
# parser, the log comparator and the reference driver's command reader.
#
#   make fuzz FUZZ_SECONDS=60   the regressions, then each harness for
#                               FUZZ_SECONDS from a scratch copy of its
#                               corpus; fails on any crash, leak or timeout
#   make fuzz-regress           every fuzz/regressions/H/* once
#   make fuzz-results           make fuzz, then results/fuzz.md and RESULTS.md
#   make fuzz-build             the harnesses only (build/fuzz/)
#
# Knobs: FUZZ_SECONDS (per harness, default 60), FUZZ_TIMEOUT (seconds
# one input may take before libFuzzer calls it a hang, default 30: the
# matcher may work 3 s under the sanitizers before it gives up, more
# on a loaded machine),
# FUZZ_HARNESSES (default: case match driver), FUZZ_CC (default clang).

FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 30
FUZZ_HARNESSES ?= case match driver
FUZZ_CC ?= clang
FB := $(B)/fuzz

FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=c99 -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
	-D_POSIX_C_SOURCE=200809L -MMD -MP

# What each harness links besides its own fuzz/H.c.
FUZZ_RUNNER_OBJ := $(FB)/runner/buf.o $(FB)/runner/case.o
FUZZ_case_OBJ := $(FUZZ_RUNNER_OBJ)
FUZZ_match_OBJ := $(FUZZ_RUNNER_OBJ) $(FB)/runner/match.o $(FB)/runner/diff.o
FUZZ_driver_OBJ := $(REF_LIB_SRC:%.c=$(FB)/%.o)
FUZZ_driver_LIBS = $$$$(cat $(B)/.lua-libs) -lm

.PHONY: fuzz fuzz-build fuzz-regress fuzz-results fuzz-deps
fuzz-deps:
	$(Q)$(NEED) build fuzz

fuzz-build: $(FUZZ_HARNESSES:%=$(FB)/%)

# Library code is instrumented for coverage (fuzzer-no-link); only the
# harness executables link libFuzzer's main.
$(FB)/runner/%.o: runner/%.c | fuzz-deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FB)/ref/%.o: ref/%.c $(B)/.lua-flags | fuzz-deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$$(cat $(B)/.lua-cflags) -c -o $@ $<

# fuzz/driver.c includes ref/driver.c and reads the fixture modules.
$(FB)/fuzz/%.o: fuzz/%.c $(B)/.lua-flags | fuzz-deps
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
		$$(cat $(B)/.lua-cflags) -DFUZZ_MODDIR='"$(abspath fuzz/modules)"' \
		-c -o $@ $<

# One link rule per harness (no .SECONDEXPANSION: it would apply to every
# makefile read after this one).
define FUZZ_LINK
$(FB)/$(1): $(FB)/fuzz/$(1).o $(FUZZ_$(1)_OBJ)
	$$(if $$(Q),@echo "  LINK    $$@")
	$$(Q)$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@.tmp $$^ \
		$(FUZZ_$(1)_LIBS) && mv -f $$@.tmp $$@
endef
$(foreach h,$(FUZZ_HARNESSES),$(eval $(call FUZZ_LINK,$(h))))

-include $(wildcard $(FB)/*/*.d)

fuzz-regress: fuzz-build
	$(Q)tools/fuzz regress $(FB) $(FUZZ_TIMEOUT) $(FUZZ_HARNESSES)

fuzz: fuzz-regress
	$(Q)tools/fuzz run $(FB) $(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_HARNESSES)

# The section is written even when the run found something (it says so);
# the target then still fails.
fuzz-results: fuzz-regress
	$(Q)mkdir -p results; \
	tools/fuzz run $(FB) $(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_HARNESSES); \
	rc=$$?; tools/fuzz results $(FB) $(FUZZ_HARNESSES) > results/fuzz.md.new && \
	mv results/fuzz.md.new results/fuzz.md && tools/assemble-results && \
	echo "results/fuzz.md and RESULTS.md regenerated" && exit $$rc
