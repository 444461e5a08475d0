#ifndef CS_API_PLUGIN_H
#define CS_API_PLUGIN_H
/*
 * The plugin ABI. A plugin is one `const struct cs_plugin` of function pointers, filled with
 * designated initialisers; a NULL op means the plugin does not act at that extension point.
 * plugins/registry.c lists every plugin; core code never names one.
 *
 * Threads. Three threads exist (pkg/scheduler/scheduler.h): the watch I/O thread (informers),
 * the bind I/O thread (binds, events, API writes) and the scheduling thread (sessions). Unless
 * the table below says otherwise, an op runs on the scheduling thread, inside a session, with
 * the snapshot private to that thread, no lock held, and must neither block nor do I/O.
 * Plugins never talk to the API server directly: they describe writes (annotations before
 * binding, evictions, status updates) and the framework performs them on the bind connection.
 *
 * Memory. `call->arena` is the *pod arena*: it lives from the pod's attempt until the pod is
 * committed or discarded (the end of the session at the latest), so per-pod state written in
 * pre_filter/reserve is still valid in pre_bind and unreserve of a whole group. Statuses and
 * reasons may point into it or at static strings. Per-pod state lives in `*call->state` (NULL
 * at the start of each attempt). Long-lived state is `call->priv` (from init, freed by
 * destroy); state several profiles share comes from cs_fw_shared (one instance per key).
 *
 *  op / service          thread (lock held)          may block  when
 *  init, destroy         main                        yes        profile build / shutdown
 *  pre_enqueue           informer or scheduling (queue lock)  no   pod added/updated, gated recheck
 *  queue_less            any (queue lock)            no         activeQ ordering
 *  queueing_hint         informer/bind I/O (queue lock)  no   an event of its mask vs a pod it rejected
 *  pre_filter .. permit  scheduling                  no         one pod attempt
 *  post_filter           scheduling                  no         no node fits (incl. PreFilter reject)
 *  pre_bind              scheduling                  no         placement entered in a statement
 *  bind                  scheduling                  no         at commit: claim the binding
 *  post_bind             bind I/O                    no         bind succeeded
 *  unreserve             scheduling                  no         statement discarded, commit or bind failed
 *  session_open/close    scheduling                  no         around every session
 *  on_pod, on_node       scheduling                  no         cluster changes, replayed at session open
 *  on_pending            scheduling                  no         pending pods' changes, replayed likewise
 *  on_stmt               scheduling                  no         a statement evicted / nominated (or undid it)
 *  pod_group             any (queue lock or none)    no         pod added (queue) and session units
 *  group_valid/ready/less scheduling                 no         sessions: a gang's unit
 *  may_evict, victims_ok scheduling                  no         preemption engine dry runs
 *  node-state ops        any (cache lock)            no         pod added/removed on a node info
 *  watch callbacks       informer (none)             no         custom objects change
 *  cs_fw_watch, cs_fw_node_state, cs_fw_shared   main (init only)           registration
 *  cs_fw_raise           any                         no         plugin's objects changed -> CS_EV_CUSTOM
 *  cs_fw_write           any (done: bind I/O)        no         API write on the bind connection
 *  cs_fw_event           any                         no         an Event about a plugin's object
 *  cs_fw_preempt         scheduling (in post_filter) no         victim selection dry runs
 *  cs_fw_tolerate        scheduling (in pre_filter)  no         an implicit toleration for the attempt
 *  cs_fw_invalidate      any                         no         cached per-node results go stale
 *  fallback              scheduling                  no         a feasible node, per pod attempt
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/encode.h"
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

/* Cluster events a plugin's rejections wait for (coarse mask; queueing_hint refines it). */
enum cs_cluster_event {
    CS_EV_NODE_ADD = 1u << 0,
    CS_EV_NODE_UPDATE = 1u << 1,        /* labels, taints, allocatable, unschedulable */
    CS_EV_NODE_DELETE = 1u << 2,
    CS_EV_POD_ADD = 1u << 3,            /* any pod added (e.g. a gang member arrives) */
    CS_EV_POD_UPDATE = 1u << 4,
    CS_EV_POD_DELETE = 1u << 5,         /* an assigned pod went away: room freed */
    CS_EV_CUSTOM = 1u << 6,             /* a plugin-raised event (cs_fw_raise) */
    CS_EV_ALL = 0x7f,
};

