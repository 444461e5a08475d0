#ifndef CS_PKG_FRAMEWORK_PREEMPT_H
#define CS_PKG_FRAMEWORK_PREEMPT_H
/*
 * The preemption engine: victim selection as a service for PostFilter plugins (DefaultPreemption,
 * gang and quota preemption). kube-scheduler's algorithm, extended by two plugin ops:
 *
 *   eligible    preemptionPolicy Never, or a lower-priority pod still terminating on the pod's
 *               nominated node, make the pod ineligible;
 *   candidates  nodes whose Filter status is not UnschedulableAndUnresolvable, visited from a
 *               random offset; dry runs stop after max(minCandidateNodesAbsolute,
 *               N * minCandidateNodesPercentage / 100) candidates (capped at N) that violate no
 *               PodDisruptionBudget;
 *   victims     on a node: every pod of lower priority that each plugin's may_evict allows is
 *               removed; if the preemptor then passes Filter, victims are reprieved one by one
 *               (PDB-violating first, then the rest, each by priority descending, earlier start
 *               first) while it still fits; the remaining set must satisfy every plugin's
 *               victims_ok;
 *   pick        fewest PDB violations, then the lowest highest-victim priority, the smallest sum
 *               of (priority + 2^31), the fewest victims, the latest start among the
 *               highest-priority victims, then the first found.
 *
 * Dry runs change snapshot nodes in place and restore them exactly (pods, aggregates, plugin
 * node state, version). Runs on the scheduling thread, inside PostFilter.
 */
#include <stdbool.h>
#include <stdint.h>

#include "api/plugin.h"

struct cs_preempt_opts {
    int32_t min_candidate_pct;     /* 0 = 10; negative = an explicit 0 */
    int32_t min_candidate_abs;     /* 0 = 100; negative = an explicit 0 */
    /* Would evicting the victim violate a PodDisruptionBudget? NULL = no budgets. */
    bool (*violates_pdb)(void *arg, const struct cs_pod *victim);
    void *pdb_arg;
    /* Which pods may be victims at all, replacing "lower priority than the preemptor" (quota
     * reclaim takes borrowed capacity back at any priority). NULL = lower priority. Pods
     * being deleted are never victims. */
    bool (*eligible)(void *arg, const struct cs_pod *preemptor, const struct cs_pod *victim);
    void *eligible_arg;
};

/* Every plugin's may_evict / victims_ok of the attempt's profile (for PostFilter plugins that
 * select victims themselves). */
bool cs_fw_may_evict(struct cs_fw_call *c, const struct cs_pod *pod, const struct cs_pod *victim);
bool cs_fw_victims_ok(struct cs_fw_call *c, const struct cs_pod *pod,
                      struct cs_pod *const *victims, uint32_t n);

/* From PostFilter: c and pod as PostFilter got them. CS_SUCCESS with out filled (victims in the
 * pod arena, borrowed from the snapshot), or CS_UNSCHEDULABLE with *why (static text). */
enum cs_code cs_fw_preempt(struct cs_fw_call *c, const struct cs_pod *pod,
                           const struct cs_node_status_map *statuses,
                           const struct cs_preempt_opts *opts, struct cs_preempt_result *out,
                           const char **why);

#endif
