/*
 * modlife-int.h - internal interface between the files of ref/.
 *
 * Files and concerns:
 *   state.c      ml_new/ml_free, the protected entry points of modlife.h
 *   call.c       the one protected door into Lua (traceback handler)
 *   map.c        string-keyed hash map
 *   sort.c       stable sorting of Lua arrays by string
 *   tokens.c     Prosody's visible strings (error tokens, statuses)
 *   host.c       hostmanager: host registry, activate, deactivate
 *   users.c      usermanager: provider loads, auth-provider handlers
 *   startup.c    util.startup: the 'prosody' global, locked globals,
 *                the function metatable
 *   module.c     modulemanager's module maps and module instances
 *   events.c     util.events objects
 *   format.c     Prosody's util.format, applied to log messages
 *   log.c        module loggers
 *   loader.c     util.pluginloader: finding and compiling module files
 *   api.c        moduleapi: the Lua-visible module API
 *   lifecycle.c  modulemanager: load, unload, reload, the modules of
 *                a host on activation
 *   config.c     configmanager: the configuration sections
 *   manager.c    require "core.modulemanager" for module code
 *   set.c        util.set (get_option_set, a host's module list)
 *   array.c      util.array (get_option_array)
 *   render.c     protocol rendering, normalisation and escaping
 *   without.c    capabilities switched off (make check WITHOUT=X)
 *
 * Unless a comment says otherwise, functions taking a lua_State run in
 * protected mode (inside one of the entry points of state.c) and may
 * raise Lua errors; they never hold malloc'd memory across such a call.
 * Stack indices passed in must be absolute (or pseudo-indices).
 */
#ifndef MODLIFE_INT_H
#define MODLIFE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "modlife.h"

/* ---- alloc.c ---- */

void *ml_malloc(size_t size);
void *ml_calloc(size_t count, size_t size);
void *ml_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize);
void ml_alloc_note_caught(lua_State *L, int status);

/* ---- map.c ---- */

struct ml_map_slot {
    char *key;              /* owned copy, NUL-terminated */
    size_t len;
    size_t hash;
    void *value;            /* owned by the map's user */
    unsigned char state;    /* empty, live or dead (tombstone) */
};

struct ml_map {
    struct ml_map_slot *slots;
    size_t capacity;        /* 0 or a power of two */
    size_t count;           /* live entries */
    size_t used;            /* live entries plus tombstones */
};

void ml_map_init(struct ml_map *map);
void ml_map_release(struct ml_map *map, void (*free_value)(void *, void *),
                    void *ud);
void *ml_map_get(const struct ml_map *map, const char *key, size_t len);
int ml_map_put(struct ml_map *map, const char *key, size_t len, void *value);
void *ml_map_remove(struct ml_map *map, const char *key, size_t len);
size_t ml_map_next(const struct ml_map *map, size_t pos, const char **key,
                   size_t *len, void **value);

/* ---- the library instance ---- */

struct ml {
    lua_State *L;
    char *moddir;               /* without trailing slashes */
    size_t moddir_len;
    struct ml_observer observer;
    struct ml_map hosts;        /* name -> struct ml_host: Prosody's 'hosts' */
    struct ml_map modmaps;      /* host -> struct ml_modmap: 'modulemap' */
    lua_Integer seq;            /* handler registration counter */
    int ref_global_events;      /* prosody.events */
    int ref_methods;            /* the api method table */
    int ref_shared;             /* module:shared registry, weak values */
    int ref_io_open;            /* io.open, file:read, file:close and */
    int ref_io_read;            /* string.format, captured before any */
    int ref_io_close;           /* module runs */
    int ref_format;
    int ref_config;             /* configmanager's host -> section table */
    int ref_provider_mt;        /* usermanager's provider_mt */
    int ref_hosts;              /* prosody.hosts: host -> session table */
    int ref_chunks;             /* loader.c: chunk name -> text -> factory */
    /* timers.c: the server's start and its clock (PROTOCOL.md §9) */
    bool release13;             /* follows Prosody 13.0.1, not 0.12.3 */
    bool started;               /* `start` has run */
    double clock;               /* seconds since the instance was made */
    lua_Integer timer_seq;      /* timer ids and arming order */
    int ref_timers;             /* id -> { fn, due = time, seq = order } */
    int ref_ready;              /* 13.0.1: ready callbacks kept until start */
    unsigned lacks;             /* without.c: switched-off capabilities, bit
                                 * per enum ml_capability */
};

