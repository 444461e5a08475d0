/*
 * Pod and Node decoding from Kubernetes JSON.
 *
 * Design: one small decoder state (struct dec) travels through the walk. It carries the target
 * arena, the shared intern/resource tables and a field-path buffer that each nested call extends
 * (".spec", ".containers[2]") and restores on return, so any error can name the exact field
 * without the callers formatting paths. Getters share one convention: absent and JSON null mean
 * "not set" (return 0, leave the default), a wrong JSON type is an error (-1, message written).
 * All memory comes from the object's arena, so an error simply destroys the half-built object.
 */
#include "api/decode.h"
#include "api/priority.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/podroom.h"
#include "api/requests.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/intern.h"
#include "pkg/util/timeutil.h"

#define NODE_ARENA_BLOCK 1024

struct dec {
    const struct cs_api_ctx *ctx;
    struct cs_arena *a;
    struct cs_res_extras *extras;  /* where get_resources puts names past the dense table */
    const char *kind;      /* "pod" or "node" */
    const char *id;        /* "ns/name", "name" or "<unknown>" */
    char path[384];
    size_t plen;
    char *err;
    size_t errlen;
};

/* ---- paths and errors ------------------------------------------------------------------- */

static size_t push_key(struct dec *d, const char *key)
{
    size_t mark = d->plen, room = sizeof(d->path) - d->plen;
    size_t n = cs_str_join(d->path + d->plen, room, d->plen ? "." : "", key, (const char *)NULL);
    d->plen += n < room ? n : room - 1;
    return mark;
}

static size_t push_idx(struct dec *d, size_t i)
{
    size_t mark = d->plen;
    int n = snprintf(d->path + d->plen, sizeof(d->path) - d->plen, "[%zu]", i);
    if (n > 0)
        d->plen += (size_t)n < sizeof(d->path) - d->plen ? (size_t)n : sizeof(d->path) - d->plen - 1;
    return mark;
}

static void pop(struct dec *d, size_t mark)
{
    d->plen = mark;
    d->path[mark] = '\0';
}

/* "<kind> <id>: <path>: <message>" */
__attribute__((format(printf, 2, 3))) static int fail(struct dec *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->plen)
        snprintf(d->err, d->errlen, "%s %s: %s: %s", d->kind, d->id, d->path, msg);
    else
        snprintf(d->err, d->errlen, "%s %s: %s", d->kind, d->id, msg);
    return -1;
}

/* A message that already names its field (from the selector and resource decoders). */
static int fail_raw(struct dec *d, const char *msg)
{
    snprintf(d->err, d->errlen, "%s %s: %s", d->kind, d->id, msg);
    return -1;
}

static int fail_at(struct dec *d, const char *key, const char *msg)
{
    size_t m = push_key(d, key);
    fail(d, "%s", msg);
    pop(d, m);
    return -1;
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* ---- typed getters ---------------------------------------------------------------------- */

/* obj[key] when present, non-null and of JSON type `t`; *out = NULL when absent. */
static int get(struct dec *d, const json_t *obj, const char *key, json_type t, const json_t **out)
{
    static const char *const want[] = {
        [JSON_OBJECT] = "object", [JSON_ARRAY] = "array", [JSON_STRING] = "string",
        [JSON_INTEGER] = "integer", [JSON_REAL] = "number", [JSON_TRUE] = "boolean",
        [JSON_FALSE] = "boolean", [JSON_NULL] = "null",
    };
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_typeof(v) != t) {
        size_t m = push_key(d, key);
        fail(d, "expected %s, got %s", want[t], type_name(v));
        pop(d, m);
        return -1;
    }
    *out = v;
    return 0;
}

enum str_mode { STR_COPY, STR_INTERN };

static const char *keep(struct dec *d, const json_t *s, enum str_mode mode)
{
    if (mode == STR_INTERN)
        return cs_intern_n(d->ctx->strings, json_string_value(s), json_string_length(s));
    return cs_arena_strndup(d->a, json_string_value(s), json_string_length(s));
}

/* Optional string: "" and absent both give NULL. */
static int get_str(struct dec *d, const json_t *obj, const char *key, enum str_mode mode,
                   const char **out)
{
    const json_t *v;
    if (get(d, obj, key, JSON_STRING, &v) != 0)
        return -1;
    *out = (v != NULL && json_string_length(v) > 0) ? keep(d, v, mode) : NULL;
    return 0;
}

static int get_i64(struct dec *d, const json_t *obj, const char *key, int64_t lo, int64_t hi,
                   int64_t *out, bool *set)
{
    const json_t *v;
    if (get(d, obj, key, JSON_INTEGER, &v) != 0)
        return -1;
    if (set)
        *set = v != NULL;
    if (v == NULL)
        return 0;
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        size_t m = push_key(d, key);
        fail(d, "value %lld out of range [%lld, %lld]", (long long)x, (long long)lo, (long long)hi);
        pop(d, m);
        return -1;
    }
    *out = x;
    return 0;
}

static int get_i32(struct dec *d, const json_t *obj, const char *key, int32_t *out, bool *set)
{
    int64_t x = *out;
    if (get_i64(d, obj, key, INT32_MIN, INT32_MAX, &x, set) != 0)
        return -1;
    *out = (int32_t)x;
    return 0;
}

