/*
 * fuzz/driver.c - libFuzzer harness for the reference driver's command
 * reader and the library behind it (ref/driver.c and libmodlife).
 *
 * The input is what a runner would write on the driver's stdin: command
 * lines. Each input runs on a fresh instance (ml_new, the driver's own
 * set-up) over a fixed MODDIR of fixture modules (fuzz/modules/: per-host,
 * global, dependent, circular, raising, syntax error, self-firing,
 * lifecycle calls from handlers, status, shared tables, wrappers,
 * components, auth providers), through the same loop as modlife-ref's
 * main (serve: read_line, split, check_command, command_entry). So the
 * fuzzer reaches both the parsing of arbitrary bytes and every library
 * operation in any order, and ASan/UBSan/LSan watch all of it: nothing
 * may crash, leak (ml_free must release everything) or hang.
 *
 * The protocol output is checked too (PROTOCOL.md §3-§5, §8): exactly
 * one result line per command line read (ok, fail, raise, bad), and
 * only log and event lines before it; no byte below 0x20 nor 0x7f in
 * any line (the fuzzer puts any byte but newline, NUL and space into
 * event data and log arguments: escaping must keep every observation on
 * one line); no line over 64 KiB. A broken property aborts.
 *
 * ref/driver.c is included, with its main renamed, so that the harness
 * calls its static functions; the driver's protocol stream is pointed at
 * a memory stream for each input (the fixture modules do not print).
 *
 * MODDIR is $MODLIFE_FUZZ_MODDIR when set, else the fuzz/modules folder
 * the harness was built from (FUZZ_MODDIR).
 */
#define main modlife_ref_main
#include "../ref/driver.c"
#undef main

#include <stdint.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int modlife_ref_main(int argc, char **argv);

#define CHECK(cond)                                                       \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "fuzz/driver.c:%d: broken: %s\n", __LINE__,   \
                    #cond);                                               \
            abort();                                                      \
        }                                                                 \
    } while (0)

static const char *moddir;

/* The number of command lines serve reads from the input: one per
 * newline, and a last line without one. */
static size_t count_lines(const uint8_t *data, size_t size)
{
    size_t i, n = 0;

    for (i = 0; i < size; i++)
        if (data[i] == '\n')
            n++;
    return n + (size && data[size - 1] != '\n');
}

/* The protocol output of one input: observations, then one result line
 * per command. */
static void check_output(const char *out, size_t len, size_t commands)
{
    const char *q = out, *end = out + len;
    size_t results = 0;

    CHECK(len == 0 || out[len - 1] == '\n');
    while (q < end) {
        const char *nl = memchr(q, '\n', (size_t)(end - q));
        size_t n = (size_t)(nl - q), i;
        char *line = strndup(q, n);

        CHECK(n <= MAX_LINE);
        for (i = 0; i < n; i++)
            CHECK((unsigned char)q[i] >= 0x20 && q[i] != 0x7f);
        if ((n == 2 && !memcmp(q, "ok", 2)) || !strncmp(line, "ok ", 3) ||
            !strncmp(line, "fail ", 5) || !strncmp(line, "raise ", 6) ||
            !strncmp(line, "bad ", 4))
            results++;
        else
            CHECK(!strncmp(line, "log ", 4) || !strncmp(line, "event ", 6));
        free(line);
        q = nl + 1;
    }
    CHECK(results == commands);
    /* Nothing after the last result line. */
    if (len) {
        const char *last = end - 1;

        while (last > out && last[-1] != '\n')
            last--;
        CHECK(strncmp(last, "log ", 4) && strncmp(last, "event ", 6));
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    moddir = getenv("MODLIFE_FUZZ_MODDIR");
    if (!moddir || !*moddir)
        moddir = FUZZ_MODDIR;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct driver d = { NULL, LUA_NOREF };
    struct ml_observer observer = { on_log, on_event, &d };
    struct ml_error err;
    FILE *in;
    char *out = NULL;
    size_t len = 0;

    d.ml = ml_new(moddir, &observer, &err);
    if (!d.ml) {
        fprintf(stderr, "fuzz/driver.c: ml_new: %s\n", err.message);
        abort();
    }
    lua_pushcfunction(ml_lua(d.ml), setup_entry);
    lua_pushlightuserdata(ml_lua(d.ml), &d);
    if (lua_pcall(ml_lua(d.ml), 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "fuzz/driver.c: cannot set up\n");
        abort();
    }
    in = size ? fmemopen((void *)data, size, "r") : NULL;
    if (in) {
        protocol = open_memstream(&out, &len);
        CHECK(protocol != NULL);
        serve(&d, in);
        fclose(protocol);
        fclose(in);
        check_output(out, len, count_lines(data, size));
        free(out);
    }
    ml_free(d.ml);
    return 0;
}
