/*
 * cosched-queue: the job queue controller (ack-kube-queue). Flags, signals and wiring only; the
 * queue lives in pkg/kqueue.
 *
 * A process of its own rather than a mode of cosched: it is a controller (it writes jobs and
 * QueueUnits, never binds), it is deployed, scaled and restarted apart from the scheduler as
 * kube-queue is, and a restart of one never costs the other its informers' state.
 *
 * Environment as kube-queue's: StrictPriority=true makes Block the default policy,
 * StrictConsistency=true makes it Priority (and wins). SIGTERM/SIGINT: stop, exit 0.
 */
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pkg/client/client.h"
#include "pkg/config/duration.h"
#include "pkg/kqueue/controller.h"
#include "pkg/metrics/metrics.h"
#include "pkg/server/server.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/flag.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

struct flags {
    const char *kubeconfig;
    const char *master;
    const char *extensions;
    const char *queue_namespace;
    const char *policy;
    int preemptible;
    int verbosity;
    double qps;
    int burst;
    int64_t requeue_timeout_ns, requeue_backoff_ns;
    int gang;
    const char *bind_address;
    int port;
};

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

static void usage(FILE *f)
{
    fputs("Usage: cosched-queue [flags]\n"
          "  --kubeconfig FILE             kubeconfig (default: in-cluster config)\n"
          "  --master URL                  API server address, overrides the kubeconfig\n"
          "  -v, --v N                     log verbosity\n"
          "  --enabled-extensions LIST     job kinds to queue: job,tfjob,pytorchjob,rayjob,\n"
          "                                rayjobv1alpha1 (RayJob of KubeRay < 1.1, instead of\n"
          "                                rayjob),sparkapp,argoworkflow (default all but\n"
          "                                rayjobv1alpha1)\n"
          "  --queue-namespace NS          where Queues live (default kube-queue)\n"
          "  --queue-policy P              Priority (default) or Block, for Queues naming none\n"
          "  --default-preemptible BOOL    jobs without a preemptible label are checked against\n"
          "                                max (true, default) or min (false)\n"
          "  --kube-api-qps N, --kube-api-burst N   client rate limit (default 1000/2000)\n"
          "  --requeue-timeout D           a released job with pods still unscheduled after D\n"
          "                                is suspended again and requeued (default 60s, 0: off)\n"
          "  --requeue-backoff D           first backoff of a requeued job, doubling per requeue\n"
          "                                up to 10m (default 10s)\n"
          "  --gang BOOL                   release jobs as gangs (pod-group labels, default true)\n"
          "  --bind-address ADDR, --secure-port N   /healthz, /readyz, /metrics (plain HTTP;\n"
          "                                default 0.0.0.0:10262; 0: a free port; -1: off)\n"
          "  --leader-elect=false          accepted (one instance is expected)\n",
          f);
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
    memset(f, 0, sizeof(*f));
    f->preemptible = 1;
    f->qps = 1000;
    f->burst = 2000;
    f->requeue_timeout_ns = 60LL * 1000000000;
    f->requeue_backoff_ns = 10LL * 1000000000;
    f->gang = 1;
    f->port = 10262;
    for (int i = 1; i < argc; i++) {
        struct cs_flag fl;
        int kind = cs_flag_parse("cosched-queue", argv[i], &fl);
        if (kind == 0) {
            usage(stdout);
            exit(0);
        }
        if (kind < 0) {
            return -1;
        }
        const char *a = fl.arg, *key = fl.key;
        static const char *const known[] = { "kubeconfig", "master", "v", "enabled-extensions",
                                             "queue-namespace", "queue-policy",
                                             "default-preemptible", "kube-api-qps",
                                             "kube-api-burst", "leader-elect", "requeue-timeout",
                                             "requeue-backoff", "gang", "bind-address",
                                             "secure-port", NULL };
        if (!cs_flag_listed(known, key)) {
            fprintf(stderr, "cosched-queue: unknown flag: %s\n", a);
            usage(stderr);
            return -1;
        }
        if (strcmp(key, "leader-elect") != 0 && strcmp(key, "gang") != 0 &&
            cs_flag_take_value("cosched-queue", argc, argv, &i, &fl) != 0) {
            return -1;
        }
        const char *val = fl.val;
        char *end = NULL;
        if (strcmp(key, "kubeconfig") == 0) {
            f->kubeconfig = val;
        } else if (strcmp(key, "master") == 0) {
            f->master = val;
        } else if (strcmp(key, "v") == 0) {
            errno = 0;
            long n = strtol(val, &end, 10);
            if (errno || *end || n < 0 || n > 10) {
                fprintf(stderr, "cosched-queue: invalid value \"%s\" for -v\n", val);
                return -1;
            }
            f->verbosity = (int)n;
        } else if (strcmp(key, "enabled-extensions") == 0) {
            f->extensions = val;
        } else if (strcmp(key, "queue-namespace") == 0) {
            f->queue_namespace = val;
        } else if (strcmp(key, "queue-policy") == 0) {
            f->policy = val;
        } else if (strcmp(key, "requeue-timeout") == 0 || strcmp(key, "requeue-backoff") == 0) {
            int64_t ns = 0;
            char e[200];
            if (strcmp(val, "0") != 0 && cs_duration_parse(val, &ns, e, sizeof(e)) != 0) {
                fprintf(stderr, "cosched-queue: --%s: %s\n", key, e);
                return -1;
            }
            if (ns < 0) {
                fprintf(stderr, "cosched-queue: --%s must not be negative\n", key);
                return -1;
            }
            *(strcmp(key, "requeue-timeout") == 0 ? &f->requeue_timeout_ns
                                                  : &f->requeue_backoff_ns) = ns;
        } else if (strcmp(key, "bind-address") == 0) {
            f->bind_address = val;
        } else if (strcmp(key, "secure-port") == 0) {
            errno = 0;
            long n = strtol(val, &end, 10);
            if (errno || *end || n < -1 || n > 65535) {
                fprintf(stderr, "cosched-queue: invalid value \"%s\" for --secure-port\n", val);
                return -1;
            }
            f->port = (int)n;
        } else if (strcmp(key, "default-preemptible") == 0 || strcmp(key, "leader-elect") == 0 ||
                   strcmp(key, "gang") == 0) {
            int b;
            if (val == NULL || strcmp(val, "true") == 0) {
                b = 1;
            } else if (strcmp(val, "false") == 0) {
                b = 0;
            } else {
                fprintf(stderr, "cosched-queue: invalid value \"%s\" for --%s\n", val, key);
                return -1;
            }
            if (key[0] == 'd') {
                f->preemptible = b;
            } else if (key[0] == 'g') {
                f->gang = b;
            } else if (b) {
                CS_WARN_S("Leader election is not implemented; run one instance");
            }
        } else if (strcmp(key, "kube-api-qps") == 0 || strcmp(key, "kube-api-burst") == 0) {
            errno = 0;
            double d = strtod(val, &end);
            if (errno || end == val || *end || d < 0) {
                fprintf(stderr, "cosched-queue: invalid value \"%s\" for --%s\n", val, key);
                return -1;
            }
            if (strcmp(key, "kube-api-qps") == 0) {
                f->qps = d;
            } else {
                f->burst = (int)d;
            }
        }
    }
    return 0;
}

