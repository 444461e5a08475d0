#ifndef CS_API_PLACED_H
#define CS_API_PLACED_H
/*
 * The pod as the API server will hold it once we bind it: the queued pod with spec.nodeName set
 * and the annotations PreBind writes merged in. The cache and the snapshot count this object for
 * pods we place, so that what they hold matches the API server (plugins that rebuild allocations
 * from annotations, such as cpusets or GPU indexes, see ours at once) and the watch event that
 * confirms the bind changes nothing.
 *
 * Ownership: a new counted object whose own arena holds the merged annotation array and copies
 * of the new strings; every other field is borrowed from `pod`, which it keeps alive (base).
 */
#include <stdint.h>

#include "api/types.h"

struct cs_pod *cs_pod_placed(struct cs_pod *pod, const char *node, const struct cs_label *ann,
                             uint32_t n_ann);

#endif
