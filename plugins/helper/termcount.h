#ifndef CS_PLUGINS_HELPER_TERMCOUNT_H
#define CS_PLUGINS_HELPER_TERMCOUNT_H
/*
 * Pods matching a term, counted per node and per topology domain, kept current across pod
 * attempts (PodTopologySpread's constraints, InterPodAffinity's terms).
 *
 * kube-scheduler recounts every pod of every node at each PreFilter. Here a term (namespaces,
 * label selector, topology key) gets an entry whose per-node counts are stamped with the
 * snapshot node's version (cs_snapshot: a node's `generation` moves whenever its pods or its
 * Node object change, in the cache or through a statement). cs_tc_get rescans only the nodes
 * whose version moved since the entry was last read and adjusts the domain totals by the
 * difference, so a stream of pods with the same constraint costs O(nodes) integer compares
 * plus O(pods on changed nodes) per attempt, not O(pods). A change of the node list or of
 * snapshot-wide data (the snapshot's epoch, e.g. a namespace's labels: cs_fw_invalidate)
 * rebuilds the entry.
 *
 * Ownership: a cache belongs to one plugin instance and is used on the scheduling thread only.
 * Entries copy what they keep (the selector is recompiled from its text); the namespace
 * matcher is called only inside cs_tc_get. Views stay valid until the next cs_tc_begin (the
 * next attempt): entries read since then are never evicted.
 */
#include <stdbool.h>
#include <stdint.h>

#include "api/types.h"

struct cs_snapshot;
struct cs_node_info;
struct cs_tc;

/* A term. Its identity is (ns_key, selector, topology_key, skip_terminating): two terms with
 * the same identity must select the same pods. */
struct cs_tc_term {
    /* Which namespaces' pods count: ns_key names the set ("ns:<name>", "any", "sel:<text>"...);
     * ns_match decides for one namespace (called during cs_tc_get only). NULL ns_match: only
     * the namespace named by `ns`. */
    const char *ns_key;
    const char *ns;
    bool (*ns_match)(void *arg, const char *ns);
    void *ns_arg;
    /* The label selector in cs_selector_parse syntax ("" matches every pod); the caller merges
     * matchLabelKeys / mismatchLabelKeys into it (k=v, k!=v). NULL matches no pod. */
    const char *selector;
    const char *topology_key;        /* interned; nodes without the label have no domain */
    bool skip_terminating;           /* pods with a deletionTimestamp do not count */
};

/* What a term counts on the snapshot. Arrays are indexed by snapshot node index (n_nodes) or
 * by domain id (n_domains; ids are stable for the life of the entry, a domain whose nodes are
 * all gone stays with domain_nodes 0). */
struct cs_tc_view {
    uint32_t n_nodes;
    const int32_t *node_count;       /* matching pods on the node */
    const int32_t *node_domain;      /* the node's domain id, -1 without the topology label */
    const uint64_t *node_version;    /* the node version counted: a node info whose generation
                                      * differs was changed since (a preemption dry run) and
                                      * must be recounted by the caller (cs_tc_count_node) */
    uint32_t n_domains;
    const char *const *domain_value; /* the topology label's value */
    const int64_t *domain_count;     /* matching pods on the domain's nodes */
    const int32_t *domain_nodes;     /* nodes of the snapshot in the domain */
    int64_t total;                   /* matching pods on nodes that have a domain */
};

/* max_entries bounds the terms kept between attempts (least recently read evicted first). */
struct cs_tc *cs_tc_new(uint32_t max_entries);
void cs_tc_free(struct cs_tc *tc);
/* Start of a pod attempt: views handed out before may go away from now on. */
void cs_tc_begin(struct cs_tc *tc);
/* The term's counts on snap, brought up to date. NULL only when the selector text does not
 * parse (the caller validated it: a bug), with err set. */
const struct cs_tc_view *cs_tc_get(struct cs_tc *tc, const struct cs_snapshot *snap,
                                   const struct cs_tc_term *t, char *err, size_t errlen);
/* Does the term select this pod (namespace, labels, terminating)? For the incoming pod's
 * "matches its own term" rules. */
bool cs_tc_term_matches(struct cs_tc *tc, const struct cs_tc_term *t, const struct cs_pod *pod);

/* Matching pods on one node info, counted now (a node changed in place during the attempt). */
int32_t cs_tc_count_node(struct cs_tc *tc, const struct cs_tc_term *t,
                         const struct cs_node_info *ni);

/* Stats for tests and logs: entries kept, node rescans done since creation. */
uint32_t cs_tc_entries(const struct cs_tc *tc);
uint64_t cs_tc_rescans(const struct cs_tc *tc);

#endif
