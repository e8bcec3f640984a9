/*
 * buf.c - allocation, growable byte buffers and line vectors.
 *
 * Running out of memory is not a verdict on the driver, so it ends the
 * runner; exit() still runs the atexit hook that kills the driver's
 * process group and removes the temporary directory (main.c).
 */
#include "mlr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(void)
{
	fputs("modlife-run: out of memory\n", stderr);
	exit(70);
}

/* malloc, calloc, realloc, strdup that end the runner instead of failing. */
void *mlr_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *mlr_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

void *mlr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		out_of_memory();
	return p;
}

char *mlr_xstrdup(const char *s)
{
	return mlr_xstrndup(s, strlen(s));
}

char *mlr_xstrndup(const char *s, size_t n)
{
	char *p = mlr_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/*
 * Makes *ptr an array of at least need elements of elem bytes, growing
 * geometrically; *cap is the current capacity in elements.
 */
void mlr_grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
	size_t c = *cap;

	if (need <= c)
		return;
	if (c < 8)
		c = 8;
	while (c < need) {
		if (c > SIZE_MAX / 2)
			out_of_memory();
		c *= 2;
	}
	if (c > SIZE_MAX / elem)
		out_of_memory();
	*ptr = mlr_xrealloc(*ptr, c * elem);
	*cap = c;
}

/* An empty buffer that owns nothing yet; mlr_buf_release frees it. */
void mlr_buf_init(struct mlr_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void mlr_buf_release(struct mlr_buf *b)
{
	free(b->data);
	mlr_buf_init(b);
}

/* Appends bytes (may include NULs); the data stays NUL-terminated. */
void mlr_buf_add(struct mlr_buf *b, const void *data, size_t len)
{
	void *p = b->data;

	if (len > SIZE_MAX - b->len - 1)
		out_of_memory();
	mlr_grow(&p, &b->cap, b->len + len + 1, 1);
	b->data = p;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void mlr_buf_adds(struct mlr_buf *b, const char *s)
{
	mlr_buf_add(b, s, strlen(s));
}

void mlr_buf_addc(struct mlr_buf *b, char c)
{
	mlr_buf_add(b, &c, 1);
}

/* Appends printf-formatted text. */
void mlr_buf_vaddf(struct mlr_buf *b, const char *fmt, va_list ap)
{
	va_list copy;
	int n;
	void *p;

	va_copy(copy, ap);
	n = vsnprintf(NULL, 0, fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	p = b->data;
	mlr_grow(&p, &b->cap, b->len + (size_t)n + 1, 1);
	b->data = p;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void mlr_buf_addf(struct mlr_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mlr_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

/* Drops the first n bytes (consumed input). */
void mlr_buf_consume(struct mlr_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data)
		b->data[b->len] = '\0';
}

/* The contents as a string; "" for a buffer that never got any. */
const char *mlr_buf_str(const struct mlr_buf *b)
{
	return b->data ? b->data : "";
}

/* Hands the string to the caller, who frees it; the buffer is empty. */
char *mlr_buf_detach(struct mlr_buf *b)
{
	char *s = b->data ? b->data : mlr_xstrdup("");

	mlr_buf_init(b);
	return s;
}

/* An empty line vector; mlr_lines_release frees it and every line. */
void mlr_lines_init(struct mlr_lines *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void mlr_lines_release(struct mlr_lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	mlr_lines_init(l);
}

/* Appends line; the vector takes ownership. */
void mlr_lines_push(struct mlr_lines *l, char *line)
{
	void *p = l->v;

	mlr_grow(&p, &l->cap, l->n + 1, sizeof *l->v);
	l->v = p;
	l->v[l->n++] = line;
}

void mlr_lines_pushdup(struct mlr_lines *l, const char *line)
{
	mlr_lines_push(l, mlr_xstrdup(line));
}
