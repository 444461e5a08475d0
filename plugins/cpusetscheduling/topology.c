/* CPU topology parsing and the cpuset allocator (topology.h). */
#include "plugins/cpusetscheduling/topology.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pkg/util/alloc.h"

static int cmp_cpu(const void *a, const void *b)
{
    const struct cs_cpu *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Distinct ascending values of one field; out-array owned by the caller. */
static int32_t *distinct(const struct cs_cpu *c, uint32_t n, size_t off, uint32_t *nout)
{
    int32_t *v = cs_malloc(sizeof(*v) * n);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(&v[i], (const char *)&c[i] + off, sizeof(int32_t));
    }
    qsort(v, n, sizeof(*v), cmp_i32);
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k == 0 || v[k - 1] != v[i]) {
            v[k++] = v[i];
        }
    }
    *nout = k;
    return v;
}

static uint32_t index_of(const int32_t *v, uint32_t n, int32_t x)
{
    const int32_t *p = bsearch(&x, v, n, sizeof(*v), cmp_i32);
    return p ? (uint32_t)(p - v) : 0;
}

static int int_field(const json_t *o, const char *k, int32_t *out)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1 << 20) {
        return -1;
    }
    *out = (int32_t)json_integer_value(v);
    return 0;
}

void cs_cpu_topo_unref(struct cs_cpu_topo *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refcnt, 1) != 1) {
        return;
    }
    cs_free(t->cpus);
    cs_free(t->numa_ids);
    cs_free(t->socket_ids);
    cs_free(t->numa_of);
    cs_free(t->socket_of);
    cs_free(t->core_start);
    cs_free(t->core_list);
    cs_free(t->numa_socket);
    cs_free(t);
}

struct cs_cpu_topo *cs_cpu_topo_ref(struct cs_cpu_topo *t)
{
    if (t) {
        atomic_fetch_add(&t->refcnt, 1);
    }
    return t;
}

/* (socket, core) pairs to dense core indexes, and the CSR lists of each core's cpus. */
static void index_cores(struct cs_cpu_topo *t)
{
    uint32_t n = t->n;
    int64_t *keys = cs_malloc(sizeof(*keys) * n);
    for (uint32_t i = 0; i < n; i++) {
        keys[i] = ((int64_t)t->cpus[i].socket << 32) | (uint32_t)t->cpus[i].core;
    }
    int64_t *sorted = cs_malloc(sizeof(*sorted) * n);
    memcpy(sorted, keys, sizeof(*sorted) * n);
    for (uint32_t i = 1; i < n; i++) {       /* insertion sort: n is a few hundred */
        int64_t x = sorted[i];
        uint32_t j = i;
        for (; j > 0 && sorted[j - 1] > x; j--) {
            sorted[j] = sorted[j - 1];
        }
        sorted[j] = x;
    }
    uint32_t nc = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (nc == 0 || sorted[nc - 1] != sorted[i]) {
            sorted[nc++] = sorted[i];
        }
    }
    t->n_cores = nc;
    t->core_start = cs_calloc(nc + 1, sizeof(*t->core_start));
    t->core_list = cs_malloc(sizeof(*t->core_list) * n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t lo = 0, hi = nc;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (sorted[mid] < keys[i]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        t->cpus[i].core_idx = lo;
        t->core_start[lo + 1]++;
    }
    for (uint32_t c = 0; c < nc; c++) {
        uint32_t size = t->core_start[c + 1];
        if (size > t->threads) {
            t->threads = size;
        }
        t->core_start[c + 1] = t->core_start[c] + size;
    }
    uint32_t *fill = cs_calloc(nc ? nc : 1, sizeof(*fill));
    for (uint32_t i = 0; i < n; i++) {       /* cpus are sorted by id: lists come out by id */
        uint32_t c = t->cpus[i].core_idx;
        t->core_list[t->core_start[c] + fill[c]++] = i;
    }
    cs_free(fill);
    cs_free(keys);
    cs_free(sorted);
}

