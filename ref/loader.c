/*
 * loader.c - util.pluginloader as modulemanager configures it: find
 * mod_NAME among the candidate paths of the module directory, filter it
 * on its "--% key: value" metadata, compile it.
 *
 * Files are opened and read with Lua's own io functions, captured when
 * the state is created (before any module could replace them), so the
 * error messages are io.open's ("<path>: No such file or directory") and
 * an open file is owned by Lua, never leaked by an error. A candidate
 * path is first probed with open(2), which costs no Lua string; only
 * one that opens is read through io.open.
 *
 * Compiled chunks are cached by chunk name and file text: loading the
 * same text again runs a new closure of the same compiled prototype, as
 * if it had been compiled afresh (see compile()).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "modlife-int.h"

/* Candidate paths inside a plugin directory, in the order Prosody tries
 * them (R-LOAD-21); '@' stands for the module name. */
static const char *const candidates[] = {
    "mod_@/@/mod_@.lua",
    "mod_@/mod_@.lua",
    "@/mod_@.lua",
    "mod_@.lua",
    "share/lua/" LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "/mod_@.lua",
    "share/lua/" LUA_VERSION_MAJOR "." LUA_VERSION_MINOR "/mod_@/mod_@.lua",
};

/* core.features.available, for 'requires' and 'conflicts' metadata
 * (R-LOAD-20): Prosody 0.12.3's is the first entry alone, 13.0.1's the
 * whole list. */
static const char *const core_features[] = {
    "mod_bookmarks",
    "mod_server_info", "mod_flags", "mod_cloud_notify", "muc_vcard",
    "http_altconnect", "permissions", "loader", "keyval+",
    "s2sout-pre-connect-event", "split-user-roles", "getopt-enum",
    "getopt-interval", "getopt-period", "getopt-integer", "module-ready",
    "signal-events",
};
#define CORE_FEATURES_0_12 1

/*
 * Capture io.open, the read and close methods of files and string.format
 * into the registry. Called once, right after the standard libraries are
 * opened.
 */
void ml_loader_init(lua_State *L, struct ml *ml)
{
    lua_getglobal(L, "io");
    lua_getfield(L, -1, "open");
    ml->ref_io_open = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    luaL_getmetatable(L, LUA_FILEHANDLE);
    lua_getfield(L, -1, "__index");
    lua_getfield(L, -1, "read");
    ml->ref_io_read = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_getfield(L, -1, "close");
    ml->ref_io_close = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 2);
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "format");
    ml->ref_format = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pop(L, 1);
    lua_newtable(L);
    ml->ref_chunks = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Push MODDIR/<template with '@' replaced by the name at 'name'>. */
static void push_candidate(lua_State *L, struct ml *ml, const char *tmpl,
                           int name)
{
    luaL_Buffer b;
    const char *p;

    luaL_buffinit(L, &b);
    luaL_addlstring(&b, ml->moddir, ml->moddir_len);
    luaL_addchar(&b, '/');
    for (p = tmpl; *p; p++) {
        if (*p != '@') {
            luaL_addchar(&b, *p);
            continue;
        }
        lua_pushvalue(L, name);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
}

/* Store the metadata line [s, s+n) into the table on top of the stack if
 * it has the form "--% key: value" (pattern ^%-%-%% *([%w_]+): *(.+)$,
 * value stripped of trailing space). */
static void parse_metadata_line(lua_State *L, const char *s, size_t n)
{
    size_t i = 3, key, key_end, value, end;

    if (n < 3 || memcmp(s, "--%", 3) != 0)
        return;
    while (i < n && s[i] == ' ')
        i++;
    key = i;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '_'))
        i++;
    key_end = i;
    if (key_end == key || i >= n || s[i] != ':')
        return;
    i++;
    if (i >= n)
        return;
    while (i < n - 1 && s[i] == ' ')
        i++;
    value = i;
    end = n;
    while (end > value && isspace((unsigned char)s[end - 1]))
        end--;
    lua_pushlstring(L, s + key, key_end - key);
    lua_pushlstring(L, s + value, end - value);
    lua_rawset(L, -3);
}

/* Push the metadata table of a module's text: every line (a run of
 * characters other than CR and LF followed by LF or CR LF) is examined. */
static void push_metadata(lua_State *L, const char *s, size_t len)
{
    size_t i = 0;

    lua_newtable(L);
    while (i < len) {
        size_t start = i;

        while (i < len && s[i] != '\r' && s[i] != '\n')
            i++;
        if (i > start && i < len && s[i] == '\n') {
            parse_metadata_line(L, s + start, i - start);
            i++;
        } else if (i > start && i + 1 < len && s[i] == '\r' &&
                   s[i + 1] == '\n') {
            parse_metadata_line(L, s + start, i - start);
            i += 2;
        } else if (i < len) {
            i++;
        }
    }
}

