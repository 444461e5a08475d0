/*
 * Cluster generator. A spec is parsed once into a plain struct (nodegen/podgen) through one
 * setter per key, shared by the compact "k=v,k=v" form and the YAML/JSON file form, so both
 * accept exactly the same keys and report the same errors. Objects are then stamped out by
 * index: node i gets name prefix+(start+i), zone (i % zones)+1, an InternalIP from a
 * cluster-wide index, and the CPU topology / GPU / ECI decorations of its spec. Nothing here
 * touches the store; the caller inserts the trees it gets.
 */
#include "pkg/apisim/clustergen.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/map.h"
#include "pkg/util/timeutil.h"
#include "pkg/util/yaml.h"

#define ECI_TAINT_KEY "virtual-kubelet.io/provider"

/* ---- small helpers ------------------------------------------------------------------------ */

static void kv_add(struct cs_apisim_kvlist *l, const char *k, size_t klen, const char *v)
{
    for (size_t i = 0; i < l->len; i++) {
        if (strlen(l->keys[i]) == klen && strncmp(l->keys[i], k, klen) == 0) {
            cs_free(l->vals[i]);
            l->vals[i] = cs_strdup(v);
            return;
        }
    }
    size_t cap = l->cap;
    l->keys = cs_grow(l->keys, sizeof(char *), l->len + 1, &cap);
    l->vals = cs_grow(l->vals, sizeof(char *), l->len + 1, &l->cap);
    l->keys[l->len] = cs_strndup(k, klen);
    l->vals[l->len] = cs_strdup(v);
    l->len++;
}

static void kv_free(struct cs_apisim_kvlist *l)
{
    for (size_t i = 0; i < l->len; i++) {
        cs_free(l->keys[i]);
        cs_free(l->vals[i]);
    }
    cs_free(l->keys);
    cs_free(l->vals);
    memset(l, 0, sizeof(*l));
}

static void set_str(char **dst, const char *v)
{
    cs_free(*dst);
    *dst = cs_strdup(v);
}

static int parse_size(const char *v, size_t max, size_t *out)
{
    char *end = NULL;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < 0 || (unsigned long long)n > max) {
        return -1;
    }
    *out = (size_t)n;
    return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
        return -1;
    }
    *out = (int)n;
    return 0;
}

static int parse_bool(const char *v, int *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0) {
        *out = 1;
    } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "no") == 0) {
        *out = 0;
    } else {
        return -1;
    }
    return 0;
}

/* A Kubernetes quantity: sign? digits[.digits] then a suffix or exponent. */
static int valid_quantity(const char *s)
{
    const char *p = s;
    int digits = 0;
    if (*p == '+' || *p == '-') {
        p++;
    }
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    }
    if (digits == 0) {
        return 0;
    }
    static const char *const suffixes[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u",
                                            "m", "k", "M", "G", "T", "P", "E", NULL };
    for (size_t i = 0; suffixes[i] != NULL; i++) {
        if (strcmp(p, suffixes[i]) == 0) {
            return 1;
        }
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!isdigit((unsigned char)*p)) {
            return 0;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
        return *p == '\0';
    }
    return 0;
}

static int set_quantity(char **dst, const char *key, const char *v, struct cs_buf *err)
{
    if (!valid_quantity(v)) {
        cs_buf_printf(err, "%s: %s is not a valid quantity", key, v);
        return -1;
    }
    set_str(dst, v);
    return 0;
}

/* "k=v;k2=v2" (also "k:v") -> kvlist. */
static int parse_kvs(struct cs_apisim_kvlist *l, const char *key, const char *v,
                     struct cs_buf *err)
{
    const char *p = v;
    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0) {
            char *item = cs_strndup(p, n);
            char *eq = strchr(item, '=');
            if (eq == NULL) {
                eq = strchr(item, ':');
            }
            if (eq == NULL || eq == item) {
                cs_buf_printf(err, "%s: %s is not key=value", key, item);
                cs_free(item);
                return -1;
            }
            kv_add(l, item, (size_t)(eq - item), eq + 1);
            cs_free(item);
        }
        p += n;
        if (*p == ';') {
            p++;
        }
    }
    return 0;
}

static int valid_effect(const char *e)
{
    return strcmp(e, "NoSchedule") == 0 || strcmp(e, "PreferNoSchedule") == 0 ||
           strcmp(e, "NoExecute") == 0;
}

static int add_taint(struct cs_apisim_nodegen *g, const char *k, const char *v,
                     const char *effect, struct cs_buf *err)
{
    if (k == NULL || *k == '\0') {
        cs_buf_puts(err, "taints: a taint needs a key");
        return -1;
    }
    if (effect == NULL || !valid_effect(effect)) {
        cs_buf_printf(err, "taints: taint %s: effect must be NoSchedule, PreferNoSchedule or "
                      "NoExecute", k);
        return -1;
    }
    g->taints = cs_grow(g->taints, sizeof(*g->taints), g->ntaints + 1, &g->taints_cap);
    struct cs_apisim_taint *t = &g->taints[g->ntaints++];
    t->key = cs_strdup(k);
    t->value = cs_strdup(v ? v : "");
    t->effect = cs_strdup(effect);
    return 0;
}

