/*
 * NodeUnschedulable: cordoned nodes reject pods unless they tolerate
 * node.kubernetes.io/unschedulable:NoSchedule.
 */
#include "test/plugins/plugintest.h"

struct row {
    const char *name;
    bool unschedulable;
    const char *tolerations;
    enum cs_code want;
};

static const struct row rows[] = {
    {"schedulable node", false, "[]", CS_SUCCESS},
    {"cordoned node, no tolerations", true, "[]", CS_UNSCHEDULABLE_AND_UNRESOLVABLE},
    {"cordoned node, exact toleration", true,
     "[{'key':'node.kubernetes.io/unschedulable','operator':'Exists','effect':'NoSchedule'}]",
     CS_SUCCESS},
    {"cordoned node, toleration without effect", true,
     "[{'key':'node.kubernetes.io/unschedulable','operator':'Exists'}]", CS_SUCCESS},
    {"cordoned node, tolerate-everything", true, "[{'operator':'Exists'}]", CS_SUCCESS},
    {"cordoned node, toleration for NoExecute only", true,
     "[{'key':'node.kubernetes.io/unschedulable','operator':'Exists','effect':'NoExecute'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE},
    {"cordoned node, Equal toleration with a value", true,
     "[{'key':'node.kubernetes.io/unschedulable','operator':'Equal','value':'x',"
     "'effect':'NoSchedule'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE},
    {"cordoned node, other key", true, "[{'key':'other','operator':'Exists'}]",
     CS_UNSCHEDULABLE_AND_UNRESOLVABLE},
};

static void test_rows(void **state)
{
    (void)state;
    char buf[1024];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct pt_env e;
        pt_env_init(&e, &cs_plugin_nodeunschedulable, NULL);
        snprintf(buf, sizeof(buf), "{'metadata':{'name':'n1'},'spec':{'unschedulable':%s}}",
                 r->unschedulable ? "true" : "false");
        struct cs_node_info *ni = pt_add_node(&e, buf, PT_END);
        snprintf(buf, sizeof(buf),
                 "{'metadata':{'name':'p','namespace':'ns'},'spec':{'tolerations':%s,"
                 "'containers':[{'name':'c'}]}}",
                 r->tolerations);
        struct cs_pod *pod = pt_pod(&e, buf);
        struct cs_status st;
        enum cs_code got = pt_filter(&e, pod, ni, &st);
        if (got != r->want) {
            print_error("row %zu (%s): got %d want %d\n", i, r->name, got, r->want);
        }
        assert_int_equal(got, r->want);
        if (r->want == CS_SUCCESS) {
            assert_int_equal(st.n_reasons, 0);
        } else {
            const char *want[] = {"node(s) were unschedulable", NULL};
            pt_assert_reasons(&st, want);
        }
        cs_pod_unref(pod);
        pt_env_destroy(&e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
