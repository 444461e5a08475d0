/*
 * Specification of pod equivalence (pkg/framework/equiv.c), which lets the framework reuse
 * per-node filter results and raw scores for the next pod: pods that differ only in identity
 * (name, uid, resourceVersion) or status are equivalent; any difference in a field a scheduling
 * plugin may read makes them different, and pods with pod (anti-)affinity or topology spread
 * constraints are never equivalent to another pod object.
 */
#include "test/pkg/framework/fwtest.h"

/* The fields a variant may change; NULL keeps the base value. */
struct pod_fields {
    const char *name, *ns, *uid, *rv, *labels, *annotations, *scheduler, *priority, *selector,
        *tolerations, *affinity, *image, *cpu, *ports, *status, *extra_spec;
};

static const struct pod_fields base = {
    .name = "p1",
    .ns = "default",
    .uid = "u1",
    .rv = "10",
    .labels = "{'app':'web'}",
    .annotations = "{'a':'1'}",
    .scheduler = "default-scheduler",
    .priority = "0",
    .selector = "{'zone':'a'}",
    .tolerations = "[{'key':'k','operator':'Exists','effect':'NoSchedule'}]",
    .affinity = "",
    .image = "img:1",
    .cpu = "100m",
    .ports = "[{'containerPort':80}]",
    .status = "{'phase':'Pending'}",
    .extra_spec = "",
};

#define PICK(f) (v->f ? v->f : base.f)

static struct cs_pod *mk(const struct cs_api_ctx *api, const struct pod_fields *v)
{
    return fw_podf(api,
                   "{'metadata':{'name':'%s','namespace':'%s','uid':'%s','resourceVersion':'%s',"
                   "'labels':%s,'annotations':%s},'spec':{'schedulerName':'%s','priority':%s,"
                   "'nodeSelector':%s,'tolerations':%s,%s%s'containers':[{'name':'c','image':'%s',"
                   "'resources':{'requests':{'cpu':'%s','memory':'1Gi'}},'ports':%s}]},"
                   "'status':%s}",
                   PICK(name), PICK(ns), PICK(uid), PICK(rv), PICK(labels), PICK(annotations),
                   PICK(scheduler), PICK(priority), PICK(selector), PICK(tolerations),
                   PICK(affinity), PICK(extra_spec), PICK(image), PICK(cpu), PICK(ports),
                   PICK(status));
}

struct row {
    const char *what;
    struct pod_fields v;
};

/* Identity and status differences: still equivalent (both ways). */
static void test_equiv_identity_and_status_do_not_matter(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"same fields", {0}},
        {"name", {.name = "p2"}},
        {"uid", {.uid = "u2"}},
        {"resourceVersion", {.rv = "11"}},
        {"name, uid and rv", {.name = "other", .uid = "u9", .rv = "99"}},
        {"status", {.status = "{'phase':'Pending','conditions':[{'type':'PodScheduled',"
                              "'status':'False','reason':'Unschedulable'}]}"}},
        {"status nominated", {.status = "{'phase':'Pending','nominatedNodeName':'n3'}"}},
    };
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *a = mk(&api, &base);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cs_pod *b = mk(&api, &rows[i].v);
        if (!cs_fw_pod_equivalent(a, b) || !cs_fw_pod_equivalent(b, a)) {
            print_error("row %zu (%s): should be equivalent\n", i, rows[i].what);
        }
        assert_true(cs_fw_pod_equivalent(a, b));
        assert_true(cs_fw_pod_equivalent(b, a));
        cs_pod_unref(b);
    }
    cs_pod_unref(a);
    cs_api_ctx_destroy(&api);
}

/* Each difference a plugin may read makes pods different (both ways). */
static void test_equiv_each_relevant_difference(void **state)
{
    (void)state;
    static const struct row rows[] = {
        {"cpu request", {.cpu = "200m"}},
        {"label value", {.labels = "{'app':'db'}"}},
        {"extra label", {.labels = "{'app':'web','tier':'x'}"}},
        {"no labels", {.labels = "{}"}},
        {"annotation value", {.annotations = "{'a':'2'}"}},
        {"extra annotation", {.annotations = "{'a':'1','b':'1'}"}},
        {"node selector value", {.selector = "{'zone':'b'}"}},
        {"node selector key", {.selector = "{'region':'a'}"}},
        {"no node selector", {.selector = "{}"}},
        {"toleration key", {.tolerations = "[{'key':'j','operator':'Exists','effect':'NoSchedule'}]"}},
        {"toleration effect", {.tolerations = "[{'key':'k','operator':'Exists','effect':'NoExecute'}]"}},
        {"toleration operator", {.tolerations = "[{'key':'k','operator':'Equal','value':'',"
                                                 "'effect':'NoSchedule'}]"}},
        {"no tolerations", {.tolerations = "[]"}},
        {"node affinity", {.affinity = "'affinity':{'nodeAffinity':{"
                                       "'requiredDuringSchedulingIgnoredDuringExecution':{"
                                       "'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone',"
                                       "'operator':'In','values':['a']}]}]}}},"}},
        {"preferred node affinity", {.affinity = "'affinity':{'nodeAffinity':{"
                                                 "'preferredDuringSchedulingIgnoredDuringExecution':"
                                                 "[{'weight':5,'preference':{'matchExpressions':[{"
                                                 "'key':'zone','operator':'In','values':['a']}]}}]}},"}},
        {"host port", {.ports = "[{'containerPort':80,'hostPort':80}]"}},
        {"container port", {.ports = "[{'containerPort':81}]"}},
        {"image", {.image = "img:2"}},
        {"namespace", {.ns = "other"}},
        {"schedulerName", {.scheduler = "other-scheduler"}},
        {"priority", {.priority = "5"}},
        {"nodeName", {.extra_spec = "'nodeName':'n1',"}},
        {"init container", {.extra_spec = "'initContainers':[{'name':'i','image':'init:1'}],"}},
        {"overhead", {.extra_spec = "'overhead':{'cpu':'10m'},"}},
        {"hostNetwork", {.extra_spec = "'hostNetwork':true,"}},
        {"preemptionPolicy", {.extra_spec = "'preemptionPolicy':'Never',"}},
    };
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *a = mk(&api, &base);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct cs_pod *b = mk(&api, &rows[i].v);
        if (cs_fw_pod_equivalent(a, b) || cs_fw_pod_equivalent(b, a)) {
            print_error("row %zu (%s): should differ\n", i, rows[i].what);
        }
        assert_false(cs_fw_pod_equivalent(a, b));
        assert_false(cs_fw_pod_equivalent(b, a));
        cs_pod_unref(b);
    }
    cs_pod_unref(a);
    cs_api_ctx_destroy(&api);
}

