/* VolumeZone: a pod's bound PVs labelled with a zone or region fit only nodes there; nodes
 * without topology labels and WaitForFirstConsumer claims are not its concern. */
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

static struct cs_pod *claim_pod(struct pt_env *e, const char *claim)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'p','namespace':'ns','uid':'u-p'},'spec':{"
             "'containers':[{'name':'c','image':'i'}],'volumes':[{'name':'v',"
             "'persistentVolumeClaim':{'claimName':'%s'}}]}}", claim);
    feed(e, CS_VOL_KIND_POD, buf);
    return pt_pod(e, buf);
}

#define ZONE_CONFLICT "node(s) had no available volume zone"

static void setup(struct pt_env *e)
{
    pt_env_init(e, &cs_plugin_volumezone, NULL);
    pt_add_node(e, "{'metadata':{'name':'a','labels':{'topology.kubernetes.io/zone':'z1',"
                   "'topology.kubernetes.io/region':'r1'}}}", PT_END);
    pt_add_node(e, "{'metadata':{'name':'b','labels':{'topology.kubernetes.io/zone':'z2',"
                   "'topology.kubernetes.io/region':'r1'}}}", PT_END);
    pt_add_node(e, "{'metadata':{'name':'bare'}}", PT_END);
    feed(e, CS_VOL_KIND_CLASS, "{'metadata':{'name':'wffc'},'provisioner':'x',"
                               "'volumeBindingMode':'WaitForFirstConsumer'}");
    feed(e, CS_VOL_KIND_CLASS, "{'metadata':{'name':'now'},'provisioner':'x',"
                               "'volumeBindingMode':'Immediate'}");
}

static void expect(struct pt_env *e, struct cs_pod *pod, int node, enum cs_code code,
                   const char *reason)
{
    struct cs_status st;
    assert_int_equal(pt_filter(e, pod, &e->ni[node], &st), code);
    if (reason) {
        assert_string_equal(st.reasons[0], reason);
    }
}

static void test_zonal_pv_fits_only_its_zone(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'d','namespace':'ns'},'spec':{"
                              "'volumeName':'pv1'}}");
    feed(&e, CS_VOL_KIND_PV, "{'metadata':{'name':'pv1','labels':{"
                             "'topology.kubernetes.io/zone':'z1'}},'spec':{}}");
    struct cs_pod *p = claim_pod(&e, "d");
    expect(&e, p, 0, CS_SUCCESS, NULL);
    expect(&e, p, 1, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ZONE_CONFLICT);
    expect(&e, p, 2, CS_SUCCESS, NULL);          /* a node without topology labels */
    /* several zones joined by "__", and the beta key matched against the GA node label */
    feed(&e, CS_VOL_KIND_PV, "{'metadata':{'name':'pv1','labels':{"
                             "'failure-domain.beta.kubernetes.io/zone':'z3__z2'}},'spec':{}}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ZONE_CONFLICT);
    expect(&e, p, 1, CS_SUCCESS, NULL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_claims_without_zonal_pv(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "d");
    struct cs_status st = { 0 };
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "persistentvolumeclaim \"d\" not found");
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'d','namespace':'ns'},'spec':{"
                              "'storageClassName':'wffc'}}");
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SKIP);
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'d','namespace':'ns'},'spec':{"
                              "'storageClassName':'now'}}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "PersistentVolume had no name");
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'d','namespace':'ns'},'spec':{}}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
           "PersistentVolumeClaim had no pv name and storageClass name");
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'d','namespace':'ns'},'spec':{"
                              "'volumeName':'pv9'}}");
    expect(&e, p, 0, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "persistentvolume \"pv9\" not found");
    feed(&e, CS_VOL_KIND_PV, "{'metadata':{'name':'pv9'},'spec':{}}");
    pt_new_cycle(&e);
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SKIP);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zonal_pv_fits_only_its_zone),
        cmocka_unit_test(test_claims_without_zonal_pv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