static int parse_kinds(const char *list, const struct cs_kq_kind **out, size_t *n)
{
    *n = 0;
    if (list == NULL) {   /* every kind, each only in its first (newest) version */
        for (size_t i = 0; i < cs_kq_n_kinds; i++) {
            bool seen = false;
            for (size_t j = 0; j < *n; j++) {
                seen = seen || strcmp(out[j]->kind, cs_kq_kinds[i].kind) == 0;
            }
            if (!seen) {
                out[(*n)++] = &cs_kq_kinds[i];
            }
        }
        return 0;
    }
    char *dup = cs_strdup(list), *save = NULL;
    int rc = 0;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') {
            t++;
        }
        const struct cs_kq_kind *k = cs_kq_kind_by_ext(t);
        if (k == NULL) {
            fprintf(stderr, "cosched-queue: --enabled-extensions: unknown kind \"%s\" (known:", t);
            for (size_t i = 0; i < cs_kq_n_kinds; i++) {
                fprintf(stderr, " %s", cs_kq_kinds[i].ext);
            }
            fprintf(stderr, ")\n");
            rc = -1;
            break;
        }
        bool dup_kind = false;
        for (size_t i = 0; i < *n; i++) {
            dup_kind = dup_kind || out[i] == k;
            if (out[i] != k && strcmp(out[i]->kind, k->kind) == 0) {
                fprintf(stderr, "cosched-queue: --enabled-extensions: %s and %s both queue %s "
                        "objects (one API group, two versions); enable one\n", out[i]->ext,
                        k->ext, k->kind);
                rc = -1;
            }
        }
        if (rc != 0) {
            break;
        }
        if (!dup_kind) {
            out[(*n)++] = k;
        }
    }
    cs_free(dup);
    return rc;
}

