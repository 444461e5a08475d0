/*
 * PrioritySort (QueueSort): higher spec.priority first (absent = 0), then the pod queued
 * earlier. Pure and O(1): it runs inside the queue's heap operations under the queue lock.
 */
#include "plugins/registry.h"

static bool prio_less(void *priv, const struct cs_queued_pod *a, const struct cs_queued_pod *b)
{
    (void)priv;
    int32_t pa = a->pod->priority;
    int32_t pb = b->pod->priority;
    if (pa != pb) {
        return pa > pb;
    }
    return a->timestamp_ns < b->timestamp_ns;
}

const struct cs_plugin cs_plugin_prioritysort = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "PrioritySort",
    .events = 0,
    .queue_less = prio_less,
};
