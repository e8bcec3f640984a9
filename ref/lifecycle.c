/*
 * lifecycle.c - modulemanager: load, unload and reload of modules.
 *
 * The functions follow Prosody 0.12.3's modulemanager step by step
 * (spec/rules/: failure, unload, reload, shared), quirks included: failed loads leave
 * their hooks behind, a body error returns false where every other
 * failure returns nil, reload of a missing module fires module-unloaded.
 * Each public function pushes the two return values Prosody's function
 * would return. Module code runs under the traceback handler wherever
 * Prosody uses xpcall; errors of event handlers propagate.
 */
#include "modlife-int.h"

/* Leave the top 'n' values at base+1 .. base+n, dropping the values
 * between. */
static void keep_top(lua_State *L, int base, int n)
{
    lua_rotate(L, base + 1, n);
    lua_settop(L, base + n);
}

/* Push the result pair nil, <token>. */
static void push_fail(lua_State *L, enum ml_token token)
{
    lua_pushnil(L);
    ml_push_token(L, token);
}

/* api:set_status(type, <token>[, override = false]) on the api at 'api';
 * nothing with status switched off (without.c). */
static void set_status(lua_State *L, int api, const char *type,
                       enum ml_token message, bool override_false)
{
    if (!ml_has(ml_self(L), ML_CAP_STATUS))
        return;
    lua_pushstring(L, type);
    ml_push_token(L, message);
    if (override_false)
        lua_pushboolean(L, 0);
    ml_method_call(L, api, "set_status", override_false ? 3 : 2, 0);
}

/* Fire 'event' with {module = <name>, host = <host>} on the events object
 * (hosts[<target>] or prosody).events. */
static void fire_lifecycle(lua_State *L, struct ml *ml, int target,
                           const char *event, int name, int host)
{
    int top = lua_gettop(L);

    ml_push_events_for(L, ml, target);
    lua_pushstring(L, event);
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, name);
    lua_setfield(L, -2, "module");
    lua_pushvalue(L, host);
    lua_setfield(L, -2, "host");
    ml_events_fire(L, top + 1, top + 2, top + 3);
    lua_settop(L, top);
}

static void do_load(lua_State *L, struct ml *ml, int host, int name,
                    int state, lua_KFunction k);

/*
 * The shared path (§4.1): a per-host instance of the shared module whose
 * global env is at 'genv'. Pushes env, nil or nil, err.
 */
static void load_shared(lua_State *L, struct ml *ml, int host, int name,
                        int genv)
{
    int base = lua_gettop(L);

    ml_api_new_host(L, host, name, genv);           /* base+1 api, +2 env */
    /* R-SHARED-7: in the host's map while add_host runs. */
    ml_module_set(L, ml_modmap_check(L, ml, host, 200, "?"), name, base + 2);
    /* R-SHARED-4: add_host(per-host api) as only argument. */
    lua_pushvalue(L, base + 1);
    ml_module_call(L, genv, "add_host", 1);
    lua_settop(L, base + 5);                        /* ok, result, err */
    if (!lua_toboolean(L, base + 3) ||
        (lua_isboolean(L, base + 4) && !lua_toboolean(L, base + 4))) {
        /* R-SHARED-9, R-SHARED-10: a raise gives nil, the error; false
         * gives nil and the second value, or false itself without one.
         * R-SHARED-12: whatever add_host hooked stays hooked. */
        ml_module_clear(L, ml_modmap_check(L, ml, host, 203, "?"), name);
        lua_pushnil(L);
        if (lua_toboolean(L, base + 3) && lua_toboolean(L, base + 5))
            lua_pushvalue(L, base + 5);
        else
            lua_pushvalue(L, base + 4);
    } else {
        /* R-SHARED-11: any other return value is success. */
        lua_pushvalue(L, base + 2);
        lua_pushnil(L);
    }
    keep_top(L, base, 2);
}

/* The points at which a load made through ml_lc_load_k may be suspended
 * by a yield; the continuation's context is base * LOAD_STAGES + stage. */
enum { STAGE_BODY, STAGE_LOAD, LOAD_STAGES };

static lua_KContext load_ctx(int base, int stage)
{
    return (lua_KContext)base * LOAD_STAGES + stage;
}

