#ifndef CS_PKG_FRAMEWORK_FRAMEWORK_H
#define CS_PKG_FRAMEWORK_FRAMEWORK_H
/*
 * The scheduling framework: profiles (plugin instances per extension point, built from a
 * KubeSchedulerConfiguration profile and the registry) and the per-pod algorithm
 * (PreFilter, Filter over nodes, PreScore/Score/Normalize with weights, best node with random
 * tie-break, Reserve, Permit). Core code never names a plugin: it walks the per-point arrays.
 *
 * Thread: a profile is built on the main thread, then used only by the scheduler thread (and
 * its filter workers, which only call filter/score ops). queue_less/pre_enqueue run on whatever
 * thread holds the queue lock; plugins keep those pure.
 */
#include <stdbool.h>
#include <stdint.h>

#include "api/plugin.h"
#include "pkg/config/extpoint.h"
#include "pkg/framework/snapshot.h"
#include "pkg/util/arena.h"

struct cs_fw_inst {
    const struct cs_plugin *p;
    void *priv;
    uint32_t slot;                 /* index of this plugin's cycle-state slot */
};

struct cs_fw_point {
    uint32_t n;
    uint32_t *inst;                /* indexes into profile->insts, in call order */
    int32_t *weight;               /* score weights (score point only) */
};

struct cs_profile {
    const char *name;              /* schedulerName (owned) */
    struct cs_fw_inst *insts;
    uint32_t n_insts;
    struct cs_fw_point points[CS_EP_COUNT];
    int32_t pct_nodes_to_score;    /* < 0: score all nodes; 0: adaptive; 1..100 */
    bool eq_meta;                  /* equivalence compares labels/annotations (a node-local
                                    * plugin sets CS_PLUGIN_POD_META) */
    const char **eq_keys;          /* else only these keys (node-local plugins' meta_keys) */
    uint32_t n_eq_keys;
    uint32_t *fallback;            /* instances with a fallback op that filter (insts index) */
    uint32_t n_fallback;
    const struct cs_api_ctx *api;
};

/* One plugin entry of a resolved profile: the name at a point with its weight. */
struct cs_fw_entry {
    const char *name;
    int32_t weight;
};

/* Build a profile from per-point ordered plugin names (already merged with defaults) and a
 * lookup for plugin args. Each distinct plugin gets one instance (init once). Returns 0, or -1
 * with err naming the plugin (unknown name, init failure). */
int cs_profile_build(struct cs_profile *prof, const char *name,
                     const struct cs_fw_entry *const points[CS_EP_COUNT],
                     const uint32_t n_points[CS_EP_COUNT],
                     const json_t *(*args_for)(void *arg, const char *plugin), void *args_arg,
                     int32_t pct_nodes_to_score, const struct cs_api_ctx *api, char *err,
                     size_t errlen);
/* As cs_profile_build, with the framework handle plugins get at init (NULL for none). */
int cs_profile_build_fw(struct cs_profile *prof, const char *name,
                        const struct cs_fw_entry *const points[CS_EP_COUNT],
                        const uint32_t n_points[CS_EP_COUNT],
                        const json_t *(*args_for)(void *arg, const char *plugin), void *args_arg,
                        int32_t pct_nodes_to_score, const struct cs_api_ctx *api,
                        struct cs_fw_handle *fw, char *err, size_t errlen);
void cs_profile_destroy(struct cs_profile *prof);
/* 1 when the registered plugin implements the point, 0 when not, -1 when there is no such
 * plugin (the config resolver's callback). */
int cs_fw_plugin_implements(const char *name, enum cs_ext_point ep);

/* True when every field a plugin may read is equal (see equiv.c). */
bool cs_fw_pod_equivalent(const struct cs_pod *a, const struct cs_pod *b);
/* Two versions of a pod are the same for scheduling (the queue's "did the update change
 * anything" test): every field equivalence compares, plus pod (anti-)affinity and spread
 * constraints compared by content. A status-only update is "the same". */
bool cs_fw_pod_sched_same(const struct cs_pod *a, const struct cs_pod *b);
/* The same, comparing labels and annotations only when meta is set. */
bool cs_fw_pod_equivalent_meta(const struct cs_pod *a, const struct cs_pod *b, bool meta);
/* As cs_fw_pod_equivalent_meta, ignoring pod (anti-)affinity and spread constraints: for
 * equivalence classes in which every plugin that reads them is volatile (not cached). */
