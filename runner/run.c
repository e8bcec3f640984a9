/*
 * run.c - one case against one driver, from temp dir to outcome.
 *
 * The outcome is a pass only when every step matched, the driver then
 * wrote nothing more and exited 0 within the deadline: every other path
 * leaves o->pass false, so a bug here can cost a pass but not invent one.
 * Whatever happens, the driver's process group is killed and the
 * temporary directory removed before returning.
 */
#include "mlr.h"

#include <stdlib.h>
#include <string.h>

static char *active_dir; /* for mlr_run_cleanup */

void mlr_outcome_init(struct mlr_outcome *o)
{
	memset(o, 0, sizeof *o);
	mlr_buf_init(&o->message);
	mlr_buf_init(&o->skip_reason);
	mlr_buf_init(&o->rerun_extra);
	mlr_lines_init(&o->after);
	mlr_buf_init(&o->stderr_text);
}

void mlr_outcome_release(struct mlr_outcome *o)
{
	size_t i;

	mlr_buf_release(&o->message);
	mlr_buf_release(&o->skip_reason);
	mlr_buf_release(&o->rerun_extra);
	for (i = 0; i < o->nactual; i++)
		mlr_lines_release(&o->actual[i].lines);
	free(o->actual);
	mlr_lines_release(&o->after);
	mlr_buf_release(&o->stderr_text);
	memset(o, 0, sizeof *o);
}

/* Kills the driver and removes the temp dir of a run cut short by exit(). */
void mlr_run_cleanup(void)
{
	mlr_kill_active();
	if (active_dir) {
		mlr_tmpdir_remove(active_dir);
		free(active_dir);
		active_dir = NULL;
	}
	mlr_janitor_done();
}

struct run {
	struct mlr_case *c;
	struct mlr_outcome *o;
	struct mlr_driver d;
	double timeout;
	bool started;
	size_t matched; /* steps whose whole block matched */
	struct mlr_buf announced; /* the greeting's capabilities, " a b" */
	unsigned flags; /* MLR_RUN_* */
};

static void reason(struct run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Adds a reason for failing; several are joined with "; ". */
static void reason(struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->o->message.len)
		mlr_buf_adds(&r->o->message, "; ");
	va_start(ap, fmt);
	mlr_buf_vaddf(&r->o->message, fmt, ap);
	va_end(ap);
}

/* "the driver exited with status 1" once it has ended, within the deadline. */
static int driver_end(struct run *r, struct mlr_buf *how)
{
	int rc = mlr_driver_wait_exit(&r->d);

	if (rc == MLR_IO_INTERRUPT)
		return rc;
	if (rc == MLR_IO_TIMEOUT)
		mlr_buf_addf(how, "%sdid not exit within %g s",
			     r->d.out_eof ? "closed its stdout but " : "",
			     r->timeout);
	else
		mlr_driver_describe_exit(&r->d, how);
	return 0;
}

/*
 * Explains a read that did not give a line. what names what was being
 * read: "the greeting" or "step 2 (> load a.example x)"; lineno is the
 * offending line's number in that output. Returns MLR_IO_INTERRUPT to
 * stop, else 0.
 */
static int read_failure(struct run *r, int rc, const char *what,
			size_t lineno)
{
	struct mlr_buf how, before;

	switch (rc) {
	case MLR_IO_INTERRUPT:
		return rc;
	case MLR_IO_TIMEOUT:
		if (!strcmp(what, "the greeting"))
			reason(r, "timeout: no greeting within %g s",
			       r->timeout);
		else
			reason(r, "timeout: no result line for %s within %g s",
			       what, r->timeout);
		return 0;
	case MLR_IO_TOO_LONG:
		reason(r, "protocol violation: line %zu of the output for %s "
		       "is longer than 64 KiB", lineno, what);
		return 0;
	case MLR_IO_NUL:
		reason(r, "protocol violation: NUL byte in line %zu of the "
		       "output for %s", lineno, what);
		return 0;
	default:
		break;
	}
	mlr_buf_init(&how);
	if (driver_end(r, &how) == MLR_IO_INTERRUPT) {
		mlr_buf_release(&how);
		return MLR_IO_INTERRUPT;
	}
	mlr_buf_init(&before);
	if (!strcmp(what, "the greeting"))
		mlr_buf_adds(&before, "before its greeting");
	else
		mlr_buf_addf(&before, "before the result line of %s", what);
	if (rc == MLR_IO_PARTIAL)
		reason(r, "the driver's output ended inside a line (no "
		       "newline) %s; the driver %s", before.data,
		       mlr_buf_str(&how));
	else
		reason(r, "the driver %s %s", mlr_buf_str(&how), before.data);
	mlr_buf_release(&before);
	mlr_buf_release(&how);
	return 0;
}

