/* Protobuf <-> JSON (api/pbjson.h), against objects read from kube-apiserver v1.37.2 both as
 * JSON and as protobuf (test/fixtures/pb, captured by hack/pb-fixtures.sh):
 *   - what the protobuf decodes to is the server's own JSON, field for field, for every field
 *     the schema names (managedFields and the like are skipped, nothing is invented);
 *   - pods and nodes decoded by cosched from either form are the same C objects;
 *   - encoding and decoding again gives the same JSON; watch frames and lists decode;
 *   - damaged input of every kind is a clear error, never a crash (ASan/UBSan in `make test`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/decode.h"
#include "api/pbjson.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

static char *slurp(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof(path), "test/fixtures/pb/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s (run from the repository root)", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = cs_malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

static json_t *load_json(const char *name)
{
    size_t n;
    char *b = slurp(name, &n);
    json_error_t je;
    json_t *j = json_loadb(b, n, 0, &je);
    cs_free(b);
    assert_non_null(j);
    return j;
}

static json_t *load_pb(const char *name)
{
    size_t n;
    char *b = slurp(name, &n);
    char err[512];
    json_t *j = cs_pb_decode_object(b, n, err, sizeof(err));
    if (j == NULL) {
        fail_msg("%s: %s", name, err);
    }
    cs_free(b);
    return j;
}

/* Every member of sub is in full with an equal value (objects recursively, arrays element by
 * element and of the same length). path names the first difference. */
static int subset(const json_t *sub, const json_t *full, char *path, size_t n)
{
    if (json_is_object(sub)) {
        if (!json_is_object(full)) {
            return 0;
        }
        const char *k;
        json_t *v;
        size_t at = strlen(path);
        json_object_foreach((json_t *)sub, k, v) {
            snprintf(path + at, n - at, ".%s", k);
            if (!subset(v, json_object_get(full, k), path, n)) {
                return 0;
            }
        }
        path[at] = '\0';
        return 1;
    }
    if (json_is_array(sub)) {
        if (!json_is_array(full) || json_array_size(sub) != json_array_size(full)) {
            return 0;
        }
        size_t at = strlen(path);
        for (size_t i = 0; i < json_array_size(sub); i++) {
            snprintf(path + at, n - at, "[%zu]", i);
            if (!subset(json_array_get(sub, i), json_array_get(full, i), path, n)) {
                return 0;
            }
        }
        path[at] = '\0';
        return 1;
    }
    return full != NULL && json_equal(sub, full);
}

static void check_matches_server_json(const char *base)
{
    char a[64], b[64], path[512] = "";
    snprintf(a, sizeof(a), "%s.pb", base);
    snprintf(b, sizeof(b), "%s.json", base);
    json_t *pb = load_pb(a);
    json_t *js = load_json(b);
    if (!subset(pb, js, path, sizeof(path))) {
        char *t = json_dumps(pb, JSON_COMPACT);
        fail_msg("%s: the protobuf decodes differently at %s: %.800s", base, path, t);
    }
    /* nothing the server did not send, and managedFields is not copied */
    assert_null(json_object_get(json_object_get(pb, "metadata"), "managedFields"));
    assert_non_null(json_object_get(json_object_get(js, "metadata"), "managedFields"));
    json_decref(pb);
    json_decref(js);
}

static void test_every_fixture_decodes_to_the_servers_json(void **state)
{
    (void)state;
    const char *names[] = { "pod", "pod_gated", "node", "namespace", "priorityclass", "lease",
                            "event" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        check_matches_server_json(names[i]);
    }
    /* the Status of an error reads as the JSON one (no managedFields there) */
    json_t *pb = load_pb("status404.pb");
    json_t *js = load_json("status404.json");
    char path[256] = "";
    assert_true(subset(pb, js, path, sizeof(path)));
    assert_string_equal(json_string_value(json_object_get(pb, "message")),
                        "pods \"missing\" not found");
    assert_int_equal(json_integer_value(json_object_get(pb, "code")), 404);
    json_decref(pb);
    json_decref(js);
}

