/*
 * without.c - capabilities switched off (spec/PROTOCOL.md §1.1,
 * `make check WITHOUT=X`).
 *
 * A case's `needs:` says which parts of Prosody's module system it
 * depends on; a driver that does not announce one of them skips the case.
 * That is only true if the cases that do not name a capability really do
 * not use it. So the reference can be run with capabilities switched
 * off: the part of the API is then absent for module code (the methods
 * and modulemanager functions are nil, the driver answers the commands
 * with `bad` and leaves the word out of its greeting), and every case
 * must still pass or be skipped.
 *
 * What stays: the machinery that Prosody builds on a removed method keeps
 * working, as a port's own internals would (handle_items still reads the
 * host's items without get_host_items, measure still adds its item
 * without add_item). ml_method_call finds removed methods in the
 * registry table ABSENT for that.
 */
#include <string.h>

#include "modlife-int.h"

/* Registry field: method name -> the removed method (ml_method_call). */
#define ABSENT "modlife.absent"

static const char *const none[] = { NULL };
static const char *const reload_manager[] = { "reload", NULL };
static const char *const depends_methods[] = { "depends", NULL };
static const char *const items_methods[] = {
    "add_item", "remove_item", "handle_items", "provides", NULL
};
static const char *const items_manager[] = { "get_items", NULL };
static const char *const host_items_methods[] = { "get_host_items", NULL };
static const char *const status_methods[] = {
    "set_status", "get_status", "log_status", NULL
};
static const char *const shared_methods[] = { "shared", NULL };
static const char *const wrappers_methods[] = {
    "wrap_global", "wrap_object_event", "wrap_event", NULL
};
static const char *const unhook_methods[] = {
    "unhook", "unhook_object_event", NULL
};
static const char *const hook_tag_methods[] = {
    "hook_tag", "hook_stanza", NULL
};
static const char *const context_methods[] = { "context", NULL };
static const char *const start_methods[] = { "on_ready", "once", NULL };
static const char *const timers_methods[] = { "add_timer", NULL };

/* Indexed by enum ml_capability. Capabilities with no methods to remove
 * are switched off where they act: the driver (config, components,
 * the reload, start and advance commands), loader.c (meta), api.c and
 * lifecycle.c (reload-state, status), users.c (auth-providers), log.c
 * (format). */
static const struct capability {
    const char *word;
    const char *const *methods;     /* api methods removed */
    const char *const *manager;     /* core.modulemanager functions removed */
} capabilities[ML_CAP_COUNT] = {
    [ML_CAP_CONFIG] = { "config", none, none },
    [ML_CAP_RELOAD] = { "reload", none, reload_manager },
    [ML_CAP_DEPENDS] = { "depends", depends_methods, none },
    [ML_CAP_ITEMS] = { "items", items_methods, items_manager },
    [ML_CAP_HOST_ITEMS] = { "host-items", host_items_methods, none },
    [ML_CAP_STATUS] = { "status", status_methods, none },
    [ML_CAP_SHARED_DATA] = { "shared-data", shared_methods, none },
    [ML_CAP_WRAPPERS] = { "wrappers", wrappers_methods, none },
    [ML_CAP_COMPONENTS] = { "components", none, none },
    [ML_CAP_UNHOOK] = { "unhook", unhook_methods, none },
    [ML_CAP_META] = { "meta", none, none },
    [ML_CAP_RELOAD_STATE] = { "reload-state", none, none },
    [ML_CAP_AUTH_PROVIDERS] = { "auth-providers", none, none },
    [ML_CAP_FORMAT] = { "format", none, none },
    [ML_CAP_HOOK_TAG] = { "hook-tag", hook_tag_methods, none },
    [ML_CAP_CONTEXT] = { "context", context_methods, none },
    [ML_CAP_START] = { "start", start_methods, none },
    [ML_CAP_TIMERS] = { "timers", timers_methods, none },
};

