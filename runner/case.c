/*
 * case.c - the case file parser (spec/CASES.md).
 *
 * The parser is strict on purpose: a case that can never pass (a result
 * line in the middle of a step, a group that never closes) is a mistake
 * in the case, and saying so with FILE:LINE is cheaper than debugging a
 * mysterious failure against every implementation.
 */
/* realpath(3), for the area of a case named as "./x.case" (area_of). */
#define _XOPEN_SOURCE 700
#include "mlr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct parser {
	struct mlr_case *c;
	struct mlr_error *err;
	unsigned lineno;
	bool have_transcript;
	struct mlr_step *step; /* the step being filled, NULL before one */

	/* the open group, if any */
	/* the release whose lines are kept (CASES.md "Versions") */
	const char *release;
	/* lines of another release left out of the open group's member */
	size_t group_skipped;

	bool in_group;
	enum mlr_item_kind group_kind;
	unsigned group_line;
	bool group_separated; /* saw a "--" line */
	struct mlr_member *members;
	size_t nmembers, members_cap;
	struct mlr_line *run; /* lines of the member being read */
	size_t nrun, run_cap;

	size_t steps_cap, items_cap, raw_cap, modules_cap;

	unsigned flags; /* MLR_CASE_* */
	/* directives read since the last step, for the next command */
	struct mlr_directive *pending;
	size_t npending, pending_cap;
	/*
	 * Per module name (indexed by its first section): whether MODDIR
	 * holds mod_NAME.lua at this point of the transcript, and the line
	 * that last changed that, so that a "! delete" of a file that is
	 * not there is a mistake found at parse time.
	 */
	bool *present;
	unsigned *changed_at;
};

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, unsigned line, const char *fmt, ...)
{
	va_list ap;

	p->err->line = line;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
	va_end(ap);
	return -1;
}

/* Does line end a command's output (PROTOCOL.md §4, §7)? */
bool mlr_is_result_line(const char *line)
{
	/* PROTOCOL.md §7: "ok" alone or followed by a space. */
	if (strncmp(line, "ok", 2) == 0 && (line[2] == '\0' || line[2] == ' '))
		return true;
	return strncmp(line, "fail ", 5) == 0 ||
	       strncmp(line, "raise ", 6) == 0 ||
	       strncmp(line, "bad ", 4) == 0;
}

/*
 * The capability words of protocol version 1 (PROTOCOL.md §1). A case
 * may only need these: a typo in "needs:" would otherwise skip the case
 * against every driver, silently.
 */
static const char *const capabilities[] = {
	"config", "reload", "depends", "items", "host-items", "status",
	"shared-data", "wrappers", "components", "unhook", "meta",
	"reload-state", "auth-providers", "format", "hook-tag", "context",
	"start", "timers",
};

/* Is the n bytes at word a capability of the protocol? */
bool mlr_is_capability(const char *word, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof capabilities / sizeof capabilities[0]; i++)
		if (strlen(capabilities[i]) == n &&
		    !strncmp(capabilities[i], word, n))
			return true;
	return false;
}

/*
 * The Prosody releases a case can tell apart (CASES.md "Versions"): a
 * driver names the one it follows in its greeting (PROTOCOL.md §1,
 * "prosody=13"); none means the first, 0.12.
 */
const char *const mlr_releases[] = { "0.12", "13" };
const size_t mlr_nreleases = sizeof mlr_releases / sizeof mlr_releases[0];

/* The known release spelled by the n bytes at word, or NULL. */
const char *mlr_release(const char *word, size_t n)
{
	size_t i;

	for (i = 0; i < mlr_nreleases; i++)
		if (strlen(mlr_releases[i]) == n &&
		    !strncmp(mlr_releases[i], word, n))
			return mlr_releases[i];
	return NULL;
}

/* Does the case apply to release (its "versions:", empty: to all)? */
bool mlr_case_applies(const struct mlr_case *c, const char *release)
{
	const char *q = c->versions;
	size_t n;

	if (!q || !*q)
		return true;
	while (*q) {
		n = strcspn(q, " ");
		if (n == strlen(release) && !strncmp(q, release, n))
			return true;
		q += n;
		while (*q == ' ')
			q++;
	}
	return false;
}

/* Does the step have expected lines (a prototype's may not)? */
bool mlr_step_has_lines(const struct mlr_step *s)
{
	return s->nitems > 0;
}

static bool is_rule_id(const char *s, size_t n)
{
	size_t i = 2, letters = 0, digits = 0;

	if (n < 2 || s[0] != 'R' || s[1] != '-')
		return false;
	while (i < n && s[i] >= 'A' && s[i] <= 'Z') {
		i++;
		letters++;
	}
	if (!letters || i >= n || s[i] != '-')
		return false;
	i++;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
		digits++;
	}
	if (!digits)
		return false;
	/* R-AREA-N.k names clause k of rule R-AREA-N (SPEC.md). */
	if (i < n && s[i] == '.') {
		digits = 0;
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			digits++;
		}
		return digits && i == n;
	}
	return i == n;
}

