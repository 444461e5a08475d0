/* The persistent storage table (volumes.h). */
#include "plugins/helper/volumes.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "pkg/util/alloc.h"
#include "pkg/util/map.h"

/* One stored object: its key and trimmed JSON (owned). */
struct ent {
    char *key;
    json_t *obj;
};

enum { M_PVC = 0, M_PV, M_CLASS, M_POD, M_CSINODE, M_ASSUMED_PV, M_ASSUMED_NODE, M_RESERVED,
       M_COUNT };

struct cs_vol_table {
    pthread_mutex_t mu;
    struct cs_map m[M_COUNT];
    struct cs_fw_handle *fw;
};

struct cs_fw_handle *cs_vol_table_fw(const struct cs_vol_table *t)
{
    return t ? t->fw : NULL;
}

static void ent_free(struct ent *e)
{
    if (e) {
        json_decref(e->obj);
        cs_free(e->key);
        cs_free(e);
    }
}

/* Put (obj stolen; NULL deletes) under the lock; the old entry is freed. */
static void put_locked(struct cs_vol_table *t, int m, const char *key, json_t *obj)
{
    struct ent *old;
    if (obj == NULL) {
        old = cs_map_del(&t->m[m], key);
    } else {
        struct ent *e = cs_calloc(1, sizeof(*e));
        e->key = cs_strdup(key);
        e->obj = obj;
        old = cs_map_put(&t->m[m], e->key, e);
    }
    ent_free(old);
}

static const json_t *get_locked(const struct cs_vol_table *t, int m, const char *key)
{
    const struct ent *e = key ? cs_map_get(&t->m[m], key) : NULL;
    return e ? e->obj : NULL;
}

/* ---- trimming ------------------------------------------------------------------------------ */

static void copy_key(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v != NULL) {
        json_object_set_new(dst, key, json_deep_copy(v));
    }
}

static const char *const kept_labels[] = {
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region", NULL,
};
const char *const CS_VOL_TOPO_KEYS[4] = {
    "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
};
static const char *const kept_annotations[] = {
    CS_VOL_SELECTED_NODE, "volume.beta.kubernetes.io/storage-class", CS_VOL_BIND_COMPLETED,
    NULL,
};

static json_t *trim_map(const json_t *src, const char *const *keys)
{
    json_t *out = json_object();
    for (const char *const *k = keys; *k; k++) {
        copy_key(out, src, *k);
    }
    return out;
}

static json_t *trim_meta(const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    json_t *out = json_object();
    copy_key(out, md, "name");
    copy_key(out, md, "namespace");
    copy_key(out, md, "uid");
    copy_key(out, md, "resourceVersion");
    copy_key(out, md, "deletionTimestamp");
    json_object_set_new(out, "labels", trim_map(json_object_get(md, "labels"), kept_labels));
    json_object_set_new(out, "annotations",
                        trim_map(json_object_get(md, "annotations"), kept_annotations));
    return out;
}

static json_t *trim(enum cs_vol_kind k, const json_t *obj)
{
    static const char *const pvc_spec[] = { "storageClassName", "volumeName", "resources",
                                            "accessModes", "selector", NULL };
    static const char *const pv_spec[] = { "storageClassName", "capacity", "accessModes",
                                           "claimRef", "nodeAffinity", NULL };
    static const char *const csi_keys[] = { "driver", "volumeHandle", NULL };
    static const char *const class_keys[] = { "provisioner", "volumeBindingMode",
                                              "allowedTopologies", NULL };
    json_t *out = json_object();
    json_object_set_new(out, "metadata", trim_meta(obj));
    const json_t *spec = json_object_get(obj, "spec");
    if (k == CS_VOL_KIND_PVC) {
        json_object_set_new(out, "spec", trim_map(spec, pvc_spec));
    } else if (k == CS_VOL_KIND_PV) {
        json_t *pvs = trim_map(spec, pv_spec);
        if (json_object_get(spec, "csi") != NULL) {
            json_object_set_new(pvs, "csi", trim_map(json_object_get(spec, "csi"), csi_keys));
        }
        json_object_set_new(out, "spec", pvs);
        /* every label: claims' selectors match them */
        const json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
        json_object_set_new(json_object_get(out, "metadata"), "labels",
                            json_is_object(labels) ? json_deep_copy(labels) : json_object());
    } else if (k == CS_VOL_KIND_CSINODE) {
        /* spec.drivers[].{name, allocatable.count} as {"drivers": {name: count}} */
        json_t *drivers = json_object();
        size_t i;
        const json_t *d;
        json_array_foreach(json_object_get(spec, "drivers"), i, d) {
            const char *name = json_string_value(json_object_get(d, "name"));
            const json_t *cnt = json_object_get(json_object_get(d, "allocatable"), "count");
            if (name != NULL && json_is_integer(cnt)) {
                json_object_set_new(drivers, name, json_integer(json_integer_value(cnt)));
            }
        }
        json_object_set_new(out, "drivers", drivers);
    } else {
        json_t *cls = trim_map(obj, class_keys);
        json_object_update(out, cls);
        json_decref(cls);
    }
    return out;
}

