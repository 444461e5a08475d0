/*
 * Resource-name table and resource-vector arithmetic.
 *
 * The table is append-only: a slot, once given to a name, keeps it for the life of the process.
 * Readers scan names[0..n) without the lock (n is published with release order after the name
 * pointer is stored), writers take the mutex, re-check and append. With CS_RES_MAX slots the
 * scan is a handful of strcmp calls, cheaper than hashing.
 */
#include "api/resource.h"

#include <stdio.h>
#include <string.h>

#include "api/quantity.h"
#include "pkg/util/alloc.h"
#include "pkg/util/arena.h"
#include "pkg/util/intern.h"
#include "pkg/util/buf.h"

static const char *const fixed_names[CS_RES_NFIXED] = {"cpu", "memory", "pods",
                                                        "ephemeral-storage"};

void cs_resource_names_init(struct cs_resource_names *t)
{
    pthread_mutex_init(&t->mu, NULL);
    memset(t->names, 0, sizeof(t->names));
    for (int i = 0; i < CS_RES_NFIXED; i++)
        t->names[i] = cs_strdup(fixed_names[i]);
    atomic_store(&t->n, CS_RES_NFIXED);
}

void cs_resource_names_destroy(struct cs_resource_names *t)
{
    int n = atomic_load(&t->n);
    for (int i = 0; i < n; i++)
        cs_free((void *)t->names[i]);
    pthread_mutex_destroy(&t->mu);
}

int cs_resource_slot_lookup(struct cs_resource_names *t, const char *name)
{
    int n = atomic_load_explicit(&t->n, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        if (strcmp(t->names[i], name) == 0)
            return i;
    }
    return -1;
}