struct cs_cpu_topo *cs_cpu_topo_parse(const char *text, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(text ? text : "", 0, &je);
    if (root == NULL) {
        snprintf(err, errlen, "invalid JSON: %s", je.text);
        return NULL;
    }
    const json_t *detail = json_object_get(root, "detail");
    size_t n = json_array_size(detail);
    if (!json_is_array(detail) || n == 0) {
        snprintf(err, errlen, "\"detail\" must be a non-empty list of CPUs");
        json_decref(root);
        return NULL;
    }
    if (n > CS_CPUSET_MAX_ID + 1) {
        snprintf(err, errlen, "%zu CPUs listed, at most %d supported", n, CS_CPUSET_MAX_ID + 1);
        json_decref(root);
        return NULL;
    }
    struct cs_cpu_topo *t = cs_calloc(1, sizeof(*t));
    atomic_init(&t->refcnt, 1);
    t->cpus = cs_calloc(n, sizeof(*t->cpus));
    t->n = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(detail, i);
        struct cs_cpu *c = &t->cpus[i];
        if (!json_is_object(e) || int_field(e, "id", &c->id) || int_field(e, "core", &c->core) ||
            int_field(e, "socket", &c->socket) || int_field(e, "node", &c->numa)) {
            snprintf(err, errlen,
                     "detail[%zu]: id, core, socket and node must be non-negative integers", i);
            goto bad;
        }
        if (c->id > CS_CPUSET_MAX_ID) {
            snprintf(err, errlen, "detail[%zu]: cpu id %d is above %d", i, c->id,
                     CS_CPUSET_MAX_ID);
            goto bad;
        }
    }
    qsort(t->cpus, n, sizeof(*t->cpus), cmp_cpu);
    for (size_t i = 1; i < n; i++) {
        if (t->cpus[i].id == t->cpus[i - 1].id) {
            snprintf(err, errlen, "cpu id %d is listed twice", t->cpus[i].id);
            goto bad;
        }
    }
    json_decref(root);
    root = NULL;
    t->numa_ids = distinct(t->cpus, t->n, offsetof(struct cs_cpu, numa), &t->n_numa);
    t->socket_ids = distinct(t->cpus, t->n, offsetof(struct cs_cpu, socket), &t->n_sockets);
    if (t->n_numa > CS_CPUSET_MAX_NUMA || t->n_sockets > CS_CPUSET_MAX_SOCKETS) {
        snprintf(err, errlen, "%u NUMA nodes and %u sockets listed, at most %d and %d supported",
                 t->n_numa, t->n_sockets, CS_CPUSET_MAX_NUMA, CS_CPUSET_MAX_SOCKETS);
        goto bad;
    }
    t->numa_of = cs_malloc(sizeof(*t->numa_of) * n);
    t->socket_of = cs_malloc(sizeof(*t->socket_of) * n);
    t->numa_socket = cs_calloc(t->n_numa, sizeof(*t->numa_socket));
    bool *seen = cs_calloc(t->n_numa, sizeof(*seen));
    for (uint32_t i = 0; i < t->n; i++) {
        t->numa_of[i] = index_of(t->numa_ids, t->n_numa, t->cpus[i].numa);
        t->socket_of[i] = index_of(t->socket_ids, t->n_sockets, t->cpus[i].socket);
        if (!seen[t->numa_of[i]]) {
            seen[t->numa_of[i]] = true;
            t->numa_socket[t->numa_of[i]] = t->socket_of[i];
        }
    }
    cs_free(seen);
    index_cores(t);
    return t;
bad:
    json_decref(root);
    cs_cpu_topo_unref(t);
    return NULL;
}

/* ---- allocation --------------------------------------------------------------------------- */

/* Scratch of one allocation; machines up to WORK_CPUS CPUs (and as many NUMA nodes and
 * sockets) use the inline arrays, larger ones the heap. */
