/*
 * VolumeZone: a pod's bound PersistentVolumes labelled with a zone or region
 * (topology.kubernetes.io/{zone,region} or their failure-domain.beta.kubernetes.io forms; a
 * value may list several zones joined by "__") fit only nodes in that zone or region.
 *
 * PreFilter (Skip for pods without claims, or whose PVs carry no such label) reads each claim
 * as upstream does: a missing claim, class or PV rejects the pod (UnschedulableAndUnresolvable,
 * the lister's "... not found"); an unbound claim of a WaitForFirstConsumer class is left to
 * VolumeBinding; another unbound claim is rejected with upstream's message. Filter: a node with
 * none of the four labels passes; otherwise each PV label must have the node's value (a beta
 * key falls back to the node's GA label), else UnschedulableAndUnresolvable "node(s) had no
 * available volume zone".
 */
#include <string.h>

#include "plugins/helper/volumes.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"

#define R_ZONE_CONFLICT "node(s) had no available volume zone"

struct topo {
    const char *key;
    const char *values;                /* "z1__z2" form */
};

struct vz_state {
    struct topo *t;
    uint32_t n;
};

static enum cs_code unresolvable(struct cs_status *st, const char *msg)
{
    return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, msg);
}

static enum cs_code vz_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
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
    struct vz_state *s = cs_arena_zalloc(a, sizeof(*s));
    s->t = cs_arena_zalloc(a, 4 * n * sizeof(*s->t));
    for (uint32_t i = 0; i < n; i++) {
        struct cs_vol_claim cl;
        if (!cs_vol_claim_get(p->t, pod->ns, names[i], a, &cl)) {
            return unresolvable(
                st, cs_arena_printf(a, "persistentvolumeclaim \"%s\" not found", names[i]));
        }
        if (cl.volume_name == NULL) {
            if (cl.class_name[0] == '\0') {
                return unresolvable(st,
                                    "PersistentVolumeClaim had no pv name and storageClass name");
            }
            struct cs_vol_class cls;
            if (!cs_vol_class_get(p->t, cl.class_name, a, &cls)) {
                return unresolvable(
                    st, cs_arena_printf(a, "storageclass.storage.k8s.io \"%s\" not found",
                                        cl.class_name));
            }
            if (!cls.mode_set) {
                return unresolvable(
                    st, cs_arena_printf(a, "VolumeBindingMode not set for StorageClass \"%s\"",
                                        cl.class_name));
            }
            if (cls.wait_for_consumer) {
                continue;
            }
            return unresolvable(st, "PersistentVolume had no name");
        }
        struct cs_vol_pv pv;
        if (!cs_vol_pv_get(p->t, cl.volume_name, a, &pv)) {
            return unresolvable(
                st, cs_arena_printf(a, "persistentvolume \"%s\" not found", cl.volume_name));
        }
        for (int k = 0; k < 4; k++) {
            if (pv.topo[k] != NULL) {
                s->t[s->n].key = CS_VOL_TOPO_KEYS[k];
                s->t[s->n].values = pv.topo[k];
                s->n++;
            }
        }
    }
    if (s->n == 0) {
        return CS_SKIP;
    }
    *c->state = s;
    return CS_SUCCESS;
}

/* Is v one of the "__"-separated values (volumehelpers.LabelZonesToSet)? */
static bool in_set(const char *values, const char *v)
{
    size_t len = strlen(v);
    for (const char *q = values;;) {
        const char *end = strstr(q, "__");
        size_t n = end ? (size_t)(end - q) : strlen(q);
        if (n == len && strncmp(q, v, n) == 0) {
            return true;
        }
        if (end == NULL) {
            return false;
        }
        q = end + 2;
    }
}

/* The GA form of a beta topology key (itself otherwise). */
static const char *ga_key(const char *key)
{
    if (key == CS_VOL_TOPO_KEYS[2]) {
        return CS_VOL_TOPO_KEYS[0];
    }
    if (key == CS_VOL_TOPO_KEYS[3]) {
        return CS_VOL_TOPO_KEYS[1];
    }
    return key;
}

static enum cs_code vz_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                              const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    const struct vz_state *s = *c->state;
    if (s == NULL || ni->node == NULL) {
        return CS_SUCCESS;
    }
    bool constrained = false;
    for (int k = 0; k < 4 && !constrained; k++) {
        constrained = cs_node_label(ni->node, CS_VOL_TOPO_KEYS[k]) != NULL;
    }
    if (!constrained) {
        return CS_SUCCESS;
    }
    for (uint32_t i = 0; i < s->n; i++) {
        const char *v = cs_node_label(ni->node, s->t[i].key);
        if (v == NULL) {
            v = cs_node_label(ni->node, ga_key(s->t[i].key));
        }
        if (v == NULL || !in_set(s->t[i].values, v)) {
            return unresolvable(st, R_ZONE_CONFLICT);
        }
    }
    return CS_SUCCESS;
}

const struct cs_plugin cs_plugin_volumezone = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "VolumeZone",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_CUSTOM,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = cs_vol_plugin_init,
    .destroy = cs_vol_plugin_destroy,
    .pre_filter = vz_pre_filter,
    .filter = vz_filter,
};
