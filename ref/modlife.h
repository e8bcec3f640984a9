/*
 * modlife.h - public interface of the modlife reference implementation.
 *
 * The library reproduces the module lifecycle of Prosody 0.12.3
 * (hostmanager, modulemanager, moduleapi, util.events) on top of an
 * embedded Lua 5.4 state. One 'struct ml' owns one Lua state, the host
 * registry, the module maps and the events objects.
 *
 * Calling convention of the operations: each one runs in protected mode
 * (one lua_pcall per call) and leaves its results on the stack of the
 * state returned by ml_lua(). It returns ML_OK when the operation
 * returned normally, or ML_ERAISE when a Lua error escaped it (an event
 * handler's error propagating out of a load, for example); the error
 * value is then the only value pushed. The caller pops what was pushed.
 */
#ifndef MODLIFE_H
#define MODLIFE_H

#include <stddef.h>

#include <lua.h>
#include <lauxlib.h>

/* Return codes: 0 or a negative ML_E* value. */
enum ml_status {
    ML_OK = 0,
    ML_ERAISE = -1,     /* a Lua error escaped; its value is on the stack */
    ML_ENOMEM = -2,     /* out of memory */
    ML_EINVAL = -3,     /* invalid argument from the caller */
};

struct ml;

/*
 * Observers: how the embedding program hears what modules log and which
 * events are fired. Both are called while a Lua operation is running, in
 * protected mode, so they may raise Lua errors (a memory error while
 * formatting, for instance); they must leave the stack balanced.
 */
struct ml_observer {
    /* A module logger produced a message at a level Prosody keeps
     * (debug, info, warn, error). 'msg' is the stack index of the
     * formatted message (a string). */
    void (*log)(void *ud, lua_State *L, const char *logger,
                const char *level, int msg);
    /* An events object is about to run the handlers of an event:
     * 'object' is "*" for the global events object or the host name;
     * 'name' and 'data' are stack indices of the event name and data. */
    void (*event)(void *ud, lua_State *L, const char *object,
                  int name, int data);
    void *ud;
};

/* Error details of ml_new(), filled by the callee, owned by the caller. */
struct ml_error {
    int code;               /* an ML_E* value */
    char message[256];
};

/*
 * Create a library instance that loads modules from 'moddir' (copied).
 * 'observer' is copied; it may be NULL. Returns NULL and fills 'err' on
 * failure. The caller frees the instance with ml_free().
 */
struct ml *ml_new(const char *moddir, const struct ml_observer *observer,
                  struct ml_error *err);

/* The Prosody release an instance follows (PROTOCOL.md §1): where the
 * spec's version rules say 0.12.3 and 13.0.1 differ, it does as the
 * release does. ml_new follows 0.12.3. */
enum ml_release {
    ML_RELEASE_0_12,
    ML_RELEASE_13,
};

struct ml *ml_new_release(const char *moddir,
                          const struct ml_observer *observer,
                          enum ml_release release, struct ml_error *err);

/* Free everything 'ml' owns, the Lua state included. NULL is allowed. */
void ml_free(struct ml *ml);

/* The Lua state of 'ml'; it stays owned by 'ml'. */
lua_State *ml_lua(struct ml *ml);

/* The module directory, without trailing slashes; owned by 'ml'. */
const char *ml_moddir(const struct ml *ml);

/*
 * Host and module operations, named after the Prosody function they
 * reproduce. Each pushes the first two return values (ML_OK) or the
 * error value (ML_ERAISE).
 *   ml_activate    hostmanager.activate(host, config)   -> ok, err
 *   ml_deactivate  hostmanager.deactivate(host)         -> ok, err
 *   ml_load        modulemanager.load(host, name)       -> env, err
 *   ml_unload      modulemanager.unload(host, name)     -> ok, err
 *   ml_reload      modulemanager.reload(host, name)     -> env, err
 */
int ml_activate(struct ml *ml, const char *host);
int ml_deactivate(struct ml *ml, const char *host);
int ml_load(struct ml *ml, const char *host, const char *name);
int ml_unload(struct ml *ml, const char *host, const char *name);
int ml_reload(struct ml *ml, const char *host, const char *name);