bool cs_fw_pod_equivalent_nl(const struct cs_pod *a, const struct cs_pod *b, bool meta);
/* Do a and b agree on these label and annotation keys? */
bool cs_fw_pod_same_keys(const struct cs_pod *a, const struct cs_pod *b, const char *const *keys,
                         uint32_t n);

/* Per-node results of a pod class, reused for the next pod of the class when all nodes are
 * evaluated. Only the node-local filter and score plugins (CS_PLUGIN_NODE_LOCAL, or their
 * node_local op for this pod) are cached; the others ("volatile" for the class: spread, inter-pod
 * affinity, cluster-wide rules) run on every attempt over the nodes the cached filters passed.
 * Entries are indexed by snapshot node index and stamped with the node's version; a class is
 * dropped when the snapshot epoch or the profile changes. */
struct cs_eqclass {
    bool valid;
    const struct cs_profile *prof;
    struct cs_pod *rep;            /* counted reference: the pod class representative */
    uint64_t epoch;
    uint64_t used;                 /* LRU tick */
    uint32_t n_nodes;
    uint32_t cap;
    uint64_t skip_mask;            /* pre_filter skips the cached results were computed with */
    uint64_t vol_mask;             /* instances not node-local for the class (never cached) */
    uint64_t *ver;                 /* per node: version the entry was computed at (0 = none) */
    uint8_t *fit;                  /* per node: 0 no, 1 passed every filter, 2 passed but a
                                    * fallback node (api/plugin.h `fallback`) */
    uint32_t n_score;              /* score plugins (profile order) */
    int64_t *raw;                  /* n_score x cap raw scores */
    bool *raw_ok;                  /* per score plugin: raw complete for every fit node */
    bool *same;                    /* per score plugin with raw_ok: raw is one value (same_v)
                                    * on every fit node, so it cannot rank them */
    int64_t *same_v;
    int64_t *part;                 /* per node: weighted sum of the raw scores of the plugins
                                    * in part_mask (cached, no NormalizeScore), kept in step
                                    * with raw for every fit node */
    uint64_t part_mask;            /* score plugins (profile order) summed into part; 0 = part
                                    * holds nothing */
    struct cs_node_info **stale;   /* cycle arena: fit nodes recomputed for this pod */
    uint32_t stale_n;
};

/* The equivalence cache: the CS_EQ_CLASSES most recently used pod classes, so that a stream of
 * pods of a few dozen shapes (random cpuset sizes, GPU memory requests) recomputes per pod only
 * the nodes that changed since its class was last seen, not every node. */
#define CS_EQ_CLASSES 48
struct cs_eqcache {
    struct cs_eqclass cls[CS_EQ_CLASSES];
    uint64_t tick;
    uint64_t hits;                 /* stats: pods decided from a cached class */
    uint64_t recomputed;           /* stats: node entries recomputed */
};

/* The plugin calls of one pod attempt: one cycle-state slot and one call struct per plugin
 * instance, allocated in the pod arena, so the state outlives the attempt until the pod is
 * committed or discarded (pre_bind and unreserve of a group see each member's own state). */
struct cs_fw_attempt {
    struct cs_profile *prof;
    struct cs_cycle *cycle;
    void **states;
    struct cs_fw_call *calls;
    bool pf_set;                   /* PreFilter restricted the nodes (cs_fw_prefilter_nodes) */
    const char **pf_names;         /* pod arena */
    uint32_t pf_n;
    const char *pf_plugins;        /* "[A B]", who restricted them */
    struct cs_taint *tolerated;    /* implicit tolerations (cs_fw_tolerate), pod arena */
    uint32_t n_tolerated;
};

struct cs_nominator;

/* Per-attempt working memory, reused across pods by the scheduler thread.
 *   arena      framework scratch of one attempt (reset by cs_cycle_reset after each attempt)
 *   pod_arena  plugin-visible memory (call->arena): per-pod state, reasons, patches; reset by
 *              cs_cycle_release when no statement holds a pod of it (end of a unit)
 */
struct cs_cycle {
    struct cs_eqcache eq;
    struct cs_arena arena;
    struct cs_arena pod_arena;
    struct cs_snapshot *snap;
    const struct cs_api_ctx *api;
    struct cs_nominator *nominator;  /* borrowed; NULL = no nominated pods */
    uint64_t rng;                  /* xorshift state for tie-breaks */
    uint32_t next_start;           /* rotating start index for partial node search */
    uint64_t attempts;             /* attempts so far (plugin-time sampling) */
    bool sample;                   /* this attempt records per-plugin times */
};

void cs_cycle_init(struct cs_cycle *c, const struct cs_api_ctx *api, uint64_t seed);
void cs_cycle_destroy(struct cs_cycle *c);

