/*
 * module.c - modulemanager's module maps and module instances.
 *
 * A module map (name -> instance) is a C hash map. An instance holds a
 * registry reference to the module environment, the value Prosody keeps
 * in its maps; the api object is always reached through env.module, as
 * Prosody does. 'ml->modmaps' is modulemanager's 'modulemap' (host ->
 * map). A host's map is shared by the host ('hosts[h].modules') and by
 * 'modulemap' once linked, hence the reference count.
 */
#include <stdio.h>
#include <stdlib.h>

#include "modlife-int.h"

struct ml_instance {
    int ref_env;            /* registry reference to the module env */
};

/*
 * A new empty module map with one reference, owned by the caller
 * (release with ml_modmap_unref). NULL when out of memory.
 */
struct ml_modmap *ml_modmap_new(void)
{
    struct ml_modmap *map = ml_malloc(sizeof(*map));

    if (!map)
        return NULL;
    map->refs = 1;
    ml_map_init(&map->entries);
    return map;
}

static void instance_free(void *ud, void *value)
{
    struct ml *ml = ud;
    struct ml_instance *instance = value;

    luaL_unref(ml->L, LUA_REGISTRYINDEX, instance->ref_env);
    free(instance);
}

/*
 * Drop one reference to 'map' (NULL allowed); the last one frees it and
 * releases the registry references of its instances. Calls no Lua code.
 */
void ml_modmap_unref(struct ml *ml, struct ml_modmap *map)
{
    if (!map || --map->refs > 0)
        return;
    ml_map_release(&map->entries, instance_free, ml);
    free(map);
}

/* Room for a number's key: NUL, a tag and lua_Number's "%.17g" text. */
#define KEY_NUMBER_MAX 40

/*
 * The key bytes of the name at 'idx': a string's own bytes, or for a
 * number a NUL byte, 'i' or 'f' and its text in 'buf', since Prosody's
 * maps are Lua tables where the number 123 and the string "123" are two
 * keys (module:depends(123), R-DEP-15) and 2.0 is the key 2. No module
 * name that can load starts with NUL. NULL for any other type.
 */
static const char *key_at(lua_State *L, int idx, size_t *len,
                          char buf[KEY_NUMBER_MAX])
{
    lua_Integer i;
    int isint, n;

    if (lua_type(L, idx) == LUA_TSTRING)
        return lua_tolstring(L, idx, len);
    if (lua_type(L, idx) != LUA_TNUMBER)
        return NULL;
    i = lua_tointegerx(L, idx, &isint);
    if (isint)
        n = snprintf(buf, KEY_NUMBER_MAX, "%ci" LUA_INTEGER_FMT, 0,
                     (LUAI_UACINT)i);
    else
        n = snprintf(buf, KEY_NUMBER_MAX, "%cf%.17g", 0,
                     (double)lua_tonumber(L, idx));
    *len = (size_t)n;
    return buf;
}

/* Push the name whose key is [key, key+len): the inverse of key_at. */
static void push_name(lua_State *L, const char *key, size_t len)
{
    if (len > 2 && key[0] == '\0') {
        lua_pushlstring(L, key + 2, len - 2);
        if (lua_stringtonumber(L, lua_tostring(L, -1)))
            lua_remove(L, -2);
        return;
    }
    lua_pushlstring(L, key, len);
}

/*
 * modulemap[host] for the value at 'host': the map or NULL. Valid until
 * the next call into Lua code.
 */
struct ml_modmap *ml_modmap_at(lua_State *L, struct ml *ml, int host)
{
    size_t len;
    char buf[KEY_NUMBER_MAX];
    const char *key = key_at(L, host, &len, buf);

    return key ? ml_map_get(&ml->modmaps, key, len) : NULL;
}

/*
 * modulemap[host] where modulemanager.lua indexes it without checking, at
 * 'line', with the key written as 'field' in Lua's message ("*" for the
 * literal, "?" for a variable): raises that error when there is no map
 * (possible after 'deactivate *', or when a module changed module.host).
 */
