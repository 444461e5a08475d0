/*
 * Specification of the scheduler cache (pkg/cache): nodes, assigned and assumed pods, the
 * placeholder a deleted node leaves behind while pods still count on it, and the incremental
 * snapshot refresh (only nodes whose generation moved are copied; the result always equals the
 * cache, checked against a model over random operation sequences).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/decode.h"
#include "api/placed.h"
#include "pkg/cache/cache.h"
#include "pkg/framework/snapshot.h"
#include "pkg/util/log.h"

#define GI (1024LL * 1024 * 1024)
#define MI (1024LL * 1024)

struct env {
    struct cs_api_ctx api;
    struct cs_cache cache;
    struct cs_snapshot snap;
};

static struct env *env_new(void)
{
    struct env *e = test_calloc(1, sizeof(*e));
    cs_api_ctx_init(&e->api);
    cs_cache_init(&e->cache);
    cs_snapshot_init(&e->snap);
    return e;
}

static void env_free(struct env *e)
{
    cs_snapshot_destroy(&e->snap);
    cs_cache_destroy(&e->cache);
    cs_api_ctx_destroy(&e->api);
    test_free(e);
}

static struct cs_node *mknode(struct env *e, const char *name, int cpu_milli, long long mem)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\"},\"status\":{\"allocatable\":{\"cpu\":\"%dm\","
             "\"memory\":\"%lld\",\"pods\":\"110\"}}}",
             name, cpu_milli, mem);
    struct cs_node *n = NULL;
    char err[256] = "";
    int rc = cs_node_decode_text(&e->api, buf, strlen(buf), &n, err, sizeof(err));
    if (rc != 0) {
        print_error("node decode: %s\n", err);
    }
    assert_int_equal(rc, 0);
    return n;
}

/* A pod "default/<name>" requesting cpu (millicores) and memory (bytes); node may be NULL
 * (pending); host_port 0 means no host port. */
static struct cs_pod *mkpod(struct env *e, const char *name, const char *node, int cpu_milli,
                            long long mem, int host_port)
{
    char nodef[128] = "";
    char ports[128] = "";
    if (node) {
        snprintf(nodef, sizeof(nodef), "\"nodeName\":\"%s\",", node);
    }
    if (host_port) {
        snprintf(ports, sizeof(ports), ",\"ports\":[{\"containerPort\":80,\"hostPort\":%d}]",
                 host_port);
    }
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"default\",\"uid\":\"u-%s\"},"
             "\"spec\":{%s\"containers\":[{\"name\":\"c\",\"image\":\"img\",\"resources\":"
             "{\"requests\":{\"cpu\":\"%dm\",\"memory\":\"%lld\"}}%s}]}}",
             name, name, nodef, cpu_milli, mem, ports);
    struct cs_pod *p = NULL;
    char err[256] = "";
    int rc = cs_pod_decode_text(&e->api, buf, strlen(buf), &p, err, sizeof(err));
    if (rc != 0) {
        print_error("pod decode: %s\n", err);
    }
    assert_int_equal(rc, 0);
    return p;
}

static void add_node(struct env *e, const char *name, int cpu_milli, long long mem)
{
    struct cs_node *n = mknode(e, name, cpu_milli, mem);
    cs_cache_upsert_node(&e->cache, n);
    cs_node_unref(n);
}

static void add_assigned(struct env *e, const char *name, const char *node, int cpu_milli,
                         long long mem, int host_port)
{
    struct cs_pod *p = mkpod(e, name, node, cpu_milli, mem, host_port);
    cs_cache_upsert_pod(&e->cache, p);
    cs_pod_unref(p);
}

static int assume(struct env *e, const char *name, const char *node, int cpu_milli, long long mem)
{
    struct cs_pod *p = mkpod(e, name, NULL, cpu_milli, mem, 0);
    int rc = cs_cache_assume_pod(&e->cache, p, node);
    cs_pod_unref(p);
    return rc;
}

/* The cache's own node info (NULL when the cache has no entry for the name). */
static const struct cs_node_info *cinfo(struct env *e, const char *name)
{
    struct cs_cache_node *cn = cs_map_get(&e->cache.nodes, name);
    return cn ? &cn->info : NULL;
}

