# modlife — conformance suite and C reference for Prosody's module lifecycle.
#
# Targets
#   make                 build the reference driver and the runner (build/)
#   make check           run every case against the reference through prove -j
#   make check IMPL=D    ... against driver D: a path, or `ref` / `prosody`
#   make check CASES='cases/x/a.case ...'   run only those case files
#   make check AREA=shared NOTAG=quirk       select cases (knobs below)
#   make list            the (selected) cases: id, area, rules, tags, needs
#   make record IMPL=prosody CASES=cases/x/new.case   write a draft's
#                        expected lines from the driver's own output,
#                        REPEAT runs (at least 3) that must agree, else
#                        the differing runs are shown and nothing is
#                        written (tools/record)
#   make bless CASES=cases/x/new.case   record the expected lines of steps
#                        that have none from the reference, write them only
#                        if real Prosody then passes the case (tools/bless);
#                        FORCE=1 also replaces expected lines that differ
#   make test            -Werror build + runner self-tests + check (ref,
#                        ref13, Prosody 0.12.3 and 13.0.1) + a short
#                        difftest + valgrind + sanitize
#   make difftest N= SEED=   random scenarios, reference vs real Prosody,
#                        divergences shrunk to cases (mk/difftest.mk)
#   make valgrind        every case against the reference under memcheck,
#                        then VALGRIND13 (the cases of version rules and of
#                        area timers) against it in 13.0.1 mode
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
#   make sandbox-results what the driver sandbox costs per case, RESULTS.md
#   make results         regenerate RESULTS.md from fresh runs
#   make mutants         mutants generated from the source of ref/ (tools/mutagen),
#                        each built in a copy and run against the cases that
#                        execute its line until one fails; last line "mutants:
#                        K killed, S survived, E equivalent of N generated
#                        (score P%)", fails if one survived (mk/mutants.mk,
#                        tools/mutants, mutants/README.md)
#   make mutants MUTANTS_SAMPLE=N   ... a reproducible sample (MUTANTS_SEED)
#   make mutants-results    make mutants into results/mutants.md, RESULTS.md
#   make without        every case against the reference with each capability
#                        switched off in turn (WITHOUT=X): passes or skips
#                        (mk/without.mk)
#   make uncovered       spec clauses that no case names (fails if any);
#                        CASES= and the selection knobs: those cases only
#   make rule-ids        rule ids cited in code and docs that spec/ lacks
#   make spec-index      regenerate the clause -> cases index of spec/SPEC.md
#   make fuzz            libFuzzer: regressions, then each harness for
#                        FUZZ_SECONDS (default 60) (mk/fuzz.mk, fuzz/README.md)
#   make fuzz-regress    every fuzz/regressions/H/* once
#   make fuzz-results    make fuzz, then results/fuzz.md and RESULTS.md
#   make install PREFIX=/usr/local DESTDIR=   the suite as one command:
#                        PREFIX/bin/modlife check --impl ./driver (man
#                        modlife), no checkout needed
#   make clean
#
# Knobs
#   IMPL=ref|ref13|prosody|prosody13|PATH   driver under test (default
#                           ref; ref13 and prosody13 follow Prosody 13.0.1)
#   EXPECT=FILE             known failures (default expectations/IMPL.txt)
#   FORCE=1                 make bless: replace expected lines already written
#   STRICT=1                a known failure (EXPECT todo) that passes is a
#                           failure: remove its line, so lists only shrink
#   REPEAT=N                run the suite N times, stop at the first failure
#   SERVER=0                IMPL=prosody: start Prosody for every case (in the
#                           sandbox) instead of forking one start-up outside
#                           it (adapters/prosody/README.md, "Fork server")
#   JUNIT=FILE              make check: write JUnit XML for CI to FILE
#                           (tools/perl/TAP/Formatter/ModlifeJUnit.pm: skips
#                           and known failures are <skipped/>) instead of
#                           prove's console summary
#   RULES=DIR               a case naming a rule that DIR/*.md does not
#                           define fails (default spec/rules; RULES= off)
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
#   SANDBOX=0               run drivers without the bubblewrap sandbox (on by
#                           default: runner/sandbox.c, README.md "Sandbox")
#   SANDBOX_EXPOSE=DIR:DIR  more folders a sandboxed driver may read
#   WERROR=1                add -Werror (make test sets it)
#   MUTANTS_SAMPLE=N, MUTANTS_SEED=S, MUTANTS_ONLY=ID,..., MUTANTS_FILES=...,
#   MUTANTS_JOBS=N (2), MUTANTS_TIMEOUT=S (5)   make mutants (mk/mutants.mk)
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
SANDBOX ?= 1
RULES ?= spec/rules

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