static bool is_module_name(const char *s, size_t n)
{
	size_t i;

	if (!n)
		return false;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static bool is_blank_or_comment(const char *s)
{
	const char *q = s;

	while (*q == ' ' || *q == '\t')
		q++;
	return *q == '\0' || s[0] == '#';
}

/* Splits value into words and joins them with single spaces. */
static char *normalise_words(const char *value)
{
	struct mlr_buf b;
	const char *q = value;

	mlr_buf_init(&b);
	mlr_buf_adds(&b, "");
	while (*q) {
		size_t n;

		while (*q == ' ' || *q == '\t')
			q++;
		n = strcspn(q, " \t");
		if (!n)
			break;
		if (b.len)
			mlr_buf_addc(&b, ' ');
		mlr_buf_add(&b, q, n);
		q += n;
	}
	return mlr_buf_detach(&b);
}

static char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return mlr_xstrdup(slash ? slash + 1 : path);
}

/*
 * The folder the case lives in: its area (CASES.md), "shared" for
 * cases/shared/x.case and for any other DIR/shared/x.case. A folder
 * written as "." or ".." ("x.case", "./x.case") is resolved to its name;
 * "-" when there is none (the root, or a folder that cannot be resolved).
 */
static char *area_of(const char *path)
{
	const char *end = strrchr(path, '/');
	const char *start;
	char *area, *dir, *real;

	while (end && end > path && end[-1] == '/')
		end--;
	if (!end) {
		start = end = path;
	} else {
		start = end;
		while (start > path && start[-1] != '/')
			start--;
	}
	area = mlr_xstrndup(start, (size_t)(end - start));
	if (*area && strcmp(area, ".") && strcmp(area, ".."))
		return area;
	free(area);
	dir = end == path ? mlr_xstrdup(*path == '/' ? "/" : ".")
			  : mlr_xstrndup(path, (size_t)(end - path));
	real = realpath(dir, NULL);
	free(dir);
	if (real) {
		const char *slash = strrchr(real, '/');

		area = mlr_xstrdup(slash && slash[1] ? slash + 1 : "-");
		free(real);
		return area;
	}
	return mlr_xstrdup("-");
}

