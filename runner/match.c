/*
 * match.c - does one step's actual output match its expected lines?
 *
 * A backtracking matcher over the step's items (CASES.md): plain lines
 * with {*} globs, "{ any order" groups whose members may come in any
 * order (one after the other, never interleaved) and "{ one of" groups.
 * The whole actual block must be consumed. When no way matches, the
 * divergence reported is the furthest actual line any attempt reached,
 * which is where a person reading the diff wants to look.
 */
#include "mlr.h"

#include <stdlib.h>
#include <string.h>

/*
 * Bounds the work on pathological groups (many similar members followed
 * by a mismatch explore n! orders): one unit per expected line tried,
 * and one more per MATCH_UNIT bytes of the two lines (a glob takes time
 * linear in them, mlr_glob_match): a few tenths of a second natively,
 * about 3 s under the sanitizers of fuzz/. Running out is a
 * failure, never a pass. Outside the budget the work is linear in the
 * input, plus O(n log n) to find a group's identical members
 * (find_twins); the duplicate check that was here before was cubic, a
 * timeout of fuzz/match.c (fuzz/regressions/match/).
 */
#define MATCH_BUDGET 10000000ul
#define MATCH_UNIT 64u

/*
 * The recursion goes one level deeper per member of a "{ any order" group
 * placed and per "{ one of" group passed, each of which takes at least
 * one actual line: at most MLR_MAX_LINES_PER_COMMAND levels, which run.c
 * enforces before matching (PROTOCOL.md §8).
 */

struct matcher {
	const struct mlr_item *items;
	size_t nitems;
	char *const *actual;
	size_t n;
	unsigned char **used; /* per item: member flags of any-order groups */
	/*
	 * Per any-order item, per member: the index of the nearest earlier
	 * member with the same lines, or -1.
	 */
	long **twin;
	unsigned long budget;
	bool gave_up;
	struct mlr_divergence *div;
};

/* Length of the literal run of pattern at p, up to a "{*}" or the end. */
static size_t literal_len(const char *p)
{
	const char *q = p;

	while ((q = strchr(q, '{')) && (q[1] != '*' || q[2] != '}'))
		q++;
	return q ? (size_t)(q - p) : strlen(p);
}

/*
 * Matches text against pattern, where "{*}" stands for any run of bytes,
 * in time linear in both: the literal runs between the {*} are found
 * leftmost first (strstr), which leaves the most room to the runs after
 * them, so no choice is ever undone; the first run must start the text
 * and the last end it. (A backtracking glob costs pattern * text steps
 * on "{*}aaaa...ab" against a long "aaaa...": fuzz/match.c.)
 */
bool mlr_glob_match(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text, *found;
	char small[128], *lit;
	size_t n, tlen;

	/* The literal head. */
	n = literal_len(p);
	if (strncmp(p, t, n))
		return false;
	p += n;
	t += n;
	if (!*p)
		return !*t;
	for (;;) {
		while (!strncmp(p, "{*}", 3))
			p += 3;
		n = literal_len(p);
		if (!p[n]) {
			/* The tail: it must end the text. */
			tlen = strlen(t);
			return tlen >= n && !memcmp(t + tlen - n, p, n);
		}
		/* A middle run, leftmost; strstr needs it as a string. */
		lit = n < sizeof small ? small : mlr_xmalloc(n + 1);
		memcpy(lit, p, n);
		lit[n] = '\0';
		found = strstr(t, lit);
		if (lit != small)
			free(lit);
		if (!found)
			return false;
		t = found + n;
		p += n;
	}
}

