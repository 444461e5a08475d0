/*
 * The job queue controller: informers feed the model, the release pass decides, writes carry
 * the decisions out. See controller.h. Everything here runs on the client's I/O thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decode.h"
#include "api/priority.h"
#include "api/quantity.h"
#include "api/requests.h"
#include "pkg/binder/recorder.h"
#include "pkg/client/client.h"
#include "pkg/informer/informer.h"
#include "pkg/kqueue/controller.h"
#include "pkg/metrics/metrics.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/intern.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define QU_API "/apis/scheduling.x-k8s.io/v1alpha1"
#define TREE_PATH "/apis/scheduling.sigs.k8s.io/v1beta1/elasticquotatrees"
#define MERGE_PATCH "application/merge-patch+json"
#define LABEL_QUOTA_ACK "quota.scheduling.alibabacloud.com/name"
#define LABEL_QUOTA_KOORD "quota.scheduling.koordinator.sh/name"
#define LABEL_PREEMPT_ACK "quota.scheduling.alibabacloud.com/preemptible"
#define LABEL_PREEMPT_KOORD "quota.scheduling.koordinator.sh/preemptible"
#define ANN_QUEUE "kube-queue/queue-name"
#define LABEL_QUEUE_OURS "create-by-kubequeue"
#define ANN_QUOTA_FULLNAME "kube-queue/quota-fullname"
/* Allow-lists (kqueue.h), each with the older name koord-queue still reads as a fallback. */
#define ANN_NS_QUOTAS "kube-queue/available-quota-in-namespace"
#define ANN_NS_QUEUES "kube-queue/available-queue-in-namespace"
#define ANN_QUEUE_QUOTAS "kube-queue/available-quota-in-queue"
#define ANN_OLD_QUOTAS "kube-queue/available-quota"
#define ANN_OLD_QUEUES "kube-queue/available-queue"
#define CONTROLLER "kube-queue"
#define MAX_INFORMERS 16

struct job {
    char *key;                   /* "<ext>/<ns>/<name>" */
    const struct cs_kq_kind *kind;
    char *ns, *name, *uid;
    json_t *obj;
    char *unit_key;              /* "<ns>/<name>-<ext>" */
    bool creating;               /* QueueUnit create in flight */
    char *bad_rv;                /* spec version whose templates were reported unreadable */
    char *release_rv;            /* version the release patch was sent for */
    bool releasing;              /* a release patch is in flight: send no second one */
    char *await_rv;              /* version the release patch made, not yet seen by the
                                  * informer: views older than it are stale, never re-released */
    bool startup;                /* its unit was asked for at sync and is not seen yet */
    /* its pods' summed limits, for ResourceQuota limits.* (computed while quotas exist) */
    char *shape_rv;              /* spec version it was computed for */
    struct cs_kq_job_req shape;
};

struct uinfo {
    char *key;
    char *job_key;               /* from spec.consumerRef, NULL when it names no known kind */
    char *uid;
    bool confirmed;              /* the server holds phase Dequeued or later */
    bool writing, again;         /* a status write in flight / another wanted after it */
    bool reported_queue;         /* the missing-queue Event was sent */
    bool reported_denied;        /* the Event saying an allow-list keeps it out was sent */
    enum cs_kq_phase written;
    uint64_t written_gist;       /* gist() of the message last written */
    int64_t written_ns;          /* when the last status write was sent */
    int64_t released_ns;         /* when seen or made Dequeued (0: not released) */
    bool requeueing;             /* the suspend patch of a requeue is in flight */
};

struct podcount {
    char *uid;
    int pending, running, succeeded, failed;
    int bound;                   /* pending or running with a node */
};

struct podstate {
    char *key;
    char *ns;
    char *owner;                 /* controller owner's uid, "" when none */
    int phase;                   /* enum cs_pod_phase */
    bool bound;
    struct cs_pod *pod;          /* decoded (requests), counted reference; NULL: undecodable */
};

struct qobj {
    char *name;
    char *allow_quotas;          /* its kube-queue/available-quota-in-queue, NULL: none */
    bool ours;
    bool writing, again;
};

struct inf_arg {
    struct cs_kq_controller *c;
    const struct cs_kq_kind *kind;   /* job informers */
};

struct cs_kq_controller {
    struct cs_kq_controller_opts o;
    char *queue_ns;
    char *identity;
    struct cs_client *client;
    struct cs_recorder rec;
    struct cs_api_ctx api;
    struct cs_kq_model model;
    struct cs_map jobs;          /* key -> struct job * */
    struct cs_map units;         /* unit key -> struct uinfo * */
    struct cs_map pods;          /* pod key -> struct podstate * */
    struct cs_map counts;        /* owner uid -> struct podcount * */
    struct cs_map qobjs;         /* Queue name -> struct qobj * */
    json_t *tree_obj;            /* the tree in force (its document) */
    struct cs_informer *inf[MAX_INFORMERS];
    struct inf_arg args[MAX_INFORMERS];
    bool synced[MAX_INFORMERS];
    int n_inf;
    bool all_synced;
    bool pass_posted;
    uint64_t retry_timer;
    uint64_t tick_timer;
    int64_t last_tick_ns;
    bool deferred;               /* a unit's count-only status change waits for its refresh */
    /* Units asked for at sync (jobs that were there before the controller started) arrive in no
     * particular order: nothing is released until all of them are seen (or the deadline), so
     * that the first job created is the first released. */
    uint32_t startup_pending;
    int64_t startup_until_ns;
    struct cs_metric *m_len, *m_admitted, *m_wait, *m_requeued, *m_writes;
};

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const char *md_get(const json_t *obj, const char *k)
{
    return sget(json_object_get(obj, "metadata"), k);
}

static const char *label_of(const json_t *obj, const char *k)
{
    return sget(json_object_get(json_object_get(obj, "metadata"), "labels"), k);
}

static const char *annotation_of(const json_t *obj, const char *k)
{
    return sget(json_object_get(json_object_get(obj, "metadata"), "annotations"), k);
}

static bool ok_status(long s)
{
    return s >= 200 && s < 300;
}

static void kick(struct cs_kq_controller *c);
static void reconcile_job(struct cs_kq_controller *c, struct job *j);
static void rq_usage(struct cs_kq_controller *c);

/* The pod counts of a job. Pods are counted under their controller owner's uid, except pods a
 * kind's operator labels with the job's name (a RayJob's pods are owned by its RayCluster, a
 * Spark executor by the driver pod): those are counted under the job's key, which needs no
 * owner object and does not depend on which informer listed first. */
static const struct podcount *job_counts(struct cs_kq_controller *c, const struct job *j);

/* ---- writes ------------------------------------------------------------------------------ */

struct wctx {
    struct cs_kq_controller *c;
    char *key;
    enum cs_kq_phase phase;
};

static struct wctx *wctx_new(struct cs_kq_controller *c, const char *key)
{
    struct wctx *w = cs_calloc(1, sizeof(*w));
    w->c = c;
    w->key = cs_strdup(key);
    return w;
}

static void wctx_free(struct wctx *w)
{
    cs_free(w->key);
    cs_free(w);
}

static void submit(struct cs_kq_controller *c, const char *method, const char *path,
                   const char *ctype, const struct cs_buf *body, cs_client_cb cb, void *arg)
{
    struct cs_client_req r = {
        .method = method,
        .path = path,
        .body = body ? body->data : NULL,
        .body_len = body ? body->len : 0,
        .content_type = ctype,
        .cb = cb,
        .arg = arg,
        .retry = CS_CLIENT_RETRY_DEFAULT,
    };
    if (cs_client_submit(c->client, &r) != 0 && cb) {
        struct cs_client_resp resp = { .status = 0, .body = "", .err = "client stopped" };
        cb(arg, &resp);
    }
}

static void retry_later_fn(void *arg)
{
    struct cs_kq_controller *c = arg;
    c->retry_timer = 0;
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&c->jobs, &it, &k, &v);) {
        reconcile_job(c, v);
    }
    kick(c);
}

static void retry_later(struct cs_kq_controller *c)
{
    if (c->retry_timer == 0 && cs_client_running(c->client)) {
        c->retry_timer = cs_client_timer_add(c->client, 1000, retry_later_fn, c);
    }
}

static void write_unit_status(struct cs_kq_controller *c, struct cs_kq_unit *u);

static void on_unit_status(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    struct cs_kq_controller *c = w->c;
    struct uinfo *ui = cs_map_get(&c->units, w->key);
    struct cs_kq_unit *u = cs_kq_unit_get(&c->model, w->key);
    if (ui) {
        ui->writing = false;
        if (ok_status(resp->status)) {
            ui->written = w->phase;
            if (w->phase != CS_KQ_ENQUEUED) {
                ui->confirmed = true;
            }
        } else if (resp->status != 404 && u) {
            char t[300];
            CS_WARN_S("Cannot write QueueUnit status; retrying", CS_KV("queueUnit", w->key),
                      CS_KVI("status", resp->status),
                      CS_KV("err", resp->err ? resp->err : cs_client_resp_text(resp, t, sizeof(t))));
            ui->again = true;
            u->changed = true;
            retry_later(c);
        }
        if (ui->again && u && resp->status != 404 && ok_status(resp->status)) {
            ui->again = false;
            write_unit_status(c, u);
        }
        if (ui->confirmed && ui->job_key) {
            struct job *j = cs_map_get(&c->jobs, ui->job_key);
            if (j) {
                reconcile_job(c, j);
            }
        }
    }
    wctx_free(w);
}

/* A waiting unit's message with its numbers left out ("position 3 of 7 in queue q; backing off
 * 12 s more" and "position 2 of 6 ...; backing off 11 s more" have the same gist): FNV-1a. */