static void assert_usage(const struct cs_node_info *ni, int64_t cpu, int64_t mem, uint32_t pods)
{
    assert_non_null(ni);
    assert_int_equal(ni->requested.v[CS_RES_CPU], cpu);
    assert_int_equal(ni->requested.v[CS_RES_MEMORY], mem);
    assert_int_equal(ni->requested.v[CS_RES_PODS], pods);
    assert_int_equal(ni->n_pods, pods);
}

/* Upserting a node makes it count and show up in the snapshot with its allocatable; a newer
 * version replaces it; removing it drops it from both. */
static void test_cache_node_add_update_remove(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_cache_stats st;

    add_node(e, "n1", 4000, 8 * GI);
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.nodes, 1);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 1);
    const struct cs_node_info *sn = cs_snapshot_node(&e->snap, "n1");
    assert_non_null(sn);
    assert_non_null(sn->node);
    assert_int_equal(sn->allocatable.v[CS_RES_CPU], 4000);
    assert_int_equal(sn->allocatable.v[CS_RES_MEMORY], 8 * GI);

    add_node(e, "n1", 8000, 16 * GI);
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.nodes, 1);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 1);
    sn = cs_snapshot_node(&e->snap, "n1");
    assert_int_equal(sn->allocatable.v[CS_RES_CPU], 8000);
    assert_int_equal(sn->allocatable.v[CS_RES_MEMORY], 16 * GI);

    cs_cache_remove_node(&e->cache, "n1");
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.nodes, 0);
    assert_null(cinfo(e, "n1"));
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 0);
    assert_null(cs_snapshot_node(&e->snap, "n1"));
    env_free(e);
}

/* A pod the API server reports assigned counts on its node: requests, pod count and host
 * ports. */
static void test_cache_assigned_pod_counts_on_its_node(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_node(e, "n2", 4000, 8 * GI);
    add_assigned(e, "p1", "n1", 250, 100 * MI, 8080);

    assert_usage(cinfo(e, "n1"), 250, 100 * MI, 1);
    assert_int_equal(cinfo(e, "n1")->n_ports, 1);
    assert_int_equal(cinfo(e, "n1")->ports[0].port, 8080);
    assert_usage(cinfo(e, "n2"), 0, 0, 0);
    assert_string_equal(cs_cache_pod_node(&e->cache, "default/p1"), "n1");
    assert_false(cs_cache_is_assumed(&e->cache, "default/p1"));

    cs_cache_update_snapshot(&e->cache, &e->snap);
    const struct cs_node_info *sn = cs_snapshot_node(&e->snap, "n1");
    assert_usage(sn, 250, 100 * MI, 1);
    assert_int_equal(sn->n_ports, 1);
    struct cs_port want = {.host_port = 8080, .protocol = CS_PROTO_TCP};
    assert_int_equal(cs_node_info_port_free(sn, &want), 0);

    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 1);
    assert_int_equal(st.assumed, 0);
    env_free(e);
}

/* A newer version of an assigned pod replaces the old one's usage (never counted twice). */
static void test_cache_pod_update_replaces_old_usage(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_assigned(e, "p1", "n1", 100, 10 * MI, 8080);
    add_assigned(e, "p1", "n1", 300, 30 * MI, 9090);

    const struct cs_node_info *ni = cinfo(e, "n1");
    assert_usage(ni, 300, 30 * MI, 1);
    assert_int_equal(ni->n_ports, 1);
    assert_int_equal(ni->ports[0].port, 9090);
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 1);

    cs_cache_remove_pod(&e->cache, "default/p1");
    assert_usage(cinfo(e, "n1"), 0, 0, 0);
    assert_int_equal(cinfo(e, "n1")->n_ports, 0);
    env_free(e);
}

/* Assume counts the pod on the chosen node at once; assuming the same pod again is refused
 * (-1) and changes nothing. */
