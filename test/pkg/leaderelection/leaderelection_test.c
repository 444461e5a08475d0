/* Specification of Lease-based leader election: the pure decision table, then the runner
 * with two electors against an in-memory lease store that enforces resourceVersion. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkg/leaderelection/leaderelection.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/timeutil.h"

#define S 1000000000LL
/* 2024-01-02T03:04:05.123456Z */
#define WALL 1704164645123456000LL

static const struct cs_le_params P = {
    .namespace_ = "kube-system", .name = "kube-scheduler", .identity = "me_1",
    .lease_duration_ms = 15000, .renew_deadline_ms = 10000, .retry_period_ms = 2000,
};

static char *lease(const char *rv, const char *holder, int dur, const char *renew, int trans)
{
    char *s = NULL;
    json_t *spec = json_object();
    if (holder) {
        json_object_set_new(spec, "holderIdentity", json_string(holder));
    }
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(dur));
    json_object_set_new(spec, "acquireTime", json_string("2024-01-01T00:00:00.000000Z"));
    json_object_set_new(spec, "renewTime", json_string(renew));
    json_object_set_new(spec, "leaseTransitions", json_integer(trans));
    json_t *root = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:o}", "apiVersion",
                             "coordination.k8s.io/v1", "kind", "Lease", "metadata", "name",
                             "kube-scheduler", "namespace", "kube-system", "resourceVersion",
                             rv, "spec", spec);
    s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return s;
}

static json_t *body_json(const struct cs_le_decision *d)
{
    assert_non_null(d->body);
    json_t *j = json_loads(d->body, 0, NULL);
    assert_non_null(j);
    return j;
}

static const char *spec_str(json_t *j, const char *k)
{
    return json_string_value(json_object_get(json_object_get(j, "spec"), k));
}

static long long spec_int(json_t *j, const char *k)
{
    return json_integer_value(json_object_get(json_object_get(j, "spec"), k));
}

static void decide(struct cs_le_state *st, long status, const char *body, int64_t now,
                   struct cs_le_decision *d)
{
    cs_le_decide(st, &P, status, body, body ? strlen(body) : 0, now, WALL, d);
}

static void test_absent_lease_is_created(void **state)
{
    (void)state;
    struct cs_le_state st = { 0 };
    struct cs_le_decision d;
    decide(&st, 404, "{\"kind\":\"Status\",\"code\":404}", 100 * S, &d);
    assert_int_equal(d.action, CS_LE_CREATE);
    json_t *j = body_json(&d);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "Lease");
    assert_string_equal(json_string_value(json_object_get(j, "apiVersion")),
                        "coordination.k8s.io/v1");
    json_t *meta = json_object_get(j, "metadata");
    assert_string_equal(json_string_value(json_object_get(meta, "name")), "kube-scheduler");
    assert_string_equal(json_string_value(json_object_get(meta, "namespace")), "kube-system");
    assert_string_equal(spec_str(j, "holderIdentity"), "me_1");
    assert_int_equal(spec_int(j, "leaseDurationSeconds"), 15);
    assert_int_equal(spec_int(j, "leaseTransitions"), 0);
    assert_string_equal(spec_str(j, "renewTime"), "2024-01-02T03:04:05.123456Z");
    assert_string_equal(spec_str(j, "acquireTime"), "2024-01-02T03:04:05.123456Z");
    json_decref(j);

    /* the POST succeeded: we lead */
    const char *resp = "{\"metadata\":{\"resourceVersion\":\"7\"},\"spec\":{\"holderIdentity\":"
                       "\"me_1\",\"leaseDurationSeconds\":15}}";
    assert_int_equal(cs_le_written(&st, &d, resp, strlen(resp), 100 * S), 1);
    assert_true(st.leading);
    cs_le_decision_free(&d);
    cs_le_state_free(&st);
}

