# make oom: allocation-failure injection (tools/oom). Every case against the
# sanitized reference (mk/sanitize.mk), with allocation request N failing
# (MODLIFE_FAIL_ALLOC, ref/README.md) for every OOM_STEP-th N of the case's
# allocation points, once (N) and for good (N+). Under each failure the
# driver must not crash, not leak, and must say "not enough memory" (or
# "out of memory" and exit 3 before its greeting).
#
# A full sweep (OOM_STEP=1) is about 2 x 106 000 runs, hours on two cores;
# the default step keeps make oom to a few minutes: every 500th point, the
# offset rotating with the case, and every 20th of the library's own C
# allocations (tools/oom).
#
#   make oom                      every OOM_STEP-th point (default 500)
#   make oom OOM_STEP=1           the full sweep
#   make oom OOM_MODE=once        once | persistent | both (default both)
#   make oom-results              the same, written to results/oom.md

OOM_STEP ?= 500
OOM_MODE ?= both
OOM_JOBS ?= $(JOBS)
# The runner is not under test here: the plain build, which starts faster.
# (sanitize-build, not $(SAN_REF_DRIVER), as a prerequisite: mk/sanitize.mk
# is included after this file, and a prerequisite list is expanded at once.)
OOM_CMD = tools/oom --step $(OOM_STEP) --mode $(OOM_MODE) --jobs $(OOM_JOBS) \
	--timeout $(SAN_TIMEOUT) --runner $(abspath $(RUNNER)) \
	--driver $(abspath $(SAN_REF_DRIVER))

.PHONY: oom oom-results
oom: $(RUNNER) sanitize-build
	$(Q)$(NEED) check
	$(SAN_ENV) $(OOM_CMD) $(CASES)

oom-results: $(RUNNER) sanitize-build
	$(Q)$(NEED) check
	$(Q)mkdir -p results; $(SAN_ENV) $(OOM_CMD) --markdown $(CASES) \
		> results/oom.md.new; s=$$?; [ $$s -le 1 ] || exit $$s; \
	mv results/oom.md.new results/oom.md && tools/assemble-results && \
	echo "RESULTS.md regenerated (allocation-failure injection section rerun)" && \
	exit $$s
