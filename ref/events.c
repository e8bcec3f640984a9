/*
 * events.c - util.events objects: prioritised handlers per event name.
 *
 * What Lua code sees of an events object is, as in Prosody, a plain table
 * of functions (add_handler, remove_handler, add_handlers,
 * remove_handlers, get_handlers, fire_event, add_wrapper, remove_wrapper,
 * and 'wrappers', a table whose add_handler and remove_handler add and
 * remove wrappers). Those functions are closures over that table; its
 * core, found through a weak-keyed registry table, is a userdata holding
 * its owner's name (for the driver's event lines) and user values:
 *   1  event name -> entry, where
 *        entry[1]  handler -> priority     (what Prosody calls the event map)
 *        entry[2]  handler -> registration number, the tie-break
 *        entry[3]  the sorted handler array, built lazily, dropped on change
 *   2  event name -> array of per-event wrappers
 *   3  the array of global wrappers, or nil
 *   4  the debug hook (set_debug_hook), or nil
 *   5  the table Lua code sees
 * The C side (ml_events_*) takes either the table or the core. No function
 * hands the core to Lua code, but module code can replace any upvalue of a
 * function it holds (debug.setupvalue) and reach the core through the
 * registry (debug.getregistry, then debug.setuservalue): every function
 * resolves its table to a core again, and every user value and entry is
 * checked before a raw operation uses it (issue 11 §3). Handlers,
 * priorities and the sorted arrays are Lua values, so a dispatch can hold
 * its snapshot on the Lua stack while handlers run and raise.
 *
 * Wrappers nest as in util.events (R-EV-7): per-event wrappers, last added
 * outermost, then global wrappers, last added outermost, then the
 * handlers. The observer is told about a dispatch where the Prosody
 * adapter's wrapper sees it: as the first global wrapper of every
 * object, the innermost one. It is represented by the 'report' sentinel
 * at index 1 of the global wrapper array; nil stands for an array holding
 * only the sentinel.
 */
#include <string.h>

#include "modlife-int.h"

#define EVENTS_MT "modlife.events"
#define CORES_KEY "modlife.events.cores"   /* registry: table -> core */

enum { ENTRY_PRIORITY = 1, ENTRY_SEQ = 2, ENTRY_SORTED = 3 };
enum { UV_ENTRIES = 1, UV_WRAPPERS, UV_GLOBAL_WRAPPERS, UV_DEBUG_HOOK,
       UV_OBJECT, UV_COUNT = UV_OBJECT };

struct ml_events {
    struct ml *ml;
    bool observed;          /* reported to the observer (host or global) */
    size_t len;
    char name[];            /* "*" or the host name, NUL-terminated */
};

static void push_object(lua_State *L, int core);

/*
 * Push a new, empty events object (the table Lua code sees) that reports
 * itself as 'name' (copied, 'len' bytes), or that is never reported when
 * 'name' is NULL (one a module made with util.events.new: the Prosody
 * adapter observes only the global and host events objects). 'ml' must
 * outlive it (the Lua state is closed first).
 */
void ml_events_new(lua_State *L, struct ml *ml, const char *name, size_t len)
{
    struct ml_events *events;

    if (!name)
        len = 0;
    events = lua_newuserdatauv(L, sizeof(*events) + len + 1, UV_COUNT);
    events->ml = ml;
    events->observed = name != NULL;
    events->len = len;
    if (len)
        memcpy(events->name, name, len);
    events->name[len] = '\0';
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_ENTRIES);
    lua_newtable(L);
    lua_setiuservalue(L, -2, UV_WRAPPERS);
    if (luaL_newmetatable(L, EVENTS_MT)) {
        lua_pushliteral(L, "events");
        lua_setfield(L, -2, "__name");
    }
    ml_check_registry(L, -1, LUA_TTABLE, EVENTS_MT);
    lua_setmetatable(L, -2);
    push_object(L, lua_gettop(L));
    lua_remove(L, -2);
}

/* The core of the events object at 'idx': 'idx' itself for a core, else
 * the core of the table, pushed (*pushed set); 0 when the value is not an
 * events object. */
static int to_core(lua_State *L, int idx, bool *pushed)
{
    idx = lua_absindex(L, idx);
    *pushed = false;
    if (luaL_testudata(L, idx, EVENTS_MT))
        return idx;
    if (!lua_istable(L, idx))
        return 0;
    if (lua_getfield(L, LUA_REGISTRYINDEX, CORES_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);          /* rewritten by module code: no object */
        return 0;
    }
    lua_pushvalue(L, idx);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (!luaL_testudata(L, -1, EVENTS_MT)) {
        lua_pop(L, 1);
        return 0;
    }
    *pushed = true;
    return lua_gettop(L);
}

