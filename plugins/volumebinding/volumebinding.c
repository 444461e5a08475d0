/*
 * VolumeBinding: a pod's PersistentVolumeClaims against each node, as kube-scheduler's plugin
 * and its volume binder decide (no Score: upstream scores only with storage capacity scoring).
 *
 * PreFilter (Skip for pods without claims) reads every claim from the volume table: a missing
 * claim, or one being deleted, rejects the pod (UnschedulableAndUnresolvable, the lister's
 * `persistentvolumeclaim "NAME" not found` / `... is being deleted`); an unbound claim whose
 * class binds Immediately (or that has no class) rejects it with "pod has unbound immediate
 * PersistentVolumeClaims". A claim is bound when it has spec.volumeName and the
 * pv.kubernetes.io/bind-completed annotation (upstream's isPVCFullyBound). Bound claims whose PV pins hostnames restrict the nodes tried
 * (upstream's eligible nodes). Filter, per node: a bound claim's PV must exist and its required
 * node affinity admit the node; an unbound WaitForFirstConsumer claim needs an available PV
 * (no claimRef or pre-bound to it, its class, capacity >= request, the claim's selector and
 * access modes, node affinity admitting the node; the smallest wins) or a class that provisions (a provisioner
 * other than kubernetes.io/no-provisioner, allowedTopologies admitting the node); a claim that
 * already has a selected node fits only there. Every rejection is UnschedulableAndUnresolvable
 * with upstream's reasons.
 *
 * Reserve repeats the matching for the chosen node and records it in the table's assume cache
 * (other pods of the session do not take the same PV); Unreserve drops it. PreBind writes the
 * decisions on the bind connection: a matched PV gets the claimRef upstream's binder sets (a
 * merge patch carrying the PV's resourceVersion, with pv.kubernetes.io/bound-by-controller), a
 * claim to provision gets volume.kubernetes.io/selected-node. Upstream's PreBind then waits (up
 * to bindTimeoutSeconds) until the PV controller has bound every claim; cosched does not block
 * the scheduling thread: the pod is bound at once and the claim is left to the PV controller
 * and the provisioner, which the kubelet waits for before it starts the pod.
 */
#include <string.h>

#include "plugins/helper/volumes.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"

#define R_NODE_CONFLICT "node(s) had volume node affinity conflict"
#define R_BIND_CONFLICT "node(s) didn't find available persistent volumes to bind"
#define R_PV_NOT_EXIST "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
#define R_IMMEDIATE "pod has unbound immediate PersistentVolumeClaims"
#define HOSTNAME_LABEL "kubernetes.io/hostname"

struct bound {
    struct cs_vol_claim c;
    bool found;
    struct cs_vol_pv pv;
};

struct delayed {
    struct cs_vol_claim c;
    struct cs_vol_class cls;
    struct cs_vol_pv *pvs;             /* the PVs of its class */
    uint32_t n_pvs;
    int32_t chosen;                    /* Reserve: index into pvs, -1 = provision */
};

struct vb_state {
    struct bound *bound;
    uint32_t n_bound;
    struct delayed *delayed;
    uint32_t n_delayed;
    const char *node;                  /* Reserve's node; NULL before */
};

/* Upstream's GetLocalPersistentVolumeNodeNames: per term, the intersection of its hostname In
 * values; the union over terms. */
static uint32_t local_pv_nodes(const struct cs_vol_pv *pv, struct cs_arena *a,
                               const char ***out)
{
    uint32_t cap = 0;
    for (uint32_t i = 0; i < pv->affinity.n_terms; i++) {
        for (uint32_t k = 0; k < pv->affinity.terms[i].n_exprs; k++) {
            cap += pv->affinity.terms[i].exprs[k].n_values;
        }
    }
    const char **names = cs_arena_zalloc(a, (cap + 1) * sizeof(char *));
    uint32_t n = 0;
    for (uint32_t i = 0; i < pv->affinity.n_terms; i++) {
        const struct cs_vol_term *tm = &pv->affinity.terms[i];
        const struct cs_vol_req *first = NULL;
        for (uint32_t k = 0; k < tm->n_exprs; k++) {
            const struct cs_vol_req *r = &tm->exprs[k];
            if (r->key == NULL || strcmp(r->key, HOSTNAME_LABEL) != 0 || r->op != CS_VOL_IN) {
                continue;
            }
            if (first == NULL) {
                first = r;
            }
        }
        if (first == NULL) {
            continue;
        }
        for (uint32_t v = 0; v < first->n_values; v++) {
            const char *name = first->values[v];
            bool keep = name != NULL;
            for (uint32_t k = 0; keep && k < tm->n_exprs; k++) {
                const struct cs_vol_req *r = &tm->exprs[k];
                if (r == first || r->key == NULL || strcmp(r->key, HOSTNAME_LABEL) != 0 ||
                    r->op != CS_VOL_IN) {
                    continue;
                }
                bool in = false;
                for (uint32_t j = 0; j < r->n_values; j++) {
                    in = in || (r->values[j] && strcmp(r->values[j], name) == 0);
                }
                keep = in;
            }
            for (uint32_t j = 0; keep && j < n; j++) {
                keep = strcmp(names[j], name) != 0;
            }
            if (keep) {
                names[n++] = name;
            }
        }
    }
    *out = names;
    return n;
}

