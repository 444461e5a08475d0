/*
 * PodTopologySpread: skew against the global minimum, the pod matching its own selector,
 * nodes without the topology label, minDomains, node inclusion policies, matchLabelKeys,
 * which pods count (namespace, terminating), scoring and its normalisation, counts kept
 * current when pods come and go between attempts (without rescanning unchanged nodes), the
 * args, and the default selector deduced from Services and controllers.
 */
#include <stdio.h>

#include "plugins/helper/ownersel.h"
#include "plugins/helper/termcount.h"
#include "test/plugins/plugintest.h"

#define NOT_MATCH "node(s) didn't match pod topology spread constraints"
#define NO_LABEL NOT_MATCH " (missing required label)"

static char buf[16][1024];
static int nbuf;

/* A node in zone z with hostname n (extra: more JSON fields inside "spec" or ""). */
static const char *node(const char *n, const char *zone, const char *spec)
{
    char *b = buf[nbuf++ % 16];
    if (zone) {
        snprintf(b, 1024,
                 "{'metadata':{'name':'%s','labels':{'zone':'%s','kubernetes.io/hostname':'%s'}},"
                 "'spec':{%s},'status':{'allocatable':{'cpu':'8','memory':'16Gi','pods':'110'}}}",
                 n, zone, n, spec);
    } else {
        snprintf(b, 1024,
                 "{'metadata':{'name':'%s','labels':{'kubernetes.io/hostname':'%s'}},"
                 "'spec':{%s},'status':{'allocatable':{'cpu':'8','memory':'16Gi','pods':'110'}}}",
                 n, n, spec);
    }
    return b;
}

/* A placed pod of namespace ns with labels (a JSON object); meta: more metadata fields. */
static const char *pod_on(const char *name, const char *ns, const char *labels, const char *meta)
{
    char *b = buf[nbuf++ % 16];
    snprintf(b, 1024,
             "{'metadata':{'name':'%s','namespace':'%s','labels':%s%s},"
             "'spec':{'nodeName':'x','containers':[{'name':'c'}]}}",
             name, ns, labels, meta);
    return b;
}

#define ZONE_SPREAD(skew, when, extra)                                                         \
    "'topologySpreadConstraints':[{'maxSkew':" #skew ",'topologyKey':'zone',"               \
    "'whenUnsatisfiable':'" when "','labelSelector':{'matchLabels':{'app':'web'}}" extra "}],"

static struct cs_pod *incoming(struct pt_env *e, const char *labels, const char *spec)
{
    char b[2048];
    snprintf(b, sizeof(b),
             "{'metadata':{'name':'new','namespace':'default','labels':%s},"
             "'spec':{%s'containers':[{'name':'c'}]}}",
             labels, spec);
    return pt_pod(e, b);
}

static const struct cs_node_info *snap_ni(struct pt_env *e, const char *name)
{
    return cs_snapshot_get(&e->snap, name);
}

static enum cs_code filter_on(struct pt_env *e, const struct cs_pod *p, const char *name,
                              struct cs_status *st)
{
    return pt_filter(e, p, snap_ni(e, name), st);
}

/* zone a: a1 with two web pods; zone b: b1 empty; zone c: c1 with one web pod. */
static void three_zones(struct pt_env *e)
{
    const char *web = "{'app':'web'}";
    pt_add_node(e, node("a1", "a", ""), pod_on("w1", "default", web, ""),
                pod_on("w2", "default", web, ""), PT_END);
    pt_add_node(e, node("b1", "b", ""), PT_END);
    pt_add_node(e, node("c1", "c", ""), pod_on("w3", "default", web, ""), PT_END);
}

