# modlife — conformance suite and C reference for Prosody's module lifecycle.
#
# Targets
#   make                 build the reference driver and the runner (build/)
#   make check           run every case against the reference through prove -j
#   make check IMPL=D    ... against driver D: a path, or `ref` / `prosody`
#   make check CASES='cases/x/a.case ...'   run only those case files
#   make check AREA=shared NOTAG=quirk       select cases (knobs below)
#   make list            the (selected) cases: id, area, rules, tags, needs
#   make bless CASES=cases/x/new.case   record the expected lines of steps
#                        that have none from the reference, write them only
#                        if real Prosody then passes the case (tools/bless);
#                        FORCE=1 also replaces expected lines that differ
#   make test            -Werror build + runner self-tests + check (ref and
#                        Prosody) + valgrind + sanitize
#   make valgrind        every case against the reference under memcheck
#   make sanitize        reference and runner built with ASan + UBSan
#                        (build/san/): every case, runner self-tests
#                        (mk/sanitize.mk)
#   make oom             allocation-failure injection: every case with
#                        allocation N failing, every OOM_STEP-th N
#                        (OOM_STEP=1: full sweep, hours; mk/oom.mk)
#   make sanitize-results, make oom-results   their RESULTS.md sections
#   make bench           benchmarks: reference vs Prosody 0.12.3 vs a bare-Lua
#                        floor, scaling, suite speed (mk/bench.mk, bench/)
#   make bench-results   the same into results/bench.md, then RESULTS.md
#   make results         regenerate RESULTS.md from fresh runs
#   make mutants         build each mutant of mutants/README.md (the reference
#                        with -DML_MUTANT=N, build/mutants/N/) and run the
#                        cases against it until one fails; last line
#                        "mutants: K killed of N", fails if one survived
#                        (mk/mutants.mk, tools/mutants)
#   make mutants MUTANT=N   ... only mutant N
#   make mutants-results    make mutants into results/mutants.md, RESULTS.md
#   make without        every case against the reference with each capability
#                        switched off in turn (WITHOUT=X): passes or skips
#                        (mk/without.mk)
#   make uncovered       spec rules that no case names (fails if any)
#   make rule-ids        rule ids cited in code and docs that spec/ lacks
#   make spec-index      regenerate the rule -> cases index of spec/SPEC.md
#   make fuzz            libFuzzer: regressions, then each harness for
#                        FUZZ_SECONDS (default 60) (mk/fuzz.mk, fuzz/README.md)
#   make fuzz-regress    every fuzz/regressions/H/* once
#   make fuzz-results    make fuzz, then results/fuzz.md and RESULTS.md
#   make install PREFIX=/usr/local DESTDIR=
#   make clean
#
# Knobs
#   IMPL=ref|prosody|PATH   driver under test (default ref)
#   EXPECT=FILE             known failures (default expectations/IMPL.txt)
#   FORCE=1                 make bless: replace expected lines already written
#   STRICT=1                a known failure (EXPECT todo) that passes is a
#                           failure: remove its line, so lists only shrink
#   REPEAT=N                run the suite N times, stop at the first failure
#   JUNIT=FILE              make check: write JUnit XML for CI to FILE
#                           (prove --formatter TAP::Formatter::JUnit) instead
#                           of prove's console summary
#   CASES=FILES             case files (default: every cases/*/*.case)
#   Selection, from CASES, for check and list (tools/select); a list is
#   comma-separated and matches when any item does; knobs combine (and):
#   ID=GLOBS                case ids, shell globs: ID='seed-*,star-?wice'
#   AREA=a,b                the cases' folders: AREA=shared,unload
#   TAG=t                   cases with any of these tags
#   NOTAG=quirk             cases with none of these tags (ports: quirks out)
#   RULE=R-SHARED-3         cases naming any of these rules
#   JOBS=N                  prove -j (default: number of cores)
#   TIMEOUT=SECONDS         per-case timeout (default 10)
#   WITHOUT=X,Y             make check: the reference runs with capabilities X, Y
#                           switched off (MODLIFE_WITHOUT, ref/without.c)
#   WERROR=1                add -Werror (make test sets it)
#   MUTANT=N[,N...]         make mutants: only these mutants
#   MUTANT_JOBS=N           make mutants: mutants built and run at a time (2)
#   V=1                     show full commands
#   LUA_PC=lua5.4           pkg-config name of Lua
#   BENCH_N, BENCH_RUNS, BENCH_SCALE, BENCH_QUICK=1, ...   make bench sizes
#                           (mk/bench.mk, bench/README.md)

