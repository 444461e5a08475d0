/*
 * Platform services for node-level plugins, specified through EciBurst on kube-scheduler's
 * default profile:
 *   - fallback nodes: a node a plugin wants only when no other node fits is chosen only then,
 *     whatever the scores say, on the full path and from the equivalence cache alike;
 *   - implicit tolerations (cs_fw_tolerate): TaintToleration lets a PreFilter-tolerated taint
 *     pass for that attempt only;
 *   - meta_keys: pods that differ only in a key a node-local plugin reads are not equivalent
 *     (the cache must not hand one's result to the other), while other metadata is ignored.
 */
#include "test/pkg/framework/fwtest.h"

struct env {
    struct cs_api_ctx api;
    struct cs_snapshot snap;
    struct cs_profile prof;
    struct cs_cycle cyc;
};

static struct env *env_new(int32_t pct)
{
    struct env *e = test_calloc(1, sizeof(*e));
    cs_api_ctx_init(&e->api);
    cs_snapshot_init(&e->snap);
    fw_profile_with(&e->prof, &e->api, pct, "EciBurst");
    cs_cycle_init(&e->cyc, &e->api, 7);
    e->cyc.snap = &e->snap;
    /* a regular node with 2 of 4 cpu used, and a huge virtual node that scores far higher */
    struct cs_node *n = fw_node(&e->api, "{'metadata':{'name':'ecs'},'status':{'allocatable':"
                                         "{'cpu':'4','memory':'16Gi','pods':'110'}}}");
    struct cs_pod *used = fw_pod(&e->api,
                                 "{'metadata':{'name':'used','namespace':'default'},'spec':{"
                                 "'nodeName':'ecs','containers':[{'name':'c','image':'i',"
                                 "'resources':{'requests':{'cpu':'2','memory':'1Gi'}}}]}}");
    fw_snap_add(&e->snap, n, &used, 1);
    cs_pod_unref(used);
    cs_node_unref(n);
    n = fw_node(&e->api, "{'metadata':{'name':'vk','labels':{'type':'virtual-kubelet'}},"
                         "'spec':{'taints':[{'key':'virtual-kubelet.io/provider','value':"
                         "'alibabacloud','effect':'NoSchedule'}]},'status':{'allocatable':"
                         "{'cpu':'1000','memory':'4Ti','pods':'1000'}}}");
    fw_snap_add(&e->snap, n, NULL, 0);
    cs_node_unref(n);
    return e;
}

static void env_free(struct env *e)
{
    cs_cycle_destroy(&e->cyc);
    cs_profile_destroy(&e->prof);
    cs_snapshot_destroy(&e->snap);
    cs_api_ctx_destroy(&e->api);
    test_free(e);
}

static struct cs_pod *pod(struct env *e, const char *name, const char *cpu, const char *burst,
                          const char *label)
{
    char ann[128] = "{}";
    if (burst) {
        snprintf(ann, sizeof(ann), "{'alibabacloud.com/burst-resource':'%s'}", burst);
    }
    return fw_podf(&e->api,
                   "{'metadata':{'name':'%s','namespace':'default','annotations':%s,"
                   "'labels':{'app':'%s'}},'spec':{'containers':[{'name':'c','image':'i',"
                   "'resources':{'requests':{'cpu':'%s','memory':'100Mi'}}}]}}",
                   name, ann, label ? label : "x", cpu);
}

/* Where the pod goes ("" when nowhere); the message when nowhere. */
static const char *place(struct env *e, struct cs_pod *p, char *msg, size_t n)
{
    struct cs_sched_result res;
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    const char *where = res.code == CS_SUCCESS && res.node ? res.node->name : "";
    if (msg) {
        snprintf(msg, n, "%s", res.message ? res.message : "");
    }
    cs_cycle_reset(&e->cyc);
    cs_cycle_release(&e->cyc);
    cs_pod_unref(p);
    return where;
}

static void test_fallback_only_when_nothing_else_fits(void **state)
{
    (void)state;
    for (int pct = -1; pct <= 100; pct += 101) {     /* equivalence cache, then full path */
        struct env *e = env_new(pct);
        char msg[512];
        /* eci: the regular node, though the virtual node scores higher */
        assert_string_equal(place(e, pod(e, "a", "1", "eci", NULL), NULL, 0), "ecs");
        /* too big for the regular node: the virtual node (its taint tolerated implicitly) */
        assert_string_equal(place(e, pod(e, "b", "3", "eci", NULL), NULL, 0), "vk");
        /* back to a small one: the cache must not keep the fallback choice */
        assert_string_equal(place(e, pod(e, "c", "1", "eci", "y"), NULL, 0), "ecs");
        /* eci_only: virtual only */
        assert_string_equal(place(e, pod(e, "d", "1", "eci_only", NULL), NULL, 0), "vk");
        /* no annotation, and the same pod otherwise: never the virtual node (here EciBurst, first
         * in this profile, says so before TaintToleration would), so the big one does not fit */
        assert_string_equal(place(e, pod(e, "f", "1", NULL, NULL), NULL, 0), "ecs");
        assert_string_equal(place(e, pod(e, "g", "3", NULL, NULL), msg, sizeof(msg)), "");
        assert_non_null(strstr(msg, "1 Insufficient cpu"));
        assert_non_null(strstr(msg, "1 node(s) were virtual nodes and the pod may not burst"));
        /* an unknown value */
        assert_string_equal(place(e, pod(e, "h", "1", "spot", NULL), msg, sizeof(msg)), "");
        assert_non_null(strstr(msg, "request type must be eci, eci_only or ecs"));
        env_free(e);
    }
}

static void test_meta_keys_equivalence(void **state)
{
    (void)state;
    struct env *e = env_new(-1);
    struct cs_pod *a = pod(e, "a", "1", "eci", "one");
    struct cs_pod *b = pod(e, "b", "1", "eci", "two");
    struct cs_pod *c = pod(e, "c", "1", "eci_only", "one");
    /* labels nobody reads do not split classes; the burst annotation does */
    assert_true(cs_fw_pod_equivalent_meta(a, b, e->prof.eq_meta));
    assert_true(cs_fw_pod_same_keys(a, b, e->prof.eq_keys, e->prof.n_eq_keys));
    assert_false(cs_fw_pod_same_keys(a, c, e->prof.eq_keys, e->prof.n_eq_keys));
    cs_pod_unref(a);
    cs_pod_unref(b);
    cs_pod_unref(c);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fallback_only_when_nothing_else_fits),
        cmocka_unit_test(test_meta_keys_equivalence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
