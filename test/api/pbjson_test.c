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
#include "api/pbkinds.h"
#include "api/proto/k8s.pb-c.h"
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

/* The server's JSON restricted to what the schema names: members the schema does not have
 * (managedFields, unread subtrees) and nulls (a zero Time) go; embedded messages' members stay
 * with their parent; map values and list items are pruned by their own message. */
static json_t *prune(const json_t *j, const ProtobufCMessageDescriptor *md);

static json_t *prune_value(const json_t *v, const ProtobufCFieldDescriptor *f)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
        return json_deep_copy(v);
    }
    const ProtobufCMessageDescriptor *sub = f->descriptor;
    if (sub == &cs__k8s__time__descriptor || sub == &cs__k8s__micro_time__descriptor ||
        sub == &cs__k8s__quantity__descriptor || sub == &cs__k8s__int_or_string__descriptor ||
        sub == &cs__k8s__raw_extension__descriptor) {
        return json_deep_copy(v);
    }
    return prune(v, sub);
}

static json_t *prune(const json_t *j, const ProtobufCMessageDescriptor *md)
{
    json_t *out = json_object();
    const struct cs_pb_rule *rule = cs_pb_rule_of(md);
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        if (rule && f->id < 64 && (rule->inline_ & CS_PB_BIT(f->id))) {
            json_t *in = prune(j, f->descriptor);
            json_object_update(out, in);
            json_decref(in);
            continue;
        }
        const json_t *v = json_object_get(j, f->name);
        if (v == NULL || json_is_null(v)) {
            continue;
        }
        const ProtobufCMessageDescriptor *sub = f->descriptor;
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            sub->n_fields == 2 && strcmp(sub->fields[0].name, "key") == 0 &&
            strcmp(sub->fields[1].name, "value") == 0) {
            json_t *m = json_object();
            const char *k;
            json_t *mv;
            json_object_foreach((json_t *)v, k, mv) {
                json_object_set_new(m, k, prune_value(mv, &sub->fields[1]));
            }
            json_object_set_new(out, f->name, m);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            json_t *a = json_array();
            size_t k;
            json_t *it;
            json_array_foreach(v, k, it) {
                json_array_append_new(a, prune_value(it, f));
            }
            json_object_set_new(out, f->name, a);
        } else {
            json_object_set_new(out, f->name, prune_value(v, f));
        }
    }
    return out;
}

/* The first path where a and b differ, into path. */
static int same_json(const json_t *a, const json_t *b, char *path, size_t n)
{
    if (json_is_object(a) && json_is_object(b)) {
        size_t at = strlen(path);
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)a, k, v) {
            snprintf(path + at, n - at, ".%s", k);
            if (!same_json(v, json_object_get(b, k), path, n)) {
                return 0;
            }
        }
        json_object_foreach((json_t *)b, k, v) {
            snprintf(path + at, n - at, ".%s", k);
            if (json_object_get(a, k) == NULL) {
                return 0;
            }
        }
        path[at] = '\0';
        return 1;
    }
    if (json_is_array(a) && json_is_array(b) && json_array_size(a) == json_array_size(b)) {
        size_t at = strlen(path);
        for (size_t i = 0; i < json_array_size(a); i++) {
            snprintf(path + at, n - at, "[%zu]", i);
            if (!same_json(json_array_get(a, i), json_array_get(b, i), path, n)) {
                return 0;
            }
        }
        path[at] = '\0';
        return 1;
    }
    return a != NULL && b != NULL && json_equal(a, b);
}

static void check_matches_server_json(const char *base)
{
    char a[64], b[64], path[512] = "";
    snprintf(a, sizeof(a), "%s.pb", base);
    snprintf(b, sizeof(b), "%s.json", base);
    json_t *pb = load_pb(a);
    json_t *js = load_json(b);
    const ProtobufCMessageDescriptor *md =
        cs_pb_kind_desc(json_string_value(json_object_get(js, "apiVersion")),
                        json_string_value(json_object_get(js, "kind")));
    assert_non_null(md);
    json_t *want = prune(js, md);
    json_object_set(want, "apiVersion", json_object_get(js, "apiVersion"));
    json_object_set(want, "kind", json_object_get(js, "kind"));
    /* both ways: nothing invented, nothing the schema names lost */
    if (!same_json(pb, want, path, sizeof(path))) {
        char *t = json_dumps(json_object_get(pb, "spec"), JSON_COMPACT);
        fail_msg("%s: the protobuf decodes differently at %s (spec: %.600s)", base, path, t);
    }
    if (!same_json(want, pb, path, sizeof(path))) {
        fail_msg("%s: the protobuf decodes differently at %s", base, path);
    }
    /* managedFields is not copied */
    json_t *items = json_object_get(js, "items");
    const json_t *one = items ? json_array_get(items, 0) : js;
    if (json_object_get(json_object_get(one, "metadata"), "managedFields") != NULL) {
        const json_t *pone = items ? json_array_get(json_object_get(pb, "items"), 0) : pb;
        assert_null(json_object_get(json_object_get(pone, "metadata"), "managedFields"));
    }
    json_decref(want);
    json_decref(pb);
    json_decref(js);
}

