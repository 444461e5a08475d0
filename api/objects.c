/*
 * Pod and Node lifetime and lookups. Objects are immutable after decode, so the only shared
 * mutable word is the reference count; the last unref releases the arena (every string and
 * array of the object) and the object itself. Lookups are linear scans: label sets are small
 * and a scan over a contiguous array beats hashing at these sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "api/types.h"
#include "pkg/util/alloc.h"

struct cs_pod *cs_pod_new(size_t room)
{
    struct cs_arena a;
    struct cs_pod *p = cs_arena_init_first(&a, sizeof(struct cs_pod) + room, sizeof(*p));
    /* What does not fit spills into blocks of the usual 1 KiB class, not of the first size. */
    a.next_size = 1024 - CS_ARENA_BLOCK_OVERHEAD;
    p->arena = a;
    p->magic = CS_POD_MAGIC;
    atomic_init(&p->refcnt, 1);
    return p;
}

struct cs_pod *cs_pod_ref(struct cs_pod *p)
{
    if (p != NULL)
        atomic_fetch_add_explicit(&p->refcnt, 1, memory_order_relaxed);
    return p;
}

void cs_pod_unref(struct cs_pod *p)
{
    if (p == NULL)
        return;
    if (p->magic != CS_POD_MAGIC)
        abort();
    if (atomic_fetch_sub_explicit(&p->refcnt, 1, memory_order_acq_rel) == 1) {
        p->magic = 0;
        struct cs_pod *base = p->base;
        struct cs_arena a = p->arena;  /* p itself lives in a's first block */
        cs_arena_destroy(&a);
        cs_pod_unref(base);
    }
}

struct cs_node *cs_node_ref(struct cs_node *n)
{
    if (n != NULL)
        atomic_fetch_add_explicit(&n->refcnt, 1, memory_order_relaxed);
    return n;
}

void cs_node_unref(struct cs_node *n)
{
    if (n == NULL)
        return;
    if (n->magic != CS_NODE_MAGIC)
        abort();
    if (atomic_fetch_sub_explicit(&n->refcnt, 1, memory_order_acq_rel) == 1) {
        n->magic = 0;
        cs_arena_destroy(&n->arena);
        cs_free(n);
    }
}

const char *cs_label_get(const struct cs_label *labels, uint32_t n, const char *key)
{
    /* Interned keys usually match by pointer; strcmp covers callers holding other copies. */
    for (uint32_t i = 0; i < n; i++) {
        if (labels[i].key == key)
            return labels[i].value;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(labels[i].key, key) == 0)
            return labels[i].value;
    }
    return NULL;
}

const char *cs_pod_label(const struct cs_pod *p, const char *key)
{
    return cs_label_get(p->labels, p->n_labels, key);
}

const char *cs_pod_annotation(const struct cs_pod *p, const char *key)
{
    return cs_label_get(p->annotations, p->n_annotations, key);
}

const char *cs_node_label(const struct cs_node *n, const char *key)
{
    return cs_label_get(n->labels, n->n_labels, key);
}

const char *cs_node_annotation(const struct cs_node *n, const char *key)
{
    return cs_label_get(n->annotations, n->n_annotations, key);
}

static const struct cs_condition *find_condition(const struct cs_condition *c, uint32_t n,
                                                 const char *type)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(c[i].type, type) == 0)
            return &c[i];
    }
    return NULL;
}

const struct cs_condition *cs_pod_condition(const struct cs_pod *p, const char *type)
{
    return find_condition(p->conditions, p->n_conditions, type);
}

const struct cs_condition *cs_node_condition(const struct cs_node *n, const char *type)
{
    return find_condition(n->conditions, n->n_conditions, type);
}

const struct cs_owner_ref *cs_pod_controller(const struct cs_pod *p)
{
    for (uint32_t i = 0; i < p->n_owners; i++) {
        if (p->owners[i].controller)
            return &p->owners[i];
    }
    return NULL;
}
