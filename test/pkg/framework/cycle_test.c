/*
 * Specification of the per-pod scheduling algorithm (pkg/framework/cycle.c) with kube-
 * scheduler's default profile over small in-memory snapshots: node choice by score, the
 * FitError message (reasons counted and sorted as strings, as kube-scheduler does), the empty
 * cluster error, numFeasibleNodesToFind, the partial search from a rotating start, and the
 * central promise of the equivalence cache: scheduling with it decides exactly as a full
 * evaluation, pod by pod, over long mixed sequences with node changes in between.
 */
#include "test/pkg/framework/fwtest.h"

#include "pkg/framework/nominator.h"

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
    fw_default_profile(&e->prof, &e->api, pct);
    cs_cycle_init(&e->cyc, &e->api, 42);
    e->cyc.snap = &e->snap;
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

static void add_node(struct env *e, const char *name, const char *cpu, const char *mem,
                     const char *spec, const char *used_cpu, const char *used_mem)
{
    struct cs_node *n = fw_nodef(&e->api,
                                 "{'metadata':{'name':'%s'},'spec':%s,'status':{'allocatable':"
                                 "{'cpu':'%s','memory':'%s','pods':'110'}}}",
                                 name, spec ? spec : "{}", cpu, mem);
    struct cs_pod *p = NULL;
    if (used_cpu) {
        p = fw_podf(&e->api,
                    "{'metadata':{'name':'used-%s','namespace':'default'},'spec':{'nodeName':'%s',"
                    "'containers':[{'name':'c','image':'i','resources':{'requests':{'cpu':'%s',"
                    "'memory':'%s'}}}]}}",
                    name, name, used_cpu, used_mem);
    }
    fw_snap_add(&e->snap, n, &p, p ? 1 : 0);
    cs_pod_unref(p);
    cs_node_unref(n);
}

static struct cs_pod *simple_pod(struct env *e, const char *name, const char *cpu, const char *mem)
{
    return fw_podf(&e->api,
                   "{'metadata':{'name':'%s','namespace':'default'},'spec':{'containers':[{'name':"
                   "'c','image':'i','resources':{'requests':{'cpu':'%s','memory':'%s'}}}]}}",
                   name, cpu, mem);
}

/* With equal nodes otherwise, the pod goes to the least allocated one (LeastAllocated; usage
 * proportional to capacity keeps BalancedAllocation equal). The fast path and the full path
 * agree. */
static void test_cycle_picks_least_allocated(void **state)
{
    (void)state;
    for (int pct = -1; pct <= 100; pct += 101) {
        struct env *e = env_new(pct);
        add_node(e, "busy", "4", "8Gi", NULL, "3", "6Gi");
        add_node(e, "idle", "4", "8Gi", NULL, "1", "2Gi");
        add_node(e, "half", "4", "8Gi", NULL, "2", "4Gi");
        struct cs_pod *p = simple_pod(e, "p", "500m", "1Gi");
        struct cs_sched_result res;
        cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
        assert_int_equal(res.code, CS_SUCCESS);
        assert_non_null(res.node);
        assert_string_equal(res.node->name, "idle");
        assert_int_equal(res.evaluated, 3);
        assert_int_equal(res.feasible, 3);
        /* The decision does not place the pod: the caller does, through a statement. */
        assert_int_equal(res.node->n_pods, 1);
        cs_cycle_reset(&e->cyc);

        /* Placing pods through statements moves the choice as usage changes. */
        struct cs_statement st;
        cs_stmt_init(&st);
        cs_stmt_allocate(&st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), p, res.node, NULL, NULL);
        struct cs_pod *q = simple_pod(e, "q", "1500m", "3Gi");
        cs_stmt_allocate(&st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), q, res.node, NULL, NULL);
        cs_stmt_clear(&st);
        cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
        assert_int_equal(res.code, CS_SUCCESS);
        assert_string_equal(res.node->name, "half");
        cs_cycle_reset(&e->cyc);
        cs_stmt_destroy(&st);
        cs_pod_unref(q);
        cs_pod_unref(p);
        env_free(e);
    }
}

