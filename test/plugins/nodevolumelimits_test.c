/* NodeVolumeLimits: a node takes no more CSI volumes of a driver than its CSINode's
 * allocatable count; a volume already attached for another pod is not counted twice. */
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

static const char *pod_json(char *buf, size_t n, const char *name, const char *claim,
                            const char *node)
{
    snprintf(buf, n,
             "{'metadata':{'name':'%s','namespace':'ns','uid':'u-%s'},'spec':{%s%s%s"
             "'containers':[{'name':'c','image':'i'}],'volumes':[{'name':'v',"
             "'persistentVolumeClaim':{'claimName':'%s'}}]}}",
             name, name, node ? "'nodeName':'" : "", node ? node : "", node ? "'," : "", claim);
    return buf;
}

/* A bound claim NAME on CSI volume handle NAME of driver csi.x. */
static void csi_claim(struct pt_env *e, const char *name)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "{'metadata':{'name':'%s','namespace':'ns'},'spec':{"
                               "'volumeName':'pv-%s'}}", name, name);
    feed(e, CS_VOL_KIND_PVC, buf);
    snprintf(buf, sizeof(buf), "{'metadata':{'name':'pv-%s'},'spec':{'csi':{'driver':'csi.x',"
                               "'volumeHandle':'h-%s'}}}", name, name);
    feed(e, CS_VOL_KIND_PV, buf);
}

static void test_csi_volumes_within_the_node_count(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodevolumelimits, NULL);
    char b1[1024], b2[1024];
    csi_claim(&e, "one");
    csi_claim(&e, "two");
    csi_claim(&e, "three");
    /* node a already runs a pod using volume one */
    feed(&e, CS_VOL_KIND_POD, pod_json(b1, sizeof(b1), "old", "one", "a"));
    pt_add_node(&e, "{'metadata':{'name':'a'}}", pod_json(b2, sizeof(b2), "old", "one", "a"),
                PT_END);
    pt_add_node(&e, "{'metadata':{'name':'nolimit'}}", PT_END);
    feed(&e, CS_VOL_KIND_CSINODE, "{'metadata':{'name':'a'},'spec':{'drivers':["
                                  "{'name':'csi.x','nodeID':'a','allocatable':{'count':1}},"
                                  "{'name':'csi.y','nodeID':'a'}]}}");
    struct cs_status st;

    struct cs_pod *p = pt_pod(&e, pod_json(b1, sizeof(b1), "p", "two", NULL));
    feed(&e, CS_VOL_KIND_POD, b1);
    assert_int_equal(pt_filter(&e, p, &e.ni[0], &st), CS_UNSCHEDULABLE);
    assert_string_equal(st.reasons[0], "node(s) exceed max volume count");
    assert_int_equal(pt_filter(&e, p, &e.ni[1], &st), CS_SUCCESS);   /* no CSINode */

    /* the volume the node already has does not count again */
    struct cs_pod *q = pt_pod(&e, pod_json(b1, sizeof(b1), "q", "one", NULL));
    feed(&e, CS_VOL_KIND_POD, b1);
    assert_int_equal(pt_filter(&e, q, &e.ni[0], &st), CS_SUCCESS);

    /* a higher count admits it */
    feed(&e, CS_VOL_KIND_CSINODE, "{'metadata':{'name':'a'},'spec':{'drivers':["
                                  "{'name':'csi.x','nodeID':'a','allocatable':{'count':2}}]}}");
    assert_int_equal(pt_filter(&e, p, &e.ni[0], &st), CS_SUCCESS);

    /* a missing claim */
    struct cs_pod *r = pt_pod(&e, pod_json(b1, sizeof(b1), "r", "gone", NULL));
    feed(&e, CS_VOL_KIND_POD, b1);
    assert_int_equal(pt_filter(&e, r, &e.ni[0], &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    assert_string_equal(st.reasons[0], "persistentvolumeclaim \"gone\" not found");
    cs_pod_unref(p);
    cs_pod_unref(q);
    cs_pod_unref(r);
    pt_env_destroy(&e);
}

static void test_unbound_claim_counts_against_its_provisioner(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodevolumelimits, NULL);
    char b1[1024];
    pt_add_node(&e, "{'metadata':{'name':'a'}}", PT_END);
    feed(&e, CS_VOL_KIND_CSINODE, "{'metadata':{'name':'a'},'spec':{'drivers':["
                                  "{'name':'csi.x','nodeID':'a','allocatable':{'count':0}}]}}");
    feed(&e, CS_VOL_KIND_CLASS, "{'metadata':{'name':'c'},'provisioner':'csi.x',"
                                "'volumeBindingMode':'WaitForFirstConsumer'}");
    feed(&e, CS_VOL_KIND_PVC, "{'metadata':{'name':'new','namespace':'ns'},'spec':{"
                              "'storageClassName':'c'}}");
    struct cs_pod *p = pt_pod(&e, pod_json(b1, sizeof(b1), "p", "new", NULL));
    feed(&e, CS_VOL_KIND_POD, b1);
    struct cs_status st;
    assert_int_equal(pt_filter(&e, p, &e.ni[0], &st), CS_UNSCHEDULABLE);
    /* a pod without claims is not this plugin's concern */
    struct cs_pod *plain = pt_pod(&e, "{'metadata':{'name':'x','namespace':'ns','uid':'x'},"
                                      "'spec':{'containers':[{'name':'c','image':'i'}]}}");
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_filter(&e.call, plain, &st), CS_SKIP);
    cs_pod_unref(p);
    cs_pod_unref(plain);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csi_volumes_within_the_node_count),
        cmocka_unit_test(test_unbound_claim_counts_against_its_provisioner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