/* One taint "key[=value]:Effect". */
static int parse_taint(struct cs_apisim_nodegen *g, const char *s, struct cs_buf *err)
{
    char *item = cs_strdup(s);
    int rc = -1;
    char *colon = strrchr(item, ':');
    if (colon == NULL) {
        cs_buf_printf(err, "taints: %s is not key[=value]:Effect", s);
        goto out;
    }
    *colon = '\0';
    char *eq = strchr(item, '=');
    if (eq != NULL) {
        *eq = '\0';
    }
    rc = add_taint(g, item, eq ? eq + 1 : "", colon + 1, err);
out:
    cs_free(item);
    return rc;
}

static void add_image(struct cs_apisim_nodegen *g, const char *s, size_t n)
{
    g->images = cs_grow(g->images, sizeof(char *), g->nimages + 1, &g->images_cap);
    g->images[g->nimages++] = cs_strndup(s, n);
}

/* Split v at ';' and call fn on each non-empty piece. */
static int each_item(const char *v, struct cs_apisim_nodegen *g, struct cs_buf *err,
                     int (*fn)(struct cs_apisim_nodegen *, const char *, struct cs_buf *))
{
    const char *p = v;
    while (*p != '\0') {
        const char *end = strchr(p, ';');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0) {
            char *item = cs_strndup(p, n);
            int rc = fn(g, item, err);
            cs_free(item);
            if (rc < 0) {
                return -1;
            }
        }
        p += n;
        if (*p == ';') {
            p++;
        }
    }
    return 0;
}

static int image_item(struct cs_apisim_nodegen *g, const char *s, struct cs_buf *err)
{
    (void)err;
    add_image(g, s, strlen(s));
    return 0;
}

/* ---- node spec ---------------------------------------------------------------------------- */

void cs_apisim_nodegen_init(struct cs_apisim_nodegen *g)
{
    memset(g, 0, sizeof(*g));
    g->count = 1;
    g->prefix = cs_strdup("node-");
    g->zones = 1;
    g->zone_prefix = cs_strdup("zone-");
    g->threads = 1;
    g->numa = 1;
}

void cs_apisim_nodegen_free(struct cs_apisim_nodegen *g)
{
    cs_free(g->prefix);
    cs_free(g->cpu);
    cs_free(g->memory);
    cs_free(g->pods);
    cs_free(g->storage);
    cs_free(g->zone_prefix);
    cs_free(g->region);
    cs_free(g->instance_type);
    cs_free(g->gpu_schedule);
    kv_free(&g->labels);
    kv_free(&g->annotations);
    for (size_t i = 0; i < g->ntaints; i++) {
        cs_free(g->taints[i].key);
        cs_free(g->taints[i].value);
        cs_free(g->taints[i].effect);
    }
    cs_free(g->taints);
    for (size_t i = 0; i < g->nimages; i++) {
        cs_free(g->images[i]);
    }
    cs_free(g->images);
    memset(g, 0, sizeof(*g));
}

static int node_set(struct cs_apisim_nodegen *g, const char *k, const char *v,
                    struct cs_buf *err)
{
    int b = 0;
    if (strcmp(k, "nodes") == 0 || strcmp(k, "count") == 0) {
        if (parse_size(v, 10000000, &g->count) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "start") == 0) {
        if (parse_size(v, 1000000000, &g->start) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "prefix") == 0) {
        set_str(&g->prefix, v);
    } else if (strcmp(k, "cpu") == 0) {
        return set_quantity(&g->cpu, k, v, err);
    } else if (strcmp(k, "memory") == 0) {
        return set_quantity(&g->memory, k, v, err);
    } else if (strcmp(k, "pods") == 0) {
        return set_quantity(&g->pods, k, v, err);
    } else if (strcmp(k, "ephemeral-storage") == 0 || strcmp(k, "storage") == 0) {
        return set_quantity(&g->storage, k, v, err);
    } else if (strcmp(k, "zones") == 0) {
        if (parse_size(v, 100000, &g->zones) < 0 || g->zones == 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "zone-prefix") == 0) {
        set_str(&g->zone_prefix, v);
    } else if (strcmp(k, "region") == 0) {
        set_str(&g->region, v);
    } else if (strcmp(k, "instance-type") == 0) {
        set_str(&g->instance_type, v);
    } else if (strcmp(k, "labels") == 0) {
        return parse_kvs(&g->labels, k, v, err);
    } else if (strcmp(k, "annotations") == 0) {
        return parse_kvs(&g->annotations, k, v, err);
    } else if (strcmp(k, "taints") == 0) {
        return each_item(v, g, err, parse_taint);
    } else if (strcmp(k, "images") == 0) {
        return each_item(v, g, err, image_item);
    } else if (strcmp(k, "sockets") == 0) {
        if (parse_int(v, 1, 64, &g->sockets) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "cores") == 0 || strcmp(k, "cores-per-socket") == 0) {
        if (parse_int(v, 1, 1024, &g->cores) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "threads") == 0 || strcmp(k, "threads-per-core") == 0) {
        if (parse_int(v, 1, 8, &g->threads) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "numa") == 0 || strcmp(k, "numa-per-socket") == 0) {
        if (parse_int(v, 1, 64, &g->numa) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "gpus") == 0 || strcmp(k, "gpu-count") == 0) {
        if (parse_int(v, 0, 1024, &g->gpus) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "gpu-mem") == 0) {
        if (parse_int(v, 1, 1 << 20, &g->gpu_mem_gib) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "gpu-schedule") == 0) {
        set_str(&g->gpu_schedule, v);
    } else if (strcmp(k, "eci") == 0 || strcmp(k, "virtual") == 0) {
        if (parse_bool(v, &b) < 0) {
            goto bad_bool;
        }
        g->eci = b;
    } else if (strcmp(k, "unschedulable") == 0) {
        if (parse_bool(v, &b) < 0) {
            goto bad_bool;
        }
        g->unschedulable = b;
    } else {
        cs_buf_printf(err, "unknown node generator key %s", k);
        return -1;
    }
    return 0;
bad_num:
    cs_buf_printf(err, "%s: %s is not a valid count", k, v);
    return -1;
bad_bool:
    cs_buf_printf(err, "%s: %s is not true or false", k, v);
    return -1;
}

