/*
 * CapacityScheduling: elastic quotas (ACK's ElasticQuotaTree; scheduler-plugins' flat
 * ElasticQuota when no tree exists) with borrowing and reclaim. The model and every quota
 * decision live in pkg/quota (shared with the job queue); this plugin feeds the model and
 * applies its decisions at the framework's points:
 *
 *   session_open  puts the tree in force when the objects changed (an invalid tree is refused
 *                 with an Event and the last valid one stays), then hears the cluster's changes
 *                 (on_pod: bound and assumed pods; on_pending: waiting pods) in order;
 *   pre_filter    admission: max at the leaf and every ancestor, and siblings' guarantees;
 *                 the rejection names the quota node and the resource;
 *   reserve / unreserve, on_stmt   the session's tentative placements, evictions and
 *                 nominations are charged at once, so later pods of the session (and gang dry
 *                 runs) see them, and undone exactly;
 *   post_filter   reclaim: a pod within its min takes borrowed capacity back (cross-node
 *                 victims chosen by pkg/quota), then needs a node: the victims' nodes first,
 *                 then any node, then node-level victims through the platform's engine with
 *                 the quota rules as eligibility; a pod blocked by nodes only may still evict
 *                 borrowers (any priority) through the engine;
 *   may_evict / victims_ok   every preemption (DefaultPreemption's too) obeys the quota rules;
 *   session_close statuses and metrics (status.c), at most once per second.
 *
 * A nominated pod holds its request in its quotas until it binds, is deleted or fails again
 * without a new nomination; victims stop counting when chosen. A pod whose nominated node
 * still has a victim terminating does not preempt again (no over-eviction).
 *
 * Threads: watch callbacks on the informer thread (objects.c, own mutex); everything else on
 * the scheduling thread. One instance per scheduler (cs_fw_shared), whatever the profiles; the
 * model's operations are idempotent per pod key, so a notification heard by several profiles
 * is counted once.
 */
#include "plugins/capacityscheduling/capacityscheduling.h"

#include <stdatomic.h>
#include "pkg/framework/snapshot.h"

#include <stdio.h>
#include <string.h>

#include "pkg/framework/framework.h"
#include "pkg/framework/preempt.h"
#include "pkg/util/alloc.h"
#include "pkg/util/arena.h"
#include "pkg/util/log.h"
#include "plugins/helper/pdb.h"
#include "plugins/registry.h"

#define NAME "CapacityScheduling"
#define EV_QUOTA "ElasticQuota"

static struct cs_capsched *capsched_new(const struct cs_plugin_init *in, char *err,
                                        size_t errlen)
{
    struct cs_capsched *cs = cs_calloc(1, sizeof(*cs));
    cs->fw = in->fw;
    cs->res = in->api ? in->api->resources : NULL;
    cs_capobj_init(&cs->objs, in->fw);
    cs_quota_model_init(&cs->model, cs->res);
    cs->written = json_object();
    cs->pdbs = cs_pdb_table_shared(in->fw, err, errlen);
    cs->own_pdbs = in->fw == NULL;
    if (cs->pdbs == NULL || cs_capobj_watch(&cs->objs, err, errlen) != 0) {
        cs->pdbs = NULL;
        return cs;                 /* the caller sees err set */
    }
    cs_capsched_metrics_init(cs);
    return cs;
}

static void capsched_free(void *p)
{
    struct cs_capsched *cs = p;
    if (cs == NULL) {
        return;
    }
    cs_quota_model_destroy(&cs->model);
    cs_capobj_destroy(&cs->objs);
    json_decref(cs->written);
    if (cs->own_pdbs) {
        cs_pdb_table_free(cs->pdbs);
    }
    cs_free(cs);
}

struct create_arg {
    const struct cs_plugin_init *in;
    char *err;
    size_t errlen;
    int rc;
};

static void *shared_create(void *arg)
{
    struct create_arg *a = arg;
    struct cs_capsched *cs = capsched_new(a->in, a->err, a->errlen);
    a->rc = cs->pdbs ? 0 : -1;
    return cs;
}

