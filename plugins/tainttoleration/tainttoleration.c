/*
 * TaintToleration.
 *  Filter: the first NoSchedule/NoExecute taint none of the pod's tolerations tolerates (nor an
 *  implicit toleration a PreFilter gave the attempt, cs_fw_tolerate) makes the
 *  node UnschedulableAndUnresolvable with kube-scheduler v1.37's "node(s) had untolerated
 *  taint(s)" (no key or value: checked against the real kube-scheduler, test/integration/k8s_diff).
 *  Score: the number of PreferNoSchedule taints the pod does not tolerate. Upstream first keeps
 *  the tolerations whose effect is PreferNoSchedule or empty; the effect test inside the
 *  toleration match already excludes the others, so no PreScore state is needed. Normalize
 *  reverses the counts onto 0..100, so fewer intolerable taints score higher.
 */
#include "plugins/helper/helper.h"
#include "plugins/registry.h"

#define UNTOLERATED "node(s) had untolerated taint(s)"

static enum cs_code taint_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                 const struct cs_node_info *ni, struct cs_status *st)
{
    const struct cs_node *node = ni->node;
    if (node == NULL) {
        return cs_status_set(st, CS_ERROR, "invalid nodeInfo");
    }
    for (uint32_t i = 0; i < node->n_taints; i++) {
        const struct cs_taint *t = &node->taints[i];
        if (t->effect != CS_EFFECT_NO_SCHEDULE && t->effect != CS_EFFECT_NO_EXECUTE) {
            continue;
        }
        if (cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, t) ||
            cs_fw_tolerated(c, t)) {
            continue;
        }
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, UNTOLERATED);
    }
    return CS_SUCCESS;
}

/* Queueing hint (isSchedulableAfterNodeChange): a node update helps only when the pod now
 * tolerates every NoSchedule/NoExecute taint of the node and did not before. */
static bool tolerates_all(const struct cs_pod *pod, const struct cs_node *node)
{
    for (uint32_t i = 0; i < node->n_taints; i++) {
        const struct cs_taint *t = &node->taints[i];
        if ((t->effect == CS_EFFECT_NO_SCHEDULE || t->effect == CS_EFFECT_NO_EXECUTE) &&
            !cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, t)) {
            return false;
        }
    }
    return true;
}

static enum cs_qhint taint_hint(void *priv, const struct cs_event_info *ev,
                                const struct cs_pod *pod)
{
    (void)priv;
    if (ev->event == CS_EV_NODE_ADD && ev->new_node) {
        return tolerates_all(pod, ev->new_node) ? CS_QHINT_QUEUE : CS_QHINT_SKIP;
    }
    if (ev->event != CS_EV_NODE_UPDATE || ev->old_node == NULL || ev->new_node == NULL) {
        return CS_QHINT_QUEUE;
    }
    return tolerates_all(pod, ev->new_node) && !tolerates_all(pod, ev->old_node)
               ? CS_QHINT_QUEUE
               : CS_QHINT_SKIP;
}

static int64_t taint_score(struct cs_fw_call *c, const struct cs_pod *pod,
                           const struct cs_node_info *ni)
{
    (void)c;
    const struct cs_node *node = ni->node;
    if (node == NULL) {
        return 0;
    }
    int64_t count = 0;
    for (uint32_t i = 0; i < node->n_taints; i++) {
        const struct cs_taint *t = &node->taints[i];
        if (t->effect != CS_EFFECT_PREFER_NO_SCHEDULE) {
            continue;
        }
        if (!cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, t)) {
            count++;
        }
    }
    return count;
}

static void taint_normalize(struct cs_fw_call *c, const struct cs_pod *pod,
                            struct cs_node_score *scores, uint32_t n)
{
    (void)c;
    (void)pod;
    cs_default_normalize_score(CS_MAX_NODE_SCORE, true, scores, n);
}

const struct cs_plugin cs_plugin_tainttoleration = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "TaintToleration",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_UPDATE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .filter = taint_filter,
    .queueing_hint = taint_hint,
    .score = taint_score,
    .normalize_score = taint_normalize,
};