static uint64_t gist(const char *msg)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = msg; *p; p++) {
        if (*p < '0' || *p > '9') {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        }
    }
    return h;
}

/* Status writes that only move numbers (its position as units ahead leave, a backoff counting
 * down) are sent at most this often per unit: otherwise each release rewrites every unit behind
 * it, O(queue length) writes. The Queue's status.queueItemDetails has the exact positions. */
#define COUNTS_REFRESH_NS (5LL * 1000000000)

static bool counts_only(const struct cs_kq_unit *u, const struct uinfo *ui, int64_t now)
{
    return ui && u->phase == CS_KQ_ENQUEUED && ui->written == CS_KQ_ENQUEUED &&
           ui->written_ns > 0 && now - ui->written_ns < COUNTS_REFRESH_NS &&
           ui->written_gist == gist(u->message);
}

static void write_unit_status(struct cs_kq_controller *c, struct cs_kq_unit *u)
{
    struct uinfo *ui = cs_map_get(&c->units, u->key);
    if (ui == NULL) {
        return;
    }
    if (ui->writing) {
        ui->again = true;
        return;
    }
    if (ui->requeueing) {
        return;                    /* written once the job is suspended again */
    }
    u->changed = false;
    ui->writing = true;
    ui->written_ns = cs_wall_ns();
    ui->written_gist = gist(u->message);
    if (c->m_writes) {
        cs_metrics_inc(c->m_writes, NULL);
    }
    const char *msg = u->message;
    char m2[200];
    if (u->phase != CS_KQ_ENQUEUED) {
        static const char *const words[] = { "", "released from queue %s", "job running",
                                             "job succeeded", "job failed" };
        snprintf(m2, sizeof(m2), words[u->phase],
                 u->queue >= 0 ? c->model.queues[u->queue]->name : "");
        msg = m2;
    }
    char now[40];
    cs_fmt_time(cs_wall_ns(), now, sizeof(now));
    struct cs_buf b, p;
    cs_buf_init(&b);
    cs_buf_init(&p);
    cs_buf_printf(&b, "{\"status\":{\"phase\":\"%s\",\"message\":", cs_kq_phase_name(u->phase));
    cs_buf_json_str(&b, msg);
    if (u->phase == CS_KQ_ENQUEUED) {
        cs_buf_printf(&b, ",\"position\":%u", u->position);
    } else {
        cs_buf_puts(&b, ",\"position\":null");
    }
    if (u->requeues) {
        /* kept on the object so that a restarted controller keeps the backoff (Kueue's shape) */
        char at[40];
        cs_fmt_time(u->backoff_until_ns, at, sizeof(at));
        cs_buf_printf(&b, ",\"requeueState\":{\"count\":%u,\"requeueAt\":\"%s\",\"reason\":",
                      u->requeues, at);
        cs_buf_json_str(&b, u->requeue_why);
        cs_buf_puts(&b, "}");
    }
    cs_buf_printf(&b, ",\"lastUpdateTime\":\"%s\"}}", now);
    cs_buf_printf(&p, QU_API "/namespaces/%s/queueunits/%s/status", u->ns, u->name);
    struct wctx *w = wctx_new(c, u->key);
    w->phase = u->phase;
    submit(c, "PATCH", p.data, MERGE_PATCH, &b, on_unit_status, w);
    cs_buf_free(&b);
    cs_buf_free(&p);
}

static void on_queue_status(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    struct qobj *q = cs_map_get(&w->c->qobjs, w->key);
    if (q) {
        q->writing = false;
        if (!ok_status(resp->status) && resp->status != 404) {
            CS_WARN_S("Cannot write Queue status", CS_KV("queue", w->key),
                      CS_KVI("status", resp->status));
        }
        if (q->again) {
            q->again = false;
            struct cs_kq_queue *mq = cs_kq_queue_get(&w->c->model, w->key);
            if (mq) {
                mq->changed = true;
                kick(w->c);
            }
        }
    }
    wctx_free(w);
}

static void write_queue_status(struct cs_kq_controller *c, struct cs_kq_queue *mq)
{
    struct qobj *q = cs_map_get(&c->qobjs, mq->name);
    if (q == NULL) {
        return;                    /* no Queue object (the default queue, or not created yet) */
    }
    mq->changed = false;
    if (q->writing) {
        q->again = true;
        return;
    }
    q->writing = true;
    struct cs_buf b, p;
    cs_buf_init(&b);
    cs_buf_init(&p);
    cs_buf_puts(&b, "{\"status\":{\"queueItemDetails\":[");
    for (uint32_t i = 0; i < mq->n_order && i < 1000; i++) {
        const struct cs_kq_unit *u = mq->order[i];
        cs_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        cs_buf_json_str(&b, u->name);
        cs_buf_puts(&b, ",\"namespace\":");
        cs_buf_json_str(&b, u->ns);
        cs_buf_printf(&b, ",\"priority\":%d,\"position\":%u}", u->priority, i + 1);
    }
    cs_buf_printf(&b, "],\"length\":%u}}", mq->n_order);
    cs_buf_printf(&p, QU_API "/namespaces/%s/queues/%s/status", c->queue_ns, mq->name);
    submit(c, "PATCH", p.data, MERGE_PATCH, &b, on_queue_status, wctx_new(c, mq->name));
    cs_buf_free(&b);
    cs_buf_free(&p);
}

static void event(struct cs_kq_controller *c, const char *kind, const char *api_version,
                  const char *ns, const char *name, const char *uid, const char *reason,
                  const char *note)
{
    cs_recorder_event_obj(&c->rec, kind, api_version, ns, name, uid, "Warning", reason,
                          "Queueing", note, CONTROLLER);
}

/* ---- ResourceQuotas (no tree) ----------------------------------------------------------- */

/* What a live pod counts against a ResourceQuota resource ("cpu", "limits.cpu", "pods"). */
static int64_t pod_request(struct cs_kq_controller *c, const struct cs_pod *p, const char *res)
{
    if (strcmp(res, "pods") == 0) {
        return 1;
    }
    if (strncmp(res, "limits.", 7) == 0) {
        int ls = cs_resource_slot_lookup(c->api.resources, res + 7);
        if (ls < 0) {
            return 0;
        }
        struct cs_resources lim;
        cs_pod_aggregate_limits(p, &lim);
        return lim.v[ls];
    }
    int slot = cs_resource_slot_lookup(c->api.resources, res);
    if (slot >= 0) {
        return p->requests.v[slot];
    }
    for (uint32_t i = 0; i < p->extra_requests.n; i++) {
        if (strcmp(p->extra_requests.e[i].name, res) == 0) {
            return p->extra_requests.e[i].v;
        }
    }
    return 0;
}

static void spec_version(const json_t *job, char *out, size_t n);

/* Give u its job's summed limits (ResourceQuota limits.*), read again only when the job's spec
 * changes. */
static void job_shape(struct cs_kq_controller *c, struct job *j, struct cs_kq_unit *u)
{
    char rv[64];
    spec_version(j->obj, rv, sizeof(rv));
    if (j->shape_rv == NULL || strcmp(j->shape_rv, rv) != 0) {
        char err[256];
        cs_kq_job_req_free(&j->shape);
        if (cs_kq_job_requests(&c->api, j->kind, j->obj, &j->shape, err, sizeof(err)) != 0) {
            memset(&j->shape, 0, sizeof(j->shape));   /* reported when its unit was made */
        }
        cs_free(j->shape_rv);
        j->shape_rv = cs_strdup(rv);
    } else if (u->n_limits == j->shape.n_limits) {
        return;
    }
    cs_kq_unit_set_limits(u, j->shape.limits, j->shape.n_limits);
}

/* used[] of every ResourceQuota: what the live pods of its namespace request, except pods of
 * jobs whose unit holds a reservation (the reservation counts for them). */
static void rq_usage(struct cs_kq_controller *c)
{
    struct cs_map holding;
    cs_map_init(&holding);
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&c->jobs, &it, &k, &v);) {
        struct job *j = v;
        struct cs_kq_unit *u = cs_kq_unit_get(&c->model, j->unit_key);
        if (u) {
            job_shape(c, j, u);
        }
        if (u && j->uid && (u->phase == CS_KQ_DEQUEUED || u->phase == CS_KQ_RUNNING)) {
            cs_map_put(&holding, j->uid, j);
            cs_map_put(&holding, j->key, j);   /* pods counted under the job's key */
        }
    }
    for (uint32_t i = 0; i < c->model.n_rqs; i++) {
        struct cs_kq_rq *q = c->model.rqs[i];
        memset(q->used, 0, sizeof(int64_t) * (q->n ? q->n : 1));
    }
    for (size_t it = 0; cs_map_next(&c->pods, &it, &k, &v);) {
        const struct podstate *ps = v;
        if (ps->pod == NULL || (ps->phase != CS_PHASE_PENDING && ps->phase != CS_PHASE_RUNNING) ||
            (ps->owner[0] && cs_map_get(&holding, ps->owner))) {
            continue;
        }
        for (uint32_t i = 0; i < c->model.n_rqs; i++) {
            struct cs_kq_rq *q = c->model.rqs[i];
            if (strcmp(q->ns, ps->ns) != 0) {
                continue;
            }
            for (uint32_t d = 0; d < q->n; d++) {
                q->used[d] += pod_request(c, ps->pod, q->res[d]);
            }
        }
    }
    cs_map_destroy(&holding);
}

/* What a spec.hard key limits, in the model's words: a request ("cpu"), a limit ("limits.cpu")
 * or the pod count ("pods"); NULL when the queue does not gate it (count/<kind> of other
 * objects, storage). */
