/*
 * api.c - moduleapi: the module api objects and their methods.
 *
 * A full load creates an api object (a table whose metatable's __index is
 * the shared method table) and an environment table (own field 'module',
 * other lookups fall through to the Lua globals). A per-host instance of a
 * shared module gets a smaller api object inheriting from the global one
 * (R-SHARED-5).
 *
 * Methods reach other methods through 'self', as Prosody's do, so that a
 * module overriding one sees its override used. Methods find the library
 * instance with ml_self, not in an upvalue (issue 11 §3).
 */
#include <string.h>
#include <time.h>

#include "modlife-int.h"

/* ---- helpers ---- */

/* Push (hosts[self.host] or prosody).events for the self at index 1. */
static void push_self_events(lua_State *L, struct ml *ml)
{
    lua_getfield(L, 1, "host");
    ml_push_events_for(L, ml, lua_gettop(L));
    lua_remove(L, -2);
}

/* Push a new table {source = <value at source>, item = <value at item>}. */
static void push_item_data(lua_State *L, int source, int item)
{
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, source);
    lua_setfield(L, -2, "source");
    lua_pushvalue(L, item);
    lua_setfield(L, -2, "item");
}

/* Push the string 'prefix' .. <value at key>, as Lua's '..' would. */
static void push_concat(lua_State *L, const char *prefix, int key, int line,
                        const char *local)
{
    /* Only strings and numbers concatenate; Prosody's error names the
     * local and carries its line of moduleapi.lua. */
    if (lua_type(L, key) != LUA_TSTRING && lua_type(L, key) != LUA_TNUMBER)
        ml_raise_at(L, ML_SRC_MODULEAPI, line, "attempt to concatenate a %s "
                    "value (local '%s')", luaL_typename(L, key), local);
    lua_pushstring(L, prefix);
    lua_pushvalue(L, key);
    lua_concat(L, 2);
}

/* self:log(level, fmt, <nargs values on top of the stack>). With format
 * switched off (without.c) the message is formatted here, as Prosody's
 * moduleapi wrote it: its wording stays part of the semantics, only a
 * module's own formatting is left to the port. */
static void self_log(lua_State *L, const char *level, enum ml_token fmt,
                     int nargs)
{
    struct ml *ml = ml_self(L);
    int first = lua_gettop(L) - nargs + 1;

    if (!ml_has(ml, ML_CAP_FORMAT)) {
        lua_pushcfunction(L, ml_format);
        ml_push_token(L, fmt);
        lua_rotate(L, first, 2);
        lua_call(L, nargs + 1, 1);
        lua_pushstring(L, level);
        lua_pushliteral(L, "%s");
        lua_rotate(L, first, 2);
        ml_method_call(L, 1, "log", 3, 0);
        return;
    }
    lua_pushstring(L, level);
    ml_push_token(L, fmt);
    lua_rotate(L, first, 2);
    ml_method_call(L, 1, "log", nargs + 2, 0);
}

/* ---- identity and logging ---- */

static int api_get_name(lua_State *L)
{
    lua_getfield(L, 1, "name");
    return 1;
}

static int api_get_host(lua_State *L)
{
    lua_getfield(L, 1, "host");
    return 1;
}

/* "global" for "*", else hosts[self.host].type, which raises for a host
 * that is not active, as in Prosody. */
static int api_get_host_type(lua_State *L)
{
    struct ml *ml = ml_self(L);
    struct ml_host *h;

    lua_getfield(L, 1, "host");
    if (ml_is_star(L, -1)) {
        lua_pushliteral(L, "global");
        return 1;
    }
    h = ml_host_at(L, ml, lua_gettop(L));
    if (!h)
        return ml_raise_at(L, ML_SRC_MODULEAPI, 57,
                           "attempt to index a nil value (field '?')");
    lua_pushstring(L, h->type);
    return 1;
}

/* R-GLOBAL-1: host = "*", logger "mod_<name>", global = true; the move
 * to the "*" map is modulemanager's business. */
static int api_set_global(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushliteral(L, "*");
    lua_setfield(L, 1, "host");
    lua_pushliteral(L, "mod_");
    lua_getfield(L, 1, "name");
    lua_concat(L, 2);
    ml_log_new(L, 2);
    ml_log_method(L, 3);
    lua_setfield(L, 1, "log");
    lua_setfield(L, 1, "_log");
    lua_pushboolean(L, 1);
    lua_setfield(L, 1, "global");
    return 0;
}

/* ---- events and hooks ---- */

static int api_fire_event_k(lua_State *L, int status, lua_KContext ctx);

static int api_fire_event(lua_State *L)
{
    struct ml *ml = ml_self(L);

    lua_settop(L, 3);
    push_self_events(L, ml);
    return ml_events_fire_k(L, 4, 2, 3, api_fire_event_k);
}

/* The rest of fire_event after a handler yielded inside a coroutine and
 * returned (R-HOSTILE-7). */
static int api_fire_event_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    return ml_events_fire_end(L, ctx, api_fire_event_k);
}

/* Registry key of the weak-keyed set of the event_handlers tables that
 * api objects are created with (push_new_tracking). */
#define TRACKING_KEY "modlife.api.tracking"

/* Push a new, empty event_handlers table and register it as an api's own
 * (ml_api_is_tracking). */
