/*
 * DefaultPreemption (PostFilter): when no node fits, ask the platform's preemption engine
 * (pkg/framework/preempt.h) for a node and the lower-priority victims whose eviction makes the
 * pod fit; the session evicts them through a statement and nominates the node. Gangs use the
 * same PostFilter for every member (pkg/framework/session.c, gang preemption).
 *
 * PodDisruptionBudgets: the plugin watches policy/v1 PodDisruptionBudgets and tells the engine
 * which victims' eviction would violate one (a budget in the victim's namespace whose selector
 * matches it and whose status.disruptionsAllowed is 0), so candidates with fewer violations win,
 * as in kube-scheduler. The budget table is written on the informer thread and read on the
 * scheduling thread: one mutex; selectors are immutable once compiled.
 *
 * Args (DefaultPreemptionArgs): minCandidateNodesPercentage (0-100, default 10),
 * minCandidateNodesAbsolute (>= 0, default 100).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "pkg/framework/preempt.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/map.h"
#include "pkg/util/selector.h"
#include "plugins/registry.h"

struct pdb {
    char *key;                     /* owned "ns/name" */
    char *ns;                      /* owned */
    struct cs_selector *sel;       /* owned (heap); NULL matches nothing */
    int64_t allowed;               /* status.disruptionsAllowed */
};

struct dp {
    int32_t pct;
    int32_t abs;
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

static void pdb_upsert(void *priv, const json_t *obj)
{
    struct dp *d = priv;
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (name == NULL || ns == NULL) {
        return;
    }
    struct pdb *p = cs_calloc(1, sizeof(*p));
    char key[400];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
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
    struct dp *d = priv;
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (name == NULL || ns == NULL) {
        return;
    }
    char key[400];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    pthread_mutex_lock(&d->mu);
    struct pdb *p = cs_map_del(&d->pdbs, key);
    pthread_mutex_unlock(&d->mu);
    if (p) {
        pdb_free(p);
    }
}

/* Would evicting the victim violate a budget? (Scheduling thread.) */
static bool violates_pdb(void *arg, const struct cs_pod *victim)
{
    struct dp *d = arg;
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

static int dp_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    int32_t pct = 10, abs = 100;
    const json_t *a = json_object_get(in->args, "minCandidateNodesPercentage");
    if (a) {
        if (!json_is_integer(a) || json_integer_value(a) < 0 || json_integer_value(a) > 100) {
            snprintf(err, errlen, "minCandidateNodesPercentage must be an integer in [0, 100]");
            return -1;
        }
        pct = (int32_t)json_integer_value(a);
    }
    a = json_object_get(in->args, "minCandidateNodesAbsolute");
    if (a) {
        if (!json_is_integer(a) || json_integer_value(a) < 0 ||
            json_integer_value(a) > 1000000) {
            snprintf(err, errlen, "minCandidateNodesAbsolute must be a non-negative integer");
            return -1;
        }
        abs = (int32_t)json_integer_value(a);
    }
    if (pct == 0 && abs == 0) {
        snprintf(err, errlen,
                 "minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be 0");
        return -1;
    }
    struct dp *d = cs_calloc(1, sizeof(*d));
    d->pct = pct;
    d->abs = abs;
    pthread_mutex_init(&d->mu, NULL);
    cs_map_init(&d->pdbs);
    if (in->fw) {
        struct cs_watch_spec w = {
            .name = "poddisruptionbudgets",
            .path = "/apis/policy/v1/poddisruptionbudgets",
            .on_add = pdb_upsert, .on_update = pdb_update, .on_delete = pdb_delete,
            .optional = true,
        };
        if (cs_fw_watch(in->fw, d, &w, err, errlen) != 0) {
            cs_map_destroy(&d->pdbs);
            pthread_mutex_destroy(&d->mu);
            cs_free(d);
            return -1;
        }
    }
    *priv = d;
    return 0;
}

static void dp_destroy(void *priv)
{
    struct dp *d = priv;
    if (d == NULL) {
        return;
    }
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&d->pdbs, &it, &k, &v)) {
        pdb_free(v);
    }
    cs_map_destroy(&d->pdbs);
    pthread_mutex_destroy(&d->mu);
    cs_free(d);
}

static enum cs_code dp_post_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   const struct cs_node_status_map *statuses,
                                   struct cs_preempt_result *out, struct cs_status *st)
{
    struct dp *d = c->priv;
    struct cs_preempt_opts opts = {
        .min_candidate_pct = d->pct ? d->pct : -1,
        .min_candidate_abs = d->abs ? d->abs : -1,
        .violates_pdb = violates_pdb,
        .pdb_arg = d,
    };
    const char *why = NULL;
    enum cs_code code = cs_fw_preempt(c, pod, statuses, &opts, out, &why);
    if (code != CS_SUCCESS) {
        cs_status_set(st, CS_UNSCHEDULABLE,
                      cs_arena_printf(c->arena, "preemption: %s",
                                      why ? why : "Preemption is not helpful for scheduling."));
    }
    return code;
}

const struct cs_plugin cs_plugin_defaultpreemption = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "DefaultPreemption",
    .events = CS_EV_POD_DELETE | CS_EV_NODE_ADD | CS_EV_NODE_UPDATE,
    .init = dp_init,
    .destroy = dp_destroy,
    .post_filter = dp_post_filter,
};