static const char *const FIXTURES[] = {
    "pod", "pod_gated", "pod_vol", "node", "namespace", "priorityclass", "lease", "event",
    "service", "replicationcontroller", "replicaset", "statefulset", "storageclass", "pvc", "pv",
    "csinode", "resourcequota", "pdblist", "podlist", "nodelist", "pvlist", "status404",
};
#define N_FIXTURES (sizeof(FIXTURES) / sizeof(FIXTURES[0]))

static void test_every_fixture_decodes_to_the_servers_json(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_FIXTURES; i++) {
        check_matches_server_json(FIXTURES[i]);
    }
    json_t *pb = load_pb("status404.pb");
    assert_string_equal(json_string_value(json_object_get(pb, "message")),
                        "pods \"missing\" not found");
    assert_int_equal(json_integer_value(json_object_get(pb, "code")), 404);
    json_decref(pb);
    /* embedded volume sources are the volume's own members, as in JSON */
    pb = load_pb("pod_vol.pb");
    json_t *v0 = json_array_get(json_object_get(json_object_get(pb, "spec"), "volumes"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v0, "persistentVolumeClaim"),
                                                          "claimName")),
                        "data-0");
    assert_non_null(json_object_get(json_object_get(pb, "spec"), "overhead"));
    json_decref(pb);
    pb = load_pb("pv.pb");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(pb, "spec"), "csi"), "volumeHandle")),
                        "vol-123");
    json_decref(pb);
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
    assert_int_equal(a->nonzero_cpu, b->nonzero_cpu);
    assert_int_equal(a->nonzero_memory, b->nonzero_memory);
    assert_int_equal(a->overhead != NULL, b->overhead != NULL);
    if (a->overhead)
        assert_memory_equal(a->overhead, b->overhead, sizeof(*a->overhead));
    assert_int_equal(a->pod_requests != NULL, b->pod_requests != NULL);
    if (a->pod_requests)
        assert_memory_equal(a->pod_requests, b->pod_requests, sizeof(*a->pod_requests));
    for (uint32_t i = 0; i < a->n_containers && i < b->n_containers; i++) {
        assert_true(cs_res_list_eq(a->containers[i].requests, b->containers[i].requests));
        assert_true(cs_res_list_eq(a->containers[i].limits, b->containers[i].limits));
    }
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
    const char *pods[] = { "pod", "pod_gated", "pod_vol" };
    for (size_t i = 0; i < 3; i++) {
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
        if (i == 2) {
            assert_true(p1->n_claims > 0); /* volumes' embedded sources came through */
        }
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
    assert_int_equal(json_array_size(json_object_get(pb, "items")), 3);
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
    assert_int_equal(events, 3);
    cs_free(b);
}