static int readyz(void *arg, struct cs_buf *reason)
{
    if (cs_kq_controller_synced(arg)) {
        return 0;
    }
    cs_buf_puts(reason, "informers not synced");
    return 1;
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && strcmp(v, "true") == 0;
}

/* The queue namespace must exist before Queues are created in it. Looked up first, so that a
 * controller without the right to create namespaces (the shipped RBAC: its manifest makes the
 * namespace) makes no forbidden request. */
static void ensure_namespace(struct cs_client *c, const char *ns)
{
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_printf(&b, "/api/v1/namespaces/%s", ns);
    struct cs_client_req g = { .method = "GET", .path = b.data,
                               .retry = CS_CLIENT_RETRY_DEFAULT };
    struct cs_client_resp gr;
    if (cs_client_do(c, &g, &gr) == 0) {
        int st = gr.status;
        cs_client_resp_free(&gr);
        if (st == 200) {
            cs_buf_free(&b);
            return;
        }
    }
    cs_buf_reset(&b);
    cs_buf_puts(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":");
    cs_buf_json_str(&b, ns);
    cs_buf_puts(&b, "}}");
    struct cs_client_req r = { .method = "POST", .path = "/api/v1/namespaces", .body = b.data,
                               .body_len = b.len, .retry = CS_CLIENT_RETRY_DEFAULT };
    struct cs_client_resp resp;
    if (cs_client_do(c, &r, &resp) == 0) {
        if (resp.status != 201 && resp.status != 409) {
            CS_WARN_S("Cannot create the queue namespace", CS_KV("namespace", ns),
                      CS_KVI("status", resp.status));
        }
        cs_client_resp_free(&resp);
    }
    cs_buf_free(&b);
}

