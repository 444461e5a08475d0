/*
 * kube-scheduler's metric families. Names, label names, types and bucket layouts follow
 * pkg/scheduler/metrics of upstream kube-scheduler so existing dashboards and alerts work
 * unchanged; the help texts are our own, prefixed with the upstream stability level the way
 * component-base renders it ("[STABLE] ...", "[ALPHA] ..."). cosched-only metrics use the
 * cosched_ prefix.
 */
#include "pkg/metrics/sched_metrics.h"

#include <stddef.h>

static struct cs_metric *hist_exp(struct cs_metrics_registry *reg, const char *name,
                                  const char *help, const char *const *labels, double start,
                                  double factor, size_t count, int *bad)
{
    double b[CS_METRICS_MAX_BUCKETS];
    size_t n = cs_metrics_exp_buckets(start, factor, count, b);
    struct cs_metric *m = cs_metrics_histogram_new(reg, name, help, labels, b, n);
    if (m == NULL) {
        *bad = 1;
    }
    return m;
}

static struct cs_metric *chk(struct cs_metric *m, int *bad)
{
    if (m == NULL) {
        *bad = 1;
    }
    return m;
}

int cs_sched_metrics_init(struct cs_sched_metrics *m, struct cs_metrics_registry *reg)
{
    int bad = 0;
    *m = (struct cs_sched_metrics){ 0 };
    m->schedule_attempts = chk(cs_metrics_counter_new(reg, "scheduler_schedule_attempts_total",
        "[STABLE] Scheduling attempts by result (scheduled, unschedulable, error) and profile.",
        CS_METRICS_LABELS("result", "profile")), &bad);
    m->attempt_duration = hist_exp(reg, "scheduler_scheduling_attempt_duration_seconds",
        "[STABLE] Latency of one scheduling attempt (algorithm and binding start), in seconds.",
        CS_METRICS_LABELS("result", "profile"), 0.001, 2, 15, &bad);
    m->pending_pods = chk(cs_metrics_gauge_new(reg, "scheduler_pending_pods",
        "[STABLE] Pods waiting in each scheduling queue: active, backoff, unschedulable, gated.",
        CS_METRICS_LABELS("queue")), &bad);
    m->extension_point_duration = hist_exp(reg,
        "scheduler_framework_extension_point_duration_seconds",
        "[STABLE] Time spent running all plugins of one extension point, in seconds.",
        CS_METRICS_LABELS("extension_point", "status", "profile"), 0.0001, 2, 12, &bad);
    m->plugin_execution_duration = hist_exp(reg, "scheduler_plugin_execution_duration_seconds",
        "[ALPHA] Time spent in one plugin at one extension point, in seconds.",
        CS_METRICS_LABELS("plugin", "extension_point", "status"), 0.00001, 1.5, 20, &bad);
    m->preemption_attempts = chk(cs_metrics_counter_new(reg,
        "scheduler_preemption_attempts_total",
        "[STABLE] Preemption attempts made by the scheduler.", NULL), &bad);
    m->preemption_victims = hist_exp(reg, "scheduler_preemption_victims",
        "[STABLE] Victims chosen by one preemption.", NULL, 1, 2, 7, &bad);
    m->pod_scheduling_attempts = hist_exp(reg, "scheduler_pod_scheduling_attempts",
        "[STABLE] Attempts a pod needed before it was scheduled.", NULL, 1, 2, 5, &bad);
    m->algorithm_duration = hist_exp(reg, "scheduler_scheduling_algorithm_duration_seconds",
        "[ALPHA] Latency of the scheduling algorithm (filter and score), in seconds.", NULL,
        0.001, 2, 15, &bad);
    m->queue_incoming_pods = chk(cs_metrics_counter_new(reg,
        "scheduler_queue_incoming_pods_total",
        "[STABLE] Pods added to a scheduling queue, by queue and triggering event.",
        CS_METRICS_LABELS("queue", "event")), &bad);
    m->cache_size = chk(cs_metrics_gauge_new(reg, "scheduler_scheduler_cache_size",
        "[ALPHA] Nodes, pods and assumed pods held in the scheduler cache.",
        CS_METRICS_LABELS("type")), &bad);
    m->binds = chk(cs_metrics_counter_new(reg, "cosched_binds_total",
        "Bind requests finished, by result.", CS_METRICS_LABELS("result")), &bad);
    m->session_duration = hist_exp(reg, "cosched_session_duration_seconds",
        "Duration of one scheduling session (snapshot, actions, commit), in seconds.", NULL,
        0.001, 2, 15, &bad);
    m->attempt_duration_fine = hist_exp(reg, "cosched_scheduling_attempt_duration_seconds",
        "Scheduling attempt latency with buckets from 10 microseconds, finer than "
        "scheduler_scheduling_attempt_duration_seconds (whose first bucket is 1 ms).",
        CS_METRICS_LABELS("result"), 0.00001, 2, 20, &bad);
    m->leader_status = chk(cs_metrics_gauge_new(reg, "leader_election_master_status",
        "[ALPHA] 1 while this process holds the named leader-election lease, 0 on standby.",
        CS_METRICS_LABELS("name")), &bad);
    if (!bad) {
        /* Metrics without labels exist from the start (value 0), as the Go client renders
         * them; labelled families appear with their first label set. */
        struct cs_metric *const plain[] = {
            m->preemption_attempts, m->preemption_victims, m->pod_scheduling_attempts,
            m->algorithm_duration, m->session_duration,
        };
        for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
            cs_metrics_with(plain[i], NULL);
        }
    }
    return bad ? -1 : 0;
}

void cs_sched_metrics_attempt(const struct cs_sched_metrics *m, const char *result,
                              const char *profile, double seconds)
{
    const char *const lv[2] = { result, profile };
    cs_metrics_inc(m->schedule_attempts, lv);
    cs_metrics_observe(m->attempt_duration, lv, seconds);
    cs_metrics_observe(m->attempt_duration_fine, lv, seconds);
}

void cs_sched_metrics_pending(const struct cs_sched_metrics *m, long active, long backoff,
                              long unschedulable, long gated)
{
    cs_metrics_set(m->pending_pods, CS_METRICS_LABELS(CS_SCHED_QUEUE_ACTIVE), (double)active);
    cs_metrics_set(m->pending_pods, CS_METRICS_LABELS(CS_SCHED_QUEUE_BACKOFF), (double)backoff);
    cs_metrics_set(m->pending_pods, CS_METRICS_LABELS(CS_SCHED_QUEUE_UNSCHEDULABLE),
                   (double)unschedulable);
    cs_metrics_set(m->pending_pods, CS_METRICS_LABELS(CS_SCHED_QUEUE_GATED), (double)gated);
}

void cs_sched_metrics_cache(const struct cs_sched_metrics *m, long nodes, long pods,
                            long assumed)
{
    cs_metrics_set(m->cache_size, CS_METRICS_LABELS(CS_SCHED_CACHE_NODES), (double)nodes);
    cs_metrics_set(m->cache_size, CS_METRICS_LABELS(CS_SCHED_CACHE_PODS), (double)pods);
    cs_metrics_set(m->cache_size, CS_METRICS_LABELS(CS_SCHED_CACHE_ASSUMED), (double)assumed);
}