static void test_other_holder_waits_until_expired_by_our_clock(void **state)
{
    (void)state;
    struct cs_le_state st = { 0 };
    struct cs_le_decision d;
    /* renewTime is long past: it does not matter, only our observation time does */
    char *l1 = lease("10", "other_2", 15, "2000-01-01T00:00:00.000000Z", 4);
    decide(&st, 200, l1, 100 * S, &d);
    assert_int_equal(d.action, CS_LE_WAIT);
    assert_int_equal(d.holder_changed, 1);
    assert_string_equal(d.new_holder, "other_2");
    cs_le_decision_free(&d);

    decide(&st, 200, l1, 114 * S, &d); /* same content, 14 s later: still valid */
    assert_int_equal(d.action, CS_LE_WAIT);
    assert_int_equal(d.holder_changed, 0);
    cs_le_decision_free(&d);

    /* the holder renewed at 110 s (content changed): validity restarts from 110 s */
    char *l2 = lease("11", "other_2", 15, "2000-01-01T00:00:10.000000Z", 4);
    decide(&st, 200, l2, 110 * S, &d);
    assert_int_equal(d.action, CS_LE_WAIT);
    cs_le_decision_free(&d);
    decide(&st, 200, l2, 124 * S, &d);
    assert_int_equal(d.action, CS_LE_WAIT);
    cs_le_decision_free(&d);

    /* 15 s after the last change: expired, take over with transitions + 1 */
    decide(&st, 200, l2, 125 * S, &d);
    assert_int_equal(d.action, CS_LE_UPDATE);
    json_t *j = body_json(&d);
    assert_string_equal(spec_str(j, "holderIdentity"), "me_1");
    assert_int_equal(spec_int(j, "leaseTransitions"), 5);
    assert_string_equal(spec_str(j, "acquireTime"), "2024-01-02T03:04:05.123456Z");
    /* the PUT carries the resourceVersion we read: optimistic concurrency */
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "metadata"),
                                                          "resourceVersion")), "11");
    json_decref(j);
    cs_le_decision_free(&d);
    free(l1);
    free(l2);
    cs_le_state_free(&st);
}

static void test_released_lease_is_taken_at_once(void **state)
{
    (void)state;
    struct cs_le_state st = { 0 };
    struct cs_le_decision d;
    char *l = lease("3", NULL, 1, "2024-01-01T00:00:00.000000Z", 2);
    decide(&st, 200, l, 5 * S, &d);
    assert_int_equal(d.action, CS_LE_UPDATE);
    json_t *j = body_json(&d);
    assert_int_equal(spec_int(j, "leaseTransitions"), 3);
    json_decref(j);
    cs_le_decision_free(&d);
    free(l);
    cs_le_state_free(&st);
}

static void test_our_lease_is_renewed_keeping_acquire_time(void **state)
{
    (void)state;
    struct cs_le_state st = { 0 };
    struct cs_le_decision d;
    char *l = lease("20", "me_1", 15, "2024-01-01T00:00:01.000000Z", 6);
    decide(&st, 200, l, 50 * S, &d);
    assert_int_equal(d.action, CS_LE_UPDATE);
    json_t *j = body_json(&d);
    assert_string_equal(spec_str(j, "holderIdentity"), "me_1");
    assert_int_equal(spec_int(j, "leaseTransitions"), 6);
    assert_string_equal(spec_str(j, "acquireTime"), "2024-01-01T00:00:00.000000Z");
    assert_string_equal(spec_str(j, "renewTime"), "2024-01-02T03:04:05.123456Z");
    json_decref(j);

    /* written (server answers with RV 21); the next renew is optimistic from that object */
    char *stored = lease("21", "me_1", 15, "2024-01-02T03:04:05.123456Z", 6);
    cs_le_written(&st, &d, stored, strlen(stored), 50 * S);
    cs_le_decision_free(&d);
    assert_int_equal(cs_le_fast_renew(&st, &P, 52 * S, WALL + 2 * S, &d), 1);
    assert_int_equal(d.action, CS_LE_UPDATE);
    j = body_json(&d);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "metadata"),
                                                          "resourceVersion")), "21");
    assert_string_equal(spec_str(j, "renewTime"), "2024-01-02T03:04:07.123456Z");
    assert_string_equal(spec_str(j, "acquireTime"), "2024-01-01T00:00:00.000000Z");
    json_decref(j);
    cs_le_decision_free(&d);
    /* no optimistic renew once our own lease has expired locally */
    assert_int_equal(cs_le_fast_renew(&st, &P, 66 * S, WALL, &d), 0);

    /* release: empty holder, leaseDurationSeconds 1, transitions kept */
    char *rel = cs_le_release_body(&st, WALL);
    assert_non_null(rel);
    json_t *r = json_loads(rel, 0, NULL);
    assert_null(spec_str(r, "holderIdentity"));
    assert_int_equal(spec_int(r, "leaseDurationSeconds"), 1);
    assert_int_equal(spec_int(r, "leaseTransitions"), 6);
    json_decref(r);
    cs_free(rel);
    free(l);
    free(stored);
    cs_le_state_free(&st);
}

