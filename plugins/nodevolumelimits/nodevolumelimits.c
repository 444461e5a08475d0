/*
 * NodeVolumeLimits (kube-scheduler's CSI volume limits): a node takes no more CSI volumes of a
 * driver than its CSINode allows (spec.drivers[].allocatable.count).
 *
 * PreFilter (Skip for pods without claims) resolves the pod's claims to CSI volumes, each
 * named "<driver>/<handle>": a bound claim's PV gives spec.csi.driver and volumeHandle; an
 * unbound claim (or one whose PV is not known yet) counts against its class's provisioner as
 * "<namespace>-<claim>"; a PV that is not CSI is not counted. A missing claim rejects the pod
 * (UnschedulableAndUnresolvable, `persistentvolumeclaim "NAME" not found`). Filter: a node
 * without a CSINode, or whose drivers report no count, fits; otherwise the volumes already used
 * by the node's pods (each counted once) plus the pod's new ones must stay within each driver's
 * count, else Unschedulable "node(s) exceed max volume count" (freed by deleting pods).
 *
 * Not covered: in-tree volume plugins translated to CSI (upstream's migration path), and
 * ephemeral inline CSI volumes.
 */
#include <string.h>

#include "plugins/helper/volumes.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"

#define R_MAX_VOLUMES "node(s) exceed max volume count"

struct vol {
    const char *driver;
    const char *unique;                /* driver "/" handle */
};

struct nvl_state {
    struct vol *v;
    uint32_t n;
};

/* The CSI volumes of one claim (0 or 1) appended to out; false when the claim is missing. */
static bool claim_volume(struct cs_vol_table *t, const char *ns, const char *name,
                         struct cs_arena *a, struct vol *out, uint32_t *n)
{
    struct cs_vol_claim cl;
    if (!cs_vol_claim_get(t, ns, name, a, &cl)) {
        return false;
    }
    struct cs_vol_pv pv;
    if (cl.volume_name != NULL && cs_vol_pv_get(t, cl.volume_name, a, &pv)) {
        if (pv.csi_driver != NULL && pv.csi_handle != NULL) {
            out[*n].driver = pv.csi_driver;
            out[*n].unique = cs_arena_printf(a, "%s/%s", pv.csi_driver, pv.csi_handle);
            (*n)++;
        }
        return true;
    }
    struct cs_vol_class cls;
    if (cl.class_name[0] != '\0' && cs_vol_class_get(t, cl.class_name, a, &cls) &&
        cls.provisioner != NULL) {
        out[*n].driver = cls.provisioner;
        out[*n].unique = cs_arena_printf(a, "%s/%s-%s", cls.provisioner, ns, name);
        (*n)++;
    }
    return true;
}

static enum cs_code nvl_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
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
    struct nvl_state *s = cs_arena_zalloc(a, sizeof(*s));
    s->v = cs_arena_zalloc(a, n * sizeof(*s->v));
    for (uint32_t i = 0; i < n; i++) {
        if (!claim_volume(p->t, pod->ns, names[i], a, s->v, &s->n)) {
            return cs_status_set(
                st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                cs_arena_printf(a, "persistentvolumeclaim \"%s\" not found", names[i]));
        }
    }
    if (s->n == 0) {
        return CS_SKIP;
    }
    *c->state = s;
    return CS_SUCCESS;
}

static bool listed(const struct vol *v, uint32_t n, const char *unique)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(v[i].unique, unique) == 0) {
            return true;
        }
    }
    return false;
}

static enum cs_code nvl_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    struct cs_vol_plugin *p = c->priv;
    const struct nvl_state *s = *c->state;
    struct cs_arena *a = c->arena;
    if (s == NULL) {
        return CS_SUCCESS;
    }
    const char **drivers;
    int64_t *limits;
    int32_t nd = cs_vol_node_limits(p->t, ni->name, a, &drivers, &limits);
    if (nd <= 0) {
        return CS_SUCCESS;
    }
    /* The volumes the node's pods use, each once. */
    uint32_t cap = 0, n_att = 0;
    struct vol *att = NULL;
    for (uint32_t i = 0; i < ni->n_pods; i++) {
        const char **names;
        uint32_t n;
        if (cs_vol_pod_claims(p->t, ni->pods[i], a, &names, &n) != 0 || n == 0) {
            continue;
        }
        struct vol *tmp = cs_arena_zalloc(a, n * sizeof(*tmp));
        uint32_t nt = 0;
        for (uint32_t k = 0; k < n; k++) {
            claim_volume(p->t, ni->pods[i]->ns, names[k], a, tmp, &nt);
        }
        for (uint32_t k = 0; k < nt; k++) {
            if (listed(att, n_att, tmp[k].unique)) {
                continue;
            }
            if (n_att == cap) {
                cap = cap ? 2 * cap : 16;
                struct vol *grown = cs_arena_zalloc(a, cap * sizeof(*grown));
                if (n_att) {
                    memcpy(grown, att, n_att * sizeof(*att));
                }
                att = grown;
            }
            att[n_att++] = tmp[k];
        }
    }
    for (int32_t d = 0; d < nd; d++) {
        int64_t used = 0, added = 0;
        for (uint32_t i = 0; i < n_att; i++) {
            used += strcmp(att[i].driver, drivers[d]) == 0;
        }
        for (uint32_t i = 0; i < s->n; i++) {
            if (strcmp(s->v[i].driver, drivers[d]) == 0 && !listed(att, n_att, s->v[i].unique) &&
                !listed(s->v, i, s->v[i].unique)) {
                added++;
            }
        }
        if (added > 0 && used + added > limits[d]) {
            return cs_status_set(st, CS_UNSCHEDULABLE, R_MAX_VOLUMES);
        }
    }
    return CS_SUCCESS;
}

const struct cs_plugin cs_plugin_nodevolumelimits = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodeVolumeLimits",
    .events = CS_EV_POD_DELETE | CS_EV_NODE_ADD | CS_EV_CUSTOM,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = cs_vol_plugin_init,
    .destroy = cs_vol_plugin_destroy,
    .pre_filter = nvl_pre_filter,
    .filter = nvl_filter,
};