static int check_node(struct cs_apisim_nodegen *g, struct cs_buf *err)
{
    if (g->sockets > 0) {
        if (g->cores == 0) {
            cs_buf_puts(err, "cores: required with sockets (cores per socket)");
            return -1;
        }
        if (g->cores % g->numa != 0) {
            cs_buf_printf(err, "numa: %d NUMA nodes per socket do not divide %d cores",
                          g->numa, g->cores);
            return -1;
        }
        if ((long)g->sockets * g->cores * g->threads > 65536) {
            cs_buf_puts(err, "sockets: too many CPUs");
            return -1;
        }
    } else if (g->cores > 0) {
        g->sockets = 1;
    }
    if (g->gpus > 0 && g->gpu_mem_gib == 0) {
        cs_buf_puts(err, "gpu-mem: required with gpus (GiB per GPU)");
        return -1;
    }
    if (g->gpu_mem_gib > 0 && g->gpus == 0) {
        g->gpus = 1;
    }
    return 0;
}

/* Split "k=v,k=v" at commas and feed each pair to set(). */
static int parse_compact(const char *spec, void *g, struct cs_buf *err,
                         int (*set)(void *, const char *, const char *, struct cs_buf *))
{
    const char *p = spec;
    if (spec == NULL || *spec == '\0') {
        cs_buf_puts(err, "empty generator spec");
        return -1;
    }
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0) {
            char *item = cs_strndup(p, n);
            char *eq = strchr(item, '=');
            int rc;
            if (eq == NULL || eq == item) {
                cs_buf_printf(err, "%s: expected key=value", item);
                rc = -1;
            } else {
                *eq = '\0';
                rc = set(g, item, eq + 1, err);
            }
            cs_free(item);
            if (rc < 0) {
                return -1;
            }
        }
        p += n;
        if (*p == ',') {
            p++;
        }
    }
    return 0;
}

static int node_set_v(void *g, const char *k, const char *v, struct cs_buf *err)
{
    return node_set(g, k, v, err);
}

int cs_apisim_nodegen_parse(const char *spec, struct cs_apisim_nodegen *g, struct cs_buf *err)
{
    cs_apisim_nodegen_init(g);
    if (parse_compact(spec, g, err, node_set_v) < 0 || check_node(g, err) < 0) {
        cs_apisim_nodegen_free(g);
        return -1;
    }
    return 0;
}

/* Scalar JSON -> text for the setters. Returns NULL for non-scalars. */
static char *scalar_text(const json_t *v)
{
    char tmp[64];
    if (json_is_string(v)) {
        return cs_strdup(json_string_value(v));
    }
    if (json_is_integer(v)) {
        snprintf(tmp, sizeof(tmp), "%lld", (long long)json_integer_value(v));
        return cs_strdup(tmp);
    }
    if (json_is_real(v)) {
        snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
        return cs_strdup(tmp);
    }
    if (json_is_boolean(v)) {
        return cs_strdup(json_is_true(v) ? "true" : "false");
    }
    return NULL;
}

static int kvs_from_json(struct cs_apisim_kvlist *l, const char *key, const json_t *v,
                         struct cs_buf *err)
{
    const char *k;
    const json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        char *t = scalar_text(x);
        if (t == NULL) {
            cs_buf_printf(err, "%s.%s: value must be a string", key, k);
            return -1;
        }
        kv_add(l, k, strlen(k), t);
        cs_free(t);
    }
    return 0;
}

