/* The namespace label table (namespaces.h). */
#include "plugins/helper/namespaces.h"

#include <pthread.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/map.h"

struct ns_entry {
    char *name;
    json_t *labels;                /* owned copy (object) */
};

struct cs_ns_table {
    pthread_mutex_t mu;
    struct cs_map by_name;         /* name -> struct ns_entry * */
    struct cs_fw_handle *fw;
};

static void entry_free(struct ns_entry *e)
{
    if (e) {
        json_decref(e->labels);
        cs_free(e->name);
        cs_free(e);
    }
}

void cs_ns_table_upsert(struct cs_ns_table *t, const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    if (name == NULL) {
        return;
    }
    const json_t *labels = json_object_get(md, "labels");
    struct ns_entry *e = cs_calloc(1, sizeof(*e));
    e->name = cs_strdup(name);
    e->labels = json_is_object(labels) ? json_deep_copy(labels) : json_object();
    pthread_mutex_lock(&t->mu);
    struct ns_entry *old = cs_map_put(&t->by_name, e->name, e);
    bool changed = old == NULL || !json_equal(old->labels, e->labels);
    pthread_mutex_unlock(&t->mu);
    entry_free(old);
    if (changed && t->fw) {
        cs_fw_invalidate(t->fw);
        cs_fw_raise(t->fw, CS_NS_EVENT, NULL, obj);
    }
}

void cs_ns_table_delete(struct cs_ns_table *t, const json_t *obj)
{
    const char *name =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (name == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    struct ns_entry *old = cs_map_del(&t->by_name, name);
    pthread_mutex_unlock(&t->mu);
    entry_free(old);
    if (t->fw) {
        cs_fw_invalidate(t->fw);
    }
}

bool cs_ns_label_is(struct cs_ns_table *t, const char *ns, const char *key, const char *value)
{
    if (t == NULL || ns == NULL) {
        return false;
    }
    pthread_mutex_lock(&t->mu);
    const struct ns_entry *e = cs_map_get(&t->by_name, ns);
    const char *v = e ? json_string_value(json_object_get(e->labels, key)) : NULL;
    bool is = v && strcmp(v, value) == 0;
    pthread_mutex_unlock(&t->mu);
    return is;
}

bool cs_ns_selector_matches(struct cs_ns_table *t, const char *ns, const struct cs_selector *sel,
                            bool absent_as_empty)
{
    if (sel == NULL) {
        return false;
    }
    if (cs_selector_is_empty(sel)) {
        return true;
    }
    if (t == NULL || ns == NULL) {
        return absent_as_empty && cs_selector_matches(sel, NULL, 0);
    }
    pthread_mutex_lock(&t->mu);
    const struct ns_entry *e = cs_map_get(&t->by_name, ns);
    bool match;
    if (e == NULL) {
        match = absent_as_empty && cs_selector_matches(sel, NULL, 0);
    } else {
        size_t n = json_object_size(e->labels);
        struct cs_label stack[16];
        struct cs_label *labels = n <= 16 ? stack : cs_calloc(n, sizeof(*labels));
        size_t k = 0;
        const char *key;
        json_t *v;
        json_object_foreach(e->labels, key, v) {
            const char *s = json_string_value(v);
            if (s != NULL && k < n) {
                labels[k].key = key;
                labels[k].value = s;
                k++;
            }
        }
        match = cs_selector_matches(sel, labels, k) != 0;
        if (labels != stack) {
            cs_free(labels);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return match;
}

static void w_add(void *priv, const json_t *obj)
{
    cs_ns_table_upsert(priv, obj);
}

static void w_update(void *priv, const json_t *old, const json_t *obj)
{
    (void)old;
    cs_ns_table_upsert(priv, obj);
}

static void w_delete(void *priv, const json_t *obj)
{
    cs_ns_table_delete(priv, obj);
}

static struct cs_ns_table *table_new(struct cs_fw_handle *fw)
{
    struct cs_ns_table *t = cs_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    cs_map_init(&t->by_name);
    t->fw = fw;
    return t;
}

void cs_ns_table_free(struct cs_ns_table *t)
{
    if (t == NULL) {
        return;
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&t->by_name, &it, &k, &v);) {
        entry_free(v);
    }
    cs_map_destroy(&t->by_name);
    pthread_mutex_destroy(&t->mu);
    cs_free(t);
}

static void shared_destroy(void *obj)
{
    cs_ns_table_free(obj);
}

struct create_args {
    struct cs_fw_handle *fw;
    char *err;
    size_t errlen;
    bool failed;
};

static void *shared_create(void *arg)
{
    struct create_args *a = arg;
    struct cs_ns_table *t = table_new(a->fw);
    struct cs_watch_spec ws = {
        .name = "namespaces",
        .path = "/api/v1/namespaces",
        .on_add = w_add,
        .on_update = w_update,
        .on_delete = w_delete,
    };
    a->failed = cs_fw_watch(a->fw, t, &ws, a->err, a->errlen) != 0;
    return t;
}

struct cs_ns_table *cs_ns_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen)
{
    if (fw == NULL) {
        return table_new(NULL);
    }
    struct create_args a = { .fw = fw, .err = err, .errlen = errlen };
    struct cs_ns_table *t = cs_fw_shared(fw, "namespaces", shared_create, shared_destroy, &a);
    return a.failed ? NULL : t;
}
