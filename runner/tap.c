/*
 * tap.c - the runner's TAP output: one test per case file.
 *
 * TAP version 13 (prove 3.44 rejects 14). A failure carries a YAML
 * block that prove's own YAMLish reader must be able to parse: when it
 * cannot, prove drops the whole block and reports a parse error, so the
 * writer here stays inside that reader's subset (double-quoted scalars,
 * "|" blocks whose first line is not indented more than the rest).
 */
#include "mlr.h"

#include <stdlib.h>
#include <string.h>

/* Bounds on what a report shows; a runaway driver must not flood prove. */
#define SHOW_LINE_BYTES 2000u
#define SHOW_DIFF_LINES 2000u

/* Test descriptions: '#' would start a directive (a "# TODO" passes). */
static void put_description(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '#' || ch == '\\')
			fputc('\\', f);
		fputc(ch < 0x20 || ch == 0x7f ? ' ' : ch, f);
	}
}

/*
 * Length of the valid UTF-8 sequence at s (n bytes left), 0 if there is
 * none: bytes that are not UTF-8 are shown as \xHH so that the report
 * stays valid YAML (and shows what the byte was).
 */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/*
 * A line as shown inside a "|" block: control bytes become \xHH (an
 * invisible "\r" is often the very difference being reported), tabs too
 * unless raw_tabs, and very long lines are cut with a note. The first
 * line of a block must not start with blanks: prove's YAML reader takes
 * its indentation for the block's.
 */
static void show_line(struct mlr_buf *out, const char *s, bool first,
		      bool raw_tabs)
{
	size_t i, n = strlen(s);
	size_t shown = n > SHOW_LINE_BYTES ? SHOW_LINE_BYTES : n;

	for (i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)s[i];
		size_t u = ch >= 0x80
			? utf8_len((const unsigned char *)s + i, shown - i) : 1;
		bool blank = ch == ' ' || ch == '\t';

		if (first && i == 0 && blank) {
			mlr_buf_addf(out, "\\x%02x", ch);
		} else if (ch == '\t' && raw_tabs) {
			mlr_buf_addc(out, '\t');
		} else if (ch < 0x20 || ch == 0x7f || !u) {
			mlr_buf_addf(out, "\\x%02x", ch);
		} else {
			mlr_buf_add(out, s + i, u);
			i += u - 1;
		}
	}
	if (shown < n)
		mlr_buf_addf(out, " [... %zu more bytes]", n - shown);
}

static void put_quoted(FILE *f, const char *s, size_t n)
{
	size_t i, u;

	fputc('"', f);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else if (ch < 0x80)
			fputc(ch, f);
		else if ((u = utf8_len((const unsigned char *)s + i, n - i))) {
			fwrite(s + i, 1, u, f);
			i += u - 1;
		} else
			fprintf(f, "\\x%02x", ch);
	}
	fputc('"', f);
}

static bool plain_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || !((s[0] >= 'A' && s[0] <= 'Z') ||
		    (s[0] >= 'a' && s[0] <= 'z') ||
		    (s[0] >= '0' && s[0] <= '9') || s[0] == '/' || s[0] == '.'))
		return false;
	if (s[n - 1] == ' ' || s[n - 1] == ':' || strstr(s, ": ") ||
	    strstr(s, " #"))
		return false;
	for (i = 0; i < n; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789 ._/=:,()-+", s[i]))
			return false;
	return true;
}

/* key: value, the value plain when that is unambiguous, else quoted. */
static void put_scalar(FILE *f, const char *indent, const char *key,
		       const char *value)
{
	size_t n = strlen(value);

	fprintf(f, "%s%s: ", indent, key);
	if (n > SHOW_LINE_BYTES) {
		struct mlr_buf cut;

		mlr_buf_init(&cut);
		mlr_buf_add(&cut, value, SHOW_LINE_BYTES);
		mlr_buf_addf(&cut, " [... %zu more bytes]", n - SHOW_LINE_BYTES);
		put_quoted(f, cut.data, cut.len);
		mlr_buf_release(&cut);
	} else if (plain_ok(value)) {
		fputs(value, f);
	} else {
		put_quoted(f, value, n);
	}
	fputc('\n', f);
}