static void push_new_tracking(lua_State *L)
{
    lua_newtable(L);
    ml_push_weak_keyed(L, TRACKING_KEY);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/*
 * Whether the value at 'idx' is an event_handlers table that an api was
 * created with: hooks, unhooks and unload walk those raw. Anything else
 * a module stores in module.event_handlers is used as Prosody uses its
 * multitable, through its add, remove and iter methods (R-HOSTILE-3).
 */
bool ml_api_is_tracking(lua_State *L, int idx)
{
    bool found;

    if (!lua_istable(L, idx))
        return false;
    idx = lua_absindex(L, idx);
    if (lua_getfield(L, LUA_REGISTRYINDEX, TRACKING_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        return false;
    }
    lua_pushvalue(L, idx);
    found = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return found;
}

/*
 * Push self.event_handlers (self at 1). For an api's own table, return
 * true. Otherwise push also its method 'method' and return false: the
 * caller calls it as moduleapi.lua does at 'line'
 * (self.event_handlers:add(...) or :remove(...)), which raises there when
 * the value cannot be indexed or the method cannot be called.
 */
static bool push_tracking(lua_State *L, const char *method, int line)
{
    lua_getfield(L, 1, "event_handlers");
    if (ml_api_is_tracking(L, -1))
        return true;
    if (!ml_is_indexable(L, -1))
        ml_raise_at(L, ML_SRC_MODULEAPI, line, "attempt to index a %s value "
                    "(field 'event_handlers')", luaL_typename(L, -1));
    lua_getfield(L, -1, method);
    if (!ml_is_callable(L, -1))
        ml_raise_at(L, ML_SRC_MODULEAPI, line, "attempt to call a %s value "
                    "(method '%s')", luaL_typename(L, -1), method);
    return false;
}

/* Push t[key] (raw) of the table on top, creating it as a new table if
 * absent; the key must not be nil. A module may have stored something
 * else there: that raises as indexing it in multitable's add would. */
static void push_subtable(lua_State *L, int key)
{
    lua_pushvalue(L, key);
    switch (lua_rawget(L, -2)) {
    case LUA_TTABLE:
        return;
    case LUA_TNIL:
        break;
    default:
        ml_raise_at(L, ML_SRC_MULTITABLE, 31, "attempt to index a %s value "
                    "(local 't')", luaL_typename(L, -1));
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushvalue(L, key);
    lua_pushvalue(L, -2);
    lua_rawset(L, -4);
}

/* hook_object_event(object, event, handler, priority): record the hook as
 * event_handlers[object][event][handler] (unload removes every recorded
 * hook, R-EV-9), then object.add_handler(event, handler, priority), whose
 * results it returns (R-EV-15.3). */
static int api_hook_object_event(lua_State *L)
{
    /* 13.0.1 records with set(object, event, handler, true), at line 86 */
    bool set = ml_self(L)->release13;
    int key;

    lua_settop(L, 5);
    if (!push_tracking(L, set ? "set" : "add", set ? 86 : 84)) { /* 6, 7 */
        lua_insert(L, 6);
        for (key = 2; key <= 4; key++)
            lua_pushvalue(L, key);
        lua_pushboolean(L, 1);
        lua_call(L, 5, 0);
        lua_settop(L, 5);
        return ml_object_add_handler(L, 2, 3, 4, 5, LUA_MULTRET);
    }
    for (key = 2; key <= 4; key++) {
        lua_Number x;

        if (lua_isnil(L, key))
            return ml_raise_at(L, ML_SRC_MULTITABLE, 32,
                               "table index is nil");
        x = lua_tonumber(L, key);
        if (lua_type(L, key) == LUA_TNUMBER && x != x)
            return ml_raise_at(L, ML_SRC_MULTITABLE, 32,
                               "table index is NaN");
    }
    push_subtable(L, 2);
    push_subtable(L, 3);
    lua_pushvalue(L, 4);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_settop(L, 5);
    /* Every value add_handler returns is returned (R-EV-15). */
    return ml_object_add_handler(L, 2, 3, 4, 5, LUA_MULTRET);
}

/* Whether the table on top of the stack is empty. */
static bool top_is_empty(lua_State *L)
{
    lua_pushnil(L);
    if (lua_next(L, -2) == 0)
        return true;
    lua_pop(L, 2);
    return false;
}

/* unhook_object_event(object, event, handler): forget the record (and
 * the tables it leaves empty), then object.remove_handler(event,
 * handler). */
static int api_unhook_object_event(lua_State *L)
{
    /* 13.0.1 forgets with set(object, event, handler, nil), at line 91 */
    bool set = ml_self(L)->release13;

    lua_settop(L, 4);
    if (!push_tracking(L, set ? "set" : "remove", set ? 91 : 89)) { /* 5, 6 */
        lua_insert(L, 5);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_pushvalue(L, 4);
        if (set)
            lua_pushnil(L);
        lua_call(L, set ? 5 : 4, 0);
        lua_settop(L, 4);
        return ml_object_remove_handler(L, 2, 3, 4, LUA_MULTRET);
    }
    lua_pushvalue(L, 2);
    if (lua_rawget(L, 5) == LUA_TTABLE) {           /* 6 */
        lua_pushvalue(L, 3);
        if (lua_rawget(L, 6) == LUA_TTABLE && !lua_isnil(L, 4)) {
            lua_pushvalue(L, 4);
            lua_pushnil(L);
            lua_rawset(L, 7);
            if (top_is_empty(L)) {
                lua_pushvalue(L, 3);
                lua_pushnil(L);
                lua_rawset(L, 6);
            }
        }
        lua_settop(L, 6);
        if (top_is_empty(L)) {
            lua_pushvalue(L, 2);
            lua_pushnil(L);
            lua_rawset(L, 5);
        }
    }
    lua_settop(L, 4);
    return ml_object_remove_handler(L, 2, 3, 4, LUA_MULTRET);
}

/* self:hook_object_event(<events on top>, event, handler, priority) with
 * the method's own arguments 2..(1 + nargs). */
static int hook_on(lua_State *L, int nargs)
{
    int i, top = lua_gettop(L) - 1;

    for (i = 0; i < nargs; i++)
        lua_pushvalue(L, 2 + i);
    /* Prosody returns what self:hook_object_event returns (R-EV-15). */
    ml_method_call(L, 1, "hook_object_event", nargs + 1, LUA_MULTRET);
    return lua_gettop(L) - top;
}

/* R-EV-8: host events, global events for "*". */
static int api_hook(lua_State *L)
{
    lua_settop(L, 4);
    push_self_events(L, ml_self(L));
    return hook_on(L, 3);
}

static int api_hook_global(lua_State *L)
{
    lua_settop(L, 4);
    ml_push_ref(L, ml_self(L)->ref_global_events, LUA_TTABLE);
    return hook_on(L, 3);
}

/* R-EV-10: not a wrapper, a plain priority-0 handler on global events. */
static int api_wrap_global(lua_State *L)
{
    lua_settop(L, 3);
    ml_push_ref(L, ml_self(L)->ref_global_events, LUA_TTABLE);
    return hook_on(L, 2);
}

/* wrap_object_event(events_object, event, handler): a wrapper, added by
 * hooking events_object.wrappers, so it is tracked and removed at unload
 * like a hook. */
static int api_wrap_object_event(lua_State *L)
{
    lua_settop(L, 4);
    lua_getfield(L, 2, "wrappers");
    if (!lua_toboolean(L, -1))      /* Prosody's assert(), which adds its position */
        return ml_raise_at(L, ML_SRC_MODULEAPI, 119, "no wrappers");
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 4);
    ml_method_call(L, 1, "hook_object_event", 3, LUA_MULTRET);
    return lua_gettop(L) - 4;
}

/* wrap_event(event, handler): wrap an event of the module's own events
 * object (false: every event). */
static int api_wrap_event(lua_State *L)
{
    lua_settop(L, 3);
    push_self_events(L, ml_self(L));
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "wrap_object_event", 3, LUA_MULTRET);
    return lua_gettop(L) - 3;
}

static int api_unhook(lua_State *L)
{
    lua_settop(L, 3);
    push_self_events(L, ml_self(L));
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "unhook_object_event", 3, LUA_MULTRET);
    return lua_gettop(L) - 3;       /* what unhook_object_event returned */
}

/* The handler hook_tag installs: handler(data.origin, data.stanza, data). */
static int tag_handler(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_getfield(L, 1, "origin");
    lua_getfield(L, 1, "stanza");
    lua_pushvalue(L, 1);
    lua_call(L, 3, LUA_MULTRET);
    return lua_gettop(L) - 1;
}

/* hook_tag(xmlns, name, handler, priority) hooks "stanza/<xmlns>:<name>",
 * or "stanza/<name>" when called as hook_tag(name, handler). */
static int api_hook_tag(lua_State *L)
{
    lua_settop(L, 5);
    if (!lua_toboolean(L, 4) && lua_isfunction(L, 3)) {
        lua_pushnil(L);
        lua_insert(L, 2);
        lua_settop(L, 5);
    } else if (!(lua_toboolean(L, 4) && lua_toboolean(L, 3))) {
        self_log(L, "warn", ML_TOK_HOOK_TAG_PARAMETERS, 0);
        return 0;
    }
    /* "stanza/"..(xmlns and (xmlns..":") or "")..name, moduleapi.lua:109:
     * each operand must concatenate. */
    if (lua_toboolean(L, 2) && lua_type(L, 2) != LUA_TSTRING &&
        lua_type(L, 2) != LUA_TNUMBER)
        return ml_raise_at(L, ML_SRC_MODULEAPI, 109, "attempt to concatenate "
                           "a %s value (local 'xmlns')", luaL_typename(L, 2));
    if (lua_type(L, 3) != LUA_TSTRING && lua_type(L, 3) != LUA_TNUMBER)
        return ml_raise_at(L, ML_SRC_MODULEAPI, 109, "attempt to concatenate "
                           "a %s value (local 'name')", luaL_typename(L, 3));
    lua_pushliteral(L, "stanza/");
    if (lua_toboolean(L, 2)) {
        lua_pushvalue(L, 2);
        lua_pushliteral(L, ":");
        lua_concat(L, 2);
    } else {
        lua_pushliteral(L, "");
    }
    lua_pushvalue(L, 3);
    lua_concat(L, 3);                               /* 6: event name */
    lua_pushvalue(L, 4);
    lua_pushcclosure(L, tag_handler, 1);            /* 7 */
    lua_pushvalue(L, 5);
    ml_method_call(L, 1, "hook", 3, LUA_MULTRET);
    return lua_gettop(L) - 5;
}

/* ---- items ---- */

