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
    return ml_pcall_traceback_k(L, nargs, nresults, 0, NULL);
}

/*
 * ml_pcall_traceback, yieldable: when the function yields (a module body
 * run inside a coroutine, as Prosody's xpcall allows in Lua 5.4), the C
 * functions up to the Lua-called one are gone, and once the function
 * returns Lua calls 'k' with 'ctx' in that one's place (lua_pcallk); 'k'
 * calls ml_pcall_traceback_end with its status and the index the
 * function was at, then does the callers' remaining work. 'k' NULL: not
 * yieldable. Returns the status of a call that did not yield.
 */
int ml_pcall_traceback_k(lua_State *L, int nargs, int nresults,
                         lua_KContext ctx, lua_KFunction k)
{
    int base = lua_gettop(L) - nargs;

    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    return ml_pcall_traceback_end(L, lua_pcallk(L, nargs, nresults, base,
                                                ctx, k), base);
}

/* What follows the call of ml_pcall_traceback_k, the message handler being
 * at 'handler' (where the function was): drop it, count a caught memory
 * error. LUA_YIELD (a continuation's status after a yield) is success.
 * Returns the status. */
int ml_pcall_traceback_end(lua_State *L, int status, int handler)
{
    if (status == LUA_YIELD)
        status = LUA_OK;
    if (status != LUA_OK)
        ml_alloc_note_caught(L, status);
    lua_remove(L, handler);
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
 * The library instance that owns the Lua state 'L' (or the state 'L' is
 * a thread of): kept in the state's extra space (ml_new; Lua copies it
 * into every new thread), never in an upvalue, so that module code
 * cannot replace it with debug.setupvalue (issue 11 §3).
 */
struct ml *ml_self(lua_State *L)
{
    struct ml *ml;

    memcpy(&ml, lua_getextraspace(L), sizeof(ml));
    return ml;
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

/*
 * The pseudo-index of upvalue 'i' of the running C function, checked to
 * hold a value of type 'type': module code can replace any upvalue of a
 * function it holds (debug.setupvalue, or f[""] = v through the function
 * metatable of startup.c), so C code never trusts an upvalue's type.
 * Raises "bad upvalue 'NAME' (T expected, got U)" otherwise.
 */
int ml_upvalue(lua_State *L, int i, int type, const char *name)
{
    int idx = lua_upvalueindex(i);

    if (lua_type(L, idx) != type)
        luaL_error(L, "bad upvalue '%s' (%s expected, got %s)", name,
                   lua_typename(L, type), luaL_typename(L, idx));
    return idx;
}

/* Whether indexing the value at 'idx' is defined, so that Lua would not
 * raise "attempt to index": a table, a string, or a value with an
 * __index metamethod. Module code may put any value where Prosody's Lua
 * indexes one; the C side checks first, to raise Prosody's message at
 * Prosody's line. */
bool ml_is_indexable(lua_State *L, int idx)
{
    int type = lua_type(L, idx);

    return type == LUA_TTABLE || type == LUA_TSTRING ||
           ml_has_metamethod(L, idx, "__index");
}

/* Whether calling the value at 'idx' is defined: a function, or a value
 * with a __call metamethod. */
bool ml_is_callable(lua_State *L, int idx)
{
    return lua_isfunction(L, idx) || ml_has_metamethod(L, idx, "__call");
}

/*
 * The start of 'for k, v in pairs(<value at idx>) do' as Prosody's Lua
 * runs it at 'file':'line': pushes the loop's three values (iterator,
 * state, control) for ml_pairs_next. A value with a __pairs metamethod
 * gives that metamethod's three results, as pairs() does; a table
 * without one gives nil, the table, nil (ml_pairs_next then walks it
 * with lua_next: the same order as next()). Any other value raises what
 * the loop's first call of next() raises there: "bad argument #1 to
 * 'for iterator' (table expected, got T)".
 */
void ml_pairs(lua_State *L, int idx, enum ml_source file, int line)
{
    idx = lua_absindex(L, idx);
    if (luaL_getmetafield(L, idx, "__pairs") != LUA_TNIL) {
        lua_pushvalue(L, idx);
        lua_call(L, 1, 3);
        return;
    }
    if (!lua_istable(L, idx))
        ml_raise_at(L, file, line, "bad argument #1 to 'for iterator' "
                    "(table expected, got %s)", luaL_typename(L, idx));
    lua_pushnil(L);
    lua_pushvalue(L, idx);
    lua_pushnil(L);
}

/*
 * One step of the loop whose three values ml_pairs pushed at 'it': pushes
 * the key and the value and returns true, or pushes nothing and returns
 * false when the loop ends (the iterator's first result is nil). The
 * iterator's errors propagate.
 */
bool ml_pairs_next(lua_State *L, int it)
{
    it = lua_absindex(L, it);
    if (lua_isnil(L, it)) {
        lua_pushvalue(L, it + 2);
        if (lua_next(L, it + 1) == 0)
            return false;
    } else {
        lua_pushvalue(L, it);
        lua_pushvalue(L, it + 1);
        lua_pushvalue(L, it + 2);
        lua_call(L, 2, 2);
        if (lua_isnil(L, -2)) {
            lua_pop(L, 2);
            return false;
        }
    }
    lua_pushvalue(L, -2);
    lua_replace(L, it + 2);
    return true;
}

/* Whether the value at 'idx' has a metatable with field 'event' (a
 * metamethod); pushes nothing. */
bool ml_has_metamethod(lua_State *L, int idx, const char *event)
{
    if (luaL_getmetafield(L, idx, event) == LUA_TNIL)
        return false;
    lua_pop(L, 1);
    return true;
}

/*
 * Check that the value at 'idx', read from the registry under 'what',
 * has type 'type'. Module code can rewrite the registry
 * (debug.getregistry()), and a raw table operation or lua_setmetatable
 * on anything else would crash: this raises instead.
 */
void ml_check_registry(lua_State *L, int idx, int type, const char *what)
{
    if (lua_type(L, idx) != type)
        luaL_error(L, "registry entry %s rewritten (%s expected, got %s)",
                   what, lua_typename(L, type), luaL_typename(L, idx));
}

/* Push registry[key], a weak-keyed table the library uses as a set or
 * map of Lua values it made, creating it on first use. */
void ml_push_weak_keyed(lua_State *L, const char *key)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, key);
}

/* Push registry[ref], a value of type 'type' that the library stored
 * with luaL_ref, checked (ml_check_registry). */
void ml_push_ref(lua_State *L, int ref, int type)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    if (lua_type(L, -1) != type)
        luaL_error(L, "registry entry %d rewritten (%s expected, got %s)",
                   ref, lua_typename(L, type), luaL_typename(L, -1));
}
