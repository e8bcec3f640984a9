/*
 * render.c - how values, event data and log messages are written by the
 * driver protocol (spec/PROTOCOL.md §3.3 and §5): normalisation (the
 * module directory and traceback bodies removed), escaping, quoting.
 * Every function pushes one string and may raise.
 */
#include <string.h>

#include "modlife-int.h"

static const char traceback_mark[] = "stack traceback:";

/* Push 's' normalised: every "MODDIR/" removed, then the text from the
 * first "stack traceback:" that starts the string or follows a newline
 * replaced by "<traceback>". */
/* Whether [s, s+len) contains the 'n' bytes at 'needle' (n > 0). */
static bool contains(const char *s, size_t len, const char *needle, size_t n)
{
    const char *p = s, *end = s + len;

    while ((size_t)(end - p) >= n &&
           (p = memchr(p, needle[0], (size_t)(end - p) - n + 1)) != NULL) {
        if (memcmp(p, needle, n) == 0)
            return true;
        p++;
    }
    return false;
}

static void push_normalised(lua_State *L, const struct ml *ml, const char *s,
                            size_t len)
{
    size_t mlen = ml->moddir_len, mark = sizeof(traceback_mark) - 1, i;
    const char *t;
    luaL_Buffer b;

    /* Most strings have neither MODDIR nor a traceback: as they are. */
    if ((!mlen || !contains(s, len, ml->moddir, mlen)) &&
        !contains(s, len, traceback_mark, mark)) {
        lua_pushlstring(L, s, len);
        return;
    }
    luaL_buffinit(L, &b);
    for (i = 0; i < len; i++) {
        if (mlen && len - i > mlen && s[i + mlen] == '/' &&
            memcmp(s + i, ml->moddir, mlen) == 0) {
            i += mlen;
            continue;
        }
        luaL_addchar(&b, s[i]);
    }
    luaL_pushresult(&b);
    t = lua_tolstring(L, -1, &len);
    for (i = 0; len >= mark && i <= len - mark; i++) {
        if (memcmp(t + i, traceback_mark, mark) != 0 ||
            (i > 0 && t[i - 1] != '\n'))
            continue;
        lua_pushlstring(L, t, i);
        lua_pushliteral(L, "<traceback>");
        lua_concat(L, 2);
        lua_remove(L, -2);
        return;
    }
}

/* Add 's' to 'b' with '\\', control bytes and DEL escaped, and '"' too
 * when 'quoted'. */
static void add_escaped(luaL_Buffer *b, const char *s, size_t len,
                        bool quoted)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        switch (c) {
        case '\\': luaL_addstring(b, "\\\\"); break;
        case '\n': luaL_addstring(b, "\\n"); break;
        case '\r': luaL_addstring(b, "\\r"); break;
        case '\t': luaL_addstring(b, "\\t"); break;
        case '"':
            luaL_addstring(b, quoted ? "\\\"" : "\"");
            break;
        default:
            if (c < 0x20 || c == 0x7f) {
                luaL_addstring(b, "\\x");
                luaL_addchar(b, hex[c >> 4]);
                luaL_addchar(b, hex[c & 15]);
            } else {
                luaL_addchar(b, (char)c);
            }
        }
    }
}

/* Whether 's' is written bare: ^[A-Za-z_*\/][A-Za-z0-9_.*:@\/+-]*$ and
 * not nil, true or false. */
static bool is_bare(const char *s, size_t len)
{
    static const char first[] = "_*/";
    static const char rest[] = "_.*:@/+-";
    size_t i;

    if (len == 0)
        return false;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool letter = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        bool digit = c >= '0' && c <= '9';

        if (c == '\0')
            return false;
        if (i == 0 ? !(letter || strchr(first, c))
                   : !(letter || digit || strchr(rest, c)))
            return false;
    }
    return !((len == 3 && memcmp(s, "nil", 3) == 0) ||
             (len == 4 && memcmp(s, "true", 4) == 0) ||
             (len == 5 && memcmp(s, "false", 5) == 0));
}

