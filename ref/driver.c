/*
 * driver.c - modlife-ref, the reference implementation's driver: speaks
 * the modlife driver protocol (spec/PROTOCOL.md) on stdin and stdout.
 *
 *     modlife-ref MODDIR
 *
 * It reads one command per line, runs it through libmodlife and writes
 * the observations (log and event lines) and the result line. The
 * protocol goes out on a private copy of fd 1, and fd 1 itself is pointed
 * at stderr (as adapters/prosody does): nothing module code or its child
 * processes write (print, io.write, io.open("/dev/stdout"), os.execute)
 * can reach the protocol stream.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <unistd.h>

#include "modlife.h"

#define PROTOCOL_VERSION 1
/* The capabilities announced in the greeting (PROTOCOL.md §1): the parts
 * of Prosody's module system that libmodlife implements. */
#define CAPABILITIES \
    "config reload depends items host-items status shared-data wrappers " \
    "components unhook meta reload-state auth-providers format hook-tag " \
    "context start timers"
#define MAX_LINE 65536                      /* bytes, without the newline */
#define MAX_WORDS (MAX_LINE / 2 + 1)
/* Exit status when memory runs out before the greeting: no state to go
 * on with (ref/README.md, allocation-failure injection). */
#define EXIT_NOMEM 3

struct driver {
    struct ml *ml;
    int ref_watch;                          /* set of watched event names */
};

/* A parsed command line, passed to command_entry. */
struct command {
    struct driver *driver;
    char **words;
    int count;
};

/* The protocol stream (open_protocol); fuzz/driver.c points it at a
 * memory stream. */
static FILE *protocol;

/* Names of the lifecycle events (§3.2); item-added/ and item-removed/
 * prefixes are checked separately. */
static const char *const lifecycle_events[] = {
    "module-loaded", "module-unloaded", "module-reloaded",
    "host-activated", "host-deactivated",
};

/* Write the string on top of the stack as one output line and pop it. */
static void write_top(lua_State *L)
{
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);

    fwrite(s, 1, len, protocol);
    fputc('\n', protocol);
    lua_pop(L, 1);
}

/* Observer: "log LOGGER LEVEL MESSAGE" (§3.1). */
static void on_log(void *ud, lua_State *L, const char *logger,
                   const char *level, int msg)
{
    struct driver *d = ud;

    lua_pushliteral(L, "log ");
    lua_pushstring(L, logger);
    ml_render_escaped(L, lua_gettop(L));
    lua_remove(L, -2);
    lua_pushfstring(L, " %s ", level);
    ml_render_text(L, d->ml, msg);
    lua_concat(L, 4);
    write_top(L);
}

/* Whether event 'name' (stack index) is reported: a lifecycle event or a
 * watched name. */
static bool is_reported(struct driver *d, lua_State *L, int name)
{
    const char *s;
    size_t len, i;
    bool watched;
    int top;

    if (lua_type(L, name) != LUA_TSTRING)
        return false;
    s = lua_tolstring(L, name, &len);
    for (i = 0; i < sizeof(lifecycle_events) / sizeof(lifecycle_events[0]);
         i++)
        if (strlen(lifecycle_events[i]) == len &&
            memcmp(s, lifecycle_events[i], len) == 0)
            return true;
    if ((len >= 11 && memcmp(s, "item-added/", 11) == 0) ||
        (len >= 13 && memcmp(s, "item-removed/", 13) == 0))
        return true;
    /* 'watch *' reports every event (§2). */
    top = lua_gettop(L);
    if (lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref_watch) != LUA_TTABLE)
        luaL_error(L, "registry entry %d rewritten", d->ref_watch);
    lua_pushvalue(L, name);
    watched = lua_rawget(L, -2) != LUA_TNIL;
    lua_pushliteral(L, "*");
    watched = lua_rawget(L, -3) != LUA_TNIL || watched;
    lua_settop(L, top);
    return watched;
}

/* Observer: "event OBJECT NAME DATA" (§3.2). */
static void on_event(void *ud, lua_State *L, const char *object, int name,
                     int data)
{
    struct driver *d = ud;

    if (!is_reported(d, L, name))
        return;
    lua_pushliteral(L, "event ");
    lua_pushstring(L, object);
    ml_render_escaped(L, lua_gettop(L));
    lua_remove(L, -2);
    lua_pushliteral(L, " ");
    ml_render_escaped(L, name);
    lua_concat(L, 4);
    ml_render_data(L, d->ml, data);
    if (lua_rawlen(L, -1) > 0) {
        lua_pushliteral(L, " ");
        lua_insert(L, -2);
        lua_concat(L, 3);
    } else {
        lua_pop(L, 1);
    }
    write_top(L);
}

