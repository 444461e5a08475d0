/*
 * Specification of sessions (pkg/framework/session.c) for pod groups, through a real queue, a
 * real snapshot and kube-scheduler's default profile plus a probe plugin (SessionProbe, below)
 * that names groups by label and checks that the per-pod state each op receives is its own pod's:
 *
 *   - a group's members are taken from the queue together, whatever the batch size (one popped
 *     member brings the other 299) and wherever they wait (backoff included);
 *   - members already bound or assumed count towards the minimum;
 *   - per-pod plugin state lives until the group is committed or discarded: Bind at commit and
 *     Unreserve at discard see the state their own pod's PreFilter wrote;
 *   - a group that cannot reach its minimum, or whose commit is refused, changes nothing: no
 *     member is placed, the snapshot is as before, every member is handed back to the queue,
 *     with one Event for the group (on its first member) and a condition on each.
 */
#include "test/pkg/framework/fwtest.h"

#include "pkg/framework/session.h"
#include "pkg/queue/queue.h"
#include "pkg/util/arena.h"
#include <stdlib.h>

/* ---- SessionProbe ------------------------------------------------------------------------ */

struct probe_counts {
    int pre_filters;
    int binds;
    int unreserves;
    int mismatches;                /* an op got another pod's state */
};
static struct probe_counts probe;

struct probe_state {
    char name[64];
};

static enum cs_code probe_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                     struct cs_status *st)
{
    (void)st;
    struct probe_state *ps = cs_arena_alloc(c->arena, sizeof(*ps));
    snprintf(ps->name, sizeof(ps->name), "%s", pod->name);
    /* Scratch after the state: were the arena reset and reused for the next member, the next
     * member's state and scratch would overwrite this one. */
    memset(cs_arena_alloc(c->arena, 512), 0x5a, 512);
    *c->state = ps;
    probe.pre_filters++;
    return CS_SUCCESS;
}

static void probe_check(struct cs_fw_call *c, const struct cs_pod *pod)
{
    const struct probe_state *ps = *c->state;
    if (ps == NULL || strcmp(ps->name, pod->name) != 0) {
        probe.mismatches++;
    }
}

static enum cs_code probe_bind(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                               struct cs_status *st)
{
    (void)node;
    (void)st;
    probe_check(c, pod);
    probe.binds++;
    return CS_SKIP;                /* DefaultBinder binds */
}

static void probe_unreserve(struct cs_fw_call *c, const struct cs_pod *pod, const char *node)
{
    (void)node;
    probe_check(c, pod);
    probe.unreserves++;
}

static const char *probe_pod_group(void *priv, const struct cs_pod *pod, int32_t *min_member)
{
    (void)priv;
    const char *g = cs_pod_label(pod, "group");
    const char *m = cs_pod_label(pod, "min");
    if (g == NULL) {
        return NULL;
    }
    *min_member = m ? (int)strtol(m, NULL, 10) : 1;
    return g;
}

static const struct cs_plugin probe_plugin = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "SessionProbe",
    .events = CS_EV_ALL,
    .pre_filter = probe_pre_filter,
    .bind = probe_bind,
    .unreserve = probe_unreserve,
    .pod_group = probe_pod_group,
};
const struct cs_plugin *const cs_registry_extra[] = { &probe_plugin };
const size_t cs_registry_extra_count = 1;

/* ---- the fixture ------------------------------------------------------------------------- */

struct env {
    struct cs_api_ctx api;
    struct cs_snapshot snap;
    struct cs_profile prof;
    struct cs_cycle cyc;
    struct cs_queue queue;
    struct cs_session sess;
    struct cs_session_env senv;
    uint32_t assigned;             /* what group_assigned answers */
    bool refuse;                   /* commit refuses */
    int commits;
    int placed;
    int evicted;                   /* EVICT ops committed */
    int nominated;                 /* NOMINATE ops committed */
    int failed;
    int events;                    /* failures reported with an Event (not quiet) */
    char last_msg[512];
};

static bool q_less(void *arg, const struct cs_queued_pod *a, const struct cs_queued_pod *b)
{
    struct env *e = arg;
    return cs_fw_queue_less(&e->prof, a, b);
}

static const char *q_group_of(void *arg, const struct cs_pod *pod)
{
    struct env *e = arg;
    int32_t min;
    return cs_session_group_key(&e->api, &e->prof, pod, &min);
}

static struct cs_profile *env_profile_for(void *arg, const struct cs_pod *pod)
{
    (void)pod;
    return &((struct env *)arg)->prof;
}