/* R-ITEM-1: append (duplicates allowed), fire item-added/<key>. */
static int api_add_item(lua_State *L)
{
    lua_Integer n;

    lua_settop(L, 3);
    lua_getfield(L, 1, "items");
    if (!lua_toboolean(L, 4)) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    lua_pushvalue(L, 4);
    lua_setfield(L, 1, "items");
    lua_pushvalue(L, 2);
    lua_gettable(L, 4);
    if (!lua_toboolean(L, 5)) {
        lua_pop(L, 1);
        lua_newtable(L);
    }
    if (lua_isnil(L, 2))            /* self.items[key] = ..., moduleapi.lua:315 */
        return ml_raise_at(L, ML_SRC_MODULEAPI, 315, "table index is nil");
    if (lua_type(L, 2) == LUA_TNUMBER && lua_tonumber(L, 2) != lua_tonumber(L, 2))
        return ml_raise_at(L, ML_SRC_MODULEAPI, 315, "table index is NaN");
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 5);
    lua_settable(L, 4);
    n = luaL_len(L, 5);
    lua_pushvalue(L, 3);
    lua_seti(L, 5, n + 1);
    push_concat(L, "item-added/", 2, 317, "key");
    push_item_data(L, 1, 3);
    ml_method_call(L, 1, "fire_event", 2, 0);
    return 0;
}

/* table.remove(t, pos) on the table at 't' for 1 <= pos <= #t. */
static void table_remove(lua_State *L, int t, lua_Integer pos)
{
    lua_Integer size = luaL_len(L, t);

    for (; pos < size; pos++) {
        lua_geti(L, t, pos + 1);
        lua_seti(L, t, pos);
    }
    lua_pushnil(L);
    lua_seti(L, t, pos);
}

/* R-ITEM-2: remove the last equal occurrence, fire item-removed/<key>,
 * return the value; return nothing when there is no match. */
static int api_remove_item(lua_State *L)
{
    lua_Integer i, n;

    lua_settop(L, 3);
    lua_getfield(L, 1, "items");
    if (!lua_toboolean(L, 4))
        return 0;
    lua_pushvalue(L, 2);
    lua_gettable(L, 4);
    if (!lua_toboolean(L, 5))
        return 0;
    n = luaL_len(L, 5);
    for (i = n; i >= 1; i--) {
        bool equal;

        lua_geti(L, 5, i);
        equal = lua_compare(L, -1, 3, LUA_OPEQ);
        lua_pop(L, 1);
        if (!equal)
            continue;
        lua_getfield(L, 1, "items");
        lua_pushvalue(L, 2);
        lua_gettable(L, -2);
        table_remove(L, lua_gettop(L), i);
        push_concat(L, "item-removed/", 2, 324, "key");
        push_item_data(L, 1, 3);
        ml_method_call(L, 1, "fire_event", 2, 0);
        lua_pushvalue(L, 3);
        return 1;
    }
    return 0;
}

/* Append the items of ipairs(<table at src>) to the array at dst. */
static void append_ipairs(lua_State *L, int src, int dst)
{
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, dst);

    for (i = 1; lua_geti(L, src, i) != LUA_TNIL; i++)
        lua_rawseti(L, dst, ++n);
    lua_pop(L, 1);
}

/* get_host_items(key): modulemanager.get_items(key, self.host) or {}:
 * the items of every module of the host's map, modules in name order
 * (R-ITEM-3 leaves the order open), items in insertion order. */
static int api_get_host_items(lua_State *L)
{
    struct ml *ml = ml_self(L);
    lua_Integer i, n;

    lua_settop(L, 2);
    lua_getfield(L, 1, "host");                     /* 3 */
    lua_newtable(L);                                /* 4: result */
    if (!lua_toboolean(L, 2) || !ml_modmap_at(L, ml, 3))
        return 1;
    ml_module_names(L, ml_modmap_at(L, ml, 3));     /* 5 */
    n = (lua_Integer)lua_rawlen(L, 5);
    for (i = 1; i <= n; i++) {
        struct ml_modmap *map = ml_modmap_at(L, ml, 3);

        lua_settop(L, 5);
        lua_rawgeti(L, 5, i);                       /* 6 */
        if (!map || !ml_module_push(L, map, 6))
            continue;
        lua_getfield(L, 7, "module");               /* 8 */
        lua_getfield(L, 8, "items");                /* 9 */
        if (!lua_toboolean(L, 9))
            continue;
        lua_pushvalue(L, 2);
        lua_gettable(L, 9);                         /* 10 */
        if (lua_toboolean(L, 10))
            append_ipairs(L, 10, 4);
    }
    lua_settop(L, 4);
    return 1;
}

/* 13.0.1's handle_items for existing items (R-ITEM-4): walks the modules
 * of the api's host (in the map's order, one R-ITEM-3 leaves open) and
 * calls added({source = that module's api, item = v}) for each item of
 * 'type' (stack 2); 'added' at stack 3. */
static void added_with_source(lua_State *L, struct ml *ml)
{
    lua_Integer i, j, n;
    int names;

    lua_getfield(L, 1, "host");
    if (!ml_modmap_at(L, ml, lua_gettop(L)))
        return;
    ml_module_names(L, ml_modmap_at(L, ml, lua_gettop(L)));
    names = lua_gettop(L);
    n = (lua_Integer)lua_rawlen(L, names);
    for (i = 1; i <= n; i++) {
        struct ml_modmap *map = ml_modmap_at(L, ml, names - 1);
        int mod, items;

        lua_settop(L, names);
        lua_rawgeti(L, names, i);
        if (!map || !ml_module_push(L, map, names + 1))
            continue;
        lua_getfield(L, -1, "module");
        mod = lua_gettop(L);
        lua_getfield(L, mod, "items");
        if (!lua_toboolean(L, -1))
            continue;
        lua_pushvalue(L, 2);
        lua_gettable(L, -2);
        if (!lua_toboolean(L, -1))
            continue;
        items = lua_gettop(L);
        for (j = 1; lua_geti(L, items, j) != LUA_TNIL; j++) {
            lua_pushvalue(L, 3);
            lua_createtable(L, 0, 2);
            lua_pushvalue(L, mod);
            lua_setfield(L, -2, "source");
            lua_pushvalue(L, -3);
            lua_setfield(L, -2, "item");
            lua_call(L, 1, 0);
            lua_pop(L, 1);
        }
    }
    lua_settop(L, names - 2);
}

/* handle_items(type, added, removed, existing): hook both item events;
 * unless existing == false, call added({item = v}) for the items already
 * on the host (0.12.3 passes no source, R-ITEM-4). */
static int api_handle_items(lua_State *L)
{
    lua_Integer i;

    lua_settop(L, 5);
    push_concat(L, "item-added/", 2, 337, "item_type");
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "hook", 2, 0);
    push_concat(L, "item-removed/", 2, 338, "item_type");
    lua_pushvalue(L, 4);
    ml_method_call(L, 1, "hook", 2, 0);
    if (lua_isboolean(L, 5) && !lua_toboolean(L, 5))
        return 0;
    if (ml_self(L)->release13) {
        added_with_source(L, ml_self(L));           /* R-ITEM-4, 13.0.1 */
        return 0;
    }
    lua_pushvalue(L, 2);
    ml_method_call(L, 1, "get_host_items", 1, 1);   /* 6 */
    for (i = 1; lua_geti(L, 6, i) != LUA_TNIL; i++) {
        lua_pushvalue(L, 3);
        lua_createtable(L, 0, 1);
        lua_pushvalue(L, -3);
        lua_setfield(L, -2, "item");
        lua_call(L, 1, 0);
        lua_pop(L, 1);
    }
    return 0;
}

/* add_item wrappers of the discovery api. */
static int api_add_feature(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "feature");
    lua_pushvalue(L, 2);
    ml_method_call(L, 1, "add_item", 2, 0);
    return 0;
}

static int api_add_identity(lua_State *L)
{
    lua_settop(L, 4);
    lua_pushliteral(L, "identity");
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "category");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "type");
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "name");
    ml_method_call(L, 1, "add_item", 2, 0);
    return 0;
}

static int api_add_extension(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "extension");
    lua_pushvalue(L, 2);
    ml_method_call(L, 1, "add_item", 2, 0);
    return 0;
}

/* provides(name, item): add item (by default a copy of the module's
 * environment) as "<name>-provider", with its name and _provided_by. */
