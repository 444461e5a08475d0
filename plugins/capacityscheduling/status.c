/*
 * Quota status and metrics. At most once per second, when the model changed:
 *   - the ElasticQuotaTree's status (the CRD has no status subresource: a merge patch of the
 *     main resource): status.quotas.<name> = {used, pending} as ResourceLists; names that left
 *     the tree are removed;
 *   - each flat ElasticQuota's status subresource: status.used (scheduler-plugins' field) and
 *     status.pending; only the ones that changed;
 *   - gauges per quota node and resource: min, max (absent = unlimited: not exported), used,
 *     borrowed (used above min), pending requests, in Kubernetes base units (cpu in cores).
 */
#include <stdio.h>
#include <string.h>

#include "pkg/metrics/metrics.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"
#include "plugins/capacityscheduling/capacityscheduling.h"

#define STATUS_INTERVAL_NS 1000000000LL

void cs_capsched_metrics_init(struct cs_capsched *cs)
{
    struct cs_metrics_registry *r = cs_fw_metrics(cs->fw);
    if (r == NULL) {
        return;
    }
    const char *const *l = CS_METRICS_LABELS("quota", "resource");
    cs->m_min = cs_metrics_gauge_new(r, "cosched_elastic_quota_min",
                                     "Guaranteed amount of a resource per quota node.", l);
    cs->m_max = cs_metrics_gauge_new(r, "cosched_elastic_quota_max",
                                     "Maximum (borrowing included) of a resource per quota node; "
                                     "absent when unlimited.", l);
    cs->m_used = cs_metrics_gauge_new(r, "cosched_elastic_quota_used",
                                      "Requests of the bound and assumed pods charged to a quota "
                                      "node.", l);
    cs->m_borrowed = cs_metrics_gauge_new(r, "cosched_elastic_quota_borrowed",
                                          "Amount of a resource a quota node uses above its min.",
                                          l);
    cs->m_pending = cs_metrics_gauge_new(r, "cosched_elastic_quota_pending_requests",
                                         "Requests of the pending (and nominated) pods of a "
                                         "quota node.", l);
}

static double base_units(const struct cs_quota_tree *t, uint32_t d, int64_t v)
{
    return strcmp(t->dim[d], "cpu") == 0 ? (double)v / 1000.0 : (double)v;
}

static void metrics(struct cs_capsched *cs)
{
    const struct cs_quota_tree *t = cs->model.tree;
    if (t == NULL || cs->m_used == NULL) {
        return;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            const char *lv[] = { q->name, t->dim[d] };
            cs_metrics_set(cs->m_min, lv, base_units(t, d, q->min[d]));
            if (q->max[d] != CS_QUOTA_UNLIMITED) {
                cs_metrics_set(cs->m_max, lv, base_units(t, d, q->max[d]));
            }
            cs_metrics_set(cs->m_used, lv, base_units(t, d, q->used[d]));
            int64_t b = q->used[d] > q->min[d] ? q->used[d] - q->min[d] : 0;
            cs_metrics_set(cs->m_borrowed, lv, base_units(t, d, b));
            cs_metrics_set(cs->m_pending, lv,
                           base_units(t, d, q->pending[d] + q->nominated[d]));
        }
    }
}

static json_t *resource_list(const struct cs_quota_tree *t, const int64_t *a, const int64_t *b)
{
    json_t *o = json_object();
    for (uint32_t d = 0; d < t->n_dims; d++) {
        int64_t v = a[d] + (b ? b[d] : 0);
        char q[48];
        cs_quota_format(t, d, v, q, sizeof(q));
        json_object_set_new(o, t->dim[d], json_string(q));
    }
    return o;
}

static void write_done(void *arg, long http_status, const char *body)
{
    (void)arg;
    if (http_status >= 300 && CS_V(2)) {
        CS_INFO_S("Quota status write failed", CS_KVI("status", http_status),
                  CS_KV("body", body ? body : ""));
    }
}

static void patch(struct cs_capsched *cs, const char *path, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    struct cs_api_write w = { .method = "PATCH", .path = path, .body = text,
                              .content_type = "application/merge-patch+json",
                              .done = write_done };
    cs_fw_write(cs->fw, &w);
    free(text);
}