static size_t env_take_group(void *arg, const char *key, struct cs_qentry **out, size_t max)
{
    return cs_queue_take_group(&((struct env *)arg)->queue, key, out, max);
}

static uint32_t env_group_assigned(void *arg, const char *key)
{
    (void)key;
    return ((struct env *)arg)->assigned;
}

/* What pkg/scheduler's commit does, minus the cache and the API: Bind every placement, hand
 * the entries back as scheduled, keep the placements in the snapshot. */
static int env_commit(void *arg, struct cs_statement *st, int64_t start_ns, const char **why)
{
    (void)start_ns;
    struct env *e = arg;
    if (e->refuse) {
        *why = "refused by the test";
        return -1;
    }
    for (uint32_t i = 0; i < st->n; i++) {
        struct cs_stmt_op *op = &st->ops[i];
        e->evicted += op->kind == CS_STMT_EVICT;
        e->nominated += op->kind == CS_STMT_NOMINATE;
        if (op->kind != CS_STMT_ALLOCATE) {
            continue;
        }
        struct cs_status bst = { 0 };
        assert_int_equal(cs_fw_bind(op->att, op->orig, op->ni->name, &bst), CS_SUCCESS);
        assert_string_equal(op->pod->node_name, op->ni->name);
        cs_queue_done_scheduled(&e->queue, op->owner);
        e->placed++;
    }
    cs_stmt_clear(st);
    e->commits++;
    return 0;
}

static void env_failed(void *arg, struct cs_qentry *qe, struct cs_profile *prof,
                       const struct cs_sched_result *res, double secs)
{
    (void)prof;
    (void)secs;
    struct env *e = arg;
    snprintf(e->last_msg, sizeof(e->last_msg), "%s", res->message ? res->message : "");
    e->failed++;
    e->events += !res->quiet;
    cs_queue_done_unschedulable(&e->queue, qe, res->reject_events);
}

static void env_drop(void *arg, struct cs_qentry *qe)
{
    cs_queue_done_scheduled(&((struct env *)arg)->queue, qe);
}

/* n nodes of `cpu` cores each. */
static struct env *env_new(int nodes, int cpu)
{
    memset(&probe, 0, sizeof(probe));
    struct env *e = test_calloc(1, sizeof(*e));
    cs_api_ctx_init(&e->api);
    cs_snapshot_init(&e->snap);
    fw_profile_with(&e->prof, &e->api, -1, "SessionProbe");
    cs_cycle_init(&e->cyc, &e->api, 7);
    e->cyc.snap = &e->snap;
    struct cs_queue_ops qops = { .less = q_less, .group_of = q_group_of, .arg = e };
    cs_queue_init(&e->queue, &qops, 1000000000LL, 10000000000LL);
    e->senv = (struct cs_session_env){
        .arg = e, .profile_for = env_profile_for, .take_group = env_take_group,
        .group_assigned = env_group_assigned, .commit = env_commit, .failed = env_failed,
        .drop = env_drop,
    };
    cs_session_init(&e->sess, &e->snap, &e->cyc, &e->prof, 1, &e->senv, &e->api,
                    CS_ACTIONS_DEFAULT);
    for (int i = 0; i < nodes; i++) {
        struct cs_node *n = fw_nodef(&e->api,
                                     "{'metadata':{'name':'n%d'},'status':{'allocatable':"
                                     "{'cpu':'%d','memory':'64Gi','pods':'500'}}}",
                                     i, cpu);
        fw_snap_add(&e->snap, n, NULL, 0);
        cs_node_unref(n);
    }
    return e;
}

static void env_free(struct env *e)
{
    cs_session_destroy(&e->sess);
    cs_queue_destroy(&e->queue);
    cs_cycle_destroy(&e->cyc);
    cs_profile_destroy(&e->prof);
    cs_snapshot_destroy(&e->snap);
    cs_api_ctx_destroy(&e->api);
    test_free(e);
}

/* Queue `count` members g-<start>.. of group g with minimum min, each requesting cpu. */
static void add_members(struct env *e, const char *g, int start, int count, int min,
                        const char *cpu)
{
    for (int i = start; i < start + count; i++) {
        struct cs_pod *p = fw_podf(&e->api,
                                   "{'metadata':{'name':'%s-%d','namespace':'default','uid':"
                                   "'u-%s-%d','labels':{'group':'%s','min':'%d'}},'spec':{"
                                   "'schedulerName':'default-scheduler','containers':[{'name':"
                                   "'c','image':'i','resources':{'requests':{'cpu':'%s'}}}]}}",
                                   g, i, g, i, g, min, cpu);
        cs_queue_add(&e->queue, p);
        cs_pod_unref(p);
    }
}

