/*
 * The cpuset allocator (plugins/cpusetscheduling/topology.h), as a specification:
 * one NUMA node when one fits (best fit, then lowest id), whole physical cores first, never a
 * CPU twice, and the fewest NUMA nodes when the request spans them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "plugins/cpusetscheduling/topology.h"

/* Linux numbering on `sockets` sockets x `numa` NUMA nodes per socket x `cores` cores per NUMA
 * node x 2 threads: the first threads of every core come first, their siblings after. */
static char *topo_text(int sockets, int numa, int cores)
{
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_puts(&b, "{\"detail\":[");
    int per_thread = sockets * numa * cores;
    for (int th = 0; th < 2; th++) {
        for (int c = 0; c < per_thread; c++) {
            int n = c / cores, s = n / numa;
            cs_buf_printf(&b, "%s{\"id\":%d,\"core\":%d,\"socket\":%d,\"node\":%d}",
                          th || c ? "," : "", th * per_thread + c, c, s, n);
        }
    }
    cs_buf_puts(&b, "]}");
    return cs_buf_steal(&b);
}

static struct cs_cpu_topo *topo(int sockets, int numa, int cores)
{
    char *text = topo_text(sockets, numa, cores);
    char err[256] = "";
    struct cs_cpu_topo *t = cs_cpu_topo_parse(text, err, sizeof(err));
    if (t == NULL) {
        print_error("%s\n", err);
    }
    assert_non_null(t);
    cs_free(text);
    return t;
}

struct used {
    bool taken[CS_CPUSET_MAX_ID + 1];
};

static bool is_free(const void *arg, int32_t id)
{
    return !((const struct used *)arg)->taken[id];
}

/* Allocate k and mark them taken; returns the NUMA count, ids in out_ids. */
static int alloc(const struct cs_cpu_topo *t, struct used *u, uint32_t k, int32_t *out_ids)
{
    uint32_t idx[256];
    int r = cs_cpu_allocate(t, is_free, u, k, idx);
    for (uint32_t i = 0; r >= 0 && i < k; i++) {
        int32_t id = t->cpus[idx[i]].id;
        assert_false(u->taken[id]);           /* never a CPU twice */
        u->taken[id] = true;
        if (out_ids) {
            out_ids[i] = id;
        }
    }
    return r;
}

static void test_parse_shape(void **s)
{
    (void)s;
    struct cs_cpu_topo *t = topo(1, 2, 8);        /* S2: 2 NUMA x 8 cores x 2 threads */
    assert_int_equal(t->n, 32);
    assert_int_equal(t->n_numa, 2);
    assert_int_equal(t->n_sockets, 1);
    assert_int_equal(t->n_cores, 16);
    assert_int_equal(t->threads, 2);
    cs_cpu_topo_unref(t);
}

static void test_parse_refuses_bad_input(void **s)
{
    (void)s;
    static const struct {
        const char *text, *want;
    } cases[] = {
        { "{", "invalid JSON" },
        { "{\"detail\":[]}", "non-empty" },
        { "{\"detail\":[{\"id\":0,\"core\":0,\"socket\":0}]}", "detail[0]" },
        { "{\"detail\":[{\"id\":\"0\",\"core\":0,\"socket\":0,\"node\":0}]}", "detail[0]" },
        { "{\"detail\":[{\"id\":-1,\"core\":0,\"socket\":0,\"node\":0}]}", "detail[0]" },
        { "{\"detail\":[{\"id\":1,\"core\":0,\"socket\":0,\"node\":0},"
          "{\"id\":1,\"core\":1,\"socket\":0,\"node\":0}]}", "listed twice" },
        { "{\"detail\":[{\"id\":5000,\"core\":0,\"socket\":0,\"node\":0}]}", "above" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256] = "";
        struct cs_cpu_topo *t = cs_cpu_topo_parse(cases[i].text, err, sizeof(err));
        assert_null(t);
        if (strstr(err, cases[i].want) == NULL) {
            print_error("case %zu: %s\n", i, err);
        }
        assert_non_null(strstr(err, cases[i].want));
    }
}