#define WORK_CPUS 512
struct work {
    const struct cs_cpu_topo *t;
    bool *free;                    /* per cpu index */
    uint32_t *fn;                  /* free per NUMA index */
    uint32_t *fs;                  /* free per socket index */
    uint32_t total;
    bool heap;
    bool free_buf[WORK_CPUS];
    uint32_t fn_buf[WORK_CPUS];
    uint32_t fs_buf[WORK_CPUS];
};

static void work_init(struct work *w, const struct cs_cpu_topo *t, cs_cpu_free_fn free_of,
                      const void *arg)
{
    w->t = t;
    w->heap = t->n > WORK_CPUS;
    if (w->heap) {
        w->free = cs_calloc(t->n, sizeof(*w->free));
        w->fn = cs_calloc(t->n_numa, sizeof(*w->fn));
        w->fs = cs_calloc(t->n_sockets, sizeof(*w->fs));
    } else {
        w->free = w->free_buf;
        w->fn = w->fn_buf;
        w->fs = w->fs_buf;
        memset(w->free, 0, sizeof(*w->free) * t->n);
        memset(w->fn, 0, sizeof(*w->fn) * t->n_numa);
        memset(w->fs, 0, sizeof(*w->fs) * t->n_sockets);
    }
    w->total = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (free_of(arg, t->cpus[i].id)) {
            w->free[i] = true;
            w->fn[t->numa_of[i]]++;
            w->fs[t->socket_of[i]]++;
            w->total++;
        }
    }
}

static void work_free(struct work *w)
{
    if (w->heap) {
        cs_free(w->free);
        cs_free(w->fn);
        cs_free(w->fs);
    }
}

void cs_cpu_count_free(const struct cs_cpu_topo *t, cs_cpu_free_fn free_of, const void *arg,
                       struct cs_cpu_free *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < t->n; i++) {
        if (free_of(arg, t->cpus[i].id)) {
            out->numa[t->numa_of[i]]++;
            out->socket[t->socket_of[i]]++;
            out->total++;
        }
    }
}

/* Best fit among n candidates with free counts f[]: the least left over, then the lowest
 * index; -1 when none has k. */
static int best_fit(const uint32_t *f, uint32_t n, uint32_t k)
{
    int best = -1;
    for (uint32_t i = 0; i < n; i++) {
        if (f[i] >= k && (best < 0 || f[i] < f[best])) {
            best = (int)i;
        }
    }
    return best;
}

int cs_cpu_fit_level_free(const struct cs_cpu_topo *t, const struct cs_cpu_free *f, uint32_t k)
{
    if (best_fit(f->numa, t->n_numa, k) >= 0) {
        return 1;
    }
    if (best_fit(f->socket, t->n_sockets, k) >= 0) {
        return 2;
    }
    return f->total >= k ? 3 : 0;
}

int cs_cpu_fit_level(const struct cs_cpu_topo *t, cs_cpu_free_fn free_of, const void *arg,
                     uint32_t k)
{
    struct cs_cpu_free f;
    cs_cpu_count_free(t, free_of, arg, &f);
    return cs_cpu_fit_level_free(t, &f, k);
}

static void take(struct work *w, uint32_t i, uint32_t *out, uint32_t *n_out)
{
    w->free[i] = false;
    out[(*n_out)++] = i;
}

/* r CPUs from NUMA node `numa`: whole free cores first, then partly used cores, then further
 * whole cores, each core's CPUs by id. */
