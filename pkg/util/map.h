#ifndef CS_PKG_UTIL_MAP_H
#define CS_PKG_UTIL_MAP_H
/*
 * String-keyed hash map with open addressing (linear probing, tombstone-free backward-shift
 * deletion). The map stores the key pointer, not a copy: the caller keeps the key alive for as
 * long as the entry exists (usually the value owns it, e.g. a pod's "ns/name"). Values are
 * opaque pointers. Not thread-safe; the owner serialises access.
 */
#include <stddef.h>
#include <stdint.h>

struct cs_map_entry {
    const char *key;
    uint64_t hash;
    void *val;
};

struct cs_map {
    struct cs_map_entry *slots;
    size_t cap;   /* power of two, or 0 */
    size_t len;
};

uint64_t cs_hash_str(const char *s);
uint64_t cs_hash_bytes(const void *p, size_t n);

void cs_map_init(struct cs_map *m);
void cs_map_destroy(struct cs_map *m);  /* frees the table, not keys or values */
void *cs_map_get(const struct cs_map *m, const char *key);
/* The key pointer stored for an equal key (NULL when absent): lets owners free owned keys. */
const char *cs_map_get_key(const struct cs_map *m, const char *key);
/* Insert or replace; returns the previous value (or NULL). On replace the stored key pointer
 * becomes `key`. */
void *cs_map_put(struct cs_map *m, const char *key, void *val);
/* Remove; returns the removed value (or NULL). */
void *cs_map_del(struct cs_map *m, const char *key);
size_t cs_map_len(const struct cs_map *m);
/* Iteration: for (size_t it = 0; cs_map_next(m, &it, &k, &v);) { ... } ; no mutation inside. */
int cs_map_next(const struct cs_map *m, size_t *it, const char **key, void **val);

#endif