/* to_core for an argument that must be an events object. */
static int check_core(lua_State *L, int idx, bool *pushed)
{
    int core = to_core(L, idx, pushed);

    if (!core)
        luaL_error(L, "not an events object");
    return core;
}

/* Whether the value at 'idx' is an events object of ref/. */
bool ml_events_is(lua_State *L, int idx)
{
    bool pushed;
    int core = to_core(L, idx, &pushed);

    if (pushed)
        lua_pop(L, 1);
    return core != 0;
}

/* Raise unless the value at 'idx' is a table (or nil, when 'nil_ok'):
 * an events object's internal tables are reachable from module code
 * through the registry (debug.getregistry, debug.getuservalue), and the
 * raw operations on them would crash on anything else. */
static void check_internal(lua_State *L, int idx, bool nil_ok)
{
    int type = lua_type(L, idx);

    if (type != LUA_TTABLE && !(nil_ok && type == LUA_TNIL))
        luaL_error(L, "events object state rewritten (table expected, got %s)",
                   luaL_typename(L, idx));
}

/* Push user value 'n' of the core at 'events', checked; returns its type. */
static int push_uv(lua_State *L, int events, int n)
{
    int type = lua_getiuservalue(L, events, n);

    if (n != UV_DEBUG_HOOK)
        check_internal(L, -1, n == UV_GLOBAL_WRAPPERS);
    return type;
}

