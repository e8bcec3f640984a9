/*
 * format.c - Prosody's util.format.format, which its log sinks apply to
 * every message (spec/PROTOCOL.md §3.1, R-PERHOST-4).
 *
 * It rewrites the format string and the arguments so that string.format
 * cannot be fooled: a missing argument prints "(nil)", a wrong type prints
 * "[tostring(arg)]", leftover arguments are appended as " [arg]", and
 * control bytes in string arguments become Unicode control pictures. The
 * rewritten pair then goes through the real string.format, which may
 * still raise (an invalid conversion such as a trailing '%'); callers
 * decide what to do then.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "modlife-int.h"

/* Conversion characters that end a format specifier in util.format's
 * pattern "%%[^cdiouxXaAeEfgGpqs%%]*[cdiouxXaAeEfgGpqs%%]". */
static const char conversions[] = "cdiouxXaAeEfgGpqs%";

static bool is_conversion(char c)
{
    return c != '\0' && strchr(conversions, c) != NULL;
}

/* Whether [s, s+len) is valid UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), as util.encodings.utf8.valid. */
static bool valid_utf8(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        unsigned char c = s[i];
        size_t n, k;
        unsigned long cp;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
            return false;
        i += n + 1;
    }
    return true;
}

/* Whether the string has a byte util.format's fast path rejects:
 * [%z\1-\31\128-\255]. */
static bool has_special(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

/* Push the string at 'idx' with control bytes other than tab and newline
 * turned into U+2400+byte (U+2421 for DEL), and every newline, with the
 * tab that may follow it, turned into newline + tab. */
static void push_sanitised(lua_State *L, int idx)
{
    size_t len, i;
    const char *s = lua_tolstring(L, idx, &len);
    luaL_Buffer b;

    luaL_buffinit(L, &b);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\n') {
            luaL_addstring(&b, "\n\t");
            if (i + 1 < len && s[i + 1] == '\t')
                i++;
        } else if (c < 0x20 && c != '\t') {
            luaL_addchar(&b, (char)0xe2);
            luaL_addchar(&b, (char)0x90);
            luaL_addchar(&b, (char)(0x80 + c));
        } else if (c == 0x7f) {
            luaL_addstring(&b, "\xe2\x90\xa1");
        } else {
            luaL_addchar(&b, (char)c);
        }
    }
    luaL_pushresult(&b);
}

/* Replace the argument at 'arg' by tostring(arg). */
static void replace_tostring(lua_State *L, int arg)
{
    luaL_tolstring(L, arg, NULL);
    lua_replace(L, arg);
}

/* Push util.serialization's "debug" rendering of the string at 'idx':
 * quoted, with \a \b \f \n \r \t \v \\ \" \' and every other byte
 * below 0x20 or from 0x7f up as a three-digit decimal escape. */
static void push_serialized_string(lua_State *L, int idx)
{
    static const char named[] = "\a\b\f\n\r\t\v";
    static const char letters[] = "abfnrtv";
    size_t len, i;
    const char *s = lua_tolstring(L, idx, &len);
    luaL_Buffer b;
    char esc[5];

    luaL_buffinit(L, &b);
    luaL_addchar(&b, '"');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *p = c ? strchr(named, (char)c) : NULL;

        if (p) {
            luaL_addchar(&b, '\\');
            luaL_addchar(&b, letters[p - named]);
        } else if (c == '\\' || c == '"' || c == '\'') {
            luaL_addchar(&b, '\\');
            luaL_addchar(&b, (char)c);
        } else if (c < 0x20 || c >= 0x7f) {
            snprintf(esc, sizeof(esc), "\\%03d", c);
            luaL_addstring(&b, esc);
        } else {
            luaL_addchar(&b, (char)c);
        }
    }
    luaL_addchar(&b, '"');
    luaL_pushresult(&b);
}

/* Replace the argument at 'arg' by util.serialization's "debug" dump of
 * it, which util.format uses for %q and for strings that are not valid
 * UTF-8. Exact for strings, numbers, booleans and nil; tables, whose dump
 * lists their contents, are written as tostring (the cases use none). */
static void replace_dumped(lua_State *L, int arg)
{
    char buf[64];

    switch (lua_type(L, arg)) {
    case LUA_TSTRING:
        push_serialized_string(L, arg);
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, arg)) {
            lua_pushfstring(L, "%I", (LUAI_UACINT)lua_tointeger(L, arg));
        } else {
            lua_Number x = lua_tonumber(L, arg);

            if (x != x)
                lua_pushliteral(L, "(0/0)");
            else if (x == HUGE_VAL)
                lua_pushliteral(L, "(1/0)");
            else if (x == -HUGE_VAL)
                lua_pushliteral(L, "(-1/0)");
            else {
                snprintf(buf, sizeof(buf), "%.18g", (double)x);
                lua_pushstring(L, buf);
            }
        }
        break;
    case LUA_TNIL:
    case LUA_TBOOLEAN:
    case LUA_TTABLE:
        luaL_tolstring(L, arg, NULL);
        break;
    default:
        lua_pushfstring(L, "{__type=\"%s\",__error=\"fail\"}",
                        luaL_typename(L, arg));
    }
    lua_replace(L, arg);
}