/* A pod's claims: {"ns":..,"node":..,"claims":[..]}, or NULL when it has none. */
static json_t *pod_claims(const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *pod = json_string_value(json_object_get(md, "name"));
    json_t *claims = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(json_object_get(obj, "spec"), "volumes"), i, v) {
        const char *c = json_string_value(
            json_object_get(json_object_get(v, "persistentVolumeClaim"), "claimName"));
        const char *vn = json_string_value(json_object_get(v, "name"));
        if (c != NULL) {
            json_array_append_new(claims, json_string(c));
        } else if (json_object_get(v, "ephemeral") != NULL && pod != NULL && vn != NULL) {
            size_t n = strlen(pod) + strlen(vn) + 2;
            char *name = cs_malloc(n);
            snprintf(name, n, "%s-%s", pod, vn);
            json_array_append_new(claims, json_string(name));
            cs_free(name);
        }
    }
    if (json_array_size(claims) == 0) {
        json_decref(claims);
        return NULL;
    }
    const char *phase = json_string_value(
        json_object_get(json_object_get(obj, "status"), "phase"));
    bool done = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
    json_t *out = json_object();
    copy_key(out, md, "namespace");
    copy_key(out, json_object_get(obj, "spec"), "nodeName");
    json_object_set_new(out, "done", json_boolean(done));
    json_object_set_new(out, "claims", claims);
    return out;
}

static char *obj_key(enum cs_vol_kind k, const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (k == CS_VOL_KIND_POD) {
        const char *uid = json_string_value(json_object_get(md, "uid"));
        return uid ? cs_strdup(uid) : NULL;
    }
    if (name == NULL) {
        return NULL;
    }
    if (k != CS_VOL_KIND_PVC) {
        return cs_strdup(name);
    }
    size_t n = strlen(ns ? ns : "") + strlen(name) + 2;
    char *key = cs_malloc(n);
    snprintf(key, n, "%s/%s", ns ? ns : "", name);
    return key;
}

static const int kind_map[] = { M_PVC, M_PV, M_CLASS, M_POD, M_CSINODE };

/* Drop the claim reservations of pod uid (it is assigned in the index now, or gone). */
static void unreserve_uid_locked(struct cs_vol_table *t, const char *uid)
{
    for (bool again = true; again;) {
        again = false;
        const char *k;
        void *v;
        for (size_t it = 0; cs_map_next(&t->m[M_RESERVED], &it, &k, &v);) {
            const struct ent *e = v;
            if (strcmp(json_string_value(e->obj), uid) == 0) {
                put_locked(t, M_RESERVED, e->key, NULL);
                again = true;
                break;
            }
        }
    }
}

static void changed(struct cs_vol_table *t, const json_t *obj)
{
    if (t->fw) {
        cs_fw_invalidate(t->fw);
        cs_fw_raise(t->fw, CS_VOL_EVENT, NULL, obj);
    }
}