/* Push the entry of event 'name' of 'events', or nil. */
static int push_entry(lua_State *L, int events, int name)
{
    int i;

    push_uv(L, events, UV_ENTRIES);
    lua_pushvalue(L, name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    if (lua_isnil(L, -1))
        return LUA_TNIL;
    check_internal(L, -1, false);
    for (i = ENTRY_PRIORITY; i <= ENTRY_SORTED; i++) {
        lua_rawgeti(L, -1, i);
        check_internal(L, -1, i == ENTRY_SORTED);
        lua_pop(L, 1);
    }
    return LUA_TTABLE;
}

/* The error Lua raises for a table key at 'idx' that cannot be one, or
 * NULL when the key is fine. */
static const char *key_error(lua_State *L, int idx)
{
    if (lua_isnil(L, idx))
        return "table index is nil";
    if (lua_type(L, idx) == LUA_TNUMBER &&
        lua_tonumber(L, idx) != lua_tonumber(L, idx))
        return "table index is NaN";
    return NULL;
}

/*
 * add_handler(name, handler, priority): register 'handler' for 'name'
 * with 'priority' (stack index, 0 for none; a nil or false priority means
 * 0). Registering the same function again replaces its priority and
 * keeps its place among equal priorities (R-EV-4). Raises util.events'
 * "table index is nil" (or NaN) for such a name or handler, with its line.
 */
static void core_add(lua_State *L, int events, int name, int handler,
                     int prio)
{
    struct ml_events *ev = lua_touserdata(L, events);
    int found = push_entry(L, events, name) != LUA_TNIL;

    /* util.events' add_handler stores map[handler] (events.lua:47, or :49
     * for a new event) and then event_map[event] (:50, new event only). */
    if (key_error(L, handler))
        ml_raise_at(L, ML_SRC_EVENTS, found ? 47 : 49, "%s",
                    key_error(L, handler));
    if (!found && key_error(L, name))
        ml_raise_at(L, ML_SRC_EVENTS, 50, "%s", key_error(L, name));
    if (!found) {
        lua_pop(L, 1);
        lua_createtable(L, 3, 0);
        lua_newtable(L);
        lua_rawseti(L, -2, ENTRY_PRIORITY);
        lua_newtable(L);
        lua_rawseti(L, -2, ENTRY_SEQ);
        push_uv(L, events, UV_ENTRIES);
        lua_pushvalue(L, name);
        lua_pushvalue(L, -3);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_rawgeti(L, -1, ENTRY_PRIORITY);
    lua_pushvalue(L, handler);
    if (prio && lua_toboolean(L, prio))
        lua_pushvalue(L, prio);
    else
        lua_pushinteger(L, 0);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_rawgeti(L, -1, ENTRY_SEQ);
    lua_pushvalue(L, handler);
    if (lua_rawget(L, -2) == LUA_TNIL) {
        lua_pushvalue(L, handler);
        lua_pushinteger(L, ++ev->ml->seq);
        lua_rawset(L, -4);
    }
    lua_pop(L, 2);
    lua_pushnil(L);
    lua_rawseti(L, -2, ENTRY_SORTED);
    lua_pop(L, 1);
}

/*
 * remove_handler(name, handler): forget 'handler' for 'name'; a handler
 * that is not registered is a silent no-op. A dispatch in progress keeps
 * its snapshot (R-EV-5).
 */
static void core_remove(lua_State *L, int events, int name, int handler)
{
    if (push_entry(L, events, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    lua_rawgeti(L, -1, ENTRY_PRIORITY);
    lua_pushvalue(L, handler);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pushnil(L);
    if (lua_next(L, -2) == 0) {
        /* No handler left: drop the event's entry. */
        push_uv(L, events, UV_ENTRIES);
        lua_pushvalue(L, name);
        lua_pushnil(L);
        lua_rawset(L, -3);
        lua_pop(L, 3);
        return;
    }
    lua_pop(L, 3);
    lua_rawgeti(L, -1, ENTRY_SEQ);
    lua_pushvalue(L, handler);
    lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, ENTRY_SORTED);
    lua_pop(L, 1);
}

/* Sort state for one rebuild: handlers and priorities are Lua arrays at
 * stack indices, sequence numbers and the permutation are C arrays in a
 * userdata. */
struct rebuild {
    lua_State *L;
    int handlers;
    int priorities;
    lua_Integer *seq;
};

/* Whether the value at 'b' is less than the value at 'a', as Lua's '<'
 * computes it inside util.events' sort (priority_b < priority_a), with
 * the error Prosody raises there for values that cannot be compared. */
static bool has_lt(lua_State *L, int idx)
{
    if (luaL_getmetafield(L, idx, "__lt") == LUA_TNIL)
        return false;
    lua_pop(L, 1);
    return true;
}

static bool less_than(lua_State *L, int b, int a)
{
    int tb = lua_type(L, b), ta = lua_type(L, a);

    if ((tb == ta && (tb == LUA_TNUMBER || tb == LUA_TSTRING)) ||
        has_lt(L, b) || has_lt(L, a))
        return lua_compare(L, b, a, LUA_OPLT);
    if (tb == ta)
        ml_raise_at(L, ML_SRC_EVENTS, 39,
                    "attempt to compare two %s values", luaL_typename(L, b));
    return ml_raise_at(L, ML_SRC_EVENTS, 39,
                       "attempt to compare %s with %s", luaL_typename(L, b),
                       luaL_typename(L, a));
}

/* Whether handler 'a' runs before handler 'b': higher priority first
 * (R-EV-1); equal or incomparable priorities in registration order
 * (Prosody leaves this order undefined, R-EV-2). */
static bool runs_before(struct rebuild *r, int a, int b)
{
    lua_State *L = r->L;
    int top = lua_gettop(L);
    bool higher, lower;

    lua_rawgeti(L, r->priorities, a + 1);
    lua_rawgeti(L, r->priorities, b + 1);
    higher = less_than(L, top + 2, top + 1);
    lower = !higher && less_than(L, top + 1, top + 2);
    lua_settop(L, top);
    if (higher || lower)            /* the priorities differ */
        return higher;
    return r->seq[a] < r->seq[b];
}

static void sort_handlers(struct rebuild *r, int *order, int *tmp, int n)
{
    int width, i;

    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            int mid = i + width < n ? i + width : n;
            int end = i + 2 * width < n ? i + 2 * width : n;
            int l = i, rr = mid, k = i;

            while (l < mid && rr < end)
                tmp[k++] = runs_before(r, order[rr], order[l]) ? order[rr++]
                                                             : order[l++];
            while (l < mid)
                tmp[k++] = order[l++];
            while (rr < end)
                tmp[k++] = order[rr++];
        }
        memcpy(order, tmp, (size_t)n * sizeof(*order));
    }
}

/* Push the sorted handler array of the entry at 'entry', building and
 * caching it if needed. */
static void push_sorted(lua_State *L, int entry)
{
    struct rebuild r;
    int n = 0, i;
    int *order;

    if (lua_rawgeti(L, entry, ENTRY_SORTED) != LUA_TNIL)
        return;
    lua_pop(L, 1);
    lua_rawgeti(L, entry, ENTRY_PRIORITY);
    lua_rawgeti(L, entry, ENTRY_SEQ);
    lua_newtable(L);
    lua_newtable(L);
    r.L = L;
    r.handlers = lua_gettop(L) - 1;
    r.priorities = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, r.handlers - 2) != 0) {
        n++;
        lua_rawseti(L, r.priorities, n);
        lua_pushvalue(L, -1);
        lua_rawseti(L, r.handlers, n);
    }
    r.seq = lua_newuserdatauv(L, (size_t)n * (sizeof(lua_Integer) +
                                              2 * sizeof(int)) + 1, 0);
    order = (int *)(r.seq + n);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, r.handlers, i + 1);
        lua_rawget(L, r.handlers - 1);
        r.seq[i] = lua_tointeger(L, -1);
        lua_pop(L, 1);
        order[i] = i;
    }
    sort_handlers(&r, order, order + n, n);
    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, r.handlers, order[i] + 1);
        lua_rawseti(L, -2, i + 1);
    }
    lua_pushvalue(L, -1);
    lua_rawseti(L, entry, ENTRY_SORTED);
    lua_replace(L, r.handlers - 2);
    lua_settop(L, r.handlers - 2);
}

