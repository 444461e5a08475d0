#ifndef CS_PKG_BINDER_RECORDER_H
#define CS_PKG_BINDER_RECORDER_H
/*
 * Feedback to users: events.k8s.io/v1 Events (Scheduled, FailedScheduling) and the pod's
 * PodScheduled=False condition, written asynchronously and never blocking scheduling.
 * At most max_in_flight writes are outstanding; the rest wait in a FIFO of max_pending entries
 * and go out as earlier ones complete, so bursts of thousands of binds are reported in full
 * without crowding binds off the connections. Beyond max_pending, writes are dropped and
 * counted (the scheduler's correctness never depends on them), as client-go's broadcaster
 * drops under pressure. A 404 on a status patch (pod gone) is expected.
 *
 * Thread: any thread; completions run on the client's I/O thread.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "api/types.h"

struct cs_client;

struct cs_recorder_item;

struct cs_recorder {
    struct cs_client *client;
    const char *instance;          /* reportingInstance (owned) */
    long max_in_flight;
    long max_pending;
    pthread_mutex_t mu;            /* guards the FIFO and in_flight decisions */
    struct cs_recorder_item *head;
    struct cs_recorder_item *tail;
    long n_pending;
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
/* The same for a pod known only by reference (e.g. one that failed to decode). */
void cs_recorder_event_ref(struct cs_recorder *r, const char *ns, const char *name,
                           const char *uid, const char *type, const char *reason,
                           const char *action, const char *note, const char *controller);
/* The same for any object (kind and apiVersion given). */
void cs_recorder_event_obj(struct cs_recorder *r, const char *kind, const char *api_version,
                           const char *ns, const char *name, const char *uid, const char *type,
                           const char *reason, const char *action, const char *note,
                           const char *controller);
/* PATCH pods/{name}/status: PodScheduled=False with reason (Unschedulable|SchedulerError). */
void cs_recorder_unschedulable(struct cs_recorder *r, const struct cs_pod *pod, const char *reason,
                               const char *message);

#endif