struct ml_modmap *ml_modmap_check(lua_State *L, struct ml *ml, int host,
                                  int line, const char *field)
{
    struct ml_modmap *map = ml_modmap_at(L, ml, host);

    /* 'line' is 0.12.3's; in 13.0.1's modulemanager.lua the accesses
     * at 167-290 sit 13 lines further down and the one at 298 (a failed
     * load) at 315 (R-HOSTILE-8). */
    if (!map)
        ml_raise_at(L, ML_SRC_MODULEMANAGER,
                    !ml->release13 ? line : line == 298 ? 315 : line + 13,
                    "attempt to index a nil value (field '%s')", field);
    return map;
}

/*
 * modulemap[host] = map, taking a new reference to 'map'. The host (a
 * string) must not have a map yet.
 */
void ml_modmap_link(lua_State *L, struct ml *ml, int host,
                    struct ml_modmap *map)
{
    size_t len;
    char buf[KEY_NUMBER_MAX];
    const char *key = key_at(L, host, &len, buf);

    if (!key)
        luaL_error(L, "host name is not a string");
    if (ml_map_put(&ml->modmaps, key, len, map) != ML_OK)
        luaL_error(L, "not enough memory");
    map->refs++;
}

/*
 * modulemap[host] = nil: modulemanager's host-deactivated handler, after
 * which get_modules(host) is nil until the next load (R-HOST-10).
 */
void ml_modmap_drop(lua_State *L, struct ml *ml, int host)
{
    size_t len;
    char buf[KEY_NUMBER_MAX];
    const char *key = key_at(L, host, &len, buf);

    if (key)
        ml_modmap_unref(ml, ml_map_remove(&ml->modmaps, key, len));
}

static void modmap_unref_cb(void *ud, void *value)
{
    ml_modmap_unref(ud, value);
}

/* Drop every entry of 'modulemap' (ml_free). Calls no Lua code. */
void ml_modmaps_release(struct ml *ml)
{
    ml_map_release(&ml->modmaps, modmap_unref_cb, ml);
}

/*
 * map[name]: push the env and return true, or push nothing and return
 * false when the name (at 'name') is absent or not a string.
 */
bool ml_module_push(lua_State *L, struct ml_modmap *map, int name)
{
    size_t len;
    char buf[KEY_NUMBER_MAX];
    const char *key = key_at(L, name, &len, buf);
    struct ml_instance *instance;

    if (!key)
        return false;
    instance = ml_map_get(&map->entries, key, len);
    if (!instance)
        return false;
    ml_push_ref(L, instance->ref_env, LUA_TTABLE);
    return true;
}

/*
 * map[name] = env (stack indices), replacing any previous instance.
 * Raises when out of memory, leaving the map unchanged.
 */
void ml_module_set(lua_State *L, struct ml_modmap *map, int name, int env)
{
    size_t len;
    char buf[KEY_NUMBER_MAX];
    const char *key = key_at(L, name, &len, buf);
    struct ml_instance *instance;
    int ref;

    if (!key)
        luaL_error(L, "module name is not a string");
    lua_pushvalue(L, env);
    ref = luaL_ref(L, LUA_REGISTRYINDEX);
    instance = ml_map_get(&map->entries, key, len);
    if (instance) {
        luaL_unref(L, LUA_REGISTRYINDEX, instance->ref_env);
        instance->ref_env = ref;
        return;
    }
    instance = ml_malloc(sizeof(*instance));
    if (instance) {
        instance->ref_env = ref;
        if (ml_map_put(&map->entries, key, len, instance) == ML_OK)
            return;
        free(instance);
    }
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    luaL_error(L, "not enough memory");
}

/* map[name] = nil; releases the instance's reference to its env. */
void ml_module_clear(lua_State *L, struct ml_modmap *map, int name)
{
    size_t len;
    char buf[KEY_NUMBER_MAX];
    const char *key = key_at(L, name, &len, buf);
    struct ml_instance *instance;

    if (!key)
        return;
    instance = ml_map_remove(&map->entries, key, len);
    if (instance) {
        luaL_unref(L, LUA_REGISTRYINDEX, instance->ref_env);
        free(instance);
    }
}

/*
 * Push an array of the names in 'map', sorted in byte order: a snapshot
 * that stays valid while modules are unloaded, and the deterministic
 * order the reference uses where Prosody iterates with pairs().
 */
