#ifndef CS_PLUGINS_HELPER_HELPER_H
#define CS_PLUGINS_HELPER_HELPER_H
/*
 * Small pieces shared by several plugins (kube-scheduler's v1helper and plugins/helper):
 * toleration matching and the default score normalisation. Pure functions, no allocation.
 */
#include <stdbool.h>
#include <stdint.h>

#include "api/plugin.h"
#include "api/types.h"

#define CS_MAX_NODE_SCORE 100

/* Nullable string equality (NULL and "" are equal: both mean "empty"). */
bool cs_plugin_str_eq(const char *a, const char *b);

/* Toleration.ToleratesTaint: effect (empty matches all), key (empty matches all keys),
 * operator Exists (any value) or Equal (values equal). */
bool cs_toleration_tolerates(const struct cs_toleration *t, const struct cs_taint *taint);
/* Does any of the n tolerations tolerate the taint? */
bool cs_tolerations_tolerate(const struct cs_toleration *t, uint32_t n,
                             const struct cs_taint *taint);

/* helper.DefaultNormalizeScore: scale so the maximum becomes max_priority (integer division);
 * with reverse, score = max_priority - scaled; when every score is 0, reverse yields
 * max_priority everywhere and non-reverse leaves zeros. */
void cs_default_normalize_score(int64_t max_priority, bool reverse, struct cs_node_score *scores,
                                uint32_t n);

#endif