static void test_cache_assume_counts_and_twice_fails(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_node(e, "n2", 4000, 8 * GI);

    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), 0);
    assert_true(cs_cache_is_assumed(&e->cache, "default/p1"));
    assert_string_equal(cs_cache_pod_node(&e->cache, "default/p1"), "n1");
    assert_usage(cinfo(e, "n1"), 500, 64 * MI, 1);

    assert_int_equal(assume(e, "p1", "n2", 500, 64 * MI), -1);
    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), -1);
    assert_usage(cinfo(e, "n1"), 500, 64 * MI, 1);
    assert_usage(cinfo(e, "n2"), 0, 0, 0);

    /* A pod already reported assigned cannot be assumed either. */
    add_assigned(e, "p2", "n2", 100, MI, 0);
    assert_int_equal(assume(e, "p2", "n1", 100, MI), -1);
    assert_usage(cinfo(e, "n1"), 500, 64 * MI, 1);

    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 2);
    assert_int_equal(st.assumed, 1);
    env_free(e);
}

/* Forgetting an assumed pod (its bind failed) removes its usage; a confirmed pod is never
 * forgotten (-1, nothing changes). */
static void test_cache_forget(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), 0);
    cs_cache_finish_binding(&e->cache, "default/p1");
    assert_int_equal(cs_cache_forget_pod(&e->cache, "default/p1"), 0);
    assert_usage(cinfo(e, "n1"), 0, 0, 0);
    assert_false(cs_cache_is_assumed(&e->cache, "default/p1"));
    assert_null(cs_cache_pod_node(&e->cache, "default/p1"));
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 0);
    assert_int_equal(st.assumed, 0);

    add_assigned(e, "p2", "n1", 200, 32 * MI, 0);
    assert_int_equal(cs_cache_forget_pod(&e->cache, "default/p2"), -1);
    assert_usage(cinfo(e, "n1"), 200, 32 * MI, 1);
    assert_string_equal(cs_cache_pod_node(&e->cache, "default/p2"), "n1");

    /* Unknown keys are not assumed either. */
    assert_int_equal(cs_cache_forget_pod(&e->cache, "default/nope"), -1);
    env_free(e);
}

/* The informer reporting an assumed pod assigned to the same node confirms it: still counted
 * once, no longer assumed, and no longer forgettable. */
static void test_cache_confirm_same_node(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), 0);
    cs_cache_finish_binding(&e->cache, "default/p1");
    add_assigned(e, "p1", "n1", 500, 64 * MI, 0);

    assert_false(cs_cache_is_assumed(&e->cache, "default/p1"));
    assert_usage(cinfo(e, "n1"), 500, 64 * MI, 1);
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 1);
    assert_int_equal(st.assumed, 0);
    assert_int_equal(cs_cache_forget_pod(&e->cache, "default/p1"), -1);
    assert_usage(cinfo(e, "n1"), 500, 64 * MI, 1);
    env_free(e);
}

/* When the server placed the assumed pod elsewhere, the usage moves to the reported node (and
 * the mismatch is logged as a warning). */
static void test_cache_confirm_other_node_moves_usage(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_node(e, "n2", 4000, 8 * GI);
    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), 0);
    FILE *logf = tmpfile();
    assert_non_null(logf);
    cs_log_set_stream(logf);
    add_assigned(e, "p1", "n2", 500, 64 * MI, 0);
    cs_log_set_stream(NULL);
    char line[512] = "";
    rewind(logf);
    assert_non_null(fgets(line, sizeof(line), logf));
    fclose(logf);
    assert_non_null(strstr(line, "assumed on a different node"));
    assert_non_null(strstr(line, "assumedNode=\"n1\""));
    assert_non_null(strstr(line, "currentNode=\"n2\""));

    assert_false(cs_cache_is_assumed(&e->cache, "default/p1"));
    assert_string_equal(cs_cache_pod_node(&e->cache, "default/p1"), "n2");
    assert_usage(cinfo(e, "n1"), 0, 0, 0);
    assert_usage(cinfo(e, "n2"), 500, 64 * MI, 1);

    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_usage(cs_snapshot_node(&e->snap, "n1"), 0, 0, 0);
    assert_usage(cs_snapshot_node(&e->snap, "n2"), 500, 64 * MI, 1);
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.assumed, 0);
    env_free(e);
}

/* Removing an assumed pod (deleted before the watch confirmed it) drops its usage and the
 * assumed count. */