/*
 * Terminal colours for the copy of the diagnostics on stderr (main.c
 * decides: a terminal, NO_COLOR unset). Never in the TAP on stdout:
 * prove and the YAML reader must see the plain text.
 */
#define SGR_BOLD "\033[1m"
#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_CYAN "\033[36m"
#define SGR_RESET "\033[0m"

/* The colour of a diff line, by its first byte; NULL for context. */
static const char *diff_colour(const char *line)
{
	if (line[0] == '-')
		return line[1] == '-' && line[2] == '-' ? SGR_BOLD : SGR_RED;
	if (line[0] == '+')
		return line[1] == '+' && line[2] == '+' ? SGR_BOLD : SGR_GREEN;
	if (line[0] == '@')
		return SGR_CYAN;
	return NULL;
}

/*
 * key: | followed by lines, at most max of them shown; with colour, the
 * lines are coloured as diff lines.
 */
static void put_block(FILE *f, const char *key, char *const *lines, size_t n,
		      size_t max, const char *tail, bool raw_tabs, bool colour)
{
	struct mlr_buf b;
	size_t i, shown = n > max ? max : n;

	fprintf(f, "  %s: |\n", key);
	mlr_buf_init(&b);
	for (i = 0; i < shown; i++) {
		const char *sgr = colour ? diff_colour(lines[i]) : NULL;

		mlr_buf_adds(&b, "    ");
		if (sgr)
			mlr_buf_adds(&b, sgr);
		show_line(&b, lines[i], i == 0, raw_tabs);
		if (sgr)
			mlr_buf_adds(&b, SGR_RESET);
		mlr_buf_addc(&b, '\n');
	}
	if (shown < n)
		mlr_buf_addf(&b, "    [... %zu more lines not shown]\n",
			     n - shown);
	if (tail)
		mlr_buf_addf(&b, "    %s\n", tail);
	fputs(mlr_buf_str(&b), f);
	mlr_buf_release(&b);
}

/* Prints the TAP for a case file that did not parse: FILE:LINE: MESSAGE. */
void mlr_tap_parse_error(FILE *f, const char *path,
			 const struct mlr_error *err)
{
	struct mlr_buf d;

	mlr_buf_init(&d);
	if (err->line)
		mlr_buf_addf(&d, "%s:%u: %s", path, err->line, err->message);
	else
		mlr_buf_addf(&d, "%s: %s", path, err->message);
	fputs("TAP version 13\n1..1\nnot ok 1 - ", f);
	put_description(f, d.data);
	fputs("\n  ---\n", f);
	put_scalar(f, "  ", "message", d.data);
	fputs("  ...\n", f);
	mlr_buf_release(&d);
}

static bool line_eq(const char *expected, const char *actual)
{
	return !strcmp(expected, actual) || mlr_glob_match(expected, actual);
}

/*
 * The transcripts of the steps that ran, in the case file's own format,
 * and where each diverging step's divergence lies in them (1-based; 0
 * when unknown), per step.
 */
struct transcripts {
	struct mlr_lines expected, actual;
	size_t *exp_div_line, *act_div_line;
};

/* The divergence shown for step i (0-based), NULL when there is none. */
static const struct mlr_divergence *step_div(const struct mlr_outcome *o,
					     size_t i)
{
	if (i + 1 == o->step && o->div.found)
		return &o->div;
	if (o->actual[i].diverged && o->actual[i].div.found)
		return &o->actual[i].div;
	return NULL;
}