/* Raise util.events' error at 'line' for calling the value on top of the
 * stack, named 'what' in the message, unless it can be called. */
static void check_callable_at(lua_State *L, int line, const char *what)
{
    if (lua_isfunction(L, -1))
        return;
    if (luaL_getmetafield(L, -1, "__call") != LUA_TNIL) {
        lua_pop(L, 1);
        return;
    }
    ml_raise_at(L, ML_SRC_EVENTS, line, "attempt to call a %s value (%s)",
                luaL_typename(L, -1), what);
}

/* The context of a handler call that may yield: the snapshot's stack
 * index and the handler's position in it. */
#define HANDLER_CTX(list, i) (((lua_KContext)(i) << 16) | (list))

/* After a handler returned (its value on top): whether it stopped the
 * dispatch (R-EV-3); its value is then at 'list' and the top. */
static bool handler_stopped(lua_State *L, int list)
{
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return false;
    }
    lua_replace(L, list);
    lua_settop(L, list);
    return true;
}

/* The handler loop of run_handlers from position 'i' on; the snapshot
 * is at 'list', with the debug hook, name and data above it. */
static int handlers_from(lua_State *L, int list, lua_Integer i,
                         lua_KFunction k)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, list);
    bool hook = lua_toboolean(L, list + 1);

    for (; i <= n; i++) {
        if (hook) {
            /* With a debug hook: hook(handler, name, data). */
            lua_pushvalue(L, list + 1);
            check_callable_at(L, 86, "upvalue 'active_debug_hook'");
            lua_rawgeti(L, list, i);
            lua_pushvalue(L, list + 2);
            lua_pushvalue(L, list + 3);
            lua_callk(L, 3, 1, HANDLER_CTX(list, i), k);
        } else {
            lua_rawgeti(L, list, i);
            check_callable_at(L, 81, "field '?'");
            lua_pushvalue(L, list + 3);
            lua_callk(L, 1, 1, HANDLER_CTX(list, i), k);
        }
        if (handler_stopped(L, list))
            return 1;
    }
    lua_settop(L, list - 1);
    return 0;
}

/* util.events' _fire_event: call the handlers in order with 'data' as
 * only argument, on a snapshot of the handler list (R-EV-5). The first
 * non-nil return value, false included, stops the dispatch (R-EV-3) and
 * is pushed: returns 1. Returns 0 (and pushes nothing) when no handler
 * returned a value. Handler errors propagate (R-EV-6). With 'k', a
 * handler may yield, as it may in Prosody (R-HOSTILE-7): see fire_k. */