static const char *rq_resource(const char *key, char *buf, size_t n)
{
    if (strcmp(key, "pods") == 0 || strcmp(key, "count/pods") == 0) {
        key = "pods";
    } else if (strncmp(key, "requests.", 9) == 0) {
        key += 9;
    } else if (strncmp(key, "limits.", 7) != 0 && strcmp(key, "cpu") != 0 &&
               strcmp(key, "memory") != 0 && strcmp(key, "ephemeral-storage") != 0) {
        return NULL;
    }
    snprintf(buf, n, "%s", key);
    return buf;
}

static void on_rq(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    const char *ns = md_get(obj, "namespace"), *name = md_get(obj, "name");
    if (ns == NULL || name == NULL) {
        return;
    }
    const json_t *hard = json_object_get(json_object_get(obj, "spec"), "hard");
    size_t max = json_object_size(hard);
    const char **keys = cs_calloc(max ? max : 1, sizeof(char *));
    char **res = cs_calloc(max ? max : 1, sizeof(char *));
    int64_t *vals = cs_calloc(max ? max : 1, sizeof(int64_t));
    uint32_t n = 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)hard, key, val) {
        char buf[256];
        const char *r = rq_resource(key, buf, sizeof(buf));
        struct cs_quantity q;
        char e[128];
        if (r == NULL || cs_quantity_from_json(val, &q, e, sizeof(e)) != 0) {
            continue;
        }
        keys[n] = key;
        res[n] = cs_strdup(r);
        vals[n] = cs_kq_rq_milli(r) ? cs_quantity_milli(&q) : cs_quantity_value(&q);
        n++;
    }
    cs_kq_rq_set(&c->model, ns, name, keys, (const char *const *)res, vals, n);
    for (uint32_t i = 0; i < n; i++) {
        cs_free(res[i]);
    }
    cs_free(res);
    cs_free(keys);
    cs_free(vals);
    if (CS_V(2)) {
        CS_INFO_S("ResourceQuota seen", CS_KV("namespace", ns), CS_KV("name", name),
                  CS_KVI("limits", n));
    }
    kick(c);
}

static void on_rq_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_rq(arg, obj);
}

static void on_rq_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    const char *ns = md_get(obj, "namespace"), *name = md_get(obj, "name");
    if (ns && name) {
        cs_kq_rq_remove(&a->c->model, ns, name);
        kick(a->c);
    }
}

/* ---- the release pass -------------------------------------------------------------------- */

static void pass(void *arg)
{
    struct cs_kq_controller *c = arg;
    c->pass_posted = false;
    if (!c->all_synced) {
        return;
    }
    int64_t now = cs_wall_ns();
    if (c->startup_pending && now < c->startup_until_ns) {
        return;                    /* the last of them to be seen kicks */
    }
    c->model.now_ns = now;
    if (c->model.tree == NULL && c->model.n_rqs) {
        rq_usage(c);
    }
    struct cs_kq_unit **out = NULL;
    uint32_t n = cs_kq_schedule(&c->model, &out);
    for (uint32_t i = 0; i < n; i++) {
        struct cs_kq_unit *u = out[i];
        struct uinfo *ui = cs_map_get(&c->units, u->key);
        if (ui) {
            ui->confirmed = false;
            ui->released_ns = now;
        }
        const char *qn = u->queue >= 0 ? c->model.queues[u->queue]->name : "";
        if (c->m_admitted) {
            cs_metrics_inc(c->m_admitted, CS_METRICS_LABELS(qn));
            double w = u->creation_ns > 0 && now > u->creation_ns
                           ? (double)(now - u->creation_ns) / 1e9 : 0;
            cs_metrics_observe(c->m_wait, CS_METRICS_LABELS(qn), w);
        }
        CS_INFO_S("QueueUnit released", CS_KV("queueUnit", u->key),
                  CS_KV("queue", u->queue >= 0 ? c->model.queues[u->queue]->name : ""),
                  CS_KV("quota", c->model.tree && u->quota >= 0
                                     ? c->model.tree->nodes[u->quota].name : ""),
                  CS_KVI("priority", u->priority));
    }
    cs_free(out);
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&c->model.units, &it, &k, &v);) {
        struct cs_kq_unit *u = v;
        struct uinfo *ui = cs_map_get(&c->units, u->key);
        if (u->queue < 0 && ui && !ui->reported_queue) {
            ui->reported_queue = true;
            CS_WARN_S("QueueUnit names a queue that does not exist", CS_KV("queueUnit", u->key),
                      CS_KV("queue", u->want_queue ? u->want_queue : ""));
            event(c, "QueueUnit", "scheduling.x-k8s.io/v1alpha1", u->ns, u->name, ui->uid,
                  "QueueNotFound", u->message);
        } else if (u->queue >= 0 && ui) {
            ui->reported_queue = false;
        }
        if (u->denied && ui && !ui->reported_denied) {
            ui->reported_denied = true;
            CS_WARN_S("QueueUnit kept out of its queue by an allow-list",
                      CS_KV("queueUnit", u->key), CS_KV("why", u->message));
            event(c, "QueueUnit", "scheduling.x-k8s.io/v1alpha1", u->ns, u->name, ui->uid,
                  "NotAllowed", u->message);
        } else if (!u->denied && ui) {
            ui->reported_denied = false;
        }
        if (u->changed && counts_only(u, ui, now)) {
            c->deferred = true;    /* the tick runs a pass again */
        } else if (u->changed) {
            write_unit_status(c, u);
        }
    }
    for (uint32_t i = 0; i < c->model.n_queues; i++) {
        if (c->m_len) {
            cs_metrics_set(c->m_len, CS_METRICS_LABELS(c->model.queues[i]->name),
                           c->model.queues[i]->n_order);
        }
        if (c->model.queues[i]->changed) {
            write_queue_status(c, c->model.queues[i]);
        }
    }
}

static void kick(struct cs_kq_controller *c)
{
    if (!c->pass_posted && c->all_synced) {
        c->pass_posted = cs_client_post(c->client, pass, c) == 0;
    }
}

/* ---- requeue of jobs that stay unschedulable ---------------------------------------------- */

static void on_resuspended(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    struct cs_kq_controller *c = w->c;
    struct uinfo *ui = cs_map_get(&c->units, w->key);
    struct cs_kq_unit *u = cs_kq_unit_get(&c->model, w->key);
    if (ui) {
        ui->requeueing = false;
    }
    if (ui && u) {
        if (ok_status(resp->status) || resp->status == 404) {
            CS_INFO_S("Job suspended again and requeued", CS_KV("queueUnit", w->key),
                      CS_KV("why", u->requeue_why));
            u->changed = true;
        } else {
            char t[300];
            CS_WARN_S("Cannot suspend job to requeue it; it keeps its reservation",
                      CS_KV("queueUnit", w->key), CS_KVI("status", resp->status),
                      CS_KV("err", resp->err ? resp->err : cs_client_resp_text(resp, t, sizeof(t))));
            cs_kq_unit_set_phase(&c->model, u, CS_KQ_DEQUEUED);
            ui->released_ns = cs_wall_ns();
        }
        kick(c);
    }
    wctx_free(w);
}

static void requeue(struct cs_kq_controller *c, struct job *j, struct cs_kq_unit *u,
                    struct uinfo *ui, int scheduled, uint32_t want, int64_t now)
{
    int64_t backoff = c->o.requeue_backoff_ms > 0 ? c->o.requeue_backoff_ms : 10000;
    for (uint32_t i = 0; i < u->requeues && backoff < 600000; i++) {
        backoff *= 2;
    }
    if (backoff > 600000) {
        backoff = 600000;
    }
    char why[160];
    snprintf(why, sizeof(why), "%d of %u pods scheduled %lld s after release",
             scheduled, want, (long long)((now - ui->released_ns) / 1000000000));
    const char *qn = u->queue >= 0 ? c->model.queues[u->queue]->name : "";
    CS_WARN_S("Released job stays unschedulable; suspending and requeueing it",
              CS_KV("job", j->key), CS_KV("queueUnit", u->key), CS_KV("why", why),
              CS_KVI("backoffMs", backoff));
    ui->requeueing = true;
    ui->released_ns = 0;
    cs_kq_unit_requeue(&c->model, u, backoff * 1000000, why);
    if (c->m_requeued) {
        cs_metrics_inc(c->m_requeued, CS_METRICS_LABELS(qn));
    }
    char note[300];
    snprintf(note, sizeof(note), "job suspended again and requeued: %s; backoff %lld s", why,
             (long long)(backoff / 1000));
    cs_recorder_event_obj(&c->rec, "QueueUnit", "scheduling.x-k8s.io/v1alpha1", u->ns, u->name,
                          ui->uid, "Warning", "Requeued", "Queueing", note, CONTROLLER);
    cs_free(j->release_rv);
    j->release_rv = NULL;
    cs_free(j->await_rv);
    j->await_rv = NULL;
    struct cs_buf b, p;
    cs_buf_init(&b);
    cs_buf_init(&p);
    cs_kq_job_suspend_patch(j->kind, &b);
    cs_kq_kind_path(j->kind, j->ns, j->name, &p);
    submit(c, "PATCH", p.data, MERGE_PATCH, &b, on_resuspended, wctx_new(c, u->key));
    cs_buf_free(&b);
    cs_buf_free(&p);
    kick(c);
}

