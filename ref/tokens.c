/*
 * tokens.c - the strings of Prosody 0.12.3 that modules and the driver
 * can observe: error tokens, host errors, status messages and the log
 * lines that moduleapi writes through a module's own logger, and the
 * names of the Prosody files whose errors a module can see. They are part
 * of the specification, so they are defined here once.
 */
#include <stdarg.h>

#include "modlife-int.h"

static const char *const tokens[ML_TOK__COUNT] = {
    [ML_TOK_INSUFFICIENT_PARAMETERS] = "insufficient-parameters",
    [ML_TOK_UNKNOWN_HOST] = "unknown-host",
    [ML_TOK_MODULE_ALREADY_LOADED] = "module-already-loaded",
    [ML_TOK_GLOBAL_MODULE_ALREADY_LOADED] = "global-module-already-loaded",
    [ML_TOK_MODULE_NOT_LOADED] = "module-not-loaded",
    [ML_TOK_SAVE_STATE_FAILED] = "save-state-failed",
    [ML_TOK_NO_SUCH_METHOD] = "no-such-method",
    [ML_TOK_HOST_ALREADY_ACTIVATED] = "The host %s is already activated",
    [ML_TOK_HOST_NOT_ACTIVATED] = "The host %s is not activated",
    [ML_TOK_STATUS_FAILED_TO_LOAD] = "Failed to load (see log)",
    [ML_TOK_STATUS_ERROR_DURING_LOAD] = "Error during load (see log)",
    [ML_TOK_STATUS_LOADED] = "Loaded",
    [ML_TOK_STATUS_IGNORED] =
        "moduleapi: ignoring status [prio %d override %s]: %s",
    [ML_TOK_STATUS_INVALID] =
        "set_status: Invalid status type '%s', assuming 'info'",
    [ML_TOK_DEPENDENCY_FAILED] = "Unable to load required module, mod_%s: %s",
    [ML_TOK_AUTO_RELOADING] = "Auto-reloading due to reload of %s:%s",
    [ML_TOK_AUTO_UNLOADING] = "Auto-unloading due to unload of %s:%s",
    [ML_TOK_HOOK_TAG_PARAMETERS] =
        "Error: Insufficient parameters to module:hook_tag()",
    [ML_TOK_OPTION_NOT_LIST] =
        "Config option '%s' does not take a list, using just the first item",
    [ML_TOK_OPTION_NOT_NUMBER] =
        "Config option '%s' not understood, expecting a number",
    [ML_TOK_OPTION_NOT_BOOLEAN] =
        "Config option '%s' not understood, expecting true/false",
    [ML_TOK_DEPENDENCY_DISABLED] = "Dependency on disabled module mod_%s",
    [ML_TOK_SOFT_DEPENDENCY_DISABLED] =
        "Not loading disabled soft dependency mod_%s",
};

/* Prosody 0.12.3's autoload_modules (core/modulemanager.lua), with
 * prosody.platform = "posix": loaded on every host unless disabled
 * (R-HOST-2). */
static const char *const autoload[] = {
    "posix", "presence", "message", "iq", "offline", "c2s", "s2s",
    "s2s_auth_certs", NULL
};

/* Its component_inheritable_modules: the only global modules a component
 * host loads. */
static const char *const component_inheritable[] = {
    "tls", "saslauth", "dialback", "iq", "s2s", "s2s_bidi", "smacks",
    "server_contact_info", NULL
};

/* The autoloaded modules, a NULL-terminated list in static storage. */
const char *const *ml_autoload_modules(void)
{
    return autoload;
}

/* The component-inheritable modules, NULL-terminated, static. */
const char *const *ml_component_inheritable_modules(void)
{
    return component_inheritable;
}

/*
 * The text of 'token' (static storage). Some are formats, as noted in
 * modlife-int.h; they are meant for string.format, not for printf.
 */
const char *ml_token(enum ml_token token)
{
    return tokens[token];
}

static const char *const sources[] = {
    [ML_SRC_EVENTS] = "/usr/lib/prosody/util/events.lua",
    [ML_SRC_MULTITABLE] = "/usr/lib/prosody/util/multitable.lua",
    [ML_SRC_MODULEMANAGER] = "/usr/lib/prosody/core/modulemanager.lua",
    [ML_SRC_MODULEAPI] = "/usr/lib/prosody/core/moduleapi.lua",
    [ML_SRC_USERMANAGER] = "/usr/lib/prosody/core/usermanager.lua",
    [ML_SRC_SERVER_EPOLL] = "/usr/lib/prosody/net/server_epoll.lua",
    [ML_SRC_ARRAY] = "/usr/lib/prosody/util/array.lua",
    [ML_SRC_FORMAT] = "/usr/lib/prosody/util/format.lua",
    [ML_SRC_STORAGEMANAGER] = "/usr/lib/prosody/core/storagemanager.lua",
};

/*
 * Raise the Lua error that Prosody 0.12.3's own code raises at 'line' of
 * 'file': "<file>:<line>: " and 'fmt' formatted as lua_pushfstring does.
 * Where a module can provoke an error inside Prosody's code (a handler
 * that is not a function, reload of a module gone global), the reference
 * raises the same message. Does not return.
 */
int ml_raise_at(lua_State *L, enum ml_source file, int line,
                const char *fmt, ...)
{
    va_list ap;

    lua_pushfstring(L, "%s:%d: ", sources[file], line);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

/* Push the text of 'token' as a Lua string. */
void ml_push_token(lua_State *L, enum ml_token token)
{
    lua_pushstring(L, tokens[token]);
}
