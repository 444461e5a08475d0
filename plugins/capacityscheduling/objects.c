/* The quota objects (objects.h). */
#include "plugins/capacityscheduling/objects.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/log.h"

#define TREES_PATH "/apis/" CS_EQT_GROUP "/" CS_EQT_VERSION "/namespaces/kube-system/elasticquotatrees"

void cs_capobj_init(struct cs_capobj *o, struct cs_fw_handle *fw)
{
    memset(o, 0, sizeof(*o));
    pthread_mutex_init(&o->mu, NULL);
    o->trees = json_object();
    o->flat = json_object();
    o->reported = json_object();
    o->fw = fw;
}

void cs_capobj_destroy(struct cs_capobj *o)
{
    json_decref(o->trees);
    json_decref(o->flat);
    json_decref(o->reported);
    pthread_mutex_destroy(&o->mu);
}

/* "<kind> <ns>/<name>": the store's keys (kind: "tree" or a group) and the reports' (a Kind). */
static void obj_key(const char *kind, const json_t *obj, char *key, size_t n)
{
    const json_t *md = json_object_get(obj, "metadata");
    snprintf(key, n, "%s %s/%s", kind, json_string_value(json_object_get(md, "namespace")) ?: "",
             json_string_value(json_object_get(md, "name")) ?: "");
}

void cs_capobj_put(struct cs_capobj *o, const char *kind, const json_t *obj)
{
    char key[600];
    obj_key(kind, obj, key, sizeof(key));
    json_t *copy = json_deep_copy(obj);
    pthread_mutex_lock(&o->mu);
    json_object_set_new(strcmp(kind, "tree") == 0 ? o->trees : o->flat, key, copy);
    atomic_fetch_add(&o->gen, 1);
    pthread_mutex_unlock(&o->mu);
}

void cs_capobj_del(struct cs_capobj *o, const char *kind, const json_t *obj)
{
    char key[600];
    obj_key(kind, obj, key, sizeof(key));
    pthread_mutex_lock(&o->mu);
    json_object_del(strcmp(kind, "tree") == 0 ? o->trees : o->flat, key);
    atomic_fetch_add(&o->gen, 1);
    pthread_mutex_unlock(&o->mu);
}

/* ---- watches ------------------------------------------------------------------------------ */

/* Each watch's callbacks get its context in the store (cs_capobj.watches). */
static void w_add(void *priv, const json_t *obj)
{
    const struct cs_capobj_watch *w = priv;
    cs_capobj_put(w->o, w->kind, obj);
}

static void w_update(void *priv, const json_t *old, const json_t *obj)
{
    (void)old;
    w_add(priv, obj);
}

static void w_delete(void *priv, const json_t *obj)
{
    const struct cs_capobj_watch *w = priv;
    cs_capobj_del(w->o, w->kind, obj);
}