static int cap_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    if (in->fw) {
        struct create_arg a = { .in = in, .err = err, .errlen = errlen };
        struct cs_capsched *cs = cs_fw_shared(in->fw, "capacity-scheduling", shared_create,
                                              capsched_free, &a);
        if (a.rc != 0) {
            return -1;
        }
        *priv = cs;
        return 0;
    }
    struct cs_capsched *cs = capsched_new(in, err, errlen);   /* unit tests */
    *priv = cs;
    return 0;
}

static void cap_destroy(void *priv)
{
    struct cs_capsched *cs = priv;
    if (cs && cs->fw == NULL) {
        capsched_free(cs);         /* shared instances go with the handle */
    }
}

/* ---- the model follows the cluster -------------------------------------------------------- */

static void apply_objects(struct cs_capsched *cs)
{
    uint64_t gen = atomic_load(&cs->objs.gen);
    if (gen == cs->applied_gen) {
        return;
    }
    cs->applied_gen = gen;
    struct cs_quota_tree *t = NULL;
    enum cs_capobj_result r = cs_capobj_resolve(&cs->objs, cs->res, &t);
    if (r == CS_CAPOBJ_REFUSED) {
        return;                    /* the last valid tree stays */
    }
    if (cs_quota_tree_same(t, cs->model.tree)) {
        cs_quota_tree_free(t);
        return;
    }
    CS_INFO_S("Quota tree in force", CS_KV("source", t ? t->source : "none"),
              CS_KVI("quotas", t ? t->n : 0), CS_KVI("resources", t ? t->n_dims : 0));
    cs_quota_model_set_tree(&cs->model, t);
    cs_fw_raise(cs->fw, EV_QUOTA, NULL, NULL);   /* rejected pods may fit now */
}

static void cap_session_open(void *priv, const struct cs_snapshot *snap)
{
    struct cs_capsched *cs = priv;
    cs->snap = snap;
    apply_objects(cs);
}

static void cap_session_close(void *priv)
{
    struct cs_capsched *cs = priv;
    cs_capsched_status(cs, false);
    cs->snap = NULL;
    if (cs->evicted) {
        /* Victims stop counting as soon as they are chosen: the preemptors (waiting in the
         * queue by now) may bind without waiting for the victims' grace period. */
        cs->evicted = false;
        cs_fw_raise(cs->fw, EV_QUOTA, NULL, NULL);
    }
}

static void cap_on_pod(void *priv, const struct cs_pod *old, const struct cs_pod *new_pod)
{
    struct cs_capsched *cs = priv;
    if (new_pod) {
        cs_quota_pod_set(&cs->model, new_pod, CS_QUOTA_ASSIGNED, NULL);
    } else if (old) {
        const struct cs_quota_pod *e = cs_quota_pod_get(&cs->model, old->key);
        bool freed = e && e->leaf >= 0;
        cs_quota_pod_remove(&cs->model, old->key, 1u << CS_QUOTA_ASSIGNED);
        if (freed) {
            cs_fw_raise(cs->fw, EV_QUOTA, NULL, NULL);
        }
    }
}

static void cap_on_pending(void *priv, const char *key, const struct cs_pod *pod)
{
    struct cs_capsched *cs = priv;
    const struct cs_quota_pod *e = cs_quota_pod_get(&cs->model, key);
    if (pod == NULL) {
        cs_quota_pod_remove(&cs->model, key, (1u << CS_QUOTA_PENDING) |
                                                 (1u << CS_QUOTA_NOMINATED));
        return;
    }
    if (e && e->state == CS_QUOTA_ASSIGNED) {
        return;                    /* assumed by us already; the bind is on its way */
    }
    if (e && e->state == CS_QUOTA_NOMINATED) {
        char node[256];
        snprintf(node, sizeof(node), "%s", e->node ? e->node : "");
        cs_quota_pod_set(&cs->model, pod, CS_QUOTA_NOMINATED, node);
        return;
    }
    cs_quota_pod_set(&cs->model, pod, CS_QUOTA_PENDING, NULL);
}

static void cap_on_stmt(void *priv, enum cs_stmt_event ev, const struct cs_pod *pod,
                        const char *node, bool undo)
{
    struct cs_capsched *cs = priv;
    if (ev == CS_STMT_EV_EVICT) {
        cs_quota_pod_evicting(&cs->model, pod->key, !undo);
        cs->evicted = cs->evicted || !undo;
    } else if (undo) {
        cs_quota_pod_set(&cs->model, pod, CS_QUOTA_PENDING, NULL);
    } else {
        cs_quota_pod_set(&cs->model, pod, CS_QUOTA_NOMINATED, node);
    }
}

