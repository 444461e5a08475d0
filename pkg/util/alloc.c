/*
 * Allocation wrappers: see alloc.h. Out-of-memory aborts after one fatal log line; a scheduler
 * that cannot allocate cannot keep its promises (never drop a pod), so it stops loudly and lets
 * its supervisor restart it, as Redis does.
 */
#include "pkg/util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "F0000 00:00:00.000000 alloc.c] \"Out of memory\" bytes=%zu\n", n);
    abort();
}

void *cs_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL) {
        oom(n);
    }
    return p;
}

void *cs_calloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL) {
        oom(nmemb * size);
    }
    return p;
}

void *cs_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        oom(n);
    }
    return q;
}

char *cs_strdup(const char *s)
{
    return cs_strndup(s, strlen(s));
}

char *cs_strndup(const char *s, size_t n)
{
    char *d = cs_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void *cs_grow(void *p, size_t elem, size_t need, size_t *cap)
{
    if (need <= *cap) {
        return p;
    }
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < need) {
        nc *= 2;
    }
    p = cs_realloc(p, nc * elem);
    *cap = nc;
    return p;
}

void cs_free(void *p)
{
    free(p);
}
