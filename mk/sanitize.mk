# make sanitize: the reference (library and driver) and the runner built
# with AddressSanitizer and UndefinedBehaviorSanitizer into build/san/, then
# every case through the sanitized runner against the sanitized driver, and
# the runner self-tests that can take another runner binary, and the
# hostile-module self-test against the sanitized driver (MODLIFE_REF).
#
# A sanitizer report must fail the run, never scroll past: every report
# aborts the process (abort_on_error, halt_on_error, no recovery compiled
# in), LeakSanitizer checks at exit, and the runner turns a driver that dies
# of a signal into a failed case with its stderr (the report) attached. The
# same options serve make oom (mk/oom.mk).

SAN_DIR := $(B)/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
# -O1 keeps the reports' stacks readable and the run fast enough.
SAN_CFLAGS := -O1 -g
SAN_ALL_CFLAGS = $(WARN) $(SAN_CFLAGS) $(SAN_FLAGS) -D_POSIX_C_SOURCE=200809L -MMD -MP
SAN_REF_OBJ := $(REF_LIB_SRC:%.c=$(SAN_DIR)/%.o)
SAN_RUN_OBJ := $(RUN_SRC:%.c=$(SAN_DIR)/%.o)
SAN_REF_DRIVER := $(SAN_DIR)/modlife-ref
SAN_RUNNER := $(SAN_DIR)/modlife-run
SAN_TIMEOUT ?= 60
# The self-tests that run only $RUN (Selftest.pm's MODLIFE_RUN): the others
# drive `make check` (the plain build) or valgrind, which cannot run an
# ASan binary.
SAN_SELFTESTS := $(addprefix runner/tests/,parse.t drivers.t match.t \
	directives.t capabilities.t expect.t colour.t diverge.t)
# detect_leaks: LeakSanitizer at exit (on by default on x86_64, said here).
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1 \
	UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	LSAN_OPTIONS=report_objects=1

.PHONY: sanitize sanitize-build
sanitize-build: $(SAN_REF_DRIVER) $(SAN_RUNNER)

$(SAN_DIR)/ref/%.o: ref/%.c $(B)/.lua-flags
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC san  $<")
	$(Q)$(CC) $(SAN_ALL_CFLAGS) $$(cat $(B)/.lua-cflags) -c -o $@ $<

$(SAN_DIR)/runner/%.o: runner/%.c
	@mkdir -p $(dir $@)
	$(if $(Q),@echo "  CC san  $<")
	$(Q)$(CC) $(SAN_ALL_CFLAGS) -c -o $@ $<

$(SAN_DIR)/libmodlife.a: $(SAN_REF_OBJ)
	$(Q)rm -f $@ && ar rcs $@ $^

$(SAN_REF_DRIVER): $(SAN_DIR)/ref/driver.o $(SAN_DIR)/libmodlife.a
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(SAN_CFLAGS) $(SAN_FLAGS) -o $@.tmp $^ $$(cat $(B)/.lua-libs) -lm && mv -f $@.tmp $@

$(SAN_RUNNER): $(SAN_RUN_OBJ)
	$(if $(Q),@echo "  LINK    $@")
	$(Q)$(CC) $(SAN_CFLAGS) $(SAN_FLAGS) -o $@.tmp $^ && mv -f $@.tmp $@

-include $(SAN_REF_OBJ:.o=.d) $(SAN_RUN_OBJ:.o=.d) $(SAN_DIR)/ref/driver.d

sanitize: $(SAN_REF_DRIVER) $(SAN_RUNNER)
	$(Q)$(NEED) check
	$(SAN_ENV) prove -j$(JOBS) --exec '$(abspath $(SAN_RUNNER)) --timeout $(SAN_TIMEOUT) --impl-name ref-sanitize --driver $(abspath $(SAN_REF_DRIVER))' $(CASES)
	$(SAN_ENV) MODLIFE_RUN=$(abspath $(SAN_RUNNER)) prove -j$(JOBS) $(SAN_SELFTESTS)
	$(SAN_ENV) MODLIFE_REF=$(abspath $(SAN_REF_DRIVER)) prove runner/tests/hostile-modules.t

# The same runs, written as the sanitizers section of RESULTS.md.
.PHONY: sanitize-results
sanitize-results: $(SAN_REF_DRIVER) $(SAN_RUNNER)
	$(Q)$(NEED) check
	$(Q)mkdir -p results; $(SAN_ENV) tools/sanitize-results --jobs $(JOBS) \
		--timeout $(SAN_TIMEOUT) --runner $(abspath $(SAN_RUNNER)) \
		--driver $(abspath $(SAN_REF_DRIVER)) --cases '$(CASES)' \
		--selftests '$(SAN_SELFTESTS)' > results/sanitize.md.new; s=$$?; \
	[ $$s -le 1 ] || exit $$s; \
	mv results/sanitize.md.new results/sanitize.md && tools/assemble-results && \
	echo "RESULTS.md regenerated (sanitizers section rerun)" && exit $$s