static int get_bool(struct dec *d, const json_t *obj, const char *key, bool *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        size_t m = push_key(d, key);
        fail(d, "expected boolean, got %s", type_name(v));
        pop(d, m);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

/* String enum: absent or "" keeps *out; otherwise the index of the match in names. */
static int get_enum(struct dec *d, const json_t *obj, const char *key, const char *const *names,
                    int n, int *out)
{
    const json_t *v;
    if (get(d, obj, key, JSON_STRING, &v) != 0)
        return -1;
    if (v == NULL || json_string_length(v) == 0)
        return 0;
    for (int i = 0; i < n; i++) {
        if (names[i] != NULL && strcmp(json_string_value(v), names[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    size_t m = push_key(d, key);
    fail(d, "unsupported value \"%s\"", json_string_value(v));
    pop(d, m);
    return -1;
}

static int get_time(struct dec *d, const json_t *obj, const char *key, int64_t *out)
{
    const json_t *v;
    if (get(d, obj, key, JSON_STRING, &v) != 0)
        return -1;
    if (v == NULL)
        return 0;
    if (cs_parse_time(json_string_value(v), out) != 0) {
        size_t m = push_key(d, key);
        fail(d, "invalid time \"%s\"", json_string_value(v));
        pop(d, m);
        return -1;
    }
    return 0;
}

/* map[string]string -> cs_label array; keys interned, values copied ("" kept). */
static int get_labels(struct dec *d, const json_t *obj, const char *key, struct cs_label **out,
                      uint32_t *n)
{
    const json_t *m;
    const char *k;
    json_t *v;
    uint32_t i = 0;

    if (get(d, obj, key, JSON_OBJECT, &m) != 0)
        return -1;
    *out = NULL;
    *n = 0;
    if (m == NULL || json_object_size(m) == 0)
        return 0;
    *out = CS_ARENA_ARRAY(d->a, struct cs_label, json_object_size(m));
    size_t mark = push_key(d, key);
    json_object_foreach((json_t *)m, k, v) {
        if (!json_is_string(v)) {
            fail_at(d, k, json_is_null(v) ? "expected string, got null" : "expected string");
            pop(d, mark);
            return -1;
        }
        (*out)[i].key = cs_intern(d->ctx->strings, k);
        (*out)[i].value = cs_arena_strndup(d->a, json_string_value(v), json_string_length(v));
        i++;
    }
    pop(d, mark);
    *n = i;
    return 0;
}

/* []string -> array (interned or copied); *n = 0 and *out = NULL when absent or empty. */
static int get_str_array(struct dec *d, const json_t *obj, const char *key, enum str_mode mode,
                         const char ***out, uint32_t *n)
{
    const json_t *arr;
    if (get(d, obj, key, JSON_ARRAY, &arr) != 0)
        return -1;
    *out = NULL;
    *n = 0;
    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    const char **v = CS_ARENA_ARRAY(d->a, const char *, json_array_size(arr));
    size_t mark = push_key(d, key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *s = json_array_get(arr, i);
        if (!json_is_string(s)) {
            size_t m = push_idx(d, i);
            fail(d, "expected string, got %s", type_name(s));
            pop(d, m);
            pop(d, mark);
            return -1;
        }
        v[i] = keep(d, s, mode);
    }
    pop(d, mark);
    *out = v;
    *n = (uint32_t)json_array_size(arr);
    return 0;
}

/* An array of objects: calls fn(d, item, i, ctx) with the path at key[i]. */
typedef int (*item_fn)(struct dec *d, const json_t *item, size_t i, void *arg);

static int each_object(struct dec *d, const json_t *obj, const char *key, item_fn fn, void *arg,
                       size_t *count)
{
    const json_t *arr;
    int rc = 0;
    if (get(d, obj, key, JSON_ARRAY, &arr) != 0)
        return -1;
    *count = arr ? json_array_size(arr) : 0;
    if (arr == NULL)
        return 0;
    size_t mark = push_key(d, key);
    for (size_t i = 0; i < json_array_size(arr) && rc == 0; i++) {
        const json_t *item = json_array_get(arr, i);
        size_t m = push_idx(d, i);
        if (!json_is_object(item))
            rc = fail(d, "expected object, got %s", type_name(item));
        else
            rc = fn(d, item, i, arg);
        pop(d, m);
    }
    pop(d, mark);
    return rc;
}

static size_t array_len(const json_t *obj, const char *key)
{
    const json_t *a = json_object_get(obj, key);
    return json_is_array(a) ? json_array_size(a) : 0;
}

static int get_resources(struct dec *d, const json_t *obj, const char *key, struct cs_resources *out)
{
    char msg[384];
    const json_t *v = json_object_get(obj, key);
    size_t m = push_key(d, key);
    struct cs_res_sink sink = { .a = d->a, .strings = d->ctx->strings, .out = d->extras };
    int rc = cs_resources_decode_sink(d->ctx->resources, v, d->path, out,
                                      d->extras ? &sink : NULL, msg, sizeof(msg));
    if (rc != 0)
        fail_raw(d, msg);
    pop(d, m);
    return rc;
}

static int get_label_selector(struct dec *d, const json_t *obj, const char *key,
                              struct cs_selector **out)
{
    char msg[384];
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    size_t m = push_key(d, key);
    int rc = 0;
    if (!json_is_object(v))
        rc = fail(d, "expected object, got %s", type_name(v));
    else if (cs_selector_from_label_selector(v, d->path, d->a, out, msg, sizeof(msg)) != 0)
        rc = fail_raw(d, msg);
    pop(d, m);
    return rc;
}

/* ---- metadata ---------------------------------------------------------------------------- */

struct meta {
    const char *ns, *name, *uid, *rv_str;
    uint64_t rv;
    int64_t creation_ns, deletion_ns;
    struct cs_label *labels, *annotations;
    uint32_t n_labels, n_annotations;
};

static int check_kind(struct dec *d, const json_t *obj, const char *want)
{
    const json_t *k;
    if (get(d, obj, "kind", JSON_STRING, &k) != 0)
        return -1;
    if (k != NULL && strcmp(json_string_value(k), want) != 0) {
        size_t m = push_key(d, "kind");
        fail(d, "expected \"%s\", got \"%s\"", want, json_string_value(k));
        pop(d, m);
        return -1;
    }
    return 0;
}

/* Identity first, so every later error names the object. */
static int decode_identity(struct dec *d, const json_t *md, bool namespaced, struct meta *m)
{
    const json_t *name;
    size_t mark = push_key(d, "metadata");
    int rc = -1;

    if (get(d, md, "name", JSON_STRING, &name) != 0)
        goto out;
    if (name == NULL || json_string_length(name) == 0) {
        fail_at(d, "name", "required");
        goto out;
    }
    if (namespaced) {
        if (get_str(d, md, "namespace", STR_INTERN, &m->ns) != 0)
            goto out;
        if (m->ns == NULL)
            m->ns = cs_intern(d->ctx->strings, "default");
        /* One copy: the name is the key's tail. */
        d->id = cs_arena_printf(d->a, "%s/%s", m->ns, json_string_value(name));
        m->name = d->id + strlen(m->ns) + 1;
    } else {
        m->name = keep(d, name, STR_INTERN);
        d->id = m->name;
    }
    rc = 0;
out:
    pop(d, mark);
    return rc;
}

static int decode_meta(struct dec *d, const json_t *md, struct meta *m)
{
    size_t mark = push_key(d, "metadata");
    int rc = -1;

    if (get_str(d, md, "uid", STR_COPY, &m->uid) != 0 ||
        get_str(d, md, "resourceVersion", STR_COPY, &m->rv_str) != 0 ||
        get_time(d, md, "creationTimestamp", &m->creation_ns) != 0 ||
        get_time(d, md, "deletionTimestamp", &m->deletion_ns) != 0 ||
        get_labels(d, md, "labels", &m->labels, &m->n_labels) != 0 ||
        get_labels(d, md, "annotations", &m->annotations, &m->n_annotations) != 0)
        goto out;
    if (m->rv_str != NULL && strspn(m->rv_str, "0123456789") == strlen(m->rv_str)) {
        errno = 0;
        unsigned long long rv = strtoull(m->rv_str, NULL, 10);
        m->rv = errno == 0 ? rv : 0;
    }
    rc = 0;
out:
    pop(d, mark);
    return rc;
}

static int owner_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct cs_owner_ref *o = &((struct cs_owner_ref *)arg)[i];
    return get_str(d, it, "apiVersion", STR_COPY, &o->api_version) ||
           get_str(d, it, "kind", STR_COPY, &o->kind) ||
           get_str(d, it, "name", STR_COPY, &o->name) ||
           get_str(d, it, "uid", STR_COPY, &o->uid) ||
           get_bool(d, it, "controller", &o->controller) ? -1 : 0;
}

/* ---- conditions --------------------------------------------------------------------------- */

static int condition_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    static const char *const status_names[] = {"Unknown", "True", "False"};
    struct cs_condition *c = &((struct cs_condition *)arg)[i];
    int status = CS_COND_UNKNOWN;
    if (get_str(d, it, "type", STR_COPY, &c->type) != 0)
        return -1;
    if (c->type == NULL)
        return fail_at(d, "type", "required");
    if (get_enum(d, it, "status", status_names, 3, &status) != 0 ||
        get_str(d, it, "reason", STR_COPY, &c->reason) != 0 ||
        get_str(d, it, "message", STR_COPY, &c->message) != 0 ||
        get_time(d, it, "lastTransitionTime", &c->last_transition_ns) != 0)
        return -1;
    c->status = (enum cs_cond_status)status;
    return 0;
}

static int decode_conditions(struct dec *d, const json_t *status, struct cs_condition **out,
                             uint32_t *n)
{
    size_t cnt = array_len(status, "conditions");
    *out = cnt ? CS_ARENA_ARRAY(d->a, struct cs_condition, cnt) : NULL;
    if (each_object(d, status, "conditions", condition_item, *out, &cnt) != 0)
        return -1;
    *n = (uint32_t)cnt;
    return 0;
}

/* Of a pod's conditions only PodScheduled (why a pod waits; whether to write it again) and
 * PodResizePending (an infeasible resize) are read; the four more of a running pod would be a
 * quarter of each cached pod. The others are skipped like unknown fields. */
static const char *const pod_conditions_read[] = {"PodScheduled", "PodResizePending"};
#define N_POD_CONDITIONS_READ (sizeof(pod_conditions_read) / sizeof(pod_conditions_read[0]))

struct pod_cond_arg {
    struct cs_condition kept[N_POD_CONDITIONS_READ];
    uint32_t n;
};

static int pod_condition_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct pod_cond_arg *pa = arg;
    struct cs_condition bad;
    (void)i;
    const char *type = json_string_value(json_object_get(it, "type"));
    if (type == NULL)
        return condition_item(d, it, 0, &bad);  /* reports the missing or mistyped type */
    size_t k = 0;
    while (k < N_POD_CONDITIONS_READ && strcmp(type, pod_conditions_read[k]) != 0)
        k++;
    if (k == N_POD_CONDITIONS_READ)
        return 0;
    for (uint32_t j = 0; j < pa->n; j++) {
        if (strcmp(pa->kept[j].type, type) == 0)
            return 0;  /* a repeated type: the first stands, as a lookup would find it */
    }
    struct cs_condition *c = &pa->kept[pa->n];  /* distinct kept types: n < N here */
    memset(c, 0, sizeof(*c));
    if (condition_item(d, it, 0, c) != 0)
        return -1;
    pa->n++;
    return 0;
}

static int decode_pod_conditions(struct dec *d, const json_t *status, struct cs_pod *p)
{
    struct pod_cond_arg pa;
    size_t cnt;
    pa.n = 0;
    if (each_object(d, status, "conditions", pod_condition_item, &pa, &cnt) != 0)
        return -1;
    p->conditions = pa.n ? CS_ARENA_ARRAY(d->a, struct cs_condition, pa.n) : NULL;
    if (pa.n)
        memcpy(p->conditions, pa.kept, sizeof(pa.kept[0]) * pa.n);
    p->n_conditions = pa.n;
    return 0;
}

/* ---- containers ---------------------------------------------------------------------------- */

static int port_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    static const char *const protos[] = {"TCP", "UDP", "SCTP"};
    struct cs_port *p = &((struct cs_port *)arg)[i];
    int proto = CS_PROTO_TCP;
    if (get_i32(d, it, "containerPort", &p->container_port, NULL) != 0 ||
        get_i32(d, it, "hostPort", &p->host_port, NULL) != 0 ||
        get_enum(d, it, "protocol", protos, 3, &proto) != 0 ||
        get_str(d, it, "hostIP", STR_COPY, &p->host_ip) != 0)
        return -1;
    p->protocol = (enum cs_protocol)proto;
    return 0;
}

struct containers_arg {
    struct cs_container *c;
    bool init;
};

static int container_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct containers_arg *ca = arg;
    struct cs_container *c = &ca->c[i];
    const json_t *res, *rp;
    size_t cnt;

    /* Interned: a workload's pods share their container names and images (bounded by the
     * cluster's images, as the nodes' image lists are). */
    if (get_str(d, it, "name", STR_INTERN, &c->name) != 0 ||
        get_str(d, it, "image", STR_INTERN, &c->image) != 0 ||
        get(d, it, "resources", JSON_OBJECT, &res) != 0 ||
        get(d, it, "restartPolicy", JSON_STRING, &rp) != 0)
        return -1;
    if (res != NULL) {
        size_t m = push_key(d, "resources");
        struct cs_res_extras xlim = { 0 };
        struct cs_resources req, lim;
        d->extras = &c->extra_requests;
        int rc = get_resources(d, res, "requests", &req);
        d->extras = &xlim;
        rc = rc || get_resources(d, res, "limits", &lim);
        d->extras = NULL;
        pop(d, m);
        if (rc != 0)
            return -1;
        /* apiserver defaulting: a limit without a request requests the limit. */
        for (int s = 0; s < CS_RES_MAX; s++) {
            uint32_t bit = 1u << s;
            if ((lim.present & bit) && !(req.present & bit))
                cs_res_set(&req, s, lim.v[s]);
        }
        c->requests = cs_res_list_pack(d->a, &req);
        c->limits = cs_res_list_pack(d->a, &lim);
        for (uint32_t k = 0; k < xlim.n; k++) {
            bool has = false;
            for (uint32_t j = 0; j < c->extra_requests.n; j++) {
                has = has || c->extra_requests.e[j].name == xlim.e[k].name;
            }
            if (!has)
                cs_res_extra_apply(&c->extra_requests, d->a, xlim.e[k].name, xlim.e[k].v, '=');
        }
    }
    c->restartable = ca->init && rp != NULL && strcmp(json_string_value(rp), "Always") == 0;
    cnt = array_len(it, "ports");
    c->ports = cnt ? CS_ARENA_ARRAY(d->a, struct cs_port, cnt) : NULL;
    if (each_object(d, it, "ports", port_item, c->ports, &cnt) != 0)
        return -1;
    c->n_ports = (uint32_t)cnt;
    return 0;
}

