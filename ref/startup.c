/*
 * startup.c - what Prosody's util.startup leaves in the Lua state of a
 * running server, as far as modules can see it: the 'prosody' global
 * and its plain fields, the deprecated globals (hosts, bare_sessions,
 * full_sessions, log), the metatable every function gets, and the lock
 * on the globals.
 */
#include <string.h>

#include "modlife-int.h"

/* __newindex of the locked _G: "Attempt to set a global: K = V", raised
 * at the assignment. */
static int global_newindex(lua_State *L)
{
    luaL_tolstring(L, 2, NULL);
    luaL_tolstring(L, 3, NULL);
    return luaL_error(L, "Attempt to set a global: %s = %s",
                      lua_tostring(L, -2), lua_tostring(L, -1));
}

/* __index of the locked _G: a missing global reads as nil (Prosody also
 * logs a warning, on its own logger). */
static int global_index(lua_State *L)
{
    (void)L;
    return 0;
}

/* Push prosody.paths as a server started like the Prosody adapter has it:
 * the installed source directory, the module directory as plugin
 * directory, the relative defaults for config and data. */
static void push_paths(lua_State *L, struct ml *ml)
{
    lua_createtable(L, 0, 4);
    lua_pushliteral(L, "/usr/lib/prosody");
    lua_setfield(L, -2, "source");
    lua_pushliteral(L, ".");
    lua_setfield(L, -2, "config");
    lua_pushstring(L, ml->moddir);
    lua_setfield(L, -2, "plugins");
    lua_pushliteral(L, "data");
    lua_setfield(L, -2, "data");
}

/* Set the plain fields of Prosody's 'prosody' global (on top of the
 * stack) that a module might read: version (the release followed),
 * platform, process type, the (empty) session tables, also as the
 * deprecated globals bare_sessions, full_sessions and incoming_s2s (the
 * last set by s2smanager, which a running server has loaded;
 * R-PERHOST-11). */
static void push_process_fields(lua_State *L, const struct ml *ml)
{
    static const char *const tables[] = {
        "bare_sessions", "full_sessions", "incoming_s2s", NULL
    };
    const char *const *name;

    if (ml->release13)
        lua_pushliteral(L, "13.0.1");
    else
        lua_pushliteral(L, "0.12.3");
    lua_setfield(L, -2, "version");
    lua_pushliteral(L, "posix");
    lua_setfield(L, -2, "platform");
    lua_pushliteral(L, "prosody");
    lua_setfield(L, -2, "process_type");
    for (name = tables; *name; name++) {
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setglobal(L, *name);
        lua_setfield(L, -2, *name);
    }
}

/* The global log(level, fmt, ...): the "general" logger, not a module's,
 * so nothing is reported. */
static int general_log(lua_State *L)
{
    (void)L;
    return 0;
}

/* prosody.lock_globals(): setmetatable(_G, locked_globals_mt), the
 * metatable being upvalue 1. */
static int lock_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    lua_pushvalue(L, ml_upvalue(L, 1, LUA_TTABLE, "locked_globals_mt"));
    lua_setmetatable(L, -2);
    return 0;
}

/* prosody.unlock_globals(): setmetatable(_G, nil). */
static int unlock_globals(lua_State *L)
{
    lua_pushglobaltable(L);
    lua_pushnil(L);
    lua_setmetatable(L, -2);
    return 0;
}

/* Prosody's init_global_protection (R-PERHOST-8): prosody.lock_globals
 * and prosody.unlock_globals for the 'prosody' table at 'prosody', then
 * lock the globals, as in a running server; rawset still works. */
