/*
 * events.c - util.events objects: prioritised handlers per event name.
 *
 * What Lua code sees of an events object is, as in Prosody, a plain table
 * of functions (add_handler, remove_handler, add_handlers,
 * remove_handlers, get_handlers, fire_event, add_wrapper, remove_wrapper,
 * and 'wrappers', a table whose add_handler and remove_handler add and
 * remove wrappers). Those functions are closures over the object's core,
 * a userdata holding its owner's name (for the driver's event lines) and
 * four user values:
 *   1  event name -> entry, where
 *        entry[1]  handler -> priority     (what Prosody calls the event map)
 *        entry[2]  handler -> registration number, the tie-break
 *        entry[3]  the sorted handler array, built lazily, dropped on change
 *   2  event name -> array of per-event wrappers
 *   3  the array of global wrappers, or nil
 *   4  the debug hook (set_debug_hook), or nil
 * A weak-keyed registry table maps each table to its core, so that the
 * C side (ml_events_*) takes either. Handlers, priorities and the sorted
 * arrays are Lua values, so a dispatch can hold its snapshot on the Lua
 * stack while handlers run and raise.
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
       UV_COUNT = UV_DEBUG_HOOK };

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
    lua_setmetatable(L, -2);
    push_object(L, lua_gettop(L));
    lua_remove(L, -2);
}

/* The core of the events object at 'idx': 'idx' itself for a core, else
 * the core of the table, pushed (*pushed set); 0 when the value is not an
 * events object. */