/* Pop up to max and run one session over them. */
static size_t session_of(struct env *e, size_t max)
{
    struct cs_qentry *batch[8];
    assert_true(max <= 8);
    size_t n = cs_queue_pop(&e->queue, batch, max, 0);
    if (n) {
        cs_session_run(&e->sess, batch, n);
    }
    return n;
}

static int64_t snap_cpu(struct env *e)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < cs_snapshot_num_nodes(&e->snap); i++) {
        sum += cs_snapshot_node_at(&e->snap, i)->requested.v[CS_RES_CPU];
    }
    return sum;
}

static uint32_t queued(struct env *e)
{
    struct cs_queue_stats qs;
    cs_queue_stats(&e->queue, &qs);
    return qs.active + qs.backoff + qs.unschedulable + qs.gated + qs.inflight;
}

/* ---- the specification ------------------------------------------------------------------- */

/* One popped member of a 300-pod group (batch size 1) brings the whole group: all 300 are
 * placed through one statement and committed together, and at commit every Bind sees the
 * state its own pod's PreFilter wrote. */
static void test_session_group_larger_than_batch_commits_whole(void **state)
{
    (void)state;
    struct env *e = env_new(3, 8);
    add_members(e, "big", 0, 300, 300, "50m");
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->commits, 1);
    assert_int_equal(e->placed, 300);
    assert_int_equal(e->failed, 0);
    assert_int_equal(probe.binds, 300);
    assert_int_equal(probe.mismatches, 0);
    assert_int_equal(snap_cpu(e), 300 * 50);
    assert_int_equal(queued(e), 0);
    env_free(e);
}

/* Members waiting in backoff are taken with the group, and members bound or assumed already
 * count towards the minimum. */
static void test_session_group_takes_backoff_members_and_counts_assigned(void **state)
{
    (void)state;
    struct env *e = env_new(2, 8);
    add_members(e, "g", 0, 5, 5, "100m");
    /* Three members fail an attempt elsewhere and wait in backoff (1 s). */
    struct cs_qentry *popped[3];
    assert_int_equal(cs_queue_pop(&e->queue, popped, 3, 0), 3);
    for (int i = 0; i < 3; i++) {
        cs_queue_done_error(&e->queue, popped[i]);
    }
    struct cs_queue_stats qs;
    cs_queue_stats(&e->queue, &qs);
    assert_int_equal(qs.backoff, 3);
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->placed, 5);
    assert_int_equal(e->failed, 0);
    assert_int_equal(queued(e), 0);

    /* A late member of a group of minimum 3 whose two others are bound: it binds alone. */
    e->assigned = 2;
    add_members(e, "late", 2, 1, 3, "100m");
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->placed, 6);
    assert_int_equal(e->failed, 0);
    env_free(e);
}

/* A group that can place only 6 of its 10 members (minimum 10) is discarded whole: Unreserve
 * runs for the 6 with their own state, the snapshot is as before, all 10 go back to the queue
 * with the group's reason. */
static void test_session_group_below_minimum_is_discarded_whole(void **state)
{
    (void)state;
    struct env *e = env_new(2, 3);
    add_members(e, "g", 0, 10, 10, "1");
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->commits, 0);
    assert_int_equal(e->placed, 0);
    assert_int_equal(e->failed, 10);
    assert_int_equal(e->events, 1);            /* one Event for the group, a condition each */
    assert_int_equal(probe.unreserves, 6);
    assert_int_equal(probe.mismatches, 0);
    assert_int_equal(snap_cpu(e), 0);
    assert_non_null(strstr(e->last_msg, "pod group default/g"));
    assert_int_equal(queued(e), 10);
    env_free(e);
}

/* A group whose commit is refused (a member was deleted or assigned meanwhile) changes nothing
 * either: no member placed, every placement unreserved with its own state, all handed back. */
static void test_session_refused_commit_changes_nothing(void **state)
{
    (void)state;
    struct env *e = env_new(2, 8);
    e->refuse = true;
    add_members(e, "g", 0, 4, 4, "1");
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->placed, 0);
    assert_int_equal(e->failed, 4);
    assert_int_equal(probe.unreserves, 4);
    assert_int_equal(probe.mismatches, 0);
    assert_int_equal(snap_cpu(e), 0);
    assert_non_null(strstr(e->last_msg, "refused by the test"));
    assert_int_equal(queued(e), 4);
    env_free(e);
}

