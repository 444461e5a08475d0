/*
 * The scheduler's side of a session (pkg/framework/session.h): it refreshes the snapshot, tells
 * plugins what changed in the cluster, and implements the session environment: taking a group's
 * members from the queue, counting a group's bound and assumed members, committing statements
 * whole, and reporting pods that were not placed.
 *
 * Commit is all or nothing. Every check that can fail runs before anything is performed:
 * each placed pod is still the queued incarnation, not already counted in the cache, and some
 * Bind plugin claims it; then every placed pod is assumed in one cache operation (which fails
 * whole if any is already there). Only then are victims evicted (DisruptionTarget condition,
 * then DELETE with the victim's uid as precondition), nominations written, and binds handed to
 * the binder. A statement that fails a check changes nothing; the session discards it.
 */
#include <stdio.h>
#include <string.h>

#include "api/encode.h"
#include "pkg/scheduler/internal.h"
#include "pkg/util/map.h"
#include "pkg/metrics/metrics.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/intern.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

const char *cs_sched_group_of(void *arg, const struct cs_pod *pod)
{
    struct cs_scheduler *s = arg;
    struct cs_profile *prof = cs_sched_profile_for(s, pod->scheduler_name);
    if (prof == NULL) {
        return NULL;
    }
    int32_t min_member;
    return cs_session_group_key(&s->api, prof, pod, &min_member);
}

/* ---- reporting ---------------------------------------------------------------------------- */

static void report_failure(struct cs_scheduler *s, struct cs_qentry *e, struct cs_profile *prof,
                           const struct cs_sched_result *res, double secs)
{
    const struct cs_pod *pod = e->qp.pod;
    bool unsched = res->code == CS_UNSCHEDULABLE;
    const char *reason = unsched ? "Unschedulable" : "SchedulerError";
    const char *msg = res->message ? res->message : "scheduling failed";
    /* The same failure again for the same pod (a gang waiting for its members is retried on
     * every member's arrival) is neither logged, written nor recorded again: the condition
     * already says it, and kube-scheduler's event correlator would fold the event anyway. */
    uint64_t h = cs_hash_str(msg) ^ (cs_hash_str(reason) * 31u) ^
                 (cs_hash_str(pod->uid ? pod->uid : "") * 7u);
    h = h ? h : 1;
    if (h != e->reported) {
        e->reported = h;
        if (CS_V(2)) {
            CS_INFO_S("Unable to schedule pod; waiting", CS_KV("pod", pod->key), CS_KV("err", msg));
        }
        /* kube-scheduler skips the status write when the pod already says exactly this. */
        const struct cs_condition *cur = cs_pod_condition(pod, "PodScheduled");
        bool same = cur && cur->status == CS_COND_FALSE && cur->reason && cur->message &&
                    strcmp(cur->reason, reason) == 0 && strcmp(cur->message, msg) == 0;
        if (!same) {
            cs_recorder_unschedulable(&s->recorder, pod, reason, msg);
        }
        if (!res->quiet) {
            cs_recorder_event(&s->recorder, pod, "Warning", "FailedScheduling", "Scheduling", msg,
                              prof->name);
        }
    }
    cs_sched_metrics_attempt(&s->metrics, unsched ? "unschedulable" : "error", prof->name, secs);
    e->reject_plugins = res->reject_plugins;     /* for queueing hints */
    if (unsched) {
        atomic_fetch_add(&s->unschedulable, 1);
        cs_metrics_inc(s->metrics.queue_incoming_pods,
                       (const char *[]){ "unschedulable", "ScheduleAttemptFailure" });
        cs_queue_done_unschedulable(&s->queue, e, res->reject_events);
    } else {
        atomic_fetch_add(&s->errors, 1);
        cs_metrics_inc(s->metrics.queue_incoming_pods,
                       (const char *[]){ "backoff", "ScheduleAttemptFailure" });
        cs_queue_done_error(&s->queue, e);
    }
}

