/*
 * fuzz/driver.c - libFuzzer harness for the reference driver's command
 * reader and the library behind it (ref/driver.c, ref/*.c).
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
 * ref/driver.c is included, with its main renamed, so that the harness
 * calls its static functions; the driver's stdout (the protocol output)
 * goes to /dev/null (the fixture modules do not print).
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

static const char *moddir;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    moddir = getenv("MODLIFE_FUZZ_MODDIR");
    if (!moddir || !*moddir)
        moddir = FUZZ_MODDIR;
    if (!freopen("/dev/null", "w", stdout)) {
        perror("fuzz/driver.c: /dev/null");
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct driver d = { NULL, LUA_NOREF };
    struct ml_observer observer = { on_log, on_event, &d };
    struct ml_error err;
    FILE *in;

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
        serve(&d, in);
        fclose(in);
    }
    ml_free(d.ml);
    return 0;
}
