/*
 * apisim object store.
 *
 * Each resource type keeps a hash map key -> current object version. A version
 * (struct cs_apisim_obj) is immutable and refcounted: the map holds one reference, the history
 * ring holds one per event that mentions it, list snapshots hold one per item. Every write
 * publishes a new version, bumps the global RV by one and appends one event to the ring, so
 * the event for RV r sits in slot r % cap. Versions that are neither current nor among the
 * newest CS_TREE_WINDOW events drop their jansson tree (heavy) and keep only their compact
 * text; it is re-parsed on demand, which only far-behind watchers ever need.
 */
#include "pkg/apisim/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/timeutil.h"

#define CS_TREE_WINDOW 512

struct cs_apisim_obj {
    int refs;
    int current;       /* 1 while it is the stored version in its type's map */
    json_t *j;         /* parsed tree, or NULL when dropped (re-parsed from text) */
    char *text;        /* compact JSON */
    size_t len;
    char *key;         /* "ns/name" or "name" */
};

struct cs_apisim_hist {
    uint64_t rv;
    int type;
    const struct cs_apisim_rtype *rt;
    struct cs_apisim_obj *old_obj, *new_obj;
};

struct cs_apisim_pending_del {
    struct cs_apisim_rtype *rt;
    char *key;
    char *uid;
    int64_t due_ns;
};

/* --- objects -------------------------------------------------------------------------------- */

static int dump_cb(const char *buffer, size_t size, void *data)
{
    cs_buf_append(data, buffer, size);
    return 0;
}

/*
 * Fast compact serializer producing exactly jansson's JSON_COMPACT bytes for the common case
 * (insertion-ordered keys, integers, ASCII strings). Returns -1 on anything it does not
 * reproduce byte-for-byte itself (reals, non-ASCII or rare control characters in strings,
 * excessive depth); the caller then falls back to jansson.
 */
static int put_str(struct cs_buf *b, const char *str, size_t n)
{
    cs_buf_reserve(b, 2 * n + 2);
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)str[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\b': *o++ = '\\'; *o++ = 'b'; break;
        case '\f': *o++ = '\\'; *o++ = 'f'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            return -1;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

static int put_value(struct cs_buf *b, const json_t *v, int depth)
{
    if (depth > 64)
        return -1;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        cs_buf_putc(b, '{');
        int first = 1;
        for (void *it = json_object_iter((json_t *)v); it;
             it = json_object_iter_next((json_t *)v, it)) {
            if (!first)
                cs_buf_putc(b, ',');
            first = 0;
            if (put_str(b, json_object_iter_key(it), json_object_iter_key_len(it)))
                return -1;
            cs_buf_putc(b, ':');
            if (put_value(b, json_object_iter_value(it), depth + 1))
                return -1;
        }
        cs_buf_putc(b, '}');
        return 0;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        cs_buf_putc(b, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                cs_buf_putc(b, ',');
            if (put_value(b, json_array_get(v, i), depth + 1))
                return -1;
        }
        cs_buf_putc(b, ']');
        return 0;
    }
    case JSON_STRING:
        return put_str(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        char num[32];
        int k = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        cs_buf_append(b, num, (size_t)k);
        return 0;
    }
    case JSON_TRUE:
        cs_buf_append(b, "true", 4);
        return 0;
    case JSON_FALSE:
        cs_buf_append(b, "false", 5);
        return 0;
    case JSON_NULL:
        cs_buf_append(b, "null", 4);
        return 0;
    default:
        return -1;  /* reals: jansson's %.17g fix-ups */
    }
}

/*
 * Compact JSON of j as one exact-size malloc'd string (same bytes as json_dumps(j,
 * JSON_COMPACT)). Serializes into a scratch buffer reused across calls (guarded by the store
 * lock), so a write costs one allocation instead of jansson's strbuffer growth + strdup.
 */
static char *dump_compact(struct cs_apisim_store *s, const json_t *j, size_t *len)
{
    struct cs_buf *b = &s->scratch;
    cs_buf_reset(b);
    if (json_is_object(j) && put_value(b, j, 0) == 0)
        goto done;
    cs_buf_reset(b);
    if (!j || json_dump_callback(j, dump_cb, b, JSON_COMPACT) != 0 || b->len == 0) {
        cs_buf_reset(b);
        cs_buf_puts(b, "{}");
    }
done:;
    char *t = cs_malloc(b->len + 1);  /* freed with free() like jansson's strings */
    memcpy(t, b->data, b->len);
    t[b->len] = 0;
    *len = b->len;
    if (b->cap > (size_t)4 << 20) /* do not keep a huge scratch buffer after a huge object */
        cs_buf_free(b);
    return t;
}

static struct cs_apisim_obj *obj_new(struct cs_apisim_store *s, json_t *j, const char *key)
{
    struct cs_apisim_obj *o = cs_calloc(1, sizeof(*o));
    o->refs = 1;
    o->j = j;
    o->text = dump_compact(s, j, &o->len);
    o->key = cs_strdup(key);
    return o;
}

