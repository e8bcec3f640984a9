/*
 * fuzz/case.c - libFuzzer harness for the runner's case file parser
 * (runner/case.c, spec/CASES.md).
 *
 * The input is the bytes of a case file. The parser must never crash,
 * leak, read out of bounds or hang on any of them, and what it answers
 * must be well-formed:
 *   - an error names a line of the input (1..lines; 0 only for an empty
 *     input, which has no line) and a one-line message;
 *   - a case it accepts has what run.c and match.c rely on: at least one
 *     step, each step's last expected item a result line (or a {*} line),
 *     no result line before it, non-empty groups and members, module
 *     names and labels of [A-Za-z0-9_-], directives naming a module
 *     section, and line numbers that stay inside the file, in order;
 *   - whatever parses normally also parses as a prototype (--record).
 * A broken property aborts, which libFuzzer reports as a crash.
 *
 * The case's path is "cases/fuzz/ID.case" with ID taken from the
 * input's first "id:" line, so that mutations are not all stopped by the
 * id-must-match-the-file-name check (an ID with a '/' still fails it).
 */
#include "../runner/mlr.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                       \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "fuzz/case.c:%d: broken: %s\n",   \
				__LINE__, #cond);                         \
			abort();                                          \
		}                                                         \
	} while (0)

/* The number of lines of the input, as the parser counts them. */
static unsigned count_lines(const char *data, size_t size)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			n++;
	if (size && data[size - 1] != '\n')
		n++;
	return n;
}

/* "cases/fuzz/ID.case" for the first "id:" line's value, trimmed. */
static char *case_path(const char *data, size_t size)
{
	struct mlr_buf path;
	const char *q = data, *end = data + size;

	mlr_buf_init(&path);
	mlr_buf_adds(&path, "cases/fuzz/");
	while (q < end) {
		const char *nl = memchr(q, '\n', (size_t)(end - q));
		size_t len = nl ? (size_t)(nl - q) : (size_t)(end - q);

		if (len > 3 && !memcmp(q, "id:", 3)) {
			const char *v = q + 3, *e = q + len;

			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			if (!memchr(v, '\0', (size_t)(e - v)))
				mlr_buf_add(&path, v, (size_t)(e - v));
			break;
		}
		q += len + 1;
	}
	mlr_buf_adds(&path, ".case");
	return mlr_buf_detach(&path);
}

static bool is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return false;
	return true;
}

static void check_line(const struct mlr_line *l, unsigned lines)
{
	CHECK(l->text != NULL);
	CHECK(l->lineno >= 1 && l->lineno <= lines);
	CHECK(!strchr(l->text, '\n'));
}

/* What a case the parser accepted must look like. */
static void check_case(const struct mlr_case *c, unsigned lines,
		       bool prototype)
{
	unsigned last = 0;
	size_t i, j, m, k;

	CHECK(c->id && c->title && c->rules && c->tags && c->needs);
	CHECK(c->title[0] && c->rules[0]);
	CHECK(c->nsteps >= 1);
	for (i = 0; i < c->nmodules; i++) {
		const struct mlr_module *mod = &c->modules[i];

		CHECK(is_name(mod->name));
		CHECK(strlen(mod->name) <= MLR_MODULE_NAME_MAX);
		CHECK(!mod->label || is_name(mod->label));
		CHECK(mod->text && strlen(mod->text) == mod->len);
		CHECK(mod->lineno > last && mod->lineno <= lines);
		last = mod->lineno;
	}
	for (i = 0; i < c->nsteps; i++) {
		const struct mlr_step *s = &c->steps[i];

		for (j = 0; j < s->ndirectives; j++) {
			check_line(&s->directives[j].line, lines);
			CHECK(s->directives[j].module < c->nmodules);
			CHECK(s->directives[j].line.lineno > last);
			last = s->directives[j].line.lineno;
		}
		check_line(&s->command, lines);
		CHECK(s->command.lineno > last);
		last = s->command.lineno;
		CHECK(s->command.text[0] && s->command.text[0] != ' ');
		CHECK(prototype || s->nitems >= 1);
		CHECK(s->nraw >= s->nitems);
		for (j = 0; j < s->nraw; j++) {
			check_line(&s->raw[j], lines);
			CHECK(s->raw[j].lineno > last);
			last = s->raw[j].lineno;
		}
		for (j = 0; j < s->nitems; j++) {
			const struct mlr_item *it = &s->items[j];

			CHECK(it->lineno > s->command.lineno);
			CHECK(j + 1 == s->nitems || !mlr_item_has_result_line(it));
			if (it->kind == MLR_ITEM_LINE) {
				check_line(&it->line, lines);
				continue;
			}
			CHECK(it->nmembers >= 1);
			for (m = 0; m < it->nmembers; m++) {
				CHECK(it->members[m].nlines >= 1);
				for (k = 0; k < it->members[m].nlines; k++)
					check_line(&it->members[m].lines[k],
						   lines);
			}
		}
		if (s->nitems && s->items[s->nitems - 1].kind == MLR_ITEM_LINE) {
			const char *t = s->items[s->nitems - 1].line.text;

			CHECK(mlr_is_result_line(t) || !strncmp(t, "{*}", 3));
		}
	}
}

/* What an error must look like: a line of the file, a one-line message. */
static void check_error(const struct mlr_error *e, unsigned lines)
{
	size_t n = strnlen(e->message, sizeof e->message);

	CHECK(n > 0 && n < sizeof e->message);
	CHECK(!memchr(e->message, '\n', n));
	CHECK(lines == 0 ? e->line == 0 : e->line >= 1 && e->line <= lines);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	unsigned lines = count_lines(text, size);
	char *path = case_path(text, size);
	struct mlr_case c;
	struct mlr_error e;
	int rc, rc_proto;

	rc = mlr_case_parse(&c, path, text, size, 0, &e);
	if (rc)
		check_error(&e, lines);
	else
		check_case(&c, lines, false);
	mlr_case_release(&c);

	rc_proto = mlr_case_parse(&c, path, text, size, MLR_CASE_PROTOTYPE,
				  &e);
	if (rc_proto)
		check_error(&e, lines);
	else
		check_case(&c, lines, true);
	CHECK(rc || !rc_proto);
	mlr_case_release(&c);
	free(path);
	return 0;
}
