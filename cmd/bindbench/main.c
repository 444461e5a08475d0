/*
 * bindbench: the bind-rate ceiling of an API server. Lists the pending pods (spec.nodeName=)
 * and the nodes, then POSTs pods/binding for every pod, round-robin over the nodes, keeping N
 * requests in flight through pkg/client (the same transport cosched uses). Optionally W
 * watchers each WATCH pods from the list's resourceVersion and must see every bound pod with
 * its nodeName; the tail is how long after the last bind the last watcher saw its last pod.
 *
 * With --events 1 each successful bind is followed by the events.k8s.io/v1 Event a scheduler
 * writes for it ("Scheduled"), and a pod counts once both are done: the ceiling of what any
 * scheduler must write per pod.
 * Output (one line): binds=N seconds=S binds_per_sec=R errors=E
 *                    [watch_events_per_watcher=X watch_tail_ms=T watch_missing=M]
 * Everything after the lists runs on the client's I/O thread; main only waits.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "api/encode.h"
#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/map.h"
#include "pkg/util/timeutil.h"

struct pod {
    char *ns, *name, *uid, *key;
};

struct watcher {
    struct bench *b;
    struct cs_client_stream *s;
    unsigned char *seen;
    size_t nseen;
    uint64_t events;
    int64_t last_ns;              /* when it saw its last pod */
    int ended;
    char err[256];
};

struct bench {
    struct cs_client *c;
    struct pod *pods;
    size_t npods, cap_pods;
    char **nodes;
    size_t nnodes, cap_nodes;
    struct cs_map by_key;
    char *list_rv;
    int concurrency;
    int events;                   /* also write a Scheduled event per bound pod */
    /* I/O thread */
    size_t next, done, errors;
    int64_t t0, t_last_bind;
    double cpu0;                  /* process CPU seconds when the binds started */
    struct watcher *w;
    int nw;
    /* completion */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int binds_finished;
    int watchers_finished;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bindbench --kubeconfig FILE [--namespace NS] [--concurrency N] "
               "[--watchers W] [--qps Q] [--max-conns C] [--watch-timeout-s S] [--events 0|1]\n");
}

static int parse_int(const char *flag, const char *v, long lo, long hi, long *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || !end || *end || x < lo || x > hi) {
        fprintf(stderr, "bindbench: %s: expected an integer in [%ld, %ld], got \"%s\"\n", flag, lo,
                hi, v);
        return -1;
    }
    *out = x;
    return 0;
}

/* GET every page of path+query; calls fn for each item. Returns 0 or -1 (logged). */
static int list_all(struct cs_client *c, const char *path, const char *query,
                    void (*fn)(struct bench *, json_t *), struct bench *b, char **rv_out)
{
    char *cont = NULL;
    int rc = -1;
    for (;;) {
        struct cs_buf p;
        cs_buf_init(&p);
        cs_buf_printf(&p, "%s?limit=5000%s", path, query);
        if (cont) {
            cs_buf_puts(&p, "&continue=");
            cs_buf_url_escape(&p, cont);
        }
        struct cs_client_req req = { .method = "GET", .path = p.data,
                                     .retry = CS_CLIENT_RETRY_DEFAULT };
        struct cs_client_resp r;
        int drc = cs_client_do(c, &req, &r);
        cs_buf_free(&p);
        if (drc < 0 || r.status != 200) {
            CS_ERROR_S(r.err ? r.err : "bad status", "List failed", CS_KV("path", path),
                       CS_KVI("status", r.status), CS_KV("body", r.body ? r.body : ""));
            cs_client_resp_free(&r);
            goto out;
        }
        json_error_t je;
        json_t *doc = json_loadb(r.body, r.body_len, 0, &je);
        cs_client_resp_free(&r);
        if (!doc) {
            CS_ERROR_S(je.text, "List response is not JSON", CS_KV("path", path));
            goto out;
        }
        json_t *md = json_object_get(doc, "metadata");
        if (rv_out && !*rv_out) {
            const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
            *rv_out = cs_strdup(rv ? rv : "");
        }
        size_t i;
        json_t *it;
        json_array_foreach(json_object_get(doc, "items"), i, it) {
            fn(b, it);
        }
        const char *next = json_string_value(json_object_get(md, "continue"));
        cs_free(cont);
        cont = next && *next ? cs_strdup(next) : NULL;
        json_decref(doc);
        if (!cont) {
            break;
        }
    }
    rc = 0;
out:
    cs_free(cont);
    return rc;
}

