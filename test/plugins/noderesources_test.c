/*
 * NodeResourcesFit: filter rows as in upstream's fit_test.go (cpu, memory, ephemeral storage,
 * extended resources, hugepages, init containers, pod count, zero requests, unresolvable when
 * bigger than the node), ignored resources and groups, the three scoring strategies checked
 * against hand-computed numbers, and argument validation.
 */
#include "test/plugins/plugintest.h"

#include "pkg/util/intern.h"

#define NODE_ALLOC                                                                                 \
    "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'10m','memory':'20','pods':'32',"  \
    "'example.com/aaa':'5','ephemeral-storage':'20','hugepages-2Mi':'5'}}}"

#define C(req) "{'name':'c','resources':{'requests':" req "}}"

struct row {
    const char *name;
    const char *containers; /* JSON array of the new pod's containers */
    const char *init;       /* JSON array of its init containers */
    const char *existing;   /* requests of the pod already on the node */
    enum cs_code want;
    const char *reasons[5];
};

static const struct row rows[] = {
    {"no resources requested always fits", "[{'name':'c'}]", "[]", "{'cpu':'10m','memory':'20'}",
     CS_SUCCESS, {NULL}},
    {"too many resources fails", "[" C("{'cpu':'1m','memory':'1'}") "]", "[]",
     "{'cpu':'10m','memory':'20'}", CS_UNSCHEDULABLE, {"Insufficient cpu", "Insufficient memory", NULL}},
    {"fits", "[" C("{'cpu':'3m','memory':'1'}") "]", "[]", "{'cpu':'5m','memory':'5'}",
     CS_SUCCESS, {NULL}},
    {"exactly full fits", "[" C("{'cpu':'5m','memory':'15'}") "]", "[]",
     "{'cpu':'5m','memory':'5'}", CS_SUCCESS, {NULL}},
    {"requests summed over containers",
     "[" C("{'cpu':'3m'}") "," C("{'cpu':'3m'}") "]", "[]", "{'cpu':'5m'}", CS_UNSCHEDULABLE,
     {"Insufficient cpu", NULL}},
    {"bigger than the whole node is unresolvable", "[" C("{'cpu':'11m'}") "]", "[]", "{}",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, {"Insufficient cpu", NULL}},
    {"init container larger than the containers", "[" C("{'cpu':'1m'}") "]",
     "[" C("{'cpu':'3m'}") "]", "{'cpu':'8m'}", CS_UNSCHEDULABLE, {"Insufficient cpu", NULL}},
    {"init container within the free space", "[" C("{'cpu':'1m'}") "]", "[" C("{'cpu':'2m'}") "]",
     "{'cpu':'8m'}", CS_SUCCESS, {NULL}},
    {"memory only", "[" C("{'memory':'2'}") "]", "[]", "{'cpu':'10m','memory':'19'}",
     CS_UNSCHEDULABLE, {"Insufficient memory", NULL}},
    {"extended resource short", "[" C("{'example.com/aaa':'1'}") "]", "[]",
     "{'example.com/aaa':'5'}", CS_UNSCHEDULABLE, {"Insufficient example.com/aaa", NULL}},
    {"extended resource fits", "[" C("{'example.com/aaa':'2'}") "]", "[]",
     "{'example.com/aaa':'3'}", CS_SUCCESS, {NULL}},
    {"extended resource bigger than the node", "[" C("{'example.com/aaa':'6'}") "]", "[]", "{}",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, {"Insufficient example.com/aaa", NULL}},
    {"extended resource the node does not have", "[" C("{'example.com/bbb':'1'}") "]", "[]", "{}",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, {"Insufficient example.com/bbb", NULL}},
    {"extended resource requested as zero", "[" C("{'example.com/bbb':'0'}") "]", "[]", "{}",
     CS_SUCCESS, {NULL}},
    {"ephemeral storage", "[" C("{'ephemeral-storage':'25'}") "]", "[]", "{}",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, {"Insufficient ephemeral-storage", NULL}},
    {"ephemeral storage taken", "[" C("{'ephemeral-storage':'10'}") "]", "[]",
     "{'ephemeral-storage':'15'}", CS_UNSCHEDULABLE, {"Insufficient ephemeral-storage", NULL}},
    {"hugepages", "[" C("{'hugepages-2Mi':'3'}") "]", "[]", "{'hugepages-2Mi':'3'}",
     CS_UNSCHEDULABLE, {"Insufficient hugepages-2Mi", NULL}},
    {"one unresolvable makes the status unresolvable",
     "[" C("{'cpu':'11m','memory':'1'}") "]", "[]", "{'memory':'20'}",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, {"Insufficient cpu", "Insufficient memory", NULL}},
};

