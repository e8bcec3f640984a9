# Mutation score (mutants/README.md, tools/mutants).
#
#   make mutants            build every mutant of the catalogue and run the
#                           suite against each; last line "mutants: K killed
#                           of N", exit non-zero if any survived
#   make mutants MUTANT=N   only mutant N (a comma-separated list works)
#   make mutants-check      catalogue and ML_MUTANT_IS(N) sites agree
#   make mutants-results    make mutants, then results/mutants.md and
#                           RESULTS.md
#
# Mutant N is build/mutants/N/modlife-ref: the files of ref/ that hold an
# ML_MUTANT_IS(N) site compiled with -DML_MUTANT=N into build/mutants/N/,
# linked with the normal objects of the other files (the macro is 0 in
# them, so they would compile to the same code). MUTANT_JOBS (default 2)
# mutants are built and run at a time, each running its cases one by one.
# A mutant whose objects equal the reference's (strip --strip-debug) is
# reported NO-OP and fails the run like a survivor.

MUTANT ?=
comma := ,
MUTANT_JOBS ?= 2
MUTANT_DIR := $(B)/mutants

.PHONY: mutants mutants-check mutants-results mutants-build

# The mutant rules are only read when a mutant target is asked for.
ifneq ($(filter mutants% $(MUTANT_DIR)/%,$(MAKECMDGOALS)),)
MUTANT_IDS := $(shell tools/mutants --ids)
# file:N for every site, e.g. ref/lifecycle.c:7.
MUTANT_SITES := $(shell grep -o 'ML_MUTANT_IS([0-9]*)' $(REF_SRC) /dev/null | \
	sed 's/ML_MUTANT_IS(\([0-9]*\))/\1/' | sort -u)
mutant_files = $(patsubst %:$(1),%,$(filter %:$(1),$(MUTANT_SITES)))
mutant_objs = $(foreach f,$(REF_SRC),$(if $(filter $(f),$(call mutant_files,$(1))),$(MUTANT_DIR)/$(1)/$(f:.c=.o),$(B)/$(f:.c=.o)))

define MUTANT_RULES
$(MUTANT_DIR)/$(1)/ref/%.o: ref/%.c $(B)/.lua-flags
	@mkdir -p $$(dir $$@)
	$$(if $$(Q),@echo "  CC      $$< (mutant $(1))")
	$$(Q)$$(CC) $$(ALL_CFLAGS) -DML_MUTANT=$(1) $$$$(cat $(B)/.lua-cflags) -c -o $$@ $$<

$(MUTANT_DIR)/$(1)/modlife-ref: $(call mutant_objs,$(1))
	$$(if $$(Q),@echo "  LINK    $$@")
	$$(Q)$$(CC) $$(CFLAGS) -o $$@.tmp $$^ $$$$(cat $(B)/.lua-libs) -lm && mv -f $$@.tmp $$@
endef
$(foreach n,$(MUTANT_IDS),$(eval $(call MUTANT_RULES,$(n))))
-include $(wildcard $(MUTANT_DIR)/*/ref/*.d)

MUTANT_SELECTED := $(if $(MUTANT),$(subst $(comma), ,$(MUTANT)),$(MUTANT_IDS))
endif

mutants-check:
	$(Q)tools/mutants --check $(if $(MUTANT),--mutant '$(MUTANT)')

mutants-build: mutants-check
	$(Q)$(MAKE) --no-print-directory -j$(MUTANT_JOBS) \
		$(foreach n,$(MUTANT_SELECTED),$(MUTANT_DIR)/$(n)/modlife-ref)

mutants: $(RUNNER) mutants-build
	$(Q)$(NEED) check
	$(Q)tools/mutants --jobs $(MUTANT_JOBS) --timeout $(TIMEOUT) \
		$(if $(MUTANT),--mutant '$(MUTANT)')

mutants-results: $(RUNNER) mutants-build
	$(Q)$(NEED) check
	$(Q)mkdir -p results; st=0; \
	tools/mutants --jobs $(MUTANT_JOBS) --timeout $(TIMEOUT) \
		$(if $(MUTANT),--mutant '$(MUTANT)') --markdown results/mutants.md || st=$$?; \
	tools/assemble-results && echo "RESULTS.md regenerated (mutation score section rerun)"; \
	exit $$st
