/*
 * Specification of the job queue model (pkg/kqueue) and of what it asks of pkg/quota:
 *
 *   - a Queue per quota node, named from the node's full name (lower case, '/' and '_' to '-',
 *     the last 58 characters, a valid Kubernetes name);
 *   - a released unit (Dequeued, Running) is charged to its quota and every ancestor, as
 *     resources and as one job; a finished one (Succeed, Failed) gives everything back;
 *   - S6: two 3-CPU jobs under a 4-CPU quota: the first is released, the second waits with
 *     "blocked by quota root.a because of max" and its position, and goes when the first ends;
 *   - order: priority descending, then creation, then name;
 *   - Priority skips a unit that does not fit; Block stops at it (strict head of line);
 *   - kube-queue/max-jobs counts released jobs per quota node, ancestors included;
 *   - a non-preemptible unit is checked against min (and min max-jobs) instead of max;
 *   - with no tree, plain ResourceQuotas gate: used + reservations + request <= hard;
 *   - a unit naming a missing queue waits and says so; a unit in no quota goes at once;
 *   - fairness ("hungry quota"): two leaves under one parent, one borrowing; while the other
 *     waits with a job within its min, the borrower's next job (which would borrow again)
 *     waits "because of min", and when capacity frees the hungry leaf's job goes first;
 *   - a requeued unit gives its reservation back, waits out its backoff saying why, then goes;
 *   - units seen first as Dequeued or Running (a restart) hold their reservation;
 *   - job kinds: held/started/finished, total requests as the scheduler counts them (init
 *     containers included), unreadable templates refused with the field, release patches;
 *   - RayJob: spec.suspend; head + worker groups (replicas, else minReplicas, x numOfHosts);
 *     released with a gang over every group (the whole workerGroupSpecs list rewritten);
 *     pods found by KubeRay's originated-from labels; ended by jobStatus/jobDeploymentStatus;
 *   - SparkApplication: the suspend annotation, never submitted = empty applicationState;
 *     driver + executor.instances executors as the pods Spark makes (cores or coreRequest,
 *     JVM memory + overhead, gpu, sidecars, init containers); no gang;
 *   - Workflow: spec.suspend or a running kube-queue-suspend node; sized by its
 *     kube-queue/min-resources annotation; released by unsetting spec.suspend and marking the
 *     node Succeeded; bad or missing annotation refused with the annotation named;
 *   - allow-lists: a namespace's available-quota-in-namespace / available-queue-in-namespace
 *     and a Queue's available-quota-in-queue keep units out (waiting apart, saying which list),
 *     "*" opens them, a changed list lets the unit in, the queue's list survives a tree change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/decode.h"
#include "pkg/kqueue/jobkind.h"
#include "pkg/kqueue/kqueue.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

static struct cs_api_ctx api;

static json_t *jload(const char *src)
{
    char *s = cs_strdup(src);
    for (char *q = s; *q; q++) {
        if (*q == '\'') {
            *q = '"';
        }
    }
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (j == NULL) {
        print_error("json: %s\n%s\n", e.text, s);
    }
    cs_free(s);
    assert_non_null(j);
    return j;
}

/* A model with the tree document src installed. */
static void model_with(struct cs_kq_model *m, enum cs_kq_policy p, const char *src)
{
    cs_kq_model_init(m, p);
    json_t *doc = jload(src);
    struct cs_quota_tree *t = NULL;
    char err[300];
    assert_int_equal(cs_quota_tree_parse(doc, api.resources, &t, err, sizeof(err)), 0);
    int64_t *maxj = cs_calloc(t->n, sizeof(int64_t)), *minj = cs_calloc(t->n, sizeof(int64_t));
    assert_int_equal(cs_quota_tree_jobs(doc, t, maxj, minj, err, sizeof(err)), 0);
    cs_kq_set_tree(m, t, maxj, minj);
    json_decref(doc);
}

static const char *S6_TREE =
    "{'metadata':{'name':'t','namespace':'kube-system'},'spec':{'root':{'name':'root',"
    "'min':{'cpu':'16'},'max':{'cpu':'16'},'children':["
    "{'name':'root.a','namespaces':['qa'],'min':{'cpu':'4'},'max':{'cpu':'4'}},"
    "{'name':'root.b','namespaces':['qb'],'min':{'cpu':'2','kube-queue/max-jobs':'1'},"
    "'max':{'cpu':'8','kube-queue/max-jobs':'2'}}]}}}";

static int64_t t_seq = 1;

static struct cs_kq_unit *unit(struct cs_kq_model *m, const char *ns, const char *name,
                               int cpu, int prio)
{
    struct cs_kq_res r = { .name = (char *)"cpu", .v = cpu * 1000 };
    struct cs_kq_unit_spec s = { .ns = ns, .name = name, .priority = prio,
                                 .creation_ns = t_seq++, .preemptible = true, .res = &r,
                                 .n_res = 1 };
    return cs_kq_unit_upsert(m, &s);
}

static uint32_t run(struct cs_kq_model *m)
{
    struct cs_kq_unit **out = NULL;
    uint32_t n = cs_kq_schedule(m, &out);
    cs_free(out);
    return n;
}

static void test_queue_names(void **state)
{
    (void)state;
    char out[64];
    cs_kq_queue_name("root.a", out, sizeof(out));
    assert_string_equal(out, "root.a");
    cs_kq_queue_name("Root/Team_A", out, sizeof(out));
    assert_string_equal(out, "root-team-a");
    cs_kq_queue_name("_x_", out, sizeof(out));
    assert_string_equal(out, "x");
    char longname[100];
    memset(longname, 'a', 70);
    longname[70] = '\0';
    longname[11] = '/';        /* cut away: only the last 58 characters count */
    cs_kq_queue_name(longname, out, sizeof(out));
    assert_int_equal(strlen(out), 58);
}

static void test_s6_release_and_finish(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    assert_non_null(cs_kq_queue_get(&m, "root.a"));
    assert_non_null(cs_kq_queue_get(&m, "root"));
    struct cs_kq_unit *j1 = unit(&m, "qa", "job1", 3, 0);
    struct cs_kq_unit *j2 = unit(&m, "qa", "job2", 3, 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j1->phase, CS_KQ_DEQUEUED);
    assert_int_equal(j2->phase, CS_KQ_ENQUEUED);
    assert_non_null(strstr(j2->message, "position 1 of 1 in queue root.a"));
    assert_non_null(strstr(j2->message, "blocked by quota root.a because of max"));
    int32_t a = cs_quota_tree_find(m.tree, "root.a");
    assert_int_equal(m.used[a][0], 3000);
    assert_int_equal(m.used[0][0], 3000);      /* the root is charged too */
    assert_int_equal(m.jobs[a], 1);
    cs_kq_unit_set_phase(&m, j1, CS_KQ_RUNNING);
    assert_int_equal(run(&m), 0);              /* running still holds the reservation */
    cs_kq_unit_set_phase(&m, j1, CS_KQ_SUCCEED);
    assert_int_equal(m.used[a][0], 0);
    assert_int_equal(m.jobs[a], 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j2->phase, CS_KQ_DEQUEUED);
    assert_string_equal(j2->message, "");
    cs_kq_model_destroy(&m);
}

