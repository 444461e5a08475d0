/* Pod request aggregation as kube-scheduler does it (k8s-api.md §8; api/requests.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decode.h"
#include "api/requests.h"
#include "pkg/util/buf.h"

#define MI (1024LL * 1024)
#define GI (1024LL * MI)

static int setup(void **state)
{
    struct cs_api_ctx *ctx = malloc(sizeof(*ctx));
    cs_api_ctx_init(ctx);
    *state = ctx;
    return 0;
}

static int teardown(void **state)
{
    cs_api_ctx_destroy(*state);
    free(*state);
    return 0;
}

/* Decode a pod whose spec is given as JSON text. */
static struct cs_pod *pod(struct cs_api_ctx *ctx, const char *spec)
{
    char text[4096], err[512] = "";
    struct cs_pod *p;
    snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":%s}",
             spec);
    if (cs_pod_decode_text(ctx, text, strlen(text), &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return p;
}

static bool has(const struct cs_resources *r, int slot)
{
    return (r->present & (1u << slot)) != 0;
}

/* Decode a whole pod given as JSON text (spec and status). */
static struct cs_pod *whole_pod(struct cs_api_ctx *ctx, const char *spec, const char *status)
{
    char text[4096], err[512] = "";
    struct cs_pod *p;
    snprintf(text, sizeof(text),
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":%s,\"status\":%s}",
             spec, status);
    if (cs_pod_decode_text(ctx, text, strlen(text), &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    return p;
}

/* Issue 7, defect 7: in-place resize (PodRequests with UseStatusResources): a container counts
 * the larger of its spec, its status resources and its allocated resources; while a resize is
 * Infeasible only what was actuated or allocated counts; of init containers only sidecars. */
static void test_in_place_resize_status_resources(void **state)
{
    const char *spec = "{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}},"
                       "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}";
    /* scaled down in spec to 1, still running with 3: counts 3 */
    struct cs_pod *p = whole_pod(*state, spec,
                                 "{\"containerStatuses\":[{\"name\":\"a\",\"resources\":"
                                 "{\"requests\":{\"cpu\":\"3\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 4000);
    cs_pod_unref(p);
    /* allocated 2 (resize accepted, not yet actuated): counts 2 */
    p = whole_pod(*state, spec,
                  "{\"containerStatuses\":[{\"name\":\"a\",\"resources\":{\"requests\":"
                  "{\"cpu\":\"500m\"}},\"allocatedResources\":{\"cpu\":\"2\"}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 3000);
    cs_pod_unref(p);
    /* scaled up in spec to 1 but the resize is Infeasible: the actuated 500m counts */
    p = whole_pod(*state, spec,
                  "{\"resize\":\"Infeasible\",\"containerStatuses\":[{\"name\":\"a\",\"resources\":"
                  "{\"requests\":{\"cpu\":\"500m\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 1500);
    cs_pod_unref(p);
    /* a status without resources changes nothing */
    p = whole_pod(*state, spec, "{\"containerStatuses\":[{\"name\":\"a\"}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 2000);
    cs_pod_unref(p);
    /* a plain init container's status is not used; a sidecar's is */
    p = whole_pod(*state,
                  "{\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}},"
                  "{\"name\":\"s\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}],"
                  "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}]}",
                  "{\"initContainerStatuses\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"9\"}}},"
                  "{\"name\":\"s\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 3000);   /* a 1 + sidecar 2; init 1 + 0 < 3 */
    cs_pod_unref(p);
}

static void test_regular_containers_sum(void **state)
{
    struct cs_pod *p = pod(*state, "{\"containers\":["
                                   "{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":\"64Mi\"}}},"
                                   "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 1250);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], GI + 64 * MI);
    assert_int_equal(p->requests.v[CS_RES_PODS], 1);
    assert_true(has(&p->requests, CS_RES_PODS));
    assert_false(has(&p->requests, CS_RES_EPHEMERAL_STORAGE));
    assert_int_equal(p->nonzero_cpu, 1250);
    assert_int_equal(p->nonzero_memory, GI + 64 * MI);
    cs_pod_unref(p);
}

static void test_init_container_bigger_than_sum(void **state)
{
    struct cs_pod *p = pod(*state, "{\"containers\":["
                                   "{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}},"
                                   "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"500m\",\"memory\":\"1Gi\"}}}],"
                                   "\"initContainers\":["
                                   "{\"name\":\"i1\",\"resources\":{\"requests\":{\"cpu\":\"3\",\"memory\":\"512Mi\"}}},"
                                   "{\"name\":\"i2\",\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"3Gi\"}}}]}");
    /* per resource: cpu max(1000, 3000, 2000); memory max(2Gi, 512Mi, 3Gi) */
    assert_int_equal(p->requests.v[CS_RES_CPU], 3000);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], 3 * GI);
    cs_pod_unref(p);
}

static void test_sidecars_add_and_stack_under_later_inits(void **state)
{
    struct cs_pod *p = pod(*state, "{\"containers\":["
                                   "{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"}}}],"
                                   "\"initContainers\":["
                                   "{\"name\":\"early\",\"resources\":{\"requests\":{\"cpu\":\"400m\"}}},"
                                   "{\"name\":\"mesh\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"200m\",\"memory\":\"50Mi\"}}},"
                                   "{\"name\":\"late\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"10Mi\"}}},"
                                   "{\"name\":\"log\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"50m\",\"memory\":\"20Mi\"}}}]}");
    /* sum = app + sidecars = 100+200+50 = 350m; in-use: early 400, mesh 200, late 1000+200,
     * log 250 -> cpu 1200m. memory: sum 100+50+20 = 170Mi; late in-use 10+50 = 60Mi -> 170Mi. */
    assert_true(p->init_containers[1].restartable);
    assert_false(p->init_containers[2].restartable);
    assert_int_equal(p->requests.v[CS_RES_CPU], 1200);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], 170 * MI);
    cs_pod_unref(p);

    /* Without the late init container the sidecars dominate through the sum. */
    p = pod(*state, "{\"containers\":[{\"name\":\"app\",\"resources\":{\"requests\":{\"cpu\":\"1\"}}}],"
                    "\"initContainers\":["
                    "{\"name\":\"mesh\",\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 1500);
    cs_pod_unref(p);
}

/* Limits as the ResourceQuota evaluator counts them: the same sum-and-max over containers, with
 * the overhead added only to resources that have a limit. */
static void test_limits_aggregate(void **state)
{
    struct cs_pod *p = pod(*state, "{\"overhead\":{\"cpu\":\"250m\",\"memory\":\"120Mi\"},"
                                   "\"containers\":[{\"name\":\"a\",\"resources\":{\"limits\":{\"cpu\":\"1\"}}},"
                                   "{\"name\":\"b\",\"resources\":{\"limits\":{\"cpu\":\"500m\"}}}],"
                                   "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"limits\":{\"cpu\":\"3\"}}}]}");
    struct cs_resources lim;
    cs_pod_aggregate_limits(p, &lim);
    assert_int_equal(lim.v[CS_RES_CPU], 3250);            /* max(1.5, init 3) + 250m */
    assert_false(has(&lim, CS_RES_MEMORY));                /* no limit: overhead not added */
    assert_int_equal(lim.v[CS_RES_MEMORY], 0);
    cs_pod_unref(p);
}

static void test_overhead_added_after_max(void **state)
{
    struct cs_pod *p = pod(*state, "{\"overhead\":{\"cpu\":\"250m\",\"memory\":\"120Mi\"},"
                                   "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"1\",\"memory\":\"1Gi\"}}}],"
                                   "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 2250);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], GI + 120 * MI);
    assert_int_equal(p->nonzero_cpu, 2250);
    cs_pod_unref(p);
}

static void test_pod_level_requests(void **state)
{
    struct cs_api_ctx *ctx = *state;
    struct cs_pod *p = pod(ctx, "{\"resources\":{\"requests\":{\"cpu\":\"2\",\"memory\":\"1Gi\","
                                "\"ephemeral-storage\":\"5Gi\",\"hugepages-2Mi\":\"4Mi\"}},"
                                "\"overhead\":{\"cpu\":\"100m\"},"
                                "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":"
                                "{\"cpu\":\"500m\",\"memory\":\"256Mi\",\"ephemeral-storage\":\"1Gi\",\"example.com/fpga\":\"1\"}}}]}");
    int hp = cs_resource_slot_lookup(ctx->resources, "hugepages-2Mi");
    int fpga = cs_resource_slot_lookup(ctx->resources, "example.com/fpga");
    assert_true(hp >= 0 && fpga >= 0);
    /* pod level replaces cpu, memory, hugepages; ephemeral-storage is not a pod-level resource */
    assert_non_null(p->pod_requests);
    assert_false(has(p->pod_requests, CS_RES_EPHEMERAL_STORAGE));
    assert_int_equal(p->requests.v[CS_RES_CPU], 2100);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], GI);
    assert_int_equal(p->requests.v[hp], 4 * MI);
    assert_int_equal(p->requests.v[CS_RES_EPHEMERAL_STORAGE], GI);
    assert_int_equal(p->requests.v[fpga], 1);
    /* pod level set and both cpu/memory known: no defaults */
    assert_int_equal(p->nonzero_cpu, 2100);
    assert_int_equal(p->nonzero_memory, GI);
    cs_pod_unref(p);

    /* Pod-level cpu only, nobody requests memory: memory defaults per container. */
    p = pod(ctx, "{\"resources\":{\"requests\":{\"cpu\":\"1\"}},"
                 "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 1000);
    assert_false(has(&p->requests, CS_RES_MEMORY));
    assert_int_equal(p->nonzero_cpu, 1000);
    assert_int_equal(p->nonzero_memory, 2 * CS_DEFAULT_MEMORY_REQUEST);
    cs_pod_unref(p);

    /* Pod-level limits only: the apiserver defaults requests from them. */
    p = pod(ctx, "{\"resources\":{\"limits\":{\"memory\":\"2Gi\"}},"
                 "\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"memory\":\"1Gi\"}}}]}");
    assert_int_equal(p->requests.v[CS_RES_MEMORY], 2 * GI);
    cs_pod_unref(p);
}

static void test_extended_resources(void **state)
{
    struct cs_api_ctx *ctx = *state;
    struct cs_pod *p = pod(ctx, "{\"containers\":["
                                "{\"name\":\"a\",\"resources\":{\"limits\":{\"nvidia.com/gpu\":\"2\"}}},"
                                "{\"name\":\"b\",\"resources\":{\"requests\":{\"nvidia.com/gpu\":\"1\",\"aliyun.com/gpu-mem\":\"8\"}}}],"
                                "\"initContainers\":[{\"name\":\"i\",\"resources\":{\"requests\":{\"aliyun.com/gpu-mem\":\"16\"}}}]}");
    int gpu = cs_resource_slot_lookup(ctx->resources, "nvidia.com/gpu");
    int mem = cs_resource_slot_lookup(ctx->resources, "aliyun.com/gpu-mem");
    assert_true(gpu >= CS_RES_NFIXED && mem >= CS_RES_NFIXED && gpu != mem);
    /* container a: request defaulted from its limit */
    assert_int_equal(cs_res_list_get(p->containers[0].requests, gpu), 2);
    assert_int_equal(p->requests.v[gpu], 3);
    assert_int_equal(p->requests.v[mem], 16);
    assert_true(cs_resource_is_extended("nvidia.com/gpu"));
    assert_false(cs_resource_is_extended("cpu"));
    assert_false(cs_resource_is_extended("kubernetes.io/foo"));
    assert_false(cs_resource_is_extended("requests.example.com/x"));
    cs_pod_unref(p);
}

static void test_nonzero_defaults(void **state)
{
    struct cs_api_ctx *ctx = *state;
    /* a: nothing; b: cpu only; c: explicit zero cpu, memory only; sidecar: nothing */
    struct cs_pod *p = pod(ctx, "{\"containers\":["
                                "{\"name\":\"a\"},"
                                "{\"name\":\"b\",\"resources\":{\"requests\":{\"cpu\":\"300m\"}}},"
                                "{\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"0\",\"memory\":\"1Gi\"}}}],"
                                "\"initContainers\":[{\"name\":\"s\",\"restartPolicy\":\"Always\"}]}");
    assert_int_equal(p->requests.v[CS_RES_CPU], 300);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], GI);
    /* cpu: 100 (a) + 300 (b) + 0 (c, explicit) + 100 (sidecar) */
    assert_int_equal(p->nonzero_cpu, 500);
    /* memory: 200Mi (a) + 200Mi (b) + 1Gi (c) + 200Mi (sidecar) */
    assert_int_equal(p->nonzero_memory, GI + 3 * CS_DEFAULT_MEMORY_REQUEST);
    cs_pod_unref(p);

    /* A big plain init container without requests still counts as default in-use. */
    p = pod(ctx, "{\"containers\":[{\"name\":\"a\",\"resources\":{\"requests\":{\"cpu\":\"50m\",\"memory\":\"10Mi\"}}}],"
                 "\"initContainers\":[{\"name\":\"i\"}]}");
    assert_int_equal(p->nonzero_cpu, 100);
    assert_int_equal(p->nonzero_memory, CS_DEFAULT_MEMORY_REQUEST);
    assert_int_equal(p->requests.v[CS_RES_CPU], 50);
    cs_pod_unref(p);
}

