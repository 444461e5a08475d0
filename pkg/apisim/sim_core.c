/*
 * Simulation core: one thread, one min-heap of deadlines, one work list.
 *
 * A store write hook (running under the store lock on the writer's thread) only classifies
 * the event and appends a work item ("pod ns/p may need a timer", "ReplicaSet ns/r needs a
 * reconcile") under sim->mu. The simulation thread swaps the list out, takes the store lock,
 * de-duplicates the batch, runs each item, fires the timers that are due (bound pod ->
 * Running, run-seconds elapsed -> Succeeded), finishes graceful deletions that are due, and
 * lets go of the lock. Every action re-reads the object and checks its uid and state, so a
 * stale timer or a duplicate work item is harmless. Writes made by the thread re-enter the
 * hook, which is how a controller's own writes cascade (RS creates pod -> pod ADDED -> RS
 * status), and the store's "identical write is a no-op" rule is what makes that converge.
 */
#include "pkg/apisim/sim_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkg/apisim/clustergen.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define RUN_SECONDS_KEY "apisim.cosched.io/run-seconds"
#define RUN_PHASE_KEY "apisim.cosched.io/run-phase"
#define IDLE_TICK_NS (100 * 1000000LL)
#define MAX_TIMERS_PER_ROUND 4096

/* ---- timer heap ------------------------------------------------------------------------------ */

void cs_apisim_timer_heap_init(struct cs_apisim_timer_heap *h)
{
    memset(h, 0, sizeof(*h));
}

void cs_apisim_timer_heap_free(struct cs_apisim_timer_heap *h)
{
    for (size_t i = 0; i < h->len; i++) {
        cs_free(h->v[i].key);
        cs_free(h->v[i].uid);
    }
    cs_free(h->v);
    memset(h, 0, sizeof(*h));
}

static int timer_less(const struct cs_apisim_timer *a, const struct cs_apisim_timer *b)
{
    if (a->deadline_ns != b->deadline_ns) {
        return a->deadline_ns < b->deadline_ns;
    }
    return a->seq < b->seq;
}

void cs_apisim_timer_push(struct cs_apisim_timer_heap *h, int64_t deadline_ns, int kind,
                          const char *key, const char *uid)
{
    h->v = cs_grow(h->v, sizeof(*h->v), h->len + 1, &h->cap);
    size_t i = h->len++;
    struct cs_apisim_timer t = { deadline_ns, h->seq++, kind, cs_strdup(key),
                                 cs_strdup(uid ? uid : "") };
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!timer_less(&t, &h->v[parent])) {
            break;
        }
        h->v[i] = h->v[parent];
        i = parent;
    }
    h->v[i] = t;
}

const struct cs_apisim_timer *cs_apisim_timer_peek(const struct cs_apisim_timer_heap *h)
{
    return h->len > 0 ? &h->v[0] : NULL;
}

int cs_apisim_timer_pop(struct cs_apisim_timer_heap *h, struct cs_apisim_timer *out)
{
    if (h->len == 0) {
        return 0;
    }
    *out = h->v[0];
    struct cs_apisim_timer last = h->v[--h->len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct cs_apisim_timer *best = &last;
        if (l < h->len && timer_less(&h->v[l], best)) {
            m = l;
            best = &h->v[l];
        }
        if (r < h->len && timer_less(&h->v[r], best)) {
            m = r;
        }
        if (m == i) {
            break;
        }
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->len > 0) {
        h->v[i] = last;
    }
    return 1;
}

/* ---- JSON helpers ---------------------------------------------------------------------------- */

const char *cs_apisim_jstr(const json_t *o, const char *path)
{
    char key[128];
    const char *p = path;
    while (o != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof(key)) {
            return "";
        }
        memcpy(key, p, n);
        key[n] = '\0';
        o = json_object_get(o, key);
        p += n;
        if (*p == '.') {
            p++;
        }
    }
    const char *s = json_string_value(o);
    return s ? s : "";
}

static const char *meta_map_get(const json_t *o, const char *map, const char *key)
{
    const json_t *m = json_object_get(json_object_get(o, "metadata"), map);
    return json_string_value(json_object_get(m, key));
}

const char *cs_apisim_annotation(const json_t *o, const char *key)
{
    return meta_map_get(o, "annotations", key);
}

const char *cs_apisim_label(const json_t *o, const char *key)
{
    return meta_map_get(o, "labels", key);
}

const json_t *cs_apisim_controller_ref(const json_t *o)
{
    const json_t *refs = json_object_get(json_object_get(o, "metadata"), "ownerReferences");
    size_t i;
    const json_t *r;
    json_array_foreach(refs, i, r) {
        if (json_is_true(json_object_get(r, "controller"))) {
            return r;
        }
    }
    return NULL;
}

int cs_apisim_owned_by(const json_t *o, const char *uid)
{
    const json_t *refs = json_object_get(json_object_get(o, "metadata"), "ownerReferences");
    size_t i;
    const json_t *r;
    json_array_foreach(refs, i, r) {
        const char *u = json_string_value(json_object_get(r, "uid"));
        if (u != NULL && strcmp(u, uid) == 0) {
            return 1;
        }
    }
    return 0;
}