/*
 * The end of load_full, the load's outcome being at base+3 (ok) and
 * base+4 (err); 'body_ok': the body succeeded (load() may have failed
 * since). R-LOAD-12, the move to "*", the shared re-load, the status,
 * the two results. 'base' is load_full's.
 */
static void load_full_finish(lua_State *L, struct ml *ml, int host,
                             int name, int base, bool body_ok)
{
    int api = base + 1, env = base + 2, ok = base + 3, err = base + 4;

    if (body_ok) {
        /* R-LOAD-12 */
        lua_pushnil(L);
        lua_setfield(L, api, ml_reloading_field(ml));
        lua_pushnil(L);
        lua_setfield(L, api, "saved_state");
        lua_getfield(L, api, "host");               /* base+5 */
        if (ml_is_star(L, base + 5)) {
            /* R-GLOBAL-3, R-GLOBAL-4: made global after the fact. */
            lua_getfield(L, api, "global");
            if (!lua_toboolean(L, -1))
                ml_method_call(L, api, "set_global", 0, 0);
            lua_settop(L, base + 4);
            /* R-GLOBAL-2: only in the "*" map. */
            ml_module_clear(L, ml_modmap_check(L, ml, host, 289, "?"), name);
            lua_getfield(L, api, "host");           /* base+5 */
            ml_module_set(L, ml_modmap_check(L, ml, base + 5, 290, "?"), name,
                          env);
            if (!lua_rawequal(L, host, base + 5) &&
                ml_module_has_method(L, env, "add_host")) {
                /* R-SHARED-2, R-SHARED-14: the shared re-load's outcome
                 * replaces the outcome so far. */
                do_load(L, ml, host, name, 0, NULL);    /* base+6, base+7 */
                lua_copy(L, base + 6, ok);
                lua_copy(L, base + 7, err);
            }
        }
        lua_settop(L, base + 4);
        /* R-READY-1 (13.0.1): whatever load() and add_host gave. */
        ml_ready_after_load(L, ml, env);
    }
    if (!lua_toboolean(L, ok)) {
        /* R-LOAD-8, R-LOAD-9: removed from the map of module.host (which
         * the body may have changed); hooks and items stay. */
        lua_getfield(L, api, "host");
        ml_module_clear(L, ml_modmap_check(L, ml, base + 5, 298, "?"), name);
        lua_settop(L, base + 4);
        set_status(L, api, "warn", ML_TOK_STATUS_ERROR_DURING_LOAD, false);
    } else {
        /* R-LOAD-18 */
        set_status(L, api, "core", ML_TOK_STATUS_LOADED, true);
    }
    lua_pushvalue(L, lua_toboolean(L, ok) ? env : ok);
    lua_pushvalue(L, err);
    keep_top(L, base, 2);
}

/* After load() (R-LOAD-10), whose ml_module_call results are above
 * base+4: its outcome becomes the load's. */
static void load_full_loaded(lua_State *L, int base)
{
    int api = base + 1, ok = base + 3, err = base + 4;

    lua_settop(L, base + 6);
    lua_copy(L, base + 5, ok);
    lua_copy(L, base + 6, err);
    lua_settop(L, base + 4);
    if (!lua_toboolean(L, ok))
        set_status(L, api, "warn", ML_TOK_STATUS_ERROR_DURING_LOAD, false);
}

/*
 * The rest of load_full once the body (at base+5, under its message
 * handler) has run with 'status': load(), yieldable with 'k' as the body
 * is, then load_full_finish. 'base' is load_full's.
 */
static void load_full_end(lua_State *L, struct ml *ml, int host, int name,
                          int base, int status, lua_KFunction k)
{
    int env = base + 2, ok = base + 3, err = base + 4;

    lua_pushboolean(L, status == LUA_OK);
    lua_replace(L, ok);
    lua_replace(L, err);    /* the body's first return value, or its error */
    if (status == LUA_OK && ml_module_has_method(L, env, "load")) {
        ml_module_call_k(L, env, "load", 0, load_ctx(base, STAGE_LOAD), k);
        load_full_loaded(L, base);
    }
    load_full_finish(L, ml, host, name, base, status == LUA_OK);
}

/*
 * A full load (§2.1 steps 6-11): fresh api and env, find and compile the
 * file, run body and load(), promote to "*" if the module went global,
 * re-load on the host for a shared module. Pushes env, err (the env is
 * the global one for a module that went global) or false/nil, err.
 * With 'k' the body and load() may yield (R-HOSTILE-7): see ml_lc_load_k.
 */