/* Pods with pod affinity, pod anti-affinity or topology spread are never equivalent to another
 * pod object, not even to an identical copy (their plugins look at other nodes' pods); a pod
 * object is always equivalent to itself. */
static void test_equiv_pod_affinity_never_equivalent(void **state)
{
    (void)state;
    static const char *const extra[] = {
        "'affinity':{'podAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
        "'labelSelector':{'matchLabels':{'app':'web'}},'topologyKey':'zone'}]}},",
        "'affinity':{'podAntiAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
        "'weight':1,'podAffinityTerm':{'labelSelector':{'matchLabels':{'app':'web'}},"
        "'topologyKey':'kubernetes.io/hostname'}}]}},",
        "'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'zone',"
        "'whenUnsatisfiable':'DoNotSchedule','labelSelector':{'matchLabels':{'app':'web'}}}],",
    };
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *plain = mk(&api, &base);
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        struct pod_fields v1 = {.extra_spec = extra[i]};
        struct pod_fields v2 = {.extra_spec = extra[i], .name = "p2", .uid = "u2"};
        struct cs_pod *a = mk(&api, &v1);
        struct cs_pod *b = mk(&api, &v2);
        struct cs_pod *same = mk(&api, &v1);
        assert_false(cs_fw_pod_equivalent(a, b));
        assert_false(cs_fw_pod_equivalent(a, same));
        assert_false(cs_fw_pod_equivalent(a, plain));
        assert_false(cs_fw_pod_equivalent(plain, a));
        assert_true(cs_fw_pod_equivalent(a, a));
        cs_pod_unref(a);
        cs_pod_unref(b);
        cs_pod_unref(same);
    }
    assert_true(cs_fw_pod_equivalent(plain, plain));
    cs_pod_unref(plain);
    cs_api_ctx_destroy(&api);
}

/* Without a node-local plugin that reads the pod's own labels or annotations
 * (CS_PLUGIN_POD_META), pods that differ only there are equivalent; with one, they are not.
 * Any other difference still separates them. */
static void test_equiv_meta_only_when_read(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct pod_fields v = base;
    v.labels = "{'pod-group.scheduling.sigs.k8s.io/name':'g2'}";
    v.annotations = "{'b':'2'}";
    v.name = "p2";
    struct cs_pod *a = mk(&api, &base);
    struct cs_pod *b = mk(&api, &v);
    assert_true(cs_fw_pod_equivalent_meta(a, b, false));
    assert_false(cs_fw_pod_equivalent_meta(a, b, true));
    assert_false(cs_fw_pod_equivalent(a, b));
    struct pod_fields w = v;
    w.cpu = "3";
    struct cs_pod *c = mk(&api, &w);
    assert_false(cs_fw_pod_equivalent_meta(a, c, false));
    cs_pod_unref(a);
    cs_pod_unref(b);
    cs_pod_unref(c);
    cs_api_ctx_destroy(&api);
}

/* Issue 7, defect 9: the queue asks whether an update changed anything scheduling depends on.
 * For pods with affinity or spread constraints a status-only update (our own PodScheduled
 * condition) is no change; a change of the constraints is. */
static void test_sched_same_for_constrained_pods(void **state)
{
    (void)state;
    static const char *aff = "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
                             "'labelSelector':{'matchLabels':{'app':'web'}},'topologyKey':'zone'}]}},";
    static const char *aff2 = "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
                              "'labelSelector':{'matchLabels':{'app':'db'}},'topologyKey':'zone'}]}},";
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct pod_fields v1 = {.extra_spec = aff};
    struct pod_fields v2 = {.extra_spec = aff, .rv = "11",
                            .status = "{'conditions':[{'type':'PodScheduled','status':'False',"
                                      "'reason':'Unschedulable','message':'0/3 nodes'}]}"};
    struct pod_fields v3 = {.extra_spec = aff2, .rv = "12"};
    struct cs_pod *a = mk(&api, &v1);
    struct cs_pod *b = mk(&api, &v2);
    struct cs_pod *c = mk(&api, &v3);
    assert_true(cs_fw_pod_sched_same(a, b));
    assert_false(cs_fw_pod_sched_same(a, c));
    assert_false(cs_fw_pod_equivalent(a, b));   /* still never equivalent for the eq cache */
    cs_pod_unref(a);
    cs_pod_unref(b);
    cs_pod_unref(c);
    cs_api_ctx_destroy(&api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_equiv_identity_and_status_do_not_matter),
        cmocka_unit_test(test_equiv_each_relevant_difference),
        cmocka_unit_test(test_equiv_pod_affinity_never_equivalent),
        cmocka_unit_test(test_equiv_meta_only_when_read),
        cmocka_unit_test(test_sched_same_for_constrained_pods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
