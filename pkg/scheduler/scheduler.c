/*
 * Scheduler wiring (see scheduler.h).
 *
 * Informer handlers (I/O thread) decode each object once into the C model and route it:
 * assigned pods of every scheduler go to the cache, pending pods whose schedulerName matches a
 * profile go to the queue, nodes go to the cache; each change is also a cluster event for the
 * queue. A `live` map remembers, per pod key, whether the informer last saw it pending or
 * assigned: bind completions consult it to follow kube-scheduler's failure rules.
 *
 * A session (scheduler thread) pops a batch, refreshes the snapshot (changed nodes only), and
 * places each pod through a statement; a committed placement is assumed in the cache and
 * handed to the binder at once, so binds flow while the session continues. Pods that name a
 * group (a plugin's pod_group hook) are placed all-or-nothing per group within the session.
 */
#include "pkg/scheduler/scheduler.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/decode.h"
#include "pkg/client/client.h"
#include "pkg/informer/informer.h"
#include "pkg/metrics/metrics.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

enum { LIVE_PENDING = 1, LIVE_ASSIGNED = 2 };

/* ---- profiles ----------------------------------------------------------------------------- */

static struct cs_profile *profile_for(struct cs_scheduler *s, const char *sched_name)
{
    for (uint32_t i = 0; i < s->n_profiles; i++) {
        if (strcmp(s->profiles[i].name, sched_name) == 0) {
            return &s->profiles[i];
        }
    }
    return NULL;
}

static bool q_less(void *arg, const struct cs_queued_pod *a, const struct cs_queued_pod *b)
{
    struct cs_scheduler *s = arg;
    return cs_fw_queue_less(&s->profiles[0], a, b);
}

static bool q_pre_enqueue(void *arg, const struct cs_pod *pod, char *reason, size_t n)
{
    struct cs_scheduler *s = arg;
    struct cs_profile *p = profile_for(s, pod->scheduler_name);
    return p == NULL || cs_fw_pre_enqueue(p, pod, reason, n);
}

static bool q_changed(void *arg, const struct cs_pod *old, const struct cs_pod *pod)
{
    (void)arg;
    return !cs_fw_pod_equivalent(old, pod);
}

/* ---- live map (I/O thread) ---------------------------------------------------------------- */

/* What the informer last saw of a pod: pending or assigned, and which incarnation (uid). */
struct live_pod {
    int state;
    char uid[64];
};

static int live_get(struct cs_scheduler *s, const char *key, const char *uid)
{
    pthread_mutex_lock(&s->live_mu);
    struct live_pod *lp = cs_map_get(&s->live, key);
    int state = lp == NULL || (uid && strcmp(lp->uid, uid) != 0) ? 0 : lp->state;
    pthread_mutex_unlock(&s->live_mu);
    return state;
}

static void live_set(struct cs_scheduler *s, const struct cs_pod *pod, int v)
{
    pthread_mutex_lock(&s->live_mu);
    struct live_pod *lp = cs_map_get(&s->live, pod->key);
    if (lp == NULL) {
        lp = cs_calloc(1, sizeof(*lp));
        cs_map_put(&s->live, cs_strdup(pod->key), lp);
    }
    lp->state = v;
    snprintf(lp->uid, sizeof(lp->uid), "%s", pod->uid ? pod->uid : "");
    pthread_mutex_unlock(&s->live_mu);
}

static void live_set_raw(struct cs_scheduler *s, const char *key, const char *uid, int v)
{
    pthread_mutex_lock(&s->live_mu);
    struct live_pod *lp = cs_map_get(&s->live, key);
    if (lp == NULL) {
        lp = cs_calloc(1, sizeof(*lp));
        cs_map_put(&s->live, cs_strdup(key), lp);
    }
    lp->state = v;
    snprintf(lp->uid, sizeof(lp->uid), "%s", uid ? uid : "");
    pthread_mutex_unlock(&s->live_mu);
}

static void live_del(struct cs_scheduler *s, const char *key)
{
    pthread_mutex_lock(&s->live_mu);
    const char *k = cs_map_get_key(&s->live, key);
    if (k) {
        cs_free(cs_map_del(&s->live, k));
        cs_free((void *)k);
    }
    pthread_mutex_unlock(&s->live_mu);
}

/* ---- informer handlers (I/O thread) -------------------------------------------------------- */