static void test_order_priority_then_creation(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    struct cs_kq_unit *hold = unit(&m, "qa", "hold", 4, 0);
    assert_int_equal(run(&m), 1);
    struct cs_kq_unit *old_low = unit(&m, "qa", "old-low", 1, 0);
    struct cs_kq_unit *high = unit(&m, "qa", "high", 1, 10);
    struct cs_kq_unit *new_low = unit(&m, "qa", "new-low", 1, 0);
    run(&m);
    assert_int_equal(high->position, 1);
    assert_int_equal(old_low->position, 2);
    assert_int_equal(new_low->position, 3);
    assert_int_equal(new_low->waiting, 3);
    struct cs_kq_queue *q = cs_kq_queue_get(&m, "root.a");
    assert_int_equal(q->n_order, 3);
    assert_ptr_equal(q->order[0], high);
    cs_kq_unit_set_phase(&m, hold, CS_KQ_FAILED);
    struct cs_kq_unit **out = NULL;
    assert_int_equal(cs_kq_schedule(&m, &out), 3);
    assert_ptr_equal(out[0], high);
    assert_ptr_equal(out[1], old_low);
    assert_ptr_equal(out[2], new_low);
    cs_free(out);
    cs_kq_model_destroy(&m);
}

static void test_priority_skips_block_holds(void **state)
{
    (void)state;
    for (int block = 0; block <= 1; block++) {
        struct cs_kq_model m;
        model_with(&m, block ? CS_KQ_BLOCK : CS_KQ_PRIORITY, S6_TREE);
        unit(&m, "qa", "hold", 2, 0);
        assert_int_equal(run(&m), 1);
        struct cs_kq_unit *big = unit(&m, "qa", "big", 4, 100);
        struct cs_kq_unit *small = unit(&m, "qa", "small", 1, 0);
        uint32_t n = run(&m);
        assert_int_equal(big->phase, CS_KQ_ENQUEUED);
        assert_non_null(strstr(big->message, "blocked by quota root.a because of max"));
        if (block) {
            assert_int_equal(n, 0);
            assert_int_equal(small->phase, CS_KQ_ENQUEUED);
            assert_non_null(strstr(small->message, "position 2 of 2"));
            assert_non_null(strstr(small->message, "waiting behind qa/big"));
            /* switched to Priority by its Queue object, the small one passes */
            cs_kq_queue_upsert(&m, "root.a", "Priority");
            assert_int_equal(run(&m), 1);
        } else {
            assert_int_equal(n, 1);
        }
        assert_int_equal(small->phase, CS_KQ_DEQUEUED);
        cs_kq_model_destroy(&m);
    }
}

static void test_max_jobs(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    struct cs_kq_unit *u1 = unit(&m, "qb", "m1", 1, 0);
    struct cs_kq_unit *u2 = unit(&m, "qb", "m2", 1, 0);
    struct cs_kq_unit *u3 = unit(&m, "qb", "m3", 1, 0);
    assert_int_equal(run(&m), 2);             /* max max-jobs 2 */
    assert_int_equal(u3->phase, CS_KQ_ENQUEUED);
    assert_non_null(strstr(u3->message, "blocked by quota root.b because of max "
                                        "kube-queue/max-jobs: 2 released, max 2"));
    cs_kq_unit_set_phase(&m, u1, CS_KQ_SUCCEED);
    assert_int_equal(run(&m), 1);
    assert_int_equal(u3->phase, CS_KQ_DEQUEUED);
    (void)u2;
    cs_kq_model_destroy(&m);
}

static void test_non_preemptible_against_min(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    struct cs_kq_res r = { .name = (char *)"cpu", .v = 3000 };
    struct cs_kq_unit_spec s = { .ns = "qb", .name = "np", .creation_ns = 1, .preemptible = false,
                                 .res = &r, .n_res = 1 };
    struct cs_kq_unit *np = cs_kq_unit_upsert(&m, &s);
    assert_int_equal(run(&m), 0);             /* 3 cpu > min 2, though max is 8 */
    assert_non_null(strstr(np->message, "blocked by quota root.b because of min"));
    r.v = 2000;
    cs_kq_unit_upsert(&m, &s);
    assert_int_equal(run(&m), 1);
    s.name = "np2";
    r.v = 0;
    struct cs_kq_unit *np2 = cs_kq_unit_upsert(&m, &s);
    assert_int_equal(run(&m), 0);             /* min max-jobs 1 */
    assert_non_null(strstr(np2->message, "because of min kube-queue/max-jobs"));
    cs_kq_model_destroy(&m);
}

static const char *FAIR_TREE =
    "{'metadata':{'name':'t','namespace':'kube-system'},'spec':{'root':{'name':'root',"
    "'min':{'cpu':'8'},'max':{'cpu':'8'},'children':[{'name':'root.p',"
    "'min':{'cpu':'8'},'max':{'cpu':'8'},'children':["
    "{'name':'root.p.x','namespaces':['px'],'min':{'cpu':'4'},'max':{'cpu':'8'}},"
    "{'name':'root.p.y','namespaces':['py'],'min':{'cpu':'4'},'max':{'cpu':'8'}}]}]}}}";

