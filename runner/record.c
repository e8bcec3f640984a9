/*
 * record.c - --record: a case file with the driver's output as its
 * expected lines, for `make bless` (tools/bless).
 *
 * The reference completes a prototype, as sqllogictest's completion mode
 * does: a step written with a command and no expected lines gets what
 * the driver printed. A step that has expected lines keeps them as
 * written (their groups, globs and comments) when the driver's output
 * matches them; when it does not, the recording is refused unless forced,
 * and forced, the step gets the driver's output instead. Everything else
 * in the file (header, modules, comments, directives) is copied byte for
 * byte. Whether Prosody agrees is tools/bless's business.
 */
#include "mlr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * Would the case format read line back as a plain expected line? A
 * comment, a command, a directive, a group line, a blank line or a {*}
 * would not: such output cannot be recorded as it is.
 */
static bool recordable(const char *line)
{
	const char *q = line;

	while (*q == ' ' || *q == '\t')
		q++;
	if (!*q || line[0] == '#' || line[0] == '>' || line[0] == '!' ||
	    line[0] == '{' || line[0] == '}' || !strcmp(line, "--") ||
	    !strncmp(line, "=== ", 4) || strstr(line, "{*}") ||
	    strchr(line, '\r'))
		return false;
	return true;
}

static int read_lines(const char *path, struct mlr_lines *out,
		      struct mlr_buf *why)
{
	FILE *f = fopen(path, "rb");
	struct mlr_buf data;
	char chunk[8192];
	size_t n;
	const char *q, *end;

	if (!f) {
		mlr_buf_addf(why, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	mlr_buf_init(&data);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		mlr_buf_add(&data, chunk, n);
	fclose(f);
	q = mlr_buf_str(&data);
	end = q + data.len;
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);

		mlr_lines_push(out, mlr_xstrndup(q, len));
		q += len + (nl ? 1 : 0);
	}
	mlr_buf_release(&data);
	return 0;
}

/* The last line of the case file that belongs to step s's expected block. */
static unsigned block_end(const struct mlr_step *s)
{
	return s->nraw ? s->raw[s->nraw - 1].lineno : s->command.lineno;
}

/*
 * Runs case c (loaded with MLR_CASE_PROTOTYPE) against driver_argv and
 * writes the recorded case file to out. Returns 0, or -1 with the reason
 * in why and nothing written: the driver failed (crash, timeout, no
 * clean exit), lacks a capability the case needs, printed a line the
 * case format cannot hold, or (unless force) disagrees with expected
 * lines already written.
 */
int mlr_record(struct mlr_case *c, char *const *driver_argv,
	       double timeout, bool force, FILE *out, struct mlr_buf *why)
{
	struct mlr_outcome o;
	struct mlr_lines file;
	size_t i, j, line;
	int rc = -1;

	mlr_outcome_init(&o);
	mlr_lines_init(&file);
	if (mlr_run_case(c, driver_argv, timeout, MLR_RUN_RECORD, &o))
		goto out;
	if (o.skipped) {
		mlr_buf_addf(why, "cannot record: the driver lacks what the "
			     "case %s", o.skip_reason.data);
		goto out;
	}
	if (!o.pass) {
		mlr_buf_addf(why, "cannot record: %s", mlr_buf_str(&o.message));
		if (o.stderr_text.len)
			mlr_buf_addf(why, "\nthe driver's stderr:\n%s",
				     o.stderr_text.data);
		goto out;
	}
	for (i = 0; i < c->nsteps; i++) {
		const struct mlr_step *s = &c->steps[i];
		const struct mlr_lines *got = &o.actual[i].lines;

		if (mlr_step_has_lines(s) && !o.actual[i].matched && !force)
			mlr_buf_addf(why, "%s%s:%u: step %zu (> %s): the "
				     "driver's output differs from the expected "
				     "lines written (force to replace them)",
				     why->len ? "\n" : "", c->path,
				     s->command.lineno, i + 1, s->command.text);
		for (j = 0; j < got->n; j++)
			if (!recordable(got->v[j]))
				mlr_buf_addf(why, "%s%s:%u: step %zu (> %s): "
					     "output line %zu cannot be written "
					     "as an expected line: \"%.200s\"",
					     why->len ? "\n" : "", c->path,
					     s->command.lineno, i + 1,
					     s->command.text, j + 1, got->v[j]);
	}
	if (why->len || read_lines(c->path, &file, why))
		goto out;

	/* The file as it is, each replaced block swapped for the output. */
	line = 1;
	for (i = 0; i < c->nsteps; i++) {
		const struct mlr_step *s = &c->steps[i];

		if (o.actual[i].matched)
			continue;
		for (; line <= s->command.lineno && line <= file.n; line++)
			fprintf(out, "%s\n", file.v[line - 1]);
		for (j = 0; j < o.actual[i].lines.n; j++)
			fprintf(out, "%s\n", o.actual[i].lines.v[j]);
		line = block_end(s) + 1;
	}
	for (; line <= file.n; line++)
		fprintf(out, "%s\n", file.v[line - 1]);
	rc = 0;
out:
	mlr_lines_release(&file);
	mlr_outcome_release(&o);
	return rc;
}