LUA_PC ?= lua5.4
PREFIX ?= /usr/local
DESTDIR ?=
IMPL ?= ref
TIMEOUT ?= 10
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CASES ?= $(sort $(wildcard cases/*/*.case))
REPEAT ?= 1
STRICT ?=
EXPECT ?= $(wildcard expectations/$(IMPL).txt)

B := build
CC ?= cc
WARN := -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wwrite-strings -Wvla -Wformat=2 -fno-common
ifeq ($(WERROR),1)
WARN += -Werror
endif
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(WARN) $(CFLAGS) -D_POSIX_C_SOURCE=200809L -MMD -MP

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Set-up of build dependencies (Debian packages), see tools/need.
NEED := tools/need

REF_SRC := $(sort $(wildcard ref/*.c))
REF_LIB_SRC := $(filter-out ref/driver.c,$(REF_SRC))
REF_OBJ := $(REF_LIB_SRC:%.c=$(B)/%.o)
RUN_SRC := $(sort $(wildcard runner/*.c))
RUN_OBJ := $(RUN_SRC:%.c=$(B)/%.o)

REF_DRIVER := $(B)/modlife-ref
RUNNER := $(B)/modlife-run
SPAWN := $(B)/modlife-spawn
PROSODY_DRIVER := adapters/prosody/modlife-prosody

ifeq ($(IMPL),ref)
DRIVER := $(abspath $(REF_DRIVER))
DRIVER_DEPS := $(REF_DRIVER)
else ifeq ($(IMPL),prosody)
DRIVER := $(abspath $(PROSODY_DRIVER))
DRIVER_DEPS := prosody-setup
else
DRIVER := $(IMPL)
DRIVER_DEPS :=
endif

.PHONY: all check test valgrind results uncovered rule-ids spec-index install clean \
	deps prosody-setup selftest list bless
all: $(REF_DRIVER) $(RUNNER) $(SPAWN)

deps:
	$(Q)$(NEED) build

$(B)/.lua-flags: | deps
	@mkdir -p $(B)
	$(Q)pkg-config --cflags $(LUA_PC) > $@.c && pkg-config --libs $(LUA_PC) > $@.l && \
		mv $@.c $(B)/.lua-cflags && mv $@.l $(B)/.lua-libs && touch $@

$(B)/ref/%.o: ref/%.c $(B)/.lua-flags
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $$(cat $(B)/.lua-cflags) -c -o $@ $<

$(B)/runner/%.o: runner/%.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/libmodlife.a: $(REF_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

# Executables are linked aside and renamed into place, so that a rebuild
# never breaks a check that is running them.
$(REF_DRIVER): $(B)/ref/driver.o $(B)/libmodlife.a
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@.tmp $^ $$(cat $(B)/.lua-libs) -lm && mv -f $@.tmp $@

$(RUNNER): $(RUN_OBJ)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@.tmp $^ && mv -f $@.tmp $@

-include $(REF_OBJ:.o=.d) $(RUN_OBJ:.o=.d) $(B)/ref/driver.d

prosody-setup:
	$(Q)$(NEED) prosody
	$(Q)adapters/prosody/setup $(B)/prosody

# prove runs one TAP stream per case file: the runner is the interpreter,
# started through tools/perl/TAP/Parser/SourceHandler/ModlifeCase.pm by a
# long-lived $(SPAWN) per job (tools/spawn.c) rather than by prove's
# --exec, whose fork of prove and IPC::Open3 cost more CPU per case than
# the runner and the driver together (bench/README.md, "Suite speed").
PROVE_ENV = PERL5LIB='$(abspath tools/perl)'$${PERL5LIB:+:$$PERL5LIB}
PROVE_SOURCE = --source ModlifeCase --modlifecase-option spawn=$(abspath $(SPAWN))

$(SPAWN): tools/spawn.c
	@mkdir -p $(B)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(B)/spawn.d -o $@.tmp $< && mv -f $@.tmp $@
RUN_CMD = $(abspath $(RUNNER)) --timeout $(TIMEOUT) --impl-name $(IMPL) \
	$(if $(EXPECT),--expect $(abspath $(EXPECT))) \
	$(if $(filter 1,$(STRICT)),--strict)
# Selection (tools/select) only when a knob is set: CASES as given else.
SELECT_ARGS = $(if $(ID),--id '$(ID)') $(if $(AREA),--area '$(AREA)') \
	$(if $(TAG),--tag '$(TAG)') $(if $(NOTAG),--notag '$(NOTAG)') \
	$(if $(RULE),--rule '$(RULE)')
SELECTED = $(if $(strip $(SELECT_ARGS)),$$(tools/select --runner $(RUNNER) \
	$(SELECT_ARGS) $(CASES)),$(CASES))
# JUNIT=FILE: the formatter counts a passing TODO as a failure unless
# told otherwise; the run's own verdict (STRICT) decides instead.
# WITHOUT=X,Y: the reference runs with those capabilities switched off
# (MODLIFE_WITHOUT, ref/without.c); other drivers may honour it too.
WITHOUT_ENV = $(if $(WITHOUT),MODLIFE_WITHOUT='$(WITHOUT)')
JUNIT_ENV = $(if $(JUNIT),$(if $(filter 1,$(STRICT)),,ALLOW_PASSING_TODOS=1))
JUNIT_FLAGS = $(if $(JUNIT),--timer --formatter TAP::Formatter::JUnit)
JUNIT_OUT = $(if $(JUNIT),> '$(JUNIT)')
JUNIT_SAY = $(if $(JUNIT), (JUnit XML in $(JUNIT)))
check: $(RUNNER) $(SPAWN) $(DRIVER_DEPS)
	$(Q)$(NEED) check
	$(Q)cases="$(SELECTED)"; [ -n "$$cases" ] || exit 1; \
	n=0; while [ $$n -lt $(REPEAT) ]; do n=$$((n + 1)); \
		[ $(REPEAT) -eq 1 ] || echo "modlife: run $$n of $(REPEAT) against $(IMPL)"; \
		$(WITHOUT_ENV) $(JUNIT_ENV) $(PROVE_ENV) prove -j$(JOBS) $(PROVE_FLAGS) $(JUNIT_FLAGS) \
			$(PROVE_SOURCE) --modlifecase-option 'command=$(RUN_CMD) --driver $(DRIVER)' \
			$$cases $(JUNIT_OUT) || \
		{ echo "modlife: run $$n of $(REPEAT) against $(IMPL) failed$(JUNIT_SAY)"; exit 1; }; \
	done; [ -z "$(JUNIT)" ] || echo "modlife: passed against $(IMPL)$(JUNIT_SAY)"; \
	[ $(REPEAT) -eq 1 ] || echo "modlife: $(REPEAT) runs in a row passed against $(IMPL)"

# The reference records, real Prosody judges (REPEAT times in a row).
bless: $(RUNNER) $(REF_DRIVER) prosody-setup
	$(Q)$(NEED) check
	$(Q)cases="$(SELECTED)"; [ -n "$$cases" ] || exit 1; \
	tools/bless $(if $(filter 1,$(FORCE)),--force) --repeat $(REPEAT) \
		--timeout $(TIMEOUT) --runner $(abspath $(RUNNER)) \
		--record-driver $(abspath $(REF_DRIVER)) \
		--judge-driver $(abspath $(PROSODY_DRIVER)) $$cases

list: $(RUNNER)
	$(Q)tools/select --table --runner $(RUNNER) $(SELECT_ARGS) $(CASES)

# SELFTEST_DIRS: more self-test folders, from mk/*.mk (bench/tests/).
selftest: $(RUNNER) $(REF_DRIVER)
	$(Q)$(NEED) check
	prove -j$(JOBS) runner/tests/ $(SELFTEST_DIRS)

valgrind: $(RUNNER) $(REF_DRIVER)
	$(Q)$(NEED) valgrind
	prove -j$(JOBS) --exec '$(abspath $(RUNNER)) --timeout 120 --impl-name ref-valgrind --driver $(abspath tools/valgrind-driver) $(abspath $(REF_DRIVER))' $(CASES)

# Cases whose expected log has a group: their outcome may vary from run to
# run on Prosody (hash seeds, pairs() order), so make test runs them 20
# times in a row there.
UNORDERED_CASES = $(shell grep -l '^{ ' $(CASES) /dev/null)

test:
	$(MAKE) clean-objs
	$(MAKE) WERROR=1 all
	$(MAKE) selftest
	tools/spec-index --check
	tools/uncovered
	tools/rule-ids
	tools/precision
	$(MAKE) check IMPL=ref STRICT=1
	$(MAKE) without
	$(MAKE) check IMPL=prosody STRICT=1
	$(MAKE) check IMPL=prosody REPEAT=20 CASES="$(UNORDERED_CASES)"
	$(MAKE) valgrind
	$(MAKE) sanitize

.PHONY: clean-objs
clean-objs:
	rm -rf $(B)/ref $(B)/runner $(B)/libmodlife.a $(REF_DRIVER) $(RUNNER) $(SPAWN)

results: $(RUNNER) $(REF_DRIVER) prosody-setup
	$(Q)mkdir -p results && tools/results > results/conformance.md.new && \
		mv results/conformance.md.new results/conformance.md
	$(Q)tools/assemble-results
	@echo "RESULTS.md regenerated (conformance section rerun)"

uncovered: $(RUNNER)
	$(Q)tools/uncovered

rule-ids:
	$(Q)tools/rule-ids

spec-index: $(RUNNER)
	$(Q)tools/spec-index

# Further targets, one concern per file: mk/*.mk.
include $(sort $(wildcard mk/*.mk))

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/modlife
	install -m 755 $(REF_DRIVER) $(RUNNER) $(DESTDIR)$(PREFIX)/bin/
	cp -R spec cases $(DESTDIR)$(PREFIX)/share/modlife/

clean:
	rm -rf $(B)