static void take_numa(struct work *w, uint32_t numa, uint32_t r, uint32_t *out, uint32_t *n_out)
{
    const struct cs_cpu_topo *t = w->t;
    uint32_t want_whole = t->threads > 1 ? r / t->threads : 0;
    for (int pass = 0; pass < 3 && r > 0; pass++) {
        for (uint32_t i = 0; i < t->n && r > 0; i++) {
            if (!w->free[i] || t->numa_of[i] != numa) {
                continue;
            }
            uint32_t c = t->cpus[i].core_idx;
            uint32_t size = t->core_start[c + 1] - t->core_start[c], fc = 0;
            for (uint32_t j = t->core_start[c]; j < t->core_start[c + 1]; j++) {
                fc += w->free[t->core_list[j]] && t->numa_of[t->core_list[j]] == numa;
            }
            bool whole = fc == size && size == t->threads;
            if (pass == 0 && !(whole && want_whole > 0 && r >= size)) {
                continue;
            }
            if (pass == 1 && whole) {
                continue;
            }
            if (pass == 0) {
                want_whole--;
            }
            for (uint32_t j = t->core_start[c]; j < t->core_start[c + 1] && r > 0; j++) {
                uint32_t x = t->core_list[j];
                if (w->free[x] && t->numa_of[x] == numa) {
                    take(w, x, out, n_out);
                    r--;
                }
            }
        }
    }
}

/* Spread k CPUs over the fewest of the candidate NUMA nodes cand[0..n). */
static void spread(struct work *w, uint32_t *cand, uint32_t n, uint32_t k, uint32_t *out,
                   uint32_t *n_out, int *used)
{
    /* most free first, then lowest id */
    for (uint32_t i = 1; i < n; i++) {
        uint32_t x = cand[i], j = i;
        for (; j > 0 && (w->fn[cand[j - 1]] < w->fn[x] ||
                         (w->fn[cand[j - 1]] == w->fn[x] && cand[j - 1] > x));
             j--) {
            cand[j] = cand[j - 1];
        }
        cand[j] = x;
    }
    uint32_t m = 0, sum = 0;
    while (m < n && sum + w->fn[cand[m]] < k) {
        sum += w->fn[cand[m++]];
    }
    /* cand[0..m) are taken whole; the last one is the best fit among the rest */
    uint32_t rest = k - sum;
    int last = -1;
    for (uint32_t i = m; i < n; i++) {
        if (w->fn[cand[i]] >= rest &&
            (last < 0 || w->fn[cand[i]] < w->fn[cand[last]] ||
             (w->fn[cand[i]] == w->fn[cand[last]] && cand[i] < cand[last]))) {
            last = (int)i;
        }
    }
    for (uint32_t i = 0; i < m; i++) {
        uint32_t f = w->fn[cand[i]];
        if (f) {
            take_numa(w, cand[i], f, out, n_out);
            (*used)++;
        }
    }
    if (last >= 0 && rest > 0) {
        take_numa(w, cand[last], rest, out, n_out);
        (*used)++;
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int cs_cpu_allocate(const struct cs_cpu_topo *t, cs_cpu_free_fn free_of, const void *arg,
                    uint32_t k, uint32_t *out)
{
    struct work w;
    work_init(&w, t, free_of, arg);
    if (w.total < k || k == 0) {
        work_free(&w);
        return k == 0 ? 0 : -1;
    }
    uint32_t n_out = 0;
    int used = 0;
    int numa = best_fit(w.fn, t->n_numa, k);
    if (numa >= 0) {
        take_numa(&w, (uint32_t)numa, k, out, &n_out);
        used = 1;
    } else {
        uint32_t *cand = cs_malloc(sizeof(*cand) * t->n_numa);
        uint32_t nc = 0;
        int sock = best_fit(w.fs, t->n_sockets, k);
        for (uint32_t i = 0; i < t->n_numa; i++) {
            if (sock < 0 || t->numa_socket[i] == (uint32_t)sock) {
                cand[nc++] = i;
            }
        }
        spread(&w, cand, nc, k, out, &n_out, &used);
        cs_free(cand);
    }
    work_free(&w);
    if (n_out != k) {
        return -1;                 /* a NUMA node crossing sockets: counts disagreed */
    }
    qsort(out, n_out, sizeof(*out), cmp_u32);
    return used;
}