static void test_host_ports_from_regular_containers(void **state)
{
    struct cs_pod *p = pod(*state, "{\"containers\":["
                                   "{\"name\":\"a\",\"ports\":[{\"containerPort\":80,\"hostPort\":8080},{\"containerPort\":81}]},"
                                   "{\"name\":\"b\",\"ports\":[{\"containerPort\":53,\"hostPort\":53,\"protocol\":\"UDP\",\"hostIP\":\"127.0.0.1\"}]}],"
                                   "\"initContainers\":[{\"name\":\"i\",\"ports\":[{\"containerPort\":9,\"hostPort\":9}]}]}");
    assert_int_equal(p->n_host_ports, 2);
    assert_int_equal(p->host_ports[0].host_port, 8080);
    assert_int_equal(p->host_ports[0].container_port, 80);
    assert_int_equal(p->host_ports[1].host_port, 53);
    assert_int_equal(p->host_ports[1].protocol, CS_PROTO_UDP);
    assert_string_equal(p->host_ports[1].host_ip, "127.0.0.1");
    cs_pod_unref(p);
}

static void test_vector_helpers(void **state)
{
    (void)state;
    struct cs_resources a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    cs_res_set(&a, CS_RES_CPU, INT64_MAX - 1);
    cs_res_set(&b, CS_RES_CPU, 10);
    cs_res_set(&b, 5, 7);
    cs_res_add(&a, &b);
    assert_int_equal(a.v[CS_RES_CPU], INT64_MAX);  /* saturates */
    assert_int_equal(a.v[5], 7);
    assert_int_equal(a.present, (1u << CS_RES_CPU) | (1u << 5));
    cs_res_sub(&a, &b);
    assert_int_equal(a.v[CS_RES_CPU], INT64_MAX - 10);
    assert_int_equal(a.v[5], 0);
    memset(&a, 0, sizeof(a));
    cs_res_set(&a, CS_RES_MEMORY, 100);
    cs_res_set(&b, CS_RES_MEMORY, 50);
    cs_res_max(&a, &b);
    assert_int_equal(a.v[CS_RES_MEMORY], 100);
    assert_int_equal(a.v[CS_RES_CPU], 10);
    assert_int_equal(a.v[5], 7);
}

