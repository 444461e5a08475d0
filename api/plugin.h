#ifndef CS_API_PLUGIN_H
#define CS_API_PLUGIN_H
/*
 * The plugin ABI. A plugin is one `const struct cs_plugin` of function pointers, filled with
 * designated initialisers; a NULL op means the plugin does not act at that extension point.
 * plugins/registry.c lists every plugin; core code never names one.
 *
 * Calling context (all ops unless noted): the scheduling thread, inside a session, with the
 * snapshot read-only and private to that thread; no locks held; ops must not block or do I/O.
 * Plugins never talk to the API server: what they want written (annotations before binding, the
 * binding itself) they describe, and the binder performs it.
 *
 * Memory: `call->arena` is the cycle arena, freed when the session ends; statuses and reasons may
 * point into it or at static strings. Per-pod cycle state lives in `*call->state` (NULL at the
 * start of each pod attempt), written in pre_filter/pre_score and read in filter/score.
 * Long-lived plugin state is `call->priv`, created by init and freed by destroy.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/nodeinfo.h"
#include "api/types.h"

#define CS_PLUGIN_ABI_V1 1u

/* Status codes, in kube-scheduler's order. */
enum cs_code {
    CS_SUCCESS = 0,
    CS_ERROR,
    CS_UNSCHEDULABLE,
    CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
    CS_WAIT,
    CS_SKIP,
    CS_PENDING,
};
const char *cs_code_name(enum cs_code c);

#define CS_STATUS_MAX_REASONS 4

struct cs_status {
    enum cs_code code;
    const char *plugin;                       /* set by the framework: who decided */
    const char *reasons[CS_STATUS_MAX_REASONS];
    uint32_t n_reasons;
};

/* Set code and append one reason (static string or arena string); returns code. */
enum cs_code cs_status_set(struct cs_status *st, enum cs_code code, const char *reason);

/* Cluster events a plugin's rejections wait for (queueing hints, coarse). */
enum cs_cluster_event {
    CS_EV_NODE_ADD = 1u << 0,
    CS_EV_NODE_UPDATE = 1u << 1,        /* labels, taints, allocatable, unschedulable */
    CS_EV_NODE_DELETE = 1u << 2,
    CS_EV_POD_ADD = 1u << 3,            /* any pod added (e.g. a gang member arrives) */
    CS_EV_POD_UPDATE = 1u << 4,
    CS_EV_POD_DELETE = 1u << 5,         /* an assigned pod went away: room freed */
    CS_EV_CUSTOM = 1u << 6,             /* a plugin-watched custom object changed */
    CS_EV_ALL = 0x7f,
};

/* Plugin flags.
 * CS_PLUGIN_NODE_LOCAL: the plugin's filter and score for a node depend only on the pod's own
 * fields, that node's info, and snapshot-wide data that changes only when the node list or a
 * Node object changes (not when pods are placed). The framework may then reuse a node's filter
 * result and raw score for an equivalent pod (same spec, labels and annotations) as long as the
 * node's info did not change, which makes scheduling a run of identical pods O(changed nodes)
 * instead of O(nodes x plugins) while deciding exactly as a full evaluation would. Plugins whose
 * results depend on other nodes' pods (topology spread, inter-pod affinity) must not set it. */
#define CS_PLUGIN_NODE_LOCAL 0x1u

struct cs_snapshot;

/* Services the framework offers plugins (read-only views; stable for the session). */
const struct cs_node_info *cs_snapshot_node(const struct cs_snapshot *s, const char *name);
uint32_t cs_snapshot_num_nodes(const struct cs_snapshot *s);
struct cs_node_info *cs_snapshot_node_at(const struct cs_snapshot *s, uint32_t i);
/* Number of nodes that have the image (ImageLocality's spread factor). */
uint32_t cs_snapshot_image_nodes(const struct cs_snapshot *s, const char *image);