/* Push the result line of a lifecycle command from the operation's
 * status and results (§4). */
static void push_lifecycle_result(struct driver *d, lua_State *L, int status)
{
    int top = lua_gettop(L);

    if (status != ML_OK) {
        lua_pushliteral(L, "raise ");
        ml_render_value(L, d->ml, top);
        lua_concat(L, 2);
        return;
    }
    if (lua_toboolean(L, top - 1)) {
        lua_pushliteral(L, "ok ");
        ml_render_value(L, d->ml, top - 1);
        lua_concat(L, 2);
        return;
    }
    lua_pushliteral(L, "fail ");
    ml_render_value(L, d->ml, top - 1);
    lua_pushliteral(L, " ");
    ml_render_value(L, d->ml, top);
    lua_concat(L, 4);
}

/* Push the result line of 'fire' (§4: ok V, or raise E). */
static void push_fire_result(struct driver *d, lua_State *L, int status)
{
    lua_pushstring(L, status == ML_OK ? "ok " : "raise ");
    ml_render_value(L, d->ml, -2);
    lua_concat(L, 2);
}

/* Push the result line of 'list': ok and the sorted names, or ok (none). */
static void push_list_result(struct driver *d, lua_State *L, int status)
{
    luaL_Buffer b;
    lua_Integer i, n;
    int names = lua_gettop(L);

    if (status != ML_OK) {
        push_fire_result(d, L, status);
        return;
    }
    if (lua_isnil(L, names)) {
        lua_pushliteral(L, "ok (none)");
        return;
    }
    n = (lua_Integer)lua_rawlen(L, names);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "ok");
    for (i = 1; i <= n; i++) {
        luaL_addchar(&b, ' ');
        lua_rawgeti(L, names, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
}

/* Build the data table of 'fire' from K=V words. */
static void push_fire_data(lua_State *L, char **pairs, int count)
{
    int i;

    lua_createtable(L, 0, count);
    for (i = 0; i < count; i++) {
        char *eq = strchr(pairs[i], '=');

        lua_pushlstring(L, pairs[i], (size_t)(eq - pairs[i]));
        lua_pushstring(L, eq + 1);
        lua_rawset(L, -3);
    }
}

/* Push a new array of the autoloaded modules, followed by the values of
 * 'extra' (stack index, 0 for none): an array's items, or a single
 * value. PROTOCOL.md §6: the server disables every autoloaded module,
 * and a case's global modules_disabled adds to that list. */
static void push_disabled_list(lua_State *L, int extra)
{
    const char *const *name;
    lua_Integer n = 0, i;

    lua_newtable(L);
    for (name = ml_autoload_modules(); *name; name++) {
        lua_pushstring(L, *name);
        lua_rawseti(L, -2, ++n);
    }
    if (!extra)
        return;
    if (!lua_istable(L, extra)) {
        lua_pushvalue(L, extra);
        lua_rawseti(L, -2, ++n);
        return;
    }
    for (i = 1; i <= (lua_Integer)lua_rawlen(L, extra); i++) {
        lua_rawgeti(L, extra, i);
        lua_rawseti(L, -2, ++n);
    }
}

/* Push the value of 'config HOST KEY VALUE' (PROTOCOL.md §6): VALUE is
 * the rest of the line, the words 'words[0..count)' joined again by
 * single spaces. A list [a b c] gives its words, a quoted "..." the text
 * between the quotes as a string (so "true" or "3" stay strings), true
 * or false a boolean, a decimal integer a number, anything else the text
 * itself. The command was checked by check_command. */
static void push_config_value(lua_State *L, char **words, int count)
{
    const char *w;
    size_t len, i, start;
    lua_Integer n = 0;
    int k;

    for (k = 0; k < count; k++) {
        if (k > 0)
            lua_pushliteral(L, " ");
        lua_pushstring(L, words[k]);
    }
    lua_concat(L, 2 * count - 1);
    w = lua_tolstring(L, -1, &len);
    if (w[0] == '[') {
        lua_newtable(L);
        for (i = 1; i + 1 < len; i = start) {
            for (start = i; start + 1 < len && w[start] != ' '; start++)
                ;
            if (start > i) {
                lua_pushlstring(L, w + i, start - i);
                lua_rawseti(L, -2, ++n);
            }
            start++;
        }
    } else if (w[0] == '"') {
        lua_pushlstring(L, w + 1, len - 2);
    } else if (strcmp(w, "true") == 0 || strcmp(w, "false") == 0) {
        lua_pushboolean(L, w[0] == 't');
    } else if (strspn(w + (w[0] == '-'), "0123456789") == len - (w[0] == '-') &&
               len > (size_t)(w[0] == '-') && lua_stringtonumber(L, w) != 0) {
        if (!lua_isinteger(L, -1)) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
        }
    } else {
        lua_pushvalue(L, -1);
    }
    lua_remove(L, -2);
}