void cs_vol_table_upsert(struct cs_vol_table *t, enum cs_vol_kind k, const json_t *obj)
{
    char *key = obj_key(k, obj);
    if (key == NULL) {
        return;
    }
    if (k == CS_VOL_KIND_POD) {
        json_t *claims = pod_claims(obj);
        pthread_mutex_lock(&t->mu);
        bool had = cs_map_get(&t->m[M_POD], key) != NULL;
        /* a pod with claims finished: its claims may be free (VolumeRestrictions) */
        bool freed = had && claims == NULL;
        if (claims != NULL || had) {
            if (claims == NULL || json_object_get(claims, "nodeName") != NULL) {
                unreserve_uid_locked(t, key);
            }
            put_locked(t, M_POD, key, claims);
        }
        pthread_mutex_unlock(&t->mu);
        cs_free(key);
        if (freed && t->fw) {
            cs_fw_raise(t->fw, CS_VOL_EVENT, NULL, obj);
        }
        return;
    }
    json_t *trimmed = trim(k, obj);
    pthread_mutex_lock(&t->mu);
    const json_t *old = get_locked(t, kind_map[k], key);
    bool differs = old == NULL || !json_equal(old, trimmed);
    if (k == CS_VOL_KIND_PV && json_object_get(json_object_get(trimmed, "spec"), "claimRef")) {
        put_locked(t, M_ASSUMED_PV, key, NULL);
    }
    if (k == CS_VOL_KIND_PVC) {
        const json_t *spec = json_object_get(trimmed, "spec");
        const json_t *ann = json_object_get(json_object_get(trimmed, "metadata"), "annotations");
        if (json_object_get(spec, "volumeName") || json_object_get(ann, CS_VOL_SELECTED_NODE)) {
            put_locked(t, M_ASSUMED_NODE, key, NULL);
        }
    }
    put_locked(t, kind_map[k], key, trimmed);
    pthread_mutex_unlock(&t->mu);
    cs_free(key);
    if (differs) {
        changed(t, obj);
    }
}

void cs_vol_table_delete(struct cs_vol_table *t, enum cs_vol_kind k, const json_t *obj)
{
    char *key = obj_key(k, obj);
    if (key == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    bool had = cs_map_get(&t->m[kind_map[k]], key) != NULL;
    put_locked(t, kind_map[k], key, NULL);
    if (k == CS_VOL_KIND_POD) {
        unreserve_uid_locked(t, key);
    } else if (k == CS_VOL_KIND_PV) {
        put_locked(t, M_ASSUMED_PV, key, NULL);
    } else if (k == CS_VOL_KIND_PVC) {
        put_locked(t, M_ASSUMED_NODE, key, NULL);
    }
    pthread_mutex_unlock(&t->mu);
    cs_free(key);
    if (k != CS_VOL_KIND_POD) {
        changed(t, obj);
    } else if (had && t->fw) {
        /* a pod with claims went away: its claims may be free (VolumeRestrictions) */
        cs_fw_raise(t->fw, CS_VOL_EVENT, NULL, obj);
    }
}

/* ---- decoding into the arena --------------------------------------------------------------- */

static const char *astr(struct cs_arena *a, const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? cs_arena_strdup(a, s) : NULL;
}

static uint32_t modes_of(const json_t *arr)
{
    static const char *const names[] = { "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany",
                                         "ReadWriteOncePod" };
    uint32_t m = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        for (uint32_t k = 0; s && k < 4; k++) {
            if (strcmp(s, names[k]) == 0) {
                m |= 1u << k;
            }
        }
    }
    return m;
}

static int64_t storage_of(const json_t *list)
{
    struct cs_quantity q;
    const json_t *v = json_object_get(list, "storage");
    char err[64];
    if (v == NULL || cs_quantity_from_json(v, &q, err, sizeof(err)) != 0) {
        return 0;
    }
    return cs_quantity_value(&q);
}

static enum cs_vol_op op_of(const char *s)
{
    static const char *const names[] = { "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt" };
    for (int i = 0; s && i < 6; i++) {
        if (strcmp(s, names[i]) == 0) {
            return (enum cs_vol_op)i;
        }
    }
    return CS_VOL_BAD;
}

static void reqs_of(struct cs_arena *a, const json_t *arr, bool label_expr,
                    struct cs_vol_req **out, uint32_t *n)
{
    size_t cnt = json_array_size(arr);
    *out = cnt ? cs_arena_zalloc(a, cnt * sizeof(**out)) : NULL;
    *n = (uint32_t)cnt;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        struct cs_vol_req *r = &(*out)[i];
        r->key = astr(a, json_object_get(v, "key"));
        r->op = label_expr ? CS_VOL_IN : op_of(json_string_value(json_object_get(v, "operator")));
        const json_t *vals = json_object_get(v, "values");
        r->n_values = (uint32_t)json_array_size(vals);
        r->values = r->n_values ? cs_arena_zalloc(a, r->n_values * sizeof(char *)) : NULL;
        for (uint32_t k = 0; k < r->n_values; k++) {
            r->values[k] = astr(a, json_array_get(vals, k));
        }
    }
}