static bool is_core_feature(const struct ml *ml, const char *s, size_t n)
{
    size_t i, count = ml->release13
                          ? sizeof(core_features) / sizeof(core_features[0])
                          : CORE_FEATURES_0_12;

    for (i = 0; i < count; i++)
        if (strlen(core_features[i]) == n &&
            memcmp(core_features[i], s, n) == 0)
            return true;
    return false;
}

/* The next word of a "--%" list, whose words are separated by commas and
 * spaces: skips separators from *i, leaves *i after the word and returns
 * where it starts (the word is empty at the end of the list). */
static size_t next_word(const char *s, size_t len, size_t *i)
{
    size_t start;

    while (*i < len && (s[*i] == ',' || s[*i] == ' '))
        (*i)++;
    start = *i;
    while (*i < len && s[*i] != ',' && s[*i] != ' ')
        (*i)++;
    return start;
}

/* Whether the metadata field 'key' of the table at 'meta' lists a word
 * (separated by commas and spaces) whose presence among the core
 * features equals 'present'. */
static bool lists_feature(lua_State *L, const struct ml *ml, int meta,
                          const char *key, bool present)
{
    const char *s;
    size_t len, i = 0;
    bool found = false;

    lua_getfield(L, meta, key);
    s = lua_tolstring(L, -1, &len);
    while (s && i < len && !found) {
        size_t start = next_word(s, len, &i);

        if (i > start && is_core_feature(ml, s + start, i - start) == present)
            found = true;
    }
    lua_pop(L, 1);
    return found;
}

/* R-LOAD-31: 13.0.1 skips a file whose "--% lua:" list (commas and
 * spaces) lacks the running Lua's version; 0.12.3 reads no such line. */
static bool other_lua(lua_State *L, const struct ml *ml, int meta)
{
    static const char version[] = LUA_VERSION_MAJOR "." LUA_VERSION_MINOR;
    const char *s;
    size_t len, i = 0;
    bool listed = false, present;

    if (!ml->release13)
        return false;
    lua_getfield(L, meta, "lua");
    s = lua_tolstring(L, -1, &len);
    present = s != NULL;
    while (s && i < len && !listed) {
        size_t start = next_word(s, len, &i);

        listed = i - start == sizeof(version) - 1 &&
                 memcmp(s + start, version, i - start) == 0;
    }
    lua_pop(L, 1);
    return present && !listed;
}

/* Push the chunk name for the file at 'path': "@<path>", so that errors
 * read "<path>:<line>: ...". Lua shortens chunk names longer than
 * LUA_IDSIZE to "...<tail>", which normalisation could no longer strip;
 * then the name is "@<path without MODDIR/>", which reads as the
 * normalised text would. */
static void push_chunkname(lua_State *L, struct ml *ml, int path)
{
    size_t len;
    const char *s = lua_tolstring(L, path, &len);

    if (len + 1 <= LUA_IDSIZE || len <= ml->moddir_len + 1)
        lua_pushfstring(L, "@%s", s);
    else
        lua_pushfstring(L, "@%s", s + ml->moddir_len + 1);
}

/* Text put around a module's text to make its factory: on the first line,
 * so that line numbers do not change, and without a global name. */
static const char factory_head[] = "local _ENV = ...; return function (...) ";
static const char factory_tail[] = "\nend";

/*
 * Push the compiled chunk of the text at 'text' (a string) under the
 * chunk name at 'chunkname': LUA_OK and the function, or the status and
 * the compile error. The environment is the value at 'env' (an absolute
 * index; nil when 0).
 *
 * Prosody compiles the file afresh on every load. The first load of a
 * text compiles it as Prosody does, so a syntax error reads the same,
 * then compiles it once more as the body of a factory function, cached
 * under (chunk name, text). Every load, the first included, calls the
 * factory with the environment: a new closure of the cached prototype,
 * whose _ENV is that environment and whose run creates new closures of
 * everything the body defines, exactly what a fresh compile gives. The
 * text is read anew on every load, so a rewritten file (reload, the
 * cases' `! write`) is compiled anew. What differs is only what the
 * debug library shows of the body function itself (what = "Lua",
 * linedefined 1, an _ENV upvalue only if the body names a global). A
 * text that the factory would not compile (a binary chunk, a limit
 * reached one level deeper) is loaded as compiled the first time,
 * uncached.
 */