static void load_full(lua_State *L, struct ml *ml, int host, int name,
                      int state, lua_KFunction k)
{
    int base = lua_gettop(L);
    int api = base + 1, env = base + 2;
    int status;

    ml_api_new(L, ml, host, name, state);
    lua_pushnil(L);
    lua_pushnil(L);
    if (ml_loader_load_code(L, ml, name, env) == 2) {
        /* R-LOAD-6, R-LOAD-7: nothing registered, status error. */
        set_status(L, api, "error", ML_TOK_STATUS_FAILED_TO_LOAD, false);
        lua_pushnil(L);
        lua_pushvalue(L, base + 6);
        keep_top(L, base, 2);
        return;
    }
    lua_pushvalue(L, base + 6);
    lua_setfield(L, api, "path");
    lua_pushvalue(L, base + 7);
    lua_setfield(L, api, "meta");
    /* R-LOAD-11: in the map while the body and load() run. */
    ml_module_set(L, ml_modmap_check(L, ml, host, 269, "?"), name, env);
    lua_settop(L, base + 5);
    status = ml_pcall_traceback_k(L, 0, 1, load_ctx(base, STAGE_BODY), k);
    load_full_end(L, ml, host, name, base, status, k);
}

/*
 * modulemanager's do_load_module(host, name, state): pushes env, err. The
 * state (stack index, 0 for none) is what reload passes; 'k', for
 * load_full, NULL but from ml_lc_load_k.
 */
static void do_load(lua_State *L, struct ml *ml, int host, int name,
                    int state, lua_KFunction k)
{
    int base = lua_gettop(L);
    struct ml_modmap *map;

    ml_checkstack(L, 30);
    if (!lua_toboolean(L, host) || !lua_toboolean(L, name)) {
        push_fail(L, ML_TOK_INSUFFICIENT_PARAMETERS);   /* R-LOAD-1 */
        return;
    }
    if (!ml_host_at(L, ml, host) && !ml_is_star(L, host)) {
        push_fail(L, ML_TOK_UNKNOWN_HOST);              /* R-LOAD-2 */
        return;
    }
    /* A number stays a number (R-DEP-15): the logger and file names
     * concatenate its text, the maps keep it apart from that text. */
    if (lua_type(L, name) != LUA_TSTRING && lua_type(L, name) != LUA_TNUMBER) {
        /* Found in no map, then concatenated into the logger name. */
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 213, "attempt to concatenate a "
                    "%s value (local 'module_name')", luaL_typename(L, name));
    }
    map = ml_modmap_at(L, ml, host);
    if (!map) {
        /* First load since activation: link hosts[host].modules. */
        struct ml_host *h = ml_host_at(L, ml, host);

        if (!h)
            ml_raise_at(L, ML_SRC_MODULEMANAGER, ml->release13 ? 192 : 179,
                        "attempt to index a nil value (field '?')");
        ml_modmap_link(L, ml, host, h->modules);
        map = h->modules;
    }
    lua_pushliteral(L, "*");                            /* base+1 */
    if (ml_module_push(L, map, name)) {
        /* Prosody looks at the "*" map here, for a debug line. */
        ml_modmap_check(L, ml, base + 1, 183, "*");
        lua_settop(L, base);
        push_fail(L, ML_TOK_MODULE_ALREADY_LOADED);     /* R-LOAD-3/5 */
        return;
    }
    if (ml_module_push(L, ml_modmap_check(L, ml, base + 1, 187, "*"), name)) {
        if (ml_module_has_method(L, base + 2, "add_host"))
            load_shared(L, ml, host, name, base + 2);   /* R-SHARED-8 */
        else
            push_fail(L, ML_TOK_GLOBAL_MODULE_ALREADY_LOADED);  /* R-LOAD-4 */
        keep_top(L, base, 2);
        return;
    }
    lua_settop(L, base);
    load_full(L, ml, host, name, state, k);
}

/* The end of ml_lc_load: a success fires module-loaded. The load's two
 * results are above 'base'. */
static void fire_loaded(lua_State *L, struct ml *ml, int name, int base)
{
    if (lua_toboolean(L, base + 1)) {
        lua_getfield(L, base + 1, "module");
        lua_getfield(L, -1, "host");
        fire_lifecycle(L, ml, base + 4, "module-loaded", name, base + 4);
        lua_settop(L, base + 2);
    }
}

