/*
 * log.c - module loggers (util.logger as seen through the module api).
 *
 * A logger is a C closure named once, at creation: "<host>:<name>" for a
 * module or per-host instance, "mod_<name>" after set_global (R-LOG-1).
 * Messages at a level other than debug, info, warn and error are dropped
 * silently. Kept messages go to the observer's log callback after
 * formatting with util.format (format.c, spec/PROTOCOL.md §3.1).
 */
#include <string.h>

#include "modlife-int.h"

static const char *const levels[] = { "debug", "info", "warn", "error" };

/* tostring(v), run protected by the logger. */
static int tostring_entry(lua_State *L)
{
    luaL_tolstring(L, 1, NULL);
    return 1;
}

/* _log(level, message, ...). Upvalue: the logger name. The message is
 * formatted as Prosody's sinks do, with util.format even without
 * arguments; when that raises (fmt not a string, an invalid conversion),
 * tostring(message) is written instead, and "<type>" if even that
 * raises, so that logging never raises into the module, unless memory
 * ran out. */
static int logger(lua_State *L)
{
    struct ml *ml = ml_self(L);
    const char *level;
    size_t i;
    int top, arg, status;

    if (lua_type(L, 1) != LUA_TSTRING)
        return 0;
    level = lua_tostring(L, 1);
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strlen(level) == lua_rawlen(L, 1) && strcmp(level, levels[i]) == 0)
            break;
    if (i == sizeof(levels) / sizeof(levels[0]) || !ml->observer.log)
        return 0;
    if (lua_gettop(L) < 2)
        lua_settop(L, 2);
    top = lua_gettop(L);
    /* format switched off: a port's plain formatting (without.c). */
    lua_pushcfunction(L, ml_has(ml, ML_CAP_FORMAT) ? ml_format
                                                   : ml_format_plain);
    for (arg = 2; arg <= top; arg++)
        lua_pushvalue(L, arg);
    if ((status = lua_pcall(L, top - 1, 1, 0)) != LUA_OK) {
        /* Running out of memory is no format error: it propagates. */
        if (ml_is_memory_error(L, status))
            lua_error(L);
        lua_pop(L, 1);
        lua_pushcfunction(L, tostring_entry);
        lua_pushvalue(L, 2);
        if ((status = lua_pcall(L, 1, 1, 0)) != LUA_OK) {
            if (ml_is_memory_error(L, status))
                lua_error(L);
            lua_pop(L, 1);
            lua_pushfstring(L, "<%s>", luaL_typename(L, 2));
        }
    }
    ml->observer.log(ml->observer.ud, L,
                     lua_tostring(L, ml_upvalue(L, 1, LUA_TSTRING, "name")),
                     levels[i], lua_gettop(L));
    return 0;
}

/*
 * Push a new logger function named by the string at 'name': the value
 * Prosody stores as module._log.
 */
void ml_log_new(lua_State *L, int name)
{
    lua_pushvalue(L, name);
    lua_pushcclosure(L, logger, 1);
}

/* module.log(self, ...): _log(...). Upvalue: the logger. */
static int log_method(lua_State *L)
{
    int nargs = lua_gettop(L) - 1;

    lua_pushvalue(L, lua_upvalueindex(1));
    if (nargs < 0)
        nargs = 0;
    else
        lua_replace(L, 1);
    lua_call(L, nargs, LUA_MULTRET);
    return lua_gettop(L);
}

/*
 * Push the module.log method wrapping the logger at 'log': a function
 * that drops its self argument and passes the rest on.
 */
void ml_log_method(lua_State *L, int log)
{
    lua_pushvalue(L, log);
    lua_pushcclosure(L, log_method, 1);
}
