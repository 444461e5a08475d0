#ifndef CS_API_PODROOM_H
#define CS_API_PODROOM_H
/*
 * How large a decoded pod's one allocation should be.
 *
 * A pod object and its strings and arrays share the first block of its arena (cs_pod_new), so
 * a cached pod costs one allocator size class when it fits and a second block when it does not.
 * Which class fits depends on the cluster's pods (a bare benchmark pod needs ~850 bytes, a
 * pod with a sidecar, ten labels and a few annotations twice that), so it is learnt: every
 * decode reports what its pod used, and new pods get the smallest class that held 90% of the
 * recent ones (counts halve every 256 reports, so the choice follows a changing workload).
 * Pods that outgrow it spill into 1 KiB blocks and are still correct, only less compact.
 *
 * Thread-safe (relaxed atomics: a report lost to a race only delays the choice).
 */
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Allocation sizes tried, jemalloc's size classes from 768 bytes to 3 KiB. */
#define CS_POD_ROOM_CLASSES 9

struct cs_pod_room {
    _Atomic uint32_t cls;                       /* index of the class in use */
    _Atomic uint32_t hist[CS_POD_ROOM_CLASSES]; /* reports per class needed (last: larger) */
    _Atomic uint32_t reports;
};

void cs_pod_room_init(struct cs_pod_room *r);
/* Bytes of the allocation a new pod should start with (its object, arena header and room);
 * r may be NULL (1 KiB, where a new table starts). */
size_t cs_pod_room_size(const struct cs_pod_room *r);
/* A decoded pod needed `bytes` (object, arena header and everything it allocated). */
void cs_pod_room_note(struct cs_pod_room *r, size_t bytes);

#endif
