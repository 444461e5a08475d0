/*
 * Prometheus registry. A family keeps its children in two places: an append-only array (under
 * the family mutex; used by the renderer) and an open-addressing hash table of atomic child
 * pointers used for lock-free lookups. Readers load the table pointer and probe it without a
 * lock; a miss falls back to the mutex, which re-probes and then creates the child, storing it
 * into the table with a release store. When the table passes 3/4 load a bigger table is built
 * and published atomically; the old table is retired (kept until the registry is freed), so a
 * reader still probing it never touches freed memory and at worst misses and takes the lock.
 *
 * Values are doubles stored as their bit patterns in _Atomic uint64_t; additions use a CAS
 * loop. A histogram child has one non-cumulative counter per bucket (+Inf last); the renderer
 * accumulates them, so _count always equals the +Inf bucket.
 */
#include "pkg/metrics/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/log.h"

struct child_table {
    size_t cap; /* power of two */
    _Atomic(struct cs_metric_child *) slots[];
};

struct cs_metric_child {
    uint64_t hash;
    const struct cs_metric *fam;
    char **values;                 /* fam->nlabels copies, registration order */
    _Atomic uint64_t bits;         /* counter/gauge value, or histogram sum */
    _Atomic uint64_t *counts;      /* histogram: nbuckets + 1 */
};

struct cs_metric {
    int type;
    char *name;
    char *help;
    size_t nlabels;
    char *labels[CS_METRICS_MAX_LABELS];
    size_t order[CS_METRICS_MAX_LABELS]; /* label indices sorted by label name */
    double *bounds;
    size_t nbuckets;

    pthread_mutex_t mu;            /* guards children, retired and table replacement */
    _Atomic(struct child_table *) table;
    struct child_table **retired;
    size_t nretired, retired_cap;
    struct cs_metric_child **children;
    size_t nchildren, children_cap;
    struct cs_metric_child *_Atomic single; /* the child of a label-less family */
};

struct collector {
    cs_metrics_collect_fn fn;
    void *arg;
    void (*free_arg)(void *arg);
};

struct cs_metrics_registry {
    pthread_mutex_t mu;
    struct cs_metric **fams;       /* sorted by name */
    size_t nfams, fams_cap;
    struct collector *collectors;
    size_t ncollectors, collectors_cap;
};