static int run_handlers(lua_State *L, int events, int name, int data,
                        lua_KFunction k)
{
    int list;

    if (push_entry(L, events, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    push_sorted(L, lua_gettop(L));
    lua_remove(L, -2);
    list = lua_gettop(L);
    push_uv(L, events, UV_DEBUG_HOOK);                /* list+1 */
    lua_pushvalue(L, name);                           /* list+2 */
    lua_pushvalue(L, data);                           /* list+3 */
    return handlers_from(L, list, 1, k);
}

/* The first global wrapper of every events object: where the observer
 * hears of a dispatch (never called, recognised by identity). */
static int report_sentinel(lua_State *L)
{
    (void)L;
    return 0;
}

/* Tell the observer that event 'name' with 'data' reaches the handlers. */
static void report(lua_State *L, int events, int name, int data)
{
    struct ml_events *ev = lua_touserdata(L, events);
    struct ml *ml = ev->ml;

    if (ev->observed && ml->observer.event)
        ml->observer.event(ml->observer.ud, L, ev->name, name, data);
}

static int wrapper_next(lua_State *L);

/* Upvalues of the continuation that wrappers receive as their first
 * argument: the events object (its table), the wrapper array being
 * walked (false: the implicit global array that holds only the report
 * sentinel), the position in it, and the continuation itself. Module
 * code can replace each of them (debug.setupvalue): next_state checks
 * them at every step. */
enum { NEXT_EVENTS = 1, NEXT_ARRAY, NEXT_POS, NEXT_SELF };

/* Push the core of the continuation at 'next', then its wrapper array,
 * and return its position; raises when an upvalue holds what no
 * dispatch would have put there. */
static lua_Integer next_state(lua_State *L, int next)
{
    lua_Integer pos;
    bool pushed;
    int isnum;

    lua_getupvalue(L, next, NEXT_EVENTS);
    if (!to_core(L, lua_gettop(L), &pushed))
        luaL_error(L, "bad upvalue 'events' (events object expected, got %s)",
                   luaL_typename(L, -1));
    if (pushed)
        lua_remove(L, -2);
    lua_getupvalue(L, next, NEXT_ARRAY);
    if (!lua_istable(L, -1) && !(lua_isboolean(L, -1) && !lua_toboolean(L, -1)))
        luaL_error(L, "bad upvalue 'array' (table or false expected, got %s)",
                   luaL_typename(L, -1));
    lua_getupvalue(L, next, NEXT_POS);
    pos = lua_tointegerx(L, -1, &isnum);
    if (!isnum || pos < 0 || (lua_isboolean(L, -2) && pos > 1))
        luaL_error(L, "bad upvalue 'pos'");
    lua_pop(L, 1);
    return pos;
}

/* Call the wrapper at the continuation's current position, or the
 * handlers once every wrapper has been passed, following util.events'
 * fire_event and its 'c' function. 'next' is the continuation; 'line' is
 * the line of events.lua making the call (108 in fire_event, 105 in 'c'),
 * for errors. Returns the number of results pushed. */
static int wrapper_step(lua_State *L, int next, int name, int data, int line)
{
    int top = lua_gettop(L), events, n;
    lua_Integer pos;

    events = top + 1;
    for (;;) {
        lua_settop(L, top);
        pos = next_state(L, next);                  /* events, events+1 */
        if (pos == 0) {
            push_uv(L, events, UV_GLOBAL_WRAPPERS);     /* events+2 */
            if (lua_isboolean(L, events + 1) ||
                lua_rawequal(L, events + 1, events + 2)) {
                lua_settop(L, events);
                n = run_handlers(L, events, name, data, NULL);
                lua_rotate(L, top + 1, n);
                lua_settop(L, top + n);
                return n;
            }
            if (lua_istable(L, events + 2)) {
                pos = (lua_Integer)lua_rawlen(L, events + 2);
            } else {
                lua_pushboolean(L, 0);
                lua_replace(L, events + 2);
                pos = 1;
            }
            lua_pushvalue(L, events + 2);
            lua_setupvalue(L, next, NEXT_ARRAY);
            lua_pushinteger(L, pos);
            lua_setupvalue(L, next, NEXT_POS);
            lua_replace(L, events + 1);
            line = 103;
        }
        if (lua_istable(L, events + 1))
            lua_geti(L, events + 1, pos);
        else
            lua_pushcfunction(L, report_sentinel);
        if (lua_tocfunction(L, -1) == report_sentinel) {
            /* The report wrapper: report, then go on inwards. */
            report(L, events, name, data);
            lua_pushinteger(L, pos - 1);
            lua_setupvalue(L, next, NEXT_POS);
            line = 105;
            continue;
        }
        check_callable_at(L, line, "field '?'");
        lua_pushvalue(L, next);
        lua_pushvalue(L, name);
        lua_pushvalue(L, data);
        lua_call(L, 3, LUA_MULTRET);
        n = lua_gettop(L) - (events + 1);
        lua_rotate(L, top + 1, n);
        lua_settop(L, top + n);
        return n;
    }
}

/* The continuation 'c' passed to wrappers: c(name, data) moves one
 * wrapper inwards. */
static int wrapper_next(lua_State *L)
{
    lua_Integer pos = lua_tointeger(L, lua_upvalueindex(NEXT_POS));

    lua_settop(L, 2);
    lua_pushinteger(L, pos - 1);
    lua_replace(L, lua_upvalueindex(NEXT_POS));
    if (lua_tocfunction(L, lua_upvalueindex(NEXT_SELF)) != wrapper_next)
        luaL_error(L, "bad upvalue 'self' (continuation expected, got %s)",
                   luaL_typename(L, lua_upvalueindex(NEXT_SELF)));
    lua_pushvalue(L, lua_upvalueindex(NEXT_SELF));
    return wrapper_step(L, 3, 1, 2, 105);
}

/*
 * fire_event(name, data): run the event through the wrappers, if any, to
 * the handlers, telling the observer when it reaches them. Pushes what
 * the dispatch returned (the outermost wrapper's results, or the value
 * that stopped the handlers) and returns how many values that is. With
 * 'k', handlers that no wrapper runs may yield (fire_k).
 */
static int core_fire(lua_State *L, int events, int name, int data,
                     lua_KFunction k)
{
    int top = lua_gettop(L), array, n;

    push_uv(L, events, UV_WRAPPERS);
    lua_pushvalue(L, name);
    lua_rawget(L, -2);
    push_uv(L, events, UV_GLOBAL_WRAPPERS);
    if (lua_isnil(L, -1) && lua_isnil(L, -2)) {
        lua_settop(L, top);
        report(L, events, name, data);
        return run_handlers(L, events, name, data, k);
    }
    array = lua_isnil(L, top + 2) ? top + 3 : top + 2;
    push_uv(L, events, UV_OBJECT);
    if (lua_istable(L, array))
        lua_pushvalue(L, array);
    else
        lua_pushboolean(L, 0);
    lua_pushinteger(L, lua_istable(L, array) ? (lua_Integer)lua_rawlen(L, array)
                                             : 1);
    lua_pushnil(L);
    lua_pushcclosure(L, wrapper_next, 4);               /* top+4 */
    lua_pushvalue(L, -1);
    lua_setupvalue(L, top + 4, NEXT_SELF);
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    n = wrapper_step(L, top + 1, name, data, 108);
    lua_remove(L, top + 1);
    return n;
}

/* Push the wrapper array for 'name' (false: the global array, created
 * with its report sentinel when 'create'), or nil. */
static void push_wrapper_array(lua_State *L, int events, int name,
                               bool create)
{
    if (lua_isboolean(L, name) && !lua_toboolean(L, name)) {
        if (push_uv(L, events, UV_GLOBAL_WRAPPERS) == LUA_TNIL &&
            create) {
            lua_pop(L, 1);
            lua_createtable(L, 2, 0);
            lua_pushcfunction(L, report_sentinel);
            lua_rawseti(L, -2, 1);
            lua_pushvalue(L, -1);
            lua_setiuservalue(L, events, UV_GLOBAL_WRAPPERS);
        }
        return;
    }
    push_uv(L, events, UV_WRAPPERS);
    lua_pushvalue(L, name);
    lua_rawget(L, -2);
    check_internal(L, -1, true);
    if (lua_isnil(L, -1) && create) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, name);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
}

/* add_wrapper(name, wrapper): a per-event wrapper, or a global one for
 * name false. */
static void add_wrapper(lua_State *L, int events, int name, int wrapper)
{
    /* wrappers[event_name] = {} at events.lua:124 */
    if (!(lua_isboolean(L, name) && !lua_toboolean(L, name)) &&
        key_error(L, name))
        ml_raise_at(L, ML_SRC_EVENTS, 124, "%s", key_error(L, name));
    push_wrapper_array(L, events, name, true);
    lua_pushvalue(L, wrapper);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
}

/* remove_wrapper(name, wrapper): remove every occurrence; an emptied
 * per-event array is dropped. */
static void remove_wrapper(lua_State *L, int events, int name, int wrapper)
{
    lua_Integer i, j, n;
    int array;

    push_wrapper_array(L, events, name, false);
    array = lua_gettop(L);
    if (!lua_istable(L, array)) {
        lua_pop(L, 1);
        return;
    }
    for (i = (lua_Integer)lua_rawlen(L, array); i >= 1; i--) {
        bool equal;

        lua_rawgeti(L, array, i);
        equal = lua_compare(L, -1, wrapper, LUA_OPEQ);
        lua_pop(L, 1);
        if (!equal)
            continue;
        n = (lua_Integer)lua_rawlen(L, array);
        for (j = i; j < n; j++) {
            lua_rawgeti(L, array, j + 1);
            lua_rawseti(L, array, j);
        }
        lua_pushnil(L);
        lua_rawseti(L, array, n);
    }
    if (lua_rawlen(L, array) == 0 && !lua_isboolean(L, name)) {
        push_uv(L, events, UV_WRAPPERS);
        lua_pushvalue(L, name);
        lua_pushnil(L);
        lua_rawset(L, -3);
    }
    lua_settop(L, array - 1);
}

/* add_handler(name, handler, priority) on the events object at 'events'
 * (a table or a core); 'prio' may be 0. */
void ml_events_add(lua_State *L, int events, int name, int handler, int prio)
{
    bool pushed;
    int core = check_core(L, events, &pushed);

    core_add(L, core, name, handler, prio);
    if (pushed)
        lua_pop(L, 1);
}

/* remove_handler(name, handler) on the events object at 'events'. */
void ml_events_remove(lua_State *L, int events, int name, int handler)
{
    bool pushed;
    int core = check_core(L, events, &pushed);

    core_remove(L, core, name, handler);
    if (pushed)
        lua_pop(L, 1);
}

/*
 * fire_event(name, data) on the events object at 'events': run the event
 * through the wrappers, if any, to the handlers, telling the observer
 * when it reaches them. Pushes what the dispatch returned (the outermost
 * wrapper's results, or the value that stopped the handlers) and returns
 * how many values that is.
 */
int ml_events_fire(lua_State *L, int events, int name, int data)
{
    return ml_events_fire_k(L, events, name, data, NULL);
}

/*
 * fire_event for the core at 'core', the top of the stack, which is
 * removed at the end. With 'k' (the continuation of the Lua-called C
 * function that fires), a handler that yields inside a coroutine
 * suspends the dispatch, as Prosody's util.events (plain Lua) allows
 * (R-HOSTILE-7): Lua then calls k, which returns fire_resume's values.
 */
static int fire_k(lua_State *L, int core, int name, int data,
                  lua_KFunction k)
{
    int n = core_fire(L, core, name, data, k);

    lua_remove(L, core);
    return n;
}

/* The rest of fire_k after a handler yielded and returned: 'ctx' is the
 * continuation's context, 'k' the continuation again. */
static int fire_resume(lua_State *L, lua_KContext ctx, lua_KFunction k)
{
    int list = (int)(ctx & 0xffff), n;

    n = handler_stopped(L, list) ? 1
                                 : handlers_from(L, list, (ctx >> 16) + 1, k);
    lua_remove(L, list - 1);
    return n;
}

/* ml_events_fire, yieldable with the continuation 'k' of the calling C
 * function (fire_k); the continuation returns ml_events_fire_end. */
int ml_events_fire_k(lua_State *L, int events, int name, int data,
                     lua_KFunction k)
{
    bool pushed;
    int core = check_core(L, events, &pushed);

    if (!pushed) {
        lua_pushvalue(L, core);
        core = lua_gettop(L);
    }
    return fire_k(L, core, name, data, k);
}

/* What a continuation of ml_events_fire_k returns, given what Lua passed
 * it (a handler's error never gets here: it propagates). */
int ml_events_fire_end(lua_State *L, lua_KContext ctx, lua_KFunction k)
{
    return fire_resume(L, ctx, k);
}

/*
 * object.add_handler(name, handler, priority) for any events-like object
 * (moduleapi's hook_object_event): through the object's add_handler
 * field, as Prosody calls it, for every table, events objects included,
 * since module code may have replaced that field (R-EV-15.6); directly
 * only for a core, which Lua code never holds. 'prio' may be 0. Leaves
 * what the call returned on the stack and returns how many (R-EV-15.3:
 * none for an events object's own add_handler).
 */
int ml_object_add_handler(lua_State *L, int object, int name, int handler,
                          int prio, int nresults)
{
    int top = lua_gettop(L);

    if (luaL_testudata(L, object, EVENTS_MT)) {
        ml_events_add(L, object, name, handler, prio);
        return 0;                   /* util.events' add_handler returns nothing */
    }
    lua_getfield(L, object, "add_handler");
    lua_pushvalue(L, name);
    lua_pushvalue(L, handler);
    if (prio)
        lua_pushvalue(L, prio);
    else
        lua_pushnil(L);
    lua_call(L, 3, nresults);
    return lua_gettop(L) - top;
}

/* object.remove_handler(name, handler), as ml_object_add_handler. */
int ml_object_remove_handler(lua_State *L, int object, int name, int handler,
                             int nresults)
{
    int top = lua_gettop(L);

    if (luaL_testudata(L, object, EVENTS_MT)) {
        ml_events_remove(L, object, name, handler);
        return 0;
    }
    lua_getfield(L, object, "remove_handler");
    lua_pushvalue(L, name);
    lua_pushvalue(L, handler);
    lua_call(L, 2, nresults);
    return lua_gettop(L) - top;
}

/* Push the core of the events object that the running function is bound
 * to (its upvalue 1, the object's table) and return its index; raises
 * when module code replaced that upvalue with anything else. */
static int bound_core(lua_State *L)
{
    bool pushed;

    if (!to_core(L, lua_upvalueindex(1), &pushed))
        luaL_error(L, "bad upvalue 'events' (events object expected, got %s)",
                   luaL_typename(L, lua_upvalueindex(1)));
    if (!pushed)
        lua_pushvalue(L, lua_upvalueindex(1));
    return lua_gettop(L);
}

/* events.add_handler(name, handler, priority), bound to its object, as
 * are the functions below. */
static int lua_add_handler(lua_State *L)
{
    lua_settop(L, 3);
    core_add(L, bound_core(L), 1, 2, 3);
    return 0;
}

/* events.remove_handler(name, handler) */
static int lua_remove_handler(lua_State *L)
{
    lua_settop(L, 2);
    core_remove(L, bound_core(L), 1, 2);
    return 0;
}

static int lua_fire_event_k(lua_State *L, int status, lua_KContext ctx);

/* events.fire_event(name, data) */
static int lua_fire_event(lua_State *L)
{
    lua_settop(L, 2);
    return fire_k(L, bound_core(L), 1, 2, lua_fire_event_k);
}

/* The rest of lua_fire_event after a handler yielded and returned. */
static int lua_fire_event_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    return fire_resume(L, ctx, lua_fire_event_k);
}