/* Passed to every op. */
struct cs_fw_call {
    void *priv;                        /* the plugin instance (from init) */
    void **state;                      /* this plugin's per-pod cycle state slot */
    struct cs_arena *arena;            /* cycle arena */
    const struct cs_snapshot *snap;
    const struct cs_api_ctx *api;
};

struct cs_node_score {
    int32_t index;                     /* snapshot node index */
    int64_t score;
};

/* What a pod waits behind in the queue (QueueSort input). */
struct cs_queued_pod {
    const struct cs_pod *pod;
    int64_t timestamp_ns;              /* when it was first queued (initial attempt) */
    uint32_t attempts;
};

/* What pre_bind asks the binder to write before binding (one merge PATCH on the pod). */
struct cs_bind_patch {
    struct cs_label *annotations;      /* arena-owned */
    uint32_t n_annotations;
    uint32_t cap_annotations;
};
void cs_bind_patch_annotate(struct cs_bind_patch *p, struct cs_arena *a, const char *key,
                            const char *value);

/* Plugin init input. args is the pluginConfig args for this plugin (borrowed; may be NULL). */
struct cs_plugin_init {
    const json_t *args;
    const char *profile;               /* schedulerName of the profile */
    const struct cs_api_ctx *api;
};

struct cs_plugin {
    unsigned abi;                      /* CS_PLUGIN_ABI_V1 */
    const char *name;                  /* kube-scheduler's plugin name */
    uint32_t events;                   /* cs_cluster_event mask that may make rejected pods fit */
    uint32_t flags;                    /* CS_PLUGIN_* below */

    int (*init)(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen);
    void (*destroy)(void *priv);

    /* Queue (called by the queue under its lock; must be fast and pure). */
    enum cs_code (*pre_enqueue)(void *priv, const struct cs_pod *pod, struct cs_status *st);
    bool (*queue_less)(void *priv, const struct cs_queued_pod *a, const struct cs_queued_pod *b);

    /* Scheduling cycle for one pod. */
    enum cs_code (*pre_filter)(struct cs_fw_call *c, const struct cs_pod *pod,
                               struct cs_status *st);
    enum cs_code (*filter)(struct cs_fw_call *c, const struct cs_pod *pod,
                           const struct cs_node_info *ni, struct cs_status *st);
    /* Only when no node fits. May nominate a node (preemption). */
    enum cs_code (*post_filter)(struct cs_fw_call *c, const struct cs_pod *pod,
                                const char **nominated_node, struct cs_status *st);
    enum cs_code (*pre_score)(struct cs_fw_call *c, const struct cs_pod *pod,
                              struct cs_node_info *const *feasible, uint32_t n,
                              struct cs_status *st);
    /* Raw score for one feasible node; kube-scheduler range [0, 100] after normalize. */
    int64_t (*score)(struct cs_fw_call *c, const struct cs_pod *pod,
                     const struct cs_node_info *ni);
    void (*normalize_score)(struct cs_fw_call *c, const struct cs_pod *pod,
                            struct cs_node_score *scores, uint32_t n);
    enum cs_code (*reserve)(struct cs_fw_call *c, const struct cs_pod *pod,
                            const struct cs_node_info *ni, struct cs_status *st);
    void (*unreserve)(struct cs_fw_call *c, const struct cs_pod *pod, const char *node);
    enum cs_code (*permit)(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                           struct cs_status *st);

    /* Binding (still the scheduling thread, when the decision is committed). */
    enum cs_code (*pre_bind)(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                             struct cs_bind_patch *patch, struct cs_status *st);
    /* CS_SKIP = not mine; CS_SUCCESS = bind through pods/binding to `node`. */
    enum cs_code (*bind)(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                         struct cs_status *st);
    /* Called on the binder's thread after a successful bind; must not block. */
    void (*post_bind)(void *priv, const struct cs_pod *pod, const char *node);

    /* Session hooks (gang / queue plugins). pod_group names the group a pod belongs to and its
     * minimum member count; pods of one group are placed all-or-nothing through a statement. */
    const char *(*pod_group)(void *priv, const struct cs_pod *pod, int32_t *min_member);
};

#endif
