/*
 * InterPodAffinity, as specifications: required affinity to a pod in the same zone,
 * anti-affinity one per hostname, existing pods' anti-affinity against the incoming pod, the
 * first pod of a group that matches its own terms, namespaces and namespaceSelector,
 * matchLabelKeys / mismatchLabelKeys, nodes without the topology label, scoring (preferred
 * terms, existing pods' terms, hardPodAffinityWeight, ignorePreferredTermsOfExistingPods,
 * min-max normalisation), counts kept right as pods come and go between attempts and within
 * one, the node-local answer for the equivalence cache, the args and the queueing hints.
 */
#include <stdio.h>

#include "plugins/helper/namespaces.h"
#include "test/plugins/plugintest.h"

#define ERR_AFF "node(s) didn't match pod affinity rules"
#define ERR_ANTI "node(s) didn't match pod anti-affinity rules"
#define ERR_EXISTING "node(s) didn't satisfy existing pods anti-affinity rules"

#define ZONE "topology.kubernetes.io/zone"
#define HOST "kubernetes.io/hostname"

static char buf[32][2048];
static int nbuf;

/* A node with hostname n in zone z (NULL: no zone label). */
static const char *node(const char *n, const char *zone)
{
    char *b = buf[nbuf++ % 32];
    char zl[128] = "";
    if (zone) {
        snprintf(zl, sizeof(zl), ",'" ZONE "':'%s'", zone);
    }
    snprintf(b, 2048,
             "{'metadata':{'name':'%s','labels':{'" HOST "':'%s'%s}},"
             "'status':{'allocatable':{'cpu':'8','memory':'16Gi','pods':'110'}}}",
             n, n, zl);
    return b;
}

/* A pod placed on node `on`, of namespace ns, with labels (JSON object) and spec fields. */
static const char *pod_on(const char *name, const char *ns, const char *labels, const char *spec)
{
    char *b = buf[nbuf++ % 32];
    snprintf(b, 2048,
             "{'metadata':{'name':'%s','namespace':'%s','labels':%s},"
             "'spec':{%s'nodeName':'x','containers':[{'name':'c'}]}}",
             name, ns, labels, spec);
    return b;
}

static struct cs_pod *incoming(struct pt_env *e, const char *ns, const char *labels,
                               const char *spec)
{
    char b[4096];
    snprintf(b, sizeof(b),
             "{'metadata':{'name':'new','namespace':'%s','labels':%s},"
             "'spec':{%s'containers':[{'name':'c'}]}}",
             ns, labels, spec);
    return pt_pod(e, b);
}

/* A term selecting app=<app> by topology key `key`; extra: more term fields. */
#define TERM(app, key, extra) \
    "{'labelSelector':{'matchLabels':{'app':'" app "'}},'topologyKey':'" key "'" extra "}"
#define WTERM(w, term) "{'weight':" #w ",'podAffinityTerm':" term "}"
#define REQ(kind, terms) \
    "'affinity':{'" kind "':{'requiredDuringSchedulingIgnoredDuringExecution':[" terms "]}},"
#define PREF(kind, terms) \
    "'affinity':{'" kind "':{'preferredDuringSchedulingIgnoredDuringExecution':[" terms "]}},"
#define AFF "podAffinity"
#define ANTI "podAntiAffinity"

static const struct cs_node_info *snap_ni(struct pt_env *e, const char *name)
{
    return cs_snapshot_get(&e->snap, name);
}

static enum cs_code filter_on(struct pt_env *e, const struct cs_pod *p, const char *name,
                              struct cs_status *st)
{
    return pt_filter(e, p, snap_ni(e, name), st);
}

static void expect(struct pt_env *e, const struct cs_pod *p, const char *name, enum cs_code want,
                   const char *reason)
{
    struct cs_status st;
    enum cs_code got = filter_on(e, p, name, &st);
    if (got != want) {
        print_error("node %s: got %s, want %s\n", name, cs_code_name(got), cs_code_name(want));
    }
    assert_int_equal(got, want);
    pt_assert_reasons(&st, (const char *const[]){reason, NULL});
}

static struct cs_ns_table *ns_table(struct pt_env *e)
{
    return *(struct cs_ns_table **)e->priv;   /* the plugin instance's first field */
}

