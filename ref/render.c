/*
 * render.c - how values, event data and log messages are written by the
 * driver protocol (spec/PROTOCOL.md §3.3 and §5): normalisation (the
 * module directory and traceback bodies removed), escaping, quoting.
 * Every function pushes one string and may raise.
 */
#include <string.h>

#include "modlife-int.h"

static const char traceback_mark[] = "\nstack traceback:";

/* Push 's' normalised: every "MODDIR/" removed, then everything from the
 * first "\nstack traceback:" replaced by "\n<traceback>". */
static void push_normalised(lua_State *L, const struct ml *ml, const char *s,
                            size_t len)
{
    size_t mlen = ml->moddir_len, mark = sizeof(traceback_mark) - 1, i;
    const char *t;
    luaL_Buffer b;

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
        if (memcmp(t + i, traceback_mark, mark) == 0) {
            lua_pushlstring(L, t, i);
            lua_pushliteral(L, "\n<traceback>");
            lua_concat(L, 2);
            lua_remove(L, -2);
            return;
        }
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

/* Push "<KIND NAME@HOST>" for the api object at 'api'. */
static void render_object(lua_State *L, const char *kind, int api)
{
    int top = lua_gettop(L);

    lua_pushfstring(L, "<%s ", kind);
    lua_getfield(L, api, "name");
    luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    lua_pushliteral(L, "@");
    lua_getfield(L, api, "host");
    luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2);
    lua_pushliteral(L, ">");
    lua_concat(L, lua_gettop(L) - top);
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
        switch (ml_api_kind(L, ml, idx)) {
        case ML_KIND_API:
            render_object(L, "api", idx);
            break;
        case ML_KIND_ENV:
            lua_getfield(L, idx, "module");
            if (lua_istable(L, -1))
                render_object(L, "env", lua_gettop(L));
            else
                lua_pushliteral(L, "<env ?@?>");
            lua_remove(L, -2);
            break;
        default:
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
    if (!lua_istable(L, idx) || ml_api_kind(L, ml, idx) != ML_KIND_OTHER) {
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
        ml_render_text(L, ml, lua_gettop(L));
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
