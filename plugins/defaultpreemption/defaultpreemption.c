/*
 * DefaultPreemption (PostFilter): when no node fits, ask the platform's preemption engine
 * (pkg/framework/preempt.h) for a node and the lower-priority victims whose eviction makes the
 * pod fit; the session evicts them through a statement and nominates the node. Gangs use the
 * same PostFilter for every member (pkg/framework/session.c, gang preemption).
 *
 * PodDisruptionBudgets: the scheduler's budget table (plugins/helper/pdb.h) tells the engine
 * which victims' eviction would violate one, so candidates with fewer violations win, as in
 * kube-scheduler.
 *
 * Args (DefaultPreemptionArgs): minCandidateNodesPercentage (0-100, default 10),
 * minCandidateNodesAbsolute (>= 0, default 100).
 */
#include <stdio.h>
#include <string.h>

#include "pkg/framework/preempt.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "plugins/helper/pdb.h"
#include "plugins/registry.h"

struct dp {
    int32_t pct;
    int32_t abs;
    struct cs_pdb_table *pdbs;     /* shared (pdb.h); owned only when there is no handle */
    bool own_pdbs;
};

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
    struct cs_pdb_table *pdbs = cs_pdb_table_shared(in->fw, err, errlen);
    if (pdbs == NULL) {
        return -1;
    }
    struct dp *d = cs_calloc(1, sizeof(*d));
    d->pct = pct;
    d->abs = abs;
    d->pdbs = pdbs;
    d->own_pdbs = in->fw == NULL;
    *priv = d;
    return 0;
}

static void dp_destroy(void *priv)
{
    struct dp *d = priv;
    if (d == NULL) {
        return;
    }
    if (d->own_pdbs) {
        cs_pdb_table_free(d->pdbs);
    }
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
        .violates_pdb = cs_pdb_violates,
        .pdb_arg = d->pdbs,
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
