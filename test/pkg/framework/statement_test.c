/*
 * Specification of statements (pkg/framework/statement.c): tentative placements on the session
 * snapshot. allocate counts the pod on the snapshot node at once and publishes a new node
 * version; discard undoes every placement exactly (requested vectors, pod counts, host ports)
 * and leaves every touched node at a version never seen before; clear forgets the ops and keeps
 * the placements.
 */
#include "test/pkg/framework/fwtest.h"

struct env {
    struct cs_api_ctx api;
    struct cs_snapshot snap;
    struct cs_profile prof;
    struct cs_cycle cyc;
    struct cs_statement st;
};

static struct env *env_new(void)
{
    struct env *e = test_calloc(1, sizeof(*e));
    cs_api_ctx_init(&e->api);
    cs_snapshot_init(&e->snap);
    fw_default_profile(&e->prof, &e->api, -1);
    cs_cycle_init(&e->cyc, &e->api, 7);
    e->cyc.snap = &e->snap;
    cs_stmt_init(&e->st);
    fw_snap_add_json(&e->snap, &e->api,
                     "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'8','memory':'16Gi',"
                     "'pods':'110'}}}",
                     "{'metadata':{'name':'old','namespace':'default'},'spec':{'nodeName':'n1',"
                     "'containers':[{'name':'c','image':'i','resources':{'requests':{'cpu':'1',"
                     "'memory':'1Gi'}},'ports':[{'containerPort':80,'hostPort':80}]}]}}",
                     FW_END);
    fw_snap_add_json(&e->snap, &e->api,
                     "{'metadata':{'name':'n2'},'status':{'allocatable':{'cpu':'8','memory':'16Gi',"
                     "'pods':'110'}}}",
                     FW_END);
    return e;
}

static void env_free(struct env *e)
{
    cs_stmt_destroy(&e->st);
    cs_cycle_destroy(&e->cyc);
    cs_profile_destroy(&e->prof);
    cs_snapshot_destroy(&e->snap);
    cs_api_ctx_destroy(&e->api);
    test_free(e);
}

static struct cs_pod *pod(struct env *e, const char *name, const char *cpu, const char *mem,
                          const char *port_json)
{
    return fw_podf(&e->api,
                   "{'metadata':{'name':'%s','namespace':'default'},'spec':{'containers':[{'name':"
                   "'c','image':'i','resources':{'requests':{'cpu':'%s','memory':'%s'}}%s%s}]}}",
                   name, cpu, mem, port_json ? ",'ports':" : "", port_json ? port_json : "");
}

/* What a node info counts, for exact before/after comparisons. */
struct usage {
    int64_t req[CS_RES_MAX];
    int64_t nz[CS_RES_MAX];
    uint32_t n_pods;
    uint32_t n_ports;
    struct cs_used_port ports[16];
};

static void usage_of(const struct cs_node_info *ni, struct usage *u)
{
    memset(u, 0, sizeof(*u));
    memcpy(u->req, ni->requested.v, sizeof(u->req));
    memcpy(u->nz, ni->nonzero_requested.v, sizeof(u->nz));
    u->n_pods = ni->n_pods;
    u->n_ports = ni->n_ports;
    assert_true(ni->n_ports <= 16);
    if (ni->n_ports) {
        memcpy(u->ports, ni->ports, sizeof(*ni->ports) * ni->n_ports);
    }
}

static bool port_in(const struct usage *u, const struct cs_used_port *p)
{
    for (uint32_t i = 0; i < u->n_ports; i++) {
        const struct cs_used_port *q = &u->ports[i];
        bool ip_eq = (q->host_ip == NULL && p->host_ip == NULL) ||
                     (q->host_ip && p->host_ip && strcmp(q->host_ip, p->host_ip) == 0);
        if (ip_eq && q->port == p->port && q->protocol == p->protocol) {
            return true;
        }
    }
    return false;
}

static void assert_usage_equal(const struct usage *a, const struct usage *b)
{
    assert_memory_equal(a->req, b->req, sizeof(a->req));
    assert_memory_equal(a->nz, b->nz, sizeof(a->nz));
    assert_int_equal(a->n_pods, b->n_pods);
    assert_int_equal(a->n_ports, b->n_ports);
    for (uint32_t i = 0; i < a->n_ports; i++) {
        assert_true(port_in(b, &a->ports[i]));
    }
}

/* allocate counts the pod on the snapshot node (requests, pod count, host ports) and publishes
 * the node's new, higher version in snapshot->vers. */