static void test_cache_remove_assumed_pod(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), 0);
    cs_cache_remove_pod(&e->cache, "default/p1");
    assert_usage(cinfo(e, "n1"), 0, 0, 0);
    assert_false(cs_cache_is_assumed(&e->cache, "default/p1"));
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 0);
    assert_int_equal(st.assumed, 0);
    /* Removing an unknown pod is a no-op. */
    cs_cache_remove_pod(&e->cache, "default/p1");
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.pods, 0);
    env_free(e);
}

/* The watch event confirming our own bind is applied in place: only an assumed pod of the same
 * uid on the same node is confirmed (usage unchanged, no longer assumed); anything else is
 * refused so the caller decodes and upserts the server's version. */
static void test_cache_confirm_assumed_in_place(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_node(e, "n2", 4000, 8 * GI);
    assert_int_equal(assume(e, "p1", "n1", 500, 64 * MI), 0);
    assert_false(cs_cache_confirm_assumed(&e->cache, "default/p1", "u-other", "n1"));
    assert_false(cs_cache_confirm_assumed(&e->cache, "default/p1", "u-p1", "n2"));
    assert_false(cs_cache_confirm_assumed(&e->cache, "default/nope", "u-nope", "n1"));
    assert_true(cs_cache_is_assumed(&e->cache, "default/p1"));
    assert_true(cs_cache_confirm_assumed(&e->cache, "default/p1", "u-p1", "n1"));
    assert_false(cs_cache_is_assumed(&e->cache, "default/p1"));
    assert_usage(cinfo(e, "n1"), 500, 64 * MI, 1);
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.assumed, 0);
    assert_int_equal(st.pods, 1);
    /* confirmed pods are never forgotten, and a second confirmation is refused */
    assert_int_equal(cs_cache_forget_pod(&e->cache, "default/p1"), -1);
    assert_false(cs_cache_confirm_assumed(&e->cache, "default/p1", "u-p1", "n1"));
    env_free(e);
}

/* A node deleted while pods still count on it stays as a placeholder (no Node object, not in
 * the snapshot's node list) until its last pod goes. */
static void test_cache_deleted_node_placeholder_until_last_pod(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_node(e, "n2", 4000, 8 * GI);
    add_assigned(e, "p1", "n1", 100, MI, 0);
    assert_int_equal(assume(e, "p2", "n1", 200, 2 * MI), 0);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 2);

    cs_cache_remove_node(&e->cache, "n1");
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.nodes, 1);
    const struct cs_node_info *ph = cinfo(e, "n1");
    assert_non_null(ph);
    assert_null(ph->node);
    assert_usage(ph, 300, 3 * MI, 2);

    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 1);
    assert_string_equal(cs_snapshot_node_at(&e->snap, 0)->name, "n2");
    const struct cs_node_info *sph = cs_snapshot_node(&e->snap, "n1");
    assert_non_null(sph);
    assert_null(sph->node);
    assert_usage(sph, 300, 3 * MI, 2);

    cs_cache_remove_pod(&e->cache, "default/p1");
    assert_non_null(cinfo(e, "n1"));
    assert_int_equal(cs_cache_forget_pod(&e->cache, "default/p2"), 0);
    assert_null(cinfo(e, "n1"));
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_null(cs_snapshot_node(&e->snap, "n1"));
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 1);
    env_free(e);
}

/* A node that comes back while its placeholder still exists gets its pods' usage back. */
static void test_cache_node_readded_over_placeholder(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_assigned(e, "p1", "n1", 100, MI, 0);
    cs_cache_remove_node(&e->cache, "n1");
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 0);

    add_node(e, "n1", 2000, 4 * GI);
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.nodes, 1);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 1);
    const struct cs_node_info *sn = cs_snapshot_node(&e->snap, "n1");
    assert_non_null(sn->node);
    assert_int_equal(sn->allocatable.v[CS_RES_CPU], 2000);
    assert_usage(sn, 100, MI, 1);
    env_free(e);
}

/* Pods can be reported on a node the cache has not seen yet: they count on a placeholder that
 * becomes a real node when the Node arrives. */