static int decode_containers(struct dec *d, const json_t *spec, const char *key, bool init,
                             struct cs_container **out, uint32_t *n)
{
    size_t cnt = array_len(spec, key);
    struct containers_arg ca = {cnt ? CS_ARENA_ARRAY(d->a, struct cs_container, cnt) : NULL, init};
    if (each_object(d, spec, key, container_item, &ca, &cnt) != 0)
        return -1;
    *out = ca.c;
    *n = (uint32_t)cnt;
    return 0;
}

/* ---- affinity ------------------------------------------------------------------------------ */

static int node_requirements(struct dec *d, const json_t *term, const char *key,
                             struct cs_selector **out, bool *invalid)
{
    const json_t *arr;
    char msg[384];
    int rc = 0;
    *out = NULL;
    if (get(d, term, key, JSON_ARRAY, &arr) != 0)
        return -1;
    if (arr == NULL || json_array_size(arr) == 0)
        return 0;
    size_t m = push_key(d, key);
    /* kube-scheduler does not refuse such a pod: the term that cannot be parsed just matches
     * no node (component-helpers' lazy-error node selector). */
    if (cs_selector_from_node_requirements(arr, d->path, d->a, out, msg, sizeof(msg)) != 0) {
        *out = NULL;
        *invalid = true;
    }
    pop(d, m);
    return rc;
}