static void test_leader_loses_after_renew_deadline_or_takeover(void **state)
{
    (void)state;
    struct cs_le_state st = { 0 };
    struct cs_le_decision d;
    char *mine = lease("30", "me_1", 15, "2024-01-01T00:00:01.000000Z", 1);
    decide(&st, 200, mine, 0, &d);
    assert_int_equal(d.action, CS_LE_UPDATE);
    cs_le_written(&st, &d, mine, strlen(mine), 0);
    cs_le_decision_free(&d);

    /* renew attempts failing (server errors) for retryPeriod + renewDeadline = 12 s */
    assert_int_equal(cs_le_deadline_passed(&st, &P, 11 * S), 0);
    decide(&st, 500, "{}", 11 * S, &d);
    assert_int_equal(d.action, CS_LE_RETRY);
    cs_le_decision_free(&d);
    assert_int_equal(cs_le_deadline_passed(&st, &P, 12 * S), 1);
    decide(&st, 500, "{}", 12 * S, &d);
    assert_int_equal(d.action, CS_LE_LOSE);
    cs_le_decision_free(&d);

    /* a leader that sees a valid lease naming someone else stops at once */
    struct cs_le_state st2 = { 0 };
    decide(&st2, 200, mine, 0, &d);
    cs_le_written(&st2, &d, mine, strlen(mine), 0);
    cs_le_decision_free(&d);
    char *theirs = lease("31", "other_2", 15, "2024-01-01T00:00:09.000000Z", 2);
    decide(&st2, 200, theirs, 3 * S, &d);
    assert_int_equal(d.action, CS_LE_LOSE);
    assert_int_equal(d.holder_changed, 1);
    cs_le_decision_free(&d);

    /* unreadable lease: retry */
    struct cs_le_state st3 = { 0 };
    decide(&st3, 200, "not json", 0, &d);
    assert_int_equal(d.action, CS_LE_RETRY);
    decide(&st3, 0, NULL, 0, &d);
    assert_int_equal(d.action, CS_LE_RETRY);
    free(mine);
    free(theirs);
    cs_le_state_free(&st);
    cs_le_state_free(&st2);
    cs_le_state_free(&st3);
}

static void test_identity_and_path(void **state)
{
    (void)state;
    char a[300], b[300], small[8];
    assert_int_equal(cs_le_default_identity(a, sizeof a), 0);
    assert_int_equal(cs_le_default_identity(b, sizeof b), 0);
    assert_string_not_equal(a, b);
    const char *u = strrchr(a, '_');
    assert_non_null(u);
    assert_int_equal(strlen(u + 1), 36);
    assert_int_equal(u[15], '4'); /* uuid v4 */
    assert_int_equal(cs_le_default_identity(small, sizeof small), -1);
    struct cs_buf p;
    cs_buf_init(&p);
    cs_le_path(&p, &P, 1);
    assert_string_equal(p.data,
                        "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler");
    cs_buf_reset(&p);
    cs_le_path(&p, &P, 0);
    assert_string_equal(p.data, "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases");
    cs_buf_free(&p);
}

/* ---- runner against an in-memory lease store ------------------------------------------- */

struct store {
    pthread_mutex_t mu;
    json_t *lease;              /* NULL = absent */
    long rv;
    int puts, posts, conflicts;
};

struct conn {
    struct store *st;
    atomic_int partitioned;     /* 1: every request fails like a network error */
};

