/*
 * array.c - util.array, the arrays that moduleapi's get_option_array
 * returns to modules.
 *
 * An array is a plain Lua table with the shared array metatable
 * (__index: the methods, __name "array", __tostring, __add, __eq, __div,
 * __freeze), as in Prosody, so that modules can index it, take its
 * length and call its methods. The methods that transform an array do
 * it in place (util.array's per-array methods); the library functions
 * they use (table.sort, table.remove, table.concat, math.random,
 * tostring) are captured when the state is set up, as util.array
 * captures them when it is loaded.
 */
#include "modlife-int.h"

#define ARRAY_MT "modlife.array"

/* Upvalue 1 of every method: the captured library functions. */
#define LIB lua_upvalueindex(1)

/* Push the captured library function 'name'. */
static void push_lib(lua_State *L, const char *name)
{
    lua_getfield(L, LIB, name);
}

/* Push a new empty array. Needs the metatable set up by ml_array_init. */
static void push_new_array(lua_State *L)
{
    lua_newtable(L);
    luaL_getmetatable(L, ARRAY_MT);
    ml_check_registry(L, -1, LUA_TTABLE, ARRAY_MT);
    lua_setmetatable(L, -2);
}

/* append(ina): self[#self + i] = ina[i] for i = 1, #ina; returns self. */
static lua_Integer append(lua_State *L, int self, int ina)
{
    lua_Integer len = luaL_len(L, self), len2 = luaL_len(L, ina), i;

    for (i = 1; i <= len2; i++) {
        lua_geti(L, ina, i);
        lua_seti(L, self, len + i);
    }
    return len + len2;
}

static int array_append(lua_State *L)
{
    lua_settop(L, 2);
    append(L, 1, 2);
    lua_settop(L, 1);
    return 1;
}

/* push(x): table.insert(self, x); returns self. */
static int array_push(lua_State *L)
{
    lua_settop(L, 2);
    lua_seti(L, 1, luaL_len(L, 1) + 1);
    return 1;
}

/* pop(pos): table.remove(self, pos). */
static int array_pop(lua_State *L)
{
    int n = lua_gettop(L);

    push_lib(L, "remove");
    lua_insert(L, 1);
    lua_call(L, n, LUA_MULTRET);
    return lua_gettop(L);
}

/* map(func): self[k] = func(v) for k, v in ipairs(self); returns self. */
static int array_map(lua_State *L)
{
    lua_Integer i;

    lua_settop(L, 2);
    for (i = 1; lua_geti(L, 1, i) != LUA_TNIL; i++) {
        lua_pushvalue(L, 2);
        lua_insert(L, -2);
        lua_call(L, 1, 1);
        lua_seti(L, 1, i);
    }
    lua_settop(L, 1);
    return 1;
}

/* filter(func): keep the values for which func is truthy, in place. */
static int array_filter(lua_State *L)
{
    lua_Integer len, read, write = 1;

    lua_settop(L, 2);
    len = luaL_len(L, 1);
    for (read = 1; read <= len; read++) {
        lua_geti(L, 1, read);                       /* 3 */
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_call(L, 1, 1);
        if (lua_toboolean(L, 4)) {
            lua_pushvalue(L, 3);
            lua_seti(L, 1, write++);
        }
        lua_settop(L, 2);
    }
    for (; write <= len; write++) {
        lua_pushnil(L);
        lua_seti(L, 1, write);
    }
    lua_settop(L, 1);
    return 1;
}

/* slice(i, j): the elements i..j (negative: from the end), in place. */
static int array_slice(lua_State *L)
{
    lua_Integer len, i, j, idx, n;

    lua_settop(L, 3);
    len = luaL_len(L, 1);
    i = luaL_checkinteger(L, 2);
    j = lua_isnil(L, 3) ? -1 : luaL_checkinteger(L, 3);
    if (j < 0)
        j = len + (j + 1);
    if (i < 0)
        i = len + (i + 1);
    if (i < 1)
        i = 1;
    if (j > len)
        j = len;
    if (i > j) {
        n = luaL_len(L, 1);
        for (idx = 1; idx <= n; idx++) {
            lua_pushnil(L);
            lua_seti(L, 1, idx);
        }
        lua_settop(L, 1);
        return 1;
    }
    for (idx = 1; idx <= 1 + j - i; idx++) {
        lua_geti(L, 1, i + idx - 1);
        lua_seti(L, 1, idx);
    }
    n = luaL_len(L, 1);
    for (idx = 2 + j - i; idx <= n; idx++) {
        lua_pushnil(L);
        lua_seti(L, 1, idx);
    }
    lua_settop(L, 1);
    return 1;
}