/* A group too small to reach its minimum is not attempted: every member waits, untouched. */
static void test_session_group_short_of_members_waits(void **state)
{
    (void)state;
    struct env *e = env_new(2, 8);
    add_members(e, "g", 0, 3, 5, "100m");
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(probe.pre_filters, 0);
    assert_int_equal(e->failed, 3);
    assert_int_equal(e->events, 1);
    assert_non_null(strstr(e->last_msg, "pod group default/g: waiting for members"));
    assert_int_equal(queued(e), 3);
    env_free(e);
}

/* n nodes of 2 cpu, each full with two 1-cpu pods of the given priority. */
static struct env *env_full(int nodes, int victim_prio)
{
    struct env *e = env_new(0, 0);
    for (int i = 0; i < nodes; i++) {
        struct cs_node *n = fw_nodef(&e->api,
                                     "{'metadata':{'name':'n%d'},'status':{'allocatable':"
                                     "{'cpu':'2','memory':'64Gi','pods':'500'}}}",
                                     i);
        struct cs_pod *pods[2];
        for (int k = 0; k < 2; k++) {
            pods[k] = fw_podf(&e->api,
                              "{'metadata':{'name':'v%d-%d','namespace':'default','uid':'uv%d-%d'},"
                              "'spec':{'nodeName':'n%d','priority':%d,'containers':[{'name':'c',"
                              "'image':'i','resources':{'requests':{'cpu':'1'}}}]}}",
                              i, k, i, k, i, victim_prio);
        }
        fw_snap_add(&e->snap, n, pods, 2);
        cs_pod_unref(pods[0]);
        cs_pod_unref(pods[1]);
        cs_node_unref(n);
    }
    return e;
}

static void add_prio_members(struct env *e, const char *g, int count, int prio)
{
    for (int i = 0; i < count; i++) {
        struct cs_pod *p = fw_podf(&e->api,
                                   "{'metadata':{'name':'%s-%d','namespace':'default','uid':"
                                   "'u-%s-%d','labels':{'group':'%s','min':'%d'}},'spec':{"
                                   "'priority':%d,'containers':[{'name':'c','image':'i',"
                                   "'resources':{'requests':{'cpu':'1'}}}]}}",
                                   g, i, g, i, g, count, prio);
        cs_queue_add(&e->queue, p);
        cs_pod_unref(p);
    }
}

/* A gang of 4 (priority 100) on 2 full nodes of priority-0 pods preempts as one unit: one
 * statement evicts the 4 victims and nominates the 4 members; nothing binds until the victims
 * are gone. */
static void test_session_gang_preempts_as_a_unit(void **state)
{
    (void)state;
    struct env *e = env_full(2, 0);
    add_prio_members(e, "hi", 4, 100);
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->commits, 1);
    assert_int_equal(e->evicted, 4);
    assert_int_equal(e->nominated, 4);
    assert_int_equal(e->placed, 0);
    assert_int_equal(e->failed, 4);
    assert_non_null(strstr(e->last_msg, "preempting 4 lower-priority pods"));
    assert_int_equal(snap_cpu(e), 0);          /* victims out, members only nominated */
    env_free(e);
}

/* When the whole gang cannot fit even with preemption (one node's pods outrank it), nothing is
 * evicted at all, not even on the node where members would fit. */
static void test_session_gang_preempts_nothing_unless_whole(void **state)
{
    (void)state;
    struct env *e = env_full(2, 0);
    /* n1's pods become priority 500: the gang (priority 100) can free only n0 (2 cpu). */
    struct cs_node_info *n1 = cs_snapshot_get(&e->snap, "n1");
    for (uint32_t i = 0; i < n1->n_pods; i++) {
        ((struct cs_pod *)n1->pods[i])->priority = 500;
    }
    add_prio_members(e, "hi", 4, 100);
    assert_int_equal(session_of(e, 1), 1);
    assert_int_equal(e->commits, 0);
    assert_int_equal(e->evicted, 0);
    assert_int_equal(e->failed, 4);
    assert_int_equal(snap_cpu(e), 4000);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_group_larger_than_batch_commits_whole),
        cmocka_unit_test(test_session_group_takes_backoff_members_and_counts_assigned),
        cmocka_unit_test(test_session_group_below_minimum_is_discarded_whole),
        cmocka_unit_test(test_session_refused_commit_changes_nothing),
        cmocka_unit_test(test_session_group_short_of_members_waits),
        cmocka_unit_test(test_session_gang_preempts_as_a_unit),
        cmocka_unit_test(test_session_gang_preempts_nothing_unless_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