/* events.add_wrapper(name, wrapper), also wrappers.add_handler (whose
 * priority argument is ignored) */
static int lua_add_wrapper(lua_State *L)
{
    lua_settop(L, 2);
    add_wrapper(L, bound_core(L), 1, 2);
    return 0;
}

/* events.remove_wrapper(name, wrapper), also wrappers.remove_handler */
static int lua_remove_wrapper(lua_State *L)
{
    lua_settop(L, 2);
    remove_wrapper(L, bound_core(L), 1, 2);
    return 0;
}

/* events.get_handlers(name): the sorted handler array, nil when the event
 * has no handler. */
static int lua_get_handlers(lua_State *L)
{
    lua_settop(L, 1);
    if (push_entry(L, bound_core(L), 1) == LUA_TNIL)
        return 1;
    push_sorted(L, 3);
    return 1;
}

/* events.set_debug_hook(hook): from now on each handler is called as
 * hook(handler, name, data); returns the previous hook. */
static int lua_set_debug_hook(lua_State *L)
{
    lua_settop(L, 1);
    bound_core(L);                                  /* 2 */
    push_uv(L, 2, UV_DEBUG_HOOK);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, 2, UV_DEBUG_HOOK);
    return 1;
}

/* events.add_handlers(t) and remove_handlers(t): each event -> handler
 * pair of pairs(t) (__pairs included), priority 0; a t that pairs()
 * cannot walk raises as events.lua:68 and :73 do (R-HOSTILE-5). */