/*
 * Private copy for a mutator: every object and array is copied (so any of them may be edited
 * in place), while the immutable leaves (strings, numbers) are shared with the stored
 * version: they may be replaced but never changed in place (json_string_set & co.). Key order
 * is preserved, so the serialization of an unchanged copy is byte-identical.
 */
static json_t *copy_tree(json_t *v)
{
    if (json_is_object(v)) {
        json_t *n = json_object();
        void *it = json_object_iter(v);
        while (it) {
            json_object_setn_new_nocheck(n, json_object_iter_key(it),
                                         json_object_iter_key_len(it),
                                         copy_tree(json_object_iter_value(it)));
            it = json_object_iter_next(v, it);
        }
        return n;
    }
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, copy_tree(json_array_get(v, i)));
        return a;
    }
    return json_incref(v);
}

static void obj_unref(struct cs_apisim_obj *o)
{
    if (!o || --o->refs > 0)
        return;
    json_decref(o->j);
    free(o->text);  /* allocated by jansson's malloc */
    cs_free(o->key);
    cs_free(o);
}

const json_t *cs_apisim_obj_json(struct cs_apisim_obj *o)
{
    if (!o->j)
        o->j = json_loadb(o->text, o->len, 0, NULL);
    return o->j;
}

const char *cs_apisim_obj_text(const struct cs_apisim_obj *o, size_t *len)
{
    if (len)
        *len = o->len;
    return o->text;
}

const char *cs_apisim_obj_key(const struct cs_apisim_obj *o)
{
    return o->key;
}

/* --- helpers -------------------------------------------------------------------------------- */

int cs_apisim_status_set(struct cs_apisim_status *st, int code, const char *reason,
                         const char *fmt, ...)
{
    if (st) {
        va_list ap;
        st->code = code;
        snprintf(st->reason, sizeof(st->reason), "%s", reason ? reason : "");
        va_start(ap, fmt);
        vsnprintf(st->message, sizeof(st->message), fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

static json_t *meta_of(json_t *obj)
{
    json_t *m = json_object_get(obj, "metadata");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(obj, "metadata", m);
    }
    return m;
}

static void make_key(const struct cs_apisim_rtype *rt, const char *ns, const char *name,
                     char *buf, size_t n)
{
    if (rt->namespaced)
        snprintf(buf, n, "%s/%s", ns ? ns : "", name);
    else
        snprintf(buf, n, "%s", name);
}

static uint64_t rnd_next(struct cs_apisim_store *s)
{
    /* splitmix64: deterministic for a given seed */
    uint64_t z = (s->rand_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void new_uid(struct cs_apisim_store *s, char *buf, size_t n)
{
    uint64_t a = rnd_next(s), b = rnd_next(s);
    snprintf(buf, n, "%08llx-%04llx-4%03llx-%04llx-%012llx",
             (unsigned long long)(a >> 32), (unsigned long long)((a >> 16) & 0xffff),
             (unsigned long long)(a & 0xfff), (unsigned long long)(0x8000 | ((b >> 48) & 0x3fff)),
             (unsigned long long)(b & 0xffffffffffffULL));
}

static char **strv_dup(const char *const *v)
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **out = cs_calloc(n + 1, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        out[i] = cs_strdup(v[i]);
    return out;
}

static void strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        cs_free(v[i]);
    cs_free(v);
}

/* --- lifecycle ------------------------------------------------------------------------------ */

struct cs_apisim_store *cs_apisim_store_new(size_t history_cap, uint64_t seed)
{
    struct cs_apisim_store *s = cs_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    if (history_cap < 16)
        history_cap = 16;
    s->ring_cap = history_cap;
    s->ring = cs_calloc(history_cap, sizeof(*s->ring));
    s->rand_state = seed ? seed : 0x5eed;
    cs_buf_init(&s->scratch);
    return s;
}

static void rtype_release(struct cs_apisim_rtype *rt)
{
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&rt->objects, &it, &k, &v);)
        obj_unref(v);
    cs_map_destroy(&rt->objects);
    cs_map_init(&rt->objects);
}

static void rtype_free_fields(struct cs_apisim_rtype *rt)
{
    cs_free(rt->group);
    cs_free(rt->version);
    cs_free(rt->resource);
    cs_free(rt->singular);
    cs_free(rt->kind);
    cs_free(rt->list_kind);
    cs_free(rt->api_version);
    strv_free(rt->versions);
    strv_free(rt->short_names);
    strv_free(rt->categories);
    json_decref(rt->printer_columns);
    rt->printer_columns = NULL;
}

void cs_apisim_store_free(struct cs_apisim_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ring_cap; i++) {
        obj_unref(s->ring[i].old_obj);
        obj_unref(s->ring[i].new_obj);
    }
    cs_free(s->ring);
    struct cs_apisim_rtype *rt = s->types;
    while (rt) {
        struct cs_apisim_rtype *next = rt->next;
        rtype_release(rt);
        cs_map_destroy(&rt->objects);
        rtype_free_fields(rt);
        cs_free(rt);
        rt = next;
    }
    for (size_t i = 0; i < s->npending; i++) {
        cs_free(s->pending[i].key);
        cs_free(s->pending[i].uid);
    }
    cs_free(s->pending);
    cs_free(s->hooks);
    cs_buf_free(&s->scratch);
    pthread_mutex_destroy(&s->mu);
    cs_free(s);
}

