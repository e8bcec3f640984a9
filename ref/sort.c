/*
 * sort.c - stable sorting of Lua arrays by a string key.
 *
 * Wherever Prosody walks a table with pairs() and so leaves the order
 * undefined (module names on deactivation, item keys on unload, modules
 * of get_items), the reference sorts by byte order instead. The work
 * arrays live in a userdata, so a Lua error cannot leak them.
 */
#include <string.h>

#include "modlife-int.h"

struct sort_item {
    const char *s;
    size_t len;
    lua_Integer index;      /* position in the array before sorting */
};

static int compare(const struct sort_item *a, const struct sort_item *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->s, b->s, n);

    if (c != 0)
        return c;
    return (a->len > b->len) - (a->len < b->len);
}

/* Bottom-up merge sort of 'items' using 'tmp' (same size): stable. */
static void merge_sort(struct sort_item *items, struct sort_item *tmp,
                       size_t n)
{
    size_t width, i;

    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t mid = i + width < n ? i + width : n;
            size_t end = i + 2 * width < n ? i + 2 * width : n;
            size_t l = i, r = mid, k = i;

            while (l < mid && r < end)
                tmp[k++] = compare(&items[r], &items[l]) < 0 ? items[r++]
                                                            : items[l++];
            while (l < mid)
                tmp[k++] = items[l++];
            while (r < end)
                tmp[k++] = items[r++];
        }
        memcpy(items, tmp, n * sizeof(*items));
    }
}

/*
 * Sort the elements 1..#t of the array at 'array' in place, in byte order
 * of a string: the element itself when 'field' is 0, else the element's
 * raw integer field 'field'. Equal strings keep their order. Raises if a
 * sort key is not a string.
 */
void ml_sort_by_string(lua_State *L, int array, int field)
{
    lua_Integer n = (lua_Integer)lua_rawlen(L, array);
    struct sort_item *items;
    lua_Integer i;

    if (n < 2)
        return;
    items = lua_newuserdatauv(L, 2 * (size_t)n * sizeof(*items), 0);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, array, i + 1);
        if (field)
            lua_rawgeti(L, -1, field);
        if (lua_type(L, -1) != LUA_TSTRING)
            luaL_error(L, "sort key is not a string");
        /* The string stays referenced by the array, which is not touched
         * until every pointer has been used. */
        items[i].s = lua_tolstring(L, -1, &items[i].len);
        items[i].index = i + 1;
        lua_pop(L, field ? 2 : 1);
    }
    merge_sort(items, items + n, (size_t)n);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, array, items[i].index);
        lua_rawseti(L, -2, i + 1);
    }
    for (i = 1; i <= n; i++) {
        lua_rawgeti(L, -1, i);
        lua_rawseti(L, array, i);
    }
    lua_pop(L, 2);
}