/* Run 'config HOST KEY VALUE...': push the value and set it. */
static int run_config(struct driver *d, lua_State *L, char **w, int count)
{
    int value;

    push_config_value(L, w + 3, count - 3);
    value = lua_gettop(L);
    if (strcmp(w[1], "*") == 0 && strcmp(w[2], "modules_disabled") == 0) {
        push_disabled_list(L, value);
        value = lua_gettop(L);
    }
    return ml_config(d->ml, w[1], w[2], value);
}

/* Protected body of one well-formed command: runs it and returns its
 * result line. Argument: the struct command. */
static int command_entry(lua_State *L)
{
    struct command *cmd = lua_touserdata(L, 1);
    struct driver *d = cmd->driver;
    struct ml *ml = d->ml;
    char **w = cmd->words;
    int status;

    lua_settop(L, 0);
    if (strcmp(w[0], "activate") == 0) {
        push_lifecycle_result(d, L, ml_activate(ml, w[1]));
    } else if (strcmp(w[0], "deactivate") == 0) {
        push_lifecycle_result(d, L, ml_deactivate(ml, w[1]));
    } else if (strcmp(w[0], "load") == 0) {
        push_lifecycle_result(d, L, ml_load(ml, w[1], w[2]));
    } else if (strcmp(w[0], "unload") == 0) {
        push_lifecycle_result(d, L, ml_unload(ml, w[1], w[2]));
    } else if (strcmp(w[0], "reload") == 0) {
        push_lifecycle_result(d, L, ml_reload(ml, w[1], w[2]));
    } else if (strcmp(w[0], "fire") == 0) {
        push_fire_data(L, w + 3, cmd->count - 3);
        status = ml_fire(ml, w[1], w[2], 1);
        push_fire_result(d, L, status);
    } else if (strcmp(w[0], "list") == 0) {
        push_list_result(d, L, ml_list(ml, w[1]));
    } else if (strcmp(w[0], "start") == 0 || strcmp(w[0], "advance") == 0) {
        /* PROTOCOL.md §9 */
        const char *why = NULL;

        status = w[0][0] == 's' ? ml_start(ml, &why)
                                : ml_advance(ml, strtod(w[1], NULL), &why);
        if (status == ML_OK) {
            lua_pushliteral(L, "ok");
        } else if (status == ML_EINVAL) {
            lua_pushfstring(L, "bad %s", why);
        } else {
            lua_pushliteral(L, "raise ");
            ml_render_value(L, ml, -2);
            lua_concat(L, 2);
        }
    } else if (strcmp(w[0], "config") == 0) {
        status = run_config(d, L, w, cmd->count);
        if (status == ML_OK) {
            lua_pushliteral(L, "ok");
        } else {
            lua_pushliteral(L, "raise ");
            ml_render_value(L, ml, -2);
            lua_concat(L, 2);
        }
    } else {
        lua_rawgeti(L, LUA_REGISTRYINDEX, d->ref_watch);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, w[1]);
        lua_pushliteral(L, "ok");
    }
    return 1;
}

/* The number of words each verb takes (fire: at least 3). */
static const struct {
    const char *verb;
    int words;
} verbs[] = {
    { "activate", 2 }, { "deactivate", 2 }, { "load", 3 }, { "unload", 3 },
    { "reload", 3 }, { "fire", 3 }, { "list", 2 }, { "watch", 2 },
    { "config", 4 }, { "start", 1 }, { "advance", 2 },
};