void cs_apisim_store_lock(struct cs_apisim_store *s)
{
    pthread_mutex_lock(&s->mu);
}

void cs_apisim_store_unlock(struct cs_apisim_store *s)
{
    pthread_mutex_unlock(&s->mu);
}

/* --- types ---------------------------------------------------------------------------------- */

struct cs_apisim_rtype *cs_apisim_store_register(struct cs_apisim_store *s,
                                                 const struct cs_apisim_rtype_def *def)
{
    struct cs_apisim_rtype *rt = NULL;
    for (struct cs_apisim_rtype *t = s->types; t; t = t->next) {
        if (!strcmp(t->group, def->group ? def->group : "") &&
            !strcmp(t->resource, def->resource)) {
            rt = t;
            break;
        }
    }
    if (rt) {
        rtype_free_fields(rt);
    } else {
        rt = cs_calloc(1, sizeof(*rt));
        cs_map_init(&rt->objects);
        /* append: discovery lists types in registration order */
        struct cs_apisim_rtype **pp = &s->types;
        while (*pp)
            pp = &(*pp)->next;
        *pp = rt;
    }
    rt->group = cs_strdup(def->group ? def->group : "");
    rt->version = cs_strdup(def->version);
    rt->resource = cs_strdup(def->resource);
    rt->singular = cs_strdup(def->singular ? def->singular : "");
    rt->kind = cs_strdup(def->kind);
    if (def->list_kind) {
        rt->list_kind = cs_strdup(def->list_kind);
    } else {
        size_t n = strlen(def->kind) + 5;
        rt->list_kind = cs_malloc(n);
        snprintf(rt->list_kind, n, "%sList", def->kind);
    }
    if (def->versions && def->versions[0]) {
        rt->versions = strv_dup(def->versions);
    } else {
        const char *one[] = { def->version, NULL };
        rt->versions = strv_dup(one);
    }
    rt->short_names = strv_dup(def->short_names);
    rt->categories = strv_dup(def->categories);
    rt->namespaced = def->namespaced;
    rt->has_status = def->has_status;
    rt->has_scale = def->has_scale;
    rt->has_generation = def->has_generation;
    rt->served = 1;
    size_t n = strlen(rt->group) + strlen(rt->version) + 2;
    rt->api_version = cs_malloc(n);
    if (rt->group[0])
        snprintf(rt->api_version, n, "%s/%s", rt->group, rt->version);
    else
        snprintf(rt->api_version, n, "%s", rt->version);
    return rt;
}

struct cs_apisim_rtype *cs_apisim_store_rtype(struct cs_apisim_store *s, const char *group,
                                              const char *resource)
{
    for (struct cs_apisim_rtype *t = s->types; t; t = t->next)
        if (t->served && !strcmp(t->group, group ? group : "") && !strcmp(t->resource, resource))
            return t;
    return NULL;
}

struct cs_apisim_rtype *cs_apisim_store_rtype_by_kind(struct cs_apisim_store *s,
                                                      const char *group, const char *kind)
{
    for (struct cs_apisim_rtype *t = s->types; t; t = t->next)
        if (t->served && !strcmp(t->group, group ? group : "") && !strcmp(t->kind, kind))
            return t;
    return NULL;
}

/* --- reads ---------------------------------------------------------------------------------- */

static struct cs_apisim_obj *lookup(const struct cs_apisim_rtype *rt, const char *ns,
                                    const char *name)
{
    char key[512];
    if (!name)
        return NULL;
    make_key(rt, ns, name, key, sizeof(key));
    return cs_map_get(&rt->objects, key);
}

const json_t *cs_apisim_store_get(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                                  const char *ns, const char *name)
{
    (void)s;
    struct cs_apisim_obj *o = lookup(rt, ns, name);
    return o ? cs_apisim_obj_json(o) : NULL;
}

const char *cs_apisim_store_get_json(struct cs_apisim_store *s,
                                     const struct cs_apisim_rtype *rt, const char *ns,
                                     const char *name, size_t *len)
{
    (void)s;
    struct cs_apisim_obj *o = lookup(rt, ns, name);
    return o ? cs_apisim_obj_text(o, len) : NULL;
}

size_t cs_apisim_store_count(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt)
{
    (void)s;
    return cs_map_len(&rt->objects);
}