/* A cluster event as queueing hints see it. Objects may be NULL (unknown or not applicable);
 * a hint that cannot tell must answer CS_QHINT_QUEUE. Borrowed for the call. */
struct cs_event_info {
    uint32_t event;                     /* one cs_cluster_event bit */
    const char *custom;                 /* CS_EV_CUSTOM: the name given to cs_fw_raise */
    const struct cs_pod *old_pod, *new_pod;    /* pod events (assigned pods) */
    const struct cs_node *old_node, *new_node; /* node events */
    const void *old_obj, *new_obj;      /* CS_EV_CUSTOM: the plugin's objects (json_t *) */
};

enum cs_qhint {
    CS_QHINT_SKIP = 0,                  /* this event cannot make the pod schedulable */
    CS_QHINT_QUEUE = 1,                 /* it may: retry the pod */
};

/* Plugin flags.
 * CS_PLUGIN_NODE_LOCAL: the plugin's filter and score for a node depend only on the pod's own
 * fields, that node's info, and snapshot-wide data that changes only when the node list or a
 * Node object changes (not when pods are placed). The framework may then reuse a node's filter
 * result and raw score for an equivalent pod (same spec, labels and annotations) as long as the
 * node's info did not change, which makes scheduling a run of identical pods O(changed nodes)
 * instead of O(nodes x plugins) while deciding exactly as a full evaluation would. Plugins whose
 * results depend on other nodes' pods (topology spread, inter-pod affinity) must not set it
 * unless their `node_local` op says, per pod, that they are node-local for that pod. */
#define CS_PLUGIN_NODE_LOCAL 0x1u
/* CS_PLUGIN_POD_META: a node-local plugin whose filter or score reads the pod's own labels or
 * annotations. Without any such plugin in a profile, pods that differ only in labels and
 * annotations (the members of different gangs, replicas of different jobs) share cached
 * results. */
#define CS_PLUGIN_POD_META 0x2u

struct cs_snapshot;

struct cs_fw_call;
/* From pre_filter: only these nodes can fit the pod (kube-scheduler's PreFilterResult). Only
 * they are filtered; every other node gets UnschedulableAndUnresolvable "node(s) didn't satisfy
 * plugin(s) [<plugins>]". Sets from several plugins intersect. Names are copied. */
void cs_fw_prefilter_nodes(struct cs_fw_call *c, const char *const *names, uint32_t n);

/* From pre_filter: the pod tolerates this taint for this attempt, as if it carried a
 * matching toleration (e.g. burst pods tolerate the virtual-node taint implicitly). Filters
 * that test taints ask cs_fw_tolerated. The taint is copied. */
void cs_fw_tolerate(struct cs_fw_call *c, const struct cs_taint *taint);
/* Did a PreFilter of this attempt tolerate the taint (cs_fw_tolerate)? */
bool cs_fw_tolerated(const struct cs_fw_call *c, const struct cs_taint *taint);

/* Services the framework offers plugins (read-only views; stable for the session). */
const struct cs_node_info *cs_snapshot_node(const struct cs_snapshot *s, const char *name);
uint32_t cs_snapshot_num_nodes(const struct cs_snapshot *s);
struct cs_node_info *cs_snapshot_node_at(const struct cs_snapshot *s, uint32_t i);
/* Number of nodes that have the image (ImageLocality's spread factor). */
uint32_t cs_snapshot_image_nodes(const struct cs_snapshot *s, const char *image);

/* Passed to every op of a pod attempt. */
struct cs_fw_call {
    void *priv;                        /* the plugin instance (from init) */
    void **state;                      /* this plugin's per-pod cycle state slot */
    struct cs_arena *arena;            /* pod arena: lives until commit or discard */
    const struct cs_snapshot *snap;
    const struct cs_api_ctx *api;
    void *fw;                          /* framework-private: the pod's attempt */
};

struct cs_node_score {
    int32_t index;                     /* snapshot node index */
    int64_t score;
};

/* What a pod waits behind in the queue (QueueSort input). */
struct cs_queued_pod {
    const struct cs_pod *pod;
    int64_t timestamp_ns;              /* when it was last queued (refreshed on re-add) */
    uint32_t attempts;
};