static int api_provides(lua_State *L)
{
    size_t name_len, item_len, i;
    const char *name;
    const char *item_name;

    lua_settop(L, 3);
    if (!lua_toboolean(L, 3)) {
        lua_newtable(L);
        lua_replace(L, 3);
        lua_getfield(L, 1, "environment");          /* 4 */
        ml_pairs(L, 4, ML_SRC_MODULEAPI, 350);      /* 5, 6, 7 */
        while (ml_pairs_next(L, 5)) {               /* 8, 9 */
            if (lua_type(L, 8) != LUA_TSTRING ||
                strcmp(lua_tostring(L, 8), "module") != 0 ||
                lua_rawlen(L, 8) != 6)
                lua_settable(L, 3);
            lua_settop(L, 7);
        }
        lua_settop(L, 3);
    }
    /* Prosody indexes the item: any value but a table or a string fails
     * at `item.name`; a string (whose name reads as nil) when its name is
     * stored (R-ITEM-7). */
    if (!lua_istable(L, 3) && lua_type(L, 3) != LUA_TSTRING)
        return ml_raise_at(L, ML_SRC_MODULEAPI, 354, "attempt to index a %s "
                           "value (local 'item')", luaL_typename(L, 3));
    lua_getfield(L, 3, "name");
    if (!lua_toboolean(L, -1)) {
        luaL_Buffer b;

        /* name:gsub(...) at moduleapi.lua:358 (R-ITEM-7). */
        if (lua_istable(L, 2))
            return ml_raise_at(L, ML_SRC_MODULEAPI, 358, "attempt to call a "
                               "nil value (method 'gsub')");
        if (lua_type(L, 2) != LUA_TSTRING)
            return ml_raise_at(L, ML_SRC_MODULEAPI, 358, "attempt to index a "
                               "%s value (local 'name')", luaL_typename(L, 2));
        name = lua_tolstring(L, 2, &name_len);
        lua_getfield(L, 1, "name");                 /* 5 */
        item_name = lua_tolstring(L, 5, &item_len);
        if (!item_name)
            return luaL_error(L, "attempt to index a %s value (local "
                              "'item_name')", luaL_typename(L, 5));
        /* Strip a "<name>_" prefix ('-' read as '_'): auth_foo -> foo. */
        luaL_buffinit(L, &b);
        for (i = 0; i < name_len; i++)
            luaL_addchar(&b, name[i] == '-' ? '_' : name[i]);
        luaL_addchar(&b, '_');
        luaL_pushresult(&b);                        /* 6 */
        if (lua_rawlen(L, 6) <= item_len &&
            memcmp(item_name, lua_tostring(L, 6), lua_rawlen(L, 6)) == 0)
            lua_pushlstring(L, item_name + name_len + 1,
                            item_len - name_len - 1);
        else
            lua_pushvalue(L, 5);
        if (lua_type(L, 3) == LUA_TSTRING)
            return ml_raise_at(L, ML_SRC_MODULEAPI, 361, "attempt to index "
                               "a string value (local 'item')");
        lua_setfield(L, 3, "name");
    }
    lua_settop(L, 3);
    lua_getfield(L, 1, "name");
    lua_setfield(L, 3, "_provided_by");
    /* name.."-provider" at moduleapi.lua:364. */
    if (lua_type(L, 2) != LUA_TSTRING && lua_type(L, 2) != LUA_TNUMBER)
        return ml_raise_at(L, ML_SRC_MODULEAPI, 364, "attempt to concatenate "
                           "a %s value (local 'name')", luaL_typename(L, 2));
    lua_pushvalue(L, 2);
    lua_pushliteral(L, "-provider");
    lua_concat(L, 2);
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "add_item", 2, 0);
    return 0;
}

/* ---- status ---- */

static const char *const status_names[] = { "core", "info", "warn", "error" };

/* Priority of the status type at 'idx' (R-STATUS-1), -1 if unknown. */
static int status_priority(lua_State *L, int idx)
{
    size_t len;
    const char *s;
    int i;

    if (lua_type(L, idx) != LUA_TSTRING)
        return -1;
    s = lua_tolstring(L, idx, &len);
    for (i = 0; i < 4; i++)
        if (strlen(status_names[i]) == len &&
            memcmp(s, status_names[i], len) == 0)
            return i;
    return -1;
}

static double time_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* set_status(type, message, override), with Prosody's priority rules:
 * error > warn > info > core; an unknown type is logged and read as
 * info; a lower-priority status is ignored after an error unless
 * override is true, and any lower one when override is false. Accepted
 * changes fire module-status/updated {name} (R-STATUS-1). */
static int api_set_status(lua_State *L)
{
    int priority, current;
    bool override_true, override_false;

    lua_settop(L, 4);
    priority = status_priority(L, 2);
    if (priority < 0) {
        /* R-STATUS-2: 13.0.1 passes the type to the format, 0.12.3 not */
        bool with_type = ml_self(L)->release13;

        if (with_type)
            lua_pushvalue(L, 2);
        self_log(L, "error", ML_TOK_STATUS_INVALID, with_type);
        lua_pushliteral(L, "info");
        lua_replace(L, 2);
        priority = 1;
    }
    lua_getfield(L, 1, "status_type");
    current = status_priority(L, 5);
    if (current < 0)
        current = 0;
    lua_settop(L, 4);
    override_true = lua_isboolean(L, 4) && lua_toboolean(L, 4);
    override_false = lua_isboolean(L, 4) && !lua_toboolean(L, 4);
    if ((current >= 3 && priority < current &&
         !override_true) ||
        (override_false && current > priority)) {
        lua_pushinteger(L, priority);
        lua_pushvalue(L, 4);
        lua_pushvalue(L, 3);
        self_log(L, "debug", ML_TOK_STATUS_IGNORED, 3);
        return 0;
    }
    lua_pushvalue(L, 2);
    lua_setfield(L, 1, "status_type");
    lua_pushvalue(L, 3);
    lua_setfield(L, 1, "status_message");
    lua_pushnumber(L, time_now());
    lua_setfield(L, 1, "status_time");
    lua_pushliteral(L, "module-status/updated");
    lua_createtable(L, 0, 1);
    lua_getfield(L, 1, "name");
    lua_setfield(L, -2, "name");
    ml_method_call(L, 1, "fire_event", 2, 0);
    return 0;
}

/* log_status(level, fmt, ...): set_status(level, util.format(fmt, ...))
 * then log(level, fmt, ...). */
static int api_log_status(lua_State *L)
{
    int i, n = lua_gettop(L);

    if (n < 3)
        lua_settop(L, n = 3);
    lua_pushvalue(L, 2);
    lua_pushcfunction(L, ml_format);
    for (i = 3; i <= n; i++)
        lua_pushvalue(L, i);
    lua_call(L, n - 2, 1);
    ml_method_call(L, 1, "set_status", 2, 0);
    for (i = 2; i <= n; i++)
        lua_pushvalue(L, i);
    ml_method_call(L, 1, "log", n - 1, LUA_MULTRET);
    return lua_gettop(L) - n;
}

static int api_get_status(lua_State *L)
{
    lua_getfield(L, 1, "status_type");
    lua_getfield(L, 1, "status_message");
    lua_getfield(L, 1, "status_time");
    return 3;
}

/* ---- dependencies ---- */

/* module-reloaded watcher of depends(): reload the dependent when one of
 * its dependencies is reloaded, unless it is reloading itself (R-DEP-7).
 * Upvalue: the dependent's api. */
static int dep_reloaded(lua_State *L)
{
    struct ml *ml = ml_self(L);

    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));          /* 2: self */
    lua_getfield(L, 2, "dependencies");
    lua_getfield(L, 1, "module");
    lua_gettable(L, 3);
    if (!lua_toboolean(L, -1))
        return 0;
    lua_getfield(L, 2, ml_reloading_field(ml));
    if (lua_toboolean(L, -1))
        return 0;
    lua_settop(L, 2);
    lua_pushliteral(L, "info");
    ml_push_token(L, ML_TOK_AUTO_RELOADING);
    lua_getfield(L, 1, "host");
    lua_getfield(L, 1, "module");
    ml_method_call(L, 2, "log", 4, 0);
    lua_getfield(L, 2, "host");                     /* 3 */
    lua_getfield(L, 2, "name");                     /* 4 */
    ml_lc_reload(L, ml, 3, 4);
    return 0;
}

/* module-unloaded watcher of depends(): unload the dependent when one of
 * its dependencies is unloaded on the same events object (R-DEP-6,
 * R-DEP-9). Upvalue: the dependent's api. */
