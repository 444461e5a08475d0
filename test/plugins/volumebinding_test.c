/* VolumeBinding, as kube-scheduler's plugin decides: claims that are missing, going away or
 * unbound-Immediate reject the pod; bound claims follow their PV's node affinity; unbound
 * WaitForFirstConsumer claims need an available PV or a provisioner on the node. */
#include "test/plugins/plugintest.h"

#include "plugins/helper/volumes.h"

static struct cs_vol_table *table(struct pt_env *e)
{
    return *(struct cs_vol_table **)e->priv;
}

static void feed(struct pt_env *e, enum cs_vol_kind k, const char *json)
{
    json_error_t jerr;
    json_t *o = json_loads(pt_json(e, json), 0, &jerr);
    assert_non_null(o);
    cs_vol_table_upsert(table(e), k, o);
    json_decref(o);
}

/* A pod (uid u-NAME) whose volumes use the given claim (NULL: none), fed to the pod index. */
static struct cs_pod *claim_pod(struct pt_env *e, const char *name, const char *claim)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','namespace':'ns','uid':'u-%s'},'spec':{"
             "'containers':[{'name':'c','image':'i'}]%s%s%s}}",
             name, name, claim ? ",'volumes':[{'name':'v','persistentVolumeClaim':{'claimName':'"
                                 : "",
             claim ? claim : "", claim ? "'}}]" : "");
    feed(e, CS_VOL_KIND_POD, buf);
    return pt_pod(e, buf);
}

#define NODE_A "{'metadata':{'name':'a','labels':{'kubernetes.io/hostname':'a','zone':'z1'}}}"
#define NODE_B "{'metadata':{'name':'b','labels':{'kubernetes.io/hostname':'b','zone':'z2'}}}"

static void setup(struct pt_env *e)
{
    pt_env_init(e, &cs_plugin_volumebinding, NULL);
    pt_add_node(e, NODE_A, PT_END);
    pt_add_node(e, NODE_B, PT_END);
    feed(e, CS_VOL_KIND_CLASS, "{'metadata':{'name':'wffc'},'provisioner':'csi.example.com',"
                               "'volumeBindingMode':'WaitForFirstConsumer'}");
    feed(e, CS_VOL_KIND_CLASS, "{'metadata':{'name':'local'},"
                               "'provisioner':'kubernetes.io/no-provisioner',"
                               "'volumeBindingMode':'WaitForFirstConsumer'}");
    feed(e, CS_VOL_KIND_CLASS, "{'metadata':{'name':'now'},'provisioner':'csi.example.com',"
                               "'volumeBindingMode':'Immediate'}");
}

static void claim(struct pt_env *e, const char *name, const char *cls, const char *extra)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','namespace':'ns','uid':'c-%s'%s,"
             "'annotations':{'pv.kubernetes.io/bind-completed':'yes'}},'spec':{"
             "'storageClassName':'%s','accessModes':['ReadWriteOnce'],"
             "'resources':{'requests':{'storage':'10Gi'}}%s}}",
             name, name, strstr(extra, "deletionTimestamp") ? ",'deletionTimestamp':'x'" : "",
             cls, strstr(extra, "deletionTimestamp") ? "" : extra);
    feed(e, CS_VOL_KIND_PVC, buf);
}

static void pv(struct pt_env *e, const char *name, const char *cls, const char *size,
               const char *node, const char *extra)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','resourceVersion':'7'},'spec':{'storageClassName':'%s',"
             "'capacity':{'storage':'%s'},'accessModes':['ReadWriteOnce']%s%s%s%s}}",
             name, cls, size,
             node ? ",'nodeAffinity':{'required':{'nodeSelectorTerms':[{'matchExpressions':"
                    "[{'key':'kubernetes.io/hostname','operator':'In','values':['"
                  : "",
             node ? node : "", node ? "']}]}]}}" : "", extra);
    feed(e, CS_VOL_KIND_PV, buf);
}

static void expect(struct pt_env *e, struct cs_pod *pod, int node, enum cs_code code,
                   const char *reason)
{
    struct cs_status st;
    enum cs_code got = pt_filter(e, pod, &e->ni[node], &st);
    assert_int_equal(got, code);
    if (reason) {
        assert_int_equal(st.n_reasons, 1);
        assert_string_equal(st.reasons[0], reason);
    }
}