json_t *cs_apisim_owner_ref(const json_t *owner)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion",
                     cs_apisim_jstr(owner, "apiVersion"), "kind", cs_apisim_jstr(owner, "kind"),
                     "name", cs_apisim_jstr(owner, "metadata.name"), "uid",
                     cs_apisim_jstr(owner, "metadata.uid"), "controller", 1,
                     "blockOwnerDeletion", 1);
}

static int is_phase(const json_t *pod, const char *phase)
{
    return strcmp(cs_apisim_jstr(pod, "status.phase"), phase) == 0;
}

static int is_terminating(const json_t *o)
{
    return json_object_get(json_object_get(o, "metadata"), "deletionTimestamp") != NULL;
}

/* ---- work list --------------------------------------------------------------------------------- */

void cs_apisim_sim_enqueue(struct cs_apisim_sim *s, int kind, const char *ns, const char *name)
{
    pthread_mutex_lock(&s->mu);
    s->work = cs_grow(s->work, sizeof(*s->work), s->nwork + 1, &s->work_cap);
    s->work[s->nwork].kind = kind;
    s->work[s->nwork].ns = cs_strdup(ns ? ns : "");
    s->work[s->nwork].name = cs_strdup(name ? name : "");
    s->nwork++;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static int owner_work_kind(const char *kind)
{
    if (strcmp(kind, "ReplicaSet") == 0) {
        return CS_APISIM_W_RS;
    }
    if (strcmp(kind, "Job") == 0) {
        return CS_APISIM_W_JOB;
    }
    if (strcmp(kind, "TFJob") == 0) {
        return CS_APISIM_W_TFJOB;
    }
    if (strcmp(kind, "PyTorchJob") == 0) {
        return CS_APISIM_W_PYTORCHJOB;
    }
    if (strcmp(kind, "Deployment") == 0) {
        return CS_APISIM_W_DEPLOY;
    }
    return 0;
}

static int ctl_enabled(const struct cs_apisim_sim *s, int wk)
{
    switch (wk) {
    case CS_APISIM_W_DEPLOY:
    case CS_APISIM_W_RS:
        return s->ctl_deployments;
    case CS_APISIM_W_JOB:
        return s->ctl_jobs;
    case CS_APISIM_W_TFJOB:
    case CS_APISIM_W_PYTORCHJOB:
        return s->ctl_kubeflow;
    default:
        return 0;
    }
}

static void hook_pod(struct cs_apisim_sim *s, int type, const json_t *old, const json_t *obj)
{
    const char *ns = cs_apisim_jstr(obj, "metadata.namespace");
    const char *name = cs_apisim_jstr(obj, "metadata.name");
    const char *phase = cs_apisim_jstr(obj, "status.phase");
    const char *old_phase = old ? cs_apisim_jstr(old, "status.phase") : "";
    if (s->pod_lifecycle && type != CS_APISIM_DELETED && !is_terminating(obj)) {
        int bound = cs_apisim_jstr(obj, "spec.nodeName")[0] != '\0';
        int pending = phase[0] == '\0' || strcmp(phase, "Pending") == 0;
        int became_running = strcmp(phase, "Running") == 0 && strcmp(old_phase, "Running") != 0;
        if ((bound && pending && s->running_delay_ms >= 0) ||
            (became_running && cs_apisim_annotation(obj, RUN_SECONDS_KEY) != NULL)) {
            cs_apisim_sim_enqueue(s, CS_APISIM_W_POD, ns, name);
        }
    }
    const json_t *ref = cs_apisim_controller_ref(obj);
    if (ref == NULL) {
        return;
    }
    int wk = owner_work_kind(cs_apisim_jstr(ref, "kind"));
    if (wk == 0 || !ctl_enabled(s, wk)) {
        return;
    }
    int relevant = type != CS_APISIM_MODIFIED || strcmp(phase, old_phase) != 0 ||
                   is_terminating(obj) != is_terminating(old);
    if (relevant) {
        cs_apisim_sim_enqueue(s, wk, ns, cs_apisim_jstr(ref, "name"));
    }
}

static void on_write(void *arg, struct cs_apisim_store *st, const struct cs_apisim_rtype *rt,
                     int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv)
{
    struct cs_apisim_sim *s = arg;
    int wk = 0;
    (void)st;
    (void)rv;
    if (new_obj == NULL) {
        return;
    }
    if (rt->group[0] == '\0') {
        if (strcmp(rt->resource, "pods") == 0) {
            hook_pod(s, type, old_obj, new_obj);
        }
        return;
    }
    if (strcmp(rt->group, "apps") == 0) {
        if (strcmp(rt->resource, "deployments") == 0) {
            wk = CS_APISIM_W_DEPLOY;
        } else if (strcmp(rt->resource, "replicasets") == 0) {
            wk = CS_APISIM_W_RS;
        }
    } else if (strcmp(rt->group, "batch") == 0 && strcmp(rt->resource, "jobs") == 0) {
        wk = CS_APISIM_W_JOB;
    } else if (strcmp(rt->group, "kubeflow.org") == 0) {
        if (strcmp(rt->resource, "tfjobs") == 0) {
            wk = CS_APISIM_W_TFJOB;
        } else if (strcmp(rt->resource, "pytorchjobs") == 0) {
            wk = CS_APISIM_W_PYTORCHJOB;
        }
    }
    if (wk == 0 || !ctl_enabled(s, wk)) {
        return;
    }
    const char *ns = cs_apisim_jstr(new_obj, "metadata.namespace");
    if (type == CS_APISIM_DELETED) {
        cs_apisim_sim_enqueue(s, CS_APISIM_W_GC, ns, cs_apisim_jstr(new_obj, "metadata.uid"));
    } else {
        cs_apisim_sim_enqueue(s, wk, ns, cs_apisim_jstr(new_obj, "metadata.name"));
    }
    /* A ReplicaSet's counts feed its Deployment's status. */
    const json_t *ref = cs_apisim_controller_ref(new_obj);
    if (wk == CS_APISIM_W_RS && ref != NULL &&
        strcmp(cs_apisim_jstr(ref, "kind"), "Deployment") == 0) {
        cs_apisim_sim_enqueue(s, CS_APISIM_W_DEPLOY, ns, cs_apisim_jstr(ref, "name"));
    }
}

/* ---- pod lifecycle ----------------------------------------------------------------------------- */

static struct cs_apisim_rtype *pods_rt(struct cs_apisim_sim *s)
{
    return cs_apisim_store_rtype(s->st, "", "pods");
}

struct life_arg {
    struct cs_apisim_sim *s;
    const char *uid;
    const char *host_ip;
    const char *phase;          /* terminal phase for FINISH */
    int64_t now;
};

static int mut_running(json_t *pod, void *arg, struct cs_apisim_status *st)
{
    struct life_arg *a = arg;
    if ((a->uid[0] && strcmp(cs_apisim_jstr(pod, "metadata.uid"), a->uid) != 0) ||
        is_terminating(pod) || cs_apisim_jstr(pod, "spec.nodeName")[0] == '\0' ||
        !(is_phase(pod, "") || is_phase(pod, "Pending"))) {
        return cs_apisim_status_set(st, 409, "Conflict", "pod no longer waits to run");
    }
    cs_apisim_pod_set_running(pod, a->host_ip, a->now);
    return 0;
}

static int mut_finish(json_t *pod, void *arg, struct cs_apisim_status *st)
{
    struct life_arg *a = arg;
    if (strcmp(cs_apisim_jstr(pod, "metadata.uid"), a->uid) != 0 || is_terminating(pod) ||
        !is_phase(pod, "Running")) {
        return cs_apisim_status_set(st, 409, "Conflict", "pod no longer running");
    }
    cs_apisim_pod_set_terminated(pod, a->phase, a->now);
    return 0;
}

static void make_running(struct cs_apisim_sim *s, const char *ns, const char *name,
                         const char *uid)
{
    struct cs_apisim_rtype *prt = pods_rt(s);
    const json_t *pod = cs_apisim_store_get(s->st, prt, ns, name);
    if (pod == NULL) {
        return;
    }
    const char *node = cs_apisim_jstr(pod, "spec.nodeName");
    struct cs_apisim_rtype *nrt = cs_apisim_store_rtype(s->st, "", "nodes");
    const json_t *n = nrt ? cs_apisim_store_get(s->st, nrt, NULL, node) : NULL;
    char host_ip[64] = "";
    if (n != NULL && cs_apisim_node_internal_ip(n) != NULL) {
        snprintf(host_ip, sizeof(host_ip), "%s", cs_apisim_node_internal_ip(n));
    }
    struct life_arg a = { s, uid ? uid : "", host_ip[0] ? host_ip : NULL, NULL, cs_wall_ns() };
    if (cs_apisim_store_update_fn(s->st, prt, ns, name, mut_running, &a, NULL, NULL) == 0) {
        s->stats.pods_running++;
        if (CS_V(5)) {
            CS_INFO_S("Simulated pod running", CS_KV("namespace", ns), CS_KV("pod", name));
        }
    }
}

static void finish_pod(struct cs_apisim_sim *s, const char *ns, const char *name,
                       const char *uid)
{
    struct cs_apisim_rtype *prt = pods_rt(s);
    const json_t *pod = cs_apisim_store_get(s->st, prt, ns, name);
    if (pod == NULL) {
        return;
    }
    const char *ph = cs_apisim_annotation(pod, RUN_PHASE_KEY);
    const char *phase = (ph != NULL && strcmp(ph, "Failed") == 0) ? "Failed" : "Succeeded";
    struct life_arg a = { s, uid, NULL, phase, cs_wall_ns() };
    if (cs_apisim_store_update_fn(s->st, prt, ns, name, mut_finish, &a, NULL, NULL) == 0) {
        if (phase[0] == 'F') {
            s->stats.pods_failed++;
        } else {
            s->stats.pods_succeeded++;
        }
    }
}

static int parse_seconds(const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !isfinite(d) || d < 0 || d > 1e9) {
        return -1;
    }
    *out = d;
    return 0;
}