/* Whether the words from 'first' to 'count' form a config value (§6):
 * any text, but a list must close its '[' with ']' and a quoted string
 * its '"' with '"'. */
static bool is_config_value(char **words, int first, int count)
{
    char open = words[first][0];
    size_t last = strlen(words[count - 1]);

    if (open == '[' || open == '"')
        return words[count - 1][last - 1] == (open == '[' ? ']' : '"') &&
               !(count - 1 == first && last == 1);
    return true;
}

/* Check a split command line; NULL when well formed, else the reason. */
static const char *check_command(char **words, int count)
{
    size_t i;
    int j;

    for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(words[0], verbs[i].verb) != 0)
            continue;
        if (strcmp(words[0], "config") == 0)
            return count >= verbs[i].words && is_config_value(words, 3, count)
                       ? NULL : "config: an unclosed list [a b c] or quoted \"string\"";
        if (count < verbs[i].words ||
            (count > verbs[i].words && strcmp(words[0], "fire") != 0))
            return "wrong number of words";
        for (j = 3; strcmp(words[0], "fire") == 0 && j < count; j++)
            if (!strchr(words[j], '='))
                return "event data is not KEY=VALUE";
        if (strcmp(words[0], "advance") == 0 &&
            (strspn(words[1], "0123456789") != strlen(words[1]) ||
             strlen(words[1]) > 9))
            return "usage: advance SECONDS (a whole number)";
        return NULL;
    }
    return "unknown command";
}

/* A well-formed command of a capability switched off with MODLIFE_WITHOUT
 * (ref/without.c): config, a component_module option, reload, start,
 * advance. NULL when the command is available, else the reason for "bad". */
static const char *check_available(const struct driver *d, char **words)
{
    if (strcmp(words[0], "config") == 0 && ml_lacks(d->ml, "config"))
        return "config: capability switched off";
    if (strcmp(words[0], "config") == 0 &&
        strcmp(words[2], "component_module") == 0 &&
        ml_lacks(d->ml, "components"))
        return "components: capability switched off";
    if (strcmp(words[0], "reload") == 0 && ml_lacks(d->ml, "reload"))
        return "reload: capability switched off";
    if (strcmp(words[0], "start") == 0 && ml_lacks(d->ml, "start"))
        return "start: capability switched off";
    if (strcmp(words[0], "advance") == 0 && ml_lacks(d->ml, "timers"))
        return "timers: capability switched off";
    return NULL;
}

/* Split 'line' in place on single spaces. Returns the number of words,
 * or -1 when a word is empty (two spaces, or a space at either end). */
static int split(char *line, char **words)
{
    int count = 0;
    char *p = line;

    for (;;) {
        char *space = strchr(p, ' ');

        if (space)
            *space = '\0';
        if (*p == '\0' || count == MAX_WORDS)
            return -1;
        words[count++] = p;
        if (!space)
            return count;
        p = space + 1;
    }
}

/* Read one line of 'in' without its newline. Returns 1 for a line, 0 at
 * the end of input, -1 for a line longer than MAX_LINE (read and
 * dropped), -2 for a line containing a NUL byte. */
static int read_line(FILE *in, char *buf, size_t *len)
{
    int c, status = 1;
    size_t n = 0;
    bool any = false;

    while ((c = getc(in)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (n == MAX_LINE) {
            status = -1;
            continue;
        }
        if (c == '\0' && status == 1)
            status = -2;
        buf[n++] = (char)c;
    }
    if (!any)
        return 0;
    buf[n] = '\0';
    *len = n;
    return status;
}

/* Module code's print(), written to stderr. */
static int print_stderr(lua_State *L)
{
    int i, n = lua_gettop(L);

    for (i = 1; i <= n; i++) {
        size_t len;
        const char *s = luaL_tolstring(L, i, &len);

        if (i > 1)
            fputc('\t', stderr);
        fwrite(s, 1, len, stderr);
        lua_pop(L, 1);
    }
    fputc('\n', stderr);
    return 0;
}

/* Protected set-up: the watch set; print(), io.write and io.stdout
 * pointed at stderr; the server's global modules_disabled, every
 * autoloaded module (PROTOCOL.md §6). */
static int setup_entry(lua_State *L)
{
    struct driver *d = lua_touserdata(L, 1);

    lua_newtable(L);
    d->ref_watch = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushcfunction(L, print_stderr);
    lua_setglobal(L, "print");
    lua_getglobal(L, "io");
    lua_getfield(L, -1, "output");
    lua_getfield(L, -2, "stderr");
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "stderr");
    lua_setfield(L, -2, "stdout");
    lua_pop(L, 1);
    push_disabled_list(L, 0);
    if (ml_config(d->ml, "*", "modules_disabled", lua_gettop(L)) != ML_OK)
        return lua_error(L);
    return 0;
}