/* When no node fits: "0/N nodes are available: <count> <reason>, ...." with one entry per
 * distinct reason, sorted as strings including their counts (kube-scheduler's FitError), and
 * the rejecting plugins' events. A node with several reasons counts in each. */
static void test_cycle_fit_error_message(void **state)
{
    (void)state;
    struct env *e = env_new(-1);
    const char *taint = "{'taints':[{'key':'k','value':'v','effect':'NoSchedule'}]}";
    add_node(e, "small-1", "1", "8Gi", NULL, NULL, NULL);
    add_node(e, "small-2", "1", "8Gi", NULL, NULL, NULL);
    add_node(e, "tainted", "8", "8Gi", taint, NULL, NULL);
    struct cs_pod *p = simple_pod(e, "p", "2", "1Gi");
    struct cs_sched_result res;
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);
    assert_null(res.node);
    /* "1 node(s)..." sorts before "2 Insufficient cpu" ('1' < '2'). DefaultPreemption's summary
     * follows: every node is UnschedulableAndUnresolvable (the pod asks more cpu than a small
     * node has at all), as kube-scheduler v1.37.2 says it. */
    assert_string_equal(res.message, "0/3 nodes are available: 1 node(s) had untolerated "
                                     "taint(s), 2 Insufficient cpu. preemption: 0/3 nodes are "
                                     "available: 3 Preemption is not helpful for scheduling.");
    assert_int_equal(res.reject_events,
                     cs_plugin_noderesources.events | cs_plugin_tainttoleration.events);
    assert_int_equal(res.feasible, 0);
    cs_cycle_reset(&e->cyc);
    cs_pod_unref(p);

    /* Counts sort as text: "10 ..." before "2 ...". Several reasons on one node all count. */
    char name[32];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof(name), "more-%d", i);
        add_node(e, name, "1", "8Gi", NULL, NULL, NULL);
    }
    add_node(e, "tainted-2", "8", "8Gi", taint, NULL, NULL);
    add_node(e, "tiny", "1", "1Gi", NULL, NULL, NULL);
    p = simple_pod(e, "p", "2", "4Gi");
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);
    assert_string_equal(res.message, "0/13 nodes are available: 1 Insufficient memory, "
                                     "11 Insufficient cpu, 2 node(s) had untolerated taint(s). "
                                     "preemption: 0/13 nodes are available: 13 Preemption is not "
                                     "helpful for scheduling.");
    cs_cycle_reset(&e->cyc);
    cs_pod_unref(p);

    /* Unschedulable nodes and a toleration: every node is rejected by its first failing
     * filter only (NodeUnschedulable runs before NodeResourcesFit). */
    add_node(e, "cordoned", "64", "64Gi", "{'unschedulable':true}", NULL, NULL);
    p = fw_pod(&e->api, "{'metadata':{'name':'t','namespace':'default'},'spec':{'tolerations':"
                        "[{'key':'k','operator':'Exists'}],'containers':[{'name':'c','image':'i',"
                        "'resources':{'requests':{'cpu':'9','memory':'1Gi'}}}]}}");
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);
    assert_string_equal(res.message, "0/14 nodes are available: 1 node(s) were unschedulable, "
                                     "13 Insufficient cpu. preemption: 0/14 nodes are available: "
                                     "14 Preemption is not helpful for scheduling.");
    cs_cycle_reset(&e->cyc);
    cs_pod_unref(p);
    env_free(e);
}

/* An empty cluster is an error, waiting for a node to be added. */
static void test_cycle_no_nodes(void **state)
{
    (void)state;
    struct env *e = env_new(-1);
    struct cs_pod *p = simple_pod(e, "p", "1", "1Gi");
    struct cs_sched_result res;
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    assert_int_equal(res.code, CS_ERROR);
    assert_null(res.node);
    assert_string_equal(res.message, "no nodes available to schedule pods");
    assert_true(res.reject_events & CS_EV_NODE_ADD);
    /* Placeholders (nodes deleted while pods remain) are not schedulable nodes. */
    struct cs_node_info ph;
    cs_node_info_init(&ph, "gone");
    cs_snapshot_upsert(&e->snap, &ph);
    cs_node_info_destroy(&ph);
    cs_cycle_reset(&e->cyc);
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    assert_int_equal(res.code, CS_ERROR);
    assert_string_equal(res.message, "no nodes available to schedule pods");
    cs_pod_unref(p);
    env_free(e);
}