static const char *obj_name(const json_t *obj, char *buf, size_t n)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    snprintf(buf, n, "%s%s%s", ns ? ns : "", ns ? "/" : "", name ? name : "<unknown>");
    return buf;
}

/* The watch event that confirms one of our own binds: the pod is assumed in the cache with this
 * uid on this node, so the decoded object would equal the one already counted (plus nodeName).
 * Confirm in place and skip the decode: the binding confirmation is one event per scheduled
 * pod. Any later update (status, labels) is decoded as usual and replaces the object. */
static bool confirm_own_bind(struct cs_scheduler *s, const json_t *obj)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *node = json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    if (!node || !uid || !ns || !name || json_object_get(md, "deletionTimestamp")) {
        return false;
    }
    char key[512];
    if ((size_t)snprintf(key, sizeof(key), "%s/%s", ns, name) >= sizeof(key) ||
        !cs_cache_confirm_assumed(&s->cache, key, uid, node)) {
        return false;
    }
    cs_queue_delete(&s->queue, key);
    bool was_known = live_get(s, key, NULL) == LIVE_ASSIGNED;
    live_set_raw(s, key, uid, LIVE_ASSIGNED);
    if (!was_known) {
        cs_queue_on_event(&s->queue, CS_EV_POD_ADD);
    }
    return true;
}

static void pod_apply(struct cs_scheduler *s, json_t *obj, bool is_add)
{
    char err[512];
    struct cs_pod *pod = NULL;
    if (!is_add && confirm_own_bind(s, obj)) {
        return;
    }
    if (cs_pod_decode(&s->api, obj, &pod, err, sizeof(err)) != 0) {
        char name[256];
        CS_ERROR_S(err, "Cannot decode pod; ignoring this version",
                   CS_KV("pod", obj_name(obj, name, sizeof(name))));
        /* A pending pod of ours that cannot be read would otherwise wait silently: tell the
         * user on the pod itself. */
        const json_t *md = json_object_get(obj, "metadata");
        const json_t *spec = json_object_get(obj, "spec");
        const char *sched = json_string_value(json_object_get(spec, "schedulerName"));
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        const char *pname = json_string_value(json_object_get(md, "name"));
        if (sched && ns && pname && profile_for(s, sched) &&
            !json_string_value(json_object_get(spec, "nodeName"))) {
            cs_recorder_event_ref(&s->recorder, ns, pname,
                                  json_string_value(json_object_get(md, "uid")), "Warning",
                                  "FailedScheduling", "Scheduling", err, sched);
        }
        return;
    }
    if (pod->node_name) {
        cs_cache_upsert_pod(&s->cache, pod);
        cs_queue_delete(&s->queue, pod->key);
        bool was_known = live_get(s, pod->key, NULL) == LIVE_ASSIGNED;
        live_set(s, pod, LIVE_ASSIGNED);
        if (!was_known) {
            cs_queue_on_event(&s->queue, CS_EV_POD_ADD);
        }
    } else {
        live_set(s, pod, LIVE_PENDING);
        if (pod->deletion_ns) {
            cs_queue_delete(&s->queue, pod->key);
        } else if (profile_for(s, pod->scheduler_name) && !cs_cache_is_assumed(&s->cache, pod->key)) {
            /* An update of the pending pod itself is handled by the queue (it re-activates
             * the pod only when its spec changed); other pods only care about arrivals. */
            cs_queue_add(&s->queue, pod);
            if (is_add) {
                cs_metrics_inc(s->metrics.queue_incoming_pods, (const char *[]){ "active", "PodAdd" });
                cs_queue_on_event(&s->queue, CS_EV_POD_ADD);
            }
        }
    }
    cs_pod_unref(pod);
}

static void on_pod_add(void *arg, json_t *obj)
{
    pod_apply(arg, obj, true);
}

static void on_pod_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    pod_apply(arg, obj, false);
}

static void on_pod_delete(void *arg, json_t *obj)
{
    struct cs_scheduler *s = arg;
    char key[512];
    const json_t *md = json_object_get(obj, "metadata");
    snprintf(key, sizeof(key), "%s/%s",
             json_string_value(json_object_get(md, "namespace")) ?: "",
             json_string_value(json_object_get(md, "name")) ?: "");
    int was = live_get(s, key, NULL);
    live_del(s, key);
    cs_cache_remove_pod(&s->cache, key);
    cs_queue_delete(&s->queue, key);
    if (was == LIVE_ASSIGNED) {
        cs_queue_on_event(&s->queue, CS_EV_POD_DELETE);
    }
}

