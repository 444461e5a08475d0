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
};

void cs_cache_init(struct cs_cache *c);
void cs_cache_destroy(struct cs_cache *c);

/* Nodes (informer thread). The cache takes its own reference. */
void cs_cache_upsert_node(struct cs_cache *c, struct cs_node *node);
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