/* Push the rendering of the string at 'idx': normalised, then bare or
 * quoted and escaped. */
static void render_string(lua_State *L, const struct ml *ml, int idx)
{
    const char *s;
    size_t len;
    luaL_Buffer b;

    s = lua_tolstring(L, idx, &len);
    push_normalised(L, ml, s, len);
    s = lua_tolstring(L, -1, &len);
    if (is_bare(s, len))
        return;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '"');
    add_escaped(&b, s, len, true);
    luaL_addchar(&b, '"');
    luaL_pushresult(&b);
    lua_remove(L, -2);
}

/* Whether the value at 'idx' is a module api object, recognised by its
 * shape as the Prosody adapter does: own fields 'name' and
 * 'event_handlers', or a chain of __index tables (metatables read raw)
 * that reaches the api method table, as for per-host apis and
 * module:context() views. */
static bool is_api(lua_State *L, const struct ml *ml, int idx)
{
    int top = lua_gettop(L), depth;
    bool has_name, has_handlers, found = false;

    if (!lua_istable(L, idx))
        return false;
    lua_pushliteral(L, "name");
    has_name = lua_rawget(L, idx) != LUA_TNIL;
    lua_pushliteral(L, "event_handlers");
    has_handlers = lua_rawget(L, idx) != LUA_TNIL;
    lua_settop(L, top);
    if (has_name && has_handlers)
        return true;
    ml_push_ref(L, ml->ref_methods, LUA_TTABLE);            /* top+1 */
    lua_pushvalue(L, idx);                                  /* top+2 */
    for (depth = 0; depth < 100 && lua_getmetatable(L, top + 2); depth++) {
        lua_pushliteral(L, "__index");
        if (lua_rawget(L, -2) != LUA_TTABLE)
            break;
        if (lua_rawequal(L, -1, top + 1)) {
            found = true;
            break;
        }
        lua_replace(L, top + 2);
        lua_pop(L, 1);
    }
    lua_settop(L, top);
    return found;
}

/* Push t[key] as read through raw fields and __index tables only, so that
 * no metamethod of a module's table runs while rendering. */
static void push_lookup(lua_State *L, int t, const char *key)
{
    int depth;

    lua_pushvalue(L, t);
    for (depth = 0; depth < 100; depth++) {
        lua_pushstring(L, key);
        if (lua_rawget(L, -2) != LUA_TNIL || !lua_getmetatable(L, -2)) {
            lua_remove(L, -2);
            return;
        }
        lua_pushliteral(L, "__index");
        if (lua_rawget(L, -2) != LUA_TTABLE) {
            lua_pop(L, 4);
            lua_pushnil(L);
            return;
        }
        lua_replace(L, -4);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

/* Push a name or host inside <api ...>: strings escaped, nil, booleans
 * and numbers as tostring, anything else as <type>. */
static void push_plain(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TSTRING:
        ml_render_escaped(L, idx);
        break;
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TNUMBER:
        luaL_tolstring(L, idx, NULL);
        break;
    default:
        lua_pushfstring(L, "<%s>", luaL_typename(L, idx));
    }
}

/* Push "<KIND NAME@HOST>" for the api object at 'api'. */
static void render_object(lua_State *L, const char *kind, int api)
{
    int top = lua_gettop(L);

    lua_pushfstring(L, "<%s ", kind);
    push_lookup(L, api, "name");
    push_plain(L, lua_gettop(L));
    lua_remove(L, -2);
    lua_pushliteral(L, "@");
    push_lookup(L, api, "host");
    push_plain(L, lua_gettop(L));
    lua_remove(L, -2);
    lua_pushliteral(L, ">");
    lua_concat(L, lua_gettop(L) - top);
}

/* Whether the value at 'idx' is a module environment: a table whose own
 * field 'module' is an api object. Pushes that api when it is. */
static bool push_env_api(lua_State *L, const struct ml *ml, int idx)
{
    if (!lua_istable(L, idx))
        return false;
    lua_pushliteral(L, "module");
    lua_rawget(L, idx);
    if (is_api(L, ml, lua_gettop(L)))
        return true;
    lua_pop(L, 1);
    return false;
}

/*
 * Push the protocol rendering of the value at 'idx' (§3.3): nil, true,
 * false, numbers as Lua's tostring, strings bare or quoted, <api N@H>,
 * <env N@H>, <table>, <function>, <userdata>, <thread>.
 */
void ml_render_value(lua_State *L, const struct ml *ml, int idx)
{
    idx = lua_absindex(L, idx);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        lua_pushliteral(L, "nil");
        break;
    case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        lua_pushvalue(L, idx);
        lua_tolstring(L, -1, NULL);
        break;
    case LUA_TSTRING:
        render_string(L, ml, idx);
        break;
    case LUA_TTABLE:
        if (is_api(L, ml, idx)) {
            render_object(L, "api", idx);
        } else if (push_env_api(L, ml, idx)) {
            render_object(L, "env", lua_gettop(L));
            lua_remove(L, -2);
        } else {
            lua_pushliteral(L, "<table>");
        }
        break;
    case LUA_TFUNCTION:
        lua_pushliteral(L, "<function>");
        break;
    case LUA_TTHREAD:
        lua_pushliteral(L, "<thread>");
        break;
    default:
        lua_pushliteral(L, "<userdata>");
    }
}