static int header_line(struct parser *p, const char *line, unsigned *seen)
{
	static const char *const keys[] = { "id", "title", "rules", "tags",
					    "needs", "versions" };
	size_t klen = 0, k;
	const char *value;
	char *trimmed;
	size_t vlen;

	while ((line[klen] >= 'a' && line[klen] <= 'z') || line[klen] == '_')
		klen++;
	if (!klen || line[klen] != ':')
		return fail(p, p->lineno,
			    "expected a header line 'KEY: VALUE' or a section "
			    "'=== ...'");
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
		if (strlen(keys[k]) == klen && !strncmp(keys[k], line, klen))
			break;
	if (k == sizeof keys / sizeof keys[0])
		return fail(p, p->lineno, "unknown header key '%.*s'",
			    (int)klen, line);
	if (seen[k])
		return fail(p, p->lineno,
			    "header key '%s' repeated (first at line %u)",
			    keys[k], seen[k]);
	seen[k] = p->lineno;

	value = line + klen + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	vlen = strlen(value);
	while (vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	trimmed = mlr_xstrndup(value, vlen);

	switch (k) {
	case 0:
		p->c->id = trimmed;
		break;
	case 1:
		p->c->title = trimmed;
		break;
	case 2:
		p->c->rules = normalise_words(trimmed);
		p->c->rules_line = p->lineno;
		free(trimmed);
		break;
	case 3:
		p->c->tags = normalise_words(trimmed);
		free(trimmed);
		break;
	case 4:
		p->c->needs = normalise_words(trimmed);
		free(trimmed);
		break;
	default:
		p->c->versions = normalise_words(trimmed);
		free(trimmed);
		break;
	}
	return 0;
}

static int check_header(struct parser *p, const unsigned *seen,
			unsigned where)
{
	struct mlr_case *c = p->c;
	char *stem;
	size_t n;
	const char *q;
	int rc = 0;

	if (!seen[0])
		return fail(p, where, "missing header key 'id'");
	if (!seen[1])
		return fail(p, where, "missing header key 'title'");
	if (!seen[2])
		return fail(p, where, "missing header key 'rules'");
	if (!c->tags)
		c->tags = mlr_xstrdup("");
	if (!c->needs)
		c->needs = mlr_xstrdup("");
	if (!c->versions)
		c->versions = mlr_xstrdup("");

	stem = base_name(c->path);
	n = strlen(stem);
	if (n > 5 && !strcmp(stem + n - 5, ".case"))
		stem[n - 5] = '\0';
	if (strcmp(stem, c->id))
		rc = fail(p, seen[0],
			  "id '%s' does not match the file name (expected "
			  "'id: %s')", c->id, stem);
	free(stem);
	if (rc)
		return rc;
	if (!c->title[0])
		return fail(p, seen[1], "empty title");
	if (!c->rules[0])
		return fail(p, seen[2], "no rule ids in 'rules'");
	for (q = c->rules; *q;) {
		n = strcspn(q, " ");
		if (!is_rule_id(q, n))
			return fail(p, seen[2],
				    "bad rule id '%.*s' (expected R-AREA-N or "
				    "R-AREA-N.k, e.g. R-SHARED-10.2)", (int)n, q);
		q += n;
		if (*q)
			q++;
	}
	for (q = c->needs; *q;) {
		n = strcspn(q, " ");
		if (!mlr_is_capability(q, n))
			return fail(p, seen[4],
				    "unknown capability '%.*s' in 'needs' "
				    "(PROTOCOL.md §1: config reload depends "
				    "items status shared-data wrappers "
				    "components start timers)", (int)n, q);
		q += n;
		if (*q)
			q++;
	}
	for (q = c->versions; *q;) {
		n = strcspn(q, " ");
		if (!mlr_release(q, n))
			return fail(p, seen[5],
				    "unknown release '%.*s' in 'versions' "
				    "(CASES.md: 0.12 13)", (int)n, q);
		q += n;
		if (*q)
			q++;
	}
	return 0;
}

static void push_item(struct parser *p, const struct mlr_item *item)
{
	struct mlr_step *s = p->step;
	void *v = s->items;

	mlr_grow(&v, &p->items_cap, s->nitems + 1, sizeof *s->items);
	s->items = v;
	s->items[s->nitems++] = *item;
}

static void push_raw(struct parser *p, const char *text)
{
	struct mlr_step *s = p->step;
	void *v = s->raw;

	mlr_grow(&v, &p->raw_cap, s->nraw + 1, sizeof *s->raw);
	s->raw = v;
	s->raw[s->nraw].text = mlr_xstrdup(text);
	s->raw[s->nraw].lineno = p->lineno;
	s->nraw++;
}

static void free_member_lines(struct mlr_line *lines, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
}

static void free_group_state(struct parser *p)
{
	size_t i;

	for (i = 0; i < p->nmembers; i++)
		free_member_lines(p->members[i].lines, p->members[i].nlines);
	free(p->members);
	free_member_lines(p->run, p->nrun);
	p->members = NULL;
	p->nmembers = p->members_cap = 0;
	p->run = NULL;
	p->nrun = p->run_cap = 0;
	p->in_group = false;
}

static void add_member(struct parser *p, struct mlr_line *lines, size_t n)
{
	void *v = p->members;

	mlr_grow(&v, &p->members_cap, p->nmembers + 1, sizeof *p->members);
	p->members = v;
	p->members[p->nmembers].lines = lines;
	p->members[p->nmembers].nlines = n;
	p->nmembers++;
}

/* Ends the member being read; the lines move into the member list. */
static int end_member(struct parser *p)
{
	/* A member of another release only is not there for this one. */
	if (!p->nrun && p->group_skipped) {
		p->group_skipped = 0;
		return 0;
	}
	p->group_skipped = 0;
	if (!p->nrun)
		return fail(p, p->lineno, "empty member in a group");
	add_member(p, p->run, p->nrun);
	p->run = NULL;
	p->nrun = p->run_cap = 0;
	return 0;
}

static int close_group(struct parser *p)
{
	struct mlr_item item;

	if (p->group_separated) {
		if (end_member(p))
			return -1;
	} else {
		/* No "--": one member per line (CASES.md). */
		size_t i;

		if (!p->nrun && !p->group_skipped)
			return fail(p, p->lineno, "empty group");
		for (i = 0; i < p->nrun; i++) {
			struct mlr_line *one = mlr_xmalloc(sizeof *one);

			*one = p->run[i];
			add_member(p, one, 1);
		}
		free(p->run);
		p->run = NULL;
		p->nrun = p->run_cap = 0;
	}
	p->group_skipped = 0;
	/* A group of another release's lines only is not there for this one. */
	if (!p->nmembers) {
		p->in_group = false;
		return 0;
	}
	memset(&item, 0, sizeof item);
	item.kind = p->group_kind;
	item.lineno = p->group_line;
	item.members = p->members;
	item.nmembers = p->nmembers;
	push_item(p, &item);
	p->members = NULL;
	p->nmembers = p->members_cap = 0;
	p->in_group = false;
	return 0;
}

/* Whether an expected item is, or its group holds, a result line. */
bool mlr_item_has_result_line(const struct mlr_item *it)
{
	size_t m, i;

	if (it->kind == MLR_ITEM_LINE)
		return mlr_is_result_line(it->line.text);
	for (m = 0; m < it->nmembers; m++)
		for (i = 0; i < it->members[m].nlines; i++)
			if (mlr_is_result_line(it->members[m].lines[i].text))
				return true;
	return false;
}

/*
 * The runner reads a step's output up to its first result line, so a
 * result line anywhere but at the end of a step can never match.
 */
static int finish_step(struct parser *p)
{
	struct mlr_step *s = p->step;
	const struct mlr_item *last;
	size_t i;

	if (!s)
		return 0;
	/* A prototype being recorded has its expected lines still to come. */
	if (!s->nitems && (p->flags & MLR_CASE_PROTOTYPE))
		return 0;
	if (!s->nitems)
		return fail(p, s->command.lineno,
			    "step '> %s' has no expected lines (a step ends "
			    "with its result line)", s->command.text);
	for (i = 0; i + 1 < s->nitems; i++)
		if (mlr_item_has_result_line(&s->items[i]))
			return fail(p, s->items[i].lineno,
				    "result line before the end of the step "
				    "(is a '> ' command line missing?)");
	last = &s->items[s->nitems - 1];
	if (last->kind == MLR_ITEM_LINE &&
	    !mlr_is_result_line(last->line.text) &&
	    strncmp(last->line.text, "{*}", 3) != 0)
		return fail(p, last->lineno,
			    "the last expected line of step '> %s' must be "
			    "its result line (ok, fail, raise or bad)",
			    s->command.text);
	/* A closing group must hold the result line, or a glob for it. */
	if (last->kind != MLR_ITEM_LINE && !mlr_item_has_result_line(last)) {
		size_t m, j;

		for (m = 0; m < last->nmembers; m++)
			for (j = 0; j < last->members[m].nlines; j++)
				if (!strncmp(last->members[m].lines[j].text,
					     "{*}", 3))
					return 0;
		return fail(p, last->lineno,
			    "step '> %s' ends with a group that holds no "
			    "result line (ok, fail, raise or bad): it can "
			    "never pass", s->command.text);
	}
	return 0;
}

/* Index of the module section NAME [LABEL] (label NULL: none), or -1. */
static long find_module(const struct mlr_case *c, const char *name, size_t n,
			const char *label, size_t llen)
{
	size_t i;

	for (i = 0; i < c->nmodules; i++) {
		const struct mlr_module *m = &c->modules[i];

		if (strlen(m->name) != n || strncmp(m->name, name, n))
			continue;
		if (!label ? !m->label
			   : m->label && strlen(m->label) == llen &&
				     !strncmp(m->label, label, llen))
			return (long)i;
	}
	return -1;
}

/* Index of the first section of module NAME, whatever its label, or -1. */
static long first_section(const struct mlr_case *c, const char *name,
			  size_t n)
{
	size_t i;

	for (i = 0; i < c->nmodules; i++)
		if (strlen(c->modules[i].name) == n &&
		    !strncmp(c->modules[i].name, name, n))
			return (long)i;
	return -1;
}

/*
 * "mod_NAME.lua" or "mod_NAME.lua [LABEL]" at s: sets the name and label
 * spans (label NULL when there is none). Returns false when s is neither.
 */
static bool split_module_ref(const char *s, const char **name, size_t *n,
			     const char **label, size_t *llen)
{
	const char *dot = strstr(s, ".lua");

	if (strncmp(s, "mod_", 4) || !dot)
		return false;
	*name = s + 4;
	*n = (size_t)(dot - *name);
	*label = NULL;
	*llen = 0;
	s = dot + 4;
	if (!*s)
		return true;
	if (s[0] != ' ' || s[1] != '[' || s[strlen(s) - 1] != ']')
		return false;
	*label = s + 2;
	*llen = strlen(s) - 3;
	return true;
}

/*
 * "! write mod_NAME.lua [LABEL]", "! write mod_NAME.lua", "! delete
 * mod_NAME.lua" (CASES.md). The module and its version must be defined,
 * and the file must be in MODDIR for a delete, as far as the directives
 * before it tell: every such mistake is a FILE:LINE now rather than a
 * puzzling failure against every driver.
 */
static int directive_line(struct parser *p, const char *line)
{
	struct mlr_case *c = p->c;
	struct mlr_directive d;
	const char *arg, *name, *label;
	size_t n, llen;
	long idx, first;
	void *v;

	if (p->in_group)
		return fail(p, p->lineno,
			    "directive inside a group: the group opened at "
			    "line %u is not closed with '}'", p->group_line);
	memset(&d, 0, sizeof d);
	if (!strncmp(line, "! write ", 8)) {
		d.kind = MLR_DIRECTIVE_WRITE;
		arg = line + 8;
	} else if (!strncmp(line, "! delete ", 9)) {
		d.kind = MLR_DIRECTIVE_DELETE;
		arg = line + 9;
	} else {
		return fail(p, p->lineno,
			    "unknown directive '%s' (expected '! write "
			    "mod_NAME.lua [LABEL]', '! write mod_NAME.lua' or "
			    "'! delete mod_NAME.lua')", line);
	}
	if (!split_module_ref(arg, &name, &n, &label, &llen) ||
	    !is_module_name(name, n) ||
	    (label && !is_module_name(label, llen)) ||
	    (label && d.kind == MLR_DIRECTIVE_DELETE))
		return fail(p, p->lineno,
			    "bad directive '%s' (expected '! write "
			    "mod_NAME.lua [LABEL]', '! write mod_NAME.lua' or "
			    "'! delete mod_NAME.lua')", line);
	first = first_section(c, name, n);
	if (first < 0)
		return fail(p, p->lineno,
			    "directive for module '%.*s', which has no "
			    "'=== mod_%.*s.lua' section", (int)n, name,
			    (int)n, name);
	if (d.kind == MLR_DIRECTIVE_WRITE) {
		idx = find_module(c, name, n, label, llen);
		if (idx < 0 && label)
			return fail(p, p->lineno,
				    "no section '=== mod_%.*s.lua [%.*s]' to "
				    "write", (int)n, name, (int)llen, label);
		if (idx < 0)
			return fail(p, p->lineno,
				    "no section '=== mod_%.*s.lua' (the first "
				    "version, without a label) to write",
				    (int)n, name);
		d.module = (size_t)idx;
		p->present[first] = true;
	} else {
		if (!p->present[first]) {
			if (p->changed_at[first])
				return fail(p, p->lineno,
					    "mod_%.*s.lua is not in MODDIR "
					    "here: deleted at line %u",
					    (int)n, name, p->changed_at[first]);
			return fail(p, p->lineno,
				    "mod_%.*s.lua is not in MODDIR here: only "
				    "labelled versions are defined and none "
				    "was written", (int)n, name);
		}
		d.module = (size_t)first;
		p->present[first] = false;
	}
	p->changed_at[first] = p->lineno;

	/* A directive ends the step before it. */
	if (finish_step(p))
		return -1;
	p->step = NULL;
	d.line.text = mlr_xstrdup(line);
	d.line.lineno = p->lineno;
	v = p->pending;
	mlr_grow(&v, &p->pending_cap, p->npending + 1, sizeof *p->pending);
	p->pending = v;
	p->pending[p->npending++] = d;
	return 0;
}

static void free_directives(struct mlr_directive *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(d[i].line.text);
	free(d);
}

static int transcript_line(struct parser *p, const char *line)
{
	struct mlr_case *c = p->c;

	if (strchr(line, '\r'))
		return fail(p, p->lineno,
			    "carriage return in the transcript (CRLF line "
			    "endings?)");
	/* PROTOCOL.md §8: no output line is longer; it could never match. */
	if (strlen(line) > MLR_MAX_LINE)
		return fail(p, p->lineno, "line longer than %u bytes, the "
			    "protocol's limit (PROTOCOL.md §8)", MLR_MAX_LINE);
	if (is_blank_or_comment(line))
		return 0;

	if (line[0] == '>') {
		struct mlr_step *s;
		void *v;

		if (p->in_group)
			return fail(p, p->lineno,
				    "command inside a group: the group opened "
				    "at line %u is not closed with '}'",
				    p->group_line);
		if (line[1] != ' ' || line[2] == '\0' || line[2] == ' ')
			return fail(p, p->lineno,
				    "a command line is '> COMMAND'");
		if (finish_step(p))
			return -1;
		v = c->steps;
		mlr_grow(&v, &p->steps_cap, c->nsteps + 1, sizeof *c->steps);
		c->steps = v;
		s = &c->steps[c->nsteps++];
		memset(s, 0, sizeof *s);
		s->command.text = mlr_xstrdup(line + 2);
		s->command.lineno = p->lineno;
		/* The directives since the last step now belong to this one. */
		s->directives = p->pending;
		s->ndirectives = p->npending;
		p->pending = NULL;
		p->npending = p->pending_cap = 0;
		p->step = s;
		p->items_cap = p->raw_cap = 0;
		return 0;
	}

	if (line[0] == '!')
		return directive_line(p, line);
	if (!p->step && p->npending)
		return fail(p, p->lineno,
			    "expected line after a directive (a directive ends "
			    "the step before it: start a step with '> "
			    "COMMAND')");
	if (!p->step)
		return fail(p, p->lineno,
			    "expected line before the first command ('> ...')");
	if (line[0] == '[') {
		/* "[RELEASE] LINE": a line of that release only (CASES.md). */
		const char *close = strchr(line, ']');
		const char *rel = close ? mlr_release(line + 1,
				(size_t)(close - line - 1)) : NULL;

		if (!rel || close[1] != ' ' || !close[2])
			return fail(p, p->lineno,
				    "bad release prefix (expected '[0.12] LINE' "
				    "or '[13] LINE')");
		line = close + 2;
		if (line[0] == '[' || line[0] == '{' || line[0] == '}' ||
		    !strcmp(line, "--"))
			return fail(p, p->lineno,
				    "a release prefix stands before an expected "
				    "line only, not a group's '{', '--' or '}'");
		if (rel != p->release) {
			if (p->in_group)
				p->group_skipped++;
			return 0;
		}
	}
	push_raw(p, line);

	if (!strcmp(line, "{ any order") || !strcmp(line, "{ one of")) {
		if (p->in_group)
			return fail(p, p->lineno,
				    "groups do not nest (a group is open since "
				    "line %u)", p->group_line);
		p->in_group = true;
		p->group_skipped = 0;
		p->group_kind = line[2] == 'a' ? MLR_ITEM_ANY_ORDER
					       : MLR_ITEM_ONE_OF;
		p->group_line = p->lineno;
		p->group_separated = false;
		return 0;
	}
	if (line[0] == '{' && strncmp(line, "{*}", 3) != 0)
		return fail(p, p->lineno,
			    "unknown group '%s' (groups open with '{ any "
			    "order' or '{ one of')", line);
	if (!strcmp(line, "--")) {
		if (!p->in_group)
			return fail(p, p->lineno, "'--' outside a group");
		p->group_separated = true;
		return end_member(p);
	}
	if (!strcmp(line, "}")) {
		if (!p->in_group)
			return fail(p, p->lineno, "'}' outside a group");
		return close_group(p);
	}

	if (p->in_group) {
		void *v = p->run;

		mlr_grow(&v, &p->run_cap, p->nrun + 1, sizeof *p->run);
		p->run = v;
		p->run[p->nrun].text = mlr_xstrdup(line);
		p->run[p->nrun].lineno = p->lineno;
		p->nrun++;
	} else {
		struct mlr_item item;

		memset(&item, 0, sizeof item);
		item.kind = MLR_ITEM_LINE;
		item.lineno = p->lineno;
		item.line.text = mlr_xstrdup(line);
		item.line.lineno = p->lineno;
		push_item(p, &item);
	}
	return 0;
}

static int section_line(struct parser *p, const char *what)
{
	struct mlr_case *c = p->c;
	const char *name, *label;
	size_t n, llen;
	struct mlr_module *m;
	long dup;
	void *v;

	if (!strcmp(what, "transcript")) {
		if (p->have_transcript)
			return fail(p, p->lineno, "second transcript section");
		p->have_transcript = true;
		p->present = mlr_xcalloc(c->nmodules + 1, sizeof *p->present);
		p->changed_at = mlr_xcalloc(c->nmodules + 1,
					    sizeof *p->changed_at);
		/* At the start MODDIR holds the first versions (run.c). */
		for (n = 0; n < c->nmodules; n++)
			if (!c->modules[n].label)
				p->present[first_section(c, c->modules[n].name,
					   strlen(c->modules[n].name))] = true;
		return 0;
	}
	if (!split_module_ref(what, &name, &n, &label, &llen))
		return fail(p, p->lineno,
			    "unknown section '=== %s' (expected "
			    "'=== mod_NAME.lua', '=== mod_NAME.lua [LABEL]' "
			    "or '=== transcript')", what);
	if (!is_module_name(name, n))
		return fail(p, p->lineno,
			    "bad module name '%.*s' (allowed: A-Z a-z 0-9 _ -)",
			    (int)n, name);
	/* PROTOCOL.md §1: longer names would get Lua's chunk names cut. */
	if (n > MLR_MODULE_NAME_MAX)
		return fail(p, p->lineno,
			    "module name '%.*s' is longer than %d bytes",
			    (int)n, name, MLR_MODULE_NAME_MAX);
	if (label && !is_module_name(label, llen))
		return fail(p, p->lineno,
			    "bad module version label '%.*s' (allowed: A-Z "
			    "a-z 0-9 _ -)", (int)llen, label);
	if (p->have_transcript)
		return fail(p, p->lineno,
			    "module section after the transcript (modules "
			    "come first)");
	dup = find_module(c, name, n, label, llen);
	if (dup >= 0 && label)
		return fail(p, p->lineno,
			    "module '%s' version [%s] defined twice (first at "
			    "line %u)", c->modules[dup].name,
			    c->modules[dup].label, c->modules[dup].lineno);
	if (dup >= 0)
		return fail(p, p->lineno,
			    "module '%s' defined twice (first at line "
			    "%u)", c->modules[dup].name,
			    c->modules[dup].lineno);
	v = c->modules;
	mlr_grow(&v, &p->modules_cap, c->nmodules + 1, sizeof *c->modules);
	c->modules = v;
	m = &c->modules[c->nmodules++];
	m->name = mlr_xstrndup(name, n);
	m->label = label ? mlr_xstrndup(label, llen) : NULL;
	m->text = mlr_xstrdup("");
	m->len = 0;
	m->lineno = p->lineno;
	return 0;
}

static void module_line(struct parser *p, const char *line, size_t len)
{
	struct mlr_module *m = &p->c->modules[p->c->nmodules - 1];

	/* Byte for byte, each line ending in "\n" (CASES.md). */
	m->text = mlr_xrealloc(m->text, m->len + len + 2);
	memcpy(m->text + m->len, line, len);
	m->len += len;
	m->text[m->len++] = '\n';
	m->text[m->len] = '\0';
}

/*
 * A case file is a regular file of at most MLR_MAX_CASE_BYTES (CASES.md),
 * opened without blocking: a FIFO given as a case is refused, not waited
 * on, and a huge file is refused before it is parsed (issue 11).
 */
static int read_file(const char *path, struct mlr_buf *data,
		     struct mlr_error *err)
{
	FILE *f = NULL;
	char chunk[8192];
	struct stat st;
	size_t n;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY);

	err->line = 0;
	if (fd < 0 || fstat(fd, &st) || !(f = fdopen(fd, "rb"))) {
		snprintf(err->message, sizeof err->message,
			 "cannot open: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err->message, sizeof err->message,
			 "not a regular file");
		fclose(f);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (data->len + n > MLR_MAX_CASE_BYTES) {
			snprintf(err->message, sizeof err->message,
				 "the case file is larger than %u bytes "
				 "(CASES.md)", MLR_MAX_CASE_BYTES);
			fclose(f);
			return -1;
		}
		mlr_buf_add(data, chunk, n);
	}
	if (ferror(f)) {
		err->line = 0;
		snprintf(err->message, sizeof err->message,
			 "cannot read: %s", strerror(errno));
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int parse(struct parser *p, const char *data, size_t size)
{
	enum { HEADER, MODULE, TRANSCRIPT } where = HEADER;
	unsigned seen[6] = { 0, 0, 0, 0, 0, 0 };
	const char *q = data;
	const char *end = q + size;

	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);
		char *line;
		int rc = 0;

		p->lineno++;
		if (memchr(q, '\0', len))
			return fail(p, p->lineno, "NUL byte in the case file");
		line = mlr_xstrndup(q, len);
		q += len + (nl ? 1 : 0);

		if (!strncmp(line, "=== ", 4)) {
			if (where == HEADER)
				rc = check_header(p, seen, p->lineno);
			else if (where == TRANSCRIPT)
				rc = finish_step(p);
			if (!rc && p->in_group)
				rc = fail(p, p->group_line,
					  "group not closed with '}'");
			if (!rc)
				rc = section_line(p, line + 4);
			if (!rc) {
				where = p->have_transcript ? TRANSCRIPT
							   : MODULE;
				p->step = NULL;
			}
		} else if (where == HEADER) {
			if (strchr(line, '\r'))
				rc = fail(p, p->lineno,
					  "carriage return in the header "
					  "(CRLF line endings?)");
			else if (!is_blank_or_comment(line))
				rc = header_line(p, line, seen);
		} else if (where == MODULE) {
			module_line(p, line, len);
		} else {
			rc = transcript_line(p, line);
		}
		free(line);
		if (rc)
			return rc;
	}

	if (where == HEADER) {
		if (check_header(p, seen, p->lineno))
			return -1;
		return fail(p, p->lineno, "no '=== transcript' section");
	}
	if (!p->have_transcript)
		return fail(p, p->lineno, "no '=== transcript' section");
	if (p->in_group)
		return fail(p, p->group_line, "group not closed with '}'");
	if (finish_step(p))
		return -1;
	if (p->npending)
		return fail(p, p->pending[0].line.lineno,
			    "directive after the last step (it would change "
			    "nothing the driver sees)");
	if (!p->c->nsteps)
		return fail(p, p->lineno, "the transcript has no steps");
	return 0;
}