static void test_stmt_allocate_counts_and_bumps_version(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_node_info *n1 = cs_snapshot_get(&e->snap, "n1");
    struct cs_node_info *n2 = cs_snapshot_get(&e->snap, "n2");
    uint64_t v1 = e->snap.vers[n1->index];
    uint64_t v2 = e->snap.vers[n2->index];
    uint64_t epoch = e->snap.epoch;
    assert_int_equal(v1, n1->generation);

    struct cs_pod *p = pod(e, "p", "500m", "256Mi", "[{'containerPort':8080,'hostPort':8080}]");
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), p, n1, (void *)0x1, NULL);
    assert_int_equal(e->st.n, 1);
    /* The snapshot counts the pod as placed: the queued object with its node name. */
    assert_ptr_equal(e->st.ops[0].orig, p);
    assert_ptr_equal(e->st.ops[0].pod->base, p);
    assert_string_equal(e->st.ops[0].pod->node_name, "n1");
    assert_ptr_equal(e->st.ops[0].ni, n1);
    assert_ptr_equal(e->st.ops[0].owner, (void *)0x1);
    assert_int_equal(n1->requested.v[CS_RES_CPU], 1500);
    assert_int_equal(n1->requested.v[CS_RES_MEMORY], 1024LL * 1024 * 1024 + 256LL * 1024 * 1024);
    assert_int_equal(n1->requested.v[CS_RES_PODS], 2);
    assert_int_equal(n1->n_pods, 2);
    assert_int_equal(n1->n_ports, 2);
    struct cs_port want = {.host_port = 8080, .protocol = CS_PROTO_TCP};
    assert_int_equal(cs_node_info_port_free(n1, &want), 0);

    assert_true(e->snap.vers[n1->index] > v1);
    assert_int_equal(e->snap.vers[n1->index], n1->generation);
    assert_int_equal(e->snap.vers[n2->index], v2); /* other nodes untouched */
    assert_int_equal(e->snap.epoch, epoch);       /* placements do not change the node list */

    /* The statement holds its own reference. */
    cs_pod_unref(p);
    assert_string_equal(e->st.ops[0].pod->name, "p");
    cs_stmt_discard(&e->st, &e->snap);
    env_free(e);
}

/* discard undoes every placement (several pods, two nodes, ports with and without host IPs)
 * exactly, and each touched node ends at a version higher than any it had before. */
static void test_stmt_discard_restores_exactly(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_node_info *n1 = cs_snapshot_get(&e->snap, "n1");
    struct cs_node_info *n2 = cs_snapshot_get(&e->snap, "n2");
    struct usage b1, b2, a1, a2;
    usage_of(n1, &b1);
    usage_of(n2, &b2);

    struct cs_pod *ps[4] = {
        pod(e, "a", "100m", "100Mi", "[{'containerPort':81,'hostPort':81,'hostIP':'10.0.0.1'}]"),
        pod(e, "b", "0", "0", "[{'containerPort':53,'hostPort':53,'protocol':'UDP'}]"),
        pod(e, "c", "2", "3Gi", NULL),
        pod(e, "d", "250m", "64Mi", "[{'containerPort':90,'hostPort':90}]"),
    };
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), ps[0], n1, NULL, NULL);
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), ps[1], n2, NULL, NULL);
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), ps[2], n1, NULL, NULL);
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), ps[3], n2, NULL, NULL);
    assert_int_equal(e->st.n, 4);
    assert_int_equal(n1->n_pods, 3);
    assert_int_equal(n2->n_pods, 2);
    /* b requests an explicit zero: kube defaults only un-set requests in the non-zero vector. */
    assert_int_equal(n2->requested.v[CS_RES_CPU], 250);
    assert_int_equal(n2->nonzero_requested.v[CS_RES_CPU], 250);
    uint64_t top1 = n1->generation, top2 = n2->generation;

    cs_stmt_discard(&e->st, &e->snap);
    assert_int_equal(e->st.n, 0);
    usage_of(n1, &a1);
    usage_of(n2, &a2);
    assert_usage_equal(&a1, &b1);
    assert_usage_equal(&a2, &b2);
    assert_string_equal(n1->pods[0]->name, "old");
    struct cs_port p81 = {.host_port = 81, .protocol = CS_PROTO_TCP, .host_ip = "10.0.0.1"};
    struct cs_port p53 = {.host_port = 53, .protocol = CS_PROTO_UDP};
    assert_int_equal(cs_node_info_port_free(n1, &p81), 1);
    assert_int_equal(cs_node_info_port_free(n2, &p53), 1);
    assert_true(n1->generation > top1);
    assert_true(n2->generation > top2);
    assert_int_equal(e->snap.vers[n1->index], n1->generation);
    assert_int_equal(e->snap.vers[n2->index], n2->generation);

    /* A second discard has nothing left to undo. */
    cs_stmt_discard(&e->st, &e->snap);
    usage_of(n1, &a1);
    assert_usage_equal(&a1, &b1);
    for (int i = 0; i < 4; i++) {
        cs_pod_unref(ps[i]);
    }
    env_free(e);
}