int cs_apisim_store_next(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                         size_t *it, const json_t **obj)
{
    const char *k;
    void *v;
    (void)s;
    if (!cs_map_next(&rt->objects, it, &k, &v))
        return 0;
    *obj = cs_apisim_obj_json(v);
    return 1;
}

static int cmp_obj_key(const void *a, const void *b)
{
    const struct cs_apisim_obj *x = *(struct cs_apisim_obj *const *)a;
    const struct cs_apisim_obj *y = *(struct cs_apisim_obj *const *)b;
    return strcmp(x->key, y->key);
}

void cs_apisim_store_list(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                          const char *ns, cs_apisim_match_fn match, void *arg,
                          struct cs_apisim_list *out)
{
    size_t cap = 0, nslen = ns ? strlen(ns) : 0;
    const char *k;
    void *v;
    memset(out, 0, sizeof(*out));
    out->rv = s->rv;
    for (size_t it = 0; cs_map_next(&rt->objects, &it, &k, &v);) {
        struct cs_apisim_obj *o = v;
        if (ns && rt->namespaced && (strncmp(k, ns, nslen) || k[nslen] != '/'))
            continue;
        if (match && !match(cs_apisim_obj_json(o), arg))
            continue;
        out->items = cs_grow(out->items, sizeof(*out->items), out->len + 1, &cap);
        o->refs++;
        out->items[out->len++] = o;
    }
    if (out->len > 1)
        qsort(out->items, out->len, sizeof(*out->items), cmp_obj_key);
}

void cs_apisim_list_free(struct cs_apisim_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        obj_unref(l->items[i]);
    cs_free(l->items);
    memset(l, 0, sizeof(*l));
}

/* --- history and hooks ---------------------------------------------------------------------- */

uint64_t cs_apisim_store_oldest_rv(struct cs_apisim_store *s)
{
    return s->rv - s->ring_len + 1;
}

void cs_apisim_store_compact(struct cs_apisim_store *s)
{
    /* Keep only the newest event: a watch resuming from the current RV misses nothing, any
     * older RV is now beyond the window and gets 410 Expired, as after etcd compaction. */
    while (s->ring_len > 1) {
        uint64_t rv = cs_apisim_store_oldest_rv(s);
        struct cs_apisim_hist *h = &s->ring[rv % s->ring_cap];
        obj_unref(h->old_obj);
        obj_unref(h->new_obj);
        memset(h, 0, sizeof(*h));
        s->ring_len--;
    }
}

int cs_apisim_store_event(struct cs_apisim_store *s, uint64_t rv, struct cs_apisim_event *ev)
{
    if (rv == 0 || rv > s->rv || rv < cs_apisim_store_oldest_rv(s))
        return 0;
    struct cs_apisim_hist *h = &s->ring[rv % s->ring_cap];
    ev->rv = h->rv;
    ev->type = h->type;
    ev->rt = h->rt;
    ev->old_obj = h->old_obj;
    ev->new_obj = h->new_obj;
    return 1;
}

static void drop_tree(struct cs_apisim_obj *o)
{
    if (o && !o->current && o->j) {
        json_decref(o->j);
        o->j = NULL;
    }
}

/* Append the event for s->rv (already bumped) and run hooks. old/new: references transferred
 * to the ring. */
static void record(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt, int type,
                   struct cs_apisim_obj *old_obj, struct cs_apisim_obj *new_obj)
{
    struct cs_apisim_hist *h = &s->ring[s->rv % s->ring_cap];
    obj_unref(h->old_obj);
    obj_unref(h->new_obj);
    h->rv = s->rv;
    h->type = type;
    h->rt = rt;
    h->old_obj = old_obj;
    h->new_obj = new_obj;
    if (s->ring_len < s->ring_cap)
        s->ring_len++;
    if (s->rv > CS_TREE_WINDOW && s->rv - CS_TREE_WINDOW >= cs_apisim_store_oldest_rv(s)) {
        struct cs_apisim_hist *o = &s->ring[(s->rv - CS_TREE_WINDOW) % s->ring_cap];
        drop_tree(o->old_obj);
        drop_tree(o->new_obj);
    }
    uint64_t rv = s->rv;
    /* hooks may add or remove hooks; iterate by index over a stable count */
    for (size_t i = 0; i < s->nhooks; i++)
        s->hooks[i].fn(s->hooks[i].arg, s, rt, type,
                       old_obj ? cs_apisim_obj_json(old_obj) : NULL,
                       cs_apisim_obj_json(new_obj), rv);
}

void cs_apisim_store_add_hook(struct cs_apisim_store *s, cs_apisim_write_hook_fn fn, void *arg)
{
    s->hooks = cs_grow(s->hooks, sizeof(*s->hooks), s->nhooks + 1, &s->hooks_cap);
    s->hooks[s->nhooks].fn = fn;
    s->hooks[s->nhooks].arg = arg;
    s->nhooks++;
}

