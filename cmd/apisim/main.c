/*
 * apisim: a Kubernetes API server simulator for cosched's tests, benchmarks and demo.
 *
 *   apisim --listen 127.0.0.1:PORT --kubeconfig-out FILE [--cluster FILE] [--seed N] [--tls]
 *          [--token T] [--history N] [-v=N] [simulation flags, see --help]
 *
 * Prints exactly one line `apisim: serving on http(s)://127.0.0.1:PORT` on stdout when ready
 * and runs until SIGTERM/SIGINT, then exits 0.
 */
#include <pthread.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/mman.h>

#include "pkg/apisim/load.h"
#include "pkg/apisim/server.h"
#include "pkg/apisim/sim.h"
#include "pkg/apisim/store.h"
#include "pkg/util/log.h"

struct opts {
    char host[64];
    int port;
    const char *kubeconfig;
    const char *cluster[16];
    int ncluster;
    unsigned long long seed;
    int tls;
    const char *token;
    unsigned long long history;
};

/*
 * Transparent huge pages for the heap. Every write publishes a new object version and the
 * history ring keeps old ones, so the heap grows steadily while binds stream in; with 4 KiB
 * pages the first touch of each page costs a (paravirtualised, expensive) page fault, which
 * profiles showed as the biggest single cost of a bind. The system's THP mode is `madvise`,
 * so advise the brk heap (all allocations live there: one arena, no mmap threshold) whenever
 * it has grown. This is what glibc's glibc.malloc.hugetlb=1 tunable does, without having to
 * set the environment before start. Runs as a store write hook (store lock held).
 */
static uintptr_t heap_advised;

/*
 * The optimised build links jemalloc (Makefile FAST_MALLOC); it reads this symbol at start
 * (MALLOC_CONF in the environment still applies on top). thp:always advises its extents for
 * transparent huge pages, for the same reason as heap_thp_advise below (which only matters
 * when apisim runs on glibc malloc): measured 8,000 -> 11,000+ binds per apisim CPU-second.
 */
const char *malloc_conf = "thp:always,metadata_thp:auto";