/*
 * Parses and validates the size bytes at data (not NUL-terminated) as the
 * case file at path into c, which the caller releases with
 * mlr_case_release, also after an error; flags is 0 or MLR_CASE_PROTOTYPE.
 * path is only named (the id must match it, the area is its folder).
 * Returns 0, or -1 with err filled in. Exists apart from mlr_case_load
 * for the fuzzer (fuzz/case.c), which has bytes, not files.
 */
static int parse_release(struct mlr_case *c, const char *path,
			 const char *data, size_t size, unsigned flags,
			 const char *release, struct mlr_error *err)
{
	struct parser p;
	int rc;

	memset(c, 0, sizeof *c);
	memset(&p, 0, sizeof p);
	c->path = mlr_xstrdup(path);
	c->area = area_of(path);
	err->line = 0;
	err->message[0] = '\0';
	p.c = c;
	p.err = err;
	p.flags = flags;
	p.release = release;
	c->release = release;

	rc = parse(&p, data, size);
	free_group_state(&p);
	free_directives(p.pending, p.npending);
	free(p.present);
	free(p.changed_at);
	return rc;
}

/*
 * As mlr_case_parse, for release (one of mlr_releases): the lines marked
 * for another release are left out (CASES.md "Versions").
 */
int mlr_case_parse_release(struct mlr_case *c, const char *path,
			   const char *data, size_t size, unsigned flags,
			   const char *release, struct mlr_error *err)
{
	return parse_release(c, path, data, size, flags, release, err);
}