static void test_hungry_quota_first(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, FAIR_TREE);
    /* x borrows: 6 CPU of its min 4 */
    struct cs_kq_unit *x1 = unit(&m, "px", "x1", 6, 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(x1->phase, CS_KQ_DEQUEUED);
    /* x asks 6 more (it would borrow again), then y asks 4 (its min): neither fits now */
    struct cs_kq_unit *x2 = unit(&m, "px", "x2", 6, 0);
    struct cs_kq_unit *y1 = unit(&m, "py", "y1", 4, 0);
    assert_int_equal(run(&m), 0);
    assert_non_null(strstr(x2->message, "blocked by quota root.p.x because of min: it would "
                                        "borrow while quota root.p.y waits below its min"));
    assert_non_null(strstr(y1->message, "blocked by quota root.p because of max"));
    assert_non_null(strstr(y1->message, "position 1 of 1 in queue root.p.y"));
    /* x1 ends: x's queue comes first, yet the hungry leaf's job goes and x2 waits */
    cs_kq_unit_set_phase(&m, x1, CS_KQ_SUCCEED);
    assert_int_equal(run(&m), 1);
    assert_int_equal(y1->phase, CS_KQ_DEQUEUED);
    assert_int_equal(x2->phase, CS_KQ_ENQUEUED);
    assert_non_null(strstr(x2->message, "blocked by quota root.p because of max"));
    /* a job of x within x's min is never held by the rule */
    struct cs_kq_unit *x3 = unit(&m, "px", "x3", 4, 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(x3->phase, CS_KQ_DEQUEUED);
    cs_kq_unit_set_phase(&m, x3, CS_KQ_SUCCEED);
    cs_kq_unit_set_phase(&m, y1, CS_KQ_SUCCEED);
    /* a waiting unit too big for its min makes no one hungry: x may borrow */
    struct cs_kq_unit *y2 = unit(&m, "py", "y2", 9, 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(x2->phase, CS_KQ_DEQUEUED);
    assert_int_equal(y2->phase, CS_KQ_ENQUEUED);
    cs_kq_model_destroy(&m);
}

static void test_requeue_backoff(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    m.now_ns = 1000000000;
    struct cs_kq_unit *j1 = unit(&m, "qa", "job1", 3, 0);
    struct cs_kq_unit *j2 = unit(&m, "qa", "job2", 3, 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j1->phase, CS_KQ_DEQUEUED);
    /* job1 cannot be placed: put back for 10 s; its reservation goes, job2 goes */
    cs_kq_unit_requeue(&m, j1, 10000000000LL, "0 of 3 pods scheduled");
    assert_int_equal(j1->phase, CS_KQ_ENQUEUED);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j2->phase, CS_KQ_DEQUEUED);
    assert_non_null(strstr(j1->message, "requeued (0 of 3 pods scheduled); backing off 10 s"));
    /* job2 ends within the backoff: job1 still waits it out */
    cs_kq_unit_set_phase(&m, j2, CS_KQ_SUCCEED);
    m.now_ns += 5000000000LL;
    assert_int_equal(run(&m), 0);
    assert_non_null(strstr(j1->message, "backing off 5 s more"));
    m.now_ns += 5000000000LL;
    assert_int_equal(run(&m), 1);
    assert_int_equal(j1->phase, CS_KQ_DEQUEUED);
    assert_int_equal(j1->requeues, 1);
    cs_kq_model_destroy(&m);
}

static void test_resource_quota_gates_without_tree(void **state)
{
    (void)state;
    struct cs_kq_model m;
    cs_kq_model_init(&m, CS_KQ_PRIORITY);
    const char *keys[] = { "requests.cpu", "memory" }, *res[] = { "cpu", "memory" };
    int64_t hard[] = { 4000, 1LL << 40 };
    struct cs_kq_rq *rq = cs_kq_rq_set(&m, "qa", "rq", keys, res, hard, 2);
    rq->used[0] = 1000;                      /* a pod of no queued job uses 1 CPU */
    struct cs_kq_unit *j1 = unit(&m, "qa", "job1", 3, 0);
    struct cs_kq_unit *j2 = unit(&m, "qa", "job2", 2, 0);
    struct cs_kq_unit *other = unit(&m, "qb", "free", 50, 0);
    assert_int_equal(run(&m), 2);
    assert_int_equal(j1->phase, CS_KQ_DEQUEUED);
    assert_int_equal(other->phase, CS_KQ_DEQUEUED);
    assert_non_null(strstr(j2->message, "blocked by ResourceQuota qa/rq because of requests.cpu: "
                                        "used 4 + job 2 > hard 4"));
    /* the other pod ends: 3 + 2 > 4 still */
    rq = cs_kq_rq_set(&m, "qa", "rq", keys, res, hard, 2);
    assert_int_equal(rq->used[0], 1000);     /* kept across the update */
    rq->used[0] = 0;
    assert_int_equal(run(&m), 0);
    cs_kq_unit_set_phase(&m, j1, CS_KQ_SUCCEED);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j2->phase, CS_KQ_DEQUEUED);
    cs_kq_rq_remove(&m, "qa", "rq");
    assert_int_equal(m.n_rqs, 0);
    cs_kq_model_destroy(&m);
}

/* A ResourceQuota's pods (or count/pods) and limits.* gate by the unit's "pods" resource and
 * its pods' summed limits, which the owner sets from the job; a unit without limits known is not
 * gated by limits.*. */
/* A unit in namespace qa asking 1 CPU per pod for n pods. */
static struct cs_kq_unit *unit_pods(struct cs_kq_model *m, const char *name, int n)
{
    struct cs_kq_res r[] = { { .name = (char *)"cpu", .v = n * 1000 },
                             { .name = (char *)"pods", .v = n } };
    struct cs_kq_unit_spec s = { .ns = "qa", .name = name, .creation_ns = t_seq++,
                                 .preemptible = true, .res = r, .n_res = 2 };
    return cs_kq_unit_upsert(m, &s);
}

static void test_resource_quota_pods_and_limits(void **state)
{
    (void)state;
    struct cs_kq_model m;
    cs_kq_model_init(&m, CS_KQ_PRIORITY);
    const char *keys[] = { "count/pods", "limits.cpu" }, *res[] = { "pods", "limits.cpu" };
    int64_t hard[] = { 5, 8000 };
    struct cs_kq_rq *rq = cs_kq_rq_set(&m, "qa", "rq", keys, res, hard, 2);
    rq->used[0] = 1;                         /* one pod of no queued job */
    struct cs_kq_res lim = { .name = (char *)"cpu", .v = 2000 };
    struct cs_kq_unit *j1 = unit_pods(&m, "job1", 3);
    struct cs_kq_unit *j2 = unit_pods(&m, "job2", 2);
    cs_kq_unit_set_limits(j1, &lim, 1);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j1->phase, CS_KQ_DEQUEUED);
    assert_string_equal(j2->message, "position 1 of 1 in queue default; blocked by ResourceQuota "
                                     "qa/rq because of count/pods: used 4 + job 2 > hard 5");
    /* the outside pod ends: 3 + 2 <= 5 */
    rq->used[0] = 0;
    assert_int_equal(run(&m), 1);
    assert_int_equal(j2->phase, CS_KQ_DEQUEUED);
    /* limits.cpu: 2 held + 7 > 8 (cpu shown in cores) */
    struct cs_kq_unit *j3 = unit(&m, "qa", "job3", 1, 0);
    lim.v = 7000;
    cs_kq_unit_set_limits(j3, &lim, 1);
    assert_int_equal(run(&m), 0);
    assert_string_equal(j3->message, "position 1 of 1 in queue default; blocked by ResourceQuota "
                                     "qa/rq because of limits.cpu: used 2 + job 7 > hard 8");
    cs_kq_unit_set_phase(&m, j1, CS_KQ_SUCCEED);
    assert_int_equal(run(&m), 1);
    assert_int_equal(j3->phase, CS_KQ_DEQUEUED);
    cs_kq_model_destroy(&m);
}

static void test_missing_queue_and_no_quota(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    struct cs_kq_res r = { .name = (char *)"cpu", .v = 1000 };
    struct cs_kq_unit_spec s = { .ns = "qa", .name = "lost", .queue = "nosuch",
                                 .preemptible = true, .res = &r, .n_res = 1 };
    struct cs_kq_unit *lost = cs_kq_unit_upsert(&m, &s);
    struct cs_kq_unit *free_ns = unit(&m, "elsewhere", "free", 100, 0);
    assert_int_equal(run(&m), 1);
    assert_int_equal(free_ns->phase, CS_KQ_DEQUEUED);
    assert_int_equal(lost->queue, -1);
    assert_string_equal(lost->message, "queue nosuch does not exist");
    /* the queue appears (a user creates it): the unit goes (that queue has no quota) */
    cs_kq_queue_upsert(&m, "nosuch", NULL);
    assert_int_equal(run(&m), 1);
    assert_int_equal(lost->phase, CS_KQ_DEQUEUED);
    cs_kq_model_destroy(&m);
}

