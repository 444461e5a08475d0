#ifndef CS_PKG_METRICS_SCHED_METRICS_H
#define CS_PKG_METRICS_SCHED_METRICS_H
/*
 * kube-scheduler's metrics (same names, label names and buckets) plus cosched's own, created
 * in a registry the scheduler owns. The struct holds a pointer per family so hot paths never
 * look a metric up by name; label values are passed in the order of the comment beside each
 * field (that order, not the alphabetical rendering order).
 *
 * Ownership: the families belong to the registry; the struct only borrows them and is valid
 * while the registry lives. Thread context: any (see metrics.h).
 */
#include "pkg/metrics/metrics.h"

/* Label values of scheduler_schedule_attempts_total / ..._attempt_duration_seconds */
#define CS_SCHED_RESULT_SCHEDULED "scheduled"
#define CS_SCHED_RESULT_UNSCHEDULABLE "unschedulable"
#define CS_SCHED_RESULT_ERROR "error"
/* scheduler_pending_pods{queue} and scheduler_queue_incoming_pods_total{queue} */
#define CS_SCHED_QUEUE_ACTIVE "active"
#define CS_SCHED_QUEUE_BACKOFF "backoff"
#define CS_SCHED_QUEUE_UNSCHEDULABLE "unschedulable"
#define CS_SCHED_QUEUE_GATED "gated"
/* scheduler_scheduler_cache_size{type} */
#define CS_SCHED_CACHE_NODES "nodes"
#define CS_SCHED_CACHE_PODS "pods"
#define CS_SCHED_CACHE_ASSUMED "assumed_pods"

struct cs_sched_metrics {
    struct cs_metric *schedule_attempts;          /* counter {result, profile} */
    struct cs_metric *attempt_duration;           /* histogram {result, profile} exp(0.001,2,15) */
    struct cs_metric *pending_pods;               /* gauge {queue} */
    struct cs_metric *extension_point_duration;   /* histogram {extension_point, status,
                                                     profile} exp(0.0001,2,12) */
    struct cs_metric *plugin_execution_duration;  /* histogram {plugin, extension_point,
                                                     status} exp(0.00001,1.5,20) */
    struct cs_metric *preemption_attempts;        /* counter */
    struct cs_metric *preemption_victims;         /* histogram exp(1,2,7) */
    struct cs_metric *pod_scheduling_attempts;    /* histogram exp(1,2,5) */
    struct cs_metric *algorithm_duration;         /* histogram exp(0.001,2,15) */
    struct cs_metric *queue_incoming_pods;        /* counter {queue, event} */
    struct cs_metric *cache_size;                 /* gauge {type} */
    struct cs_metric *binds;                      /* counter cosched_binds_total {result} */
    struct cs_metric *attempt_duration_fine;      /* histogram cosched_scheduling_attempt_
                                                   * duration_seconds {result} exp(1e-5,2,20) */
    struct cs_metric *session_duration;           /* histogram cosched_session_duration_seconds
                                                     exp(0.001,2,15) */
    struct cs_metric *leader_status;              /* gauge leader_election_master_status {name}
                                                     (client-go's): 1 leading, 0 standby */
};

/* Register every family in reg (which must not already hold them). Returns 0, or -1 when a
 * registration failed (e.g. the names were already registered); the struct is then partly
 * filled and the registry keeps what was registered. */
int cs_sched_metrics_init(struct cs_sched_metrics *m, struct cs_metrics_registry *reg);

/* One scheduling attempt: increments schedule_attempts{result,profile} and observes
 * attempt_duration{result,profile}. */
void cs_sched_metrics_attempt(const struct cs_sched_metrics *m, const char *result,
                              const char *profile, double seconds);
/* Set all four pending_pods gauges at once. */
void cs_sched_metrics_pending(const struct cs_sched_metrics *m, long active, long backoff,
                              long unschedulable, long gated);
/* Set the three cache_size gauges at once. */
void cs_sched_metrics_cache(const struct cs_sched_metrics *m, long nodes, long pods,
                            long assumed);

#endif