static int compile(lua_State *L, struct ml *ml, int text, int chunkname,
                   int env)
{
    const char *s, *name = lua_tostring(L, chunkname);
    size_t len;
    int status, cache;

    ml_push_ref(L, ml->ref_chunks, LUA_TTABLE);
    cache = lua_gettop(L);
    lua_pushvalue(L, chunkname);
    if (lua_rawget(L, cache) == LUA_TTABLE) {
        lua_pushvalue(L, text);
        if (lua_rawget(L, -2) == LUA_TFUNCTION)
            goto call_factory;
        lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, chunkname);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache);
    }
    s = lua_tolstring(L, text, &len);               /* cache+1: by text */
    status = luaL_loadbufferx(L, s, len, name, NULL);
    if (status != LUA_OK) {
        lua_replace(L, cache);
        lua_settop(L, cache);
        return status;
    }
    {
        luaL_Buffer b;

        luaL_buffinit(L, &b);
        luaL_addlstring(&b, factory_head, sizeof factory_head - 1);
        luaL_addlstring(&b, s, len);
        luaL_addlstring(&b, factory_tail, sizeof factory_tail - 1);
        luaL_pushresult(&b);                        /* cache+3 */
    }
    s = lua_tolstring(L, -1, &len);
    if (luaL_loadbufferx(L, s, len, name, "t") != LUA_OK) {
        lua_settop(L, cache + 2);
        if (env)
            lua_pushvalue(L, env);
        else
            lua_pushnil(L);
        if (!lua_setupvalue(L, -2, 1))
            lua_pop(L, 1);
        lua_replace(L, cache);
        lua_settop(L, cache);
        return LUA_OK;
    }
    lua_replace(L, cache + 2);
    lua_settop(L, cache + 2);
    lua_pushvalue(L, text);
    lua_pushvalue(L, cache + 2);
    lua_rawset(L, cache + 1);                       /* factory at top */
call_factory:
    if (env)
        lua_pushvalue(L, env);
    else
        lua_pushnil(L);
    lua_call(L, 1, 1);
    lua_replace(L, cache);
    lua_settop(L, cache);
    return LUA_OK;
}

/* Whether the path at 'path' can be opened for reading; otherwise errno
 * says why, as io.open's fopen(path, "r") would. */
static bool can_open(lua_State *L, int path)
{
    int fd = open(lua_tostring(L, path), O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/*
 * Find, filter and compile module 'name' (a string at 'name'). With 'env'
 * not 0, the chunk's environment is the table at 'env'; with 0 (the
 * syntax check of reload) it is nil, as Prosody's loader leaves it.
 * Pushes the function, the file's path and its metadata table (returns
 * 3), or nil and an error (returns 2): the compile error "<path>:<line>:
 * <msg>" without traceback, or the io error of the last candidate path
 * when no candidate opened and passed the filter (R-LOAD-6, R-LOAD-20).
 */
int ml_loader_load_code(lua_State *L, struct ml *ml, int name, int env)
{
    int base = lua_gettop(L), status;
    size_t i, len;
    const char *content;

    ml_checkstack(L, 10);
    if (env)
        env = lua_absindex(L, env);
    lua_pushnil(L);                 /* base + 1: error of the last attempt */
    for (i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
        lua_settop(L, base + 1);
        push_candidate(L, ml, candidates[i], name);    /* base + 2 */
        if (!can_open(L, base + 2)) {
            /* io.open's error, luaL_fileresult's text */
            lua_pushfstring(L, "%s: %s", lua_tostring(L, base + 2),
                            strerror(errno));
            lua_replace(L, base + 1);
            continue;
        }
        ml_push_ref(L, ml->ref_io_open, LUA_TFUNCTION);
        lua_pushvalue(L, base + 2);
        lua_call(L, 1, 2);                              /* file, err */
        lua_copy(L, base + 4, base + 1);
        if (lua_isnil(L, base + 3))
            continue;
        ml_push_ref(L, ml->ref_io_read, LUA_TFUNCTION);
        lua_pushvalue(L, base + 3);
        lua_pushliteral(L, "a");
        lua_call(L, 2, 1);                              /* base + 5 */
        ml_push_ref(L, ml->ref_io_close, LUA_TFUNCTION);
        lua_pushvalue(L, base + 3);
        lua_call(L, 1, 0);
        content = lua_tolstring(L, base + 5, &len);
        if (!content)
            luaL_error(L, "attempt to index a nil value (local 'content')");
        if (!ml_has(ml, ML_CAP_META)) {
            /* switched off (without.c): "--%" lines are comments */
            lua_pushnil(L);                             /* base + 6 */
        } else {
            push_metadata(L, content, len);             /* base + 6 */
            if (other_lua(L, ml, base + 6) ||
                lists_feature(L, ml, base + 6, "conflicts", true) ||
                lists_feature(L, ml, base + 6, "requires", false))
                continue;
        }
        push_chunkname(L, ml, base + 2);                /* base + 7 */
        status = compile(L, ml, base + 5, base + 7, env);
        if (status != LUA_OK) {
            /* A compile error is a value: activation only logs it. */
            ml_alloc_note_caught(L, status);
            lua_pushnil(L);
            lua_insert(L, -2);
            lua_rotate(L, base + 1, 2);
            lua_settop(L, base + 2);
            return 2;
        }
        lua_pushvalue(L, base + 2);
        lua_pushvalue(L, base + 6);
        lua_rotate(L, base + 1, 3);
        lua_settop(L, base + 3);
        return 3;
    }
    /* Nothing found: nil and the last io error. (When the last candidate
     * opened but was filtered out, Prosody's loader fails differently;
     * a module directory of plain mod_NAME.lua files never gets there.) */
    lua_settop(L, base + 1);
    lua_pushnil(L);
    lua_insert(L, base + 1);
    return 2;
}
