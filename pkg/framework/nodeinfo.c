/*
 * Node aggregates (api/nodeinfo.h). Adding a pod adds its requests, its non-zero requests, one to
 * the pod count and its host ports; removing undoes exactly that (matched by pod key, so a newer
 * version of the same pod removes the older one's contribution correctly as long as the caller
 * removes the version it added). Pod pointers are counted references.
 *
 * Host ports follow kube-scheduler's HostPortInfo rules: a port is identified by (ip, protocol,
 * port); 0.0.0.0 conflicts with every IP for the same protocol and port.
 */
#include "api/nodeinfo.h"

#include <string.h>

#include "api/plugin.h"
#include "api/requests.h"

#include "pkg/util/alloc.h"

void cs_node_info_init(struct cs_node_info *ni, const char *name)
{
    memset(ni, 0, sizeof(*ni));
    ni->name = name;
    ni->index = -1;
}

void cs_node_info_attach_states(struct cs_node_info *ni, const struct cs_node_state_reg *reg)
{
    if (reg == NULL || reg->n == 0) {
        return;
    }
    ni->nsreg = reg;
    ni->nstate = cs_calloc(reg->n, sizeof(*ni->nstate));
    for (uint32_t i = 0; i < reg->n; i++) {
        ni->nstate[i] = reg->slot[i].ops->create(reg->slot[i].arg, ni);
    }
}

void *cs_node_state(const struct cs_node_info *ni, int slot)
{
    if (ni->nsreg == NULL || slot < 0 || (uint32_t)slot >= ni->nsreg->n) {
        return NULL;
    }
    return ni->nstate[slot];
}

static void states_destroy(struct cs_node_info *ni)
{
    if (ni->nsreg == NULL) {
        return;
    }
    for (uint32_t i = 0; i < ni->nsreg->n; i++) {
        ni->nsreg->slot[i].ops->destroy(ni->nsreg->slot[i].arg, ni->nstate[i]);
    }
    cs_free(ni->nstate);
    ni->nstate = NULL;
}

void cs_node_info_destroy(struct cs_node_info *ni)
{
    states_destroy(ni);
    for (uint32_t i = 0; i < ni->n_pods; i++) {
        cs_pod_unref(ni->pods[i]);
    }
    cs_free(ni->pods);
    cs_free(ni->ports);
    cs_free(ni->extra_requested.e);
    cs_node_unref((struct cs_node *)ni->node);
    memset(ni, 0, sizeof(*ni));
    ni->index = -1;
}

void cs_node_info_set_node(struct cs_node_info *ni, struct cs_node *node)
{
    struct cs_node *old = (struct cs_node *)ni->node;
    ni->node = node ? cs_node_ref(node) : NULL;
    if (node) {
        ni->name = node->name;
        ni->allocatable = node->allocatable;
    } else {
        memset(&ni->allocatable, 0, sizeof(ni->allocatable));
    }
    cs_node_unref(old);
    for (uint32_t i = 0; ni->nsreg && i < ni->nsreg->n; i++) {
        if (ni->nsreg->slot[i].ops->set_node) {
            ni->nsreg->slot[i].ops->set_node(ni->nsreg->slot[i].arg, ni->nstate[i], ni);
        }
    }
}

static bool is_wildcard(const char *ip)
{
    return ip == NULL || ip[0] == '\0' || strcmp(ip, "0.0.0.0") == 0;
}

static bool same_ip(const char *a, const char *b)
{
    if (is_wildcard(a) || is_wildcard(b)) {
        return is_wildcard(a) && is_wildcard(b);
    }
    return strcmp(a, b) == 0;
}

static void add_ports(struct cs_node_info *ni, const struct cs_pod *pod)
{
    for (uint32_t i = 0; i < pod->n_host_ports; i++) {
        const struct cs_port *p = &pod->host_ports[i];
        if (ni->n_ports == ni->cap_ports) {
            ni->cap_ports = ni->cap_ports ? ni->cap_ports * 2 : 8;
            ni->ports = cs_realloc(ni->ports, sizeof(*ni->ports) * ni->cap_ports);
        }
        struct cs_used_port *u = &ni->ports[ni->n_ports++];
        u->host_ip = is_wildcard(p->host_ip) ? NULL : p->host_ip;
        u->protocol = p->protocol;
        u->port = p->host_port;
    }
}

static void remove_ports(struct cs_node_info *ni, const struct cs_pod *pod)
{
    for (uint32_t i = 0; i < pod->n_host_ports; i++) {
        const struct cs_port *p = &pod->host_ports[i];
        for (uint32_t j = 0; j < ni->n_ports; j++) {
            struct cs_used_port *u = &ni->ports[j];
            if (u->port == p->host_port && u->protocol == p->protocol &&
                same_ip(u->host_ip, p->host_ip)) {
                ni->ports[j] = ni->ports[--ni->n_ports];
                break;
            }
        }
    }
}

static bool has_affinity(const struct cs_pod *pod)
{
    return pod->pod_affinity != NULL || pod->pod_anti_affinity != NULL;
}

