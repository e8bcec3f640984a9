/*
 * users.c - usermanager, as far as modules can see it: the providers
 * it loads when a host is activated, and the two handlers it puts on a
 * local host's events to follow auth-provider items.
 *
 * usermanager keeps the host's user provider in host_session.users: a
 * "null" provider at first (every method a dummy returning nil, "method
 * not implemented"), then the auth-provider item whose name is the
 * configured authentication provider. Adopting an item sets its
 * metatable, so the module that provided it sees the null provider's
 * dummies through __index; an item that cannot be indexed makes the
 * handler raise into the module's add_item (R-HOST-14).
 */
#include <string.h>

#include "modlife-int.h"

/* A null provider's methods: nil, "method not implemented". */
static int dummy(lua_State *L)
{
    lua_pushnil(L);
    lua_pushliteral(L, "method not implemented");
    return 2;
}

/* __index of a null provider: every missing method is the dummy. */
static int null_index(lua_State *L)
{
    lua_pushcfunction(L, dummy);
    return 1;
}

/* Push new_null_provider(): { name = "null", get_sasl_handler } whose
 * other fields are the dummy. (Prosody's get_sasl_handler returns an
 * empty SASL handler; SASL is not modelled, so it is the dummy too.) */
static void push_null_provider(lua_State *L)
{
    lua_createtable(L, 0, 2);
    lua_pushliteral(L, "null");
    lua_setfield(L, -2, "name");
    lua_pushcfunction(L, dummy);
    lua_setfield(L, -2, "get_sasl_handler");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, null_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

/* Push the configured authentication provider's name for the host at
 * 'host': authentication or "internal_hashed", "anonymous" when the old
 * anonymous_login is set. */
static void push_auth_provider(lua_State *L, struct ml *ml, int host)
{
    ml_config_get_field(L, ml, host, "authentication");
    if (!lua_toboolean(L, -1)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "internal_hashed");
    }
    ml_config_get_field(L, ml, host, "anonymous_login");
    if (lua_toboolean(L, -1)) {
        lua_pop(L, 2);
        lua_pushliteral(L, "anonymous");
        return;
    }
    lua_pop(L, 1);
}

/* Push event.item for the event data at 1, raising as usermanager.lua
 * does at 'line' when the data cannot be indexed. */
static void push_item(lua_State *L, int line)
{
    int t = lua_type(L, 1);

    if (t != LUA_TTABLE && t != LUA_TSTRING &&
        luaL_getmetafield(L, 1, "__index") == LUA_TNIL)
        ml_raise_at(L, ML_SRC_USERMANAGER, line, "attempt to index a %s "
                    "value (local 'event')", luaL_typename(L, 1));
    lua_settop(L, 1);
    lua_getfield(L, 1, "item");
}

/* item-added/auth-provider handler on a local host's events: adopt the
 * provider whose name is the configured one. Upvalues: the host
 * name, the host session, provider_mt. */
static int on_provider_added(lua_State *L)
{
    struct ml *ml = ml_self(L);
    int t;

    lua_settop(L, 1);
    push_item(L, 74);                               /* 2: provider */
    lua_pushvalue(L, lua_upvalueindex(1));
    push_auth_provider(L, ml, 3);                   /* 4 */
    t = lua_type(L, 2);
    if (t != LUA_TTABLE && t != LUA_TSTRING &&
        luaL_getmetafield(L, 2, "__index") == LUA_TNIL)
        return ml_raise_at(L, ML_SRC_USERMANAGER, 80, "attempt to index a "
                           "%s value (local 'provider')", luaL_typename(L, 2));
    lua_settop(L, 4);
    lua_getfield(L, 2, "name");
    if (lua_compare(L, -1, 4, LUA_OPEQ)) {
        /* setmetatable(provider, provider_mt), as Lua's checks it. */
        luaL_checktype(L, 2, LUA_TTABLE);
        if (luaL_getmetafield(L, 2, "__metatable") != LUA_TNIL)
            return luaL_error(L, "cannot change a protected metatable");
        lua_pushvalue(L, ml_upvalue(L, 3, LUA_TTABLE, "provider_mt"));
        lua_setmetatable(L, 2);
        lua_pushvalue(L, 2);
        lua_setfield(L, lua_upvalueindex(2), "users");
    }
    return 0;
}

/* item-removed/auth-provider handler: back to a null provider when the
 * current one goes. Upvalues as on_provider_added. */