/*
 * Push the rendering of event data (§3.2): a table that is neither an api
 * nor an env as its string-keyed fields "KEY=VALUE", sorted by key and
 * separated by one space (empty for none); any other value as a value.
 */
void ml_render_data(lua_State *L, const struct ml *ml, int idx)
{
    lua_Integer i, n = 0;
    int keys;
    luaL_Buffer b;

    idx = lua_absindex(L, idx);
    if (!lua_istable(L, idx) || is_api(L, ml, idx)) {
        ml_render_value(L, ml, idx);
        return;
    }
    if (push_env_api(L, ml, idx)) {
        lua_pop(L, 1);
        ml_render_value(L, ml, idx);
        return;
    }
    lua_newtable(L);
    keys = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, keys, ++n);
        }
    }
    ml_sort_by_string(L, keys, 0);
    /* Replace each key by its "KEY=VALUE" text, then join them. */
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        ml_render_escaped(L, lua_gettop(L));
        lua_pushliteral(L, "=");
        lua_pushvalue(L, -3);
        lua_rawget(L, idx);
        ml_render_value(L, ml, lua_gettop(L));
        lua_remove(L, -2);
        lua_concat(L, 3);
        lua_rawseti(L, keys, i);
        lua_pop(L, 1);
    }
    luaL_buffinit(L, &b);
    for (i = 1; i <= n; i++) {
        if (i > 1)
            luaL_addchar(&b, ' ');
        lua_rawgeti(L, keys, i);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    lua_remove(L, keys);
}

/*
 * Push the string at 'idx' as a log message is written (§5): normalised
 * and escaped, without quotes.
 */
void ml_render_text(lua_State *L, const struct ml *ml, int idx)
{
    const char *s;
    size_t len;
    luaL_Buffer b;

    s = lua_tolstring(L, idx, &len);
    push_normalised(L, ml, s, len);
    s = lua_tolstring(L, -1, &len);
    luaL_buffinit(L, &b);
    add_escaped(&b, s, len, false);
    luaL_pushresult(&b);
    lua_remove(L, -2);
}

/*
 * Push the string at 'idx' escaped as in a log message but not
 * normalised: how logger names, event names and data keys are written.
 */
void ml_render_escaped(lua_State *L, int idx)
{
    const char *s;
    size_t len;
    luaL_Buffer b;

    s = lua_tolstring(L, idx, &len);
    luaL_buffinit(L, &b);
    add_escaped(&b, s, len, false);
    luaL_pushresult(&b);
}
