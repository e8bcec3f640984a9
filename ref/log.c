/*
 * log.c - module loggers (util.logger as seen through the module api).
 *
 * A logger is a C closure named once, at creation: "<host>:<name>" for a
 * module or per-host instance, "mod_<name>" after set_global (R-LOG-1).
 * Messages at a level other than debug, info, warn and error are dropped
 * silently. Kept messages go to the observer's log callback after
 * formatting: string.format(fmt, ...) when arguments were given, the
 * message itself otherwise (spec/PROTOCOL.md §3.1).
 */
#include <string.h>

#include "modlife-int.h"

static const char *const levels[] = { "debug", "info", "warn", "error" };

/* _log(level, message, ...). Upvalues: ml, logger name. */
static int logger(lua_State *L)
{
    struct ml *ml = ml_self(L);
    const char *level;
    size_t i;
    int nargs = lua_gettop(L);

    if (lua_type(L, 1) != LUA_TSTRING)
        return 0;
    level = lua_tostring(L, 1);
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
        if (strlen(level) == lua_rawlen(L, 1) && strcmp(level, levels[i]) == 0)
            break;
    if (i == sizeof(levels) / sizeof(levels[0]) || !ml->observer.log)
        return 0;
    if (nargs >= 3) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_format);
        lua_insert(L, 2);
        lua_call(L, nargs - 1, 1);
    } else if (lua_type(L, 2) != LUA_TSTRING) {
        luaL_tolstring(L, 2, NULL);
    } else {
        lua_settop(L, 2);
    }
    ml->observer.log(ml->observer.ud, L, lua_tostring(L, lua_upvalueindex(2)),
                     levels[i], lua_gettop(L));
    return 0;
}

/*
 * Push a new logger function named by the string at 'name': the value
 * Prosody stores as module._log.
 */
void ml_log_new(lua_State *L, struct ml *ml, int name)
{
    lua_pushlightuserdata(L, ml);
    lua_pushvalue(L, name);
    lua_pushcclosure(L, logger, 2);
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