struct cs_sched_result {
    enum cs_code code;             /* CS_SUCCESS, CS_UNSCHEDULABLE or CS_ERROR */
    struct cs_node_info *node;     /* chosen snapshot node on success */
    struct cs_fw_attempt *att;     /* the attempt's plugin state (pod arena) */
    struct cs_preempt_result preempt;  /* PostFilter's nomination and victims (pod arena) */
    uint64_t reject_plugins;       /* instance indexes (bit i = insts[i]) that rejected the pod */
    const char *message;           /* cycle arena: kube-scheduler's failure text */
    const char *plugin;            /* the rejecting plugin for single-plugin failures */
    uint32_t reject_events;        /* events of the plugins that rejected the pod */
    bool quiet;                    /* report without an Event (a group's other members: one
                                    * FailedScheduling event per group and failure) */
    uint32_t evaluated;            /* nodes filtered */
    uint32_t feasible;
    int64_t ep_ns[CS_EP_COUNT];    /* time spent per extension point (0 = not reached) */
    /* Per-plugin times, recorded on one attempt in ten (kube-scheduler samples 10%) for the
     * points called once per pod and for each plugin's whole Score pass. */
    struct cs_plugin_time {
        const char *plugin;
        enum cs_ext_point ep;
        enum cs_code code;
        int64_t ns;
    } plugin_ns[24];
    uint32_t n_plugin_ns;
};

/* Run the scheduling algorithm for one pod against c->snap (which the caller refreshed).
 * On success the pod is reserved (Reserve and Permit passed) but not yet added to the
 * snapshot: the caller does that through a statement. On failure PostFilter plugins ran (also
 * after a PreFilter rejection) and res->preempt holds a nomination, if any. The result's
 * strings live in c->arena until the next cs_cycle_reset; res->att lives in the pod arena. */
void cs_fw_schedule_pod(struct cs_profile *prof, struct cs_cycle *c, const struct cs_pod *pod,
                        struct cs_sched_result *res);
/* A fresh attempt (empty state) in the pod arena, for ops outside a scheduling attempt (an
 * Unreserve after a failed bind, preemption dry runs). */
struct cs_fw_attempt *cs_fw_attempt_new(struct cs_profile *prof, struct cs_cycle *c);
/* Run Unreserve of every plugin in reverse order (after a discarded or failed decision). */
void cs_fw_unreserve(struct cs_fw_attempt *att, const struct cs_pod *pod, const char *node);
/* PreBind: fills patch (when the placement enters a statement). */
enum cs_code cs_fw_pre_bind(struct cs_fw_attempt *att, const struct cs_pod *pod, const char *node,
                            struct cs_bind_patch *patch, struct cs_status *st);
/* Bind: returns CS_SUCCESS when some bind plugin accepted the pod. */
enum cs_code cs_fw_bind(struct cs_fw_attempt *att, const struct cs_pod *pod, const char *node,
                        struct cs_status *st);
/* Every Filter plugin of the profile on one node (no nominated pods added): the preemption
 * engine's dry runs. PreFilter must have run in att. */
enum cs_code cs_fw_run_filters(struct cs_fw_attempt *att, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st);
/* PreFilter of every plugin (fills att's state); CS_SUCCESS or the first rejection. */
enum cs_code cs_fw_run_pre_filter(struct cs_fw_attempt *att, const struct cs_pod *pod,
                                  struct cs_status *st);
void cs_fw_post_bind(struct cs_profile *prof, const struct cs_pod *pod, const char *node);
/* QueueSort and PreEnqueue through the profile's plugins. */
bool cs_fw_queue_less(struct cs_profile *prof, const struct cs_queued_pod *a,
                      const struct cs_queued_pod *b);
bool cs_fw_pre_enqueue(struct cs_profile *prof, const struct cs_pod *pod, char *reason, size_t n);
/* The group a pod belongs to (first plugin with a pod_group op that answers), or NULL. */
const char *cs_fw_pod_group(struct cs_profile *prof, const struct cs_pod *pod, int32_t *min_member);
/* Reset the cycle arena (call after each pod attempt once its result has been consumed). */
void cs_cycle_reset(struct cs_cycle *c);
/* Reset the pod arena: no statement may hold a pod attempted since the last release. */
void cs_cycle_release(struct cs_cycle *c);

/* Adaptive node count as kube-scheduler computes numFeasibleNodesToFind. */
uint32_t cs_fw_num_nodes_to_find(uint32_t n_nodes, int32_t pct);

#endif