static void test_restart_holds_reservations(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_PRIORITY, S6_TREE);
    struct cs_kq_unit *seen = unit(&m, "qa", "was-released", 3, 0);
    cs_kq_unit_set_phase(&m, seen, CS_KQ_RUNNING);   /* as read back after a restart */
    struct cs_kq_unit *next = unit(&m, "qa", "next", 3, 0);
    assert_int_equal(run(&m), 0);
    assert_int_equal(next->phase, CS_KQ_ENQUEUED);
    /* a new tree (max raised) keeps the charge and lets the next one go */
    json_t *doc = jload("{'spec':{'root':{'name':'root','min':{'cpu':'16'},'max':{'cpu':'16'},"
                        "'children':[{'name':'root.a','namespaces':['qa'],'max':{'cpu':'6'}}]}}}");
    struct cs_quota_tree *t = NULL;
    char err[200];
    assert_int_equal(cs_quota_tree_parse(doc, api.resources, &t, err, sizeof(err)), 0);
    cs_kq_set_tree(&m, t, NULL, NULL);
    assert_int_equal(m.used[cs_quota_tree_find(t, "root.a")][0], 3000);
    assert_int_equal(run(&m), 1);
    cs_kq_unit_remove(&m, "qa/next");
    assert_int_equal(m.used[cs_quota_tree_find(t, "root.a")][0], 3000);
    json_decref(doc);
    cs_kq_model_destroy(&m);
}

static void test_tree_jobs_and_path(void **state)
{
    (void)state;
    json_t *doc = jload(S6_TREE);
    struct cs_quota_tree *t = NULL;
    char err[200];
    assert_int_equal(cs_quota_tree_parse(doc, api.resources, &t, err, sizeof(err)), 0);
    int64_t maxj[3], minj[3];
    assert_int_equal(cs_quota_tree_jobs(doc, t, maxj, minj, err, sizeof(err)), 0);
    int32_t b = cs_quota_tree_find(t, "root.b");
    assert_int_equal(maxj[b], 2);
    assert_int_equal(minj[b], 1);
    assert_true(maxj[0] == CS_QUOTA_UNLIMITED);
    int64_t used[3][CS_QUOTA_MAX_DIMS] = { { 0 } };
    int64_t req[CS_QUOTA_MAX_DIMS] = { 9000 };
    uint32_t d = 99;
    assert_int_equal(cs_quota_path_exceeds(t, b, (const int64_t(*)[CS_QUOTA_MAX_DIMS])used, req,
                                           false, &d), b);
    assert_int_equal(d, 0);
    req[0] = 8000;
    assert_int_equal(cs_quota_path_exceeds(t, b, (const int64_t(*)[CS_QUOTA_MAX_DIMS])used, req,
                                           false, &d), -1);
    used[0][0] = 10000;        /* the root is the limit now */
    assert_int_equal(cs_quota_path_exceeds(t, b, (const int64_t(*)[CS_QUOTA_MAX_DIMS])used, req,
                                           false, &d), 0);
    cs_quota_tree_free(t);
    json_decref(doc);
    json_t *bad = jload("{'spec':{'root':{'name':'root','max':{'kube-queue/max-jobs':'x'}}}}");
    assert_int_equal(cs_quota_tree_parse(bad, api.resources, &t, err, sizeof(err)), -1);
    json_decref(bad);
}

static int64_t res_of(const struct cs_kq_res *l, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++) {
        if (strcmp(l[i].name, name) == 0) {
            return l[i].v;
        }
    }
    return 0;
}

static void test_job_kinds(void **state)
{
    (void)state;
    const struct cs_kq_kind *tf = cs_kq_kind_by_ext("tfjob");
    const struct cs_kq_kind *job = cs_kq_kind_by_ext("job");
    assert_non_null(tf);
    assert_ptr_equal(cs_kq_kind_by_kind("batch/v1", "Job"), job);
    assert_null(cs_kq_kind_by_ext("mpijob"));
    json_t *j = jload(
        "{'apiVersion':'kubeflow.org/v1','kind':'TFJob','metadata':{'name':'j','namespace':'n',"
        "'annotations':{'scheduling.x-k8s.io/suspend':'true'}},'spec':{'tfReplicaSpecs':{"
        "'PS':{'template':{'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'1',"
        "'memory':'1Gi'}}}]}}},"
        "'Worker':{'replicas':2,'template':{'spec':{'initContainers':[{'name':'i','resources':{"
        "'requests':{'cpu':'3'}}}],'containers':[{'name':'c','resources':{'requests':{"
        "'cpu':'1','nvidia.com/gpu':'1'}}}]}}}}}}");
    assert_true(cs_kq_job_held(tf, j));
    assert_false(cs_kq_job_started(tf, j));
    assert_int_equal(cs_kq_job_finished(tf, j), 0);
    struct cs_kq_job_req r;
    char err[300];
    assert_int_equal(cs_kq_job_requests(&api, tf, j, &r, err, sizeof(err)), 0);
    assert_int_equal(r.pods, 3);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_kq_res_json(r.res, r.n_res, &b);
    /* PS 1 cpu + 2 workers x max(1, init 3) = 7 cpu */
    assert_non_null(strstr(b.data, "\"cpu\":\"7\""));
    assert_non_null(strstr(b.data, "\"memory\":\"1Gi\""));
    assert_non_null(strstr(b.data, "\"nvidia.com/gpu\":\"2\""));
    /* limits are summed the same way: only PS sets them (cpu 1, memory 1Gi) */
    assert_int_equal(res_of(r.limits, r.n_limits, "cpu"), 1000);
    assert_int_equal(res_of(r.limits, r.n_limits, "memory"), 1LL << 30);
    assert_int_equal(res_of(r.limits, r.n_limits, "nvidia.com/gpu"), 0);
    cs_kq_job_req_free(&r);
    cs_buf_reset(&b);
    cs_kq_job_release_patch(tf, j, NULL, 0, &b);
    assert_string_equal(b.data,
                        "{\"metadata\":{\"annotations\":{\"scheduling.x-k8s.io/suspend\":null}}}");
    /* released as a gang: each template gets ACK's gang labels, min-available = all pods */
    cs_buf_reset(&b);
    cs_kq_job_release_patch(tf, j, "j-tfjob", 3, &b);
    json_t *patch = json_loads(b.data, 0, NULL);
    assert_non_null(patch);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(
                            json_object_get(json_object_get(json_object_get(json_object_get(
                                patch, "spec"), "tfReplicaSpecs"), "Worker"), "template"),
                            "metadata"), "labels"), "pod-group.scheduling.sigs.k8s.io/min-available")),
                        "3");
    assert_non_null(json_object_get(json_object_get(json_object_get(patch, "spec"),
                                                    "tfReplicaSpecs"), "PS"));
    assert_null(json_object_get(json_object_get(patch, "metadata"), "labels"));
    json_decref(patch);
    cs_buf_reset(&b);
    cs_kq_job_suspend_patch(tf, &b);
    assert_string_equal(b.data, "{\"spec\":{\"runPolicy\":{\"suspend\":true}}}");
    json_decref(j);

    j = jload("{'metadata':{'name':'b','namespace':'n'},'spec':{'tfReplicaSpecs':{'W':{"
              "'template':{'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'1x'}}}]"
              "}}}}}}");
    assert_int_equal(cs_kq_job_requests(&api, tf, j, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "spec.tfReplicaSpecs.W.template"));
    assert_non_null(strstr(err, "cpu"));
    json_decref(j);

    j = jload("{'metadata':{'name':'b','namespace':'n'},'spec':{'suspend':true,'parallelism':4,"
              "'completions':2,'template':{'spec':{'containers':[{'name':'c','resources':{"
              "'requests':{'cpu':'500m'}}}]}}},'status':{'conditions':[{'type':'Complete',"
              "'status':'True'}]}}");
    assert_true(cs_kq_job_held(job, j));
    assert_int_equal(cs_kq_job_finished(job, j), 1);
    assert_int_equal(cs_kq_job_requests(&api, job, j, &r, err, sizeof(err)), 0);
    assert_int_equal(r.pods, 2);               /* min(parallelism, completions) */
    cs_buf_reset(&b);
    cs_kq_res_json(r.res, r.n_res, &b);
    assert_non_null(strstr(b.data, "\"cpu\":\"1\""));
    cs_kq_job_req_free(&r);
    cs_buf_reset(&b);
    cs_kq_job_release_patch(job, j, NULL, 0, &b);
    assert_string_equal(b.data, "{\"spec\":{\"suspend\":false}}");
    cs_buf_reset(&b);
    cs_kq_job_release_patch(job, j, "j-job", 2, &b);
    assert_string_equal(b.data, "{\"spec\":{\"suspend\":false,\"template\":{\"metadata\":{"
                                "\"labels\":{\"pod-group.scheduling.sigs.k8s.io/name\":\"j-job\","
                                "\"pod-group.scheduling.sigs.k8s.io/min-available\":\"2\"}}}}}");
    cs_buf_reset(&b);
    cs_kq_job_suspend_patch(job, &b);
    assert_string_equal(b.data, "{\"spec\":{\"suspend\":true}}");
    cs_buf_free(&b);
    json_decref(j);
}

