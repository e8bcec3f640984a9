/*
 * expect.c - an implementation's expectations file: the cases it is known
 * to fail, kept outside cases/ so that the suite stays the same for every
 * implementation (toml-test's -skip, test262's per-engine lists).
 *
 * Format, one entry per line; blank lines and lines starting with '#'
 * are ignored:
 *
 *   CASE-ID todo REASON...
 *   CASE-ID skip REASON...
 *
 * A "todo" case is run and reported as TAP "# TODO REASON": its failure
 * does not fail the run, and prove counts it as "TODO passed" when it
 * passes (under --strict that pass is a "not ok", so lists shrink, as
 * toml-test's -skip-must-err and git's "known breakage vanished" do). A
 * "skip" case is not run at all ("# SKIP REASON"): for a case that hangs
 * or crashes a port, where running it only costs a timeout.
 */
#include "mlr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

static size_t word_len(const char *s)
{
	size_t n = 0;

	while (s[n] && s[n] != ' ' && s[n] != '\t')
		n++;
	return n;
}

static int bad_line(struct mlr_error *err, unsigned lineno, const char *what)
{
	err->line = lineno;
	snprintf(err->message, sizeof err->message, "%s", what);
	return -1;
}

/*
 * Looks up case id in the expectations file at path and fills e (the
 * caller releases it with mlr_expect_release): kind MLR_EXPECT_NONE when
 * the case is not listed. Returns -1 with err filled (the line, when a
 * line is at fault) if the file cannot be read or is malformed, including
 * a case listed twice: a typo in an expectations file must not silently
 * expect nothing, nor two different things.
 */
int mlr_expect_lookup(const char *path, const char *id,
		      struct mlr_expectation *e, struct mlr_error *err)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	unsigned lineno = 0;
	int rc = 0;

	memset(e, 0, sizeof *e);
	err->line = 0;
	if (!f) {
		snprintf(err->message, sizeof err->message,
			 "cannot read expectations file: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		const char *p = skip_blanks(line), *kind, *reason;
		size_t idlen, kindlen, len = strlen(line);
		enum mlr_expect_kind k;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f)) {
			char what[64];

			snprintf(what, sizeof what, "line longer than %zu bytes",
				 sizeof line - 2);
			rc = bad_line(err, lineno, what);
			break;
		}
		if (!*p || *p == '#')
			continue;
		idlen = word_len(p);
		kind = skip_blanks(p + idlen);
		kindlen = word_len(kind);
		reason = skip_blanks(kind + kindlen);
		if (kindlen == 4 && !strncmp(kind, "todo", 4))
			k = MLR_EXPECT_TODO;
		else if (kindlen == 4 && !strncmp(kind, "skip", 4))
			k = MLR_EXPECT_SKIP;
		else
			k = MLR_EXPECT_NONE;
		if (k == MLR_EXPECT_NONE || !*reason) {
			rc = bad_line(err, lineno,
				      "expected 'CASE-ID todo REASON' or "
				      "'CASE-ID skip REASON'");
			break;
		}
		if (idlen != strlen(id) || strncmp(p, id, idlen))
			continue;
		if (e->kind != MLR_EXPECT_NONE) {
			err->line = lineno;
			snprintf(err->message, sizeof err->message,
				 "case '%s' listed twice (first at line %u)",
				 id, e->lineno);
			rc = -1;
			break;
		}
		e->kind = k;
		e->reason = mlr_xstrdup(reason);
		e->lineno = lineno;
	}
	if (!rc && ferror(f)) {
		snprintf(err->message, sizeof err->message,
			 "cannot read expectations file: %s", strerror(errno));
		rc = -1;
	}
	fclose(f);
	if (rc)
		mlr_expect_release(e);
	return rc;
}

/* Frees what mlr_expect_lookup put in e. */
void mlr_expect_release(struct mlr_expectation *e)
{
	free(e->reason);
	memset(e, 0, sizeof *e);
}