static int node_selector_term(struct dec *d, const json_t *term, struct cs_node_selector_term *t)
{
    return node_requirements(d, term, "matchExpressions", &t->match_expressions, &t->invalid) ||
           node_requirements(d, term, "matchFields", &t->match_fields, &t->invalid) ? -1 : 0;
}

static int required_term_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    return node_selector_term(d, it, &((struct cs_node_selector_term *)arg)[i]);
}

static int preferred_term_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct cs_preferred_term *p = &((struct cs_preferred_term *)arg)[i];
    const json_t *pref;
    if (get_i32(d, it, "weight", &p->weight, NULL) != 0 ||
        get(d, it, "preference", JSON_OBJECT, &pref) != 0)
        return -1;
    if (pref == NULL)
        return 0;
    size_t m = push_key(d, "preference");
    int rc = node_selector_term(d, pref, &p->term);
    pop(d, m);
    return rc;
}

static int decode_node_affinity(struct dec *d, const json_t *na, struct cs_node_affinity *out)
{
    const json_t *req;
    size_t cnt;
    if (get(d, na, "requiredDuringSchedulingIgnoredDuringExecution", JSON_OBJECT, &req) != 0)
        return -1;
    if (req != NULL) {
        size_t m = push_key(d, "requiredDuringSchedulingIgnoredDuringExecution");
        out->has_required = true;
        cnt = array_len(req, "nodeSelectorTerms");
        out->required = cnt ? CS_ARENA_ARRAY(d->a, struct cs_node_selector_term, cnt) : NULL;
        int rc = each_object(d, req, "nodeSelectorTerms", required_term_item, out->required, &cnt);
        pop(d, m);
        if (rc != 0)
            return -1;
        out->n_required = (uint32_t)cnt;
    }
    const char *pk = "preferredDuringSchedulingIgnoredDuringExecution";
    cnt = array_len(na, pk);
    out->preferred = cnt ? CS_ARENA_ARRAY(d->a, struct cs_preferred_term, cnt) : NULL;
    if (each_object(d, na, pk, preferred_term_item, out->preferred, &cnt) != 0)
        return -1;
    out->n_preferred = (uint32_t)cnt;
    return 0;
}

static int pod_affinity_term(struct dec *d, const json_t *it, struct cs_pod_affinity_term *t)
{
    return get_label_selector(d, it, "labelSelector", &t->label_selector) ||
           get_str_array(d, it, "namespaces", STR_INTERN, &t->namespaces, &t->n_namespaces) ||
           get_label_selector(d, it, "namespaceSelector", &t->namespace_selector) ||
           get_str(d, it, "topologyKey", STR_INTERN, &t->topology_key) ||
           get_str_array(d, it, "matchLabelKeys", STR_INTERN, &t->match_label_keys,
                         &t->n_match_label_keys) ||
           get_str_array(d, it, "mismatchLabelKeys", STR_INTERN, &t->mismatch_label_keys,
                         &t->n_mismatch_label_keys) ? -1 : 0;
}

static int affinity_term_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    return pod_affinity_term(d, it, &((struct cs_pod_affinity_term *)arg)[i]);
}

static int weighted_term_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct cs_weighted_affinity_term *w = &((struct cs_weighted_affinity_term *)arg)[i];
    const json_t *term;
    if (get_i32(d, it, "weight", &w->weight, NULL) != 0 ||
        get(d, it, "podAffinityTerm", JSON_OBJECT, &term) != 0)
        return -1;
    if (term == NULL)
        return fail_at(d, "podAffinityTerm", "required");
    size_t m = push_key(d, "podAffinityTerm");
    int rc = pod_affinity_term(d, term, &w->term);
    pop(d, m);
    return rc;
}

static int decode_pod_affinity(struct dec *d, const json_t *pa, struct cs_pod_affinity *out)
{
    const char *rk = "requiredDuringSchedulingIgnoredDuringExecution";
    const char *pk = "preferredDuringSchedulingIgnoredDuringExecution";
    size_t cnt = array_len(pa, rk);
    out->required = cnt ? CS_ARENA_ARRAY(d->a, struct cs_pod_affinity_term, cnt) : NULL;
    if (each_object(d, pa, rk, affinity_term_item, out->required, &cnt) != 0)
        return -1;
    out->n_required = (uint32_t)cnt;
    cnt = array_len(pa, pk);
    out->preferred = cnt ? CS_ARENA_ARRAY(d->a, struct cs_weighted_affinity_term, cnt) : NULL;
    if (each_object(d, pa, pk, weighted_term_item, out->preferred, &cnt) != 0)
        return -1;
    out->n_preferred = (uint32_t)cnt;
    return 0;
}