/* Framework metrics of one attempt: per extension point durations and the algorithm time. */
static void observe_attempt(void *arg, struct cs_profile *prof, const struct cs_sched_result *res)
{
    struct cs_scheduler *s = arg;
    const char *status = cs_code_name(res->code);
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        if (res->ep_ns[ep] > 0) {
            cs_metrics_observe(s->metrics.extension_point_duration,
                               (const char *[]){ cs_ext_point_name((enum cs_ext_point)ep), status,
                                                 prof->name },
                               (double)res->ep_ns[ep] / 1e9);
        }
    }
    int64_t algo = res->ep_ns[CS_EP_PRE_FILTER] + res->ep_ns[CS_EP_FILTER] +
                   res->ep_ns[CS_EP_PRE_SCORE] + res->ep_ns[CS_EP_SCORE];
    cs_metrics_observe(s->metrics.algorithm_duration, NULL, (double)algo / 1e9);
    for (uint32_t i = 0; i < res->n_plugin_ns; i++) {
        const struct cs_plugin_time *pt = &res->plugin_ns[i];
        cs_metrics_observe(s->metrics.plugin_execution_duration,
                           (const char *[]){ pt->plugin, cs_ext_point_name(pt->ep),
                                             cs_code_name(pt->code) },
                           (double)pt->ns / 1e9);
    }
}

/* ---- environment -------------------------------------------------------------------------- */

static struct cs_profile *env_profile_for(void *arg, const struct cs_pod *pod)
{
    return cs_sched_profile_for(arg, pod->scheduler_name);
}

static size_t env_take_group(void *arg, const char *group, struct cs_qentry **out, size_t max)
{
    struct cs_scheduler *s = arg;
    return cs_queue_take_group(&s->queue, group, out, max);
}

static uint32_t env_group_assigned(void *arg, const char *group)
{
    struct cs_scheduler *s = arg;
    return cs_cache_group_count(&s->cache, group);
}

static void env_failed(void *arg, struct cs_qentry *e, struct cs_profile *prof,
                       const struct cs_sched_result *res, double secs)
{
    report_failure(arg, e, prof, res, secs);
}

static void env_drop(void *arg, struct cs_qentry *e)
{
    struct cs_scheduler *s = arg;
    cs_queue_done_scheduled(&s->queue, e);  /* no longer ours (schedulerName changed) */
}

/* DisruptionTarget condition, then DELETE with the victim's uid as precondition (what
 * kube-scheduler's preemption does). */
static void evict(struct cs_scheduler *s, const struct cs_pod *victim, const char *profile,
                  const struct cs_pod *preemptor)
{
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    char msg[300];
    snprintf(msg, sizeof(msg), "%s: preempting to accommodate a higher priority pod", profile);
    struct cs_condition_patch cond = {
        .type = "DisruptionTarget", .status = "True", .reason = "PreemptionByScheduler",
        .message = msg, .last_transition_ns = cs_wall_ns(),
    };
    cs_encode_status_patch(&body, &cond, CS_NOMINATED_KEEP, NULL);
    cs_buf_printf(&path, "/api/v1/namespaces/%s/pods/%s/status", victim->ns, victim->name);
    cs_sched_write(s, "PATCH", path.data, body.data, "application/strategic-merge-patch+json",
                   NULL, NULL);
    cs_buf_reset(&body);
    cs_buf_reset(&path);
    cs_buf_printf(&body, "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\","
                         "\"preconditions\":{\"uid\":\"%s\"}}",
                  victim->uid ? victim->uid : "");
    cs_buf_printf(&path, "/api/v1/namespaces/%s/pods/%s", victim->ns, victim->name);
    cs_sched_write(s, "DELETE", path.data, body.data, "application/json", NULL, NULL);
    char note[600];
    snprintf(note, sizeof(note), "Preempted by pod %s on node %s", preemptor->uid ? preemptor->uid : preemptor->key,
             victim->node_name ? victim->node_name : "?");
    cs_recorder_event(&s->recorder, victim, "Normal", "Preempted", "Preempting", note, profile);
    cs_buf_free(&body);
    cs_buf_free(&path);
}

