/* Fixed-size object pools with free lists: events and requests come from
 * here, so the steady state of a run allocates nothing.
 *
 * Objects are carved from slabs that are only returned in
 * gs_pool_release(). Built with GS_POOL_MALLOC, every object is its own
 * allocation (still freed by gs_pool_release() if outstanding) so memory
 * checkers see each one. */
#ifndef GS_SIM_POOL_H
#define GS_SIM_POOL_H

#include <stddef.h>

typedef struct gs_pool {
    size_t obj_size;     /* rounded up to pointer alignment */
    size_t per_slab;
    void  *free;         /* free list threaded through the objects */
    void  *slabs;        /* list of slabs (or, with GS_POOL_MALLOC, live objects) */
    size_t live;         /* objects handed out and not returned */
    size_t bytes;        /* bytes obtained from gs_malloc */
} gs_pool;

/* obj_size > 0; per_slab objects are allocated at a time. */
void  gs_pool_init(gs_pool *p, size_t obj_size, size_t per_slab);
/* An object (contents undefined), or NULL when out of memory. */
void *gs_pool_get(gs_pool *p);
/* Give obj (from this pool) back. */
void  gs_pool_put(gs_pool *p, void *obj);
/* Free every slab; outstanding objects become invalid. */
void  gs_pool_release(gs_pool *p);

#endif