/* numFeasibleNodesToFind: all nodes below 100 or at >= 100%; otherwise n*pct/100 with the
 * adaptive pct = max(5, 50 - n/125) when pct is 0, and never fewer than 100. */
static void test_cycle_num_nodes_to_find(void **state)
{
    (void)state;
    static const struct {
        uint32_t n;
        int32_t pct;
        uint32_t want;
    } rows[] = {
        {0, 0, 0},         {1, 0, 1},         {99, 0, 99},        {99, 10, 99},
        {100, 0, 100},     {150, 0, 100},     {200, 0, 100},      {250, 0, 120},
        {500, 0, 230},     {1000, 0, 420},    {5000, 0, 500},     {5999, 0, 299},
        {6000, 0, 300},    {10000, 0, 500},   {100000, 0, 5000},  {1000, 10, 100},
        {1000, 30, 300},   {5000, 50, 2500},  {5000, 100, 5000},  {5000, -1, 5000},
        {300, 1, 100},     {1000, 99, 990},   {250, 50, 125},     {5624, 0, 337},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint32_t got = cs_fw_num_nodes_to_find(rows[i].n, rows[i].pct);
        if (got != rows[i].want) {
            print_error("n=%u pct=%d: got %u want %u\n", rows[i].n, rows[i].pct, got,
                        rows[i].want);
        }
        assert_int_equal(got, rows[i].want);
    }
}

/* With a percentage set, the filter stops after numFeasibleNodesToFind feasible nodes and the
 * next pod's search starts where the last one stopped (kube's nextStartNodeIndex). */
static void test_cycle_partial_search_rotates(void **state)
{
    (void)state;
    struct env *e = env_new(10);
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "n%03d", i);
        add_node(e, name, "4", "8Gi", NULL, NULL, NULL);
    }
    struct cs_pod *p = simple_pod(e, "p", "100m", "100Mi");
    for (int round = 0; round < 4; round++) {
        struct cs_sched_result res;
        cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
        assert_int_equal(res.code, CS_SUCCESS);
        assert_int_equal(res.evaluated, 100);
        assert_int_equal(res.feasible, 100);
        uint32_t lo = (uint32_t)(round * 100) % 300;
        assert_true((uint32_t)res.node->index >= lo && (uint32_t)res.node->index < lo + 100);
        cs_cycle_reset(&e->cyc);
    }
    cs_pod_unref(p);
    env_free(e);
}

/* ---- equivalence cache == full evaluation -------------------------------------------------- */

#define EQ_NODES 200
#define EQ_PODS 1000
#define EQ_TEMPLATES 13

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return (uint32_t)((x >> 11) % n);
}

/* Pod templates: pods of one template are equivalent; templates differ in requests, node
 * selectors, affinity, tolerations, host ports, images and topology spread constraints. */