/*
 * Rewrite one specifier [spec, spec+len) for argument 'arg' (a stack
 * index; the argument may be replaced) and add what replaces it to 'b'.
 * Follows util.format's callback branch by branch.
 */
static void rewrite_spec(lua_State *L, luaL_Buffer *b,
                         const char *spec, size_t len, int arg)
{
    char option = spec[len - 1];
    int t = lua_type(L, arg);
    bool tostring_done = false;
    size_t slen;
    const char *s;

    if (t == LUA_TNIL) {
        lua_pushliteral(L, "nil");
        lua_replace(L, arg);
        luaL_addstring(b, "(%s)");
        return;
    }
    if (option == 's' && t == LUA_TSTRING) {
        s = lua_tolstring(L, arg, &slen);
        if (!has_special(s, slen))
            goto keep;
    } else if (t == LUA_TNUMBER) {
        if (option == 'g' || (option == 'd' && lua_isinteger(L, arg)))
            goto keep;
    } else if (option == 's') {
        /* tostring, but the argument itself is replaced only below */
        tostring_done = true;
    }
    if (option != 's' && option != 'q' && option != 'p') {
        if (t != LUA_TNUMBER) {
            tostring_done = true;
            option = 's';
            spec = "[%s]";
            len = 4;
        } else if (strchr("cdiouxX", option) && !lua_isinteger(L, arg)) {
            replace_tostring(L, arg);
            luaL_addstring(b, "[%s]");
            return;
        } else if (strchr("ouxX", option) &&
                   lua_tonumber(L, arg) < 0) {
            replace_tostring(L, arg);
            luaL_addstring(b, "[%s]");
            return;
        } else {
            goto keep;
        }
    }
    if (tostring_done) {
        replace_tostring(L, arg);
        t = LUA_TSTRING;
    }
    if (t == LUA_TSTRING && option != 'p') {
        s = lua_tolstring(L, arg, &slen);
        if (!valid_utf8((const unsigned char *)s, slen)) {
            option = 'q';
        } else if (option != 'q') {
            push_sanitised(L, arg);
            lua_replace(L, arg);
            goto keep;
        }
    }
    if (option == 'q') {
        replace_dumped(L, arg);
        luaL_addstring(b, "%s");
        return;
    }
    if (option == 'p' && (t == LUA_TBOOLEAN || t == LUA_TNUMBER)) {
        replace_tostring(L, arg);
        luaL_addstring(b, "[%s]");
        return;
    }
keep:
    luaL_addlstring(b, spec, len);
}

/*
 * util.format.format(fmt, ...) as a Lua C function. Returns
 * the formatted string; raises when fmt is not a string or when
 * string.format rejects the rewritten format.
 */
int ml_format(lua_State *L)
{
    struct ml *ml = ml_self(L);
    int n = lua_gettop(L) - 1, i = 0, count;
    size_t len, pos = 0;
    const char *fmt;
    luaL_Buffer b;

    /* Prosody runs formatstring:gsub(...) at format.lua:59: a table has
     * no such method, other non-strings cannot be indexed. */
    if (lua_istable(L, 1))
        return ml_raise_at(L, ML_SRC_FORMAT, 59, "attempt to call a nil "
                           "value (method 'gsub')");
    if (n < 0 || lua_type(L, 1) != LUA_TSTRING)
        return ml_raise_at(L, ML_SRC_FORMAT, 59, "attempt to index a %s "
                           "value (local 'formatstring')", luaL_typename(L, 1));
    fmt = lua_tolstring(L, 1, &len);
    /* Arguments live at 2..; room for one per specifier. */
    ml_checkstack(L, (int)(len / 2) + 10);
    lua_settop(L, (int)(len / 2) + n + 1);
    luaL_buffinit(L, &b);
    while (pos < len) {
        size_t end = pos + 1;

        if (fmt[pos] != '%') {
            luaL_addchar(&b, fmt[pos++]);
            continue;
        }
        while (end < len && !is_conversion(fmt[end]))
            end++;
        if (end == len) {
            luaL_addchar(&b, fmt[pos++]);
            continue;
        }
        end++;
        if (end - pos == 2 && fmt[pos + 1] == '%') {
            luaL_addlstring(&b, "%%", 2);
        } else {
            i++;
            rewrite_spec(L, &b, fmt + pos, end - pos, i + 1);
        }
        pos = end;
    }
    /* Leftover arguments are appended as " [arg]". */
    for (; i < n; i++) {
        int arg = i + 2;

        if (lua_isnil(L, arg)) {
            lua_pushliteral(L, "(nil)");
        } else {
            luaL_tolstring(L, arg, NULL);
            push_sanitised(L, lua_gettop(L));
            lua_remove(L, -2);
        }
        lua_replace(L, arg);
        luaL_addstring(&b, " [%s]");
    }
    luaL_pushresult(&b);
    count = i > n ? i : n;
    ml_push_ref(L, ml->ref_format, LUA_TFUNCTION);
    lua_insert(L, -2);
    for (i = 0; i < count; i++)
        lua_pushvalue(L, i + 2);
    lua_call(L, count + 1, 1);
    return 1;
}
