/*
 * cosched: the scheduler binary. Flags (kube-scheduler's), configuration, signals and wiring
 * only; everything else lives in pkg/.
 *
 * Start-up order: parse flags, load and validate the KubeSchedulerConfiguration, build the
 * profiles from the plugin registry (unknown flags, a bad file or an unknown plugin: a clear
 * error and exit 1 before touching the cluster), then connect, start the health/metrics
 * server, the informers and the scheduling thread. SIGTERM/SIGINT: stop taking new pods, let
 * in-flight binds finish, exit 0.
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
#include "pkg/config/config.h"
#include "pkg/config/duration.h"
#include "pkg/config/resolve.h"
#include "pkg/framework/framework.h"
#include "pkg/framework/session.h"
#include "pkg/leaderelection/leaderelection.h"
#include "pkg/metrics/metrics.h"
#include "pkg/scheduler/scheduler.h"
#include "pkg/server/server.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/flag.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"
#include "plugins/registry.h"

struct flags {
    const char *kubeconfig;
    const char *config;
    const char *master;
    const char *bind_address;
    int secure_port;
    const char *tls_cert;
    const char *tls_key;
    int leader_elect;          /* -1 unset */
    double qps;                /* < 0 unset */
    const char *content_type;  /* --kube-api-content-type; NULL unset */
    int burst;                 /* < 0 unset */
    int verbosity;
    int batch_size;
    uint32_t actions;          /* --session-actions; 0 unset */
    unsigned long long seed;
    /* --leader-elect-* overrides of the configuration (0 / NULL: unset) */
    int64_t le_lease_ns, le_renew_ns, le_retry_ns;
    const char *le_name, *le_namespace;
};

/* kube-scheduler flags that a drop-in replacement must accept (kubeadm's static pod passes
 * some of them) but that cosched does not act on: delegated authentication/authorization of
 * its health and metrics port, profiling switches, TLS tuning, feature gates. Each is logged
 * once as ignored. The second column tells whether the flag is a boolean. */
static const struct {
    const char *name;
    bool boolean;
} ignored_flags[] = {
    { "authentication-kubeconfig", false }, { "authorization-kubeconfig", false },
    { "authorization-always-allow-paths", false }, { "client-ca-file", false },
    { "requestheader-client-ca-file", false }, { "requestheader-allowed-names", false },
    { "requestheader-extra-headers-prefix", false }, { "requestheader-group-headers", false },
    { "requestheader-username-headers", false }, { "feature-gates", false },
    { "tls-min-version", false }, { "tls-cipher-suites", false }, { "cert-dir", false },
    { "log-flush-frequency", false }, { "profiling", true }, { "contention-profiling", true },
    { "permit-port-sharing", true }, { "permit-address-sharing", true },
};

/*
 * The optimised build links jemalloc (Makefile FAST_MALLOC); it reads this symbol at start
 * (MALLOC_CONF in the environment still applies on top). Huge pages for its extents and dirty
 * pages kept 30 s instead of 10 s: the cache's pods and each cycle's arenas come and go in large
 * numbers, and a third of cosched's time on the real apiserver was the kernel's (page faults,
 * madvise and the TLB shootdowns it sends to the other core). SchedulingBasic on kube-apiserver,
 * cosched CPU per pod: 185 -> 145 us (peak RSS 73 -> 93 MiB).
 */
const char *malloc_conf = "thp:always,metadata_thp:auto,dirty_decay_ms:30000";

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t lost_lease;

static void on_started_leading(void *arg)
{
    struct cs_scheduler *s = arg;
    CS_INFO_S("Started leading; scheduling");
    cs_metrics_set(s->metrics.leader_status, (const char *[]){ "kube-scheduler" }, 1);
    cs_scheduler_set_leading(s, true);
}

static void on_stopped_leading(void *arg, int lost)
{
    struct cs_scheduler *s = arg;
    cs_scheduler_set_leading(s, false);
    cs_metrics_set(s->metrics.leader_status, (const char *[]){ "kube-scheduler" }, 0);
    if (lost) {
        /* As kube-scheduler: leadership lost means exit, so a fresh process campaigns again. */
        CS_ERROR_S("leaderelection lost", "Stopped leading");
        lost_lease = 1;
    }
}

