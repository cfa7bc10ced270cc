/* The single allocation entry point. Every allocation in gatesim goes through
 * these so that tests can make the n-th allocation fail. */
#ifndef GS_SIM_ALLOC_H
#define GS_SIM_ALLOC_H

#include <stddef.h>

void *gs_malloc(size_t size);
void *gs_calloc(size_t n, size_t size);
void *gs_realloc(void *p, size_t size);
void  gs_free(void *p);
/* Caller frees with gs_free(). NULL on allocation failure. */
char *gs_strdup(const char *s);
/* Caller frees with gs_free(). Copies at most n bytes and terminates. */
char *gs_strndup(const char *s, size_t n);

/* Test hook: the n-th allocation from now on (1-based) fails, and every one
 * after it succeeds again; 0 disables. Per thread. */
void gs_alloc_fail_nth(long n);
/* Number of allocations made on this thread since start (for tests). */
long gs_alloc_count(void);

#endif
