/*
 * main.c - modlife-run's command line.
 *
 *   modlife-run [--timeout SECONDS] [--impl-name NAME] [--expect FILE]
 *               [--strict] [--no-sandbox] [--sandbox-bind DIR]
 *               [--rules DIR] [--rerun PREFIX]
 *               --driver PROGRAM [ARG ...] CASEFILE
 *   modlife-run [--timeout SECONDS] --record [--force]
 *               --driver PROGRAM [ARG ...] CASEFILE
 *   modlife-run --parse CASEFILE...
 *   modlife-run --list CASEFILE...
 *
 * prove --exec appends the case file as the last argument, which is why
 * the driver command runs from --driver to the one but last argument.
 * A run always exits 0 once it printed TAP (prove judges the case);
 * usage errors exit 2. With MODLIFE_SUMMARY=FILE in the environment, each
 * run also appends its verdict to FILE for tools/summary (the per-area
 * table at the end of make check).
 */
#include "mlr.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT 10.0

static const char usage[] =
	"usage: modlife-run [--timeout SECONDS] [--impl-name NAME] "
	"[--expect FILE] [--strict]\n"
	"                   [--no-sandbox] [--sandbox-bind DIR]\n"
	"                   [--rules DIR] [--rerun PREFIX]\n"
	"                   --driver PROGRAM [ARG ...] CASEFILE\n"
	"       modlife-run [--timeout SECONDS] --record [--force]\n"
	"                   --driver PROGRAM [ARG ...] CASEFILE\n"
	"       modlife-run --parse CASEFILE...\n"
	"       modlife-run --list CASEFILE...\n";

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "modlife-run: %s%s\n%s", what, arg, usage);
	return 2;
}

static void print_error(FILE *f, const char *path, const struct mlr_error *e)
{
	if (e->line)
		fprintf(f, "%s:%u: %s\n", path, e->line, e->message);
	else
		fprintf(f, "%s: %s\n", path, e->message);
}

/* A commands-only draft: no step has expected lines yet. */
static bool is_draft(const struct mlr_case *c)
{
	size_t i;

	for (i = 0; i < c->nsteps; i++)
		if (mlr_step_has_lines(&c->steps[i]))
			return false;
	return c->nsteps > 0;
}

/*
 * --parse: "ok" when every file parses, else one FILE:LINE per bad file.
 * A commands-only draft (every step a command with no expected lines,
 * what make record fills in) parses too, with a note on stderr; a case
 * in which only some steps lack their lines is malformed, as it is for
 * a run.
 */
static int cmd_parse(int n, char **files)
{
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		struct mlr_case c;
		struct mlr_error e, draft;

		if (mlr_case_load(&c, files[i], 0, &e)) {
			mlr_case_release(&c);
			if (!mlr_case_load(&c, files[i], MLR_CASE_PROTOTYPE,
					   &draft) && is_draft(&c)) {
				fprintf(stderr, "%s: a draft: %zu step%s with "
					"no expected lines yet (make record)\n",
					files[i], c.nsteps,
					c.nsteps == 1 ? "" : "s");
			} else {
				print_error(stdout, files[i], &e);
				bad = 1;
			}
		}
		mlr_case_release(&c);
	}
	if (!bad)
		puts("ok");
	return bad;
}

/*
 * --list: id, area, rules, tags, needs per case, tab-separated, for
 * tools (tools/caselist). New columns go at the end.
 */
static int cmd_list(int n, char **files)
{
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		struct mlr_case c;
		struct mlr_error e;

		if (mlr_case_load(&c, files[i], 0, &e)) {
			print_error(stderr, files[i], &e);
			bad = 1;
		} else {
			printf("%s\t%s\t%s\t%s\t%s\n", c.id, c.area, c.rules,
			       c.tags, c.needs);
		}
		mlr_case_release(&c);
	}
	return bad;
}