void cs_apisim_store_remove_hook(struct cs_apisim_store *s, cs_apisim_write_hook_fn fn,
                                 void *arg)
{
    for (size_t i = 0; i < s->nhooks; i++) {
        if (s->hooks[i].fn == fn && s->hooks[i].arg == arg) {
            memmove(&s->hooks[i], &s->hooks[i + 1], (s->nhooks - i - 1) * sizeof(*s->hooks));
            s->nhooks--;
            return;
        }
    }
}

static void set_rv(json_t *meta, uint64_t rv)
{
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
    json_object_set_new(meta, "resourceVersion", json_string(buf));
}

/* Publish j (stolen) as the current version of key; returns the new version. old may be NULL.*/
static struct cs_apisim_obj *publish(struct cs_apisim_store *s, struct cs_apisim_rtype *rt,
                                     const char *key, struct cs_apisim_obj *old, json_t *j)
{
    s->rv++;
    set_rv(meta_of(j), s->rv);
    struct cs_apisim_obj *o = obj_new(s, j, key);
    o->current = 1;
    cs_map_put(&rt->objects, o->key, o);  /* the map's reference is the one from obj_new */
    if (old)
        old->current = 0;    /* the map's reference to old moves to the ring */
    o->refs++;               /* the ring's reference */
    record(s, rt, old ? CS_APISIM_MODIFIED : CS_APISIM_ADDED, old, o);
    return o;
}

/* Remove key; records DELETED with the last state stamped with the new RV. */
static void remove_obj(struct cs_apisim_store *s, struct cs_apisim_rtype *rt,
                       struct cs_apisim_obj *old)
{
    cs_map_del(&rt->objects, old->key);
    old->current = 0;
    s->rv++;
    json_t *j = copy_tree((json_t *)cs_apisim_obj_json(old));
    set_rv(meta_of(j), s->rv);
    struct cs_apisim_obj *last = obj_new(s, j, old->key);
    record(s, rt, CS_APISIM_DELETED, old, last);
}

/* --- writes --------------------------------------------------------------------------------- */

static int valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 253)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return !(n[0] == '-' || n[0] == '.' || n[len - 1] == '-' || n[len - 1] == '.');
}

int cs_apisim_store_create(struct cs_apisim_store *s, const struct cs_apisim_rtype *crt,
                           const char *ns, json_t *obj, const json_t **out,
                           struct cs_apisim_status *st)
{
    struct cs_apisim_rtype *rt = (struct cs_apisim_rtype *)crt;
    int rc = 0;
    char key[512], namebuf[300], uid[40], ts[40];
    if (!json_is_object(obj)) {
        rc = cs_apisim_status_set(st, 400, "BadRequest", "%s: object body must be a JSON object",
                                  rt->resource);
        goto done;
    }
    json_t *meta = json_object_get(obj, "metadata");
    if (meta && !json_is_object(meta)) {
        rc = cs_apisim_status_set(st, 400, "BadRequest", "%s: metadata must be an object",
                                  rt->resource);
        goto done;
    }
    meta = meta_of(obj);
    if (!json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(rt->kind));
    if (!json_object_get(obj, "apiVersion"))
        json_object_set_new(obj, "apiVersion", json_string(rt->api_version));
    if (rt->namespaced) {
        const char *bns = json_string_value(json_object_get(meta, "namespace"));
        if (ns && bns && bns[0] && strcmp(ns, bns)) {
            rc = cs_apisim_status_set(st, 400, "BadRequest",
                                      "the namespace of the provided object does not match "
                                      "the namespace sent on the request");
            goto done;
        }
        if (!ns)
            ns = (bns && bns[0]) ? bns : "default";
        json_object_set_new(meta, "namespace", json_string(ns));
    } else {
        json_object_del(meta, "namespace");
        ns = NULL;
    }
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *gen = json_string_value(json_object_get(meta, "generateName"));
    if ((!name || !name[0]) && gen && gen[0]) {
        static const char alnum[] = "bcdfghjklmnpqrstvwxz2456789";
        for (int attempt = 0; attempt < 8; attempt++) {
            char suffix[6];
            uint64_t r = rnd_next(s);
            for (int i = 0; i < 5; i++, r /= 27)
                suffix[i] = alnum[r % 27];
            suffix[5] = 0;
            snprintf(namebuf, sizeof(namebuf), "%.*s%s", 58, gen, suffix);
            make_key(rt, ns, namebuf, key, sizeof(key));
            if (!cs_map_get(&rt->objects, key))
                break;
        }
        json_object_set_new(meta, "name", json_string(namebuf));
        name = namebuf;
    }
    if (!name || !name[0]) {
        rc = cs_apisim_status_set(st, 422, "Invalid",
                                  "%s \"\" is invalid: metadata.name: Required value: name or "
                                  "generateName is required", rt->kind);
        goto done;
    }
    if (!valid_name(name) && strcmp(rt->resource, "events") != 0) {
        rc = cs_apisim_status_set(st, 422, "Invalid",
                                  "%s \"%s\" is invalid: metadata.name: Invalid value: \"%s\": a "
                                  "lowercase RFC 1123 subdomain must consist of lower case "
                                  "alphanumeric characters, '-' or '.', and must start and end "
                                  "with an alphanumeric character", rt->kind, name, name);
        goto done;
    }
    make_key(rt, ns, name, key, sizeof(key));
    if (cs_map_get(&rt->objects, key)) {
        rc = cs_apisim_status_set(st, 409, "AlreadyExists", "%s%s%s \"%s\" already exists",
                                  rt->resource, rt->group[0] ? "." : "", rt->group, name);
        goto done;
    }
    new_uid(s, uid, sizeof(uid));
    json_object_set_new(meta, "uid", json_string(uid));
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
    json_object_set_new(meta, "creationTimestamp", json_string(ts));
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    if (rt->has_generation)
        json_object_set_new(meta, "generation", json_integer(1));
    struct cs_apisim_obj *o = publish(s, rt, key, NULL, obj);
    obj = NULL;
    if (out)
        *out = o->j;
done:
    json_decref(obj);
    return rc;
}