static int greet(struct run *r)
{
	char *line = NULL;
	int rc = mlr_driver_read_line(&r->d, &line);
	const char *rest;

	if (rc != MLR_IO_OK) {
		rc = read_failure(r, rc, "the greeting", 1);
		if (line)
			reason(r, "got \"%.200s\"", line);
		free(line);
		return rc;
	}
	/* PROTOCOL.md §1: "modlife VERSION [CAPABILITY ...]". */
	if (strncmp(line, "modlife ", 8)) {
		reason(r, "bad greeting: expected \"modlife %s ...\", got "
		       "\"%.200s\"", MLR_PROTOCOL_VERSION, line);
	} else {
		size_t vlen;

		rest = line + 8;
		vlen = strcspn(rest, " ");
		if (vlen != strlen(MLR_PROTOCOL_VERSION) ||
		    strncmp(rest, MLR_PROTOCOL_VERSION, vlen))
			reason(r, "protocol version mismatch: the driver speaks "
			       "version \"%.*s\", the runner speaks version %s",
			       (int)(vlen > 100 ? 100 : vlen), rest,
			       MLR_PROTOCOL_VERSION);
		/* The capability words, each kept as " WORD". */
		for (rest += vlen; *rest;) {
			size_t n;

			while (*rest == ' ')
				rest++;
			n = strcspn(rest, " ");
			if (n)
				mlr_buf_addf(&r->announced, " %.*s", (int)n,
					     rest);
			rest += n;
		}
	}
	free(line);
	return 0;
}

static struct mlr_lines *new_actual_step(struct mlr_outcome *o)
{
	void *v = o->actual;
	size_t cap = o->nactual;

	/* Steps are few; growing one at a time keeps the outcome simple. */
	mlr_grow(&v, &cap, o->nactual + 1, sizeof *o->actual);
	o->actual = v;
	memset(&o->actual[o->nactual], 0, sizeof o->actual[o->nactual]);
	mlr_lines_init(&o->actual[o->nactual].lines);
	return &o->actual[o->nactual++].lines;
}

/*
 * Carries out the directives before step s ("! write", "! delete",
 * CASES.md): the driver is idle between two steps, so the files change
 * under no read of its own. Returns 0, or -1 with the reason noted.
 */
static int carry_out(struct run *r, const struct mlr_step *s)
{
	struct mlr_buf name, why;
	size_t i;
	int rc = 0;

	for (i = 0; i < s->ndirectives && !rc; i++) {
		const struct mlr_directive *d = &s->directives[i];
		const struct mlr_module *m = &r->c->modules[d->module];

		mlr_buf_init(&name);
		mlr_buf_init(&why);
		mlr_buf_addf(&name, "mod_%s.lua", m->name);
		if (d->kind == MLR_DIRECTIVE_WRITE)
			rc = mlr_tmpdir_replace(active_dir, name.data, m->text,
						m->len, &why);
		else
			rc = mlr_tmpdir_delete(active_dir, name.data, &why);
		if (rc)
			reason(r, "cannot carry out '%s' (%s:%u): %s",
			       d->line.text, r->c->path, d->line.lineno,
			       why.data);
		mlr_buf_release(&name);
		mlr_buf_release(&why);
	}
	return rc;
}

/*
 * Sends step i and reads its block. Returns 0 (a failure that ends the
 * run is in o->message; a block that ended with its result line is
 * either counted in r->matched or noted as diverged in o->actual[i], and
 * the run goes on: each command's output ends at its result line, so the
 * next step is read in step whatever this one printed) or
 * MLR_IO_INTERRUPT.
 */