static void test_encode_then_decode_gives_the_same_json(void **state)
{
    (void)state;
    char err[512];
    for (size_t i = 0; i < N_FIXTURES; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s.pb", FIXTURES[i]);
        json_t *j = load_pb(name);
        struct cs_buf b;
        cs_buf_init(&b);
        if (cs_pb_encode_object(j, &b, err, sizeof(err)) != 0) {
            fail_msg("%s: %s", name, err);
        }
        json_t *k = cs_pb_decode_object(b.data, b.len, err, sizeof(err));
        if (k == NULL || !json_equal(j, k)) {
            fail_msg("%s: round trip differs (%s)", name, k ? "" : err);
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
    /* the server's JSON itself (managedFields and all) encodes to what its protobuf decodes to */
    for (size_t i = 0; i < N_FIXTURES; i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s.json", FIXTURES[i]);
        json_t *js = load_json(name);
        snprintf(name, sizeof(name), "%s.pb", FIXTURES[i]);
        json_t *pb = load_pb(name);
        struct cs_buf b;
        cs_buf_init(&b);
        if (cs_pb_encode_object(js, &b, err, sizeof(err)) != 0) {
            fail_msg("%s: %s", name, err);
        }
        json_t *k = cs_pb_decode_object(b.data, b.len, err, sizeof(err));
        char path[512] = "";
        if (k == NULL || !same_json(pb, k, path, sizeof(path)) ||
            !same_json(k, pb, path, sizeof(path))) {
            fail_msg("%s: the server's JSON encodes differently at %s", name, path);
        }
        json_decref(k);
        json_decref(pb);
        json_decref(js);
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

/* Objects whose every field on the wire (managedFields aside: the server's bytes are compared
 * without it) is in the schema encode to the apiserver's own bytes
 * (gogo's order, zero value fields, sorted map keys). The others carry fields the schema leaves
 * out on purpose (pods: containers' terminationMessagePath, imagePullPolicy, securityContext...;
 * workload controllers: their pod templates and status; Services: ports, clusterIP, status;
 * PVs and PVCs: status details), so their bytes differ there and only there. */
static const char *const BYTE_EQUAL[] = {
    "namespace", "priorityclass", "lease", "event", "storageclass", "csinode", "resourcequota",
    "pdblist", "node", "nodelist", "status404",
};

/* ---- a minimal wire rewriter for the test: the server's bytes without managedFields ---- */

static uint64_t rv(const uint8_t **p)
{
    uint64_t x = 0;
    for (int sh = 0;; sh += 7) {
        uint8_t c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << sh;
        if (!(c & 0x80)) {
            return x;
        }
    }
}

static void wv(struct cs_buf *b, uint64_t v)
{
    do {
        char c = (char)(v & 0x7f);
        v >>= 7;
        if (v) {
            c = (char)(c | 0x80);
        }
        cs_buf_append(b, &c, 1);
    } while (v);
}

/* The message p..p+n with field drop removed at depth 0, and the rewrite fn applied to the
 * length-delimited fields listed in `into` (field number -> what to do with its bytes). */
typedef void (*rewrite_fn)(const uint8_t *p, size_t n, struct cs_buf *out);

static void rewrite(const uint8_t *p, size_t n, uint32_t drop, const uint32_t *into,
                    const rewrite_fn *fns, size_t n_into, struct cs_buf *out)
{
    const uint8_t *end = p + n;
    while (p < end) {
        const uint8_t *start = p;
        uint64_t key = rv(&p);
        uint32_t f = (uint32_t)(key >> 3);
        unsigned wt = (unsigned)(key & 7);
        assert_true(wt == 0 || wt == 2); /* what Kubernetes objects use */
        if (wt == 0) {
            rv(&p);
            if (f != drop) {
                cs_buf_append(out, start, (size_t)(p - start));
            }
            continue;
        }
        size_t l = (size_t)rv(&p);
        const uint8_t *body = p;
        p += l;
        if (f == drop) {
            continue;
        }
        rewrite_fn fn = NULL;
        for (size_t k = 0; k < n_into; k++) {
            if (into[k] == f) {
                fn = fns[k];
            }
        }
        if (fn == NULL) {
            cs_buf_append(out, start, (size_t)(p - start));
            continue;
        }
        struct cs_buf sub;
        cs_buf_init(&sub);
        fn(body, l, &sub);
        wv(out, key);
        wv(out, sub.len);
        cs_buf_append(out, sub.data ? sub.data : "", sub.len);
        cs_buf_free(&sub);
    }
}

static void meta_without_mf(const uint8_t *p, size_t n, struct cs_buf *out)
{
    rewrite(p, n, 17, NULL, NULL, 0, out); /* ObjectMeta.managedFields */
}

static void object_without_mf(const uint8_t *p, size_t n, struct cs_buf *out)
{
    const uint32_t into[] = { 1 };
    const rewrite_fn fns[] = { meta_without_mf };
    rewrite(p, n, 0, into, fns, 1, out);
}

static void list_without_mf(const uint8_t *p, size_t n, struct cs_buf *out)
{
    const uint32_t into[] = { 2 };
    const rewrite_fn fns[] = { object_without_mf };
    rewrite(p, n, 0, into, fns, 1, out);
}

/* An enveloped object (or list) without its managedFields. */
static void strip_managed_fields(const char *raw, size_t n, int list, struct cs_buf *out)
{
    cs_buf_append(out, raw, 4);
    const uint32_t into[] = { 2 };
    const rewrite_fn fns[] = { list ? list_without_mf : object_without_mf };
    rewrite((const uint8_t *)raw + 4, n - 4, 0, into, fns, 1, out);
}

static void test_encoding_gives_the_servers_bytes(void **state)
{
    (void)state;
    char err[512];
    for (size_t i = 0; i < sizeof(BYTE_EQUAL) / sizeof(BYTE_EQUAL[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "%s.pb", BYTE_EQUAL[i]);
        size_t n;
        char *got = slurp(name, &n);
        json_t *j = load_pb(name);
        struct cs_buf b, want;
        cs_buf_init(&b);
        cs_buf_init(&want);
        strip_managed_fields(got, n, json_object_get(j, "items") != NULL, &want);
        const char *raw = want.data;
        n = want.len;
        assert_int_equal(cs_pb_encode_object(j, &b, err, sizeof(err)), 0);
        if (b.len != n || memcmp(b.data, raw, n) != 0) {
            size_t at = 0;
            while (at < n && at < b.len && b.data[at] == raw[at]) {
                at++;
            }
            fail_msg("%s: %zu bytes encoded, the server sent %zu; first difference at %zu", name,
                     b.len, n, at);
        }
        cs_buf_free(&b);
        cs_buf_free(&want);
        json_decref(j);
        cs_free(got);
    }
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
    /* a known field of the wrong wire type: Pod.metadata (a message) as a varint */
    struct cs_buf e;
    cs_buf_init(&e);
    const unsigned char pod_tm[] = { 0x0a, 0x02, 'v', '1', 0x12, 0x03, 'P', 'o', 'd' };
    const unsigned char bad_raw[] = { 0x08, 0x01 };
    cs_buf_append(&e, "k8s", 4);
    wv(&e, 0x0a);
    wv(&e, sizeof(pod_tm));
    cs_buf_append(&e, pod_tm, sizeof(pod_tm));
    wv(&e, 0x12);
    wv(&e, sizeof(bad_raw));
    cs_buf_append(&e, bad_raw, sizeof(bad_raw));
    assert_null(cs_pb_decode_object(e.data, e.len, err, sizeof(err)));
    assert_non_null(strstr(err, "metadata: wire type 0 where the schema has 2"));
    /* a string of the wrong wire type deep down: PodSpec.nodeName (10) as a varint */
    cs_buf_reset(&e);
    const unsigned char bad_spec[] = { 0x12, 0x02, 0x50, 0x01 };
    cs_buf_append(&e, "k8s", 4);
    wv(&e, 0x0a);
    wv(&e, sizeof(pod_tm));
    cs_buf_append(&e, pod_tm, sizeof(pod_tm));
    wv(&e, 0x12);
    wv(&e, sizeof(bad_spec));
    cs_buf_append(&e, bad_spec, sizeof(bad_spec));
    assert_null(cs_pb_decode_object(e.data, e.len, err, sizeof(err)));
    assert_non_null(strstr(err, "spec.nodeName: wire type 0"));
    /* a kind outside the schema is named */
    cs_buf_reset(&e);
    const unsigned char cm_tm[] = { 0x0a, 0x02, 'v', '1', 0x12, 0x09, 'C', 'o', 'n', 'f',
                                    'i', 'g', 'M', 'a', 'p' };
    cs_buf_append(&e, "k8s", 4);
    wv(&e, 0x0a);
    wv(&e, sizeof(cm_tm));
    cs_buf_append(&e, cm_tm, sizeof(cm_tm));
    wv(&e, 0x12);
    wv(&e, 0);
    assert_null(cs_pb_decode_object(e.data, e.len, err, sizeof(err)));
    assert_non_null(strstr(err, "no protobuf schema for v1 ConfigMap"));
    cs_buf_free(&e);
    /* every prefix of a watch frame */
    size_t wn;
    char *w = slurp("watch.pb", &wn);
    size_t l0 = (size_t)(unsigned char)w[0] << 24 | (size_t)(unsigned char)w[1] << 16 |
                (size_t)(unsigned char)w[2] << 8 | (unsigned char)w[3];
    for (size_t cut = 0; cut < l0; cut++) {
        json_t *ev = cs_pb_decode_watch_event(w + 4, cut, err, sizeof(err));
        assert_null(ev);
        assert_true(err[0] != '\0');
    }
    cs_free(w);
    cs_free(c);
    cs_free(b);
}

/* What a projection should give: the members of a whole decode that pj names (a list's elements
 * each projected), apiVersion and kind aside. */
static json_t *project(json_t *v, const struct cs_pb_proj *pj)
{
    if (pj->n == 0 || !(json_is_object(v) || json_is_array(v))) {
        return json_deep_copy(v);
    }
    if (json_is_array(v)) {
        json_t *arr = json_array();
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el) {
            json_array_append_new(arr, project(el, pj));
        }
        return arr;
    }
    json_t *o = json_object();
    for (size_t i = 0; i < pj->n; i++) {
        json_t *m = json_object_get(v, pj->kids[i].name);
        if (m) {
            json_object_set_new(o, pj->kids[i].name, project(m, &pj->kids[i]));
        }
    }
    return o;
}

/* A projected decode converts exactly the members its paths name, with the values a whole decode
 * gives them: through lists (spec.volumes.name), through embedded structs (a volume's
 * persistentVolumeClaim is a member of its inline volumeSource), maps and Times whole. */
static void test_a_projection_converts_only_what_it_names(void **state)
{
    (void)state;
    const char *const paths[] = {
        "metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion",
        "metadata.deletionTimestamp", "metadata.labels", "metadata.creationTimestamp",
        "spec.nodeName", "spec.volumes.name", "spec.volumes.persistentVolumeClaim",
        "spec.containers.resources", "status.conditions", "status.capacity", NULL,
    };
    struct cs_pb_proj *pj = cs_pb_proj_new(paths);
    assert_non_null(pj);
    assert_int_equal(pj->n, 3); /* metadata, spec, status */
    const char *fixtures[] = { "pod.pb", "pod_vol.pb", "node.pb" };
    char err[512];
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        char *b = slurp(fixtures[i], &n);
        json_t *whole = cs_pb_decode_object(b, n, err, sizeof(err));
        json_t *part = cs_pb_decode_object_proj(b, n, pj, err, sizeof(err));
        if (part == NULL) {
            fail_msg("%s: %s", fixtures[i], err);
        }
        json_t *want = project(whole, pj);
        json_object_set(want, "apiVersion", json_object_get(whole, "apiVersion"));
        json_object_set(want, "kind", json_object_get(whole, "kind"));
        if (!json_equal(part, want)) {
            char *a = json_dumps(part, JSON_SORT_KEYS), *w = json_dumps(want, JSON_SORT_KEYS);
            fail_msg("%s: projected\n%s\nwanted\n%s", fixtures[i], a, w);
        }
        if (i == 1) {
            /* the embedded source came through the projection */
            json_t *vols = json_object_get(json_object_get(part, "spec"), "volumes");
            int pvc = 0;
            size_t k;
            json_t *vol;
            json_array_foreach(vols, k, vol) {
                int has = json_object_get(vol, "persistentVolumeClaim") != NULL;
                pvc += has;
                assert_int_equal(json_object_size(vol), 1 + has); /* its name, its claim */
            }
            assert_true(pvc > 0);
        }
        assert_true(json_object_size(json_object_get(part, "metadata")) >= 3);
        assert_null(json_object_get(json_object_get(part, "metadata"), "annotations"));
        json_decref(want);
        json_decref(part);
        json_decref(whole);
        /* damaged bytes under a projection: an error or a value, never a crash */
        for (size_t cut = 0; cut < n; cut += 3) {
            json_t *j = cs_pb_decode_object_proj(b, cut, pj, err, sizeof(err));
            if (j == NULL) {
                assert_true(err[0] != '\0');
            }
            json_decref(j);
        }
        cs_free(b);
    }
    cs_pb_proj_free(pj);

    /* a member named whole and by a path below it is whole, in either order */
    const char *const p1[] = { "metadata.name", "metadata", NULL };
    const char *const p2[] = { "metadata", "metadata.name", NULL };
    const char *const *both[] = { p1, p2 };
    for (size_t i = 0; i < 2; i++) {
        pj = cs_pb_proj_new(both[i]);
        assert_non_null(pj);
        assert_int_equal(pj->n, 1);
        assert_int_equal(pj->kids[0].n, 0);
        cs_pb_proj_free(pj);
    }
    const char *const bad1[] = { "metadata..name", NULL };
    const char *const bad2[] = { "metadata.", NULL };
    const char *const bad3[] = { ".name", NULL };
    assert_null(cs_pb_proj_new(bad1));
    assert_null(cs_pb_proj_new(bad2));
    assert_null(cs_pb_proj_new(bad3));
    /* no paths: an empty root, which decodes everything */
    pj = cs_pb_proj_new(NULL);
    assert_non_null(pj);
    assert_int_equal(pj->n, 0);
    size_t n;
    char *b = slurp("pod.pb", &n);
    json_t *a1 = cs_pb_decode_object_proj(b, n, pj, err, sizeof(err));
    json_t *a2 = cs_pb_decode_object(b, n, err, sizeof(err));
    assert_true(json_equal(a1, a2));
    json_decref(a1);
    json_decref(a2);
    cs_free(b);
    cs_pb_proj_free(pj);
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
        cmocka_unit_test(test_encoding_gives_the_servers_bytes),
        cmocka_unit_test(test_damaged_input_is_an_error_not_a_crash),
        cmocka_unit_test(test_a_projection_converts_only_what_it_names),
        cmocka_unit_test(test_report_decode_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