void ml_module_names(lua_State *L, struct ml_modmap *map)
{
    const char *key;
    size_t len, pos = 0;
    void *value;
    lua_Integer n = 0;

    lua_Integer i;

    lua_createtable(L, (int)map->entries.count, 0);
    while ((pos = ml_map_next(&map->entries, pos, &key, &len, &value)) != 0) {
        lua_pushlstring(L, key, len);
        lua_rawseti(L, -2, ++n);
    }
    ml_sort_by_string(L, lua_gettop(L), 0);
    for (i = 1; i <= n; i++) {      /* number keys back to numbers */
        lua_rawgeti(L, -1, i);
        key = lua_tolstring(L, -1, &len);
        push_name(L, key, len);
        lua_rawseti(L, -3, i);
        lua_pop(L, 1);
    }
}

/*
 * modulemanager.get_module(host, name): push the env, or nil when the
 * host has no map or the name is not in it.
 */
void ml_get_module(lua_State *L, struct ml *ml, int host, int name)
{
    struct ml_modmap *map = ml_modmap_at(L, ml, host);

    if (!map || !ml_module_push(L, map, name))
        lua_pushnil(L);
}

/* Push env.module, raising as 'rawget(module.module, method)' does at
 * modulemanager.lua:'line' (411 in module_has_method, 415 in
 * call_module_method) when 'env' is nil (R-RELOAD-13) or when env.module
 * is not a table (a module that set _ENV.module, R-HOSTILE-4). */
static void push_api(lua_State *L, int env, int line)
{
    if (lua_isnil(L, env))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, line,
                    "attempt to index a nil value (local 'module')");
    lua_getfield(L, env, "module");
    if (!lua_istable(L, -1))
        ml_raise_at(L, ML_SRC_MODULEMANAGER, line, "bad argument #1 to "
                    "'rawget' (table expected, got %s)", luaL_typename(L, -1));
}

/*
 * module_has_method(env, method): whether the api object has an own
 * function field 'method'. Lifecycle callbacks count only when they are
 * own fields, never inherited ones (R-SHARED-1, R-UNLOAD-8).
 */
bool ml_module_has_method(lua_State *L, int env, const char *method)
{
    bool found;

    push_api(L, env, 411);
    lua_pushstring(L, method);
    found = lua_rawget(L, -2) == LUA_TFUNCTION;
    lua_pop(L, 2);
    return found;
}

/*
 * call_module_method(env, method, ...): with the 'nargs' arguments on top
 * of the stack, call the api's own function 'method' under the traceback
 * handler. The arguments are replaced by true and the results, or by
 * false and the error value (with its traceback); by false,
 * "no-such-method" when there is no such function. Returns the number of
 * values pushed.
 */
int ml_module_call(lua_State *L, int env, const char *method, int nargs)
{
    return ml_module_call_k(L, env, method, nargs, 0, NULL);
}

/*
 * ml_module_call, yieldable with the continuation 'k' and its context
 * (ml_pcall_traceback_k): the method is called at base+1, 'base' being
 * the top below the arguments; after a yield the continuation calls
 * ml_pcall_traceback_end (handler at base+1), then ml_module_call_end.
 */
int ml_module_call_k(lua_State *L, int env, const char *method, int nargs,
                     lua_KContext ctx, lua_KFunction k)
{
    int base = lua_gettop(L) - nargs;

    push_api(L, env, 415);
    lua_pushstring(L, method);
    if (lua_rawget(L, -2) != LUA_TFUNCTION) {
        lua_settop(L, base);
        lua_pushboolean(L, 0);
        ml_push_token(L, ML_TOK_NO_SUCH_METHOD);
        return 2;
    }
    lua_remove(L, -2);
    lua_insert(L, base + 1);
    return ml_module_call_end(L, ml_pcall_traceback_k(L, nargs, LUA_MULTRET,
                                                      ctx, k), base);
}

/* The end of ml_module_call_k: true or false below the results (or the
 * error) above 'base'. Returns the number of values above 'base'. */
int ml_module_call_end(lua_State *L, int status, int base)
{
    lua_pushboolean(L, status == LUA_OK);
    lua_insert(L, base + 1);
    return lua_gettop(L) - base;
}