static int node_member(struct cs_apisim_nodegen *g, const char *k, const json_t *v,
                       struct cs_buf *err)
{
    if (json_is_object(v) && (strcmp(k, "labels") == 0 || strcmp(k, "annotations") == 0)) {
        return kvs_from_json(strcmp(k, "labels") == 0 ? &g->labels : &g->annotations, k, v,
                             err);
    }
    if (json_is_array(v) && (strcmp(k, "taints") == 0 || strcmp(k, "images") == 0)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            if (strcmp(k, "images") == 0) {
                if (!json_is_string(x)) {
                    cs_buf_printf(err, "images[%zu]: must be a string", i);
                    return -1;
                }
                add_image(g, json_string_value(x), json_string_length(x));
            } else if (json_is_string(x)) {
                if (parse_taint(g, json_string_value(x), err) < 0) {
                    return -1;
                }
            } else if (json_is_object(x)) {
                if (add_taint(g, json_string_value(json_object_get(x, "key")),
                              json_string_value(json_object_get(x, "value")),
                              json_string_value(json_object_get(x, "effect")), err) < 0) {
                    return -1;
                }
            } else {
                cs_buf_printf(err, "taints[%zu]: must be a string or {key,value,effect}", i);
                return -1;
            }
        }
        return 0;
    }
    char *t = scalar_text(v);
    if (t == NULL) {
        cs_buf_printf(err, "%s: unexpected value type", k);
        return -1;
    }
    int rc = node_set(g, k, t, err);
    cs_free(t);
    return rc;
}

int cs_apisim_nodegen_from_json(const json_t *obj, struct cs_apisim_nodegen *g,
                                struct cs_buf *err)
{
    const char *k;
    const json_t *v;
    cs_apisim_nodegen_init(g);
    if (!json_is_object(obj)) {
        cs_buf_puts(err, "node spec must be an object or a string");
        goto fail;
    }
    json_object_foreach((json_t *)obj, k, v) {
        if (node_member(g, k, v, err) < 0) {
            goto fail;
        }
    }
    if (check_node(g, err) < 0) {
        goto fail;
    }
    return 0;
fail:
    cs_apisim_nodegen_free(g);
    return -1;
}

/* ---- pod spec ----------------------------------------------------------------------------- */

void cs_apisim_podgen_init(struct cs_apisim_podgen *g)
{
    memset(g, 0, sizeof(*g));
    g->count = 1;
    g->prefix = cs_strdup("pod-");
    g->namespace_ = cs_strdup("default");
    g->scheduler = cs_strdup("default-scheduler");
    g->image = cs_strdup("registry.k8s.io/pause:3.9");
}

void cs_apisim_podgen_free(struct cs_apisim_podgen *g)
{
    cs_free(g->prefix);
    cs_free(g->namespace_);
    cs_free(g->cpu);
    cs_free(g->memory);
    cs_free(g->scheduler);
    cs_free(g->priority_class);
    cs_free(g->image);
    kv_free(&g->labels);
    kv_free(&g->annotations);
    memset(g, 0, sizeof(*g));
}

static int pod_set(struct cs_apisim_podgen *g, const char *k, const char *v,
                   struct cs_buf *err)
{
    if (strcmp(k, "count") == 0 || strcmp(k, "pods") == 0) {
        if (parse_size(v, 10000000, &g->count) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "start") == 0) {
        if (parse_size(v, 1000000000, &g->start) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "prefix") == 0) {
        set_str(&g->prefix, v);
    } else if (strcmp(k, "namespace") == 0) {
        set_str(&g->namespace_, v);
    } else if (strcmp(k, "cpu") == 0) {
        return set_quantity(&g->cpu, k, v, err);
    } else if (strcmp(k, "memory") == 0) {
        return set_quantity(&g->memory, k, v, err);
    } else if (strcmp(k, "gpu-mem") == 0) {
        if (parse_int(v, 0, 1 << 20, &g->gpu_mem_gib) < 0) {
            goto bad_num;
        }
    } else if (strcmp(k, "bound") == 0) {
        if (parse_bool(v, &g->bound) < 0) {
            cs_buf_printf(err, "%s: %s is not true or false", k, v);
            return -1;
        }
    } else if (strcmp(k, "scheduler") == 0 || strcmp(k, "schedulerName") == 0) {
        set_str(&g->scheduler, v);
    } else if (strcmp(k, "priority-class") == 0 || strcmp(k, "priorityClassName") == 0) {
        set_str(&g->priority_class, v);
    } else if (strcmp(k, "priority") == 0) {
        if (parse_int(v, -2147483647 - 1, 2147483647, &g->priority) < 0) {
            goto bad_num;
        }
        g->has_priority = 1;
    } else if (strcmp(k, "image") == 0) {
        set_str(&g->image, v);
    } else if (strcmp(k, "labels") == 0) {
        return parse_kvs(&g->labels, k, v, err);
    } else if (strcmp(k, "annotations") == 0) {
        return parse_kvs(&g->annotations, k, v, err);
    } else {
        cs_buf_printf(err, "unknown pod generator key %s", k);
        return -1;
    }
    return 0;
bad_num:
    cs_buf_printf(err, "%s: %s is not a valid number", k, v);
    return -1;
}

