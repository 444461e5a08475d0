/*
 * Specification of the preemption engine (pkg/framework/preempt.c), driven from PostFilter by
 * a probe plugin over kube-scheduler's default profile:
 *
 *   - only pods of lower priority are victims, and only those every plugin's may_evict allows;
 *   - the victim set is minimal: victims are reprieved from the highest priority down while
 *     the preemptor still fits;
 *   - between nodes: fewest PodDisruptionBudget violations first, then the lowest highest-victim
 *     priority, then the fewest victims;
 *   - a plugin's victims_ok can refuse a node's victim set;
 *   - preemptionPolicy Never is not eligible;
 *   - dry runs leave every snapshot node exactly as it was.
 */
#include "test/pkg/framework/fwtest.h"

#include "pkg/framework/preempt.h"

/* ---- PreemptProbe: PostFilter = the engine, with test knobs ------------------------------ */

static struct {
    const char *why;               /* the engine's reason when it found nothing */
    bool refuse_sets_with_keep;    /* victims_ok refuses sets holding a pod labelled keep */
} knob;

static bool violates_pdb(void *arg, const struct cs_pod *victim)
{
    (void)arg;
    return cs_pod_label(victim, "pdb") != NULL;
}

static enum cs_code probe_post_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                      const struct cs_node_status_map *statuses,
                                      struct cs_preempt_result *out, struct cs_status *st)
{
    (void)st;
    struct cs_preempt_opts opts = { .violates_pdb = violates_pdb };
    return cs_fw_preempt(c, pod, statuses, &opts, out, &knob.why);
}

static bool probe_may_evict(void *priv, const struct cs_pod *preemptor, const struct cs_pod *v)
{
    (void)priv;
    (void)preemptor;
    return cs_pod_label(v, "protected") == NULL;
}

static bool probe_victims_ok(void *priv, const struct cs_pod *preemptor,
                             struct cs_pod *const *victims, uint32_t n)
{
    (void)priv;
    (void)preemptor;
    for (uint32_t i = 0; knob.refuse_sets_with_keep && i < n; i++) {
        if (cs_pod_label(victims[i], "keep")) {
            return false;
        }
    }
    return true;
}

static const struct cs_plugin probe_plugin = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "PreemptProbe",
    .events = CS_EV_ALL,
    .post_filter = probe_post_filter,
    .may_evict = probe_may_evict,
    .victims_ok = probe_victims_ok,
};
const struct cs_plugin *const cs_registry_extra[] = { &probe_plugin };
const size_t cs_registry_extra_count = 1;

/* ---- fixture ------------------------------------------------------------------------------ */

struct env {
    struct cs_api_ctx api;
    struct cs_snapshot snap;
    struct cs_profile prof;
    struct cs_cycle cyc;
};