static void tick(void *arg)
{
    struct cs_kq_controller *c = arg;
    c->tick_timer = 0;
    int64_t now = cs_wall_ns();
    if (c->startup_pending && now >= c->startup_until_ns) {
        CS_WARN_S("QueueUnits asked for at the start not all seen; releasing anyway",
                  CS_KVI("missing", c->startup_pending));
        c->startup_pending = 0;
        c->deferred = true;
    }
    if (c->deferred) {
        c->deferred = false;
        kick(c);
    }
    int64_t timeout = c->o.requeue_timeout_ms * 1000000;
    const char *k;
    void *v;
    for (size_t it = 0; c->all_synced && cs_map_next(&c->model.units, &it, &k, &v);) {
        struct cs_kq_unit *u = v;
        if (u->phase == CS_KQ_ENQUEUED && u->backoff_until_ns > c->last_tick_ns &&
            u->backoff_until_ns <= now) {
            kick(c);               /* a backoff ended */
            continue;
        }
        struct uinfo *ui = cs_map_get(&c->units, u->key);
        if (timeout <= 0 || u->phase != CS_KQ_DEQUEUED || ui == NULL || !ui->confirmed ||
            ui->requeueing || ui->released_ns == 0 || now - ui->released_ns < timeout ||
            ui->job_key == NULL) {
            continue;
        }
        struct job *j = cs_map_get(&c->jobs, ui->job_key);
        if (j == NULL || cs_kq_job_held(j->kind, j->obj)) {
            continue;
        }
        struct cs_kq_job_req r;
        char err[256];
        if (cs_kq_job_requests(&c->api, j->kind, j->obj, &r, err, sizeof(err)) != 0) {
            continue;
        }
        uint32_t want = r.pods;
        cs_kq_job_req_free(&r);
        const struct podcount *pc = job_counts(c, j);
        int scheduled = pc ? pc->bound + pc->succeeded + pc->failed : 0;
        if (scheduled < (int)want) {
            requeue(c, j, u, ui, scheduled, want, now);
        }
    }
    c->last_tick_ns = now;
    if (cs_client_running(c->client)) {
        int64_t every = c->o.requeue_timeout_ms > 0 ? c->o.requeue_timeout_ms / 4 : 1000;
        every = every < 100 ? 100 : every > 1000 ? 1000 : every;
        c->tick_timer = cs_client_timer_add(c->client, every, tick, c);
    }
}

/* ---- jobs -------------------------------------------------------------------------------- */

static void startup_seen(struct cs_kq_controller *c, struct job *j)
{
    if (j->startup) {
        j->startup = false;
        c->startup_pending -= c->startup_pending > 0;
    }
}

static void on_unit_created(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    struct job *j = cs_map_get(&w->c->jobs, w->key);
    if (j) {
        j->creating = false;
        if (!ok_status(resp->status) && resp->status != 409) {
            char t[300];
            startup_seen(w->c, j);
            CS_WARN_S("Cannot create QueueUnit; retrying", CS_KV("job", w->key),
                      CS_KVI("status", resp->status),
                      CS_KV("err", resp->err ? resp->err : cs_client_resp_text(resp, t, sizeof(t))));
            retry_later(w->c);
        }
    }
    wctx_free(w);
}

static void copy_meta(struct cs_buf *b, const json_t *job, const char *field,
                      const char *const *keys)
{
    bool any = false;
    for (int i = 0; keys[i]; i++) {
        const char *v = strcmp(field, "labels") == 0 ? label_of(job, keys[i])
                                                     : annotation_of(job, keys[i]);
        if (v) {
            cs_buf_puts(b, any ? "," : "");
            if (!any) {
                cs_buf_printf(b, ",\"%s\":{", field);
                any = true;
            }
            cs_buf_json_str(b, keys[i]);
            cs_buf_putc(b, ':');
            cs_buf_json_str(b, v);
        }
    }
    if (any) {
        cs_buf_putc(b, '}');
    }
}

static void queue_of_job(struct cs_kq_controller *c, const json_t *job, char *out, size_t n)
{
    const char *ann = annotation_of(job, ANN_QUEUE);
    if (ann) {
        snprintf(out, n, "%s", ann);
        return;
    }
    const struct cs_quota_tree *t = c->model.tree;
    const char *quota = label_of(job, LABEL_QUOTA_ACK) ?: label_of(job, LABEL_QUOTA_KOORD);
    int32_t q = -1;
    if (t) {
        q = quota ? cs_quota_tree_find(t, quota)
                  : (int32_t)(intptr_t)cs_map_get(&t->ns_leaf, md_get(job, "namespace")) - 1;
    }
    if (q >= 0) {
        cs_kq_queue_name(t->nodes[q].name, out, n);
    } else {
        snprintf(out, n, "default");
    }
}

/* The version of a job's spec: its generation (status updates do not change it). */
static void spec_version(const json_t *job, char *out, size_t n)
{
    const json_t *g = json_object_get(json_object_get(job, "metadata"), "generation");
    if (json_is_integer(g)) {
        snprintf(out, n, "g%lld", (long long)json_integer_value(g));
    } else {
        snprintf(out, n, "r%s", md_get(job, "resourceVersion") ?: "");
    }
}

static void create_unit(struct cs_kq_controller *c, struct job *j)
{
    char rv[64];
    spec_version(j->obj, rv, sizeof(rv));
    if (j->bad_rv && strcmp(j->bad_rv, rv) == 0) {
        return;
    }
    struct cs_kq_job_req r;
    char err[512];
    if (cs_kq_job_requests(&c->api, j->kind, j->obj, &r, err, sizeof(err)) != 0) {
        cs_free(j->bad_rv);
        j->bad_rv = cs_strdup(rv);
        char note[700];
        snprintf(note, sizeof(note), "cannot queue %s %s/%s: %s", j->kind->kind, j->ns, j->name,
                 err);
        CS_WARN_S("Cannot queue job: its pod templates cannot be read", CS_KV("job", j->key),
                  CS_KV("err", err));
        event(c, j->kind->kind, j->kind->api_version, j->ns, j->name, j->uid,
              "InvalidResources", note);
        return;
    }
    char qname[128];
    queue_of_job(c, j->obj, qname, sizeof(qname));
    const char *slash = strchr(j->unit_key, '/');
    struct cs_buf b, p;
    cs_buf_init(&b);
    cs_buf_init(&p);
    cs_buf_puts(&b, "{\"apiVersion\":\"scheduling.x-k8s.io/v1alpha1\",\"kind\":\"QueueUnit\","
                    "\"metadata\":{\"name\":");
    cs_buf_json_str(&b, slash + 1);
    cs_buf_puts(&b, ",\"namespace\":");
    cs_buf_json_str(&b, j->ns);
    static const char *const labels[] = { LABEL_QUOTA_ACK, LABEL_QUOTA_KOORD, LABEL_PREEMPT_ACK,
                                          LABEL_PREEMPT_KOORD, NULL };
    static const char *const anns[] = { ANN_QUEUE, NULL };
    copy_meta(&b, j->obj, "labels", labels);
    copy_meta(&b, j->obj, "annotations", anns);
    cs_buf_printf(&b, ",\"ownerReferences\":[{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"name\":",
                  j->kind->api_version, j->kind->kind);
    cs_buf_json_str(&b, j->name);
    cs_buf_puts(&b, ",\"uid\":");
    cs_buf_json_str(&b, j->uid);
    cs_buf_printf(&b, ",\"controller\":true,\"blockOwnerDeletion\":true}]},\"spec\":{"
                      "\"consumerRef\":{\"apiVersion\":\"%s\",\"kind\":\"%s\",\"name\":",
                  j->kind->api_version, j->kind->kind);
    cs_buf_json_str(&b, j->name);
    cs_buf_puts(&b, ",\"namespace\":");
    cs_buf_json_str(&b, j->ns);
    cs_buf_puts(&b, ",\"uid\":");
    cs_buf_json_str(&b, j->uid);
    cs_buf_printf(&b, "},\"priority\":%d", r.priority);
    if (r.priority_class) {
        cs_buf_puts(&b, ",\"priorityClassName\":");
        cs_buf_json_str(&b, r.priority_class);
    }
    cs_buf_puts(&b, ",\"queue\":");
    cs_buf_json_str(&b, qname);
    cs_buf_puts(&b, ",\"resource\":");
    cs_kq_res_json(r.res, r.n_res, &b);
    cs_buf_puts(&b, "},\"status\":{\"phase\":\"Enqueued\"}}");
    cs_buf_printf(&p, QU_API "/namespaces/%s/queueunits", j->ns);
    j->creating = true;
    if (CS_V(2)) {
        struct cs_buf rb;
        cs_buf_init(&rb);
        cs_kq_res_json(r.res, r.n_res, &rb);
        CS_INFO_S("Queueing job", CS_KV("job", j->key), CS_KV("queueUnit", j->unit_key),
                  CS_KV("queue", qname), CS_KV("resource", rb.data), CS_KVI("pods", r.pods));
        cs_buf_free(&rb);
    }
    submit(c, "POST", p.data, NULL, &b, on_unit_created, wctx_new(c, j->key));
    cs_buf_free(&b);
    cs_buf_free(&p);
    cs_kq_job_req_free(&r);
}

/* The resourceVersion of the object a write returned (JSON), owned; NULL when there is none. */
static char *resp_rv(const struct cs_client_resp *resp)
{
    json_t *o = json_loadb(resp->body, resp->body_len, 0, NULL);
    const char *rv = o ? md_get(o, "resourceVersion") : NULL;
    char *out = rv && *rv ? cs_strdup(rv) : NULL;
    json_decref(o);
    return out;
}

static void on_released(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    struct job *j = cs_map_get(&w->c->jobs, w->key);
    if (j) {
        j->releasing = false;
    }
    if (!ok_status(resp->status) && resp->status != 404) {
        char t[300];
        CS_WARN_S("Cannot release job; retrying", CS_KV("job", w->key),
                  CS_KVI("status", resp->status),
                  CS_KV("err", resp->err ? resp->err : cs_client_resp_text(resp, t, sizeof(t))));
        if (j) {
            cs_free(j->release_rv);
            j->release_rv = NULL;
        }
        retry_later(w->c);
    } else if (ok_status(resp->status)) {
        CS_INFO_S("Job released", CS_KV("job", w->key));
        if (j) {
            cs_free(j->await_rv);
            j->await_rv = resp_rv(resp);
        }
    }
    wctx_free(w);
}