static int decode_affinity(struct dec *d, const json_t *aff, struct cs_pod *p)
{
    const json_t *na, *pa, *paa;
    if (get(d, aff, "nodeAffinity", JSON_OBJECT, &na) != 0 ||
        get(d, aff, "podAffinity", JSON_OBJECT, &pa) != 0 ||
        get(d, aff, "podAntiAffinity", JSON_OBJECT, &paa) != 0)
        return -1;
    int rc = 0;
    size_t m;
    if (na != NULL) {
        p->node_affinity = CS_ARENA_NEW(d->a, struct cs_node_affinity);
        m = push_key(d, "nodeAffinity");
        rc = decode_node_affinity(d, na, p->node_affinity);
        pop(d, m);
    }
    if (rc == 0 && pa != NULL) {
        p->pod_affinity = CS_ARENA_NEW(d->a, struct cs_pod_affinity);
        m = push_key(d, "podAffinity");
        rc = decode_pod_affinity(d, pa, p->pod_affinity);
        pop(d, m);
    }
    if (rc == 0 && paa != NULL) {
        p->pod_anti_affinity = CS_ARENA_NEW(d->a, struct cs_pod_affinity);
        m = push_key(d, "podAntiAffinity");
        rc = decode_pod_affinity(d, paa, p->pod_anti_affinity);
        pop(d, m);
    }
    return rc;
}

/* ---- taints, tolerations, spread ---------------------------------------------------------- */

static const char *const effect_names[] = {NULL, "NoSchedule", "PreferNoSchedule", "NoExecute"};

static int toleration_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    /* Gt and Lt: TaintTolerationComparisonOperators (numeric values, compared as integers). */
    static const char *const ops[] = {"Equal", "Exists", "Gt", "Lt"};
    struct cs_toleration *t = &((struct cs_toleration *)arg)[i];
    int op = 0, effect = CS_EFFECT_NONE;
    if (get_str(d, it, "key", STR_INTERN, &t->key) != 0 ||
        get_enum(d, it, "operator", ops, 4, &op) != 0 ||
        get_str(d, it, "value", STR_COPY, &t->value) != 0 ||
        get_enum(d, it, "effect", effect_names, 4, &effect) != 0 ||
        get_i64(d, it, "tolerationSeconds", INT64_MIN, INT64_MAX, &t->toleration_seconds,
                &t->has_seconds) != 0)
        return -1;
    t->op_exists = op == 1;
    t->op_compare = op == 2 ? CS_TOL_GT : op == 3 ? CS_TOL_LT : 0;
    t->effect = (enum cs_taint_effect)effect;
    return 0;
}

static int taint_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct cs_taint *t = &((struct cs_taint *)arg)[i];
    int effect = CS_EFFECT_NONE;
    if (get_str(d, it, "key", STR_INTERN, &t->key) != 0 ||
        get_str(d, it, "value", STR_COPY, &t->value) != 0 ||
        get_enum(d, it, "effect", effect_names, 4, &effect) != 0)
        return -1;
    if (t->key == NULL)
        return fail_at(d, "key", "required");
    if (effect == CS_EFFECT_NONE)
        return fail_at(d, "effect", "required");
    t->effect = (enum cs_taint_effect)effect;
    return 0;
}

static int spread_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    static const char *const when[] = {"ScheduleAnyway", "DoNotSchedule"};
    static const char *const policies[] = {"Honor", "Ignore"};
    struct cs_spread_constraint *s = &((struct cs_spread_constraint *)arg)[i];
    int w = 1, nap = 0, ntp = 1;
    if (get_i32(d, it, "maxSkew", &s->max_skew, NULL) != 0 ||
        get_str(d, it, "topologyKey", STR_INTERN, &s->topology_key) != 0 ||
        get_enum(d, it, "whenUnsatisfiable", when, 2, &w) != 0 ||
        get_label_selector(d, it, "labelSelector", &s->label_selector) != 0 ||
        get_i32(d, it, "minDomains", &s->min_domains, NULL) != 0 ||
        get_enum(d, it, "nodeAffinityPolicy", policies, 2, &nap) != 0 ||
        get_enum(d, it, "nodeTaintsPolicy", policies, 2, &ntp) != 0 ||
        get_str_array(d, it, "matchLabelKeys", STR_INTERN, &s->match_label_keys,
                      &s->n_match_label_keys) != 0)
        return -1;
    s->do_not_schedule = w == 1;
    s->node_affinity_policy_ignore = nap == 1;
    s->node_taints_policy_honor = ntp == 0;
    return 0;
}

static int gate_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    const char **names = arg;
    if (get_str(d, it, "name", STR_COPY, &names[i]) != 0)
        return -1;
    if (names[i] == NULL)
        return fail_at(d, "name", "required");
    return 0;
}

/* ---- pod ------------------------------------------------------------------------------------ */

/* Only cpu, memory and hugepages-* take effect at pod level (IsSupportedPodLevelResource). */
static void keep_pod_level(struct dec *d, struct cs_resources *r)
{
    for (int s = 0; s < CS_RES_MAX; s++) {
        const char *name = cs_resource_name(d->ctx->resources, s);
        if ((r->present & (1u << s)) && s != CS_RES_CPU && s != CS_RES_MEMORY &&
            (name == NULL || !cs_resource_is_hugepages(name))) {
            r->present &= ~(1u << s);
            r->v[s] = 0;
        }
    }
}

/* A resource vector kept only when it names something: most pods have neither an overhead nor
 * pod-level requests, and a cached pod should not carry two empty vectors. */
static const struct cs_resources *keep_res(struct dec *d, const struct cs_resources *r)
{
    if (r->present == 0)
        return NULL;
    struct cs_resources *k = CS_ARENA_NEW(d->a, struct cs_resources);
    *k = *r;
    return k;
}

static int get_overhead(struct dec *d, const json_t *spec, struct cs_pod *p)
{
    struct cs_resources r;
    d->extras = &p->extra_overhead;
    int rc = get_resources(d, spec, "overhead", &r);
    d->extras = NULL;
    if (rc == 0)
        p->overhead = keep_res(d, &r);
    return rc;
}