static int pod_set_v(void *g, const char *k, const char *v, struct cs_buf *err)
{
    return pod_set(g, k, v, err);
}

int cs_apisim_podgen_parse(const char *spec, struct cs_apisim_podgen *g, struct cs_buf *err)
{
    cs_apisim_podgen_init(g);
    if (parse_compact(spec, g, err, pod_set_v) < 0) {
        cs_apisim_podgen_free(g);
        return -1;
    }
    return 0;
}

int cs_apisim_podgen_from_json(const json_t *obj, struct cs_apisim_podgen *g,
                               struct cs_buf *err)
{
    const char *k;
    const json_t *v;
    cs_apisim_podgen_init(g);
    if (!json_is_object(obj)) {
        cs_buf_puts(err, "pod spec must be an object or a string");
        goto fail;
    }
    json_object_foreach((json_t *)obj, k, v) {
        int rc;
        if (json_is_object(v) && (strcmp(k, "labels") == 0 || strcmp(k, "annotations") == 0)) {
            rc = kvs_from_json(strcmp(k, "labels") == 0 ? &g->labels : &g->annotations, k, v,
                               err);
        } else {
            char *t = scalar_text(v);
            if (t == NULL) {
                cs_buf_printf(err, "%s: unexpected value type", k);
                goto fail;
            }
            rc = pod_set(g, k, t, err);
            cs_free(t);
        }
        if (rc < 0) {
            goto fail;
        }
    }
    return 0;
fail:
    cs_apisim_podgen_free(g);
    return -1;
}

/* ---- generator file ----------------------------------------------------------------------- */

int cs_apisim_clustergen_parse_file(const char *text, size_t len,
                                    struct cs_apisim_nodegen **nodes, size_t *nnodes,
                                    struct cs_apisim_podgen **pods, size_t *npods,
                                    struct cs_buf *err)
{
    char yerr[256];
    json_t *root = NULL;
    size_t ncap = 0, pcap = 0;
    int rc = -1;

    *nodes = NULL;
    *pods = NULL;
    *nnodes = *npods = 0;
    if (cs_yaml_to_json(text, len, &root, yerr, sizeof(yerr)) < 0) {
        cs_buf_printf(err, "%s", yerr);
        goto out;
    }
    if (!json_is_object(root)) {
        cs_buf_puts(err, "generator file must be a mapping with nodes: and/or pods: lists");
        goto out;
    }
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v) {
        int is_nodes = strcmp(k, "nodes") == 0;
        if (!is_nodes && strcmp(k, "pods") != 0) {
            cs_buf_printf(err, "%s: unknown top-level key (want nodes or pods)", k);
            goto out;
        }
        if (!json_is_array(v)) {
            cs_buf_printf(err, "%s: must be a list", k);
            goto out;
        }
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            int r;
            size_t mark = err->len;
            if (is_nodes) {
                *nodes = cs_grow(*nodes, sizeof(**nodes), *nnodes + 1, &ncap);
                struct cs_apisim_nodegen *g = &(*nodes)[*nnodes];
                r = json_is_string(x) ? cs_apisim_nodegen_parse(json_string_value(x), g, err)
                                      : cs_apisim_nodegen_from_json(x, g, err);
                if (r == 0) {
                    (*nnodes)++;
                }
            } else {
                *pods = cs_grow(*pods, sizeof(**pods), *npods + 1, &pcap);
                struct cs_apisim_podgen *g = &(*pods)[*npods];
                r = json_is_string(x) ? cs_apisim_podgen_parse(json_string_value(x), g, err)
                                      : cs_apisim_podgen_from_json(x, g, err);
                if (r == 0) {
                    (*npods)++;
                }
            }
            if (r < 0) {
                /* Prefix the message with where it came from. */
                char *msg = cs_strdup(err->data + mark);
                err->len = mark;
                err->data[mark] = '\0';
                cs_buf_printf(err, "%s[%zu]: %s", k, i, msg);
                cs_free(msg);
                goto out;
            }
        }
    }
    rc = 0;
out:
    if (rc < 0) {
        for (size_t i = 0; i < *nnodes; i++) {
            cs_apisim_nodegen_free(&(*nodes)[i]);
        }
        for (size_t i = 0; i < *npods; i++) {
            cs_apisim_podgen_free(&(*pods)[i]);
        }
        cs_free(*nodes);
        cs_free(*pods);
        *nodes = NULL;
        *pods = NULL;
        *nnodes = *npods = 0;
    }
    json_decref(root);
    return rc;
}

/* ---- object builders ---------------------------------------------------------------------- */

static json_t *kv_object(const struct cs_apisim_kvlist *l, json_t *into)
{
    json_t *o = into ? into : json_object();
    for (size_t i = 0; i < l->len; i++) {
        json_object_set_new(o, l->keys[i], json_string(l->vals[i]));
    }
    return o;
}

/* node.koordinator.sh/cpu-topology: {"detail":[{"id","core","socket","node"},...]}.
 * Logical CPU numbering follows Linux: the first thread of every core is numbered first
 * (0..P-1 over sockets and cores), the second thread of core c is c+P, and so on. */