/* Whether the informer's view at version rv has caught up with version want. Versions are
 * compared as numbers when both are (etcd revisions, as the apiserver and apisim write them),
 * else only equality counts. */
static bool rv_reached(const char *rv, const char *want)
{
    char *e1, *e2;
    unsigned long long a = strtoull(rv, &e1, 10), b = strtoull(want, &e2, 10);
    if (*rv && *want && *e1 == 0 && *e2 == 0) {
        return a >= b;
    }
    return strcmp(rv, want) == 0;
}

static void release_job(struct cs_kq_controller *c, struct job *j)
{
    const char *rv = md_get(j->obj, "resourceVersion") ?: "";
    if (j->releasing || (j->release_rv && strcmp(j->release_rv, rv) == 0) || j->await_rv) {
        return;
    }
    j->releasing = true;
    cs_free(j->release_rv);
    j->release_rv = cs_strdup(rv);
    struct cs_buf b, p;
    cs_buf_init(&b);
    cs_buf_init(&p);
    uint32_t pods = 0;
    if (!c->o.no_gang) {
        struct cs_kq_job_req r;
        char err[256];
        if (cs_kq_job_requests(&c->api, j->kind, j->obj, &r, err, sizeof(err)) == 0) {
            pods = r.pods;
            cs_kq_job_req_free(&r);
        }
    }
    const char *slash = strchr(j->unit_key, '/');
    cs_kq_job_release_patch(j->kind, j->obj, slash + 1, pods, &b);
    cs_kq_kind_path(j->kind, j->ns, j->name, &p);
    submit(c, "PATCH", p.data, MERGE_PATCH, &b, on_released, wctx_new(c, j->key));
    cs_buf_free(&b);
    cs_buf_free(&p);
}

/* 0 going, 1 succeeded, 2 failed: the job's status, else its pods when all of them run in one
 * wave (kubeflow jobs, a RayJob's cluster, a Job whose completions fit its parallelism). */
static int finished(struct cs_kq_controller *c, struct job *j, const struct podcount *pc)
{
    int f = cs_kq_job_finished(j->kind, j->obj);
    if (f || pc == NULL || pc->pending || pc->running || pc->succeeded + pc->failed == 0 ||
        !cs_kq_job_one_wave(j->kind, j->obj)) {
        return f;
    }
    struct cs_kq_job_req r;
    char err[256];
    if (cs_kq_job_requests(&c->api, j->kind, j->obj, &r, err, sizeof(err)) != 0) {
        return 0;
    }
    int64_t want = r.pods;
    cs_kq_job_req_free(&r);
    if (want == 0) {
        return 0;                  /* how many pods it runs is not known */
    }
    if (pc->succeeded >= want) {
        return 1;
    }
    return pc->failed > 0 && pc->succeeded + pc->failed >= want ? 2 : 0;
}

static void reconcile_job(struct cs_kq_controller *c, struct job *j)
{
    if (!c->all_synced) {
        return;
    }
    struct cs_kq_unit *u = cs_kq_unit_get(&c->model, j->unit_key);
    bool held = cs_kq_job_held(j->kind, j->obj);
    int64_t born = 0;
    const char *ct = md_get(j->obj, "creationTimestamp");
    if (u && ct && cs_parse_time(ct, &born) == 0 && born > 0) {
        /* first come by the job: units made for jobs that were there before the controller
         * started are created in no particular order */
        u->creation_ns = born;
    }
    if (u == NULL) {
        if (held && !j->creating && !cs_kq_job_started(j->kind, j->obj) &&
            cs_kq_job_finished(j->kind, j->obj) == 0) {
            create_unit(c, j);
        }
        return;
    }
    struct uinfo *ui = cs_map_get(&c->units, j->unit_key);
    if (ui == NULL || (u->phase != CS_KQ_DEQUEUED && u->phase != CS_KQ_RUNNING)) {
        return;
    }
    if (j->await_rv && (!held || rv_reached(md_get(j->obj, "resourceVersion") ?: "", j->await_rv))) {
        cs_free(j->await_rv);      /* the informer has seen our release (or what came after) */
        j->await_rv = NULL;
    }
    if (held) {
        if (u->phase == CS_KQ_DEQUEUED && ui->confirmed) {
            release_job(c, j);
        }
        return;
    }
    const struct podcount *pc = job_counts(c, j);
    int f = finished(c, j, pc);
    enum cs_kq_phase np = u->phase;
    if (f) {
        np = f == 1 ? CS_KQ_SUCCEED : CS_KQ_FAILED;
    } else if (u->phase == CS_KQ_DEQUEUED && pc && pc->running > 0) {
        np = CS_KQ_RUNNING;
    }
    if (np != u->phase) {
        CS_INFO_S("QueueUnit phase", CS_KV("queueUnit", u->key), CS_KV("job", j->key),
                  CS_KV("from", cs_kq_phase_name(u->phase)), CS_KV("to", cs_kq_phase_name(np)));
        cs_kq_unit_set_phase(&c->model, u, np);
        write_unit_status(c, u);
        kick(c);
    }
}

static struct job *job_get(struct cs_kq_controller *c, const struct cs_kq_kind *k,
                           const json_t *obj, bool create)
{
    const char *ns = md_get(obj, "namespace"), *name = md_get(obj, "name");
    if (ns == NULL || name == NULL) {
        return NULL;
    }
    char key[600];
    snprintf(key, sizeof(key), "%s/%s/%s", k->ext, ns, name);
    struct job *j = cs_map_get(&c->jobs, key);
    if (j == NULL && create) {
        j = cs_calloc(1, sizeof(*j));
        j->key = cs_strdup(key);
        j->kind = k;
        j->ns = cs_strdup(ns);
        j->name = cs_strdup(name);
        snprintf(key, sizeof(key), "%s/%s-%s", ns, name, k->ext);
        j->unit_key = cs_strdup(key);
        cs_map_put(&c->jobs, j->key, j);
    }
    return j;
}

static void job_free(struct job *j)
{
    json_decref(j->obj);
    cs_free(j->key);
    cs_free(j->ns);
    cs_free(j->name);
    cs_free(j->uid);
    cs_free(j->unit_key);
    cs_free(j->bad_rv);
    cs_free(j->release_rv);
    cs_free(j->await_rv);
    cs_free(j->shape_rv);
    cs_kq_job_req_free(&j->shape);
    cs_free(j);
}

static void on_job(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct job *j = job_get(a->c, a->kind, obj, true);
    if (j == NULL) {
        return;
    }
    json_decref(j->obj);
    j->obj = json_incref(obj);
    cs_free(j->uid);
    j->uid = cs_strdup(md_get(obj, "uid") ?: "");
    reconcile_job(a->c, j);
}

static void on_job_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_job(arg, obj);
}

static void on_unit_deleted(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    if (!ok_status(resp->status) && resp->status != 404) {
        CS_WARN_S("Cannot delete QueueUnit", CS_KV("queueUnit", w->key),
                  CS_KVI("status", resp->status));
    }
    wctx_free(w);
}

static void on_job_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    struct job *j = job_get(c, a->kind, obj, false);
    if (j == NULL) {
        return;
    }
    cs_map_del(&c->jobs, j->key);
    startup_seen(c, j);
    if (cs_kq_unit_get(&c->model, j->unit_key)) {
        /* The garbage collector would do it on a full control plane; do it anyway. */
        const char *slash = strchr(j->unit_key, '/');
        struct cs_buf p;
        cs_buf_init(&p);
        cs_buf_printf(&p, QU_API "/namespaces/%s/queueunits/%s", j->ns, slash + 1);
        submit(c, "DELETE", p.data, NULL, NULL, on_unit_deleted, wctx_new(c, j->unit_key));
        cs_buf_free(&p);
    }
    job_free(j);
}

/* ---- QueueUnits -------------------------------------------------------------------------- */

static int parse_resources(const json_t *rl, struct cs_kq_res **out, char *err, size_t errlen)
{
    *out = NULL;
    int n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)rl, k, v) {
        struct cs_quantity q;
        char e[128];
        if (cs_quantity_from_json(v, &q, e, sizeof(e)) != 0) {
            snprintf(err, errlen, "spec.resource.%s: %s", k, e);
            continue;
        }
        *out = cs_realloc(*out, sizeof(**out) * (size_t)(n + 1));
        (*out)[n].name = (char *)k;        /* borrowed from rl */
        (*out)[n].v = strcmp(k, "cpu") == 0 ? cs_quantity_milli(&q) : cs_quantity_value(&q);
        n++;
    }
    return n;
}

static const struct cs_kq_kind *consumer_kind(const json_t *ref)
{
    return cs_kq_kind_by_kind(sget(ref, "apiVersion"), sget(ref, "kind"));
}

static void uinfo_free(struct uinfo *ui)
{
    cs_free(ui->key);
    cs_free(ui->job_key);
    cs_free(ui->uid);
    cs_free(ui);
}

/* A unit put back before a restart keeps its count, reason and the end of its backoff. */
static void restore_requeue(struct cs_kq_unit *u, const json_t *rs)
{
    const json_t *count = json_object_get(rs, "count");
    if (!json_is_integer(count) || json_integer_value(count) <= 0) {
        return;
    }
    int64_t at = 0;
    const char *t = sget(rs, "requeueAt");
    if (t && cs_parse_time(t, &at) == 0) {
        u->backoff_until_ns = at;
    }
    u->requeues = (uint32_t)(json_integer_value(count) > 1000 ? 1000 : json_integer_value(count));
    snprintf(u->requeue_why, sizeof(u->requeue_why), "%s", sget(rs, "reason") ?: "");
}

