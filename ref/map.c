/*
 * map.c - string-keyed hash map with open addressing.
 *
 * Used for the host registry, modulemanager's module maps and the set of
 * module maps, so that finding a host or a module costs O(1) whatever the
 * number of hosts. Keys are byte strings (embedded NULs allowed) copied
 * into the map; values are opaque pointers owned by the caller.
 */
#include <stdlib.h>
#include <string.h>

#include "modlife-int.h"

enum { SLOT_EMPTY = 0, SLOT_LIVE, SLOT_DEAD };

#define MIN_CAPACITY 8

/* FNV-1a: simple, and good enough for host and module names. */
static size_t hash_bytes(const char *key, size_t len)
{
    size_t h = (size_t)2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= (size_t)16777619u;
    }
    return h;
}

/* The slot holding 'key', or the first reusable slot on its probe path
 * when it is absent ('*found' tells which). The table is never full. */
static struct ml_map_slot *probe(const struct ml_map *map, const char *key,
                                 size_t len, size_t hash, int *found)
{
    size_t mask = map->capacity - 1;
    size_t i = hash & mask;
    struct ml_map_slot *reuse = NULL;

    for (;;) {
        struct ml_map_slot *slot = &map->slots[i];

        if (slot->state == SLOT_EMPTY) {
            *found = 0;
            return reuse ? reuse : slot;
        }
        if (slot->state == SLOT_DEAD) {
            if (!reuse)
                reuse = slot;
        } else if (slot->hash == hash && slot->len == len &&
                   memcmp(slot->key, key, len) == 0) {
            *found = 1;
            return slot;
        }
        i = (i + 1) & mask;
    }
}

/* Rehash into a table of 'capacity' slots (a power of two). */
static int resize(struct ml_map *map, size_t capacity)
{
    struct ml_map_slot *old = map->slots;
    size_t old_capacity = map->capacity;
    size_t i;

    map->slots = ml_calloc(capacity, sizeof(*map->slots));
    if (!map->slots) {
        map->slots = old;
        return ML_ENOMEM;
    }
    map->capacity = capacity;
    map->used = map->count;
    for (i = 0; i < old_capacity; i++) {
        int found;
        struct ml_map_slot *slot;

        if (old[i].state != SLOT_LIVE)
            continue;
        slot = probe(map, old[i].key, old[i].len, old[i].hash, &found);
        *slot = old[i];
    }
    free(old);
    return ML_OK;
}

/*
 * Make 'map' an empty map. It allocates nothing until the first put.
 */
void ml_map_init(struct ml_map *map)
{
    map->slots = NULL;
    map->capacity = 0;
    map->count = 0;
    map->used = 0;
}

/*
 * Free the keys and the slot array of 'map', calling 'free_value' (if not
 * NULL) on every value with 'ud'. The map is empty afterwards.
 */
void ml_map_release(struct ml_map *map, void (*free_value)(void *, void *),
                    void *ud)
{
    size_t i;

    for (i = 0; i < map->capacity; i++) {
        if (map->slots[i].state != SLOT_LIVE)
            continue;
        if (free_value)
            free_value(ud, map->slots[i].value);
        free(map->slots[i].key);
    }
    free(map->slots);
    ml_map_init(map);
}

/*
 * The value stored under 'key' (of 'len' bytes), or NULL. The value stays
 * owned by whoever put it.
 */
void *ml_map_get(const struct ml_map *map, const char *key, size_t len)
{
    struct ml_map_slot *slot;
    int found;

    if (map->count == 0)
        return NULL;
    slot = probe(map, key, len, hash_bytes(key, len), &found);
    return found ? slot->value : NULL;
}

/*
 * Store 'value' (not NULL) under a copy of 'key', replacing any previous
 * value (which the caller must have taken care of). Returns ML_OK, or
 * ML_ENOMEM with the map unchanged.
 */
int ml_map_put(struct ml_map *map, const char *key, size_t len, void *value)
{
    size_t hash = hash_bytes(key, len);
    struct ml_map_slot *slot;
    char *copy;
    int found;

    if ((map->used + 1) * 4 > map->capacity * 3) {
        size_t capacity = map->capacity ? map->capacity : MIN_CAPACITY;

        /* Grow only when live entries fill half the table; otherwise a
         * rehash at the same size is enough to drop the tombstones. */
        while ((map->count + 1) * 2 > capacity)
            capacity *= 2;
        if (resize(map, capacity) != ML_OK)
            return ML_ENOMEM;
    }
    slot = probe(map, key, len, hash, &found);
    if (found) {
        slot->value = value;
        return ML_OK;
    }
    copy = ml_malloc(len + 1);
    if (!copy)
        return ML_ENOMEM;
    memcpy(copy, key, len);
    copy[len] = '\0';
    if (slot->state == SLOT_EMPTY)
        map->used++;
    slot->state = SLOT_LIVE;
    slot->key = copy;
    slot->len = len;
    slot->hash = hash;
    slot->value = value;
    map->count++;
    return ML_OK;
}

/*
 * Remove 'key' and return its value (ownership goes back to the caller),
 * or NULL when it was absent.
 */
void *ml_map_remove(struct ml_map *map, const char *key, size_t len)
{
    struct ml_map_slot *slot;
    void *value;
    int found;

    if (map->count == 0)
        return NULL;
    slot = probe(map, key, len, hash_bytes(key, len), &found);
    if (!found)
        return NULL;
    value = slot->value;
    free(slot->key);
    slot->key = NULL;
    slot->value = NULL;
    slot->state = SLOT_DEAD;
    map->count--;
    return value;
}

/*
 * Iterate: start with 'pos' 0 and pass back what the previous call
 * returned. Returns 0 at the end, otherwise a position and the entry in
 * '*key', '*len', '*value'. The map must not change during a walk.
 */
size_t ml_map_next(const struct ml_map *map, size_t pos, const char **key,
                   size_t *len, void **value)
{
    for (; pos < map->capacity; pos++) {
        if (map->slots[pos].state != SLOT_LIVE)
            continue;
        *key = map->slots[pos].key;
        *len = map->slots[pos].len;
        *value = map->slots[pos].value;
        return pos + 1;
    }
    return 0;
}