/* What pre_bind asks the binder to write with the binding: annotations carried in the
 * Binding's metadata, which the apiserver merges into the pod together with spec.nodeName (one
 * write, atomic with the bind). The annotations are also on the pod object the cache and
 * snapshot count, so node-state plugins that rebuild allocations from annotations see this
 * pod's allocation at once. */
struct cs_bind_patch {
    struct cs_label *annotations;      /* arena-owned */
    uint32_t n_annotations;
    uint32_t cap_annotations;
};
void cs_bind_patch_annotate(struct cs_bind_patch *p, struct cs_arena *a, const char *key,
                            const char *value);

/* Per-node status of the last Filter pass, for PostFilter (indexed by snapshot node index). */
struct cs_node_status_map {
    const uint8_t *code;               /* enum cs_code per node; CS_SKIP = not evaluated */
    uint32_t n;
};

/* ---- the framework handle ----------------------------------------------------------------- */

struct cs_fw_handle;                   /* opaque; valid from init until the scheduler stops */

/* A watch on any collection (a CRD, or a built-in kind the core does not watch). */
struct cs_watch_spec {
    const char *name;                  /* for logs ("elasticquotatrees") */
    const char *path;                  /* "/apis/GROUP/VERSION[/namespaces/NS]/RESOURCE" */
    const char *label_selector;        /* optional */
    const char *field_selector;        /* optional */
    /* Informer thread; objects are borrowed for the call. */
    void (*on_add)(void *priv, const json_t *obj);
    void (*on_update)(void *priv, const json_t *old, const json_t *obj);
    void (*on_delete)(void *priv, const json_t *obj);
    /* The resource may not be served (a CRD not installed): a 404 counts as an empty list for
     * cs_scheduler_synced, and the watch keeps retrying until the resource appears. */
    bool optional;
};
/* Register a watch (init only). The scheduler does not schedule before every watch has listed
 * once (cs_scheduler_synced). Returns 0, or -1 with err. */
int cs_fw_watch(struct cs_fw_handle *h, void *priv, const struct cs_watch_spec *w, char *err,
                size_t errlen);

/* Raise a cluster event of the plugin's own (any thread): pods waiting on CS_EV_CUSTOM are
 * offered to the queueing hints of their rejectors with ev->custom = name. */
void cs_fw_raise(struct cs_fw_handle *h, const char *name, const void *old_obj,
                 const void *new_obj);

/* An API write performed on the bind connection (never blocks the caller). */
struct cs_api_write {
    const char *method;                /* "POST", "PUT", "PATCH", "DELETE" */
    const char *path;                  /* e.g. ".../elasticquotatrees/x/status" */
    const char *body;                  /* copied; may be NULL */
    const char *content_type;          /* default application/json (merge-patch for PATCH) */
    /* bind I/O thread; body borrowed for the call; may be NULL */
    void (*done)(void *arg, long http_status, const char *body);
    void *arg;
};
int cs_fw_write(struct cs_fw_handle *h, const struct cs_api_write *w);

/* An Event (events.k8s.io/v1) about any object, e.g. a refused quota tree (any thread; written
 * on the bind connection, dropped under pressure like every Event). ref: api/encode.h. */
void cs_fw_event(struct cs_fw_handle *h, const struct cs_object_ref *ref, const char *type,
                 const char *reason, const char *note);

/* The scheduler's metrics registry (pkg/metrics/metrics.h), for plugins' own families;
 * NULL when there is none (unit tests). Register at init. */
struct cs_metrics_registry;
struct cs_metrics_registry *cs_fw_metrics(struct cs_fw_handle *h);

/* Results the framework cached for equivalent pods (CS_PLUGIN_NODE_LOCAL) are dropped at the
 * next session (any thread): a node-local plugin calls it when snapshot-wide data it reads
 * changed outside the Node objects (a namespace's labels, a node's CPU topology object). */
void cs_fw_invalidate(struct cs_fw_handle *h);

/* Per-node plugin state, part of the node info: created per node, kept current as pods are
 * added to or removed from the node (cache and snapshot alike), copied into the snapshot with
 * the node. Ops run under the cache lock or on the scheduling thread: pure data updates. */