static void run_row(const struct row *r, size_t i, const char *node_json)
{
    char existing[1024], pod[2048];
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_noderesources, NULL);
    snprintf(existing, sizeof(existing),
             "{'metadata':{'name':'old','namespace':'ns'},'spec':{'nodeName':'n1','containers':["
             "{'name':'c','resources':{'requests':%s}}]}}",
             r->existing);
    struct cs_node_info *ni = pt_add_node(&e, node_json, existing, PT_END);
    snprintf(pod, sizeof(pod),
             "{'metadata':{'name':'new','namespace':'ns'},'spec':{'containers':%s,"
             "'initContainers':%s}}",
             r->containers, r->init);
    struct cs_pod *p = pt_pod(&e, pod);
    struct cs_status st;
    enum cs_code got = pt_filter(&e, p, ni, &st);
    if (got != r->want) {
        print_error("row %zu (%s): got %d want %d\n", i, r->name, got, r->want);
    }
    assert_int_equal(got, r->want);
    pt_assert_reasons(&st, r->reasons);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_filter_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        run_row(&rows[i], i, NODE_ALLOC);
    }
}

static void test_pod_count(void **state)
{
    (void)state;
    static const char node[] = "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'10m',"
                               "'memory':'20','pods':'1'}}}";
    /* node holds 1 pod of 1 allowed: Too many pods, even for a pod requesting nothing */
    static const struct row full = {"pod count", "[{'name':'c'}]", "[]", "{}", CS_UNSCHEDULABLE,
                                    {"Too many pods", NULL}};
    run_row(&full, 0, node);
    /* every reason is kept, pods first */
    static const struct row many = {"pod count and cpu", "[" C("{'cpu':'5m','memory':'30'}") "]",
                                    "[]", "{'cpu':'8m'}", CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                                    {"Too many pods", "Insufficient cpu", "Insufficient memory",
                                     NULL}};
    run_row(&many, 1, node);
    static const char roomy[] = "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'10m',"
                                "'memory':'20','pods':'2'}}}";
    static const struct row ok = {"room for one more", "[{'name':'c'}]", "[]", "{}", CS_SUCCESS,
                                  {NULL}};
    run_row(&ok, 2, roomy);
}

static enum cs_code filter_with_args(const char *args, const char *containers, struct cs_status *st)
{
    char pod[1024];
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_noderesources, args);
    struct cs_node_info *ni = pt_add_node(&e, NODE_ALLOC, PT_END);
    snprintf(pod, sizeof(pod), "{'metadata':{'name':'new','namespace':'ns'},'spec':{'containers':%s}}",
             containers);
    struct cs_pod *p = pt_pod(&e, pod);
    enum cs_code got = pt_filter(&e, p, ni, st);
    /* reasons may live in the arena: keep only the code and count for the caller */
    if (got != CS_SUCCESS) {
        assert_true(st->n_reasons >= 1);
        static char first[128];
        snprintf(first, sizeof(first), "%s", st->reasons[0]);
        st->reasons[0] = first;
        st->n_reasons = 1;
    }
    cs_pod_unref(p);
    pt_env_destroy(&e);
    return got;
}

