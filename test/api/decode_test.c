/* Pod/Node decoding: every field of the full fixtures, and clear errors for malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decode.h"
#include "api/requests.h"
#include "pkg/util/intern.h"
#include "pkg/util/timeutil.h"

static json_t *load_fixture(const char *name)
{
    char path[256];
    json_error_t je;
    snprintf(path, sizeof(path), "test/fixtures/%s", name);
    json_t *j = json_load_file(path, 0, &je);
    if (j == NULL)
        fail_msg("cannot load %s: %s (run from the repository root)", path, je.text);
    return j;
}

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

static int64_t ts(const char *s)
{
    int64_t ns = 0;
    assert_int_equal(cs_parse_time(s, &ns), 0);
    return ns;
}

static const struct cs_label *labels_has(const struct cs_label *l, uint32_t n, const char *k,
                                         const char *v)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(l[i].key, k) == 0 && strcmp(l[i].value, v) == 0)
            return &l[i];
    }
    fail_msg("label %s=%s missing", k, v);
    return NULL;
}

static int slot(struct cs_api_ctx *ctx, const char *name)
{
    int s = cs_resource_slot_lookup(ctx->resources, name);
    assert_true(s >= 0);
    return s;
}

static void test_pod_full_metadata(void **state)
{
    struct cs_api_ctx *ctx = *state;
    json_t *j = load_fixture("pod_full.json");
    struct cs_pod *p;
    char err[512] = "";
    if (cs_pod_decode(ctx, j, &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);

    assert_int_equal(p->magic, CS_POD_MAGIC);
    assert_ptr_equal(p->ns, cs_intern(ctx->strings, "ml"));
    assert_string_equal(p->name, "train-job-0");
    assert_string_equal(p->key, "ml/train-job-0");
    assert_string_equal(p->uid, "0f5e8c2d-3333-4a1b-8c7d-9e0f1a2b3c4d");
    assert_string_equal(p->resource_version, "123456");
    assert_int_equal(p->rv, 123456);
    assert_int_equal(p->creation_ns, ts("2024-05-01T10:00:00Z"));
    assert_int_equal(p->deletion_ns, ts("2024-05-01T11:00:00Z"));
    assert_int_equal(p->n_labels, 3);
    labels_has(p->labels, p->n_labels, "app", "trainer");
    labels_has(p->labels, p->n_labels, "tier", "");  /* empty values are kept */
    assert_ptr_equal(p->labels[0].key, cs_intern(ctx->strings, "app"));
    assert_string_equal(cs_pod_label(p, "pod-group.scheduling.sigs.k8s.io"), "train-job");
    assert_null(cs_pod_label(p, "absent"));
    assert_int_equal(p->n_annotations, 2);
    assert_string_equal(cs_pod_annotation(p, "cosched.io/note"), "fixture \"quoted\" value");
    assert_int_equal(p->n_owners, 2);
    assert_string_equal(p->owners[0].api_version, "batch/v1");
    assert_string_equal(p->owners[0].kind, "Job");
    assert_string_equal(p->owners[0].name, "train-job");
    assert_string_equal(p->owners[0].uid, "6b0c4e3a-1111-4c57-9d3e-2f1f0d1c0a01");
    assert_true(p->owners[0].controller);
    assert_false(p->owners[1].controller);
    assert_ptr_equal(cs_pod_controller(p), &p->owners[0]);

    /* status */
    assert_int_equal(p->phase, CS_PHASE_PENDING);
    /* of the conditions only those cosched reads are kept: PodScheduled, not Ready */
    assert_int_equal(p->n_conditions, 1);
    assert_null(cs_pod_condition(p, "Ready"));
    const struct cs_condition *c = cs_pod_condition(p, "PodScheduled");
    assert_non_null(c);
    assert_int_equal(c->status, CS_COND_FALSE);
    assert_string_equal(c->reason, "Unschedulable");
    assert_string_equal(c->message, "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
    assert_int_equal(c->last_transition_ns, ts("2024-05-01T10:00:05Z"));
    assert_null(cs_pod_condition(p, "Initialized"));
    assert_ptr_equal(p->nominated_node_name, cs_intern(ctx->strings, "gpu-node-2"));
    assert_int_equal(p->start_ns, ts("2024-05-01T10:00:01Z") + 250000000);

    cs_pod_unref(p);
    json_decref(j);
}