/*
 * modulemanager.load(host, name) for the strings at 'host' and 'name':
 * pushes env, err. A success fires module-loaded {module, host} on the
 * events of the returned instance's host (R-LOAD-14, R-SHARED-3); errors
 * of its handlers propagate with the module loaded (R-LOAD-16).
 */
void ml_lc_load(lua_State *L, struct ml *ml, int host, int name)
{
    ml_lc_load_k(L, ml, host, name, NULL);
}

/*
 * ml_lc_load, yieldable: called from a C function that Lua code called
 * and whose continuation is 'k'. A body or a load() that yields (inside
 * a coroutine) suspends the load, as Prosody's xpcall does
 * (R-HOSTILE-7): the C functions in between are gone, and when it
 * returns Lua calls k(L, status, ctx) in the caller's place, with the
 * caller's stack as it was; 'k' calls ml_lc_load_end with the same
 * 'host', 'name' and 'k', then does its own remaining work.
 */
void ml_lc_load_k(lua_State *L, struct ml *ml, int host, int name,
                  lua_KFunction k)
{
    int base = lua_gettop(L);

    do_load(L, ml, host, name, 0, k);
    fire_loaded(L, ml, name, base);
}

/* The rest of ml_lc_load_k after a yield: 'status' and 'ctx' are those
 * Lua passed to the continuation. Pushes the load's two results. */
void ml_lc_load_end(lua_State *L, struct ml *ml, int host, int name,
                    lua_KFunction k, lua_KContext ctx, int status)
{
    int base = (int)(ctx / LOAD_STAGES);

    if (ctx % LOAD_STAGES == STAGE_BODY) {
        load_full_end(L, ml, host, name, base,
                      ml_pcall_traceback_end(L, status, base + 5), k);
    } else {
        /* load(), called at base+5 by ml_module_call_k above base+4 */
        ml_module_call_end(L, ml_pcall_traceback_end(L, status, base + 5),
                           base + 4);
        load_full_loaded(L, base);
        load_full_finish(L, ml, host, name, base, true);
    }
    fire_loaded(L, ml, name, base);
}

/* object.remove_handler(event, handler) at modulemanager.lua:153, for a
 * hook recorded on 'object' (stack indices). */
static void remove_hook(lua_State *L, int object, int event, int handler)
{
    if (!ml_is_indexable(L, object))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 153, "attempt to index a %s "
                    "value (local 'object')", luaL_typename(L, object));
    ml_object_remove_handler(L, object, event, handler, 0);
}

/*
 * 'for object, event, handler in eh:iter(nil, nil, nil)' over the value
 * at 'eh' that a module put in place of its event_handlers
 * (modulemanager.lua:152-154): eh.iter is called as Prosody calls its
 * multitable's, raising at line 152 when that cannot be done, and each
 * triple it yields is removed (R-HOSTILE-3).
 */
static void remove_foreign_hooks(lua_State *L, int eh)
{
    int it;

    if (!ml_is_indexable(L, eh))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 152, "attempt to index a %s "
                    "value (field 'event_handlers')", luaL_typename(L, eh));
    lua_getfield(L, eh, "iter");
    if (!ml_is_callable(L, -1))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 152, "attempt to call a %s "
                    "value (method 'iter')", luaL_typename(L, -1));
    lua_pushvalue(L, eh);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    lua_call(L, 4, 3);
    it = lua_gettop(L) - 2;                         /* it, it+1, it+2 */
    for (;;) {
        lua_settop(L, it + 2);
        lua_pushvalue(L, it);
        lua_pushvalue(L, it + 1);
        lua_pushvalue(L, it + 2);
        lua_call(L, 2, 3);                          /* it+3 .. it+5 */
        if (lua_isnil(L, it + 3))
            break;
        lua_pushvalue(L, it + 3);
        lua_replace(L, it + 2);
        remove_hook(L, it + 3, it + 4, it + 5);
    }
    lua_settop(L, it - 1);
}

/* Remove every hook recorded in the api's event_handlers, on whatever
 * object it was made (R-EV-9). */
