/*
 * Default selectors of managed pods (ownersel.h).
 *
 * Services are kept per namespace (their selectors are matched against the pod), controllers
 * by "Kind/namespace/name" as the canonical text of their selector, so a lookup costs the
 * namespace's services plus one map probe.
 */
#include "plugins/helper/ownersel.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/selector.h"

struct cs_owner_table {
    pthread_mutex_t mu;
    json_t *services;              /* namespace -> {name -> selector object} */
    json_t *controllers;           /* "Kind/ns/name" -> selector text */
};

static struct cs_owner_table *table_new(void)
{
    struct cs_owner_table *t = cs_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    t->services = json_object();
    t->controllers = json_object();
    return t;
}

void cs_owner_table_free(struct cs_owner_table *t)
{
    if (t == NULL) {
        return;
    }
    json_decref(t->services);
    json_decref(t->controllers);
    pthread_mutex_destroy(&t->mu);
    cs_free(t);
}

static const char *meta_str(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

/* A map selector (Service, ReplicationController) as k=v,... ; NULL when absent or empty. */
static char *map_selector_text(const json_t *sel)
{
    if (!json_is_object(sel) || json_object_size(sel) == 0) {
        return NULL;
    }
    struct cs_buf b;
    cs_buf_init(&b);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sel, k, v) {
        if (b.len) {
            cs_buf_putc(&b, ',');
        }
        cs_buf_printf(&b, "%s=%s", k, json_is_string(v) ? json_string_value(v) : "");
    }
    return cs_buf_steal(&b);
}

static void controller_key(char *key, size_t n, const char *kind, const char *ns,
                           const char *name)
{
    snprintf(key, n, "%s/%s/%s", kind, ns, name);
}

void cs_owner_table_upsert(struct cs_owner_table *t, const char *kind, const json_t *obj)
{
    const char *ns = meta_str(obj, "namespace");
    const char *name = meta_str(obj, "name");
    if (ns == NULL || name == NULL) {
        return;
    }
    const json_t *sel = json_object_get(json_object_get(obj, "spec"), "selector");
    if (strcmp(kind, "Service") == 0) {
        pthread_mutex_lock(&t->mu);
        json_t *per = json_object_get(t->services, ns);
        if (per == NULL) {
            per = json_object();
            json_object_set_new(t->services, ns, per);
        }
        if (json_is_object(sel) && json_object_size(sel) > 0) {
            json_object_set_new(per, name, json_deep_copy(sel));
        } else {
            json_object_del(per, name);   /* a Service without selector matches no pod */
        }
        pthread_mutex_unlock(&t->mu);
        return;
    }
    char *text = NULL;
    if (strcmp(kind, "ReplicationController") == 0) {
        text = map_selector_text(sel);
    } else {
        struct cs_selector *s = NULL;
        char err[256];
        if (cs_selector_from_label_selector(sel, "spec.selector", NULL, &s, err, sizeof(err)) !=
            0) {
            CS_ERROR_S(err, "Ignoring a controller's invalid selector", CS_KV("kind", kind),
                       CS_KV("namespace", ns), CS_KV("name", name));
        } else if (s != NULL && s->nreqs > 0) {
            struct cs_buf b;
            cs_buf_init(&b);
            cs_selector_to_string(s, &b);
            text = cs_buf_steal(&b);
        }
        cs_selector_free(s);
    }
    char key[768];
    controller_key(key, sizeof(key), kind, ns, name);
    pthread_mutex_lock(&t->mu);
    if (text) {
        json_object_set_new(t->controllers, key, json_string(text));
    } else {
        json_object_del(t->controllers, key);
    }
    pthread_mutex_unlock(&t->mu);
    cs_free(text);
}

void cs_owner_table_delete(struct cs_owner_table *t, const char *kind, const json_t *obj)
{
    const char *ns = meta_str(obj, "namespace");
    const char *name = meta_str(obj, "name");
    if (ns == NULL || name == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (strcmp(kind, "Service") == 0) {
        json_object_del(json_object_get(t->services, ns), name);
    } else {
        char key[768];
        controller_key(key, sizeof(key), kind, ns, name);
        json_object_del(t->controllers, key);
    }
    pthread_mutex_unlock(&t->mu);
}

static bool map_matches(const json_t *sel, const struct cs_pod *pod)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)sel, k, v) {
        const char *have = cs_pod_label(pod, k);
        const char *want = json_string_value(v);
        if (have == NULL || strcmp(have, want ? want : "") != 0) {
            return false;
        }
    }
    return true;
}