/* The string at a path of a JSON document ("a|b|c"; array indexes as numbers;
 * "|" because label keys hold dots and slashes). */
static const char *jstr(const json_t *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    char *save = NULL;
    for (char *t = strtok_r(buf, "|", &save); t && o; t = strtok_r(NULL, "|", &save)) {
        o = json_is_array(o) ? json_array_get(o, (size_t)(t[0] - '0')) : json_object_get(o, t);
    }
    return json_string_value(o);
}

static char *res_text(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k, const json_t *j,
                      uint32_t *pods)
{
    struct cs_kq_job_req r;
    char err[300];
    assert_int_equal(cs_kq_job_requests(ctx, k, j, &r, err, sizeof(err)), 0);
    *pods = r.pods;
    struct cs_buf b;
    cs_buf_init(&b);
    cs_kq_res_json(r.res, r.n_res, &b);
    cs_kq_job_req_free(&r);
    char *out = cs_strdup(b.data);
    cs_buf_free(&b);
    return out;
}

static void expect_refused(const struct cs_kq_kind *k, const char *src, const char *want)
{
    json_t *j = jload(src);
    struct cs_kq_job_req r;
    char err[300] = "";
    assert_int_equal(cs_kq_job_requests(&api, k, j, &r, err, sizeof(err)), -1);
    if (strstr(err, want) == NULL) {
        print_error("error \"%s\" does not name \"%s\"\n", err, want);
    }
    assert_non_null(strstr(err, want));
    assert_null(r.res);
    json_decref(j);
}

static const char *RAYJOB =
    "{'apiVersion':'ray.io/v1','kind':'RayJob','metadata':{'name':'r','namespace':'n'},"
    "'spec':{'suspend':true,'entrypoint':'python x.py','rayClusterSpec':{"
    "'headGroupSpec':{'template':{'spec':{'containers':[{'name':'ray-head','resources':{"
    "'requests':{'cpu':'1','memory':'2Gi'}}}]}}},"
    "'workerGroupSpecs':[{'groupName':'a','replicas':2,'minReplicas':1,'template':{'spec':{"
    "'containers':[{'name':'w','resources':{'requests':{'cpu':'2','nvidia.com/gpu':'1'}}}]}}},"
    "{'groupName':'b','minReplicas':1,'numOfHosts':2,'template':{'metadata':{'labels':{'x':'y'}},"
    "'spec':{'initContainers':[{'name':'i','resources':{'requests':{'cpu':'3'}}}],"
    "'containers':[{'name':'w','resources':{'requests':{'cpu':'1'}}}]}}}]}}}";