static void test_cache_pod_before_node(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_assigned(e, "p1", "late", 100, MI, 0);
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    assert_int_equal(st.nodes, 0);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 0);
    add_node(e, "late", 1000, GI);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 1);
    assert_usage(cs_snapshot_node(&e->snap, "late"), 100, MI, 1);
    env_free(e);
}

/* Refresh copies only the nodes that changed since the last one: an unchanged node keeps its
 * snapshot info (same pointer, same version) while a changed one gets a higher version and the
 * new contents; a deleted node leaves the snapshot. */
static void test_cache_snapshot_refresh_is_incremental(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "a", 4000, 8 * GI);
    add_node(e, "b", 4000, 8 * GI);
    add_node(e, "c", 4000, 8 * GI);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 3);
    struct cs_node_info *a0 = cs_snapshot_get(&e->snap, "a");
    struct cs_node_info *b0 = cs_snapshot_get(&e->snap, "b");
    struct cs_node_info *c0 = cs_snapshot_get(&e->snap, "c");
    uint64_t va = a0->generation, vb = b0->generation, vc = c0->generation;
    uint64_t epoch = e->snap.epoch;

    /* Nothing changed: a refresh copies nothing. */
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(a0->generation, va);
    assert_int_equal(b0->generation, vb);
    assert_int_equal(c0->generation, vc);

    add_assigned(e, "p1", "b", 300, MI, 0);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_ptr_equal(cs_snapshot_get(&e->snap, "a"), a0);
    assert_ptr_equal(cs_snapshot_get(&e->snap, "c"), c0);
    assert_int_equal(a0->generation, va);
    assert_int_equal(c0->generation, vc);
    struct cs_node_info *b1 = cs_snapshot_get(&e->snap, "b");
    assert_true(b1->generation > vb);
    assert_usage(b1, 300, MI, 1);
    assert_int_equal(e->snap.vers[b1->index], b1->generation);
    assert_int_equal(e->snap.epoch, epoch); /* pod changes do not touch the node list */

    /* The node-info pointers that did not change are still what the list holds. */
    assert_ptr_equal(cs_snapshot_node_at(&e->snap, (uint32_t)a0->index), a0);
    assert_ptr_equal(cs_snapshot_node_at(&e->snap, (uint32_t)c0->index), c0);

    vb = b1->generation;
    cs_cache_remove_node(&e->cache, "c");
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_null(cs_snapshot_node(&e->snap, "c"));
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 2);
    assert_true(e->snap.epoch > epoch);
    assert_ptr_equal(cs_snapshot_get(&e->snap, "a"), a0);
    assert_int_equal(a0->generation, va);
    assert_int_equal(cs_snapshot_get(&e->snap, "b")->generation, vb);
    env_free(e);
}

/* Two snapshots refreshed at different times both converge to the cache. */
static void test_cache_two_snapshots_converge(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_snapshot other;
    cs_snapshot_init(&other);
    add_node(e, "a", 4000, 8 * GI);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    add_node(e, "b", 4000, 8 * GI);
    add_assigned(e, "p1", "a", 100, MI, 0);
    cs_cache_update_snapshot(&e->cache, &other);
    cs_cache_update_snapshot(&e->cache, &e->snap);
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), 2);
    assert_int_equal(cs_snapshot_num_nodes(&other), 2);
    assert_usage(cs_snapshot_node(&e->snap, "a"), 100, MI, 1);
    assert_usage(cs_snapshot_node(&other, "a"), 100, MI, 1);
    cs_snapshot_destroy(&other);
    env_free(e);
}

/* ---- randomized model -------------------------------------------------------------------- */

#define M_NODES 8
#define M_PODS 40
#define M_OPS 2000

enum mstate { M_ABSENT = 0, M_ASSUMED, M_CONFIRMED };

struct mpod {
    enum mstate st;
    int node;
    int cpu;
    long long mem;
    int port;
};

struct model {
    bool node_exists[M_NODES];
    int node_cpu[M_NODES];
    struct mpod pods[M_PODS];
};

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (uint32_t)((x >> 11) % n);
}

static const char *mnode_name(int i)
{
    static const char *names[M_NODES] = {"m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"};
    return names[i];
}

static void pod_name(int i, char *buf, size_t n)
{
    snprintf(buf, n, "mp%d", i);
}