/* ---- without.c ---- */

/* The capabilities of PROTOCOL.md §1 that ml_without can switch off. */
enum ml_capability {
    ML_CAP_CONFIG, ML_CAP_RELOAD, ML_CAP_DEPENDS, ML_CAP_ITEMS,
    ML_CAP_HOST_ITEMS, ML_CAP_STATUS, ML_CAP_SHARED_DATA, ML_CAP_WRAPPERS,
    ML_CAP_COMPONENTS, ML_CAP_UNHOOK, ML_CAP_META, ML_CAP_RELOAD_STATE,
    ML_CAP_AUTH_PROVIDERS, ML_CAP_FORMAT, ML_CAP_HOOK_TAG, ML_CAP_CONTEXT,
    ML_CAP_START, ML_CAP_TIMERS,
    ML_CAP_COUNT
};

bool ml_has(const struct ml *ml, enum ml_capability cap);
void ml_without_manager(lua_State *L, struct ml *ml, int t);
void ml_without_method(lua_State *L, const char *method);
const char *ml_reloading_field(const struct ml *ml);
int ml_format_plain(lua_State *L);

/* ---- call.c ---- */

int ml_pcall_traceback(lua_State *L, int nargs, int nresults);
int ml_pcall_traceback_k(lua_State *L, int nargs, int nresults,
                         lua_KContext ctx, lua_KFunction k);
int ml_pcall_traceback_end(lua_State *L, int status, int handler);
void ml_checkstack(lua_State *L, int n);
bool ml_is_memory_error(lua_State *L, int status);
void ml_method_call(lua_State *L, int obj, const char *method, int nargs,
                    int nresults);
struct ml *ml_self(lua_State *L);
int ml_upvalue(lua_State *L, int i, int type, const char *name);
void ml_check_registry(lua_State *L, int idx, int type, const char *what);
void ml_push_ref(lua_State *L, int ref, int type);
void ml_push_weak_keyed(lua_State *L, const char *key);
bool ml_is_star(lua_State *L, int idx);

/* ---- sort.c ---- */

void ml_sort_by_string(lua_State *L, int array, int field);

/* ---- tokens.c ---- */

enum ml_token {
    ML_TOK_INSUFFICIENT_PARAMETERS,
    ML_TOK_UNKNOWN_HOST,
    ML_TOK_MODULE_ALREADY_LOADED,
    ML_TOK_GLOBAL_MODULE_ALREADY_LOADED,
    ML_TOK_MODULE_NOT_LOADED,
    ML_TOK_SAVE_STATE_FAILED,
    ML_TOK_NO_SUCH_METHOD,
    ML_TOK_HOST_ALREADY_ACTIVATED,  /* format: host name */
    ML_TOK_HOST_NOT_ACTIVATED,      /* format: host name */
    ML_TOK_STATUS_FAILED_TO_LOAD,
    ML_TOK_STATUS_ERROR_DURING_LOAD,
    ML_TOK_STATUS_LOADED,
    ML_TOK_STATUS_IGNORED,          /* format: priority, override, message */
    ML_TOK_STATUS_INVALID,          /* logged unformatted, as Prosody does */
    ML_TOK_DEPENDENCY_FAILED,       /* format: name, error */
    ML_TOK_AUTO_RELOADING,          /* format: host, name */
    ML_TOK_AUTO_UNLOADING,          /* format: host, name */
    ML_TOK_HOOK_TAG_PARAMETERS,
    ML_TOK_OPTION_NOT_LIST,         /* format: option name */
    ML_TOK_OPTION_NOT_NUMBER,       /* format: option name */
    ML_TOK_OPTION_NOT_BOOLEAN,      /* format: option name */
    ML_TOK_DEPENDENCY_DISABLED,     /* format: name */
    ML_TOK_SOFT_DEPENDENCY_DISABLED, /* format: name (13.0.1) */
    ML_TOK__COUNT
};