static void test_job_kind_rayjob(void **state)
{
    (void)state;
    const struct cs_kq_kind *k = cs_kq_kind_by_ext("rayjob");
    assert_non_null(k);
    assert_ptr_equal(cs_kq_kind_by_kind("ray.io/v1", "RayJob"), k);
    assert_true(k->crd);
    json_t *j = jload(RAYJOB);
    assert_true(cs_kq_job_held(k, j));
    assert_false(cs_kq_job_started(k, j));
    assert_int_equal(cs_kq_job_finished(k, j), 0);
    assert_true(cs_kq_job_one_wave(k, j));
    uint32_t pods = 0;
    char *res = res_text(&api, k, j, &pods);
    /* head 1 + group a 2 x 2 + group b (minReplicas 1 x 2 hosts) x max(1, init 3) = 11 cpu */
    assert_int_equal(pods, 5);
    assert_non_null(strstr(res, "\"cpu\":\"11\""));
    assert_non_null(strstr(res, "\"memory\":\"2Gi\""));
    assert_non_null(strstr(res, "\"nvidia.com/gpu\":\"2\""));
    cs_free(res);

    struct cs_buf b;
    cs_buf_init(&b);
    cs_kq_job_release_patch(k, j, NULL, 0, &b);
    assert_string_equal(b.data, "{\"spec\":{\"suspend\":false}}");
    cs_buf_reset(&b);
    cs_kq_job_release_patch(k, j, "r-rayjob", 5, &b);
    json_t *p = json_loads(b.data, 0, NULL);
    assert_non_null(p);
    assert_true(json_is_false(json_object_get(json_object_get(p, "spec"), "suspend")));
    assert_string_equal(jstr(p, "spec|rayClusterSpec|headGroupSpec|template|metadata|labels|"
                                "pod-group.scheduling.sigs.k8s.io/name"), "r-rayjob");
    /* workerGroupSpecs is a list (a merge patch replaces it): every group, whole, labelled */
    const json_t *wg = json_object_get(json_object_get(json_object_get(p, "spec"),
                                                       "rayClusterSpec"), "workerGroupSpecs");
    assert_int_equal(json_array_size(wg), 2);
    assert_string_equal(jstr(wg, "0|groupName"), "a");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(wg, 0), "replicas")), 2);
    assert_string_equal(jstr(wg, "1|template|metadata|labels|x"), "y");
    assert_string_equal(jstr(wg, "1|template|metadata|labels|"
                                 "pod-group.scheduling.sigs.k8s.io/min-available"), "5");
    assert_string_equal(jstr(wg, "0|template|spec|containers|0|name"), "w");
    json_decref(p);
    cs_buf_reset(&b);
    cs_kq_job_suspend_patch(k, &b);
    assert_string_equal(b.data, "{\"spec\":{\"suspend\":true}}");
    cs_buf_free(&b);
    json_decref(j);

    /* started, ended */
    j = jload("{'spec':{'suspend':false},'status':{'startTime':'2026-01-01T00:00:00Z',"
              "'jobDeploymentStatus':'Running','jobStatus':'RUNNING'}}");
    assert_false(cs_kq_job_held(k, j));
    assert_true(cs_kq_job_started(k, j));
    assert_int_equal(cs_kq_job_finished(k, j), 0);
    json_object_set_new(json_object_get(j, "status"), "jobStatus", json_string("SUCCEEDED"));
    assert_int_equal(cs_kq_job_finished(k, j), 1);
    json_object_set_new(json_object_get(j, "status"), "jobStatus", json_string("STOPPED"));
    assert_int_equal(cs_kq_job_finished(k, j), 2);
    json_object_del(json_object_get(j, "status"), "jobStatus");
    json_object_set_new(json_object_get(j, "status"), "jobDeploymentStatus",
                        json_string("Failed"));
    assert_int_equal(cs_kq_job_finished(k, j), 2);
    json_decref(j);

    /* KubeRay's pods belong to the RayCluster; its labels name the RayJob */
    j = jload("{'metadata':{'labels':{'ray.io/originated-from-crd':'RayJob',"
              "'ray.io/originated-from-cr-name':'r','ray.io/cluster':'r-abcde'}}}");
    assert_string_equal(cs_kq_pod_job(k, j), "r");
    json_object_set_new(json_object_get(json_object_get(j, "metadata"), "labels"),
                        "ray.io/originated-from-crd", json_string("RayService"));
    assert_null(cs_kq_pod_job(k, j));
    json_decref(j);

    expect_refused(k, "{'metadata':{'name':'r','namespace':'n'},'spec':{'suspend':true,"
                      "'clusterSelector':{'ray.io/cluster':'c'}}}", "spec.rayClusterSpec");
    expect_refused(k, "{'metadata':{'name':'r','namespace':'n'},'spec':{'rayClusterSpec':{"
                      "'headGroupSpec':{'template':{'spec':{'containers':[{'name':'h'}]}}},"
                      "'workerGroupSpecs':[{'replicas':1,'template':{'spec':{'containers':[{"
                      "'name':'w','resources':{'requests':{'cpu':'2x'}}}]}}}]}}}",
                   "spec.rayClusterSpec.workerGroupSpecs[0].template");
    expect_refused(k, "{'metadata':{'name':'r','namespace':'n'},'spec':{'rayClusterSpec':{}}}",
                   "headGroupSpec");
}

static const char *SPARKAPP =
    "{'apiVersion':'sparkoperator.k8s.io/v1beta2','kind':'SparkApplication',"
    "'metadata':{'name':'s','namespace':'n','annotations':{'scheduling.x-k8s.io/suspend':'true'}},"
    "'spec':{'type':'Scala','mode':'cluster','mainClass':'Pi',"
    "'driver':{'cores':1,'memory':'512m','sidecars':[{'name':'log','resources':{'requests':{"
    "'cpu':'100m','memory':'128Mi'}}}]},"
    "'executor':{'instances':2,'cores':2,'coreRequest':'1500m','memory':'2g',"
    "'memoryOverhead':'1g','gpu':{'name':'nvidia.com/gpu','quantity':1},"
    "'initContainers':[{'name':'fetch','resources':{'requests':{'cpu':'3'}}}]}}}";

static void test_job_kind_sparkapp(void **state)
{
    (void)state;
    const struct cs_kq_kind *k = cs_kq_kind_by_ext("sparkapp");
    assert_non_null(k);
    assert_ptr_equal(cs_kq_kind_by_kind("sparkoperator.k8s.io/v1beta2", "SparkApplication"), k);
    json_t *j = jload(SPARKAPP);
    assert_true(cs_kq_job_held(k, j));
    assert_false(cs_kq_job_started(k, j));
    assert_int_equal(cs_kq_job_finished(k, j), 0);
    assert_false(cs_kq_job_one_wave(k, j));
    uint32_t pods = 0;
    char *res = res_text(&api, k, j, &pods);
    /* driver: 1 cpu + sidecar 100m; 512Mi + overhead max(384Mi, 10%) + sidecar 128Mi = 1Gi.
     * executors: 2 x max(1500m, init 3) = 6 cpu; 2 x (2Gi + 1Gi) = 6Gi; 2 gpus. */
    assert_int_equal(pods, 3);
    assert_non_null(strstr(res, "\"cpu\":\"7100m\""));
    assert_non_null(strstr(res, "\"memory\":\"7Gi\""));
    assert_non_null(strstr(res, "\"nvidia.com/gpu\":\"2\""));
    cs_free(res);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_kq_job_release_patch(k, j, "s-sparkapp", 3, &b);     /* no gang: executors come later */
    assert_string_equal(b.data,
                        "{\"metadata\":{\"annotations\":{\"scheduling.x-k8s.io/suspend\":null}}}");
    cs_buf_reset(&b);
    cs_kq_job_suspend_patch(k, &b);
    assert_string_equal(b.data, "{\"metadata\":{\"annotations\":{"
                                "\"scheduling.x-k8s.io/suspend\":\"true\"}}}");
    cs_buf_free(&b);
    json_decref(j);

    /* defaults: cores 1, memory 1g + 384Mi; Spark's 2 executors; Python's overhead factor */
    j = jload("{'metadata':{'name':'s','namespace':'n'},'spec':{'driver':{},'executor':{}}}");
    res = res_text(&api, k, j, &pods);
    assert_int_equal(pods, 3);
    assert_non_null(strstr(res, "\"cpu\":\"3\""));
    assert_non_null(strstr(res, "\"memory\":\"4224Mi\""));     /* 3 x 1408Mi */
    cs_free(res);
    json_decref(j);
    j = jload("{'metadata':{'name':'s','namespace':'n'},'spec':{'type':'Python','driver':{"
              "'memory':'10g'},'executor':{'instances':0}}}");
    res = res_text(&api, k, j, &pods);
    assert_non_null(strstr(res, "\"memory\":\"14Gi\""));       /* 10g + 40% */
    cs_free(res);
    json_decref(j);
    /* no suffix = MiB (Spark's unit for these settings); the application's overhead factor */
    j = jload("{'metadata':{'name':'s','namespace':'n'},'spec':{'memoryOverheadFactor':'0.5',"
              "'driver':{'memory':'1024'},'executor':{'instances':0}}}");
    res = res_text(&api, k, j, &pods);
    assert_non_null(strstr(res, "\"memory\":\"1536Mi\""));
    cs_free(res);
    json_decref(j);
    j = jload("{'metadata':{'name':'s','namespace':'n'},'spec':{'driver':{},'executor':{},"
              "'dynamicAllocation':{'enabled':true,'minExecutors':1}}}");
    res = res_text(&api, k, j, &pods);
    assert_int_equal(pods, 2);
    cs_free(res);
    json_decref(j);

    /* submitted, ended; pods by the operator's label */
    j = jload("{'status':{'applicationState':{'state':'RUNNING'}}}");
    assert_false(cs_kq_job_held(k, j));
    assert_true(cs_kq_job_started(k, j));
    assert_int_equal(cs_kq_job_finished(k, j), 0);
    json_object_set_new(json_object_get(json_object_get(j, "status"), "applicationState"),
                        "state", json_string("COMPLETED"));
    assert_int_equal(cs_kq_job_finished(k, j), 1);
    json_object_set_new(json_object_get(json_object_get(j, "status"), "applicationState"),
                        "state", json_string("SUBMISSION_FAILED"));
    assert_int_equal(cs_kq_job_finished(k, j), 2);
    json_decref(j);
    j = jload("{'metadata':{'labels':{'sparkoperator.k8s.io/app-name':'s',"
              "'spark-role':'executor'}}}");
    assert_string_equal(cs_kq_pod_job(k, j), "s");
    json_decref(j);

    expect_refused(k, "{'metadata':{'name':'s','namespace':'n'},'spec':{'driver':{"
                      "'memory':'512Mi'},'executor':{}}}", "spec.driver.memory");
    expect_refused(k, "{'metadata':{'name':'s','namespace':'n'},'spec':{'driver':{},"
                      "'executor':{'coreRequest':'lots'}}}", "spec.executor.coreRequest");
    expect_refused(k, "{'metadata':{'name':'s','namespace':'n'},'spec':{'driver':{},"
                      "'executor':{'gpu':{'quantity':1}}}}", "spec.executor.gpu");
    expect_refused(k, "{'metadata':{'name':'s','namespace':'n'},'spec':{}}", "spec.driver");
}