static void pod_check(struct cs_apisim_sim *s, const char *ns, const char *name)
{
    struct cs_apisim_rtype *prt = pods_rt(s);
    const json_t *pod = prt ? cs_apisim_store_get(s->st, prt, ns, name) : NULL;
    char key[512];
    if (pod == NULL || is_terminating(pod)) {
        return;
    }
    const char *uid = cs_apisim_jstr(pod, "metadata.uid");
    snprintf(key, sizeof(key), "%s/%s", ns, name);
    int bound = cs_apisim_jstr(pod, "spec.nodeName")[0] != '\0';
    if (bound && (is_phase(pod, "") || is_phase(pod, "Pending"))) {
        if (s->running_delay_ms == 0) {
            char u[128];
            snprintf(u, sizeof(u), "%s", uid);
            make_running(s, ns, name, u);
        } else if (s->running_delay_ms > 0) {
            cs_apisim_timer_push(&s->timers, cs_mono_ns() + s->running_delay_ms * 1000000LL,
                                 CS_APISIM_T_RUN, key, uid);
        }
        return;
    }
    const char *rs = cs_apisim_annotation(pod, RUN_SECONDS_KEY);
    double secs = 0;
    if (is_phase(pod, "Running") && rs != NULL) {
        if (parse_seconds(rs, &secs) < 0) {
            CS_WARN_S("Ignoring bad run-seconds annotation", CS_KV("pod", key),
                      CS_KV("value", rs));
            return;
        }
        int64_t start = 0, now_wall = cs_wall_ns();
        if (cs_parse_time(cs_apisim_jstr(pod, "status.startTime"), &start) < 0) {
            start = now_wall;
        }
        int64_t left = start + (int64_t)(secs * 1e9) - now_wall;
        if (left < 0) {
            left = 0;
        }
        cs_apisim_timer_push(&s->timers, cs_mono_ns() + left, CS_APISIM_T_FINISH, key, uid);
    }
}