/* Intersect the eligible set (NULL = every node) with names. */
static void intersect(const char ***set, uint32_t *n_set, const char **names, uint32_t n)
{
    if (*set == NULL) {
        *set = names;
        *n_set = n;
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n_set; i++) {
        for (uint32_t j = 0; j < n; j++) {
            if (strcmp((*set)[i], names[j]) == 0) {
                (*set)[k++] = (*set)[i];
                break;
            }
        }
    }
    *n_set = k;
}

static enum cs_code vb_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
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
    struct vb_state *s = cs_arena_zalloc(a, sizeof(*s));
    s->bound = cs_arena_zalloc(a, n * sizeof(*s->bound));
    s->delayed = cs_arena_zalloc(a, n * sizeof(*s->delayed));
    *c->state = s;
    uint32_t immediate = 0;
    struct cs_vol_claim *claims = cs_arena_zalloc(a, n * sizeof(*claims));
    /* podHasPVCs: every claim must exist and not be going away. */
    for (uint32_t i = 0; i < n; i++) {
        if (!cs_vol_claim_get(p->t, pod->ns, names[i], a, &claims[i])) {
            return cs_status_set(
                st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                cs_arena_printf(a, "persistentvolumeclaim \"%s\" not found", names[i]));
        }
        if (claims[i].deleting) {
            return cs_status_set(
                st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                cs_arena_printf(a, "persistentvolumeclaim \"%s\" is being deleted", names[i]));
        }
    }
    /* GetPodVolumeClaims. */
    for (uint32_t i = 0; i < n; i++) {
        const struct cs_vol_claim *cl = &claims[i];
        if (cl->bind_completed) {
            struct bound *b = &s->bound[s->n_bound++];
            b->c = *cl;
            b->found = cs_vol_pv_get(p->t, cl->volume_name, a, &b->pv);
            continue;
        }
        if (cl->class_name[0] == '\0' || cl->volume_name != NULL) {
            /* no class binds immediately; a volumeName without bind-completed is a binding
             * in progress, which upstream counts with the immediate claims too */
            immediate++;
            continue;
        }
        struct delayed *d = &s->delayed[s->n_delayed];
        if (!cs_vol_class_get(p->t, cl->class_name, a, &d->cls)) {
            return cs_status_set(
                st, CS_ERROR,
                cs_arena_printf(a, "storageclass.storage.k8s.io \"%s\" not found",
                                cl->class_name));
        }
        if (!d->cls.mode_set) {
            return cs_status_set(st, CS_ERROR,
                                 cs_arena_printf(a, "VolumeBindingMode not set for StorageClass \"%s\"",
                                                 cl->class_name));
        }
        if (!d->cls.wait_for_consumer) {
            immediate++;
            continue;
        }
        d->c = *cl;
        d->chosen = -1;
        d->n_pvs = cs_vol_pv_list(p->t, cl->class_name, a, &d->pvs);
        s->n_delayed++;
    }
    if (immediate > 0) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, R_IMMEDIATE);
    }
    const char **eligible = NULL;
    uint32_t n_eligible = 0;
    for (uint32_t i = 0; i < s->n_bound; i++) {
        if (!s->bound[i].found) {
            eligible = NULL;
            break;
        }
        const char **local;
        uint32_t nl = local_pv_nodes(&s->bound[i].pv, a, &local);
        if (nl > 0) {
            intersect(&eligible, &n_eligible, local, nl);
        }
    }
    if (eligible != NULL) {
        cs_fw_prefilter_nodes(c, eligible, n_eligible);
    }
    return CS_SUCCESS;
}

