/* Cluster generator: node/pod shapes, CPU topology, GPU, ECI, file specs, errors, speed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "pkg/apisim/clustergen.h"
#include "pkg/util/alloc.h"
#include "pkg/util/timeutil.h"

static const char *path_s(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *x = json_object_get(o, a);
    if (b) {
        x = json_object_get(x, b);
    }
    if (c) {
        x = json_object_get(x, c);
    }
    return json_string_value(x);
}

static void test_nodegen_basic_shape(void **state)
{
    (void)state;
    struct cs_apisim_nodegen g;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_nodegen_parse("nodes=5,cpu=4,memory=32Gi,pods=110,prefix=n-,"
                                             "zones=3,zone-prefix=moon-", &g, &err), 0);
    assert_int_equal(g.count, 5);
    for (size_t i = 0; i < g.count; i++) {
        json_t *n = cs_apisim_nodegen_node(&g, i, i);
        char name[32], zone[32];
        snprintf(name, sizeof(name), "n-%zu", i);
        snprintf(zone, sizeof(zone), "moon-%zu", i % 3 + 1);
        assert_string_equal(path_s(n, "metadata", "name", NULL), name);
        assert_string_equal(path_s(n, "kind", NULL, NULL), "Node");
        const json_t *labels = json_object_get(json_object_get(n, "metadata"), "labels");
        assert_string_equal(json_string_value(json_object_get(labels, "kubernetes.io/hostname")),
                            name);
        assert_string_equal(
            json_string_value(json_object_get(labels, "topology.kubernetes.io/zone")), zone);
        assert_string_equal(path_s(n, "status", "capacity", "cpu"), "4");
        assert_string_equal(path_s(n, "status", "capacity", "memory"), "32Gi");
        assert_string_equal(path_s(n, "status", "capacity", "pods"), "110");
        assert_true(json_equal(json_object_get(json_object_get(n, "status"), "capacity"),
                               json_object_get(json_object_get(n, "status"), "allocatable")));
        /* Ready condition True, no taints. */
        const json_t *conds = json_object_get(json_object_get(n, "status"), "conditions");
        int ready = 0;
        size_t k;
        const json_t *c;
        json_array_foreach(conds, k, c) {
            if (strcmp(json_string_value(json_object_get(c, "type")), "Ready") == 0) {
                ready = strcmp(json_string_value(json_object_get(c, "status")), "True") == 0;
            }
        }
        assert_true(ready);
        assert_null(json_object_get(json_object_get(n, "spec"), "taints"));
        assert_non_null(cs_apisim_node_internal_ip(n));
        json_decref(n);
    }
    /* Distinct InternalIPs for distinct cluster indexes. */
    json_t *a = cs_apisim_nodegen_node(&g, 0, 1), *b = cs_apisim_nodegen_node(&g, 0, 300);
    assert_string_not_equal(cs_apisim_node_internal_ip(a), cs_apisim_node_internal_ip(b));
    json_decref(a);
    json_decref(b);
    cs_apisim_nodegen_free(&g);
    cs_buf_free(&err);
}

static void test_nodegen_labels_taints_images(void **state)
{
    (void)state;
    struct cs_apisim_nodegen g;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_nodegen_parse("nodes=1,labels=pool=gpu;tier=a,taints=dedicated="
                                             "ml:NoSchedule;spot:PreferNoSchedule,images=nginx:"
                                             "1.25;busybox,unschedulable=true,region=r1", &g,
                                             &err), 0);
    json_t *n = cs_apisim_nodegen_node(&g, 0, 0);
    const json_t *labels = json_object_get(json_object_get(n, "metadata"), "labels");
    assert_string_equal(json_string_value(json_object_get(labels, "pool")), "gpu");
    assert_string_equal(json_string_value(json_object_get(labels, "tier")), "a");
    assert_string_equal(json_string_value(json_object_get(labels, "topology.kubernetes.io/region")),
                        "r1");
    const json_t *taints = json_object_get(json_object_get(n, "spec"), "taints");
    assert_int_equal(json_array_size(taints), 2);
    assert_string_equal(path_s(json_array_get(taints, 0), "key", NULL, NULL), "dedicated");
    assert_string_equal(path_s(json_array_get(taints, 0), "value", NULL, NULL), "ml");
    assert_string_equal(path_s(json_array_get(taints, 0), "effect", NULL, NULL), "NoSchedule");
    assert_string_equal(path_s(json_array_get(taints, 1), "key", NULL, NULL), "spot");
    assert_string_equal(path_s(json_array_get(taints, 1), "effect", NULL, NULL),
                        "PreferNoSchedule");
    assert_true(json_is_true(json_object_get(json_object_get(n, "spec"), "unschedulable")));
    const json_t *images = json_object_get(json_object_get(n, "status"), "images");
    assert_int_equal(json_array_size(images), 2);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_array_get(images, 0), "names"), 0)),
                        "nginx:1.25");
    json_decref(n);
    cs_apisim_nodegen_free(&g);
    cs_buf_free(&err);
}

