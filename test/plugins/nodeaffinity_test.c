/*
 * NodeAffinity: nodeSelector and required terms (every operator, matchFields, OR of terms,
 * AND inside a term, empty terms), the prefilter conflict and Skip, preferred-term scoring with
 * normalisation, and the addedAffinity arg.
 */
#include "test/plugins/plugintest.h"

#define REASON_POD "node(s) didn't match Pod's node affinity/selector"

struct row {
    const char *name;
    const char *spec;   /* extra pod spec fields, e.g. "'nodeSelector':{...}," */
    const char *labels; /* node labels JSON object */
    const char *node;   /* node name */
    enum cs_code want;
    const char *reason;
};

#define REQ(terms) "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':" \
                   "{'nodeSelectorTerms':" terms "}}},"
#define EXPR(key, op, vals) "{'key':'" key "','operator':'" op "','values':" vals "}"

static const struct row rows[] = {
    {"nothing to check", "", "{}", "n1", CS_SUCCESS, NULL},
    /* Issue 7, defect 7: a term upstream cannot parse matches no node; the others still count. */
    {"a value that is no label value: its term matches nothing",
     REQ("[{'matchExpressions':[" EXPR("zone", "In", "['a b']") "]}]"), "{'zone':'a b'}", "n1",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"Gt with a non-integer: its term matches nothing, the next term does",
     REQ("[{'matchExpressions':[" EXPR("cores", "Gt", "['many']") "]},"
         "{'matchExpressions':[" EXPR("zone", "In", "['a']") "]}]"),
     "{'zone':'a','cores':'9'}", "n1", CS_SUCCESS, NULL},
    {"Gt with a non-integer alone matches nothing",
     REQ("[{'matchExpressions':[" EXPR("cores", "Gt", "['many']") "]}]"), "{'cores':'9'}", "n1",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"nodeSelector matches", "'nodeSelector':{'zone':'a','disk':'ssd'},",
     "{'zone':'a','disk':'ssd','x':'y'}", "n1", CS_SUCCESS, NULL},
    {"nodeSelector wrong value", "'nodeSelector':{'zone':'a'},", "{'zone':'b'}", "n1",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"nodeSelector missing key", "'nodeSelector':{'zone':'a'},", "{'disk':'ssd'}", "n1",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"In matches", REQ("[{'matchExpressions':[" EXPR("zone", "In", "['a','b']") "]}]"),
     "{'zone':'b'}", "n1", CS_SUCCESS, NULL},
    {"In does not match", REQ("[{'matchExpressions':[" EXPR("zone", "In", "['a','b']") "]}]"),
     "{'zone':'c'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"In on a missing label", REQ("[{'matchExpressions':[" EXPR("zone", "In", "['a']") "]}]"),
     "{}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"NotIn with the label absent", REQ("[{'matchExpressions':[" EXPR("zone", "NotIn", "['a']") "]}]"),
     "{}", "n1", CS_SUCCESS, NULL},
    {"NotIn with a listed value", REQ("[{'matchExpressions':[" EXPR("zone", "NotIn", "['a']") "]}]"),
     "{'zone':'a'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"Exists", REQ("[{'matchExpressions':[{'key':'gpu','operator':'Exists'}]}]"), "{'gpu':''}",
     "n1", CS_SUCCESS, NULL},
    {"Exists on a missing label", REQ("[{'matchExpressions':[{'key':'gpu','operator':'Exists'}]}]"),
     "{}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"DoesNotExist", REQ("[{'matchExpressions':[{'key':'gpu','operator':'DoesNotExist'}]}]"),
     "{'cpu':'x'}", "n1", CS_SUCCESS, NULL},
    {"DoesNotExist with the label", REQ("[{'matchExpressions':[{'key':'gpu','operator':'DoesNotExist'}]}]"),
     "{'gpu':'1'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"Gt true", REQ("[{'matchExpressions':[" EXPR("cores", "Gt", "['3']") "]}]"), "{'cores':'8'}",
     "n1", CS_SUCCESS, NULL},
    {"Gt equal is false", REQ("[{'matchExpressions':[" EXPR("cores", "Gt", "['8']") "]}]"),
     "{'cores':'8'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"Gt on a non-number", REQ("[{'matchExpressions':[" EXPR("cores", "Gt", "['3']") "]}]"),
     "{'cores':'many'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"Lt true", REQ("[{'matchExpressions':[" EXPR("cores", "Lt", "['3']") "]}]"), "{'cores':'2'}",
     "n1", CS_SUCCESS, NULL},
    {"Lt false", REQ("[{'matchExpressions':[" EXPR("cores", "Lt", "['3']") "]}]"), "{'cores':'30'}",
     "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"terms are ORed",
     REQ("[{'matchExpressions':[" EXPR("zone", "In", "['x']") "]},"
         "{'matchExpressions':[" EXPR("zone", "In", "['a']") "]}]"),
     "{'zone':'a'}", "n1", CS_SUCCESS, NULL},
    {"expressions in a term are ANDed",
     REQ("[{'matchExpressions':[" EXPR("zone", "In", "['a']") "," EXPR("disk", "In", "['ssd']") "]}]"),
     "{'zone':'a','disk':'hdd'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"a term without requirements matches nothing", REQ("[{'matchExpressions':[]}]"),
     "{'zone':'a'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"matchFields metadata.name In", REQ("[{'matchFields':[" EXPR("metadata.name", "In", "['n1']") "]}]"),
     "{}", "n1", CS_SUCCESS, NULL},
    {"matchFields metadata.name In, other node",
     REQ("[{'matchFields':[" EXPR("metadata.name", "In", "['n1']") "]}]"), "{}", "n2",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"matchFields metadata.name NotIn",
     REQ("[{'matchFields':[" EXPR("metadata.name", "NotIn", "['n1']") "]}]"), "{}", "n1",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"matchFields and matchExpressions both must hold",
     REQ("[{'matchExpressions':[" EXPR("zone", "In", "['a']") "],"
         "'matchFields':[" EXPR("metadata.name", "In", "['n1']") "]}]"),
     "{'zone':'b'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"matchFields on another field never matches",
     REQ("[{'matchFields':[" EXPR("metadata.uid", "NotIn", "['x']") "]}]"), "{}", "n1",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"nodeSelector and affinity are ANDed",
     "'nodeSelector':{'zone':'a'}," REQ("[{'matchExpressions':[" EXPR("disk", "In", "['ssd']") "]}]"),
     "{'zone':'a','disk':'hdd'}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, REASON_POD},
    {"conflicting metadata.name pins",
     REQ("[{'matchFields':[" EXPR("metadata.name", "In", "['n1']") "," EXPR("metadata.name", "In", "['n2']") "]}]"),
     "{}", "n1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "pod affinity terms conflict"},
    {"one pinned term of two leaves a node",
     REQ("[{'matchFields':[" EXPR("metadata.name", "In", "['n1']") "," EXPR("metadata.name", "In", "['n2']") "]},"
         "{'matchFields':[" EXPR("metadata.name", "In", "['n1']") "]}]"),
     "{}", "n1", CS_SUCCESS, NULL},
};

static void test_filter_rows(void **state)
{
    (void)state;
    char buf[4096];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct pt_env e;
        pt_env_init(&e, &cs_plugin_nodeaffinity, NULL);
        snprintf(buf, sizeof(buf), "{'metadata':{'name':'%s','labels':%s}}", r->node, r->labels);
        struct cs_node_info *ni = pt_add_node(&e, buf, PT_END);
        snprintf(buf, sizeof(buf),
                 "{'metadata':{'name':'p','namespace':'ns'},'spec':{%s"
                 "'containers':[{'name':'c'}]}}",
                 r->spec);
        struct cs_pod *pod = pt_pod(&e, buf);
        struct cs_status st;
        enum cs_code got = pt_filter(&e, pod, ni, &st);
        if (got != r->want) {
            print_error("row %zu (%s): got %d want %d\n", i, r->name, got, r->want);
        }
        assert_int_equal(got, r->want);
        if (r->reason) {
            const char *want[] = {r->reason, NULL};
            pt_assert_reasons(&st, want);
        } else {
            assert_int_equal(st.n_reasons, 0);
        }
        cs_pod_unref(pod);
        pt_env_destroy(&e);
    }
}

static void test_prefilter_skip(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodeaffinity, NULL);
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    /* only preferred terms: nothing for the filter to do */
    struct cs_pod *pod = pt_pod(
        &e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'affinity':{'nodeAffinity':{"
            "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':1,'preference':{"
            "'matchExpressions':[{'key':'a','operator':'Exists'}]}}]}},"
            "'containers':[{'name':'c'}]}}");
    assert_int_equal(e.pl->pre_filter(&e.call, pod, &st), CS_SKIP);
    cs_pod_unref(pod);
    pod = pt_pod(&e, "{'metadata':{'name':'q','namespace':'ns'},'spec':{'nodeSelector':{'a':'b'},"
                     "'containers':[{'name':'c'}]}}");
    assert_int_equal(e.pl->pre_filter(&e.call, pod, &st), CS_SUCCESS);
    /* and no preferred terms: score is skipped too */
    struct cs_node_info *none[1] = {NULL};
    assert_int_equal(e.pl->pre_score(&e.call, pod, none, 0, &st), CS_SKIP);
    cs_pod_unref(pod);
    pt_env_destroy(&e);
}

static void test_score(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodeaffinity, NULL);
    pt_add_node(&e, "{'metadata':{'name':'n0','labels':{'zone':'a','disk':'ssd'}}}", PT_END);
    pt_add_node(&e, "{'metadata':{'name':'n1','labels':{'zone':'a'}}}", PT_END);
    pt_add_node(&e, "{'metadata':{'name':'n2','labels':{'zone':'b','disk':'ssd'}}}", PT_END);
    pt_add_node(&e, "{'metadata':{'name':'n3'}}", PT_END);
    struct cs_pod *pod = pt_pod(
        &e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'affinity':{'nodeAffinity':{"
            "'preferredDuringSchedulingIgnoredDuringExecution':["
            "{'weight':2,'preference':{'matchExpressions':[{'key':'zone','operator':'In','values':['a']}]}},"
            "{'weight':5,'preference':{'matchExpressions':[{'key':'disk','operator':'In','values':['ssd']}]}},"
            "{'weight':3,'preference':{'matchFields':[{'key':'metadata.name','operator':'In','values':['n3']}]}}"
            "]}},'containers':[{'name':'c'}]}}");
    int64_t s[PT_MAX_NODES];
    assert_int_equal(pt_score_all(&e, pod, s), CS_SUCCESS);
    /* raw: n0 2+5=7, n1 2, n2 5, n3 3; normalize 100*raw/7 -> 100, 28, 71, 42 */
    assert_int_equal(s[0], 100);
    assert_int_equal(s[1], 28);
    assert_int_equal(s[2], 71);
    assert_int_equal(s[3], 42);
    cs_pod_unref(pod);
    pt_env_destroy(&e);
}

static void test_added_affinity(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodeaffinity,
                "{'addedAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
                "'nodeSelectorTerms':[{'matchExpressions':[{'key':'env','operator':'In',"
                "'values':['prod']}]}]},"
                "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':10,'preference':{"
                "'matchExpressions':[{'key':'zone','operator':'In','values':['b']}]}}]}}");
    struct cs_node_info *prod_a =
        pt_add_node(&e, "{'metadata':{'name':'n0','labels':{'env':'prod','zone':'a'}}}", PT_END);
    struct cs_node_info *prod_b =
        pt_add_node(&e, "{'metadata':{'name':'n1','labels':{'env':'prod','zone':'b'}}}", PT_END);
    struct cs_node_info *dev =
        pt_add_node(&e, "{'metadata':{'name':'n2','labels':{'env':'dev','zone':'b'}}}", PT_END);
    struct cs_pod *plain = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},"
                                      "'spec':{'containers':[{'name':'c'}]}}");
    struct cs_status st;
    /* the profile's required affinity applies even to a pod without any */
    assert_int_equal(pt_filter(&e, plain, prod_a, &st), CS_SUCCESS);
    assert_int_equal(pt_filter(&e, plain, prod_b, &st), CS_SUCCESS);
    assert_int_equal(pt_filter(&e, plain, dev, &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    const char *want[] = {"node(s) didn't match scheduler-enforced node affinity", NULL};
    pt_assert_reasons(&st, want);
    /* the profile's preferred terms score even without pod preferences: raw 0, 10, 10 */
    int64_t s[PT_MAX_NODES];
    assert_int_equal(pt_score_all(&e, plain, s), CS_SUCCESS);
    assert_int_equal(s[0], 0);
    assert_int_equal(s[1], 100);
    assert_int_equal(s[2], 100);
    cs_pod_unref(plain);
    pt_env_destroy(&e);
}

static void test_added_affinity_invalid(void **state)
{
    (void)state;
    struct pt_env e;
    char err[512] = "";
    int rc = pt_env_init_args(&e, &cs_plugin_nodeaffinity,
                              "{'addedAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':"
                              "[{'weight':0,'preference':{}}]}}",
                              err, sizeof(err));
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight"));
    pt_env_destroy(&e);
    rc = pt_env_init_args(&e, &cs_plugin_nodeaffinity,
                          "{'addedAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':"
                          "{'nodeSelectorTerms':[]}}}",
                          err, sizeof(err));
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "nodeSelectorTerms"));
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_rows),    cmocka_unit_test(test_prefilter_skip),
        cmocka_unit_test(test_score),          cmocka_unit_test(test_added_affinity),
        cmocka_unit_test(test_added_affinity_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
