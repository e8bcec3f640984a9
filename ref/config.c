/*
 * config.c - configmanager: the server configuration, one section per
 * host plus the global section "*".
 *
 * The configuration is a Lua table (host -> section, a plain table of
 * option -> value) kept in the registry, so option values are the very
 * Lua values that were set: a module reading a list gets that table, as
 * in Prosody. Reads follow configmanager.get: the host's own section,
 * then the global one; a host that has no section reads the global
 * section directly.
 */
#include <string.h>

#include "modlife-int.h"

/* Create the configuration with an empty global section. */
void ml_config_init(lua_State *L, struct ml *ml)
{
    lua_createtable(L, 0, 1);
    lua_newtable(L);
    lua_setfield(L, -2, "*");
    ml->ref_config = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Whether the value at 'key' is the string "core", which configmanager
 * reads as the old calling convention get(host, "core", key) with no
 * third argument: the option looked up is then nil. */
static bool is_core_key(lua_State *L, int key)
{
    size_t len;
    const char *s;

    if (lua_type(L, key) != LUA_TSTRING)
        return false;
    s = lua_tolstring(L, key, &len);
    return len == 4 && memcmp(s, "core", 4) == 0;
}

/*
 * configmanager.get(host, key) for the values at 'host' and 'key': push
 * the option of the host's section, falling back to the global section
 * when the host has none or does not set it (nil when neither does).
 */
void ml_config_get(lua_State *L, struct ml *ml, int host, int key)
{
    int top = lua_gettop(L);

    if (is_core_key(L, key)) {
        lua_pushnil(L);
        return;
    }
    ml_push_ref(L, ml->ref_config, LUA_TTABLE);            /* top+1 */
    lua_pushvalue(L, host);
    if (lua_rawget(L, top + 1) == LUA_TTABLE) {             /* top+2 */
        lua_pushvalue(L, key);
        if (lua_rawget(L, top + 2) != LUA_TNIL) {
            lua_replace(L, top + 1);
            lua_settop(L, top + 1);
            return;
        }
    }
    lua_settop(L, top + 1);
    lua_pushliteral(L, "*");
    if (lua_rawget(L, top + 1) == LUA_TTABLE) {             /* top+2 */
        lua_pushvalue(L, key);
        lua_rawget(L, top + 2);
    } else {
        lua_pushnil(L);
    }
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}

/* ml_config_get with a C string key. */
void ml_config_get_field(lua_State *L, struct ml *ml, int host,
                         const char *key)
{
    lua_pushstring(L, key);
    ml_config_get(L, ml, host, lua_gettop(L));
    lua_remove(L, -2);
}

/*
 * configmanager.set(host, key, value) for the strings at 'host' and 'key'
 * and the value at 'value': creates the host's section when it has none.
 */
void ml_config_set(lua_State *L, struct ml *ml, int host, int key, int value)
{
    int top = lua_gettop(L);

    ml_push_ref(L, ml->ref_config, LUA_TTABLE);            /* top+1 */
    lua_pushvalue(L, host);
    if (lua_rawget(L, top + 1) != LUA_TTABLE) {             /* top+2 */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, host);
        lua_pushvalue(L, -2);
        lua_rawset(L, top + 1);
    }
    lua_pushvalue(L, key);
    lua_pushvalue(L, value);
    lua_rawset(L, top + 2);
    lua_settop(L, top);
}
