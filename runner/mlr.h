/*
 * mlr.h - internal interfaces of modlife-run, the conformance runner.
 *
 * The runner judges any implementation, the reference included, so it
 * shares no code with ref/: everything it needs is declared here.
 *
 * Files and what they own:
 *   buf.c    growable byte buffers and line vectors, allocation
 *   case.c   the case file parser (spec/CASES.md)
 *   tmpdir.c the per-case temporary directory: create, fill, remove
 *   spawn.c  the driver process: pipes, deadline, kill, reap, signals
 *   sandbox.c the driver kept in: bubblewrap, inherited fds, orphans
 *   match.c  expected-vs-actual matching of one step (globs, groups)
 *   diff.c   unified diff of the expected and actual transcripts
 *   run.c    one case from start to outcome (spec/PROTOCOL.md)
 *   expect.c expectations files: known failures (todo) and skips
 *   record.c --record: the case with the driver's output as expected lines
 *   rules.c  the rule ids a spec defines, for --rules
 *   tap.c    TAP output with the YAML diagnostics block
 *   main.c   command line
 */
#ifndef MLR_H
#define MLR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define MLR_PROTOCOL_VERSION "1"

/* PROTOCOL.md §7 limits. */
#define MLR_MAX_LINE (64u * 1024u)
#define MLR_MAX_LINES_PER_COMMAND 10000u

/* CASES.md: the largest case file the runner reads (issue 11). */
#define MLR_MAX_CASE_BYTES (1024u * 1024u)

/* How much driver stderr is kept for the report. */
#define MLR_STDERR_KEEP (64u * 1024u)

/* ---- buf.c ---- */

struct mlr_buf {
	char *data; /* always NUL-terminated once anything was added */
	size_t len;
	size_t cap;
};

struct mlr_lines {
	char **v; /* each entry owned by the vector */
	size_t n;
	size_t cap;
};

void *mlr_xmalloc(size_t size);
void *mlr_xrealloc(void *ptr, size_t size);
void *mlr_xcalloc(size_t n, size_t size);
char *mlr_xstrdup(const char *s);
char *mlr_xstrndup(const char *s, size_t n);
void mlr_grow(void **ptr, size_t *cap, size_t need, size_t elem);