static void add_pod(struct bench *b, json_t *it)
{
    json_t *md = json_object_get(it, "metadata");
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *uid = json_string_value(json_object_get(md, "uid"));
    const char *node = json_string_value(json_object_get(json_object_get(it, "spec"), "nodeName"));
    if (!ns || !name || (node && *node)) {
        return;
    }
    b->pods = cs_grow(b->pods, sizeof(*b->pods), b->npods + 1, &b->cap_pods);
    struct pod *p = &b->pods[b->npods++];
    p->ns = cs_strdup(ns);
    p->name = cs_strdup(name);
    p->uid = uid ? cs_strdup(uid) : NULL;
    struct cs_buf k;
    cs_buf_init(&k);
    cs_buf_printf(&k, "%s/%s", ns, name);
    p->key = cs_buf_steal(&k);
}

static void add_node(struct bench *b, json_t *it)
{
    const char *name = json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
    if (!name) {
        return;
    }
    b->nodes = cs_grow(b->nodes, sizeof(*b->nodes), b->nnodes + 1, &b->cap_nodes);
    b->nodes[b->nnodes++] = cs_strdup(name);
}

/* ---- binds (I/O thread) -------------------------------------------------------------------- */

static void submit_bind(struct bench *b);

struct op {
    struct bench *b;
    size_t i;                      /* pod index */
};

/* One pod finished (bound, and its event written when asked): start the next. */
static void pod_done(struct bench *b)
{
    b->done++;
    if (b->next < b->npods) {
        submit_bind(b);
    } else if (b->done == b->npods) {
        b->t_last_bind = cs_mono_ns();
        pthread_mutex_lock(&b->mu);
        b->binds_finished = 1;
        pthread_cond_broadcast(&b->cv);
        pthread_mutex_unlock(&b->mu);
    }
}

static void on_event(void *arg, const struct cs_client_resp *r)
{
    struct op *op = arg;
    struct bench *b = op->b;
    cs_free(op);
    if (r->status != 201 && r->status != 200) {
        if (b->errors < 5) {
            CS_WARN_S("Event failed", CS_KVI("status", r->status),
                      CS_KV("error", r->err ? r->err : r->body));
        }
        b->errors++;
    }
    pod_done(b);
}

static void submit_event(struct op *op)
{
    struct bench *b = op->b;
    const struct pod *p = &b->pods[op->i];
    const char *node = b->nodes[op->i % b->nnodes];
    char note[600], path[400];
    snprintf(note, sizeof(note), "Successfully assigned %s/%s to %s", p->ns, p->name, node);
    snprintf(path, sizeof(path), "/apis/events.k8s.io/v1/namespaces/%s/events", p->ns);
    struct cs_event ev = {
        .regarding = { .kind = "Pod", .api_version = "v1", .ns = p->ns, .name = p->name,
                       .uid = p->uid },
        .reason = "Scheduled",
        .action = "Binding",
        .type = "Normal",
        .note = note,
        .reporting_controller = "bindbench",
        .reporting_instance = "bindbench",
        .event_time_ns = cs_wall_ns(),
    };
    struct cs_buf body;
    cs_buf_init(&body);
    cs_encode_event(&body, &ev);
    struct cs_client_req req = { .method = "POST", .path = path, .body = body.data,
                                 .body_len = body.len, .cb = on_event, .arg = op };
    if (cs_client_submit(b->c, &req) < 0) {
        cs_free(op);
        b->errors++;
        pod_done(b);
    }
    cs_buf_free(&body);
}

static void on_bind(void *arg, const struct cs_client_resp *r)
{
    struct op *op = arg;
    struct bench *b = op->b;
    if (r->status != 201 && r->status != 200) {
        if (b->errors < 5) {
            CS_WARN_S("Bind failed", CS_KVI("status", r->status),
                      CS_KV("error", r->err ? r->err : r->body));
        }
        b->errors++;
    } else if (b->events) {
        submit_event(op);
        return;
    }
    cs_free(op);
    pod_done(b);
}