static void test_nodegen_cpu_topology(void **state)
{
    (void)state;
    struct cs_apisim_nodegen g;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_nodegen_parse("nodes=1,sockets=2,cores=8,threads=2,numa=2,"
                                             "memory=64Gi", &g, &err), 0);
    json_t *n = cs_apisim_nodegen_node(&g, 0, 0);
    assert_string_equal(path_s(n, "status", "capacity", "cpu"), "32");
    const char *topo = json_string_value(json_object_get(
        json_object_get(json_object_get(n, "metadata"), "annotations"),
        "node.koordinator.sh/cpu-topology"));
    assert_non_null(topo);
    json_t *t = json_loads(topo, 0, NULL);
    const json_t *detail = json_object_get(t, "detail");
    assert_int_equal(json_array_size(detail), 32);
    int per_numa[4] = { 0 }, per_core[16] = { 0 };
    size_t i;
    const json_t *cpu;
    json_array_foreach(detail, i, cpu) {
        int id = (int)json_integer_value(json_object_get(cpu, "id"));
        int core = (int)json_integer_value(json_object_get(cpu, "core"));
        int sock = (int)json_integer_value(json_object_get(cpu, "socket"));
        int numa = (int)json_integer_value(json_object_get(cpu, "node"));
        assert_int_equal(id, (int)i);
        assert_true(core >= 0 && core < 16 && sock >= 0 && sock < 2 && numa >= 0 && numa < 4);
        /* core belongs to its socket; NUMA node inside its socket */
        assert_int_equal(core / 8, sock);
        assert_int_equal(numa / 2, sock);
        per_numa[numa]++;
        per_core[core]++;
    }
    for (int k = 0; k < 4; k++) {
        assert_int_equal(per_numa[k], 8);
    }
    /* Hyper-thread siblings: CPU c and c+16 share core c. */
    for (int k = 0; k < 16; k++) {
        assert_int_equal(per_core[k], 2);
    }
    assert_int_equal(json_integer_value(json_object_get(json_array_get(detail, 16), "core")), 0);
    json_decref(t);
    json_decref(n);
    cs_apisim_nodegen_free(&g);

    /* cores must divide into NUMA nodes; sockets need cores */
    assert_int_equal(cs_apisim_nodegen_parse("sockets=2,cores=6,numa=4", &g, &err), -1);
    assert_non_null(strstr(err.data, "numa"));
    cs_buf_reset(&err);
    assert_int_equal(cs_apisim_nodegen_parse("sockets=2", &g, &err), -1);
    assert_non_null(strstr(err.data, "cores"));
    cs_buf_free(&err);
}

static void test_nodegen_gpu_and_eci(void **state)
{
    (void)state;
    struct cs_apisim_nodegen g;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_nodegen_parse("nodes=2,gpus=4,gpu-mem=16", &g, &err), 0);
    json_t *n = cs_apisim_nodegen_node(&g, 1, 1);
    assert_string_equal(path_s(n, "status", "capacity", "aliyun.com/gpu-mem"), "64");
    assert_string_equal(path_s(n, "status", "capacity", "aliyun.com/gpu-count"), "4");
    assert_string_equal(path_s(n, "status", "allocatable", "aliyun.com/gpu-mem"), "64");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(n, "metadata"), "labels"),
                            "ack.node.gpu.schedule")),
                        "share");
    json_decref(n);
    cs_apisim_nodegen_free(&g);

    assert_int_equal(cs_apisim_nodegen_parse("nodes=1,gpus=8,gpu-mem=80,gpu-schedule=topology",
                                             &g, &err), 0);
    n = cs_apisim_nodegen_node(&g, 0, 0);
    assert_string_equal(path_s(n, "status", "capacity", "aliyun.com/gpu"), "8");
    assert_string_equal(path_s(n, "status", "capacity", "aliyun.com/gpu-mem"), "640");
    json_decref(n);
    cs_apisim_nodegen_free(&g);

    assert_int_equal(cs_apisim_nodegen_parse("nodes=1,eci=true,prefix=virtual-kubelet-", &g,
                                             &err), 0);
    n = cs_apisim_nodegen_node(&g, 0, 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(n, "metadata"), "labels"), "type")),
                        "virtual-kubelet");
    const json_t *taint = json_array_get(json_object_get(json_object_get(n, "spec"), "taints"), 0);
    assert_string_equal(path_s(taint, "key", NULL, NULL), "virtual-kubelet.io/provider");
    assert_string_equal(path_s(taint, "value", NULL, NULL), "alibabacloud");
    assert_string_equal(path_s(taint, "effect", NULL, NULL), "NoSchedule");
    assert_string_equal(path_s(n, "status", "capacity", "cpu"), "10000");
    json_decref(n);
    cs_apisim_nodegen_free(&g);

    assert_int_equal(cs_apisim_nodegen_parse("gpus=2", &g, &err), -1);
    assert_non_null(strstr(err.data, "gpu-mem"));
    cs_buf_free(&err);
}