/* The fields that matter to scheduling, compared one by one. */
static void same_pod(const struct cs_pod *a, const struct cs_pod *b)
{
    assert_string_equal(a->key, b->key);
    assert_string_equal(a->uid, b->uid);
    assert_string_equal(a->resource_version, b->resource_version);
    assert_int_equal(a->creation_ns, b->creation_ns);
    assert_int_equal(a->n_labels, b->n_labels);
    assert_int_equal(a->n_annotations, b->n_annotations);
    assert_int_equal(a->n_owners, b->n_owners);
    assert_ptr_equal(a->scheduler_name, b->scheduler_name); /* interned */
    assert_ptr_equal(a->node_name, b->node_name);
    assert_int_equal(a->priority, b->priority);
    assert_int_equal(a->has_priority, b->has_priority);
    assert_int_equal(a->preemption_policy, b->preemption_policy);
    assert_int_equal(a->host_network, b->host_network);
    assert_int_equal(a->n_containers, b->n_containers);
    assert_int_equal(a->n_init_containers, b->n_init_containers);
    assert_memory_equal(&a->requests, &b->requests, sizeof(a->requests));
    assert_memory_equal(&a->nonzero_requests, &b->nonzero_requests, sizeof(a->requests));
    assert_int_equal(a->n_node_selector, b->n_node_selector);
    assert_int_equal(a->node_affinity != NULL, b->node_affinity != NULL);
    assert_int_equal(a->pod_affinity != NULL, b->pod_affinity != NULL);
    assert_int_equal(a->pod_anti_affinity != NULL, b->pod_anti_affinity != NULL);
    assert_int_equal(a->constraints_hash, b->constraints_hash);
    assert_int_equal(a->n_tolerations, b->n_tolerations);
    assert_int_equal(a->n_spread, b->n_spread);
    assert_int_equal(a->n_scheduling_gates, b->n_scheduling_gates);
    assert_int_equal(a->n_claims, b->n_claims);
    assert_int_equal(a->phase, b->phase);
    assert_int_equal(a->n_conditions, b->n_conditions);
    assert_int_equal(a->n_host_ports, b->n_host_ports);
    assert_int_equal(a->start_ns, b->start_ns);
}

static void test_pods_and_nodes_are_the_same_c_objects_from_either_wire(void **state)
{
    (void)state;
    struct cs_api_ctx ctx;
    cs_api_ctx_init(&ctx);
    char err[512];
    const char *pods[] = { "pod", "pod_gated" };
    for (size_t i = 0; i < 2; i++) {
        char a[64], b[64];
        snprintf(a, sizeof(a), "%s.pb", pods[i]);
        snprintf(b, sizeof(b), "%s.json", pods[i]);
        json_t *pb = load_pb(a), *js = load_json(b);
        struct cs_pod *p1 = NULL, *p2 = NULL;
        if (cs_pod_decode(&ctx, pb, &p1, err, sizeof(err)) != 0) {
            fail_msg("%s from protobuf: %s", pods[i], err);
        }
        assert_int_equal(cs_pod_decode(&ctx, js, &p2, err, sizeof(err)), 0);
        same_pod(p1, p2);
        assert_true(p1->n_tolerations > 0 && p1->n_spread > 0 && p1->node_affinity);
        cs_pod_unref(p1);
        cs_pod_unref(p2);
        json_decref(pb);
        json_decref(js);
    }
    json_t *pb = load_pb("node.pb"), *js = load_json("node.json");
    struct cs_node *n1 = NULL, *n2 = NULL;
    if (cs_node_decode(&ctx, pb, &n1, err, sizeof(err)) != 0) {
        fail_msg("node from protobuf: %s", err);
    }
    assert_int_equal(cs_node_decode(&ctx, js, &n2, err, sizeof(err)), 0);
    assert_string_equal(n1->name, n2->name);
    assert_int_equal(n1->unschedulable, n2->unschedulable);
    assert_int_equal(n1->n_taints, n2->n_taints);
    assert_int_equal(n1->n_labels, n2->n_labels);
    assert_memory_equal(&n1->capacity, &n2->capacity, sizeof(n1->capacity));
    assert_memory_equal(&n1->allocatable, &n2->allocatable, sizeof(n1->allocatable));
    assert_int_equal(n1->n_conditions, n2->n_conditions);
    assert_int_equal(n1->n_images, n2->n_images);
    assert_true(n1->n_taints > 0 && n1->n_images > 0);
    cs_node_unref(n1);
    cs_node_unref(n2);
    json_decref(pb);
    json_decref(js);
    cs_api_ctx_destroy(&ctx);
}

static void test_list_and_watch_frames(void **state)
{
    (void)state;
    json_t *pb = load_pb("podlist.pb"), *js = load_json("podlist.json");
    assert_string_equal(json_string_value(json_object_get(pb, "kind")), "PodList");
    assert_int_equal(json_array_size(json_object_get(pb, "items")), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(pb, "metadata"), "resourceVersion")),
        json_string_value(json_object_get(json_object_get(js, "metadata"), "resourceVersion")));
    json_decref(pb);
    json_decref(js);

    size_t n;
    char *b = slurp("watch.pb", &n);
    size_t at = 0, events = 0;
    char err[512];
    while (at + 4 <= n) {
        const unsigned char *u = (const unsigned char *)b + at;
        size_t l = (size_t)u[0] << 24 | (size_t)u[1] << 16 | (size_t)u[2] << 8 | u[3];
        assert_true(at + 4 + l <= n);
        json_t *ev = cs_pb_decode_watch_event(b + at + 4, l, err, sizeof(err));
        if (ev == NULL) {
            fail_msg("watch frame %zu: %s", events, err);
        }
        assert_string_equal(json_string_value(json_object_get(ev, "type")), "ADDED");
        assert_string_equal(json_string_value(json_object_get(json_object_get(ev, "object"),
                                                              "kind")),
                            "Pod");
        json_decref(ev);
        events++;
        at += 4 + l;
    }
    assert_int_equal(events, 2);
    cs_free(b);
}

