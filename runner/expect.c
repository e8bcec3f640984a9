/*
 * expect.c - an implementation's expectations file: the cases it is known
 * to fail, kept outside cases/ so that the suite stays the same for every
 * implementation (toml-test's -skip, test262's per-engine lists).
 *
 * Format, one entry per line; blank lines and lines starting with '#'
 * are ignored:
 *
 *   CASE-ID todo REASON...
 *
 * A listed case is reported as TAP "# TODO REASON": its failure does not
 * fail the run, and prove counts it as "TODO passed" when it passes, which
 * says that the entry can go.
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

/*
 * Looks up case id in the expectations file at path. On success returns
 * 0 and sets *todo to a malloc'd reason (the caller frees it), or to NULL
 * when the case is not listed. Returns -1 with err filled (the line, when
 * a line is at fault) if the file cannot be read or is malformed: a typo
 * in an expectations file must not silently expect nothing.
 */
int mlr_expect_lookup(const char *path, const char *id, char **todo,
		      struct mlr_error *err)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	unsigned lineno = 0;
	int rc = 0;

	*todo = NULL;
	err->line = 0;
	if (!f) {
		snprintf(err->message, sizeof err->message,
			 "cannot read expectations file: %s", strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		const char *p = skip_blanks(line), *kind, *reason;
		size_t idlen, kindlen, len = strlen(line);

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f)) {
			err->line = lineno;
			snprintf(err->message, sizeof err->message,
				 "line longer than %zu bytes", sizeof line - 2);
			rc = -1;
			break;
		}
		if (!*p || *p == '#')
			continue;
		idlen = word_len(p);
		kind = skip_blanks(p + idlen);
		kindlen = word_len(kind);
		reason = skip_blanks(kind + kindlen);
		if (kindlen != 4 || strncmp(kind, "todo", 4) || !*reason) {
			err->line = lineno;
			snprintf(err->message, sizeof err->message,
				 "expected 'CASE-ID todo REASON'");
			rc = -1;
			break;
		}
		if (idlen == strlen(id) && !strncmp(p, id, idlen) && !*todo)
			*todo = mlr_xstrdup(reason);
	}
	if (!rc && ferror(f)) {
		snprintf(err->message, sizeof err->message,
			 "cannot read expectations file: %s", strerror(errno));
		rc = -1;
	}
	fclose(f);
	if (rc) {
		free(*todo);
		*todo = NULL;
	}
	return rc;
}