static int dep_unloaded(lua_State *L)
{
    struct ml *ml = ml_self(L);

    lua_settop(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));          /* 2: self */
    lua_getfield(L, 2, "dependencies");
    lua_getfield(L, 1, "module");
    lua_gettable(L, 3);
    if (!lua_toboolean(L, -1))
        return 0;
    lua_settop(L, 2);
    lua_pushliteral(L, "info");
    ml_push_token(L, ML_TOK_AUTO_UNLOADING);
    lua_getfield(L, 1, "host");
    lua_getfield(L, 1, "module");
    ml_method_call(L, 2, "log", 4, 0);
    lua_getfield(L, 2, "host");
    lua_getfield(L, 2, "name");
    ml_lc_unload(L, ml, 3, 4);
    return 0;
}

/* Hook one dependency watcher on self's events through self:hook. */
static void hook_watcher(lua_State *L, const char *event, lua_CFunction fn)
{
    lua_pushstring(L, event);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, fn, 1);
    ml_method_call(L, 1, "hook", 2, 0);
}

/* depends() after it loaded the dependency (env or failure at 4 and 5):
 * a failure raises "Unable to load required module, mod_<name>: <err>"
 * with '-' read as ' ' in <err> (R-DEP-5); else the env stays at 4. */
static void depends_loaded(lua_State *L)
{
    luaL_Buffer b;
    const char *err, *p;
    size_t len;

    if (lua_toboolean(L, 4)) {
        lua_settop(L, 4);
        return;
    }
    if (!lua_toboolean(L, 5)) {
        lua_pushliteral(L, "unknown error");
        lua_replace(L, 5);
    }
    /* Prosody calls err:gsub(): a table has no such method, other
     * non-strings cannot be indexed (R-DEP-5). */
    if (lua_istable(L, 5))
        ml_raise_at(L, ML_SRC_MODULEAPI, 167, "attempt to call a nil value "
                    "(method 'gsub')");
    if (lua_type(L, 5) != LUA_TSTRING)
        ml_raise_at(L, ML_SRC_MODULEAPI, 167, "attempt to index a %s value",
                    luaL_typename(L, 5));
    err = lua_tolstring(L, 5, &len);
    luaL_buffinit(L, &b);
    for (p = err; p < err + len; p++)
        luaL_addchar(&b, *p == '-' ? ' ' : *p);
    luaL_pushresult(&b);                           /* 6 */
    luaL_tolstring(L, 2, NULL);                     /* 7: "%s" of the name */
    ml_raise_at(L, ML_SRC_MODULEAPI, 167, ml_token(ML_TOK_DEPENDENCY_FAILED),
                lua_tostring(L, 7), lua_tostring(L, 6));
}

/* The end of depends(): self.dependencies[name] = true (and, 13.0.1,
 * the dependency's reverse_dependencies[self.name] = true), return the
 * env at 4. */
static int depends_done(lua_State *L)
{
    lua_getfield(L, 1, "dependencies");
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 1);
    lua_settable(L, -3);
    lua_settop(L, 4);
    if (ml_self(L)->release13) {
        /* R-DEP-14, 13.0.1: mod.module.reverse_dependencies[self.name] */
        lua_getfield(L, 4, "module");               /* 5 */
        if (lua_getfield(L, 5, "reverse_dependencies") == LUA_TNIL) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, 5, "reverse_dependencies");
        }
        lua_getfield(L, 1, "name");
        lua_pushboolean(L, 1);
        lua_settable(L, -3);
        lua_settop(L, 4);
    }
    return 1;
}

static int depends_k(lua_State *L, int status, lua_KContext ctx);

/* depends(name): make sure module 'name' is loaded for this module's host
 * (or globally) and return its env (R-DEP-1..3). The first call installs
 * the auto-reload and auto-unload watchers. A dependency named by the
 * host's or the global modules_disabled raises (R-DEP-4). A failed load
 * raises "Unable to load required module, mod_<name>: <err>" with '-'
 * read as ' ' in <err> (R-DEP-5). */
static int api_depends(lua_State *L)
{
    struct ml *ml = ml_self(L);
    bool soft = lua_toboolean(L, 3);

    lua_settop(L, 2);
    /* R-DEP-4: a dependency in the host's or the global modules_disabled
     * (the autoloaded modules among them) raises, in moduleapi. */
    lua_pushliteral(L, "modules_disabled");
    lua_newtable(L);
    ml_method_call(L, 1, "get_option_inherited_set", 2, 1);
    lua_pushvalue(L, 2);
    ml_method_call(L, 3, "contains", 1, 1);
    if (lua_toboolean(L, -1)) {
        if (ml->release13 && soft) {
            /* R-DEP-4, 13.0.1: a soft dependency is skipped, logged */
            lua_pushvalue(L, 2);
            self_log(L, "debug", ML_TOK_SOFT_DEPENDENCY_DISABLED, 1);
            lua_pushnil(L);
            lua_pushliteral(L, "disabled");
            return 2;
        }
        lua_pushliteral(L, "");
        lua_pushvalue(L, 2);
        lua_concat(L, 2);           /* "mod_"..name: raises as Lua would */
        return ml_raise_at(L, ML_SRC_MODULEAPI, 140,
                           ml_token(ML_TOK_DEPENDENCY_DISABLED),
                           lua_tostring(L, -1));
    }
    /* The name is used as it is, as Prosody does (R-DEP-15): nil or false
     * reach load's insufficient-parameters, another non-string its
     * concatenation error. */
    lua_settop(L, 2);
    lua_getfield(L, 1, "dependencies");
    if (!lua_toboolean(L, 3)) {
        lua_newtable(L);
        lua_setfield(L, 1, "dependencies");
        hook_watcher(L, "module-reloaded", dep_reloaded);
        hook_watcher(L, "module-unloaded", dep_unloaded);
    }
    lua_settop(L, 2);
    lua_getfield(L, 1, "host");                     /* 3 */
    ml_get_module(L, ml, 3, 2);                     /* 4 */
    if (lua_isnil(L, 4)) {
        lua_pop(L, 1);
        lua_pushliteral(L, "*");
        ml_get_module(L, ml, 4, 2);
        lua_remove(L, 4);
    }
    if (!lua_isnil(L, 4)) {
        lua_getfield(L, 4, "module");
        lua_getfield(L, -1, "host");
        if (ml_is_star(L, -1) && !ml_is_star(L, 3) &&
            ml_module_has_method(L, 4, "add_host")) {
            lua_pushnil(L);
            lua_replace(L, 4);
        }
        lua_settop(L, 4);
    }
    if (lua_isnil(L, 4)) {
        lua_settop(L, 3);
        ml_lc_load_k(L, ml, 3, 2, depends_k);       /* 4, 5 */
        depends_loaded(L);
    }
    return depends_done(L);
}

/* The rest of depends after a dependency's body or load() that yielded
 * inside a coroutine has returned (R-HOSTILE-7). */
static int depends_k(lua_State *L, int status, lua_KContext ctx)
{
    ml_lc_load_end(L, ml_self(L), 3, 2, depends_k, ctx, status);
    depends_loaded(L);
    return depends_done(L);
}

/* ---- shared data ---- */

/* shared(path): the table registered under the resolved path (R-SHAREDDATA-1):
 * "x" -> /<host>/<name>/x, "a/x" -> /<host>/a/x, more slashes -> a
 * leading "/"; "-cache" paths give weak tables. Kept alive by
 * self.shared_data[path], the registry itself being weak-valued. */