static void on_node_upsert(struct cs_scheduler *s, json_t *obj, uint32_t ev)
{
    char err[512];
    struct cs_node *node = NULL;
    if (cs_node_decode(&s->api, obj, &node, err, sizeof(err)) != 0) {
        char name[256];
        CS_ERROR_S(err, "Cannot decode node; ignoring this version",
                   CS_KV("node", obj_name(obj, name, sizeof(name))));
        return;
    }
    cs_cache_upsert_node(&s->cache, node);
    cs_node_unref(node);
    cs_queue_on_event(&s->queue, ev);
}

static void on_node_add(void *arg, json_t *obj)
{
    on_node_upsert(arg, obj, CS_EV_NODE_ADD);
}

static void on_node_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_node_upsert(arg, obj, CS_EV_NODE_UPDATE);
}

static void on_node_delete(void *arg, json_t *obj)
{
    struct cs_scheduler *s = arg;
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (name) {
        cs_cache_remove_node(&s->cache, name);
        cs_queue_on_event(&s->queue, CS_EV_NODE_DELETE);
    }
}

static void on_informer_error(void *arg, const char *msg)
{
    (void)arg;
    CS_WARN_S("Informer error; retrying", CS_KV("err", msg));
}

/* ---- binding completions (I/O thread) ------------------------------------------------------ */

static void on_bind_done(void *arg, struct cs_bind_job *job, const struct cs_bind_result *r)
{
    struct cs_scheduler *s = arg;
    struct cs_pod *pod = job->pod;
    const char *prof_name = job->prof->name;
    if (r->ok) {
        cs_cache_finish_binding(&s->cache, pod->key);
        cs_fw_post_bind(job->prof, pod, job->node);
        atomic_fetch_add(&s->bound, 1);
        cs_metrics_inc(s->metrics.binds, (const char *[]){ "success" });
        char note[600];
        snprintf(note, sizeof(note), "Successfully assigned %s/%s to %s", pod->ns, pod->name,
                 job->node);
        cs_recorder_event(&s->recorder, pod, "Normal", "Scheduled", "Binding", note, prof_name);
        if (CS_V(3)) {
            CS_INFO_S("Pod bound", CS_KV("pod", pod->key), CS_KV("node", job->node));
        }
        return;
    }
    atomic_fetch_add(&s->bind_failed, 1);
    cs_metrics_inc(s->metrics.binds, (const char *[]){ "error" });
    cs_cache_forget_pod(&s->cache, pod->key);
    cs_queue_on_event(&s->queue, CS_EV_POD_DELETE);
    /* State of this incarnation (a pod deleted and re-created under the same name counts as
     * gone: the new one is queued by its own informer event). */
    int live = live_get(s, pod->key, pod->uid);
    const char *msg = r->message ? r->message : "unknown error";
    CS_WARN_S("Binding failed", CS_KV("pod", pod->key), CS_KV("node", job->node),
              CS_KVI("status", r->http_status), CS_KV("err", msg));
    if (live == 0) {
        /* kube-scheduler: "Pod doesn't exist in informer cache": drop it. */
        return;
    }
    if (live == LIVE_ASSIGNED || (r->http_status == 409 && strstr(msg, "already assigned"))) {
        /* Bound already (perhaps by our earlier attempt): never requeue. */
        return;
    }
    char text[700];
    snprintf(text, sizeof(text), "Binding rejected: %s", msg);
    cs_recorder_unschedulable(&s->recorder, pod, "SchedulerError", text);
    cs_recorder_event(&s->recorder, pod, "Warning", "FailedScheduling", "Scheduling", text,
                      prof_name);
    cs_metrics_inc(s->metrics.queue_incoming_pods, (const char *[]){ "backoff", "BindingFailure" });
    cs_queue_requeue_backoff(&s->queue, pod);
}

/* ---- housekeeping (I/O thread timer) ------------------------------------------------------- */