static struct cs_pod *template_pod(const struct cs_api_ctx *api, int t, int i)
{
    static const char *const spec[EQ_TEMPLATES] = {
        /* 0: small web pod on a common image */
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'100m',"
        "'memory':'200Mi'}}}]",
        /* 1: zone a only, large image */
        "'nodeSelector':{'zone':'a'},'containers':[{'name':'c','image':'reg/big:2','resources':"
        "{'requests':{'cpu':'500m','memory':'1Gi'}}}]",
        /* 2: tolerates the gpu taint, prefers ssd */
        "'tolerations':[{'key':'dedicated','operator':'Equal','value':'gpu','effect':"
        "'NoSchedule'}],'affinity':{'nodeAffinity':{'preferredDuringSchedulingIgnoredDuring"
        "Execution':[{'weight':10,'preference':{'matchExpressions':[{'key':'disk','operator':"
        "'In','values':['ssd']}]}}]}},'containers':[{'name':'c','image':'reg/app:1',"
        "'resources':{'requests':{'cpu':'1','memory':'2Gi'}}}]",
        /* 3: host port */
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'250m',"
        "'memory':'512Mi'}},'ports':[{'containerPort':8080,'hostPort':8080}]}]",
        /* 4: required affinity to zones b/c, big requests */
        "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
        "'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'In','values':["
        "'b','c']}]}]}}},'containers':[{'name':'c','image':'reg/other:3','resources':{"
        "'requests':{'cpu':'2','memory':'4Gi'}}}]",
        /* 5: best effort */
        "'containers':[{'name':'c','image':'reg/app:1'}]",
        /* 6: tolerates PreferNoSchedule, memory heavy */
        "'tolerations':[{'key':'spot','operator':'Exists','effect':'PreferNoSchedule'}],"
        "'containers':[{'name':'c','image':'reg/big:2','resources':{'requests':{'cpu':'200m',"
        "'memory':'6Gi'}}}]",
        /* 7: huge: only the largest nodes, until they fill up */
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'12',"
        "'memory':'8Gi'}}}]",
        /* 8: init container and two containers */
        "'initContainers':[{'name':'i','image':'reg/init:1','resources':{'requests':{'cpu':"
        "'1500m'}}}],'containers':[{'name':'a','image':'reg/app:1','resources':{'requests':{"
        "'cpu':'300m','memory':'300Mi'}}},{'name':'b','image':'reg/big:2','resources':{"
        "'requests':{'cpu':'300m','memory':'300Mi'}}}]",
        /* 9: spread over zones, DoNotSchedule (PodTopologySpread is volatile for it: its
         * filter runs fresh on every attempt, the other plugins come from the cache) */
        "'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':"
        "'DoNotSchedule','labelSelector':{'matchLabels':{'tpl':'t9'}}}],"
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'200m',"
        "'memory':'200Mi'}}}]",
        /* 10: spread over hosts, ScheduleAnyway (volatile score) */
        "'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'disk','whenUnsatisfiable':"
        "'ScheduleAnyway','labelSelector':{'matchLabels':{'tpl':'t10'}}}],"
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'100m',"
        "'memory':'100Mi'}}}]",
        /* 11: one per zone-and-disk pair at most (required anti-affinity to its own kind):
         * once placed, such pods make InterPodAffinity volatile for every pod */
        "'affinity':{'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{"
        "'labelSelector':{'matchLabels':{'tpl':'t11'}},'topologyKey':'disk'}]}},"
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'100m',"
        "'memory':'100Mi'}}}]",
        /* 12: prefers the zone of template 0's pods */
        "'affinity':{'podAffinity':{'preferredDuringSchedulingIgnoredDuringExecution':[{"
        "'weight':50,'podAffinityTerm':{'labelSelector':{'matchLabels':{'tpl':'t0'}},"
        "'topologyKey':'zone'}}]}},"
        "'containers':[{'name':'c','image':'reg/app:1','resources':{'requests':{'cpu':'100m',"
        "'memory':'100Mi'}}}]",
    };
    return fw_podf(api, "{'metadata':{'name':'pod-%d','namespace':'default','uid':'u-%d',"
                        "'labels':{'tpl':'t%d'}},'spec':{%s}}",
                   i, i, t, spec[t]);
}