static int decode_pod_spec(struct dec *d, const json_t *spec, struct cs_pod *p)
{
    static const char *const preempt[] = {"PreemptLowerPriority", "Never"};
    const json_t *aff, *res;
    int pp = CS_PREEMPT_LOWER_PRIORITY;
    size_t cnt;

    if (get_str(d, spec, "schedulerName", STR_INTERN, &p->scheduler_name) != 0 ||
        get_str(d, spec, "nodeName", STR_INTERN, &p->node_name) != 0 ||
        get_str(d, spec, "priorityClassName", STR_COPY, &p->priority_class_name) != 0 ||
        get_i32(d, spec, "priority", &p->priority, &p->has_priority) != 0 ||
        get_enum(d, spec, "preemptionPolicy", preempt, 2, &pp) != 0 ||
        get_bool(d, spec, "hostNetwork", &p->host_network) != 0 ||
        decode_containers(d, spec, "containers", false, &p->containers, &p->n_containers) != 0 ||
        decode_containers(d, spec, "initContainers", true, &p->init_containers,
                          &p->n_init_containers) != 0 ||
        get_overhead(d, spec, p) != 0 ||
        get(d, spec, "resources", JSON_OBJECT, &res) != 0 ||
        get_labels(d, spec, "nodeSelector", &p->node_selector, &p->n_node_selector) != 0 ||
        get(d, spec, "affinity", JSON_OBJECT, &aff) != 0)
        return -1;
    if (p->scheduler_name == NULL)
        p->scheduler_name = cs_intern(d->ctx->strings, "default-scheduler");
    p->preemption_policy = (enum cs_preemption_policy)pp;
    if (!p->has_priority && d->ctx->priorities) {
        /* what the Priority admission plugin would have written */
        int32_t value;
        enum cs_preemption_policy pol;
        if (cs_prio_table_lookup(d->ctx->priorities, p->priority_class_name, &value, &pol)) {
            p->priority = value;
            if (json_object_get(spec, "preemptionPolicy") == NULL)
                p->preemption_policy = pol;
        }
    }

    if (res != NULL) {
        struct cs_resources limits, req;
        size_t m = push_key(d, "resources");
        int rc = get_resources(d, res, "requests", &req) ||
                 get_resources(d, res, "limits", &limits);
        pop(d, m);
        if (rc != 0)
            return -1;
        for (int s = 0; s < CS_RES_MAX; s++) {
            uint32_t bit = 1u << s;
            if ((limits.present & bit) && !(req.present & bit))
                cs_res_set(&req, s, limits.v[s]);
        }
        keep_pod_level(d, &req);
        p->pod_requests = keep_res(d, &req);
    }
    if (aff != NULL) {
        size_t m = push_key(d, "affinity");
        int rc = decode_affinity(d, aff, p);
        pop(d, m);
        if (rc != 0)
            return -1;
    }

    cnt = array_len(spec, "tolerations");
    p->tolerations = cnt ? CS_ARENA_ARRAY(d->a, struct cs_toleration, cnt) : NULL;
    if (each_object(d, spec, "tolerations", toleration_item, p->tolerations, &cnt) != 0)
        return -1;
    p->n_tolerations = (uint32_t)cnt;

    cnt = array_len(spec, "topologySpreadConstraints");
    p->spread = cnt ? CS_ARENA_ARRAY(d->a, struct cs_spread_constraint, cnt) : NULL;
    if (each_object(d, spec, "topologySpreadConstraints", spread_item, p->spread, &cnt) != 0)
        return -1;
    p->n_spread = (uint32_t)cnt;
    if (p->pod_affinity || p->pod_anti_affinity || p->n_spread) {
        /* What an update must change for these pods to be tried again (the queue's check). */
        char *a = aff ? json_dumps(aff, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        char *t = json_dumps(json_object_get(spec, "topologySpreadConstraints"),
                             JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        p->constraints_hash = (cs_hash_str(a ? a : "") * 31u) ^ cs_hash_str(t ? t : "") ^ 1u;
        free(a);
        free(t);
    }

    cnt = array_len(spec, "schedulingGates");
    p->scheduling_gates = cnt ? CS_ARENA_ARRAY(d->a, const char *, cnt) : NULL;
    if (each_object(d, spec, "schedulingGates", gate_item, (void *)p->scheduling_gates, &cnt) != 0)
        return -1;
    p->n_scheduling_gates = (uint32_t)cnt;

    /* volumes: only the claims they use (malformed entries are the apiserver's to refuse) */
    const json_t *vols = json_object_get(spec, "volumes");
    cnt = json_is_array(vols) ? json_array_size(vols) : 0;
    p->claims = cnt ? CS_ARENA_ARRAY(d->a, const char *, cnt) : NULL;
    p->n_claims = 0;
    for (size_t i = 0; i < cnt; i++) {
        const json_t *v = json_array_get(vols, i);
        const char *claim = json_string_value(
            json_object_get(json_object_get(v, "persistentVolumeClaim"), "claimName"));
        const char *vname = json_string_value(json_object_get(v, "name"));
        if (claim != NULL) {
            p->claims[p->n_claims++] = cs_arena_strdup(d->a, claim);
        } else if (json_is_object(json_object_get(v, "ephemeral")) && vname && p->name) {
            p->claims[p->n_claims++] = cs_arena_printf(d->a, "%s-%s", p->name, vname);
        }
    }
    return 0;
}

/* In-place resize (k8s-api.md; component-helpers' PodRequests with UseStatusResources): a
 * container with a status entry that reports resources requests the larger of its spec,
 * status.containerStatuses[].resources.requests and allocatedResources; while the pod's resize
 * is Infeasible, the spec does not count (only what the kubelet actuated and allocated). */
static int resize_statuses(struct dec *d, const json_t *st, const char *key,
                           struct cs_container *cs, uint32_t n, bool infeasible, bool sidecars)
{
    const json_t *arr = json_object_get(st, key);
    if (!json_is_array(arr))
        return 0;
    size_t m = push_key(d, key);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *it = json_array_get(arr, i);
        const char *name = json_string_value(json_object_get(it, "name"));
        const json_t *res = json_object_get(it, "resources");
        if (name == NULL || !json_is_object(res))
            continue;                       /* no status resources: the spec stands */
        for (uint32_t c = 0; c < n; c++) {
            if (cs[c].name == NULL || strcmp(cs[c].name, name) != 0 ||
                (sidecars && !cs[c].restartable))
                continue;                   /* of init containers, only sidecars count */
            struct cs_resources actual, allocated;
            char idx[32];
            snprintf(idx, sizeof(idx), "%zu", i);
            size_t m2 = push_key(d, idx);
            int rc = get_resources(d, res, "requests", &actual) ||
                     get_resources(d, it, "allocatedResources", &allocated);
            pop(d, m2);
            if (rc != 0) {
                pop(d, m);
                return -1;
            }
            struct cs_resources req;
            if (infeasible)
                memset(&req, 0, sizeof(req));
            else
                cs_res_list_expand(cs[c].requests, &req);
            cs_res_max(&req, &actual);
            cs_res_max(&req, &allocated);
            cs[c].requests = cs_res_list_pack(d->a, &req);
        }
    }
    pop(d, m);
    return 0;
}

static int decode_pod_status(struct dec *d, const json_t *st, struct cs_pod *p)
{
    static const char *const phases[] = {"Pending", "Running", "Succeeded", "Failed", "Unknown"};
    int phase = CS_PHASE_PENDING;
    if (get_enum(d, st, "phase", phases, 5, &phase) != 0 ||
        decode_pod_conditions(d, st, p) != 0 ||
        get_str(d, st, "nominatedNodeName", STR_INTERN, &p->nominated_node_name) != 0 ||
        get_time(d, st, "startTime", &p->start_ns) != 0)
        return -1;
    p->phase = (enum cs_pod_phase)phase;
    const char *resize = json_string_value(json_object_get(st, "resize"));
    bool infeasible = resize && strcmp(resize, "Infeasible") == 0;
    for (uint32_t i = 0; i < p->n_conditions; i++) {
        infeasible = infeasible || (p->conditions[i].type &&
                                    strcmp(p->conditions[i].type, "PodResizePending") == 0 &&
                                    p->conditions[i].reason &&
                                    strcmp(p->conditions[i].reason, "Infeasible") == 0);
    }
    if (resize_statuses(d, st, "containerStatuses", p->containers, p->n_containers,
                        infeasible, false) != 0 ||
        resize_statuses(d, st, "initContainerStatuses", p->init_containers,
                        p->n_init_containers, infeasible, true) != 0)
        return -1;
    return 0;
}

static void dec_init(struct dec *d, const struct cs_api_ctx *ctx, struct cs_arena *a,
                     const char *kind, char *err, size_t errlen)
{
    d->ctx = ctx;
    d->a = a;
    d->extras = NULL;
    d->kind = kind;
    d->id = "<unknown>";
    d->path[0] = '\0';
    d->plen = 0;
    d->err = err;
    d->errlen = errlen;
}

/* Runs fn on obj[key] (an object) with the path extended; absent is fine. */
static int section(struct dec *d, const json_t *obj, const char *key,
                   int (*fn)(struct dec *, const json_t *, void *), void *arg)
{
    const json_t *v;
    if (get(d, obj, key, JSON_OBJECT, &v) != 0)
        return -1;
    if (v == NULL)
        return 0;
    size_t m = push_key(d, key);
    int rc = fn(d, v, arg);
    pop(d, m);
    return rc;
}

static int pod_spec_fn(struct dec *d, const json_t *v, void *arg)
{
    return decode_pod_spec(d, v, arg);
}

static int pod_status_fn(struct dec *d, const json_t *v, void *arg)
{
    return decode_pod_status(d, v, arg);
}

int cs_pod_decode(const struct cs_api_ctx *ctx, const json_t *obj, struct cs_pod **out, char *err,
                  size_t errlen)
{
    /* The object and its strings share one allocation sized as recent pods needed. */
    size_t first = cs_pod_room_size(ctx->pod_room);
    struct cs_pod *p = cs_pod_new(first - CS_ARENA_BLOCK_OVERHEAD - sizeof(struct cs_pod));
    struct dec d;
    struct meta m;
    const json_t *md;
    size_t cnt;
    int rc = -1;

    dec_init(&d, ctx, &p->arena, "pod", err, errlen);
    memset(&m, 0, sizeof(m));
    *out = NULL;

    if (!json_is_object(obj)) {
        fail(&d, "expected a JSON object");
        goto out;
    }
    if (check_kind(&d, obj, "Pod") != 0 || get(&d, obj, "metadata", JSON_OBJECT, &md) != 0)
        goto out;
    if (md == NULL) {
        fail_at(&d, "metadata", "required");
        goto out;
    }
    if (decode_identity(&d, md, true, &m) != 0 || decode_meta(&d, md, &m) != 0)
        goto out;
    p->ns = m.ns;
    p->name = m.name;
    p->key = d.id;
    p->uid = m.uid;
    p->resource_version = m.rv_str;
    p->rv = m.rv;
    p->creation_ns = m.creation_ns;
    p->deletion_ns = m.deletion_ns;
    p->labels = m.labels;
    p->n_labels = m.n_labels;
    p->annotations = m.annotations;
    p->n_annotations = m.n_annotations;

    size_t mk = push_key(&d, "metadata");
    cnt = array_len(md, "ownerReferences");
    p->owners = cnt ? CS_ARENA_ARRAY(&p->arena, struct cs_owner_ref, cnt) : NULL;
    int orc = each_object(&d, md, "ownerReferences", owner_item, p->owners, &cnt);
    pop(&d, mk);
    if (orc != 0)
        goto out;
    p->n_owners = (uint32_t)cnt;

    if (section(&d, obj, "spec", pod_spec_fn, p) != 0 ||
        section(&d, obj, "status", pod_status_fn, p) != 0)
        goto out;
    if (p->scheduler_name == NULL)  /* no spec at all */
        p->scheduler_name = cs_intern(ctx->strings, "default-scheduler");
    cs_pod_compute_requests(p);
    cs_pod_room_note(ctx->pod_room, CS_ARENA_BLOCK_OVERHEAD + p->arena.used_total);
    rc = 0;
out:
    if (rc == 0)
        *out = p;
    else
        cs_pod_unref(p);
    return rc;
}

/* ---- node ----------------------------------------------------------------------------------- */

static int image_item(struct dec *d, const json_t *it, size_t i, void *arg)
{
    struct cs_image *im = &((struct cs_image *)arg)[i];
    return get_str_array(d, it, "names", STR_COPY, &im->names, &im->n_names) ||
           get_i64(d, it, "sizeBytes", INT64_MIN, INT64_MAX, &im->size_bytes, NULL) ? -1 : 0;
}

static int node_spec_fn(struct dec *d, const json_t *spec, void *arg)
{
    struct cs_node *n = arg;
    size_t cnt;
    if (get_bool(d, spec, "unschedulable", &n->unschedulable) != 0)
        return -1;
    cnt = array_len(spec, "taints");
    n->taints = cnt ? CS_ARENA_ARRAY(d->a, struct cs_taint, cnt) : NULL;
    if (each_object(d, spec, "taints", taint_item, n->taints, &cnt) != 0)
        return -1;
    n->n_taints = (uint32_t)cnt;
    return 0;
}

static int node_status_fn(struct dec *d, const json_t *st, void *arg)
{
    struct cs_node *n = arg;
    const json_t *alloc;
    size_t cnt;
    struct cs_res_extras xcap = { 0 };
    d->extras = &xcap;
    int rc = get_resources(d, st, "capacity", &n->capacity) != 0 ||
             get(d, st, "allocatable", JSON_OBJECT, &alloc) != 0;
    d->extras = NULL;
    if (rc)
        return -1;
    if (alloc == NULL) {
        n->allocatable = n->capacity;
        n->extra_allocatable = xcap;
    } else {
        d->extras = &n->extra_allocatable;
        rc = get_resources(d, st, "allocatable", &n->allocatable);
        d->extras = NULL;
        if (rc != 0)
            return -1;
    }
    if (decode_conditions(d, st, &n->conditions, &n->n_conditions) != 0)
        return -1;
    cnt = array_len(st, "images");
    n->images = cnt ? CS_ARENA_ARRAY(d->a, struct cs_image, cnt) : NULL;
    if (each_object(d, st, "images", image_item, n->images, &cnt) != 0)
        return -1;
    n->n_images = (uint32_t)cnt;
    return 0;
}

int cs_node_decode(const struct cs_api_ctx *ctx, const json_t *obj, struct cs_node **out,
                   char *err, size_t errlen)
{
    struct cs_node *n = cs_calloc(1, sizeof(*n));
    struct dec d;
    struct meta m;
    const json_t *md;
    int rc = -1;

    n->magic = CS_NODE_MAGIC;
    atomic_init(&n->refcnt, 1);
    cs_arena_init(&n->arena, NODE_ARENA_BLOCK);
    dec_init(&d, ctx, &n->arena, "node", err, errlen);
    memset(&m, 0, sizeof(m));
    *out = NULL;

    if (!json_is_object(obj)) {
        fail(&d, "expected a JSON object");
        goto out;
    }
    if (check_kind(&d, obj, "Node") != 0 || get(&d, obj, "metadata", JSON_OBJECT, &md) != 0)
        goto out;
    if (md == NULL) {
        fail_at(&d, "metadata", "required");
        goto out;
    }
    if (decode_identity(&d, md, false, &m) != 0 || decode_meta(&d, md, &m) != 0)
        goto out;
    n->name = m.name;
    n->uid = m.uid;
    n->resource_version = m.rv_str;
    n->rv = m.rv;
    n->creation_ns = m.creation_ns;
    n->deletion_ns = m.deletion_ns;
    n->labels = m.labels;
    n->n_labels = m.n_labels;
    n->annotations = m.annotations;
    n->n_annotations = m.n_annotations;
    if (section(&d, obj, "spec", node_spec_fn, n) != 0 ||
        section(&d, obj, "status", node_status_fn, n) != 0)
        goto out;
    rc = 0;
out:
    if (rc == 0)
        *out = n;
    else
        cs_node_unref(n);
    return rc;
}

/* ---- text entry points and context ------------------------------------------------------- */

static json_t *load_text(const char *kind, const char *text, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *obj = json_loadb(text, len, 0, &je);
    if (obj == NULL)
        snprintf(err, errlen, "%s: invalid JSON at line %d column %d: %s", kind, je.line,
                 je.column, je.text);
    return obj;
}

/* obj without the spec fields in `drop` (a new reference). */
static json_t *without(const json_t *obj, const char *const *drop)
{
    json_t *c = json_copy((json_t *)obj);          /* shallow: shares the members */
    json_t *spec = json_object_get(c, "spec");
    if (json_is_object(spec)) {
        json_t *s2 = json_copy(spec);
        for (int i = 0; drop[i]; i++) {
            json_object_del(s2, drop[i]);
        }
        json_object_set_new(c, "spec", s2);
    }
    return c;
}

int cs_pod_decode_lenient(const struct cs_api_ctx *ctx, const json_t *obj, struct cs_pod **out,
                          char *err, size_t errlen)
{
    if (cs_pod_decode(ctx, obj, out, err, errlen) == 0) {
        return 0;
    }
    static const char *const constraints[] = { "affinity", "tolerations",
                                               "topologySpreadConstraints", "nodeSelector",
                                               "schedulingGates", NULL };
    static const char *const all_but_node[] = { "affinity", "tolerations",
                                                "topologySpreadConstraints", "nodeSelector",
                                                "schedulingGates", "containers",
                                                "initContainers", "overhead", "resources",
                                                "hostNetwork", "preemptionPolicy", NULL };
    const char *const *levels[2] = { constraints, all_but_node };
    char e2[256];
    for (int l = 0; l < 2; l++) {
        json_t *stripped = without(obj, levels[l]);
        int rc = cs_pod_decode(ctx, stripped, out, e2, sizeof(e2));
        json_decref(stripped);
        if (rc == 0) {
            (*out)->decode_error = cs_arena_strdup(&(*out)->arena, err);
            return 0;
        }
    }
    return -1;
}

int cs_pod_decode_text(const struct cs_api_ctx *ctx, const char *text, size_t len,
                       struct cs_pod **out, char *err, size_t errlen)
{
    int rc = -1;
    json_t *obj = load_text("pod", text, len, err, errlen);
    *out = NULL;
    if (obj != NULL)
        rc = cs_pod_decode(ctx, obj, out, err, errlen);
    json_decref(obj);
    return rc;
}

int cs_node_decode_text(const struct cs_api_ctx *ctx, const char *text, size_t len,
                        struct cs_node **out, char *err, size_t errlen)
{
    int rc = -1;
    json_t *obj = load_text("node", text, len, err, errlen);
    *out = NULL;
    if (obj != NULL)
        rc = cs_node_decode(ctx, obj, out, err, errlen);
    json_decref(obj);
    return rc;
}

void cs_api_ctx_init(struct cs_api_ctx *ctx)
{
    ctx->strings = cs_malloc(sizeof(*ctx->strings));
    cs_intern_init(ctx->strings);
    ctx->resources = cs_malloc(sizeof(*ctx->resources));
    cs_resource_names_init(ctx->resources);
    ctx->priorities = NULL;
    ctx->pod_room = cs_malloc(sizeof(*ctx->pod_room));
    cs_pod_room_init(ctx->pod_room);
}

void cs_api_ctx_destroy(struct cs_api_ctx *ctx)
{
    cs_intern_destroy(ctx->strings);
    cs_free(ctx->strings);
    cs_resource_names_destroy(ctx->resources);
    cs_free(ctx->resources);
    cs_free(ctx->pod_room);
    ctx->pod_room = NULL;
    ctx->strings = NULL;
    ctx->resources = NULL;
}