/*
 * Parses and validates the case as every release sees it (a step whose
 * lines for 13 end without a result line is as wrong as one for 0.12)
 * and keeps it as the first release, 0.12, sees it.
 */
int mlr_case_parse(struct mlr_case *c, const char *path, const char *data,
		   size_t size, unsigned flags, struct mlr_error *err)
{
	size_t i;
	int rc;

	for (i = mlr_nreleases; i-- > 1;) {
		struct mlr_case other;

		rc = parse_release(&other, path, data, size, flags,
				   mlr_releases[i], err);
		mlr_case_release(&other);
		if (rc) {
			size_t used = strlen(err->message);

			snprintf(err->message + used,
				 sizeof err->message - used,
				 " (the lines for prosody=%s)",
				 mlr_releases[i]);
			memset(c, 0, sizeof *c);
			c->path = mlr_xstrdup(path);
			c->area = area_of(path);
			return rc;
		}
	}
	return parse_release(c, path, data, size, flags, mlr_releases[0],
			     err);
}

/*
 * Reads and validates the case file at path into c (which the caller
 * releases with mlr_case_release, also after an error); flags is 0 or
 * MLR_CASE_PROTOTYPE. Returns 0, or -1 with err filled in.
 */
static int load(struct mlr_case *c, const char *path, unsigned flags,
		const char *release, struct mlr_error *err)
{
	struct mlr_buf data;
	int rc;

	mlr_buf_init(&data);
	rc = read_file(path, &data, err);
	if (!rc) {
		rc = release ? mlr_case_parse_release(c, path,
				       mlr_buf_str(&data), data.len, flags,
				       release, err)
			     : mlr_case_parse(c, path, mlr_buf_str(&data),
					      data.len, flags, err);
	} else {
		memset(c, 0, sizeof *c);
		c->path = mlr_xstrdup(path);
		c->area = area_of(path);
	}
	mlr_buf_release(&data);
	return rc;
}