void cs_node_info_add_pod(struct cs_node_info *ni, struct cs_pod *pod)
{
    if (ni->n_pods == ni->cap_pods) {
        ni->cap_pods = ni->cap_pods ? ni->cap_pods * 2 : 8;
        ni->pods = cs_realloc(ni->pods, sizeof(*ni->pods) * ni->cap_pods);
    }
    ni->pods[ni->n_pods++] = cs_pod_ref(pod);
    cs_res_add(&ni->requested, &pod->requests);
    struct cs_resources nz;
    cs_pod_nonzero_requests(pod, &nz);
    cs_res_add(&ni->nonzero_requested, &nz);
    for (uint32_t i = 0; i < pod->extra_requests.n; i++) {
        cs_res_extra_apply(&ni->extra_requested, NULL, pod->extra_requests.e[i].name,
                           pod->extra_requests.e[i].v, '+');
    }
    if (has_affinity(pod)) {
        ni->n_pods_with_affinity++;
    }
    if (pod->pod_anti_affinity && pod->pod_anti_affinity->n_required) {
        ni->n_pods_with_required_anti_affinity++;
    }
    if (pod->n_host_ports) {
        add_ports(ni, pod);
    }
    for (uint32_t i = 0; ni->nsreg && i < ni->nsreg->n; i++) {
        ni->nsreg->slot[i].ops->add_pod(ni->nsreg->slot[i].arg, ni->nstate[i], ni, pod);
    }
    ni->generation++;
}

int cs_node_info_remove_pod(struct cs_node_info *ni, const struct cs_pod *pod)
{
    for (uint32_t i = 0; i < ni->n_pods; i++) {
        struct cs_pod *have = ni->pods[i];
        if (have == pod || strcmp(have->key, pod->key) == 0) {
            cs_res_sub(&ni->requested, &have->requests);
            struct cs_resources nz;
            cs_pod_nonzero_requests(have, &nz);
            cs_res_sub(&ni->nonzero_requested, &nz);
            for (uint32_t k = 0; k < have->extra_requests.n; k++) {
                cs_res_extra_apply(&ni->extra_requested, NULL, have->extra_requests.e[k].name,
                                   have->extra_requests.e[k].v, '-');
            }
            if (has_affinity(have)) {
                ni->n_pods_with_affinity--;
            }
            if (have->pod_anti_affinity && have->pod_anti_affinity->n_required) {
                ni->n_pods_with_required_anti_affinity--;
            }
            if (have->n_host_ports) {
                remove_ports(ni, have);
            }
            for (uint32_t k = 0; ni->nsreg && k < ni->nsreg->n; k++) {
                ni->nsreg->slot[k].ops->remove_pod(ni->nsreg->slot[k].arg, ni->nstate[k], ni,
                                                   have);
            }
            ni->pods[i] = ni->pods[--ni->n_pods];
            cs_pod_unref(have);
            ni->generation++;
            return 0;
        }
    }
    return -1;
}

void cs_node_info_copy(struct cs_node_info *dst, const struct cs_node_info *src)
{
    /* Take the new references before dropping the old ones: src and dst may share pods. */
    for (uint32_t i = 0; i < src->n_pods; i++) {
        cs_pod_ref(src->pods[i]);
    }
    if (src->node) {
        cs_node_ref((struct cs_node *)src->node);
    }
    for (uint32_t i = 0; i < dst->n_pods; i++) {
        cs_pod_unref(dst->pods[i]);
    }
    cs_node_unref((struct cs_node *)dst->node);

    struct cs_pod **pods = dst->pods;
    uint32_t cap_pods = dst->cap_pods;
    struct cs_used_port *ports = dst->ports;
    uint32_t cap_ports = dst->cap_ports;
    int32_t index = dst->index;
    void **nstate = dst->nstate;
    const struct cs_node_state_reg *dreg = dst->nsreg;
    struct cs_res_extras xr = dst->extra_requested;   /* the destination's own heap array */
    if (xr.cap < src->extra_requested.n) {
        xr.cap = src->extra_requested.n;
        xr.e = cs_realloc(xr.e, sizeof(*xr.e) * xr.cap);
    }
    xr.n = src->extra_requested.n;
    if (xr.n) {
        memcpy(xr.e, src->extra_requested.e, sizeof(*xr.e) * xr.n);
    }
    if (cap_pods < src->n_pods) {
        cap_pods = src->n_pods;
        pods = cs_realloc(pods, sizeof(*pods) * (cap_pods ? cap_pods : 1));
    }
    if (cap_ports < src->n_ports) {
        cap_ports = src->n_ports;
        ports = cs_realloc(ports, sizeof(*ports) * (cap_ports ? cap_ports : 1));
    }
    *dst = *src;
    dst->pods = pods;
    dst->cap_pods = cap_pods;
    dst->ports = ports;
    dst->cap_ports = cap_ports;
    dst->index = index;
    dst->extra_requested = xr;
    /* Plugin states: copied into the destination's own objects (same registry). */
    if (src->nsreg) {
        if (dreg != src->nsreg) {
            nstate = cs_calloc(src->nsreg->n, sizeof(*nstate));
        }
        for (uint32_t i = 0; i < src->nsreg->n; i++) {
            nstate[i] = src->nsreg->slot[i].ops->copy(src->nsreg->slot[i].arg, nstate[i],
                                                      src->nstate[i]);
        }
    }
    dst->nstate = nstate;
    if (src->n_pods) {
        memcpy(dst->pods, src->pods, sizeof(*pods) * src->n_pods);
    }
    if (src->n_ports) {
        memcpy(dst->ports, src->ports, sizeof(*ports) * src->n_ports);
    }
}

int cs_node_info_port_free(const struct cs_node_info *ni, const struct cs_port *want)
{
    for (uint32_t j = 0; j < ni->n_ports; j++) {
        const struct cs_used_port *u = &ni->ports[j];
        if (u->port != want->host_port || u->protocol != want->protocol) {
            continue;
        }
        if (is_wildcard(u->host_ip) || is_wildcard(want->host_ip) ||
            strcmp(u->host_ip, want->host_ip) == 0) {
            return 0;
        }
    }
    return 1;
}