static int each_handler(lua_State *L, bool add)
{
    int core;

    lua_settop(L, 1);
    core = bound_core(L);                           /* 2 */
    ml_pairs(L, 1, ML_SRC_EVENTS, add ? 68 : 73);   /* 3, 4, 5 */
    while (ml_pairs_next(L, 3)) {                   /* 6, 7 */
        if (add)
            core_add(L, core, 6, 7, 0);
        else
            core_remove(L, core, 6, 7);
        lua_settop(L, 5);
    }
    return 0;
}

static int lua_add_handlers(lua_State *L)
{
    return each_handler(L, true);
}

static int lua_remove_handlers(lua_State *L)
{
    return each_handler(L, false);
}

/* Set field 'name' of the table on top to 'fn' bound to the events
 * object (the table) at 'object'. */
static void set_bound(lua_State *L, int object, const char *name,
                      lua_CFunction fn)
{
    lua_pushvalue(L, object);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, -2, name);
}

/* Push the table Lua code sees for the core at 'core', util.events'
 * object: its functions, and 'wrappers', the same table every time, so
 * that hooks on it are tracked and removed at unload (wrap_event). The
 * table is registered as the core's in the weak-keyed registry table. */
static void push_object(lua_State *L, int core)
{
    static const luaL_Reg fields[] = {
        { "add_handler", lua_add_handler },
        { "remove_handler", lua_remove_handler },
        { "add_handlers", lua_add_handlers },
        { "remove_handlers", lua_remove_handlers },
        { "get_handlers", lua_get_handlers },
        { "add_wrapper", lua_add_wrapper },
        { "remove_wrapper", lua_remove_wrapper },
        { "fire_event", lua_fire_event },
        { "set_debug_hook", lua_set_debug_hook },
        { NULL, NULL }
    };
    const luaL_Reg *f;
    int object;

    lua_createtable(L, 0, 9);
    object = lua_gettop(L);
    for (f = fields; f->name; f++)
        set_bound(L, object, f->name, f->func);
    lua_createtable(L, 0, 2);
    set_bound(L, object, "add_handler", lua_add_wrapper);
    set_bound(L, object, "remove_handler", lua_remove_wrapper);
    lua_setfield(L, -2, "wrappers");
    ml_push_weak_keyed(L, CORES_KEY);
    lua_pushvalue(L, object);
    lua_pushvalue(L, core);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_pushvalue(L, object);
    lua_setiuservalue(L, core, UV_OBJECT);
}

/* util.events.new(): a new events object, unobserved. */
static int lua_events_new(lua_State *L)
{
    ml_events_new(L, ml_self(L), NULL, 0);
    return 1;
}

/* The loader of require "util.events": the module table { new }, for
 * objects whose hooks modules track (R-EV-15). */
int ml_open_util_events(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, lua_events_new);
    lua_setfield(L, -2, "new");
    return 1;
}