static void remove_hooks(lua_State *L, int api)
{
    int eh, object, event;

    lua_getfield(L, api, "event_handlers");
    eh = lua_gettop(L);
    if (!ml_api_is_tracking(L, eh)) {
        remove_foreign_hooks(L, eh);
        lua_pop(L, 1);
        return;
    }
    lua_pushnil(L);
    while (lua_next(L, eh) != 0) {
        object = lua_gettop(L) - 1;
        if (!lua_istable(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushnil(L);
        while (lua_next(L, object + 1) != 0) {
            event = lua_gettop(L) - 1;
            if (!lua_istable(L, -1)) {
                lua_pop(L, 1);
                continue;
            }
            lua_pushnil(L);
            while (lua_next(L, event + 1) != 0) {
                lua_pop(L, 1);
                remove_hook(L, object, event, lua_gettop(L));
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Push "item-removed/" .. <key at 'key'>, raising as the concatenation at
 * modulemanager.lua:162 does for a key that is neither a string nor a
 * number and has no __concat. */
static void push_removed_name(lua_State *L, int key)
{
    int type = lua_type(L, key);

    if (type != LUA_TSTRING && type != LUA_TNUMBER &&
        !ml_has_metamethod(L, key, "__concat"))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 162, "attempt to concatenate a "
                    "%s value (local 'key')", luaL_typename(L, key));
    lua_pushliteral(L, "item-removed/");
    lua_pushvalue(L, key);
    lua_concat(L, 2);
}

/* #t at modulemanager.lua:159, for the items 't' of one key (stack index):
 * raises there as Lua does for a value without a length. */
static lua_Integer items_length(lua_State *L, int t)
{
    int type = lua_type(L, t), isnum;
    lua_Integer len;

    if (type != LUA_TTABLE && type != LUA_TSTRING &&
        !ml_has_metamethod(L, t, "__len"))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 159, "attempt to get length of "
                    "a %s value (local 't')", luaL_typename(L, t));
    lua_len(L, t);
    len = lua_tointegerx(L, -1, &isnum);
    if (!isnum)
        ml_raise_at(L, ML_SRC_MODULEMANAGER, 159,
                    "'for' initial value must be a number");
    lua_pop(L, 1);
    return len;
}

/* Remove the items 't' of one key, last to first (R-UNLOAD-5), firing
 * the event named at 'name' {source = api, item} on the events at
 * 'events' for each: modulemanager.lua:159-163, raising there as Lua
 * would for items that cannot be indexed or assigned (R-HOSTILE-2). */
static void remove_key_items(lua_State *L, int api, int events, int name,
                             int t)
{
    int top = lua_gettop(L);
    lua_Integer i;

    for (i = items_length(L, t); i >= 1; i--) {
        lua_geti(L, t, i);                          /* top+1 */
        if (!lua_istable(L, t) && !ml_has_metamethod(L, t, "__newindex"))
            ml_raise_at(L, ML_SRC_MODULEMANAGER, 161, "attempt to index a "
                        "%s value (local 't')", luaL_typename(L, t));
        lua_pushnil(L);
        lua_seti(L, t, i);
        lua_createtable(L, 0, 2);
        lua_pushvalue(L, api);
        lua_setfield(L, -2, "source");
        lua_pushvalue(L, top + 1);
        lua_setfield(L, -2, "item");
        ml_events_fire(L, events, name, top + 2);
        lua_settop(L, top);
    }
}

/* Remove the api's remaining items (modulemanager.lua:158-164): for each
 * key of pairs(items), remove_key_items. A plain table's keys go in byte
 * order of the event name (Prosody's order is undefined, R-UNLOAD-6); an
 * iterator of a __pairs metamethod is followed in its own order, as
 * Prosody's pairs() does. A value pairs() cannot walk raises at line 158
 * (R-HOSTILE-1). */
static void remove_items(lua_State *L, int api, int items, int events)
{
    int it, keys;
    lua_Integer i, n = 0;

    ml_pairs(L, items, ML_SRC_MODULEMANAGER, 158);  /* it, it+1, it+2 */
    it = lua_gettop(L) - 2;
    if (!lua_isnil(L, it)) {
        while (ml_pairs_next(L, it)) {              /* it+3 key, it+4 t */
            push_removed_name(L, it + 3);           /* it+5 */
            remove_key_items(L, api, events, it + 5, it + 4);
            lua_settop(L, it + 2);
        }
        lua_settop(L, it - 1);
        return;
    }
    lua_newtable(L);
    keys = lua_gettop(L);
    while (ml_pairs_next(L, it)) {
        lua_createtable(L, 2, 0);
        push_removed_name(L, keys + 1);
        lua_rawseti(L, -2, 1);
        lua_pushvalue(L, keys + 2);
        lua_rawseti(L, -2, 2);
        lua_rawseti(L, keys, ++n);
        lua_settop(L, keys);
    }
    ml_sort_by_string(L, keys, 1);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, keys, i);
        lua_rawgeti(L, -1, 1);                      /* keys+2: name */
        lua_rawgeti(L, -2, 2);                      /* keys+3: items */
        remove_key_items(L, api, events, keys + 2, keys + 3);
        lua_settop(L, keys);
    }
    lua_settop(L, it - 1);
}

/*
 * modulemanager's do_unload_module(host, name): pushes true, nil or nil,
 * "module-not-loaded" (R-UNLOAD-1). Order (R-UNLOAD-2): own unload()
 * (errors ignored, R-UNLOAD-4), hooks removed, items removed with events,
 * loaded = false, removal from the map. No module-unloaded here.
 */
static void do_unload(lua_State *L, struct ml *ml, int host, int name)
{
    int base = lua_gettop(L);
    int env = base + 1, api = base + 2;

    ml_checkstack(L, 30);
    ml_get_module(L, ml, host, name);
    if (lua_isnil(L, env)) {
        lua_settop(L, base);
        push_fail(L, ML_TOK_MODULE_NOT_LOADED);
        return;
    }
    /* R-UNLOAD-8: only an own unload of this api counts. */
    if (ml_module_has_method(L, env, "unload")) {
        ml_module_call(L, env, "unload", 0);
        lua_settop(L, env);
    }
    lua_getfield(L, env, "module");
    remove_hooks(L, api);
    lua_getfield(L, api, "items");                  /* base+3 */
    if (lua_toboolean(L, base + 3)) {
        /* Global events for "*", else the host's (R-GLOBAL-6). */
        if (ml_is_star(L, host)) {
            ml_push_ref(L, ml->ref_global_events, LUA_TTABLE);
        } else {
            struct ml_host *h = ml_host_at(L, ml, host);

            if (!h)
                ml_raise_at(L, ML_SRC_MODULEMANAGER, 157,
                            "attempt to index a nil value (field '?')");
            ml_push_ref(L, h->ref_events, LUA_TTABLE);
        }
        remove_items(L, api, base + 3, base + 4);
    }
    lua_settop(L, api);
    lua_pushboolean(L, 0);
    lua_setfield(L, api, "loaded");                 /* R-LOAD-19 */
    ml_module_clear(L, ml_modmap_check(L, ml, host, 167, "?"), name);
    lua_settop(L, base);
    lua_pushboolean(L, 1);
    lua_pushnil(L);
}

/*
 * modulemanager.unload(host, name) for the strings at 'host' and 'name':
 * pushes true, nil or nil, err. A success fires module-unloaded {module,
 * host = <host argument>} on (hosts[host] or prosody).events, where the
 * module is already gone (R-UNLOAD-3); handler errors propagate
 * (R-UNLOAD-11).
 */
void ml_lc_unload(lua_State *L, struct ml *ml, int host, int name)
{
    int base = lua_gettop(L);

    do_unload(L, ml, host, name);
    if (lua_toboolean(L, base + 1))
        fire_lifecycle(L, ml, host, "module-unloaded", name, host);
}

/*
 * modulemanager's do_reload_module(host, name): pushes env, err or a
 * failure pair. Order (R-RELOAD-3): syntax check, save(), reloading =
 * true, unload without module-unloaded, load with the saved state,
 * restore(saved or {}).
 */
static void do_reload(lua_State *L, struct ml *ml, int host, int name)
{
    int base = lua_gettop(L);
    int mod = base + 1, saved = base + 2, state = base + 3;

    ml_checkstack(L, 30);
    ml_get_module(L, ml, host, name);
    if (lua_isnil(L, mod)) {
        lua_settop(L, base);
        push_fail(L, ML_TOK_MODULE_NOT_LOADED);
        return;
    }
    if (ml_loader_load_code(L, ml, name, 0) == 2) {
        /* R-RELOAD-2: the old instance stays untouched. */
        keep_top(L, base, 2);
        return;
    }
    lua_settop(L, mod);
    lua_pushnil(L);                                 /* saved */
    if (ml_module_has_method(L, mod, "save")) {
        ml_module_call(L, mod, "save", 0);
        lua_settop(L, saved + 2);
        if (lua_toboolean(L, saved + 1)) {
            lua_copy(L, saved + 2, saved);          /* R-RELOAD-8 */
        } else {
            /* R-RELOAD-6: a save() error aborts the reload, unless
             * force_module_reload is set for the host (the global section
             * for "*"); then it goes on with nothing saved (R-RELOAD-7). */
            ml_config_get_field(L, ml, host, "force_module_reload");
            if (!lua_toboolean(L, -1)) {
                lua_settop(L, base);
                push_fail(L, ML_TOK_SAVE_STATE_FAILED);
                return;
            }
        }
        lua_settop(L, saved);
    }
    lua_getfield(L, mod, "module");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, ml_reloading_field(ml));
    lua_settop(L, saved);
    do_unload(L, ml, host, name);
    lua_settop(L, saved);
    if (lua_toboolean(L, saved))
        lua_pushvalue(L, saved);
    else
        lua_pushboolean(L, 1);                      /* state */
    do_load(L, ml, host, name, state, NULL);        /* base+4, base+5 */
    if (!lua_toboolean(L, base + 4)) {
        keep_top(L, base, 2);                       /* R-RELOAD-10 */
        return;
    }
    /* R-RELOAD-13: a module gone global without add_host is not in the
     * host's map any more, and the lookup of restore raises. */
    ml_get_module(L, ml, host, name);               /* base+6 */
    if (ml_module_has_method(L, base + 6, "restore")) {
        if (lua_toboolean(L, saved))
            lua_pushvalue(L, saved);
        else
            lua_newtable(L);
        ml_module_call(L, base + 6, "restore", 1);  /* R-RELOAD-9 */
        lua_settop(L, base + 6);
    }
    lua_pushvalue(L, base + 5);
    keep_top(L, base, 2);
}

/*
 * modulemanager.reload(host, name) for the strings at 'host' and 'name':
 * pushes env, err or a failure pair. A success fires module-reloaded
 * {module, host = <host argument>} with reloading = true on the new api
 * during the handlers, nil afterwards (R-RELOAD-4, R-RELOAD-5). When the
 * module is not loaded afterwards, for whatever reason (never loaded:
 * R-RELOAD-1; failed new body: R-RELOAD-10), module-unloaded fires.
 */
void ml_lc_reload(lua_State *L, struct ml *ml, int host, int name)
{
    int base = lua_gettop(L);

    do_reload(L, ml, host, name);
    if (lua_toboolean(L, base + 1)) {
        ml_get_module(L, ml, host, name);
        if (lua_isnil(L, -1))
            ml_raise_at(L, ML_SRC_MODULEMANAGER, 372,
                        "attempt to index a nil value (field '?')");
        lua_getfield(L, -1, "module");
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, ml_reloading_field(ml));
        lua_settop(L, base + 2);
        fire_lifecycle(L, ml, host, "module-reloaded", name, host);
        lua_getfield(L, base + 1, "module");
        lua_pushnil(L);
        lua_setfield(L, -2, ml_reloading_field(ml));
        lua_settop(L, base + 2);
        return;
    }
    ml_get_module(L, ml, host, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        fire_lifecycle(L, ml, host, "module-unloaded", name, host);
    }
    lua_settop(L, base + 2);
}

