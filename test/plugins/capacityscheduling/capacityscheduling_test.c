/*
 * Specification of CapacityScheduling (plugins/capacityscheduling): how the quota objects
 * become the tree in force, and how the plugin's ops keep the model in step with the session.
 *
 *   - the oldest ElasticQuotaTree in kube-system is used; an invalid version is refused and the
 *     last valid tree stays; flat ElasticQuotas are used only when no tree exists;
 *   - PreFilter refuses a pod over its quota, naming the quota (unresolvable for node-level
 *     preemption: no node's pods lower a quota);
 *   - Reserve charges the pod at once (later pods of the session see it), Unreserve takes it
 *     back; statement evictions and nominations are charged and undone with the statement;
 *   - pending pods are counted and forgotten; a deleted assigned pod frees its quota.
 */
#include "test/plugins/plugintest.h"

#include <stdio.h>

#include "plugins/capacityscheduling/capacityscheduling.h"

static json_t *obj(struct pt_env *e, const char *src)
{
    json_error_t err;
    json_t *j = json_loads(pt_json(e, src), 0, &err);
    assert_non_null(j);
    return j;
}

#define TREE(name, ts, leafmax)                                                                \
    "{'metadata':{'name':'" name "','namespace':'kube-system','creationTimestamp':'" ts "'},"  \
    "'spec':{'root':{'name':'root','min':{'cpu':10},'max':{'cpu':10},'children':["             \
    "{'name':'root.a','namespaces':['na'],'min':{'cpu':5},'max':{'cpu':" leafmax "}},"          \
    "{'name':'root.b','namespaces':['nb'],'min':{'cpu':5},'max':{'cpu':10}}]}}}"

static struct cs_pod *qpod(struct pt_env *e, const char *ns, const char *name, int cpu)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','namespace':'%s','uid':'u-%s'},'spec':{'containers':[{"
             "'name':'c','image':'i','resources':{'requests':{'cpu':'%d'}}}]}}",
             name, ns, name, cpu);
    return pt_pod(e, buf);
}

static void put(struct pt_env *e, const char *kind, const char *src)
{
    struct cs_capsched *cs = e->priv;
    json_t *j = obj(e, src);
    cs_capobj_put(&cs->objs, kind, j);
    json_decref(j);
}

static int64_t used(struct pt_env *e, const char *quota)
{
    struct cs_capsched *cs = e->priv;
    int32_t i = cs_quota_tree_find(cs->model.tree, quota);
    assert_true(i >= 0);
    return cs->model.tree->nodes[i].used[0];
}

static void test_tree_in_force_and_refusals(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_capacityscheduling, NULL);
    struct cs_capsched *cs = e.priv;
    e.pl->session_open(e.priv, &e.snap);
    assert_null(cs->model.tree);                         /* no objects: no quotas */

    put(&e, "scheduling.sigs.k8s.io",
        "{'metadata':{'name':'eq','namespace':'nx'},'spec':{'min':{'cpu':2},'max':{'cpu':4}}}");
    e.pl->session_open(e.priv, &e.snap);
    assert_non_null(cs->model.tree);
    assert_string_equal(cs->model.tree->source, "ElasticQuota");

    put(&e, "tree", TREE("newer", "2026-02-01T00:00:00Z", "8"));
    put(&e, "tree", TREE("older", "2026-01-01T00:00:00Z", "6"));
    e.pl->session_open(e.priv, &e.snap);
    assert_string_equal(cs->model.tree->source, "kube-system/older");   /* trees win; oldest */
    int32_t a = cs_quota_tree_find(cs->model.tree, "root.a");
    assert_int_equal(cs->model.tree->nodes[a].max[0], 6000);

    /* An invalid version of the tree in force: refused, the last valid one stays. */
    put(&e, "tree",
        "{'metadata':{'name':'older','namespace':'kube-system','creationTimestamp':"
        "'2026-01-01T00:00:00Z'},'spec':{'root':{'name':'root','min':{'cpu':1},'children':["
        "{'name':'x','namespaces':['na'],'min':{'cpu':5}}]}}}");
    e.pl->session_open(e.priv, &e.snap);
    assert_string_equal(cs->model.tree->source, "kube-system/older");
    assert_int_equal(cs->model.tree->nodes[a].max[0], 6000);
    /* A valid edit takes effect without anything else. */
    put(&e, "tree", TREE("older", "2026-01-01T00:00:00Z", "7"));
    e.pl->session_open(e.priv, &e.snap);
    assert_int_equal(cs->model.tree->nodes[cs_quota_tree_find(cs->model.tree, "root.a")].max[0],
                     7000);
    pt_env_destroy(&e);
}