/* Did anything outside metadata/status/kind/apiVersion change? */
static int spec_changed(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v) {
        if (!strcmp(k, "metadata") || !strcmp(k, "status") || !strcmp(k, "kind") ||
            !strcmp(k, "apiVersion"))
            continue;
        if (!json_equal(v, json_object_get(b, k)))
            return 1;
    }
    json_object_foreach((json_t *)b, k, v) {
        if (!strcmp(k, "metadata") || !strcmp(k, "status") || !strcmp(k, "kind") ||
            !strcmp(k, "apiVersion"))
            continue;
        if (!json_object_get(a, k))
            return 1;
    }
    return 0;
}

/* Common tail of every update: keep system fields, bump generation, skip no-ops, publish. */
static int commit_update(struct cs_apisim_store *s, struct cs_apisim_rtype *rt,
                         struct cs_apisim_obj *old, json_t *j, int keep_sys, const json_t **out)
{
    const json_t *oj = cs_apisim_obj_json(old);
    json_t *om = json_object_get(oj, "metadata");
    json_t *m = meta_of(j);
    static const char *const keep[] = { "uid", "creationTimestamp", "deletionTimestamp",
                                        "deletionGracePeriodSeconds", "name", "namespace",
                                        "generation", NULL };
    for (int i = 0; keep_sys && keep[i]; i++) {
        json_t *v = json_object_get(om, keep[i]);
        if (v)
            json_object_set(m, keep[i], v);
        else
            json_object_del(m, keep[i]);
    }
    if (rt->has_generation && spec_changed(oj, j)) {
        json_int_t g = json_integer_value(json_object_get(om, "generation"));
        json_object_set_new(m, "generation", json_integer(g + 1));
    }
    json_object_set(m, "resourceVersion", json_object_get(om, "resourceVersion"));
    if (json_equal(j, (json_t *)oj)) {
        json_decref(j);
        if (out)
            *out = oj;
        return 0;
    }
    struct cs_apisim_obj *o = publish(s, rt, old->key, old, j);
    if (out)
        *out = o->j;
    return 0;
}

int cs_apisim_store_update(struct cs_apisim_store *s, const struct cs_apisim_rtype *crt,
                           const char *ns, const char *name, json_t *obj, int subres,
                           const json_t **out, struct cs_apisim_status *st)
{
    struct cs_apisim_rtype *rt = (struct cs_apisim_rtype *)crt;
    int rc = 0;
    struct cs_apisim_obj *old;
    if (!json_is_object(obj) || (json_object_get(obj, "metadata") &&
                                 !json_is_object(json_object_get(obj, "metadata")))) {
        rc = cs_apisim_status_set(st, 400, "BadRequest", "%s \"%s\": body must be an object "
                                  "with an object metadata", rt->resource, name);
        goto done;
    }
    json_t *meta = meta_of(obj);
    const char *bname = json_string_value(json_object_get(meta, "name"));
    if (bname && bname[0] && strcmp(bname, name)) {
        rc = cs_apisim_status_set(st, 400, "BadRequest",
                                  "the name of the object (%s) does not match the name on the "
                                  "URL (%s)", bname, name);
        goto done;
    }
    old = lookup(rt, ns, name);
    if (!old) {
        rc = cs_apisim_status_set(st, 404, "NotFound", "%s%s%s \"%s\" not found",
                                  rt->resource, rt->group[0] ? "." : "", rt->group, name);
        goto done;
    }
    const json_t *oj = cs_apisim_obj_json(old);
    const char *brv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (brv && brv[0] && strcmp(brv, jstr(json_object_get(oj, "metadata"), "resourceVersion"))) {
        rc = cs_apisim_status_set(st, 409, "Conflict",
                                  "Operation cannot be fulfilled on %s%s%s \"%s\": the object has "
                                  "been modified; please apply your changes to the latest "
                                  "version and try again", rt->resource,
                                  rt->group[0] ? "." : "", rt->group, name);
        goto done;
    }
    json_t *j;
    if (subres == 1) {
        /* status subresource: everything but .status comes from the stored object */
        j = copy_tree((json_t *)oj);
        json_t *stv = json_object_get(obj, "status");
        if (stv)
            json_object_set(j, "status", stv);
        else
            json_object_del(j, "status");
    } else {
        j = json_incref(obj);
        if (rt->has_status) {
            json_t *ostv = json_object_get(oj, "status");
            if (ostv)
                json_object_set(j, "status", ostv);
            else
                json_object_del(j, "status");
        }
        if (!json_object_get(j, "kind"))
            json_object_set_new(j, "kind", json_string(rt->kind));
        if (!json_object_get(j, "apiVersion"))
            json_object_set_new(j, "apiVersion", json_string(rt->api_version));
    }
    rc = commit_update(s, rt, old, j, 1, out);
done:
    json_decref(obj);
    return rc;
}

