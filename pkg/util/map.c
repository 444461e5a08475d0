/*
 * Open-addressing hash map (see map.h). Load factor is kept under 0.75. Deletion shifts later
 * entries of the same probe run backwards, so there are no tombstones and lookups stay short
 * under churn, which matters for the pod cache where pods come and go all day.
 */
#include "pkg/util/map.h"

#include <string.h>

#include "pkg/util/alloc.h"

uint64_t cs_hash_bytes(const void *p, size_t n)
{
    /* FNV-1a 64 with a final avalanche (splitmix64 finaliser). */
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

uint64_t cs_hash_str(const char *s)
{
    return cs_hash_bytes(s, strlen(s));
}

void cs_map_init(struct cs_map *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void cs_map_destroy(struct cs_map *m)
{
    cs_free(m->slots);
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

static size_t find(const struct cs_map *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    for (;;) {
        const struct cs_map_entry *e = &m->slots[i];
        if (e->key == NULL) {
            return i;
        }
        if (e->hash == h && (e->key == key || strcmp(e->key, key) == 0)) {
            return i;
        }
        i = (i + 1) & mask;
    }
}

static void rehash(struct cs_map *m, size_t ncap)
{
    struct cs_map_entry *old = m->slots;
    size_t ocap = m->cap;
    m->slots = cs_calloc(ncap, sizeof(*m->slots));
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (old[i].key) {
            size_t j = find(m, old[i].key, old[i].hash);
            m->slots[j] = old[i];
        }
    }
    cs_free(old);
}

void *cs_map_get(const struct cs_map *m, const char *key)
{
    if (m->len == 0) {
        return NULL;
    }
    size_t i = find(m, key, cs_hash_str(key));
    return m->slots[i].key ? m->slots[i].val : NULL;
}

const char *cs_map_get_key(const struct cs_map *m, const char *key)
{
    if (m->len == 0) {
        return NULL;
    }
    size_t i = find(m, key, cs_hash_str(key));
    return m->slots[i].key;
}

void *cs_map_put(struct cs_map *m, const char *key, void *val)
{
    if ((m->len + 1) * 4 > m->cap * 3) {
        rehash(m, m->cap ? m->cap * 2 : 16);
    }
    uint64_t h = cs_hash_str(key);
    size_t i = find(m, key, h);
    struct cs_map_entry *e = &m->slots[i];
    if (e->key) {
        void *prev = e->val;
        e->key = key;
        e->val = val;
        return prev;
    }
    e->key = key;
    e->hash = h;
    e->val = val;
    m->len++;
    return NULL;
}

void *cs_map_del(struct cs_map *m, const char *key)
{
    if (m->len == 0) {
        return NULL;
    }
    size_t mask = m->cap - 1;
    size_t i = find(m, key, cs_hash_str(key));
    if (m->slots[i].key == NULL) {
        return NULL;
    }
    void *val = m->slots[i].val;
    m->slots[i].key = NULL;
    m->len--;
    /* Backward-shift: move later members of the run into the hole when that shortens them. */
    size_t hole = i;
    size_t j = (i + 1) & mask;
    while (m->slots[j].key) {
        size_t home = m->slots[j].hash & mask;
        size_t dist_j = (j - home) & mask;
        size_t dist_hole = (hole - home) & mask;
        if (dist_hole < dist_j) {
            m->slots[hole] = m->slots[j];
            m->slots[j].key = NULL;
            hole = j;
        }
        j = (j + 1) & mask;
    }
    return val;
}

size_t cs_map_len(const struct cs_map *m)
{
    return m->len;
}

int cs_map_next(const struct cs_map *m, size_t *it, const char **key, void **val)
{
    while (*it < m->cap) {
        const struct cs_map_entry *e = &m->slots[(*it)++];
        if (e->key) {
            if (key) {
                *key = e->key;
            }
            if (val) {
                *val = e->val;
            }
            return 1;
        }
    }
    return 0;
}