static int run_step(struct run *r, size_t i)
{
	const struct mlr_step *s = &r->c->steps[i];
	struct mlr_lines *got = new_actual_step(r->o);
	struct mlr_actual_step *step = &r->o->actual[i];
	struct mlr_buf cmd, where;
	bool complete = false;
	int rc;

	r->o->step = i + 1;
	mlr_buf_init(&cmd);
	mlr_buf_init(&where);
	mlr_buf_addf(&where, "step %zu (> %s)", i + 1, s->command.text);
	if (carry_out(r, s)) {
		rc = 0;
		goto out;
	}
	mlr_buf_addf(&cmd, "%s\n", s->command.text);
	rc = mlr_driver_write(&r->d, cmd.data);
	mlr_buf_release(&cmd);
	/* A driver that stopped reading may still have output to show. */
	if (rc == MLR_IO_GONE)
		rc = 0;
	if (rc) {
		rc = read_failure(r, rc, where.data, 0);
		goto out;
	}

	for (;;) {
		char *line;

		rc = mlr_driver_read_line(&r->d, &line);
		if (line)
			mlr_lines_push(got, line);
		if (rc != MLR_IO_OK) {
			rc = read_failure(r, rc, where.data, got->n);
			break;
		}
		if (got->n > MLR_MAX_LINES_PER_COMMAND) {
			reason(r, "protocol violation: more than %u output "
			       "lines for step %zu (> %s)",
			       MLR_MAX_LINES_PER_COMMAND, i + 1,
			       s->command.text);
			break;
		}
		if (mlr_is_result_line(line)) {
			complete = true;
			break;
		}
	}
	if (complete && (r->flags & MLR_RUN_RECORD)) {
		/* Every step counts; whether it matched is noted. */
		step->matched = mlr_step_has_lines(s) &&
				mlr_match_step(s, got->v, got->n, &step->div);
		memset(&step->div, 0, sizeof step->div);
		r->matched++;
	} else if (complete) {
		if (mlr_match_step(s, got->v, got->n, &step->div)) {
			step->matched = true;
			r->matched++;
		} else {
			step->diverged = true;
			if (!r->o->ndiverged++)
				r->o->div = step->div;
		}
	} else if (rc == 0 && !r->o->ndiverged) {
		/* A cut-off block still gets a first divergence to show. */
		mlr_match_step(s, got->v, got->n, &r->o->div);
	}
out:
	mlr_buf_release(&where);
	return rc;
}

/*
 * The message of a run in which steps diverged: the first one, then the
 * later ones, ahead of any reason that ended the run (a timeout, a bad
 * exit), and o->step pointed at the first.
 */
static void divergence_message(struct run *r)
{
	static const char gave_up[] =
		" in every way tried before the matcher's limit (groups "
		"with too many possible orders)";
	struct mlr_outcome *o = r->o;
	struct mlr_buf m;
	size_t i, later = 0;

	if (!o->ndiverged)
		return;
	mlr_buf_init(&m);
	for (i = 0; i < o->nactual; i++) {
		const struct mlr_step *s = &r->c->steps[i];

		if (!o->actual[i].diverged)
			continue;
		if (!m.len) {
			o->step = i + 1;
			mlr_buf_addf(&m, "the output of step %zu (> %s) differs "
				     "from the expected lines%s", i + 1,
				     s->command.text,
				     o->actual[i].div.gave_up ? gave_up : "");
			if (o->ndiverged > 1)
				mlr_buf_addf(&m, " (the first of %zu steps that "
					     "differ; later:", o->ndiverged);
			continue;
		}
		mlr_buf_addf(&m, "%s step %zu (> %s)", later++ ? "," : "",
			     i + 1, s->command.text);
	}
	if (later)
		mlr_buf_addc(&m, ')');
	if (o->message.len)
		mlr_buf_addf(&m, "; %s", o->message.data);
	mlr_buf_release(&o->message);
	o->message = m;
}

/* Did the driver announce capability word (n bytes) in its greeting? */
static bool announced(const struct run *r, const char *word, size_t n)
{
	const char *q = mlr_buf_str(&r->announced);

	while (*q) {
		size_t len;

		q++; /* the space before each word */
		len = strcspn(q, " ");
		if (len == n && !strncmp(q, word, n))
			return true;
		q += len;
	}
	return false;
}