int cs_apisim_store_update_fn(struct cs_apisim_store *s, const struct cs_apisim_rtype *crt,
                              const char *ns, const char *name, cs_apisim_mutate_fn fn,
                              void *arg, const json_t **out, struct cs_apisim_status *st)
{
    struct cs_apisim_rtype *rt = (struct cs_apisim_rtype *)crt;
    struct cs_apisim_obj *old = lookup(rt, ns, name);
    if (!old)
        return cs_apisim_status_set(st, 404, "NotFound", "%s%s%s \"%s\" not found",
                                    rt->resource, rt->group[0] ? "." : "", rt->group, name);
    json_t *j = copy_tree((json_t *)cs_apisim_obj_json(old));
    int rc = fn(j, arg, st);
    if (rc) {
        json_decref(j);
        return rc;
    }
    return commit_update(s, rt, old, j, 0, out);
}

json_t *cs_apisim_cow(json_t *parent, const char *key, int array)
{
    json_t *c = json_object_get(parent, key);
    if (array ? json_is_array(c) : json_is_object(c))
        c = json_copy(c);  /* shallow: children stay shared; key order preserved */
    else
        c = array ? json_array() : json_object();
    json_object_set_new(parent, key, c);  /* an existing key keeps its position */
    return c;
}

int cs_apisim_store_update_cow(struct cs_apisim_store *s, const struct cs_apisim_rtype *crt,
                               const char *ns, const char *name, cs_apisim_mutate_fn fn,
                               void *arg, const json_t **out, struct cs_apisim_status *st)
{
    struct cs_apisim_rtype *rt = (struct cs_apisim_rtype *)crt;
    struct cs_apisim_obj *old = lookup(rt, ns, name);
    if (!old)
        return cs_apisim_status_set(st, 404, "NotFound", "%s%s%s \"%s\" not found",
                                    rt->resource, rt->group[0] ? "." : "", rt->group, name);
    json_t *j = json_copy((json_t *)cs_apisim_obj_json(old));
    cs_apisim_cow(j, "metadata", 0);  /* the commit stamps resourceVersion into it */
    int rc = fn(j, arg, st);
    if (rc) {
        json_decref(j);
        return rc;
    }
    return commit_update(s, rt, old, j, 0, out);
}

/* --- deletion ------------------------------------------------------------------------------- */

static void pending_add(struct cs_apisim_store *s, struct cs_apisim_rtype *rt, const char *key,
                        const char *uid, int64_t due)
{
    for (size_t i = 0; i < s->npending; i++) {
        struct cs_apisim_pending_del *p = &s->pending[i];
        if (p->rt == rt && !strcmp(p->key, key) && !strcmp(p->uid, uid)) {
            if (due < p->due_ns)
                p->due_ns = due;
            return;
        }
    }
    s->pending = cs_grow(s->pending, sizeof(*s->pending), s->npending + 1, &s->pending_cap);
    s->pending[s->npending].rt = rt;
    s->pending[s->npending].key = cs_strdup(key);
    s->pending[s->npending].uid = cs_strdup(uid);
    s->pending[s->npending].due_ns = due;
    s->npending++;
}

struct grace_arg {
    long long grace;
    int64_t now_ns;
};

static int set_deletion(json_t *obj, void *arg, struct cs_apisim_status *st)
{
    struct grace_arg *g = arg;
    char ts[40];
    (void)st;
    json_t *m = meta_of(obj);
    cs_fmt_time(g->now_ns + g->grace * 1000000000LL, ts, sizeof(ts));
    json_object_set_new(m, "deletionTimestamp", json_string(ts));
    json_object_set_new(m, "deletionGracePeriodSeconds", json_integer(g->grace));
    return 0;
}

