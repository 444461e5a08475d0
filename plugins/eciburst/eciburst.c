/*
 * EciBurst: elastic bursting to virtual nodes (ack-co-scheduler's ECI elastic scheduling).
 *
 * Virtual nodes are nodes labelled `type: virtual-kubelet`; they carry the taint
 * `virtual-kubelet.io/provider=alibabacloud:NoSchedule`, which pods that may burst tolerate
 * implicitly (cs_fw_tolerate from PreFilter, honoured by TaintToleration).
 *
 * Pod annotation `alibabacloud.com/burst-resource`:
 *   unset or `ecs`  regular nodes only: a virtual node only for a pod that tolerates its taint
 *                   itself and selects it (nodeSelector type=virtual-kubelet, or required node
 *                   affinity, which NodeAffinity then enforces);
 *   `eci`           regular nodes first: virtual nodes are fallback nodes (api/plugin.h), chosen
 *                   only when no regular node passes every filter;
 *   `eci_only`      virtual nodes only ("doesn't fit eci type: eci_only" elsewhere);
 *   anything else   refused: "request type must be eci, eci_only or ecs".
 * Label `alibabacloud.com/eci: "true"` on the pod or its namespace: virtual nodes only,
 * whatever the annotation says.
 * Node-local: decided by the pod, its namespace's labels (a change invalidates cached
 * results, plugins/helper/namespaces.h) and the node's labels.
 */
#include <string.h>

#include "plugins/helper/helper.h"
#include "plugins/helper/namespaces.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"

#define ANN_BURST "alibabacloud.com/burst-resource"
#define LABEL_ECI "alibabacloud.com/eci"
#define VK_LABEL "type"
#define VK_VALUE "virtual-kubelet"
#define VK_TAINT "virtual-kubelet.io/provider"
#define VK_TAINT_VALUE "alibabacloud"

#define BAD_TYPE "request type must be eci, eci_only or ecs"
#define ONLY_ECI "doesn't fit eci type: eci_only"
#define NOT_BURST "node(s) were virtual nodes and the pod may not burst"

enum mode { MODE_ECS = 0, MODE_ECI, MODE_ECI_ONLY };

struct eci {
    struct cs_ns_table *ns;
    bool own_ns;
};

struct eci_pod {
    enum mode mode;
    bool explicit_vk;              /* ECS pod that tolerates and selects virtual nodes itself */
};

static const struct cs_taint vk_taint = {
    .key = VK_TAINT,
    .value = VK_TAINT_VALUE,
    .effect = CS_EFFECT_NO_SCHEDULE,
};

static bool is_virtual(const struct cs_node_info *ni)
{
    const char *v = ni->node ? cs_node_label(ni->node, VK_LABEL) : NULL;
    return v && strcmp(v, VK_VALUE) == 0;
}

static int eci_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct eci *p = cs_calloc(1, sizeof(*p));
    p->ns = cs_ns_table_shared(in->fw, err, errlen);
    if (p->ns == NULL) {
        cs_free(p);
        return -1;
    }
    p->own_ns = in->fw == NULL;
    *priv = p;
    return 0;
}

static void eci_destroy(void *priv)
{
    struct eci *p = priv;
    if (p->own_ns) {
        cs_ns_table_free(p->ns);
    }
    cs_free(p);
}

static enum cs_code eci_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   struct cs_status *st)
{
    struct eci *p = c->priv;
    struct eci_pod *ps = cs_arena_alloc(c->arena, sizeof(*ps));
    memset(ps, 0, sizeof(*ps));
    const char *forced = cs_pod_label(pod, LABEL_ECI);
    const char *burst = cs_pod_annotation(pod, ANN_BURST);
    if ((forced && strcmp(forced, "true") == 0) || cs_ns_label_is(p->ns, pod->ns, LABEL_ECI, "true")) {
        ps->mode = MODE_ECI_ONLY;
    } else if (burst == NULL || strcmp(burst, "ecs") == 0) {
        ps->mode = MODE_ECS;
    } else if (strcmp(burst, "eci") == 0) {
        ps->mode = MODE_ECI;
    } else if (strcmp(burst, "eci_only") == 0) {
        ps->mode = MODE_ECI_ONLY;
    } else {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, BAD_TYPE);
    }
    if (ps->mode == MODE_ECS) {
        const char *sel = cs_label_get(pod->node_selector, pod->n_node_selector, VK_LABEL);
        ps->explicit_vk = cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, &vk_taint) &&
                          ((sel && strcmp(sel, VK_VALUE) == 0) ||
                           (pod->node_affinity && pod->node_affinity->has_required));
    } else {
        cs_fw_tolerate(c, &vk_taint);
    }
    *c->state = ps;
    return CS_SUCCESS;
}

static enum cs_code eci_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    const struct eci_pod *ps = *c->state;
    bool vk = is_virtual(ni);
    switch (ps->mode) {
    case MODE_ECS:
        if (vk && !ps->explicit_vk) {
            return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, NOT_BURST);
        }
        return CS_SUCCESS;
    case MODE_ECI_ONLY:
        return vk ? CS_SUCCESS : cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ONLY_ECI);
    case MODE_ECI:
    default:
        return CS_SUCCESS;
    }
}

static bool eci_fallback(struct cs_fw_call *c, const struct cs_pod *pod,
                         const struct cs_node_info *ni)
{
    (void)pod;
    const struct eci_pod *ps = *c->state;
    return ps && ps->mode == MODE_ECI && is_virtual(ni);
}

static enum cs_qhint eci_hint(void *priv, const struct cs_event_info *ev,
                              const struct cs_pod *pod)
{
    (void)priv;
    (void)pod;
    if (ev->event == CS_EV_CUSTOM) {
        return ev->custom && strcmp(ev->custom, CS_NS_EVENT) == 0 ? CS_QHINT_QUEUE : CS_QHINT_SKIP;
    }
    return CS_QHINT_QUEUE;
}

static const char *const eci_meta_keys[] = { ANN_BURST, LABEL_ECI, NULL };

const struct cs_plugin cs_plugin_eciburst = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "EciBurst",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_UPDATE | CS_EV_CUSTOM,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .meta_keys = eci_meta_keys,
    .init = eci_init,
    .destroy = eci_destroy,
    .queueing_hint = eci_hint,
    .pre_filter = eci_pre_filter,
    .filter = eci_filter,
    .fallback = eci_fallback,
};
