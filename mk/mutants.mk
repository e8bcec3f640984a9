# Mutation testing: how many of ref/'s mechanically made mutants the
# suite tells apart from the reference (mutants/README.md, tools/mutants,
# tools/mutagen).
#
#   make mutants                     every mutant of the files in scope;
#                                    last line "mutants: K killed, S
#                                    survived, E equivalent of N generated
#                                    (score P%)", fails if one survived
#   make mutants MUTANTS_SAMPLE=N    a reproducible sample of N mutants
#                                    (MUTANTS_SEED, default 1)
#   make mutants MUTANTS_ONLY=ID,... only these mutants
#   make mutants MUTANTS_FILES='ref/x.c ...'   other files than the scope
#   make mutants-list                the mutants: id, file:line, function,
#                                    operator, change
#   make mutants-results             make mutants into results/mutants.md,
#                                    then RESULTS.md
#
# MUTANTS_JOBS mutants at a time (2), MUTANTS_TIMEOUT seconds per case (5).
# Work folder and result cache: build/mutants/ (a rerun redoes only the
# mutants whose diff, ref/ sources or cases changed). Not part of make
# test (tens of minutes); runner/tests/mutants.t tests the tool itself.

MUTANTS_SAMPLE ?=
MUTANTS_SEED ?= 1
MUTANTS_ONLY ?=
MUTANTS_FILES ?=
MUTANTS_JOBS ?= 2
MUTANTS_TIMEOUT ?= 5

MUTANTS_ARGS = --jobs $(MUTANTS_JOBS) --timeout $(MUTANTS_TIMEOUT) \
	$(if $(MUTANTS_SAMPLE),--sample $(MUTANTS_SAMPLE) --seed $(MUTANTS_SEED)) \
	$(if $(MUTANTS_ONLY),--only '$(MUTANTS_ONLY)') \
	$(if $(MUTANTS_FILES),--files '$(MUTANTS_FILES)')

.PHONY: mutants mutants-list mutants-results

mutants: $(REF_DRIVER) $(RUNNER)
	$(Q)tools/mutants $(MUTANTS_ARGS)

mutants-list: $(REF_DRIVER) $(RUNNER)
	$(Q)tools/mutants --list $(MUTANTS_ARGS)

mutants-results: $(REF_DRIVER) $(RUNNER)
	$(Q)mkdir -p results; st=0; \
	tools/mutants $(MUTANTS_ARGS) --markdown results/mutants.md || st=$$?; \
	tools/assemble-results && echo "RESULTS.md regenerated (mutation score section rerun)"; \
	exit $$st