static char *cpu_topology_text(const struct cs_apisim_nodegen *g)
{
    struct cs_buf b;
    int phys = g->sockets * g->cores;
    int cores_per_numa = g->cores / g->numa;
    cs_buf_init(&b);
    cs_buf_puts(&b, "{\"detail\":[");
    for (int t = 0; t < g->threads; t++) {
        for (int s = 0; s < g->sockets; s++) {
            for (int c = 0; c < g->cores; c++) {
                int id = t * phys + s * g->cores + c;
                int core = s * g->cores + c;
                int numa = s * g->numa + c / cores_per_numa;
                cs_buf_printf(&b, "%s{\"id\":%d,\"core\":%d,\"socket\":%d,\"node\":%d}",
                              id ? "," : "", id, core, s, numa);
            }
        }
    }
    cs_buf_puts(&b, "]}");
    return cs_buf_steal(&b);
}

json_t *cs_apisim_nodegen_node(const struct cs_apisim_nodegen *g, size_t i, size_t gidx)
{
    char name[256], zone[160], ip[32], tmp[64], ts[32];
    snprintf(name, sizeof(name), "%s%zu", g->prefix, g->start + i);
    snprintf(zone, sizeof(zone), "%s%zu", g->zone_prefix, i % g->zones + 1);
    size_t host = gidx + 1;  /* node 0 gets 10.0.0.1, never a network address */
    snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", (host >> 16) & 255, (host >> 8) & 255,
             host & 255);
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));

    json_t *labels = json_object();
    json_object_set_new(labels, "kubernetes.io/hostname", json_string(name));
    json_object_set_new(labels, "kubernetes.io/os", json_string("linux"));
    json_object_set_new(labels, "kubernetes.io/arch", json_string("amd64"));
    json_object_set_new(labels, "topology.kubernetes.io/zone", json_string(zone));
    if (g->region) {
        json_object_set_new(labels, "topology.kubernetes.io/region", json_string(g->region));
    }
    if (g->instance_type) {
        json_object_set_new(labels, "node.kubernetes.io/instance-type",
                            json_string(g->instance_type));
    }
    json_t *annotations = json_object();
    json_t *capacity = json_object();
    const char *cpu = g->cpu, *mem = g->memory, *pods = g->pods;
    if (cpu == NULL && g->sockets > 0) {
        snprintf(tmp, sizeof(tmp), "%d", g->sockets * g->cores * g->threads);
        json_object_set_new(capacity, "cpu", json_string(tmp));
    } else {
        json_object_set_new(capacity, "cpu", json_string(cpu ? cpu : (g->eci ? "10000" : "4")));
    }
    json_object_set_new(capacity, "memory",
                        json_string(mem ? mem : (g->eci ? "100Ti" : "32Gi")));
    json_object_set_new(capacity, "pods", json_string(pods ? pods : (g->eci ? "10000" : "110")));
    json_object_set_new(capacity, "ephemeral-storage",
                        json_string(g->storage ? g->storage : "100Gi"));
    json_object_set_new(capacity, "hugepages-2Mi", json_string("0"));

    if (g->sockets > 0) {
        char *topo = cpu_topology_text(g);
        json_object_set_new(annotations, "node.koordinator.sh/cpu-topology", json_string(topo));
        cs_free(topo);
    }
    if (g->gpus > 0) {
        snprintf(tmp, sizeof(tmp), "%d", g->gpus);
        json_object_set_new(capacity, "aliyun.com/gpu-count", json_string(tmp));
        snprintf(tmp, sizeof(tmp), "%lld", (long long)g->gpus * g->gpu_mem_gib);
        json_object_set_new(capacity, "aliyun.com/gpu-mem", json_string(tmp));
        const char *sched = g->gpu_schedule ? g->gpu_schedule : "share";
        json_object_set_new(labels, "ack.node.gpu.schedule", json_string(sched));
        if (strcmp(sched, "share") != 0 && strcmp(sched, "cgpu") != 0 &&
            strcmp(sched, "core_mem") != 0) {
            snprintf(tmp, sizeof(tmp), "%d", g->gpus);
            json_object_set_new(capacity, "aliyun.com/gpu", json_string(tmp));
        }
    }
    if (g->eci) {
        json_object_set_new(labels, "type", json_string("virtual-kubelet"));
    }
    kv_object(&g->labels, labels);
    kv_object(&g->annotations, annotations);

    json_t *taints = json_array();
    if (g->eci) {
        json_array_append_new(taints, json_pack("{s:s,s:s,s:s}", "key", ECI_TAINT_KEY, "value",
                                                "alibabacloud", "effect", "NoSchedule"));
    }
    for (size_t t = 0; t < g->ntaints; t++) {
        json_array_append_new(taints, json_pack("{s:s,s:s,s:s}", "key", g->taints[t].key,
                                                "value", g->taints[t].value, "effect",
                                                g->taints[t].effect));
    }
    json_t *spec = json_object();
    if (json_array_size(taints) > 0) {
        json_object_set(spec, "taints", taints);
    }
    json_decref(taints);
    if (g->unschedulable) {
        json_object_set_new(spec, "unschedulable", json_true());
    }
    snprintf(tmp, sizeof(tmp), "10.%zu.%zu.0/24", 128 + ((gidx >> 8) & 127), gidx & 255);
    json_object_set_new(spec, "podCIDR", json_string(tmp));

    json_t *conds = json_array();
    static const char *const pressure[] = { "MemoryPressure", "DiskPressure", "PIDPressure" };
    for (size_t c = 0; c < 3; c++) {
        json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type",
                                               pressure[c], "status", "False",
                                               "lastHeartbeatTime", ts, "lastTransitionTime",
                                               ts, "reason", "KubeletHasSufficientResources",
                                               "message", "simulated by apisim"));
    }
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", "Ready",
                                           "status", "True", "lastHeartbeatTime", ts,
                                           "lastTransitionTime", ts, "reason", "KubeletReady",
                                           "message", "kubelet is posting ready status"));
    json_t *images = json_array();
    for (size_t m = 0; m < g->nimages; m++) {
        json_array_append_new(images, json_pack("{s:[s],s:I}", "names", g->images[m],
                                                "sizeBytes", (json_int_t)(50 << 20)));
    }
    json_t *status = json_object();
    json_object_set_new(status, "capacity", capacity);
    json_object_set_new(status, "allocatable", json_deep_copy(capacity));
    json_object_set_new(status, "conditions", conds);
    json_object_set_new(status, "addresses",
                        json_pack("[{s:s,s:s},{s:s,s:s}]", "type", "InternalIP", "address", ip,
                                  "type", "Hostname", "address", name));
    json_object_set_new(status, "daemonEndpoints",
                        json_pack("{s:{s:i}}", "kubeletEndpoint", "Port", 10250));
    json_object_set_new(status, "nodeInfo",
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "machineID",
                                  name, "systemUUID", name, "bootID", name, "kernelVersion",
                                  "6.1.0", "osImage", "apisim", "containerRuntimeVersion",
                                  "containerd://1.7.0", "kubeletVersion",
                                  g->eci ? "v1.31.0-vk" : "v1.31.0", "kubeProxyVersion",
                                  "v1.31.0", "operatingSystem", "linux", "architecture",
                                  "amd64"));
    json_object_set_new(status, "images", images);

    json_t *meta = json_object();
    json_object_set_new(meta, "name", json_string(name));
    json_object_set_new(meta, "labels", labels);
    if (json_object_size(annotations) > 0) {
        json_object_set(meta, "annotations", annotations);
    }
    json_decref(annotations);
    return json_pack("{s:s,s:s,s:o,s:o,s:o}", "apiVersion", "v1", "kind", "Node", "metadata",
                     meta, "spec", spec, "status", status);
}