static void test_nodegen_bad_specs_name_the_key(void **state)
{
    (void)state;
    static const char *const bad[] = { "nodes=abc", "cpu=four", "zones=0", "colour=red",
                                       "taints=k=v:Sometimes", "eci=maybe", "memory=",
                                       "nodes", "", "labels=novalue" };
    static const char *const key[] = { "nodes", "cpu", "zones", "colour", "effect", "eci",
                                       "memory", "nodes", "empty", "labels" };
    struct cs_apisim_nodegen g;
    struct cs_buf err;
    cs_buf_init(&err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cs_buf_reset(&err);
        assert_int_equal(cs_apisim_nodegen_parse(bad[i], &g, &err), -1);
        if (strstr(err.data, key[i]) == NULL) {
            fail_msg("spec %s: error %s does not name %s", bad[i], err.data, key[i]);
        }
    }
    cs_buf_free(&err);
}

static void test_podgen_bound_and_pending(void **state)
{
    (void)state;
    struct cs_apisim_podgen g;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_podgen_parse("count=3,cpu=100m,memory=500Mi,bound=true,"
                                            "scheduler=ack-co-scheduler,prefix=existing-,"
                                            "namespace=bench,priority=5,labels=app=x,"
                                            "annotations=apisim.cosched.io/run-seconds=30",
                                            &g, &err), 0);
    json_t *p = cs_apisim_podgen_pod(&g, 2, "node-7", "10.0.0.7", cs_wall_ns());
    assert_string_equal(path_s(p, "metadata", "name", NULL), "existing-2");
    assert_string_equal(path_s(p, "metadata", "namespace", NULL), "bench");
    assert_string_equal(path_s(p, "spec", "nodeName", NULL), "node-7");
    assert_string_equal(path_s(p, "spec", "schedulerName", NULL), "ack-co-scheduler");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "spec"), "priority")),
                     5);
    assert_string_equal(path_s(p, "status", "phase", NULL), "Running");
    assert_string_equal(path_s(p, "status", "hostIP", NULL), "10.0.0.7");
    assert_non_null(path_s(p, "status", "podIP", NULL));
    assert_non_null(path_s(p, "status", "startTime", NULL));
    const json_t *c0 = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"), 0);
    const json_t *res = json_object_get(c0, "resources");
    assert_string_equal(path_s(res, "requests", "cpu", NULL), "100m");
    assert_string_equal(path_s(res, "limits", "memory", NULL), "500Mi");
    assert_string_equal(path_s(p, "metadata", "labels", "app"), "x");
    assert_string_equal(path_s(p, "metadata", "annotations", "apisim.cosched.io/run-seconds"),
                        "30");
    const json_t *cs = json_object_get(json_object_get(p, "status"), "containerStatuses");
    assert_int_equal(json_array_size(cs), 1);
    assert_true(json_is_true(json_object_get(json_array_get(cs, 0), "ready")));
    json_decref(p);

    p = cs_apisim_podgen_pod(&g, 0, NULL, NULL, cs_wall_ns());
    assert_null(json_object_get(json_object_get(p, "spec"), "nodeName"));
    assert_string_equal(path_s(p, "status", "phase", NULL), "Pending");
    json_decref(p);
    cs_apisim_podgen_free(&g);

    assert_int_equal(cs_apisim_podgen_parse("count=-1", &g, &err), -1);
    assert_non_null(strstr(err.data, "count"));
    cs_buf_free(&err);
}