/* ---- scheduling --------------------------------------------------------------------------- */

static enum cs_code cap_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   struct cs_status *st)
{
    struct cs_capsched *cs = c->priv;
    if (cs->model.tree == NULL) {
        return CS_SUCCESS;
    }
    char why[512];
    int32_t leaf;
    if (cs_quota_admit(&cs->model, pod, &leaf, why, sizeof(why)) != 0) {
        /* Unresolvable for node-level preemption (no node's victims lower a quota); this
         * plugin's own PostFilter reclaims across nodes. */
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                             cs_arena_strdup(c->arena, why));
    }
    return CS_SUCCESS;
}

static enum cs_code cap_reserve(struct cs_fw_call *c, const struct cs_pod *pod,
                                const struct cs_node_info *ni, struct cs_status *st)
{
    (void)st;
    (void)ni;
    struct cs_capsched *cs = c->priv;
    cs_quota_pod_set(&cs->model, pod, CS_QUOTA_ASSIGNED, NULL);
    return CS_SUCCESS;
}

static void cap_unreserve(struct cs_fw_call *c, const struct cs_pod *pod, const char *node)
{
    (void)node;
    struct cs_capsched *cs = c->priv;
    const struct cs_quota_pod *e = cs_quota_pod_get(&cs->model, pod->key);
    if (e && e->state == CS_QUOTA_ASSIGNED) {
        cs_quota_pod_set(&cs->model, pod, CS_QUOTA_PENDING, NULL);
    }
}

static bool cap_may_evict(void *priv, const struct cs_pod *preemptor, const struct cs_pod *victim)
{
    struct cs_capsched *cs = priv;
    return cs->model.tree == NULL || cs_quota_may_preempt(&cs->model, preemptor, victim);
}

static bool cap_victims_ok(void *priv, const struct cs_pod *preemptor,
                           struct cs_pod *const *victims, uint32_t n)
{
    struct cs_capsched *cs = priv;
    return cs->model.tree == NULL || cs_quota_victims_ok(&cs->model, preemptor, victims, n);
}

/* ---- reclaim (PostFilter) ----------------------------------------------------------------- */

struct allowed_ctx {
    struct cs_fw_call *c;
    const struct cs_pod *pod;
};

static bool allowed(void *arg, const struct cs_pod *victim)
{
    struct allowed_ctx *a = arg;
    return cs_fw_may_evict(a->c, a->pod, victim);
}

static bool eligible(void *arg, const struct cs_pod *preemptor, const struct cs_pod *victim)
{
    struct cs_capsched *cs = arg;
    const struct cs_quota_pod *e = cs_quota_pod_get(&cs->model, victim->key);
    if (e && e->evicting) {
        return false;
    }
    return cs_quota_may_preempt(&cs->model, preemptor, victim);
}

/* The snapshot's object for a pod (by key) on its node, or NULL. */
static struct cs_pod *snapshot_pod(const struct cs_snapshot *snap, const struct cs_pod *p,
                                   struct cs_node_info **ni_out)
{
    struct cs_node_info *ni =
        p->node_name ? (struct cs_node_info *)cs_snapshot_node(snap, p->node_name) : NULL;
    for (uint32_t i = 0; ni && i < ni->n_pods; i++) {
        if (strcmp(ni->pods[i]->key, p->key) == 0) {
            *ni_out = ni;
            return ni->pods[i];
        }
    }
    return NULL;
}

/* Is a victim of this pod's earlier preemption still on its nominated node? */
static bool victims_terminating(struct cs_capsched *cs, const struct cs_pod *pod,
                                const struct cs_snapshot *snap)
{
    const struct cs_quota_pod *e = cs_quota_pod_get(&cs->model, pod->key);
    const char *node = e && e->state == CS_QUOTA_NOMINATED ? e->node : pod->nominated_node_name;
    const struct cs_node_info *ni = node ? cs_snapshot_node(snap, node) : NULL;
    for (uint32_t i = 0; ni && i < ni->n_pods; i++) {
        const struct cs_pod *v = ni->pods[i];
        const struct cs_quota_pod *ve = cs_quota_pod_get(&cs->model, v->key);
        if (v->deletion_ns || (ve && ve->evicting)) {
            return true;
        }
    }
    return false;
}

