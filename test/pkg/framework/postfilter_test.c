/*
 * Specification of PostFilter and nominated pods in the per-pod algorithm
 * (pkg/framework/cycle.c), with kube-scheduler's default profile plus a probe plugin:
 *
 *   - PostFilter runs when no node fits, also when PreFilter rejected the pod (then every node
 *     carries PreFilter's status), and gets the status of every node;
 *   - the node a PostFilter plugin nominates reaches the result (it is not thrown away);
 *   - Filter counts pods nominated to a node that have at least the pod's priority, as
 *     kube-scheduler's RunFilterPluginsWithNominatedPods does; lower-priority ones do not count.
 */
#include "test/pkg/framework/fwtest.h"

#include <stdlib.h>

#include "pkg/framework/nominator.h"
#include "pkg/util/intern.h"

/* ---- PostFilterProbe ---------------------------------------------------------------------- */

struct probe_seen {
    int post_filters;
    uint32_t statuses_n;           /* size of the last status map */
    uint32_t unschedulable;        /* nodes marked Unschedulable in it */
};
static struct probe_seen seen;

static enum cs_code probe_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                     struct cs_status *st)
{
    (void)c;
    if (cs_pod_label(pod, "reject-in-prefilter")) {
        return cs_status_set(st, CS_UNSCHEDULABLE, "rejected by the probe");
    }
    return CS_SUCCESS;
}

static enum cs_code probe_post_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                      const struct cs_node_status_map *statuses,
                                      struct cs_preempt_result *out, struct cs_status *st)
{
    (void)pod;
    (void)st;
    seen.post_filters++;
    seen.statuses_n = statuses ? statuses->n : 0;
    seen.unschedulable = 0;
    for (uint32_t i = 0; statuses && i < statuses->n; i++) {
        seen.unschedulable += statuses->code[i] == CS_UNSCHEDULABLE ||
                              statuses->code[i] == CS_UNSCHEDULABLE_AND_UNRESOLVABLE;
    }
    const struct cs_node_info *ni = cs_snapshot_node(c->snap, "n1");
    out->node = ni ? ni->name : NULL;
    return out->node ? CS_SUCCESS : CS_UNSCHEDULABLE;
}

static const struct cs_plugin probe_plugin = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "PostFilterProbe",
    .events = CS_EV_ALL,
    .pre_filter = probe_pre_filter,
    .post_filter = probe_post_filter,
};
const struct cs_plugin *const cs_registry_extra[] = { &probe_plugin };
const size_t cs_registry_extra_count = 1;

/* ---- fixture ------------------------------------------------------------------------------ */

struct env {
    struct cs_api_ctx api;
    struct cs_snapshot snap;
    struct cs_profile prof;
    struct cs_cycle cyc;
    struct cs_nominator nom;
};

static struct env *env_new(void)
{
    memset(&seen, 0, sizeof(seen));
    struct env *e = test_calloc(1, sizeof(*e));
    cs_api_ctx_init(&e->api);
    cs_snapshot_init(&e->snap);
    fw_profile_with(&e->prof, &e->api, -1, "PostFilterProbe");
    cs_cycle_init(&e->cyc, &e->api, 42);
    e->cyc.snap = &e->snap;
    cs_nominator_init(&e->nom);
    e->cyc.nominator = &e->nom;
    /* n1: 8 cpu free; n2: 8 cpu with 5 used. */
    fw_snap_add_json(&e->snap, &e->api,
                     "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'8','memory':"
                     "'16Gi','pods':'110'}}}",
                     FW_END);
    fw_snap_add_json(&e->snap, &e->api,
                     "{'metadata':{'name':'n2'},'status':{'allocatable':{'cpu':'8','memory':"
                     "'16Gi','pods':'110'}}}",
                     "{'metadata':{'name':'used','namespace':'default'},'spec':{'nodeName':'n2',"
                     "'containers':[{'name':'c','image':'i','resources':{'requests':{'cpu':'5'}}"
                     "}]}}",
                     FW_END);
    return e;
}

static void env_free(struct env *e)
{
    cs_nominator_destroy(&e->nom);
    cs_cycle_destroy(&e->cyc);
    cs_profile_destroy(&e->prof);
    cs_snapshot_destroy(&e->snap);
    cs_api_ctx_destroy(&e->api);
    test_free(e);
}

static struct cs_pod *pod(struct env *e, const char *name, int prio, const char *cpu,
                          const char *labels)
{
    return fw_podf(&e->api,
                   "{'metadata':{'name':'%s','namespace':'default','uid':'u-%s','labels':{%s}},"
                   "'spec':{'priority':%d,'containers':[{'name':'c','image':'i','resources':{"
                   "'requests':{'cpu':'%s'}}}]}}",
                   name, name, labels ? labels : "", prio, cpu);
}

static void schedule(struct env *e, struct cs_pod *p, struct cs_sched_result *res)
{
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, res);
}

static void done(struct env *e)
{
    cs_cycle_reset(&e->cyc);
    cs_cycle_release(&e->cyc);
}

/* ---- the specification -------------------------------------------------------------------- */

/* A pod PreFilter rejects still goes through PostFilter, with every node marked Unschedulable,
 * and the node PostFilter nominates is in the result. */