static void fire_timer(struct cs_apisim_sim *s, const struct cs_apisim_timer *t)
{
    char ns[256];
    const char *slash = strchr(t->key, '/');
    if (slash == NULL || (size_t)(slash - t->key) >= sizeof(ns)) {
        return;
    }
    memcpy(ns, t->key, (size_t)(slash - t->key));
    ns[slash - t->key] = '\0';
    if (t->kind == CS_APISIM_T_RUN) {
        make_running(s, ns, slash + 1, t->uid);
    } else if (t->kind == CS_APISIM_T_FINISH) {
        finish_pod(s, ns, slash + 1, t->uid);
    }
}

/* ---- the thread --------------------------------------------------------------------------------- */

static void run_work(struct cs_apisim_sim *s, const struct cs_apisim_work *w)
{
    switch (w->kind) {
    case CS_APISIM_W_POD:
        pod_check(s, w->ns, w->name);
        break;
    case CS_APISIM_W_DEPLOY:
        cs_apisim_ctl_deployment(s, w->ns, w->name);
        break;
    case CS_APISIM_W_RS:
        cs_apisim_ctl_replicaset(s, w->ns, w->name);
        break;
    case CS_APISIM_W_JOB:
        cs_apisim_ctl_job(s, w->ns, w->name);
        break;
    case CS_APISIM_W_TFJOB:
    case CS_APISIM_W_PYTORCHJOB:
        cs_apisim_ctl_kubeflow(s, w->kind, w->ns, w->name);
        break;
    case CS_APISIM_W_GC:
        cs_apisim_ctl_gc(s, w->ns, w->name);
        break;
    default:
        break;
    }
    if (w->kind != CS_APISIM_W_POD) {
        s->stats.reconciles++;
    }
}

static void run_batch(struct cs_apisim_sim *s, struct cs_apisim_work *batch, size_t n)
{
    struct cs_map seen;
    char **keys = cs_calloc(n ? n : 1, sizeof(char *));
    cs_map_init(&seen);
    cs_apisim_store_lock(s->st);
    for (size_t i = 0; i < n; i++) {
        struct cs_buf k;
        cs_buf_init(&k);
        cs_buf_printf(&k, "%d|%s|%s", batch[i].kind, batch[i].ns, batch[i].name);
        keys[i] = cs_buf_steal(&k);
        if (cs_map_get(&seen, keys[i]) != NULL) {
            continue;
        }
        cs_map_put(&seen, keys[i], &batch[i]);
        run_work(s, &batch[i]);
    }
    int64_t now = cs_mono_ns();
    const struct cs_apisim_timer *top;
    for (int fired = 0; fired < MAX_TIMERS_PER_ROUND &&
                        (top = cs_apisim_timer_peek(&s->timers)) != NULL &&
                        top->deadline_ns <= now;
         fired++) {
        struct cs_apisim_timer t;
        cs_apisim_timer_pop(&s->timers, &t);
        fire_timer(s, &t);
        cs_free(t.key);
        cs_free(t.uid);
    }
    if (s->reap_terminating) {
        /* store_tick compares against the monotonic clock (see store.c). */
        s->stats.graceful_reaped += cs_apisim_store_tick(s->st, cs_mono_ns());
    }
    cs_apisim_store_unlock(s->st);
    cs_map_destroy(&seen);
    for (size_t i = 0; i < n; i++) {
        cs_free(keys[i]);
        cs_free(batch[i].ns);
        cs_free(batch[i].name);
    }
    cs_free(keys);
}