/* Node i's Node object, version `gen` (generations vary allocatable, labels and taints). */
static struct cs_node *eq_node(const struct cs_api_ctx *api, int i, int gen)
{
    static const char *const cpus[] = {"2", "4", "8", "16"};
    static const char *const mems[] = {"4Gi", "8Gi", "16Gi", "32Gi"};
    static const char *const zones[] = {"a", "b", "c"};
    uint32_t h = (uint32_t)(i * 2654435761u) ^ (uint32_t)(gen * 40503u);
    int size = (int)(h % 4);
    const char *taints = "[]";
    switch ((h >> 4) % 10) {
    case 0:
        taints = "[{'key':'dedicated','value':'gpu','effect':'NoSchedule'}]";
        break;
    case 1:
        taints = "[{'key':'spot','value':'true','effect':'PreferNoSchedule'}]";
        break;
    default:
        break;
    }
    const char *images = "[]";
    switch ((h >> 8) % 5) {
    case 0:
    case 1:
        images = "[{'names':['reg/app:1'],'sizeBytes':500000000}]";
        break;
    case 2:
        images = "[{'names':['reg/app:1'],'sizeBytes':500000000},"
                 "{'names':['reg/big:2'],'sizeBytes':900000000}]";
        break;
    default:
        break;
    }
    bool unsched = (h >> 12) % 33 == 0;
    const char *pods = (h >> 16) % 7 == 0 ? "12" : "110";
    return fw_nodef(api,
                    "{'metadata':{'name':'node-%03d','labels':{'zone':'%s','disk':'%s'}},"
                    "'spec':{'unschedulable':%s,'taints':%s},'status':{'allocatable':{'cpu':'%s',"
                    "'memory':'%s','pods':'%s'},'images':%s}}",
                    i, zones[(h >> 20) % 3], (h >> 22) % 2 ? "ssd" : "hdd",
                    unsched ? "true" : "false", taints, cpus[size], mems[size], pods, images);
}

struct side {
    struct cs_snapshot snap;
    struct cs_profile prof;
    struct cs_cycle cyc;
    struct cs_statement st;
};

static void side_init(struct side *s, const struct cs_api_ctx *api, int32_t pct)
{
    cs_snapshot_init(&s->snap);
    fw_default_profile(&s->prof, api, pct);
    cs_cycle_init(&s->cyc, api, 42);
    s->cyc.snap = &s->snap;
    cs_stmt_init(&s->st);
}

static void side_destroy(struct side *s)
{
    cs_stmt_destroy(&s->st);
    cs_cycle_destroy(&s->cyc);
    cs_profile_destroy(&s->prof);
    cs_snapshot_destroy(&s->snap);
}

/* Replace node `name`'s Node object (keeping its pods) in one snapshot. */
static void replace_node(struct cs_snapshot *snap, const char *name, struct cs_node *n)
{
    struct cs_node_info *cur = cs_snapshot_get(snap, name);
    assert_non_null(cur);
    struct cs_node_info tmp;
    cs_node_info_init(&tmp, name);
    cs_node_info_copy(&tmp, cur);
    cs_node_info_set_node(&tmp, n);
    cs_snapshot_upsert(snap, &tmp);
    cs_node_info_destroy(&tmp);
}

/* Remove the pod with key from node `name` through an upsert (as a cache refresh would). */
static void remove_pod_via_upsert(struct cs_snapshot *snap, const char *name, const char *key)
{
    struct cs_node_info *cur = cs_snapshot_get(snap, name);
    struct cs_node_info tmp;
    cs_node_info_init(&tmp, name);
    cs_node_info_copy(&tmp, cur);
    for (uint32_t k = 0; k < tmp.n_pods; k++) {
        if (strcmp(tmp.pods[k]->key, key) == 0) {
            assert_int_equal(cs_node_info_remove_pod(&tmp, tmp.pods[k]), 0);
            break;
        }
    }
    cs_snapshot_upsert(snap, &tmp);
    cs_node_info_destroy(&tmp);
}

/* A score plugin that scored every node the same when its class was cached stops being skipped
 * as constant once a node change makes it differ: three of four equal nodes gain a
 * PreferNoSchedule taint and every later pod of the class goes to the fourth (TaintToleration),
 * with the class's cached scores reused, not rebuilt. */
