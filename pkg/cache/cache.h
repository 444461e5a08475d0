#ifndef CS_PKG_CACHE_CACHE_H
#define CS_PKG_CACHE_CACHE_H
/*
 * The scheduler cache: the one place that holds cluster state the scheduler decides on.
 *
 * It keeps one node info per node (requested resources, pod count, ports, the pods themselves)
 * and every pod that counts on a node: pods the API server reports as assigned (of any
 * scheduler) and pods this scheduler *assumed* (decided, binding not yet confirmed by the
 * watch). An assumed pod is confirmed when the informer reports it assigned, or forgotten when
 * its bind fails. Each change bumps a global generation and moves the node to the head of a
 * recency list, so cs_cache_update_snapshot copies only the nodes that changed since the
 * snapshot's generation (kube-scheduler's UpdateSnapshot, O(changed)).
 *
 * Thread model: one mutex. The informer thread writes nodes and assigned pods; the scheduler
 * thread assumes pods and refreshes its snapshot; the binder forgets or finishes bindings.
 * The cache holds counted references to pod and node objects.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/nodeinfo.h"
#include "pkg/util/map.h"

struct cs_snapshot;

struct cs_cache_node {
    struct cs_node_info info;
    struct cs_cache_node *prev;
    struct cs_cache_node *next;
};

struct cs_cache_pod {
    char *key;              /* owned "ns/name" */
    const char *group;      /* group key from the group_of hook (interned), or NULL */
    struct cs_pod *pod;     /* counted reference: the version counted on the node */
    const char *node;       /* interned node name */
    bool assumed;           /* decided by us, not yet seen assigned by the informer */
    bool binding_done;      /* the bind call succeeded; waiting for the watch */
};

struct cs_cache {
    pthread_mutex_t mu;
    struct cs_map nodes;            /* name -> struct cs_cache_node * */
    struct cs_map pods;             /* key -> struct cs_cache_pod * */
    struct cs_cache_node *head;     /* most recently changed first */
    uint64_t generation;
    uint32_t n_real_nodes;          /* nodes that have a Node object */
    uint32_t n_assumed;
    const struct cs_node_state_reg *nsreg;  /* per-node plugin state kinds (may be NULL) */
    /* Groups: the group key a pod counts toward (bound or assumed members), or NULL. Called
     * under the cache lock: pure. */
    const char *(*group_of)(void *arg, const struct cs_pod *pod);
    void *group_arg;
    struct cs_map groups;           /* group key -> (uintptr_t) bound + assumed members */
    /* Change journal for plugins' on_pod/on_node (enabled when someone drains it). */
    bool journal_on;
    struct cs_cache_change *journal;
    uint32_t n_journal;
    uint32_t cap_journal;
};

/* One change of an assigned pod or a node, as plugins are told of it (counted references).
 * pending_key set: a pending (unassigned) pod changed instead: new_pod is its version, NULL
 * when it is no longer pending because it went away (deleted). */
struct cs_cache_change {
    struct cs_pod *old_pod;
    struct cs_pod *new_pod;
    struct cs_node *old_node;
    struct cs_node *new_node;
    char *pending_key;             /* owned */
};

void cs_cache_init(struct cs_cache *c);
void cs_cache_destroy(struct cs_cache *c);
/* Configuration, before any node or pod arrives. */
void cs_cache_set_node_states(struct cs_cache *c, const struct cs_node_state_reg *reg);
void cs_cache_set_group_fn(struct cs_cache *c,
                           const char *(*group_of)(void *arg, const struct cs_pod *pod), void *arg);
void cs_cache_enable_journal(struct cs_cache *c);
/* Bound plus assumed members of a group (key as group_of returns it). */
uint32_t cs_cache_group_count(struct cs_cache *c, const char *group);
/* Hand the journal's changes since the last drain to fn, in order, outside the lock (the
 * references are released after each call). Returns the number of changes. */
uint32_t cs_cache_drain(struct cs_cache *c, void (*fn)(void *arg, const struct cs_cache_change *ch),
                        void *arg);

/* Journal a pending pod's change (informer thread; no-op unless the journal is on): pod is the
 * new version, NULL when the pod with this key is gone. */
void cs_cache_journal_pending(struct cs_cache *c, const char *key, struct cs_pod *pod);

/* Nodes (informer thread). The cache takes its own reference. */
void cs_cache_upsert_node(struct cs_cache *c, struct cs_node *node);
/* The same, returning the version it replaced (a counted reference, or NULL). */
struct cs_node *cs_cache_upsert_node_old(struct cs_cache *c, struct cs_node *node);
void cs_cache_remove_node(struct cs_cache *c, const char *name);

/* Assigned pods reported by the API server (pod->node_name set). Confirms an assumed pod of the
 * same key (moving it if the server placed it elsewhere). Replaces an older version. */
void cs_cache_upsert_pod(struct cs_cache *c, struct cs_pod *pod);
/* The informer reports `key` assigned to `node` and the cache holds exactly that decision as
 * an assumed pod of the same uid: confirm it in place (the counted object stays; nothing is
 * re-decoded). Returns true when confirmed, false when the caller must upsert the decoded pod
 * (unknown, different uid or node, or already confirmed). */
bool cs_cache_confirm_assumed(struct cs_cache *c, const char *key, const char *uid,
                              const char *node);
/* A pod went away (deleted, or finished): stop counting it. No-op when unknown. */
void cs_cache_remove_pod(struct cs_cache *c, const char *key);

/* Scheduler decisions. assume returns 0, or -1 when the pod is already in the cache (it must
 * never be counted twice). */
int cs_cache_assume_pod(struct cs_cache *c, struct cs_pod *pod, const char *node);
/* Assume all of pods[i] on their own node_name, or none: returns 0, or -1 with *bad set to the
 * first pod already in the cache (then nothing changed). */
int cs_cache_assume_all(struct cs_cache *c, struct cs_pod *const *pods, uint32_t n, uint32_t *bad);
/* Is the key in the cache (bound or assumed)? */
bool cs_cache_has_pod(struct cs_cache *c, const char *key);
void cs_cache_finish_binding(struct cs_cache *c, const char *key);
/* Drop an assumed pod (bind failed). Returns 0, or -1 when the pod is not assumed (then
 * nothing changes: a confirmed pod is never forgotten). */
int cs_cache_forget_pod(struct cs_cache *c, const char *key);
bool cs_cache_is_assumed(struct cs_cache *c, const char *key);
/* Node the pod counts on (interned), or NULL. */
const char *cs_cache_pod_node(struct cs_cache *c, const char *key);

/* Bring snap up to date with the cache (copies changed nodes only). */
void cs_cache_update_snapshot(struct cs_cache *c, struct cs_snapshot *snap);

struct cs_cache_stats {
    uint32_t nodes;
    uint32_t pods;
    uint32_t assumed;
};
void cs_cache_stats(struct cs_cache *c, struct cs_cache_stats *out);

#endif
