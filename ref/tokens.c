/*
 * tokens.c - the strings of Prosody 0.12.3 that modules and the driver
 * can observe: error tokens, host errors, status messages and the log
 * lines that moduleapi writes through a module's own logger, and the
 * places in Prosody's code whose errors a module can see. They are part
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
    [ML_TOK_AT_EVENTS_SORT] = "/usr/lib/prosody/util/events.lua:39: ",
    [ML_TOK_AT_EVENTS_CALL] = "/usr/lib/prosody/util/events.lua:81: ",
    [ML_TOK_AT_MULTITABLE_ADD] = "/usr/lib/prosody/util/multitable.lua:32: ",
    [ML_TOK_AT_MODULE_HAS_METHOD] =
        "/usr/lib/prosody/core/modulemanager.lua:411: ",
    [ML_TOK_AT_GET_HOST_TYPE] = "/usr/lib/prosody/core/moduleapi.lua:57: ",
    [ML_TOK_AT_DEPENDS] = "/usr/lib/prosody/core/moduleapi.lua:167: ",
};

/*
 * The text of 'token' (static storage). Some are formats, as noted in
 * modlife-int.h; they are meant for string.format, not for printf.
 */
const char *ml_token(enum ml_token token)
{
    return tokens[token];
}

/*
 * Raise a Lua error whose message is the location token 'where' followed
 * by 'fmt' formatted as lua_pushfstring does: the error Prosody's own Lua
 * code raises at that place, as an installed Prosody reports it. Does not
 * return.
 */
int ml_raise_at(lua_State *L, enum ml_token where, const char *fmt, ...)
{
    va_list ap;

    lua_pushstring(L, tokens[where]);
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