static const char *WORKFLOW =
    "{'apiVersion':'argoproj.io/v1alpha1','kind':'Workflow','metadata':{'name':'w',"
    "'namespace':'n','annotations':{'kube-queue/min-resources':'cpu: 3\\nmemory: 4Gi\\n'}},"
    "'spec':{'entrypoint':'main','templates':[{'name':'kube-queue-suspend','suspend':{}}]},"
    "'status':{'phase':'Running','nodes':{"
    "'w':{'id':'w','type':'Steps','phase':'Running','templateName':'main'},"
    "'w-1':{'id':'w-1','type':'Suspend','phase':'Running','templateName':'kube-queue-suspend'}}}}";

static void test_job_kind_workflow(void **state)
{
    (void)state;
    const struct cs_kq_kind *k = cs_kq_kind_by_ext("argoworkflow");
    assert_non_null(k);
    assert_ptr_equal(cs_kq_kind_by_kind("argoproj.io/v1alpha1", "Workflow"), k);
    json_t *j = jload(WORKFLOW);
    assert_true(cs_kq_job_held(k, j));            /* parked on the queue's Suspend node */
    assert_false(cs_kq_job_started(k, j));
    assert_int_equal(cs_kq_job_finished(k, j), 0);
    uint32_t pods = 9;
    char *res = res_text(&api, k, j, &pods);
    assert_int_equal(pods, 0);                     /* no gang, no requeue */
    assert_non_null(strstr(res, "\"cpu\":\"3\""));
    assert_non_null(strstr(res, "\"memory\":\"4Gi\""));
    cs_free(res);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_kq_job_release_patch(k, j, "w-argoworkflow", 0, &b);
    assert_string_equal(b.data, "{\"status\":{\"nodes\":{\"w-1\":{\"phase\":\"Succeeded\","
                                "\"message\":\"released by kube-queue\"}}}}");
    cs_buf_reset(&b);
    json_object_set_new(json_object_get(j, "spec"), "suspend", json_true());
    cs_kq_job_release_patch(k, j, NULL, 0, &b);
    json_t *p = json_loads(b.data, 0, NULL);
    assert_non_null(p);
    assert_true(json_is_null(json_object_get(json_object_get(p, "spec"), "suspend")));
    assert_string_equal(jstr(p, "status|nodes|w-1|phase"), "Succeeded");
    json_decref(p);
    cs_buf_reset(&b);
    cs_kq_job_suspend_patch(k, &b);
    assert_string_equal(b.data, "{\"spec\":{\"suspend\":true}}");
    cs_buf_free(&b);
    json_decref(j);

    /* resumed: the node Succeeded, a Pod node ran; ended by its phase */
    j = jload("{'status':{'phase':'Running','nodes':{'w-1':{'type':'Suspend','phase':"
              "'Succeeded','templateName':'kube-queue-suspend'},'w-2':{'type':'Pod',"
              "'phase':'Running'}}}}");
    assert_false(cs_kq_job_held(k, j));
    assert_true(cs_kq_job_started(k, j));
    json_object_set_new(json_object_get(j, "status"), "phase", json_string("Succeeded"));
    assert_int_equal(cs_kq_job_finished(k, j), 1);
    json_object_set_new(json_object_get(j, "status"), "phase", json_string("Error"));
    assert_int_equal(cs_kq_job_finished(k, j), 2);
    json_decref(j);
    /* held by spec.suspend alone; a Suspend node of another template holds nothing */
    j = jload("{'spec':{'suspend':true}}");
    assert_true(cs_kq_job_held(k, j));
    json_decref(j);
    j = jload("{'status':{'nodes':{'x':{'type':'Suspend','phase':'Running',"
              "'templateName':'approve'}}}}");
    assert_false(cs_kq_job_held(k, j));
    json_decref(j);
    j = jload("{'metadata':{'labels':{'workflows.argoproj.io/workflow':'w'}}}");
    assert_string_equal(cs_kq_pod_job(k, j), "w");
    json_decref(j);

    expect_refused(k, "{'metadata':{'name':'w','namespace':'n'},'spec':{'suspend':true}}",
                   "annotation kube-queue/min-resources: missing");
    expect_refused(k, "{'metadata':{'name':'w','namespace':'n','annotations':{"
                      "'kube-queue/min-resources':'cpu: lots'}}}",
                   "annotation kube-queue/min-resources: cpu");
    expect_refused(k, "{'metadata':{'name':'w','namespace':'n','annotations':{"
                      "'kube-queue/min-resources':'[1, 2'}}}",
                   "annotation kube-queue/min-resources");
    expect_refused(k, "{'metadata':{'name':'w','namespace':'n','annotations':{"
                      "'kube-queue/min-resources':'- cpu'}}}", "not a ResourceList");
}

