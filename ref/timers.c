/*
 * timers.c - the server's start and its clock (PROTOCOL.md §9): `start`,
 * `advance`, the timers of module:add_timer, and, for Prosody 13.0.1,
 * prosody.started, module:on_ready, module:once and the ready callbacks
 * (spec/rules/13-start-timers.md).
 *
 * Prosody's timers are net.server_epoll's heap, run by runtimers() from
 * the main loop; the clock is the driver's, moved only by `advance`. The
 * reference keeps its timers in a Lua table (id -> { fn, due, seq }) and
 * runs the earliest due one, ties in the order they were (re)armed: one
 * of the orders R-TIMER-2 leaves open.
 */
#include <stdio.h>
#include <string.h>

#include "modlife-int.h"

/* What util.time.now reads at clock 0 (PROTOCOL.md §9: unspecified; the
 * Prosody driver uses the same). */
#define WALL_EPOCH 1000000000.0
/* Timers run in one advance before it gives up (PROTOCOL.md §9): a timer
 * that re-arms itself at +0 forever. */
#define MAX_TIMER_RUNS 10000
#define ML_STR2(x) #x
#define ML_STR(x) ML_STR2(x)

/* Arm 'fn' (stack index) to run 'delay' seconds from now, as timer 'id'
 * (0: a new one). Returns the id. */
static lua_Integer arm(lua_State *L, struct ml *ml, int fn, double delay,
                       lua_Integer id)
{
    fn = lua_absindex(L, fn);
    if (!id)
        id = ++ml->timer_seq;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_timers);
    lua_createtable(L, 1, 2);
    lua_pushvalue(L, fn);
    lua_rawseti(L, -2, 1);
    lua_pushnumber(L, ml->clock + delay);
    lua_setfield(L, -2, "due");
    lua_pushinteger(L, ++ml->timer_seq);
    lua_setfield(L, -2, "seq");
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
    return id;
}

/* util.timer.add_task(delay, fn): the id of the new timer. */
lua_Integer ml_timer_add(lua_State *L, struct ml *ml, int fn, double delay)
{
    return arm(L, ml, fn, delay, 0);
}

/* util.timer.stop(id): a pending timer never runs (R-TIMER-4). */
void ml_timer_stop(lua_State *L, struct ml *ml, lua_Integer id)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_timers);
    lua_pushnil(L);
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
}

/* util.timer.reschedule(id, delay): due 'delay' seconds after the current
 * time (R-TIMER-4); a timer that is no longer pending stays gone. */
void ml_timer_reschedule(lua_State *L, struct ml *ml, lua_Integer id,
                         double delay)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_timers);
    if (lua_rawgeti(L, -1, id) == LUA_TTABLE) {
        lua_pushnumber(L, ml->clock + delay);
        lua_setfield(L, -2, "due");
    }
    lua_pop(L, 2);
}

/*
 * The id of the pending timer due first (ties: the one armed first) whose
 * due time is at most 'target', or 0 when there is none.
 */
static lua_Integer next_due(lua_State *L, struct ml *ml, double target)
{
    lua_Integer best = 0, best_seq = 0;
    double best_due = 0;
    int timers;

    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_timers);
    timers = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, timers)) {
        double due;
        lua_Integer seq;

        lua_getfield(L, -1, "due");
        due = lua_tonumber(L, -1);
        lua_getfield(L, -2, "seq");
        seq = lua_tointeger(L, -1);
        lua_pop(L, 3);
        if (due <= target &&
            (!best || due < best_due || (due == best_due && seq < best_seq))) {
            best = lua_tointeger(L, -1);
            best_due = due;
            best_seq = seq;
        }
    }
    lua_pop(L, 1);
    return best;
}