static int store_request(void *arg, const char *method, const char *path, const char *body,
                         long timeout_ms, long *status, struct cs_buf *resp)
{
    (void)timeout_ms;
    struct conn *c = arg;
    if (atomic_load(&c->partitioned)) {
        return -1;
    }
    struct store *s = c->st;
    int named = strstr(path, "/leases/kube-scheduler") != NULL;
    pthread_mutex_lock(&s->mu);
    if (strcmp(method, "GET") == 0 && named) {
        if (s->lease == NULL) {
            *status = 404;
            cs_buf_puts(resp, "{\"kind\":\"Status\",\"reason\":\"NotFound\",\"code\":404}");
        } else {
            *status = 200;
            char *t = json_dumps(s->lease, JSON_COMPACT);
            cs_buf_puts(resp, t);
            free(t);
        }
    } else if ((strcmp(method, "POST") == 0 && !named) || (strcmp(method, "PUT") == 0 && named)) {
        json_t *obj = json_loads(body, 0, NULL);
        assert_non_null(obj);
        json_t *meta = json_object_get(obj, "metadata");
        const char *want = json_string_value(json_object_get(meta, "resourceVersion"));
        char cur[32];
        snprintf(cur, sizeof cur, "%ld", s->rv);
        int post = method[1] == 'O';
        if (post ? s->lease != NULL : (s->lease == NULL || want == NULL || strcmp(want, cur))) {
            *status = 409;
            s->conflicts++;
            cs_buf_puts(resp, "{\"kind\":\"Status\",\"reason\":\"Conflict\",\"code\":409}");
            json_decref(obj);
        } else {
            s->rv++;
            snprintf(cur, sizeof cur, "%ld", s->rv);
            json_object_set_new(meta, "resourceVersion", json_string(cur));
            json_decref(s->lease);
            s->lease = obj;
            *status = post ? 201 : 200;
            post ? s->posts++ : s->puts++;
            char *t = json_dumps(obj, JSON_COMPACT);
            cs_buf_puts(resp, t);
            free(t);
        }
    } else {
        *status = 405;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

struct events {
    atomic_int started, stopped_lost, stopped_cancel, new_leader;
    _Atomic int64_t started_ns, stopped_ns;
};

static void on_started(void *arg)
{
    struct events *e = arg;
    atomic_store(&e->started_ns, cs_mono_ns());
    atomic_fetch_add(&e->started, 1);
}

static void on_stopped(void *arg, int lost)
{
    struct events *e = arg;
    atomic_store(&e->stopped_ns, cs_mono_ns());
    atomic_fetch_add(lost ? &e->stopped_lost : &e->stopped_cancel, 1);
}

static void on_new_leader(void *arg, const char *id)
{
    (void)id;
    atomic_fetch_add(&((struct events *)arg)->new_leader, 1);
}

static struct cs_le *mk(const char *id, struct conn *c, struct events *ev, int release)
{
    struct cs_le_config cfg = {
        .lease = { .namespace_ = "kube-system", .name = "kube-scheduler", .identity = id,
                   .lease_duration_ms = 1000, .renew_deadline_ms = 600,
                   .retry_period_ms = 100 },
        .request = store_request,
        .request_arg = c,
        .cb = { on_started, on_stopped, on_new_leader, ev },
        .release_on_cancel = release,
    };
    char err[200];
    struct cs_le *le = cs_le_new(&cfg, err, sizeof err);
    assert_non_null(le);
    return le;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Wait up to ms for exactly one of a, b to lead; returns it (or NULL). */
static struct cs_le *wait_one_leader(struct cs_le *a, struct cs_le *b, long ms)
{
    for (long t = 0; t < ms; t += 20) {
        int la = a ? cs_le_is_leader(a) : 0, lb = b ? cs_le_is_leader(b) : 0;
        assert_false(la && lb);
        if (la || lb) {
            return la ? a : b;
        }
        sleep_ms(20);
    }
    return NULL;
}

static void run_two_electors(int release)
{
    struct store s = { .rv = 0 };
    pthread_mutex_init(&s.mu, NULL);
    struct conn ca = { .st = &s }, cb = { .st = &s };
    atomic_init(&ca.partitioned, 0);
    atomic_init(&cb.partitioned, 0);
    struct events ea = { 0 }, eb = { 0 };
    struct cs_le *a = mk("host-a_1", &ca, &ea, release);
    struct cs_le *b = mk("host-b_2", &cb, &eb, release);
    assert_int_equal(cs_le_start(a), 0);
    assert_int_equal(cs_le_start(b), 0);

    struct cs_le *leader = wait_one_leader(a, b, 3000);
    assert_non_null(leader);
    /* stays exactly one leader over several renew periods */
    for (int i = 0; i < 75; i++) {
        assert_ptr_equal(wait_one_leader(a, b, 100), leader);
        sleep_ms(20);
    }
    struct cs_le *other = leader == a ? b : a;
    struct events *el = leader == a ? &ea : &eb, *eo = leader == a ? &eb : &ea;
    char who[CS_LE_HOLDER_MAX];
    cs_le_leader(other, who, sizeof who);
    assert_string_equal(who, leader == a ? "host-a_1" : "host-b_2");
    assert_int_equal(atomic_load(&el->started), 1);
    assert_int_equal(atomic_load(&eo->started), 0);
    struct cs_buf why;
    cs_buf_init(&why);
    assert_int_equal(cs_le_check(leader, &why), 0);
    cs_buf_free(&why);

    int64_t t0 = cs_mono_ns();
    cs_le_stop(leader);
    assert_int_equal(atomic_load(&el->stopped_cancel), 1);
    assert_false(cs_le_is_leader(leader));
    assert_non_null(wait_one_leader(NULL, other, 4000));
    int64_t took_ms = (cs_mono_ns() - t0) / 1000000;
    if (release) {
        assert_true(took_ms < 600); /* released: no need to wait out the lease */
    } else {
        /* must wait for the 1 s lease to expire by its own clock, counted from its last
         * observation of a renewal (at most one renew + one poll period before the stop) */
        assert_true(took_ms >= 600);
    }
    assert_int_equal(atomic_load(&eo->started), 1);
    pthread_mutex_lock(&s.mu);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s.lease, "spec"),
                                                        "leaseTransitions")),
                     1); /* a release keeps the count; the next holder adds one */
    assert_int_equal(s.posts, 1);
    pthread_mutex_unlock(&s.mu);
    cs_le_free(a);
    cs_le_free(b);
    json_decref(s.lease);
    pthread_mutex_destroy(&s.mu);
}