/*
 * PROTOCOL.md §1: a case whose needs the driver did not all announce is
 * skipped. Returns true and fills o->skip_reason with "needs X Y (driver
 * announced: A B)" then.
 */
static bool lacks_capability(struct run *r)
{
	const char *q = r->c->needs;
	struct mlr_buf missing;
	bool lacks;

	mlr_buf_init(&missing);
	while (*q) {
		size_t n = strcspn(q, " ");

		if (!announced(r, q, n))
			mlr_buf_addf(&missing, " %.*s", (int)n, q);
		q += n;
		while (*q == ' ')
			q++;
	}
	lacks = missing.len > 0;
	if (lacks)
		mlr_buf_addf(&r->o->skip_reason,
			     "needs%s (driver announced: %s)", missing.data,
			     r->announced.len ? mlr_buf_str(&r->announced) + 1
					      : "nothing");
	mlr_buf_release(&missing);
	return lacks;
}

/*
 * CASES.md "Versions": the release the driver follows is its greeting's
 * "prosody=RELEASE" word, none meaning the first (0.12). A case that
 * does not apply to it is skipped (true, skip_reason filled); one that
 * does is read again as that release sees it, unless it already is.
 * An unknown release or a case that cannot be read again is a failure
 * (reason given, false).
 */
static bool other_release(struct run *r)
{
	const char *q = mlr_buf_str(&r->announced);
	const char *release = mlr_releases[0];
	struct mlr_case again;
	struct mlr_error e;

	while (*q) {
		size_t len;

		q++; /* the space before each word */
		len = strcspn(q, " ");
		if (len > 8 && !strncmp(q, "prosody=", 8)) {
			release = mlr_release(q + 8, len - 8);
			if (!release) {
				reason(r, "the driver follows %.*s, a release "
				       "the runner does not know (%s%s)",
				       (int)(len > 100 ? 100 : len), q,
				       "CASES.md: 0.12 13", "");
				return false;
			}
		}
		q += len;
	}
	if (!mlr_case_applies(r->c, release)) {
		mlr_buf_addf(&r->o->skip_reason, "applies to prosody %s only "
			     "(the driver follows %s)", r->c->versions,
			     release);
		return true;
	}
	if (release == r->c->release)
		return false;
	if (mlr_case_load_release(&again, r->c->path,
				  (r->flags & MLR_RUN_RECORD)
					  ? MLR_CASE_PROTOTYPE : 0,
				  release, &e)) {
		reason(r, "%s:%u: %s", r->c->path, e.line, e.message);
		mlr_case_release(&again);
		return false;
	}
	mlr_case_release(r->c);
	*r->c = again;
	return false;
}

/* After the last step: EOF, nothing more written, exit status 0. */
static int finish(struct run *r)
{
	struct mlr_lines *after = &r->o->after;
	struct mlr_buf how;
	int rc;

	r->o->step = r->c->nsteps + 1;
	mlr_driver_close_input(&r->d);
	for (;;) {
		char *line;

		rc = mlr_driver_read_line(&r->d, &line);
		if (line)
			mlr_lines_push(after, line);
		if (rc == MLR_IO_EOF)
			break;
		if (rc == MLR_IO_INTERRUPT)
			return rc;
		if (rc != MLR_IO_OK || after->n > MLR_MAX_LINES_PER_COMMAND)
			break;
	}
	if (after->n)
		reason(r, "the driver wrote %zu line%s after stdin was closed "
		       "(PROTOCOL.md §2: it must exit without writing)",
		       after->n, after->n == 1 ? "" : "s");
	if (rc == MLR_IO_TIMEOUT) {
		reason(r, "the driver did not exit within %g s (stdin was "
		       "closed after the last step)", r->timeout);
		return 0;
	}
	mlr_buf_init(&how);
	rc = driver_end(r, &how);
	if (rc == 0 && !mlr_driver_exited_ok(&r->d))
		reason(r, "the driver %s after stdin was closed (expected "
		       "exit status 0)", mlr_buf_str(&how));
	mlr_buf_release(&how);
	return rc;
}