static int on_provider_removed(lua_State *L)
{
    lua_settop(L, 1);
    push_item(L, 88);                               /* 2 */
    lua_getfield(L, lua_upvalueindex(2), "users");
    if (lua_compare(L, -1, 2, LUA_OPEQ)) {
        push_null_provider(L);
        lua_setfield(L, lua_upvalueindex(2), "users");
    }
    return 0;
}

/* Push one of the handlers above as a closure over the host name at
 * 'host', the host session at 'session' and provider_mt. */
static void push_handler(lua_State *L, struct ml *ml, int host, int session,
                         lua_CFunction fn)
{
    lua_pushvalue(L, host);
    lua_pushvalue(L, session);
    ml_push_ref(L, ml->ref_provider_mt, LUA_TTABLE);
    lua_pushcclosure(L, fn, 3);
}

/* Replace the name on top of the stack by prefix .. name, raising as
 * usermanager.lua does at 'line' (local 'local') for a value that does
 * not concatenate. */
static void prefix_name(lua_State *L, const char *prefix, int line,
                        const char *local)
{
    if (!lua_isstring(L, -1)) {
        if (luaL_getmetafield(L, -1, "__concat") == LUA_TNIL)
            ml_raise_at(L, ML_SRC_USERMANAGER, line, "attempt to concatenate "
                        "a %s value (local '%s')", luaL_typename(L, -1),
                        local);
        lua_pop(L, 1);      /* the __concat found: lua_concat calls it */
    }
    lua_pushstring(L, prefix);
    lua_insert(L, -2);
    lua_concat(L, 2);
}

/* usermanager's host-activated handler, initialize_host: load the host's
 * authorization provider, authz_<authorization or "internal">; then, for
 * a local host only (components have no users), hook the auth-provider
 * item handlers on its events, start with a null provider and load
 * auth_<provider> unless the provider is "null". Failed loads are
 * ignored (R-HOST-14). Data: the host name. */
static int on_host_activated(lua_State *L)
{
    struct ml *ml = ml_self(L);
    struct ml_host *h;
    int events, session;

    if (!ml_has(ml, ML_CAP_AUTH_PROVIDERS))
        return 0;   /* switched off (without.c): no usermanager */
    lua_settop(L, 1);
    ml_config_get_field(L, ml, 1, "authorization");
    if (!lua_toboolean(L, 2)) {
        lua_pushliteral(L, "internal");
        lua_replace(L, 2);
    }
    prefix_name(L, "authz_", 68, "authz_provider_name");
    ml_lc_load(L, ml, 1, 2);
    lua_settop(L, 1);
    h = ml_host_at(L, ml, 1);
    if (!h || strcmp(h->type, "local") != 0)
        return 0;
    ml_push_ref(L, h->ref_events, LUA_TTABLE);
    events = lua_gettop(L);
    ml_push_ref(L, h->ref_session, LUA_TTABLE);
    session = lua_gettop(L);
    lua_pushliteral(L, "item-added/auth-provider");
    push_handler(L, ml, 1, session, on_provider_added);
    ml_events_add(L, events, events + 2, events + 3, 0);
    lua_settop(L, session);
    lua_pushliteral(L, "item-removed/auth-provider");
    push_handler(L, ml, 1, session, on_provider_removed);
    ml_events_add(L, events, events + 2, events + 3, 0);
    lua_settop(L, session);
    push_null_provider(L);
    lua_setfield(L, session, "users");
    push_auth_provider(L, ml, 1);                   /* session+1 */
    if (lua_type(L, -1) == LUA_TSTRING &&
        strcmp(lua_tostring(L, -1), "null") == 0)
        return 0;
    prefix_name(L, "auth_", 97, "auth_provider");
    ml_lc_load(L, ml, 1, lua_gettop(L));
    return 0;
}

/*
 * Set up usermanager: its provider_mt (whose __index is a null
 * provider) and its host-activated handler on the global events, at
 * priority 100, before the host's modules are loaded.
 */
void ml_users_init(lua_State *L, struct ml *ml)
{
    int base = lua_gettop(L);

    lua_createtable(L, 0, 1);
    push_null_provider(L);
    lua_setfield(L, -2, "__index");
    ml->ref_provider_mt = luaL_ref(L, LUA_REGISTRYINDEX);

    ml_push_ref(L, ml->ref_global_events, LUA_TTABLE);
    lua_pushliteral(L, "host-activated");
    lua_pushcfunction(L, on_host_activated);
    lua_pushinteger(L, 100);
    ml_events_add(L, base + 1, base + 2, base + 3, base + 4);
    lua_settop(L, base);
}