static void add_namespace(struct pt_env *e, const char *name, const char *labels)
{
    char b[512];
    snprintf(b, sizeof(b), "{'metadata':{'name':'%s','labels':%s}}", name, labels);
    json_error_t jerr;
    json_t *obj = json_loads(pt_json(e, b), 0, &jerr);
    assert_non_null(obj);
    cs_ns_table_upsert(ns_table(e), obj);
    json_decref(obj);
    e->snap.epoch++;               /* what cs_fw_invalidate does for the next session */
}

/* zone a: a1 a2, zone b: b1, and x1 without a zone. */
static void four_nodes(struct pt_env *e, const char *a1_pod, const char *b1_pod)
{
    pt_add_node(e, node("a1", "a"), a1_pod, PT_END);
    pt_add_node(e, node("a2", "a"), PT_END);
    pt_add_node(e, node("b1", "b"), b1_pod, PT_END);
    pt_add_node(e, node("x1", NULL), PT_END);
}

/* ---- filtering ---------------------------------------------------------------------------- */

static void test_required_affinity_same_zone(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    /* a db pod in zone a; in zone b only a db pod of another namespace */
    four_nodes(&e, pod_on("db", "default", "{'app':'db'}", ""),
               pod_on("db2", "other", "{'app':'db'}", ""));
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", REQ(AFF, TERM("db", ZONE, "")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "a2", CS_SUCCESS, NULL);    /* same zone, another node */
    expect(&e, p, "b1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    expect(&e, p, "x1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* by hostname: only the db pod's node */
    p = incoming(&e, "default", "{'app':'web'}", REQ(AFF, TERM("db", HOST, "")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "a2", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* two terms: one pod must match both (db has no tier label) */
    p = incoming(&e, "default", "{'app':'web'}",
                 REQ(AFF, TERM("db", ZONE, "") ","
                          "{'labelSelector':{'matchLabels':{'tier':'x'}},"
                          "'topologyKey':'" ZONE "'}"));
    expect(&e, p, "a1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* a pod without pod affinity, and no pod with anti-affinity around: PreFilter skips */
    p = incoming(&e, "default", "{'app':'web'}", "");
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    pt_new_cycle(&e);
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SKIP);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_anti_affinity_one_per_hostname(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    const char *spec = REQ(ANTI, TERM("web", HOST, ""));
    four_nodes(&e, pod_on("w1", "default", "{'app':'web'}", spec), NULL);
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", spec);
    /* the running replica's own anti-affinity also rejects a1: the incoming check comes first */
    expect(&e, p, "a1", CS_UNSCHEDULABLE, ERR_ANTI);
    expect(&e, p, "a2", CS_SUCCESS, NULL);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    expect(&e, p, "x1", CS_SUCCESS, NULL);
    cs_pod_unref(p);

    /* by zone: the whole zone a is out */
    p = incoming(&e, "default", "{'app':'api'}", REQ(ANTI, TERM("web", ZONE, "")));
    expect(&e, p, "a2", CS_UNSCHEDULABLE, ERR_ANTI);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    cs_pod_unref(p);

    /* the term's namespaces: web pods of another namespace do not repel */
    p = incoming(&e, "default", "{'app':'api'}",
                 REQ(ANTI, TERM("web", HOST, ",'namespaces':['prod']")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_existing_pods_anti_affinity(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    /* a1 runs a pod that wants no web pod in its zone */
    four_nodes(&e, pod_on("guard", "default", "{'app':'guard'}", REQ(ANTI, TERM("web", ZONE, ""))),
               NULL);
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", "");
    expect(&e, p, "a1", CS_UNSCHEDULABLE, ERR_EXISTING);
    expect(&e, p, "a2", CS_UNSCHEDULABLE, ERR_EXISTING);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    expect(&e, p, "x1", CS_SUCCESS, NULL);
    cs_pod_unref(p);

    /* pods it does not select, or of another namespace, are welcome */
    p = incoming(&e, "default", "{'app':'api'}", "");
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    p = incoming(&e, "prod", "{'app':'web'}", "");
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_first_pod_matching_its_own_terms(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    /* a web pod on x1 does not count: x1 has no zone */
    four_nodes(&e, NULL, NULL);
    struct cs_node_info *x1 = cs_snapshot_get(&e.snap, "x1");
    struct cs_pod *w = pt_pod(&e, pod_on("w0", "default", "{'app':'web'}", ""));
    cs_node_info_add_pod(x1, w);
    cs_pod_unref(w);
    cs_snapshot_touch(&e.snap, x1);

    const char *spec = REQ(AFF, TERM("web", ZONE, ""));
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", spec);
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    expect(&e, p, "x1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);   /* no zone label */
    cs_pod_unref(p);

    /* a pod that does not match its own term gets nowhere */
    p = incoming(&e, "default", "{'app':'api'}", spec);
    expect(&e, p, "a1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* it must match all of them */
    p = incoming(&e, "default", "{'app':'web'}",
                 REQ(AFF, TERM("web", ZONE, "") "," TERM("db", ZONE, "")));
    expect(&e, p, "a1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* once a web pod runs in zone b, the others follow it there */
    struct cs_node_info *b1 = cs_snapshot_get(&e.snap, "b1");
    w = pt_pod(&e, pod_on("w1", "default", "{'app':'web'}", ""));
    cs_node_info_add_pod(b1, w);
    cs_pod_unref(w);
    cs_snapshot_touch(&e.snap, b1);
    p = incoming(&e, "default", "{'app':'web'}", spec);
    expect(&e, p, "a1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_namespace_selector(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    add_namespace(&e, "prod", "{'team':'a'}");
    add_namespace(&e, "dev", "{'team':'b'}");
    add_namespace(&e, "default", "{}");
    four_nodes(&e, pod_on("db-prod", "prod", "{'app':'db'}", ""),
               pod_on("db-dev", "dev", "{'app':'db'}", ""));

    /* namespaceSelector team=a: only prod's db counts */
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}",
                                REQ(AFF, TERM("db", ZONE, ",'namespaceSelector':{'matchLabels':"
                                                          "{'team':'a'}}")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "b1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* {} selects every namespace */
    p = incoming(&e, "default", "{'app':'web'}",
                 REQ(AFF, TERM("db", ZONE, ",'namespaceSelector':{}")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    cs_pod_unref(p);

    /* listed namespaces and the selector are ORed */
    p = incoming(&e, "default", "{'app':'web'}",
                 REQ(AFF, TERM("db", ZONE, ",'namespaces':['dev'],'namespaceSelector':"
                                           "{'matchLabels':{'team':'a'}}")));
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    cs_pod_unref(p);

    /* relabelling a namespace moves the answer (the snapshot epoch moved with it) */
    add_namespace(&e, "dev", "{'team':'a'}");
    p = incoming(&e, "default", "{'app':'web'}",
                 REQ(AFF, TERM("db", ZONE, ",'namespaceSelector':{'matchLabels':"
                                           "{'team':'a'}}")));
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    add_namespace(&e, "dev", "{'team':'b'}");

    /* an existing pod's anti-affinity with a namespaceSelector: the incoming pod's namespace
     * labels decide; an unknown namespace has none, so DoesNotExist selects it */
    pt_add_node(&e, node("c1", "c"),
                pod_on("guard", "default", "{'app':'guard'}",
                       REQ(ANTI, TERM("web", ZONE, ",'namespaceSelector':{'matchLabels':"
                                                   "{'team':'a'}}"))),
                PT_END);
    pt_add_node(&e, node("d1", "d"),
                pod_on("guard2", "default", "{'app':'guard'}",
                       REQ(ANTI, TERM("web", ZONE, ",'namespaceSelector':{'matchExpressions':"
                                                   "[{'key':'team','operator':'DoesNotExist'}]}"))),
                PT_END);
    p = incoming(&e, "prod", "{'app':'web'}", "");
    expect(&e, p, "c1", CS_UNSCHEDULABLE, ERR_EXISTING);
    expect(&e, p, "d1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    p = incoming(&e, "dev", "{'app':'web'}", "");
    expect(&e, p, "c1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    p = incoming(&e, "ghost", "{'app':'web'}", "");
    expect(&e, p, "c1", CS_SUCCESS, NULL);
    expect(&e, p, "d1", CS_UNSCHEDULABLE, ERR_EXISTING);
    cs_pod_unref(p);

    /* the incoming pod's own selector only reaches namespaces that exist: ghost's db pod does
     * not count for DoesNotExist */
    pt_add_node(&e, node("g1", "g"), pod_on("db-ghost", "ghost", "{'app':'db'}", ""), PT_END);
    p = incoming(&e, "prod", "{'app':'web'}",
                 REQ(AFF, TERM("db", ZONE, ",'namespaceSelector':{'matchExpressions':"
                                           "[{'key':'team','operator':'DoesNotExist'}]}")));
    expect(&e, p, "g1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_match_label_keys(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    pt_add_node(&e, node("a1", "a"), pod_on("v1", "default", "{'app':'web','version':'v1'}", ""),
                PT_END);
    pt_add_node(&e, node("b1", "b"), pod_on("v2", "default", "{'app':'web','version':'v2'}", ""),
                PT_END);
    pt_add_node(&e, node("c1", "c"),
                pod_on("guard", "default", "{'app':'guard','tenant':'t1'}",
                       REQ(ANTI, TERM("web", ZONE, ",'matchLabelKeys':['tenant']"))),
                PT_END);

    /* matchLabelKeys: only pods of the same version repel */
    struct cs_pod *p = incoming(&e, "default", "{'app':'web','version':'v2'}",
                                REQ(ANTI, TERM("web", HOST, ",'matchLabelKeys':['version']")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "b1", CS_UNSCHEDULABLE, ERR_ANTI);
    cs_pod_unref(p);

    /* mismatchLabelKeys: only pods of another version attract */
    p = incoming(&e, "default", "{'app':'web','version':'v2'}",
                 REQ(AFF, TERM("web", ZONE, ",'mismatchLabelKeys':['version']")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "b1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);

    /* a key the pod does not carry adds nothing */
    p = incoming(&e, "default", "{'app':'web'}",
                 REQ(ANTI, TERM("web", HOST, ",'matchLabelKeys':['version']")));
    expect(&e, p, "a1", CS_UNSCHEDULABLE, ERR_ANTI);
    cs_pod_unref(p);

    /* an existing pod's matchLabelKeys take its own values: tenant t1 only */
    p = incoming(&e, "default", "{'app':'web','tenant':'t1'}", "");
    expect(&e, p, "c1", CS_UNSCHEDULABLE, ERR_EXISTING);
    cs_pod_unref(p);
    p = incoming(&e, "default", "{'app':'web','tenant':'t2'}", "");
    expect(&e, p, "c1", CS_SUCCESS, NULL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_missing_topology_label(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    pt_add_node(&e, node("a1", "a"), pod_on("w1", "default", "{'app':'web'}", ""), PT_END);
    /* x1 has no zone but runs a web pod and a guard with zone anti-affinity */
    pt_add_node(&e, node("x1", NULL), pod_on("w2", "default", "{'app':'web'}", ""),
                pod_on("guard", "default", "{'app':'guard'}", REQ(ANTI, TERM("web", ZONE, ""))),
                PT_END);
    /* affinity needs the label */
    struct cs_pod *p = incoming(&e, "default", "{'app':'api'}", REQ(AFF, TERM("web", ZONE, "")));
    expect(&e, p, "a1", CS_SUCCESS, NULL);
    expect(&e, p, "x1", CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFF);
    cs_pod_unref(p);
    /* anti-affinity by a key the node lacks never rejects it, in either direction */
    p = incoming(&e, "default", "{'app':'web'}", REQ(ANTI, TERM("web", ZONE, "")));
    expect(&e, p, "x1", CS_SUCCESS, NULL);
    expect(&e, p, "a1", CS_UNSCHEDULABLE, ERR_ANTI);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

/* ---- counts across and within attempts ----------------------------------------------------- */

static void test_counts_follow_changes(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    const char *spec = REQ(ANTI, TERM("web", HOST, ""));
    four_nodes(&e, pod_on("w1", "default", "{'app':'web'}", ""), NULL);
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", spec);
    expect(&e, p, "a1", CS_UNSCHEDULABLE, ERR_ANTI);
    expect(&e, p, "a2", CS_SUCCESS, NULL);

    /* a replica placed on a2 (as a statement does), w1 removed from a1 */
    struct cs_node_info *a2 = cs_snapshot_get(&e.snap, "a2");
    struct cs_pod *w = pt_pod(&e, pod_on("w2", "default", "{'app':'web'}", spec));
    cs_node_info_add_pod(a2, w);
    cs_pod_unref(w);
    cs_snapshot_touch(&e.snap, a2);
    struct cs_node_info *a1 = cs_snapshot_get(&e.snap, "a1");
    struct cs_pod *w1 = cs_pod_ref(a1->pods[0]);
    cs_node_info_remove_pod(a1, w1);
    cs_snapshot_touch(&e.snap, a1);
    expect(&e, p, "a2", CS_UNSCHEDULABLE, ERR_ANTI);
    expect(&e, p, "a1", CS_SUCCESS, NULL);

    /* a pod without terms: w2's own anti-affinity still keeps it off a2 only */
    struct cs_pod *q = incoming(&e, "default", "{'app':'web'}", "");
    expect(&e, q, "a2", CS_UNSCHEDULABLE, ERR_EXISTING);
    expect(&e, q, "a1", CS_SUCCESS, NULL);

    /* w1 back on a1 (a restart, a failed bind undone) */
    cs_node_info_add_pod(a1, w1);
    cs_pod_unref(w1);
    cs_snapshot_touch(&e.snap, a1);
    expect(&e, p, "a1", CS_UNSCHEDULABLE, ERR_ANTI);
    expect(&e, p, "b1", CS_SUCCESS, NULL);
    cs_pod_unref(q);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

/* A node changed in place after PreFilter (preemption dry run, nominated pods) is recounted. */
static void test_node_changed_during_attempt(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    four_nodes(&e, pod_on("w1", "default", "{'app':'web'}", ""),
               pod_on("guard", "default", "{'app':'guard'}", REQ(ANTI, TERM("web", ZONE, ""))));
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", REQ(ANTI, TERM("web", ZONE, "")));
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    pt_new_cycle(&e);
    assert_int_equal(e.pl->pre_filter(&e.call, p, &st), CS_SUCCESS);
    struct cs_node_info *a1 = cs_snapshot_get(&e.snap, "a1");
    struct cs_node_info *b1 = cs_snapshot_get(&e.snap, "b1");
    struct cs_node_info *x1 = cs_snapshot_get(&e.snap, "x1");
    assert_int_equal(e.pl->filter(&e.call, p, a1, &st), CS_UNSCHEDULABLE);
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->filter(&e.call, p, b1, &st), CS_UNSCHEDULABLE);
    pt_assert_reasons(&st, (const char *const[]){ERR_EXISTING, NULL});

    /* remove w1 and guard as a dry run does (no snapshot touch) */
    struct cs_pod *w1 = cs_pod_ref(a1->pods[0]), *g = cs_pod_ref(b1->pods[0]);
    cs_node_info_remove_pod(a1, w1);
    cs_node_info_remove_pod(b1, g);
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->filter(&e.call, p, a1, &st), CS_SUCCESS);
    assert_int_equal(e.pl->filter(&e.call, p, b1, &st), CS_SUCCESS);
    /* and a nominated guard added to x1 counts nowhere: x1 has no zone */
    cs_node_info_add_pod(x1, g);
    assert_int_equal(e.pl->filter(&e.call, p, x1, &st), CS_SUCCESS);
    cs_node_info_remove_pod(x1, g);
    cs_node_info_add_pod(a1, w1);
    cs_node_info_add_pod(b1, g);
    cs_pod_unref(w1);
    cs_pod_unref(g);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

/* ---- scoring ------------------------------------------------------------------------------ */

/* a1 a2 in zone a, b1 in b, c1 in c; extra pods given per node. */
static void score_nodes(struct pt_env *e, const char *a1, const char *b1, const char *c1)
{
    pt_add_node(e, node("a1", "a"), a1, PT_END);
    pt_add_node(e, node("a2", "a"), PT_END);
    pt_add_node(e, node("b1", "b"), b1, PT_END);
    pt_add_node(e, node("c1", "c"), c1, PT_END);
}

static void assert_scores(const int64_t *got, int64_t a1, int64_t a2, int64_t b1, int64_t c1)
{
    int64_t want[4] = {a1, a2, b1, c1};
    for (int i = 0; i < 4; i++) {
        if (got[i] != want[i]) {
            print_error("node %d: score %lld, want %lld\n", i, (long long)got[i],
                        (long long)want[i]);
        }
        assert_int_equal(got[i], want[i]);
    }
}

static void test_score_preferred_terms(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    score_nodes(&e, pod_on("db", "default", "{'app':'db'}", ""),
                pod_on("cache", "default", "{'app':'cache'}", ""), NULL);
    int64_t s[PT_MAX_NODES];
    /* raw: zone a +80, zone b -20, zone c 0 -> (raw - min) * 100 / (max - min) */
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}",
                                "'affinity':{'podAffinity':{'preferredDuringScheduling"
                                "IgnoredDuringExecution':[" WTERM(80, TERM("db", ZONE, "")) "]},"
                                "'podAntiAffinity':{'preferredDuringScheduling"
                                "IgnoredDuringExecution':["
                                WTERM(20, TERM("cache", ZONE, "")) "]}},");
    assert_int_equal(pt_score_all(&e, p, s), CS_SUCCESS);
    assert_scores(s, 100, 100, 0, 20);
    cs_pod_unref(p);

    /* nothing matches: every node scores 0 */
    p = incoming(&e, "default", "{'app':'web'}", PREF(AFF, WTERM(50, TERM("nope", ZONE, ""))));
    pt_score_all(&e, p, s);
    assert_scores(s, 0, 0, 0, 0);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_score_existing_pods_terms(void **unused)
{
    (void)unused;
    /* c1 runs a pod that requires web pods in its zone, b1 one that prefers them away */
    const char *req =
        pod_on("needs-web", "default", "{'app':'x'}", REQ(AFF, TERM("web", ZONE, "")));
    const char *pref = pod_on("avoids-web", "default", "{'app':'y'}",
                              PREF(ANTI, WTERM(50, TERM("web", ZONE, ""))));
    int64_t s[PT_MAX_NODES];
    struct pt_env e;

    /* hardPodAffinityWeight 1 (default): raw a 0, b -50, c +1 -> a 50*100/51 = 98 */
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    score_nodes(&e, NULL, pref, req);
    struct cs_pod *p = incoming(&e, "default", "{'app':'web'}", "");
    assert_int_equal(pt_score_all(&e, p, s), CS_SUCCESS);
    assert_scores(s, 98, 98, 0, 100);
    cs_pod_unref(p);
    pt_env_destroy(&e);

    /* hardPodAffinityWeight 100: raw a 0, b -50, c +100 -> a 33 */
    pt_env_init(&e, &cs_plugin_interpodaffinity, "{'hardPodAffinityWeight':100}");
    score_nodes(&e, NULL, pref, req);
    p = incoming(&e, "default", "{'app':'web'}", "");
    pt_score_all(&e, p, s);
    assert_scores(s, 33, 33, 0, 100);
    cs_pod_unref(p);
    pt_env_destroy(&e);

    /* hardPodAffinityWeight 0: required terms of existing pods do not score */
    pt_env_init(&e, &cs_plugin_interpodaffinity, "{'hardPodAffinityWeight':0}");
    score_nodes(&e, NULL, NULL, req);
    p = incoming(&e, "default", "{'app':'web'}", "");
    assert_int_equal(pt_score_all(&e, p, s), CS_SKIP);
    cs_pod_unref(p);
    pt_env_destroy(&e);

    /* ignorePreferredTermsOfExistingPods: a pod without preferred terms is not scored; one
     * with them still sees the existing pods' terms */
    pt_env_init(&e, &cs_plugin_interpodaffinity, "{'ignorePreferredTermsOfExistingPods':true}");
    score_nodes(&e, pod_on("db", "default", "{'app':'db'}", ""), pref, req);
    p = incoming(&e, "default", "{'app':'web'}", "");
    assert_int_equal(pt_score_all(&e, p, s), CS_SKIP);
    assert_scores(s, 0, 0, 0, 0);
    cs_pod_unref(p);
    /* raw: a +10, b -50, c +1 -> a 100, c 51*100/60 = 85 */
    p = incoming(&e, "default", "{'app':'web'}", PREF(AFF, WTERM(10, TERM("db", ZONE, ""))));
    assert_int_equal(pt_score_all(&e, p, s), CS_SUCCESS);
    assert_scores(s, 100, 100, 0, 85);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

/* ---- equivalence cache, args, hints ------------------------------------------------------- */

static void test_node_local(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    pt_add_node(&e, node("a1", "a"), PT_END);
    struct cs_pod *plain = incoming(&e, "default", "{'app':'web'}", "");
    struct cs_pod *anti =
        incoming(&e, "default", "{'app':'web'}", REQ(ANTI, TERM("web", HOST, "")));
    /* ordinary pods keep the fast path while nobody uses pod affinity */
    assert_true(e.pl->node_local(e.priv, plain));
    assert_false(e.pl->node_local(e.priv, anti));

    /* a pod with anti-affinity placed by this session */
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->reserve(&e.call, anti, &e.ni[0], &st), CS_SUCCESS);
    assert_false(e.pl->node_local(e.priv, plain));
    e.pl->unreserve(&e.call, anti, "a1");
    assert_true(e.pl->node_local(e.priv, plain));
    /* committed: at session close it leaves the session's count, then arrives by on_pod */
    e.pl->reserve(&e.call, anti, &e.ni[0], &st);
    e.pl->session_close(e.priv);
    assert_true(e.pl->node_local(e.priv, plain));
    e.pl->on_pod(e.priv, NULL, anti);
    assert_false(e.pl->node_local(e.priv, plain));
    /* a failed bind's late unreserve does not count twice; the cache's delete does */
    e.pl->unreserve(&e.call, anti, "a1");
    assert_false(e.pl->node_local(e.priv, plain));
    e.pl->on_pod(e.priv, anti, NULL);
    assert_true(e.pl->node_local(e.priv, plain));
    /* updates of pods without terms change nothing */
    e.pl->on_pod(e.priv, plain, plain);
    assert_true(e.pl->node_local(e.priv, plain));
    cs_pod_unref(plain);
    cs_pod_unref(anti);
    pt_env_destroy(&e);
}

static void test_args(void **unused)
{
    (void)unused;
    struct pt_env e;
    char err[256] = "";
    assert_int_not_equal(pt_env_init_args(&e, &cs_plugin_interpodaffinity,
                                          "{'hardPodAffinityWeight':101}", err, sizeof(err)),
                         0);
    assert_string_equal(err, "hardPodAffinityWeight: Invalid value: 101: not in valid range "
                             "[0-100]");
    pt_env_destroy(&e);
    assert_int_not_equal(pt_env_init_args(&e, &cs_plugin_interpodaffinity,
                                          "{'hardPodAffinityWeight':-1}", err, sizeof(err)),
                         0);
    assert_string_equal(err, "hardPodAffinityWeight: Invalid value: -1: not in valid range "
                             "[0-100]");
    pt_env_destroy(&e);
    pt_env_init(&e, &cs_plugin_interpodaffinity,
                "{'kind':'InterPodAffinityArgs','hardPodAffinityWeight':100,"
                "'ignorePreferredTermsOfExistingPods':false}");
    pt_env_destroy(&e);
}

static enum cs_qhint pod_event(struct pt_env *e, uint32_t ev, const struct cs_pod *old,
                               const struct cs_pod *nw, const struct cs_pod *pod)
{
    struct cs_event_info info = { .event = ev, .old_pod = old, .new_pod = nw };
    return e->pl->queueing_hint(e->priv, &info, pod);
}

static enum cs_qhint node_event(struct pt_env *e, uint32_t ev, const struct cs_node *old,
                                const struct cs_node *nw, const struct cs_pod *pod)
{
    struct cs_event_info info = { .event = ev, .old_node = old, .new_node = nw };
    return e->pl->queueing_hint(e->priv, &info, pod);
}

static void test_queueing_hints(void **unused)
{
    (void)unused;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_interpodaffinity, NULL);
    struct cs_pod *aff = incoming(&e, "default", "{'app':'web'}", REQ(AFF, TERM("db", ZONE, "")));
    struct cs_pod *anti =
        incoming(&e, "default", "{'app':'web'}", REQ(ANTI, TERM("web", HOST, "")));
    struct cs_pod *plain = incoming(&e, "default", "{'app':'web'}", "");
    struct cs_pod *db = pt_pod(&e, pod_on("db", "default", "{'app':'db'}", ""));
    struct cs_pod *db2 = pt_pod(&e, pod_on("db", "default", "{'app':'db2'}", ""));
    struct cs_pod *web = pt_pod(&e, pod_on("w", "default", "{'app':'web'}", ""));
    struct cs_pod *guard =
        pt_pod(&e, pod_on("g", "default", "{'app':'g'}", REQ(ANTI, TERM("web", ZONE, ""))));
    struct cs_pod *pending = incoming(&e, "default", "{'app':'db'}", "");

    /* a matching pod arrives / is relabelled to match; an unassigned one changes nothing */
    assert_int_equal(pod_event(&e, CS_EV_POD_ADD, NULL, db, aff), CS_QHINT_QUEUE);
    assert_int_equal(pod_event(&e, CS_EV_POD_ADD, NULL, web, aff), CS_QHINT_SKIP);
    assert_int_equal(pod_event(&e, CS_EV_POD_ADD, NULL, pending, aff), CS_QHINT_SKIP);
    assert_int_equal(pod_event(&e, CS_EV_POD_UPDATE, db2, db, aff), CS_QHINT_QUEUE);
    assert_int_equal(pod_event(&e, CS_EV_POD_UPDATE, db, db2, aff), CS_QHINT_SKIP);
    /* a pod the anti-affinity selects goes away or stops matching */
    assert_int_equal(pod_event(&e, CS_EV_POD_DELETE, web, NULL, anti), CS_QHINT_QUEUE);
    assert_int_equal(pod_event(&e, CS_EV_POD_DELETE, db, NULL, anti), CS_QHINT_SKIP);
    assert_int_equal(pod_event(&e, CS_EV_POD_UPDATE, web, db, anti), CS_QHINT_QUEUE);
    /* a pod whose own anti-affinity rejected this one goes away */
    assert_int_equal(pod_event(&e, CS_EV_POD_DELETE, guard, NULL, plain), CS_QHINT_QUEUE);
    assert_int_equal(pod_event(&e, CS_EV_POD_DELETE, db, NULL, plain), CS_QHINT_SKIP);

    /* nodes: a new node in the affinity's topology; a label moving domains */
    struct cs_node *za = pt_node(&e, node("n1", "a"));
    struct cs_node *zb = pt_node(&e, node("n1", "b"));
    struct cs_node *nz = pt_node(&e, node("n1", NULL));
    assert_int_equal(node_event(&e, CS_EV_NODE_ADD, NULL, za, aff), CS_QHINT_QUEUE);
    assert_int_equal(node_event(&e, CS_EV_NODE_ADD, NULL, nz, aff), CS_QHINT_SKIP);
    assert_int_equal(node_event(&e, CS_EV_NODE_UPDATE, nz, za, aff), CS_QHINT_QUEUE);
    assert_int_equal(node_event(&e, CS_EV_NODE_UPDATE, za, zb, aff), CS_QHINT_QUEUE);
    assert_int_equal(node_event(&e, CS_EV_NODE_UPDATE, za, za, aff), CS_QHINT_SKIP);
    assert_int_equal(node_event(&e, CS_EV_NODE_UPDATE, za, nz, aff), CS_QHINT_SKIP);
    assert_int_equal(node_event(&e, CS_EV_NODE_ADD, NULL, nz, anti), CS_QHINT_QUEUE);
    assert_int_equal(node_event(&e, CS_EV_NODE_UPDATE, za, za, anti), CS_QHINT_SKIP);
    assert_int_equal(node_event(&e, CS_EV_NODE_UPDATE, za, NULL, anti), CS_QHINT_QUEUE);
    cs_node_unref(za);
    cs_node_unref(zb);
    cs_node_unref(nz);
    struct cs_pod *pods[] = {aff, anti, plain, db, db2, web, guard, pending};
    for (size_t i = 0; i < sizeof(pods) / sizeof(pods[0]); i++) {
        cs_pod_unref(pods[i]);
    }
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_affinity_same_zone),
        cmocka_unit_test(test_anti_affinity_one_per_hostname),
        cmocka_unit_test(test_existing_pods_anti_affinity),
        cmocka_unit_test(test_first_pod_matching_its_own_terms),
        cmocka_unit_test(test_namespace_selector),
        cmocka_unit_test(test_match_label_keys),
        cmocka_unit_test(test_missing_topology_label),
        cmocka_unit_test(test_counts_follow_changes),
        cmocka_unit_test(test_node_changed_during_attempt),
        cmocka_unit_test(test_score_preferred_terms),
        cmocka_unit_test(test_score_existing_pods_terms),
        cmocka_unit_test(test_node_local),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_queueing_hints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