static void on_unit(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    const char *ns = md_get(obj, "namespace"), *name = md_get(obj, "name");
    if (ns == NULL || name == NULL) {
        return;
    }
    const json_t *spec = json_object_get(obj, "spec");
    char err[300] = "";
    struct cs_kq_res *res = NULL;
    int n_res = parse_resources(json_object_get(spec, "resource"), &res, err, sizeof(err));
    const char *pre = label_of(obj, LABEL_PREEMPT_ACK) ?: label_of(obj, LABEL_PREEMPT_KOORD);
    int64_t created = 0;
    const char *ct = md_get(obj, "creationTimestamp");
    if (ct) {
        cs_parse_time(ct, &created);
    }
    struct cs_kq_unit_spec s = {
        .ns = ns,
        .name = name,
        .priority = (int32_t)json_integer_value(json_object_get(spec, "priority")),
        .creation_ns = created,
        .queue = annotation_of(obj, ANN_QUEUE),
        .quota = label_of(obj, LABEL_QUOTA_ACK) ?: label_of(obj, LABEL_QUOTA_KOORD),
        .preemptible = pre ? strcmp(pre, "true") == 0 : c->o.preemptible,
        .res = res,
        .n_res = (uint32_t)n_res,
    };
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    struct uinfo *ui = cs_map_get(&c->units, key);
    struct cs_kq_unit *u = cs_kq_unit_upsert(&c->model, &s);
    cs_free(res);
    if (ui == NULL) {
        /* First sight (a restart, or the unit just created): the server's phase holds. */
        ui = cs_calloc(1, sizeof(*ui));
        ui->key = cs_strdup(key);
        cs_map_put(&c->units, ui->key, ui);
        enum cs_kq_phase ph;
        const char *sp = sget(json_object_get(obj, "status"), "phase");
        if (!cs_kq_phase_parse(sp, &ph)) {
            CS_WARN_S("QueueUnit has an unknown phase; taken as Enqueued",
                      CS_KV("queueUnit", key), CS_KV("phase", sp));
        }
        cs_kq_unit_set_phase(&c->model, u, ph);
        restore_requeue(u, json_object_get(json_object_get(obj, "status"), "requeueState"));
        ui->written = ph;
        ui->confirmed = ph != CS_KQ_ENQUEUED;
        ui->released_ns = ph == CS_KQ_DEQUEUED ? cs_wall_ns() : 0;
        u->changed = ph == CS_KQ_ENQUEUED;
        if (err[0]) {
            CS_WARN_S("QueueUnit resources cannot be read", CS_KV("queueUnit", key),
                      CS_KV("err", err));
            event(c, "QueueUnit", "scheduling.x-k8s.io/v1alpha1", ns, name, md_get(obj, "uid"),
                  "InvalidResources", err);
        }
    }
    cs_free(ui->uid);
    ui->uid = cs_strdup(md_get(obj, "uid") ?: "");
    const json_t *ref = json_object_get(spec, "consumerRef");
    const struct cs_kq_kind *k = consumer_kind(ref);
    cs_free(ui->job_key);
    ui->job_key = NULL;
    if (k && sget(ref, "name")) {
        char jk[600];
        snprintf(jk, sizeof(jk), "%s/%s/%s", k->ext, sget(ref, "namespace") ?: ns,
                 sget(ref, "name"));
        ui->job_key = cs_strdup(jk);
        struct job *j = cs_map_get(&c->jobs, jk);
        if (j) {
            j->creating = false;
            startup_seen(c, j);
            reconcile_job(c, j);
        }
    }
    kick(c);
}

static void on_unit_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_unit(arg, obj);
}

static void on_unit_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", md_get(obj, "namespace") ?: "", md_get(obj, "name") ?: "");
    struct uinfo *ui = cs_map_del(&c->units, key);
    cs_kq_unit_remove(&c->model, key);
    if (ui) {
        struct job *j = ui->job_key ? cs_map_get(&c->jobs, ui->job_key) : NULL;
        uinfo_free(ui);
        if (j) {
            reconcile_job(c, j);     /* a held job whose unit was deleted is queued anew */
        }
    }
    kick(c);
}

/* ---- Queues and the tree ----------------------------------------------------------------- */

static void on_queue_written(void *arg, const struct cs_client_resp *resp)
{
    struct wctx *w = arg;
    if (!ok_status(resp->status) && resp->status != 409 && resp->status != 404) {
        char t[300];
        CS_WARN_S("Cannot write Queue", CS_KV("queue", w->key), CS_KVI("status", resp->status),
                  CS_KV("err", resp->err ? resp->err : cs_client_resp_text(resp, t, sizeof(t))));
        retry_later(w->c);
    }
    wctx_free(w);
}

/* One Queue per quota node; Queues we made for nodes that are gone are deleted. */
static void sync_queues(struct cs_kq_controller *c)
{
    if (!c->all_synced) {
        return;
    }
    const struct cs_quota_tree *t = c->model.tree;
    for (uint32_t i = 0; t && i < t->n; i++) {
        char qn[64];
        cs_kq_queue_name(t->nodes[i].name, qn, sizeof(qn));
        if (cs_map_get(&c->qobjs, qn)) {
            continue;
        }
        struct cs_buf b, p;
        cs_buf_init(&b);
        cs_buf_init(&p);
        cs_buf_printf(&b, "{\"apiVersion\":\"scheduling.x-k8s.io/v1alpha1\",\"kind\":\"Queue\","
                          "\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"labels\":{\""
                          LABEL_QUEUE_OURS "\":\"true\"},\"annotations\":{\""
                          ANN_QUOTA_FULLNAME "\":", qn, c->queue_ns);
        cs_buf_json_str(&b, t->nodes[i].name);
        cs_buf_printf(&b, "}},\"spec\":{\"queuePolicy\":\"%s\"}}",
                      cs_kq_policy_name(c->o.policy));
        cs_buf_printf(&p, QU_API "/namespaces/%s/queues", c->queue_ns);
        CS_INFO_S("Creating Queue for quota", CS_KV("queue", qn), CS_KV("quota", t->nodes[i].name));
        submit(c, "POST", p.data, NULL, &b, on_queue_written, wctx_new(c, qn));
        cs_buf_free(&b);
        cs_buf_free(&p);
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&c->qobjs, &it, &k, &v);) {
        struct qobj *q = v;
        struct cs_kq_queue *mq = cs_kq_queue_get(&c->model, q->name);
        if (q->ours && (mq == NULL || !mq->from_tree)) {
            struct cs_buf p;
            cs_buf_init(&p);
            cs_buf_printf(&p, QU_API "/namespaces/%s/queues/%s", c->queue_ns, q->name);
            CS_INFO_S("Deleting Queue of a quota that is gone", CS_KV("queue", q->name));
            submit(c, "DELETE", p.data, NULL, NULL, on_queue_written, wctx_new(c, q->name));
            cs_buf_free(&p);
        }
    }
}

static void on_queue(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    const char *name = md_get(obj, "name");
    if (name == NULL) {
        return;
    }
    struct qobj *q = cs_map_get(&c->qobjs, name);
    if (q == NULL) {
        q = cs_calloc(1, sizeof(*q));
        q->name = cs_strdup(name);
        cs_map_put(&c->qobjs, q->name, q);
    }
    cs_free(q->allow_quotas);
    const char *allow = annotation_of(obj, ANN_QUEUE_QUOTAS) ?: annotation_of(obj, ANN_OLD_QUOTAS);
    q->allow_quotas = allow && allow[0] ? cs_strdup(allow) : NULL;
    const char *ours = label_of(obj, LABEL_QUEUE_OURS);
    q->ours = ours && strcmp(ours, "true") == 0;
    const char *pol = sget(json_object_get(obj, "spec"), "queuePolicy");
    enum cs_kq_policy p;
    if (pol && pol[0] && !cs_kq_policy_parse(pol, &p)) {
        CS_WARN_S("Queue policy not supported; using the default", CS_KV("queue", name),
                  CS_KV("policy", pol), CS_KV("default", cs_kq_policy_name(c->o.policy)));
        event(c, "Queue", "scheduling.x-k8s.io/v1alpha1", c->queue_ns, name, md_get(obj, "uid"),
              "UnsupportedPolicy", "queuePolicy must be Priority or Block");
        pol = NULL;
    }
    struct cs_kq_queue *mq = cs_kq_queue_get(&c->model, name);
    if (mq == NULL && q->ours) {
        return;                    /* a stale queue of ours: sync_queues deletes it */
    }
    cs_kq_queue_upsert(&c->model, name, pol);
    cs_kq_queue_set_quotas(&c->model, name, q->allow_quotas);
    mq = cs_kq_queue_get(&c->model, name);
    if (mq) {
        mq->changed = true;
    }
    kick(c);
}

static void on_queue_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_queue(arg, obj);
}

static void on_queue_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    const char *name = md_get(obj, "name");
    struct qobj *q = name ? cs_map_del(&c->qobjs, name) : NULL;
    if (q) {
        cs_free(q->allow_quotas);
        cs_free(q->name);
        cs_free(q);
    }
    if (name) {
        cs_kq_queue_remove(&c->model, name);
    }
    sync_queues(c);                /* a tree queue deleted by hand comes back */
    kick(c);
}

