/*
 * Informer store (see store.h). Entries are keyed by "ns/name"; the entry owns the key string
 * the map points at. Deciding what a server datum means is kept here, separate from the I/O in
 * informer.c, so the diff and ordering rules can be tested without a server.
 */
#include "pkg/informer/store.h"

#include <stdio.h>
#include <string.h>

#include "pkg/client/support.h"
#include "pkg/util/alloc.h"

void cs_inf_store_init(struct cs_inf_store *s, int keep_objects)
{
    cs_map_init(&s->map);
    s->epoch = 0;
    s->keep_objects = keep_objects;
}

static void entry_free(struct cs_inf_entry *e)
{
    cs_free(e->key);
    cs_free(e->uid);
    cs_free(e->rv);
    if (e->obj) {
        json_decref(e->obj);
    }
    cs_free(e);
}

void cs_inf_store_free(struct cs_inf_store *s)
{
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&s->map, &it, &k, &v);) {
        entry_free(v);
    }
    cs_map_destroy(&s->map);
}

size_t cs_inf_store_len(const struct cs_inf_store *s)
{
    return cs_map_len(&s->map);
}

struct cs_inf_entry *cs_inf_store_get(const struct cs_inf_store *s, const char *key)
{
    return cs_map_get(&s->map, key);
}

int cs_inf_object_key(json_t *obj, char *buf, size_t n)
{
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (!name || !*name) {
        return -1;
    }
    size_t nl = strlen(name), sl = ns && *ns ? strlen(ns) + 1 : 0;
    if (sl + nl >= n) {
        return -1;
    }
    if (sl) {
        memcpy(buf, ns, sl - 1);
        buf[sl - 1] = '/';
    }
    memcpy(buf + sl, name, nl + 1);
    return 0;
}

static const char *obj_rv(json_t *obj)
{
    const char *rv = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                       "resourceVersion"));
    return rv ? rv : "";
}

static const char *obj_uid(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
}

static void entry_set(struct cs_inf_store *s, struct cs_inf_entry *e, json_t *obj)
{
    cs_free(e->rv);
    e->rv = cs_strdup(obj_rv(obj));
    const char *uid = obj_uid(obj);
    if (!e->uid || !uid || strcmp(e->uid, uid) != 0) {
        cs_free(e->uid);
        e->uid = uid ? cs_strdup(uid) : NULL;
    }
    if (s->keep_objects) {
        json_incref(obj);
        if (e->obj) {
            json_decref(e->obj);
        }
        e->obj = obj;
    }
}

struct cs_inf_entry *cs_inf_store_newer(const struct cs_inf_store *s, json_t *obj)
{
    char key[512];
    if (cs_inf_object_key(obj, key, sizeof(key)) != 0) {
        return NULL;
    }
    struct cs_inf_entry *e = cs_map_get(&s->map, key);
    return e && cs_rv_newer(obj_rv(obj), e->rv) ? e : NULL;
}

void cs_inf_store_record(struct cs_inf_store *s, struct cs_inf_entry *e, json_t *obj)
{
    e->epoch = s->epoch;
    entry_set(s, e, obj);
}

/* Insert or update obj under key; returns the action taken. */
static int upsert(struct cs_inf_store *s, const char *key, json_t *obj,
                  const struct cs_inf_sink *sink)
{
    struct cs_inf_entry *e = cs_map_get(&s->map, key);
    if (e) {
        e->epoch = s->epoch;
        if (!cs_rv_newer(obj_rv(obj), e->rv)) {
            return CS_INF_IGNORED;
        }
        json_t *old = e->obj ? json_incref(e->obj) : NULL;
        entry_set(s, e, obj);
        if (sink && sink->update) {
            sink->update(sink->arg, old, obj);
        }
        if (old) {
            json_decref(old);
        }
        return CS_INF_UPDATED;
    }
    e = cs_calloc(1, sizeof(*e));
    e->key = cs_strdup(key);
    e->epoch = s->epoch;
    entry_set(s, e, obj);
    cs_map_put(&s->map, e->key, e);
    if (sink && sink->add) {
        sink->add(sink->arg, obj);
    }
    return CS_INF_ADDED;
}

/* The last state of a removed entry: its object, or a metadata stub. New reference. */
static json_t *last_state(const struct cs_inf_entry *e)
{
    if (e->obj) {
        return json_incref(e->obj);
    }
    json_t *md = json_object();
    const char *slash = strchr(e->key, '/');
    if (slash) {
        json_object_set_new(md, "namespace", json_stringn(e->key, (size_t)(slash - e->key)));
        json_object_set_new(md, "name", json_string(slash + 1));
    } else {
        json_object_set_new(md, "name", json_string(e->key));
    }
    if (e->uid) {
        json_object_set_new(md, "uid", json_string(e->uid));
    }
    json_object_set_new(md, "resourceVersion", json_string(e->rv));
    json_t *o = json_object();
    json_object_set_new(o, "metadata", md);
    return o;
}

int cs_inf_store_apply(struct cs_inf_store *s, int is_delete, json_t *obj,
                       const struct cs_inf_sink *sink)
{
    char key[512];
    if (cs_inf_object_key(obj, key, sizeof(key)) < 0) {
        return CS_INF_INVALID;
    }
    if (!is_delete) {
        return upsert(s, key, obj, sink);
    }
    struct cs_inf_entry *e = cs_map_get(&s->map, key);
    if (!e || !cs_rv_newer(obj_rv(obj), e->rv)) {
        return CS_INF_IGNORED;
    }
    cs_map_del(&s->map, key);
    if (sink && sink->del) {
        sink->del(sink->arg, obj);
    }
    entry_free(e);
    return CS_INF_DELETED;
}

void cs_inf_store_list_begin(struct cs_inf_store *s)
{
    s->epoch++;
}

int cs_inf_store_list_item(struct cs_inf_store *s, json_t *obj, const struct cs_inf_sink *sink)
{
    char key[512];
    if (cs_inf_object_key(obj, key, sizeof(key)) < 0) {
        return CS_INF_INVALID;
    }
    return upsert(s, key, obj, sink);
}

size_t cs_inf_store_list_end(struct cs_inf_store *s, const struct cs_inf_sink *sink)
{
    struct cs_inf_entry **gone = NULL;
    size_t n = 0, cap = 0;
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&s->map, &it, &k, &v);) {
        struct cs_inf_entry *e = v;
        if (e->epoch != s->epoch) {
            gone = cs_grow(gone, sizeof(*gone), n + 1, &cap);
            gone[n++] = e;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct cs_inf_entry *e = gone[i];
        cs_map_del(&s->map, e->key);
        if (sink && sink->del) {
            json_t *last = last_state(e);
            sink->del(sink->arg, last);
            json_decref(last);
        }
        entry_free(e);
    }
    cs_free(gone);
    return n;
}
