/*
 * floor.c - modlife-floor, the bare-Lua floor of the benchmarks: the
 * workloads' module code run by a minimal program embedding Lua 5.4, with
 * none of Prosody's bookkeeping (bench/README.md says what it does and
 * does not do, and why that is the fair floor).
 *
 *     modlife-floor MODDIR            (FLOOR.lua: bench/floor.lua)
 *
 * It speaks just enough of the driver protocol (spec/PROTOCOL.md) to be
 * measured like a driver: the greeting, then one result line per command
 * read from stdin, flushed per command as a driver must (the runner waits
 * for the result before it sends the next command). The commands are the
 * functions of the table that floor.lua returns; a Lua error is answered
 * `raise`, so that bench/measure rejects the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

#ifndef FLOOR_LUA
#define FLOOR_LUA "bench/floor.lua"
#endif
#define MAX_LINE 65536
#define MAX_WORDS 64

int main(int argc, char **argv)
{
    static char line[MAX_LINE + 2];
    const char *script = getenv("MODLIFE_FLOOR_LUA");
    lua_State *L;
    int commands;

    if (argc != 2) {
        fprintf(stderr, "usage: %s MODDIR\n", argv[0]);
        return 2;
    }
    L = luaL_newstate();
    if (!L)
        return 1;
    luaL_openlibs(L);
    if (luaL_loadfile(L, script ? script : FLOOR_LUA) != LUA_OK) {
        fprintf(stderr, "modlife-floor: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushstring(L, argv[1]);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "modlife-floor: %s\n", lua_tostring(L, -1));
        return 1;
    }
    commands = lua_gettop(L);
    printf("modlife 1\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        char *words[MAX_WORDS];
        char *p = line, *save;
        int count = 0, i;

        line[strcspn(line, "\n")] = '\0';
        while (count < MAX_WORDS && (p = strtok_r(p, " ", &save))) {
            words[count++] = p;
            p = NULL;
        }
        if (count == 0) {
            printf("bad empty command\n");
        } else if (lua_getfield(L, commands, words[0]) != LUA_TFUNCTION) {
            lua_pop(L, 1);
            printf("bad unknown command %s\n", words[0]);
        } else {
            for (i = 1; i < count; i++)
                lua_pushstring(L, words[i]);
            if (lua_pcall(L, count - 1, 1, 0) != LUA_OK) {
                fprintf(stderr, "modlife-floor: %s\n", lua_tostring(L, -1));
                printf("raise \"floor error\"\n");
            } else {
                puts(lua_tostring(L, -1));
            }
            lua_pop(L, 1);
        }
        fflush(stdout);
    }
    lua_close(L);
    return 0;
}