static json_t *condition(const char *type, const char *status, const char *ts)
{
    return json_pack("{s:s,s:s,s:n,s:s}", "type", type, "status", status, "lastProbeTime",
                     "lastTransitionTime", ts);
}

/* Replace or append the condition of the same type, keeping lastTransitionTime when the
 * status does not change. */
static void put_condition(json_t *status, const char *type, const char *st, const char *ts)
{
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t != NULL && strcmp(t, type) == 0) {
            const char *old = json_string_value(json_object_get(c, "status"));
            if (old == NULL || strcmp(old, st) != 0) {
                json_array_set_new(conds, i, condition(type, st, ts));
            }
            return;
        }
    }
    json_array_append_new(conds, condition(type, st, ts));
}

static void pod_ip_for(const json_t *pod, char *buf, size_t n)
{
    const json_t *meta = json_object_get(pod, "metadata");
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    const char *name = json_string_value(json_object_get(meta, "name"));
    uint64_t h = cs_hash_str(uid ? uid : (name ? name : "pod"));
    snprintf(buf, n, "172.%u.%u.%u", 16 + (unsigned)(h & 15), (unsigned)((h >> 8) & 255),
             1 + (unsigned)((h >> 16) % 254));
}

static json_t *container_statuses(const json_t *pod, const char *state, const char *ts,
                                  int exit_code)
{
    json_t *out = json_array();
    const json_t *ctrs = json_object_get(json_object_get(pod, "spec"), "containers");
    size_t i;
    const json_t *c;
    json_array_foreach(ctrs, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *image = json_string_value(json_object_get(c, "image"));
        char cid[48];
        uint64_t h = cs_hash_str(name ? name : "c") ^ cs_hash_str(ts) ^ (uint64_t)i;
        snprintf(cid, sizeof(cid), "containerd://%016llx", (unsigned long long)h);
        json_t *st;
        int running = strcmp(state, "running") == 0;
        if (running) {
            st = json_pack("{s:{s:s}}", "running", "startedAt", ts);
        } else {
            st = json_pack("{s:{s:i,s:s,s:s,s:s}}", "terminated", "exitCode", exit_code,
                           "reason", exit_code == 0 ? "Completed" : "Error", "startedAt", ts,
                           "finishedAt", ts);
        }
        json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:b,s:b,s:i,s:o}", "name",
                                             name ? name : "", "image", image ? image : "",
                                             "imageID", image ? image : "", "containerID", cid,
                                             "ready", running, "started", running,
                                             "restartCount", 0, "state", st));
    }
    return out;
}