/* nodeSelectorTerms (PV) or allowedTopologies (class: matchLabelExpressions). */
static void affinity_of(struct cs_arena *a, const json_t *terms, bool topology,
                        struct cs_vol_affinity *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_array(terms) || (topology && json_array_size(terms) == 0)) {
        return;
    }
    out->present = true;
    out->n_terms = (uint32_t)json_array_size(terms);
    out->terms = out->n_terms ? cs_arena_zalloc(a, out->n_terms * sizeof(*out->terms)) : NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(terms, i, v) {
        struct cs_vol_term *tm = &out->terms[i];
        if (topology) {
            reqs_of(a, json_object_get(v, "matchLabelExpressions"), true, &tm->exprs,
                    &tm->n_exprs);
        } else {
            reqs_of(a, json_object_get(v, "matchExpressions"), false, &tm->exprs, &tm->n_exprs);
            reqs_of(a, json_object_get(v, "matchFields"), false, &tm->fields, &tm->n_fields);
        }
    }
}

static void claim_of(const struct cs_vol_table *t, const char *key, const json_t *o,
                     struct cs_arena *a, struct cs_vol_claim *c)
{
    const json_t *md = json_object_get(o, "metadata");
    const json_t *spec = json_object_get(o, "spec");
    const json_t *ann = json_object_get(md, "annotations");
    memset(c, 0, sizeof(*c));
    c->ns = astr(a, json_object_get(md, "namespace"));
    c->name = astr(a, json_object_get(md, "name"));
    c->uid = astr(a, json_object_get(md, "uid"));
    c->rv = astr(a, json_object_get(md, "resourceVersion"));
    c->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
                  !json_is_null(json_object_get(md, "deletionTimestamp"));
    /* storagehelpers.GetPersistentVolumeClaimClass: the beta annotation first, then spec. */
    c->class_name = astr(a, json_object_get(ann, "volume.beta.kubernetes.io/storage-class"));
    if (c->class_name == NULL) {
        c->class_name = astr(a, json_object_get(spec, "storageClassName"));
    }
    if (c->class_name == NULL) {
        c->class_name = "";
    }
    c->volume_name = astr(a, json_object_get(spec, "volumeName"));
    if (c->volume_name != NULL && c->volume_name[0] == '\0') {
        c->volume_name = NULL;
    }
    c->bind_completed = c->volume_name && json_object_get(ann, CS_VOL_BIND_COMPLETED) != NULL;
    c->selected_node = astr(a, json_object_get(ann, CS_VOL_SELECTED_NODE));
    if (c->selected_node == NULL) {
        c->selected_node = astr(a, get_locked(t, M_ASSUMED_NODE, key));
    }
    c->request = storage_of(json_object_get(json_object_get(spec, "resources"), "requests"));
    const json_t *sel = json_object_get(spec, "selector");
    if (json_is_object(sel)) {
        /* matchLabels as In requirements, then matchExpressions */
        c->has_selector = true;
        const json_t *ml = json_object_get(sel, "matchLabels");
        struct cs_vol_req *ex;
        uint32_t n_ex;
        reqs_of(a, json_object_get(sel, "matchExpressions"), false, &ex, &n_ex);
        size_t n_ml = json_object_size(ml);
        c->selector.n_exprs = (uint32_t)n_ml + n_ex;
        c->selector.exprs = cs_arena_zalloc(a, (c->selector.n_exprs + 1) * sizeof(*ex));
        uint32_t k = 0;
        const char *mk;
        json_t *v;
        json_object_foreach((json_t *)ml, mk, v) {
            struct cs_vol_req *r = &c->selector.exprs[k++];
            r->key = cs_arena_strdup(a, mk);
            r->op = CS_VOL_IN;
            r->values = cs_arena_zalloc(a, sizeof(char *));
            r->values[0] = astr(a, v);
            r->n_values = 1;
        }
        if (n_ex) {
            memcpy(&c->selector.exprs[k], ex, n_ex * sizeof(*ex));
        }
    }
    c->modes = modes_of(json_object_get(spec, "accessModes"));
}