static void *sim_main(void *arg)
{
    struct cs_apisim_sim *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        if (s->nwork == 0) {
            int64_t wait = IDLE_TICK_NS;
            const struct cs_apisim_timer *top = cs_apisim_timer_peek(&s->timers);
            if (top != NULL) {
                int64_t d = top->deadline_ns - cs_mono_ns();
                if (d < wait) {
                    wait = d;
                }
            }
            if (wait > 0) {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                int64_t ns = (int64_t)ts.tv_nsec + wait;
                ts.tv_sec += (time_t)(ns / 1000000000LL);
                ts.tv_nsec = (long)(ns % 1000000000LL);
                pthread_cond_timedwait(&s->cv, &s->mu, &ts);
            }
            if (s->stop) {
                break;
            }
        }
        struct cs_apisim_work *batch = s->work;
        size_t n = s->nwork;
        s->work = NULL;
        s->nwork = 0;
        s->work_cap = 0;
        pthread_mutex_unlock(&s->mu);
        run_batch(s, batch, n);
        cs_free(batch);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---- generation ----------------------------------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct cs_buf b;
    char chunk[65536];
    size_t n;
    if (f == NULL) {
        return -1;
    }
    cs_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        cs_buf_append(&b, chunk, n);
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        cs_buf_free(&b);
        return -1;
    }
    *len = b.len;
    *out = cs_buf_steal(&b);
    return 0;
}

