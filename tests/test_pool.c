/* Pools: objects are reused from the free list, never handed out twice
 * while live, and allocation failures are reported as NULL. */
#include <stdint.h>
#include <string.h>

#include "sim/alloc.h"
#include "sim/pool.h"
#include "tests/check.h"

int main(void)
{
    gs_pool p;
    gs_pool_init(&p, 40, 16);
    void *objs[100];
    for (int i = 0; i < 100; i++) {
        objs[i] = gs_pool_get(&p);
        CHECK(objs[i] != NULL);
        memset(objs[i], i, 40);
    }
    CHECK_EQ(p.live, 100);
    /* Contents survive: no two live objects overlap. */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(((unsigned char *)objs[i])[39], i);
    for (int i = 0; i < 100; i += 2)
        gs_pool_put(&p, objs[i]);
    CHECK_EQ(p.live, 50);
#ifndef GS_POOL_MALLOC
    size_t bytes = p.bytes;
    for (int i = 0; i < 50; i++)
        CHECK(gs_pool_get(&p) != NULL);
    CHECK_EQ(p.bytes, bytes);   /* steady state: reuse, no new slab */
#endif
    gs_pool_release(&p);

    gs_pool_init(&p, 8, 4);
    gs_alloc_fail_nth(1);
    CHECK(gs_pool_get(&p) == NULL);
    CHECK(gs_pool_get(&p) != NULL);
    gs_pool_release(&p);
    return CHECK_DONE();
}