void ml_startup_protect(lua_State *L, int prosody)
{
    lua_createtable(L, 0, 2);
    lua_pushcfunction(L, global_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, global_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushcclosure(L, lock_globals, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, prosody, "lock_globals");
    lua_pushcfunction(L, unlock_globals);
    lua_setfield(L, prosody, "unlock_globals");
    lua_call(L, 0, 0);
}

/* Upvalue lookup by name, as the function metatable's __index and
 * __newindex do: the index of the upvalue of the function at 1 named by
 * the value at 2, or 0 when none is. */
static int find_upvalue(lua_State *L)
{
    int i;
    const char *name;

    for (i = 1; (name = lua_getupvalue(L, 1, i)) != NULL; i++) {
        bool match;

        lua_pop(L, 1);
        lua_pushstring(L, name);
        match = lua_rawequal(L, -1, 2);
        lua_pop(L, 1);
        if (match)
            return i;
    }
    return 0;
}

/* f.name: the value of f's upvalue 'name', or nil. */
static int function_index(lua_State *L)
{
    int i;

    lua_settop(L, 2);
    i = find_upvalue(L);
    if (i == 0 || !lua_getupvalue(L, 1, i))
        lua_pushnil(L);
    return 1;
}

/* f.name = value: sets f's upvalue 'name' if it has one. */
static int function_newindex(lua_State *L)
{
    int i;

    lua_settop(L, 3);
    i = find_upvalue(L);
    if (i != 0)
        lua_setupvalue(L, 1, i);
    return 0;
}

/* tostring(f): "function<FILE:LINE>(PARAMS)", FILE being the last part
 * of the chunk's short name, PARAMS the parameter names and "..." for a
 * vararg function ("function<[C]:-1>(...)" for a C function); 13.0.1
 * writes "function @FILE:LINE(PARAMS)" (R-PERHOST-10). Upvalue 1: the
 * struct ml. */
static int function_tostring(lua_State *L)
{
    const struct ml *ml = lua_touserdata(L, lua_upvalueindex(1));
    lua_Debug ar;
    luaL_Buffer b;
    const char *file, *p;
    int i;

    lua_settop(L, 1);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_pushvalue(L, 1);
    lua_getinfo(L, ">Su", &ar);
    for (file = p = ar.short_src; *p; p++)
        if (*p == '/' || *p == '\\')
            file = p + 1;
    luaL_buffinit(L, &b);
    lua_pushfstring(L, ml->release13 ? "function @%s:%d(" : "function<%s:%d>(",
                    file, ar.linedefined);
    luaL_addvalue(&b);
    for (i = 1; i <= ar.nparams; i++) {
        const char *name;

        lua_pushvalue(L, 1);
        name = lua_getlocal(L, NULL, i);
        lua_pop(L, 1);
        if (i > 1)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, name ? name : "");
    }
    if (ar.isvararg) {
        if (ar.nparams > 0)
            luaL_addstring(&b, ", ");
        luaL_addstring(&b, "...");
    }
    luaL_addchar(&b, ')');
    luaL_pushresult(&b);
    return 1;
}

/*
 * startup.set_function_metatable(): every function reads and writes its
 * upvalues by name as fields, and tostring(f) names where it was defined,
 * which util.format shows for a function argument.
 */
void ml_startup_functions(lua_State *L, struct ml *ml)
{
    lua_pushcfunction(L, function_index);   /* any function will do */
    lua_createtable(L, 0, 3);
    lua_pushcfunction(L, function_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, function_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_pushlightuserdata(L, ml);
    lua_pushcclosure(L, function_tostring, 1);
    lua_setfield(L, -2, "__tostring");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

/*
 * Push the 'prosody' global, as init_global_state and the later start-up
 * steps leave it, with 'events' the global events object at 'events',
 * and set the globals that go with it.
 */
void ml_startup_prosody(lua_State *L, struct ml *ml, int events)
{
    int prosody;

    /* The 'prosody' global: a place for modules to share state, whose
     * 'events' is the global events object and 'hosts' the active hosts'
     * sessions (also the deprecated global 'hosts'). */
    lua_createtable(L, 0, 16);
    prosody = lua_gettop(L);
    lua_pushvalue(L, events);
    lua_setfield(L, prosody, "events");
    lua_newtable(L);
    lua_pushvalue(L, -1);
    lua_setglobal(L, "hosts");
    lua_pushvalue(L, -1);
    ml->ref_hosts = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_setfield(L, prosody, "hosts");
    push_paths(L, ml);
    lua_setfield(L, prosody, "paths");
    push_process_fields(L, ml);
    lua_pushvalue(L, prosody);
    lua_setglobal(L, "prosody");
    /* _G.log: Prosody's "general" logger, which is no module's (its
     * messages are not reported, PROTOCOL.md §3.1). */
    lua_pushcfunction(L, general_log);
    lua_setglobal(L, "log");
}