static int start(struct run *r, char *const *driver_argv)
{
	struct mlr_buf why, name;
	char **argv;
	size_t n = 0, i;
	int rc = 0;

	mlr_buf_init(&why);
	active_dir = mlr_tmpdir_create(&why);
	if (!active_dir) {
		reason(r, "%s", why.data);
		mlr_buf_release(&why);
		return -1;
	}
	for (i = 0; i < r->c->nmodules && !rc; i++) {
		const struct mlr_module *m = &r->c->modules[i];

		/* Other versions wait for their "! write" (CASES.md). */
		if (m->label)
			continue;
		mlr_buf_init(&name);
		mlr_buf_addf(&name, "mod_%s.lua", m->name);
		rc = mlr_tmpdir_write(active_dir, name.data, m->text, m->len,
				      &why);
		mlr_buf_release(&name);
	}
	if (rc) {
		reason(r, "%s", why.data);
		mlr_buf_release(&why);
		return -1;
	}

	/* PROTOCOL.md §1: DRIVER MODDIR. */
	while (driver_argv[n])
		n++;
	argv = mlr_xcalloc(n + 2, sizeof *argv);
	for (i = 0; i < n; i++)
		argv[i] = driver_argv[i];
	argv[n] = active_dir;
	rc = mlr_driver_start(&r->d, argv, r->timeout, &why);
	free(argv);
	r->started = true;
	if (rc)
		reason(r, "%s", why.data);
	mlr_buf_release(&why);
	return rc;
}

/*
 * Runs case c against the driver command driver_argv (NULL-terminated)
 * with one deadline of timeout seconds, filling o; flags is 0 or
 * MLR_RUN_RECORD. Returns 0, or
 * MLR_IO_INTERRUPT when the runner got a termination signal (everything
 * is cleaned up either way).
 */
int mlr_run_case(struct mlr_case *c, char *const *driver_argv,
		 double timeout, unsigned flags, struct mlr_outcome *o)
{
	struct run r;
	size_t i;
	int rc = 0;

	memset(&r, 0, sizeof r);
	r.c = c;
	r.o = o;
	r.timeout = timeout;
	r.flags = flags;
	mlr_buf_init(&r.announced);
	o->pass = false;

	if (start(&r, driver_argv) == 0) {
		rc = greet(&r);
		/*
		 * A skipped case sends no command; the driver still has to
		 * take the end of its input as the protocol says (exit 0,
		 * nothing written), so a driver that cannot is not hidden
		 * behind a skip, and nothing is left running either way.
		 */
		if (!rc && !o->message.len &&
		    (lacks_capability(&r) || other_release(&r)) &&
		    !o->message.len) {
			o->skipped = true;
			rc = finish(&r);
			o->pass = !rc && !o->message.len &&
				  mlr_driver_exited_ok(&r.d) && !o->after.n;
			if (o->message.len) {
				struct mlr_buf m;

				mlr_buf_init(&m);
				mlr_buf_addf(&m, "the case was to be skipped (%s), "
					     "but at the end of its input %s",
					     o->skip_reason.data,
					     o->message.data);
				mlr_buf_release(&o->message);
				o->message = m;
			}
			goto out_stop;
		}
		for (i = 0; !rc && !o->message.len && i < c->nsteps; i++)
			rc = run_step(&r, i);
		if (!rc && !o->message.len)
			rc = finish(&r);
		divergence_message(&r);
		/* A pass needs positive evidence, not just no complaint. */
		o->pass = !rc && !o->message.len && r.matched == c->nsteps &&
			  mlr_driver_exited_ok(&r.d) && !o->after.n;
	}

out_stop:
	mlr_buf_release(&r.announced);
	if (r.started) {
		mlr_driver_stop(&r.d);
		o->stderr_text = r.d.err;
		o->stderr_dropped = r.d.err_dropped;
		mlr_buf_init(&r.d.err);
		if (!o->pass && r.d.sandboxed)
			mlr_sandbox_explain(&o->message, &o->stderr_text);
	}
	if (active_dir) {
		if (mlr_tmpdir_remove(active_dir) && !rc) {
			o->pass = false;
			reason(&r, "could not remove the temporary directory %s",
			       active_dir);
		}
		free(active_dir);
		active_dir = NULL;
	}
	mlr_janitor_done(); /* sandbox.c */
	return rc == MLR_IO_INTERRUPT ? rc : 0;
}