int cs_apisim_store_delete(struct cs_apisim_store *s, const struct cs_apisim_rtype *crt,
                           const char *ns, const char *name,
                           const struct cs_apisim_delete_opts *opts, const json_t **out,
                           struct cs_apisim_status *st)
{
    struct cs_apisim_rtype *rt = (struct cs_apisim_rtype *)crt;
    struct cs_apisim_obj *old = lookup(rt, ns, name);
    if (!old)
        return cs_apisim_status_set(st, 404, "NotFound", "%s%s%s \"%s\" not found",
                                    rt->resource, rt->group[0] ? "." : "", rt->group, name);
    const json_t *oj = cs_apisim_obj_json(old);
    const json_t *om = json_object_get(oj, "metadata");
    if (opts && opts->precond_uid && strcmp(opts->precond_uid, jstr(om, "uid")))
        return cs_apisim_status_set(st, 409, "Conflict",
                                    "Operation cannot be fulfilled on %s \"%s\": Precondition "
                                    "failed: UID in precondition: %s, UID in object meta: %s",
                                    rt->resource, name, opts->precond_uid, jstr(om, "uid"));
    if (opts && opts->precond_rv && strcmp(opts->precond_rv, jstr(om, "resourceVersion")))
        return cs_apisim_status_set(st, 409, "Conflict",
                                    "Operation cannot be fulfilled on %s \"%s\": Precondition "
                                    "failed: ResourceVersion in precondition: %s, "
                                    "ResourceVersion in object meta: %s",
                                    rt->resource, name, opts->precond_rv,
                                    jstr(om, "resourceVersion"));
    long long grace = opts ? opts->grace_seconds : -1;
    int is_pod = !strcmp(rt->group, "") && !strcmp(rt->resource, "pods");
    if (is_pod) {
        const json_t *spec = json_object_get(oj, "spec");
        const char *phase = jstr(json_object_get(oj, "status"), "phase");
        if (grace < 0) {
            json_t *tg = json_object_get(spec, "terminationGracePeriodSeconds");
            grace = json_is_integer(tg) ? json_integer_value(tg) : 30;
        }
        if (!jstr(spec, "nodeName")[0] || !strcmp(phase, "Succeeded") ||
            !strcmp(phase, "Failed"))
            grace = 0;
        if (grace < 0)
            grace = 0;
        json_t *cur = json_object_get(om, "deletionGracePeriodSeconds");
        if (grace > 0 && json_is_integer(cur) && json_integer_value(cur) <= grace) {
            if (out)
                *out = oj;  /* already terminating with a shorter or equal grace */
            return 0;
        }
        if (grace > 0) {
            struct grace_arg g = { grace, cs_wall_ns() };
            char uid[64];
            snprintf(uid, sizeof(uid), "%s", jstr(om, "uid"));
            char *key = cs_strdup(old->key);
            int rc = cs_apisim_store_update_fn(s, rt, ns, name, set_deletion, &g, out, st);
            if (!rc)
                pending_add(s, rt, key, uid, cs_mono_ns() + grace * 1000000000LL);
            cs_free(key);
            return rc;
        }
    }
    old->refs++;  /* keep it alive for *out until the ring drops it */
    remove_obj(s, rt, old);
    if (out)
        *out = cs_apisim_obj_json(old);
    obj_unref(old);  /* the ring still holds it as the event's old object */
    return 0;
}

size_t cs_apisim_store_tick(struct cs_apisim_store *s, int64_t now_ns)
{
    size_t done = 0, i = 0;
    int64_t mono = now_ns;
    while (i < s->npending) {
        struct cs_apisim_pending_del *p = &s->pending[i];
        if (p->due_ns > mono) {
            i++;
            continue;
        }
        struct cs_apisim_obj *o = cs_map_get(&p->rt->objects, p->key);
        struct cs_apisim_pending_del cur = *p;
        s->pending[i] = s->pending[--s->npending];
        if (o && cur.rt->served) {
            const json_t *m = json_object_get(cs_apisim_obj_json(o), "metadata");
            if (!strcmp(jstr(m, "uid"), cur.uid) && json_object_get(m, "deletionTimestamp")) {
                remove_obj(s, cur.rt, o);
                done++;
            }
        }
        cs_free(cur.key);
        cs_free(cur.uid);
    }
    return done;
}

void cs_apisim_store_unregister(struct cs_apisim_store *s, struct cs_apisim_rtype *rt)
{
    /* collect first: removing while iterating the map is not allowed */
    struct cs_apisim_obj **v = NULL;
    size_t n = 0, cap = 0;
    const char *k;
    void *val;
    for (size_t it = 0; cs_map_next(&rt->objects, &it, &k, &val);) {
        v = cs_grow(v, sizeof(*v), n + 1, &cap);
        v[n++] = val;
    }
    for (size_t i = 0; i < n; i++)
        remove_obj(s, rt, v[i]);
    cs_free(v);
    rt->served = 0;
}
