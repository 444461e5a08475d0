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
 * group (a plugin's pod_group hook) are placed all-or-nothing per group within the session
 * (pkg/framework/session.c; the scheduler's side of it is commit.c).
 */
#include "pkg/scheduler/scheduler.h"
#include "pkg/scheduler/internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/decode.h"
#include "api/priority.h"
#include "pkg/client/client.h"
#include "pkg/informer/informer.h"
#include "pkg/metrics/metrics.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

enum { LIVE_PENDING = 1, LIVE_ASSIGNED = 2 };

/* ---- profiles ----------------------------------------------------------------------------- */

struct cs_profile *cs_sched_profile_for(struct cs_scheduler *s, const char *sched_name)
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
    if (pod->decode_error) {
        /* Not understood: never placed on a guess; waits until an update makes it readable. */
        snprintf(reason, n, "%s", pod->decode_error);
        return false;
    }
    struct cs_profile *p = cs_sched_profile_for(s, pod->scheduler_name);
    return p == NULL || cs_fw_pre_enqueue(p, pod, reason, n);
}

/* Queueing hints: the plugins that rejected the pod decide whether the event may help it (a
 * rejector without a hint op: its event mask decides). */
static bool q_hint(void *arg, const struct cs_qentry *e, const struct cs_event_info *ev)
{
    struct cs_scheduler *s = arg;
    struct cs_profile *prof = cs_sched_profile_for(s, e->qp.pod->scheduler_name);
    if (prof == NULL || e->reject_plugins == 0) {
        return true;
    }
    for (uint32_t i = 0; i < prof->n_insts && i < 64; i++) {
        if (!(e->reject_plugins & (1ull << i))) {
            continue;
        }
        const struct cs_fw_inst *in = &prof->insts[i];
        if (in->p->events && !(in->p->events & ev->event)) {
            continue;
        }
        if (in->p->queueing_hint == NULL ||
            in->p->queueing_hint(in->priv, ev, e->qp.pod) == CS_QHINT_QUEUE) {
            return true;
        }
    }
    return false;
}

static bool q_changed(void *arg, const struct cs_pod *old, const struct cs_pod *pod)
{
    (void)arg;
    return !cs_fw_pod_sched_same(old, pod);
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

/* The newest version of a pod seen while it was being bound (a counted reference), or NULL. */
static struct cs_pod *take_newer(struct cs_scheduler *s, const char *key)
{
    pthread_mutex_lock(&s->live_mu);
    struct cs_pod *p = cs_map_del(&s->newer, key);
    pthread_mutex_unlock(&s->live_mu);
    return p;
}

static void pod_apply(struct cs_scheduler *s, json_t *obj, bool is_add)
{
    char err[512];
    struct cs_pod *pod = NULL;
    if (!is_add && confirm_own_bind(s, obj)) {
        return;
    }
    if (cs_pod_decode_lenient(&s->api, obj, &pod, err, sizeof(err)) != 0 || pod->decode_error) {
        char name[256];
        CS_ERROR_S(err, pod ? "Cannot decode pod; counting what could be read"
                            : "Cannot decode pod; ignoring this version",
                   CS_KV("pod", obj_name(obj, name, sizeof(name))));
        /* A pending pod of ours that cannot be read would otherwise wait silently: tell the
         * user on the pod itself. */
        const json_t *md = json_object_get(obj, "metadata");
        const json_t *spec = json_object_get(obj, "spec");
        const char *sched = json_string_value(json_object_get(spec, "schedulerName"));
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        const char *pname = json_string_value(json_object_get(md, "name"));
        /* Told once: our own condition write comes back as an update with the same error. */
        const struct cs_condition *cur = pod ? cs_pod_condition(pod, "PodScheduled") : NULL;
        bool told = cur && cur->message && strcmp(cur->message, err) == 0;
        if (sched && ns && pname && !told && cs_sched_profile_for(s, sched) &&
            !json_string_value(json_object_get(spec, "nodeName"))) {
            cs_recorder_event_ref(&s->recorder, ns, pname,
                                  json_string_value(json_object_get(md, "uid")), "Warning",
                                  "FailedScheduling", "Scheduling", err, sched);
            if (pod) {
                cs_recorder_unschedulable(&s->recorder, pod, "Unschedulable", err);
            }
        }
        if (pod == NULL) {
            return;
        }
        /* Read leniently: a bound pod still counts on its node; a pending one waits, gated
         * by q_pre_enqueue until an update makes it readable. */
    }
    if (pod->node_name) {
        cs_nominator_remove(&s->nominator, pod->key);
        cs_cache_upsert_pod(&s->cache, pod);
        cs_queue_delete(&s->queue, pod->key);
        bool was_known = live_get(s, pod->key, NULL) == LIVE_ASSIGNED;
        live_set(s, pod, LIVE_ASSIGNED);
        if (!was_known) {
            struct cs_event_info info = { .event = CS_EV_POD_ADD, .new_pod = pod };
            cs_queue_on_event_info(&s->queue, &info);
        }
    } else {
        live_set(s, pod, LIVE_PENDING);
        cs_cache_journal_pending(&s->cache, pod->key, pod->deletion_ns ? NULL : pod);
        if (pod->deletion_ns) {
            cs_queue_delete(&s->queue, pod->key);
        } else if (cs_sched_profile_for(s, pod->scheduler_name) &&
                   cs_cache_is_assumed(&s->cache, pod->key)) {
            /* Being bound: keep the newest version for a requeue if the bind fails. */
            pthread_mutex_lock(&s->live_mu);
            struct cs_pod *old = cs_map_put(&s->newer, pod->key, cs_pod_ref(pod));
            pthread_mutex_unlock(&s->live_mu);
            cs_pod_unref(old);
        } else if (cs_sched_profile_for(s, pod->scheduler_name)) {
            /* An update of the pending pod itself is handled by the queue (it re-activates
             * the pod only when its spec changed); other pods only care about arrivals. */
            cs_queue_add(&s->queue, pod);
            if (is_add) {
                cs_metrics_inc(s->metrics.queue_incoming_pods, (const char *[]){ "active", "PodAdd" });
                struct cs_event_info info = { .event = CS_EV_POD_ADD, .new_pod = pod };
                cs_queue_on_event_info(&s->queue, &info);
            }
        }
    }
    cs_pod_unref(pod);
}

static void on_prio_add(void *arg, json_t *obj)
{
    cs_prio_table_upsert(((struct cs_scheduler *)arg)->priorities, obj);
}

static void on_prio_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    cs_prio_table_upsert(((struct cs_scheduler *)arg)->priorities, obj);
}

static void on_prio_delete(void *arg, json_t *obj)
{
    cs_prio_table_delete(((struct cs_scheduler *)arg)->priorities, obj);
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

/* What confirm_own_bind reads: the pods informer decodes only these of a protobuf MODIFIED
 * event first, and all of it only when it is not the echo of our own bind (half the pod events
 * of a scheduling run, each a whole pod otherwise converted for five fields). */
static const char *const own_bind_fields[] = {
    "metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion",
    "metadata.deletionTimestamp", "spec.nodeName", NULL,
};

static int on_pod_peek(void *arg, json_t *partial)
{
    return confirm_own_bind(arg, partial);
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
    cs_pod_unref(take_newer(s, key));
    cs_nominator_remove(&s->nominator, key);
    cs_cache_remove_pod(&s->cache, key);
    cs_queue_delete(&s->queue, key);
    if (was == LIVE_ASSIGNED) {
        cs_queue_on_event(&s->queue, CS_EV_POD_DELETE);
    } else if (was == LIVE_PENDING) {
        cs_cache_journal_pending(&s->cache, key, NULL);
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
    struct cs_node *old = cs_cache_upsert_node_old(&s->cache, node);
    struct cs_event_info info = { .event = ev, .old_node = old, .new_node = node };
    cs_queue_on_event_info(&s->queue, &info);
    cs_node_unref(old);
    cs_node_unref(node);
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
    struct cs_pod *newer = take_newer(s, pod->key);
    const char *prof_name = job->prof->name;
    if (r->ok) {
        cs_cache_finish_binding(&s->cache, pod->key);
        cs_fw_post_bind(job->prof, pod, job->node);
        atomic_fetch_add(&s->bound, 1);
        cs_metrics_inc(s->metrics.binds, (const char *[]){ "success" });
        char note[600];
        cs_str_join(note, sizeof(note), "Successfully assigned ", pod->ns, "/", pod->name, " to ",
                    job->node, (const char *)NULL);
        cs_recorder_event(&s->recorder, pod, "Normal", "Scheduled", "Binding", note, prof_name);
        if (CS_V(3)) {
            CS_INFO_S("Pod bound", CS_KV("pod", pod->key), CS_KV("node", job->node));
        }
        cs_pod_unref(newer);
        return;
    }
    atomic_fetch_add(&s->bind_failed, 1);
    cs_metrics_inc(s->metrics.binds, (const char *[]){ "error" });
    if (cs_cache_forget_pod(&s->cache, pod->key) == 0) {
        /* kube-scheduler runs Unreserve after a failed bind; ours runs on the scheduling
         * thread at the next session open. */
        struct cs_unreserve_job *uj = cs_calloc(1, sizeof(*uj));
        uj->pod = cs_pod_ref(pod);
        uj->prof = job->prof;
        uj->node = job->node;
        pthread_mutex_lock(&s->unres_mu);
        uj->next = s->unres;
        s->unres = uj;
        pthread_mutex_unlock(&s->unres_mu);
    }
    cs_queue_on_event(&s->queue, CS_EV_POD_DELETE);
    /* State of this incarnation (a pod deleted and re-created under the same name counts as
     * gone: the new one is queued by its own informer event). */
    int live = live_get(s, pod->key, pod->uid);
    const char *msg = r->message ? r->message : "unknown error";
    CS_WARN_S("Binding failed", CS_KV("pod", pod->key), CS_KV("node", job->node),
              CS_KVI("status", r->http_status), CS_KV("err", msg));
    if (live == 0) {
        /* kube-scheduler: "Pod doesn't exist in informer cache": drop it. */
        cs_pod_unref(newer);
        return;
    }
    if (live == LIVE_ASSIGNED || (r->http_status == 409 && strstr(msg, "already assigned"))) {
        /* Bound already (perhaps by our earlier attempt): never requeue. */
        cs_pod_unref(newer);
        return;
    }
    char text[700];
    snprintf(text, sizeof(text), "Binding rejected: %s", msg);
    cs_recorder_unschedulable(&s->recorder, pod, "SchedulerError", text);
    cs_recorder_event(&s->recorder, pod, "Warning", "FailedScheduling", "Scheduling", text,
                      prof_name);
    cs_metrics_inc(s->metrics.queue_incoming_pods, (const char *[]){ "backoff", "BindingFailure" });
    /* The newest version the informer delivered meanwhile (same incarnation), with the
     * attempts this pod has made so far: its backoff keeps growing. */
    /* Never the placed object itself: it carries the failed attempt's nodeName and PreBind
     * annotations (the retry would be tied to that node); its base is the pod as queued. */
    struct cs_pod *queued = pod->base ? pod->base : pod;
    struct cs_pod *requeue = newer && newer->uid && pod->uid && strcmp(newer->uid, pod->uid) == 0
                                 ? newer
                                 : queued;
    cs_queue_requeue_backoff(&s->queue, requeue, job->attempts);
    cs_pod_unref(newer);
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

static void *scheduler_main(void *arg)
{
    struct cs_scheduler *s = arg;
    size_t cap = (size_t)s->opts.batch_size;
    struct cs_qentry **batch = cs_calloc(cap, sizeof(*batch));
    while (!atomic_load(&s->stop)) {
        /* Like kube-scheduler's WaitForCacheSync: never decide on a partial view of the
         * cluster (nodes not yet listed, assigned pods not yet counted). */
        if (!atomic_load(&s->leading) || !cs_scheduler_synced(s)) {
            cs_sleep_ns(50 * 1000000LL);
            continue;
        }
        size_t n = cs_queue_pop(&s->queue, batch, cap, 200 * 1000000LL);
        if (n) {
            cs_sched_run_session(s, batch, n);
        } else {
            cs_sched_run_session(s, batch, 0);   /* plugins still hear of cluster changes */
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
    cs_pod_room_init(&s->pod_room);
    s->api.pod_room = &s->pod_room;
    s->priorities = cs_prio_table_new();
    s->api.priorities = s->priorities;
    s->client = client;
    s->registry = reg;
    s->opts = *opts;
    if (s->opts.batch_size <= 0) {
        s->opts.batch_size = 256;
    }
    cs_cache_init(&s->cache);
    struct cs_queue_ops qops = {
        .less = q_less, .pre_enqueue = q_pre_enqueue, .changed = q_changed,
        .group_of = cs_sched_group_of, .hint = q_hint, .arg = s,
    };
    cs_queue_init(&s->queue, &qops, opts->initial_backoff_ns, opts->max_backoff_ns);
    s->queue.pop_from_backoff = true;   /* kube-scheduler v1.33+ default (SchedulerPopFromBackoffQ) */
    cs_snapshot_init(&s->snap);
    cs_cycle_init(&s->cycle, &s->api, opts->seed ? opts->seed : (uint64_t)cs_wall_ns());
    cs_fw_handle_init(&s->fw);
    cs_nominator_init(&s->nominator);
    s->cycle.nominator = &s->nominator;
    pthread_mutex_init(&s->unres_mu, NULL);
    cs_sched_services_init(s);
    cs_sched_env_init(s);
    struct cs_binder_hooks hooks = { .on_done = on_bind_done, .arg = s };
    s->bind_client = client;
    cs_binder_init(&s->binder, client, &hooks);
    cs_recorder_init(&s->recorder, client, opts->identity, 64);
    cs_sched_metrics_init(&s->metrics, reg);
    cs_map_init(&s->live);
    cs_map_init(&s->newer);
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
    /* Profiles are final now: per-node plugin state, groups, the change journal, sessions. */
    cs_cache_set_node_states(&s->cache, &s->fw.nsreg);
    cs_cache_set_group_fn(&s->cache, cs_sched_group_of, s);
    s->journal = cs_fw_wants_changes(s->profiles, s->n_profiles);
    if (s->journal) {
        cs_cache_enable_journal(&s->cache);
    }
    cs_session_init(&s->session, &s->snap, &s->cycle, s->profiles, s->n_profiles, &s->env,
                    &s->api, s->opts.actions);
    struct cs_informer_opts po = {
        .path = "/api/v1/pods",
        .field_selector = "status.phase!=Succeeded,status.phase!=Failed",
        .name = "pods",
        .peek_fields = own_bind_fields,
        .handlers = {
            .on_add = on_pod_add,
            .on_update = on_pod_update,
            .on_delete = on_pod_delete,
            .peek = on_pod_peek,
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
    /* PriorityClasses start first: pods listed after they arrive get their class's priority
     * where the server did not set it (api/priority.h). */
    struct cs_informer_opts pco = {
        .path = "/apis/scheduling.k8s.io/v1/priorityclasses",
        .name = "priorityclasses",
        .sync_on_404 = 1,
        .handlers = {
            .on_add = on_prio_add,
            .on_update = on_prio_update,
            .on_delete = on_prio_delete,
            .on_error = on_informer_error,
            .arg = s,
        },
    };
    s->prio_inf = cs_informer_new(s->client, &pco, err, errlen);
    s->node_inf = s->prio_inf ? cs_informer_new(s->client, &no, err, errlen) : NULL;
    s->pod_inf = s->node_inf ? cs_informer_new(s->client, &po, err, errlen) : NULL;
    if (s->pod_inf == NULL) {
        return -1;
    }
    if (cs_informer_start(s->prio_inf) != 0 || cs_informer_start(s->node_inf) != 0 ||
        cs_informer_start(s->pod_inf) != 0) {
        snprintf(err, errlen, "cannot start informers: client not running");
        return -1;
    }
    if (cs_sched_services_start(s, err, errlen) != 0) {
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
           cs_informer_has_synced(s->node_inf) && cs_informer_has_synced(s->prio_inf) &&
           cs_sched_services_synced(s);
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
        cs_sleep_ns(10 * 1000000LL);
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
    if (s->prio_inf) {
        cs_informer_stop(s->prio_inf);
    }
    cs_sched_services_stop(s);
}

void cs_scheduler_destroy(struct cs_scheduler *s)
{
    /* Informers first (their callbacks reach plugins), then everything holding plugin state
     * (session, cycle, snapshot and cache node states), then the plugins themselves. */
    cs_informer_free(s->pod_inf);
    cs_informer_free(s->node_inf);
    cs_informer_free(s->prio_inf);
    s->pod_inf = s->node_inf = s->prio_inf = NULL;
    for (uint32_t i = 0; i < s->n_extra_inf; i++) {
        cs_informer_free(s->extra_inf[i]);
    }
    cs_free(s->extra_inf);
    cs_session_destroy(&s->session);
    while (s->unres) {
        struct cs_unreserve_job *j = s->unres;
        s->unres = j->next;
        cs_pod_unref(j->pod);
        cs_free(j);
    }
    pthread_mutex_destroy(&s->unres_mu);
    cs_nominator_destroy(&s->nominator);
    cs_cycle_destroy(&s->cycle);
    cs_snapshot_destroy(&s->snap);
    cs_queue_destroy(&s->queue);
    cs_cache_destroy(&s->cache);
    for (uint32_t i = 0; i < s->n_profiles; i++) {
        cs_profile_destroy(&s->profiles[i]);
    }
    cs_free(s->profiles);
    cs_fw_handle_destroy(&s->fw);
    cs_recorder_destroy(&s->recorder);
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&s->live, &it, &k, &v)) {
        cs_free(v);
        cs_free((void *)k);
    }
    cs_map_destroy(&s->live);
    it = 0;
    while (cs_map_next(&s->newer, &it, &k, &v)) {
        cs_pod_unref(v);
    }
    cs_map_destroy(&s->newer);
    pthread_mutex_destroy(&s->live_mu);
    cs_prio_table_free(s->priorities);
    s->priorities = s->api.priorities = NULL;
    cs_resource_names_destroy(&s->resources);
    cs_intern_destroy(&s->strings);
}