static void ensure_namespace(struct cs_apisim_store *st, const char *ns)
{
    struct cs_apisim_rtype *rt = cs_apisim_store_rtype(st, "", "namespaces");
    if (rt == NULL || cs_apisim_store_get(st, rt, NULL, ns) != NULL) {
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:{s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "apiVersion", "v1",
                          "kind", "Namespace", "metadata", "name", ns, "labels",
                          "kubernetes.io/metadata.name", ns, "spec", "finalizers",
                          "kubernetes", "status", "phase", "Active");
    cs_apisim_store_create(st, rt, NULL, o, NULL, NULL);
}

struct node_ref {
    char *name;
    char *ip;
};

#define TOPO_GROUP "topology.node.k8s.io"

/* The NodeResourceTopology type, served first (its CRD created) when it is not yet. */
static struct cs_apisim_rtype *topology_rt(struct cs_apisim_store *st)
{
    struct cs_apisim_rtype *rt = cs_apisim_store_rtype(st, TOPO_GROUP, "noderesourcetopologies");
    if (rt) {
        return rt;
    }
    struct cs_apisim_rtype *crd = cs_apisim_store_rtype(st, "apiextensions.k8s.io",
                                                        "customresourcedefinitions");
    if (crd == NULL) {
        return NULL;
    }
    json_t *o = json_pack(
        "{s:s,s:s,s:{s:s},s:{s:s,s:s,s:{s:s,s:s,s:s,s:s,s:[s]},s:[{s:s,s:b,s:b,s:{s:{s:s,s:b}}}]}}",
        "apiVersion", "apiextensions.k8s.io/v1", "kind", "CustomResourceDefinition", "metadata",
        "name", "noderesourcetopologies." TOPO_GROUP, "spec", "group", TOPO_GROUP, "scope",
        "Cluster", "names", "kind", "NodeResourceTopology", "listKind",
        "NodeResourceTopologyList", "plural", "noderesourcetopologies", "singular",
        "noderesourcetopology", "shortNames", "node-res-topo", "versions", "name", "v1alpha1",
        "served", 1, "storage", 1, "schema", "openAPIV3Schema", "type", "object",
        "x-kubernetes-preserve-unknown-fields", 1);
    struct cs_apisim_status status = { 0 };
    if (cs_apisim_store_create(st, crd, NULL, o, NULL, &status) != 0) {
        CS_ERROR_S(status.message, "Cannot create the NodeResourceTopology CRD");
        return NULL;
    }
    return cs_apisim_store_rtype(st, TOPO_GROUP, "noderesourcetopologies");
}

static int gen_nodes(struct cs_apisim_sim *s, const struct cs_apisim_nodegen *g, size_t *gidx)
{
    struct cs_apisim_rtype *nrt = cs_apisim_store_rtype(s->st, "", "nodes");
    struct cs_apisim_status st = { 0 };
    if (nrt == NULL) {
        CS_ERROR_S("nodes not registered", "Cannot generate nodes: the store serves no nodes");
        return -1;
    }
    struct cs_apisim_rtype *topo_rt = g->sockets > 0 ? topology_rt(s->st) : NULL;
    for (size_t i = 0; i < g->count; i++) {
        json_t *n = cs_apisim_nodegen_node(g, i, (*gidx)++);
        json_t *topo = NULL;
        if (topo_rt) {
            /* the node's NodeResourceTopology, as koordlet reports it */
            const json_t *md = json_object_get(n, "metadata");
            topo = json_pack("{s:s,s:s,s:{s:O,s:{s:O}},s:[s]}", "apiVersion",
                             TOPO_GROUP "/v1alpha1", "kind", "NodeResourceTopology", "metadata",
                             "name", json_object_get(md, "name"), "annotations",
                             "node.koordinator.sh/cpu-topology",
                             json_object_get(json_object_get(md, "annotations"),
                                             "node.koordinator.sh/cpu-topology"),
                             "topologyPolicies", "None");
        }
        if (cs_apisim_store_create(s->st, nrt, NULL, n, NULL, &st) != 0) {
            CS_ERROR_S(st.message, "Cannot create generated node", CS_KVI("index", i));
            json_decref(topo);
            return -1;
        }
        if (topo && cs_apisim_store_create(s->st, topo_rt, NULL, topo, NULL, &st) != 0) {
            CS_ERROR_S(st.message, "Cannot create generated NodeResourceTopology",
                       CS_KVI("index", i));
            return -1;
        }
        s->stats.nodes_generated++;
    }
    return 0;
}

static int gen_pods(struct cs_apisim_sim *s, const struct cs_apisim_podgen *g,
                    const struct node_ref *nodes, size_t nnodes, size_t *rr)
{
    struct cs_apisim_rtype *prt = pods_rt(s);
    struct cs_apisim_status st = { 0 };
    int64_t now = cs_wall_ns();
    if (prt == NULL) {
        CS_ERROR_S("pods not registered", "Cannot generate pods: the store serves no pods");
        return -1;
    }
    if (g->bound && nnodes == 0) {
        CS_ERROR_S("no nodes", "--pods-gen bound=true needs nodes (--cluster-gen or --cluster)");
        return -1;
    }
    ensure_namespace(s->st, g->namespace_);
    for (size_t i = 0; i < g->count; i++) {
        const struct node_ref *n = g->bound ? &nodes[(*rr)++ % nnodes] : NULL;
        json_t *p = cs_apisim_podgen_pod(g, i, n ? n->name : NULL, n ? n->ip : NULL, now);
        cs_apisim_sim_default_pod(s->st, p);
        if (cs_apisim_store_create(s->st, prt, g->namespace_, p, NULL, &st) != 0) {
            CS_ERROR_S(st.message, "Cannot create generated pod", CS_KVI("index", i));
            return -1;
        }
        s->stats.pods_generated++;
    }
    return 0;
}

static int collect_nodes(struct cs_apisim_sim *s, struct node_ref **out, size_t *n)
{
    struct cs_apisim_rtype *nrt = cs_apisim_store_rtype(s->st, "", "nodes");
    struct cs_apisim_list l = { 0 };
    *out = NULL;
    *n = 0;
    if (nrt == NULL) {
        return 0;
    }
    cs_apisim_store_list(s->st, nrt, NULL, NULL, NULL, &l);
    *out = cs_calloc(l.len ? l.len : 1, sizeof(**out));
    for (size_t i = 0; i < l.len; i++) {
        const json_t *node = cs_apisim_obj_json(l.items[i]);
        const char *ip = cs_apisim_node_internal_ip(node);
        (*out)[i].name = cs_strdup(cs_apisim_jstr(node, "metadata.name"));
        (*out)[i].ip = ip ? cs_strdup(ip) : NULL;
    }
    *n = l.len;
    cs_apisim_list_free(&l);
    return 0;
}

int cs_apisim_sim_generate(struct cs_apisim_sim *s, const struct cs_apisim_sim_opts *o)
{
    struct cs_apisim_nodegen *ng = NULL;
    struct cs_apisim_podgen *pg = NULL;
    size_t nng = 0, npg = 0, ngcap = 0, pgcap = 0, gidx = 0, rr = 0;
    struct node_ref *nodes = NULL;
    size_t nnodes = 0;
    struct cs_buf err;
    int rc = -1;
    cs_buf_init(&err);

    for (size_t i = 0; i < o->n_cluster_gen; i++) {
        ng = cs_grow(ng, sizeof(*ng), nng + 1, &ngcap);
        if (cs_apisim_nodegen_parse(o->cluster_gen[i], &ng[nng], &err) < 0) {
            CS_ERROR_S(err.data, "Bad --cluster-gen", CS_KV("spec", o->cluster_gen[i]));
            goto out;
        }
        nng++;
    }
    for (size_t i = 0; i < o->n_gen_files; i++) {
        char *text = NULL;
        size_t len = 0;
        struct cs_apisim_nodegen *fn = NULL;
        struct cs_apisim_podgen *fp = NULL;
        size_t nfn = 0, nfp = 0;
        if (read_file(o->gen_files[i], &text, &len) < 0) {
            CS_ERROR_S(strerror(errno), "Cannot read --cluster-gen-file",
                       CS_KV("file", o->gen_files[i]));
            goto out;
        }
        int prc = cs_apisim_clustergen_parse_file(text, len, &fn, &nfn, &fp, &nfp, &err);
        cs_free(text);
        if (prc < 0) {
            CS_ERROR_S(err.data, "Bad --cluster-gen-file", CS_KV("file", o->gen_files[i]));
            goto out;
        }
        for (size_t k = 0; k < nfn; k++) {
            ng = cs_grow(ng, sizeof(*ng), nng + 1, &ngcap);
            ng[nng++] = fn[k];
        }
        for (size_t k = 0; k < nfp; k++) {
            pg = cs_grow(pg, sizeof(*pg), npg + 1, &pgcap);
            pg[npg++] = fp[k];
        }
        cs_free(fn);
        cs_free(fp);
    }
    for (size_t i = 0; i < o->n_pods_gen; i++) {
        pg = cs_grow(pg, sizeof(*pg), npg + 1, &pgcap);
        if (cs_apisim_podgen_parse(o->pods_gen[i], &pg[npg], &err) < 0) {
            CS_ERROR_S(err.data, "Bad --pods-gen", CS_KV("spec", o->pods_gen[i]));
            goto out;
        }
        npg++;
    }
    if (nng == 0 && npg == 0) {
        rc = 0;
        goto out;
    }
    int64_t t0 = cs_mono_ns();
    for (size_t i = 0; i < nng; i++) {
        if (gen_nodes(s, &ng[i], &gidx) < 0) {
            goto out;
        }
    }
    if (npg > 0) {
        collect_nodes(s, &nodes, &nnodes);
        for (size_t i = 0; i < npg; i++) {
            if (gen_pods(s, &pg[i], nodes, nnodes, &rr) < 0) {
                goto out;
            }
        }
    }
    CS_INFO_S("Generated cluster", CS_KVI("nodes", s->stats.nodes_generated),
              CS_KVI("pods", s->stats.pods_generated),
              CS_KVF("seconds", (double)(cs_mono_ns() - t0) / 1e9));
    rc = 0;
out:
    for (size_t i = 0; i < nng; i++) {
        cs_apisim_nodegen_free(&ng[i]);
    }
    for (size_t i = 0; i < npg; i++) {
        cs_apisim_podgen_free(&pg[i]);
    }
    for (size_t i = 0; i < nnodes; i++) {
        cs_free(nodes[i].name);
        cs_free(nodes[i].ip);
    }
    cs_free(nodes);
    cs_free(ng);
    cs_free(pg);
    cs_buf_free(&err);
    return rc;
}

/* ---- start / stop ----------------------------------------------------------------------------- */

int cs_apisim_sim_start(const struct cs_apisim_sim_opts *o, struct cs_apisim_store *st,
                        struct cs_apisim_sim **out)
{
    struct cs_apisim_sim *s = cs_calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    struct cs_apisim_fault_config fc = o->faults;
    int rc;

    *out = NULL;
    s->st = st;
    if (fc.seed == 0) {
        fc.seed = o->seed ? o->seed : 1;
    }
    cs_apisim_fault_init(&s->fault, &fc);
    s->running_delay_ms = o->running_delay_ms;
    s->pod_lifecycle = o->pod_lifecycle;
    s->ctl_deployments = o->ctl_deployments;
    s->ctl_jobs = o->ctl_jobs;
    s->ctl_kubeflow = o->ctl_kubeflow;
    s->reap_terminating = o->reap_terminating;
    cs_apisim_timer_heap_init(&s->timers);
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);

    cs_apisim_store_lock(st);
    cs_apisim_store_add_hook(st, on_write, s);
    rc = cs_apisim_sim_generate(s, o);
    cs_apisim_store_unlock(st);
    if (rc < 0) {
        goto fail;
    }
    if (pthread_create(&s->thread, NULL, sim_main, s) != 0) {
        CS_ERROR_S(strerror(errno), "Cannot start the simulation thread");
        goto fail;
    }
    s->thread_started = 1;
    *out = s;
    return 0;
fail:
    cs_apisim_sim_stop(s);
    return -1;
}