/* Compare one node info (cache's or snapshot's) with the model. */
static void check_node(const struct model *m, int i, const struct cs_node_info *ni, bool in_list,
                       uint32_t step)
{
    int64_t cpu = 0, mem = 0;
    uint32_t pods = 0, ports = 0;
    for (int k = 0; k < M_PODS; k++) {
        const struct mpod *p = &m->pods[k];
        if (p->st != M_ABSENT && p->node == i) {
            cpu += p->cpu;
            mem += p->mem;
            pods++;
            ports += p->port ? 1 : 0;
        }
    }
    bool want_entry = m->node_exists[i] || pods > 0;
    if (!want_entry) {
        if (ni != NULL) {
            print_error("step %u: node %s should be gone\n", step, mnode_name(i));
        }
        assert_null(ni);
        return;
    }
    if (ni == NULL) {
        print_error("step %u: node %s missing\n", step, mnode_name(i));
    }
    assert_non_null(ni);
    if (ni->requested.v[CS_RES_CPU] != cpu || ni->n_pods != pods) {
        print_error("step %u: node %s cpu %lld/%lld pods %u/%u\n", step, mnode_name(i),
                    (long long)ni->requested.v[CS_RES_CPU], (long long)cpu, ni->n_pods, pods);
    }
    assert_int_equal(ni->requested.v[CS_RES_CPU], cpu);
    assert_int_equal(ni->requested.v[CS_RES_MEMORY], mem);
    assert_int_equal(ni->requested.v[CS_RES_PODS], pods);
    assert_int_equal(ni->nonzero_requested.v[CS_RES_CPU], cpu);
    assert_int_equal(ni->n_pods, pods);
    assert_int_equal(ni->n_ports, ports);
    assert_int_equal(ni->node != NULL, m->node_exists[i]);
    if (m->node_exists[i]) {
        assert_int_equal(ni->allocatable.v[CS_RES_CPU], m->node_cpu[i]);
    }
    if (in_list) {
        bool listed = ni->index >= 0;
        assert_int_equal(listed, m->node_exists[i]);
    }
}

static void check_snapshot(struct env *e, const struct model *m, uint32_t step)
{
    uint32_t real = 0;
    for (int i = 0; i < M_NODES; i++) {
        real += m->node_exists[i] ? 1 : 0;
        check_node(m, i, cs_snapshot_node(&e->snap, mnode_name(i)), true, step);
        check_node(m, i, cinfo(e, mnode_name(i)), false, step);
    }
    assert_int_equal(cs_snapshot_num_nodes(&e->snap), real);
    for (uint32_t k = 0; k < cs_snapshot_num_nodes(&e->snap); k++) {
        struct cs_node_info *ni = cs_snapshot_node_at(&e->snap, k);
        assert_int_equal(ni->index, (int32_t)k);
        assert_int_equal(e->snap.vers[k], ni->generation);
    }
    assert_int_equal(cs_map_len(&e->snap.by_name), cs_map_len(&e->cache.nodes));
    struct cs_cache_stats st;
    cs_cache_stats(&e->cache, &st);
    uint32_t pods = 0, assumed = 0;
    for (int k = 0; k < M_PODS; k++) {
        pods += m->pods[k].st != M_ABSENT;
        assumed += m->pods[k].st == M_ASSUMED;
    }
    assert_int_equal(st.nodes, real);
    assert_int_equal(st.pods, pods);
    assert_int_equal(st.assumed, assumed);
}

/* Random sequences of node upserts/removals, assigned pod upserts/removals, assume, forget and
 * confirm, with snapshot refreshes at random points: after every refresh the snapshot equals
 * the model (requested vectors, pod counts, ports, node list, placeholders). */
