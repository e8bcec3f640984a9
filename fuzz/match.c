/*
 * fuzz/match.c - libFuzzer harness for the runner's log comparator
 * (runner/match.c: one step's expected items against the driver's
 * actual lines; runner/diff.c: the unified diff a failure shows).
 *
 * The input is an expected block and an actual block, separated by the
 * first line "=== actual":
 *
 *     log a.example:x info {*}
 *     { any order
 *     event a x
 *     --
 *     event a y
 *     }
 *     ok true
 *     === actual
 *     log a.example:x info hello
 *     ...
 *
 * The expected block goes through the real case parser (behind a fixed
 * header and a "> fuzz" command line), so the matcher sees exactly the
 * structures a case file can give it; inputs the parser refuses are
 * dropped. The actual block is split on "\n" as the runner splits a
 * driver's output, and dropped when the runner would refuse it (more
 * than 10 000 lines, a line over 64 KiB: PROTOCOL.md §8): the matcher's
 * recursion depth relies on the first.
 *
 * Beyond not crashing, leaking or hanging (a libFuzzer timeout is a
 * finding: the matcher's work must stay bounded), the verdict is checked
 * against an oracle written for clarity, not speed: a plain recursive
 * glob and a search over every order of a group's members. When the
 * oracle finishes within its own budget and the matcher did not give up,
 * both must agree; a divergence must point inside the actual lines.
 */
#include "../runner/mlr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz/match.c:%d: broken: %s\n",  \
				__LINE__, #cond);                         \
			abort();                                          \
		}                                                         \
	} while (0)

#define HEADER "id: fuzz\ntitle: fuzz\nrules: R-FUZZ-1\n=== transcript\n" \
	       "> fuzz\n"
#define SEPARATOR "=== actual"

/* The oracle gives up (and is not compared) after this many steps. */
#define ORACLE_BUDGET 200000L
/* ... and on a group with more members than its bit mask holds. */
#define ORACLE_MAX_MEMBERS 16

struct oracle {
	const struct mlr_step *step;
	char *const *actual;
	size_t n;
	long budget;
};

static bool spend(struct oracle *o)
{
	return --o->budget >= 0;
}

/* CASES.md: "{*} matches any run of characters (possibly empty)". */
static bool glob(struct oracle *o, const char *p, const char *t)
{
	size_t k, len;

	if (!spend(o))
		return false;
	if (!strncmp(p, "{*}", 3)) {
		len = strlen(t);
		for (k = 0; k <= len; k++)
			if (glob(o, p + 3, t + k))
				return true;
		return false;
	}
	if (!*p)
		return !*t;
	return *p == *t && glob(o, p + 1, t + 1);
}

static bool member_at(struct oracle *o, const struct mlr_member *m,
		      size_t pos)
{
	size_t i;

	if (pos + m->nlines > o->n)
		return false;
	for (i = 0; i < m->nlines; i++)
		if (!glob(o, m->lines[i].text, o->actual[pos + i]))
			return false;
	return true;
}

static bool from(struct oracle *o, size_t item, size_t pos);

/* The members of an any-order group not in used, in any order. */
static bool any_order(struct oracle *o, size_t item, size_t pos,
		      unsigned long used)
{
	const struct mlr_item *it = &o->step->items[item];
	size_t j;

	if (used == (1ul << it->nmembers) - 1)
		return from(o, item + 1, pos);
	for (j = 0; j < it->nmembers; j++)
		if (!(used & 1ul << j) && member_at(o, &it->members[j], pos) &&
		    any_order(o, item, pos + it->members[j].nlines,
			      used | 1ul << j))
			return true;
	return false;
}

