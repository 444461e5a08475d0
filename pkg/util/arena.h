#ifndef CS_PKG_UTIL_ARENA_H
#define CS_PKG_UTIL_ARENA_H
/*
 * Bump allocator for per-cycle scratch (nginx pools). Everything allocated from an arena is
 * released together by cs_arena_reset (keeps the first block for reuse) or cs_arena_destroy.
 * Nothing that outlives the cycle may point into it. Not thread-safe: one owner thread.
 */
#include <stdarg.h>
#include <stddef.h>

struct cs_arena_block;

struct cs_arena {
    struct cs_arena_block *head;  /* current block; older blocks chained behind it */
    size_t block_size;            /* size of the first block (and the one kept by reset) */
    size_t next_size;             /* size of the next block: doubles up to 64 KiB, so small
                                   * per-object arenas (a pod, a node) waste little */
    size_t used_total;            /* bytes handed out since the last reset (stats) */
};

/* Bytes malloc'd per block beyond its block size (the block header): an arena whose blocks
 * should fill an allocator size class exactly asks for (class - CS_ARENA_BLOCK_OVERHEAD). */
#define CS_ARENA_BLOCK_OVERHEAD 32

void cs_arena_init(struct cs_arena *a, size_t block_size);
/* Returns 16-byte aligned memory, never NULL. Zeroed when using cs_arena_zalloc. */
void *cs_arena_alloc(struct cs_arena *a, size_t n);
/* Initialise a with its first block allocated now and return that block's first n bytes,
 * zeroed: an object can live at the start of its own arena (one allocation for both). Such an
 * arena is destroyed from a copy of it, since destroying frees the object holding it. */
void *cs_arena_init_first(struct cs_arena *a, size_t block_size, size_t n);
void *cs_arena_zalloc(struct cs_arena *a, size_t n);
char *cs_arena_strdup(struct cs_arena *a, const char *s);
char *cs_arena_strndup(struct cs_arena *a, const char *s, size_t n);
char *cs_arena_printf(struct cs_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *cs_arena_vprintf(struct cs_arena *a, const char *fmt, va_list ap);
void cs_arena_reset(struct cs_arena *a);
void cs_arena_destroy(struct cs_arena *a);

#define CS_ARENA_NEW(a, type) ((type *)cs_arena_zalloc((a), sizeof(type)))
#define CS_ARENA_ARRAY(a, type, n) ((type *)cs_arena_zalloc((a), sizeof(type) * (size_t)(n)))

#endif
