/*
 * call.c - the one protected door into Lua, and small call and stack
 * helpers shared by the other files.
 *
 * Prosody runs module code through xpcall(f, debug.traceback, ...); the
 * reference does the same with lua_pcall and a message handler that
 * behaves like debug.traceback, so error values read the same in both.
 */
#include <string.h>

#include "modlife-int.h"

/* Message handler with debug.traceback's rules: a string (or number)
 * gets a traceback appended, nil becomes a bare traceback, any other
 * value is passed through untouched. */
static int traceback(lua_State *L)
{
    const char *msg;

    if (!lua_isnoneornil(L, 1) && !lua_isstring(L, 1))
        return 1;
    msg = lua_tostring(L, 1);
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/*
 * Call the function lying below 'nargs' arguments on top of the stack,
 * as xpcall(f, debug.traceback, ...) does. Returns the lua_pcall status;
 * the results (or the error value with its traceback) replace the
 * function and its arguments. This is how module code is run wherever
 * Prosody catches its errors (body, load, unload, save, restore,
 * add_host); everywhere else errors propagate to the caller.
 */
int ml_pcall_traceback(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs;
    int status;

    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    status = lua_pcall(L, nargs, nresults, base);
    if (status != LUA_OK)
        ml_alloc_note_caught(L, status);
    lua_remove(L, base);
    return status;
}

/*
 * Whether the error on top of the stack, raised with 'status', is an
 * out-of-memory error: Lua's own (LUA_ERRMEM), or the "not enough
 * memory" the library raises where a C allocation or the stack could not
 * grow (a traceback may follow). Does not allocate.
 */
bool ml_is_memory_error(lua_State *L, int status)
{
    return status == LUA_ERRMEM ||
           (lua_type(L, -1) == LUA_TSTRING &&
            strncmp(lua_tostring(L, -1), "not enough memory", 17) == 0);
}

/*
 * luaL_checkstack(L, n, NULL), except that a stack that cannot grow for
 * lack of memory raises "not enough memory", not "stack overflow":
 * lua_checkstack does not tell the two apart, the stack's size does.
 */
void ml_checkstack(lua_State *L, int n)
{
    if (!lua_checkstack(L, n))
        luaL_error(L, lua_gettop(L) + n + LUA_MINSTACK < LUAI_MAXSTACK
                          ? "not enough memory" : "stack overflow");
}

/*
 * obj:method(...) with the 'nargs' arguments on top of the stack; errors
 * propagate. The method is looked up on every call, as Prosody's 'self:x()'
 * does, so a module that overrides a method on its api sees its override
 * called by the machinery too. Pushes 'nresults' results.
 */
void ml_method_call(lua_State *L, int obj, const char *method, int nargs,
                    int nresults)
{
    int first = lua_gettop(L) - nargs + 1;

    lua_getfield(L, obj, method);
    if (lua_isnil(L, -1)) {
        /* A method of a switched-off capability (without.c). */
        lua_pop(L, 1);
        ml_without_method(L, method);
    }
    lua_pushvalue(L, obj);
    lua_rotate(L, first, 2);
    lua_call(L, nargs + 1, nresults);
}

/*
 * The library instance of the running C closure: every Lua-visible C
 * function of ref/ carries it as its first upvalue (a light userdata).
 */
struct ml *ml_self(lua_State *L)
{
    return lua_touserdata(L, lua_upvalueindex(1));
}

/* Whether the value at 'idx' is the string "*", the global pseudo-host. */
bool ml_is_star(lua_State *L, int idx)
{
    size_t len;
    const char *s;

    if (lua_type(L, idx) != LUA_TSTRING)
        return false;
    s = lua_tolstring(L, idx, &len);
    return len == 1 && s[0] == '*';
}
