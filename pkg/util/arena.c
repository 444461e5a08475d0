/*
 * Arena: a chain of blocks, newest first. Allocation bumps an offset in the head block; a
 * request larger than a quarter of the block size gets a dedicated block so that big arrays do
 * not waste the remainder of the current one. Reset frees every block but the oldest default-
 * sized one, so a steady-state cycle allocates nothing from malloc.
 */
#include "pkg/util/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"

struct cs_arena_block {
    struct cs_arena_block *next;
    size_t size;
    size_t off;
    _Alignas(16) unsigned char data[];
};

_Static_assert(sizeof(struct cs_arena_block) == CS_ARENA_BLOCK_OVERHEAD,
               "CS_ARENA_BLOCK_OVERHEAD is the block header's size");

static struct cs_arena_block *new_block(size_t size)
{
    struct cs_arena_block *b = cs_malloc(sizeof(*b) + size);
    b->next = NULL;
    b->size = size;
    b->off = 0;
    return b;
}

void cs_arena_init(struct cs_arena *a, size_t block_size)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 64 * 1024;
    a->next_size = a->block_size;
    a->used_total = 0;
}

void *cs_arena_init_first(struct cs_arena *a, size_t block_size, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    cs_arena_init(a, block_size > n ? block_size : n);
    struct cs_arena_block *b = new_block(a->block_size);
    memset(b->data, 0, n);
    b->off = n;
    a->head = b;
    a->used_total = n;
    return b->data;
}

#define ARENA_MAX_GROWTH (64 * 1024)

void *cs_arena_alloc(struct cs_arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n == 0) {
        n = 16;
    }
    a->used_total += n;
    struct cs_arena_block *b = a->head;
    if (b && b->size - b->off >= n) {
        void *p = b->data + b->off;
        b->off += n;
        return p;
    }
    if (n > a->next_size / 4) {
        /* Dedicated block, linked behind the head so the head keeps serving small requests. */
        struct cs_arena_block *big = new_block(n);
        big->off = n;
        if (b) {
            big->next = b->next;
            b->next = big;
        } else {
            a->head = big;
        }
        return big->data;
    }
    b = new_block(a->next_size);
    if (a->next_size < ARENA_MAX_GROWTH) {
        a->next_size *= 2;
    }
    b->next = a->head;
    a->head = b;
    b->off = n;
    return b->data;
}

void *cs_arena_zalloc(struct cs_arena *a, size_t n)
{
    void *p = cs_arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

char *cs_arena_strndup(struct cs_arena *a, const char *s, size_t n)
{
    char *d = cs_arena_alloc(a, n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *cs_arena_strdup(struct cs_arena *a, const char *s)
{
    return cs_arena_strndup(a, s, strlen(s));
}

char *cs_arena_vprintf(struct cs_arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        n = 0;
    }
    char *d = cs_arena_alloc(a, (size_t)n + 1);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    return d;
}

char *cs_arena_printf(struct cs_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *d = cs_arena_vprintf(a, fmt, ap);
    va_end(ap);
    return d;
}

void cs_arena_reset(struct cs_arena *a)
{
    struct cs_arena_block *keep = NULL;
    struct cs_arena_block *b = a->head;
    while (b) {
        struct cs_arena_block *next = b->next;
        if (keep == NULL && b->size == a->block_size) {
            keep = b;
        } else {
            cs_free(b);
        }
        b = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->off = 0;
    }
    a->head = keep;
    a->next_size = a->block_size;
    a->used_total = 0;
}

void cs_arena_destroy(struct cs_arena *a)
{
    struct cs_arena_block *b = a->head;
    while (b) {
        struct cs_arena_block *next = b->next;
        cs_free(b);
        b = next;
    }
    a->head = NULL;
    a->used_total = 0;
}
