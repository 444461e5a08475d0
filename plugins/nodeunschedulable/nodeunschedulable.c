/*
 * NodeUnschedulable (Filter): a cordoned node (spec.unschedulable) only takes pods that tolerate
 * the taint node.kubernetes.io/unschedulable:NoSchedule; others get UnschedulableAndUnresolvable
 * "node(s) were unschedulable". The taint is a const value compared by content, so it works
 * whatever intern table the pod's toleration keys come from.
 */
#include "plugins/helper/helper.h"
#include "plugins/registry.h"

static const struct cs_taint unschedulable_taint = {
    .key = "node.kubernetes.io/unschedulable",
    .value = NULL,
    .effect = CS_EFFECT_NO_SCHEDULE,
};

static enum cs_code unsched_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   const struct cs_node_info *ni, struct cs_status *st)
{
    (void)c;
    if (ni->node == NULL) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                             "node(s) had unknown conditions");
    }
    if (!ni->node->unschedulable) {
        return CS_SUCCESS;
    }
    if (cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, &unschedulable_taint)) {
        return CS_SUCCESS;
    }
    return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) were unschedulable");
}

/* Queueing hint (kube-scheduler's isSchedulableAfterNodeChange): a new node, or a node that
 * stopped being unschedulable, or one the pod tolerates; pod updates may add the toleration. */
static enum cs_qhint unsched_hint(void *priv, const struct cs_event_info *ev,
                                  const struct cs_pod *pod)
{
    (void)priv;
    if (ev->event != CS_EV_NODE_UPDATE || ev->old_node == NULL || ev->new_node == NULL) {
        return CS_QHINT_QUEUE;
    }
    if (!ev->new_node->unschedulable ||
        cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, &unschedulable_taint)) {
        return ev->old_node->unschedulable ? CS_QHINT_QUEUE : CS_QHINT_SKIP;
    }
    return CS_QHINT_SKIP;
}

const struct cs_plugin cs_plugin_nodeunschedulable = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodeUnschedulable",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_UPDATE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .filter = unsched_filter,
    .queueing_hint = unsched_hint,
};