/*
 * Run every timer due by clock + seconds, in order of due time, the clock
 * set to each due time before its timer runs (R-TIMER-1, R-TIMER-2); then
 * the clock is clock + seconds. A callback's error is caught, as
 * net.server's runtimers() catches it, and logged on no module's logger
 * (R-TIMER-5); a number it returns re-arms it (R-TIMER-3). Returns false
 * after MAX_TIMER_RUNS runs with timers still due.
 */
static bool run_timers(lua_State *L, struct ml *ml, double seconds)
{
    double target = ml->clock + seconds;
    int runs, top = lua_gettop(L);

    for (runs = 0; runs < MAX_TIMER_RUNS; runs++) {
        lua_Integer id = next_due(L, ml, target);
        int record;

        if (!id) {
            ml->clock = target;
            return true;
        }
        lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_timers);
        lua_rawgeti(L, -1, id);
        record = lua_gettop(L);
        lua_getfield(L, record, "due");
        if (lua_tonumber(L, -1) > ml->clock)
            ml->clock = lua_tonumber(L, -1);
        lua_pop(L, 1);
        lua_pushnil(L);
        lua_rawseti(L, record - 1, id);     /* no longer pending */
        lua_rawgeti(L, record, 1);
        lua_pushnumber(L, WALL_EPOCH + ml->clock);
        if (ml_pcall_traceback(L, 1, 1) != LUA_OK) {
            fprintf(stderr, "modlife-ref: Error in timer: %s\n",
                    lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1)
                                                   : "(not a string)");
        } else if (lua_type(L, -1) == LUA_TNUMBER) {
            double again = lua_tonumber(L, -1);

            lua_rawgeti(L, record, 1);
            arm(L, ml, -1, again, id);
        }
        lua_settop(L, top);
    }
    return false;
}

/* ---- module:add_timer's callback and timer object (moduleapi) ---- */

/* moduleapi's timer_callback(now, id, t): nothing once the module's api
 * has loaded == false (R-TIMER-6), else callback(now, unpack(t, 1, t.n)).
 * Upvalue 1: the timer object t. */
static int module_timer(lua_State *L)
{
    int t = lua_upvalueindex(1), n, i;

    lua_settop(L, 1);
    lua_getfield(L, t, "module_env");
    lua_getfield(L, -1, "loaded");
    if (lua_isboolean(L, -1) && !lua_toboolean(L, -1))
        return 0;
    lua_settop(L, 1);
    lua_getfield(L, t, "n");
    n = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    ml_checkstack(L, n + 2);
    lua_getfield(L, t, "callback");
    lua_pushvalue(L, 1);
    for (i = 1; i <= n; i++)
        lua_rawgeti(L, t, i);
    lua_call(L, n + 1, 1);
    return 1;
}

/* Arm the timer object at 'timer' (a table with module_env, callback, n
 * and the extra arguments) 'delay' seconds from now; sets its id. */
void ml_timer_add_module(lua_State *L, struct ml *ml, int timer, double delay)
{
    timer = lua_absindex(L, timer);
    lua_pushvalue(L, timer);
    lua_pushcclosure(L, module_timer, 1);
    lua_pushinteger(L, ml_timer_add(L, ml, -1, delay));
    lua_setfield(L, timer, "id");
    lua_pop(L, 1);
}

/* ---- 13.0.1: prosody.started, on_ready, once, module.ready ---- */

/* A new promise in state 'state' (util.promise's _state). */
static void push_promise(lua_State *L, const char *state)
{
    lua_createtable(L, 0, 1);
    lua_pushstring(L, state);
    lua_setfield(L, -2, "_state");
    luaL_setmetatable(L, "modlife.promise");
}

/* tostring(promise): "promise (pending)", as util.promise writes it. */
static int promise_tostring(lua_State *L)
{
    lua_getfield(L, 1, "_state");
    lua_pushfstring(L, "promise (%s)", lua_isstring(L, -1)
                                           ? lua_tostring(L, -1) : "invalid");
    return 1;
}