void cs_apisim_sim_stop(struct cs_apisim_sim *s)
{
    if (s == NULL) {
        return;
    }
    cs_apisim_store_lock(s->st);
    cs_apisim_store_remove_hook(s->st, on_write, s);
    cs_apisim_store_unlock(s->st);
    if (s->thread_started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->thread, NULL);
    }
    for (size_t i = 0; i < s->nwork; i++) {
        cs_free(s->work[i].ns);
        cs_free(s->work[i].name);
    }
    cs_free(s->work);
    cs_apisim_timer_heap_free(&s->timers);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    cs_apisim_fault_destroy(&s->fault);
    cs_free(s);
}

struct cs_apisim_fault *cs_apisim_sim_fault(struct cs_apisim_sim *s)
{
    return s ? &s->fault : NULL;
}

/* ---- admin endpoints --------------------------------------------------------------------------- */

static void dump_all(struct cs_apisim_sim *s, struct cs_buf *b)
{
    int first = 1;
    cs_apisim_store_lock(s->st);
    cs_buf_printf(b, "{\"kind\":\"List\",\"apiVersion\":\"v1\",\"metadata\":"
                  "{\"resourceVersion\":\"%llu\"},\"items\":[", (unsigned long long)s->st->rv);
    for (struct cs_apisim_rtype *rt = s->st->types; rt != NULL; rt = rt->next) {
        if (!rt->served) {
            continue;
        }
        struct cs_apisim_list l = { 0 };
        cs_apisim_store_list(s->st, rt, NULL, NULL, NULL, &l);
        for (size_t i = 0; i < l.len; i++) {
            size_t len = 0;
            const char *t = cs_apisim_obj_text(l.items[i], &len);
            if (!first) {
                cs_buf_putc(b, ',');
            }
            first = 0;
            cs_buf_append(b, t, len);
        }
        cs_apisim_list_free(&l);
    }
    cs_buf_puts(b, "]}");
    cs_apisim_store_unlock(s->st);
}