/* sort(...): table.sort(self, ...); returns self. */
static int array_sort(lua_State *L)
{
    int n = lua_gettop(L);

    push_lib(L, "sort");
    for (int i = 1; i <= n; i++)
        lua_pushvalue(L, i);
    lua_call(L, n, 0);
    lua_settop(L, 1);
    return 1;
}

/* unique(): drop values seen before, in place (seen[v] = true raises
 * for a nil hole, as in util.array). */
static int array_unique(lua_State *L)
{
    lua_Integer len, read, write = 1;

    lua_settop(L, 1);
    lua_newtable(L);                                /* 2: seen */
    len = luaL_len(L, 1);
    for (read = 1; read <= len; read++) {
        lua_geti(L, 1, read);                       /* 3 */
        lua_pushvalue(L, 3);
        if (lua_gettable(L, 2) == LUA_TNIL || !lua_toboolean(L, 4)) {
            lua_pushvalue(L, 3);
            lua_pushboolean(L, 1);
            lua_settable(L, 2);
            lua_pushvalue(L, 3);
            lua_seti(L, 1, write++);
        }
        lua_settop(L, 2);
    }
    for (; write <= len; write++) {
        lua_pushnil(L);
        lua_seti(L, 1, write);
    }
    lua_settop(L, 1);
    return 1;
}

/* pluck(key, default): self[i] = self[i][key] (or default). */
static int array_pluck(lua_State *L)
{
    lua_Integer len, i;

    lua_settop(L, 3);
    len = luaL_len(L, 1);
    for (i = 1; i <= len; i++) {
        lua_geti(L, 1, i);
        lua_pushvalue(L, 2);
        lua_gettable(L, -2);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            lua_pushvalue(L, 3);
        }
        lua_seti(L, 1, i);
        lua_pop(L, 1);
    }
    lua_settop(L, 1);
    return 1;
}

/* reverse(): in place. */
static int array_reverse(lua_State *L)
{
    lua_Integer len, i;

    lua_settop(L, 1);
    len = luaL_len(L, 1);
    for (i = 1; i <= len / 2; i++) {
        lua_geti(L, 1, i);
        lua_geti(L, 1, len + 1 - i);
        lua_seti(L, 1, i);
        lua_seti(L, 1, len + 1 - i);
    }
    return 1;
}

/* Push math.random(m, n). */
static lua_Integer random_between(lua_State *L, lua_Integer m, lua_Integer n)
{
    lua_Integer r;

    push_lib(L, "random");
    lua_pushinteger(L, m);
    lua_pushinteger(L, n);
    lua_call(L, 2, 1);
    r = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return r;
}

static int array_shuffle(lua_State *L)
{
    lua_Integer len, i, r;

    lua_settop(L, 1);
    len = luaL_len(L, 1);
    for (i = 1; i <= len; i++) {
        r = random_between(L, i, len);
        lua_geti(L, 1, i);
        lua_geti(L, 1, r);
        lua_seti(L, 1, i);
        lua_seti(L, 1, r);
    }
    return 1;
}

static int array_random(lua_State *L)
{
    lua_settop(L, 1);
    lua_geti(L, 1, random_between(L, 1, luaL_len(L, 1)));
    return 1;
}

static int array_random_other(lua_State *L)
{
    lua_Integer max, idx, r;

    lua_settop(L, 2);
    max = luaL_len(L, 1);
    idx = luaL_checkinteger(L, 2);
    r = random_between(L, 1, max - 1);
    lua_geti(L, 1, ((r + (idx - 1)) % max) + 1);
    return 1;
}

