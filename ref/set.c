/*
 * set.c - util.set, the sets that moduleapi's get_option_set and
 * get_option_inherited_set return to modules, and that modulemanager
 * computes a host's module list with.
 *
 * A set has Prosody's shape, since modules may use any of it: a table
 * { _items = items } whose methods (add, contains, contains_set, items,
 * remove, add_list, include, exclude, empty) are own fields, closures
 * over 'items'; the metatable is shared by every set (__name "set",
 * __call iterates, __add union, __sub difference, __div map, __eq,
 * __tostring). Iteration order is next()'s, unspecified as in Prosody.
 */
#include "modlife-int.h"

/* Upvalue of every method: the set's items table. */
#define ITEMS lua_upvalueindex(1)

/* items_mt.__call(items, _, k): next(items, k), key and value. */
static int items_call(lua_State *L)
{
    lua_settop(L, 3);
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_next(L, 1) == 0) {
        lua_pushnil(L);
        return 1;
    }
    return 2;
}

/* set_mt.__call(set, _, k): next(set._items, k), key and value. */
static int set_call(lua_State *L)
{
    lua_settop(L, 3);
    lua_getfield(L, 1, "_items");
    lua_insert(L, 3);
    luaL_checktype(L, 3, LUA_TTABLE);
    if (lua_next(L, 3) == 0) {
        lua_pushnil(L);
        return 1;
    }
    return 2;
}

/* for item in <value at 'other'> do items[item] = value end: the generic
 * for over a set (or anything callable), as include/exclude do. 'value'
 * is 1 for true, 0 for nil. */
static void each_call(lua_State *L, int other, int items, int value)
{
    int top = lua_gettop(L);

    lua_pushnil(L);                                 /* top+1: control */
    for (;;) {
        lua_settop(L, top + 1);
        lua_pushvalue(L, other);
        lua_pushnil(L);
        lua_pushvalue(L, top + 1);
        lua_call(L, 2, 1);
        if (lua_isnil(L, -1))
            break;
        lua_replace(L, top + 1);
        lua_pushvalue(L, top + 1);
        if (value)
            lua_pushboolean(L, 1);
        else
            lua_pushnil(L);
        lua_settable(L, items);
    }
    lua_settop(L, top);
}

static int set_add(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 1);
    lua_settable(L, ITEMS);
    return 0;
}

static int set_contains(lua_State *L)
{
    lua_settop(L, 2);
    lua_gettable(L, ITEMS);
    return 1;
}