static void test_two_electors_one_leads_then_other_takes_over(void **state)
{
    (void)state;
    run_two_electors(0);
}

static void test_release_on_cancel_hands_over_quickly(void **state)
{
    (void)state;
    run_two_electors(1);
}

static void test_partitioned_leader_loses_and_is_replaced(void **state)
{
    (void)state;
    struct store s = { .rv = 0 };
    pthread_mutex_init(&s.mu, NULL);
    struct conn ca = { .st = &s }, cb = { .st = &s };
    atomic_init(&ca.partitioned, 0);
    atomic_init(&cb.partitioned, 0);
    struct events ea = { 0 }, eb = { 0 };
    struct cs_le *a = mk("host-a_1", &ca, &ea, 0);
    assert_int_equal(cs_le_start(a), 0);
    assert_ptr_equal(wait_one_leader(a, NULL, 2000), a);
    struct cs_le *b = mk("host-b_2", &cb, &eb, 0);
    assert_int_equal(cs_le_start(b), 0);
    sleep_ms(300);
    assert_true(cs_le_is_leader(a));
    assert_false(cs_le_is_leader(b));

    atomic_store(&ca.partitioned, 1);
    /* a gives up after retryPeriod + renewDeadline (0.7 s), before b may take over (1 s) */
    for (int i = 0; i < 200 && !cs_le_finished(a); i++) {
        sleep_ms(10);
    }
    assert_true(cs_le_finished(a));
    assert_int_equal(atomic_load(&ea.stopped_lost), 1);
    assert_false(cs_le_is_leader(a));
    assert_ptr_equal(wait_one_leader(NULL, b, 3000), b);
    /* never two leaders: a stopped before b started */
    assert_true(atomic_load(&ea.stopped_ns) < atomic_load(&eb.started_ns));
    cs_le_free(a); /* join after the thread already ended */
    assert_int_equal(atomic_load(&ea.stopped_cancel), 0);
    cs_le_free(b);
    assert_int_equal(atomic_load(&eb.stopped_cancel), 1);
    json_decref(s.lease);
    pthread_mutex_destroy(&s.mu);
}

static void test_config_validation(void **state)
{
    (void)state;
    char err[200];
    struct cs_le_config cfg = {
        .lease = { .namespace_ = "kube-system", .name = "kube-scheduler", .identity = "x",
                   .lease_duration_ms = 10000, .renew_deadline_ms = 10000 },
        .request = store_request,
    };
    assert_null(cs_le_new(&cfg, err, sizeof err)); /* lease must exceed renew deadline */
    assert_non_null(strstr(err, "renewDeadline"));
    cfg.lease.lease_duration_ms = 15000;
    cfg.lease.retry_period_ms = 9000;              /* 10 s <= 1.2 * 9 s */
    assert_null(cs_le_new(&cfg, err, sizeof err));
    cfg.lease.retry_period_ms = 0;
    cfg.lease.identity = "";
    assert_null(cs_le_new(&cfg, err, sizeof err));
    cfg.lease.identity = "x";
    struct cs_le *le = cs_le_new(&cfg, err, sizeof err); /* defaults fill the rest */
    assert_non_null(le);
    assert_false(cs_le_is_leader(le));
    cs_le_free(le);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_absent_lease_is_created),
        cmocka_unit_test(test_other_holder_waits_until_expired_by_our_clock),
        cmocka_unit_test(test_released_lease_is_taken_at_once),
        cmocka_unit_test(test_our_lease_is_renewed_keeping_acquire_time),
        cmocka_unit_test(test_leader_loses_after_renew_deadline_or_takeover),
        cmocka_unit_test(test_identity_and_path),
        cmocka_unit_test(test_config_validation),
        cmocka_unit_test(test_two_electors_one_leads_then_other_takes_over),
        cmocka_unit_test(test_release_on_cancel_hands_over_quickly),
        cmocka_unit_test(test_partitioned_leader_loses_and_is_replaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
