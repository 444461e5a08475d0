/*
 * Registry self-test: every plugin is well-formed and findable, and the default profile
 * names registered plugins in kube-scheduler's order with its weights. Also covers the
 * three queue/bind plugins that have no per-node logic: SchedulingGates, PrioritySort and
 * DefaultBinder.
 */
#include "test/plugins/plugintest.h"

static bool has_any_op(const struct cs_plugin *p)
{
    return p->pre_enqueue || p->queue_less || p->pre_filter || p->filter || p->post_filter ||
           p->pre_score || p->score || p->normalize_score || p->reserve || p->unreserve ||
           p->permit || p->pre_bind || p->bind || p->post_bind || p->pod_group;
}

static void test_registry_wellformed(void **state)
{
    (void)state;
    assert_true(cs_registry_count >= 11);
    for (size_t i = 0; i < cs_registry_count; i++) {
        const struct cs_plugin *p = cs_registry_plugins[i];
        assert_non_null(p);
        assert_int_equal(p->abi, CS_PLUGIN_ABI_V1);
        assert_non_null(p->name);
        assert_true(p->name[0] != '\0');
        assert_true(has_any_op(p));
        /* normalize/score come together; destroy only with init */
        if (p->normalize_score) {
            assert_non_null(p->score);
        }
        if (p->destroy) {
            assert_non_null(p->init);
        }
        assert_true((p->events & ~(uint32_t)CS_EV_ALL) == 0);
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(cs_registry_plugins[j]->name, p->name);
        }
        assert_ptr_equal(cs_registry_lookup(p->name), p);
    }
    assert_null(cs_registry_lookup("NoSuchPlugin"));
    assert_null(cs_registry_lookup(NULL));
}

static void test_default_profile(void **state)
{
    (void)state;
    static const struct cs_registry_profile_entry want[] = {
        {"SchedulingGates", 0}, {"PrioritySort", 0},     {"NodeUnschedulable", 0},
        {"NodeName", 0},        {"TaintToleration", 3},  {"NodeAffinity", 2},
        {"NodePorts", 0},       {"NodeResourcesFit", 1}, {"VolumeRestrictions", 0},
        {"NodeVolumeLimits", 0}, {"VolumeBinding", 0},   {"VolumeZone", 0},
        {"PodTopologySpread", 2},
        {"InterPodAffinity", 2},        {"DefaultPreemption", 0},
        {"NodeResourcesBalancedAllocation", 1},          {"ImageLocality", 1},
        {"DefaultBinder", 0},
    };
    assert_int_equal(cs_registry_default_profile_len, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < cs_registry_default_profile_len; i++) {
        assert_string_equal(cs_registry_default_profile[i].name, want[i].name);
        assert_int_equal(cs_registry_default_profile[i].weight, want[i].weight);
        const struct cs_plugin *p = cs_registry_lookup(want[i].name);
        assert_non_null(p);
        /* a weight only makes sense for a scoring plugin, and every scorer has one */
        assert_int_equal(want[i].weight > 0, p->score != NULL);
    }
}

static void test_scheduling_gates(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_schedulinggates, NULL);
    struct cs_status st;

    struct cs_pod *free_pod = pt_pod(&e, "{'metadata':{'name':'a','namespace':'ns'},"
                                         "'spec':{'containers':[{'name':'c','image':'i'}]}}");
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_enqueue(e.priv, free_pod, &st), CS_SUCCESS);
    assert_int_equal(st.n_reasons, 0);

    struct cs_pod *gated = pt_pod(&e, "{'metadata':{'name':'b','namespace':'ns'},"
                                      "'spec':{'schedulingGates':[{'name':'example.com/a'},"
                                      "{'name':'b'}],'containers':[{'name':'c','image':'i'}]}}");
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_enqueue(e.priv, gated, &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_int_equal(st.code, CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_int_equal(st.n_reasons, 1);
    assert_string_equal(st.reasons[0], "waiting for scheduling gates: [example.com/a b]");
    const char *first = st.reasons[0];

    /* the same gate list reuses one stored reason (bounded memory) */
    memset(&st, 0, sizeof(st));
    e.pl->pre_enqueue(e.priv, gated, &st);
    assert_ptr_equal(st.reasons[0], first);

    struct cs_pod *one = pt_pod(&e, "{'metadata':{'name':'c','namespace':'ns'},"
                                    "'spec':{'schedulingGates':[{'name':'only'}],"
                                    "'containers':[{'name':'c','image':'i'}]}}");
    memset(&st, 0, sizeof(st));
    e.pl->pre_enqueue(e.priv, one, &st);
    assert_string_equal(st.reasons[0], "waiting for scheduling gates: [only]");
    assert_true(e.pl->events & CS_EV_POD_UPDATE);

    cs_pod_unref(free_pod);
    cs_pod_unref(gated);
    cs_pod_unref(one);
    pt_env_destroy(&e);
}

static void test_priority_sort(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_prioritysort, NULL);
    struct cs_pod *hi = pt_pod(&e, "{'metadata':{'name':'hi','namespace':'ns'},"
                                   "'spec':{'priority':100,'containers':[{'name':'c'}]}}");
    struct cs_pod *lo = pt_pod(&e, "{'metadata':{'name':'lo','namespace':'ns'},"
                                   "'spec':{'priority':-5,'containers':[{'name':'c'}]}}");
    struct cs_pod *none = pt_pod(&e, "{'metadata':{'name':'none','namespace':'ns'},"
                                     "'spec':{'containers':[{'name':'c'}]}}");
    struct cs_queued_pod qhi = {.pod = hi, .timestamp_ns = 50};
    struct cs_queued_pod qlo = {.pod = lo, .timestamp_ns = 10};
    struct cs_queued_pod qnone_early = {.pod = none, .timestamp_ns = 1};
    struct cs_queued_pod qnone_late = {.pod = none, .timestamp_ns = 2};
    /* higher priority first regardless of time */
    assert_true(e.pl->queue_less(NULL, &qhi, &qlo));
    assert_false(e.pl->queue_less(NULL, &qlo, &qhi));
    /* absent priority counts as 0: above -5, below 100 */
    assert_true(e.pl->queue_less(NULL, &qnone_late, &qlo));
    assert_true(e.pl->queue_less(NULL, &qhi, &qnone_early));
    /* equal priority: earlier timestamp first; never less than itself */
    assert_true(e.pl->queue_less(NULL, &qnone_early, &qnone_late));
    assert_false(e.pl->queue_less(NULL, &qnone_late, &qnone_early));
    assert_false(e.pl->queue_less(NULL, &qnone_early, &qnone_early));
    cs_pod_unref(hi);
    cs_pod_unref(lo);
    cs_pod_unref(none);
    pt_env_destroy(&e);
}

static void test_default_binder(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_defaultbinder, NULL);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'a','namespace':'ns'},"
                                  "'spec':{'containers':[{'name':'c'}]}}");
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->bind(&e.call, p, "node-1", &st), CS_SUCCESS);
    assert_int_equal(st.n_reasons, 0);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_wellformed), cmocka_unit_test(test_default_profile),
        cmocka_unit_test(test_scheduling_gates),    cmocka_unit_test(test_priority_sort),
        cmocka_unit_test(test_default_binder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
