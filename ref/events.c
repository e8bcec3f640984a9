/*
 * events.c - util.events objects: prioritised handlers per event name.
 *
 * An events object is a userdata holding its owner's name (for the
 * driver's event lines) and one user value, a table mapping an event name
 * to an entry:
 *   entry[1]  handler -> priority       (what Prosody calls the event map)
 *   entry[2]  handler -> registration number, the tie-break
 *   entry[3]  the sorted handler array, built lazily, dropped on change
 * Handlers, priorities and the sorted arrays are Lua values, so a
 * dispatch can hold its snapshot on the Lua stack while handlers run and
 * raise.
 */
#include <string.h>

#include "modlife-int.h"

#define EVENTS_MT "modlife.events"

enum { ENTRY_PRIORITY = 1, ENTRY_SEQ = 2, ENTRY_SORTED = 3 };

struct ml_events {
    struct ml *ml;
    size_t len;
    char name[];            /* "*" or the host name, NUL-terminated */
};

/*
 * Push a new, empty events object that reports itself as 'name' (copied,
 * 'len' bytes). 'ml' must outlive it (the Lua state is closed first).
 */
void ml_events_new(lua_State *L, struct ml *ml, const char *name, size_t len)
{
    struct ml_events *events;

    events = lua_newuserdatauv(L, sizeof(*events) + len + 1, 1);
    events->ml = ml;
    events->len = len;
    memcpy(events->name, name, len);
    events->name[len] = '\0';
    lua_newtable(L);
    lua_setiuservalue(L, -2, 1);
    if (luaL_newmetatable(L, EVENTS_MT)) {
        lua_pushliteral(L, "events");
        lua_setfield(L, -2, "__name");
    }
    lua_setmetatable(L, -2);
}

/* Whether the value at 'idx' is an events object of ref/. */
bool ml_events_is(lua_State *L, int idx)
{
    return luaL_testudata(L, idx, EVENTS_MT) != NULL;
}

/* Push the entry of event 'name' of 'events', or nil. */
static int push_entry(lua_State *L, int events, int name)
{
    lua_getiuservalue(L, events, 1);
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
void ml_events_add(lua_State *L, int events, int name, int handler, int prio)
{
    struct ml_events *ev = lua_touserdata(L, events);

    if (push_entry(L, events, name) == LUA_TNIL) {
        lua_pop(L, 1);
        lua_createtable(L, 3, 0);
        lua_newtable(L);
        lua_rawseti(L, -2, ENTRY_PRIORITY);
        lua_newtable(L);
        lua_rawseti(L, -2, ENTRY_SEQ);
        lua_getiuservalue(L, events, 1);
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
void ml_events_remove(lua_State *L, int events, int name, int handler)
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
        lua_getiuservalue(L, events, 1);
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
    if (higher || lower)
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

/*
 * fire_event(name, data): report the event to the observer (this is the
 * point where Prosody's innermost global wrapper runs), then call the
 * handlers in order with 'data' as only argument, on a snapshot of the
 * handler list (R-EV-5). The first non-nil return value, false included,
 * stops the dispatch (R-EV-3) and is pushed: returns 1. Returns 0 (and
 * pushes nothing) when no handler returned a value. Handler errors
 * propagate (R-EV-6).
 */
int ml_events_fire(lua_State *L, int events, int name, int data)
{
    struct ml_events *ev = lua_touserdata(L, events);
    struct ml *ml = ev->ml;
    lua_Integer i, n;
    int list;

    if (ml->observer.event)
        ml->observer.event(ml->observer.ud, L, ev->name, name, data);
    if (push_entry(L, events, name) == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    push_sorted(L, lua_gettop(L));
    lua_remove(L, -2);
    list = lua_gettop(L);
    n = (lua_Integer)lua_rawlen(L, list);
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, list, i);
        if (!lua_isfunction(L, -1)) {
            if (luaL_getmetafield(L, -1, "__call") == LUA_TNIL)
                ml_raise_at(L, ML_SRC_EVENTS, 81, "attempt to call a %s "
                            "value (field '?')", luaL_typename(L, -1));
            lua_pop(L, 1);
        }
        lua_pushvalue(L, data);
        lua_call(L, 1, 1);
        if (!lua_isnil(L, -1)) {
            lua_remove(L, list);
            return 1;
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

/*
 * object.add_handler(name, handler, priority) for any events-like object
 * (moduleapi's hook_object_event): directly for events objects of ref/,
 * through the object's own add_handler field otherwise. 'prio' may be 0.
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