static void install_tree(struct cs_kq_controller *c, json_t *obj)
{
    char err[600] = "";
    struct cs_quota_tree *t = NULL;
    if (obj && cs_quota_tree_parse(obj, c->api.resources, &t, err, sizeof(err)) != 0) {
        t = NULL;
    }
    int64_t *maxj = NULL, *minj = NULL;
    if (t) {
        maxj = cs_calloc(t->n ? t->n : 1, sizeof(int64_t));
        minj = cs_calloc(t->n ? t->n : 1, sizeof(int64_t));
        if (cs_quota_tree_jobs(obj, t, maxj, minj, err, sizeof(err)) != 0) {
            cs_quota_tree_free(t);
            cs_free(maxj);
            cs_free(minj);
            t = NULL;
        }
    }
    if (obj && t == NULL) {
        CS_ERROR_S(err, "ElasticQuotaTree refused; the last valid tree stays in force",
                   CS_KV("tree", md_get(obj, "name")));
        event(c, "ElasticQuotaTree", "scheduling.sigs.k8s.io/v1beta1", md_get(obj, "namespace"),
              md_get(obj, "name"), md_get(obj, "uid"), "InvalidTree", err);
        return;
    }
    json_decref(c->tree_obj);
    c->tree_obj = obj ? json_incref(obj) : NULL;
    /* Waiting units whose queue goes with the old tree are told where they went. */
    struct cs_map before;
    cs_map_init(&before);
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&c->model.units, &it, &k, &v);) {
        struct cs_kq_unit *u = v;
        if (u->phase == CS_KQ_ENQUEUED && u->queue >= 0) {
            cs_map_put(&before, u->key, cs_strdup(c->model.queues[u->queue]->name));
        }
    }
    cs_kq_set_tree(&c->model, t, maxj, minj);
    /* Tree queues made now take the allow-list their Queue object carries. */
    for (size_t it = 0; cs_map_next(&c->qobjs, &it, &k, &v);) {
        const struct qobj *q = v;
        cs_kq_queue_set_quotas(&c->model, q->name, q->allow_quotas);
    }
    for (size_t it = 0; cs_map_next(&before, &it, &k, &v);) {
        struct cs_kq_unit *u = cs_kq_unit_get(&c->model, k);
        const char *now = u && u->queue >= 0 ? c->model.queues[u->queue]->name : NULL;
        if (u && (now == NULL || strcmp(now, v) != 0)) {
            struct uinfo *ui = cs_map_get(&c->units, k);
            char note[400];
            snprintf(note, sizeof(note), "queue %s is gone with its quota; the unit waits in %s",
                     (const char *)v, now ? now : "no queue");
            CS_WARN_S("QueueUnit moved: its queue is gone", CS_KV("queueUnit", k),
                      CS_KV("from", v), CS_KV("to", now ? now : ""));
            event(c, "QueueUnit", "scheduling.x-k8s.io/v1alpha1", u->ns, u->name,
                  ui ? ui->uid : "", "QueueRemoved", note);
        }
        cs_free(v);
    }
    cs_map_destroy(&before);
    CS_INFO_S("Quota tree installed", CS_KV("tree", obj ? md_get(obj, "name") : "(none)"),
              CS_KVI("quotas", t ? t->n : 0));
    for (uint32_t i = 0; i < c->model.n_queues; i++) {
        c->model.queues[i]->changed = true;
    }
    sync_queues(c);
    kick(c);
}

static void on_tree(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    const char *ns = md_get(obj, "namespace");
    if (ns && strcmp(ns, "kube-system") != 0) {
        CS_WARN_S("ElasticQuotaTree outside kube-system ignored", CS_KV("namespace", ns),
                  CS_KV("name", md_get(obj, "name")));
        return;
    }
    install_tree(a->c, obj);
}

static void on_tree_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_tree(arg, obj);
}

static void on_tree_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    const char *ns = md_get(obj, "namespace");
    if (ns && strcmp(ns, "kube-system") == 0) {
        install_tree(a->c, NULL);
    }
}

/* ---- pods and priority classes ----------------------------------------------------------- */

static int pod_phase(const json_t *pod)
{
    const char *p = sget(json_object_get(pod, "status"), "phase");
    if (p == NULL || strcmp(p, "Pending") == 0) {
        return CS_PHASE_PENDING;
    }
    if (strcmp(p, "Running") == 0) {
        return CS_PHASE_RUNNING;
    }
    if (strcmp(p, "Succeeded") == 0) {
        return CS_PHASE_SUCCEEDED;
    }
    return strcmp(p, "Failed") == 0 ? CS_PHASE_FAILED : CS_PHASE_UNKNOWN;
}

static const struct podcount *job_counts(struct cs_kq_controller *c, const struct job *j)
{
    const struct podcount *pc = cs_map_get(&c->counts, j->key);
    if (pc == NULL && j->uid && j->uid[0]) {
        pc = cs_map_get(&c->counts, j->uid);
    }
    return pc;
}

static void count(struct cs_kq_controller *c, const char *uid, int phase, bool bound, int sign)
{
    if (uid[0] == '\0') {
        return;
    }
    struct podcount *pc = cs_map_get(&c->counts, uid);
    if (pc == NULL) {
        if (sign < 0) {
            return;
        }
        pc = cs_calloc(1, sizeof(*pc));
        pc->uid = cs_strdup(uid);
        cs_map_put(&c->counts, pc->uid, pc);
    }
    int *slot = phase == CS_PHASE_RUNNING     ? &pc->running
                : phase == CS_PHASE_SUCCEEDED ? &pc->succeeded
                : phase == CS_PHASE_FAILED    ? &pc->failed
                                              : &pc->pending;
    *slot += sign;
    if (bound && (phase == CS_PHASE_PENDING || phase == CS_PHASE_RUNNING)) {
        pc->bound += sign;
    }
    if (pc->pending + pc->running + pc->succeeded + pc->failed == 0) {
        cs_map_del(&c->counts, uid);
        cs_free(pc->uid);
        cs_free(pc);
    }
}

static const char *owner_uid(const json_t *pod)
{
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i, o) {
        if (json_is_true(json_object_get(o, "controller"))) {
            return sget(o, "uid");
        }
    }
    return NULL;
}

/* The key ("<ext>/<ns>/<name>") of the job an enabled kind's operator labels a pod with, in
 * key; false when none does. */
static bool labelled_job(struct cs_kq_controller *c, const json_t *pod, char *key, size_t n)
{
    for (size_t i = 0; i < c->o.n_kinds; i++) {
        const char *name = cs_kq_pod_job(c->o.kinds[i], pod);
        if (name && name[0]) {
            snprintf(key, n, "%s/%s/%s", c->o.kinds[i]->ext, md_get(pod, "namespace") ?: "",
                     name);
            return true;
        }
    }
    return false;
}

/* The job a pod belongs to, when it is one we follow: by its operator's labels, else by its
 * controller ownerReference. */
static struct job *job_of_pod(struct cs_kq_controller *c, const json_t *pod)
{
    char lk[600];
    if (labelled_job(c, pod, lk, sizeof(lk))) {
        return cs_map_get(&c->jobs, lk);
    }
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i, o) {
        const struct cs_kq_kind *k = cs_kq_kind_by_kind(sget(o, "apiVersion"), sget(o, "kind"));
        if (k && sget(o, "name")) {
            char key[600];
            snprintf(key, sizeof(key), "%s/%s/%s", k->ext, md_get(pod, "namespace") ?: "",
                     sget(o, "name"));
            return cs_map_get(&c->jobs, key);
        }
    }
    return NULL;
}

static void podstate_free(struct podstate *ps)
{
    cs_free(ps->key);
    cs_free(ps->ns);
    cs_free(ps->owner);
    if (ps->pod) {
        cs_pod_unref(ps->pod);
    }
    cs_free(ps);
}

static void pod_forget(struct cs_kq_controller *c, const char *key)
{
    struct podstate *ps = cs_map_del(&c->pods, key);
    if (ps) {
        count(c, ps->owner, ps->phase, ps->bound, -1);
        podstate_free(ps);
    }
}

static void on_pod(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    char lk[600];
    const char *uid = labelled_job(c, obj, lk, sizeof(lk)) ? lk : owner_uid(obj);
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", md_get(obj, "namespace") ?: "", md_get(obj, "name") ?: "");
    pod_forget(c, key);
    struct podstate *ps = cs_calloc(1, sizeof(*ps));
    ps->key = cs_strdup(key);
    ps->ns = cs_strdup(md_get(obj, "namespace") ?: "");
    ps->owner = cs_strdup(uid ? uid : "");
    ps->phase = pod_phase(obj);
    const char *node = sget(json_object_get(obj, "spec"), "nodeName");
    ps->bound = node && node[0];
    if (ps->phase == CS_PHASE_PENDING || ps->phase == CS_PHASE_RUNNING) {
        char err[200];
        if (cs_pod_decode(&c->api, obj, &ps->pod, err, sizeof(err)) != 0) {
            ps->pod = NULL;
        }
    }
    cs_map_put(&c->pods, ps->key, ps);
    count(c, ps->owner, ps->phase, ps->bound, 1);
    if (c->model.n_rqs) {
        kick(c);
    }
    if (uid == NULL) {
        return;
    }
    struct job *j = job_of_pod(c, obj);
    if (j) {
        reconcile_job(c, j);
    }
}

static void on_pod_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_pod(arg, obj);
}

static void on_pod_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    char key[600];
    snprintf(key, sizeof(key), "%s/%s", md_get(obj, "namespace") ?: "", md_get(obj, "name") ?: "");
    pod_forget(a->c, key);
    if (a->c->model.n_rqs) {
        kick(a->c);
    }
    struct job *j = job_of_pod(a->c, obj);
    if (j) {
        reconcile_job(a->c, j);
    }
}

static void on_pc(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    cs_prio_table_upsert(a->c->api.priorities, obj);
}

static void on_pc_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_pc(arg, obj);
}

static void on_pc_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    cs_prio_table_delete(a->c->api.priorities, obj);
}

/* ---- namespaces: allow-lists ------------------------------------------------------------- */

