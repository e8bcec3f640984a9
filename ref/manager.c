/*
 * manager.c - require "core.modulemanager" for module code: the public
 * functions of Prosody's modulemanager, bound to the reference's own
 * lifecycle (lifecycle.c) and module maps (module.c).
 *
 * A module can call modulemanager directly in a server (to load another
 * module, or to look at a host's map); these are the same operations
 * the driver's commands reach. get_modules returns a snapshot of the map
 * (name -> env) rather than the map itself, which lives in C.
 */
#include "modlife-int.h"

/* load(host, name), unload(host, name), reload(host, name): the first
 * two return values, as the driver's commands see them. */
static int mm_load_k(lua_State *L, int status, lua_KContext ctx);

static int mm_load(lua_State *L)
{
    lua_settop(L, 2);
    ml_lc_load_k(L, ml_self(L), 1, 2, mm_load_k);
    return 2;
}

/* The rest of mm_load after a body or a load() that yielded inside a
 * coroutine has returned (R-HOSTILE-7). */
static int mm_load_k(lua_State *L, int status, lua_KContext ctx)
{
    ml_lc_load_end(L, ml_self(L), 1, 2, mm_load_k, ctx, status);
    return 2;
}

static int mm_unload(lua_State *L)
{
    lua_settop(L, 2);
    ml_lc_unload(L, ml_self(L), 1, 2);
    return 2;
}

static int mm_reload(lua_State *L)
{
    lua_settop(L, 2);
    ml_lc_reload(L, ml_self(L), 1, 2);
    return 2;
}

/* get_module(host, name): the env, or nil. */
static int mm_get_module(lua_State *L)
{
    lua_settop(L, 2);
    ml_get_module(L, ml_self(L), 1, 2);
    return 1;
}

/* is_loaded(host, name): true or nil, never false (R-QUERY-1). */
static int mm_is_loaded(lua_State *L)
{
    lua_settop(L, 2);
    ml_get_module(L, ml_self(L), 1, 2);
    if (!lua_isnil(L, -1))
        lua_pushboolean(L, 1);
    return 1;
}

/* get_modules(host): a table name -> env of the host's map, or nil when
 * the host has no map (R-HOST-10). */
static int mm_get_modules(lua_State *L)
{
    struct ml *ml = ml_self(L);
    lua_Integer i, n;

    lua_settop(L, 1);
    if (!ml_modmap_at(L, ml, 1)) {
        lua_pushnil(L);
        return 1;
    }
    ml_module_names(L, ml_modmap_at(L, ml, 1));     /* 2 */
    lua_newtable(L);                                /* 3 */
    n = (lua_Integer)lua_rawlen(L, 2);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        ml_get_module(L, ml, 1, lua_gettop(L));
        lua_rawset(L, 3);
    }
    return 1;
}

/* get_items(key, host): the items under 'key' of every module in the
 * host's map (modules in name order, R-ITEM-3), nil for a missing key,
 * host or map. */
static int mm_get_items(lua_State *L)
{
    struct ml *ml = ml_self(L);
    lua_Integer i, n, j;

    lua_settop(L, 2);
    if (!lua_toboolean(L, 1) || !lua_toboolean(L, 2) ||
        !ml_modmap_at(L, ml, 2)) {
        lua_pushnil(L);
        return 1;
    }
    lua_newtable(L);                                /* 3: result */
    ml_module_names(L, ml_modmap_at(L, ml, 2));     /* 4 */
    n = (lua_Integer)lua_rawlen(L, 4);
    for (i = 1; i <= n; i++) {
        lua_settop(L, 4);
        lua_rawgeti(L, 4, i);                       /* 5 */
        ml_get_module(L, ml, 2, 5);                 /* 6 */
        if (lua_isnil(L, 6))
            continue;
        lua_getfield(L, 6, "module");               /* 7 */
        lua_getfield(L, 7, "items");                /* 8 */
        if (!lua_toboolean(L, 8))
            continue;
        lua_pushvalue(L, 1);
        lua_gettable(L, 8);                         /* 9 */
        if (!lua_toboolean(L, 9))
            continue;
        for (j = 1; lua_geti(L, 9, j) != LUA_TNIL; j++)
            lua_rawseti(L, 3, (lua_Integer)lua_rawlen(L, 3) + 1);
    }
    lua_settop(L, 3);
    return 1;
}

/* module_has_method(env, method) */
static int mm_module_has_method(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushboolean(L, ml_module_has_method(L, 1, luaL_checkstring(L, 2)));
    return 1;
}

/* call_module_method(env, method, ...): true and the results, or false
 * and the error (with its traceback), or false, "no-such-method". */
static int mm_call_module_method(lua_State *L)
{
    int n = lua_gettop(L);

    luaL_checkstring(L, 2);
    return ml_module_call(L, 1, lua_tostring(L, 2), n > 2 ? n - 2 : 0);
}

/* The loader of require "core.modulemanager". */
int ml_open_modulemanager(lua_State *L)
{
    static const luaL_Reg functions[] = {
        { "load", mm_load }, { "unload", mm_unload },
        { "reload", mm_reload }, { "get_module", mm_get_module },
        { "get_modules", mm_get_modules }, { "is_loaded", mm_is_loaded },
        { "get_items", mm_get_items },
        { "module_has_method", mm_module_has_method },
        { "call_module_method", mm_call_module_method },
        { NULL, NULL }
    };

    lua_createtable(L, 0, 9);
    luaL_setfuncs(L, functions, 0);
    ml_without_manager(L, ml_self(L), lua_gettop(L));
    return 1;
}