static void housekeeping(void *arg)
{
    struct cs_scheduler *s = arg;
    if (atomic_load(&s->stop)) {
        return;
    }
    cs_queue_flush(&s->queue);
    struct cs_queue_stats qs;
    cs_queue_stats(&s->queue, &qs);
    cs_sched_metrics_pending(&s->metrics, qs.active, qs.backoff, qs.unschedulable, qs.gated);
    struct cs_cache_stats cst;
    cs_cache_stats(&s->cache, &cst);
    cs_sched_metrics_cache(&s->metrics, cst.nodes, cst.pods, cst.assumed);
    cs_client_timer_add(s->client, 1000, housekeeping, s);
}

static void start_housekeeping(void *arg)
{
    struct cs_scheduler *s = arg;
    cs_client_timer_add(s->client, 1000, housekeeping, s);
}

/* ---- sessions (scheduler thread) ----------------------------------------------------------- */

static void report_failure(struct cs_scheduler *s, struct cs_qentry *e, struct cs_profile *prof,
                           const struct cs_sched_result *res, double secs)
{
    const struct cs_pod *pod = e->qp.pod;
    bool unsched = res->code == CS_UNSCHEDULABLE;
    const char *reason = unsched ? "Unschedulable" : "SchedulerError";
    const char *msg = res->message ? res->message : "scheduling failed";
    if (CS_V(2)) {
        CS_INFO_S("Unable to schedule pod; waiting", CS_KV("pod", pod->key), CS_KV("err", msg));
    }
    cs_recorder_unschedulable(&s->recorder, pod, reason, msg);
    cs_recorder_event(&s->recorder, pod, "Warning", "FailedScheduling", "Scheduling", msg,
                      prof->name);
    cs_sched_metrics_attempt(&s->metrics, unsched ? "unschedulable" : "error", prof->name, secs);
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

/* Commit every placement of the statement: assume in the cache, PreBind/Bind, hand to the
 * binder. A placement that cannot be committed is undone and its pod sent to backoff. */
static void commit(struct cs_scheduler *s, int64_t start_ns)
{
    for (uint32_t i = 0; i < s->stmt.n; i++) {
        struct cs_stmt_op *op = &s->stmt.ops[i];
        struct cs_qentry *e = op->owner;
        struct cs_profile *prof = op->prof;
        double secs = (double)(cs_mono_ns() - start_ns) / 1e9;
        if (!cs_queue_still_current(&s->queue, e, op->pod)) {
            /* Deleted (or deleted and re-created) during the attempt: never bind the old
             * pod; the queue drops the entry or schedules the new pod afresh. */
            cs_node_info_remove_pod(op->ni, op->pod);
            cs_snapshot_touch(&s->snap, op->ni);
            cs_fw_unreserve(prof, &s->cycle, op->pod, op->ni->name);
            cs_queue_done_error(&s->queue, e);
            continue;
        }
        if (cs_cache_assume_pod(&s->cache, op->pod, op->ni->name) != 0) {
            /* Already counted (assigned meanwhile): undo our tentative placement. */
            cs_node_info_remove_pod(op->ni, op->pod);
            cs_snapshot_touch(&s->snap, op->ni);
            cs_fw_unreserve(prof, &s->cycle, op->pod, op->ni->name);
            cs_queue_done_scheduled(&s->queue, e);
            continue;
        }
        struct cs_bind_patch patch = { 0 };
        struct cs_status st = { 0 };
        enum cs_code code = cs_fw_pre_bind(prof, &s->cycle, op->pod, op->ni->name, &patch, &st);
        if (code != CS_SUCCESS) {
            cs_cache_forget_pod(&s->cache, op->pod->key);
            cs_node_info_remove_pod(op->ni, op->pod);
            cs_snapshot_touch(&s->snap, op->ni);
            cs_fw_unreserve(prof, &s->cycle, op->pod, op->ni->name);
            struct cs_sched_result res = {
                .code = CS_ERROR,
                .message = cs_arena_printf(&s->cycle.arena, "running PreBind/Bind plugin \"%s\": %s",
                                           st.plugin ? st.plugin : "?",
                                           st.n_reasons ? st.reasons[0] : cs_code_name(code)),
            };
            report_failure(s, e, prof, &res, secs);
            continue;
        }
        struct cs_bind_job *job = cs_calloc(1, sizeof(*job));
        job->pod = cs_pod_ref(op->pod);
        job->node = op->ni->name;
        job->prof = prof;
        job->start_ns = start_ns;
        if (patch.n_annotations) {
            job->annotations = cs_calloc(patch.n_annotations, sizeof(*job->annotations));
            for (uint32_t k = 0; k < patch.n_annotations; k++) {
                job->annotations[k].key = cs_strdup(patch.annotations[k].key);
                job->annotations[k].value = cs_strdup(patch.annotations[k].value);
            }
            job->n_annotations = patch.n_annotations;
        }
        cs_sched_metrics_attempt(&s->metrics, "scheduled", prof->name, secs);
        cs_metrics_observe(s->metrics.pod_scheduling_attempts, NULL, (double)e->qp.attempts);
        atomic_fetch_add(&s->scheduled, 1);
        cs_queue_done_scheduled(&s->queue, e);
        cs_binder_submit(&s->binder, job);
    }
    cs_stmt_clear(&s->stmt);
}

/* Framework metrics of one attempt: per extension point durations and the algorithm time. */
static void observe_attempt(struct cs_scheduler *s, const struct cs_profile *prof,
                            const struct cs_sched_result *res)
{
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

static void schedule_single(struct cs_scheduler *s, struct cs_qentry *e, struct cs_profile *prof)
{
    int64_t t0 = cs_mono_ns();
    struct cs_pod *pod = (struct cs_pod *)e->qp.pod;
    struct cs_sched_result res;
    cs_fw_schedule_pod(prof, &s->cycle, pod, &res);
    observe_attempt(s, prof, &res);
    if (res.code == CS_SUCCESS) {
        cs_stmt_allocate(&s->stmt, &s->snap, prof, pod, res.node, e);
        commit(s, t0);
    } else {
        report_failure(s, e, prof, &res, (double)(cs_mono_ns() - t0) / 1e9);
    }
    cs_cycle_reset(&s->cycle);
}

/* Place the members of one group all-or-nothing. */
static void schedule_group(struct cs_scheduler *s, struct cs_qentry **members, uint32_t n,
                           struct cs_profile *prof, const char *group, int32_t min_member)
{
    int64_t t0 = cs_mono_ns();
    uint32_t placed = 0;
    struct cs_sched_result *res = cs_calloc(n, sizeof(*res));
    char **msgs = cs_calloc(n, sizeof(*msgs));
    for (uint32_t i = 0; i < n; i++) {
        struct cs_pod *pod = (struct cs_pod *)members[i]->qp.pod;
        cs_fw_schedule_pod(prof, &s->cycle, pod, &res[i]);
        observe_attempt(s, prof, &res[i]);
        if (res[i].code == CS_SUCCESS) {
            cs_stmt_allocate(&s->stmt, &s->snap, prof, pod, res[i].node, members[i]);
            placed++;
        } else {
            msgs[i] = cs_strdup(res[i].message ? res[i].message : "scheduling failed");
        }
        cs_cycle_reset(&s->cycle);
    }
    if ((int32_t)placed >= min_member) {
        commit(s, t0);
        for (uint32_t i = 0; i < n; i++) {
            if (res[i].code != CS_SUCCESS) {
                res[i].message = msgs[i];
                report_failure(s, members[i], prof, &res[i], (double)(cs_mono_ns() - t0) / 1e9);
            }
        }
    } else {
        cs_stmt_discard(&s->stmt, &s->snap, &s->cycle);
        for (uint32_t i = 0; i < n; i++) {
            struct cs_sched_result r = {
                .code = CS_UNSCHEDULABLE,
                .reject_events = CS_EV_ALL,
                .message = cs_arena_printf(
                    &s->cycle.arena,
                    "pod group %s: only %u of %u pods could be placed together, %d needed%s%s",
                    group, placed, n, min_member, msgs[i] ? ": " : "", msgs[i] ? msgs[i] : ""),
            };
            report_failure(s, members[i], prof, &r, (double)(cs_mono_ns() - t0) / 1e9);
        }
        cs_cycle_reset(&s->cycle);
    }
    for (uint32_t i = 0; i < n; i++) {
        cs_free(msgs[i]);
    }
    cs_free(msgs);
    cs_free(res);
}

static void run_session(struct cs_scheduler *s, struct cs_qentry **batch, size_t n)
{
    int64_t t0 = cs_mono_ns();
    cs_cache_update_snapshot(&s->cache, &s->snap);
    s->cycle.snap = &s->snap;
    const char **groups = cs_calloc(n, sizeof(*groups));
    int32_t *mins = cs_calloc(n, sizeof(*mins));
    struct cs_profile **profs = cs_calloc(n, sizeof(*profs));
    for (size_t i = 0; i < n; i++) {
        struct cs_qentry *e = batch[i];
        profs[i] = profile_for(s, e->qp.pod->scheduler_name);
        if (profs[i] == NULL) {
            cs_queue_done_scheduled(&s->queue, e);  /* no longer ours (schedulerName changed) */
            batch[i] = NULL;
            continue;
        }
        groups[i] = cs_fw_pod_group(profs[i], e->qp.pod, &mins[i]);
    }
    for (size_t i = 0; i < n; i++) {
        if (batch[i] && groups[i] == NULL) {
            schedule_single(s, batch[i], profs[i]);
            batch[i] = NULL;
        }
    }
    struct cs_qentry **members = cs_calloc(n, sizeof(*members));
    for (size_t i = 0; i < n; i++) {
        if (batch[i] == NULL) {
            continue;
        }
        uint32_t m = 0;
        int32_t min_member = mins[i];
        const char *g = groups[i];
        struct cs_profile *prof = profs[i];
        for (size_t j = i; j < n; j++) {
            if (batch[j] && groups[j] && strcmp(groups[j], g) == 0 && profs[j] == prof) {
                members[m++] = batch[j];
                batch[j] = NULL;
            }
        }
        schedule_group(s, members, m, prof, g, min_member);
    }
    cs_free(members);
    cs_free(groups);
    cs_free(mins);
    cs_free(profs);
    double secs = (double)(cs_mono_ns() - t0) / 1e9;
    cs_metrics_observe(s->metrics.session_duration, NULL, secs);
    if (CS_V(4)) {
        CS_INFO_S("Session done", CS_KVI("pods", n), CS_KVF("seconds", secs),
                  CS_KVI("eqHits", s->cycle.eq.hits), CS_KVI("eqRecomputed", s->cycle.eq.recomputed));
    }
}

static void *scheduler_main(void *arg)
{
    struct cs_scheduler *s = arg;
    size_t cap = (size_t)s->opts.batch_size;
    struct cs_qentry **batch = cs_calloc(cap, sizeof(*batch));
    while (!atomic_load(&s->stop)) {
        /* Like kube-scheduler's WaitForCacheSync: never decide on a partial view of the
         * cluster (nodes not yet listed, assigned pods not yet counted). */
        if (!atomic_load(&s->leading) || !cs_scheduler_synced(s)) {
            struct timespec ts = { 0, 50 * 1000000L };
            nanosleep(&ts, NULL);
            continue;
        }
        size_t n = cs_queue_pop(&s->queue, batch, cap, 200 * 1000000LL);
        if (n) {
            run_session(s, batch, n);
        }
    }
    cs_free(batch);
    return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

void cs_scheduler_init(struct cs_scheduler *s, struct cs_client *client,
                       struct cs_metrics_registry *reg, const struct cs_scheduler_opts *opts)
{
    memset(s, 0, sizeof(*s));
    cs_intern_init(&s->strings);
    cs_resource_names_init(&s->resources);
    s->api.strings = &s->strings;
    s->api.resources = &s->resources;
    s->client = client;
    s->registry = reg;
    s->opts = *opts;
    if (s->opts.batch_size <= 0) {
        s->opts.batch_size = 256;
    }
    cs_cache_init(&s->cache);
    struct cs_queue_ops qops = {
        .less = q_less, .pre_enqueue = q_pre_enqueue, .changed = q_changed, .arg = s,
    };
    cs_queue_init(&s->queue, &qops, opts->initial_backoff_ns, opts->max_backoff_ns);
    cs_snapshot_init(&s->snap);
    cs_cycle_init(&s->cycle, &s->api, opts->seed ? opts->seed : (uint64_t)cs_wall_ns());
    cs_stmt_init(&s->stmt);
    struct cs_binder_hooks hooks = { .on_done = on_bind_done, .arg = s };
    s->bind_client = client;
    cs_binder_init(&s->binder, client, &hooks);
    cs_recorder_init(&s->recorder, client, opts->identity, 64);
    cs_sched_metrics_init(&s->metrics, reg);
    cs_map_init(&s->live);
    pthread_mutex_init(&s->live_mu, NULL);
    atomic_store(&s->leading, true);
}

void cs_scheduler_set_client(struct cs_scheduler *s, struct cs_client *client,
                             struct cs_client *bind_client)
{
    s->client = client;
    s->bind_client = bind_client ? bind_client : client;
    s->binder.client = s->bind_client;
    s->recorder.client = s->bind_client;
}

void cs_scheduler_add_profile(struct cs_scheduler *s, const struct cs_profile *prof)
{
    s->profiles = cs_realloc(s->profiles, sizeof(*s->profiles) * (s->n_profiles + 1));
    s->profiles[s->n_profiles++] = *prof;
}

int cs_scheduler_start(struct cs_scheduler *s, char *err, size_t errlen)
{
    struct cs_informer_opts po = {
        .path = "/api/v1/pods",
        .field_selector = "status.phase!=Succeeded,status.phase!=Failed",
        .name = "pods",
        .handlers = {
            .on_add = on_pod_add,
            .on_update = on_pod_update,
            .on_delete = on_pod_delete,
            .on_error = on_informer_error,
            .arg = s,
        },
    };
    struct cs_informer_opts no = {
        .path = "/api/v1/nodes",
        .name = "nodes",
        .handlers = {
            .on_add = on_node_add,
            .on_update = on_node_update,
            .on_delete = on_node_delete,
            .on_error = on_informer_error,
            .arg = s,
        },
    };
    s->node_inf = cs_informer_new(s->client, &no, err, errlen);
    s->pod_inf = s->node_inf ? cs_informer_new(s->client, &po, err, errlen) : NULL;
    if (s->pod_inf == NULL) {
        return -1;
    }
    if (cs_informer_start(s->node_inf) != 0 || cs_informer_start(s->pod_inf) != 0) {
        snprintf(err, errlen, "cannot start informers: client not running");
        return -1;
    }
    cs_client_post(s->client, start_housekeeping, s);
    if (pthread_create(&s->thread, NULL, scheduler_main, s) != 0) {
        snprintf(err, errlen, "cannot start the scheduler thread");
        return -1;
    }
    s->thread_started = true;
    return 0;
}

int cs_scheduler_synced(struct cs_scheduler *s)
{
    return s->pod_inf && s->node_inf && cs_informer_has_synced(s->pod_inf) &&
           cs_informer_has_synced(s->node_inf);
}

void cs_scheduler_set_leading(struct cs_scheduler *s, bool leading)
{
    atomic_store(&s->leading, leading);
}

void cs_scheduler_stop(struct cs_scheduler *s, int64_t drain_timeout_ns)
{
    atomic_store(&s->stop, true);
    cs_queue_close(&s->queue);
    if (s->thread_started) {
        pthread_join(s->thread, NULL);
        s->thread_started = false;
    }
    int64_t deadline = cs_mono_ns() + drain_timeout_ns;
    while (atomic_load(&s->binder.in_flight) > 0 && cs_mono_ns() < deadline) {
        struct timespec ts = { 0, 10 * 1000000L };
        nanosleep(&ts, NULL);
    }
    if (atomic_load(&s->binder.in_flight) > 0) {
        CS_WARN_S("Stopping with binds still in flight",
                  CS_KVI("inFlight", atomic_load(&s->binder.in_flight)));
    }
    if (s->pod_inf) {
        cs_informer_stop(s->pod_inf);
    }
    if (s->node_inf) {
        cs_informer_stop(s->node_inf);
    }
}

void cs_scheduler_destroy(struct cs_scheduler *s)
{
    cs_informer_free(s->pod_inf);
    cs_informer_free(s->node_inf);
    s->pod_inf = s->node_inf = NULL;
    for (uint32_t i = 0; i < s->n_profiles; i++) {
        cs_profile_destroy(&s->profiles[i]);
    }
    cs_free(s->profiles);
    cs_stmt_destroy(&s->stmt);
    cs_cycle_destroy(&s->cycle);
    cs_snapshot_destroy(&s->snap);
    cs_queue_destroy(&s->queue);
    cs_cache_destroy(&s->cache);
    cs_recorder_destroy(&s->recorder);
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&s->live, &it, &k, &v)) {
        cs_free(v);
        cs_free((void *)k);
    }
    cs_map_destroy(&s->live);
    pthread_mutex_destroy(&s->live_mu);
    cs_resource_names_destroy(&s->resources);
    cs_intern_destroy(&s->strings);
}