int mlr_case_load(struct mlr_case *c, const char *path, unsigned flags,
		  struct mlr_error *err)
{
	return load(c, path, flags, NULL, err);
}

/* The case at path again, as release sees it (run.c, after the greeting). */
int mlr_case_load_release(struct mlr_case *c, const char *path,
			  unsigned flags, const char *release,
			  struct mlr_error *err)
{
	return load(c, path, flags, release, err);
}

static void free_item(struct mlr_item *it)
{
	size_t m;

	free(it->line.text);
	for (m = 0; m < it->nmembers; m++)
		free_member_lines(it->members[m].lines, it->members[m].nlines);
	free(it->members);
}

/* Frees everything mlr_case_load put in c, also a half-parsed case. */
void mlr_case_release(struct mlr_case *c)
{
	size_t i, j;

	for (i = 0; i < c->nsteps; i++) {
		struct mlr_step *s = &c->steps[i];

		free(s->command.text);
		free_directives(s->directives, s->ndirectives);
		for (j = 0; j < s->nitems; j++)
			free_item(&s->items[j]);
		free(s->items);
		for (j = 0; j < s->nraw; j++)
			free(s->raw[j].text);
		free(s->raw);
	}
	free(c->steps);
	for (i = 0; i < c->nmodules; i++) {
		free(c->modules[i].name);
		free(c->modules[i].label);
		free(c->modules[i].text);
	}
	free(c->modules);
	free(c->path);
	free(c->id);
	free(c->title);
	free(c->area);
	free(c->rules);
	free(c->tags);
	free(c->needs);
	free(c->versions);
	memset(c, 0, sizeof *c);
}