static void test_encode_then_decode_gives_the_same_json(void **state)
{
    (void)state;
    const char *names[] = { "pod.pb", "pod_gated.pb", "node.pb", "namespace.pb",
                            "priorityclass.pb", "lease.pb", "event.pb", "podlist.pb" };
    char err[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        json_t *j = load_pb(names[i]);
        struct cs_buf b;
        cs_buf_init(&b);
        if (cs_pb_encode_object(j, &b, err, sizeof(err)) != 0) {
            fail_msg("%s: %s", names[i], err);
        }
        json_t *k = cs_pb_decode_object(b.data, b.len, err, sizeof(err));
        if (k == NULL || !json_equal(j, k)) {
            fail_msg("%s: round trip differs (%s)", names[i], k ? "" : err);
        }
        /* and the watch frame form */
        cs_buf_reset(&b);
        assert_int_equal(cs_pb_encode_watch_event("MODIFIED", j, &b, err, sizeof(err)), 0);
        json_t *ev = cs_pb_decode_watch_event(b.data + 4, b.len - 4, err, sizeof(err));
        assert_non_null(ev);
        assert_true(json_equal(json_object_get(ev, "object"), j));
        json_decref(ev);
        json_decref(k);
        json_decref(j);
        cs_buf_free(&b);
    }
    /* an object without a schema is refused by name */
    json_t *cm = json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind", "ConfigMap",
                           "metadata", "name", "x");
    struct cs_buf b;
    cs_buf_init(&b);
    assert_int_equal(cs_pb_encode_object(cm, &b, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no protobuf schema for v1 ConfigMap"));
    assert_false(cs_pb_known("v1", "ConfigMap"));
    assert_true(cs_pb_known("v1", "Pod"));
    json_decref(cm);
    cs_buf_free(&b);
}

/* Every prefix of a pod, every single-byte corruption of its first 600 bytes, a wrong magic and
 * an absurd length: an error or a (partial-free) object, never a crash or a leak. */
static void test_damaged_input_is_an_error_not_a_crash(void **state)
{
    (void)state;
    size_t n;
    char *b = slurp("pod.pb", &n);
    char err[512];
    for (size_t cut = 0; cut < n; cut++) {
        json_t *j = cs_pb_decode_object(b, cut, err, sizeof(err));
        if (j == NULL) {
            assert_true(err[0] != '\0');
        }
        json_decref(j);
    }
    char *c = cs_malloc(n);
    for (size_t i = 0; i < n && i < 600; i++) {
        memcpy(c, b, n);
        c[i] = (char)(c[i] ^ 0xff);
        json_decref(cs_pb_decode_object(c, n, err, sizeof(err)));
        json_decref(cs_pb_decode_watch_event(c, n, err, sizeof(err)));
    }
    memcpy(c, b, n);
    c[0] = 'x';
    assert_null(cs_pb_decode_object(c, n, err, sizeof(err)));
    assert_non_null(strstr(err, "k8s"));
    /* a truncated pod names the pod */
    assert_null(cs_pb_decode_object(b, n - 7, err, sizeof(err)));
    assert_non_null(strstr(err, "pod ml/train-job-0"));
    const char huge[] = { 'k', '8', 's', 0, 0x12, (char)0xff, (char)0xff, (char)0xff, (char)0xff,
                          0x0f };
    assert_null(cs_pb_decode_object(huge, sizeof(huge), err, sizeof(err)));
    cs_free(c);
    cs_free(b);
}

/* Not an assertion on time: the figures for the note. */
static void test_report_decode_cost(void **state)
{
    (void)state;
    size_t np, nj;
    char *pb = slurp("pod.pb", &np);
    char *js = slurp("pod.json", &nj);
    char err[256];
    const int iters = 2000;
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < iters; i++) {
        json_decref(cs_pb_decode_object(pb, np, err, sizeof(err)));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (int i = 0; i < iters; i++) {
        json_decref(json_loadb(js, nj, 0, NULL));
    }
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double a = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / iters / 1000;
    double c = ((t2.tv_sec - t1.tv_sec) * 1e9 + (t2.tv_nsec - t1.tv_nsec)) / iters / 1000;
    printf("# pod fixture: protobuf %zu bytes -> JSON tree %.1f us; JSON text %zu bytes "
           "(managedFields included) -> tree %.1f us\n", np, a, nj, c);
    cs_free(pb);
    cs_free(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_decodes_to_the_servers_json),
        cmocka_unit_test(test_pods_and_nodes_are_the_same_c_objects_from_either_wire),
        cmocka_unit_test(test_list_and_watch_frames),
        cmocka_unit_test(test_encode_then_decode_gives_the_same_json),
        cmocka_unit_test(test_damaged_input_is_an_error_not_a_crash),
        cmocka_unit_test(test_report_decode_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