/* The capability numbered 'word', or -1. */
static int find(const char *word)
{
    int i;

    for (i = 0; i < ML_CAP_COUNT; i++)
        if (strcmp(capabilities[i].word, word) == 0)
            return i;
    return -1;
}

/* Protected: move the methods of capability 'cap' (the integer argument)
 * from the api method table to ABSENT. */
static int strip_entry(lua_State *L)
{
    struct ml *ml = ml_self(L);
    const char *const *m = capabilities[lua_tointeger(L, 1)].methods;

    if (lua_getfield(L, LUA_REGISTRYINDEX, ABSENT) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, ABSENT);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_methods);
    for (; *m; m++) {
        lua_getfield(L, -1, *m);
        lua_setfield(L, -3, *m);
        lua_pushnil(L);
        lua_setfield(L, -2, *m);
    }
    return 0;
}

/*
 * Switch capability 'word' off. Returns ML_OK, ML_EINVAL for a word that
 * is not a capability, ML_ENOMEM when memory ran out.
 */
int ml_without(struct ml *ml, const char *word)
{
    lua_State *L = ml->L;
    int cap = find(word), status;

    if (cap < 0)
        return ML_EINVAL;
    ml->lacks |= 1u << cap;
    lua_pushcfunction(L, strip_entry);
    lua_pushinteger(L, cap);
    status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        lua_pop(L, 1);
        return ML_ENOMEM;
    }
    return ML_OK;
}

/* Whether capability 'word' is a capability and was switched off. */
int ml_lacks(const struct ml *ml, const char *word)
{
    int cap = find(word);

    return cap >= 0 && !ml_has(ml, (enum ml_capability)cap);
}

/* Whether capability 'cap' is on. */
bool ml_has(const struct ml *ml, enum ml_capability cap)
{
    return !(ml->lacks & (1u << cap));
}

/* Remove the modulemanager functions of the switched-off capabilities
 * from the table at 't' (require "core.modulemanager"). */
void ml_without_manager(lua_State *L, struct ml *ml, int t)
{
    int i;

    for (i = 0; i < ML_CAP_COUNT; i++) {
        const char *const *f = capabilities[i].manager;

        if (ml_has(ml, (enum ml_capability)i))
            continue;
        for (; *f; f++) {
            lua_pushnil(L);
            lua_setfield(L, t, *f);
        }
    }
}

/*
 * Push the method 'method' removed by a switched-off capability, for the
 * machinery's own calls (ml_method_call), or nil.
 */
void ml_without_method(lua_State *L, const char *method)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, ABSENT) != LUA_TTABLE)
        return;
    lua_getfield(L, -1, method);
    lua_remove(L, -2);
}

/*
 * The api field that says a module is being reloaded: "reloading", or,
 * with reload-state switched off, a name module code does not read, so
 * that the machinery (R-DEP-7) still sees it and modules do not.
 */
const char *ml_reloading_field(const struct ml *ml)
{
    return ml_has(ml, ML_CAP_RELOAD_STATE) ? "reloading" : " reloading";
}

/*
 * The log formatting of a port without util.format's rules (format
 * switched off, used by log.c instead of ml_format): the message as it
 * is when there are no arguments, else string.format(fmt, ...) with
 * string and number arguments only. Whatever util.format does beyond
 * that (%% and specifiers with no arguments, (nil), tostring of other
 * values, appended arguments, control pictures) comes out differently
 * or raises, and the logger then writes the raw message: a case that is
 * not about formatting shows no such message. Upvalue: ml.
 */
int ml_format_plain(lua_State *L)
{
    struct ml *ml = ml_self(L);
    int n = lua_gettop(L), i;

    luaL_checktype(L, 1, LUA_TSTRING);
    if (n == 1)
        return 1;
    for (i = 2; i <= n; i++)
        if (lua_type(L, i) != LUA_TSTRING && lua_type(L, i) != LUA_TNUMBER)
            return luaL_error(L, "argument %d is a %s", i - 1,
                              luaL_typename(L, i));
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_format);
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}