static void test_postfilter_runs_after_prefilter_rejection(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_pod *p = pod(e, "rej", 0, "1", "'reject-in-prefilter':'x'");
    struct cs_sched_result res;
    schedule(e, p, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);
    assert_int_equal(seen.post_filters, 1);
    assert_int_equal(seen.statuses_n, 2);
    assert_int_equal(seen.unschedulable, 2);
    assert_non_null(res.preempt.node);
    assert_string_equal(res.preempt.node, "n1");
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* When Filter rejects every node, PostFilter gets each node's Filter status. */
static void test_postfilter_gets_filter_statuses(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_pod *p = pod(e, "huge", 0, "9", NULL);
    struct cs_sched_result res;
    schedule(e, p, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);
    assert_non_null(strstr(res.message, "Insufficient cpu"));
    assert_int_equal(seen.post_filters, 1);
    assert_int_equal(seen.statuses_n, 2);
    assert_int_equal(seen.unschedulable, 2);
    assert_string_equal(res.preempt.node, "n1");
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* PostFilter does not run when a node fits. */
static void test_postfilter_not_run_on_success(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_pod *p = pod(e, "small", 0, "1", NULL);
    struct cs_sched_result res;
    schedule(e, p, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    assert_int_equal(seen.post_filters, 0);
    assert_null(res.preempt.node);
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* A pod of priority 10 nominated to n1 with 7 cpu leaves 1 cpu there for pods of priority <=
 * 10: a 2-cpu pod of priority 0 goes to n2 (which it would never prefer: 5 of 8 used). A pod
 * of priority 100 does not see the nomination and takes n1, the least allocated node. */
static void test_filter_counts_nominated_pods_of_higher_priority(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_sched_result res;

    struct cs_pod *p = pod(e, "low", 0, "2", NULL);
    schedule(e, p, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    assert_string_equal(res.node->name, "n1");
    done(e);

    struct cs_pod *nominated = pod(e, "preemptor", 10, "7", NULL);
    cs_nominator_set(&e->nom, nominated, "n1");
    schedule(e, p, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    assert_string_equal(res.node->name, "n2");
    done(e);

    struct cs_pod *high = pod(e, "high", 100, "2", NULL);
    schedule(e, high, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    assert_string_equal(res.node->name, "n1");
    done(e);

    /* The nominated pod itself is not counted against itself. */
    schedule(e, nominated, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    assert_string_equal(res.node->name, "n1");
    done(e);

    cs_nominator_remove(&e->nom, nominated->key);
    cs_pod_unref(high);
    cs_pod_unref(nominated);
    cs_pod_unref(p);
    env_free(e);
}

/* The nominator answers per node: only that node's nominations, of priority >= the pod's,
 * never the pod itself; a moved nomination leaves its old node; removal empties the index. */
static void test_nominator_by_node(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_nominator nom;
    cs_nominator_init(&nom);
    struct cs_pod *a = pod(e, "a", 10, "1", NULL);
    struct cs_pod *b = pod(e, "b", 0, "1", NULL);
    struct cs_pod *c = pod(e, "c", 10, "1", NULL);
    const char *n1 = cs_intern(e->api.strings, "n1"), *n2 = cs_intern(e->api.strings, "n2");
    cs_nominator_set(&nom, a, n1);
    cs_nominator_set(&nom, b, n1);
    cs_nominator_set(&nom, c, n2);
    struct cs_arena ar;
    cs_arena_init(&ar, 1024);
    struct cs_pod **out = NULL;
    struct cs_pod *probe = pod(e, "probe", 5, "1", NULL);
    assert_int_equal(cs_nominator_on_node(&nom, "n1", probe, &out, &ar), 1);   /* a, not b */
    assert_string_equal(out[0]->name, "a");
    cs_pod_unref(out[0]);
    assert_int_equal(cs_nominator_on_node(&nom, "n1", a, &out, &ar), 0);       /* not itself */
    cs_nominator_set(&nom, a, n2);                                             /* moved */
    assert_int_equal(cs_nominator_on_node(&nom, "n1", probe, &out, &ar), 0);
    assert_int_equal(cs_nominator_on_node(&nom, "n2", probe, &out, &ar), 2);
    cs_pod_unref(out[0]);
    cs_pod_unref(out[1]);
    assert_string_equal(cs_nominator_node_of(&nom, "default/a"), "n2");
    cs_nominator_remove(&nom, "default/a");
    cs_nominator_remove(&nom, "default/b");
    cs_nominator_remove(&nom, "default/c");
    assert_int_equal(cs_nominator_len(&nom), 0);
    assert_int_equal(cs_map_len(&nom.by_node), 0);
    cs_nominator_destroy(&nom);
    cs_arena_destroy(&ar);
    cs_pod_unref(a);
    cs_pod_unref(b);
    cs_pod_unref(c);
    cs_pod_unref(probe);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_postfilter_runs_after_prefilter_rejection),
        cmocka_unit_test(test_postfilter_gets_filter_statuses),
        cmocka_unit_test(test_postfilter_not_run_on_success),
        cmocka_unit_test(test_filter_counts_nominated_pods_of_higher_priority),
        cmocka_unit_test(test_nominator_by_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