/* Prosody source files whose errors a module or the driver can see; the
 * error messages start with "<file>:<line>: " as an installed Prosody
 * reports them. */
enum ml_source {
    ML_SRC_EVENTS,              /* util/events.lua */
    ML_SRC_MULTITABLE,          /* util/multitable.lua */
    ML_SRC_MODULEMANAGER,       /* core/modulemanager.lua */
    ML_SRC_MODULEAPI,           /* core/moduleapi.lua */
    ML_SRC_USERMANAGER,         /* core/usermanager.lua */
    ML_SRC_SERVER_EPOLL,        /* net/server_epoll.lua */
    ML_SRC_ARRAY,               /* util/array.lua */
    ML_SRC_FORMAT,              /* util/format.lua */
    ML_SRC_STORAGEMANAGER,      /* core/storagemanager.lua */
};

const char *ml_token(enum ml_token token);
const char *const *ml_component_inheritable_modules(void);
void ml_push_token(lua_State *L, enum ml_token token);
int ml_raise_at(lua_State *L, enum ml_source file, int line,
                const char *fmt, ...);

/* call.c: checks and loops over values that module code may replace,
 * raising what Prosody's Lua raises, at its line */
bool ml_has_metamethod(lua_State *L, int idx, const char *event);
bool ml_is_indexable(lua_State *L, int idx);
bool ml_is_callable(lua_State *L, int idx);
void ml_pairs(lua_State *L, int idx, enum ml_source file, int line);
bool ml_pairs_next(lua_State *L, int it);

/* ---- events.c ---- */

void ml_events_new(lua_State *L, struct ml *ml, const char *name, size_t len);
bool ml_events_is(lua_State *L, int idx);
int ml_open_util_events(lua_State *L);
void ml_events_add(lua_State *L, int events, int name, int handler, int prio);
void ml_events_remove(lua_State *L, int events, int name, int handler);
int ml_events_fire(lua_State *L, int events, int name, int data);
int ml_events_fire_k(lua_State *L, int events, int name, int data,
                     lua_KFunction k);
int ml_events_fire_end(lua_State *L, lua_KContext ctx, lua_KFunction k);
int ml_object_add_handler(lua_State *L, int object, int name, int handler,
                          int prio, int nresults);
int ml_object_remove_handler(lua_State *L, int object, int name, int handler,
                             int nresults);

/* ---- host.c ---- */

struct ml_modmap;

struct ml_host {
    const char *type;           /* "local" or "component" */
    int ref_events;             /* the host's events object */
    int ref_session;            /* the table standing for the host session */
    struct ml_modmap *modules;  /* hosts[h].modules (counted reference) */
};

struct ml_host *ml_host_at(lua_State *L, struct ml *ml, int idx);
void ml_push_events_for(lua_State *L, struct ml *ml, int host);
void ml_host_activate(lua_State *L, struct ml *ml, int host);
void ml_host_deactivate(lua_State *L, struct ml *ml, int host);
void ml_hosts_release(struct ml *ml);

/* ---- startup.c ---- */

void ml_startup_functions(lua_State *L, struct ml *ml);
void ml_startup_prosody(lua_State *L, struct ml *ml, int events);
void ml_startup_protect(lua_State *L, int prosody);

/* ---- users.c ---- */

void ml_users_init(lua_State *L, struct ml *ml);

/* ---- module.c ---- */

struct ml_modmap {
    int refs;                   /* owners: the host and/or 'modulemap' */
    struct ml_map entries;      /* name -> struct ml_instance */
};