static void test_skew_against_global_minimum(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    three_zones(&e);
    struct cs_pod *p = incoming(&e, "{'app':'web'}", ZONE_SPREAD(1, "DoNotSchedule", ""));
    struct cs_status st;
    /* a: 2 + 1 (itself) - 0 = 3 > 1; b: 0 + 1 - 0 = 1; c: 1 + 1 - 0 = 2 > 1 */
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    pt_assert_reasons(&st, (const char *const[]){NOT_MATCH, NULL});
    assert_int_equal(filter_on(&e, p, "b1", &st), CS_SUCCESS);
    assert_int_equal(filter_on(&e, p, "c1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);

    /* A pod its own selector does not select adds nothing: c: 1 - 0 <= 1 */
    p = incoming(&e, "{'app':'other'}", ZONE_SPREAD(1, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "c1", &st), CS_SUCCESS);
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);

    /* maxSkew 2 lets c in, not a */
    p = incoming(&e, "{'app':'web'}", ZONE_SPREAD(2, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "c1", &st), CS_SUCCESS);
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);

    /* Without DoNotSchedule constraints PreFilter skips. */
    p = incoming(&e, "{'app':'web'}", ZONE_SPREAD(1, "ScheduleAnyway", ""));
    memset(&st, 0, sizeof(st));
    pt_new_cycle(&e);
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SKIP);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_missing_label_and_min_domains(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    const char *web = "{'app':'web'}";
    pt_add_node(&e, node("a1", "a", ""), pod_on("w1", "default", web, ""), PT_END);
    pt_add_node(&e, node("b1", "b", ""), pod_on("w2", "default", web, ""), PT_END);
    pt_add_node(&e, node("nolabel", NULL, ""), PT_END);
    struct cs_status st;
    struct cs_pod *p = incoming(&e, web, ZONE_SPREAD(1, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "nolabel", &st), CS_UNSCHEDULABLE_AND_UNRESOLVABLE);
    pt_assert_reasons(&st, (const char *const[]){NO_LABEL, NULL});
    /* two domains at 1 each: 1 + 1 - 1 = 1 */
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    /* minDomains 3 with two domains: the global minimum is 0, so 1 + 1 - 0 = 2 > 1 */
    p = incoming(&e, web, ZONE_SPREAD(1, "DoNotSchedule", ",'minDomains':3"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    assert_int_equal(filter_on(&e, p, "b1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);
    /* minDomains 2 is met */
    p = incoming(&e, web, ZONE_SPREAD(1, "DoNotSchedule", ",'minDomains':2"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_which_pods_count(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    const char *web = "{'app':'web'}";
    /* a1's pods: one in another namespace, one terminating, one of another app */
    pt_add_node(&e, node("a1", "a", ""), pod_on("o1", "other", web, ""),
                pod_on("t1", "default", web, ",'deletionTimestamp':'2026-01-01T00:00:00Z'"),
                pod_on("x1", "default", "{'app':'db'}", ""), PT_END);
    pt_add_node(&e, node("b1", "b", ""), PT_END);
    struct cs_status st;
    struct cs_pod *p = incoming(&e, web, ZONE_SPREAD(1, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_SUCCESS);
    assert_int_equal(filter_on(&e, p, "b1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_node_inclusion_policies(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    const char *web = "{'app':'web'}";
    pt_add_node(&e, node("a1", "a", ""), pod_on("w1", "default", web, ""), PT_END);
    pt_add_node(&e, node("b1", "b", "'taints':[{'key':'k','value':'v','effect':'NoSchedule'}]"),
                PT_END);
    struct cs_status st;
    /* nodeAffinityPolicy Honor (default): only zone a counts, min = 1: 1 + 1 - 1 <= 1 */
    struct cs_pod *p = incoming(&e, web, "'nodeSelector':{'zone':'a'}," ZONE_SPREAD(1, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    /* Ignore: zone b counts with 0, so 1 + 1 - 0 > 1 */
    p = incoming(&e, web, "'nodeSelector':{'zone':'a'},"
                 ZONE_SPREAD(1, "DoNotSchedule", ",'nodeAffinityPolicy':'Ignore'"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);
    /* nodeTaintsPolicy Ignore (default): the tainted zone b counts, a is refused */
    p = incoming(&e, web, ZONE_SPREAD(1, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);
    /* Honor: b1's taint is not tolerated, so only zone a counts */
    p = incoming(&e, web, ZONE_SPREAD(1, "DoNotSchedule", ",'nodeTaintsPolicy':'Honor'"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    /* Honor with a toleration: b counts again */
    p = incoming(&e, web, "'tolerations':[{'key':'k','operator':'Exists'}],"
                 ZONE_SPREAD(1, "DoNotSchedule", ",'nodeTaintsPolicy':'Honor'"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_match_label_keys(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    pt_add_node(&e, node("a1", "a", ""), pod_on("w1", "default", "{'app':'web','rev':'1'}", ""),
                pod_on("w2", "default", "{'app':'web','rev':'1'}", ""), PT_END);
    pt_add_node(&e, node("b1", "b", ""), PT_END);
    struct cs_status st;
    /* revision 2 counts only its own revision: zone a has none of it */
    struct cs_pod *p = incoming(&e, "{'app':'web','rev':'2'}",
                                ZONE_SPREAD(1, "DoNotSchedule", ",'matchLabelKeys':['rev']"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    p = incoming(&e, "{'app':'web','rev':'1'}",
                 ZONE_SPREAD(1, "DoNotSchedule", ",'matchLabelKeys':['rev']"));
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_counts_follow_changes(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    three_zones(&e);
    struct cs_status st;
    struct cs_pod *p = incoming(&e, "{'app':'web'}", ZONE_SPREAD(1, "DoNotSchedule", ""));
    assert_int_equal(filter_on(&e, p, "b1", &st), CS_SUCCESS);
    /* Place two web pods on b1 in the snapshot, as a statement would. */
    struct cs_node_info *b1 = cs_snapshot_get(&e.snap, "b1");
    for (int k = 0; k < 2; k++) {
        char name[16];
        snprintf(name, sizeof(name), "n%d", k);
        struct cs_pod *q = pt_pod(&e, pod_on(name, "default", "{'app':'web'}", ""));
        cs_node_info_add_pod(b1, q);
        cs_pod_unref(q);
    }
    cs_snapshot_touch(&e.snap, b1);
    /* now a=2, b=2, c=1: c is the only place */
    assert_int_equal(filter_on(&e, p, "b1", &st), CS_UNSCHEDULABLE);
    assert_int_equal(filter_on(&e, p, "a1", &st), CS_UNSCHEDULABLE);
    assert_int_equal(filter_on(&e, p, "c1", &st), CS_SUCCESS);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

/* A node changed in place during an attempt (a preemption dry run) is recounted live. */
static void test_node_changed_during_attempt(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    three_zones(&e);
    struct cs_status st;
    struct cs_pod *p = incoming(&e, "{'app':'web'}", ZONE_SPREAD(1, "DoNotSchedule", ""));
    pt_new_cycle(&e);
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SUCCESS);
    struct cs_node_info *a1 = cs_snapshot_get(&e.snap, "a1");
    assert_int_equal(e.pl->filter(&e.call, p, a1, &st), CS_UNSCHEDULABLE);
    /* remove both web pods from a1 as a dry run does: a = 0, so 0 + 1 - 0 fits */
    struct cs_pod *w1 = cs_pod_ref(a1->pods[0]), *w2 = cs_pod_ref(a1->pods[1]);
    cs_node_info_remove_pod(a1, w1);
    cs_node_info_remove_pod(a1, w2);
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->filter(&e.call, p, a1, &st), CS_SUCCESS);
    cs_node_info_add_pod(a1, w1);
    cs_node_info_add_pod(a1, w2);
    cs_pod_unref(w1);
    cs_pod_unref(w2);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_score(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    const char *web = "{'app':'web'}";
    pt_add_node(&e, node("a1", "a", ""), pod_on("w1", "default", web, ""),
                pod_on("w2", "default", web, ""), pod_on("w3", "default", web, ""), PT_END);
    pt_add_node(&e, node("a2", "a", ""), PT_END);
    pt_add_node(&e, node("b1", "b", ""), PT_END);
    pt_add_node(&e, node("nolabel", NULL, ""), PT_END);
    struct cs_pod *p = incoming(&e, web, ZONE_SPREAD(1, "ScheduleAnyway", ""));
    int64_t out[PT_MAX_NODES];
    /* domains a, b: weight log(4); a: round(3 * 1.386) = 4, b: 0; normalized
     * 100 * (4 + 0 - s) / 4; the node without the label is ignored (0). */
    assert_int_equal(pt_score_all(&e, p, out), CS_SUCCESS);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 100);
    assert_int_equal(out[3], 0);
    cs_pod_unref(p);
    /* Two constraints: hostname counts the node's own pods with weight log(scored + 2). */
    p = incoming(&e, web,
                 "'topologySpreadConstraints':["
                 "{'maxSkew':2,'topologyKey':'kubernetes.io/hostname','whenUnsatisfiable':"
                 "'ScheduleAnyway','labelSelector':{'matchLabels':{'app':'web'}}}],");
    /* 4 nodes scored: weight log(6) = 1.79; a1: 3 * 1.79 + 1 = 6.38 -> 6; others 1.
     * normalized: a1 100 * (6 + 1 - 6) / 6 = 16; others 100 * (6 + 1 - 1) / 6 = 100 */
    assert_int_equal(pt_score_all(&e, p, out), CS_SUCCESS);
    assert_int_equal(out[0], 16);
    assert_int_equal(out[1], 100);
    assert_int_equal(out[2], 100);
    assert_int_equal(out[3], 100);
    cs_pod_unref(p);
    /* No constraint: Skip, and the pod is node-local. */
    p = incoming(&e, web, "");
    assert_int_equal(pt_score_all(&e, p, out), CS_SKIP);
    assert_true(e.pl->node_local(e.priv, p));
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_args(void **unused)
{
    (void)unused;
    struct pt_env e;
    char err[512] = "";
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_podtopologyspread,
                                      "{'defaultingType':'List','defaultConstraints':["
                                      "{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':"
                                      "'DoNotSchedule'}]}",
                                      err, sizeof(err)),
                     0);
    pt_env_destroy(&e);
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_podtopologyspread,
                                      "{'defaultingType':'System','defaultConstraints':["
                                      "{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':"
                                      "'DoNotSchedule'}]}",
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "must be empty"));
    pt_env_destroy(&e);
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_podtopologyspread,
                                      "{'defaultingType':'List','defaultConstraints':["
                                      "{'maxSkew':0,'topologyKey':'zone','whenUnsatisfiable':"
                                      "'DoNotSchedule'}]}",
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "maxSkew"));
    pt_env_destroy(&e);
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_podtopologyspread,
                                      "{'defaultingType':'List','defaultConstraints':["
                                      "{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':"
                                      "'DoNotSchedule','labelSelector':{}}]}",
                                      err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "labelSelector"));
    pt_env_destroy(&e);
    assert_int_equal(pt_env_init_args(&e, &cs_plugin_podtopologyspread,
                                      "{'defaultingType':'Zone'}", err, sizeof(err)),
                     -1);
    pt_env_destroy(&e);
}

/* The selector of default constraints: matching Services' selectors merged with the
 * controller's (ReplicaSet / StatefulSet LabelSelector, ReplicationController map). */
static void test_default_selector(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    struct cs_owner_table *t = cs_owner_table_shared(NULL, NULL, 0);
    json_error_t je;
    json_t *svc = json_loads(pt_json(&e, "{'metadata':{'name':'s','namespace':'default'},"
                                         "'spec':{'selector':{'app':'web'}}}"), 0, &je);
    json_t *svc_other = json_loads(pt_json(&e, "{'metadata':{'name':'s2','namespace':'default'},"
                                               "'spec':{'selector':{'app':'db'}}}"), 0, &je);
    json_t *rs = json_loads(pt_json(&e, "{'metadata':{'name':'rs1','namespace':'default'},"
                                        "'spec':{'selector':{'matchLabels':{'hash':'h1'}}}}"),
                            0, &je);
    cs_owner_table_upsert(t, "Service", svc);
    cs_owner_table_upsert(t, "Service", svc_other);
    cs_owner_table_upsert(t, "ReplicaSet", rs);
    struct cs_pod *bare = incoming(&e, "{'app':'api'}", "");
    assert_null(cs_owner_default_selector(t, bare, &e.arena));
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'default',"
                                  "'labels':{'app':'web','hash':'h1'},'ownerReferences':["
                                  "{'apiVersion':'apps/v1','kind':'ReplicaSet','name':'rs1',"
                                  "'uid':'u','controller':true}]},"
                                  "'spec':{'containers':[{'name':'c'}]}}");
    const char *sel = cs_owner_default_selector(t, p, &e.arena);
    assert_non_null(sel);
    assert_non_null(strstr(sel, "app=web"));
    assert_non_null(strstr(sel, "hash=h1"));
    assert_null(strstr(sel, "app=db"));
    cs_owner_table_delete(t, "Service", svc);
    cs_owner_table_delete(t, "ReplicaSet", rs);
    assert_null(cs_owner_default_selector(t, p, &e.arena));
    json_decref(svc);
    json_decref(svc_other);
    json_decref(rs);
    cs_pod_unref(bare);
    cs_pod_unref(p);
    cs_owner_table_free(t);
    pt_env_destroy(&e);
}

/* termcount: a second read after one node changed rescans that node only. */
static void test_termcount_rescans_changed_nodes_only(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_podtopologyspread, NULL);
    three_zones(&e);
    struct cs_tc *tc = cs_tc_new(4);
    struct cs_tc_term t = {.ns_key = "ns", .ns = "default", .selector = "app=web",
                           .topology_key = "zone", .skip_terminating = true};
    char err[128];
    cs_tc_begin(tc);
    const struct cs_tc_view *v = cs_tc_get(tc, &e.snap, &t, err, sizeof(err));
    assert_non_null(v);
    assert_int_equal(v->total, 3);
    assert_int_equal(v->n_domains, 3);
    uint64_t r0 = cs_tc_rescans(tc);
    cs_tc_begin(tc);
    v = cs_tc_get(tc, &e.snap, &t, err, sizeof(err));
    assert_int_equal(cs_tc_rescans(tc), r0);
    struct cs_node_info *c1 = cs_snapshot_get(&e.snap, "c1");
    struct cs_pod *q = pt_pod(&e, pod_on("n", "default", "{'app':'web'}", ""));
    cs_node_info_add_pod(c1, q);
    cs_pod_unref(q);
    cs_snapshot_touch(&e.snap, c1);
    cs_tc_begin(tc);
    v = cs_tc_get(tc, &e.snap, &t, err, sizeof(err));
    assert_int_equal(cs_tc_rescans(tc), r0 + 1);
    assert_int_equal(v->total, 4);
    assert_int_equal(v->domain_count[v->node_domain[c1->index]], 2);
    /* an unparsable selector is an error, not a crash */
    struct cs_tc_term bad = t;
    bad.selector = "app in (";
    assert_null(cs_tc_get(tc, &e.snap, &bad, err, sizeof(err)));
    cs_tc_free(tc);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_skew_against_global_minimum),
        cmocka_unit_test(test_missing_label_and_min_domains),
        cmocka_unit_test(test_which_pods_count),
        cmocka_unit_test(test_node_inclusion_policies),
        cmocka_unit_test(test_match_label_keys),
        cmocka_unit_test(test_counts_follow_changes),
        cmocka_unit_test(test_node_changed_during_attempt),
        cmocka_unit_test(test_score),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_default_selector),
        cmocka_unit_test(test_termcount_rescans_changed_nodes_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