static void test_ignored_resources(void **state)
{
    (void)state;
    struct cs_status st;
    assert_int_equal(filter_with_args("{'ignoredResources':['example.com/aaa']}",
                                      "[" C("{'example.com/aaa':'100'}") "]", &st),
                     CS_SUCCESS);
    assert_int_equal(filter_with_args("{'ignoredResourceGroups':['example.com']}",
                                      "[" C("{'example.com/bbb':'100'}") "]", &st),
                     CS_SUCCESS);
    assert_int_equal(filter_with_args("{'ignoredResourceGroups':['example.com']}",
                                      "[" C("{'other.io/ccc':'1'}") "]", &st),
                     CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_string_equal(st.reasons[0], "Insufficient other.io/ccc");
    /* native resources are never ignored */
    assert_int_equal(filter_with_args("{'ignoredResources':['hugepages-2Mi']}",
                                      "[" C("{'hugepages-2Mi':'6'}") "]", &st),
                     CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_string_equal(st.reasons[0], "Insufficient hugepages-2Mi");
}

/* --- scoring ---------------------------------------------------------------------------------
 * Node A: cpu 4000m, memory 10000, holding a pod requesting cpu 1000m, memory 2000.
 * Node B: cpu 6000m, memory 10000, empty.
 * Pod: cpu 2000m, memory 3000. So requested-after-placement: A cpu 3000/4000, mem 5000/10000;
 * B cpu 2000/6000, mem 3000/10000. */

static void score_env(struct pt_env *e, const struct cs_plugin *pl, const char *args)
{
    pt_env_init(e, pl, args);
    pt_add_node(e, "{'metadata':{'name':'a'},'status':{'allocatable':{'cpu':'4','memory':'10000',"
                   "'pods':'110'}}}",
                "{'metadata':{'name':'old','namespace':'ns'},'spec':{'containers':["
                "{'name':'c','resources':{'requests':{'cpu':'1','memory':'2000'}}}]}}",
                PT_END);
    pt_add_node(e, "{'metadata':{'name':'b'},'status':{'allocatable':{'cpu':'6','memory':'10000',"
                   "'pods':'110'}}}",
                PT_END);
}

static const char pod_2cpu_3000[] = "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':"
                                    "[" C("{'cpu':'2','memory':'3000'}") "]}}";

static void expect_scores(const char *args, const char *pod_json, int64_t a, int64_t b)
{
    struct pt_env e;
    score_env(&e, &cs_plugin_noderesources, args);
    struct cs_pod *p = pt_pod(&e, pod_json);
    int64_t s[PT_MAX_NODES];
    assert_int_equal(pt_score_all(&e, p, s), CS_SUCCESS);
    if (s[0] != a || s[1] != b) {
        print_error("args %s: got %lld, %lld want %lld, %lld\n", args ? args : "(none)",
                    (long long)s[0], (long long)s[1], (long long)a, (long long)b);
    }
    assert_int_equal(s[0], a);
    assert_int_equal(s[1], b);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_least_allocated(void **state)
{
    (void)state;
    /* A: cpu (4000-3000)*100/4000 = 25, mem (10000-5000)*100/10000 = 50 -> (25+50)/2 = 37
     * B: cpu (6000-2000)*100/6000 = 66, mem (10000-3000)*100/10000 = 70 -> (66+70)/2 = 68 */
    expect_scores(NULL, pod_2cpu_3000, 37, 68);
    expect_scores("{'scoringStrategy':{'type':'LeastAllocated'}}", pod_2cpu_3000, 37, 68);
    /* weights cpu 3, memory 1: A (25*3+50)/4 = 31, B (66*3+70)/4 = 67 */
    expect_scores("{'scoringStrategy':{'type':'LeastAllocated','resources':["
                  "{'name':'cpu','weight':3},{'name':'memory','weight':1}]}}",
                  pod_2cpu_3000, 31, 67);
    /* weight 0 defaults to 1 */
    expect_scores("{'scoringStrategy':{'type':'LeastAllocated','resources':["
                  "{'name':'cpu','weight':0},{'name':'memory'}]}}",
                  pod_2cpu_3000, 37, 68);
}

static void test_least_allocated_nonzero(void **state)
{
    (void)state;
    /* A pod without requests is scored as 100m cpu / 200Mi memory (non-zero requests), and an
     * existing pod without requests counts the same way on the node:
     * node cpu 1000m, memory 1000Mi = 1048576000, holding one request-less pod.
     * cpu (1000-200)*100/1000 = 80; mem (1048576000-2*209715200)*100/1048576000 = 60 -> 70 */
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_noderesources, NULL);
    pt_add_node(&e, "{'metadata':{'name':'c'},'status':{'allocatable':{'cpu':'1','memory':'1000Mi',"
                    "'pods':'110'}}}",
                "{'metadata':{'name':'old','namespace':'ns'},'spec':{'containers':[{'name':'c'}]}}",
                PT_END);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':"
                                  "{'containers':[{'name':'c'}]}}");
    int64_t s[PT_MAX_NODES];
    pt_score_all(&e, p, s);
    assert_int_equal(s[0], 70);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_most_allocated(void **state)
{
    (void)state;
    /* A: cpu 3000*100/4000 = 75, mem 5000*100/10000 = 50 -> 62
     * B: cpu 2000*100/6000 = 33, mem 3000*100/10000 = 30 -> 31 */
    expect_scores("{'scoringStrategy':{'type':'MostAllocated'}}", pod_2cpu_3000, 62, 31);
    /* requested above capacity counts as capacity: A cpu 3000+6000 > 4000 -> 100, mem 50 -> 75 */
    expect_scores("{'scoringStrategy':{'type':'MostAllocated'}}",
                  "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':["
                  C("{'cpu':'6','memory':'3000'}") "]}}",
                  /* A cpu min(7000,4000) -> 100, mem 50 -> 75; B cpu 6000/6000 -> 100, mem 30 -> 65 */
                  75, 65);
}

static void test_rtcr(void **state)
{
    (void)state;
    /* shape (0,0) (50,10) (100,2), scores x10 -> (0,0) (50,100) (100,20).
     * A: cpu util 75 -> 100 + (20-100)*(75-50)/50 = 60; mem util 50 -> 100.
     * B: cpu util 33 -> 100*33/50 = 66; mem util 30 -> 60.
     * weights 1,1: A (60+100)/2 = 80, B (66+60)/2 = 63.
     * weights cpu 1, memory 2: A (60+200)/3 = 86.67 -> 87 (rounded), B (66+120)/3 = 62. */
    static const char shape[] = "'requestedToCapacityRatio':{'shape':[{'utilization':0,'score':0},"
                                "{'utilization':50,'score':10},{'utilization':100,'score':2}]}";
    char args[512];
    snprintf(args, sizeof(args), "{'scoringStrategy':{'type':'RequestedToCapacityRatio',%s}}",
             shape);
    expect_scores(args, pod_2cpu_3000, 80, 63);
    snprintf(args, sizeof(args),
             "{'scoringStrategy':{'type':'RequestedToCapacityRatio','resources':["
             "{'name':'cpu','weight':1},{'name':'memory','weight':2}],%s}}",
             shape);
    expect_scores(args, pod_2cpu_3000, 87, 62);
    /* a resource scoring 0 is left out of the average: memory requested 0 explicitly and the
     * node empty: B cpu 33 -> 66, memory util 0 -> 0 (dropped) -> 66; A has 2000 memory used:
     * util 20 -> 40, cpu 75 -> 60 -> (60 + 2*40)/3 = 46.67 -> 47 */
    expect_scores(args,
                  "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':["
                  C("{'cpu':'2','memory':'0'}") "]}}",
                  47, 66);
}

static void test_extended_scoring(void **state)
{
    (void)state;
    /* Extended resources score only when the pod requests them and the node has them.
     * MostAllocated over cpu and example.com/gpu (weights 1,1), node g: cpu 4000m, 4 gpus.
     * pod cpu 1000m + 1 gpu -> cpu 25, gpu 25 -> 25. A pod without gpus -> only cpu counts. */
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_noderesources,
                "{'scoringStrategy':{'type':'MostAllocated','resources':["
                "{'name':'cpu','weight':1},{'name':'example.com/gpu','weight':1}]}}");
    pt_add_node(&e, "{'metadata':{'name':'g'},'status':{'allocatable':{'cpu':'4','memory':'10000',"
                    "'example.com/gpu':'4','pods':'110'}}}",
                PT_END);
    pt_add_node(&e, "{'metadata':{'name':'h'},'status':{'allocatable':{'cpu':'4','memory':'10000',"
                    "'pods':'110'}}}",
                PT_END);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':["
                                  C("{'cpu':'1','example.com/gpu':'2'}") "]}}");
    int64_t s[PT_MAX_NODES];
    pt_score_all(&e, p, s);
    /* g: cpu 1000*100/4000 = 25, gpu 2*100/4 = 50 -> 37; h: no gpu -> cpu only -> 25 */
    assert_int_equal(s[0], 37);
    assert_int_equal(s[1], 25);
    cs_pod_unref(p);
    p = pt_pod(&e, "{'metadata':{'name':'q','namespace':'ns'},'spec':{'containers':["
                   C("{'cpu':'2'}") "]}}");
    pt_score_all(&e, p, s);
    assert_int_equal(s[0], 50);
    assert_int_equal(s[1], 50);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void expect_init_error(const char *args, const char *field)
{
    struct pt_env e;
    char err[512] = "";
    int rc = pt_env_init_args(&e, &cs_plugin_noderesources, args, err, sizeof(err));
    if (rc != -1 || strstr(err, field) == NULL) {
        print_error("args %s: rc %d err '%s', want field %s\n", args, rc, err, field);
    }
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, field));
    pt_env_destroy(&e);
}