static void test_cycle_eqcache_constant_score_that_stops_being_constant(void **state)
{
    (void)state;
    struct env *e = env_new(-1);
    const char *names[] = { "n1", "n2", "n3", "n4" };
    for (int i = 0; i < 4; i++) {
        add_node(e, names[i], "4", "8Gi", NULL, NULL, NULL);
    }
    struct cs_pod *p = simple_pod(e, "p", "100m", "128Mi");
    struct cs_sched_result res;
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    cs_cycle_reset(&e->cyc);
    for (int i = 0; i < 3; i++) {
        struct cs_node *n = fw_nodef(&e->api,
                                     "{'metadata':{'name':'%s'},'spec':{'taints':[{'key':'spot',"
                                     "'value':'true','effect':'PreferNoSchedule'}]},'status':{"
                                     "'allocatable':{'cpu':'4','memory':'8Gi','pods':'110'}}}",
                                     names[i]);
        replace_node(&e->snap, names[i], n);
        cs_node_unref(n);
    }
    uint64_t hits = e->cyc.eq.hits;
    for (int k = 0; k < 8; k++) {
        cs_fw_schedule_pod(&e->prof, &e->cyc, p, &res);
        assert_int_equal(res.code, CS_SUCCESS);
        assert_string_equal(res.node->name, "n4");
        cs_cycle_reset(&e->cyc);
    }
    assert_int_equal(e->cyc.eq.hits, hits + 8); /* the cached class, brought up to date */
    cs_pod_unref(p);
    env_free(e);
}

struct eq_stats {
    uint32_t ok, failed, changes;
};

/* Run one seeded sequence on two identical snapshots: `fast` uses pct -1 (equivalence cache),
 * `full` pct 100 (every node evaluated, no cache); same cycle seed. Every decision must match. */