static int api_shared(lua_State *L)
{
    struct ml *ml = ml_self(L);
    size_t len, i;
    const char *path;
    int slashes = 0;

    lua_settop(L, 2);
    lua_getfield(L, 1, "shared_data");
    if (!lua_toboolean(L, -1)) {
        lua_newtable(L);
        lua_setfield(L, 1, "shared_data");
    }
    lua_settop(L, 2);
    /* Prosody calls path:sub(): only a string has it, a number too is
     * refused (R-SHAREDDATA-1). */
    if (lua_type(L, 2) != LUA_TSTRING)
        return ml_raise_at(L, ML_SRC_MODULEAPI, 175, "attempt to index a %s "
                           "value (local 'path')", luaL_typename(L, 2));
    path = lua_tolstring(L, 2, &len);
    if (len == 0 || path[0] != '/') {
        for (i = 0; i < len; i++)
            slashes += path[i] == '/';
        lua_pushliteral(L, "/");
        if (slashes < 2) {
            lua_getfield(L, 1, "host");
            if (!lua_isstring(L, -1))
                return luaL_error(L, "invalid value (at index 1) in table "
                                  "for 'concat'");
            lua_pushliteral(L, "/");
        }
        if (slashes == 0) {
            lua_getfield(L, 1, "name");
            if (!lua_isstring(L, -1))
                return luaL_error(L, "invalid value (at index 2) in table "
                                  "for 'concat'");
            lua_pushliteral(L, "/");
        }
        lua_pushvalue(L, 2);
        lua_concat(L, lua_gettop(L) - 2);
    } else {
        lua_pushvalue(L, 2);
    }                                               /* 3: resolved path */
    ml_push_ref(L, ml->ref_shared, LUA_TTABLE);     /* 4 */
    lua_pushvalue(L, 3);
    if (lua_rawget(L, 4) == LUA_TNIL) {             /* 5 */
        size_t rlen;
        const char *resolved = lua_tolstring(L, 3, &rlen);

        lua_pop(L, 1);
        lua_newtable(L);
        if (rlen >= 6 &&
            memcmp(resolved + rlen - 6, "-cache", 6) == 0) {
            lua_createtable(L, 0, 1);
            lua_pushliteral(L, "kv");
            lua_setfield(L, -2, "__mode");
            lua_setmetatable(L, -2);
        }
        lua_pushvalue(L, 3);
        lua_pushvalue(L, -2);
        lua_rawset(L, 4);
    }
    lua_getfield(L, 1, "shared_data");
    lua_pushvalue(L, 2);                            /* the path as given */
    lua_pushvalue(L, 5);
    lua_settable(L, -3);
    lua_settop(L, 5);
    return 1;
}

/* ---- configuration ---- */

/* get_option(name, default): config.get(self.host, name), or the default
 * when that is nil. */
static int api_get_option(lua_State *L)
{
    lua_settop(L, 3);
    lua_getfield(L, 1, "host");
    ml_config_get(L, ml_self(L), 4, 2);
    if (lua_isnil(L, -1))
        lua_pushvalue(L, 3);
    return 1;
}

static int api_get_option_scalar(lua_State *L)
{
    lua_settop(L, 3);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "get_option", 2, 1);       /* 4 */
    if (lua_istable(L, 4)) {
        if (luaL_len(L, 4) > 1) {
            lua_pushvalue(L, 2);
            self_log(L, "error", ML_TOK_OPTION_NOT_LIST, 1);
        }
        lua_geti(L, 4, 1);
    }
    return 1;
}

static int api_get_option_string(lua_State *L)
{
    lua_settop(L, 3);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "get_option_scalar", 2, 1);
    if (lua_isnil(L, -1))
        return 1;
    luaL_tolstring(L, -1, NULL);
    return 1;
}

static int api_get_option_number(lua_State *L)
{
    int n = lua_gettop(L), i;

    for (i = 2; i <= n; i++)
        lua_pushvalue(L, i);
    ml_method_call(L, 1, "get_option_scalar", n > 1 ? n - 1 : 0, 1);
    if (lua_type(L, -1) == LUA_TNUMBER)
        return 1;
    if (lua_type(L, -1) == LUA_TSTRING &&
        lua_stringtonumber(L, lua_tostring(L, -1)) != 0)
        return 1;
    if (!lua_isnil(L, -1)) {
        lua_pushvalue(L, 2);
        self_log(L, "error", ML_TOK_OPTION_NOT_NUMBER, 1);
    }
    lua_pushnil(L);
    return 1;
}

static int api_get_option_boolean(lua_State *L)
{
    int n = lua_gettop(L), i, value;

    for (i = 2; i <= n; i++)
        lua_pushvalue(L, i);
    ml_method_call(L, 1, "get_option_scalar", n > 1 ? n - 1 : 0, 1);
    value = lua_gettop(L);
    if (lua_isnil(L, value))
        return 1;
    if (lua_isboolean(L, value)) {
        lua_pushboolean(L, lua_toboolean(L, value));
        return 1;
    }
    if (lua_type(L, value) == LUA_TSTRING) {
        const char *s = lua_tostring(L, value);

        if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
            lua_pushboolean(L, s[0] == 't');
            return 1;
        }
    } else if (lua_type(L, value) == LUA_TNUMBER) {
        lua_Number x = lua_tonumber(L, value);

        if (x == 1 || x == 0) {
            lua_pushboolean(L, x == 1);
            return 1;
        }
    }
    lua_pushvalue(L, 2);
    self_log(L, "error", ML_TOK_OPTION_NOT_BOOLEAN, 1);
    lua_pushnil(L);
    return 1;
}

/* Call self:<method>(<arguments 2..top of the calling method>) and
 * leave its first result on top. */
static void call_passing_args(lua_State *L, const char *method)
{
    int n = lua_gettop(L), i;

    for (i = 2; i <= n; i++)
        lua_pushvalue(L, i);
    ml_method_call(L, 1, method, n > 1 ? n - 1 : 0, 1);
}

/* get_option_array(name, ...): nil, a copy of a list as a util.array, or
 * any other value as a one-element array. */
static int api_get_option_array(lua_State *L)
{
    call_passing_args(L, "get_option");
    if (lua_isnil(L, -1))
        return 1;
    ml_array_from(L, lua_gettop(L));
    return 1;
}

/* get_option_set(name, ...): set.new(get_option_array(name, ...)). */
static int api_get_option_set(lua_State *L)
{
    call_passing_args(L, "get_option_array");
    if (lua_isnil(L, -1))
        return 1;
    ml_set_new(L, lua_gettop(L));
    return 1;
}

/* get_option_inherited_set(name, ...): the host's set with the global
 * section's included (self:context("*"):get_option_set). */
static int api_get_option_inherited_set(lua_State *L)
{
    int n = lua_gettop(L), i, value, context, global;

    call_passing_args(L, "get_option_set");
    value = lua_gettop(L);
    lua_pushliteral(L, "*");
    ml_method_call(L, 1, "context", 1, 1);
    context = lua_gettop(L);
    for (i = 2; i <= n; i++)
        lua_pushvalue(L, i);
    ml_method_call(L, context, "get_option_set", n > 1 ? n - 1 : 0, 1);
    global = lua_gettop(L);
    if (!lua_toboolean(L, value)) {
        lua_pushvalue(L, global);
        return 1;
    }
    if (!lua_toboolean(L, global)) {
        lua_pushvalue(L, value);
        return 1;
    }
    lua_pushvalue(L, global);
    ml_method_call(L, value, "include", 1, 0);
    lua_pushvalue(L, value);
    return 1;
}

/* get_option_path(name, default, parent): the option as a string,
 * resolved against parent (default: the module's directory; a key of
 * prosody.paths names that path) as util.paths.resolve_relative_path
 * does: trailing slashes of parent and a leading "./" of the value
 * dropped, and an absolute value kept as it is. */
static int api_get_option_path(lua_State *L)
{
    const char *parent, *value;
    size_t len;

    lua_settop(L, 4);
    if (lua_isnil(L, 4)) {
        ml_method_call(L, 1, "get_directory", 0, 1);
        lua_replace(L, 4);
    } else {
        lua_getglobal(L, "prosody");
        lua_getfield(L, -1, "paths");
        lua_pushvalue(L, 4);
        lua_gettable(L, -2);
        if (lua_toboolean(L, -1))
            lua_replace(L, 4);
        lua_settop(L, 4);
    }
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    ml_method_call(L, 1, "get_option_string", 2, 1);    /* 5 */
    if (lua_isnil(L, 5))
        return 1;
    parent = lua_tolstring(L, 4, &len);
    if (!parent || lua_type(L, 4) != LUA_TSTRING)
        return luaL_error(L, "attempt to index a %s value (local "
                          "'parent_path')", luaL_typename(L, 4));
    while (len > 0 && parent[len - 1] == '/')
        len--;
    value = lua_tostring(L, 5);
    if (value[0] == '.' && value[1] == '/') {
        for (value++; *value == '/'; value++)
            ;
    }
    if (value[0] == '/') {
        lua_pushstring(L, value);
        return 1;
    }
    lua_pushlstring(L, parent, len);
    lua_pushliteral(L, "/");
    lua_pushstring(L, value);
    lua_concat(L, 3);
    return 1;
}