static void test_invalid_args(void **state)
{
    (void)state;
    expect_init_error("{'scoringStrategy':{'type':'Fancy'}}", "scoringStrategy.type");
    expect_init_error("{'scoringStrategy':{'resources':[]}}", "scoringStrategy.type");
    expect_init_error("{'scoringStrategy':{'type':'MostAllocated','resources':"
                      "[{'name':'cpu','weight':101}]}}",
                      "scoringStrategy.resources[0].weight");
    expect_init_error("{'scoringStrategy':{'type':'MostAllocated','resources':"
                      "[{'name':'cpu','weight':1},{'name':'memory','weight':-1}]}}",
                      "scoringStrategy.resources[1].weight");
    expect_init_error("{'scoringStrategy':{'type':'RequestedToCapacityRatio'}}",
                      "scoringStrategy.shape");
    expect_init_error("{'scoringStrategy':{'type':'RequestedToCapacityRatio',"
                      "'requestedToCapacityRatio':{'shape':[{'utilization':50,'score':1},"
                      "{'utilization':40,'score':2}]}}}",
                      "scoringStrategy.shape[1].utilization");
    expect_init_error("{'scoringStrategy':{'type':'RequestedToCapacityRatio',"
                      "'requestedToCapacityRatio':{'shape':[{'utilization':0,'score':11}]}}}",
                      "scoringStrategy.shape[0].score");
    expect_init_error("{'scoringStrategy':{'type':'RequestedToCapacityRatio',"
                      "'requestedToCapacityRatio':{'shape':[{'utilization':101,'score':1}]}}}",
                      "scoringStrategy.shape[0].utilization");
    expect_init_error("{'ignoredResourceGroups':['example.com/x']}", "ignoredResourceGroups[0]");
    expect_init_error("{'ignoredResources':['bad name!']}", "ignoredResources[0]");
}