/* A ready callback's run: f(nil), then the promise next() returned is
 * fulfilled, or rejected with an error that nobody reads (R-READY-4).
 * Upvalues: f, that promise. */
static int ready_timer(lua_State *L)
{
    int status;

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushnil(L);
    status = ml_pcall_traceback(L, 1, 0);
    lua_pushstring(L, status == LUA_OK ? "fulfilled" : "rejected");
    lua_setfield(L, lua_upvalueindex(2), "_state");
    return 0;
}

/* prosody.started:next(f) for the function at 'f' and the promise at
 * 'promise' that next() returns: before start, kept for the start's
 * first pass over the timers; after it, a timer at +0 (R-READY-2: each
 * next() is a promise whose executor is a timer). */
static void schedule(lua_State *L, struct ml *ml, int f, int promise)
{
    f = lua_absindex(L, f);
    promise = lua_absindex(L, promise);
    lua_pushvalue(L, f);
    lua_pushvalue(L, promise);
    lua_pushcclosure(L, ready_timer, 2);
    if (ml->started) {
        ml_timer_add(L, ml, -1, 0);
        lua_pop(L, 1);
        return;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_ready);
    lua_insert(L, -2);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    lua_pop(L, 1);
}

/* promise:next(f): f as a ready callback; returns another promise,
 * pending until f has run. Only what R-START-3 and R-READY-5 need: the
 * values that chained promises pass on, and catch()'s handler, are not
 * modelled (a callback given to a chained promise runs as a ready
 * callback too). */
static int promise_next(lua_State *L)
{
    struct ml *ml = lua_touserdata(L, lua_upvalueindex(1));

    push_promise(L, "pending");
    if (lua_type(L, 2) == LUA_TFUNCTION)
        schedule(L, ml, 2, -1);
    return 1;
}

/* promise:catch(f): a promise that stays pending; f never runs. */
static int promise_catch(lua_State *L)
{
    push_promise(L, "pending");
    return 1;
}

/* module:on_ready(f): prosody.started:next(f) (R-READY-5). */
static int api_on_ready(lua_State *L)
{
    lua_settop(L, 2);
    lua_getglobal(L, "prosody");
    lua_getfield(L, -1, "started");
    lua_getfield(L, -1, "next");
    lua_insert(L, -2);
    lua_pushvalue(L, 2);
    lua_call(L, 2, 1);
    return 1;
}

/* module:once(f): a deprecation warning on the module's logger, then
 * self:on_ready(f) (R-READY-5). */
static int api_once(lua_State *L)
{
    lua_settop(L, 2);
    lua_pushliteral(L, "warn");
    lua_pushliteral(L, "This module uses deprecated module:once() - switch "
                       "to module:on_ready() or (better) expose function "
                       "module.ready()");
    ml_method_call(L, 1, "log", 2, 0);
    lua_pushvalue(L, 2);
    ml_method_call(L, 1, "on_ready", 1, 1);
    return 1;
}

/*
 * modulemanager, after a body that ran without error (R-READY-1): in
 * 13.0.1, module:on_ready(module.ready) when the env at 'env' has a ready
 * function. 0.12.3 has no such step.
 */
void ml_ready_after_load(lua_State *L, struct ml *ml, int env)
{
    if (!ml->release13 || !ml_module_has_method(L, env, "ready"))
        return;
    env = lua_absindex(L, env);
    lua_getfield(L, env, "module");
    lua_getfield(L, -1, "ready");
    ml_method_call(L, lua_gettop(L) - 1, "on_ready", 1, 0);
    lua_pop(L, 1);
}

/*
 * The timer and start-up state of a new instance, in init_entry: the
 * timer table, and for 13.0.1 the ready list, prosody.started (the table
 * at 'prosody') and the on_ready and once api methods.
 */
