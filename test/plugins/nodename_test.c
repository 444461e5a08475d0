/*
 * NodeName: a pod with spec.nodeName fits only that node.
 */
#include "test/plugins/plugintest.h"

static void test_nodename(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodename, NULL);
    struct cs_node_info *n1 = pt_add_node(&e, "{'metadata':{'name':'n1'}}", PT_END);
    struct cs_node_info *n2 = pt_add_node(&e, "{'metadata':{'name':'n2'}}", PT_END);
    struct cs_pod *any = pt_pod(&e, "{'metadata':{'name':'a','namespace':'ns'},"
                                    "'spec':{'containers':[{'name':'c'}]}}");
    struct cs_pod *pinned = pt_pod(&e, "{'metadata':{'name':'b','namespace':'ns'},"
                                       "'spec':{'nodeName':'n1','containers':[{'name':'c'}]}}");
    struct cs_status st;
    assert_int_equal(pt_filter(&e, any, n1, &st), CS_SUCCESS);
    assert_int_equal(pt_filter(&e, any, n2, &st), CS_SUCCESS);
    assert_int_equal(pt_filter(&e, pinned, n1, &st), CS_SUCCESS);
    assert_int_equal(st.n_reasons, 0);
    assert_int_equal(pt_filter(&e, pinned, n2, &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    const char *want[] = {"node(s) didn't match the requested node name", NULL};
    pt_assert_reasons(&st, want);
    cs_pod_unref(any);
    cs_pod_unref(pinned);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_nodename)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