static void pv_of(const struct cs_vol_table *t, const json_t *o, struct cs_arena *a,
                  struct cs_vol_pv *p)
{
    const json_t *md = json_object_get(o, "metadata");
    const json_t *spec = json_object_get(o, "spec");
    const json_t *labels = json_object_get(md, "labels");
    memset(p, 0, sizeof(*p));
    p->name = astr(a, json_object_get(md, "name"));
    p->rv = astr(a, json_object_get(md, "resourceVersion"));
    p->deleting = json_object_get(md, "deletionTimestamp") != NULL &&
                  !json_is_null(json_object_get(md, "deletionTimestamp"));
    p->class_name = astr(a, json_object_get(spec, "storageClassName"));
    if (p->class_name == NULL) {
        p->class_name = "";
    }
    p->capacity = storage_of(json_object_get(spec, "capacity"));
    p->modes = modes_of(json_object_get(spec, "accessModes"));
    const json_t *cr = json_object_get(spec, "claimRef");
    p->claim_ns = astr(a, json_object_get(cr, "namespace"));
    p->claim_name = astr(a, json_object_get(cr, "name"));
    p->claim_uid = astr(a, json_object_get(cr, "uid"));
    p->assumed_for = p->name ? astr(a, get_locked(t, M_ASSUMED_PV, p->name)) : NULL;
    for (int i = 0; i < 4; i++) {
        p->topo[i] = astr(a, json_object_get(labels, kept_labels[i]));
    }
    p->n_labels = (uint32_t)json_object_size(labels);
    p->labels = cs_arena_zalloc(a, (p->n_labels + 1) * sizeof(*p->labels));
    uint32_t nl = 0;
    const char *lk;
    json_t *lv;
    json_object_foreach((json_t *)labels, lk, lv) {
        if (json_is_string(lv) && nl < p->n_labels) {
            p->labels[nl].key = cs_arena_strdup(a, lk);
            p->labels[nl].value = astr(a, lv);
            nl++;
        }
    }
    p->n_labels = nl;
    const json_t *csi = json_object_get(spec, "csi");
    p->csi_driver = astr(a, json_object_get(csi, "driver"));
    p->csi_handle = astr(a, json_object_get(csi, "volumeHandle"));
    affinity_of(a,
                json_object_get(json_object_get(json_object_get(spec, "nodeAffinity"),
                                                "required"), "nodeSelectorTerms"),
                false, &p->affinity);
}

int cs_vol_pod_claims(struct cs_vol_table *t, const struct cs_pod *pod, struct cs_arena *a,
                      const char ***names, uint32_t *n)
{
    (void)t;
    (void)a;
    *names = pod->claims;              /* decoded with the pod (api/types.h), borrowed */
    *n = pod->n_claims;
    return 0;
}

int32_t cs_vol_pod_claim_count(struct cs_vol_table *t, const struct cs_pod *pod)
{
    (void)t;
    return (int32_t)pod->n_claims;
}

void cs_vol_table_pod(struct cs_vol_table *t, const struct cs_pod *old, const struct cs_pod *pod)
{
    if (pod == NULL || pod->n_claims == 0) {
        if (old != NULL && old->n_claims > 0 && old->uid != NULL) {
            json_t *gone = json_pack("{s:{s:s}}", "metadata", "uid", old->uid);
            cs_vol_table_delete(t, CS_VOL_KIND_POD, gone);
            json_decref(gone);
        }
        return;
    }
    if (pod->uid == NULL) {
        return;
    }
    json_t *claims = json_array();
    for (uint32_t i = 0; i < pod->n_claims; i++) {
        json_array_append_new(claims, json_string(pod->claims[i]));
    }
    json_t *e = json_object();
    json_object_set_new(e, "namespace", json_string(pod->ns ? pod->ns : ""));
    if (pod->node_name) {
        json_object_set_new(e, "nodeName", json_string(pod->node_name));
    }
    bool done = pod->phase == CS_PHASE_SUCCEEDED || pod->phase == CS_PHASE_FAILED;
    json_object_set_new(e, "done", json_boolean(done));
    json_object_set_new(e, "claims", claims);
    pthread_mutex_lock(&t->mu);
    if (pod->node_name || done) {
        unreserve_uid_locked(t, pod->uid);
    }
    put_locked(t, M_POD, pod->uid, e);
    pthread_mutex_unlock(&t->mu);
}