/* clear forgets the ops (dropping their references) but the placements stay; a discard after a
 * clear changes nothing. */
static void test_stmt_clear_keeps_placements(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct cs_node_info *n2 = cs_snapshot_get(&e->snap, "n2");
    struct cs_pod *p = pod(e, "p", "1", "1Gi", NULL);
    struct cs_pod *q = pod(e, "q", "2", "1Gi", NULL);
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), p, n2, NULL, NULL);
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), q, n2, NULL, NULL);
    cs_stmt_clear(&e->st);
    assert_int_equal(e->st.n, 0);
    assert_int_equal(n2->n_pods, 2);
    assert_int_equal(n2->requested.v[CS_RES_CPU], 3000);
    uint64_t v = n2->generation;
    cs_stmt_discard(&e->st, &e->snap);
    assert_int_equal(n2->n_pods, 2);
    assert_int_equal(n2->requested.v[CS_RES_CPU], 3000);
    assert_int_equal(n2->generation, v);

    /* The statement can be reused after a clear. */
    struct cs_pod *r = pod(e, "r", "1", "1Gi", NULL);
    cs_stmt_allocate(&e->st, &e->snap, cs_fw_attempt_new(&e->prof, &e->cyc), r, n2, NULL, NULL);
    cs_stmt_discard(&e->st, &e->snap);
    assert_int_equal(n2->n_pods, 2);
    assert_int_equal(n2->requested.v[CS_RES_CPU], 3000);
    cs_pod_unref(p);
    cs_pod_unref(q);
    cs_pod_unref(r);
    env_free(e);
}

/* Plugins that account cluster-wide (quotas) hear every eviction and nomination through the
 * statement's hook, and their undoing, in reverse order, on discard and on a dry run's
 * rollback. */
struct heard {
    char log[8][48];
    int n;
};

static void hear(void *arg, enum cs_stmt_event ev, const struct cs_pod *pod, const char *node,
                 bool undo)
{
    struct heard *h = arg;
    assert_true(h->n < 8);
    snprintf(h->log[h->n++], 48, "%s%s %s@%s", undo ? "undo " : "",
             ev == CS_STMT_EV_EVICT ? "evict" : "nominate", pod->name, node);
}

static void test_stmt_notify_hears_evict_and_nominate(void **state)
{
    (void)state;
    struct env *e = env_new();
    struct heard h = { .n = 0 };
    e->st.notify = hear;
    e->st.notify_arg = &h;
    struct cs_node_info *n1 = cs_snapshot_get(&e->snap, "n1");
    struct cs_pod *victim = cs_pod_ref(n1->pods[0]);
    struct cs_pod *p = pod(e, "p", "100m", "100Mi", NULL);
    uint32_t mark = cs_stmt_mark(&e->st);
    assert_int_equal(cs_stmt_evict(&e->st, &e->snap, victim), 0);
    cs_stmt_rollback(&e->st, &e->snap, mark);              /* a dry run */
    assert_int_equal(cs_stmt_evict(&e->st, &e->snap, victim), 0);
    cs_stmt_nominate(&e->st, cs_fw_attempt_new(&e->prof, &e->cyc), p, n1, NULL);
    cs_stmt_discard(&e->st, &e->snap);
    assert_int_equal(h.n, 6);
    assert_string_equal(h.log[0], "evict old@n1");
    assert_string_equal(h.log[1], "undo evict old@n1");
    assert_string_equal(h.log[2], "evict old@n1");
    assert_string_equal(h.log[3], "nominate p@n1");
    assert_string_equal(h.log[4], "undo nominate p@n1");
    assert_string_equal(h.log[5], "undo evict old@n1");
    /* A committed statement (cleared) is not undone: nothing more is heard. */
    assert_int_equal(cs_stmt_evict(&e->st, &e->snap, victim), 0);
    cs_stmt_clear(&e->st);
    assert_int_equal(h.n, 7);
    cs_node_info_add_pod(n1, victim);                       /* put it back for env_free */
    cs_pod_unref(victim);
    cs_pod_unref(p);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stmt_allocate_counts_and_bumps_version),
        cmocka_unit_test(test_stmt_discard_restores_exactly),
        cmocka_unit_test(test_stmt_clear_keeps_placements),
        cmocka_unit_test(test_stmt_notify_hears_evict_and_nominate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