static void test_cache_snapshot_matches_model_random(void **state)
{
    (void)state;
    /* Confirmations on another node log a warning each: keep them out of the test output. */
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    cs_log_set_stream(devnull);
    for (uint64_t seed = 1; seed <= 5; seed++) {
        rng_state = 0x9e3779b97f4a7c15ULL * seed;
        struct env *e = env_new();
        struct model m;
        memset(&m, 0, sizeof(m));
        char pn[32];
        for (uint32_t step = 0; step < M_OPS; step++) {
            uint32_t op = rnd(100);
            int ni = (int)rnd(M_NODES);
            int pi = (int)rnd(M_PODS);
            struct mpod *mp = &m.pods[pi];
            pod_name(pi, pn, sizeof(pn));
            char key[48];
            snprintf(key, sizeof(key), "default/%s", pn);
            int cpu = 10 * (int)(1 + rnd(50));
            long long mem = (long long)(1 + rnd(64)) * MI;
            int port = rnd(4) == 0 ? 30000 + pi : 0;
            if (op < 12) {
                int ncpu = 1000 * (int)(1 + rnd(8));
                add_node(e, mnode_name(ni), ncpu, 8 * GI);
                m.node_exists[ni] = true;
                m.node_cpu[ni] = ncpu;
            } else if (op < 18) {
                cs_cache_remove_node(&e->cache, mnode_name(ni));
                m.node_exists[ni] = false;
            } else if (op < 40) {
                add_assigned(e, pn, mnode_name(ni), cpu, mem, port);
                *mp = (struct mpod){M_CONFIRMED, ni, cpu, mem, port};
            } else if (op < 50) {
                cs_cache_remove_pod(&e->cache, key);
                mp->st = M_ABSENT;
            } else if (op < 72) {
                struct cs_pod *p = mkpod(e, pn, NULL, cpu, mem, port);
                int rc = cs_cache_assume_pod(&e->cache, p, mnode_name(ni));
                cs_pod_unref(p);
                if (mp->st == M_ABSENT) {
                    assert_int_equal(rc, 0);
                    *mp = (struct mpod){M_ASSUMED, ni, cpu, mem, port};
                } else {
                    assert_int_equal(rc, -1);
                }
            } else if (op < 80) {
                int rc = cs_cache_forget_pod(&e->cache, key);
                if (mp->st == M_ASSUMED) {
                    assert_int_equal(rc, 0);
                    mp->st = M_ABSENT;
                } else {
                    assert_int_equal(rc, -1);
                }
            } else if (op < 88) {
                /* Confirmation of an assumed pod, sometimes on another node. */
                if (mp->st == M_ASSUMED) {
                    int where = rnd(3) == 0 ? ni : mp->node;
                    add_assigned(e, pn, mnode_name(where), mp->cpu, mp->mem, mp->port);
                    mp->st = M_CONFIRMED;
                    mp->node = where;
                } else {
                    cs_cache_finish_binding(&e->cache, key);
                }
            } else {
                cs_cache_update_snapshot(&e->cache, &e->snap);
                check_snapshot(e, &m, step);
            }
            /* The cache's own answers match the model after every op. */
            assert_int_equal(cs_cache_is_assumed(&e->cache, key), mp->st == M_ASSUMED);
            const char *where = cs_cache_pod_node(&e->cache, key);
            if (mp->st == M_ABSENT) {
                assert_null(where);
            } else {
                assert_non_null(where);
                assert_string_equal(where, mnode_name(mp->node));
            }
        }
        cs_cache_update_snapshot(&e->cache, &e->snap);
        check_snapshot(e, &m, M_OPS);
        /* A fresh snapshot built in one go equals the incrementally maintained one. */
        struct cs_snapshot fresh;
        cs_snapshot_init(&fresh);
        cs_cache_update_snapshot(&e->cache, &fresh);
        assert_int_equal(cs_snapshot_num_nodes(&fresh), cs_snapshot_num_nodes(&e->snap));
        for (int i = 0; i < M_NODES; i++) {
            const struct cs_node_info *x = cs_snapshot_node(&fresh, mnode_name(i));
            const struct cs_node_info *y = cs_snapshot_node(&e->snap, mnode_name(i));
            assert_int_equal(x == NULL, y == NULL);
            if (x) {
                assert_memory_equal(x->requested.v, y->requested.v, sizeof(x->requested.v));
                assert_int_equal(x->n_pods, y->n_pods);
            }
        }
        cs_snapshot_destroy(&fresh);
        env_free(e);
    }
    cs_log_set_stream(NULL);
    fclose(devnull);
}