int cs_resource_slot(struct cs_resource_names *t, const char *name)
{
    int slot = cs_resource_slot_lookup(t, name);
    if (slot >= 0)
        return slot;
    pthread_mutex_lock(&t->mu);
    slot = cs_resource_slot_lookup(t, name);
    if (slot < 0) {
        int n = atomic_load(&t->n);
        if (n < CS_RES_MAX) {
            t->names[n] = cs_strdup(name);
            atomic_store_explicit(&t->n, n + 1, memory_order_release);
            slot = n;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return slot;
}

const char *cs_resource_name(struct cs_resource_names *t, int slot)
{
    if (slot < 0 || slot >= atomic_load_explicit(&t->n, memory_order_acquire))
        return NULL;
    return t->names[slot];
}

int cs_resource_count(struct cs_resource_names *t)
{
    return atomic_load_explicit(&t->n, memory_order_acquire);
}

bool cs_resource_is_milli(int slot)
{
    return slot == CS_RES_CPU;
}

bool cs_resource_is_hugepages(const char *name)
{
    return strncmp(name, "hugepages-", 10) == 0;
}

bool cs_resource_is_extended(const char *name)
{
    if (strchr(name, '/') == NULL || strncmp(name, "requests.", 9) == 0)
        return false;
    return strstr(name, "kubernetes.io/") == NULL;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? INT64_MAX : INT64_MIN;
    return r;
}

void cs_res_add(struct cs_resources *a, const struct cs_resources *b)
{
    for (int i = 0; i < CS_RES_MAX; i++)
        a->v[i] = sat_add(a->v[i], b->v[i]);
    a->present |= b->present;
}

void cs_res_sub(struct cs_resources *a, const struct cs_resources *b)
{
    for (int i = 0; i < CS_RES_MAX; i++)
        a->v[i] = sat_sub(a->v[i], b->v[i]);
}

void cs_res_max(struct cs_resources *a, const struct cs_resources *b)
{
    for (int i = 0; i < CS_RES_MAX; i++) {
        if (b->v[i] > a->v[i])
            a->v[i] = b->v[i];
    }
    a->present |= b->present;
}

void cs_res_list_expand(const struct cs_res_list *l, struct cs_resources *out)
{
    memset(out, 0, sizeof(*out));
    if (l == NULL)
        return;
    out->present = l->present;
    int k = 0;
    for (int i = 0; i < CS_RES_MAX; i++) {
        if (l->present & (1u << i))
            out->v[i] = l->v[k++];
    }
}

struct cs_res_list *cs_res_list_pack(struct cs_arena *a, const struct cs_resources *r)
{
    if (r->present == 0)
        return NULL;
    int n = __builtin_popcount(r->present);
    struct cs_res_list *l = cs_arena_alloc(a, sizeof(*l) + sizeof(int64_t) * (size_t)n);
    l->present = r->present;
    int k = 0;
    for (int i = 0; i < CS_RES_MAX; i++) {
        if (r->present & (1u << i))
            l->v[k++] = r->v[i];
    }
    return l;
}

bool cs_res_list_eq(const struct cs_res_list *a, const struct cs_res_list *b)
{
    uint32_t pa = a ? a->present : 0, pb = b ? b->present : 0;
    if (pa != pb)
        return false;
    return pa == 0 || memcmp(a->v, b->v, sizeof(int64_t) * (size_t)__builtin_popcount(pa)) == 0;
}

int64_t cs_res_extra_get(const struct cs_res_extras *x, const char *name)
{
    for (uint32_t i = 0; x && i < x->n; i++) {
        if (x->e[i].name == name || strcmp(x->e[i].name, name) == 0)
            return x->e[i].v;
    }
    return 0;
}

void cs_res_extra_apply(struct cs_res_extras *x, struct cs_arena *a, const char *name, int64_t v,
                        char op)
{
    struct cs_res_extra *it = NULL;
    for (uint32_t i = 0; i < x->n; i++) {
        if (x->e[i].name == name || strcmp(x->e[i].name, name) == 0) {
            it = &x->e[i];
            break;
        }
    }
    if (it == NULL) {
        if (x->n == x->cap) {
            uint32_t cap = x->cap ? x->cap * 2 : 4;
            struct cs_res_extra *e;
            if (a) {
                e = cs_arena_alloc(a, sizeof(*e) * cap);
                if (x->n)
                    memcpy(e, x->e, sizeof(*e) * x->n);
            } else {
                e = cs_realloc(x->e, sizeof(*e) * cap);
            }
            x->e = e;
            x->cap = cap;
        }
        it = &x->e[x->n++];
        it->name = name;
        it->v = 0;
    }
    switch (op) {
    case '+':
        it->v += v;
        break;
    case '-':
        it->v -= v;
        break;
    case 'M':
        it->v = v > it->v ? v : it->v;
        break;
    default:
        it->v = v;
        break;
    }
}

int cs_resources_decode(struct cs_resource_names *t, const json_t *obj, const char *path,
                        struct cs_resources *out, char *err, size_t errlen)
{
    return cs_resources_decode_sink(t, obj, path, out, NULL, err, errlen);
}

int cs_resources_decode_sink(struct cs_resource_names *t, const json_t *obj, const char *path,
                             struct cs_resources *out, const struct cs_res_sink *sink, char *err,
                             size_t errlen)
{
    const char *name;
    json_t *val;
    char qerr[160];

    memset(out, 0, sizeof(*out));
    if (obj == NULL || json_is_null(obj))
        return 0;
    if (!json_is_object(obj)) {
        snprintf(err, errlen, "%s: expected an object of quantities", path);
        return -1;
    }
    json_object_foreach((json_t *)obj, name, val) {
        struct cs_quantity q;
        if (cs_quantity_from_json(val, &q, qerr, sizeof(qerr)) != 0) {
            snprintf(err, errlen, "%s.%s: %s", path, name, qerr);
            return -1;
        }
        int slot = cs_resource_slot(t, name);
        if (slot < 0 && sink && sink->out) {
            /* Past the dense table: kept by name (extended resources are whole units). */
            cs_res_extra_apply(sink->out, sink->a, cs_intern(sink->strings, name),
                               cs_quantity_value(&q), '=');
            continue;
        }
        if (slot < 0) {
            snprintf(err, errlen, "%s.%s: too many distinct resource names (limit %d)", path, name,
                     CS_RES_MAX);
            return -1;
        }
        cs_res_set(out, slot, cs_resource_is_milli(slot) ? cs_quantity_milli(&q)
                                                         : cs_quantity_value(&q));
    }
    return 0;
}

void cs_resources_format(struct cs_resource_names *t, const struct cs_resources *r, struct cs_buf *b)
{
    bool first = true;
    for (int i = 0; i < CS_RES_MAX; i++) {
        if (!(r->present & (1u << i)))
            continue;
        const char *name = cs_resource_name(t, i);
        cs_buf_printf(b, "%s%s=%lld%s", first ? "" : ",", name ? name : "?", (long long)r->v[i],
                      cs_resource_is_milli(i) ? "m" : "");
        first = false;
    }
}