void cs_apisim_pod_set_running(json_t *pod, const char *host_ip, int64_t wall_ns)
{
    char ts[32], ip[32];
    cs_fmt_time(wall_ns, ts, sizeof(ts));
    json_t *status = json_object_get(pod, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(pod, "status", status);
    }
    pod_ip_for(pod, ip, sizeof(ip));
    json_object_set_new(status, "phase", json_string("Running"));
    put_condition(status, "PodReadyToStartContainers", "True", ts);
    put_condition(status, "Initialized", "True", ts);
    put_condition(status, "Ready", "True", ts);
    put_condition(status, "ContainersReady", "True", ts);
    put_condition(status, "PodScheduled", "True", ts);
    if (host_ip != NULL) {
        json_object_set_new(status, "hostIP", json_string(host_ip));
        json_object_set_new(status, "hostIPs", json_pack("[{s:s}]", "ip", host_ip));
    }
    json_object_set_new(status, "podIP", json_string(ip));
    json_object_set_new(status, "podIPs", json_pack("[{s:s}]", "ip", ip));
    if (json_object_get(status, "startTime") == NULL) {
        json_object_set_new(status, "startTime", json_string(ts));
    }
    json_object_set_new(status, "containerStatuses", container_statuses(pod, "running", ts, 0));
}

void cs_apisim_pod_set_terminated(json_t *pod, const char *phase, int64_t wall_ns)
{
    char ts[32];
    cs_fmt_time(wall_ns, ts, sizeof(ts));
    json_t *status = json_object_get(pod, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(pod, "status", status);
    }
    int failed = strcmp(phase, "Failed") == 0;
    json_object_set_new(status, "phase", json_string(phase));
    put_condition(status, "Ready", "False", ts);
    put_condition(status, "ContainersReady", "False", ts);
    json_object_set_new(status, "containerStatuses",
                        container_statuses(pod, "terminated", ts, failed ? 1 : 0));
}

const char *cs_apisim_node_internal_ip(const json_t *node)
{
    const json_t *addrs = json_object_get(json_object_get(node, "status"), "addresses");
    size_t i;
    const json_t *a;
    json_array_foreach(addrs, i, a) {
        const char *t = json_string_value(json_object_get(a, "type"));
        if (t != NULL && strcmp(t, "InternalIP") == 0) {
            return json_string_value(json_object_get(a, "address"));
        }
    }
    return NULL;
}

json_t *cs_apisim_podgen_pod(const struct cs_apisim_podgen *g, size_t i, const char *node,
                             const char *host_ip, int64_t wall_ns)
{
    char name[256];
    snprintf(name, sizeof(name), "%s%zu", g->prefix, g->start + i);
    json_t *res = json_object();
    if (g->cpu) {
        json_object_set_new(res, "cpu", json_string(g->cpu));
    }
    if (g->memory) {
        json_object_set_new(res, "memory", json_string(g->memory));
    }
    json_t *limits = json_deep_copy(res);
    if (g->gpu_mem_gib > 0) {
        char tmp[32];
        snprintf(tmp, sizeof(tmp), "%d", g->gpu_mem_gib);
        json_object_set_new(limits, "aliyun.com/gpu-mem", json_string(tmp));
        json_object_set_new(res, "aliyun.com/gpu-mem", json_string(tmp));
    }
    json_t *ctr = json_pack("{s:s,s:s,s:{s:o,s:o}}", "name", "main", "image", g->image,
                            "resources", "requests", res, "limits", limits);
    json_t *spec = json_pack("{s:[o],s:s,s:s,s:I}", "containers", ctr, "schedulerName",
                             g->scheduler, "restartPolicy", "Always",
                             "terminationGracePeriodSeconds", (json_int_t)30);
    if (g->priority_class) {
        json_object_set_new(spec, "priorityClassName", json_string(g->priority_class));
    }
    if (g->has_priority) {
        json_object_set_new(spec, "priority", json_integer(g->priority));
    }
    json_t *meta = json_pack("{s:s,s:s}", "name", name, "namespace", g->namespace_);
    if (g->labels.len > 0) {
        json_object_set_new(meta, "labels", kv_object(&g->labels, NULL));
    }
    if (g->annotations.len > 0) {
        json_object_set_new(meta, "annotations", kv_object(&g->annotations, NULL));
    }
    json_t *pod = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            meta, "spec", spec);
    if (node != NULL) {
        json_object_set_new(spec, "nodeName", json_string(node));
        cs_apisim_pod_set_running(pod, host_ip, wall_ns);
    } else {
        json_object_set_new(pod, "status", json_pack("{s:s}", "phase", "Pending"));
    }
    return pod;
}
