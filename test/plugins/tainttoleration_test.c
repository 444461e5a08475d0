/*
 * TaintToleration: filter rows (taint effects x toleration operators, reason formatting) and a
 * score/normalize case computed by hand.
 */
#include "test/plugins/plugintest.h"

struct row {
    const char *name;
    const char *tolerations; /* JSON array */
    const char *taints;      /* JSON array */
    enum cs_code want;
    const char *reason;
};

static const struct row rows[] = {
    {"no taints, no tolerations", "[]", "[]", CS_SUCCESS, NULL},
    {"NoSchedule taint, no tolerations", "[]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint(s)"},
    {"NoExecute taint, no tolerations", "[]",
     "[{'key':'k','value':'v','effect':'NoExecute'}]", CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint(s)"},
    {"PreferNoSchedule taint is not a filter matter", "[]",
     "[{'key':'k','value':'v','effect':'PreferNoSchedule'}]", CS_SUCCESS, NULL},
    {"Equal toleration with same key, value, effect",
     "[{'key':'dedicated','operator':'Equal','value':'user1','effect':'NoSchedule'}]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
    {"operator omitted means Equal", "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
    {"Equal toleration with another value",
     "[{'key':'dedicated','operator':'Equal','value':'user2','effect':'NoSchedule'}]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint(s)"},
    {"Equal toleration with another key",
     "[{'key':'other','operator':'Equal','value':'user1','effect':'NoSchedule'}]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint(s)"},
    {"Equal toleration with another effect",
     "[{'key':'dedicated','operator':'Equal','value':'user1','effect':'NoExecute'}]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint(s)"},
    {"Equal toleration with empty effect matches every effect",
     "[{'key':'dedicated','operator':'Equal','value':'user1'}]",
     "[{'key':'dedicated','value':'user1','effect':'NoSchedule'},"
     "{'key':'dedicated','value':'user1','effect':'NoExecute'}]",
     CS_SUCCESS, NULL},
    {"Exists toleration ignores the value",
     "[{'key':'dedicated','operator':'Exists','effect':'NoSchedule'}]",
     "[{'key':'dedicated','value':'anything','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
    {"Exists with empty key and effect tolerates everything", "[{'operator':'Exists'}]",
     "[{'key':'a','value':'1','effect':'NoSchedule'},{'key':'b','effect':'NoExecute'}]",
     CS_SUCCESS, NULL},
    {"Exists with empty key but an effect only covers that effect",
     "[{'operator':'Exists','effect':'NoExecute'}]",
     "[{'key':'b','effect':'NoExecute'},{'key':'a','value':'1','effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint(s)"},
    {"taint without value prints an empty value", "[]",
     "[{'key':'node-role.kubernetes.io/control-plane','effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint(s)"},
    {"first tolerated, second reported",
     "[{'key':'a','operator':'Exists'}]",
     "[{'key':'a','value':'x','effect':'NoSchedule'},{'key':'b','value':'y','effect':'NoSchedule'},"
     "{'key':'c','value':'z','effect':'NoExecute'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "node(s) had untolerated taint(s)"},
    {"Equal toleration with empty value matches a taint without value",
     "[{'key':'gpu','operator':'Equal','value':'','effect':'NoSchedule'}]",
     "[{'key':'gpu','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
    /* TaintTolerationComparisonOperators (issue 7, defect 7): integers compared. */
    {"Gt: taint value greater than the toleration's is tolerated",
     "[{'key':'sla','operator':'Gt','value':'750','effect':'NoSchedule'}]",
     "[{'key':'sla','value':'800','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
    {"Gt: taint value smaller is not tolerated",
     "[{'key':'sla','operator':'Gt','value':'950','effect':'NoSchedule'}]",
     "[{'key':'sla','value':'800','effect':'NoSchedule'}]", CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint(s)"},
    {"Gt: equal values are not tolerated",
     "[{'key':'sla','operator':'Gt','value':'800','effect':'NoSchedule'}]",
     "[{'key':'sla','value':'800','effect':'NoSchedule'}]", CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint(s)"},
    {"Lt: taint value smaller than the toleration's is tolerated (negative numbers too)",
     "[{'key':'drift','operator':'Lt','value':'0','effect':'NoSchedule'}]",
     "[{'key':'drift','value':'-5','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
    {"Lt: a non-integer taint value never matches",
     "[{'key':'sla','operator':'Lt','value':'900','effect':'NoSchedule'}]",
     "[{'key':'sla','value':'high','effect':'NoSchedule'}]", CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
     "node(s) had untolerated taint(s)"},
    {"Gt compares numbers, not strings (10 > 9)",
     "[{'key':'v','operator':'Gt','value':'9','effect':'NoSchedule'}]",
     "[{'key':'v','value':'10','effect':'NoSchedule'}]", CS_SUCCESS, NULL},
};

static void test_filter_rows(void **state)
{
    (void)state;
    char buf[2048];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct pt_env e;
        pt_env_init(&e, &cs_plugin_tainttoleration, NULL);
        snprintf(buf, sizeof(buf),
                 "{'metadata':{'name':'n1'},'spec':{'taints':%s},"
                 "'status':{'allocatable':{'cpu':'4','memory':'8Gi','pods':'110'}}}",
                 r->taints);
        struct cs_node_info *ni = pt_add_node(&e, buf, PT_END);
        snprintf(buf, sizeof(buf),
                 "{'metadata':{'name':'p','namespace':'ns'},'spec':{'tolerations':%s,"
                 "'containers':[{'name':'c'}]}}",
                 r->tolerations);
        struct cs_pod *pod = pt_pod(&e, buf);
        struct cs_status st;
        enum cs_code got = pt_filter(&e, pod, ni, &st);
        if (got != r->want) {
            print_error("row %zu (%s): code %d want %d\n", i, r->name, got, r->want);
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

static void test_score(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_tainttoleration, NULL);
    pt_add_node(&e, "{'metadata':{'name':'n0'}}", PT_END);
    pt_add_node(&e, "{'metadata':{'name':'n1'},'spec':{'taints':["
                    "{'key':'k1','value':'v','effect':'PreferNoSchedule'}]}}",
                PT_END);
    pt_add_node(&e, "{'metadata':{'name':'n2'},'spec':{'taints':["
                    "{'key':'k1','value':'v','effect':'PreferNoSchedule'},"
                    "{'key':'k2','value':'v','effect':'PreferNoSchedule'},"
                    "{'key':'k9','value':'v','effect':'NoSchedule'}]}}",
                PT_END);
    pt_add_node(&e, "{'metadata':{'name':'n3'},'spec':{'taints':["
                    "{'key':'k1','value':'v','effect':'PreferNoSchedule'},"
                    "{'key':'k3','value':'v','effect':'PreferNoSchedule'},"
                    "{'key':'k4','value':'v','effect':'PreferNoSchedule'}]}}",
                PT_END);
    /* Tolerates k2 (PreferNoSchedule) and k3 (empty effect = all). The k1 toleration has effect
     * NoSchedule, so it does not count against the PreferNoSchedule k1 taint. */
    struct cs_pod *pod = pt_pod(
        &e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'tolerations':["
            "{'key':'k2','operator':'Exists','effect':'PreferNoSchedule'},"
            "{'key':'k3','operator':'Equal','value':'v'},"
            "{'key':'k1','operator':'Exists','effect':'NoSchedule'}],"
            "'containers':[{'name':'c'}]}}");
    int64_t s[PT_MAX_NODES];
    pt_score_all(&e, pod, s);
    /* intolerable counts: n0 0, n1 1 (k1), n2 1 (k1), n3 2 (k1, k4); max 2.
     * reverse normalize: 100 - 100*c/2 -> 100, 50, 50, 0 */
    assert_int_equal(s[0], 100);
    assert_int_equal(s[1], 50);
    assert_int_equal(s[2], 50);
    assert_int_equal(s[3], 0);
    cs_pod_unref(pod);

    /* a pod tolerating everything: all counts 0 -> every node gets 100 */
    pod = pt_pod(&e, "{'metadata':{'name':'q','namespace':'ns'},'spec':{'tolerations':["
                     "{'operator':'Exists'}],'containers':[{'name':'c'}]}}");
    pt_score_all(&e, pod, s);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(s[i], 100);
    }
    cs_pod_unref(pod);

    /* no tolerations: counts 0,1,2,3 -> 100*c/3 = 0,33,66,100 -> reversed 100,67,34,0 */
    pod = pt_pod(&e, "{'metadata':{'name':'r','namespace':'ns'},'spec':{"
                     "'containers':[{'name':'c'}]}}");
    pt_score_all(&e, pod, s);
    assert_int_equal(s[0], 100);
    assert_int_equal(s[1], 67);
    assert_int_equal(s[2], 34);
    assert_int_equal(s[3], 0);
    cs_pod_unref(pod);
    pt_env_destroy(&e);
}


int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_filter_rows),
        cmocka_unit_test(test_score),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
