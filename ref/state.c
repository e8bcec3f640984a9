/*
 * state.c - the library instance and the entry points of modlife.h.
 *
 * Every entry point runs its work inside one lua_pcall, so that the rest
 * of ref/ may raise Lua errors freely: an error that nothing inside
 * caught ends up here, on the stack, and the caller sees ML_ERAISE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "modlife-int.h"

enum op_kind {
    OP_ACTIVATE,
    OP_DEACTIVATE,
    OP_LOAD,
    OP_UNLOAD,
    OP_RELOAD,
    OP_FIRE,
    OP_LIST,
    OP_CONFIG,
};

/* One operation's arguments, passed to op_entry as a light userdata so
 * that nothing is pushed outside protected mode. */
struct op {
    struct ml *ml;
    enum op_kind kind;
    const char *host;
    const char *name;       /* module name or event name, or NULL */
};

/* Protected body of every operation. Arguments: the struct op, then the
 * event data for OP_FIRE. */
static int op_entry(lua_State *L)
{
    const struct op *op = lua_touserdata(L, 1);
    struct ml *ml = op->ml;
    struct ml_modmap *map;

    lua_settop(L, 2);
    lua_pushstring(L, op->host);                        /* 3 */
    if (op->name)
        lua_pushstring(L, op->name);                    /* 4 */
    switch (op->kind) {
    case OP_ACTIVATE:
        ml_host_activate(L, ml, 3);
        return 2;
    case OP_DEACTIVATE:
        ml_host_deactivate(L, ml, 3);
        return 2;
    case OP_LOAD:
        ml_lc_load(L, ml, 3, 4);
        return 2;
    case OP_UNLOAD:
        ml_lc_unload(L, ml, 3, 4);
        return 2;
    case OP_RELOAD:
        ml_lc_reload(L, ml, 3, 4);
        return 2;
    case OP_FIRE:
        ml_push_events_for(L, ml, 3);                   /* 5 */
        if (ml_events_fire(L, 5, 4, 2) == 0)
            lua_pushnil(L);
        lua_settop(L, 6);               /* the first value, if several */
        return 1;
    case OP_CONFIG:
        ml_config_set(L, ml, 3, 4, 2);
        return 0;
    case OP_LIST:
        map = ml_modmap_at(L, ml, 3);
        if (map)
            ml_module_names(L, map);
        else
            lua_pushnil(L);
        return 1;
    }
    return luaL_error(L, "unknown operation");
}

/* Run 'op' protected, with the value at 'data' (0: nil) as its data. */
static int run(struct ml *ml, enum op_kind kind, const char *host,
               const char *name, int data, int nresults)
{
    lua_State *L = ml->L;
    struct op op;

    op.ml = ml;
    op.kind = kind;
    op.host = host;
    op.name = name;
    if (data)
        data = lua_absindex(L, data);
    lua_pushcfunction(L, op_entry);
    lua_pushlightuserdata(L, &op);
    if (data)
        lua_pushvalue(L, data);
    else
        lua_pushnil(L);
    return lua_pcall(L, 2, nresults, 0) == LUA_OK ? ML_OK : ML_ERAISE;
}

/* hostmanager.activate(host): pushes ok, err or the raised error. */
int ml_activate(struct ml *ml, const char *host)
{
    return run(ml, OP_ACTIVATE, host, NULL, 0, 2);
}

/* hostmanager.deactivate(host): pushes ok, err or the raised error. */
int ml_deactivate(struct ml *ml, const char *host)
{
    return run(ml, OP_DEACTIVATE, host, NULL, 0, 2);
}

/* modulemanager.load(host, name): pushes env, err or the raised error. */
int ml_load(struct ml *ml, const char *host, const char *name)
{
    return run(ml, OP_LOAD, host, name, 0, 2);
}

/* modulemanager.unload(host, name): pushes ok, err or the raised error. */
int ml_unload(struct ml *ml, const char *host, const char *name)
{
    return run(ml, OP_UNLOAD, host, name, 0, 2);
}

/* modulemanager.reload(host, name): pushes env, err or the raised
 * error. */
int ml_reload(struct ml *ml, const char *host, const char *name)
{
    return run(ml, OP_RELOAD, host, name, 0, 2);
}

/* Fire 'event' with the data at 'data' on the events of 'host' (global
 * events for "*" and inactive hosts): pushes the first result (nil for
 * none) or the raised error. */
int ml_fire(struct ml *ml, const char *host, const char *event, int data)
{
    return run(ml, OP_FIRE, host, event, data, 1);
}

/* modulemanager.get_modules(host): pushes the sorted names or nil. */
int ml_list(struct ml *ml, const char *host)
{
    return run(ml, OP_LIST, host, NULL, 0, 1);
}

/* configmanager.set(host, key, <value at 'value'>): pushes nothing, or
 * the raised error. */
int ml_config(struct ml *ml, const char *host, const char *key, int value)
{
    if (!key || !value)
        return ML_EINVAL;
    return run(ml, OP_CONFIG, host, key, value, 0);
}

/* The Lua state; owned by 'ml', valid until ml_free. */
lua_State *ml_lua(struct ml *ml)
{
    return ml->L;
}

