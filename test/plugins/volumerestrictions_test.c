/* VolumeRestrictions: a ReadWriteOncePod claim serves one pod; a second pod wanting it is
 * rejected on every node, whether the first is bound or only reserved in this session. */
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

static struct cs_pod *claim_pod(struct pt_env *e, const char *name, const char *claim,
                                const char *node)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','namespace':'ns','uid':'u-%s'},'spec':{%s%s%s"
             "'containers':[{'name':'c','image':'i'}],'volumes':[{'name':'v',"
             "'persistentVolumeClaim':{'claimName':'%s'}}]}}",
             name, name, node ? "'nodeName':'" : "", node ? node : "", node ? "'," : "", claim);
    feed(e, CS_VOL_KIND_POD, buf);
    return pt_pod(e, buf);
}

#define RWOP_CONFLICT \
    "node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode"

static void setup(struct pt_env *e)
{
    pt_env_init(e, &cs_plugin_volumerestrictions, NULL);
    pt_add_node(e, "{'metadata':{'name':'a'}}", PT_END);
    feed(e, CS_VOL_KIND_PVC, "{'metadata':{'name':'solo','namespace':'ns'},'spec':{"
                             "'accessModes':['ReadWriteOncePod']}}");
    feed(e, CS_VOL_KIND_PVC, "{'metadata':{'name':'shared','namespace':'ns'},'spec':{"
                             "'accessModes':['ReadWriteOnce']}}");
}

static void expect(struct pt_env *e, struct cs_pod *pod, enum cs_code code, const char *reason)
{
    struct cs_status st;
    assert_int_equal(pt_filter(e, pod, &e->ni[0], &st), code);
    if (reason) {
        assert_string_equal(st.reasons[0], reason);
    }
}

static void test_pods_without_claims_are_skipped_and_node_local(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns','uid':'x'},"
                                  "'spec':{'containers':[{'name':'c','image':'i'}]}}");
    struct cs_status st = { 0 };
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SKIP);
    assert_true(e.pl->node_local(e.priv, p));
    struct cs_pod *q = claim_pod(&e, "q", "shared", NULL);
    assert_false(e.pl->node_local(e.priv, q));
    cs_pod_unref(p);
    cs_pod_unref(q);
    pt_env_destroy(&e);
}

static void test_missing_claim_is_unresolvable(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "gone", NULL);
    expect(&e, p, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "persistentvolumeclaim \"gone\" not found");
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_read_write_once_pod_claim_in_use_rejects(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p = claim_pod(&e, "p", "solo", NULL);
    expect(&e, p, CS_SUCCESS, NULL);
    struct cs_pod *holder = claim_pod(&e, "holder", "solo", "a");
    expect(&e, p, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, RWOP_CONFLICT);
    /* ReadWriteOnce claims may be shared */
    struct cs_pod *q = claim_pod(&e, "q", "shared", NULL);
    struct cs_pod *other = claim_pod(&e, "other", "shared", "a");
    expect(&e, q, CS_SUCCESS, NULL);
    cs_pod_unref(p);
    cs_pod_unref(holder);
    cs_pod_unref(q);
    cs_pod_unref(other);
    pt_env_destroy(&e);
}

static void test_a_reservation_holds_the_claim_until_unreserve(void **state)
{
    (void)state;
    struct pt_env e;
    setup(&e);
    struct cs_pod *p1 = claim_pod(&e, "p1", "solo", NULL);
    struct cs_pod *p2 = claim_pod(&e, "p2", "solo", NULL);
    expect(&e, p1, CS_SUCCESS, NULL);
    struct cs_status st = { 0 };
    assert_int_equal(e.pl->reserve(&e.call, p1, &e.ni[0], &st), CS_SUCCESS);
    void *s1 = e.state;
    e.state = NULL;
    assert_int_equal(e.pl->pre_filter(&e.call, p2, &st), CS_SUCCESS);
    assert_int_equal(e.pl->filter(&e.call, p2, &e.ni[0], &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    e.state = s1;
    e.pl->unreserve(&e.call, p1, "a");
    expect(&e, p2, CS_SUCCESS, NULL);
    cs_pod_unref(p1);
    cs_pod_unref(p2);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pods_without_claims_are_skipped_and_node_local),
        cmocka_unit_test(test_missing_claim_is_unresolvable),
        cmocka_unit_test(test_read_write_once_pod_claim_in_use_rejects),
        cmocka_unit_test(test_a_reservation_holds_the_claim_until_unreserve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