/* ---- metrics (statsmanager with statistics disabled, as in 0.12.3's
 * default configuration) ---- */

/* Registry keys (their addresses) of the measure function and the metric
 * dummy: one of each per server, as statsmanager has (R-HELPER-3,
 * R-HELPER-4). */
static const char measure_key, metric_key;

/* The measure function of a server without statistics: returns itself. */
static int stats_measure(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    return 1;
}

/* measure(name, stat_type, conf): a "measure" item {name, type, conf},
 * then statsmanager.measure(...), which returns its own dummy. */
static int api_measure(lua_State *L)
{
    lua_settop(L, 4);
    lua_pushliteral(L, "measure");
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "type");
    lua_pushvalue(L, 4);
    lua_setfield(L, -2, "conf");
    ml_method_call(L, 1, "add_item", 2, 0);
    /* R-HELPER-3: statsmanager's one measure function, made once per
     * server and kept in the registry. */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &measure_key) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_pushcclosure(L, stats_measure, 1);
        lua_pushvalue(L, -1);
        lua_setupvalue(L, -2, 1);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &measure_key);
    }
    return 1;
}

/* The dummy metric family: any field and any call give it back, writes
 * are dropped. */
static int dummy_self(lua_State *L)
{
    lua_settop(L, 1);
    return 1;
}

static int dummy_drop(lua_State *L)
{
    (void)L;
    return 0;
}

/* metric(type, name, unit, description, label_keys, conf): for a host
 * module the label keys become array{"host"} + label_keys (util.array's
 * append, which raises for nil ones); a "metric" item {name, mf}; the
 * metric family is statsmanager's dummy, scoped (no-op) to the host. */
static int api_metric(lua_State *L)
{
    lua_settop(L, 7);
    lua_getfield(L, 1, "host");
    /* R-HELPER-4: 13.0.1 no longer raises for label keys that are not a
     * list. */
    if (!ml_self(L)->release13 && !ml_is_star(L, 8) &&
        lua_type(L, 6) != LUA_TTABLE &&
        lua_type(L, 6) != LUA_TSTRING &&
        luaL_getmetafield(L, 6, "__len") == LUA_TNIL)
        return ml_raise_at(L, ML_SRC_ARRAY, 212, "attempt to get length of "
                           "a %s value (local 'ina')", luaL_typename(L, 6));
    lua_settop(L, 7);
    /* R-HELPER-4: statsmanager's one dummy, made once per server and
     * kept in the registry. */
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &metric_key) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_newtable(L);                            /* 8: the dummy */
        lua_createtable(L, 0, 3);
        lua_pushcfunction(L, dummy_self);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, dummy_self);
        lua_setfield(L, -2, "__call");
        lua_pushcfunction(L, dummy_drop);
        lua_setfield(L, -2, "__newindex");
        lua_setmetatable(L, 8);
        lua_pushvalue(L, 8);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &metric_key);
    }
    lua_pushliteral(L, "metric");
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, 8);
    lua_setfield(L, -2, "mf");
    ml_method_call(L, 1, "add_item", 2, 0);
    lua_settop(L, 8);
    return 1;
}

/* ---- storage ---- */

/* open_store(name, type): storage is outside the protocol (PROTOCOL.md
 * §7) but for a global module, which Prosody gives no store
 * (R-GLOBAL-12): 0.12.3's storagemanager indexes a nil host, 13.0.1's
 * moduleapi returns nil, "global-storage-not-supported". */
static int api_open_store(lua_State *L)
{
    lua_getfield(L, 1, "host");
    if (!ml_is_star(L, -1))
        return luaL_error(L, "open_store: the reference has no storage "
                             "(PROTOCOL.md §7)");
    if (ml_self(L)->release13) {
        lua_pushnil(L);
        lua_pushliteral(L, "global-storage-not-supported");
        return 2;
    }
    return ml_raise_at(L, ML_SRC_STORAGEMANAGER, 233,
                       "attempt to index a nil value (field '?')");
}

/* ---- timers and cron ---- */

/* clock + <value at 'idx'>, as net.server_epoll computes it at 'line'
 * with the value in local 'name': raise Lua's error unless the value is
 * a number or a string that converts to one (string arithmetic has its
 * own wording). */
static void check_arith(lua_State *L, int idx, int line, const char *name)
{
    if (lua_type(L, idx) == LUA_TNUMBER)
        return;
    if (lua_type(L, idx) == LUA_TSTRING) {
        if (lua_stringtonumber(L, lua_tostring(L, idx))) {
            lua_pop(L, 1);
            return;
        }
        ml_raise_at(L, ML_SRC_SERVER_EPOLL, line,
                    "attempt to add a 'number' with a 'string'");
    }
    ml_raise_at(L, ML_SRC_SERVER_EPOLL, line, "attempt to perform "
                "arithmetic on a %s value (local '%s')", luaL_typename(L, idx),
                name);
}

/* A timer's stop and disarm: timer.stop(self.id) (R-TIMER-4). */
static int timer_stop(lua_State *L)
{
    lua_getfield(L, 1, "id");
    ml_timer_stop(L, ml_self(L), lua_tointeger(L, -1));
    return 0;
}

/* timer:reschedule(delay): timer.reschedule(self.id, delay), due 'delay'
 * after the current time (R-TIMER-4); net.server_epoll adds the delay to
 * the clock, which raises for a delay that is not a number. */
static int timer_reschedule(lua_State *L)
{
    check_arith(L, 2, 114, "time");
    lua_getfield(L, 1, "id");
    ml_timer_reschedule(L, ml_self(L), lua_tointeger(L, -1),
                        lua_tonumber(L, 2));
    return 0;
}

/* add_timer(delay, callback, ...): the timer object of moduleapi, a
 * table.pack of the extra arguments with module_env, callback and id,
 * whose methods are stop, disarm, reschedule. The timer itself is
 * net.server_epoll's, which adds the delay to the clock and so raises
 * for a delay that is not a number. */
static int api_add_timer(lua_State *L)
{
    struct ml *ml = ml_self(L);
    int n = lua_gettop(L), i;

    if (n < 3)
        lua_settop(L, n = 3);
    check_arith(L, 2, 120, "timeout");
    lua_createtable(L, n - 3, 4);
    for (i = 4; i <= n; i++) {
        lua_pushvalue(L, i);
        lua_rawseti(L, -2, i - 3);
    }
    lua_pushinteger(L, n - 3);
    lua_setfield(L, -2, "n");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "module_env");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "callback");
    /* R-TIMER-1: armed; the id is the timer's */
    ml_timer_add_module(L, ml, -1, lua_tonumber(L, 2));
    lua_createtable(L, 0, 1);
    lua_createtable(L, 0, 3);
    lua_pushlightuserdata(L, ml);
    lua_pushcclosure(L, timer_stop, 1);
    lua_setfield(L, -2, "stop");
    lua_pushlightuserdata(L, ml);
    lua_pushcclosure(L, timer_stop, 1);
    lua_setfield(L, -2, "disarm");
    lua_pushlightuserdata(L, ml);
    lua_pushcclosure(L, timer_reschedule, 1);
    lua_setfield(L, -2, "reschedule");
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    return 1;
}

/* cron(task_spec): self:depends("cron"), then the spec as a "task"
 * item. */
static int api_cron(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "cron");
    ml_method_call(L, 1, "depends", 1, 0);
    lua_pushliteral(L, "task");
    lua_pushvalue(L, 2);
    ml_method_call(L, 1, "add_item", 2, 0);
    return 0;
}

/* hourly/daily/weekly(name, fun): self:cron({ name, when, run }); a
 * function as only argument is the fun. Upvalue: the 'when'. */