static void run_equivalence(uint64_t seed, bool node_changes, struct eq_stats *out)
{
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct side fast, full;
    side_init(&fast, &api, -1);
    side_init(&full, &api, 100);
    int gen[EQ_NODES + 64];
    int n_total = EQ_NODES;
    for (int i = 0; i < EQ_NODES; i++) {
        gen[i] = 0;
        struct cs_node *n = eq_node(&api, i, 0);
        fw_snap_add(&fast.snap, n, NULL, 0);
        fw_snap_add(&full.snap, n, NULL, 0);
        cs_node_unref(n);
    }
    rng_state = seed;
    int t = 0;
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < EQ_PODS; i++) {
        if (rnd(10) < 3) {
            t = (int)rnd(EQ_TEMPLATES);
        }
        struct cs_pod *pod = template_pod(&api, t, i);
        struct cs_sched_result ra, rb;
        cs_fw_schedule_pod(&fast.prof, &fast.cyc, pod, &ra);
        cs_fw_schedule_pod(&full.prof, &full.cyc, pod, &rb);
        if (ra.code != rb.code ||
            (ra.code == CS_SUCCESS && strcmp(ra.node->name, rb.node->name) != 0)) {
            print_error("seed %llu pod %d (template %d): fast %s %s, full %s %s\n",
                        (unsigned long long)seed, i, t, cs_code_name(ra.code),
                        ra.node ? ra.node->name : ra.message, cs_code_name(rb.code),
                        rb.node ? rb.node->name : rb.message);
        }
        assert_int_equal(ra.code, rb.code);
        if (ra.code == CS_SUCCESS) {
            assert_string_equal(ra.node->name, rb.node->name);
            cs_stmt_allocate(&fast.st, &fast.snap, cs_fw_attempt_new(&fast.prof, &fast.cyc), pod, ra.node, NULL, NULL);
            cs_stmt_allocate(&full.st, &full.snap, cs_fw_attempt_new(&full.prof, &full.cyc), pod, rb.node, NULL, NULL);
            cs_stmt_clear(&fast.st);
            cs_stmt_clear(&full.st);
            out->ok++;
        } else {
            assert_string_equal(ra.message, rb.message);
            out->failed++;
        }
        cs_cycle_reset(&fast.cyc);
        cs_cycle_reset(&full.cyc);
        cs_pod_unref(pod);

        if (!node_changes || rnd(8) != 0) {
            continue;
        }
        /* Change the cluster between pods, identically on both sides. */
        out->changes++;
        int k = (int)rnd((uint32_t)n_total);
        char name[32];
        snprintf(name, sizeof(name), "node-%03d", k);
        uint32_t what = rnd(10);
        if (cs_snapshot_get(&fast.snap, name) == NULL || cs_snapshot_get(&fast.snap, name)->node == NULL) {
            what = 9; /* re-add a removed node */
        }
        if (what < 4) {
            /* New Node object: allocatable, labels, taints, images may all change. */
            struct cs_node *n = eq_node(&api, k, ++gen[k]);
            replace_node(&fast.snap, name, n);
            replace_node(&full.snap, name, n);
            cs_node_unref(n);
        } else if (what < 8) {
            /* A pod on the node went away. */
            struct cs_node_info *ni = cs_snapshot_get(&fast.snap, name);
            if (ni->n_pods) {
                char key[64];
                snprintf(key, sizeof(key), "%s", ni->pods[rnd(ni->n_pods)]->key);
                remove_pod_via_upsert(&fast.snap, name, key);
                remove_pod_via_upsert(&full.snap, name, key);
            }
        } else if (what == 8) {
            /* The node is deleted (its list slot is taken by another node). */
            cs_snapshot_remove(&fast.snap, name);
            cs_snapshot_remove(&full.snap, name);
        } else {
            if (cs_snapshot_get(&fast.snap, name) == NULL) {
                struct cs_node *n = eq_node(&api, k, ++gen[k]);
                fw_snap_add(&fast.snap, n, NULL, 0);
                fw_snap_add(&full.snap, n, NULL, 0);
                cs_node_unref(n);
            } else if (n_total < EQ_NODES + 64) {
                /* A brand-new node joins. */
                gen[n_total] = 0;
                struct cs_node *n = eq_node(&api, n_total, 0);
                fw_snap_add(&fast.snap, n, NULL, 0);
                fw_snap_add(&full.snap, n, NULL, 0);
                cs_node_unref(n);
                n_total++;
            }
        }
        assert_int_equal(cs_snapshot_num_nodes(&fast.snap), cs_snapshot_num_nodes(&full.snap));
    }
    /* The cache was really used on the fast side and never on the full one. */
    if (fast.cyc.eq.hits < EQ_PODS / 4) {
        print_error("seed %llu: only %llu cache hits\n", (unsigned long long)seed,
                    (unsigned long long)fast.cyc.eq.hits);
    }
    assert_true(fast.cyc.eq.hits >= EQ_PODS / 4);
    assert_int_equal(full.cyc.eq.hits, 0);
    /* Both snapshots hold the same placements. */
    for (uint32_t i = 0; i < cs_snapshot_num_nodes(&fast.snap); i++) {
        const struct cs_node_info *a = cs_snapshot_node_at(&fast.snap, i);
        const struct cs_node_info *b = cs_snapshot_node(&full.snap, a->name);
        assert_non_null(b);
        assert_int_equal(a->n_pods, b->n_pods);
        assert_memory_equal(a->requested.v, b->requested.v, sizeof(a->requested.v));
    }
    side_destroy(&fast);
    side_destroy(&full);
    cs_api_ctx_destroy(&api);
}

/* The equivalence cache decides exactly as a full evaluation: 1000 mixed pods (runs of
 * equivalent pods, and pods differing in requests, selectors, affinity, tolerations, ports and
 * images) over 200 nodes of varied sizes, each chosen pod placed through a statement. */
static void test_cycle_eqcache_matches_full_evaluation(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct eq_stats st;
        run_equivalence(0x9e3779b97f4a7c15ULL * seed, false, &st);
        /* The sequence exercises both outcomes. */
        assert_true(st.ok > 100);
        assert_true(st.failed > 10);
    }
}

/* The same, with the cluster changing between pods through cs_snapshot_upsert (new Node
 * objects, pods going away) and nodes deleted, re-added and joining. */
static void test_cycle_eqcache_matches_full_evaluation_with_node_changes(void **state)
{
    (void)state;
    for (uint64_t seed = 11; seed <= 13; seed++) {
        struct eq_stats st;
        run_equivalence(0x2545f4914f6cdd1dULL * seed, true, &st);
        assert_true(st.ok > 100);
        assert_true(st.changes > 50);
    }
}