static void nominate(struct cs_scheduler *s, struct cs_pod *pod, const char *node)
{
    cs_nominator_set(&s->nominator, pod, node);
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    cs_encode_status_patch(&body, NULL, CS_NOMINATED_SET, node);
    cs_buf_printf(&path, "/api/v1/namespaces/%s/pods/%s/status", pod->ns, pod->name);
    cs_sched_write(s, "PATCH", path.data, body.data, "application/strategic-merge-patch+json",
                   NULL, NULL);
    cs_buf_free(&body);
    cs_buf_free(&path);
}

static int env_commit(void *arg, struct cs_statement *st, int64_t start_ns, const char **why)
{
    struct cs_scheduler *s = arg;
    struct cs_arena *a = &s->cycle.pod_arena;
    uint32_t n_alloc = cs_stmt_count(st, CS_STMT_ALLOCATE);
    struct cs_pod **placed = cs_arena_alloc(a, sizeof(*placed) * (n_alloc ? n_alloc : 1));
    uint32_t k = 0;
    /* 1. checks */
    for (uint32_t i = 0; i < st->n; i++) {
        struct cs_stmt_op *op = &st->ops[i];
        if (op->kind == CS_STMT_EVICT) {
            continue;
        }
        struct cs_qentry *e = op->owner;
        if (!cs_queue_still_current(&s->queue, e, op->orig)) {
            *why = cs_arena_printf(a, "pod %s was deleted or replaced during scheduling",
                                   op->orig->key);
            return -1;
        }
        if (op->kind != CS_STMT_ALLOCATE) {
            continue;
        }
        if (cs_cache_has_pod(&s->cache, op->pod->key)) {
            *why = cs_arena_printf(a, "pod %s is already assigned", op->pod->key);
            return -1;
        }
        struct cs_status bst = { 0 };
        enum cs_code code = cs_fw_bind(op->att, op->orig, op->ni->name, &bst);
        if (code != CS_SUCCESS) {
            *why = cs_arena_printf(a, "running Bind plugin \"%s\": %s",
                                   bst.plugin ? bst.plugin : "?",
                                   bst.n_reasons ? bst.reasons[0] : cs_code_name(code));
            return -1;
        }
        placed[k++] = op->pod;
    }
    /* 2. assume every placement, or none */
    uint32_t bad = 0;
    if (k && cs_cache_assume_all(&s->cache, placed, k, &bad) != 0) {
        *why = cs_arena_printf(a, "pod %s is already assigned", placed[bad]->key);
        return -1;
    }
    /* 3. perform: evictions, nominations, binds */
    const char *prof_name = NULL;
    const struct cs_pod *preemptor = NULL;
    for (uint32_t i = 0; i < st->n; i++) {
        if (st->ops[i].kind == CS_STMT_NOMINATE) {
            preemptor = st->ops[i].orig;
            prof_name = st->ops[i].att->prof->name;
        }
    }
    uint32_t n_evicted = 0;
    for (uint32_t i = 0; i < st->n; i++) {
        struct cs_stmt_op *op = &st->ops[i];
        double secs = (double)(cs_mono_ns() - start_ns) / 1e9;
        switch (op->kind) {
        case CS_STMT_EVICT:
            evict(s, op->pod, prof_name ? prof_name : "cosched", preemptor ? preemptor : op->pod);
            n_evicted++;
            break;
        case CS_STMT_NOMINATE:
            nominate(s, op->orig, op->ni->name);
            break;
        case CS_STMT_ALLOCATE: {
            struct cs_qentry *e = op->owner;
            struct cs_profile *prof = op->att->prof;
            cs_nominator_remove(&s->nominator, op->pod->key);
            struct cs_bind_job *job = cs_calloc(1, sizeof(*job));
            job->pod = cs_pod_ref(op->pod);
            job->node = op->ni->name;
            job->prof = prof;
            job->start_ns = start_ns;
            job->attempts = e->qp.attempts;
            if (op->patch.n_annotations) {
                job->annotations = cs_calloc(op->patch.n_annotations, sizeof(*job->annotations));
                for (uint32_t j = 0; j < op->patch.n_annotations; j++) {
                    job->annotations[j].key = cs_strdup(op->patch.annotations[j].key);
                    job->annotations[j].value = cs_strdup(op->patch.annotations[j].value);
                }
                job->n_annotations = op->patch.n_annotations;
            }
            cs_sched_metrics_attempt(&s->metrics, "scheduled", prof->name, secs);
            cs_metrics_observe(s->metrics.pod_scheduling_attempts, NULL, (double)e->qp.attempts);
            atomic_fetch_add(&s->scheduled, 1);
            cs_queue_done_scheduled(&s->queue, e);
            cs_binder_submit(&s->binder, job);
            break;
        }
        }
    }
    if (n_evicted) {
        /* kube-scheduler's preemption metrics: one attempt per committed preemption (a pod,
         * or a gang as a unit), and how many victims it took. */
        cs_metrics_inc(s->metrics.preemption_attempts, NULL);
        cs_metrics_observe(s->metrics.preemption_victims, NULL, (double)n_evicted);
    }
    cs_stmt_clear(st);
    return 0;
}