static int to_core(lua_State *L, int idx, bool *pushed)
{
    *pushed = false;
    if (luaL_testudata(L, idx, EVENTS_MT))
        return idx;
    if (!lua_istable(L, idx))
        return 0;
    lua_getfield(L, LUA_REGISTRYINDEX, CORES_KEY);
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

/* Push the entry of event 'name' of 'events', or nil. */
static int push_entry(lua_State *L, int events, int name)
{
    lua_getiuservalue(L, events, UV_ENTRIES);
    lua_pushvalue(L, name);
    lua_rawget(L, -2);
    lua_remove(L, -2);
    return lua_type(L, -1);
}

/*
 * add_handler(name, handler, priority): register 'handler' for 'name'
 * with 'priority' (stack index, 0 for none; a nil or false priority means
 * 0). Registering the same function again replaces its priority and
 * keeps its place among equal priorities (R-EV-4). Raises "index is nil"
 * for a nil name or handler, as a Lua table would.
 */
static void core_add(lua_State *L, int events, int name, int handler,
                     int prio)
{
    struct ml_events *ev = lua_touserdata(L, events);

    if (push_entry(L, events, name) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_createtable(L, 3, 0);
        lua_newtable(L);
        lua_rawseti(L, -2, ENTRY_PRIORITY);
        lua_newtable(L);
        lua_rawseti(L, -2, ENTRY_SEQ);
        lua_getiuservalue(L, events, UV_ENTRIES);
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
        lua_getiuservalue(L, events, UV_ENTRIES);
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

/* util.events' _fire_event: call the handlers in order with 'data' as
 * only argument, on a snapshot of the handler list (R-EV-5). The first
 * non-nil return value, false included, stops the dispatch (R-EV-3) and
 * is pushed: returns 1. Returns 0 (and pushes nothing) when no handler
 * returned a value. Handler errors propagate (R-EV-6). */
static int run_handlers(lua_State *L, int events, int name, int data)
{
    lua_Integer i, n;
    int list;
    bool hook;

    if (push_entry(L, events, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    push_sorted(L, lua_gettop(L));
    lua_remove(L, -2);
    list = lua_gettop(L);
    lua_getiuservalue(L, events, UV_DEBUG_HOOK);        /* list+1 */
    hook = lua_toboolean(L, list + 1);
    n = (lua_Integer)lua_rawlen(L, list);
    for (i = 1; i <= n; i++) {
        if (hook) {
            /* With a debug hook: hook(handler, name, data). */
            lua_pushvalue(L, list + 1);
            check_callable_at(L, 86, "upvalue 'active_debug_hook'");
            lua_rawgeti(L, list, i);
            lua_pushvalue(L, name);
            lua_pushvalue(L, data);
            lua_call(L, 3, 1);
        } else {
            lua_rawgeti(L, list, i);
            check_callable_at(L, 81, "field '?'");
            lua_pushvalue(L, data);
            lua_call(L, 1, 1);
        }
        if (!lua_isnil(L, -1)) {
            lua_replace(L, list);
            lua_settop(L, list);
            return 1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 2);
    return 0;
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
 * argument: the events object, the wrapper array being walked (false:
 * the implicit global array that holds only the report sentinel), the
 * position in it, and the continuation itself. */
enum { NEXT_EVENTS = 1, NEXT_ARRAY, NEXT_POS, NEXT_SELF };

/* Call the wrapper at the continuation's current position, or the
 * handlers once every wrapper has been passed, following util.events'
 * fire_event and its 'c' function. 'next' is the continuation; 'line' is
 * the line of events.lua making the call (108 in fire_event, 105 in 'c'),
 * for errors. Returns the number of results pushed. */
static int wrapper_step(lua_State *L, int next, int name, int data, int line)
{
    int top = lua_gettop(L), events, n;
    lua_Integer pos;

    lua_getupvalue(L, next, NEXT_EVENTS);
    events = top + 1;
    for (;;) {
        lua_settop(L, events);
        lua_getupvalue(L, next, NEXT_ARRAY);            /* events+1 */
        lua_getupvalue(L, next, NEXT_POS);
        pos = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (pos == 0) {
            lua_getiuservalue(L, events, UV_GLOBAL_WRAPPERS);  /* events+2 */
            if (lua_isboolean(L, events + 1) ||
                lua_rawequal(L, events + 1, events + 2)) {
                lua_settop(L, events);
                n = run_handlers(L, events, name, data);
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
    lua_pushvalue(L, lua_upvalueindex(NEXT_SELF));
    return wrapper_step(L, 3, 1, 2, 105);
}

/*
 * fire_event(name, data): run the event through the wrappers, if any, to
 * the handlers, telling the observer when it reaches them. Pushes what
 * the dispatch returned (the outermost wrapper's results, or the value
 * that stopped the handlers) and returns how many values that is.
 */
static int core_fire(lua_State *L, int events, int name, int data)
{
    int top = lua_gettop(L), array, n;

    lua_getiuservalue(L, events, UV_WRAPPERS);
    lua_pushvalue(L, name);
    lua_rawget(L, -2);
    lua_getiuservalue(L, events, UV_GLOBAL_WRAPPERS);
    if (lua_isnil(L, -1) && lua_isnil(L, -2)) {
        lua_settop(L, top);
        report(L, events, name, data);
        return run_handlers(L, events, name, data);
    }
    array = lua_isnil(L, top + 2) ? top + 3 : top + 2;
    lua_pushvalue(L, events);
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
        if (lua_getiuservalue(L, events, UV_GLOBAL_WRAPPERS) == LUA_TNIL &&
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
    lua_getiuservalue(L, events, UV_WRAPPERS);
    lua_pushvalue(L, name);
    if (lua_rawget(L, -2) == LUA_TNIL && create) {
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
        lua_getiuservalue(L, events, UV_WRAPPERS);
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
    bool pushed;
    int core = check_core(L, events, &pushed);
    int n = core_fire(L, core, name, data);

    if (pushed)
        lua_remove(L, core);
    return n;
}

/*
 * object.add_handler(name, handler, priority) for any events-like object
 * (moduleapi's hook_object_event): directly for events objects of ref/,
 * through the object's own add_handler field otherwise (a wrappers
 * table, a module's own object). 'prio' may be 0.
 */
void ml_object_add_handler(lua_State *L, int object, int name, int handler,
                           int prio)
{
    if (ml_events_is(L, object)) {
        ml_events_add(L, object, name, handler, prio);
        return;
    }
    lua_getfield(L, object, "add_handler");
    lua_pushvalue(L, name);
    lua_pushvalue(L, handler);
    if (prio)
        lua_pushvalue(L, prio);
    else
        lua_pushnil(L);
    lua_call(L, 3, 0);
}

/* object.remove_handler(name, handler), as ml_object_add_handler. */
void ml_object_remove_handler(lua_State *L, int object, int name,
                              int handler)
{
    if (ml_events_is(L, object)) {
        ml_events_remove(L, object, name, handler);
        return;
    }
    lua_getfield(L, object, "remove_handler");
    lua_pushvalue(L, name);
    lua_pushvalue(L, handler);
    lua_call(L, 2, 0);
}

/* events.add_handler(name, handler, priority), bound to upvalue 1 (the
 * core), as are the functions below. */
static int lua_add_handler(lua_State *L)
{
    lua_settop(L, 3);
    core_add(L, lua_upvalueindex(1), 1, 2, 3);
    return 0;
}

/* events.remove_handler(name, handler) */
static int lua_remove_handler(lua_State *L)
{
    lua_settop(L, 2);
    core_remove(L, lua_upvalueindex(1), 1, 2);
    return 0;
}

/* events.fire_event(name, data) */
static int lua_fire_event(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    return core_fire(L, 3, 1, 2);
}

/* events.add_wrapper(name, wrapper), also wrappers.add_handler (whose
 * priority argument is ignored) */
static int lua_add_wrapper(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    add_wrapper(L, 3, 1, 2);
    return 0;
}

/* events.remove_wrapper(name, wrapper), also wrappers.remove_handler */
static int lua_remove_wrapper(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    remove_wrapper(L, 3, 1, 2);
    return 0;
}

/* events.get_handlers(name): the sorted handler array, nil when the event
 * has no handler. */
static int lua_get_handlers(lua_State *L)
{
    lua_settop(L, 1);
    if (push_entry(L, lua_upvalueindex(1), 1) == LUA_TNIL)
        return 1;
    push_sorted(L, 2);
    return 1;
}

/* events.set_debug_hook(hook): from now on each handler is called as
 * hook(handler, name, data); returns the previous hook. */
static int lua_set_debug_hook(lua_State *L)
{
    lua_settop(L, 1);
    lua_getiuservalue(L, lua_upvalueindex(1), UV_DEBUG_HOOK);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, lua_upvalueindex(1), UV_DEBUG_HOOK);
    return 1;
}

/* events.add_handlers(t) and remove_handlers(t): each event -> handler
 * pair of t, priority 0. */
static int each_handler(lua_State *L, bool add)
{
    lua_settop(L, 1);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
        if (add)
            core_add(L, lua_upvalueindex(1), 2, 3, 0);
        else
            core_remove(L, lua_upvalueindex(1), 2, 3);
        lua_pop(L, 1);
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

/* Set field 'name' of the table on top to 'fn' bound to the core at
 * 'core'. */
static void set_bound(lua_State *L, int core, const char *name,
                      lua_CFunction fn)
{
    lua_pushvalue(L, core);
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

    lua_createtable(L, 0, 9);
    for (f = fields; f->name; f++)
        set_bound(L, core, f->name, f->func);
    lua_createtable(L, 0, 2);
    set_bound(L, core, "add_handler", lua_add_wrapper);
    set_bound(L, core, "remove_handler", lua_remove_wrapper);
    lua_setfield(L, -2, "wrappers");
    if (lua_getfield(L, LUA_REGISTRYINDEX, CORES_KEY) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_createtable(L, 0, 1);
        lua_pushliteral(L, "k");
        lua_setfield(L, -2, "__mode");
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, CORES_KEY);
    }
    lua_pushvalue(L, -2);
    lua_pushvalue(L, core);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* util.events.new(): a new events object, unobserved. Upvalue: ml. */
static int lua_events_new(lua_State *L)
{
    ml_events_new(L, ml_self(L), NULL, 0);
    return 1;
}

/* The loader of require "util.events": the module table { new }, for
 * objects whose hooks modules track (R-EV-15). Upvalue: ml. */
int ml_open_util_events(lua_State *L)
{
    lua_createtable(L, 0, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, lua_events_new, 1);
    lua_setfield(L, -2, "new");
    return 1;
}