int main(int argc, char **argv)
{
    struct flags fl;
    if (parse_flags(argc, argv, &fl) != 0) {
        return 1;
    }
    cs_log_set_v(fl.verbosity);
    const struct cs_kq_kind *kinds[16];
    size_t n_kinds = 0;
    if (parse_kinds(fl.extensions, kinds, &n_kinds) != 0) {
        return 1;
    }
    enum cs_kq_policy policy = CS_KQ_PRIORITY;
    if (fl.policy && !cs_kq_policy_parse(fl.policy, &policy)) {
        fprintf(stderr, "cosched-queue: --queue-policy: \"%s\" is not Priority or Block\n",
                fl.policy);
        return 1;
    }
    if (fl.policy == NULL && env_true("StrictPriority")) {
        policy = CS_KQ_BLOCK;
    }
    if (fl.policy == NULL && env_true("StrictConsistency")) {
        policy = CS_KQ_PRIORITY;
    }
    char err[1024] = "";
    struct cs_client_config ccfg;
    cs_client_config_init(&ccfg);
    if (fl.kubeconfig) {
        if (cs_kubeconfig_load(fl.kubeconfig, NULL, &ccfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "cosched-queue: %s\n", err);
            cs_client_config_free(&ccfg);
            return 1;
        }
    } else if (cs_client_config_in_cluster(&ccfg, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "cosched-queue: no --kubeconfig and not in a cluster: %s\n", err);
        cs_client_config_free(&ccfg);
        return 1;
    }
    if (fl.master) {
        cs_free(ccfg.server);
        ccfg.server = cs_strdup(fl.master);
    }
    ccfg.qps = fl.qps;
    ccfg.burst = fl.burst > 0 ? fl.burst : 1;
    cs_free(ccfg.user_agent);
    ccfg.user_agent = cs_strdup("cosched-queue/0.1");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 1;
    struct cs_kq_controller *ctl = NULL;
    struct cs_server *srv = NULL;
    struct cs_metrics_registry *reg = cs_metrics_registry_new();
    cs_metrics_register_process(reg);
    struct cs_client *client = cs_client_new(&ccfg, err, sizeof(err));
    if (client == NULL || cs_client_start(client) != 0) {
        fprintf(stderr, "cosched-queue: %s\n", client ? "cannot start the client" : err);
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    const char *qns = fl.queue_namespace ? fl.queue_namespace : "kube-queue";
    ensure_namespace(client, qns);
    char identity[300], host[256] = "cosched-queue";
    gethostname(host, sizeof(host) - 1);
    snprintf(identity, sizeof(identity), "%s_%d", host, (int)getpid());
    struct cs_kq_controller_opts o = {
        .client = client,
        .kinds = kinds,
        .n_kinds = n_kinds,
        .queue_namespace = qns,
        .policy = policy,
        .preemptible = fl.preemptible != 0,
        .identity = identity,
        .no_gang = !fl.gang,
        .requeue_timeout_ms = fl.requeue_timeout_ns / 1000000,
        .requeue_backoff_ms = fl.requeue_backoff_ns / 1000000,
        .metrics = reg,
    };
    ctl = cs_kq_controller_new(&o, err, sizeof(err));
    if (ctl == NULL) {
        fprintf(stderr, "cosched-queue: %s\n", err);
        goto out;
    }
    if (fl.port >= 0) {
        struct cs_server_config scfg = { .bind_address = fl.bind_address, .port = fl.port,
                                         .metrics = reg };
        srv = cs_server_new(&scfg);
        cs_server_add_check(srv, "informer-sync", CS_SERVER_READYZ, readyz, ctl);
        if (cs_server_start(srv, err, sizeof(err)) != 0) {
            fprintf(stderr, "cosched-queue: %s\n", err);
            goto out;
        }
    }
    if (cs_kq_controller_start(ctl, err, sizeof(err)) != 0) {
        fprintf(stderr, "cosched-queue: %s\n", err);
        goto out;
    }
    struct cs_buf kl;
    cs_buf_init(&kl);
    for (size_t i = 0; i < n_kinds; i++) {
        cs_buf_printf(&kl, "%s%s", i ? "," : "", kinds[i]->ext);
    }
    CS_INFO_S("Queue controller started", CS_KV("server", ccfg.server), CS_KV("extensions", kl.data),
              CS_KV("queueNamespace", qns), CS_KV("policy", cs_kq_policy_name(policy)),
              CS_KVI("preemptible", fl.preemptible),
              CS_KVI("requeueTimeoutMs", fl.requeue_timeout_ns / 1000000),
              CS_KVI("gang", fl.gang), CS_KVI("healthPort", srv ? cs_server_port(srv) : -1));
    cs_buf_free(&kl);
    while (!got_signal) {
        cs_sleep_ns(100 * 1000000LL);
    }
    CS_INFO_S("Received signal, stopping", CS_KVI("signal", got_signal));
    rc = 0;
out:
    if (srv) {
        cs_server_stop(srv);
    }
    if (ctl) {
        cs_kq_controller_stop(ctl);
    }
    if (client) {
        cs_client_stop(client);
    }
    cs_kq_controller_free(ctl);
    cs_server_free(srv);
    cs_metrics_registry_free(reg);
    cs_client_free(client);
    curl_global_cleanup();
    cs_client_config_free(&ccfg);
    return rc;
}