static void test_resource_names_table(void **state)
{
    (void)state;
    struct cs_resource_names t;
    cs_resource_names_init(&t);
    assert_int_equal(cs_resource_slot(&t, "cpu"), CS_RES_CPU);
    assert_int_equal(cs_resource_slot(&t, "ephemeral-storage"), CS_RES_EPHEMERAL_STORAGE);
    assert_int_equal(cs_resource_slot_lookup(&t, "x.io/y"), -1);
    assert_int_equal(cs_resource_slot(&t, "x.io/y"), CS_RES_NFIXED);
    assert_int_equal(cs_resource_slot(&t, "x.io/y"), CS_RES_NFIXED);
    assert_string_equal(cs_resource_name(&t, CS_RES_NFIXED), "x.io/y");
    assert_null(cs_resource_name(&t, CS_RES_NFIXED + 1));
    for (int i = cs_resource_count(&t); i < CS_RES_MAX; i++) {
        char n[32];
        snprintf(n, sizeof(n), "r.io/%d", i);
        assert_int_equal(cs_resource_slot(&t, n), i);
    }
    assert_int_equal(cs_resource_slot(&t, "one.too/many"), -1);
    assert_int_equal(cs_resource_count(&t), CS_RES_MAX);
    struct cs_resources r;
    memset(&r, 0, sizeof(r));
    cs_res_set(&r, CS_RES_CPU, 1500);
    cs_res_set(&r, CS_RES_NFIXED, 2);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_resources_format(&t, &r, &b);
    assert_string_equal(b.data, "cpu=1500m,x.io/y=2");
    cs_buf_free(&b);
    cs_resource_names_destroy(&t);
}

