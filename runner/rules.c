/*
 * rules.c - the rule ids a spec defines, so that a case naming a rule
 * that does not exist fails (--rules DIR, CASES.md "Header").
 *
 * The parser only checks a rule id's shape; whether it exists is a
 * question of the spec the case is run with (the checkout's spec/rules,
 * or an installed share/modlife/spec/rules). A rule is defined by a line
 * "- **R-AREA-N** (..." of a DIR/NN-NAME.md file, as tools/caselist reads it;
 * a case naming a clause R-AREA-N.k passes when the rule is defined.
 */
#include "mlr.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Adds the rule ids defined in the file at path. */
static int load_file(struct mlr_rules *r, const char *path, struct mlr_buf *why)
{
	FILE *f = fopen(path, "r");
	char line[1024];

	if (!f) {
		mlr_buf_addf(why, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		const char *id = line + 4;
		size_t n;

		if (strncmp(line, "- **R-", 6))
			continue;
		n = strcspn(id, "*");
		if (id[n] == '*' && id[n + 1] == '*')
			mlr_lines_push(&r->ids, mlr_xstrndup(id, n));
	}
	fclose(f);
	return 0;
}

/*
 * Reads the rule ids of every DIR/NAME.md into r (released by the caller
 * with mlr_rules_release, also after an error). Returns 0, or -1 with
 * the reason in why (no such folder, or one that defines no rule).
 */
int mlr_rules_load(struct mlr_rules *r, const char *dir, struct mlr_buf *why)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	mlr_lines_init(&r->ids);
	d = opendir(dir);
	if (!d) {
		mlr_buf_addf(why, "--rules %s: %s", dir, strerror(errno));
		return -1;
	}
	while (!rc && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		struct mlr_buf path;

		if (n < 4 || strcmp(e->d_name + n - 3, ".md"))
			continue;
		mlr_buf_init(&path);
		mlr_buf_addf(&path, "%s/%s", dir, e->d_name);
		rc = load_file(r, path.data, why);
		mlr_buf_release(&path);
	}
	closedir(d);
	if (!rc && !r->ids.n) {
		mlr_buf_addf(why, "--rules %s: no rule is defined there "
			     "(lines \"- **R-AREA-N** ...\" in *.md)", dir);
		rc = -1;
	}
	return rc;
}

bool mlr_rules_has(const struct mlr_rules *r, const char *id, size_t n)
{
	size_t i;

	for (i = 0; i < r->ids.n; i++)
		if (strlen(r->ids.v[i]) == n && !strncmp(r->ids.v[i], id, n))
			return true;
	return false;
}

void mlr_rules_release(struct mlr_rules *r)
{
	mlr_lines_release(&r->ids);
}

/*
 * Fills err (the 'rules' header line) and returns -1 when case c names a
 * rule that r does not define; dir names the spec in the message.
 */
int mlr_rules_check(const struct mlr_rules *r, const struct mlr_case *c,
		    const char *dir, struct mlr_error *err)
{
	const char *q = c->rules;

	while (*q) {
		size_t n = strcspn(q, " ");
		/* A clause R-AREA-N.k names its rule; that the rule has a clause
		 * k is tools/uncovered's check (make test). */
		const char *dot = memchr(q, '.', n);

		if (!mlr_rules_has(r, q, dot ? (size_t)(dot - q) : n)) {
			err->line = c->rules_line;
			snprintf(err->message, sizeof err->message,
				 "rule %.*s is not defined in %s (add it to "
				 "the spec first, spec/CASES.md)",
				 (int)(n > 100 ? 100 : n), q, dir);
			return -1;
		}
		q += n;
		while (*q == ' ')
			q++;
	}
	return 0;
}