/* ---- doubles in atomics --------------------------------------------------------------------- */

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void atomic_add_double(_Atomic uint64_t *p, double v)
{
    uint64_t old = atomic_load_explicit(p, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(p, &old, dbits(bitsd(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
}

/* ---- names ---------------------------------------------------------------------------------- */

static int valid_name(const char *s, int allow_colon)
{
    if (s == NULL || *s == '\0') {
        return 0;
    }
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (allow_colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

/* ---- registry ------------------------------------------------------------------------------- */

struct cs_metrics_registry *cs_metrics_registry_new(void)
{
    struct cs_metrics_registry *r = cs_calloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

static void child_free(struct cs_metric_child *c, size_t nlabels)
{
    for (size_t i = 0; i < nlabels; i++) {
        cs_free(c->values[i]);
    }
    cs_free(c->values);
    cs_free(c->counts);
    cs_free(c);
}

static void family_free(struct cs_metric *m)
{
    for (size_t i = 0; i < m->nchildren; i++) {
        child_free(m->children[i], m->nlabels);
    }
    cs_free(m->children);
    for (size_t i = 0; i < m->nretired; i++) {
        cs_free(m->retired[i]);
    }
    cs_free(m->retired);
    cs_free(atomic_load(&m->table));
    for (size_t i = 0; i < m->nlabels; i++) {
        cs_free(m->labels[i]);
    }
    cs_free(m->bounds);
    cs_free(m->name);
    cs_free(m->help);
    pthread_mutex_destroy(&m->mu);
    cs_free(m);
}

void cs_metrics_registry_free(struct cs_metrics_registry *r)
{
    if (r == NULL) {
        return;
    }
    for (size_t i = 0; i < r->nfams; i++) {
        family_free(r->fams[i]);
    }
    cs_free(r->fams);
    for (size_t i = 0; i < r->ncollectors; i++) {
        if (r->collectors[i].free_arg != NULL) {
            r->collectors[i].free_arg(r->collectors[i].arg);
        }
    }
    cs_free(r->collectors);
    pthread_mutex_destroy(&r->mu);
    cs_free(r);
}

static struct child_table *table_new(size_t cap)
{
    struct child_table *t = cs_calloc(1, sizeof *t + cap * sizeof t->slots[0]);
    t->cap = cap;
    for (size_t i = 0; i < cap; i++) {
        atomic_init(&t->slots[i], NULL);
    }
    return t;
}

static struct cs_metric_child *child_new(struct cs_metric *m, const char *const *values,
                                         uint64_t hash)
{
    struct cs_metric_child *c = cs_calloc(1, sizeof *c);
    c->hash = hash;
    c->fam = m;
    c->values = cs_calloc(m->nlabels ? m->nlabels : 1, sizeof *c->values);
    for (size_t i = 0; i < m->nlabels; i++) {
        c->values[i] = cs_strdup(values[i] ? values[i] : "");
    }
    atomic_init(&c->bits, dbits(0.0));
    if (m->type == CS_METRICS_HISTOGRAM) {
        c->counts = cs_calloc(m->nbuckets + 1, sizeof *c->counts);
        for (size_t i = 0; i <= m->nbuckets; i++) {
            atomic_init(&c->counts[i], 0);
        }
    }
    return c;
}

static struct cs_metric *family_new(struct cs_metrics_registry *r, int type, const char *name,
                                    const char *help, const char *const *label_names,
                                    const double *buckets, size_t nbuckets)
{
    if (r == NULL || !valid_name(name, 1)) {
        CS_ERROR_S("invalid metric name", "cannot register metric", CS_KV("name", name ? name : ""));
        return NULL;
    }
    size_t nl = 0;
    if (label_names != NULL) {
        while (label_names[nl] != NULL) {
            const char *l = label_names[nl];
            if (nl >= CS_METRICS_MAX_LABELS || !valid_name(l, 0) || strncmp(l, "__", 2) == 0 ||
                (type == CS_METRICS_HISTOGRAM && strcmp(l, "le") == 0)) {
                CS_ERROR_S("invalid label name", "cannot register metric", CS_KV("name", name),
                           CS_KV("label", l));
                return NULL;
            }
            for (size_t j = 0; j < nl; j++) {
                if (strcmp(label_names[j], l) == 0) {
                    CS_ERROR_S("duplicate label name", "cannot register metric",
                               CS_KV("name", name), CS_KV("label", l));
                    return NULL;
                }
            }
            nl++;
        }
    }
    if (type == CS_METRICS_HISTOGRAM) {
        int ok = buckets != NULL && nbuckets >= 1 && nbuckets <= CS_METRICS_MAX_BUCKETS;
        for (size_t i = 0; ok && i < nbuckets; i++) {
            ok = isfinite(buckets[i]) && (i == 0 || buckets[i] > buckets[i - 1]);
        }
        if (!ok) {
            CS_ERROR_S("invalid buckets", "cannot register metric", CS_KV("name", name));
            return NULL;
        }
    }

    struct cs_metric *m = cs_calloc(1, sizeof *m);
    m->type = type;
    m->name = cs_strdup(name);
    m->help = cs_strdup(help ? help : "");
    m->nlabels = nl;
    for (size_t i = 0; i < nl; i++) {
        m->labels[i] = cs_strdup(label_names[i]);
        m->order[i] = i;
    }
    /* insertion sort of the label order by name */
    for (size_t i = 1; i < nl; i++) {
        size_t k = m->order[i], j = i;
        while (j > 0 && strcmp(m->labels[m->order[j - 1]], m->labels[k]) > 0) {
            m->order[j] = m->order[j - 1];
            j--;
        }
        m->order[j] = k;
    }
    if (type == CS_METRICS_HISTOGRAM) {
        m->bounds = cs_malloc(nbuckets * sizeof *m->bounds);
        memcpy(m->bounds, buckets, nbuckets * sizeof *m->bounds);
        m->nbuckets = nbuckets;
    }
    pthread_mutex_init(&m->mu, NULL);
    atomic_init(&m->table, table_new(16));
    atomic_init(&m->single, NULL);

    pthread_mutex_lock(&r->mu);
    size_t pos = 0;
    while (pos < r->nfams) {
        int c = strcmp(r->fams[pos]->name, name);
        if (c == 0) {
            pthread_mutex_unlock(&r->mu);
            CS_ERROR_S("duplicate metric", "cannot register metric", CS_KV("name", name));
            family_free(m);
            return NULL;
        }
        if (c > 0) {
            break;
        }
        pos++;
    }
    r->fams = cs_grow(r->fams, sizeof *r->fams, r->nfams + 1, &r->fams_cap);
    memmove(&r->fams[pos + 1], &r->fams[pos], (r->nfams - pos) * sizeof *r->fams);
    r->fams[pos] = m;
    r->nfams++;
    pthread_mutex_unlock(&r->mu);
    return m;
}

struct cs_metric *cs_metrics_counter_new(struct cs_metrics_registry *r, const char *name,
                                         const char *help, const char *const *label_names)
{
    return family_new(r, CS_METRICS_COUNTER, name, help, label_names, NULL, 0);
}

struct cs_metric *cs_metrics_gauge_new(struct cs_metrics_registry *r, const char *name,
                                       const char *help, const char *const *label_names)
{
    return family_new(r, CS_METRICS_GAUGE, name, help, label_names, NULL, 0);
}

struct cs_metric *cs_metrics_histogram_new(struct cs_metrics_registry *r, const char *name,
                                           const char *help, const char *const *label_names,
                                           const double *buckets, size_t nbuckets)
{
    return family_new(r, CS_METRICS_HISTOGRAM, name, help, label_names, buckets, nbuckets);
}

size_t cs_metrics_exp_buckets(double start, double factor, size_t count, double *out)
{
    if (!(start > 0) || !(factor > 1) || count < 1 || out == NULL) {
        return 0;
    }
    double v = start;
    for (size_t i = 0; i < count; i++) {
        out[i] = v;
        v *= factor;
    }
    return count;
}

size_t cs_metrics_linear_buckets(double start, double width, size_t count, double *out)
{
    if (!(width > 0) || count < 1 || out == NULL || !isfinite(start)) {
        return 0;
    }
    for (size_t i = 0; i < count; i++) {
        out[i] = start + width * (double)i;
    }
    return count;
}

/* ---- lookup --------------------------------------------------------------------------------- */

static uint64_t hash_values(const char *const *values, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = (const unsigned char *)(values[i] ? values[i] : "");
        for (; *p; p++) {
            h ^= *p;
            h *= 1099511628211ULL;
        }
        h ^= 0xff;
        h *= 1099511628211ULL;
    }
    return h;
}

static int child_matches(const struct cs_metric_child *c, const char *const *values, size_t n,
                         uint64_t h)
{
    if (c->hash != h) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c->values[i], values[i] ? values[i] : "") != 0) {
            return 0;
        }
    }
    return 1;
}

static struct cs_metric_child *table_find(struct child_table *t, const char *const *values,
                                          size_t n, uint64_t h)
{
    size_t mask = t->cap - 1;
    for (size_t i = h & mask, probes = 0; probes < t->cap; i = (i + 1) & mask, probes++) {
        struct cs_metric_child *c = atomic_load_explicit(&t->slots[i], memory_order_acquire);
        if (c == NULL) {
            return NULL;
        }
        if (child_matches(c, values, n, h)) {
            return c;
        }
    }
    return NULL;
}

static void table_insert(struct child_table *t, struct cs_metric_child *c)
{
    size_t mask = t->cap - 1;
    for (size_t i = c->hash & mask;; i = (i + 1) & mask) {
        if (atomic_load_explicit(&t->slots[i], memory_order_relaxed) == NULL) {
            atomic_store_explicit(&t->slots[i], c, memory_order_release);
            return;
        }
    }
}

struct cs_metric_child *cs_metrics_with(struct cs_metric *m, const char *const *label_values)
{
    if (m == NULL) {
        return NULL;
    }
    if (m->nlabels == 0) {
        struct cs_metric_child *s = atomic_load_explicit(&m->single, memory_order_acquire);
        if (s != NULL) {
            return s;
        }
    }
    static const char *const none[1] = { NULL };
    const char *const *vals = (m->nlabels == 0 || label_values == NULL) ? none : label_values;
    if (m->nlabels > 0 && label_values == NULL) {
        return NULL;
    }
    uint64_t h = hash_values(vals, m->nlabels);
    struct child_table *t = atomic_load_explicit(&m->table, memory_order_acquire);
    struct cs_metric_child *c = table_find(t, vals, m->nlabels, h);
    if (c != NULL) {
        return c;
    }

    pthread_mutex_lock(&m->mu);
    t = atomic_load_explicit(&m->table, memory_order_relaxed);
    c = table_find(t, vals, m->nlabels, h);
    if (c == NULL) {
        c = child_new(m, vals, h);
        m->children = cs_grow(m->children, sizeof *m->children, m->nchildren + 1,
                              &m->children_cap);
        m->children[m->nchildren++] = c;
        if (m->nchildren * 4 > t->cap * 3) {
            struct child_table *nt = table_new(t->cap * 2);
            for (size_t i = 0; i < m->nchildren; i++) {
                table_insert(nt, m->children[i]);
            }
            atomic_store_explicit(&m->table, nt, memory_order_release);
            m->retired = cs_grow(m->retired, sizeof *m->retired, m->nretired + 1,
                                 &m->retired_cap);
            m->retired[m->nretired++] = t;
        } else {
            table_insert(t, c);
        }
        if (m->nlabels == 0) {
            atomic_store_explicit(&m->single, c, memory_order_release);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return c;
}

/* ---- observations --------------------------------------------------------------------------- */

void cs_metrics_child_add(struct cs_metric_child *c, double v)
{
    if (c == NULL) {
        return;
    }
    if (c->fam->type == CS_METRICS_COUNTER) {
        if (!(v >= 0)) {
            return;
        }
    } else if (c->fam->type != CS_METRICS_GAUGE) {
        return;
    }
    atomic_add_double(&c->bits, v);
}

void cs_metrics_child_inc(struct cs_metric_child *c)
{
    cs_metrics_child_add(c, 1.0);
}

void cs_metrics_child_set(struct cs_metric_child *c, double v)
{
    if (c == NULL || c->fam->type == CS_METRICS_HISTOGRAM) {
        return;
    }
    atomic_store_explicit(&c->bits, dbits(v), memory_order_relaxed);
}

void cs_metrics_child_observe(struct cs_metric_child *c, double v)
{
    if (c == NULL || c->fam->type != CS_METRICS_HISTOGRAM) {
        return;
    }
    const double *b = c->fam->bounds;
    size_t lo = 0, hi = c->fam->nbuckets; /* first bound >= v; nbuckets = +Inf */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b[mid] >= v) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    atomic_fetch_add_explicit(&c->counts[lo], 1, memory_order_relaxed);
    atomic_add_double(&c->bits, v);
}

void cs_metrics_inc(struct cs_metric *m, const char *const *label_values)
{
    cs_metrics_child_inc(cs_metrics_with(m, label_values));
}

void cs_metrics_add(struct cs_metric *m, const char *const *label_values, double v)
{
    cs_metrics_child_add(cs_metrics_with(m, label_values), v);
}

void cs_metrics_set(struct cs_metric *m, const char *const *label_values, double v)
{
    cs_metrics_child_set(cs_metrics_with(m, label_values), v);
}

void cs_metrics_observe(struct cs_metric *m, const char *const *label_values, double v)
{
    cs_metrics_child_observe(cs_metrics_with(m, label_values), v);
}

double cs_metrics_child_value(const struct cs_metric_child *c)
{
    if (c == NULL || c->fam->type == CS_METRICS_HISTOGRAM) {
        return 0;
    }
    return bitsd(atomic_load_explicit(&c->bits, memory_order_relaxed));
}

uint64_t cs_metrics_child_count(const struct cs_metric_child *c)
{
    if (c == NULL || c->fam->type != CS_METRICS_HISTOGRAM) {
        return 0;
    }
    uint64_t n = 0;
    for (size_t i = 0; i <= c->fam->nbuckets; i++) {
        n += atomic_load_explicit(&c->counts[i], memory_order_relaxed);
    }
    return n;
}

double cs_metrics_child_sum(const struct cs_metric_child *c)
{
    if (c == NULL || c->fam->type != CS_METRICS_HISTOGRAM) {
        return 0;
    }
    return bitsd(atomic_load_explicit(&c->bits, memory_order_relaxed));
}

size_t cs_metrics_children(struct cs_metric *m)
{
    if (m == NULL) {
        return 0;
    }
    pthread_mutex_lock(&m->mu);
    size_t n = m->nchildren;
    pthread_mutex_unlock(&m->mu);
    return n;
}

const char *cs_metrics_name(const struct cs_metric *m)
{
    return m ? m->name : NULL;
}

/* ---- rendering ------------------------------------------------------------------------------ */

void cs_metrics_format_float(struct cs_buf *out, double v)
{
    if (isnan(v)) {
        cs_buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        cs_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == 0) {
        cs_buf_puts(out, "0");
        return;
    }
    char e[48];
    int p;
    for (p = 1; p < 17; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (strtod(e, NULL) == v) {
            break;
        }
    }
    snprintf(e, sizeof e, "%.*e", p - 1, v);
    const char *ep = strchr(e, 'e');
    long x = ep ? strtol(ep + 1, NULL, 10) : 0;
    /* Go's shortest %g: exponent form when exp < -4 or exp >= 6 (precision fixed at 6) */
    if (x < -4 || x >= 6) {
        cs_buf_puts(out, e);
        return;
    }
    long decimals = (long)(p - 1) - x;
    if (decimals < 0) {
        decimals = 0;
    }
    cs_buf_printf(out, "%.*f", (int)decimals, v);
}

static void put_escaped(struct cs_buf *out, const char *s, int quote)
{
    for (const char *p = s; *p; p++) {
        if (*p == '\\') {
            cs_buf_puts(out, "\\\\");
        } else if (*p == '\n') {
            cs_buf_puts(out, "\\n");
        } else if (quote && *p == '"') {
            cs_buf_puts(out, "\\\"");
        } else {
            cs_buf_putc(out, *p);
        }
    }
}

/* {a="x",b="y"[,le="..."]} or nothing when there is no pair at all. */
static void put_labels(struct cs_buf *out, const struct cs_metric *m,
                       const struct cs_metric_child *c, const double *le)
{
    if (m->nlabels == 0 && le == NULL) {
        return;
    }
    cs_buf_putc(out, '{');
    for (size_t k = 0; k < m->nlabels; k++) {
        size_t i = m->order[k];
        if (k > 0) {
            cs_buf_putc(out, ',');
        }
        cs_buf_puts(out, m->labels[i]);
        cs_buf_puts(out, "=\"");
        put_escaped(out, c->values[i], 1);
        cs_buf_putc(out, '"');
    }
    if (le != NULL) {
        if (m->nlabels > 0) {
            cs_buf_putc(out, ',');
        }
        cs_buf_puts(out, "le=\"");
        cs_metrics_format_float(out, *le);
        cs_buf_putc(out, '"');
    }
    cs_buf_putc(out, '}');
}

static int child_cmp(const void *a, const void *b)
{
    const struct cs_metric_child *x = *(struct cs_metric_child *const *)a;
    const struct cs_metric_child *y = *(struct cs_metric_child *const *)b;
    const struct cs_metric *m = x->fam;
    for (size_t k = 0; k < m->nlabels; k++) {
        int c = strcmp(x->values[m->order[k]], y->values[m->order[k]]);
        if (c != 0) {
            return c;
        }
    }
    return 0;
}

static void render_family(struct cs_metric *m, struct cs_buf *out)
{
    pthread_mutex_lock(&m->mu);
    size_t n = m->nchildren;
    struct cs_metric_child **kids = NULL;
    if (n > 0) {
        kids = cs_malloc(n * sizeof *kids);
        memcpy(kids, m->children, n * sizeof *kids);
    }
    pthread_mutex_unlock(&m->mu);
    if (n == 0) {
        return;
    }
    qsort(kids, n, sizeof *kids, child_cmp);

    static const char *const type_names[] = { "", "counter", "gauge", "histogram" };
    cs_buf_printf(out, "# HELP %s ", m->name);
    put_escaped(out, m->help, 0);
    cs_buf_printf(out, "\n# TYPE %s %s\n", m->name, type_names[m->type]);
    for (size_t i = 0; i < n; i++) {
        const struct cs_metric_child *c = kids[i];
        if (m->type != CS_METRICS_HISTOGRAM) {
            cs_buf_puts(out, m->name);
            put_labels(out, m, c, NULL);
            cs_buf_putc(out, ' ');
            cs_metrics_format_float(out, cs_metrics_child_value(c));
            cs_buf_putc(out, '\n');
            continue;
        }
        uint64_t cum = 0;
        for (size_t b = 0; b <= m->nbuckets; b++) {
            double le = b < m->nbuckets ? m->bounds[b] : INFINITY;
            cum += atomic_load_explicit(&c->counts[b], memory_order_relaxed);
            cs_buf_printf(out, "%s_bucket", m->name);
            put_labels(out, m, c, &le);
            cs_buf_printf(out, " %llu\n", (unsigned long long)cum);
        }
        cs_buf_printf(out, "%s_sum", m->name);
        put_labels(out, m, c, NULL);
        cs_buf_putc(out, ' ');
        cs_metrics_format_float(out, cs_metrics_child_sum(c));
        cs_buf_printf(out, "\n%s_count", m->name);
        put_labels(out, m, c, NULL);
        cs_buf_printf(out, " %llu\n", (unsigned long long)cum);
    }
    cs_free(kids);
}

void cs_metrics_add_collector(struct cs_metrics_registry *r, cs_metrics_collect_fn fn, void *arg,
                              void (*free_arg)(void *arg))
{
    pthread_mutex_lock(&r->mu);
    r->collectors = cs_grow(r->collectors, sizeof *r->collectors, r->ncollectors + 1,
                            &r->collectors_cap);
    r->collectors[r->ncollectors++] = (struct collector){ fn, arg, free_arg };
    pthread_mutex_unlock(&r->mu);
}

void cs_metrics_render(struct cs_metrics_registry *r, struct cs_buf *out)
{
    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&r->mu);
    size_t nc = r->ncollectors;
    struct collector *cols = NULL;
    if (nc > 0) {
        cols = cs_malloc(nc * sizeof *cols);
        memcpy(cols, r->collectors, nc * sizeof *cols);
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < nc; i++) {
        cols[i].fn(cols[i].arg);
    }
    cs_free(cols);

    pthread_mutex_lock(&r->mu);
    size_t n = r->nfams;
    struct cs_metric **fams = NULL;
    if (n > 0) {
        fams = cs_malloc(n * sizeof *fams);
        memcpy(fams, r->fams, n * sizeof *fams);
    }
    pthread_mutex_unlock(&r->mu);
    for (size_t i = 0; i < n; i++) {
        render_family(fams[i], out);
    }
    cs_free(fams);
}