static void test_pod_terminated_status(void **state)
{
    (void)state;
    struct cs_apisim_podgen g;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_podgen_parse("count=1", &g, &err), 0);
    json_t *p = cs_apisim_podgen_pod(&g, 0, "n", "10.0.0.1", cs_wall_ns());
    cs_apisim_pod_set_terminated(p, "Failed", cs_wall_ns());
    assert_string_equal(path_s(p, "status", "phase", NULL), "Failed");
    const json_t *st = json_array_get(json_object_get(json_object_get(p, "status"),
                                                      "containerStatuses"), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(st, "state"), "terminated"), "exitCode")),
                     1);
    json_decref(p);
    cs_apisim_podgen_free(&g);
    cs_buf_free(&err);
}

static void test_clustergen_file_yaml(void **state)
{
    (void)state;
    const char *yaml =
        "nodes:\n"
        "  - nodes=2,cpu=8\n"
        "  - count: 3\n"
        "    prefix: gpu-\n"
        "    gpus: 2\n"
        "    gpu-mem: 24\n"
        "    labels: {pool: gpu}\n"
        "    taints: [{key: nvidia.com/gpu, value: present, effect: NoSchedule}]\n"
        "pods:\n"
        "  - count: 4\n"
        "    cpu: 1\n"
        "    bound: true\n";
    struct cs_apisim_nodegen *ng;
    struct cs_apisim_podgen *pg;
    size_t nn, np;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_clustergen_parse_file(yaml, strlen(yaml), &ng, &nn, &pg, &np,
                                                     &err), 0);
    assert_int_equal(nn, 2);
    assert_int_equal(np, 1);
    assert_int_equal(ng[0].count, 2);
    assert_int_equal(ng[1].count, 3);
    assert_int_equal(ng[1].gpus, 2);
    assert_int_equal(ng[1].ntaints, 1);
    assert_int_equal(pg[0].count, 4);
    assert_int_equal(pg[0].bound, 1);
    json_t *n = cs_apisim_nodegen_node(&ng[1], 0, 5);
    assert_string_equal(path_s(n, "metadata", "name", NULL), "gpu-0");
    assert_string_equal(path_s(n, "metadata", "labels", "pool"), "gpu");
    assert_string_equal(path_s(n, "status", "capacity", "aliyun.com/gpu-mem"), "48");
    json_decref(n);
    for (size_t i = 0; i < nn; i++) {
        cs_apisim_nodegen_free(&ng[i]);
    }
    for (size_t i = 0; i < np; i++) {
        cs_apisim_podgen_free(&pg[i]);
    }
    cs_free(ng);
    cs_free(pg);

    const char *bad = "nodes:\n  - nodes=1\n  - count: 1\n    cpu: lots\n";
    assert_int_equal(cs_apisim_clustergen_parse_file(bad, strlen(bad), &ng, &nn, &pg, &np,
                                                     &err), -1);
    assert_non_null(strstr(err.data, "nodes[1]"));
    assert_non_null(strstr(err.data, "cpu"));
    assert_null(ng);
    cs_buf_reset(&err);
    const char *bad2 = "machines: []\n";
    assert_int_equal(cs_apisim_clustergen_parse_file(bad2, strlen(bad2), &ng, &nn, &pg, &np,
                                                     &err), -1);
    assert_non_null(strstr(err.data, "machines"));
    cs_buf_free(&err);
}

static void test_clustergen_example_files_parse(void **state)
{
    (void)state;
    static const char *const files[] = {
        "manifests/examples/cluster-small.yaml", "manifests/examples/cluster-gpushare.yaml",
        "manifests/examples/cluster-cpuset.yaml", "manifests/examples/cluster-eci.yaml",
        "manifests/examples/cluster-basic-5000.yaml",
    };
    static const size_t want_nodes[] = { 9, 1000, 1000, 2, 5000 };
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++) {
        FILE *f = fopen(files[k], "rb");
        if (f == NULL) {
            fail_msg("cannot open %s (run from the repository root)", files[k]);
        }
        char buf[8192];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        struct cs_apisim_nodegen *ng;
        struct cs_apisim_podgen *pg;
        size_t nn, np, total = 0;
        struct cs_buf err;
        cs_buf_init(&err);
        if (cs_apisim_clustergen_parse_file(buf, len, &ng, &nn, &pg, &np, &err) < 0) {
            fail_msg("%s: %s", files[k], err.data);
        }
        for (size_t i = 0; i < nn; i++) {
            total += ng[i].count;
            cs_apisim_nodegen_free(&ng[i]);
        }
        for (size_t i = 0; i < np; i++) {
            cs_apisim_podgen_free(&pg[i]);
        }
        assert_int_equal(total, want_nodes[k]);
        cs_free(ng);
        cs_free(pg);
        cs_buf_free(&err);
    }
}