static void on_new_leader(void *arg, const char *identity)
{
    (void)arg;
    CS_INFO_S("New leader elected", CS_KV("identity", identity));
}

static void on_signal(int sig)
{
    got_signal = sig;
}

static void usage(FILE *f)
{
    fputs("Usage: cosched [flags]\n"
          "  --kubeconfig FILE            kubeconfig (default: in-cluster config)\n"
          "  --config FILE                KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1)\n"
          "  --master URL                 API server address, overrides the kubeconfig\n"
          "  -v, --v N                    log verbosity\n"
          "  --leader-elect BOOL          Lease-based leader election (default from config: true)\n"
          "  --bind-address IP            address of the health/metrics server (default 0.0.0.0)\n"
          "  --secure-port N              its port (default 10259; 0 = pick a free port, -1 = off)\n"
          "  --tls-cert-file, --tls-private-key-file   serve HTTPS with these (else plain HTTP)\n"
          "  --kube-api-qps N, --kube-api-burst N      client rate limit (default 10000/20000)\n"
          "  --kube-api-content-type T    application/vnd.kubernetes.protobuf (default) or\n"
          "                               application/json: the wire format of built-in kinds\n"
          "  --leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period D,\n"
          "  --leader-elect-resource-name, --leader-elect-resource-namespace, --leader-elect-resource-lock\n"
          "                               override the configuration's leaderElection block\n"
          "  --logging-format text        (json is not supported)\n"
          "  --batch-size N               pods per scheduling session (default 256)\n"
          "  --session-actions LIST       ordered session actions (default allocate,preempt)\n"
          "  --seed N                     tie-break random seed (tests)\n",
          f);
}

static int parse_bool(const char *v, int *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = 1;
    } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = 0;
    } else {
        return -1;
    }
    return 0;
}

static int parse_long(const char *flag, const char *v, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max) {
        fprintf(stderr, "cosched: invalid value \"%s\" for %s\n", v, flag);
        return -1;
    }
    *out = x;
    return 0;
}

