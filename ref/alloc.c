/*
 * alloc.c - every allocation of the library, counted, and failed on
 * request: Lua's allocator (ml_lua_alloc) and the C heap (ml_malloc,
 * ml_calloc).
 *
 * Allocation-failure injection exists so that `make oom` can prove the
 * out-of-memory paths (tools/oom): each allocation request is numbered
 * from 1, and ml_alloc_fail(n, persistent) makes request n fail, or
 * request n and every later one. The setting and the counter are
 * process-wide, like the heap. With no failure requested the cost is one
 * increment and one compare per request.
 *
 * Only requests that may fail are numbered: Lua's allocator must not fail
 * a shrink (lua_Alloc in the manual), and frees cannot fail.
 */
#include <stdlib.h>

#include "modlife-int.h"

static struct {
    unsigned long count;            /* requests numbered so far */
    unsigned long fail_at;          /* 0: never fail */
    unsigned long caught;           /* memory errors Prosody catches */
    bool persistent;                /* fail every request from fail_at */
    /* The Lua request that failed, which Lua retries once after an
     * emergency collection: the retry fails too, so that the failure
     * reaches the code under test instead of being absorbed. */
    bool retry_pending;
    const void *retry_ptr;
    size_t retry_osize, retry_nsize;
} inject;

/* The numbers of the first requests that came from the library's own C
 * code, whose failure paths tools/oom tries first: they are few, and
 * nothing but this code handles them. */
#define C_REQUESTS_MAX 1024
static unsigned long c_requests[C_REQUESTS_MAX];
static size_t c_count;

/*
 * Fail request 'n' (counted from 1; 0 turns injection off), and with
 * 'persistent' every request after it too. Resets the counter: call it
 * before ml_new.
 */
void ml_alloc_fail(unsigned long n, int persistent)
{
    inject.count = 0;
    c_count = 0;
    inject.fail_at = n;
    inject.persistent = persistent != 0;
    inject.retry_pending = false;
}

/* The number of allocation requests numbered so far in this process. */
unsigned long ml_alloc_count(void)
{
    return inject.count;
}

/*
 * Note an error on top of the stack, raised with 'status', that Prosody
 * catches (ml_pcall_traceback) or returns as a value (a compile error):
 * count it when it is a memory error. Such an error may reach no output
 * line (activation only logs a failed load), hence the count.
 */
void ml_alloc_note_caught(lua_State *L, int status)
{
    if (ml_is_memory_error(L, status))
        inject.caught++;
}

/* Memory errors caught so far (ml_alloc_note_caught). */
unsigned long ml_alloc_caught(void)
{
    return inject.caught;
}

/* Number one request; whether it must fail. */
static bool must_fail(void)
{
    unsigned long n = ++inject.count;

    if (inject.fail_at == 0 || n < inject.fail_at)
        return false;
    return n == inject.fail_at || inject.persistent;
}

/* Number one request of the C heap; whether it must fail. */
static bool c_must_fail(void)
{
    bool fail = must_fail();

    if (c_count < C_REQUESTS_MAX)
        c_requests[c_count++] = inject.count;
    return fail;
}

/* malloc, numbered. */
void *ml_malloc(size_t size)
{
    return c_must_fail() ? NULL : malloc(size);
}

/* calloc, numbered. */
void *ml_calloc(size_t count, size_t size)
{
    return c_must_fail() ? NULL : calloc(count, size);
}

/*
 * The numbers of the requests so far that were the library's own C
 * allocations (the first C_REQUESTS_MAX of them), in '*numbers' (static
 * storage); returns how many.
 */
size_t ml_alloc_c_requests(const unsigned long **numbers)
{
    *numbers = c_requests;
    return c_count;
}

/*
 * The lua_Alloc of every state the library opens (ud unused). Blocks come
 * from the C heap as with luaL_newstate, so a state may be switched to it
 * after creation.
 */
void *ml_lua_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    /* With ptr NULL, osize is the type of the object, not a size. */
    if (ptr && nsize <= osize)
        return realloc(ptr, nsize);
    if (inject.retry_pending) {
        inject.retry_pending = false;
        if (ptr == inject.retry_ptr && osize == inject.retry_osize &&
            nsize == inject.retry_nsize)
            return NULL;        /* not numbered: counting never sees it */
    }
    if (must_fail()) {
        inject.retry_pending = true;
        inject.retry_ptr = ptr;
        inject.retry_osize = osize;
        inject.retry_nsize = nsize;
        return NULL;
    }
    return realloc(ptr, nsize);
}