# A checkout path with a space breaks make's word lists (and the prove
# source handler's command): say so, once, rather than fail obscurely.
ifneq ($(word 2,$(CURDIR)),)
$(error modlife: the checkout path '$(CURDIR)' contains a space; move or link the checkout to a path without one)
endif

# The driver sandbox (runner/sandbox.c): every run of modlife-run, from
# make check or from the tools it starts, reads these. The Prosody
# trees (0.12.3, 13.0.1) are outside the adapter's folder, so the
# sandbox shows them explicitly.
export MODLIFE_SANDBOX := $(SANDBOX)
export MODLIFE_SANDBOX_EXPOSE := $(abspath $(B)/prosody):$(abspath $(B)/prosody13)$(if $(SANDBOX_EXPOSE),:$(SANDBOX_EXPOSE))
NEED_SANDBOX := $(if $(filter 0,$(SANDBOX)),,sandbox)

REF_SRC := $(sort $(wildcard ref/*.c))
REF_LIB_SRC := $(filter-out ref/driver.c,$(REF_SRC))
REF_OBJ := $(REF_LIB_SRC:%.c=$(B)/%.o)
RUN_SRC := $(sort $(wildcard runner/*.c))
RUN_OBJ := $(RUN_SRC:%.c=$(B)/%.o)

REF_DRIVER := $(B)/modlife-ref
RUNNER := $(B)/modlife-run
SPAWN := $(B)/modlife-spawn
PROSODY_DRIVER := adapters/prosody/modlife-prosody
PROSODY13_DRIVER := adapters/prosody/modlife-prosody13

ifeq ($(IMPL),ref)
DRIVER := $(abspath $(REF_DRIVER))
DRIVER_DEPS := $(REF_DRIVER)
else ifeq ($(IMPL),ref13)
DRIVER := $(abspath $(REF_DRIVER)) --prosody 13
DRIVER_DEPS := $(REF_DRIVER)
else ifeq ($(IMPL),prosody)
DRIVER := $(abspath $(PROSODY_DRIVER))
DRIVER_DEPS := prosody-setup prosody-server
# One Prosody start-up per run, forked for each case (adapters/prosody/
# README.md, "Fork server"); SERVER=0 starts Prosody for every case. The
# forked cases run in the server, outside the runner's bubblewrap sandbox
# (our own adapter over real Prosody, not a port under test): SERVER=0
# runs each case's Prosody sandboxed.
ifneq ($(SERVER),0)
CHECK_WRAP := MODLIFE_SANDBOX=0 adapters/prosody/with-server
endif
else ifeq ($(IMPL),prosody13)
DRIVER := $(abspath $(PROSODY13_DRIVER))
DRIVER_DEPS := prosody13-setup
else
DRIVER := $(IMPL)
DRIVER_DEPS :=
endif

.PHONY: all check test valgrind results uncovered rule-ids spec-index install clean \
	deps prosody-setup prosody13-setup selftest list bless record
all: $(REF_DRIVER) $(RUNNER) $(SPAWN)

deps:
	$(Q)$(NEED) build

$(B)/.lua-flags: | deps
	@mkdir -p $(B)
	$(Q)pkg-config --cflags $(LUA_PC) > $@.c.$$$$ && pkg-config --libs $(LUA_PC) > $@.l.$$$$ && \
		mv $@.c.$$$$ $(B)/.lua-cflags && mv $@.l.$$$$ $(B)/.lua-libs && touch $@

$(B)/ref/%.o: ref/%.c $(B)/.lua-flags
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(@:.o=.d).$$$$ -MT $@ $$(cat $(B)/.lua-cflags) -c -o $@.$$$$ $< && \
		mv -f $(@:.o=.d).$$$$ $(@:.o=.d) && mv -f $@.$$$$ $@

$(B)/runner/%.o: runner/%.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(@:.o=.d).$$$$ -MT $@ -c -o $@.$$$$ $< && \
		mv -f $(@:.o=.d).$$$$ $(@:.o=.d) && mv -f $@.$$$$ $@

# Built aside and renamed into place: two makes at once never see (or
# link) a half-written archive.
$(B)/libmodlife.a: $(REF_OBJ)
	$(Q)rm -f $@.$$$$ && ar rcs $@.$$$$ $^ && mv -f $@.$$$$ $@

# Executables are linked aside and renamed into place, so that a rebuild
# never breaks a check that is running them.
$(REF_DRIVER): $(B)/ref/driver.o $(B)/libmodlife.a
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@.$$$$ $^ $$(cat $(B)/.lua-libs) -lm && mv -f $@.$$$$ $@

$(RUNNER): $(RUN_OBJ)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@.$$$$ $^ && mv -f $@.$$$$ $@

-include $(REF_OBJ:.o=.d) $(RUN_OBJ:.o=.d) $(B)/ref/driver.d

prosody-setup:
	$(Q)$(NEED) prosody
	$(Q)adapters/prosody/setup $(B)/prosody

# Prosody 13.0.1 from bookworm-backports, through a private apt
# configuration in $(B)/prosody13.apt/ (adapters/prosody/README.md).
prosody13-setup:
	$(Q)$(NEED) prosody
	$(Q)adapters/prosody/setup $(B)/prosody13 13

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
	$(Q)$(CC) $(ALL_CFLAGS) -MF $(B)/spawn.d.$$$$ -MT $@ -o $@.$$$$ $< && \
		mv -f $(B)/spawn.d.$$$$ $(B)/spawn.d && mv -f $@.$$$$ $@
RUN_CMD = $(abspath $(RUNNER)) --timeout $(TIMEOUT) --impl-name $(IMPL) \
	$(if $(EXPECT),--expect $(abspath $(EXPECT))) \
	$(if $(filter 1,$(STRICT)),--strict) \
	$(if $(RULES),--rules $(abspath $(RULES)))
# Selection (tools/select) only when a knob is set: CASES as given else.
SELECT_ARGS = $(if $(ID),--id '$(ID)') $(if $(AREA),--area '$(AREA)') \
	$(if $(TAG),--tag '$(TAG)') $(if $(NOTAG),--notag '$(NOTAG)') \
	$(if $(RULE),--rule '$(RULE)')
# Sets the shell's $cases to the case files to run (tools/preflight:
# folders expanded, ids unique, REPEAT sane, ...), then to those the
# selection knobs keep (tools/select), or stops with one line. $(1): more
# preflight options.
SET_CASES = cases=$$(tools/preflight --runner $(RUNNER) --repeat '$(REPEAT)' \
	$(1) -- $(CASES)) || exit 1; \
	$(if $(strip $(SELECT_ARGS)),cases=$$(tools/select --runner $(RUNNER) \
	$(SELECT_ARGS) $$cases) || exit 1;)
PREFLIGHT_CHECK = $(if $(EXPECT),--expect '$(EXPECT)') \
	$(if $(filter 1,$(STRICT)),--strict) $(if $(NEED_SANDBOX),--sandbox)
# A run ends with tools/summary's table per area and its line
# "modlife: P passed, F failed, T todo, S skipped of N against IMPL", from
# the verdicts the runners append to MODLIFE_SUMMARY (with REPEAT, the
# last run and a failing one).
SUMMARY = tools/summary --impl '$(IMPL)' "$$sum" $$cases; rm -f "$$sum"
LAST_SUMMARY = if [ $$n -eq $(REPEAT) ]; then $(SUMMARY); else rm -f "$$sum"; fi
# JUNIT=FILE: the formatter counts a passing TODO as a failure unless
# told otherwise; the run's own verdict (STRICT) decides instead.
# WITHOUT=X,Y: the reference runs with those capabilities switched off
# (MODLIFE_WITHOUT, ref/without.c); other drivers may honour it too.
WITHOUT_ENV = $(if $(WITHOUT),MODLIFE_WITHOUT='$(WITHOUT)')
JUNIT_ENV = $(if $(JUNIT),$(if $(filter 1,$(STRICT)),,ALLOW_PASSING_TODOS=1))
JUNIT_FLAGS = $(if $(JUNIT),--timer --formatter TAP::Formatter::ModlifeJUnit)
JUNIT_OUT = $(if $(JUNIT),> '$(JUNIT)')
JUNIT_SAY = $(if $(JUNIT), (JUnit XML in $(JUNIT)))
check: $(RUNNER) $(SPAWN) $(DRIVER_DEPS)
	$(Q)$(NEED) check $(NEED_SANDBOX)
	$(Q)$(call SET_CASES,$(PREFLIGHT_CHECK)) \
	n=0; while [ $$n -lt $(REPEAT) ]; do n=$$((n + 1)); \
		[ $(REPEAT) -eq 1 ] || echo "modlife: run $$n of $(REPEAT) against $(IMPL)"; \
		sum=$$(mktemp); \
		MODLIFE_SUMMARY=$$sum $(WITHOUT_ENV) $(JUNIT_ENV) $(PROVE_ENV) $(CHECK_WRAP) prove -j$(JOBS) $(PROVE_FLAGS) $(JUNIT_FLAGS) \
			$(PROVE_SOURCE) --modlifecase-option 'command=$(RUN_CMD) --driver $(DRIVER)' \
			$$cases $(JUNIT_OUT) || \
		{ $(SUMMARY); echo "modlife: run $$n of $(REPEAT) against $(IMPL) failed$(JUNIT_SAY)"; exit 1; }; \
		$(LAST_SUMMARY); \
	done; [ -z "$(JUNIT)" ] || echo "modlife: passed against $(IMPL)$(JUNIT_SAY)"; \
	[ $(REPEAT) -eq 1 ] || echo "modlife: $(REPEAT) runs in a row passed against $(IMPL)"

# The reference records, real Prosody judges (REPEAT times in a row).
bless: $(RUNNER) $(REF_DRIVER) prosody-setup
	$(Q)$(NEED) check $(NEED_SANDBOX)
	$(Q)$(call SET_CASES,$(if $(NEED_SANDBOX),--sandbox)) \
	tools/bless $(if $(filter 1,$(FORCE)),--force) --repeat $(REPEAT) \
		--timeout $(TIMEOUT) --runner $(abspath $(RUNNER)) \
		--record-driver $(abspath $(REF_DRIVER)) \
		--judge-driver $(abspath $(PROSODY_DRIVER)) $$cases

# Real Prosody records (IMPL=prosody): at least 3 runs, which must agree.
record: $(RUNNER) $(DRIVER_DEPS)
	$(Q)$(NEED) check $(NEED_SANDBOX)
	$(Q)$(call SET_CASES,$(if $(NEED_SANDBOX),--sandbox)) \
	tools/record $(if $(filter 1,$(FORCE)),--force) \
		--runs $$(( $(REPEAT) > 3 ? $(REPEAT) : 3 )) --timeout $(TIMEOUT) \
		--runner $(abspath $(RUNNER)) --driver $(DRIVER) $$cases

list: $(RUNNER)
	$(Q)cases=$$(tools/preflight --runner $(RUNNER) -- $(CASES)) || exit 1; \
	tools/select --table --runner $(RUNNER) $(SELECT_ARGS) $$cases

# SELFTEST_DIRS: more self-test folders, from mk/*.mk (bench/tests/).
selftest: $(RUNNER) $(REF_DRIVER)
	$(Q)$(NEED) check
	prove -j$(JOBS) runner/tests/ $(SELFTEST_DIRS)

valgrind: $(RUNNER) $(REF_DRIVER)
	$(Q)$(NEED) valgrind
	prove -j$(JOBS) --exec '$(abspath $(RUNNER)) --timeout 120 --impl-name ref-valgrind --driver $(abspath tools/valgrind-driver) $(abspath $(REF_DRIVER))' $(CASES)
	prove -j$(JOBS) --exec '$(abspath $(RUNNER)) --timeout 120 --impl-name ref13-valgrind --driver $(abspath tools/valgrind-driver) $(abspath $(REF_DRIVER)) --prosody 13' $(VALGRIND13)

# The cases where ref13 differs from ref: those of version rules (their
# lines differ by release) and area timers (13.0.1's ready callbacks).
VALGRIND13 = $(sort $(wildcard cases/timers/*.case) $(shell grep -l '^\[1' $(CASES) /dev/null))

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
	$(MAKE) check IMPL=ref13 STRICT=1
	$(MAKE) without
	$(MAKE) check IMPL=prosody STRICT=1
	$(MAKE) check IMPL=prosody13 STRICT=1
	$(MAKE) check IMPL=prosody REPEAT=20 CASES="$(UNORDERED_CASES)"
	$(MAKE) check IMPL=prosody13 REPEAT=20 CASES="$(UNORDERED_CASES)"
	$(MAKE) difftest-test
	$(MAKE) valgrind
	$(MAKE) sanitize

.PHONY: clean-objs
clean-objs:
	rm -rf $(B)/ref $(B)/runner $(B)/libmodlife.a $(REF_DRIVER) $(RUNNER) $(SPAWN)

results: $(RUNNER) $(REF_DRIVER) prosody-setup prosody13-setup
	$(Q)mkdir -p results && tools/results > results/conformance.md.new && \
		mv results/conformance.md.new results/conformance.md
	$(Q)tools/assemble-results
	@echo "RESULTS.md regenerated (conformance section rerun)"

uncovered: $(RUNNER)
	$(Q)$(if $(or $(filter command line environment,$(origin CASES)),$(strip $(SELECT_ARGS))),$(call SET_CASES,) tools/uncovered $$cases,tools/uncovered)

rule-ids:
	$(Q)tools/rule-ids

spec-index: $(RUNNER)
	$(Q)tools/spec-index

# Further targets, one concern per file: mk/*.mk.
include $(sort $(wildcard mk/*.mk))

# The installed suite: `modlife check --impl ./driver` from anywhere
# (tools/modlife, man/modlife.1), no checkout needed.
INSTALL_SHARE = $(DESTDIR)$(PREFIX)/share/modlife
INSTALL_TOOLS = tools/select tools/summary tools/known-failures
# modlife-protocol(5) is spec/PROTOCOL.md, converted: one source.
$(B)/man/modlife-protocol.5: spec/PROTOCOL.md tools/md2man
	@mkdir -p $(dir $@)
	$(Q)tools/md2man --name modlife-protocol --section 5 \
		--title "the modlife driver protocol" spec/PROTOCOL.md > $@.tmp && mv $@.tmp $@
install: all $(B)/man/modlife-protocol.5
	install -d $(DESTDIR)$(PREFIX)/bin $(INSTALL_SHARE)/tools \
		$(INSTALL_SHARE)/perl/TAP/Parser/SourceHandler \
		$(INSTALL_SHARE)/perl/TAP/Formatter $(DESTDIR)$(PREFIX)/libexec/modlife \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/doc/modlife
	install -m 755 $(REF_DRIVER) $(RUNNER) tools/modlife $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(SPAWN) $(DESTDIR)$(PREFIX)/libexec/modlife/
	install -m 755 $(INSTALL_TOOLS) $(INSTALL_SHARE)/tools/
	install -m 644 tools/perl/TAP/Parser/SourceHandler/ModlifeCase.pm \
		$(INSTALL_SHARE)/perl/TAP/Parser/SourceHandler/
	install -m 644 tools/perl/TAP/Formatter/ModlifeJUnit.pm $(INSTALL_SHARE)/perl/TAP/Formatter/
	install -m 644 man/modlife.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 644 $(B)/man/modlife-protocol.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 README.md PORTING.md $(DESTDIR)$(PREFIX)/share/doc/modlife/
	rm -rf $(INSTALL_SHARE)/spec $(INSTALL_SHARE)/cases $(INSTALL_SHARE)/examples
	cp -R spec cases examples $(INSTALL_SHARE)/

clean:
	rm -rf $(B)

# What the driver sandbox costs per case, into RESULTS.md (tools/sandbox-cost).
.PHONY: sandbox-results
sandbox-results: $(RUNNER) $(REF_DRIVER)
	$(Q)$(NEED) sandbox
	$(Q)mkdir -p results && tools/sandbox-cost > results/sandbox.md.new && \
		mv results/sandbox.md.new results/sandbox.md && tools/assemble-results
