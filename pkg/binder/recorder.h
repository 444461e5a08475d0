#ifndef CS_PKG_BINDER_RECORDER_H
#define CS_PKG_BINDER_RECORDER_H
/*
 * Feedback to users: events.k8s.io/v1 Events (Scheduled, FailedScheduling) and the pod's
 * PodScheduled=False condition, written asynchronously and never blocking scheduling.
 * Writes are fire-and-forget with a bounded number in flight; beyond that they are dropped
 * and counted (the scheduler's correctness never depends on them), like client-go's event
 * broadcaster which drops under pressure. A 404 on a status patch (pod gone) is expected.
 *
 * Thread: any thread.
 */
#include <stdatomic.h>

#include "api/types.h"

struct cs_client;

struct cs_recorder {
    struct cs_client *client;
    const char *instance;          /* reportingInstance (owned) */
    long max_in_flight;
    atomic_long in_flight;
    atomic_long sent;
    atomic_long dropped;
    atomic_long failed;
};

void cs_recorder_init(struct cs_recorder *r, struct cs_client *client, const char *instance,
                      long max_in_flight);
void cs_recorder_destroy(struct cs_recorder *r);
/* type "Normal"/"Warning"; action "Binding"/"Scheduling"; controller = profile schedulerName. */
void cs_recorder_event(struct cs_recorder *r, const struct cs_pod *pod, const char *type,
                       const char *reason, const char *action, const char *note,
                       const char *controller);
/* PATCH pods/{name}/status: PodScheduled=False with reason (Unschedulable|SchedulerError). */
void cs_recorder_unschedulable(struct cs_recorder *r, const struct cs_pod *pod, const char *reason,
                               const char *message);

#endif