static struct cs_kq_unit *unit_to(struct cs_kq_model *m, const char *ns, const char *name,
                                  int cpu, const char *queue, const char *quota)
{
    struct cs_kq_res r = { .name = (char *)"cpu", .v = cpu * 1000 };
    struct cs_kq_unit_spec s = { .ns = ns, .name = name, .creation_ns = t_seq++,
                                 .queue = queue, .quota = quota, .preemptible = true, .res = &r,
                                 .n_res = 1 };
    return cs_kq_unit_upsert(m, &s);
}

static void test_allow_lists(void **state)
{
    (void)state;
    struct cs_kq_model m;
    model_with(&m, CS_KQ_BLOCK, S6_TREE);
    char why[320];

    /* a namespace's quotas: qa may name root.a (its own leaf) only */
    cs_kq_ns_set(&m, "qa", "root.a", NULL);
    struct cs_kq_unit *u = unit_to(&m, "qa", "borrow", 1, NULL, "root.b");
    struct cs_kq_unit *own = unit_to(&m, "qa", "own", 1, NULL, "root.a");
    assert_int_equal(run(&m), 1);
    assert_int_equal(own->phase, CS_KQ_DEQUEUED);
    assert_int_equal(u->phase, CS_KQ_ENQUEUED);
    assert_true(u->denied);
    assert_non_null(strstr(u->message, "not admitted to queue root.b: quota root.b is not "
                                       "available in namespace qa"));
    assert_non_null(strstr(u->message, "kube-queue/available-quota-in-namespace: root.a"));
    assert_int_equal(u->position, 0);
    assert_int_equal(cs_kq_queue_get(&m, "root.b")->n_order, 0);   /* waits apart */
    assert_true(cs_kq_denied(&m, u, why, sizeof(why)));
    assert_false(cs_kq_fits(&m, u, why, sizeof(why)));
    cs_kq_ns_set(&m, "qa", " root.a , root.b ", NULL);              /* the list changes: in */
    assert_int_equal(run(&m), 1);
    assert_int_equal(u->phase, CS_KQ_DEQUEUED);
    assert_false(u->denied);
    cs_kq_ns_set(&m, "qa", "*", NULL);
    u = unit_to(&m, "qa", "star", 1, NULL, "root.b");
    assert_false(cs_kq_denied(&m, u, why, sizeof(why)));
    cs_kq_unit_remove(&m, "qa/star");

    /* a Queue's quotas: root.a takes units of root.a, and of what its annotation lists */
    struct cs_kq_unit *other = unit_to(&m, "qb", "other", 1, "root.a", NULL);
    assert_false(cs_kq_denied(&m, other, why, sizeof(why)));   /* no annotation: open */
    cs_kq_queue_set_quotas(&m, "root.a", "root.c");
    assert_true(cs_kq_denied(&m, other, why, sizeof(why)));
    assert_non_null(strstr(why, "not admitted to queue root.a: it does not take units of quota "
                                "root.b (kube-queue/available-quota-in-queue: root.c)"));
    assert_false(cs_kq_denied(&m, own, why, sizeof(why)));     /* its own quota's units */
    /* kept out, it blocks no one, even under Block and with the higher priority */
    other->priority = 100;
    struct cs_kq_unit *behind = unit_to(&m, "qa", "behind", 1, NULL, NULL);
    assert_int_equal(run(&m), 1);
    assert_int_equal(behind->phase, CS_KQ_DEQUEUED);
    assert_int_equal(other->phase, CS_KQ_ENQUEUED);
    /* the list survives a tree change */
    json_t *doc = jload(S6_TREE);
    struct cs_quota_tree *t = NULL;
    assert_int_equal(cs_quota_tree_parse(doc, api.resources, &t, why, sizeof(why)), 0);
    cs_kq_set_tree(&m, t, NULL, NULL);
    json_decref(doc);
    assert_true(cs_kq_denied(&m, other, why, sizeof(why)));
    cs_kq_queue_set_quotas(&m, "root.a", "root.c,*");
    assert_int_equal(run(&m), 1);
    assert_int_equal(other->phase, CS_KQ_DEQUEUED);

    /* a namespace's queues, in koord-queue's JSON form too: qb may name root.b only */
    cs_kq_ns_set(&m, "qb", NULL, "{\"root.b\":[\"root.b\"]}");
    struct cs_kq_unit *named = unit_to(&m, "qb", "named", 1, "root.a", NULL);
    struct cs_kq_unit *plain = unit_to(&m, "qb", "plain", 1, NULL, NULL);
    assert_true(cs_kq_denied(&m, named, why, sizeof(why)));
    assert_non_null(strstr(why, "the queue is not available in namespace qb "
                                "(kube-queue/available-queue-in-namespace:"));
    assert_false(cs_kq_denied(&m, plain, why, sizeof(why)));   /* its own quota's queue */
    cs_kq_ns_set(&m, "qb", NULL, "root.b, root.a");
    assert_false(cs_kq_denied(&m, named, why, sizeof(why)));
    cs_kq_ns_set(&m, "qb", NULL, NULL);                         /* namespace gone: no lists */
    assert_null(cs_map_get(&m.ns_allow, "qb"));
    cs_kq_model_destroy(&m);
}

static void test_phase_and_policy_names(void **state)
{
    (void)state;
    enum cs_kq_phase p;
    assert_true(cs_kq_phase_parse("", &p));
    assert_int_equal(p, CS_KQ_ENQUEUED);
    assert_true(cs_kq_phase_parse("Reserved", &p));
    assert_int_equal(p, CS_KQ_DEQUEUED);
    assert_true(cs_kq_phase_parse("Succeed", &p));
    assert_string_equal(cs_kq_phase_name(p), "Succeed");
    assert_false(cs_kq_phase_parse("Bogus", &p));
    enum cs_kq_policy pol;
    assert_true(cs_kq_policy_parse("StrictPriority", &pol));
    assert_int_equal(pol, CS_KQ_BLOCK);
    assert_false(cs_kq_policy_parse("Intelligent", &pol));
}

static int setup(void **state)
{
    (void)state;
    cs_api_ctx_init(&api);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cs_api_ctx_destroy(&api);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_names),
        cmocka_unit_test(test_s6_release_and_finish),
        cmocka_unit_test(test_order_priority_then_creation),
        cmocka_unit_test(test_priority_skips_block_holds),
        cmocka_unit_test(test_max_jobs),
        cmocka_unit_test(test_non_preemptible_against_min),
        cmocka_unit_test(test_hungry_quota_first),
        cmocka_unit_test(test_requeue_backoff),
        cmocka_unit_test(test_resource_quota_gates_without_tree),
        cmocka_unit_test(test_resource_quota_pods_and_limits),
        cmocka_unit_test(test_missing_queue_and_no_quota),
        cmocka_unit_test(test_restart_holds_reservations),
        cmocka_unit_test(test_tree_jobs_and_path),
        cmocka_unit_test(test_job_kinds),
        cmocka_unit_test(test_job_kind_rayjob),
        cmocka_unit_test(test_job_kind_sparkapp),
        cmocka_unit_test(test_job_kind_workflow),
        cmocka_unit_test(test_allow_lists),
        cmocka_unit_test(test_phase_and_policy_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