static char *claim_key(const char *ns, const char *name)
{
    size_t n = strlen(ns) + strlen(name) + 2;
    char *k = cs_malloc(n);
    snprintf(k, n, "%s/%s", ns, name);
    return k;
}

bool cs_vol_claim_get(struct cs_vol_table *t, const char *ns, const char *name,
                      struct cs_arena *a, struct cs_vol_claim *out)
{
    char *key = claim_key(ns, name);
    pthread_mutex_lock(&t->mu);
    const json_t *o = get_locked(t, M_PVC, key);
    if (o) {
        claim_of(t, key, o, a, out);
    }
    pthread_mutex_unlock(&t->mu);
    cs_free(key);
    return o != NULL;
}

bool cs_vol_pv_get(struct cs_vol_table *t, const char *name, struct cs_arena *a,
                   struct cs_vol_pv *out)
{
    pthread_mutex_lock(&t->mu);
    const json_t *o = get_locked(t, M_PV, name);
    if (o) {
        pv_of(t, o, a, out);
    }
    pthread_mutex_unlock(&t->mu);
    return o != NULL;
}

bool cs_vol_class_get(struct cs_vol_table *t, const char *name, struct cs_arena *a,
                      struct cs_vol_class *out)
{
    pthread_mutex_lock(&t->mu);
    const json_t *o = get_locked(t, M_CLASS, name);
    if (o) {
        memset(out, 0, sizeof(*out));
        out->name = astr(a, json_object_get(json_object_get(o, "metadata"), "name"));
        out->provisioner = astr(a, json_object_get(o, "provisioner"));
        const char *mode = json_string_value(json_object_get(o, "volumeBindingMode"));
        out->mode_set = mode != NULL;
        out->wait_for_consumer = mode && strcmp(mode, "WaitForFirstConsumer") == 0;
        affinity_of(a, json_object_get(o, "allowedTopologies"), true, &out->allowed);
    }
    pthread_mutex_unlock(&t->mu);
    return o != NULL;
}

uint32_t cs_vol_pv_list(struct cs_vol_table *t, const char *class_name, struct cs_arena *a,
                        struct cs_vol_pv **out)
{
    pthread_mutex_lock(&t->mu);
    size_t cap = cs_map_len(&t->m[M_PV]);
    *out = cap ? cs_arena_zalloc(a, cap * sizeof(**out)) : NULL;
    uint32_t n = 0;
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&t->m[M_PV], &it, &k, &v);) {
        const struct ent *e = v;
        const char *cls = json_string_value(
            json_object_get(json_object_get(e->obj, "spec"), "storageClassName"));
        if (strcmp(cls ? cls : "", class_name) == 0 && n < cap) {
            pv_of(t, e->obj, a, &(*out)[n++]);
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

uint32_t cs_vol_claim_users(struct cs_vol_table *t, const char *ns, const char *name,
                            const char *uid)
{
    uint32_t n = 0;
    pthread_mutex_lock(&t->mu);
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&t->m[M_POD], &it, &k, &v);) {
        const struct ent *e = v;
        const char *pns = json_string_value(json_object_get(e->obj, "namespace"));
        if ((uid && strcmp(k, uid) == 0) || json_object_get(e->obj, "nodeName") == NULL ||
            json_is_true(json_object_get(e->obj, "done")) || pns == NULL || strcmp(pns, ns)) {
            continue;
        }
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(e->obj, "claims"), i, c) {
            if (strcmp(json_string_value(c), name) == 0) {
                n++;
                break;
            }
        }
    }
    char *key = claim_key(ns, name);
    const char *holder = json_string_value(get_locked(t, M_RESERVED, key));
    if (holder != NULL && (uid == NULL || strcmp(holder, uid) != 0)) {
        n++;
    }
    pthread_mutex_unlock(&t->mu);
    cs_free(key);
    return n;
}

void cs_vol_reserve_claim(struct cs_vol_table *t, const char *ns, const char *name,
                          const char *uid)
{
    char *key = claim_key(ns, name);
    pthread_mutex_lock(&t->mu);
    put_locked(t, M_RESERVED, key, uid ? json_string(uid) : NULL);
    pthread_mutex_unlock(&t->mu);
    cs_free(key);
}