void mlr_buf_init(struct mlr_buf *b);
void mlr_buf_release(struct mlr_buf *b);
void mlr_buf_add(struct mlr_buf *b, const void *data, size_t len);
void mlr_buf_adds(struct mlr_buf *b, const char *s);
void mlr_buf_addc(struct mlr_buf *b, char c);
void mlr_buf_addf(struct mlr_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void mlr_buf_vaddf(struct mlr_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
void mlr_buf_consume(struct mlr_buf *b, size_t n);
const char *mlr_buf_str(const struct mlr_buf *b);
char *mlr_buf_detach(struct mlr_buf *b);

void mlr_lines_init(struct mlr_lines *l);
void mlr_lines_release(struct mlr_lines *l);
void mlr_lines_push(struct mlr_lines *l, char *line);
void mlr_lines_pushdup(struct mlr_lines *l, const char *line);

/* ---- case.c ---- */

/*
 * Lua writes a chunk name "@MODDIR/mod_NAME.lua" into error messages only
 * while it is at most 59 bytes long, and shortens it otherwise, which no
 * driver could normalise (PROTOCOL.md §1): MODDIR is kept to 24 bytes, and
 * module names to 59 - 24 - strlen("/mod_.lua").
 */
#define MLR_MODDIR_MAX 24
#define MLR_MODULE_NAME_MAX 26

/* Where and why a case file is malformed; filled by the parser. */
struct mlr_error {
	unsigned line; /* 1-based line in the case file, 0 when none applies */
	char message[512];
};

struct mlr_line {
	char *text;
	unsigned lineno; /* line in the case file */
};

enum mlr_item_kind {
	MLR_ITEM_LINE,
	MLR_ITEM_ANY_ORDER,
	MLR_ITEM_ONE_OF,
};

struct mlr_member {
	struct mlr_line *lines;
	size_t nlines;
};

struct mlr_item {
	enum mlr_item_kind kind;
	unsigned lineno;
	struct mlr_line line;       /* MLR_ITEM_LINE */
	struct mlr_member *members; /* groups */
	size_t nmembers;
};

/*
 * A transcript directive (CASES.md "! write", "! delete"), carried out by
 * the runner before the step it precedes: the driver never sees it.
 */
enum mlr_directive_kind {
	MLR_DIRECTIVE_WRITE,
	MLR_DIRECTIVE_DELETE,
};

struct mlr_directive {
	enum mlr_directive_kind kind;
	size_t module;     /* index in mlr_case.modules: the version to write */
	struct mlr_line line; /* the line as written, "! write mod_x.lua [v2]" */
};

struct mlr_step {
	struct mlr_directive *directives; /* carried out before the command */
	size_t ndirectives;
	struct mlr_line command; /* without the leading "> " */
	struct mlr_item *items;
	size_t nitems;
	struct mlr_line *raw; /* expected lines as written, group lines too */
	size_t nraw;
};

struct mlr_module {
	char *name; /* NAME of mod_NAME.lua */
	char *label; /* LABEL of "=== mod_NAME.lua [LABEL]", NULL: the first
			version, written at the start */
	char *text; /* file contents */
	size_t len;
	unsigned lineno;
};

struct mlr_case {
	char *path;
	char *id;
	char *title;
	char *area;
	char *rules; /* as written, single-space separated after parsing */
	unsigned rules_line; /* the header line of 'rules' */
	char *tags;  /* idem, "" when absent */
	char *needs; /* capability words, idem, "" when absent */
	char *versions; /* releases it applies to, idem, "" (all) when absent */
	const char *release; /* the release whose lines it holds (mlr_releases) */
	struct mlr_module *modules;
	size_t nmodules;
	struct mlr_step *steps;
	size_t nsteps;
};

/*
 * mlr_case_load flags. A prototype is a case being recorded (--record):
 * its steps may have no expected lines yet.
 */
#define MLR_CASE_PROTOTYPE 1u

int mlr_case_load(struct mlr_case *c, const char *path, unsigned flags,
		  struct mlr_error *err);
int mlr_case_parse(struct mlr_case *c, const char *path, const char *data,
		   size_t size, unsigned flags, struct mlr_error *err);
void mlr_case_release(struct mlr_case *c);
bool mlr_is_result_line(const char *line);
bool mlr_item_has_result_line(const struct mlr_item *it);
bool mlr_is_capability(const char *word, size_t n);
extern const char *const mlr_releases[];
extern const size_t mlr_nreleases;
const char *mlr_release(const char *word, size_t n);
bool mlr_case_applies(const struct mlr_case *c, const char *release);
int mlr_case_parse_release(struct mlr_case *c, const char *path,
			   const char *data, size_t size, unsigned flags,
			   const char *release, struct mlr_error *err);
int mlr_case_load_release(struct mlr_case *c, const char *path,
			  unsigned flags, const char *release,
			  struct mlr_error *err);
bool mlr_step_has_lines(const struct mlr_step *s);

/* ---- match.c ---- */

/* Where a step's match failed: the furthest actual line any path reached. */
struct mlr_divergence {
	bool found;
	size_t actual_index;           /* index in the step's actual lines */
	const struct mlr_line *expected; /* NULL: the expected lines had ended */
	bool gave_up;                  /* too many alternatives to try */
};

bool mlr_glob_match(const char *pattern, const char *text);
bool mlr_match_step(const struct mlr_step *step, char *const *actual,
		    size_t n, struct mlr_divergence *div);

/* ---- diff.c ---- */

typedef bool (*mlr_line_eq)(const char *expected, const char *actual);

size_t mlr_diff_unified(struct mlr_lines *out, char *const *a, size_t na,
			char *const *b, size_t nb, mlr_line_eq eq,
			size_t context);

/* ---- tmpdir.c ---- */

char *mlr_tmpdir_create(struct mlr_buf *why);
int mlr_tmpdir_write(const char *dir, const char *name, const char *data,
		     size_t len, struct mlr_buf *why);
int mlr_tmpdir_replace(const char *dir, const char *name, const char *data,
		       size_t len, struct mlr_buf *why);
int mlr_tmpdir_delete(const char *dir, const char *name, struct mlr_buf *why);
int mlr_tmpdir_remove(const char *dir);

/* ---- spawn.c ---- */

enum mlr_io {
	MLR_IO_OK = 0,
	MLR_IO_EOF = -1,       /* output closed, or driver gone and drained */
	MLR_IO_TIMEOUT = -2,   /* the case deadline passed */
	MLR_IO_TOO_LONG = -3,  /* a line over MLR_MAX_LINE */
	MLR_IO_NUL = -4,       /* a 0x00 byte */
	MLR_IO_PARTIAL = -5,   /* output ended inside a line */
	MLR_IO_INTERRUPT = -6, /* the runner got SIGINT/SIGTERM/SIGHUP */
	MLR_IO_GONE = -7,      /* stdin closed by the driver (EPIPE) */
};

struct mlr_driver {
	pid_t pid; /* 0 once reaped */
	int in_fd, out_fd, err_fd;
	bool exited; /* has exited; stays a zombie until mlr_driver_stop */
	int exit_code; /* CLD_EXITED... from waitid */
	int exit_status;
	double deadline; /* monotonic seconds */
	struct mlr_buf pending_in;
	struct mlr_buf out; /* stdout bytes not yet returned as lines */
	struct mlr_buf err; /* first MLR_STDERR_KEEP bytes of stderr */
	size_t err_dropped;
	bool out_eof, err_eof;
	bool sandboxed; /* started under bwrap (sandbox.c) */
};

void mlr_spawn_init(void);
int mlr_interrupted(void);
double mlr_now(void);

int mlr_driver_start(struct mlr_driver *d, char *const *argv, double timeout,
		     struct mlr_buf *why);
int mlr_driver_write(struct mlr_driver *d, const char *text);
int mlr_driver_read_line(struct mlr_driver *d, char **line);
void mlr_driver_close_input(struct mlr_driver *d);
int mlr_driver_wait_exit(struct mlr_driver *d);
void mlr_driver_stop(struct mlr_driver *d);
void mlr_driver_describe_exit(const struct mlr_driver *d,
			      struct mlr_buf *out);
bool mlr_driver_exited_ok(const struct mlr_driver *d);
void mlr_kill_active(void);

/* ---- run.c ---- */

struct mlr_actual_step {
	struct mlr_lines lines;
	bool matched; /* the lines matched the step's expected lines */
	/*
	 * The lines ended with the result line and did not match: where,
	 * for the report. Every such step is shown, not only the first.
	 */
	bool diverged;
	struct mlr_divergence div;
};

struct mlr_outcome {
	bool pass;
	/*
	 * Skipped: the driver lacks a capability the case needs (PROTOCOL.md
	 * §1), said in skip_reason; pass is then true too, once the driver
	 * exited cleanly after its greeting.
	 */
	bool skipped;
	struct mlr_buf skip_reason;
	/* --strict: every step passed, but the case is listed as todo */
	bool known_failure_passed;
	/* appended to the rerun command: " EXPECT=FILE STRICT=1" (main.c) */
	struct mlr_buf rerun_extra;
	/*
	 * --rerun PREFIX: the rerun command is "PREFIX CASEFILE" instead of
	 * make check's (the installed modlife tool); not owned.
	 */
	const char *rerun_prefix;
	struct mlr_buf message;
	size_t step; /* 0: before step 1; nsteps+1: after stdin was closed;
			the first diverging step when one diverged */
	struct mlr_divergence div; /* in step o->step */
	size_t ndiverged; /* steps whose output did not match */
	struct mlr_actual_step *actual; /* one per step that was started */
	size_t nactual;
	struct mlr_lines after; /* output after stdin was closed */
	struct mlr_buf stderr_text;
	size_t stderr_dropped;
};

void mlr_outcome_init(struct mlr_outcome *o);
void mlr_outcome_release(struct mlr_outcome *o);
/*
 * mlr_run_case flags. Recording runs every step whatever it prints (a
 * mismatch is noted per step, not a failure) and passes when every step
 * got its result line and the driver then exited cleanly.
 */
#define MLR_RUN_RECORD 1u

int mlr_run_case(struct mlr_case *c, char *const *driver_argv,
		 double timeout, unsigned flags, struct mlr_outcome *o);
void mlr_run_cleanup(void);

/* ---- sandbox.c ---- */

bool mlr_sandbox_on(void);
void mlr_sandbox_disable(void);
void mlr_sandbox_set_case(const char *path);
void mlr_sandbox_set_expect(const char *path);
void mlr_sandbox_bind(const char *path);
int mlr_sandbox_prepare(char *const *argv, char ***wrapped, int *args_fd,
			struct mlr_buf *why);
void mlr_sandbox_explain(struct mlr_buf *message, const struct mlr_buf *err);
void mlr_close_fds_from(int from, int keep);
void mlr_child_die_with_parent(pid_t parent);
void mlr_become_subreaper(void);
void mlr_reap_orphans(pid_t keep);
void mlr_janitor_start(void);
void mlr_janitor_watch(pid_t driver, const char *dir);
void mlr_janitor_done(void);
pid_t mlr_janitor(void);

/* ---- rules.c ---- */

/* The rule ids defined in a spec's rules folder (spec/rules/NN-*.md). */
struct mlr_rules {
	struct mlr_lines ids;
};

int mlr_rules_load(struct mlr_rules *r, const char *dir, struct mlr_buf *why);
bool mlr_rules_has(const struct mlr_rules *r, const char *id, size_t n);
void mlr_rules_release(struct mlr_rules *r);
int mlr_rules_check(const struct mlr_rules *r, const struct mlr_case *c,
		    const char *dir, struct mlr_error *err);

/* ---- record.c ---- */

int mlr_record(struct mlr_case *c, char *const *driver_argv,
	       double timeout, bool force, FILE *out, struct mlr_buf *why);

/* ---- expect.c ---- */

enum mlr_expect_kind {
	MLR_EXPECT_NONE, /* not listed: judged as usual */
	MLR_EXPECT_TODO, /* a known failure: run, reported as TAP TODO */
	MLR_EXPECT_SKIP, /* not run at all: TAP SKIP */
};

struct mlr_expectation {
	enum mlr_expect_kind kind;
	char *reason;    /* malloc'd, NULL for MLR_EXPECT_NONE */
	unsigned lineno; /* the entry's line in the file */
};

int mlr_expect_lookup(const char *path, const char *id,
		      struct mlr_expectation *e, struct mlr_error *err);
void mlr_expect_release(struct mlr_expectation *e);

/* ---- tap.c ---- */

void mlr_tap_parse_error(FILE *f, const char *path,
			 const struct mlr_error *err);
void mlr_tap_report(FILE *f, const struct mlr_case *c,
		    const struct mlr_outcome *o, const char *impl_name,
		    const char *todo);
void mlr_tap_diagnostics(FILE *f, const struct mlr_case *c,
			 const struct mlr_outcome *o, const char *impl_name,
			 bool colour);

#endif
