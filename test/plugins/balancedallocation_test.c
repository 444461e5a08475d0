/*
 * NodeResourcesBalancedAllocation: (1 - std of requested fractions) * 100, truncated, with the
 * pod's and nodes' real requests (no 100m/200Mi defaults), fractions capped at 1, the
 * two-resource shortcut |f0-f1|/2, the population std for three resources, Skip for best-effort
 * pods, and args validation.
 */
#include "test/plugins/plugintest.h"

static void add_nodes(struct pt_env *e)
{
    /* a: cpu 4000m, memory 10000, 4 gpus; holds a pod with cpu 1000m, memory 2000, 1 gpu.
     * b: cpu 6000m, memory 10000, empty.  c: cpu 1000m, memory 10000, empty. */
    pt_add_node(e, "{'metadata':{'name':'a'},'status':{'allocatable':{'cpu':'4','memory':'10000',"
                   "'example.com/gpu':'4','pods':'110'}}}",
                "{'metadata':{'name':'old','namespace':'ns'},'spec':{'containers':[{'name':'c',"
                "'resources':{'requests':{'cpu':'1','memory':'2000','example.com/gpu':'1'}}}]}}",
                PT_END);
    pt_add_node(e, "{'metadata':{'name':'b'},'status':{'allocatable':{'cpu':'6','memory':'10000',"
                   "'pods':'110'}}}",
                PT_END);
    pt_add_node(e, "{'metadata':{'name':'c'},'status':{'allocatable':{'cpu':'1','memory':'10000',"
                   "'pods':'110'}}}",
                PT_END);
}

static void test_default_resources(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_balancedallocation, NULL);
    add_nodes(&e);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':"
                                  "[{'name':'c','resources':{'requests':{'cpu':'2','memory':'3000'}}}]}}");
    int64_t s[PT_MAX_NODES];
    assert_int_equal(pt_score_all(&e, p, s), CS_SUCCESS);
    /* a: cpu 3000/4000 = .75, mem 5000/10000 = .5 -> std .125 -> 87.5 -> 87
     * b: cpu 2000/6000 = .3333, mem .3 -> std .016667 -> 98.33 -> 98
     * c: cpu 2000/1000 capped at 1, mem .3 -> std .35 -> 65 */
    assert_int_equal(s[0], 87);
    assert_int_equal(s[1], 98);
    assert_int_equal(s[2], 65);
    cs_pod_unref(p);

    /* Requests are taken as they are: a pod requesting only cpu 1000m scores memory at the
     * node's own usage. b: cpu 1000/6000 = .1667, mem 0 -> std .0833 -> 91.67 -> 91 */
    p = pt_pod(&e, "{'metadata':{'name':'q','namespace':'ns'},'spec':{'containers':"
                   "[{'name':'c','resources':{'requests':{'cpu':'1'}}}]}}");
    pt_score_all(&e, p, s);
    assert_int_equal(s[1], 91);
    cs_pod_unref(p);

    /* best-effort pod: PreScore Skip */
    p = pt_pod(&e, "{'metadata':{'name':'r','namespace':'ns'},'spec':{'containers':[{'name':'c'}]}}");
    assert_int_equal(pt_score_all(&e, p, s), CS_SKIP);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_three_resources(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_balancedallocation,
                "{'resources':[{'name':'cpu','weight':1},{'name':'memory','weight':1},"
                "{'name':'example.com/gpu','weight':1}]}");
    add_nodes(&e);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':"
                                  "[{'name':'c','resources':{'requests':{'cpu':'2','memory':'3000',"
                                  "'example.com/gpu':'1'}}}]}}");
    int64_t s[PT_MAX_NODES];
    pt_score_all(&e, p, s);
    /* a: fractions .75, .5, 2/4 = .5; mean .58333; squares .027778 + .006944 + .006944 =
     *    .041667; /3 = .013889; sqrt = .117851 -> 88.21 -> 88
     * b: no gpus on the node -> two fractions .3333, .3 -> 98 */
    assert_int_equal(s[0], 88);
    assert_int_equal(s[1], 98);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_one_resource(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_balancedallocation, "{'resources':[{'name':'cpu'}]}");
    add_nodes(&e);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':"
                                  "[{'name':'c','resources':{'requests':{'cpu':'2'}}}]}}");
    int64_t s[PT_MAX_NODES];
    pt_score_all(&e, p, s);
    /* a single fraction has no deviation: 100 everywhere */
    assert_int_equal(s[0], 100);
    assert_int_equal(s[1], 100);
    assert_int_equal(s[2], 100);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_invalid_args(void **state)
{
    (void)state;
    struct pt_env e;
    char err[512] = "";
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_balancedallocation,
                                      "{'resources':[{'name':'cpu','weight':2}]}", err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "resources[0].weight"));
    pt_env_destroy(&e);
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_balancedallocation,
                                      "{'resources':[{'name':'cpu'},{'name':'cpu'}]}", err,
                                      sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "resources[1].name"));
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_resources),
        cmocka_unit_test(test_three_resources),
        cmocka_unit_test(test_one_resource),
        cmocka_unit_test(test_invalid_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
