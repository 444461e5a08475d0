/*
 * VolumeRestrictions, for PersistentVolumeClaims: a claim with the ReadWriteOncePod access mode
 * may be used by one pod only. PreFilter (Skip for pods without claims) reads each claim (a
 * missing one rejects the pod, UnschedulableAndUnresolvable, `persistentvolumeclaim "NAME" not
 * found`) and counts the ReadWriteOncePod claims another assigned pod already uses (or another
 * pod of the session reserved); when there is any, Filter rejects every node with
 * UnschedulableAndUnresolvable "node has pod using PersistentVolumeClaim with the same name and
 * ReadWriteOncePod access mode", as upstream does. Reserve holds the pod's ReadWriteOncePod
 * claims until the pod is seen assigned; Unreserve releases them.
 *
 * Not covered: the inline-volume conflicts upstream also checks (GCE PD, AWS EBS, RBD, iSCSI
 * volumes in the pod spec), which cosched's pod model does not carry; and preemption's
 * AddPod/RemovePod (evicting the holder of the claim is not simulated).
 */
#include <string.h>

#include "plugins/helper/volumes.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"

#define R_RWOP_CONFLICT                                                                       \
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access " \
    "mode"

struct vr_state {
    uint32_t conflicts;                /* RWOP claims in use by other pods */
    const char **rwop;                 /* the pod's RWOP claim names */
    uint32_t n_rwop;
};

static enum cs_code vr_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_status *st)
{
    struct cs_vol_plugin *p = c->priv;
    struct cs_arena *a = c->arena;
    const char **names;
    uint32_t n;
    cs_vol_pod_claims(p->t, pod, a, &names, &n);
    if (n == 0) {
        return CS_SKIP;
    }
    struct vr_state *s = cs_arena_zalloc(a, sizeof(*s));
    s->rwop = cs_arena_zalloc(a, n * sizeof(char *));
    for (uint32_t i = 0; i < n; i++) {
        struct cs_vol_claim cl;
        if (!cs_vol_claim_get(p->t, pod->ns, names[i], a, &cl)) {
            return cs_status_set(
                st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                cs_arena_printf(a, "persistentvolumeclaim \"%s\" not found", names[i]));
        }
        if ((cl.modes & CS_VOL_RWOP) == 0) {
            continue;
        }
        s->rwop[s->n_rwop++] = names[i];
        if (cs_vol_claim_users(p->t, pod->ns, names[i], pod->uid) > 0) {
            s->conflicts++;
        }
    }
    *c->state = s;
    return CS_SUCCESS;
}

static enum cs_code vr_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                              const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    (void)ni;
    const struct vr_state *s = *c->state;
    if (s == NULL || s->conflicts == 0) {
        return CS_SUCCESS;
    }
    return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, R_RWOP_CONFLICT);
}

static enum cs_code vr_reserve(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    (void)ni;
    (void)st;
    struct cs_vol_plugin *p = c->priv;
    const struct vr_state *s = *c->state;
    for (uint32_t i = 0; s && i < s->n_rwop; i++) {
        cs_vol_reserve_claim(p->t, pod->ns, s->rwop[i], pod->uid);
    }
    return CS_SUCCESS;
}

static void vr_unreserve(struct cs_fw_call *c, const struct cs_pod *pod, const char *node)
{
    (void)node;
    struct cs_vol_plugin *p = c->priv;
    const struct vr_state *s = *c->state;
    for (uint32_t i = 0; s && i < s->n_rwop; i++) {
        cs_vol_reserve_claim(p->t, pod->ns, s->rwop[i], NULL);
    }
}

/* The answer depends on other pods (who holds a claim): node-local only for pods without
 * claims, which is nearly every pod. */
static bool vr_node_local(void *priv, const struct cs_pod *pod)
{
    const struct cs_vol_plugin *p = priv;
    return cs_vol_pod_claim_count(p->t, pod) == 0;
}

/* Who uses which claim, cluster-wide (ReadWriteOncePod): fed from the assigned pods the cache
 * replays at session open. */
static void vr_on_pod(void *priv, const struct cs_pod *old, const struct cs_pod *new_pod)
{
    struct cs_vol_plugin *p = priv;
    cs_vol_table_pod(p->t, old, new_pod);
}

const struct cs_plugin cs_plugin_volumerestrictions = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "VolumeRestrictions",
    .on_pod = vr_on_pod,
    .events = CS_EV_POD_DELETE | CS_EV_POD_UPDATE | CS_EV_CUSTOM,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = cs_vol_plugin_init,
    .destroy = cs_vol_plugin_destroy,
    .pre_filter = vr_pre_filter,
    .filter = vr_filter,
    .reserve = vr_reserve,
    .unreserve = vr_unreserve,
    .node_local = vr_node_local,
};