void cs_sched_env_init(struct cs_scheduler *s)
{
    s->env = (struct cs_session_env){
        .arg = s,
        .profile_for = env_profile_for,
        .take_group = env_take_group,
        .group_assigned = env_group_assigned,
        .commit = env_commit,
        .failed = env_failed,
        .drop = env_drop,
        .observe = observe_attempt,
    };
}

/* ---- one session -------------------------------------------------------------------------- */

static void replay_change(void *arg, const struct cs_cache_change *ch)
{
    struct cs_scheduler *s = arg;
    if (ch->pending_key) {
        cs_fw_notify_pending(s->profiles, s->n_profiles, ch->pending_key, ch->new_pod);
    } else if (ch->old_pod || ch->new_pod) {
        cs_fw_notify_pod(s->profiles, s->n_profiles, ch->old_pod, ch->new_pod);
    } else {
        cs_fw_notify_node(s->profiles, s->n_profiles, ch->old_node, ch->new_node);
    }
}

/* Unreserve for binds that failed since the last session (bind I/O thread queued them). */
static void unreserve_failed_binds(struct cs_scheduler *s)
{
    pthread_mutex_lock(&s->unres_mu);
    struct cs_unreserve_job *j = s->unres;
    s->unres = NULL;
    pthread_mutex_unlock(&s->unres_mu);
    while (j) {
        struct cs_unreserve_job *next = j->next;
        struct cs_fw_attempt *att = cs_fw_attempt_new(j->prof, &s->cycle);
        cs_fw_unreserve(att, j->pod, j->node);
        cs_pod_unref(j->pod);
        cs_free(j);
        j = next;
    }
    cs_cycle_release(&s->cycle);
}

void cs_sched_run_session(struct cs_scheduler *s, struct cs_qentry **batch, size_t n)
{
    int64_t t0 = cs_mono_ns();
    cs_cache_update_snapshot(&s->cache, &s->snap);
    uint64_t inval = atomic_load(&s->fw.invalidations);
    if (inval != s->fw_invalidations) {
        s->fw_invalidations = inval;
        s->snap.epoch++;           /* a plugin's snapshot-wide data changed (cs_fw_invalidate) */
    }
    s->cycle.snap = &s->snap;
    if (s->journal) {
        cs_cache_drain(&s->cache, replay_change, s);
    }
    unreserve_failed_binds(s);
    cs_session_run(&s->session, batch, n);   /* also with no pods: plugins' session hooks */
    if (n == 0) {
        return;
    }
    double secs = (double)(cs_mono_ns() - t0) / 1e9;
    cs_metrics_observe(s->metrics.session_duration, NULL, secs);
    if (CS_V(4)) {
        CS_INFO_S("Session done", CS_KVI("pods", n), CS_KVI("units", s->session.units),
                  CS_KVF("seconds", secs), CS_KVI("eqHits", s->cycle.eq.hits),
                  CS_KVI("eqRecomputed", s->cycle.eq.recomputed));
    }
}
