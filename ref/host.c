/*
 * host.c - hostmanager: the registry of active hosts, activation and
 * deactivation.
 *
 * A host is a C struct in a hash map keyed by its name (Prosody's
 * 'hosts' table). It owns registry references to its events object and
 * to a small table standing for the host session, which modules also
 * find in prosody.hosts, and a counted reference to its module map
 * ('hosts[h].modules').
 */
#include <stdlib.h>
#include <string.h>

#include "modlife-int.h"

/*
 * hosts[value]: the active host named by the string at 'idx', or NULL
 * for an inactive name or a value that is not a string. The pointer is
 * valid until the host is deactivated: do not keep it across calls into
 * Lua code.
 */
struct ml_host *ml_host_at(lua_State *L, struct ml *ml, int idx)
{
    const char *name;
    size_t len;

    if (lua_type(L, idx) != LUA_TSTRING)
        return NULL;
    name = lua_tolstring(L, idx, &len);
    return ml_map_get(&ml->hosts, name, len);
}

/*
 * Push (hosts[h] or prosody).events for the value at 'host': the host's
 * events object when it names an active host, else the global one. This
 * is how Prosody picks the target of module-loaded, module:hook,
 * module:fire_event and the driver's 'fire' (R-EV-8, R-EV-11).
 */
void ml_push_events_for(lua_State *L, struct ml *ml, int host)
{
    struct ml_host *h = ml_host_at(L, ml, host);

    ml_push_ref(L, h ? h->ref_events : ml->ref_global_events, LUA_TTABLE);
}

static void host_free(struct ml *ml, struct ml_host *h)
{
    luaL_unref(ml->L, LUA_REGISTRYINDEX, h->ref_events);
    luaL_unref(ml->L, LUA_REGISTRYINDEX, h->ref_session);
    ml_modmap_unref(ml, h->modules);
    free(h);
}

/* prosody.hosts[host] = nil (no allocation: cannot raise). */
static void drop_session(lua_State *L, struct ml *ml, int host)
{
    ml_push_ref(L, ml->ref_hosts, LUA_TTABLE);
    lua_pushvalue(L, host);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* Push a result pair nil, "The host <h> ..." built from 'token'. */
static void push_host_error(lua_State *L, int host, enum ml_token token)
{
    lua_pushnil(L);
    lua_pushfstring(L, ml_token(token), luaL_tolstring(L, host, NULL));
    lua_remove(L, -2);
}

/* Fire 'event' with 'data' (stack index) on the global events object. */
static void fire_global(lua_State *L, struct ml *ml, const char *event,
                        int data)
{
    int base = lua_gettop(L);

    ml_push_ref(L, ml->ref_global_events, LUA_TTABLE);
    lua_pushstring(L, event);
    ml_events_fire(L, base + 1, base + 2, data);
    lua_settop(L, base);
}

/*
 * hostmanager.activate(host, config) for the host name at 'host' (a
 * string), with its configuration section (config.c). Pushes two
 * results: true, nil; or nil and "The host <h> is already activated"
 * (R-HOST-1). The new host gets a fresh events object and an empty
 * module map; it is a component when its configuration (or the global
 * section it falls back to) sets component_module, else a local host
 * (R-HOST-16).
 * Then host-activated (data: the host name) fires on the global events,
 * whose handlers load the auth providers (usermanager, priority 100) and
 * the configured modules (modulemanager, priority 0; R-HOST-12).
 */
void ml_host_activate(lua_State *L, struct ml *ml, int host)
{
    const char *name, *type;
    size_t len;
    int ref_events, ref_session;
    struct ml_host *h;

    if (ml_host_at(L, ml, host)) {
        push_host_error(L, host, ML_TOK_HOST_ALREADY_ACTIVATED);
        return;
    }
    ml_config_get_field(L, ml, host, "component_module");
    type = lua_toboolean(L, -1) ? "component" : "local";
    lua_pop(L, 1);
    name = lua_tolstring(L, host, &len);
    ml_events_new(L, ml, name, len);
    /* The host session, prosody.hosts[host]: what of hostmanager's
     * session modules can use (no modules table, no send). */
    lua_createtable(L, 0, 5);
    lua_pushvalue(L, host);
    lua_setfield(L, -2, "host");
    lua_pushstring(L, type);
    lua_setfield(L, -2, "type");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "events");
    lua_newtable(L);
    lua_setfield(L, -2, "s2sout");
    if (strcmp(type, "local") == 0) {
        lua_newtable(L);
        lua_setfield(L, -2, "sessions");
    }
    ml_push_ref(L, ml->ref_hosts, LUA_TTABLE);
    lua_pushvalue(L, host);
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    ref_session = luaL_ref(L, LUA_REGISTRYINDEX);
    ref_events = luaL_ref(L, LUA_REGISTRYINDEX);

    /* From here to the map insertion nothing can raise. */
    h = ml_malloc(sizeof(*h));
    if (h) {
        h->type = type;
        h->ref_events = ref_events;
        h->ref_session = ref_session;
        h->modules = ml_modmap_new();
    }
    if (!h || !h->modules || ml_map_put(&ml->hosts, name, len, h) != ML_OK) {
        if (h) {
            if (h->modules)
                ml_modmap_unref(ml, h->modules);
            free(h);
        }
        luaL_unref(L, LUA_REGISTRYINDEX, ref_events);
        luaL_unref(L, LUA_REGISTRYINDEX, ref_session);
        drop_session(L, ml, host);
        luaL_error(L, "not enough memory");
    }
    fire_global(L, ml, "host-activated", host);
    lua_pushboolean(L, 1);
    lua_pushnil(L);
}