/* Whether the error on top of the stack, raised with 'status', is an
 * out-of-memory error: Lua's own, or "not enough memory" raised where
 * the library's C allocation failed. */
static bool is_memory_error(lua_State *L, int status)
{
    return status == LUA_ERRMEM || (lua_type(L, -1) == LUA_TSTRING &&
           strcmp(lua_tostring(L, -1), "not enough memory") == 0);
}

/* Read MODLIFE_FAIL_ALLOC (N: fail allocation request N; N+: N and every
 * later one) and MODLIFE_COUNT_ALLOC; see ref/README.md. Returns false
 * for a malformed value. */
static bool setup_injection(bool *count)
{
    const char *s = getenv("MODLIFE_FAIL_ALLOC");
    const char *c = getenv("MODLIFE_COUNT_ALLOC");
    unsigned long n;
    char *end;

    *count = c && *c && strcmp(c, "0") != 0;
    if (!s || !*s)
        return true;
    if (*s < '0' || *s > '9')
        return false;
    n = strtoul(s, &end, 10);
    if (n == 0 || (*end != '\0' && strcmp(end, "+") != 0))
        return false;
    ml_alloc_fail(n, *end == '+');
    return true;
}

/* Switch off the capabilities named in MODLIFE_WITHOUT (words separated
 * by commas or spaces; ref/without.c). Returns 0, or the exit status
 * after saying why on stderr: 2 for a word that is not a capability,
 * EXIT_NOMEM when memory ran out. */
static int setup_without(struct ml *ml)
{
    const char *s = getenv("MODLIFE_WITHOUT");
    char word[64];
    size_t n;

    while (s && *s) {
        n = strcspn(s, ", ");
        if (n > 0) {
            int status = ML_EINVAL;

            if (n < sizeof(word)) {
                memcpy(word, s, n);
                word[n] = '\0';
                status = ml_without(ml, word);
            }
            if (status != ML_OK) {
                fprintf(stderr, "modlife-ref: MODLIFE_WITHOUT: %s '%.*s'\n",
                        status == ML_ENOMEM ? "out of memory at"
                                            : "not a capability:",
                        (int)(n > 60 ? 60 : n), s);
                return status == ML_ENOMEM ? EXIT_NOMEM : 2;
            }
        }
        s += n;
        s += strspn(s, ", ");
    }
    return 0;
}

/* The greeting: the protocol version, the capabilities less those
 * switched off, and the release word for 13.0.1 (PROTOCOL.md §1). */
static void greet(const struct driver *d, enum ml_release release)
{
    const char *s = CAPABILITIES;

    fprintf(protocol, "modlife %d", PROTOCOL_VERSION);
    while (*s) {
        size_t n = strcspn(s, " ");
        char word[64];

        memcpy(word, s, n);
        word[n] = '\0';
        if (!ml_lacks(d->ml, word))
            fprintf(protocol, " %s", word);
        s += n;
        s += strspn(s, " ");
    }
    fprintf(protocol, "%s\n", release == ML_RELEASE_13 ? " prosody=13" : "");
}

/* Run one command line and write its output. */
static void run_line(struct driver *d, char *line, char **words)
{
    lua_State *L = ml_lua(d->ml);
    struct command cmd;
    const char *reason;
    int status, count = split(line, words);

    reason = count < 0 ? "empty word" : check_command(words, count);
    if (!reason)
        reason = check_available(d, words);
    if (reason) {
        fprintf(protocol, "bad %s\n", reason);
        return;
    }
    cmd.driver = d;
    cmd.words = words;
    cmd.count = count;
    lua_pushcfunction(L, command_entry);
    lua_pushlightuserdata(L, &cmd);
    status = lua_pcall(L, 1, 1, 0);
    if (status != LUA_OK) {
        /* Not lua_tostring on a number: outside protected mode it must
         * not allocate. */
        const char *msg = lua_type(L, -1) == LUA_TSTRING
                              ? lua_tostring(L, -1) : "error";

        fprintf(stderr, "modlife-ref: %s\n", msg);
        /* Rendering the result needs memory too: when that is what ran
         * out, the result line is still the error (ref/README.md). */
        fprintf(protocol, "raise \"%s\"\n", is_memory_error(L, status)
                                 ? "not enough memory" : "driver error");
        lua_pop(L, 1);
        return;
    }
    write_top(L);
}