/* concat(sep): table.concat of the tostring of each value (ipairs). */
static int array_concat(lua_State *L)
{
    lua_Integer i;

    lua_settop(L, 2);
    lua_newtable(L);                                /* 3 */
    for (i = 1; lua_geti(L, 1, i) != LUA_TNIL; i++) {
        push_lib(L, "tostring");
        lua_insert(L, -2);
        lua_call(L, 1, 1);
        lua_rawseti(L, 3, i);
    }
    lua_pop(L, 1);
    push_lib(L, "concat");
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

static int array_length(lua_State *L)
{
    lua_pushinteger(L, luaL_len(L, 1));
    return 1;
}

/* __add(a1, a2): a new array, a1's values then a2's. */
static int array_add(lua_State *L)
{
    lua_settop(L, 2);
    push_new_array(L);
    append(L, 3, 1);
    append(L, 3, 2);
    return 1;
}

/* Whether the value at 'idx' has the array metatable. */
static bool is_array(lua_State *L, int idx)
{
    bool same;

    if (!lua_getmetatable(L, idx))
        return false;
    luaL_getmetatable(L, ARRAY_MT);
    same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same;
}

/* __eq: both arrays, same length, equal values (==). */
static int array_eq(lua_State *L)
{
    lua_Integer n, i;

    lua_settop(L, 2);
    if (!is_array(L, 1) || !is_array(L, 2) ||
        (n = luaL_len(L, 1)) != luaL_len(L, 2)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    for (i = 1; i <= n; i++) {
        bool equal;

        lua_geti(L, 1, i);
        lua_geti(L, 2, i);
        equal = lua_compare(L, -1, -2, LUA_OPEQ);
        lua_pop(L, 2);
        if (!equal) {
            lua_pushboolean(L, 0);
            return 1;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* __div(a1, func): a new array of func(v), nils left out. */
static int array_div(lua_State *L)
{
    lua_Integer n, i, o = 0;

    lua_settop(L, 2);
    push_new_array(L);
    n = luaL_len(L, 1);
    for (i = 1; i <= n; i++) {
        lua_pushvalue(L, 2);
        lua_geti(L, 1, i);
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1))
            lua_pop(L, 1);
        else
            lua_seti(L, 3, ++o);
    }
    return 1;
}

/* __tostring: "{" .. self:concat(", ") .. "}". */
static int array_tostring(lua_State *L)
{
    lua_settop(L, 1);
    lua_pushliteral(L, "{");
    lua_getfield(L, 1, "concat");
    lua_pushvalue(L, 1);
    lua_pushliteral(L, ", ");
    lua_call(L, 2, 1);
    lua_pushliteral(L, "}");
    lua_concat(L, 3);
    return 1;
}

static int array_freeze(lua_State *L)
{
    lua_settop(L, 1);
    return 1;
}

/*
 * Create the shared array metatable and its methods, capturing the
 * library functions they use. Called once, after the standard libraries
 * are opened and before any module runs.
 */
void ml_array_init(lua_State *L)
{
    static const luaL_Reg methods[] = {
        { "append", array_append }, { "push", array_push },
        { "pop", array_pop }, { "map", array_map },
        { "filter", array_filter }, { "slice", array_slice },
        { "sort", array_sort }, { "unique", array_unique },
        { "pluck", array_pluck }, { "reverse", array_reverse },
        { "shuffle", array_shuffle }, { "random", array_random },
        { "random_other", array_random_other }, { "concat", array_concat },
        { "length", array_length }, { NULL, NULL }
    };
    static const luaL_Reg metamethods[] = {
        { "__add", array_add }, { "__eq", array_eq }, { "__div", array_div },
        { "__tostring", array_tostring }, { "__freeze", array_freeze },
        { NULL, NULL }
    };
    int top = lua_gettop(L);

    luaL_newmetatable(L, ARRAY_MT);                 /* top+1 */
    luaL_setfuncs(L, metamethods, 0);
    lua_pushliteral(L, "array");
    lua_setfield(L, top + 1, "__name");
    lua_createtable(L, 0, 15);                      /* top+2: methods */
    lua_createtable(L, 0, 5);                       /* top+3: library */
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_setfield(L, top + 3, "sort");
    lua_getfield(L, -1, "remove");
    lua_setfield(L, top + 3, "remove");
    lua_getfield(L, -1, "concat");
    lua_setfield(L, top + 3, "concat");
    lua_pop(L, 1);
    lua_getglobal(L, "math");
    lua_getfield(L, -1, "random");
    lua_setfield(L, top + 3, "random");
    lua_pop(L, 1);
    lua_getglobal(L, "tostring");
    lua_setfield(L, top + 3, "tostring");
    luaL_setfuncs(L, methods, 1);
    lua_setfield(L, top + 1, "__index");
    lua_settop(L, top);
}

/*
 * get_option_array's conversion of the value at 'value' (not nil): a
 * table is copied into a new array (util.array's append), any other
 * value becomes a one-element array.
 */
void ml_array_from(lua_State *L, int value)
{
    value = lua_absindex(L, value);
    push_new_array(L);
    if (lua_istable(L, value)) {
        append(L, lua_gettop(L), value);
    } else {
        lua_pushvalue(L, value);
        lua_rawseti(L, -2, 1);
    }
}