static void test_whole_cores_in_one_numa_node(void **s)
{
    (void)s;
    struct cs_cpu_topo *t = topo(1, 2, 8);
    struct used u = { 0 };
    int32_t ids[4];
    assert_int_equal(alloc(t, &u, 4, ids), 1);
    /* cores 0 and 1 of NUMA node 0, both threads of each */
    int32_t want[4] = { 0, 1, 16, 17 };
    assert_memory_equal(ids, want, sizeof(want));
    assert_int_equal(alloc(t, &u, 4, ids), 1);
    int32_t want2[4] = { 2, 3, 18, 19 };
    assert_memory_equal(ids, want2, sizeof(want2));
    cs_cpu_topo_unref(t);
}

static void test_best_fit_numa_node(void **s)
{
    (void)s;
    struct cs_cpu_topo *t = topo(1, 2, 8);
    struct used u = { 0 };
    assert_int_equal(alloc(t, &u, 4, NULL), 1);    /* NUMA 0: 12 free, NUMA 1: 16 */
    int32_t ids[8];
    assert_int_equal(alloc(t, &u, 8, ids), 1);     /* best fit: NUMA 0 (4 left over) */
    for (int i = 0; i < 8; i++) {
        assert_true(ids[i] % 16 < 8);
    }
    assert_int_equal(alloc(t, &u, 6, ids), 1);     /* NUMA 0 has 4: NUMA 1 */
    for (int i = 0; i < 6; i++) {
        assert_true(ids[i] % 16 >= 8);
    }
    cs_cpu_topo_unref(t);
}

static void test_odd_count_fills_partly_used_core(void **s)
{
    (void)s;
    struct cs_cpu_topo *t = topo(1, 1, 4);
    struct used u = { 0 };
    int32_t ids[3];
    assert_int_equal(alloc(t, &u, 1, ids), 1);     /* cpu 0: core 0 now partly used */
    assert_int_equal(ids[0], 0);
    assert_int_equal(alloc(t, &u, 3, ids), 1);     /* core 1 whole + the sibling of cpu 0 */
    int32_t want[3] = { 1, 4, 5 };
    assert_memory_equal(ids, want, sizeof(want));
    cs_cpu_topo_unref(t);
}

static void test_spread_over_fewest_numa_nodes(void **s)
{
    (void)s;
    struct cs_cpu_topo *t = topo(2, 2, 4);         /* 4 NUMA nodes of 8 CPUs, 2 per socket */
    struct used u = { 0 };
    assert_int_equal(cs_cpu_fit_level(t, is_free, &u, 8), 1);
    assert_int_equal(cs_cpu_fit_level(t, is_free, &u, 12), 2);
    assert_int_equal(cs_cpu_fit_level(t, is_free, &u, 20), 3);
    assert_int_equal(cs_cpu_fit_level(t, is_free, &u, 33), 0);
    int32_t ids[20];
    assert_int_equal(alloc(t, &u, 12, ids), 2);    /* within socket 0 */
    for (int i = 0; i < 12; i++) {
        assert_true(ids[i] % 16 < 8);
    }
    assert_int_equal(alloc(t, &u, 20, ids), 3);    /* 4 left in socket 0: 16 + 4 */
    assert_int_equal(alloc(t, &u, 1, ids), -1);    /* all 32 taken */
    cs_cpu_topo_unref(t);
}

static void test_deterministic(void **s)
{
    (void)s;
    struct cs_cpu_topo *t = topo(2, 1, 16);
    struct used a = { 0 }, b = { 0 };
    for (uint32_t k = 1; k <= 9; k++) {
        int32_t x[16], y[16];
        assert_int_equal(alloc(t, &a, k, x), alloc(t, &b, k, y));
        assert_memory_equal(x, y, sizeof(int32_t) * k);
    }
    cs_cpu_topo_unref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_shape),
        cmocka_unit_test(test_parse_refuses_bad_input),
        cmocka_unit_test(test_whole_cores_in_one_numa_node),
        cmocka_unit_test(test_best_fit_numa_node),
        cmocka_unit_test(test_odd_count_fills_partly_used_core),
        cmocka_unit_test(test_spread_over_fewest_numa_nodes),
        cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
