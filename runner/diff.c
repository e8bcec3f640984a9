/*
 * diff.c - unified diff of two line arrays.
 *
 * Written here rather than run as diff(1) so that the report needs no
 * temporary files and no external program, and so that lines can be
 * compared with the case's own notion of equality ({*} globs): a
 * matched "{*}" line then shows as context, not as a change.
 */
#include "mlr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Above this many cells of the LCS table (after common prefix and suffix
 * are trimmed) the middle is shown as one replacement: still a correct
 * diff, just not a minimal one, and memory stays bounded.
 */
#define DIFF_MAX_CELLS (8u * 1024u * 1024u)

enum op_kind { OP_KEEP, OP_DEL, OP_ADD };

struct op {
	enum op_kind kind;
	size_t a, b; /* indices into a and b (the one that applies) */
};

struct ops {
	struct op *v;
	size_t n, cap;
};

static void push_op(struct ops *ops, enum op_kind kind, size_t a, size_t b)
{
	void *v = ops->v;

	mlr_grow(&v, &ops->cap, ops->n + 1, sizeof *ops->v);
	ops->v = v;
	ops->v[ops->n].kind = kind;
	ops->v[ops->n].a = a;
	ops->v[ops->n].b = b;
	ops->n++;
}

static void diff_middle(struct ops *ops, char *const *a, size_t a0,
			size_t a1, char *const *b, size_t b0, size_t b1,
			mlr_line_eq eq)
{
	size_t n = a1 - a0, m = b1 - b0, i, j, w = m + 1;
	uint32_t *len;

	if (n == 0 || m == 0 || n > DIFF_MAX_CELLS / (m + 1) ||
	    (n + 1) * (m + 1) > DIFF_MAX_CELLS) {
		for (i = a0; i < a1; i++)
			push_op(ops, OP_DEL, i, b0);
		for (j = b0; j < b1; j++)
			push_op(ops, OP_ADD, a1, j);
		return;
	}
	/* len[i*w+j]: length of the LCS of a[a0+i..] and b[b0+j..]. */
	len = mlr_xcalloc((n + 1) * w, sizeof *len);
	for (i = n; i-- > 0;)
		for (j = m; j-- > 0;) {
			if (eq(a[a0 + i], b[b0 + j]))
				len[i * w + j] = len[(i + 1) * w + j + 1] + 1;
			else if (len[(i + 1) * w + j] >= len[i * w + j + 1])
				len[i * w + j] = len[(i + 1) * w + j];
			else
				len[i * w + j] = len[i * w + j + 1];
		}
	i = 0;
	j = 0;
	while (i < n || j < m) {
		if (i < n && j < m && eq(a[a0 + i], b[b0 + j]) &&
		    len[i * w + j] == len[(i + 1) * w + j + 1] + 1) {
			push_op(ops, OP_KEEP, a0 + i, b0 + j);
			i++;
			j++;
		} else if (i < n &&
			   (j == m || len[(i + 1) * w + j] >= len[i * w + j + 1])) {
			push_op(ops, OP_DEL, a0 + i, b0 + j);
			i++;
		} else {
			push_op(ops, OP_ADD, a0 + i, b0 + j);
			j++;
		}
	}
	free(len);
}

static void range(struct mlr_buf *h, size_t start, size_t count)
{
	/* GNU diff: an empty range names the line before it. */
	if (count == 1)
		mlr_buf_addf(h, "%zu", start + 1);
	else
		mlr_buf_addf(h, "%zu,%zu", count ? start + 1 : start, count);
}

static void emit_hunk(struct mlr_lines *out, const struct ops *ops,
		      size_t from, size_t to, char *const *a, char *const *b)
{
	struct mlr_buf h;
	size_t k, na = 0, nb = 0, a_start, b_start;

	a_start = ops->v[from].a;
	b_start = ops->v[from].b;
	for (k = from; k < to; k++) {
		if (ops->v[k].kind != OP_ADD)
			na++;
		if (ops->v[k].kind != OP_DEL)
			nb++;
	}
	mlr_buf_init(&h);
	mlr_buf_adds(&h, "@@ -");
	range(&h, a_start, na);
	mlr_buf_adds(&h, " +");
	range(&h, b_start, nb);
	mlr_buf_adds(&h, " @@");
	mlr_lines_push(out, mlr_buf_detach(&h));

	for (k = from; k < to; k++) {
		const struct op *o = &ops->v[k];

		mlr_buf_init(&h);
		if (o->kind == OP_KEEP) {
			mlr_buf_addc(&h, ' ');
			mlr_buf_adds(&h, a[o->a]);
		} else if (o->kind == OP_DEL) {
			mlr_buf_addc(&h, '-');
			mlr_buf_adds(&h, a[o->a]);
		} else {
			mlr_buf_addc(&h, '+');
			mlr_buf_adds(&h, b[o->b]);
		}
		mlr_lines_push(out, mlr_buf_detach(&h));
	}
}

/*
 * Appends to out the unified diff (with "--- expected" / "+++ actual"
 * headers and context lines around each change) that turns a into b,
 * where eq says whether an a line and a b line are the same. Returns the
 * number of changed lines; out gets nothing when that is 0.
 */
size_t mlr_diff_unified(struct mlr_lines *out, char *const *a, size_t na,
			char *const *b, size_t nb, mlr_line_eq eq,
			size_t context)
{
	struct ops ops = { NULL, 0, 0 };
	size_t pre = 0, suf = 0, k, changes = 0;

	while (pre < na && pre < nb && eq(a[pre], b[pre]))
		pre++;
	while (suf < na - pre && suf < nb - pre &&
	       eq(a[na - 1 - suf], b[nb - 1 - suf]))
		suf++;
	for (k = 0; k < pre; k++)
		push_op(&ops, OP_KEEP, k, k);
	diff_middle(&ops, a, pre, na - suf, b, pre, nb - suf, eq);
	for (k = suf; k > 0; k--)
		push_op(&ops, OP_KEEP, na - k, nb - k);

	for (k = 0; k < ops.n; k++)
		if (ops.v[k].kind != OP_KEEP)
			changes++;
	if (changes) {
		mlr_lines_pushdup(out, "--- expected");
		mlr_lines_pushdup(out, "+++ actual");
	}

	k = 0;
	while (k < ops.n) {
		size_t first, last, from, to, gap;

		while (k < ops.n && ops.v[k].kind == OP_KEEP)
			k++;
		if (k == ops.n)
			break;
		first = k;
		last = k;
		/* Extend the hunk while changes are close enough to share context. */
		for (;;) {
			while (last + 1 < ops.n && ops.v[last + 1].kind != OP_KEEP)
				last++;
			gap = 0;
			while (last + 1 + gap < ops.n &&
			       ops.v[last + 1 + gap].kind == OP_KEEP)
				gap++;
			if (last + 1 + gap < ops.n && gap <= 2 * context)
				last += gap + 1;
			else
				break;
		}
		from = first > context ? first - context : 0;
		to = last + 1 + context < ops.n ? last + 1 + context : ops.n;
		emit_hunk(out, &ops, from, to, a, b);
		k = to;
	}
	free(ops.v);
	return changes;
}