/* volume.FindMatchingVolume for the scheduler path: the smallest fitting PV, a PV pre-bound to
 * the claim first; `taken` marks PVs chosen for the pod's earlier claims. -1 when none. */
static int32_t find_pv(const struct delayed *d, const struct cs_node *node, const bool *taken)
{
    int32_t best = -1;
    for (uint32_t i = 0; i < d->n_pvs; i++) {
        const struct cs_vol_pv *pv = &d->pvs[i];
        if (taken[i] || pv->capacity < d->c.request || pv->deleting) {
            continue;
        }
        bool aff = cs_vol_affinity_matches(&pv->affinity, node);
        bool prebound = pv->claim_name && strcmp(pv->claim_name, d->c.name) == 0 &&
                        pv->claim_ns && strcmp(pv->claim_ns, d->c.ns) == 0 &&
                        (pv->claim_uid == NULL || (d->c.uid && !strcmp(pv->claim_uid, d->c.uid)));
        if (prebound) {
            return aff ? (int32_t)i : -1;
        }
        if (pv->claim_name != NULL || !cs_vol_selector_matches(&d->c, pv) || !aff ||
            (d->c.modes & ~pv->modes) != 0) {
            continue;
        }
        if (pv->assumed_for != NULL) {
            continue;
        }
        if (best < 0 || pv->capacity < d->pvs[best].capacity) {
            best = (int32_t)i;
        }
    }
    return best;
}

/* Provisioning possible on this node (checkVolumeProvisions, without storage capacity). */
static bool can_provision(const struct delayed *d, const struct cs_node *node)
{
    const char *prov = d->cls.provisioner;
    if (prov == NULL || strcmp(prov, CS_VOL_NO_PROVISIONER) == 0) {
        return false;
    }
    return cs_vol_affinity_matches(&d->cls.allowed, node);
}

/* Decide the delayed claims for node (fills each one's chosen PV). */
static bool match_delayed(struct vb_state *s, const struct cs_node *node, struct cs_arena *a)
{
    for (uint32_t i = 0; i < s->n_delayed; i++) {
        s->delayed[i].chosen = -1;
    }
    for (uint32_t i = 0; i < s->n_delayed; i++) {
        struct delayed *d = &s->delayed[i];
        if (d->c.selected_node != NULL) {
            if (strcmp(d->c.selected_node, node->name) != 0 || !can_provision(d, node)) {
                return false;
            }
            continue;
        }
        bool *taken = cs_arena_zalloc(a, d->n_pvs + 1);
        for (uint32_t j = 0; j < i; j++) {
            const struct delayed *e = &s->delayed[j];
            for (uint32_t k = 0; e->chosen >= 0 && k < d->n_pvs; k++) {
                taken[k] = taken[k] || strcmp(d->pvs[k].name, e->pvs[e->chosen].name) == 0;
            }
        }
        int32_t pv = find_pv(d, node, taken);
        if (pv >= 0) {
            d->chosen = pv;
        } else if (!can_provision(d, node)) {
            return false;
        }
    }
    return true;
}

static enum cs_code vb_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                              const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    struct vb_state *s = *c->state;
    if (s == NULL || ni->node == NULL) {
        return CS_SUCCESS;
    }
    bool bound_ok = true;
    for (uint32_t i = 0; i < s->n_bound; i++) {
        if (!s->bound[i].found) {
            return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, R_PV_NOT_EXIST);
        }
        bound_ok = bound_ok && cs_vol_affinity_matches(&s->bound[i].pv.affinity, ni->node);
    }
    bool unbound_ok = match_delayed(s, ni->node, c->arena);
    if (!bound_ok) {
        cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, R_NODE_CONFLICT);
    }
    if (!unbound_ok) {
        cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, R_BIND_CONFLICT);
    }
    return bound_ok && unbound_ok ? CS_SUCCESS : CS_UNSCHEDULABLE_AND_UNRESOLVABLE;
}

static const char *claim_key(struct cs_arena *a, const struct cs_vol_claim *c)
{
    return cs_arena_printf(a, "%s/%s", c->ns, c->name);
}