int cs_capobj_watch(struct cs_capobj *o, char *err, size_t errlen)
{
    static const struct {
        const char *name, *path, *kind;
    } specs[] = {
        { "elasticquotatrees", TREES_PATH, "tree" },
        { "elasticquotas", "/apis/scheduling.sigs.k8s.io/v1alpha1/elasticquotas",
          "scheduling.sigs.k8s.io" },
        { "elasticquotas.x-k8s", "/apis/scheduling.x-k8s.io/v1alpha1/elasticquotas",
          "scheduling.x-k8s.io" },
    };
    if (o->fw == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct cs_capobj_watch *w = &o->watches[i];
        w->o = o;
        w->kind = specs[i].kind;
        struct cs_watch_spec ws = {
            .name = specs[i].name,
            .path = specs[i].path,
            .on_add = w_add,
            .on_update = w_update,
            .on_delete = w_delete,
            .optional = true,
        };
        if (cs_fw_watch(o->fw, w, &ws, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

/* ---- resolving ---------------------------------------------------------------------------- */

/* Report a refusal once per object and spec content. */
static void report(struct cs_capobj *o, const char *kind, const char *api_version,
                   const json_t *obj, const char *reason, const char *msg)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name")) ?: "";
    char key[600];
    obj_key(kind, obj, key, sizeof(key));
    char *spec = json_dumps(json_object_get(obj, "spec"), JSON_SORT_KEYS | JSON_COMPACT);
    size_t tl = (spec ? strlen(spec) : 0) + strlen(msg) + 2;
    char *text = cs_malloc(tl);
    snprintf(text, tl, "%s\n%s", spec ? spec : "", msg);
    const char *was = json_string_value(json_object_get(o->reported, key));
    if (was == NULL || strcmp(was, text) != 0) {
        json_object_set_new(o->reported, key, json_string(text));
        CS_WARN_S(reason, CS_KV("object", key), CS_KV("err", msg));
        struct cs_object_ref ref = {
            .kind = kind, .api_version = api_version, .ns = ns, .name = name,
            .uid = json_string_value(json_object_get(md, "uid")),
        };
        cs_fw_event(o->fw, &ref, "Warning", reason, msg);
    }
    free(spec);
    cs_free(text);
}

static void forget_report(struct cs_capobj *o, const char *kind, const json_t *obj)
{
    char key[600];
    obj_key(kind, obj, key, sizeof(key));
    json_object_del(o->reported, key);
}

/* The tree object in force: the oldest (creationTimestamp, then name). */
static const json_t *pick_tree(json_t *trees, const char **which)
{
    const json_t *best = NULL;
    const char *bts = NULL;
    const char *k;
    json_t *v;
    json_object_foreach(trees, k, v) {
        const char *ts = json_string_value(
            json_object_get(json_object_get(v, "metadata"), "creationTimestamp")) ?: "";
        if (best == NULL || strcmp(ts, bts) < 0 || (strcmp(ts, bts) == 0 && strcmp(k, *which) < 0)) {
            best = v;
            bts = ts;
            *which = k;
        }
    }
    return best;
}

enum cs_capobj_result cs_capobj_resolve(struct cs_capobj *o, struct cs_resource_names *res,
                                        struct cs_quota_tree **out)
{
    *out = NULL;
    pthread_mutex_lock(&o->mu);
    json_t *trees = json_deep_copy(o->trees);
    json_t *flat = json_deep_copy(o->flat);
    pthread_mutex_unlock(&o->mu);
    enum cs_capobj_result r = CS_CAPOBJ_NONE;
    const char *which = NULL;
    const json_t *tree = pick_tree(trees, &which);
    if (tree) {
        char err[1024];
        const char *k;
        json_t *v;
        json_object_foreach(trees, k, v) {
            if (v != tree) {
                report(o, "ElasticQuotaTree", CS_EQT_GROUP "/" CS_EQT_VERSION, v,
                       "QuotaTreeIgnored",
                       "only one ElasticQuotaTree is used (the oldest in kube-system); this one "
                       "is ignored");
            }
        }
        if (cs_quota_tree_parse(tree, res, out, err, sizeof(err)) != 0) {
            char msg[1200];
            snprintf(msg, sizeof(msg), "invalid quota tree, rule %s; the last valid tree stays "
                                       "in force", err);
            report(o, "ElasticQuotaTree", CS_EQT_GROUP "/" CS_EQT_VERSION, tree,
                   "InvalidQuotaTree", msg);
            r = CS_CAPOBJ_REFUSED;
        } else {
            forget_report(o, "ElasticQuotaTree", tree);
            r = CS_CAPOBJ_TREE;
        }
    } else if (json_object_size(flat)) {
        size_t n = json_object_size(flat), i = 0;
        const json_t **objs = cs_calloc(n, sizeof(*objs));
        const char *k;
        json_t *v;
        json_object_foreach(flat, k, v) {
            objs[i++] = v;
        }
        char errs[4096];
        *out = cs_quota_tree_from_flat(objs, n, res, errs, sizeof(errs));
        /* Each refused object gets its event: errs has one line per object,
         * "ElasticQuota ns/name: rule". */
        for (i = 0; i < n; i++) {
            const json_t *md = json_object_get(objs[i], "metadata");
            char prefix[600];
            snprintf(prefix, sizeof(prefix), "ElasticQuota %s/%s: ",
                     json_string_value(json_object_get(md, "namespace")) ?: "",
                     json_string_value(json_object_get(md, "name")) ?: "");
            const char *at = strstr(errs, prefix);
            if (at) {
                const char *end = strchr(at, '\n');
                char msg[1024];
                snprintf(msg, sizeof(msg), "invalid ElasticQuota, rule %.*s; it is ignored",
                         (int)((end ? (size_t)(end - at) : strlen(at)) - strlen(prefix)),
                         at + strlen(prefix));
                report(o, "ElasticQuota", "scheduling.sigs.k8s.io/v1alpha1", objs[i],
                       "InvalidElasticQuota", msg);
            } else {
                forget_report(o, "ElasticQuota", objs[i]);
            }
        }
        cs_free(objs);
        r = *out ? CS_CAPOBJ_TREE : CS_CAPOBJ_NONE;
    }
    json_decref(trees);
    json_decref(flat);
    return r;
}

const char *cs_capobj_tree_name(struct cs_capobj *o, char *buf, size_t n)
{
    pthread_mutex_lock(&o->mu);
    const char *which = NULL;
    const json_t *t = pick_tree(o->trees, &which);
    const char *name = t ? json_string_value(json_object_get(json_object_get(t, "metadata"),
                                                             "name"))
                         : NULL;
    if (name) {
        snprintf(buf, n, "%s", name);
    }
    pthread_mutex_unlock(&o->mu);
    return name ? buf : NULL;
}