/* Issue 7, defect 8: with more extended resource names than dense slots, a name kept by name
 * (an extra) is checked like any other: the node's allocatable minus what its pods use. */
static void test_fit_extra_resources(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_noderesources, NULL);
    char node[4096] = "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'8','memory':'8Gi',"
                      "'pods':'110'";
    for (int i = 0; i < 30; i++) {
        size_t l = strlen(node);
        snprintf(node + l, sizeof(node) - l, ",'vendor.io/dev%d':'4'", i);
    }
    size_t l = strlen(node);
    snprintf(node + l, sizeof(node) - l, "}}}");
    /* an existing pod on n1 uses 3 of dev29 (past the dense table) */
    struct cs_node_info *ni = pt_add_node(&e, node,
                                          "{'metadata':{'name':'old','namespace':'ns'},'spec':{"
                                          "'nodeName':'n1','containers':[{'name':'c','resources':"
                                          "{'requests':{'vendor.io/dev29':'3'}}}]}}",
                                          PT_END);
    assert_true(cs_resource_slot_lookup(e.api.resources, "vendor.io/dev29") < 0);
    assert_int_equal(cs_res_extra_get(&ni->extra_requested,
                                      cs_intern(e.api.strings, "vendor.io/dev29")), 3);
    struct cs_pod *one = pt_pod(&e, "{'metadata':{'name':'a','namespace':'ns'},'spec':{"
                                    "'containers':[{'name':'c','resources':{'requests':"
                                    "{'vendor.io/dev29':'1'}}}]}}");
    struct cs_pod *two = pt_pod(&e, "{'metadata':{'name':'b','namespace':'ns'},'spec':{"
                                    "'containers':[{'name':'c','resources':{'requests':"
                                    "{'vendor.io/dev29':'2'}}}]}}");
    struct cs_pod *nine = pt_pod(&e, "{'metadata':{'name':'c','namespace':'ns'},'spec':{"
                                     "'containers':[{'name':'c','resources':{'requests':"
                                     "{'vendor.io/dev29':'9'}}}]}}");
    struct cs_status st;
    assert_int_equal(pt_filter(&e, one, ni, &st), CS_SUCCESS);
    assert_int_equal(pt_filter(&e, two, ni, &st), CS_UNSCHEDULABLE);
    const char *want[] = { "Insufficient vendor.io/dev29", NULL };
    pt_assert_reasons(&st, want);
    assert_int_equal(pt_filter(&e, nine, ni, &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    cs_pod_unref(one);
    cs_pod_unref(two);
    cs_pod_unref(nine);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_rows),
        cmocka_unit_test(test_pod_count),
        cmocka_unit_test(test_ignored_resources),
        cmocka_unit_test(test_least_allocated),
        cmocka_unit_test(test_least_allocated_nonzero),
        cmocka_unit_test(test_most_allocated),
        cmocka_unit_test(test_rtcr),
        cmocka_unit_test(test_extended_scoring),
        cmocka_unit_test(test_invalid_args),
        cmocka_unit_test(test_fit_extra_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