static void forget_nomination(struct cs_capsched *cs, const struct cs_pod *pod)
{
    const struct cs_quota_pod *e = cs_quota_pod_get(&cs->model, pod->key);
    if (e && e->state == CS_QUOTA_NOMINATED) {
        cs_quota_pod_set(&cs->model, pod, CS_QUOTA_PENDING, NULL);
    }
}

static enum cs_code fail(struct cs_fw_call *c, struct cs_status *st, const char *why)
{
    return cs_status_set(st, CS_UNSCHEDULABLE,
                         cs_arena_printf(c->arena, "quota reclaim: %s", why));
}

static enum cs_code reclaim(struct cs_capsched *cs, struct cs_fw_call *c, const struct cs_pod *pod,
                            struct cs_preempt_result *out, struct cs_status *st)
{
    struct cs_snapshot *snap = (struct cs_snapshot *)c->snap;
    char why[512];
    struct allowed_ctx ac = { .c = c, .pod = pod };
    struct cs_quota_reclaim_opts ro = {
        .violates_pdb = cs_pdb_violates, .pdb_arg = cs->pdbs,
        .allowed = allowed, .allowed_arg = &ac,
    };
    const struct cs_quota_pod **qv = NULL;
    uint32_t nq = 0;
    if (cs_quota_reclaim(&cs->model, pod, &ro, &qv, &nq, why, sizeof(why)) != 0) {
        return fail(c, st, why);
    }
    /* The victims as the snapshot holds them. */
    struct cs_pod **v = cs_arena_alloc(c->arena, sizeof(*v) * (nq + 1));
    struct cs_node_info **vn = cs_arena_alloc(c->arena, sizeof(*vn) * (nq + 1));
    uint32_t nv = 0;
    for (uint32_t i = 0; i < nq; i++) {
        struct cs_node_info *ni = NULL;
        struct cs_pod *sp = snapshot_pod(snap, qv[i]->pod, &ni);
        if (sp == NULL) {
            cs_free(qv);
            return fail(c, st, "a victim is not in the snapshot");
        }
        v[nv] = sp;
        vn[nv++] = ni;
    }
    cs_free(qv);
    if (!cs_fw_victims_ok(c, pod, v, nv)) {
        return fail(c, st, "the victims would break another plugin's rule (a gang's minimum)");
    }
    /* Take them off, virtually: the model and their snapshot nodes. */
    uint64_t *gens = cs_arena_alloc(c->arena, sizeof(*gens) * (nv + 1));
    for (uint32_t i = 0; i < nv; i++) {
        cs_quota_pod_evicting(&cs->model, v[i]->key, true);
        gens[i] = vn[i]->generation;
        cs_pod_ref(v[i]);
        cs_node_info_remove_pod(vn[i], v[i]);
    }
    struct cs_status pst = { 0 };
    enum cs_code code = cs_fw_run_pre_filter(c->fw, pod, &pst);
    struct cs_node_info *node = NULL;
    struct cs_preempt_result extra = { 0 };
    const char *ewhy = NULL;
    if (code == CS_SUCCESS) {
        for (uint32_t i = 0; i < nv && node == NULL; i++) {
            struct cs_status fst = { 0 };
            if (cs_fw_run_filters(c->fw, pod, vn[i], &fst) == CS_SUCCESS) {
                node = vn[i];
            }
        }
        uint32_t n = cs_snapshot_num_nodes(snap);
        for (uint32_t i = 0; i < n && node == NULL; i++) {
            struct cs_node_info *ni = cs_snapshot_node_at(snap, i);
            struct cs_status fst = { 0 };
            if (cs_fw_run_filters(c->fw, pod, ni, &fst) == CS_SUCCESS) {
                node = ni;
            }
        }
        if (node == NULL) {
            struct cs_preempt_opts po = {
                .violates_pdb = cs_pdb_violates, .pdb_arg = cs->pdbs,
                .eligible = eligible, .eligible_arg = cs,
            };
            if (cs_fw_preempt(c, pod, NULL, &po, &extra, &ewhy) == CS_SUCCESS) {
                node = cs_snapshot_get(snap, extra.node);
            }
        }
    }
    /* Put them back, exactly. */
    for (uint32_t i = nv; i-- > 0;) {
        cs_node_info_add_pod(vn[i], v[i]);
        cs_pod_unref(v[i]);
        vn[i]->generation = gens[i];
        cs_quota_pod_evicting(&cs->model, v[i]->key, false);
    }
    if (code != CS_SUCCESS) {
        return fail(c, st, pst.n_reasons ? pst.reasons[0] : "another PreFilter plugin refuses");
    }
    if (node == NULL) {
        return fail(c, st, ewhy ? ewhy : "no node fits the pod even with the quota's victims gone");
    }
    struct cs_pod **all = cs_arena_alloc(c->arena, sizeof(*all) * (nv + extra.n_victims + 1));
    memcpy(all, v, sizeof(*v) * nv);
    if (extra.n_victims) {
        memcpy(all + nv, extra.victims, sizeof(*all) * extra.n_victims);
    }
    out->node = node->name;
    out->victims = all;
    out->n_victims = nv + extra.n_victims;
    out->pdb_violations = extra.pdb_violations;
    cs->preemptions += out->n_victims;
    if (CS_V(2)) {
        CS_INFO_S("Quota reclaim", CS_KV("pod", pod->key), CS_KV("node", node->name),
                  CS_KVI("victims", out->n_victims), CS_KV("firstVictim", all[0]->key));
    }
    return CS_SUCCESS;
}