/* What the command line asked for a run. */
struct options {
	double timeout;
	const char *impl_name;
	const char *expect;
	const char *rules; /* --rules DIR: a spec's rules folder */
	const char *rerun; /* --rerun PREFIX: how to rerun one case */
	bool strict;
	bool record, force; /* --record, --force */
};

/*
 * --strict: a known failure that passes is a failure of the
 * expectations file, so that the list only ever shrinks (prove itself
 * lets a passing TODO through).
 */
static void strict_verdict(struct mlr_outcome *o, const char *expect,
			   const struct mlr_case *c,
			   const struct mlr_expectation *x)
{
	o->pass = false;
	o->known_failure_passed = true;
	mlr_buf_addf(&o->message,
		     "known failure now passes: remove it from %s (line %u: "
		     "%s todo %s)", expect, x->lineno, c->id, x->reason);
}

/*
 * Colour the failure report on stderr? Only for a person at a terminal
 * who did not opt out (no-color.org: NO_COLOR set and not empty), and
 * not for a terminal that cannot show it.
 */
static bool stderr_colour(void)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(2) && !(no && *no) && !(term && !strcmp(term, "dumb"));
}

/* A signal ended the run: everything is cleaned up, die of it. */
static void die_of_signal(void)
{
	int sig = mlr_interrupted();

	fflush(stdout);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * --record: the case file with the driver's output as the expected lines
 * of the steps that have none (record.c), on stdout; 0, or 1 with the
 * reason on stderr and nothing on stdout.
 */
static int cmd_record(const struct options *opt, int n, char **driver,
		      const char *path)
{
	struct mlr_case c;
	struct mlr_error e;
	struct mlr_buf why;
	char **argv;
	int i, rc;

	if (mlr_case_load(&c, path, MLR_CASE_PROTOTYPE, &e)) {
		print_error(stderr, path, &e);
		mlr_case_release(&c);
		return 1;
	}
	argv = mlr_xcalloc((size_t)n + 1, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = driver[i];
	mlr_buf_init(&why);
	rc = mlr_record(&c, argv, opt->timeout, opt->force, stdout, &why);
	free(argv);
	mlr_case_release(&c);
	if (mlr_interrupted()) {
		mlr_buf_release(&why);
		die_of_signal();
		return 1;
	}
	if (rc)
		fprintf(stderr, "%s\n", mlr_buf_str(&why));
	mlr_buf_release(&why);
	return rc ? 1 : 0;
}

/*
 * A case that cannot be run (malformed, an undefined rule, a bad
 * expectations file): not ok in the TAP, and the reason on stderr, which
 * prove shows without -v.
 */
static void cannot_run(const char *path, const struct mlr_error *e)
{
	mlr_tap_parse_error(stdout, path, e);
	fflush(stdout);
	/* One fprintf: stderr is unbuffered, and other cases run beside. */
	if (e->line)
		fprintf(stderr, "# %s:%u: %s\n", path, e->line, e->message);
	else
		fprintf(stderr, "# %s: %s\n", path, e->message);
}

/*
 * MODLIFE_SUMMARY=FILE: appends "VERDICT<TAB>AREA<TAB>ID<TAB>PATH" (pass,
 * fail, todo, todo-passed, skip) with one write to a file opened for
 * appending, so that runs in parallel (prove -j) never mix their lines.
 */
static void summary_record(const char *verdict, const struct mlr_case *c,
			   const char *path)
{
	const char *file = getenv("MODLIFE_SUMMARY");
	struct mlr_buf b;
	int fd;

	if (!file || !*file)
		return;
	mlr_buf_init(&b);
	mlr_buf_addf(&b, "%s\t%s\t%s\t%s\n", verdict,
		     c->area && *c->area ? c->area : "-",
		     c->id ? c->id : "-", path);
	fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0666);
	if (fd >= 0) {
		if (write(fd, b.data, b.len) != (ssize_t)b.len)
			fprintf(stderr, "modlife-run: cannot append to %s\n",
				file);
		close(fd);
	}
	mlr_buf_release(&b);
}

/*
 * Writes the failure report to stderr with one write(2) where the system
 * allows (a short write goes on where it stopped): with prove -j, the
 * report of one case must not be cut by another's lines.
 */
static void report_to_stderr(const struct mlr_case *c,
			     const struct mlr_outcome *o,
			     const char *impl_name)
{
	char *text = NULL;
	size_t len = 0, off = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m) {
		fprintf(stderr, "# %s failed against %s:\n", c->path, impl_name);
		mlr_tap_diagnostics(stderr, c, o, impl_name, stderr_colour());
		return;
	}
	fprintf(m, "# %s failed against %s: %s\n", c->path, impl_name,
		c->title);
	mlr_tap_diagnostics(m, c, o, impl_name, stderr_colour());
	if (fclose(m) == 0) {
		while (off < len) {
			ssize_t w = write(2, text + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	free(text);
}

static int cmd_run(const struct options *opt, int n, char **driver,
		   const char *path)
{
	struct mlr_case c;
	struct mlr_error e;
	struct mlr_outcome o;
	struct mlr_expectation x;
	const char *impl_name = opt->impl_name, *todo;
	char **argv;
	int i, rc;

	memset(&x, 0, sizeof x);
	if (mlr_case_load(&c, path, 0, &e)) {
		cannot_run(path, &e);
		summary_record("fail", &c, path);
		mlr_case_release(&c);
		return 0;
	}
	if (opt->rules) {
		struct mlr_rules rules;
		struct mlr_buf why;
		int bad;

		mlr_buf_init(&why);
		bad = mlr_rules_load(&rules, opt->rules, &why);
		if (bad) {
			e.line = 0;
			snprintf(e.message, sizeof e.message, "%s", why.data);
		} else {
			bad = mlr_rules_check(&rules, &c, opt->rules, &e);
		}
		mlr_rules_release(&rules);
		mlr_buf_release(&why);
		if (bad) {
			cannot_run(path, &e);
			summary_record("fail", &c, path);
			mlr_case_release(&c);
			return 0;
		}
	}
	if (opt->expect && mlr_expect_lookup(opt->expect, c.id, &x, &e)) {
		cannot_run(opt->expect, &e);
		summary_record("fail", &c, path);
		mlr_case_release(&c);
		return 0;
	}
	mlr_outcome_init(&o);
	if (x.kind == MLR_EXPECT_SKIP) {
		/* Listed as skip: not run, not even started. */
		o.pass = o.skipped = true;
		mlr_buf_adds(&o.skip_reason, x.reason);
		mlr_tap_report(stdout, &c, &o, impl_name ? impl_name
							 : driver[0], NULL);
		summary_record("skip", &c, path);
		mlr_outcome_release(&o);
		mlr_expect_release(&x);
		mlr_case_release(&c);
		return 0;
	}
	todo = x.kind == MLR_EXPECT_TODO ? x.reason : NULL;
	/* The rerun line must rerun the case as judged here. */
	if (opt->expect)
		mlr_buf_addf(&o.rerun_extra, " EXPECT=%s", opt->expect);
	if (opt->strict)
		mlr_buf_adds(&o.rerun_extra, " STRICT=1");
	/* MODLIFE_RERUN: for callers whose command line is split on blanks
	 * (prove's source handler), as the installed modlife tool is. */
	o.rerun_prefix = opt->rerun ? opt->rerun : getenv("MODLIFE_RERUN");
	if (o.rerun_prefix && !*o.rerun_prefix)
		o.rerun_prefix = NULL;
	argv = mlr_xcalloc((size_t)n + 1, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = driver[i];
	if (!impl_name)
		impl_name = driver[0];

	rc = mlr_run_case(&c, argv, opt->timeout, 0, &o);
	free(argv);
	/* A signal that came outside a wait still ends the run. */
	if (rc == MLR_IO_INTERRUPT || mlr_interrupted()) {
		/* Cleaned up already: die of the signal, as prove expects. */
		mlr_outcome_release(&o);
		mlr_case_release(&c);
		mlr_expect_release(&x);
		die_of_signal();
		return 1;
	}
	if (opt->strict && todo && o.pass && !o.skipped) {
		strict_verdict(&o, opt->expect, &c, &x);
		todo = NULL;
	}
	mlr_tap_report(stdout, &c, &o, impl_name, todo);
	summary_record(o.skipped && o.pass ? "skip"
		       : todo ? (o.pass ? "todo-passed" : "todo")
		       : o.pass ? "pass" : "fail", &c, path);
	/*
	 * prove shows a test's stderr but not its YAML unless -v: repeat the
	 * diagnostics there so that `make check` says why a case failed.
	 * Known failures stay quiet.
	 */
	if (!o.pass && !todo) {
		fflush(stdout);
		report_to_stderr(&c, &o, impl_name);
	}
	mlr_expect_release(&x);
	mlr_outcome_release(&o);
	mlr_case_release(&c);
	return 0;
}

int main(int argc, char **argv)
{
	struct options opt = { DEFAULT_TIMEOUT, NULL, NULL, NULL, NULL, false,
			       false, false };
	int i = 1, rc;

	mlr_spawn_init();
	atexit(mlr_run_cleanup);

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2 && !strcmp(argv[1], "--parse")) {
		if (argc < 3)
			return usage_error("--parse needs a case file", "");
		return cmd_parse(argc - 2, argv + 2);
	}
	if (argc >= 2 && !strcmp(argv[1], "--list")) {
		if (argc < 3)
			return usage_error("--list needs a case file", "");
		return cmd_list(argc - 2, argv + 2);
	}

	while (i < argc && strcmp(argv[i], "--driver")) {
		if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			char *end;

			opt.timeout = strtod(argv[i + 1], &end);
			if (end == argv[i + 1] || *end || !(opt.timeout > 0) ||
			    !isfinite(opt.timeout) || opt.timeout > 1e6)
				return usage_error("bad --timeout: ",
						   argv[i + 1]);
			i += 2;
		} else if (!strcmp(argv[i], "--impl-name") && i + 1 < argc) {
			opt.impl_name = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--expect") && i + 1 < argc) {
			opt.expect = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--no-sandbox")) {
			mlr_sandbox_disable();
			i++;
		} else if (!strcmp(argv[i], "--sandbox-bind") && i + 1 < argc) {
			mlr_sandbox_bind(argv[i + 1]);
			i += 2;
		} else if (!strcmp(argv[i], "--rerun") && i + 1 < argc) {
			opt.rerun = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--rules") && i + 1 < argc) {
			opt.rules = argv[i + 1];
			i += 2;
		} else if (!strcmp(argv[i], "--strict")) {
			opt.strict = true;
			i++;
		} else if (!strcmp(argv[i], "--record")) {
			opt.record = true;
			i++;
		} else if (!strcmp(argv[i], "--force")) {
			opt.force = true;
			i++;
		} else {
			return usage_error("unknown or incomplete option: ",
					   argv[i]);
		}
	}
	if (i >= argc)
		return usage_error("--driver is required", "");
	i++;
	if (argc - i < 2)
		return usage_error("--driver needs a PROGRAM and then a "
				   "CASEFILE", "");
	if (opt.force && !opt.record)
		return usage_error("--force goes with --record", "");
	mlr_janitor_start(); /* sandbox.c: before anything is loaded */
	mlr_sandbox_set_case(argv[argc - 1]);
	mlr_sandbox_set_expect(opt.expect);
	if (opt.record)
		rc = cmd_record(&opt, argc - 1 - i, argv + i, argv[argc - 1]);
	else
		rc = cmd_run(&opt, argc - 1 - i, argv + i, argv[argc - 1]);
	if (fflush(stdout) || ferror(stdout))
		return 1;
	return rc;
}
