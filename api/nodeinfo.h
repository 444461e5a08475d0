#ifndef CS_API_NODEINFO_H
#define CS_API_NODEINFO_H
/*
 * Per-node aggregate the plugins read: the Node object plus what the pods on it use.
 *
 * The cache owns one cs_node_info per node and updates it as pods come and go; each change bumps
 * `generation`. A scheduling session works on a snapshot: copies of the node infos that the
 * scheduler thread owns, refreshed incrementally (only nodes whose generation moved). Plugins only
 * ever see snapshot copies, so they read without locks. Pod pointers in a node info are counted
 * references (cs_pod_ref), released when the info drops the pod or is destroyed.
 */
#include <stdint.h>

#include "api/types.h"

struct cs_node_state_ops;

/* Per-node plugin state kinds (registered by plugins at init through cs_fw_node_state). A node
 * info created with a registry carries one state per kind, kept current by add_pod/remove_pod
 * and deep-copied by cs_node_info_copy. The registry is filled before any node exists. */
#define CS_NODE_STATE_MAX 16
struct cs_node_state_reg {
    uint32_t n;
    struct {
        const struct cs_node_state_ops *ops;
        void *arg;
    } slot[CS_NODE_STATE_MAX];
};

struct cs_used_port {
    const char *host_ip;     /* NULL = 0.0.0.0 (all addresses) */
    enum cs_protocol protocol;
    int32_t port;
};

struct cs_node_info {
    const struct cs_node *node;          /* counted reference; NULL for a pods-only placeholder */
    const char *name;                    /* interned node name */
    uint64_t generation;
    struct cs_resources allocatable;     /* copy of node->allocatable */
    struct cs_resources requested;       /* sum of pods' requests (pods slot = pod count) */
    struct cs_resources nonzero_requested;
    struct cs_res_extras extra_requested; /* pods' requests past the dense table (heap) */
    struct cs_pod **pods;                /* counted references, unordered */
    uint32_t n_pods;
    uint32_t cap_pods;
    uint32_t n_pods_with_affinity;       /* pods with any pod (anti-)affinity */
    uint32_t n_pods_with_required_anti_affinity;
    struct cs_used_port *ports;
    uint32_t n_ports;
    uint32_t cap_ports;
    int32_t index;                       /* position in the snapshot's node list */
    const struct cs_node_state_reg *nsreg;  /* NULL: no per-node plugin state */
    void **nstate;                       /* nsreg->n states (heap), owned */
};

/* Lifecycle and mutation (used by the cache, the snapshot and statements; not by plugins). */
void cs_node_info_init(struct cs_node_info *ni, const char *name);
/* Attach the plugin states of reg (creates one per kind); call right after init. */
void cs_node_info_attach_states(struct cs_node_info *ni, const struct cs_node_state_reg *reg);
void cs_node_info_destroy(struct cs_node_info *ni);
void cs_node_info_set_node(struct cs_node_info *ni, struct cs_node *node);
void cs_node_info_add_pod(struct cs_node_info *ni, struct cs_pod *pod);
/* Returns 0 when removed, -1 when the pod (matched by key) is not on the node. */
int cs_node_info_remove_pod(struct cs_node_info *ni, const struct cs_pod *pod);
/* Deep copy (takes references) into dst, which must be initialised or previously copied into. */
void cs_node_info_copy(struct cs_node_info *dst, const struct cs_node_info *src);
/* Is (ip, protocol, port) free on this node, following kube-scheduler's host-port conflict rules? */
int cs_node_info_port_free(const struct cs_node_info *ni, const struct cs_port *want);

#endif