static bool from(struct oracle *o, size_t item, size_t pos)
{
	const struct mlr_item *it;
	size_t j;

	if (!spend(o))
		return false;
	if (item == o->step->nitems)
		return pos == o->n;
	it = &o->step->items[item];
	switch (it->kind) {
	case MLR_ITEM_LINE:
		return pos < o->n && glob(o, it->line.text, o->actual[pos]) &&
		       from(o, item + 1, pos + 1);
	case MLR_ITEM_ONE_OF:
		for (j = 0; j < it->nmembers; j++)
			if (member_at(o, &it->members[j], pos) &&
			    from(o, item + 1, pos + it->members[j].nlines))
				return true;
		return false;
	case MLR_ITEM_ANY_ORDER:
		return any_order(o, item, pos, 0);
	}
	return false;
}

/* 1: matches, 0: does not, -1: the oracle cannot tell in its budget. */
static int oracle_match(const struct mlr_step *s, char *const *actual,
			size_t n)
{
	struct oracle o = { s, actual, n, ORACLE_BUDGET };
	size_t i;
	bool ok;

	for (i = 0; i < s->nitems; i++)
		if (s->items[i].kind == MLR_ITEM_ANY_ORDER &&
		    s->items[i].nmembers > ORACLE_MAX_MEMBERS)
			return -1;
	ok = from(&o, 0, 0);
	return o.budget < 0 ? -1 : ok;
}

/* tap.c's line equality for the diff. */
static bool line_eq(const char *expected, const char *actual)
{
	return !strcmp(expected, actual) || mlr_glob_match(expected, actual);
}

/* Splits [q, end) on "\n" into lines (a last line without one too). */
static void split_lines(struct mlr_lines *l, const char *q, const char *end)
{
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);

		mlr_lines_push(l, mlr_xstrndup(q, len));
		q += len + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *end = text + size;
	const char *sep = NULL, *q = text;
	struct mlr_buf file;
	struct mlr_lines actual, raw, diff;
	struct mlr_case c;
	struct mlr_error e;
	struct mlr_divergence div;
	const struct mlr_step *s;
	size_t i;
	bool ok;
	int want;

	/* Actual lines never hold a NUL: the runner refuses such output. */
	if (memchr(text, '\0', size))
		return 0;
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);

		if (len == strlen(SEPARATOR) && !memcmp(q, SEPARATOR, len)) {
			sep = q;
			break;
		}
		q += len + 1;
	}
	mlr_buf_init(&file);
	mlr_buf_adds(&file, HEADER);
	mlr_buf_add(&file, text, (size_t)((sep ? sep : end) - text));
	if (mlr_case_parse(&c, "fuzz.case", file.data, file.len, 0, &e)) {
		mlr_case_release(&c);
		mlr_buf_release(&file);
		return 0;
	}
	s = &c.steps[0];
	mlr_lines_init(&actual);
	if (sep)
		split_lines(&actual, sep + strlen(SEPARATOR) + 1, end);
	/* What run.c refuses before matching (PROTOCOL.md §8). */
	ok = actual.n <= MLR_MAX_LINES_PER_COMMAND;
	for (i = 0; ok && i < actual.n; i++)
		ok = strlen(actual.v[i]) <= MLR_MAX_LINE;
	if (!ok) {
		mlr_lines_release(&actual);
		mlr_case_release(&c);
		mlr_buf_release(&file);
		return 0;
	}

	ok = mlr_match_step(s, actual.v, actual.n, &div);
	CHECK(!(ok && div.found));
	CHECK(!ok || !div.gave_up);
	CHECK(ok || div.gave_up || div.found);
	if (div.found)
		CHECK(div.actual_index <= actual.n);
	if (!div.gave_up) {
		want = oracle_match(s, actual.v, actual.n);
		CHECK(want < 0 || want == ok);
	}

	/* What a failure report shows: the diff of the lines as written. */
	mlr_lines_init(&raw);
	for (i = 0; i < s->nraw; i++)
		mlr_lines_pushdup(&raw, s->raw[i].text);
	mlr_lines_init(&diff);
	mlr_diff_unified(&diff, raw.v, raw.n, actual.v, actual.n, line_eq, 3);
	mlr_lines_release(&diff);
	mlr_lines_release(&raw);

	mlr_lines_release(&actual);
	mlr_case_release(&c);
	mlr_buf_release(&file);
	return 0;
}