static void test_pod_full_spec(void **state)
{
    struct cs_api_ctx *ctx = *state;
    json_t *j = load_fixture("pod_full.json");
    struct cs_pod *p;
    char err[512] = "";
    if (cs_pod_decode(ctx, j, &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);

    assert_ptr_equal(p->scheduler_name, cs_intern(ctx->strings, "ack-co-scheduler"));
    assert_ptr_equal(p->node_name, cs_intern(ctx->strings, "gpu-node-1"));
    assert_string_equal(p->priority_class_name, "ml-high");
    assert_true(p->has_priority);
    assert_int_equal(p->priority, 100000);
    assert_int_equal(p->preemption_policy, CS_PREEMPT_NEVER);
    assert_true(p->host_network);

    /* containers */
    assert_int_equal(p->n_containers, 2);
    const struct cs_container *t = &p->containers[0];
    assert_string_equal(t->name, "trainer");
    assert_string_equal(t->image, "registry.example.com/ml/trainer:v2");
    assert_int_equal(cs_res_list_get(t->requests, CS_RES_CPU), 1500);
    assert_int_equal(cs_res_list_get(t->requests, CS_RES_MEMORY), 4LL << 30);
    assert_int_equal(cs_res_list_get(t->requests, CS_RES_EPHEMERAL_STORAGE), 1LL << 30);
    int gpu = slot(ctx, "nvidia.com/gpu");
    assert_true(gpu >= CS_RES_NFIXED);
    assert_int_equal(cs_res_list_get(t->requests, gpu), 2);
    assert_int_equal(t->requests->present, (1u << CS_RES_CPU) | (1u << CS_RES_MEMORY) |
                                              (1u << CS_RES_EPHEMERAL_STORAGE) | (1u << gpu));
    assert_int_equal(cs_res_list_get(t->limits, CS_RES_CPU), 4000);
    assert_int_equal(cs_res_list_get(t->limits, CS_RES_MEMORY), 8LL << 30);
    assert_false(t->restartable);
    assert_int_equal(t->n_ports, 3);
    assert_int_equal(t->ports[0].container_port, 8080);
    assert_int_equal(t->ports[0].host_port, 18080);
    assert_int_equal(t->ports[0].protocol, CS_PROTO_TCP);
    assert_null(t->ports[0].host_ip);
    assert_int_equal(t->ports[1].host_port, 0);
    assert_int_equal(t->ports[1].protocol, CS_PROTO_UDP);
    assert_int_equal(t->ports[2].protocol, CS_PROTO_SCTP);
    assert_string_equal(t->ports[2].host_ip, "10.0.0.5");
    assert_int_equal(cs_res_list_get(p->containers[1].requests, CS_RES_CPU), 100);
    assert_int_equal(p->containers[1].n_ports, 0);

    assert_int_equal(p->n_init_containers, 2);
    assert_string_equal(p->init_containers[0].name, "fetch-data");
    assert_false(p->init_containers[0].restartable);
    assert_int_equal(cs_res_list_get(p->init_containers[0].requests, CS_RES_CPU), 3000);
    assert_string_equal(p->init_containers[1].name, "proxy");
    assert_true(p->init_containers[1].restartable);
    assert_int_equal(p->init_containers[1].n_ports, 1);

    assert_non_null(p->overhead);
    assert_int_equal(p->overhead->v[CS_RES_CPU], 250);
    assert_int_equal(p->overhead->v[CS_RES_MEMORY], 120LL << 20);
    assert_null(p->pod_requests);

    /* derived: max(1600+200, 3000) + 250 cpu; memory 4Gi+128Mi+256Mi + 120Mi */
    assert_int_equal(p->requests.v[CS_RES_CPU], 3250);
    assert_int_equal(p->requests.v[CS_RES_MEMORY], (4LL << 30) + (504LL << 20));
    assert_int_equal(p->requests.v[CS_RES_PODS], 1);
    assert_int_equal(p->requests.v[gpu], 2);
    assert_int_equal(p->nonzero_cpu, 3250);
    assert_int_equal(p->n_host_ports, 2);
    assert_int_equal(p->host_ports[0].host_port, 18080);
    assert_int_equal(p->host_ports[1].host_port, 17000);

    /* nodeSelector */
    assert_int_equal(p->n_node_selector, 2);
    labels_has(p->node_selector, p->n_node_selector, "accelerator", "nvidia-a10");
    assert_ptr_equal(p->node_selector[1].key, cs_intern(ctx->strings, "kubernetes.io/os"));

    /* tolerations */
    assert_int_equal(p->n_tolerations, 4);
    assert_ptr_equal(p->tolerations[0].key, cs_intern(ctx->strings, "nvidia.com/gpu"));
    assert_true(p->tolerations[0].op_exists);
    assert_int_equal(p->tolerations[0].effect, CS_EFFECT_NO_SCHEDULE);
    assert_false(p->tolerations[0].has_seconds);
    assert_int_equal(p->tolerations[1].effect, CS_EFFECT_NO_EXECUTE);
    assert_true(p->tolerations[1].has_seconds);
    assert_int_equal(p->tolerations[1].toleration_seconds, 300);
    assert_false(p->tolerations[2].op_exists);
    assert_string_equal(p->tolerations[2].value, "ml");
    assert_int_equal(p->tolerations[2].effect, CS_EFFECT_NONE);
    assert_null(p->tolerations[3].key);
    assert_true(p->tolerations[3].op_exists);

    /* topology spread */
    assert_int_equal(p->n_spread, 2);
    const struct cs_spread_constraint *s = &p->spread[0];
    assert_int_equal(s->max_skew, 2);
    assert_ptr_equal(s->topology_key, cs_intern(ctx->strings, "topology.kubernetes.io/zone"));
    assert_true(s->do_not_schedule);
    assert_int_equal(s->min_domains, 3);
    assert_true(s->node_affinity_policy_ignore);
    assert_true(s->node_taints_policy_honor);
    assert_int_equal(s->n_match_label_keys, 1);
    assert_string_equal(s->match_label_keys[0], "pod-template-hash");
    struct cs_label trainer = {"app", "trainer"}, other = {"app", "web"};
    assert_true(cs_selector_matches(s->label_selector, &trainer, 1));
    assert_false(cs_selector_matches(s->label_selector, &other, 1));
    s = &p->spread[1];
    assert_false(s->do_not_schedule);
    assert_false(s->node_affinity_policy_ignore);
    assert_false(s->node_taints_policy_honor);
    assert_int_equal(s->min_domains, 0);

    /* scheduling gates */
    assert_int_equal(p->n_scheduling_gates, 2);
    assert_string_equal(p->scheduling_gates[0], "example.com/quota-check");
    assert_string_equal(p->scheduling_gates[1], "example.com/data-ready");

    cs_pod_unref(p);
    json_decref(j);
}

static void test_pod_full_affinity(void **state)
{
    struct cs_api_ctx *ctx = *state;
    json_t *j = load_fixture("pod_full.json");
    struct cs_pod *p;
    char err[512] = "";
    if (cs_pod_decode(ctx, j, &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);

    const struct cs_node_affinity *na = p->node_affinity;
    assert_non_null(na);
    assert_true(na->has_required);
    assert_int_equal(na->n_required, 2);
    struct cs_label amd[] = {{"kubernetes.io/arch", "amd64"}};
    struct cs_label cp[] = {{"kubernetes.io/arch", "amd64"},
                            {"node-role.kubernetes.io/control-plane", ""}};
    assert_true(cs_selector_matches(na->required[0].match_expressions, amd, 1));
    assert_false(cs_selector_matches(na->required[0].match_expressions, cp, 2));
    assert_null(na->required[0].match_fields);
    assert_null(na->required[1].match_expressions);
    struct cs_label bad[] = {{"metadata.name", "bad-node"}}, good[] = {{"metadata.name", "n1"}};
    assert_false(cs_selector_matches(na->required[1].match_fields, bad, 1));
    assert_true(cs_selector_matches(na->required[1].match_fields, good, 1));
    assert_int_equal(na->n_preferred, 2);
    assert_int_equal(na->preferred[0].weight, 80);
    struct cs_label gn6v[] = {{"node.kubernetes.io/instance-type", "ecs.gn6v"}};
    assert_true(cs_selector_matches(na->preferred[0].term.match_expressions, gn6v, 1));
    assert_int_equal(na->preferred[1].weight, 20);
    struct cs_label four[] = {{"gpu-count", "4"}}, two[] = {{"gpu-count", "2"}};
    assert_true(cs_selector_matches(na->preferred[1].term.match_expressions, four, 1));
    assert_false(cs_selector_matches(na->preferred[1].term.match_expressions, two, 1));

    const struct cs_pod_affinity *pa = p->pod_affinity;
    assert_non_null(pa);
    assert_int_equal(pa->n_required, 1);
    const struct cs_pod_affinity_term *rt = &pa->required[0];
    struct cs_label trainer = {"app", "trainer"};
    assert_true(cs_selector_matches(rt->label_selector, &trainer, 1));
    assert_int_equal(rt->n_namespaces, 2);
    assert_ptr_equal(rt->namespaces[0], cs_intern(ctx->strings, "ml"));
    assert_string_equal(rt->namespaces[1], "ml-shared");
    assert_null(rt->namespace_selector);
    assert_ptr_equal(rt->topology_key, cs_intern(ctx->strings, "topology.kubernetes.io/zone"));
    assert_int_equal(rt->n_match_label_keys, 1);
    assert_ptr_equal(rt->match_label_keys[0],
                     cs_intern(ctx->strings, "pod-group.scheduling.sigs.k8s.io"));
    assert_int_equal(rt->n_mismatch_label_keys, 0);
    assert_int_equal(pa->n_preferred, 1);
    assert_int_equal(pa->preferred[0].weight, 50);
    assert_non_null(pa->preferred[0].term.namespace_selector);
    assert_true(cs_selector_is_empty(pa->preferred[0].term.namespace_selector));
    assert_ptr_equal(pa->preferred[0].term.topology_key,
                     cs_intern(ctx->strings, "kubernetes.io/hostname"));

    const struct cs_pod_affinity *aa = p->pod_anti_affinity;
    assert_non_null(aa);
    assert_int_equal(aa->n_required, 1);
    assert_int_equal(aa->required[0].n_mismatch_label_keys, 1);
    assert_string_equal(aa->required[0].mismatch_label_keys[0], "tenant");
    struct cs_label team = {"team", "ml"}, team2 = {"team", "web"};
    assert_true(cs_selector_matches(aa->required[0].namespace_selector, &team, 1));
    assert_false(cs_selector_matches(aa->required[0].namespace_selector, &team2, 1));
    assert_int_equal(aa->n_preferred, 1);
    assert_int_equal(aa->preferred[0].weight, 10);
    assert_true(cs_selector_matches(aa->preferred[0].term.label_selector, &trainer, 1));

    cs_pod_unref(p);
    json_decref(j);
}

static void test_node_full(void **state)
{
    struct cs_api_ctx *ctx = *state;
    json_t *j = load_fixture("node_full.json");
    struct cs_node *n;
    char err[512] = "";
    if (cs_node_decode(ctx, j, &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n->magic, CS_NODE_MAGIC);
    assert_ptr_equal(n->name, cs_intern(ctx->strings, "gpu-node-1"));
    assert_string_equal(n->uid, "a1b2c3d4-5555-4e6f-8a9b-0c1d2e3f4a5b");
    assert_string_equal(n->resource_version, "98765");
    assert_int_equal(n->rv, 98765);
    assert_int_equal(n->creation_ns, ts("2024-04-30T08:00:00Z"));
    assert_int_equal(n->deletion_ns, ts("2024-05-02T08:00:00Z"));
    assert_int_equal(n->n_labels, 7);
    assert_string_equal(cs_node_label(n, "topology.kubernetes.io/zone"), "cn-hangzhou-h");
    assert_ptr_equal(n->labels[0].key, cs_intern(ctx->strings, "beta.kubernetes.io/arch"));
    assert_int_equal(n->n_annotations, 2);
    assert_string_equal(cs_node_annotation(n, "node.alpha.kubernetes.io/ttl"), "0");
    assert_true(n->unschedulable);

    assert_int_equal(n->n_taints, 3);
    assert_ptr_equal(n->taints[0].key, cs_intern(ctx->strings, "nvidia.com/gpu"));
    assert_string_equal(n->taints[0].value, "present");
    assert_int_equal(n->taints[0].effect, CS_EFFECT_NO_SCHEDULE);
    assert_null(n->taints[1].value);
    assert_int_equal(n->taints[1].effect, CS_EFFECT_NO_EXECUTE);
    assert_int_equal(n->taints[2].effect, CS_EFFECT_PREFER_NO_SCHEDULE);

    assert_int_equal(n->capacity.v[CS_RES_CPU], 32000);
    assert_int_equal(n->capacity.v[CS_RES_MEMORY], 131767640LL * 1024);
    assert_int_equal(n->capacity.v[CS_RES_EPHEMERAL_STORAGE], 206291924LL * 1024);
    assert_int_equal(n->allocatable.v[CS_RES_CPU], 31850);
    assert_int_equal(n->allocatable.v[CS_RES_MEMORY], 127442784LL * 1024);
    assert_int_equal(n->allocatable.v[CS_RES_EPHEMERAL_STORAGE], 190207375073LL);
    assert_int_equal(n->allocatable.v[CS_RES_PODS], 110);
    int gpu = slot(ctx, "nvidia.com/gpu"), hp = slot(ctx, "hugepages-2Mi");
    assert_int_equal(n->allocatable.v[gpu], 4);
    assert_true(n->allocatable.present & (1u << hp));
    assert_int_equal(n->allocatable.v[hp], 0);

    assert_int_equal(n->n_conditions, 2);
    const struct cs_condition *c = cs_node_condition(n, "Ready");
    assert_int_equal(c->status, CS_COND_TRUE);
    assert_string_equal(c->reason, "KubeletReady");
    assert_int_equal(c->last_transition_ns, ts("2024-04-30T08:02:00Z"));
    assert_int_equal(cs_node_condition(n, "MemoryPressure")->status, CS_COND_FALSE);

    assert_int_equal(n->n_images, 2);
    assert_int_equal(n->images[0].n_names, 2);
    assert_string_equal(n->images[0].names[1], "registry.example.com/ml/trainer:v2");
    assert_int_equal(n->images[0].size_bytes, 5368709120LL);
    assert_int_equal(n->images[1].size_bytes, 321520);

    /* refcounting: the object survives until the last unref */
    assert_ptr_equal(cs_node_ref(n), n);
    cs_node_unref(n);
    assert_int_equal(n->magic, CS_NODE_MAGIC);
    cs_node_unref(n);
    cs_node_unref(NULL);
    json_decref(j);
}

static void test_minimal_objects_get_defaults(void **state)
{
    struct cs_api_ctx *ctx = *state;
    struct cs_pod *p;
    struct cs_node *n;
    char err[512] = "";
    /* A watch-event object: no kind, no apiVersion, no namespace, no status. */
    const char *pod = "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}";
    if (cs_pod_decode_text(ctx, pod, strlen(pod), &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(p->key, "default/p");
    assert_ptr_equal(p->scheduler_name, cs_intern(ctx->strings, "default-scheduler"));
    assert_null(p->node_name);
    assert_null(p->uid);
    assert_false(p->has_priority);
    assert_int_equal(p->phase, CS_PHASE_PENDING);
    assert_null(p->node_affinity);
    assert_null(p->pod_affinity);
    assert_int_equal(p->n_labels, 0);
    assert_int_equal(p->requests.v[CS_RES_CPU], 0);
    assert_int_equal(p->requests.v[CS_RES_PODS], 1);
    assert_int_equal(p->nonzero_cpu, CS_DEFAULT_MILLI_CPU_REQUEST);
    assert_int_equal(p->nonzero_memory, CS_DEFAULT_MEMORY_REQUEST);
    cs_pod_unref(p);

    const char *node = "{\"metadata\":{\"name\":\"n\",\"resourceVersion\":\"abc\"},"
                       "\"status\":{\"capacity\":{\"cpu\":\"2\",\"pods\":\"10\"}}}";
    if (cs_node_decode_text(ctx, node, strlen(node), &n, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_int_equal(n->rv, 0);  /* not numeric */
    assert_int_equal(n->allocatable.v[CS_RES_CPU], 2000);  /* defaults to capacity */
    assert_int_equal(n->allocatable.v[CS_RES_PODS], 10);
    assert_false(n->unschedulable);
    cs_node_unref(n);
}

static void test_explicit_empty_required_terms(void **state)
{
    struct cs_api_ctx *ctx = *state;
    struct cs_pod *p;
    char err[512] = "";
    const char *pod = "{\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},\"spec\":{\"affinity\":{"
                      "\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
                      "{\"nodeSelectorTerms\":[]}}}}}";
    if (cs_pod_decode_text(ctx, pod, strlen(pod), &p, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_non_null(p->node_affinity);
    assert_true(p->node_affinity->has_required);
    assert_int_equal(p->node_affinity->n_required, 0);
    cs_pod_unref(p);
}

/* ---- malformed input ---------------------------------------------------------------------- */

/* Replace the value at a dotted path (numeric parts index arrays) with v (stolen). */
static void mutate(json_t *root, const char *path, json_t *v)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    char *save = NULL;
    char *part = strtok_r(buf, ".", &save);
    while (part != NULL) {
        char *next = strtok_r(NULL, ".", &save);
        char *end;
        long idx = strtol(part, &end, 10);
        bool is_idx = *end == '\0' && json_is_array(cur);
        if (next == NULL) {
            if (is_idx)
                assert_int_equal(json_array_set_new(cur, (size_t)idx, v), 0);
            else
                assert_int_equal(json_object_set_new(cur, part, v), 0);
            return;
        }
        cur = is_idx ? json_array_get(cur, (size_t)idx) : json_object_get(cur, part);
        if (cur == NULL)
            fail_msg("mutation path %s: %s missing", path, part);
        part = next;
    }
}

struct mutation {
    const char *fixture;
    const char *path;     /* where to put the bad value */
    const char *value;    /* JSON text of the bad value */
    const char *want;     /* substring of the error */
};

static const struct mutation mutations[] = {
    {"pod_full.json", "spec.priority", "\"high\"",
     "pod ml/train-job-0: spec.priority: expected integer, got string"},
    {"pod_full.json", "spec.priority", "4294967296", "spec.priority: value 4294967296 out of range"},
    {"pod_full.json", "spec.containers", "{}", "spec.containers: expected array, got object"},
    {"pod_full.json", "spec.containers.0", "\"x\"", "spec.containers[0]: expected object"},
    {"pod_full.json", "spec.containers.0.resources.requests.cpu", "\"1.2.3\"",
     "pod ml/train-job-0: spec.containers[0].resources.requests.cpu: invalid quantity \"1.2.3\""},
    {"pod_full.json", "spec.containers.0.resources.limits.memory", "true",
     "spec.containers[0].resources.limits.memory: quantity must be a string or a number"},
    {"pod_full.json", "spec.containers.0.resources.requests", "[]",
     "spec.containers[0].resources.requests: expected an object"},
    {"pod_full.json", "spec.containers.0.ports.0.hostPort", "\"80\"",
     "spec.containers[0].ports[0].hostPort: expected integer, got string"},
    {"pod_full.json", "spec.containers.0.ports.1.protocol", "\"HTTP\"",
     "spec.containers[0].ports[1].protocol: unsupported value \"HTTP\""},
    {"pod_full.json", "spec.containers.0.name", "7", "spec.containers[0].name: expected string"},
    {"pod_full.json", "spec.initContainers.1.restartPolicy", "1",
     "spec.initContainers[1].restartPolicy: expected string"},
    {"pod_full.json", "spec.initContainers.0.resources.requests.memory", "\"1 Gi\"",
     "spec.initContainers[0].resources.requests.memory: invalid quantity \"1 Gi\""},
    {"pod_full.json", "spec.overhead.cpu", "\"Gi\"", "spec.overhead.cpu: invalid quantity"},
    {"pod_full.json", "spec.resources", "{\"requests\":{\"cpu\":\"x\"}}",
     "spec.resources.requests.cpu: invalid quantity \"x\""},
    {"pod_full.json", "spec.nodeName", "[]", "spec.nodeName: expected string, got array"},
    {"pod_full.json", "spec.schedulerName", "false", "spec.schedulerName: expected string"},
    {"pod_full.json", "spec.hostNetwork", "\"yes\"", "spec.hostNetwork: expected boolean"},
    {"pod_full.json", "spec.preemptionPolicy", "\"Sometimes\"",
     "spec.preemptionPolicy: unsupported value \"Sometimes\""},
    {"pod_full.json", "spec.nodeSelector", "[\"a\"]", "spec.nodeSelector: expected object"},
    {"pod_full.json", "spec.nodeSelector.accelerator", "5",
     "spec.nodeSelector.accelerator: expected string"},
    {"pod_full.json", "spec.affinity", "1", "spec.affinity: expected object"},
    {"pod_full.json", "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution",
     "[]", "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution: expected object"},
    {"pod_full.json",
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms.0.matchExpressions",
     "{}", "nodeSelectorTerms[0].matchExpressions: expected array"},
    {"pod_full.json",
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.weight", "\"80\"",
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: expected integer"},
    {"pod_full.json",
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution.1.preference", "[]",
     "preferredDuringSchedulingIgnoredDuringExecution[1].preference: expected object"},
    {"pod_full.json", "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.topologyKey",
     "{}", "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: expected string"},
    {"pod_full.json", "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.namespaces",
     "[\"ml\", 3]", "requiredDuringSchedulingIgnoredDuringExecution[0].namespaces[1]: expected string, got integer"},
    {"pod_full.json", "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.labelSelector",
     "\"app=x\"", "requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector: expected object"},
    {"pod_full.json",
     "spec.affinity.podAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm.namespaceSelector",
     "7", "podAffinityTerm.namespaceSelector: expected object"},
    {"pod_full.json",
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.mismatchLabelKeys",
     "\"tenant\"", "podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].mismatchLabelKeys: expected array"},
    {"pod_full.json",
     "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.0.podAffinityTerm",
     "null", "podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm: required"},
    {"pod_full.json", "spec.affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution.0.matchLabelKeys",
     "[{}]", "matchLabelKeys[0]: expected string, got object"},
    {"pod_full.json", "spec.tolerations.1.tolerationSeconds", "\"300\"",
     "spec.tolerations[1].tolerationSeconds: expected integer"},
    {"pod_full.json", "spec.tolerations.0.operator", "\"Maybe\"",
     "spec.tolerations[0].operator: unsupported value \"Maybe\""},
    {"pod_full.json", "spec.tolerations.0.effect", "\"NoRun\"", "spec.tolerations[0].effect: unsupported value"},
    {"pod_full.json", "spec.tolerations.2.key", "1", "spec.tolerations[2].key: expected string"},
    {"pod_full.json", "spec.topologySpreadConstraints.0.maxSkew", "1.5",
     "spec.topologySpreadConstraints[0].maxSkew: expected integer, got number"},
    {"pod_full.json", "spec.topologySpreadConstraints.0.whenUnsatisfiable", "\"Never\"",
     "spec.topologySpreadConstraints[0].whenUnsatisfiable: unsupported value"},
    {"pod_full.json", "spec.topologySpreadConstraints.0.nodeTaintsPolicy", "\"Always\"",
     "spec.topologySpreadConstraints[0].nodeTaintsPolicy: unsupported value"},
    {"pod_full.json", "spec.topologySpreadConstraints.0.matchLabelKeys", "[1]",
     "spec.topologySpreadConstraints[0].matchLabelKeys[0]: expected string"},
    {"pod_full.json", "spec.topologySpreadConstraints.1.labelSelector", "[]",
     "spec.topologySpreadConstraints[1].labelSelector: expected object"},
    {"pod_full.json", "spec.schedulingGates.0", "\"gate\"", "spec.schedulingGates[0]: expected object"},
    {"pod_full.json", "spec.schedulingGates.1.name", "null", "spec.schedulingGates[1].name: required"},
    {"pod_full.json", "metadata.labels.app", "1", "pod ml/train-job-0: metadata.labels.app: expected string"},
    {"pod_full.json", "metadata.annotations", "\"x\"", "metadata.annotations: expected object"},
    {"pod_full.json", "metadata.ownerReferences.0.controller", "\"true\"",
     "metadata.ownerReferences[0].controller: expected boolean"},
    {"pod_full.json", "metadata.creationTimestamp", "\"yesterday\"",
     "metadata.creationTimestamp: invalid time \"yesterday\""},
    {"pod_full.json", "metadata.deletionTimestamp", "12", "metadata.deletionTimestamp: expected string"},
    {"pod_full.json", "metadata.name", "null", "pod <unknown>: metadata.name: required"},
    {"pod_full.json", "metadata.name", "5", "pod <unknown>: metadata.name: expected string"},
    {"pod_full.json", "metadata.namespace", "{}", "pod <unknown>: metadata.namespace: expected string"},
    {"pod_full.json", "metadata", "[]", "pod <unknown>: metadata: expected object"},
    {"pod_full.json", "kind", "\"Node\"", "pod <unknown>: kind: expected \"Pod\", got \"Node\""},
    {"pod_full.json", "spec", "\"s\"", "pod ml/train-job-0: spec: expected object"},
    {"pod_full.json", "status.phase", "\"Sleeping\"", "status.phase: unsupported value \"Sleeping\""},
    {"pod_full.json", "status.conditions.0.status", "\"Yes\"", "status.conditions[0].status: unsupported value"},
    {"pod_full.json", "status.conditions.1.type", "null", "status.conditions[1].type: required"},
    {"pod_full.json", "status.conditions.0.lastTransitionTime", "\"2024-13-45\"",
     "status.conditions[0].lastTransitionTime: invalid time"},
    {"pod_full.json", "status.nominatedNodeName", "1", "status.nominatedNodeName: expected string"},
    {"pod_full.json", "status.startTime", "true", "status.startTime: expected string"},
    {"node_full.json", "spec.unschedulable", "\"true\"", "node gpu-node-1: spec.unschedulable: expected boolean"},
    {"node_full.json", "spec.taints", "{}", "node gpu-node-1: spec.taints: expected array"},
    {"node_full.json", "spec.taints.0.effect", "\"NoWay\"", "spec.taints[0].effect: unsupported value"},
    {"node_full.json", "spec.taints.1.effect", "null", "spec.taints[1].effect: required"},
    {"node_full.json", "spec.taints.2.key", "\"\"", "spec.taints[2].key: required"},
    {"node_full.json", "status.capacity.cpu", "\"32 cores\"",
     "node gpu-node-1: status.capacity.cpu: invalid quantity \"32 cores\""},
    {"node_full.json", "status.allocatable", "[]", "status.allocatable: expected object"},
    {"node_full.json", "status.allocatable.memory", "\"1Z\"", "status.allocatable.memory: invalid quantity"},
    {"node_full.json", "status.conditions", "\"Ready\"", "status.conditions: expected array"},
    {"node_full.json", "status.images.0.sizeBytes", "\"5G\"", "status.images[0].sizeBytes: expected integer"},
    {"node_full.json", "status.images.1.names", "\"pause\"", "status.images[1].names: expected array"},
    {"node_full.json", "metadata.labels", "[]", "node gpu-node-1: metadata.labels: expected object"},
    {"node_full.json", "metadata.name", "\"\"", "node <unknown>: metadata.name: required"},
    {"node_full.json", "kind", "\"Pod\"", "node <unknown>: kind: expected \"Node\", got \"Pod\""},
};

static void test_mutations_give_clear_errors(void **state)
{
    struct cs_api_ctx *ctx = *state;
    for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
        const struct mutation *m = &mutations[i];
        json_t *root = load_fixture(m->fixture);
        json_error_t je;
        json_t *v = json_loads(m->value, JSON_DECODE_ANY, &je);
        assert_non_null(v);
        mutate(root, m->path, v);
        char err[512] = "";
        int rc;
        if (strncmp(m->fixture, "pod", 3) == 0) {
            struct cs_pod *p = (struct cs_pod *)0x1;
            rc = cs_pod_decode(ctx, root, &p, err, sizeof(err));
            assert_null(p);
        } else {
            struct cs_node *n = (struct cs_node *)0x1;
            rc = cs_node_decode(ctx, root, &n, err, sizeof(err));
            assert_null(n);
        }
        if (rc != -1)
            fail_msg("mutation %s=%s accepted", m->path, m->value);
        if (strstr(err, m->want) == NULL)
            fail_msg("mutation %s=%s:\n  got  %s\n  want %s", m->path, m->value, err, m->want);
        json_decref(root);
    }
}

/* Null is "absent" everywhere, and unknown fields are ignored. */
static void test_nulls_and_unknown_fields(void **state)
{
    struct cs_api_ctx *ctx = *state;
    static const char *const null_paths[] = {
        "spec.affinity", "spec.tolerations", "spec.containers.0.resources", "spec.overhead",
        "spec.priority", "status", "metadata.labels", "spec.nodeName", "spec.schedulingGates",
    };
    for (size_t i = 0; i < sizeof(null_paths) / sizeof(null_paths[0]); i++) {
        json_t *root = load_fixture("pod_full.json");
        mutate(root, null_paths[i], json_null());
        mutate(root, "spec.futureField", json_pack("{s:[i]}", "x", 1));
        mutate(root, "spec.containers.0.futureField", json_string("x"));
        struct cs_pod *p;
        char err[512] = "";
        if (cs_pod_decode(ctx, root, &p, err, sizeof(err)) != 0)
            fail_msg("null %s: %s", null_paths[i], err);
        cs_pod_unref(p);
        json_decref(root);
    }
}

static void test_malformed_fixtures_and_text(void **state)
{
    struct cs_api_ctx *ctx = *state;
    static const struct {
        const char *file;
        const char *want;
    } files[] = {
        {"pod_bad_quantity.json", "pod default/bad-quantity: spec.containers[0].resources.requests.cpu: invalid quantity \"1.2.3\""},
        {"pod_bad_types.json", "pod team-a/bad-types: spec.priority: expected integer, got string"},
        {"pod_truncated.json", "pod: invalid JSON at line"},
        {"pod_not_object.json", "pod <unknown>: expected a JSON object"},
        {"node_bad_taint.json", "node worker-7: spec.taints[0].effect: unsupported value \"Sometimes\""},
        {"node_bad_capacity.json", "node worker-8: status.capacity.memory: invalid quantity \"--1Gi\""},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "test/fixtures/%s", files[i].file);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            fail_msg("missing fixture %s", path);
        char text[8192];
        size_t len = fread(text, 1, sizeof(text), f);
        fclose(f);
        char err[512] = "";
        int rc;
        if (strncmp(files[i].file, "pod", 3) == 0) {
            struct cs_pod *p;
            rc = cs_pod_decode_text(ctx, text, len, &p, err, sizeof(err));
            assert_null(p);
        } else {
            struct cs_node *n;
            rc = cs_node_decode_text(ctx, text, len, &n, err, sizeof(err));
            assert_null(n);
        }
        assert_int_equal(rc, -1);
        if (strstr(err, files[i].want) == NULL)
            fail_msg("%s:\n  got  %s\n  want %s", files[i].file, err, files[i].want);
    }
}

/* Every prefix of the fixture is rejected cleanly (no crash, no leak, an error message). */
static void test_truncated_prefixes(void **state)
{
    struct cs_api_ctx *ctx = *state;
    json_t *j = load_fixture("pod_full.json");
    char *text = json_dumps(j, JSON_COMPACT);
    size_t len = strlen(text);
    for (size_t n = 0; n < len; n += 7) {
        struct cs_pod *p;
        char err[512] = "";
        assert_int_equal(cs_pod_decode_text(ctx, text, n, &p, err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
    struct cs_pod *p;
    char err[512];
    assert_int_equal(cs_pod_decode_text(ctx, text, len, &p, err, sizeof(err)), 0);
    cs_pod_unref(p);
    free(text);
    json_decref(j);
}

/* Issue 7, defect 8: any number of extended resource names. The first ones get dense slots,
 * the rest are kept by name (extras): 40 distinct names on a node and a pod decode, and each
 * value is where it belongs. */
static void test_resource_table_full(void **state)
{
    (void)state;
    struct cs_api_ctx ctx;
    cs_api_ctx_init(&ctx);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_puts(&b, "{\"metadata\":{\"name\":\"n\"},\"status\":{\"capacity\":{");
    for (int i = 0; i < 40; i++)
        cs_buf_printf(&b, "%s\"example.com/r%d\":\"%d\"", i ? "," : "", i, i + 1);
    cs_buf_puts(&b, "}}}");
    struct cs_node *n;
    char err[512] = "";
    assert_int_equal(cs_node_decode_text(&ctx, b.data, b.len, &n, err, sizeof(err)), 0);
    assert_int_equal(cs_resource_count(ctx.resources), CS_RES_MAX);
    int dense = 0;
    for (int i = 0; i < 40; i++) {
        char name[64];
        snprintf(name, sizeof(name), "example.com/r%d", i);
        int slot = cs_resource_slot_lookup(ctx.resources, name);
        int64_t v = slot >= 0 ? n->allocatable.v[slot]
                              : cs_res_extra_get(&n->extra_allocatable, cs_intern(ctx.strings, name));
        dense += slot >= 0;
        assert_int_equal(v, i + 1);
    }
    assert_int_equal(dense, CS_RES_MAX - CS_RES_NFIXED);
    assert_int_equal(n->extra_allocatable.n, 40 - dense);
    cs_node_unref(n);

    /* a pod asking for one dense and one extra name, by request and by limit */
    const char *pod = "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":{\"containers\":["
                      "{\"name\":\"a\",\"resources\":{\"requests\":{\"example.com/r39\":\"2\"}}},"
                      "{\"name\":\"b\",\"resources\":{\"limits\":{\"example.com/r39\":\"3\","
                      "\"example.com/r1\":\"1\"}}}]}}";
    struct cs_pod *p;
    assert_int_equal(cs_pod_decode_text(&ctx, pod, strlen(pod), &p, err, sizeof(err)), 0);
    assert_int_equal(cs_res_extra_get(&p->extra_requests, cs_intern(ctx.strings, "example.com/r39")), 5);
    assert_int_equal(p->requests.v[cs_resource_slot_lookup(ctx.resources, "example.com/r1")], 1);
    cs_pod_unref(p);
    cs_buf_free(&b);
    cs_api_ctx_destroy(&ctx);
}

/* Issue 7, defect 6: a pod the full decoder refuses is still read as far as it can be: without
 * its constraint fields it keeps its requests, labels and node; with unreadable containers it
 * keeps identity, labels and node (it counts as one pod). The error is kept for the caller. */
static void test_pod_lenient_decode(void **state)
{
    struct cs_api_ctx *ctx = *state;
    char err[512] = "";
    json_error_t jerr;
    json_t *bad_tol = json_loads(
        "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\",\"labels\":{\"app\":\"x\"}},"
        "\"spec\":{\"nodeName\":\"n1\",\"tolerations\":[{\"key\":\"k\",\"tolerationSeconds\":\"soon\"}],"
        "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"3\"}}}]}}",
        0, &jerr);
    assert_non_null(bad_tol);
    struct cs_pod *p = NULL;
    assert_int_not_equal(cs_pod_decode(ctx, bad_tol, &p, err, sizeof(err)), 0);
    assert_int_equal(cs_pod_decode_lenient(ctx, bad_tol, &p, err, sizeof(err)), 0);
    assert_non_null(p->decode_error);
    assert_non_null(strstr(p->decode_error, "tolerationSeconds"));
    assert_string_equal(p->node_name, "n1");
    assert_int_equal(p->requests.v[CS_RES_CPU], 3000);
    labels_has(p->labels, p->n_labels, "app", "x");
    cs_pod_unref(p);
    json_decref(bad_tol);

    json_t *bad_qty = json_loads(
        "{\"metadata\":{\"name\":\"q\",\"namespace\":\"ns\"},\"spec\":{\"nodeName\":\"n1\","
        "\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"resources\":{\"requests\":{\"cpu\":\"lots\"}}}]}}",
        0, &jerr);
    assert_int_equal(cs_pod_decode_lenient(ctx, bad_qty, &p, err, sizeof(err)), 0);
    assert_non_null(strstr(p->decode_error, "cpu"));
    assert_string_equal(p->node_name, "n1");
    assert_int_equal(p->requests.v[CS_RES_CPU], 0);
    assert_int_equal(p->requests.v[CS_RES_PODS], 1);
    cs_pod_unref(p);
    json_decref(bad_qty);

    json_t *no_meta = json_loads("{\"spec\":{}}", 0, &jerr);
    assert_int_equal(cs_pod_decode_lenient(ctx, no_meta, &p, err, sizeof(err)), -1);
    assert_null(p);
    json_decref(no_meta);
}

/* Issue 7, defect 7: a node-affinity term upstream cannot parse (an unknown operator, a value
 * that is no label value, Gt with a non-integer) is not a decode error: the term matches no
 * node, as component-helpers' node selector does. */
static void test_unparsable_node_affinity_term_matches_nothing(void **state)
{
    struct cs_api_ctx *ctx = *state;
    static const char *const exprs[] = {
        "{\"key\":\"zone\",\"operator\":\"Near\",\"values\":[\"a\"]}",
        "{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"not a label value!\"]}",
        "{\"key\":\"cores\",\"operator\":\"Gt\",\"values\":[\"many\"]}",
    };
    for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "{\"metadata\":{\"name\":\"p\",\"namespace\":\"ns\"},\"spec\":{\"affinity\":"
                 "{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":"
                 "{\"nodeSelectorTerms\":[{\"matchExpressions\":[%s]},{\"matchExpressions\":"
                 "[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\"]}]}]}}},"
                 "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
                 exprs[i]);
        struct cs_pod *p = NULL;
        char err[512] = "";
        int rc = cs_pod_decode_text(ctx, text, strlen(text), &p, err, sizeof(err));
        if (rc != 0) {
            print_error("row %zu: %s\n", i, err);
        }
        assert_int_equal(rc, 0);
        assert_non_null(p->node_affinity);
        assert_int_equal(p->node_affinity->n_required, 2);
        assert_true(p->node_affinity->required[0].invalid);
        assert_false(p->node_affinity->required[1].invalid);
        cs_pod_unref(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pod_full_metadata, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_full_spec, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pod_full_affinity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_node_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_minimal_objects_get_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_explicit_empty_required_terms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutations_give_clear_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nulls_and_unknown_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_fixtures_and_text, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_prefixes, setup, teardown),
        cmocka_unit_test(test_resource_table_full),
        cmocka_unit_test_setup_teardown(test_pod_lenient_decode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unparsable_node_affinity_term_matches_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
