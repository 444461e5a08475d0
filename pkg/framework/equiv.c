/*
 * Pod equivalence for the framework's per-node result cache (see CS_PLUGIN_NODE_LOCAL in
 * api/plugin.h). Two pods are equivalent when every field a scheduling plugin may read is the
 * same: namespace, schedulerName, labels, annotations, containers and init containers
 * (images, requests, limits, ports), overhead, pod-level requests, nodeName, nodeSelector,
 * the PersistentVolumeClaims its volumes use,
 * node affinity, tolerations, host ports, priority. Pods with pod (anti-)affinity or topology
 * spread constraints are never treated as equivalent (those plugins are not node-local anyway),
 * except by cs_fw_pod_equivalent_nl, for classes whose plugins that read them are volatile.
 * The comparison is conservative: "not equivalent" only costs a full evaluation. Labels and
 * annotations count only when a node-local plugin of the profile reads them
 * (CS_PLUGIN_POD_META): otherwise the members of different gangs share one class.
 */
#include "pkg/framework/framework.h"

#include <string.h>

#include "pkg/util/buf.h"

static bool str_eq(const char *a, const char *b)
{
    if (a == b) {
        return true;
    }
    return a && b && strcmp(a, b) == 0;
}

static bool labels_eq(const struct cs_label *a, uint32_t na, const struct cs_label *b, uint32_t nb)
{
    if (na != nb) {
        return false;
    }
    for (uint32_t i = 0; i < na; i++) {
        if (!str_eq(a[i].key, b[i].key) || !str_eq(a[i].value, b[i].value)) {
            return false;
        }
    }
    return true;
}

static bool res_eq(const struct cs_resources *a, const struct cs_resources *b)
{
    return a->present == b->present && memcmp(a->v, b->v, sizeof(a->v)) == 0;
}

static bool res_ptr_eq(const struct cs_resources *a, const struct cs_resources *b)
{
    return a == b || (a && b && res_eq(a, b));
}

static bool ports_eq(const struct cs_port *a, uint32_t na, const struct cs_port *b, uint32_t nb)
{
    if (na != nb) {
        return false;
    }
    for (uint32_t i = 0; i < na; i++) {
        if (a[i].container_port != b[i].container_port || a[i].host_port != b[i].host_port ||
            a[i].protocol != b[i].protocol || !str_eq(a[i].host_ip, b[i].host_ip)) {
            return false;
        }
    }
    return true;
}

static bool containers_eq(const struct cs_container *a, uint32_t na, const struct cs_container *b,
                          uint32_t nb)
{
    if (na != nb) {
        return false;
    }
    for (uint32_t i = 0; i < na; i++) {
        if (!str_eq(a[i].image, b[i].image) || a[i].restartable != b[i].restartable ||
            !cs_res_list_eq(a[i].requests, b[i].requests) ||
            !cs_res_list_eq(a[i].limits, b[i].limits) ||
            !ports_eq(a[i].ports, a[i].n_ports, b[i].ports, b[i].n_ports)) {
            return false;
        }
    }
    return true;
}

static bool selector_eq(const struct cs_selector *a, const struct cs_selector *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    struct cs_buf x, y;
    cs_buf_init(&x);
    cs_buf_init(&y);
    cs_selector_to_string(a, &x);
    cs_selector_to_string(b, &y);
    bool eq = x.len == y.len && (x.len == 0 || memcmp(x.data, y.data, x.len) == 0);
    cs_buf_free(&x);
    cs_buf_free(&y);
    return eq;
}

static bool term_eq(const struct cs_node_selector_term *a, const struct cs_node_selector_term *b)
{
    return a->invalid == b->invalid && selector_eq(a->match_expressions, b->match_expressions) &&
           selector_eq(a->match_fields, b->match_fields);
}

static bool node_affinity_eq(const struct cs_node_affinity *a, const struct cs_node_affinity *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->has_required != b->has_required || a->n_required != b->n_required ||
        a->n_preferred != b->n_preferred) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_required; i++) {
        if (!term_eq(&a->required[i], &b->required[i])) {
            return false;
        }
    }
    for (uint32_t i = 0; i < a->n_preferred; i++) {
        if (a->preferred[i].weight != b->preferred[i].weight ||
            !term_eq(&a->preferred[i].term, &b->preferred[i].term)) {
            return false;
        }
    }
    return true;
}

