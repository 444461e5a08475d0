/*
 * Queueing hints of the default plugins (kube-scheduler's isSchedulableAfter... functions): a
 * node heartbeat or an unrelated change does not wake a pod these plugins rejected; the changes
 * that can make it fit do, and so does any event whose objects are unknown.
 */
#include "test/plugins/plugintest.h"

static struct cs_node *node(struct pt_env *e, const char *cpu, bool unsched, const char *taints)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'n1'},'spec':{'unschedulable':%s,'taints':%s},"
             "'status':{'allocatable':{'cpu':'%s','memory':'8Gi','pods':'110'}}}",
             unsched ? "true" : "false", taints ? taints : "[]", cpu);
    return pt_node(e, buf);
}

static enum cs_qhint hint(const struct cs_plugin *pl, uint32_t ev, struct cs_node *old,
                          struct cs_node *new_node, const struct cs_pod *pod)
{
    struct cs_event_info info = { .event = ev, .old_node = old, .new_node = new_node };
    return pl->queueing_hint(NULL, &info, pod);
}

static void test_fit_hint(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_noderesources, NULL);
    struct cs_pod *pod = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{"
                                    "'containers':[{'name':'c','resources':{'requests':"
                                    "{'cpu':'3'}}}]}}");
    struct cs_node *n2 = node(&e, "2", false, NULL), *n2b = node(&e, "2", false, NULL);
    struct cs_node *n4 = node(&e, "4", false, NULL);
    const struct cs_plugin *pl = &cs_plugin_noderesources;
    assert_int_equal(hint(pl, CS_EV_NODE_UPDATE, n2, n2b, pod), CS_QHINT_SKIP); /* heartbeat */
    assert_int_equal(hint(pl, CS_EV_NODE_UPDATE, n2, n4, pod), CS_QHINT_QUEUE); /* grew */
    assert_int_equal(hint(pl, CS_EV_NODE_UPDATE, n4, n2, pod), CS_QHINT_SKIP);  /* shrank */
    assert_int_equal(hint(pl, CS_EV_NODE_ADD, NULL, n2, pod), CS_QHINT_SKIP);   /* too small */
    assert_int_equal(hint(pl, CS_EV_NODE_ADD, NULL, n4, pod), CS_QHINT_QUEUE);
    assert_int_equal(hint(pl, CS_EV_POD_DELETE, NULL, NULL, pod), CS_QHINT_QUEUE);
    assert_int_equal(hint(pl, CS_EV_NODE_UPDATE, NULL, NULL, pod), CS_QHINT_QUEUE); /* unknown */
    cs_node_unref(n2);
    cs_node_unref(n2b);
    cs_node_unref(n4);
    cs_pod_unref(pod);
    pt_env_destroy(&e);
}

static void test_unschedulable_and_taint_hints(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_tainttoleration, NULL);
    struct cs_pod *pod = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{"
                                    "'containers':[{'name':'c'}]}}");
    struct cs_node *cordoned = node(&e, "4", true, NULL), *open = node(&e, "4", false, NULL);
    const struct cs_plugin *nu = &cs_plugin_nodeunschedulable;
    assert_int_equal(hint(nu, CS_EV_NODE_UPDATE, cordoned, open, pod), CS_QHINT_QUEUE);
    assert_int_equal(hint(nu, CS_EV_NODE_UPDATE, cordoned, cordoned, pod), CS_QHINT_SKIP);
    assert_int_equal(hint(nu, CS_EV_NODE_UPDATE, open, open, pod), CS_QHINT_SKIP);
    assert_int_equal(hint(nu, CS_EV_NODE_ADD, NULL, open, pod), CS_QHINT_QUEUE);

    struct cs_node *tainted = node(&e, "4", false, "[{'key':'gpu','value':'x','effect':'NoSchedule'}]");
    struct cs_node *pref = node(&e, "4", false, "[{'key':'gpu','value':'x','effect':'PreferNoSchedule'}]");
    const struct cs_plugin *tt = &cs_plugin_tainttoleration;
    assert_int_equal(hint(tt, CS_EV_NODE_UPDATE, tainted, pref, pod), CS_QHINT_QUEUE);
    assert_int_equal(hint(tt, CS_EV_NODE_UPDATE, tainted, tainted, pod), CS_QHINT_SKIP);
    assert_int_equal(hint(tt, CS_EV_NODE_ADD, NULL, tainted, pod), CS_QHINT_SKIP);
    assert_int_equal(hint(tt, CS_EV_NODE_ADD, NULL, pref, pod), CS_QHINT_QUEUE);
    cs_node_unref(cordoned);
    cs_node_unref(open);
    cs_node_unref(tainted);
    cs_node_unref(pref);
    cs_pod_unref(pod);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fit_hint),
        cmocka_unit_test(test_unschedulable_and_taint_hints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