static void test_pod_without_claims_is_skipped(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", NULL);
    struct cs_status st = { 0 };
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SKIP);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_missing_or_deleting_claim_is_unresolvable(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "data");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "persistentvolumeclaim \"data\" not found");
    claim(&e, "data", "wffc", "deletionTimestamp");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "persistentvolumeclaim \"data\" is being deleted");
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_unbound_immediate_claim_is_unresolvable(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "data");
    claim(&e, "data", "now", "");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "pod has unbound immediate PersistentVolumeClaims");
    claim(&e, "data", "", "");      /* no class: Immediate as well */
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "pod has unbound immediate PersistentVolumeClaims");
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_bound_claim_follows_pv_node_affinity(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "data");
    claim(&e, "data", "now", ",'volumeName':'pv-a'");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)");
    pv(&e, "pv-a", "now", "10Gi", "a", ",'claimRef':{'namespace':'ns','name':'data'}");
    expect(&e, p, 0, CS_SUCCESS, NULL);
    expect(&e, p, 1, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) had volume node affinity conflict");
    pv(&e, "pv-a", "now", "10Gi", NULL, ",'claimRef':{'namespace':'ns','name':'data'}");
    expect(&e, p, 1, CS_SUCCESS, NULL);
    /* a volumeName without bind-completed is still being bound: counted as immediate */
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'data','namespace':'ns'},'spec':{"
                              "'storageClassName':'wffc','volumeName':'pv-a'}}");
    expect(&e, p, 1, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "pod has unbound immediate PersistentVolumeClaims");
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_wait_for_first_consumer_provisions_anywhere(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "data");
    claim(&e, "data", "wffc", "");
    expect(&e, p, 0, CS_SUCCESS, NULL);
    expect(&e, p, 1, CS_SUCCESS, NULL);
    /* once a node is selected, only that node fits */
    claim(&e, "data", "wffc", "");
    feed(&e, CS_VOL_KIND_PVC,
         "{'metadata':{'name':'data','namespace':'ns','annotations':"
         "{'volume.kubernetes.io/selected-node':'b'}},'spec':{'storageClassName':'wffc'}}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    expect(&e, p, 1, CS_SUCCESS, NULL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_wait_for_first_consumer_needs_an_available_pv_without_provisioner(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "data");
    claim(&e, "data", "local", "");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    pv(&e, "small", "local", "5Gi", "a", "");           /* too small */
    pv(&e, "taken", "local", "10Gi", "a", ",'claimRef':{'namespace':'ns','name':'other'}");
    pv(&e, "other-class", "wffc", "10Gi", "a", "");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    pv(&e, "ok", "local", "20Gi", "a", "");
    expect(&e, p, 0, CS_SUCCESS, NULL);
    /* a claim's selector must match the PV's labels */
    claim(&e, "data", "local", ",'selector':{'matchLabels':{'tier':'fast'}}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    pv(&e, "ok", "local", "20Gi", "a", "");
    feed(&e, CS_VOL_KIND_PV, "{'metadata':{'name':'ok','labels':{'tier':'fast'}},'spec':{"
                             "'storageClassName':'local','capacity':{'storage':'20Gi'},"
                             "'accessModes':['ReadWriteOnce'],'nodeAffinity':{'required':{"
                             "'nodeSelectorTerms':[{'matchExpressions':[{'key':"
                             "'kubernetes.io/hostname','operator':'In','values':['a']}]}]}}}}");
    expect(&e, p, 0, CS_SUCCESS, NULL);
    claim(&e, "data", "local", ",'selector':{'matchExpressions':[{'key':'tier',"
                               "'operator':'NotIn','values':['fast']}]}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    claim(&e, "data", "local", "");
    expect(&e, p, 1, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    feed(&e, CS_VOL_KIND_PV, "{'metadata':{'name':'rox'},'spec':{'storageClassName':'local',"
                             "'capacity':{'storage':'10Gi'},'accessModes':['ReadOnlyMany']}}");
    expect(&e, p, 1, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "node(s) didn't find available persistent volumes to bind");
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_reserve_takes_the_pv_and_unreserve_returns_it(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    claim(&e, "one", "local", "");
    claim(&e, "two", "local", "");
    pv(&e, "only", "local", "10Gi", "a", "");
    struct cs_pod *p1 = claim_pod(&e, "p1", "one");
    struct cs_pod *p2 = claim_pod(&e, "p2", "two");
    expect(&e, p1, 0, CS_SUCCESS, NULL);
    struct cs_status st = { 0 };
    assert_int_equal(e.pl->reserve(&e.call, p1, &e.ni[0], &st), CS_SUCCESS);
    void *s1 = e.state;
    /* p2's attempt in the same arena (p1's reservation state must survive it) */
    e.state = NULL;
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_filter(&e.call, p2, &st), CS_SUCCESS);
    assert_int_equal(e.pl->filter(&e.call, p2, &e.ni[0], &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_string_equal(st.reasons[0], "node(s) didn't find available persistent volumes to bind");
    e.state = s1;
    e.pl->unreserve(&e.call, p1, "a");
    expect(&e, p2, 0, CS_SUCCESS, NULL);
    cs_pod_unref(p1);
    cs_pod_unref(p2);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_without_claims_is_skipped),
        cmocka_unit_test(test_missing_or_deleting_claim_is_unresolvable),
        cmocka_unit_test(test_unbound_immediate_claim_is_unresolvable),
        cmocka_unit_test(test_bound_claim_follows_pv_node_affinity),
        cmocka_unit_test(test_wait_for_first_consumer_provisions_anywhere),
        cmocka_unit_test(test_wait_for_first_consumer_needs_an_available_pv_without_provisioner),
        cmocka_unit_test(test_reserve_takes_the_pv_and_unreserve_returns_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