const char *cs_owner_default_selector(struct cs_owner_table *t, const struct cs_pod *pod,
                                      struct cs_arena *a)
{
    if (t == NULL || pod->ns == NULL) {
        return NULL;
    }
    struct cs_buf b;
    cs_buf_init(&b);
    pthread_mutex_lock(&t->mu);
    const json_t *per = json_object_get(t->services, pod->ns);
    const char *name;
    json_t *sel;
    json_object_foreach((json_t *)per, name, sel) {
        if (!map_matches(sel, pod)) {
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach(sel, k, v) {
            if (b.len) {
                cs_buf_putc(&b, ',');
            }
            cs_buf_printf(&b, "%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
        }
    }
    const struct cs_owner_ref *o = cs_pod_controller(pod);
    const char *kind = NULL;
    if (o && o->kind && o->api_version) {
        if (strcmp(o->api_version, "v1") == 0 && strcmp(o->kind, "ReplicationController") == 0) {
            kind = o->kind;
        } else if (strcmp(o->api_version, "apps/v1") == 0 &&
                   (strcmp(o->kind, "ReplicaSet") == 0 || strcmp(o->kind, "StatefulSet") == 0)) {
            kind = o->kind;
        }
    }
    if (kind && o->name) {
        char key[768];
        controller_key(key, sizeof(key), kind, pod->ns, o->name);
        const char *text = json_string_value(json_object_get(t->controllers, key));
        if (text && *text) {
            if (b.len) {
                cs_buf_putc(&b, ',');
            }
            cs_buf_puts(&b, text);
        }
    }
    pthread_mutex_unlock(&t->mu);
    const char *out = b.len ? cs_arena_strdup(a, b.data) : NULL;
    cs_buf_free(&b);
    return out;
}

/* ---- watches ---------------------------------------------------------------------------- */

#define WATCH_FNS(tag, kind)                                                                   \
    static void tag##_add(void *priv, const json_t *obj)                                      \
    {                                                                                          \
        cs_owner_table_upsert(priv, kind, obj);                                                \
    }                                                                                          \
    static void tag##_update(void *priv, const json_t *old, const json_t *obj)                \
    {                                                                                          \
        (void)old;                                                                             \
        cs_owner_table_upsert(priv, kind, obj);                                                \
    }                                                                                          \
    static void tag##_delete(void *priv, const json_t *obj)                                   \
    {                                                                                          \
        cs_owner_table_delete(priv, kind, obj);                                                \
    }

WATCH_FNS(svc, "Service")
WATCH_FNS(rc, "ReplicationController")
WATCH_FNS(rs, "ReplicaSet")
WATCH_FNS(ss, "StatefulSet")

struct create_args {
    struct cs_fw_handle *fw;
    char *err;
    size_t errlen;
    bool failed;
};

static void *shared_create(void *arg)
{
    struct create_args *a = arg;
    struct cs_owner_table *t = table_new();
    const struct cs_watch_spec specs[] = {
        {.name = "services", .path = "/api/v1/services", .on_add = svc_add,
         .on_update = svc_update, .on_delete = svc_delete, .optional = true},
        {.name = "replicationcontrollers", .path = "/api/v1/replicationcontrollers",
         .on_add = rc_add, .on_update = rc_update, .on_delete = rc_delete, .optional = true},
        {.name = "replicasets", .path = "/apis/apps/v1/replicasets", .on_add = rs_add,
         .on_update = rs_update, .on_delete = rs_delete, .optional = true},
        {.name = "statefulsets", .path = "/apis/apps/v1/statefulsets", .on_add = ss_add,
         .on_update = ss_update, .on_delete = ss_delete, .optional = true},
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]) && !a->failed; i++) {
        a->failed = cs_fw_watch(a->fw, t, &specs[i], a->err, a->errlen) != 0;
    }
    return t;
}

static void shared_destroy(void *obj)
{
    cs_owner_table_free(obj);
}

struct cs_owner_table *cs_owner_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen)
{
    if (fw == NULL) {
        return table_new();
    }
    struct create_args a = {.fw = fw, .err = err, .errlen = errlen};
    struct cs_owner_table *t = cs_fw_shared(fw, "owner-selectors", shared_create,
                                            shared_destroy, &a);
    return a.failed ? NULL : t;
}