int32_t cs_vol_node_limits(struct cs_vol_table *t, const char *name, struct cs_arena *a,
                           const char ***drivers, int64_t **counts)
{
    pthread_mutex_lock(&t->mu);
    const json_t *o = get_locked(t, M_CSINODE, name);
    int32_t n = -1;
    if (o != NULL) {
        json_t *d = json_object_get(o, "drivers");
        size_t cap = json_object_size(d);
        *drivers = cs_arena_zalloc(a, (cap + 1) * sizeof(char *));
        *counts = cs_arena_zalloc(a, (cap + 1) * sizeof(int64_t));
        n = 0;
        const char *k;
        json_t *v;
        json_object_foreach(d, k, v) {
            (*drivers)[n] = cs_arena_strdup(a, k);
            (*counts)[n] = json_integer_value(v);
            n++;
        }
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

void cs_vol_assume_pv(struct cs_vol_table *t, const char *pv, const char *claim)
{
    pthread_mutex_lock(&t->mu);
    put_locked(t, M_ASSUMED_PV, pv, json_string(claim));
    pthread_mutex_unlock(&t->mu);
}

void cs_vol_forget_pv(struct cs_vol_table *t, const char *pv)
{
    pthread_mutex_lock(&t->mu);
    put_locked(t, M_ASSUMED_PV, pv, NULL);
    pthread_mutex_unlock(&t->mu);
}

void cs_vol_assume_node(struct cs_vol_table *t, const char *claim, const char *node)
{
    pthread_mutex_lock(&t->mu);
    put_locked(t, M_ASSUMED_NODE, claim, json_string(node));
    pthread_mutex_unlock(&t->mu);
}

void cs_vol_forget_node(struct cs_vol_table *t, const char *claim)
{
    pthread_mutex_lock(&t->mu);
    put_locked(t, M_ASSUMED_NODE, claim, NULL);
    pthread_mutex_unlock(&t->mu);
}

/* ---- node matching ------------------------------------------------------------------------- */

static bool req_matches(const struct cs_vol_req *r, const char *v)
{
    switch (r->op) {
    case CS_VOL_IN:
    case CS_VOL_NOT_IN: {
        bool in = false;
        for (uint32_t i = 0; v && i < r->n_values; i++) {
            in = in || (r->values[i] && strcmp(r->values[i], v) == 0);
        }
        return r->op == CS_VOL_IN ? in : !in;
    }
    case CS_VOL_EXISTS:
        return v != NULL;
    case CS_VOL_NOT_EXIST:
        return v == NULL;
    case CS_VOL_GT:
    case CS_VOL_LT: {
        if (v == NULL || r->n_values != 1 || r->values[0] == NULL) {
            return false;
        }
        char *end1, *end2;
        long long a = strtoll(v, &end1, 10), b = strtoll(r->values[0], &end2, 10);
        if (*end1 || *end2 || !*v || !*r->values[0]) {
            return false;
        }
        return r->op == CS_VOL_GT ? a > b : a < b;
    }
    default:
        return false;
    }
}

static bool term_matches(const struct cs_vol_term *tm, const struct cs_node *node)
{
    if (tm->n_exprs == 0 && tm->n_fields == 0) {
        return false;
    }
    for (uint32_t i = 0; i < tm->n_exprs; i++) {
        const struct cs_vol_req *r = &tm->exprs[i];
        if (r->key == NULL || !req_matches(r, cs_node_label(node, r->key))) {
            return false;
        }
    }
    for (uint32_t i = 0; i < tm->n_fields; i++) {
        const struct cs_vol_req *r = &tm->fields[i];
        if (r->key == NULL || strcmp(r->key, "metadata.name") != 0 ||
            !req_matches(r, node->name)) {
            return false;
        }
    }
    return true;
}

bool cs_vol_selector_matches(const struct cs_vol_claim *c, const struct cs_vol_pv *pv)
{
    if (!c->has_selector) {
        return true;
    }
    for (uint32_t i = 0; i < c->selector.n_exprs; i++) {
        const struct cs_vol_req *r = &c->selector.exprs[i];
        if (r->key == NULL || r->op == CS_VOL_GT || r->op == CS_VOL_LT ||
            !req_matches(r, cs_label_get(pv->labels, pv->n_labels, r->key))) {
            return false;
        }
    }
    return true;
}

bool cs_vol_affinity_matches(const struct cs_vol_affinity *a, const struct cs_node *node)
{
    if (a == NULL || !a->present) {
        return true;
    }
    if (node == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_terms; i++) {
        if (term_matches(&a->terms[i], node)) {
            return true;
        }
    }
    return false;
}

/* ---- the shared instance ------------------------------------------------------------------- */

struct watch_ctx {
    struct cs_vol_table *t;
    enum cs_vol_kind k;
};

static void w_add(void *priv, const json_t *obj)
{
    const struct watch_ctx *w = priv;
    cs_vol_table_upsert(w->t, w->k, obj);
}

static void w_update(void *priv, const json_t *old, const json_t *obj)
{
    (void)old;
    w_add(priv, obj);
}

static void w_delete(void *priv, const json_t *obj)
{
    const struct watch_ctx *w = priv;
    cs_vol_table_delete(w->t, w->k, obj);
}

struct shared {
    struct cs_vol_table t;
    struct watch_ctx w[5];
};

static struct cs_vol_table *table_new(struct cs_fw_handle *fw)
{
    struct shared *s = cs_calloc(1, sizeof(*s));
    pthread_mutex_init(&s->t.mu, NULL);
    for (int i = 0; i < M_COUNT; i++) {
        cs_map_init(&s->t.m[i]);
    }
    s->t.fw = fw;
    return &s->t;
}

void cs_vol_table_free(struct cs_vol_table *t)
{
    if (t == NULL) {
        return;
    }
    for (int i = 0; i < M_COUNT; i++) {
        const char *k;
        void *v;
        for (size_t it = 0; cs_map_next(&t->m[i], &it, &k, &v);) {
            ent_free(v);
        }
        cs_map_destroy(&t->m[i]);
    }
    pthread_mutex_destroy(&t->mu);
    cs_free((struct shared *)t);
}

static void shared_destroy(void *obj)
{
    cs_vol_table_free(obj);
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
    struct cs_vol_table *t = table_new(a->fw);
    struct shared *s = (struct shared *)t;
    static const struct {
        const char *name, *path, *fields;
        enum cs_vol_kind k;
    } specs[] = {
        { "persistentvolumeclaims", "/api/v1/persistentvolumeclaims", NULL, CS_VOL_KIND_PVC },
        { "persistentvolumes", "/api/v1/persistentvolumes", NULL, CS_VOL_KIND_PV },
        { "storageclasses", "/apis/storage.k8s.io/v1/storageclasses", NULL, CS_VOL_KIND_CLASS },
        { "csinodes", "/apis/storage.k8s.io/v1/csinodes", NULL, CS_VOL_KIND_CSINODE },
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]) && !a->failed; i++) {
        s->w[i].t = t;
        s->w[i].k = specs[i].k;
        struct cs_watch_spec ws = {
            .name = specs[i].name,
            .path = specs[i].path,
            .field_selector = specs[i].fields,
            .on_add = w_add,
            .on_update = w_update,
            .on_delete = w_delete,
            .optional = true,
        };
        a->failed = cs_fw_watch(a->fw, &s->w[i], &ws, a->err, a->errlen) != 0;
    }
    return t;
}

struct cs_vol_table *cs_vol_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen)
{
    if (fw == NULL) {
        return table_new(NULL);
    }
    struct create_args a = { .fw = fw, .err = err, .errlen = errlen };
    struct cs_vol_table *t = cs_fw_shared(fw, "volumes", shared_create, shared_destroy, &a);
    return a.failed ? NULL : t;
}

int cs_vol_plugin_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct cs_vol_plugin *p = cs_calloc(1, sizeof(*p));
    p->t = cs_vol_table_shared(in->fw, err, errlen);
    if (p->t == NULL) {
        cs_free(p);
        return -1;
    }
    p->owned = in->fw == NULL;
    *priv = p;
    return 0;
}

void cs_vol_plugin_destroy(void *priv)
{
    struct cs_vol_plugin *p = priv;
    if (p && p->owned) {
        cs_vol_table_free(p->t);
    }
    cs_free(p);
}