/* The protocol loop: read command lines from 'in' until its end and
 * write each one's output. Apart from main so that the fuzzer
 * (fuzz/driver.c) runs the same loop on its input. */
static void serve(struct driver *d, FILE *in)
{
    static char line[MAX_LINE + 1];
    static char *words[MAX_WORDS];
    size_t len;
    int status;

    while ((status = read_line(in, line, &len)) != 0) {
        if (status == -1)
            fprintf(protocol, "bad line too long\n");
        else if (status == -2)
            fprintf(protocol, "bad NUL byte in line\n");
        else
            run_line(d, line, words);
        fflush(protocol);
    }
}

/* Open the protocol stream: a close-on-exec copy of fd 1 (child
 * processes do not inherit it), then fd 1 pointed at stderr. Returns
 * false when a descriptor call fails. */
static bool open_protocol(void)
{
    int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);

    if (fd < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
        return false;
    protocol = fdopen(fd, "w");
    return protocol != NULL;
}

int main(int argc, char **argv)
{
    struct driver d = { NULL, LUA_NOREF };
    struct ml_observer observer = { on_log, on_event, &d };
    struct ml_error err;
    enum ml_release release = ML_RELEASE_0_12;
    int status;
    bool count;

    /* --prosody 13: follow Prosody 13.0.1 (PROTOCOL.md §1, prosody=13);
     * no "=" in it, which prove's --modlifecase-option would split on. */
    if (argc == 4 && strcmp(argv[1], "--prosody") == 0 &&
        (strcmp(argv[2], "13") == 0 || strcmp(argv[2], "0.12") == 0)) {
        if (argv[2][0] == '1' && argv[2][1] == '3')
            release = ML_RELEASE_13;
        argv += 2;
        argc -= 2;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--prosody 0.12|13] MODDIR\n",
                argv[0]);
        return 2;
    }
    if (!setup_injection(&count)) {
        fprintf(stderr, "modlife-ref: MODLIFE_FAIL_ALLOC: expected N or N+ "
                        "with N > 0\n");
        return 2;
    }
    if (!open_protocol()) {
        perror("modlife-ref: protocol stream");
        return 1;
    }
    d.ml = ml_new_release(argv[1], &observer, release, &err);
    if (!d.ml) {
        if (err.code == ML_ENOMEM) {
            fprintf(stderr, "modlife-ref: out of memory\n");
            return EXIT_NOMEM;
        }
        fprintf(stderr, "modlife-ref: %s\n", err.message);
        return 1;
    }
    lua_pushcfunction(ml_lua(d.ml), setup_entry);
    lua_pushlightuserdata(ml_lua(d.ml), &d);
    status = lua_pcall(ml_lua(d.ml), 1, 0, 0);
    if (status != LUA_OK) {
        bool nomem = is_memory_error(ml_lua(d.ml), status);

        fprintf(stderr, "modlife-ref: %s\n",
                nomem ? "out of memory" : "cannot set up");
        ml_free(d.ml);
        return nomem ? EXIT_NOMEM : 1;
    }
    if ((status = setup_without(d.ml)) != 0) {
        ml_free(d.ml);
        return status;
    }
    greet(&d, release);
    fflush(protocol);
    serve(&d, stdin);
    fclose(protocol);
    ml_free(d.ml);
    if (ml_alloc_caught() > 0)
        fprintf(stderr, "modlife-ref: %lu memory errors caught where Prosody "
                        "catches errors\n", ml_alloc_caught());
    if (count) {
        const unsigned long *c;
        size_t i, n = ml_alloc_c_requests(&c);

        fprintf(stderr, "modlife-ref: %lu allocations\n", ml_alloc_count());
        fprintf(stderr, "modlife-ref: C allocations at");
        for (i = 0; i < n; i++)
            fprintf(stderr, " %lu", c[i]);
        fprintf(stderr, "\n");
    }
    return 0;
}