/*
 * (hosts[host] or prosody).events.fire_event(event, data), with 'data'
 * the stack index of the event data (it stays on the stack). Pushes the
 * first return value, nil when there was none (ML_OK).
 */
int ml_fire(struct ml *ml, const char *host, const char *event, int data);

/*
 * modulemanager.get_modules(host): pushes an array of the module names
 * sorted in byte order, or nil when the host has no module map (ML_OK).
 */
int ml_list(struct ml *ml, const char *host);

/*
 * The server's start and its clock (PROTOCOL.md §9). ml_start fires
 * server-started and runs the timers then due; ml_advance moves the clock
 * on by 'seconds', running the timers due by then. Both return ML_OK
 * (nothing pushed), ML_ERAISE (the error value pushed) or ML_EINVAL with
 * *why a static reason: start twice, advance before start, timers that
 * never run out.
 */
int ml_start(struct ml *ml, const char **why);
int ml_advance(struct ml *ml, double seconds, const char **why);

/*
 * configmanager.set(host, key, value): set option 'key' of 'host' ("*":
 * the global section) to the value at stack index 'value' (it stays on
 * the stack). It applies to everything read afterwards: activation
 * (modules_enabled, modules_disabled, component_module, the auth
 * providers), reload (force_module_reload), module:get_option*. Pushes
 * nothing (ML_OK) or the raised error (ML_ERAISE).
 */
int ml_config(struct ml *ml, const char *host, const char *key, int value);

/*
 * Prosody 0.12.3's autoloaded modules, loaded on every host unless the
 * configuration disables them: a NULL-terminated list in static storage.
 * A server that shows only a case's own modules disables them all
 * (PROTOCOL.md §6).
 */
const char *const *ml_autoload_modules(void);

/*
 * Switch capability 'word' of spec/PROTOCOL.md §1 off (ref/without.c):
 * from then on that part of the API is absent for module code. Call it
 * after ml_new, before the first operation. Returns ML_OK, ML_EINVAL for
 * a word that is not a capability, or ML_ENOMEM. ml_lacks tells whether
 * a word was switched off (false for a word that is not a capability).
 */
int ml_without(struct ml *ml, const char *word);
int ml_lacks(const struct ml *ml, const char *word);

/*
 * Allocation-failure injection, for tests of the out-of-memory paths
 * (tools/oom). Every allocation request of the library that may fail (its
 * C allocations, and Lua's except shrinks) is numbered from 1, process-
 * wide. ml_alloc_fail(n, persistent) resets the count and makes request
 * 'n' fail (0: none), or with 'persistent' also every later one; call it
 * before ml_new. ml_alloc_count() is the number of requests so far.
 */
void ml_alloc_fail(unsigned long n, int persistent);
unsigned long ml_alloc_count(void);

/*
 * Which of those requests were the library's own C allocations (not
 * Lua's): sets '*numbers' to their numbers, in order (static storage, the
 * first 1024), and returns how many.
 */
size_t ml_alloc_c_requests(const unsigned long **numbers);

/*
 * The number of memory errors that Prosody's own error handling caught
 * (the xpcall around module code: body, load, unload, save, restore,
 * add_host) or returned as a value (a compile error), process-wide.
 * Prosody may then only log the error to its own loggers, which the
 * protocol does not report, so a driver may say it on stderr instead.
 */
unsigned long ml_alloc_caught(void);

/*
 * Rendering for the driver protocol (spec/PROTOCOL.md §3.3, §5). Each
 * pushes one string and may raise, so call them in protected mode only.
 *   ml_render_value  a value as in §3.3 (api, env, quoted strings, ...)
 *   ml_render_data   event data: a plain table as sorted KEY=VALUE fields
 *   ml_render_text   a log message: normalised and escaped, not quoted
 *   ml_render_escaped  a name (logger, event, data key): escaped only
 */
void ml_render_value(lua_State *L, const struct ml *ml, int idx);
void ml_render_data(lua_State *L, const struct ml *ml, int idx);
void ml_render_text(lua_State *L, const struct ml *ml, int idx);
void ml_render_escaped(lua_State *L, int idx);

#endif