struct ml_modmap *ml_modmap_new(void);
void ml_modmap_unref(struct ml *ml, struct ml_modmap *map);
struct ml_modmap *ml_modmap_at(lua_State *L, struct ml *ml, int host);
struct ml_modmap *ml_modmap_check(lua_State *L, struct ml *ml, int host,
                                  int line, const char *field);
void ml_modmap_link(lua_State *L, struct ml *ml, int host,
                    struct ml_modmap *map);
void ml_modmap_drop(lua_State *L, struct ml *ml, int host);
void ml_modmaps_release(struct ml *ml);
bool ml_module_push(lua_State *L, struct ml_modmap *map, int name);
void ml_module_set(lua_State *L, struct ml_modmap *map, int name, int env);
void ml_module_clear(lua_State *L, struct ml_modmap *map, int name);
void ml_module_names(lua_State *L, struct ml_modmap *map);
void ml_get_module(lua_State *L, struct ml *ml, int host, int name);
bool ml_module_has_method(lua_State *L, int env, const char *method);
int ml_module_call(lua_State *L, int env, const char *method, int nargs);
int ml_module_call_k(lua_State *L, int env, const char *method, int nargs,
                     lua_KContext ctx, lua_KFunction k);
int ml_module_call_end(lua_State *L, int status, int base);

/* ---- format.c ---- */

int ml_format(lua_State *L);

/* ---- log.c ---- */

void ml_log_new(lua_State *L, int name);
void ml_log_method(lua_State *L, int log);

/* ---- loader.c ---- */

void ml_loader_init(lua_State *L, struct ml *ml);
int ml_loader_load_code(lua_State *L, struct ml *ml, int name, int env);

/* ---- api.c ---- */

void ml_api_init(lua_State *L, struct ml *ml);
void ml_api_new(lua_State *L, struct ml *ml, int host, int name, int state);
void ml_api_new_host(lua_State *L, int host, int name, int genv);
bool ml_api_is_tracking(lua_State *L, int idx);

/* ---- config.c ---- */

void ml_config_init(lua_State *L, struct ml *ml);
void ml_config_get(lua_State *L, struct ml *ml, int host, int key);
void ml_config_get_field(lua_State *L, struct ml *ml, int host,
                         const char *key);
void ml_config_set(lua_State *L, struct ml *ml, int host, int key,
                   int value);

/* ---- set.c ---- */

void ml_set_new(lua_State *L, int list);
void ml_set_add_ipairs(lua_State *L, int items, int list, bool present);

/* ---- array.c ---- */

void ml_array_init(lua_State *L);
void ml_array_from(lua_State *L, int value);

/* ---- manager.c ---- */

int ml_open_modulemanager(lua_State *L);

/* ---- timers.c ---- */

void ml_timers_init(lua_State *L, struct ml *ml, int prosody);
lua_Integer ml_timer_add(lua_State *L, struct ml *ml, int fn, double delay);
void ml_timer_add_module(lua_State *L, struct ml *ml, int timer,
                         double delay);
void ml_timer_stop(lua_State *L, struct ml *ml, lua_Integer id);
void ml_timer_reschedule(lua_State *L, struct ml *ml, lua_Integer id,
                         double delay);
void ml_ready_after_load(lua_State *L, struct ml *ml, int env);

/* ---- lifecycle.c ---- */

void ml_lifecycle_init(lua_State *L, struct ml *ml);
void ml_lc_load(lua_State *L, struct ml *ml, int host, int name);
void ml_lc_load_k(lua_State *L, struct ml *ml, int host, int name,
                  lua_KFunction k);
void ml_lc_load_end(lua_State *L, struct ml *ml, int host, int name,
                    lua_KFunction k, lua_KContext ctx, int status);
void ml_lc_unload(lua_State *L, struct ml *ml, int host, int name);
void ml_lc_reload(lua_State *L, struct ml *ml, int host, int name);

#endif