struct cs_node_state_ops {
    void *(*create)(void *arg, const struct cs_node_info *ni);
    void (*destroy)(void *arg, void *st);
    /* Copy src into *dst (NULL: create a new copy); returns the copy. */
    void *(*copy)(void *arg, void *dst, const void *src);
    void (*add_pod)(void *arg, void *st, const struct cs_node_info *ni, const struct cs_pod *pod);
    void (*remove_pod)(void *arg, void *st, const struct cs_node_info *ni,
                       const struct cs_pod *pod);
    /* The Node object changed (may be NULL for a placeholder); optional. */
    void (*set_node)(void *arg, void *st, const struct cs_node_info *ni);
};
/* Register per-node state (init only); returns its slot for cs_node_state(), or -1. */
int cs_fw_node_state(struct cs_fw_handle *h, const struct cs_node_state_ops *ops, void *arg);
/* The plugin's per-node state of a node info (NULL when the slot is unknown). */
void *cs_node_state(const struct cs_node_info *ni, int slot);

/* State shared by every profile that enables the plugin: the first call for `key` creates it
 * with create(arg); later calls (other profiles) return the same object. It is destroyed with
 * the scheduler. */
void *cs_fw_shared(struct cs_fw_handle *h, const char *key, void *(*create)(void *arg),
                   void (*destroy)(void *obj), void *arg);

/* Plugin init input. args is the pluginConfig args for this plugin (borrowed; may be NULL). */
struct cs_plugin_init {
    const json_t *args;
    const char *profile;               /* schedulerName of the profile */
    const struct cs_api_ctx *api;
    struct cs_fw_handle *fw;           /* NULL in unit tests that build profiles bare */
};

/* ---- sessions and groups ------------------------------------------------------------------ */

/* A pod group as the session sees it. */
struct cs_group_view {
    const char *name;                  /* "namespace/name", or the plugin's own qualified name */
    int32_t min_member;
    const struct cs_pod *const *members;  /* the pending members (n_pending of them) */
    const bool *placed;                /* per member: placed in the statement (NULL: none yet) */
    uint32_t n_pending;                /* members taken from the queue for this session */
    uint32_t n_assigned;               /* members bound or assumed already (cache) */
    uint32_t n_placed;                 /* members placed in the current statement */
    int32_t priority;                  /* highest member priority */
};

/* What on_stmt reports. */
enum cs_stmt_event { CS_STMT_EV_EVICT = 0, CS_STMT_EV_NOMINATE };

/* ---- preemption --------------------------------------------------------------------------- */

struct cs_preempt_result {
    const char *node;                  /* chosen node (interned), NULL when none */
    struct cs_pod **victims;           /* pod arena */
    uint32_t n_victims;
    uint32_t pdb_violations;
};

struct cs_plugin {
    unsigned abi;                      /* CS_PLUGIN_ABI_V1 */
    const char *name;                  /* kube-scheduler's plugin name */
    uint32_t events;                   /* cs_cluster_event mask that may make rejected pods fit */
    uint32_t flags;                    /* CS_PLUGIN_* above */

    int (*init)(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen);
    void (*destroy)(void *priv);

    /* Queue (called by the queue under its lock; must be fast and pure). */
    enum cs_code (*pre_enqueue)(void *priv, const struct cs_pod *pod, struct cs_status *st);
    /* Queueing hint: may this event (one of the plugin's `events`) make `pod`, which this
     * plugin rejected, schedulable? NULL = any event of the mask may. */
    enum cs_qhint (*queueing_hint)(void *priv, const struct cs_event_info *ev,
                                   const struct cs_pod *pod);
    bool (*queue_less)(void *priv, const struct cs_queued_pod *a, const struct cs_queued_pod *b);

    /* Scheduling cycle for one pod. */
    enum cs_code (*pre_filter)(struct cs_fw_call *c, const struct cs_pod *pod,
                               struct cs_status *st);
    enum cs_code (*filter)(struct cs_fw_call *c, const struct cs_pod *pod,
                           const struct cs_node_info *ni, struct cs_status *st);
    /* When no node fits (also after a PreFilter rejection). `statuses` has every node's Filter
     * result. CS_SUCCESS with out->node set nominates that node; out->victims are evicted
     * through the session's statement (cs_fw_preempt fills both). */
    enum cs_code (*post_filter)(struct cs_fw_call *c, const struct cs_pod *pod,
                                const struct cs_node_status_map *statuses,
                                struct cs_preempt_result *out, struct cs_status *st);
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