/* A group is assumed all or nothing (issue 7, defect 3): when one member is already in the
 * cache, assume_all reports it and assumes none of the others. */
static void test_cache_assume_all_is_all_or_nothing(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    add_node(e, "n2", 4000, 8 * GI);
    add_assigned(e, "g1", "n2", 100, MI, 0);
    struct cs_pod *pods[3] = { mkpod(e, "g0", "n1", 500, MI, 0), mkpod(e, "g1", "n1", 500, MI, 0),
                               mkpod(e, "g2", "n1", 500, MI, 0) };
    uint32_t bad = 99;
    assert_int_equal(cs_cache_assume_all(&e->cache, pods, 3, &bad), -1);
    assert_int_equal(bad, 1);
    assert_false(cs_cache_has_pod(&e->cache, "default/g0"));
    assert_false(cs_cache_has_pod(&e->cache, "default/g2"));
    assert_usage(cinfo(e, "n1"), 0, 0, 0);
    assert_usage(cinfo(e, "n2"), 100, MI, 1);

    /* Without the conflict every member is assumed on its own node. */
    cs_cache_remove_pod(&e->cache, "default/g1");
    assert_int_equal(cs_cache_assume_all(&e->cache, pods, 3, &bad), 0);
    assert_usage(cinfo(e, "n1"), 1500, 3 * MI, 3);
    assert_true(cs_cache_is_assumed(&e->cache, "default/g1"));
    for (int i = 0; i < 3; i++) {
        cs_pod_unref(pods[i]);
    }
    env_free(e);
}

/* The cache holds what the API server will hold for a pod we bind (issue 7, defect 5): the
 * placed pod carries nodeName and PreBind's annotations, in the cache and in the snapshot. */
static void test_cache_holds_placed_pod_with_prebind_annotations(void **state)
{
    (void)state;
    struct env *e = env_new();
    add_node(e, "n1", 4000, 8 * GI);
    struct cs_pod *queued = mkpod(e, "p", NULL, 500, MI, 0);
    struct cs_label ann[1] = { { .key = "example.com/cpuset", .value = "0-3" } };
    struct cs_pod *placed = cs_pod_placed(queued, "n1", ann, 1);
    assert_null(queued->node_name);
    assert_string_equal(placed->node_name, "n1");
    assert_int_equal(cs_cache_assume_pod(&e->cache, placed, "n1"), 0);
    const struct cs_node_info *ni = cinfo(e, "n1");
    assert_int_equal(ni->n_pods, 1);
    assert_string_equal(cs_pod_annotation(ni->pods[0], "example.com/cpuset"), "0-3");
    assert_string_equal(ni->pods[0]->node_name, "n1");
    cs_cache_update_snapshot(&e->cache, &e->snap);
    const struct cs_node_info *si = cs_snapshot_node(&e->snap, "n1");
    assert_string_equal(cs_pod_annotation(si->pods[0], "example.com/cpuset"), "0-3");
    cs_pod_unref(placed);
    cs_pod_unref(queued);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache_node_add_update_remove),
        cmocka_unit_test(test_cache_assigned_pod_counts_on_its_node),
        cmocka_unit_test(test_cache_pod_update_replaces_old_usage),
        cmocka_unit_test(test_cache_assume_counts_and_twice_fails),
        cmocka_unit_test(test_cache_forget),
        cmocka_unit_test(test_cache_confirm_same_node),
        cmocka_unit_test(test_cache_confirm_other_node_moves_usage),
        cmocka_unit_test(test_cache_remove_assumed_pod),
        cmocka_unit_test(test_cache_confirm_assumed_in_place),
        cmocka_unit_test(test_cache_deleted_node_placeholder_until_last_pod),
        cmocka_unit_test(test_cache_node_readded_over_placeholder),
        cmocka_unit_test(test_cache_pod_before_node),
        cmocka_unit_test(test_cache_snapshot_refresh_is_incremental),
        cmocka_unit_test(test_cache_two_snapshots_converge),
        cmocka_unit_test(test_cache_snapshot_matches_model_random),
        cmocka_unit_test(test_cache_assume_all_is_all_or_nothing),
        cmocka_unit_test(test_cache_holds_placed_pod_with_prebind_annotations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
