/*
 * schedbench: scheduler-only decision rate. Builds SchedulingBasic's snapshot in memory
 * (N nodes of 4 cpu / 32Gi / 110 pods, E existing pods spread round-robin), then schedules P
 * pods of 100m / 500Mi through the default profile, placing each on the snapshot as a session
 * would (binds discarded). Prints decisions per second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decode.h"
#include "pkg/config/config.h"
#include "pkg/config/resolve.h"
#include "pkg/framework/framework.h"
#include "pkg/framework/snapshot.h"
#include "pkg/framework/statement.h"
#include "pkg/util/alloc.h"
#include "pkg/util/intern.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"
#include "plugins/registry.h"

static long arg_long(int argc, char **argv, const char *name, long def)
{
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            char *end;
            long v = strtol(argv[i + 1], &end, 10);
            if (*end == '\0' && v >= 0) {
                return v;
            }
            fprintf(stderr, "schedbench: bad value for %s\n", name);
            exit(2);
        }
    }
    return def;
}

static int implements_cb(void *arg, const char *plugin, enum cs_ext_point ep)
{
    (void)arg;
    return cs_fw_plugin_implements(plugin, ep);
}

static struct cs_pod *make_pod(struct cs_api_ctx *api, const char *name)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\"},"
             "\"spec\":{\"schedulerName\":\"ack-co-scheduler\",\"containers\":[{\"name\":\"c\","
             "\"image\":\"registry.k8s.io/pause:3.9\",\"resources\":{\"requests\":{\"cpu\":\"100m\","
             "\"memory\":\"500Mi\"},\"limits\":{\"cpu\":\"100m\",\"memory\":\"500Mi\"}}}]}}",
             name, name);
    char err[256];
    struct cs_pod *p = NULL;
    if (cs_pod_decode_text(api, buf, strlen(buf), &p, err, sizeof(err)) != 0) {
        fprintf(stderr, "schedbench: %s\n", err);
        exit(1);
    }
    return p;
}

int main(int argc, char **argv)
{
    long n_nodes = arg_long(argc, argv, "--nodes", 5000);
    long n_existing = arg_long(argc, argv, "--existing", 1000);
    long n_pods = arg_long(argc, argv, "--pods", 10000);
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    char err[512];

    struct cs_snapshot snap;
    cs_snapshot_init(&snap);
    struct cs_node_info tmp;
    for (long i = 0; i < n_nodes; i++) {
        char buf[768];
        snprintf(buf, sizeof(buf),
                 "{\"metadata\":{\"name\":\"node-%ld\",\"labels\":{\"kubernetes.io/hostname\":"
                 "\"node-%ld\"}},\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"32Gi\","
                 "\"pods\":\"110\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
                 i, i);
        struct cs_node *n = NULL;
        if (cs_node_decode_text(&api, buf, strlen(buf), &n, err, sizeof(err)) != 0) {
            fprintf(stderr, "schedbench: %s\n", err);
            return 1;
        }
        cs_node_info_init(&tmp, n->name);
        cs_node_info_set_node(&tmp, n);
        cs_node_unref(n);
        cs_snapshot_upsert(&snap, &tmp);
        cs_node_info_destroy(&tmp);
    }
    struct cs_pod *existing = make_pod(&api, "existing");
    for (long i = 0; i < n_existing && n_nodes > 0; i++) {
        cs_node_info_add_pod(cs_snapshot_node_at(&snap, (uint32_t)(i % n_nodes)), existing);
    }

    struct cs_config cfg;
    cs_config_defaults(&cfg);
    size_t nd = cs_registry_default_profile_len;
    struct cs_config_default_plugin *defs = cs_calloc(nd, sizeof(*defs));
    for (size_t i = 0; i < nd; i++) {
        defs[i].name = cs_registry_default_profile[i].name;
        defs[i].weight = cs_registry_default_profile[i].weight;
    }
    struct cs_resolved_profile rp;
    memset(&rp, 0, sizeof(rp));
    if (cs_config_resolve(&cfg.profiles[0], defs, nd, implements_cb, NULL, &rp, err, sizeof(err))) {
        fprintf(stderr, "schedbench: %s\n", err);
        return 1;
    }
    struct cs_fw_entry *pts[CS_EP_COUNT];
    uint32_t npts[CS_EP_COUNT];
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        npts[ep] = (uint32_t)rp.n[ep];
        pts[ep] = cs_calloc(rp.n[ep] + 1, sizeof(**pts));
        for (size_t k = 0; k < rp.n[ep]; k++) {
            pts[ep][k].name = rp.points[ep][k].name;
            pts[ep][k].weight = rp.points[ep][k].weight;
        }
    }
    struct cs_profile prof;
    if (cs_profile_build(&prof, "ack-co-scheduler", (const struct cs_fw_entry *const *)pts, npts,
                         NULL, NULL, -1, &api, err, sizeof(err)) != 0) {
        fprintf(stderr, "schedbench: %s\n", err);
        return 1;
    }
    struct cs_cycle cyc;
    cs_cycle_init(&cyc, &api, 42);
    cyc.snap = &snap;
    struct cs_statement st;
    cs_stmt_init(&st);
    struct cs_pod *pod = make_pod(&api, "measured");
    long ok = 0, failed = 0;
    int64_t t0 = cs_mono_ns();
    for (long i = 0; i < n_pods; i++) {
        struct cs_sched_result res;
        cs_fw_schedule_pod(&prof, &cyc, pod, &res);
        if (res.code == CS_SUCCESS) {
            struct cs_status est = { 0 };
            cs_stmt_allocate(&st, &snap, res.att, pod, res.node, NULL, &est);
            cs_stmt_clear(&st);
            ok++;
        } else {
            failed++;
        }
        cs_cycle_reset(&cyc);
        cs_cycle_release(&cyc);
    }
    double secs = (double)(cs_mono_ns() - t0) / 1e9;
    fprintf(stderr, "eqcache: hits=%llu recomputed=%llu\n", (unsigned long long)cyc.eq.hits,
            (unsigned long long)cyc.eq.recomputed);
    printf("scheduler-only: nodes=%ld existing=%ld pods=%ld scheduled=%ld failed=%ld seconds=%.3f "
           "decisions_per_sec=%.0f\n",
           n_nodes, n_existing, n_pods, ok, failed, secs, (double)n_pods / secs);
    cs_stmt_destroy(&st);
    cs_cycle_destroy(&cyc);
    cs_profile_destroy(&prof);
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        cs_free(pts[ep]);
    }
    cs_resolved_profile_free(&rp);
    cs_free(defs);
    cs_config_free(&cfg);
    cs_pod_unref(pod);
    cs_pod_unref(existing);
    cs_snapshot_destroy(&snap);
    cs_api_ctx_destroy(&api);
    return 0;
}