static void status_body(struct cs_buf *b, int code, const char *reason, const char *msg)
{
    cs_buf_puts(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                   "\"status\":\"Failure\",\"message\":");
    cs_buf_json_str(b, msg);
    cs_buf_printf(b, ",\"reason\":\"%s\",\"code\":%d}", reason, code);
}

static int put_faults(struct cs_apisim_sim *s, const char *body, size_t len, struct cs_buf *b)
{
    struct cs_apisim_fault_config c;
    struct cs_buf err;
    int code = 200;
    cs_buf_init(&err);
    if (cs_apisim_fault_config_from_json(body ? body : "", body ? len : 0, &c, &err) < 0) {
        status_body(b, 400, "BadRequest", err.data);
        code = 400;
        goto out;
    }
    json_t *root = json_loadb(body, len, 0, NULL);
    int compact = json_is_true(json_object_get(root, "compactNow"));
    int drop = json_is_true(json_object_get(root, "dropWatchesNow"));
    json_decref(root);
    cs_apisim_fault_set(&s->fault, &c);
    if (compact) {
        cs_apisim_store_lock(s->st);
        cs_apisim_store_compact(s->st);
        cs_apisim_store_unlock(s->st);
        CS_INFO_S("Compacted watch history on request");
    }
    if (drop) {
        cs_apisim_fault_drop_all_watches(&s->fault);
        CS_INFO_S("Dropping all watches on request");
    }
    CS_INFO_S("Fault settings replaced", CS_KV("body", body));
    cs_apisim_fault_to_json(&s->fault, b);
out:
    cs_buf_free(&err);
    return code;
}

int cs_apisim_sim_admin(struct cs_apisim_sim *s, const char *method, const char *path,
                        const char *req_body, size_t req_len, int *code, char **body,
                        size_t *len)
{
    struct cs_buf b;
    cs_buf_init(&b);
    *code = 200;
    if (s == NULL) {
        *code = 404;
        status_body(&b, 404, "NotFound", "simulation is not running");
    } else if (strcmp(path, "/apisim/faults") == 0) {
        if (strcmp(method, "GET") == 0) {
            cs_apisim_fault_to_json(&s->fault, &b);
        } else if (strcmp(method, "PUT") == 0 || strcmp(method, "POST") == 0) {
            *code = put_faults(s, req_body, req_len, &b);
        } else {
            *code = 405;
            status_body(&b, 405, "MethodNotAllowed", "use GET or PUT on /apisim/faults");
        }
    } else if (strcmp(path, "/apisim/dump") == 0 && strcmp(method, "GET") == 0) {
        dump_all(s, &b);
    } else if (strcmp(path, "/apisim/stats") == 0 && strcmp(method, "GET") == 0) {
        cs_apisim_store_lock(s->st);
        struct cs_apisim_sim_stats x = s->stats;
        size_t ntimers = s->timers.len;
        cs_apisim_store_unlock(s->st);
        cs_buf_printf(&b, "{\"podsRunning\":%llu,\"podsSucceeded\":%llu,\"podsFailed\":%llu,"
                      "\"podsCreated\":%llu,\"podsDeleted\":%llu,\"reconciles\":%llu,"
                      "\"nodesGenerated\":%llu,\"podsGenerated\":%llu,"
                      "\"gracefulReaped\":%llu,\"timers\":%zu}",
                      (unsigned long long)x.pods_running, (unsigned long long)x.pods_succeeded,
                      (unsigned long long)x.pods_failed, (unsigned long long)x.pods_created,
                      (unsigned long long)x.pods_deleted, (unsigned long long)x.reconciles,
                      (unsigned long long)x.nodes_generated,
                      (unsigned long long)x.pods_generated,
                      (unsigned long long)x.graceful_reaped, ntimers);
    } else {
        *code = 404;
        status_body(&b, 404, "NotFound", "unknown apisim admin path");
    }
    *len = b.len;
    *body = cs_buf_steal(&b);
    return 0;
}
