/* Slab pools with an intrusive free list. Invariant: every object ever
 * handed out lies in exactly one slab, and is either live or on the free
 * list. Getting and putting are O(1) pointer swaps; slabs are only returned
 * by gs_pool_release(). */
#include "pool.h"

#include <stdint.h>
#include "alloc.h"

typedef struct slab {
    struct slab *next;
    struct slab *prev;   /* used only with GS_POOL_MALLOC */
} slab;

#define ALIGN (sizeof(void *) > 8 ? sizeof(void *) : 8)

void gs_pool_init(gs_pool *p, size_t obj_size, size_t per_slab)
{
    if (obj_size < sizeof(void *))
        obj_size = sizeof(void *);
    p->obj_size = (obj_size + ALIGN - 1) / ALIGN * ALIGN;
    p->per_slab = per_slab ? per_slab : 1;
    p->free = NULL;
    p->slabs = NULL;
    p->live = 0;
    p->bytes = 0;
}

#ifdef GS_POOL_MALLOC

/* Each object is preceded by a slab header linking all live objects, so a
 * release can free what is still outstanding. */
void *gs_pool_get(gs_pool *p)
{
    slab *s = gs_calloc(1, sizeof(slab) + p->obj_size);
    if (!s)
        return NULL;
    s->prev = NULL;
    s->next = p->slabs;
    if (s->next)
        ((slab *)s->next)->prev = s;
    p->slabs = s;
    p->live++;
    return s + 1;
}

void gs_pool_put(gs_pool *p, void *obj)
{
    slab *s = (slab *)obj - 1;
    if (s->prev)
        s->prev->next = s->next;
    else
        p->slabs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    p->live--;
    gs_free(s);
}

#else

static int grow(gs_pool *p)
{
    size_t hdr = (sizeof(slab) + ALIGN - 1) / ALIGN * ALIGN;
    size_t size = hdr + p->obj_size * p->per_slab;
    /* Zeroed, so that fields such as an event's generation start defined. */
    slab *s = gs_calloc(1, size);
    if (!s)
        return -1;
    s->next = p->slabs;
    p->slabs = s;
    p->bytes += size;
    char *base = (char *)s + hdr;
    /* Thread the new objects in address order so that the first ones handed
     * out are adjacent in memory. */
    for (size_t i = p->per_slab; i-- > 0;) {
        void **obj = (void **)(base + i * p->obj_size);
        *obj = p->free;
        p->free = obj;
    }
    return 0;
}

void *gs_pool_get(gs_pool *p)
{
    if (!p->free && grow(p) != 0)
        return NULL;
    void **obj = p->free;
    p->free = *obj;
    p->live++;
    return obj;
}

void gs_pool_put(gs_pool *p, void *obj)
{
    *(void **)obj = p->free;
    p->free = obj;
    p->live--;
}

#endif

void gs_pool_release(gs_pool *p)
{
    slab *s = p->slabs;
    while (s) {
        slab *next = s->next;
        gs_free(s);
        s = next;
    }
    p->slabs = NULL;
    p->free = NULL;
    p->live = 0;
    p->bytes = 0;
}