static void build_transcripts(struct transcripts *t, const struct mlr_case *c,
			      const struct mlr_outcome *o)
{
	size_t steps = o->nactual, i, j;
	struct mlr_buf b;

	mlr_lines_init(&t->expected);
	mlr_lines_init(&t->actual);
	t->exp_div_line = mlr_xcalloc(steps + 1, sizeof *t->exp_div_line);
	t->act_div_line = mlr_xcalloc(steps + 1, sizeof *t->act_div_line);
	for (i = 0; i < steps && i < c->nsteps; i++) {
		const struct mlr_step *s = &c->steps[i];
		const struct mlr_lines *got = &o->actual[i].lines;
		const struct mlr_divergence *d = step_div(o, i);

		for (j = 0; j < s->ndirectives; j++) {
			mlr_lines_pushdup(&t->expected, s->directives[j].line.text);
			mlr_lines_pushdup(&t->actual, s->directives[j].line.text);
		}
		mlr_buf_init(&b);
		mlr_buf_addf(&b, "> %s", s->command.text);
		mlr_lines_pushdup(&t->expected, b.data);
		mlr_lines_push(&t->actual, mlr_buf_detach(&b));
		for (j = 0; j < s->nraw; j++) {
			if (d && d->expected &&
			    s->raw[j].lineno == d->expected->lineno)
				t->exp_div_line[i] = t->expected.n + 1;
			mlr_lines_pushdup(&t->expected, s->raw[j].text);
		}
		if (d && d->actual_index < got->n)
			t->act_div_line[i] = t->actual.n + 1 + d->actual_index;
		for (j = 0; j < got->n; j++)
			mlr_lines_pushdup(&t->actual, got->v[j]);
	}
	if (o->after.n) {
		mlr_lines_pushdup(&t->actual, "# after stdin was closed:");
		for (j = 0; j < o->after.n; j++)
			mlr_lines_pushdup(&t->actual, o->after.v[j]);
	}
}

static void release_transcripts(struct transcripts *t)
{
	mlr_lines_release(&t->expected);
	mlr_lines_release(&t->actual);
	free(t->exp_div_line);
	free(t->act_div_line);
}

/*
 * The divergence of step i (0-based) as YAML keys at indent; the first
 * key gets lead in place of indent (a list item's "- ").
 */
static void put_divergence(FILE *f, const struct mlr_case *c,
			   const struct mlr_outcome *o, size_t i,
			   const struct mlr_divergence *d,
			   const struct transcripts *t, const char *indent,
			   const char *lead)
{
	const struct mlr_lines *got = &o->actual[i].lines;
	char num[32];

	snprintf(num, sizeof num, "%zu", i + 1);
	put_scalar(f, lead, "step", num);
	put_scalar(f, indent, "command", c->steps[i].command.text);
	if (d->expected) {
		struct mlr_buf at;

		put_scalar(f, indent, "expected", d->expected->text);
		if (t->exp_div_line[i]) {
			snprintf(num, sizeof num, "%zu", t->exp_div_line[i]);
			put_scalar(f, indent, "expected_line", num);
		}
		mlr_buf_init(&at);
		mlr_buf_addf(&at, "%s:%u", c->path, d->expected->lineno);
		put_scalar(f, indent, "case_line", at.data);
		mlr_buf_release(&at);
	} else {
		put_scalar(f, indent, "expected",
			   "(nothing more: the step's expected lines ended)");
	}
	if (d->actual_index < got->n) {
		put_scalar(f, indent, "actual", got->v[d->actual_index]);
		snprintf(num, sizeof num, "%zu", t->act_div_line[i]);
		put_scalar(f, indent, "actual_line", num);
	} else {
		put_scalar(f, indent, "actual",
			   "(nothing more: the step's output ended)");
	}
}

/*
 * first_divergence, then later_divergences: every step whose output
 * differs is shown, the first marked as the first.
 */
static void put_divergences(FILE *f, const struct mlr_case *c,
			    const struct mlr_outcome *o,
			    const struct transcripts *t)
{
	size_t i;
	bool later = false;

	if (o->div.found && o->step >= 1 && o->step <= o->nactual) {
		fputs("  first_divergence:\n", f);
		put_divergence(f, c, o, o->step - 1, &o->div, t, "    ",
			       "    ");
	}
	for (i = o->step; i < o->nactual; i++) {
		const struct mlr_divergence *d = step_div(o, i);

		if (!d || !o->actual[i].diverged)
			continue;
		if (!later)
			fputs("  later_divergences:\n", f);
		later = true;
		put_divergence(f, c, o, i, d, t, "      ", "    - ");
	}
}

/*
 * Prints the TAP stream for one case run: the plan, ok/not ok, and for
 * a failure the YAML diagnostics (reason, step, first divergence, diff,
 * stderr, the command to rerun just this case).
 */