static int parse_flags(int argc, char **argv, struct flags *f)
{
    memset(f, 0, sizeof(*f));
    f->secure_port = CS_SERVER_DEFAULT_PORT;
    f->leader_elect = -1;
    f->qps = -1;
    f->burst = -1;
    for (int i = 1; i < argc; i++) {
        struct cs_flag fl;
        int kind = cs_flag_parse("cosched", argv[i], &fl);
        if (kind == 0) {
            usage(stdout);
            exit(0);
        }
        if (kind < 0) {
            return -1;
        }
        const char *a = fl.arg, *key = fl.key;
        static const char *const known[] = {
            "kubeconfig", "config", "master", "v", "leader-elect", "bind-address", "secure-port",
            "tls-cert-file", "tls-private-key-file", "kube-api-qps", "kube-api-burst",
            "kube-api-content-type",
            "batch-size", "session-actions", "seed", "leader-elect-lease-duration", "leader-elect-renew-deadline",
            "leader-elect-retry-period", "leader-elect-resource-name",
            "leader-elect-resource-namespace", "leader-elect-resource-lock", "logging-format",
            NULL,
        };
        int ignored = -1;
        for (size_t k = 0; k < sizeof(ignored_flags) / sizeof(ignored_flags[0]); k++) {
            if (strcmp(ignored_flags[k].name, key) == 0) {
                ignored = (int)k;
            }
        }
        if (ignored >= 0) {
            if (!ignored_flags[ignored].boolean &&
                cs_flag_take_value("cosched", argc, argv, &i, &fl) != 0) {
                return -1;
            }
            CS_WARN_S("Flag accepted for kube-scheduler compatibility but not acted on",
                      CS_KV("flag", key));
            continue;
        }
        if (!cs_flag_listed(known, key)) {
            fprintf(stderr, "cosched: unknown flag: %s\n", a);
            usage(stderr);
            return -1;
        }
        bool is_bool = strcmp(key, "leader-elect") == 0;
        if (!is_bool && cs_flag_take_value("cosched", argc, argv, &i, &fl) != 0) {
            return -1;
        }
        const char *val = fl.val;
        long n;
        if (strcmp(key, "kubeconfig") == 0) {
            f->kubeconfig = val;
        } else if (strcmp(key, "config") == 0) {
            f->config = val;
        } else if (strcmp(key, "master") == 0) {
            f->master = val;
        } else if (strcmp(key, "v") == 0) {
            if (parse_long("-v", val, 0, 10, &n)) {
                return -1;
            }
            f->verbosity = (int)n;
        } else if (is_bool) {
            if (val == NULL) {
                f->leader_elect = 1;
            } else if (parse_bool(val, &f->leader_elect)) {
                fprintf(stderr, "cosched: invalid value \"%s\" for --leader-elect\n", val);
                return -1;
            }
        } else if (strcmp(key, "bind-address") == 0) {
            f->bind_address = val;
        } else if (strcmp(key, "secure-port") == 0) {
            if (parse_long("--secure-port", val, -1, 65535, &n)) {
                return -1;
            }
            f->secure_port = (int)n;
        } else if (strcmp(key, "tls-cert-file") == 0) {
            f->tls_cert = val;
        } else if (strcmp(key, "tls-private-key-file") == 0) {
            f->tls_key = val;
        } else if (strcmp(key, "kube-api-qps") == 0) {
            char *end;
            errno = 0;
            f->qps = strtod(val, &end);
            if (errno || end == val || *end) {
                fprintf(stderr, "cosched: invalid value \"%s\" for --kube-api-qps\n", val);
                return -1;
            }
        } else if (strcmp(key, "kube-api-content-type") == 0) {
            f->content_type = val;
        } else if (strcmp(key, "kube-api-burst") == 0) {
            if (parse_long("--kube-api-burst", val, 1, 1000000000L, &n)) {
                return -1;
            }
            f->burst = (int)n;
        } else if (strcmp(key, "batch-size") == 0) {
            if (parse_long("--batch-size", val, 1, 100000, &n)) {
                return -1;
            }
            f->batch_size = (int)n;
        } else if (strcmp(key, "session-actions") == 0) {
            char aerr[200];
            if (cs_session_parse_actions(val, &f->actions, aerr, sizeof(aerr)) != 0) {
                fprintf(stderr, "cosched: invalid value \"%s\" for --session-actions: %s\n", val,
                        aerr);
                return -1;
            }
        } else if (strcmp(key, "leader-elect-lease-duration") == 0 ||
                   strcmp(key, "leader-elect-renew-deadline") == 0 ||
                   strcmp(key, "leader-elect-retry-period") == 0) {
            char derr[128] = "must be positive";
            int64_t ns = 0;
            if (cs_duration_parse(val, &ns, derr, sizeof(derr)) != 0 || ns <= 0) {
                fprintf(stderr, "cosched: invalid value \"%s\" for --%s: %s\n", val, key,
                        ns > 0 ? derr : (derr[0] ? derr : "must be positive"));
                return -1;
            }
            if (strcmp(key, "leader-elect-lease-duration") == 0) {
                f->le_lease_ns = ns;
            } else if (strcmp(key, "leader-elect-renew-deadline") == 0) {
                f->le_renew_ns = ns;
            } else {
                f->le_retry_ns = ns;
            }
        } else if (strcmp(key, "leader-elect-resource-name") == 0) {
            f->le_name = val;
        } else if (strcmp(key, "leader-elect-resource-namespace") == 0) {
            f->le_namespace = val;
        } else if (strcmp(key, "leader-elect-resource-lock") == 0) {
            if (strcmp(val, "leases") != 0) {
                fprintf(stderr, "cosched: --leader-elect-resource-lock: only \"leases\" is "
                                "supported, got \"%s\"\n", val);
                return -1;
            }
        } else if (strcmp(key, "logging-format") == 0) {
            if (strcmp(val, "text") != 0) {
                fprintf(stderr, "cosched: --logging-format: only \"text\" is supported, got "
                                "\"%s\"\n", val);
                return -1;
            }
        } else if (strcmp(key, "seed") == 0) {
            if (parse_long("--seed", val, 0, 0x7fffffffL, &n)) {
                return -1;
            }
            f->seed = (unsigned long long)n;
        } else {
            fprintf(stderr, "cosched: unknown flag: %s\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

static int implements_cb(void *arg, const char *plugin, enum cs_ext_point ep)
{
    (void)arg;
    return cs_fw_plugin_implements(plugin, ep);
}

static const json_t *args_cb(void *arg, const char *plugin)
{
    return cs_config_plugin_args(arg, plugin);
}

/* percentageOfNodesToScore: cosched scores every node unless the profile or the global
 * configuration sets a value (0 then means kube-scheduler's adaptive percentage). */
static int32_t pct_nodes(const struct cs_config *cfg, const struct cs_config_profile *cp)
{
    if (cp->percentage_of_nodes_to_score == CS_CONFIG_UNSET &&
        cfg->percentage_of_nodes_to_score == CS_CONFIG_UNSET) {
        return -1;
    }
    return cs_config_percentage_of_nodes_to_score(cfg, cp);
}

/* Build one framework profile per configured profile. */
static int build_profiles(struct cs_scheduler *s, const struct cs_config *cfg, char *err,
                          size_t errlen)
{
    size_t nd = cs_registry_default_profile_len;
    struct cs_config_default_plugin *defs = cs_calloc(nd ? nd : 1, sizeof(*defs));
    for (size_t i = 0; i < nd; i++) {
        defs[i].name = cs_registry_default_profile[i].name;
        defs[i].weight = cs_registry_default_profile[i].weight;
    }
    int rc = 0;
    for (size_t p = 0; p < cfg->nprofiles && rc == 0; p++) {
        const struct cs_config_profile *cp = &cfg->profiles[p];
        struct cs_resolved_profile rp;
        memset(&rp, 0, sizeof(rp));
        if (cs_config_resolve(cp, defs, nd, implements_cb, NULL, &rp, err, errlen) != 0) {
            rc = -1;
            break;
        }
        struct cs_fw_entry *pts[CS_EP_COUNT];
        uint32_t npts[CS_EP_COUNT];
        for (int ep = 0; ep < CS_EP_COUNT; ep++) {
            npts[ep] = (uint32_t)rp.n[ep];
            pts[ep] = cs_calloc(rp.n[ep] ? rp.n[ep] : 1, sizeof(**pts));
            for (size_t k = 0; k < rp.n[ep]; k++) {
                pts[ep][k].name = rp.points[ep][k].name;
                pts[ep][k].weight = rp.points[ep][k].weight;
            }
        }
        struct cs_profile prof;
        if (cs_profile_build_fw(&prof, cp->scheduler_name,
                                (const struct cs_fw_entry *const *)pts, npts, args_cb, (void *)cp,
                                pct_nodes(cfg, cp), &s->api, &s->fw, err, errlen) != 0) {
            rc = -1;
        } else {
            cs_scheduler_add_profile(s, &prof);
        }
        for (int ep = 0; ep < CS_EP_COUNT; ep++) {
            cs_free(pts[ep]);
        }
        cs_resolved_profile_free(&rp);
    }
    cs_free(defs);
    return rc;
}

static int readyz(void *arg, struct cs_buf *reason)
{
    struct cs_scheduler *s = arg;
    if (!cs_scheduler_synced(s)) {
        cs_buf_puts(reason, "informers have not synced yet");
        return 1;
    }
    return 0;
}

static void sleep_ms(long ms)
{
    cs_sleep_ns((int64_t)ms * 1000000LL);
}

int main(int argc, char **argv)
{
    struct flags fl;
    if (parse_flags(argc, argv, &fl) != 0) {
        return 1;
    }
    cs_log_set_v(fl.verbosity);
    char err[1024] = "";

    struct cs_config cfg;
    if (fl.config) {
        if (cs_config_load_file(fl.config, &cfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "cosched: %s\n", err);
            return 1;
        }
    } else {
        cs_config_defaults(&cfg);
    }

    /* --leader-elect-* flags override the configuration file, as in kube-scheduler. */
    struct cs_config_leader_election *lec_cfg = &cfg.leader_election;
    if (fl.le_lease_ns) {
        lec_cfg->lease_duration_ms = fl.le_lease_ns / 1000000;
    }
    if (fl.le_renew_ns) {
        lec_cfg->renew_deadline_ms = fl.le_renew_ns / 1000000;
    }
    if (fl.le_retry_ns) {
        lec_cfg->retry_period_ms = fl.le_retry_ns / 1000000;
    }
    if (fl.le_name) {
        cs_free(lec_cfg->resource_name);
        lec_cfg->resource_name = cs_strdup(fl.le_name);
    }
    if (fl.le_namespace) {
        cs_free(lec_cfg->resource_namespace);
        lec_cfg->resource_namespace = cs_strdup(fl.le_namespace);
    }

    struct cs_client_config ccfg;
    cs_client_config_init(&ccfg);
    const char *kubeconfig = fl.kubeconfig;
    if (kubeconfig == NULL && cfg.client_connection.kubeconfig && cfg.client_connection.kubeconfig[0]) {
        kubeconfig = cfg.client_connection.kubeconfig;
    }
    int rc = 1;
    struct cs_metrics_registry *reg = cs_metrics_registry_new();
    cs_metrics_register_process(reg);
    struct cs_scheduler_opts so = {
        .batch_size = fl.batch_size,
        .actions = fl.actions,
        .initial_backoff_ns = cfg.pod_initial_backoff_seconds * 1000000000LL,
        .max_backoff_ns = cfg.pod_max_backoff_seconds * 1000000000LL,
        .seed = fl.seed,
    };
    char identity[300];
    char host[256] = "cosched";
    gethostname(host, sizeof(host) - 1);
    snprintf(identity, sizeof(identity), "%s_%d", host, (int)getpid());
    so.identity = identity;

    /* Profiles are built before any connection, so a bad configuration touches nothing. */
    struct cs_scheduler *s = cs_calloc(1, sizeof(*s));
    cs_scheduler_init(s, NULL, reg, &so);
    if (build_profiles(s, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "cosched: %s\n", err);
        goto out_sched;
    }

    if (kubeconfig) {
        if (cs_kubeconfig_load(kubeconfig, NULL, &ccfg, err, sizeof(err)) != 0) {
            fprintf(stderr, "cosched: %s\n", err);
            goto out_sched;
        }
    } else if (cs_client_config_in_cluster(&ccfg, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "cosched: no --kubeconfig and not in a cluster: %s\n", err);
        goto out_sched;
    }
    if (fl.master) {
        cs_free(ccfg.server);
        ccfg.server = cs_strdup(fl.master);
    }
    /* kube-scheduler's 50/100 would cap binding near 50 pods/s; cosched's default is higher
     * unless the configuration file (clientConnection) or the flags set a value. */
    ccfg.qps = cfg.client_connection.qps_set ? cfg.client_connection.qps : 10000;
    ccfg.burst = cfg.client_connection.burst_set ? cfg.client_connection.burst : 20000;
    if (fl.qps >= 0) {
        ccfg.qps = fl.qps;
    }
    if (fl.burst > 0) {
        ccfg.burst = fl.burst;
    }
    /* Built-in kinds over protobuf unless told otherwise; custom resources are always JSON
     * (the server offers nothing else for them and the Accept header lets it fall back). */
    const char *ctype = fl.content_type ? fl.content_type : cfg.client_connection.content_type;
    if (ctype && *ctype && strcmp(ctype, "application/json") != 0 &&
        strcmp(ctype, CS_CLIENT_PB_MEDIA) != 0) {
        fprintf(stderr, "cosched: unsupported content type \"%s\" (%s or application/json)\n",
                ctype, CS_CLIENT_PB_MEDIA);
        goto out_sched;
    }
    ccfg.content_type = cs_strdup(ctype && *ctype ? ctype : "application/json");

    curl_global_init(CURL_GLOBAL_DEFAULT);
    struct cs_client *bclient = NULL;
    /* Under load both I/O threads read what arrived within 1 ms in one wake: a sleep and a
     * wake are dear on a virtual machine. SchedulingBasic on the real apiserver (2 cores):
     * the bind thread woke ~12600 times for 10000 pods, ~5000 with this; cosched CPU
     * 2.0-2.7 -> 1.9-2.1 s, binds and events no slower (notes of stop 26). */
    ccfg.coalesce_us = 1000;
    struct cs_client *client = cs_client_new(&ccfg, err, sizeof(err));
    if (client == NULL) {
        fprintf(stderr, "cosched: %s\n", err);
        goto out_curl;
    }
    /* A second connection manager for binds and events: its I/O thread completes binds while
     * the first one decodes watch events. */
    bclient = cs_client_new(&ccfg, err, sizeof(err));
    if (bclient == NULL) {
        fprintf(stderr, "cosched: %s\n", err);
        goto out_client;
    }
    cs_scheduler_set_client(s, client, bclient);
    if (cs_client_start(client) != 0 || cs_client_start(bclient) != 0) {
        fprintf(stderr, "cosched: cannot start the client\n");
        goto out_client;
    }

    struct cs_server *srv = NULL;
    if (fl.secure_port >= 0) {
        struct cs_server_config scfg = {
            .bind_address = fl.bind_address,
            .port = fl.secure_port,
            .tls_cert_file = fl.tls_cert,
            .tls_key_file = fl.tls_key,
            .metrics = reg,
        };
        srv = cs_server_new(&scfg);
        cs_server_add_check(srv, "informer-sync", CS_SERVER_READYZ, readyz, s);
        if (cs_server_start(srv, err, sizeof(err)) != 0) {
            fprintf(stderr, "cosched: %s\n", err);
            goto out_server;
        }
    }

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int leader_elect = fl.leader_elect >= 0 ? fl.leader_elect : cfg.leader_election.leader_elect;
    struct cs_le *le = NULL;
    if (leader_elect) {
        cs_scheduler_set_leading(s, false);
        char le_id[300];
        cs_le_default_identity(le_id, sizeof(le_id));
        struct cs_le_config lec = {
            .lease = {
                .namespace_ = cfg.leader_election.resource_namespace,
                .name = cfg.leader_election.resource_name,
                .identity = le_id,
                .lease_duration_ms = cfg.leader_election.lease_duration_ms,
                .renew_deadline_ms = cfg.leader_election.renew_deadline_ms,
                .retry_period_ms = cfg.leader_election.retry_period_ms,
            },
            .request = cs_le_client_request,
            .request_arg = client,
            .cb = { on_started_leading, on_stopped_leading, on_new_leader, s },
            .release_on_cancel = 1,
        };
        le = cs_le_new(&lec, err, sizeof(err));
        if (le == NULL) {
            fprintf(stderr, "cosched: leader election: %s\n", err);
            goto out_server;
        }
        if (srv) {
            cs_server_add_check(srv, "leaderElection", CS_SERVER_HEALTHZ, cs_le_check, le);
        }
    }
    if (cs_scheduler_start(s, err, sizeof(err)) != 0) {
        fprintf(stderr, "cosched: %s\n", err);
        goto out_server;
    }
    if (le && cs_le_start(le) != 0) {
        fprintf(stderr, "cosched: cannot start leader election\n");
        goto out_le;
    }
    CS_INFO_S("Scheduler started", CS_KV("server", ccfg.server), CS_KVI("profiles", s->n_profiles),
              CS_KVI("healthPort", srv ? cs_server_port(srv) : -1),
              CS_KVI("leaderElection", le != NULL));
    while (!got_signal && !lost_lease) {
        sleep_ms(100);
    }
    if (got_signal) {
        CS_INFO_S("Received signal, stopping", CS_KVI("signal", got_signal));
    }
    cs_scheduler_set_leading(s, false);
    cs_scheduler_stop(s, 10LL * 1000000000LL);
    if (le) {
        cs_le_stop(le);
    }
    CS_INFO_S("Stopped", CS_KVI("scheduled", atomic_load(&s->scheduled)),
              CS_KVI("bound", atomic_load(&s->bound)),
              CS_KVI("bindFailed", atomic_load(&s->bind_failed)),
              CS_KVI("unschedulable", atomic_load(&s->unschedulable)));
    rc = lost_lease ? 1 : 0;
out_le:
    cs_le_free(le);
out_server:
    cs_server_free(srv);
    cs_client_stop(bclient);
    cs_client_stop(client);
out_client:
    cs_scheduler_destroy(s);
    cs_free(s);
    s = NULL;
    cs_client_free(bclient);
    cs_client_free(client);
out_curl:
    curl_global_cleanup();
out_sched:
    if (s) {
        cs_scheduler_destroy(s);
        cs_free(s);
    }
    cs_client_config_free(&ccfg);
    cs_config_free(&cfg);
    cs_metrics_registry_free(reg);
    return rc;
}
