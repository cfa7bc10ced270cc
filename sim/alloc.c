/* The allocation entry point, with a per-thread fault injector for tests:
 * gs_alloc_fail_nth(n) makes the n-th allocation from now fail once. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static _Thread_local long fail_in;   /* allocations left before the failure; 0 = off */
static _Thread_local long count;

static int should_fail(void)
{
    count++;
    if (fail_in > 0 && --fail_in == 0)
        return 1;
    return 0;
}

void gs_alloc_fail_nth(long n) { fail_in = n > 0 ? n : 0; }
long gs_alloc_count(void) { return count; }

void *gs_malloc(size_t size) { return should_fail() ? NULL : malloc(size ? size : 1); }
void *gs_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }
void *gs_realloc(void *p, size_t size) { return should_fail() ? NULL : realloc(p, size ? size : 1); }
void gs_free(void *p) { free(p); }

char *gs_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *r = gs_malloc(len + 1);
    if (r) {
        memcpy(r, s, len);
        r[len] = '\0';
    }
    return r;
}

char *gs_strdup(const char *s) { return gs_strndup(s, strlen(s)); }