static enum cs_code cap_post_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                    const struct cs_node_status_map *statuses,
                                    struct cs_preempt_result *out, struct cs_status *st)
{
    struct cs_capsched *cs = c->priv;
    memset(out, 0, sizeof(*out));
    if (cs->model.tree == NULL || cs_quota_leaf_of(&cs->model, pod->ns) < 0) {
        return CS_UNSCHEDULABLE;   /* DefaultPreemption's business (no quota: no quota rules) */
    }
    if (pod->preemption_policy == CS_PREEMPT_NEVER) {
        forget_nomination(cs, pod);
        return fail(c, st, "not eligible due to preemptionPolicy=Never.");
    }
    if (victims_terminating(cs, pod, c->snap)) {
        return fail(c, st, "waiting for the pods preempted earlier to terminate");
    }
    char why[512];
    int32_t leaf;
    enum cs_code code;
    if (cs_quota_admit(&cs->model, pod, &leaf, why, sizeof(why)) != 0) {
        code = reclaim(cs, c, pod, out, st);
    } else if (cs_quota_within_min(&cs->model, pod)) {
        /* Nodes are full but the quota is not: borrowers' pods on a node may go. */
        struct cs_preempt_opts po = {
            .violates_pdb = cs_pdb_violates, .pdb_arg = cs->pdbs,
            .eligible = eligible, .eligible_arg = cs,
        };
        const char *ewhy = NULL;
        code = cs_fw_preempt(c, pod, statuses, &po, out, &ewhy);
        if (code != CS_SUCCESS) {
            fail(c, st, ewhy ? ewhy : "no victims");
        }
    } else {
        code = CS_UNSCHEDULABLE;   /* priority preemption inside its own quota: DefaultPreemption */
    }
    if (code != CS_SUCCESS) {
        forget_nomination(cs, pod);
    }
    return code == CS_SUCCESS ? CS_SUCCESS : CS_UNSCHEDULABLE;
}

const struct cs_plugin cs_plugin_capacityscheduling = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = NAME,
    .events = CS_EV_POD_DELETE | CS_EV_CUSTOM,
    .init = cap_init,
    .destroy = cap_destroy,
    .pre_filter = cap_pre_filter,
    .post_filter = cap_post_filter,
    .reserve = cap_reserve,
    .unreserve = cap_unreserve,
    .session_open = cap_session_open,
    .session_close = cap_session_close,
    .on_pod = cap_on_pod,
    .on_pending = cap_on_pending,
    .on_stmt = cap_on_stmt,
    .may_evict = cap_may_evict,
    .victims_ok = cap_victims_ok,
};