/* Whether the value at 'a' equals the value at 'b' (Lua's ==). */
static bool equal(lua_State *L, int a, int b)
{
    return lua_compare(L, a, b, LUA_OPEQ) != 0;
}

/* Add (present) or remove the values of ipairs(<value at 'list'>) to or
 * from the set table at 'set', as set.new(list) combined with + or -
 * would; a nil or false list changes nothing. */
static void set_apply(lua_State *L, int set, int list, bool present)
{
    if (lua_toboolean(L, list))
        ml_set_add_ipairs(L, set, list, present);
}

/*
 * modulemanager's get_modules_for_host(host): push the set (a table
 * name -> true) of modules to load on the host at 'host', and its
 * component_module (nil for a local host). R-HOST-2: (autoload + global
 * modules_enabled - global modules_disabled), kept to the
 * component-inheritable modules for a component, + host modules_enabled
 * - host modules_disabled, where a host list that is the global one (not
 * set on the host) does not count; vcard is dropped when vcard_legacy is
 * also there (R-HOST-15).
 */
static void push_modules_for_host(lua_State *L, struct ml *ml, int host)
{
    int base = lua_gettop(L);
    int set = base + 1, component = base + 2, star = base + 3;
    int ge = base + 4, gd = base + 5, he = base + 6, hd = base + 7;
    const char *const *name;

    lua_newtable(L);
    ml_config_get_field(L, ml, host, "component_module");
    lua_pushliteral(L, "*");
    ml_config_get_field(L, ml, star, "modules_enabled");
    ml_config_get_field(L, ml, star, "modules_disabled");
    ml_config_get_field(L, ml, host, "modules_enabled");
    ml_config_get_field(L, ml, host, "modules_disabled");
    if (equal(L, he, ge)) {
        lua_pushnil(L);
        lua_replace(L, he);
    }
    if (equal(L, hd, gd)) {
        lua_pushnil(L);
        lua_replace(L, hd);
    }
    for (name = ml_autoload_modules(); *name; name++) {
        lua_pushboolean(L, 1);
        lua_setfield(L, set, *name);
    }
    set_apply(L, set, ge, true);
    set_apply(L, set, gd, false);
    if (lua_toboolean(L, component)) {
        lua_newtable(L);
        for (name = ml_component_inheritable_modules(); *name; name++) {
            if (lua_getfield(L, set, *name) != LUA_TNIL) {
                lua_pushboolean(L, 1);
                lua_setfield(L, -3, *name);
            }
            lua_pop(L, 1);
        }
        lua_replace(L, set);
    }
    set_apply(L, set, he, true);
    set_apply(L, set, hd, false);
    if (lua_getfield(L, set, "vcard") != LUA_TNIL &&
        lua_getfield(L, set, "vcard_legacy") != LUA_TNIL) {
        lua_pushnil(L);
        lua_setfield(L, set, "vcard");
    }
    lua_settop(L, component);
}

