#ifndef CS_PKG_KQUEUE_CONTROLLER_H
#define CS_PKG_KQUEUE_CONTROLLER_H
/*
 * The job queue controller: informers in, writes out, the model (kqueue.h) in between.
 *
 * Watches the enabled job kinds, QueueUnits, Queues (in the queue namespace), the
 * ElasticQuotaTree, pods, namespaces (their allow-list annotations) and PriorityClasses.
 * Everything runs on the client's I/O thread, so the model needs no lock.
 *
 *   held job, never started, no QueueUnit  -> create QueueUnit <job>-<kind> (ownerReference to
 *                                             the job, total requests, priority, queue)
 *   release pass (after any change)        -> QueueUnit status phase Dequeued, THEN the job's
 *                                             release patch (so a restart between the two finds
 *                                             a Dequeued unit with a held job and releases it
 *                                             again: never released twice, never lost)
 *   job's pods run / job or pods finish    -> phase Running / Succeed / Failed (the reservation
 *                                             goes with the finish and the next job is released)
 *   job deleted                            -> its QueueUnit is deleted
 *   unit kept out by an allow-list         -> it waits in no queue's order, status.message
 *   (namespace or Queue annotations,          names the list, a Warning Event NotAllowed on
 *   kqueue.h)                                 the QueueUnit (once per time it is kept out)
 *   tree changes                           -> one Queue per quota node in the queue namespace
 *                                             (label create-by-kubequeue=true, annotation
 *                                             kube-queue/quota-fullname); stale ones deleted
 * A released job declares a gang (ACK's pod-group labels on each pod template, min-available =
 * all of its pods) unless a template declares one already, so the scheduler binds all or none.
 * A job released longer than the requeue timeout with fewer pods bound than it runs at once is
 * suspended again (its reservation freed, the unit Enqueued with the reason, released again
 * after a backoff that doubles per requeue). With no ElasticQuotaTree, plain ResourceQuotas
 * gate the release (what the namespace's pods request, jobs holding a reservation counted by
 * their reservation instead).
 * Metrics: cosched_queue_length{queue}, cosched_queue_admitted_total{queue},
 * cosched_queue_wait_seconds{queue} (creation to release), cosched_queue_requeued_total{queue}.
 * Waiting units get their position and reason in status.message; each Queue its
 * status.queueItemDetails. Bad input (a template that cannot be read, a unit naming a missing
 * queue, an invalid tree) gets a Warning Event on the object and a log line.
 *
 * Nothing is decided before every informer has listed once (a restart sees every reservation
 * before it releases anything).
 */
#include <stdbool.h>

#include "pkg/kqueue/jobkind.h"
#include "pkg/kqueue/kqueue.h"

struct cs_client;
struct cs_metrics_registry;
struct cs_kq_controller;

struct cs_kq_controller_opts {
    struct cs_client *client;
    const struct cs_kq_kind *const *kinds;
    size_t n_kinds;
    const char *queue_namespace;     /* "kube-queue" */
    enum cs_kq_policy policy;        /* of queues whose Queue object names none */
    bool preemptible;                /* jobs without a preemptible label */
    const char *identity;            /* reportingInstance of Events */
    bool no_gang;                    /* release jobs without gang labels */
    int64_t requeue_timeout_ms;      /* a released job not fully scheduled after this is
                                      * suspended again and requeued; 0: never */
    int64_t requeue_backoff_ms;      /* first backoff (doubles per requeue, at most 10 min) */
    struct cs_metrics_registry *metrics;   /* borrowed; NULL: no metrics */
};

struct cs_kq_controller *cs_kq_controller_new(const struct cs_kq_controller_opts *o, char *err,
                                              size_t errlen);
int cs_kq_controller_start(struct cs_kq_controller *c, char *err, size_t errlen);
bool cs_kq_controller_synced(struct cs_kq_controller *c);
/* Stop the informers (no handler runs after it returns; writes in flight still complete). */
void cs_kq_controller_stop(struct cs_kq_controller *c);
/* Free, once the client is stopped (completions of writes refer to the controller). */
void cs_kq_controller_free(struct cs_kq_controller *c);

#endif