/*
 * hostmanager.deactivate(host) for the host name at 'host'. Pushes true,
 * nil; or nil and "The host <h> is not activated" (R-HOST-1). Order
 * (R-HOST-7): host-deactivating on global events, unload of every module
 * in the host's own module map (in name order, where Prosody's order is
 * undefined: R-HOST-8), removal of the host, host-deactivated on global
 * events, whose modulemanager handler drops the module map. Global
 * instances are not touched (R-HOST-9). Errors of event handlers
 * propagate and leave the deactivation half done, as in Prosody.
 */
void ml_host_deactivate(lua_State *L, struct ml *ml, int host)
{
    struct ml_host *h = ml_host_at(L, ml, host);
    const char *name;
    size_t len;
    lua_Integer i, n;
    int base = lua_gettop(L);

    if (!h) {
        push_host_error(L, host, ML_TOK_HOST_NOT_ACTIVATED);
        return;
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, host);
    lua_setfield(L, -2, "host");
    ml_push_ref(L, h->ref_session, LUA_TTABLE);
    lua_setfield(L, -2, "host_session");
    fire_global(L, ml, "host-deactivating", base + 1);
    lua_settop(L, base);

    /* Handlers may have run: look the host up again. */
    h = ml_host_at(L, ml, host);
    if (!h)
        luaL_error(L, "host vanished during deactivation");
    ml_module_names(L, h->modules);
    n = (lua_Integer)lua_rawlen(L, base + 1);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, base + 1, i);
        ml_lc_unload(L, ml, host, base + 2);
        lua_settop(L, base + 1);
    }
    lua_settop(L, base);

    name = lua_tolstring(L, host, &len);
    h = ml_map_remove(&ml->hosts, name, len);
    if (h)
        host_free(ml, h);
    drop_session(L, ml, host);
    fire_global(L, ml, "host-deactivated", host);
    lua_pushboolean(L, 1);
    lua_pushnil(L);
}

static void host_free_cb(void *ud, void *value)
{
    host_free(ud, value);
}

/*
 * Free every host and the registry itself (ml_free). Does not call Lua
 * code; the Lua state must still be open.
 */
void ml_hosts_release(struct ml *ml)
{
    ml_map_release(&ml->hosts, host_free_cb, ml);
}