static struct env *env_new(void)
{
    memset(&knob, 0, sizeof(knob));
    struct env *e = test_calloc(1, sizeof(*e));
    cs_api_ctx_init(&e->api);
    cs_snapshot_init(&e->snap);
    fw_profile_with(&e->prof, &e->api, -1, "PreemptProbe");
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

/* A pod JSON: name, priority, cpu, extra labels (JSON members or ""), node (NULL: pending). */
static struct cs_pod *pod(struct env *e, const char *name, int prio, const char *cpu,
                          const char *labels, const char *node)
{
    char nodef[64] = "";
    if (node) {
        snprintf(nodef, sizeof(nodef), "'nodeName':'%s',", node);
    }
    return fw_podf(&e->api,
                   "{'metadata':{'name':'%s','namespace':'default','uid':'u-%s','labels':{%s}},"
                   "'spec':{%s'priority':%d,'containers':[{'name':'c','image':'i','resources':{"
                   "'requests':{'cpu':'%s'}}}]}}",
                   name, name, labels ? labels : "", nodef, prio, cpu);
}

/* A 4-cpu node holding the given pods (name, priority, cpu, labels) x n. */
struct vdesc {
    const char *name;
    int prio;
    const char *cpu;
    const char *labels;
};

static void node_with(struct env *e, const char *name, const struct vdesc *v, int n)
{
    struct cs_node *nd = fw_nodef(&e->api,
                                  "{'metadata':{'name':'%s'},'status':{'allocatable':{'cpu':'4',"
                                  "'memory':'16Gi','pods':'110'}}}",
                                  name);
    struct cs_pod *pods[8];
    for (int i = 0; i < n; i++) {
        pods[i] = pod(e, v[i].name, v[i].prio, v[i].cpu, v[i].labels, name);
    }
    fw_snap_add(&e->snap, nd, pods, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        cs_pod_unref(pods[i]);
    }
    cs_node_unref(nd);
}

/* Schedule the preemptor; return the result (victim names joined with ',' into names). */
static void preempt(struct env *e, struct cs_pod *p, struct cs_sched_result *res, char *names,
                    size_t n)
{
    cs_fw_schedule_pod(&e->prof, &e->cyc, p, res);
    assert_int_equal(res->code, CS_UNSCHEDULABLE);
    names[0] = '\0';
    for (uint32_t i = 0; i < res->preempt.n_victims; i++) {
        size_t l = strlen(names);
        snprintf(names + l, n - l, "%s%s", i ? "," : "", res->preempt.victims[i]->name);
    }
}

static void done(struct env *e)
{
    cs_cycle_reset(&e->cyc);
    cs_cycle_release(&e->cyc);
}

/* ---- the specification -------------------------------------------------------------------- */

/* 4 cpu used by a(1, prio 0), b(1, prio 1), c(2, prio 2); a 2-cpu preemptor of priority 10:
 * all three are removed, then c (highest) is reprieved (2 + 2 fits), b and a are not. */
static void test_preempt_minimal_victims_by_priority(void **state)
{
    (void)state;
    struct env *e = env_new();
    const struct vdesc v[] = { { "a", 0, "1", "" }, { "b", 1, "1", "" }, { "c", 2, "2", "" } };
    node_with(e, "n1", v, 3);
    uint64_t ver = cs_snapshot_node(&e->snap, "n1")->generation;
    struct cs_pod *p = pod(e, "pre", 10, "2", "", NULL);
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_string_equal(res.preempt.node, "n1");
    assert_int_equal(res.preempt.n_victims, 2);
    assert_non_null(strstr(names, "a"));
    assert_non_null(strstr(names, "b"));
    assert_null(strstr(names, "c"));
    /* the dry runs left the node as it was */
    const struct cs_node_info *ni = cs_snapshot_node(&e->snap, "n1");
    assert_int_equal(ni->n_pods, 3);
    assert_int_equal(ni->requested.v[CS_RES_CPU], 4000);
    assert_int_equal(ni->generation, ver);
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* Pods of equal or higher priority, and pods may_evict protects, are never victims: with
 * nothing else on the node there is no candidate. */
static void test_preempt_only_lower_priority_and_allowed(void **state)
{
    (void)state;
    struct env *e = env_new();
    const struct vdesc v[] = { { "same", 10, "2", "" },
                               { "prot", 0, "2", "'protected':'y'" } };
    node_with(e, "n1", v, 2);
    struct cs_pod *p = pod(e, "pre", 10, "2", "", NULL);
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_null(res.preempt.node);
    assert_int_equal(res.preempt.n_victims, 0);
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* Between nodes: the lowest highest-victim priority wins (n2's victim has priority 1, n1's 5). */
static void test_preempt_picks_lowest_victim_priority(void **state)
{
    (void)state;
    struct env *e = env_new();
    const struct vdesc v1[] = { { "n1-a", 5, "4", "" } };
    const struct vdesc v2[] = { { "n2-a", 1, "4", "" } };
    node_with(e, "n1", v1, 1);
    node_with(e, "n2", v2, 1);
    struct cs_pod *p = pod(e, "pre", 10, "2", "", NULL);
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_string_equal(res.preempt.node, "n2");
    assert_string_equal(names, "n2-a");
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* PodDisruptionBudgets come first: n1's victim has the lower priority but its eviction would
 * violate a budget; n2's does not. */
static void test_preempt_fewest_pdb_violations_first(void **state)
{
    (void)state;
    struct env *e = env_new();
    const struct vdesc v1[] = { { "n1-a", 1, "4", "'pdb':'y'" } };
    const struct vdesc v2[] = { { "n2-a", 5, "4", "" } };
    node_with(e, "n1", v1, 1);
    node_with(e, "n2", v2, 1);
    struct cs_pod *p = pod(e, "pre", 10, "2", "", NULL);
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_string_equal(res.preempt.node, "n2");
    assert_int_equal(res.preempt.pdb_violations, 0);
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* Fewer victims win when priorities tie. */
static void test_preempt_fewest_victims(void **state)
{
    (void)state;
    struct env *e = env_new();
    const struct vdesc v1[] = { { "n1-a", 1, "2", "" }, { "n1-b", 1, "2", "" } };
    const struct vdesc v2[] = { { "n2-a", 1, "4", "" } };
    node_with(e, "n1", v1, 2);
    node_with(e, "n2", v2, 1);
    struct cs_pod *p = pod(e, "pre", 10, "3", "", NULL);
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_string_equal(res.preempt.node, "n2");
    assert_int_equal(res.preempt.n_victims, 1);
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* A plugin's victims_ok refuses n1's set (it holds a pod labelled keep): n2 is chosen though
 * its victim has the higher priority. */
static void test_preempt_victims_ok_can_refuse_a_set(void **state)
{
    (void)state;
    struct env *e = env_new();
    knob.refuse_sets_with_keep = true;
    const struct vdesc v1[] = { { "n1-a", 1, "4", "'keep':'y'" } };
    const struct vdesc v2[] = { { "n2-a", 5, "4", "" } };
    node_with(e, "n1", v1, 1);
    node_with(e, "n2", v2, 1);
    struct cs_pod *p = pod(e, "pre", 10, "2", "", NULL);
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_string_equal(res.preempt.node, "n2");
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

/* preemptionPolicy: Never makes a pod ineligible. */
static void test_preempt_policy_never(void **state)
{
    (void)state;
    struct env *e = env_new();
    const struct vdesc v[] = { { "a", 0, "4", "" } };
    node_with(e, "n1", v, 1);
    struct cs_pod *p = fw_pod(&e->api,
                              "{'metadata':{'name':'never','namespace':'default','uid':'u-n'},"
                              "'spec':{'priority':10,'preemptionPolicy':'Never','containers':[{"
                              "'name':'c','image':'i','resources':{'requests':{'cpu':'2'}}}]}}");
    struct cs_sched_result res;
    char names[128];
    preempt(e, p, &res, names, sizeof(names));
    assert_null(res.preempt.node);
    assert_non_null(knob.why);
    done(e);
    cs_pod_unref(p);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_preempt_minimal_victims_by_priority),
        cmocka_unit_test(test_preempt_only_lower_priority_and_allowed),
        cmocka_unit_test(test_preempt_picks_lowest_victim_priority),
        cmocka_unit_test(test_preempt_fewest_pdb_violations_first),
        cmocka_unit_test(test_preempt_fewest_victims),
        cmocka_unit_test(test_preempt_victims_ok_can_refuse_a_set),
        cmocka_unit_test(test_preempt_policy_never),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
