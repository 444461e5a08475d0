#ifndef CS_PKG_FRAMEWORK_NOMINATOR_H
#define CS_PKG_FRAMEWORK_NOMINATOR_H
/*
 * Nominated pods (kube-scheduler's nominator): a pending pod that preemption nominated to a node
 * (status.nominatedNodeName) keeps a claim there, so Filter counts it on that node for every pod
 * of lower or equal priority until it is bound, deleted, or nominated elsewhere.
 *
 * Thread: the scheduling thread nominates and reads; the informer thread removes pods that were
 * deleted or bound. One mutex. Holds counted pod references.
 */
#include <pthread.h>
#include <stdint.h>

#include "api/types.h"
#include "pkg/util/arena.h"
#include "pkg/util/map.h"

struct cs_nominator {
    pthread_mutex_t mu;
    struct cs_map by_pod;          /* pod key -> struct cs_nomination * */
    struct cs_map by_node;         /* node name -> the node's nominations (nominator.c) */
    uint32_t n;
};

void cs_nominator_init(struct cs_nominator *n);
void cs_nominator_destroy(struct cs_nominator *n);
/* Record (or move) the pod's nomination. node NULL removes it. */
void cs_nominator_set(struct cs_nominator *n, struct cs_pod *pod, const char *node);
void cs_nominator_remove(struct cs_nominator *n, const char *key);
/* The node the pod is nominated to (interned), or NULL. */
const char *cs_nominator_node_of(struct cs_nominator *n, const char *key);
uint32_t cs_nominator_len(struct cs_nominator *n);
/* Pods nominated to `node` that count for `pod`: other pods with priority >= pod's. *out is an
 * arena array of counted references (the caller unrefs each). */
uint32_t cs_nominator_on_node(struct cs_nominator *n, const char *node, const struct cs_pod *pod,
                              struct cs_pod ***out, struct cs_arena *a);

#endif
