/* The PodDisruptionBudget table (pdb.h). */
#include "plugins/helper/pdb.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/map.h"
#include "pkg/util/selector.h"

struct pdb {
    char *key;                     /* owned "ns/name" */
    char *ns;                      /* owned */
    struct cs_selector *sel;       /* owned (heap); NULL matches nothing */
    int64_t allowed;               /* status.disruptionsAllowed */
};

struct cs_pdb_table {
    pthread_mutex_t mu;
    struct cs_map pdbs;            /* key -> struct pdb * */
};

static void pdb_free(struct pdb *p)
{
    cs_selector_free(p->sel);
    cs_free(p->key);
    cs_free(p->ns);
    cs_free(p);
}

/* "ns/name" of a budget object into key; its namespace, or NULL when it has no identity. */
static const char *pdb_key(const json_t *obj, char *key, size_t n)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (name == NULL || ns == NULL) {
        return NULL;
    }
    snprintf(key, n, "%s/%s", ns, name);
    return ns;
}

static void pdb_upsert(void *priv, const json_t *obj)
{
    struct cs_pdb_table *d = priv;
    char key[400];
    const char *ns = pdb_key(obj, key, sizeof(key));
    if (ns == NULL) {
        return;
    }
    struct pdb *p = cs_calloc(1, sizeof(*p));
    p->key = cs_strdup(key);
    p->ns = cs_strdup(ns);
    char err[256] = "";
    if (cs_selector_from_label_selector(json_object_get(json_object_get(obj, "spec"), "selector"),
                                        "spec.selector", NULL, &p->sel, err, sizeof(err)) != 0) {
        CS_WARN_S("PodDisruptionBudget selector ignored", CS_KV("pdb", key), CS_KV("err", err));
        p->sel = NULL;
    }
    const json_t *al = json_object_get(json_object_get(obj, "status"), "disruptionsAllowed");
    p->allowed = json_is_integer(al) ? json_integer_value(al) : 0;
    pthread_mutex_lock(&d->mu);
    struct pdb *old = cs_map_put(&d->pdbs, p->key, p);
    pthread_mutex_unlock(&d->mu);
    if (old) {
        pdb_free(old);
    }
}

static void pdb_update(void *priv, const json_t *old, const json_t *obj)
{
    (void)old;
    pdb_upsert(priv, obj);
}

static void pdb_delete(void *priv, const json_t *obj)
{
    struct cs_pdb_table *d = priv;
    char key[400];
    if (pdb_key(obj, key, sizeof(key)) == NULL) {
        return;
    }
    pthread_mutex_lock(&d->mu);
    struct pdb *p = cs_map_del(&d->pdbs, key);
    pthread_mutex_unlock(&d->mu);
    if (p) {
        pdb_free(p);
    }
}

bool cs_pdb_violates(void *arg, const struct cs_pod *victim)
{
    struct cs_pdb_table *d = arg;
    bool v = false;
    pthread_mutex_lock(&d->mu);
    size_t it = 0;
    const char *k;
    void *val;
    while (!v && cs_map_next(&d->pdbs, &it, &k, &val)) {
        const struct pdb *p = val;
        v = p->allowed <= 0 && strcmp(p->ns, victim->ns) == 0 &&
            cs_selector_matches(p->sel, victim->labels, victim->n_labels);
    }
    pthread_mutex_unlock(&d->mu);
    return v;
}

void cs_pdb_table_upsert(struct cs_pdb_table *t, const json_t *obj)
{
    pdb_upsert(t, obj);
}

void cs_pdb_table_delete(struct cs_pdb_table *t, const json_t *obj)
{
    pdb_delete(t, obj);
}

static struct cs_pdb_table *table_new(void)
{
    struct cs_pdb_table *t = cs_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    cs_map_init(&t->pdbs);
    return t;
}

void cs_pdb_table_free(struct cs_pdb_table *t)
{
    if (t == NULL) {
        return;
    }
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&t->pdbs, &it, &k, &v)) {
        pdb_free(v);
    }
    cs_map_destroy(&t->pdbs);
    pthread_mutex_destroy(&t->mu);
    cs_free(t);
}

struct shared_arg {
    struct cs_fw_handle *fw;
    char *err;
    size_t errlen;
    bool failed;
};

static void *shared_create(void *arg)
{
    struct shared_arg *a = arg;
    struct cs_pdb_table *t = table_new();
    struct cs_watch_spec w = {
        .name = "poddisruptionbudgets",
        .path = "/apis/policy/v1/poddisruptionbudgets",
        .on_add = pdb_upsert, .on_update = pdb_update, .on_delete = pdb_delete,
        .optional = true,
    };
    if (cs_fw_watch(a->fw, t, &w, a->err, a->errlen) != 0) {
        a->failed = true;
    }
    return t;
}

static void shared_destroy(void *obj)
{
    cs_pdb_table_free(obj);
}

struct cs_pdb_table *cs_pdb_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen)
{
    if (fw == NULL) {
        return table_new();
    }
    struct shared_arg a = { .fw = fw, .err = err, .errlen = errlen };
    struct cs_pdb_table *t = cs_fw_shared(fw, "pdb-table", shared_create, shared_destroy, &a);
    return a.failed ? NULL : t;
}