void mlr_tap_report(FILE *f, const struct mlr_case *c,
		    const struct mlr_outcome *o, const char *impl_name,
		    const char *todo)
{
	fputs("TAP version 13\n1..1\n", f);
	fputs(o->pass ? "ok 1 - " : "not ok 1 - ", f);
	put_description(f, c->id);
	fputs(": ", f);
	put_description(f, c->title);
	if (o->skipped && o->pass) {
		/* PROTOCOL.md §1: not run, so neither passed nor failed. */
		fputs(" # SKIP ", f);
		put_description(f, mlr_buf_str(&o->skip_reason));
	} else if (todo) {
		/* A known failure (expect.c): reported, never hidden. */
		fputs(" # TODO ", f);
		put_description(f, todo);
	}
	fputc('\n', f);
	if (!o->pass)
		mlr_tap_diagnostics(f, c, o, impl_name, false);
}

/*
 * Writes the YAML diagnostics block of a failed case: the reason, the
 * step, the first divergence, the diff of the transcripts, the driver's
 * stderr and the command that reruns the case. colour: bold reason and
 * step, red and green diff lines (for a terminal only).
 */
void mlr_tap_diagnostics(FILE *f, const struct mlr_case *c,
			 const struct mlr_outcome *o, const char *impl_name,
			 bool colour)
{
	struct transcripts t;
	struct mlr_lines diff, err_lines;
	struct mlr_buf b;
	char num[32];

	fputs("  ---\n", f);
	if (colour)
		fputs(SGR_BOLD, f);
	put_scalar(f, "  ", "message", mlr_buf_str(&o->message));
	if (colour)
		fputs(SGR_RESET, f);
	/* What the case is about, so that a report stands on its own. */
	put_scalar(f, "  ", "title", c->title);
	put_scalar(f, "  ", "rules", c->rules);
	if (colour)
		fputs(SGR_BOLD, f);
	if (o->known_failure_passed) {
		put_scalar(f, "  ", "step", "none: every step passed");
	} else if (o->step == 0) {
		put_scalar(f, "  ", "step", "greeting");
	} else if (o->skipped) {
		put_scalar(f, "  ", "step",
			   "end (stdin closed after the greeting: skipped)");
	} else if (o->step > c->nsteps) {
		put_scalar(f, "  ", "step", "end (stdin closed after the last step)");
	} else {
		fputs("  step:\n", f);
		snprintf(num, sizeof num, "%zu", o->step);
		put_scalar(f, "    ", "number", num);
		put_scalar(f, "    ", "command",
			   c->steps[o->step - 1].command.text);
	}
	if (colour)
		fputs(SGR_RESET, f);

	build_transcripts(&t, c, o);
	put_divergences(f, c, o, &t);
	mlr_lines_init(&diff);
	if (mlr_diff_unified(&diff, t.expected.v, t.expected.n, t.actual.v,
			     t.actual.n, line_eq, 3))
		put_block(f, "diff", diff.v, diff.n, SHOW_DIFF_LINES, NULL,
			  false, colour);
	mlr_lines_release(&diff);
	release_transcripts(&t);

	if (o->stderr_text.len) {
		const char *q = o->stderr_text.data;
		const char *end = q + o->stderr_text.len;

		mlr_lines_init(&err_lines);
		while (q < end) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));
			size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);
			char *line = mlr_xstrndup(q, len);
			char *nul = memchr(q, '\0', len);

			/* Show a NUL as the end of its line, not a crash. */
			if (nul)
				line[nul - q] = '\0';
			mlr_lines_push(&err_lines, line);
			q += len + (nl ? 1 : 0);
		}
		mlr_buf_init(&b);
		if (o->stderr_dropped)
			mlr_buf_addf(&b, "[... %zu more bytes of stderr not kept]",
				     o->stderr_dropped);
		put_block(f, "stderr", err_lines.v, err_lines.n, (size_t)-1,
			  b.len ? b.data : NULL, true, false);
		mlr_buf_release(&b);
		mlr_lines_release(&err_lines);
	}

	mlr_buf_init(&b);
	if (o->rerun_prefix)
		mlr_buf_addf(&b, "%s %s", o->rerun_prefix, c->path);
	else
		mlr_buf_addf(&b, "make check IMPL=%s CASES=%s%s", impl_name,
			     c->path, mlr_buf_str(&o->rerun_extra));
	put_scalar(f, "  ", "rerun", b.data);
	mlr_buf_release(&b);
	fputs("  ...\n", f);
}