/* modulemanager's host-activated handler, load_modules_for_host: load the
 * component_module first (R-HOST-4), then every module of the host's
 * list, in byte order where Prosody's set order is undefined (R-HOST-5).
 * Load failures are ignored (R-HOST-6); errors raised by handlers
 * propagate. Data: the host name. */
static int on_host_activated(lua_State *L)
{
    struct ml *ml = ml_self(L);
    lua_Integer i, n = 0;

    lua_settop(L, 1);
    push_modules_for_host(L, ml, 1);                /* 2: set, 3: component */
    if (lua_toboolean(L, 3)) {
        lua_pushvalue(L, 3);
        ml_lc_load(L, ml, 1, 4);
        lua_settop(L, 3);
    }
    lua_newtable(L);                                /* 4: names */
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        lua_pop(L, 1);
        if (lua_type(L, -1) == LUA_TSTRING) {
            lua_pushvalue(L, -1);
            lua_rawseti(L, 4, ++n);
        }
    }
    ml_sort_by_string(L, 4, 0);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, 4, i);
        ml_lc_load(L, ml, 1, 5);
        lua_settop(L, 4);
    }
    return 0;
}

/* modulemanager's host-deactivated handler: drop the host's module map.
 * Data: the host name. */
static int on_host_deactivated(lua_State *L)
{
    ml_modmap_drop(L, ml_self(L), 1);
    return 0;
}

/*
 * Set up modulemanager's state: the "*" module map, which always exists,
 * and its handlers on the global events, host-activated (loading the
 * host's modules) and host-deactivated (R-HOST-10), both at priority 0.
 */
void ml_lifecycle_init(lua_State *L, struct ml *ml)
{
    struct ml_modmap *map = ml_modmap_new();
    int base = lua_gettop(L);

    if (!map || ml_map_put(&ml->modmaps, "*", 1, map) != ML_OK) {
        ml_modmap_unref(ml, map);
        luaL_error(L, "not enough memory");
    }
    ml_push_ref(L, ml->ref_global_events, LUA_TTABLE);
    lua_pushliteral(L, "host-activated");
    lua_pushcfunction(L, on_host_activated);
    ml_events_add(L, base + 1, base + 2, base + 3, 0);
    lua_settop(L, base + 1);
    lua_pushliteral(L, "host-deactivated");
    lua_pushcfunction(L, on_host_deactivated);
    ml_events_add(L, base + 1, base + 2, base + 3, 0);
    lua_settop(L, base);
}
