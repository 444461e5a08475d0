#ifndef CS_PLUGINS_HELPER_NODEMATCH_H
#define CS_PLUGINS_HELPER_NODEMATCH_H
/*
 * A pod's node selection rules against one node, as kube-scheduler's nodeaffinity helper
 * (RequiredNodeAffinity) evaluates them: nodeSelector, required and preferred node-affinity
 * terms. Shared by NodeAffinity and by PodTopologySpread's nodeAffinityPolicy. Pure, no
 * allocation.
 *
 * A term matches when its matchExpressions and its matchFields (metadata.name In/NotIn, one
 * value) both hold; a term with neither matches nothing, and a term upstream cannot parse
 * (`invalid`, or matchFields on another field or operator) never matches.
 */
#include <stdbool.h>
#include <stdint.h>

#include "api/types.h"

#define CS_NODE_NAME_FIELD "metadata.name"

bool cs_node_term_matches(const struct cs_node_selector_term *t, const struct cs_node *node);
/* Do any of the n (ORed) terms match? */
bool cs_node_terms_match(const struct cs_node_selector_term *terms, uint32_t n,
                         const struct cs_node *node);
/* Sum of the weights of the matching preferred terms (weight 0 ignored). */
int64_t cs_node_preferred_score(const struct cs_preferred_term *terms, uint32_t n,
                                const struct cs_node *node);
/* Does the pod carry required node affinity (possibly an empty term list)? */
bool cs_pod_has_required_node_affinity(const struct cs_pod *pod);
/* nodeSelector (every key=value present) AND at least one required term, when there are. */
bool cs_pod_required_node_match(const struct cs_pod *pod, const struct cs_node *node);

#endif