static void submit_bind(struct bench *b)
{
    size_t i = b->next++;
    struct pod *p = &b->pods[i];
    const char *node = b->nodes[i % b->nnodes];
    char path[512];
    snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", p->ns, p->name);
    struct cs_buf body;
    cs_buf_init(&body);
    cs_encode_binding(&body, p->ns, p->name, p->uid, node);
    struct op *op = cs_malloc(sizeof(*op));
    op->b = b;
    op->i = i;
    struct cs_client_req req = { .method = "POST", .path = path, .body = body.data,
                                 .body_len = body.len, .cb = on_bind, .arg = op };
    if (cs_client_submit(b->c, &req) < 0) {
        cs_free(op);
        b->errors++;
        b->done++;
    }
    cs_buf_free(&body);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void start_binds(void *arg)
{
    struct bench *b = arg;
    b->cpu0 = cpu_seconds();
    b->t0 = cs_mono_ns();
    for (int k = 0; k < b->concurrency && b->next < b->npods; k++) {
        submit_bind(b);
    }
}

/* ---- watchers (I/O thread) ---------------------------------------------------------------- */

static void watcher_finish(struct watcher *w)
{
    struct bench *b = w->b;
    if (w->ended) {
        return;
    }
    w->ended = 1;
    pthread_mutex_lock(&b->mu);
    b->watchers_finished++;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void on_watch_line(void *arg, const char *line, size_t len)
{
    struct watcher *w = arg;
    struct bench *b = w->b;
    w->events++;
    json_t *ev = json_loadb(line, len, 0, NULL);
    json_t *obj = json_object_get(ev, "object");
    const char *node = json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
    if (node && *node) {
        json_t *md = json_object_get(obj, "metadata");
        const char *pns = json_string_value(json_object_get(md, "namespace"));
        const char *pname = json_string_value(json_object_get(md, "name"));
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", pns ? pns : "", pname ? pname : "");
        void *v = cs_map_get(&b->by_key, key);
        if (v) {
            size_t idx = (size_t)(uintptr_t)v - 1;
            if (!w->seen[idx]) {
                w->seen[idx] = 1;
                w->nseen++;
                w->last_ns = cs_mono_ns();
                if (w->nseen == b->npods) {
                    watcher_finish(w);
                }
            }
        }
    }
    json_decref(ev);
}

static void on_watch_done(void *arg, long status, const char *err)
{
    struct watcher *w = arg;
    if (err && strcmp(err, "cancelled") != 0) {
        snprintf(w->err, sizeof(w->err), "%ld %s", status, err);
    }
    watcher_finish(w);
}

static void start_watchers(struct bench *b, int watch_timeout_s)
{
    char path[512];
    snprintf(path, sizeof(path),
             "/api/v1/pods?watch=true&resourceVersion=%s&timeoutSeconds=%d", b->list_rv,
             watch_timeout_s);
    for (int i = 0; i < b->nw; i++) {
        struct watcher *w = &b->w[i];
        w->b = b;
        w->seen = cs_calloc(b->npods ? b->npods : 1, 1);
        w->s = cs_client_stream_open(b->c, path, on_watch_line, on_watch_done, w);
    }
}

int main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *ns = NULL;
    long concurrency = 64, watchers = 0, max_conns = 0, watch_timeout = 120, events = 0;
    double qps = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            fprintf(stderr, "bindbench: %s needs a value\n", a);
            usage(stderr);
            return 2;
        }
        i++;
        if (!strcmp(a, "--kubeconfig")) {
            kubeconfig = v;
        } else if (!strcmp(a, "--namespace")) {
            ns = v;
        } else if (!strcmp(a, "--concurrency")) {
            if (parse_int(a, v, 1, 100000, &concurrency) < 0) {
                return 2;
            }
        } else if (!strcmp(a, "--events")) {
            if (parse_int(a, v, 0, 1, &events) < 0) {
                return 2;
            }
        } else if (!strcmp(a, "--watchers")) {
            if (parse_int(a, v, 0, 1000, &watchers) < 0) {
                return 2;
            }
        } else if (!strcmp(a, "--max-conns")) {
            if (parse_int(a, v, 1, 10000, &max_conns) < 0) {
                return 2;
            }
        } else if (!strcmp(a, "--watch-timeout-s")) {
            if (parse_int(a, v, 1, 100000, &watch_timeout) < 0) {
                return 2;
            }
        } else if (!strcmp(a, "--qps")) {
            long q;
            if (parse_int(a, v, 0, 10000000, &q) < 0) {
                return 2;
            }
            qps = (double)q;
        } else {
            fprintf(stderr, "bindbench: unknown flag %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!kubeconfig) {
        usage(stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_ALL);
    int rc = 1;
    struct bench b;
    memset(&b, 0, sizeof(b));
    pthread_mutex_init(&b.mu, NULL);
    pthread_cond_init(&b.cv, NULL);
    cs_map_init(&b.by_key);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char err[512];
    if (cs_kubeconfig_load(kubeconfig, NULL, &cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "bindbench: %s\n", err);
        goto out;
    }
    cfg.qps = qps;
    if (max_conns > 0) {
        cfg.max_conns_per_host = (int)max_conns;
    }
    b.c = cs_client_new(&cfg, err, sizeof(err));
    if (!b.c) {
        fprintf(stderr, "bindbench: %s\n", err);
        goto out;
    }
    cs_client_start(b.c);
    char pods_path[512];
    if (ns) {
        snprintf(pods_path, sizeof(pods_path), "/api/v1/namespaces/%s/pods", ns);
    } else {
        snprintf(pods_path, sizeof(pods_path), "/api/v1/pods");
    }
    if (list_all(b.c, pods_path, "&fieldSelector=spec.nodeName%3D", add_pod, &b, &b.list_rv) < 0 ||
        list_all(b.c, "/api/v1/nodes", "", add_node, &b, NULL) < 0) {
        goto out;
    }
    if (b.nnodes == 0) {
        fprintf(stderr, "bindbench: no nodes\n");
        goto out;
    }
    for (size_t i = 0; i < b.npods; i++) {
        cs_map_put(&b.by_key, b.pods[i].key, (void *)(uintptr_t)(i + 1));
    }
    b.concurrency = (int)concurrency;
    b.events = (int)events;
    b.nw = (int)watchers;
    b.w = cs_calloc((size_t)(b.nw ? b.nw : 1), sizeof(*b.w));
    if (b.npods == 0) {
        printf("binds=0 seconds=0 binds_per_sec=0 errors=0\n");
        rc = 0;
        goto out;
    }
    start_watchers(&b, (int)watch_timeout);
    cs_client_post(b.c, start_binds, &b);
    pthread_mutex_lock(&b.mu);
    while (!b.binds_finished) {
        pthread_cond_wait(&b.cv, &b.mu);
    }
    /* Watchers: wait until each saw every pod or its watch ended, at most 60 s more. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 60;
    while (b.watchers_finished < b.nw) {
        if (pthread_cond_timedwait(&b.cv, &b.mu, &deadline) == ETIMEDOUT) {
            fprintf(stderr, "bindbench: watchers did not see every bind within 60 s\n");
            break;
        }
    }
    pthread_mutex_unlock(&b.mu);
    double cpu = cpu_seconds() - b.cpu0; /* binds and, with watchers, their parsing */
    double secs = (double)(b.t_last_bind - b.t0) / 1e9;
    printf("binds=%zu seconds=%.3f binds_per_sec=%.0f errors=%zu", b.npods, secs,
           secs > 0 ? (double)(b.npods - b.errors) / secs : 0.0, b.errors);
    if (b.nw > 0) {
        uint64_t ev = 0;
        int64_t last = b.t_last_bind;
        size_t missing = 0;
        for (int i = 0; i < b.nw; i++) {
            ev += b.w[i].events;
            if (b.w[i].last_ns > last) {
                last = b.w[i].last_ns;
            }
            missing += (b.npods - b.errors) > b.w[i].nseen ? (b.npods - b.errors) - b.w[i].nseen : 0;
        }
        printf(" watchers=%d watch_events_per_watcher=%llu watch_tail_ms=%.1f watch_missing=%zu",
               b.nw, (unsigned long long)(ev / (uint64_t)b.nw), (double)(last - b.t_last_bind) / 1e6,
               missing);
        for (int i = 0; i < b.nw; i++) {
            if (b.w[i].err[0]) {
                fprintf(stderr, "bindbench: watcher %d: %s\n", i, b.w[i].err);
            }
        }
    }
    struct cs_client_stats cst;
    cs_client_stats(b.c, &cst);
    printf(" connections=%llu client_cpu_us_per_bind=%.0f\n", (unsigned long long)cst.connects,
           cpu * 1e6 / (double)b.npods);
    fflush(stdout);
    rc = b.errors == 0 ? 0 : 1;
out:
    if (b.c) {
        for (int i = 0; i < b.nw; i++) {
            if (b.w[i].s) {
                cs_client_stream_close(b.w[i].s);
            }
        }
        cs_client_free(b.c);
    }
    for (int i = 0; i < b.nw; i++) {
        cs_free(b.w[i].seen);
    }
    cs_free(b.w);
    for (size_t i = 0; i < b.npods; i++) {
        cs_free(b.pods[i].ns);
        cs_free(b.pods[i].name);
        cs_free(b.pods[i].uid);
        cs_free(b.pods[i].key);
    }
    cs_free(b.pods);
    for (size_t i = 0; i < b.nnodes; i++) {
        cs_free(b.nodes[i]);
    }
    cs_free(b.nodes);
    cs_free(b.list_rv);
    cs_map_destroy(&b.by_key);
    cs_client_config_free(&cfg);
    curl_global_cleanup();
    return rc;
}