static void heap_thp_advise(void)
{
    uintptr_t cur = (uintptr_t)sbrk(0), page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (cur == (uintptr_t)-1 || cur <= heap_advised + (2u << 20))
        return;
    uintptr_t from = heap_advised & ~(page - 1), to = cur & ~(page - 1);
    if (to > from)
        (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
    heap_advised = cur;
}

static void heap_thp_hook(void *arg, struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                          int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv)
{
    (void)arg;
    (void)s;
    (void)rt;
    (void)type;
    (void)old_obj;
    (void)new_obj;
    (void)rv;
    heap_thp_advise();
}

static void usage(FILE *f)
{
    fprintf(f, "usage: apisim --listen HOST:PORT [--kubeconfig-out FILE] [--cluster FILE]...\n"
               "              [--seed N] [--tls] [--token T] [--history N] [-v=N]\n"
               "  --listen HOST:PORT     address to serve on (port 0 picks a free port)\n"
               "  --kubeconfig-out FILE  write a kubeconfig for this server\n"
               "  --cluster FILE         load objects (JSON/YAML List, array or stream)\n"
               "  --seed N               seed for uids, generated names and faults\n"
               "  --tls                  serve HTTPS with a generated CA\n"
               "  --token T              require `Authorization: Bearer T`\n"
               "  --history N            watch history window in events (default 100000)\n"
               "  -v=N                   log verbosity\n");
}

static int parse_ull(const char *flag, const char *v, unsigned long long *out)
{
    char *end;
    if (!v || !v[0] || v[0] == '-')
        goto bad;
    *out = strtoull(v, &end, 10);
    if (*end)
        goto bad;
    return 0;
bad:
    CS_ERROR_S("invalid value", "bad flag value", CS_KV("flag", flag), CS_KV("value", v ? v : ""));
    return -1;
}

/* Value of `--flag value` or `--flag=value`; advances *i for the separate form. */
static const char *flag_value(const char *name, int argc, char **argv, int *i)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int parse_args(struct opts *o, struct cs_apisim_sim_opts *so, int argc, char **argv)
{
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            cs_apisim_sim_usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--tls")) {
            o->tls = 1;
        } else if (!strncmp(a, "-v=", 3) || !strncmp(a, "--v=", 4)) {
            unsigned long long lv;
            if (parse_ull("-v", strchr(a, '=') + 1, &lv))
                return -1;
            cs_log_set_v((int)lv);
        } else if ((v = flag_value("--listen", argc, argv, &i))) {
            const char *colon = strrchr(v, ':');
            unsigned long long p;
            if (!colon || (size_t)(colon - v) >= sizeof(o->host) ||
                parse_ull("--listen", colon + 1, &p) || p > 65535) {
                CS_ERROR_S("invalid value", "--listen wants HOST:PORT", CS_KV("value", v));
                return -1;
            }
            snprintf(o->host, sizeof(o->host), "%.*s", (int)(colon - v), v);
            o->port = (int)p;
        } else if ((v = flag_value("--kubeconfig-out", argc, argv, &i))) {
            o->kubeconfig = v;
        } else if ((v = flag_value("--cluster", argc, argv, &i))) {
            if (o->ncluster >= 16) {
                CS_ERROR_S("too many", "at most 16 --cluster files");
                return -1;
            }
            o->cluster[o->ncluster++] = v;
        } else if ((v = flag_value("--seed", argc, argv, &i))) {
            if (parse_ull("--seed", v, &o->seed))
                return -1;
            so->seed = o->seed;
        } else if ((v = flag_value("--token", argc, argv, &i))) {
            o->token = v;
        } else if ((v = flag_value("--history", argc, argv, &i))) {
            if (parse_ull("--history", v, &o->history))
                return -1;
        } else {
            /* ---- simulation flags (pkg/apisim/sim.h) ---- */
            int r = cs_apisim_sim_parse_flag(so, argc, argv, &i);
            if (r < 0)
                return -1;
            if (r == 0) {
                CS_ERROR_S("unknown flag", "unknown flag", CS_KV("flag", a));
                usage(stderr);
                return -1;
            }
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = { .host = "127.0.0.1", .seed = 1, .history = 100000 };
    struct cs_apisim_sim_opts so;
    struct cs_apisim_store *store = NULL;
    struct cs_apisim_server *sv = NULL;
    struct cs_apisim_sim *sim = NULL;
    char err[512];
    int rc = 1;
    sigset_t sigs;

    /* block the stop signals in every thread; main waits for them with sigwait */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* keep freed heap around: the request path allocates and frees the same sizes at a
     * high rate, and returning memory to the kernel each time costs page faults */
    mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
    mallopt(M_TOP_PAD, 64 * 1024 * 1024);
    mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024);
    /* one arena: the HTTP thread and the simulation thread allocate and free each other's
     * object versions; with per-thread arenas every thread keeps growing (page faults) instead
     * of reusing what the other one freed */
    mallopt(M_ARENA_MAX, 1);
    cs_apisim_sim_opts_init(&so);
    if (parse_args(&o, &so, argc, argv)) {
        rc = 2;
        goto done;
    }
    heap_advised = (uintptr_t)sbrk(0);
    store = cs_apisim_store_new((size_t)o.history, o.seed);
    cs_apisim_store_lock(store);
    cs_apisim_store_add_hook(store, heap_thp_hook, NULL);
    cs_apisim_store_unlock(store);
    cs_apisim_server_prepare_store(store);
    for (int i = 0; i < o.ncluster; i++) {
        int n = cs_apisim_load_file(store, o.cluster[i], err, sizeof(err));
        if (n < 0) {
            CS_ERROR_S(err, "cannot load cluster file", CS_KV("file", o.cluster[i]));
            goto done;
        }
        CS_INFO_S("loaded cluster file", CS_KV("file", o.cluster[i]), CS_KVI("objects", n));
    }
    struct cs_apisim_server_opts sopt = { .host = o.host, .port = o.port, .tls = o.tls,
                                          .token = o.token };
    sv = cs_apisim_server_start(store, &sopt, err, sizeof(err));
    if (!sv) {
        CS_ERROR_S(err, "cannot start server");
        goto done;
    }
    /* ---- simulation (pkg/apisim/sim.h): generated objects, controllers, faults ---- */
    if (cs_apisim_sim_start(&so, store, &sim) < 0)
        goto done;
    cs_apisim_server_set_sim(sv, sim);
    if (o.kubeconfig && cs_apisim_server_write_kubeconfig(sv, o.kubeconfig, err, sizeof(err))) {
        CS_ERROR_S(err, "cannot write kubeconfig");
        goto done;
    }
    printf("apisim: serving on %s://127.0.0.1:%d\n", o.tls ? "https" : "http",
           cs_apisim_server_port(sv));
    fflush(stdout);
    int sig = 0;
    sigwait(&sigs, &sig);
    CS_INFO_S("shutting down", CS_KVI("signal", sig));
    rc = 0;
done:
    if (sv)
        cs_apisim_server_set_sim(sv, NULL);
    cs_apisim_sim_stop(sim);
    cs_apisim_server_stop(sv);
    cs_apisim_store_free(store);
    cs_apisim_sim_opts_free(&so);
    return rc;
}