static bool tolerations_eq(const struct cs_toleration *a, uint32_t na,
                           const struct cs_toleration *b, uint32_t nb)
{
    if (na != nb) {
        return false;
    }
    for (uint32_t i = 0; i < na; i++) {
        if (!str_eq(a[i].key, b[i].key) || a[i].op_exists != b[i].op_exists ||
            a[i].op_compare != b[i].op_compare ||
            !str_eq(a[i].value, b[i].value) || a[i].effect != b[i].effect ||
            a[i].has_seconds != b[i].has_seconds ||
            a[i].toleration_seconds != b[i].toleration_seconds) {
            return false;
        }
    }
    return true;
}

bool cs_fw_pod_equivalent(const struct cs_pod *a, const struct cs_pod *b)
{
    return cs_fw_pod_equivalent_meta(a, b, true);
}

static bool same_fields(const struct cs_pod *a, const struct cs_pod *b, bool meta);

bool cs_fw_pod_equivalent_meta(const struct cs_pod *a, const struct cs_pod *b, bool meta)
{
    if (a == b) {
        return true;
    }
    if (a->pod_affinity || b->pod_affinity || a->pod_anti_affinity || b->pod_anti_affinity ||
        a->n_spread || b->n_spread) {
        return false;
    }
    return same_fields(a, b, meta);
}

bool cs_fw_pod_equivalent_nl(const struct cs_pod *a, const struct cs_pod *b, bool meta)
{
    return a == b || same_fields(a, b, meta);
}

bool cs_fw_pod_same_keys(const struct cs_pod *a, const struct cs_pod *b, const char *const *keys,
                         uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (!str_eq(cs_pod_label(a, keys[i]), cs_pod_label(b, keys[i])) ||
            !str_eq(cs_pod_annotation(a, keys[i]), cs_pod_annotation(b, keys[i]))) {
            return false;
        }
    }
    return true;
}

bool cs_fw_pod_sched_same(const struct cs_pod *a, const struct cs_pod *b)
{
    return a == b || (a->constraints_hash == b->constraints_hash && same_fields(a, b, true));
}

static bool extras_eq(const struct cs_res_extras *a, const struct cs_res_extras *b)
{
    if (a->n != b->n) {
        return false;
    }
    for (uint32_t i = 0; i < a->n; i++) {
        if (cs_res_extra_get(b, a->e[i].name) != a->e[i].v) {
            return false;
        }
    }
    return true;
}

static bool claims_eq(const struct cs_pod *a, const struct cs_pod *b)
{
    if (a->n_claims != b->n_claims) {
        return false;
    }
    for (uint32_t i = 0; i < a->n_claims; i++) {
        if (!str_eq(a->claims[i], b->claims[i])) {
            return false;
        }
    }
    return true;
}

static bool same_fields(const struct cs_pod *a, const struct cs_pod *b, bool meta)
{
    return a->ns == b->ns && str_eq(a->scheduler_name, b->scheduler_name) &&
           str_eq(a->node_name, b->node_name) && a->priority == b->priority &&
           a->preemption_policy == b->preemption_policy && a->host_network == b->host_network &&
           res_eq(&a->requests, &b->requests) &&
           a->nonzero_cpu == b->nonzero_cpu && a->nonzero_memory == b->nonzero_memory &&
           res_ptr_eq(a->overhead, b->overhead) && res_ptr_eq(a->pod_requests, b->pod_requests) &&
           extras_eq(&a->extra_requests, &b->extra_requests) &&
           (!meta || (labels_eq(a->labels, a->n_labels, b->labels, b->n_labels) &&
                      labels_eq(a->annotations, a->n_annotations, b->annotations,
                                b->n_annotations))) &&
           labels_eq(a->node_selector, a->n_node_selector, b->node_selector, b->n_node_selector) &&
           containers_eq(a->containers, a->n_containers, b->containers, b->n_containers) &&
           containers_eq(a->init_containers, a->n_init_containers, b->init_containers,
                         b->n_init_containers) &&
           ports_eq(a->host_ports, a->n_host_ports, b->host_ports, b->n_host_ports) &&
           tolerations_eq(a->tolerations, a->n_tolerations, b->tolerations, b->n_tolerations) &&
           claims_eq(a, b) &&
           node_affinity_eq(a->node_affinity, b->node_affinity);
}