static int api_periodic(lua_State *L)
{
    lua_settop(L, 3);
    if (lua_isfunction(L, 2)) {
        lua_pushvalue(L, 2);
        lua_replace(L, 3);
        lua_pushnil(L);
        lua_replace(L, 2);
    }
    lua_createtable(L, 0, 3);
    lua_pushvalue(L, 2);
    lua_setfield(L, -2, "name");
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_setfield(L, -2, "when");
    lua_pushvalue(L, 3);
    lua_setfield(L, -2, "run");
    ml_method_call(L, 1, "cron", 1, 0);
    return 0;
}

/* ---- miscellany ---- */

/* context(host): a view of the module with another host; reads and
 * writes go through to the module. */
static int api_context(lua_State *L)
{
    lua_settop(L, 2);
    lua_createtable(L, 0, 2);
    if (lua_toboolean(L, 2))
        lua_pushvalue(L, 2);
    else
        lua_pushliteral(L, "*");
    lua_setfield(L, 3, "host");
    lua_pushboolean(L, ml_is_star(L, 2));
    lua_setfield(L, 3, "global");
    lua_createtable(L, 0, 2);
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "__index");
    lua_pushvalue(L, 1);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, 3);
    return 1;
}

/* get_directory(): resource_path, or the directory part of path. */
static int api_get_directory(lua_State *L)
{
    const char *path, *slash;
    size_t len;

    lua_getfield(L, 1, "resource_path");
    if (lua_toboolean(L, -1))
        return 1;
    lua_getfield(L, 1, "path");
    if (!lua_toboolean(L, -1)) {
        lua_pushnil(L);
        return 1;
    }
    path = lua_tolstring(L, -1, &len);
    if (!path || lua_type(L, -1) != LUA_TSTRING)
        return luaL_error(L, "attempt to index a %s value (field 'path')",
                          luaL_typename(L, -1));
    for (slash = path + len; slash > path && slash[-1] != '/'; slash--)
        ;
    if (slash > path)
        len = (size_t)(slash - 1 - path);
    lua_pushlstring(L, path, len);
    return 1;
}

static const luaL_Reg methods[] = {
    { "get_name", api_get_name },
    { "get_host", api_get_host },
    { "get_host_type", api_get_host_type },
    { "set_global", api_set_global },
    { "add_feature", api_add_feature },
    { "add_identity", api_add_identity },
    { "add_extension", api_add_extension },
    { "fire_event", api_fire_event },
    { "hook_object_event", api_hook_object_event },
    { "unhook_object_event", api_unhook_object_event },
    { "hook", api_hook },
    { "hook_global", api_hook_global },
    { "hook_tag", api_hook_tag },
    { "unhook", api_unhook },
    { "wrap_global", api_wrap_global },
    { "wrap_object_event", api_wrap_object_event },
    { "wrap_event", api_wrap_event },
    { "depends", api_depends },
    { "shared", api_shared },
    { "get_option", api_get_option },
    { "get_option_scalar", api_get_option_scalar },
    { "get_option_string", api_get_option_string },
    { "get_option_number", api_get_option_number },
    { "get_option_boolean", api_get_option_boolean },
    { "get_option_array", api_get_option_array },
    { "get_option_set", api_get_option_set },
    { "get_option_inherited_set", api_get_option_inherited_set },
    { "get_option_path", api_get_option_path },
    { "context", api_context },
    { "add_item", api_add_item },
    { "remove_item", api_remove_item },
    { "get_host_items", api_get_host_items },
    { "handle_items", api_handle_items },
    { "provides", api_provides },
    { "get_directory", api_get_directory },
    { "add_timer", api_add_timer },
    { "open_store", api_open_store },
    { "measure", api_measure },
    { "metric", api_metric },
    { "cron", api_cron },
    { "set_status", api_set_status },
    { "log_status", api_log_status },
    { "get_status", api_get_status },
    { NULL, NULL }
};

/* The periodic cron methods, each named after its 'when'. */
static const char *const periods[] = { "hourly", "daily", "weekly", NULL };

/*
 * Create the method table shared by every full api object, and
 * module:shared's weak-valued registry.
 */
void ml_api_init(lua_State *L, struct ml *ml)
{
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_getfield(L, -1, "hook_tag");
    lua_setfield(L, -2, "hook_stanza");
    for (const char *const *when = periods; *when; when++) {
        lua_pushstring(L, *when);
        lua_pushcclosure(L, api_periodic, 1);
        lua_setfield(L, -2, *when);
    }
    ml->ref_methods = luaL_ref(L, LUA_REGISTRYINDEX);

    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    ml->ref_shared = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Push the logger "<host>:<name>" and its log method. */
static void push_loggers(lua_State *L, int host, int name)
{
    lua_pushvalue(L, host);
    lua_pushliteral(L, ":");
    lua_pushvalue(L, name);
    lua_concat(L, 3);
    ml_log_new(L, lua_gettop(L));
    lua_remove(L, -2);
    ml_log_method(L, lua_gettop(L));
}

/* Push setmetatable(env{module = <api at api>}, {__index = <value at
 * parent>}) and set api.environment to it. */
static void push_env(lua_State *L, int api, int parent)
{
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, api);
    lua_setfield(L, -2, "module");
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, parent);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, api, "environment");
}

/*
 * Push a new api object and its env for a full load of the name at
 * 'name' on the host at 'host' (both strings). 'state' is the stack index
 * of reload's state (0 for a plain load): reloading = not not state,
 * saved_state = state unless it is true (R-LOAD-12, R-RELOAD-3).
 */
void ml_api_new(lua_State *L, struct ml *ml, int host, int name, int state)
{
    int base = lua_gettop(L);

    push_loggers(L, host, name);                    /* base+1, base+2 */
    lua_createtable(L, 0, 10);                      /* base+3: api */
    lua_pushvalue(L, name);
    lua_setfield(L, base + 3, "name");
    lua_pushvalue(L, host);
    lua_setfield(L, base + 3, "host");
    lua_pushvalue(L, base + 1);
    lua_setfield(L, base + 3, "_log");
    lua_pushvalue(L, base + 2);
    lua_setfield(L, base + 3, "log");
    push_new_tracking(L);
    lua_setfield(L, base + 3, "event_handlers");
    lua_pushboolean(L, state && lua_toboolean(L, state));
    lua_setfield(L, base + 3, ml_reloading_field(ml));
    /* reload-state switched off (without.c): no saved_state. */
    if (state && lua_toboolean(L, state) && !lua_isboolean(L, state) &&
        ml_has(ml, ML_CAP_RELOAD_STATE)) {
        lua_pushvalue(L, state);
        lua_setfield(L, base + 3, "saved_state");
    }
    lua_createtable(L, 0, 1);
    ml_push_ref(L, ml->ref_methods, LUA_TTABLE);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, base + 3);
    lua_pushglobaltable(L);
    push_env(L, base + 3, lua_gettop(L));           /* base+5 */
    lua_remove(L, base + 4);
    lua_rotate(L, base + 1, 2);
    lua_settop(L, base + 2);
}

/*
 * Push a per-host api object and env for the shared module whose global
 * env is at 'genv', loaded on the host at 'host' (R-SHARED-5): own fields
 * host, global = false, event_handlers, items = {}, log, _log,
 * environment; everything else read from the global api as it is now.
 */
void ml_api_new_host(lua_State *L, int host, int name, int genv)
{
    int base = lua_gettop(L);

    push_loggers(L, host, name);                    /* base+1, base+2 */
    lua_createtable(L, 0, 7);                       /* base+3: api */
    lua_pushboolean(L, 0);
    lua_setfield(L, base + 3, "global");
    lua_pushvalue(L, host);
    lua_setfield(L, base + 3, "host");
    push_new_tracking(L);
    lua_setfield(L, base + 3, "event_handlers");
    lua_newtable(L);
    lua_setfield(L, base + 3, "items");
    lua_pushvalue(L, base + 1);
    lua_setfield(L, base + 3, "_log");
    lua_pushvalue(L, base + 2);
    lua_setfield(L, base + 3, "log");
    lua_createtable(L, 0, 1);
    lua_getfield(L, genv, "module");
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, base + 3);
    push_env(L, base + 3, genv);                    /* base+4 */
    lua_rotate(L, base + 1, 2);
    lua_settop(L, base + 2);
}