void ml_timers_init(lua_State *L, struct ml *ml, int prosody)
{
    static const luaL_Reg promise_methods[] = {
        { "next", promise_next },
        { "catch", promise_catch },
        { NULL, NULL },
    };

    prosody = lua_absindex(L, prosody);
    lua_newtable(L);
    ml->ref_timers = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_newtable(L);
    ml->ref_ready = luaL_ref(L, LUA_REGISTRYINDEX);
    if (!ml->release13)
        return;                     /* R-START-3: no prosody.started */
    luaL_newmetatable(L, "modlife.promise");
    lua_pushliteral(L, "promise");
    lua_setfield(L, -2, "__name");
    lua_pushcfunction(L, promise_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_newtable(L);
    lua_pushlightuserdata(L, ml);
    luaL_setfuncs(L, promise_methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    push_promise(L, "pending");
    lua_setfield(L, prosody, "started");
    lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_methods);
    lua_pushcfunction(L, api_on_ready);
    lua_setfield(L, -2, "on_ready");
    lua_pushcfunction(L, api_once);
    lua_setfield(L, -2, "once");
    lua_pop(L, 1);
}

/* ---- the entry points (modlife.h) ---- */

enum timers_op { OP_START, OP_ADVANCE };

struct timers_op_args {
    struct ml *ml;
    enum timers_op kind;
    double seconds;
};

/*
 * Protected body of ml_start and ml_advance. start (R-START-1, R-START-2):
 * server-started on the global events, then, in 13.0.1, the ready
 * callbacks kept so far become timers at +0, and last the pass over the
 * timers due now. Returns whether the timers ran out before the limit.
 */
static int timers_entry(lua_State *L)
{
    struct timers_op_args *a = lua_touserdata(L, 1);
    struct ml *ml = a->ml;

    if (a->kind == OP_START) {
        lua_Integer i, n;

        ml->started = true;
        lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_global_events);
        lua_pushliteral(L, "server-started");
        lua_pushnil(L);
        ml_events_fire(L, 2, 3, 4);
        lua_settop(L, 1);
        lua_rawgeti(L, LUA_REGISTRYINDEX, ml->ref_ready);  /* 2 */
        n = (lua_Integer)luaL_len(L, 2);
        for (i = 1; i <= n; i++) {
            lua_rawgeti(L, 2, i);
            ml_timer_add(L, ml, -1, 0);
            lua_pop(L, 1);
        }
        lua_newtable(L);
        lua_rawseti(L, LUA_REGISTRYINDEX, ml->ref_ready);
        if (ml->release13) {
            /* R-START-3: resolved, the server being running */
            lua_getglobal(L, "prosody");
            lua_getfield(L, -1, "started");
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_pushliteral(L, "fulfilled");
                lua_setfield(L, -2, "_state");
            }
            lua_settop(L, 2);
        }
    }
    lua_pushboolean(L, run_timers(L, ml, a->seconds));
    return 1;
}

/* Runs the operation; ML_EINVAL with *why set when the timers did not
 * run out (nothing is left on the stack then). */
static int timers_op(struct ml *ml, enum timers_op kind, double seconds,
                     const char **why)
{
    struct timers_op_args a = { ml, kind, seconds };
    lua_State *L = ml->L;
    int done;

    lua_pushcfunction(L, timers_entry);
    lua_pushlightuserdata(L, &a);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        return ML_ERAISE;
    done = lua_toboolean(L, -1);
    lua_pop(L, 1);
    if (!done) {
        *why = "timers still due after " ML_STR(MAX_TIMER_RUNS) " runs";
        return ML_EINVAL;
    }
    return ML_OK;
}

int ml_start(struct ml *ml, const char **why)
{
    if (ml->started) {
        *why = "already started";
        return ML_EINVAL;
    }
    return timers_op(ml, OP_START, 0, why);
}

int ml_advance(struct ml *ml, double seconds, const char **why)
{
    if (!ml->started) {
        *why = "the server has not started (start first)";
        return ML_EINVAL;
    }
    return timers_op(ml, OP_ADVANCE, seconds, why);
}