struct reg_arg {
    struct cs_resource_names *t;
    int offset;
    int slots[8];
};

static void *register_names(void *p)
{
    struct reg_arg *a = p;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 8; i++) {
            char n[32];
            int k = (i + a->offset) % 8;
            snprintf(n, sizeof(n), "vendor.io/res-%d", k);
            int s = cs_resource_slot(a->t, n);
            if (round == 0)
                a->slots[k] = s;
            else if (a->slots[k] != s)
                a->slots[k] = -2;  /* a name changed slot: reported by the test */
        }
    }
    return NULL;
}

static void test_resource_names_concurrent(void **state)
{
    (void)state;
    struct cs_resource_names t;
    cs_resource_names_init(&t);
    pthread_t th[4];
    struct reg_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].t = &t;
        args[i].offset = i * 3;
        assert_int_equal(pthread_create(&th[i], NULL, register_names, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(cs_resource_count(&t), CS_RES_NFIXED + 8);
    unsigned seen = 0;
    for (int k = 0; k < 8; k++) {
        int s = args[0].slots[k];
        assert_true(s >= CS_RES_NFIXED && s < CS_RES_NFIXED + 8);
        for (int i = 1; i < 4; i++)
            assert_int_equal(args[i].slots[k], s);
        assert_false(seen & (1u << s));
        seen |= 1u << s;
        char n[32];
        snprintf(n, sizeof(n), "vendor.io/res-%d", k);
        assert_string_equal(cs_resource_name(&t, s), n);
    }
    cs_resource_names_destroy(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_regular_containers_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_init_container_bigger_than_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sidecars_add_and_stack_under_later_inits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_overhead_added_after_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_aggregate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_level_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_extended_resources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonzero_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_ports_from_regular_containers, setup, teardown),
        cmocka_unit_test(test_vector_helpers),
        cmocka_unit_test(test_resource_names_table),
        cmocka_unit_test(test_resource_names_concurrent),
        cmocka_unit_test_setup_teardown(test_in_place_resize_status_resources, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