/* Nominated pods count on their node for pods of lower or equal priority, and a node passes
 * only if the filters pass both with and without them (kube-scheduler's two runs): a pod whose
 * required pod affinity only a nominated pod would meet does not fit there yet; a pod that the
 * nominated pod's resources crowd out does not fit either. */
static void test_cycle_nominated_pods_two_runs(void **state)
{
    (void)state;
    struct env *e = env_new(-1);
    struct cs_node *n1 = fw_nodef(&e->api,
                                  "{'metadata':{'name':'n1','labels':{'kubernetes.io/hostname':"
                                  "'n1'}},'status':{'allocatable':{'cpu':'4','memory':'8Gi',"
                                  "'pods':'110'}}}");
    fw_snap_add(&e->snap, n1, NULL, 0);
    cs_node_unref(n1);
    struct cs_nominator nom;
    cs_nominator_init(&nom);
    e->cyc.nominator = &nom;
    struct cs_pod *web = fw_podf(&e->api,
                                 "{'metadata':{'name':'web','namespace':'default','labels':"
                                 "{'app':'web'}},'spec':{'priority':10,'containers':[{'name':'c',"
                                 "'image':'i','resources':{'requests':{'cpu':'3'}}}]}}");
    cs_nominator_set(&nom, web, "n1");
    struct cs_pod *follower = fw_podf(
        &e->api,
        "{'metadata':{'name':'f','namespace':'default'},'spec':{'affinity':{'podAffinity':{"
        "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{'matchLabels':"
        "{'app':'web'}},'topologyKey':'kubernetes.io/hostname'}]}},'containers':[{'name':'c',"
        "'image':'i','resources':{'requests':{'cpu':'100m'}}}]}}");
    struct cs_sched_result res;
    cs_fw_schedule_pod(&e->prof, &e->cyc, follower, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);
    cs_cycle_reset(&e->cyc);
    /* once web runs there, the follower fits */
    struct cs_node_info *ni = cs_snapshot_get(&e->snap, "n1");
    struct cs_pod *web_on = fw_podf(&e->api,
                                    "{'metadata':{'name':'web2','namespace':'default','labels':"
                                    "{'app':'web'}},'spec':{'nodeName':'n1','containers':[{'name':"
                                    "'c','image':'i','resources':{'requests':{'cpu':'100m'}}}]}}");
    cs_node_info_add_pod(ni, web_on);
    cs_snapshot_touch(&e->snap, ni);
    cs_fw_schedule_pod(&e->prof, &e->cyc, follower, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    cs_cycle_reset(&e->cyc);
    cs_node_info_remove_pod(ni, web_on);
    cs_snapshot_touch(&e->snap, ni);
    cs_pod_unref(web_on);
    struct cs_pod *big = simple_pod(e, "big", "2", "1Gi");
    cs_fw_schedule_pod(&e->prof, &e->cyc, big, &res);
    assert_int_equal(res.code, CS_UNSCHEDULABLE);     /* 3 nominated + 2 > 4 */
    cs_cycle_reset(&e->cyc);
    struct cs_pod *small = simple_pod(e, "small", "500m", "1Gi");
    cs_fw_schedule_pod(&e->prof, &e->cyc, small, &res);
    assert_int_equal(res.code, CS_SUCCESS);
    cs_cycle_reset(&e->cyc);
    cs_pod_unref(web);
    cs_pod_unref(follower);
    cs_pod_unref(big);
    cs_pod_unref(small);
    e->cyc.nominator = NULL;
    cs_nominator_destroy(&nom);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cycle_picks_least_allocated),
        cmocka_unit_test(test_cycle_fit_error_message),
        cmocka_unit_test(test_cycle_no_nodes),
        cmocka_unit_test(test_cycle_num_nodes_to_find),
        cmocka_unit_test(test_cycle_partial_search_rotates),
        cmocka_unit_test(test_cycle_eqcache_matches_full_evaluation),
        cmocka_unit_test(test_cycle_eqcache_matches_full_evaluation_with_node_changes),
        cmocka_unit_test(test_cycle_eqcache_constant_score_that_stops_being_constant),
        cmocka_unit_test(test_cycle_nominated_pods_two_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