static void tree_status(struct cs_capsched *cs, const char *name)
{
    const struct cs_quota_tree *t = cs->model.tree;
    json_t *quotas = json_object();
    for (uint32_t i = 0; i < t->n; i++) {
        const struct cs_quota_node *q = &t->nodes[i];
        json_t *one = json_pack("{s:o, s:o}", "used", resource_list(t, q->used, NULL), "pending",
                                resource_list(t, q->pending, q->nominated));
        json_object_set_new(quotas, q->name, one);
    }
    char key[300];
    snprintf(key, sizeof(key), "tree|%s", name);
    json_t *was = json_object_get(cs->written, key);
    if (was && json_equal(was, quotas)) {
        json_decref(quotas);
        return;
    }
    json_t *p = json_deep_copy(quotas);
    const char *k;
    json_t *v;
    json_object_foreach(was, k, v) {
        if (json_object_get(quotas, k) == NULL) {
            json_object_set_new(p, k, json_null());
        }
    }
    json_t *body = json_pack("{s:{s:o}}", "status", "quotas", p);
    char path[400];
    snprintf(path, sizeof(path), "/apis/%s/%s/namespaces/kube-system/elasticquotatrees/%s",
             CS_EQT_GROUP, CS_EQT_VERSION, name);
    patch(cs, path, body);
    json_decref(body);
    json_object_set_new(cs->written, key, quotas);
}

/* The API group of the flat ElasticQuota behind a leaf "ns/name". */
static const char *flat_group(struct cs_capsched *cs, const char *leaf)
{
    static const char *const groups[] = { "scheduling.sigs.k8s.io", "scheduling.x-k8s.io" };
    const char *found = groups[0];
    pthread_mutex_lock(&cs->objs.mu);
    for (size_t g = 0; g < 2; g++) {
        char key[600];
        snprintf(key, sizeof(key), "%s %s", groups[g], leaf);   /* objects.c's obj_key */
        if (json_object_get(cs->objs.flat, key)) {
            found = groups[g];
            break;
        }
    }
    pthread_mutex_unlock(&cs->objs.mu);
    return found;
}

static void flat_status(struct cs_capsched *cs)
{
    const struct cs_quota_tree *t = cs->model.tree;
    for (uint32_t i = 1; i < t->n; i++) {
        const struct cs_quota_node *q = &t->nodes[i];
        json_t *st = json_pack("{s:o, s:o}", "used", resource_list(t, q->used, NULL), "pending",
                               resource_list(t, q->pending, q->nominated));
        char key[600];
        snprintf(key, sizeof(key), "eq|%s", q->name);
        json_t *was = json_object_get(cs->written, key);
        if (was && json_equal(was, st)) {
            json_decref(st);
            continue;
        }
        const char *slash = strchr(q->name, '/');
        if (slash == NULL) {
            json_decref(st);
            continue;
        }
        char path[700];
        snprintf(path, sizeof(path), "/apis/%s/v1alpha1/namespaces/%.*s/elasticquotas/%s/status",
                 flat_group(cs, q->name), (int)(slash - q->name), q->name, slash + 1);
        json_t *body = json_pack("{s:O}", "status", st);
        patch(cs, path, body);
        json_decref(body);
        json_object_set_new(cs->written, key, st);
    }
}

void cs_capsched_status(struct cs_capsched *cs, bool force)
{
    const struct cs_quota_tree *t = cs->model.tree;
    if (t == NULL || cs->model.version == cs->status_version) {
        return;
    }
    int64_t now = cs_mono_ns();
    if (!force && now - cs->last_status_ns < STATUS_INTERVAL_NS) {
        return;
    }
    cs->last_status_ns = now;
    cs->status_version = cs->model.version;
    metrics(cs);
    if (cs->fw == NULL) {
        return;
    }
    if (strcmp(t->source, "ElasticQuota") == 0) {
        flat_status(cs);
    } else {
        char name[256];
        if (cs_capobj_tree_name(&cs->objs, name, sizeof(name))) {
            tree_status(cs, name);
        }
    }
}