/* The module directory without trailing slashes; owned by 'ml'. */
const char *ml_moddir(const struct ml *ml)
{
    return ml->moddir;
}

/* package.preload[name] = opener: the libraries module code can require,
 * as a server's package.path makes them reachable. */
static void preload(lua_State *L, const char *name, lua_CFunction opener)
{
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, opener);
    lua_setfield(L, -2, name);
    lua_pop(L, 2);
}

/* Protected set-up of a new state, in the order of Prosody's startup:
 * standard libraries, the function metatable, captured functions, the
 * api method table, the global events object and the 'prosody' global,
 * the managers' global handlers, and last the lock on the globals. */
static int init_entry(lua_State *L)
{
    struct ml *ml = lua_touserdata(L, 1);
    int events;

    luaL_openlibs(L);
    ml_startup_functions(L, ml);
    ml_loader_init(L, ml);
    ml_array_init(L);
    preload(L, "util.events", ml_open_util_events);
    preload(L, "core.modulemanager", ml_open_modulemanager);
    ml_config_init(L, ml);
    ml_api_init(L, ml);
    ml_events_new(L, ml, "*", 1);
    events = lua_gettop(L);
    lua_pushvalue(L, events);
    ml->ref_global_events = luaL_ref(L, LUA_REGISTRYINDEX);
    ml_startup_prosody(L, ml, events);              /* events+1 */
    ml_timers_init(L, ml, events + 1);
    ml_users_init(L, ml);
    ml_lifecycle_init(L, ml);
    ml_startup_protect(L, events + 1);
    lua_settop(L, events - 1);
    return 0;
}

static void set_error(struct ml_error *err, int code, const char *message)
{
    if (!err)
        return;
    err->code = code;
    snprintf(err->message, sizeof(err->message), "%s", message);
}

/*
 * Create an instance: copy the module directory and the observer, open a
 * Lua state and set it up as Prosody's startup leaves a server (libraries,
 * managers' handlers, locked globals). Returns NULL and fills 'err' on
 * failure (code ML_ENOMEM when memory ran out); the caller frees the
 * instance with ml_free.
 */
struct ml *ml_new(const char *moddir, const struct ml_observer *observer,
                  struct ml_error *err)
{
    return ml_new_release(moddir, observer, ML_RELEASE_0_12, err);
}

/* ml_new for 'release' (modlife.h). */
struct ml *ml_new_release(const char *moddir,
                          const struct ml_observer *observer,
                          enum ml_release release, struct ml_error *err)
{
    struct ml *ml;
    size_t len;
    int status;

    if (!moddir || !*moddir) {
        set_error(err, ML_EINVAL, "no module directory");
        return NULL;
    }
    ml = ml_calloc(1, sizeof(*ml));
    if (!ml)
        goto out_nomem;
    ml->release13 = release == ML_RELEASE_13;
    ml_map_init(&ml->hosts);
    ml_map_init(&ml->modmaps);
    if (observer)
        ml->observer = *observer;
    len = strlen(moddir);
    while (len > 1 && moddir[len - 1] == '/')
        len--;
    ml->moddir = ml_malloc(len + 1);
    if (!ml->moddir)
        goto out_free;
    memcpy(ml->moddir, moddir, len);
    ml->moddir[len] = '\0';
    ml->moddir_len = len;
    /* luaL_newstate keeps lauxlib's panic and warning functions; the
     * state then allocates through alloc.c, which counts and can fail. */
    ml->L = luaL_newstate();
    if (!ml->L)
        goto out_free;
    lua_setallocf(ml->L, ml_lua_alloc, NULL);
    memcpy(lua_getextraspace(ml->L), &ml, sizeof(ml));     /* ml_self */
    lua_pushcfunction(ml->L, init_entry);
    lua_pushlightuserdata(ml->L, ml);
    status = lua_pcall(ml->L, 1, 0, 0);
    if (status != LUA_OK) {
        /* Not lua_tostring on a number: outside protected mode it must
         * not allocate. A C allocation that failed raises "not enough
         * memory" too. */
        const char *msg = lua_type(ml->L, -1) == LUA_TSTRING
                              ? lua_tostring(ml->L, -1) : NULL;

        set_error(err, status == LUA_ERRMEM ||
                           (msg && strcmp(msg, "not enough memory") == 0)
                       ? ML_ENOMEM : ML_ERAISE,
                  msg ? msg : "cannot set up the Lua state");
        ml_free(ml);
        return NULL;
    }
    return ml;

out_free:
    ml_free(ml);
out_nomem:
    set_error(err, ML_ENOMEM, "out of memory");
    return NULL;
}

/*
 * Free the instance and everything it owns; NULL is allowed. The observer
 * is cleared first: finalizers that module code may have set run during
 * lua_close and must not report anything.
 */
void ml_free(struct ml *ml)
{
    if (!ml)
        return;
    memset(&ml->observer, 0, sizeof(ml->observer));
    if (ml->L) {
        ml_hosts_release(ml);
        ml_modmaps_release(ml);
        lua_close(ml->L);
    }
    free(ml->moddir);
    free(ml);
}