/* Random specs built from the generator's own vocabulary never crash and either parse or
 * explain themselves. */
static void test_generator_random_specs_do_not_crash(void **state)
{
    (void)state;
    static const char *const keys[] = { "nodes", "cpu", "memory", "zones", "taints", "labels",
                                        "sockets", "cores", "threads", "numa", "gpus", "gpu-mem",
                                        "eci", "count", "bound", "priority", "images", "x" };
    static const char *const vals[] = { "1", "0", "-1", "4", "32Gi", "abc", "", "k=v:NoSchedule",
                                        "a=b;c", "true", "maybe", "1e3", "99999999999999999999",
                                        ";;", "=", ":", "1.5", "k:NoExecute;=v:NoSchedule" };
    uint64_t x = 88172645463325252ULL;
    struct cs_buf err;
    cs_buf_init(&err);
    for (int round = 0; round < 3000; round++) {
        char spec[512];
        size_t len = 0;
        int n = 1 + (int)(x % 5);
        for (int k = 0; k < n && len < sizeof(spec) - 80; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            len += (size_t)snprintf(spec + len, sizeof(spec) - len, "%s%s=%s", k ? "," : "",
                                    keys[x % (sizeof(keys) / sizeof(keys[0]))],
                                    vals[(x >> 20) % (sizeof(vals) / sizeof(vals[0]))]);
        }
        struct cs_apisim_nodegen g;
        struct cs_apisim_podgen pg;
        cs_buf_reset(&err);
        if (cs_apisim_nodegen_parse(spec, &g, &err) == 0) {
            if (g.count <= 4) {
                json_t *node = cs_apisim_nodegen_node(&g, 0, 0);
                assert_non_null(node);
                json_decref(node);
            }
            cs_apisim_nodegen_free(&g);
        } else {
            assert_true(err.len > 0);
        }
        cs_buf_reset(&err);
        if (cs_apisim_podgen_parse(spec, &pg, &err) == 0) {
            json_t *pod = cs_apisim_podgen_pod(&pg, 0, pg.bound ? "n" : NULL, "10.0.0.1", 0);
            assert_non_null(pod);
            json_decref(pod);
            cs_apisim_podgen_free(&pg);
        } else {
            assert_true(err.len > 0);
        }
    }
    cs_buf_free(&err);
}

static void test_clustergen_speed_5000_nodes_11000_pods(void **state)
{
    (void)state;
    struct cs_apisim_nodegen g;
    struct cs_apisim_podgen pg;
    struct cs_buf err;
    cs_buf_init(&err);
    assert_int_equal(cs_apisim_nodegen_parse("nodes=5000,cpu=4,memory=32Gi,pods=110,zones=3",
                                             &g, &err), 0);
    assert_int_equal(cs_apisim_podgen_parse("count=11000,cpu=100m,memory=500Mi,bound=true",
                                            &pg, &err), 0);
    int64_t t0 = cs_mono_ns();
    size_t bytes = 0;
    for (size_t i = 0; i < g.count; i++) {
        json_t *n = cs_apisim_nodegen_node(&g, i, i);
        bytes += json_object_size(n);
        json_decref(n);
    }
    int64_t now = cs_wall_ns();
    for (size_t i = 0; i < pg.count; i++) {
        json_t *p = cs_apisim_podgen_pod(&pg, i, "node-1", "10.0.0.1", now);
        bytes += json_object_size(p);
        json_decref(p);
    }
    double secs = (double)(cs_mono_ns() - t0) / 1e9;
    printf("# generated 5000 nodes + 11000 pods in %.3f s (ASan build)\n", secs);
    assert_true(bytes > 0);
    /* Under ASan+UBSan; the optimised build is several times faster. */
    assert_true(secs < 5.0);
    cs_apisim_nodegen_free(&g);
    cs_apisim_podgen_free(&pg);
    cs_buf_free(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nodegen_basic_shape),
        cmocka_unit_test(test_nodegen_labels_taints_images),
        cmocka_unit_test(test_nodegen_cpu_topology),
        cmocka_unit_test(test_nodegen_gpu_and_eci),
        cmocka_unit_test(test_nodegen_bad_specs_name_the_key),
        cmocka_unit_test(test_podgen_bound_and_pending),
        cmocka_unit_test(test_pod_terminated_status),
        cmocka_unit_test(test_clustergen_file_yaml),
        cmocka_unit_test(test_clustergen_example_files_parse),
        cmocka_unit_test(test_generator_random_specs_do_not_crash),
        cmocka_unit_test(test_clustergen_speed_5000_nodes_11000_pods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