    /* Binding. pre_bind runs when the placement enters a statement and describes what to
     * write before binding; bind claims the binding at commit. */
    enum cs_code (*pre_bind)(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                             struct cs_bind_patch *patch, struct cs_status *st);
    /* CS_SKIP = not mine; CS_SUCCESS = bind through pods/binding to `node`. */
    enum cs_code (*bind)(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                         struct cs_status *st);
    /* Called on the bind I/O thread after a successful bind; must not block. */
    void (*post_bind)(void *priv, const struct cs_pod *pod, const char *node);

    /* Sessions. */
    void (*session_open)(void *priv, const struct cs_snapshot *snap);
    void (*session_close)(void *priv);
    /* Cluster changes, in the order the cache saw them, replayed at session open (scheduling
     * thread): assigned pods (bound, or assumed by us) appear, change and go; nodes likewise.
     * old is NULL on add, new is NULL on delete. */
    void (*on_pod)(void *priv, const struct cs_pod *old, const struct cs_pod *new_pod);
    void (*on_node)(void *priv, const struct cs_node *old, const struct cs_node *new_node);
    /* Pending (unassigned) pods, replayed like on_pod: pod is the newest version, NULL when
     * the pod with this key was deleted. A pod that gets assigned appears through on_pod. */
    void (*on_pending)(void *priv, const char *key, const struct cs_pod *pod);
    /* The session's statement evicted a victim or nominated a preemptor on the snapshot
     * (undo: the op was rolled back or discarded). Dry runs included: plugins that account
     * cluster-wide (quotas) follow the snapshot with it. Allocations are Reserve/Unreserve. */
    void (*on_stmt)(void *priv, enum cs_stmt_event ev, const struct cs_pod *pod,
                    const char *node, bool undo);

    /* Groups (enabled with the Permit extension point, or multiPoint: kube-scheduler's
     * coscheduling is configured at Permit). pod_group names the group a pod belongs to and its minimum member count; the
     * session takes a group's pending members from the queue together and places them through
     * one statement, committed only when the group is ready. A name without '/' is the pod's
     * namespace's; a name with '/' is taken as qualified (groups spanning namespaces). The
     * string need only live until the call returns. Also called by the queue (any thread, queue
     * lock held). When group_valid refuses a group, its members wait for the plugin's events. */
    const char *(*pod_group)(void *priv, const struct cs_pod *pod, int32_t *min_member);
    /* May the group be attempted now? (e.g. its PodGroup object exists). NULL = yes. The
     * reason is copied before the next call. Refused with CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
     * the members wait for custom events only (cs_fw_raise); else for the plugin's events. */
    bool (*group_valid)(void *priv, const struct cs_group_view *g, struct cs_status *st);
    /* Is the group ready to commit? NULL = n_placed + n_assigned >= min_member. */
    bool (*group_ready)(void *priv, const struct cs_group_view *g);
    /* Order of units (groups and single pods) in a session: a before b? NULL = priority desc,
     * then queue timestamp. */
    bool (*group_less)(void *priv, const struct cs_group_view *a, const struct cs_group_view *b);

    /* Preemption engine extension (pkg/framework/preempt.h). */
    /* May `victim` be evicted for `preemptor`? NULL = yes (priority rules apply anyway). */
    bool (*may_evict)(void *priv, const struct cs_pod *preemptor, const struct cs_pod *victim);
    /* Is the cluster acceptable once these victims are gone (quota, gang minimums)? */
    bool (*victims_ok)(void *priv, const struct cs_pod *preemptor,
                       struct cs_pod *const *victims, uint32_t n);

    /* Per pod: does this plugin behave as CS_PLUGIN_NODE_LOCAL for this pod (e.g. a pod
     * without spread constraints)? NULL = the flag decides. */
    bool (*node_local)(void *priv, const struct cs_pod *pod);

    /* A node-local plugin that reads only these pod label / annotation keys (NULL-terminated)
     * sets them instead of CS_PLUGIN_POD_META: equivalent pods must then agree on these keys
     * (as labels and as annotations), not on all their metadata. */
    const char *const *meta_keys;

    /* Fallback nodes: a node that passed every filter but that this plugin wants for the pod
     * only when no other node fits (ECS before ECI). The cycle then picks among the other
     * feasible nodes, and among the fallback ones only when there is none. Node-local:
     * the answer may depend only on the pod and the node. NULL = never a fallback. */
    bool (*fallback)(struct cs_fw_call *c, const struct cs_pod *pod,
                     const struct cs_node_info *ni);
};

#endif