static void test_prefilter_reserve_and_statement(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_capacityscheduling, NULL);
    put(&e, "tree", TREE("t", "2026-01-01T00:00:00Z", "6"));
    e.pl->session_open(e.priv, &e.snap);
    struct cs_node_info *ni = pt_add_node(&e, "{'metadata':{'name':'n1'},'status':{'capacity':"
                                              "{'cpu':'64','memory':'64Gi','pods':'110'}}}",
                                          PT_END);
    struct cs_pod *p1 = qpod(&e, "na", "p1", 4);
    struct cs_pod *p2 = qpod(&e, "na", "p2", 4);
    struct cs_status st = { 0 };
    pt_new_cycle(&e);
    assert_int_equal(e.pl->pre_filter(&e.call, p1, &st), CS_SUCCESS);
    assert_int_equal(e.pl->reserve(&e.call, p1, ni, &st), CS_SUCCESS);
    assert_int_equal(used(&e, "root.a"), 4000);
    /* The next pod of the same session sees p1's charge. */
    pt_new_cycle(&e);
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_filter(&e.call, p2, &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_string_equal(st.reasons[0], "quota root.a would exceed max cpu: used 4, request 4, max 6");
    /* Unreserve (a discarded statement) takes the charge back. */
    e.pl->unreserve(&e.call, p1, "n1");
    assert_int_equal(used(&e, "root.a"), 0);
    pt_new_cycle(&e);
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_filter(&e.call, p2, &st), CS_SUCCESS);

    /* Assigned pods come from the cluster (on_pod); a statement evicting one frees its quota
     * until the eviction is undone; a nomination holds the preemptor's request. */
    struct cs_pod *b1 = qpod(&e, "nb", "b1", 6);
    e.pl->on_pod(e.priv, NULL, b1);
    assert_int_equal(used(&e, "root.b"), 6000);
    e.pl->on_stmt(e.priv, CS_STMT_EV_EVICT, b1, "n1", false);
    assert_int_equal(used(&e, "root.b"), 0);
    e.pl->on_stmt(e.priv, CS_STMT_EV_EVICT, b1, "n1", true);
    assert_int_equal(used(&e, "root.b"), 6000);
    struct cs_capsched *cs = e.priv;
    e.pl->on_stmt(e.priv, CS_STMT_EV_NOMINATE, p2, "n1", false);
    assert_int_equal(cs->model.tree->nodes[0].nominated[0], 4000);
    e.pl->on_stmt(e.priv, CS_STMT_EV_NOMINATE, p2, "n1", true);
    assert_int_equal(cs->model.tree->nodes[0].nominated[0], 0);
    /* p2 waits again, and so does p1 since its Unreserve: both count as pending. */
    assert_int_equal(cs->model.tree->nodes[0].pending[0], 8000);

    /* Pending pods: counted while they wait (once), forgotten when deleted. */
    e.pl->on_pending(e.priv, p1->key, p1);
    assert_int_equal(cs->model.tree->nodes[0].pending[0], 8000);
    e.pl->on_pending(e.priv, p1->key, NULL);
    e.pl->on_pending(e.priv, p2->key, NULL);
    assert_int_equal(cs->model.tree->nodes[0].pending[0], 0);
    /* A deleted assigned pod frees its quota. */
    e.pl->on_pod(e.priv, b1, NULL);
    assert_int_equal(used(&e, "root.b"), 0);

    /* Preemption rules for the engine: a pod in no quota may not evict a quota's pod. */
    struct cs_pod *free_pod = qpod(&e, "elsewhere", "f", 1);
    e.pl->on_pod(e.priv, NULL, b1);
    assert_false(e.pl->may_evict(e.priv, free_pod, b1));
    cs_pod_unref(free_pod);
    cs_pod_unref(b1);
    cs_pod_unref(p1);
    cs_pod_unref(p2);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_in_force_and_refusals),
        cmocka_unit_test(test_prefilter_reserve_and_statement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