static void on_ns(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    const char *name = md_get(obj, "name");
    if (name == NULL) {
        return;
    }
    cs_kq_ns_set(&a->c->model, name,
                 annotation_of(obj, ANN_NS_QUOTAS) ?: annotation_of(obj, ANN_OLD_QUOTAS),
                 annotation_of(obj, ANN_NS_QUEUES) ?: annotation_of(obj, ANN_OLD_QUEUES));
    kick(a->c);
}

static void on_ns_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    on_ns(arg, obj);
}

static void on_ns_delete(void *arg, json_t *obj)
{
    struct inf_arg *a = arg;
    const char *name = md_get(obj, "name");
    if (name) {
        cs_kq_ns_set(&a->c->model, name, NULL, NULL);
        kick(a->c);
    }
}

/* ---- lifecycle --------------------------------------------------------------------------- */

static void on_synced(void *arg)
{
    struct inf_arg *a = arg;
    struct cs_kq_controller *c = a->c;
    for (int i = 0; i < c->n_inf; i++) {
        if (&c->args[i] == a) {
            c->synced[i] = true;
        }
    }
    for (int i = 0; i < c->n_inf; i++) {
        if (!c->synced[i]) {
            return;
        }
    }
    if (c->all_synced) {
        return;
    }
    c->all_synced = true;
    CS_INFO_S("Informers synced; queueing", CS_KVI("jobs", cs_map_len(&c->jobs)),
              CS_KVI("queueUnits", cs_map_len(&c->units)));
    sync_queues(c);
    const char *k;
    void *v;
    c->startup_pending = 0;
    c->startup_until_ns = cs_wall_ns() + 5LL * 1000000000;
    for (size_t it = 0; cs_map_next(&c->jobs, &it, &k, &v);) {
        struct job *j = v;
        reconcile_job(c, j);
        if (j->creating) {
            j->startup = true;
            c->startup_pending++;
        }
    }
    if (c->startup_pending) {
        CS_INFO_S("Waiting for the QueueUnits of jobs that were held before the start",
                  CS_KVI("units", c->startup_pending));
    }
    kick(c);
}

static void on_inf_error(void *arg, const char *msg)
{
    struct inf_arg *a = arg;
    (void)a;
    if (CS_V(2)) {
        CS_INFO_S("Informer error; retrying", CS_KV("err", msg));
    }
}

static int add_informer(struct cs_kq_controller *c, const char *path, const char *name,
                        const struct cs_kq_kind *kind, void (*add)(void *, json_t *),
                        void (*upd)(void *, json_t *, json_t *), void (*del)(void *, json_t *),
                        bool optional, char *err, size_t errlen)
{
    if (c->n_inf == MAX_INFORMERS) {
        snprintf(err, errlen, "too many informers");
        return -1;
    }
    int i = c->n_inf;
    c->args[i].c = c;
    c->args[i].kind = kind;
    struct cs_informer_opts io = {
        .path = path,
        .name = name,
        .sync_on_404 = optional,
        .handlers = { add, upd, del, on_synced, on_inf_error, &c->args[i] },
    };
    c->inf[i] = cs_informer_new(c->client, &io, err, errlen);
    if (c->inf[i] == NULL) {
        return -1;
    }
    c->n_inf++;
    return 0;
}

struct cs_kq_controller *cs_kq_controller_new(const struct cs_kq_controller_opts *o, char *err,
                                              size_t errlen)
{
    struct cs_kq_controller *c = cs_calloc(1, sizeof(*c));
    c->o = *o;
    c->client = o->client;
    c->queue_ns = cs_strdup(o->queue_namespace ? o->queue_namespace : "kube-queue");
    c->identity = cs_strdup(o->identity ? o->identity : "cosched-queue");
    c->o.queue_namespace = c->queue_ns;
    c->o.identity = c->identity;
    cs_recorder_init(&c->rec, c->client, c->identity, 16);
    cs_api_ctx_init(&c->api);
    c->api.priorities = cs_prio_table_new();
    cs_kq_model_init(&c->model, o->policy);
    cs_map_init(&c->jobs);
    cs_map_init(&c->units);
    cs_map_init(&c->pods);
    cs_map_init(&c->counts);
    cs_map_init(&c->qobjs);
    if (o->metrics) {
        double b[16];
        size_t nb = cs_metrics_exp_buckets(0.1, 2, 16, b);
        c->m_len = cs_metrics_gauge_new(o->metrics, "cosched_queue_length",
                                        "Jobs waiting in a queue.", CS_METRICS_LABELS("queue"));
        c->m_admitted = cs_metrics_counter_new(o->metrics, "cosched_queue_admitted_total",
                                               "Jobs released from a queue.",
                                               CS_METRICS_LABELS("queue"));
        c->m_wait = cs_metrics_histogram_new(o->metrics, "cosched_queue_wait_seconds",
                                             "Time from a QueueUnit's creation to its release.",
                                             CS_METRICS_LABELS("queue"), b, nb);
        c->m_requeued = cs_metrics_counter_new(o->metrics, "cosched_queue_requeued_total",
                                               "Released jobs suspended again because they "
                                               "stayed unschedulable.",
                                               CS_METRICS_LABELS("queue"));
        c->m_writes = cs_metrics_counter_new(o->metrics, "cosched_queue_unit_status_writes_total",
                                             "QueueUnit status writes sent.", NULL);
        if (c->m_len == NULL || c->m_admitted == NULL || c->m_wait == NULL ||
            c->m_requeued == NULL || c->m_writes == NULL) {
            c->m_len = c->m_admitted = c->m_wait = c->m_requeued = c->m_writes = NULL;
        }
    }
    char path[300];
    int rc = 0;
    for (size_t i = 0; i < o->n_kinds && rc == 0; i++) {
        const struct cs_kq_kind *k = o->kinds[i];
        snprintf(path, sizeof(path), "/apis/%s/%s", k->api_version, k->plural);
        rc = add_informer(c, path, k->plural, k, on_job, on_job_update, on_job_delete, k->crd,
                          err, errlen);
    }
    snprintf(path, sizeof(path), QU_API "/namespaces/%s/queues", c->queue_ns);
    if (rc == 0) {
        rc = add_informer(c, QU_API "/queueunits", "queueunits", NULL, on_unit, on_unit_update,
                          on_unit_delete, false, err, errlen);
    }
    if (rc == 0) {
        rc = add_informer(c, path, "queues", NULL, on_queue, on_queue_update, on_queue_delete,
                          false, err, errlen);
    }
    if (rc == 0) {
        rc = add_informer(c, TREE_PATH, "elasticquotatrees", NULL, on_tree, on_tree_update,
                          on_tree_delete, true, err, errlen);
    }
    if (rc == 0) {
        rc = add_informer(c, "/api/v1/pods", "pods", NULL, on_pod, on_pod_update, on_pod_delete,
                          false, err, errlen);
    }
    if (rc == 0) {
        rc = add_informer(c, "/api/v1/resourcequotas", "resourcequotas", NULL, on_rq,
                          on_rq_update, on_rq_delete, false, err, errlen);
    }
    if (rc == 0) {
        rc = add_informer(c, "/api/v1/namespaces", "namespaces", NULL, on_ns, on_ns_update,
                          on_ns_delete, false, err, errlen);
    }
    if (rc == 0) {
        rc = add_informer(c, "/apis/scheduling.k8s.io/v1/priorityclasses", "priorityclasses",
                          NULL, on_pc, on_pc_update, on_pc_delete, false, err, errlen);
    }
    if (rc != 0) {
        cs_kq_controller_free(c);
        return NULL;
    }
    return c;
}

int cs_kq_controller_start(struct cs_kq_controller *c, char *err, size_t errlen)
{
    if (cs_client_post(c->client, tick, c) != 0) {
        snprintf(err, errlen, "cannot start the requeue timer");
        return -1;
    }
    for (int i = 0; i < c->n_inf; i++) {
        if (cs_informer_start(c->inf[i]) != 0) {
            snprintf(err, errlen, "cannot start informer %d", i);
            return -1;
        }
    }
    return 0;
}

bool cs_kq_controller_synced(struct cs_kq_controller *c)
{
    return c->all_synced;
}

void cs_kq_controller_stop(struct cs_kq_controller *c)
{
    for (int i = 0; i < c->n_inf; i++) {
        cs_informer_stop(c->inf[i]);
    }
}

void cs_kq_controller_free(struct cs_kq_controller *c)
{
    if (c == NULL) {
        return;
    }
    for (int i = 0; i < c->n_inf; i++) {
        cs_informer_free(c->inf[i]);
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&c->jobs, &it, &k, &v);) {
        job_free(v);
    }
    for (size_t it = 0; cs_map_next(&c->units, &it, &k, &v);) {
        uinfo_free(v);
    }
    for (size_t it = 0; cs_map_next(&c->pods, &it, &k, &v);) {
        podstate_free(v);
    }
    for (size_t it = 0; cs_map_next(&c->counts, &it, &k, &v);) {
        struct podcount *pc = v;
        cs_free(pc->uid);
        cs_free(pc);
    }
    for (size_t it = 0; cs_map_next(&c->qobjs, &it, &k, &v);) {
        struct qobj *q = v;
        cs_free(q->allow_quotas);
        cs_free(q->name);
        cs_free(q);
    }
    cs_map_destroy(&c->jobs);
    cs_map_destroy(&c->units);
    cs_map_destroy(&c->pods);
    cs_map_destroy(&c->counts);
    cs_map_destroy(&c->qobjs);
    json_decref(c->tree_obj);
    cs_kq_model_destroy(&c->model);
    cs_prio_table_free(c->api.priorities);
    c->api.priorities = NULL;
    cs_api_ctx_destroy(&c->api);
    cs_recorder_destroy(&c->rec);
    cs_free(c->queue_ns);
    cs_free(c->identity);
    cs_free(c);
}