static size_t common_prefix(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

static void note_failure(struct matcher *m, size_t pos,
			 const struct mlr_line *expected)
{
	struct mlr_divergence *d = m->div;

	if (!d->found || pos > d->actual_index) {
		d->found = true;
		d->actual_index = pos;
		d->expected = expected;
		return;
	}
	/*
	 * Several alternatives (group members) can fail at the same line:
	 * name the one that looks most like the actual line, which is most
	 * likely the one meant; ties keep the written order.
	 */
	if (pos == d->actual_index && pos < m->n && expected &&
	    (!d->expected ||
	     common_prefix(expected->text, m->actual[pos]) >
		     common_prefix(d->expected->text, m->actual[pos])))
		d->expected = expected;
}

/*
 * Does expected line e match the actual line at pos (false past the
 * end)? Charged to the budget; when that runs out, gave_up is set and
 * the answer is false.
 */
static bool line_at(struct matcher *m, const struct mlr_line *e, size_t pos)
{
	unsigned long cost;

	if (pos >= m->n) {
		if (m->budget == 0)
			m->gave_up = true;
		else
			m->budget--;
		return false;
	}
	cost = 1 + (strlen(e->text) + strlen(m->actual[pos])) / MATCH_UNIT;
	if (m->budget < cost) {
		m->gave_up = true;
		return false;
	}
	m->budget -= cost;
	return mlr_glob_match(e->text, m->actual[pos]);
}

/* Matches a member's lines at pos; *next gets the position after them. */
static bool match_lines(struct matcher *m, const struct mlr_member *mem,
			size_t pos, size_t *next)
{
	size_t i;

	for (i = 0; i < mem->nlines; i++) {
		if (!line_at(m, &mem->lines[i], pos + i)) {
			if (!m->gave_up)
				note_failure(m, pos + i, &mem->lines[i]);
			return false;
		}
	}
	*next = pos + mem->nlines;
	return true;
}

static bool same_member(const struct mlr_member *a,
			const struct mlr_member *b)
{
	size_t i;

	if (a->nlines != b->nlines)
		return false;
	for (i = 0; i < a->nlines; i++)
		if (strcmp(a->lines[i].text, b->lines[i].text))
			return false;
	return true;
}

/* A member's index and a hash of its lines, for sorting. */
struct keyed {
	unsigned long hash;
	size_t index;
};

static int by_hash_then_index(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * For each member of it, the index of the nearest earlier member with
 * the same lines, or -1: sorted by a hash of the lines (FNV-1a), so that
 * only members with equal hashes are compared. Returns a malloc'd array.
 */
static long *find_twins(const struct mlr_item *it)
{
	struct keyed *keys = mlr_xcalloc(it->nmembers, sizeof *keys);
	long *twin = mlr_xcalloc(it->nmembers, sizeof *twin);
	size_t j, k, i;

	for (j = 0; j < it->nmembers; j++) {
		unsigned long h = 2166136261ul;
		const struct mlr_member *mem = &it->members[j];

		for (i = 0; i < mem->nlines; i++) {
			const unsigned char *q =
				(const unsigned char *)mem->lines[i].text;

			for (; *q; q++)
				h = (h ^ *q) * 16777619ul;
			h = (h ^ '\n') * 16777619ul;
		}
		keys[j].hash = h;
		keys[j].index = j;
		twin[j] = -1;
	}
	qsort(keys, it->nmembers, sizeof *keys, by_hash_then_index);
	/* Among equal hashes (in index order), the nearest equal before. */
	for (j = 1; j < it->nmembers; j++)
		for (k = j; k-- > 0 && keys[k].hash == keys[j].hash;)
			if (same_member(&it->members[keys[k].index],
					&it->members[keys[j].index])) {
				twin[keys[j].index] = (long)keys[k].index;
				break;
			}
	free(keys);
	return twin;
}

static bool match_from(struct matcher *m, size_t item, size_t pos);


static bool match_any_order(struct matcher *m, size_t item, size_t pos,
			    size_t left)
{
	const struct mlr_item *it = &m->items[item];
	unsigned char *used = m->used[item];
	const long *twin = m->twin[item];
	size_t j;
	bool ok;

	if (left == 0)
		return match_from(m, item + 1, pos);
	for (j = 0; j < it->nmembers; j++) {
		size_t next;

		if (used[j])
			continue;
		/*
		 * Trying a member identical to an unused earlier one repeats
		 * work already done: skipping it keeps repeated lines from
		 * costing n! attempts. Identical members are thus used in
		 * their written order, so the nearest earlier twin is unused
		 * whenever any earlier twin is: one look, not a scan.
		 */
		if (twin[j] >= 0 && !used[twin[j]])
			continue;
		if (!match_lines(m, &it->members[j], pos, &next))
			continue;
		used[j] = 1;
		ok = match_any_order(m, item, next, left - 1);
		used[j] = 0;
		if (ok)
			return true;
		if (m->gave_up)
			return false;
	}
	return false;
}

static bool match_from(struct matcher *m, size_t item, size_t pos)
{
	for (;;) {
		const struct mlr_item *it;
		size_t j, next;

		if (m->gave_up)
			return false;
		if (item == m->nitems) {
			if (pos == m->n)
				return true;
			note_failure(m, pos, NULL);
			return false;
		}
		it = &m->items[item];
		switch (it->kind) {
		case MLR_ITEM_LINE:
			if (!line_at(m, &it->line, pos)) {
				if (!m->gave_up)
					note_failure(m, pos, &it->line);
				return false;
			}
			item++;
			pos++;
			break;
		case MLR_ITEM_ONE_OF:
			for (j = 0; j < it->nmembers; j++) {
				bool ok;

				if (!match_lines(m, &it->members[j], pos,
						 &next)) {
					if (m->gave_up)
						return false;
					continue;
				}
				ok = match_from(m, item + 1, next);
				if (ok)
					return true;
				if (m->gave_up)
					return false;
			}
			return false;
		case MLR_ITEM_ANY_ORDER:
			return match_any_order(m, item, pos, it->nmembers);
		}
	}
}

/*
 * Matches the actual lines of one step (its whole block, result line
 * included) against step's expected items. Returns true on a match;
 * otherwise false, with div saying where it diverged.
 */
bool mlr_match_step(const struct mlr_step *step, char *const *actual,
		    size_t n, struct mlr_divergence *div)
{
	struct matcher m;
	size_t i;
	bool ok;

	memset(div, 0, sizeof *div);
	m.items = step->items;
	m.nitems = step->nitems;
	m.actual = actual;
	m.n = n;
	m.budget = MATCH_BUDGET;
	m.gave_up = false;
	m.div = div;
	m.used = mlr_xcalloc(step->nitems, sizeof *m.used);
	m.twin = mlr_xcalloc(step->nitems, sizeof *m.twin);
	for (i = 0; i < step->nitems; i++)
		if (step->items[i].kind == MLR_ITEM_ANY_ORDER) {
			m.used[i] = mlr_xcalloc(step->items[i].nmembers, 1);
			m.twin[i] = find_twins(&step->items[i]);
		}

	ok = match_from(&m, 0, 0);
	div->gave_up = m.gave_up;
	if (ok)
		div->found = false;

	for (i = 0; i < step->nitems; i++) {
		free(m.used[i]);
		free(m.twin[i]);
	}
	free(m.used);
	free(m.twin);
	return ok && !m.gave_up;
}