static void vb_unreserve(struct cs_fw_call *c, const struct cs_pod *pod, const char *node)
{
    (void)pod;
    (void)node;
    struct cs_vol_plugin *p = c->priv;
    struct vb_state *s = *c->state;
    if (s == NULL || s->node == NULL) {
        return;
    }
    for (uint32_t i = 0; i < s->n_delayed; i++) {
        const struct delayed *d = &s->delayed[i];
        if (d->chosen >= 0) {
            cs_vol_forget_pv(p->t, d->pvs[d->chosen].name);
        } else if (d->c.selected_node == NULL) {
            cs_vol_forget_node(p->t, claim_key(c->arena, &d->c));
        }
    }
    s->node = NULL;
    if (cs_vol_table_fw(p->t)) {
        cs_fw_invalidate(cs_vol_table_fw(p->t));
    }
}

static enum cs_code vb_reserve(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    struct cs_vol_plugin *p = c->priv;
    struct vb_state *s = *c->state;
    if (s == NULL || s->n_delayed == 0 || ni->node == NULL) {
        return CS_SUCCESS;
    }
    if (!match_delayed(s, ni->node, c->arena)) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, R_BIND_CONFLICT);
    }
    s->node = ni->name;
    for (uint32_t i = 0; i < s->n_delayed; i++) {
        const struct delayed *d = &s->delayed[i];
        if (d->chosen >= 0) {
            cs_vol_assume_pv(p->t, d->pvs[d->chosen].name, claim_key(c->arena, &d->c));
        } else if (d->c.selected_node == NULL) {
            cs_vol_assume_node(p->t, claim_key(c->arena, &d->c), ni->name);
        }
    }
    if (cs_vol_table_fw(p->t)) {
        cs_fw_invalidate(cs_vol_table_fw(p->t));
    }
    return CS_SUCCESS;
}

/* The JSON string literal of s (quotes included), into the arena. */
static const char *jstr(struct cs_arena *a, const char *s)
{
    json_t *v = json_string(s ? s : "");
    char *d = json_dumps(v, JSON_ENCODE_ANY);
    const char *out = cs_arena_strdup(a, d ? d : "\"\"");
    free(d);
    json_decref(v);
    return out;
}

static enum cs_code vb_pre_bind(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                                struct cs_bind_patch *patch, struct cs_status *st)
{
    (void)pod;
    (void)patch;
    (void)st;
    struct cs_vol_plugin *p = c->priv;
    struct vb_state *s = *c->state;
    struct cs_fw_handle *fw = cs_vol_table_fw(p->t);
    struct cs_arena *a = c->arena;
    if (s == NULL || fw == NULL) {
        return CS_SUCCESS;
    }
    for (uint32_t i = 0; i < s->n_delayed; i++) {
        const struct delayed *d = &s->delayed[i];
        struct cs_api_write w = { .method = "PATCH" };
        if (d->chosen >= 0) {
            const struct cs_vol_pv *pv = &d->pvs[d->chosen];
            if (pv->claim_name != NULL) {
                continue;                  /* pre-bound: the PV controller completes it */
            }
            w.path = cs_arena_printf(a, "/api/v1/persistentvolumes/%s", pv->name);
            w.body = cs_arena_printf(
                a,
                "{\"metadata\":{\"resourceVersion\":%s,\"annotations\":"
                "{\"pv.kubernetes.io/bound-by-controller\":\"yes\"}},\"spec\":{\"claimRef\":"
                "{\"kind\":\"PersistentVolumeClaim\",\"apiVersion\":\"v1\",\"namespace\":%s,"
                "\"name\":%s,\"uid\":%s,\"resourceVersion\":%s}}}",
                jstr(a, pv->rv), jstr(a, d->c.ns), jstr(a, d->c.name), jstr(a, d->c.uid),
                jstr(a, d->c.rv));
        } else if (d->c.selected_node == NULL) {
            w.path = cs_arena_printf(a, "/api/v1/namespaces/%s/persistentvolumeclaims/%s",
                                     d->c.ns, d->c.name);
            w.body = cs_arena_printf(a, "{\"metadata\":{\"annotations\":{\"%s\":%s}}}",
                                     CS_VOL_SELECTED_NODE, jstr(a, node));
        } else {
            continue;
        }
        cs_fw_write(fw, &w);
    }
    return CS_SUCCESS;
}

const struct cs_plugin cs_plugin_volumebinding = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "VolumeBinding",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_CUSTOM,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = cs_vol_plugin_init,
    .destroy = cs_vol_plugin_destroy,
    .pre_filter = vb_pre_filter,
    .filter = vb_filter,
    .reserve = vb_reserve,
    .unreserve = vb_unreserve,
    .pre_bind = vb_pre_bind,
};
