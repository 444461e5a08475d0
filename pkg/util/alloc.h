#ifndef CS_PKG_UTIL_ALLOC_H
#define CS_PKG_UTIL_ALLOC_H
/*
 * Allocation wrappers. Like Redis' zmalloc, running out of memory is fatal: the wrappers log a
 * klog-format fatal line naming the size and abort, so callers never see NULL. Every heap
 * allocation in cosched goes through these, which keeps one place to count or instrument them.
 */
#include <stddef.h>

void *cs_malloc(size_t n);
void *cs_calloc(size_t nmemb, size_t size);
void *cs_realloc(void *p, size_t n);
char *cs_strdup(const char *s);
char *cs_strndup(const char *s, size_t n);
/* Grow an array to hold at least `need` elements of `elem` bytes; *cap is updated. */
void *cs_grow(void *p, size_t elem, size_t need, size_t *cap);
void cs_free(void *p);

#endif