/* contains_set(other): self:contains(item) for every item of other. */
static int set_contains_set(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushnil(L);                                 /* 3: control */
    for (;;) {
        lua_settop(L, 3);
        lua_pushvalue(L, 2);
        lua_pushnil(L);
        lua_pushvalue(L, 3);
        lua_call(L, 2, 1);
        if (lua_isnil(L, -1))
            break;
        lua_replace(L, 3);
        lua_getfield(L, 1, "contains");
        lua_pushvalue(L, 1);
        lua_pushvalue(L, 3);
        lua_call(L, 2, 1);
        if (!lua_toboolean(L, -1)) {
            lua_pushboolean(L, 0);
            return 1;
        }
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* items(): next, items. */
static int set_items(lua_State *L)
{
    lua_getglobal(L, "next");
    lua_pushvalue(L, ITEMS);
    return 2;
}

static int set_remove(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_pushnil(L);
    lua_settable(L, ITEMS);
    return 0;
}

/* add_list(list): items[v] = true for every v of ipairs(list), when list
 * is truthy. */
static int set_add_list(lua_State *L)
{
    lua_settop(L, 2);
    if (lua_toboolean(L, 2))
        ml_set_add_ipairs(L, ITEMS, 2, true);
    return 0;
}

static int set_include(lua_State *L)
{
    lua_settop(L, 2);
    each_call(L, 2, ITEMS, 1);
    return 0;
}

static int set_exclude(lua_State *L)
{
    lua_settop(L, 2);
    each_call(L, 2, ITEMS, 0);
    return 0;
}

static int set_empty(lua_State *L)
{
    lua_pushnil(L);
    if (lua_next(L, ml_upvalue(L, 1, LUA_TTABLE, "items")) == 0) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    return 1;
}

/* Push set._items of the value at 'idx', raising as Lua would when it is
 * not indexable, and check that it is a table for pairs(). */
static void push_items_of(lua_State *L, int idx)
{
    lua_getfield(L, idx, "_items");
    luaL_checktype(L, -1, LUA_TTABLE);
}

/* union(set1, set2) */
static int set_union(lua_State *L)
{
    lua_settop(L, 2);
    ml_set_new(L, 0);                               /* 3 */
    lua_getfield(L, 3, "_items");                   /* 4 */
    push_items_of(L, 1);                            /* 5 */
    push_items_of(L, 2);                            /* 6 */
    for (int src = 5; src <= 6; src++) {
        lua_pushnil(L);
        while (lua_next(L, src) != 0) {
            lua_pop(L, 1);
            lua_pushvalue(L, -1);
            lua_pushboolean(L, 1);
            lua_rawset(L, 4);
        }
    }
    lua_settop(L, 3);
    return 1;
}

/* difference(set1, set2) */
static int set_difference(lua_State *L)
{
    lua_settop(L, 2);
    ml_set_new(L, 0);                               /* 3 */
    lua_getfield(L, 3, "_items");                   /* 4 */
    push_items_of(L, 1);                            /* 5 */
    lua_getfield(L, 2, "_items");                   /* 6 */
    lua_pushnil(L);
    while (lua_next(L, 5) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushvalue(L, -1);
        lua_gettable(L, 6);
        if (lua_toboolean(L, -1)) {
            lua_pop(L, 1);
            lua_pushnil(L);
        } else {
            lua_pop(L, 1);
            lua_pushboolean(L, 1);
        }
        lua_rawset(L, 4);
    }
    lua_settop(L, 3);
    return 1;
}

/* __div(set, func): the set of func(item) for every item, nils left out. */
static int set_map(lua_State *L)
{
    lua_settop(L, 2);
    ml_set_new(L, 0);                               /* 3 */
    lua_getfield(L, 3, "_items");                   /* 4 */
    push_items_of(L, 1);                            /* 5 */
    lua_pushnil(L);
    while (lua_next(L, 5) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_call(L, 1, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            continue;
        }
        lua_pushboolean(L, 1);
        lua_rawset(L, 4);
    }
    lua_settop(L, 3);
    return 1;
}

/* Whether every key of the table at 'a' is truthy in the table at 'b'. */
static bool keys_within(lua_State *L, int a, int b)
{
    lua_pushnil(L);
    while (lua_next(L, a) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_gettable(L, b);
        if (!lua_toboolean(L, -1)) {
            lua_pop(L, 2);
            return false;
        }
        lua_pop(L, 1);
    }
    return true;
}

/* __eq: false unless both are sets; then the same items. */
static int set_eq(lua_State *L)
{
    lua_settop(L, 2);
    for (int i = 1; i <= 2; i++) {
        bool same;

        if (!lua_getmetatable(L, i)) {
            lua_pushboolean(L, 0);
            return 1;
        }
        luaL_getmetatable(L, "modlife.set");
        same = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (!same) {
            lua_pushboolean(L, 0);
            return 1;
        }
    }
    lua_getfield(L, 1, "_items");
    lua_getfield(L, 2, "_items");
    lua_pushboolean(L, keys_within(L, 3, 4) && keys_within(L, 4, 3));
    return 1;
}

/* __tostring: the items' tostring joined with ", ". */
static int set_tostring(lua_State *L)
{
    luaL_Buffer b;
    bool first = true;

    lua_settop(L, 1);
    push_items_of(L, 1);                            /* 2 */
    luaL_buffinit(L, &b);
    lua_pushnil(L);
    while (lua_next(L, 2) != 0) {
        lua_pop(L, 1);
        if (!first)
            luaL_addstring(&b, ", ");
        first = false;
        luaL_tolstring(L, -1, NULL);
        lua_insert(L, -2);
        lua_pushvalue(L, -2);
        lua_remove(L, -3);
        luaL_addvalue(&b);
    }
    luaL_pushresult(&b);
    return 1;
}

/* __freeze: an array of the items. */
static int set_freeze(lua_State *L)
{
    lua_Integer n = 0;

    lua_settop(L, 1);
    lua_newtable(L);                                /* 2 */
    lua_pushnil(L);                                 /* 3: control */
    for (;;) {
        lua_settop(L, 3);
        lua_getfield(L, 1, "_items");
        lua_pushnil(L);
        lua_pushvalue(L, 3);
        lua_call(L, 2, 1);
        if (lua_isnil(L, -1))
            break;
        lua_replace(L, 3);
        lua_pushvalue(L, 3);
        lua_rawseti(L, 2, ++n);
    }
    lua_settop(L, 2);
    return 1;
}

/*
 * items[v] = present or nil for every v of ipairs(<value at 'list'>) into
 * the table at 'items': lua_geti from 1 up to the first nil, as ipairs
 * does, so a string lists nothing and a number raises.
 */
void ml_set_add_ipairs(lua_State *L, int items, int list, bool present)
{
    lua_Integer i;

    items = lua_absindex(L, items);
    list = lua_absindex(L, list);
    for (i = 1; lua_geti(L, list, i) != LUA_TNIL; i++) {
        if (present)
            lua_pushboolean(L, 1);
        else
            lua_pushnil(L);
        lua_settable(L, items);
    }
    lua_pop(L, 1);
}

/*
 * set.new(list): push a new set holding the values of ipairs(list) for
 * the value at 'list' (0 or a nil/false value: an empty set).
 */
void ml_set_new(lua_State *L, int list)
{
    static const luaL_Reg methods[] = {
        { "add", set_add }, { "contains", set_contains },
        { "contains_set", set_contains_set }, { "items", set_items },
        { "remove", set_remove }, { "add_list", set_add_list },
        { "include", set_include }, { "exclude", set_exclude },
        { "empty", set_empty }, { NULL, NULL }
    };
    static const luaL_Reg metamethods[] = {
        { "__call", set_call }, { "__add", set_union },
        { "__sub", set_difference }, { "__div", set_map },
        { "__eq", set_eq }, { "__tostring", set_tostring },
        { "__freeze", set_freeze }, { NULL, NULL }
    };
    int items, set;

    if (list)
        list = lua_absindex(L, list);
    lua_newtable(L);                                /* items */
    items = lua_gettop(L);
    if (luaL_newmetatable(L, "modlife.items")) {
        /* util.set's items_mt has no __name. */
        lua_pushnil(L);
        lua_setfield(L, -2, "__name");
        lua_pushcfunction(L, items_call);
        lua_setfield(L, -2, "__call");
    }
    ml_check_registry(L, -1, LUA_TTABLE, "modlife.items");
    lua_setmetatable(L, items);
    lua_createtable(L, 0, 10);                      /* set */
    set = lua_gettop(L);
    lua_pushvalue(L, items);
    lua_setfield(L, set, "_items");
    for (const luaL_Reg *m = methods; m->name; m++) {
        lua_pushvalue(L, items);
        lua_pushcclosure(L, m->func, 1);
        lua_setfield(L, set, m->name);
    }
    if (list && lua_toboolean(L, list))
        ml_set_add_ipairs(L, items, list, true);
    if (luaL_newmetatable(L, "modlife.set")) {
        luaL_setfuncs(L, metamethods, 0);
        lua_pushliteral(L, "set");
        lua_setfield(L, -2, "__name");
    }
    ml_check_registry(L, -1, LUA_TTABLE, "modlife.set");
    lua_setmetatable(L, set);
    lua_remove(L, items);
}
