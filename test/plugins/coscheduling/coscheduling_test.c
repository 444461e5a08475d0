/*
 * Specification of Coscheduling (plugins/coscheduling): how pods declare gangs, and the group
 * hooks the session calls.
 *
 *   - koordinator annotations win over ACK labels, which win over PodGroup references; a bad
 *     minimum or name keeps the gang (so the pod still waits with it) and says why;
 *   - koordinator gang groups become one unit keyed by the sorted member list;
 *   - group_valid refuses inconsistent members (minimum, priority), gangs short of members,
 *     and PodGroup-backed gangs whose PodGroup does not exist;
 *   - group_ready counts members placed now plus members bound, per match-policy, and
 *     once-satisfied gangs stay satisfied.
 */
#include "test/plugins/plugintest.h"

#include <stdio.h>

#include "plugins/coscheduling/decl.h"

static struct cs_pod *gpod(struct pt_env *e, const char *name, const char *labels,
                           const char *annotations, int prio)
{
    char buf[2048];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','namespace':'ns1','uid':'u-%s','labels':{%s},"
             "'annotations':{%s}},'spec':{'priority':%d,'containers':[{'name':'c','image':'i'}]}}",
             name, name, labels ? labels : "", annotations ? annotations : "", prio);
    return pt_pod(e, buf);
}

#define ACK_LABELS(n, m) \
    "'pod-group.scheduling.sigs.k8s.io/name':'" n "','pod-group.scheduling.sigs.k8s.io/min-available':'" m "'"
#define KOORD(n, m) \
    "'gang.scheduling.koordinator.sh/name':'" n "','gang.scheduling.koordinator.sh/min-available':'" m "'"

static void test_decl_forms_and_precedence(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_coscheduling, NULL);
    struct cs_gang_decl d;

    struct cs_pod *p = gpod(&e, "a", ACK_LABELS("tf", "5"), NULL, 0);
    assert_true(cs_gang_decl_parse(p, &d));
    assert_int_equal(d.kind, CS_GANG_LABELS);
    assert_string_equal(d.name, "tf");
    assert_int_equal(d.min, 5);
    assert_string_equal(d.error, "");
    cs_pod_unref(p);

    p = gpod(&e, "b", ACK_LABELS("tf", "5"), KOORD("kg", "3"), 0);   /* annotations win */
    assert_true(cs_gang_decl_parse(p, &d));
    assert_int_equal(d.kind, CS_GANG_KOORD);
    assert_string_equal(d.name, "kg");
    assert_int_equal(d.min, 3);
    cs_pod_unref(p);

    p = gpod(&e, "c", "'scheduling.x-k8s.io/pod-group':'pg1'", NULL, 0);
    assert_true(cs_gang_decl_parse(p, &d));
    assert_int_equal(d.kind, CS_GANG_PODGROUP);
    assert_string_equal(d.api_group, CS_GANG_API_XK8S);
    assert_int_equal(d.min, 0);
    cs_pod_unref(p);

    p = gpod(&e, "d", "'pod-group.scheduling.sigs.k8s.io':'pg2'", NULL, 0);
    assert_true(cs_gang_decl_parse(p, &d));
    assert_int_equal(d.kind, CS_GANG_PODGROUP);
    assert_string_equal(d.api_group, CS_GANG_API_SIGS);
    cs_pod_unref(p);

    p = gpod(&e, "e", "'app':'x'", NULL, 0);
    assert_false(cs_gang_decl_parse(p, &d));
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_decl_errors_keep_the_gang(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_coscheduling, NULL);
    struct cs_gang_decl d;
    const char *bad[] = { "0", "-2", "abc", "3x", "99999999999" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char labels[300];
        snprintf(labels, sizeof(labels),
                 "'pod-group.scheduling.sigs.k8s.io/name':'tf',"
                 "'pod-group.scheduling.sigs.k8s.io/min-available':'%s'",
                 bad[i]);
        struct cs_pod *p = gpod(&e, "a", labels, NULL, 0);
        assert_true(cs_gang_decl_parse(p, &d));
        assert_string_equal(d.name, "tf");
        assert_non_null(strstr(d.error, "is not a positive integer"));
        assert_non_null(strstr(d.error, bad[i]));
        cs_pod_unref(p);
    }
    struct cs_pod *p = gpod(&e, "b", NULL,
                            KOORD("kg", "2") ",'gang.scheduling.koordinator.sh/mode':'Loose'", 0);
    assert_true(cs_gang_decl_parse(p, &d));
    assert_non_null(strstr(d.error, "Strict or NonStrict"));
    cs_pod_unref(p);
    p = gpod(&e, "c", NULL, KOORD("kg", "2") ",'gang.scheduling.koordinator.sh/match-policy':'x'",
             0);
    assert_true(cs_gang_decl_parse(p, &d));
    assert_non_null(strstr(d.error, "match-policy"));
    cs_pod_unref(p);
    p = gpod(&e, "d", NULL,
             KOORD("kg", "2") ",'gang.scheduling.koordinator.sh/match-policy':'only-waiting',"
                              "'gang.scheduling.koordinator.sh/waiting-time':'90s'",
             0);
    assert_true(cs_gang_decl_parse(p, &d));
    assert_string_equal(d.error, "");
    assert_int_equal(d.match, CS_GANG_ONLY_WAITING);
    assert_int_equal(d.wait_ns, 90000000000LL);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

static void test_gang_groups_canonical(void **state)
{
    (void)state;
    char out[256], err[200];
    assert_int_equal(cs_gang_groups_canonical("[\"nsB/g2\",\"g1\",\"nsB/g2\"]", "nsA", out,
                                              sizeof(out), err, sizeof(err)),
                     2);
    assert_string_equal(out, "nsA/g1,nsB/g2");
    assert_int_equal(cs_gang_groups_canonical("{\"a\":1}", "ns", out, sizeof(out), err,
                                              sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "JSON list"));
    assert_int_equal(cs_gang_groups_canonical("[1]", "ns", out, sizeof(out), err, sizeof(err)),
                     -1);
}

/* pod_group: the gang key and minimum; gang groups share one key whatever the namespace. */
static void test_pod_group_keys(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_coscheduling, NULL);
    int32_t min = -1;
    struct cs_pod *p = gpod(&e, "a", ACK_LABELS("tf", "5"), NULL, 0);
    assert_string_equal(cs_plugin_coscheduling.pod_group(e.priv, p, &min), "ns1/tf");
    assert_int_equal(min, 5);
    cs_pod_unref(p);
    p = gpod(&e, "b", NULL,
             KOORD("g1", "2") ",'gang.scheduling.koordinator.sh/groups':"
                              "'[\\\"nsB/g2\\\",\\\"ns1/g1\\\"]'",
             0);
    const char *k = cs_plugin_coscheduling.pod_group(e.priv, p, &min);
    assert_string_equal(k, "gang-group:ns1/g1,nsB/g2");
    cs_pod_unref(p);
    /* A PodGroup reference without the object: no minimum yet (group_valid says why). */
    p = gpod(&e, "c", "'scheduling.x-k8s.io/pod-group':'pg1'", NULL, 0);
    assert_string_equal(cs_plugin_coscheduling.pod_group(e.priv, p, &min), "ns1/pg1");
    assert_int_equal(min, 0);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

/* ---- group hooks -------------------------------------------------------------------------- */

struct unitv {
    struct cs_pod *pods[8];
    bool placed[8];
    uint32_t n;
    struct cs_group_view v;
};

static void unit_view(struct unitv *u, const char *name, int32_t min, bool with_placed)
{
    memset(&u->v, 0, sizeof(u->v));
    u->v.name = name;
    u->v.min_member = min;
    u->v.members = (const struct cs_pod *const *)u->pods;
    u->v.n_pending = u->n;
    u->v.placed = with_placed ? u->placed : NULL;
    uint32_t k = 0;
    for (uint32_t i = 0; with_placed && i < u->n; i++) {
        k += u->placed[i];
    }
    u->v.n_placed = k;
}

static void unit_free(struct unitv *u)
{
    for (uint32_t i = 0; i < u->n; i++) {
        cs_pod_unref(u->pods[i]);
    }
}

static void test_group_valid_reasons(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_coscheduling, NULL);
    const struct cs_plugin *pl = &cs_plugin_coscheduling;
    struct cs_status st;

    /* 2 of 3 members exist: waiting for members. */
    struct unitv u = { .n = 2 };
    u.pods[0] = gpod(&e, "m0", ACK_LABELS("g", "3"), NULL, 0);
    u.pods[1] = gpod(&e, "m1", ACK_LABELS("g", "3"), NULL, 0);
    unit_view(&u, "ns1/g", 3, false);
    memset(&st, 0, sizeof(st));
    assert_false(pl->group_valid(e.priv, &u.v, &st));
    assert_non_null(strstr(st.reasons[0], "waiting for members"));
    unit_free(&u);

    /* Members disagree on the minimum. */
    u.n = 3;
    u.pods[0] = gpod(&e, "m0", ACK_LABELS("g", "3"), NULL, 0);
    u.pods[1] = gpod(&e, "m1", ACK_LABELS("g", "3"), NULL, 0);
    u.pods[2] = gpod(&e, "m2", ACK_LABELS("g", "2"), NULL, 0);
    unit_view(&u, "ns1/g", 3, false);
    memset(&st, 0, sizeof(st));
    assert_false(pl->group_valid(e.priv, &u.v, &st));
    assert_non_null(strstr(st.reasons[0], "disagree on the minimum"));
    unit_free(&u);

    /* ... or on priority. */
    u.pods[0] = gpod(&e, "m0", ACK_LABELS("g", "3"), NULL, 0);
    u.pods[1] = gpod(&e, "m1", ACK_LABELS("g", "3"), NULL, 5);
    u.pods[2] = gpod(&e, "m2", ACK_LABELS("g", "3"), NULL, 0);
    unit_view(&u, "ns1/g", 3, false);
    memset(&st, 0, sizeof(st));
    assert_false(pl->group_valid(e.priv, &u.v, &st));
    assert_non_null(strstr(st.reasons[0], "disagree on priority"));
    unit_free(&u);

    /* A bad declaration is named. */
    u.pods[0] = gpod(&e, "m0", ACK_LABELS("g", "3"), NULL, 0);
    u.pods[1] = gpod(&e, "m1", ACK_LABELS("g", "three"), NULL, 0);
    u.pods[2] = gpod(&e, "m2", ACK_LABELS("g", "3"), NULL, 0);
    unit_view(&u, "ns1/g", 3, false);
    memset(&st, 0, sizeof(st));
    assert_false(pl->group_valid(e.priv, &u.v, &st));
    assert_non_null(strstr(st.reasons[0], "ns1/m1"));
    assert_non_null(strstr(st.reasons[0], "\"three\" is not a positive integer"));
    unit_free(&u);

    /* A PodGroup reference whose object does not exist. */
    u.n = 1;
    u.pods[0] = gpod(&e, "m0", "'scheduling.x-k8s.io/pod-group':'pg1'", NULL, 0);
    unit_view(&u, "ns1/pg1", 0, false);
    memset(&st, 0, sizeof(st));
    assert_false(pl->group_valid(e.priv, &u.v, &st));
    assert_non_null(strstr(st.reasons[0], "PodGroup ns1/pg1"));
    assert_non_null(strstr(st.reasons[0], "does not exist yet"));
    unit_free(&u);

    /* Three consistent members of a gang of 3: valid. */
    u.n = 3;
    for (int i = 0; i < 3; i++) {
        char n[16];
        snprintf(n, sizeof(n), "m%d", i);
        u.pods[i] = gpod(&e, n, ACK_LABELS("g", "3"), NULL, 0);
    }
    unit_view(&u, "ns1/g", 3, false);
    memset(&st, 0, sizeof(st));
    assert_true(pl->group_valid(e.priv, &u.v, &st));
    unit_free(&u);
    pt_env_destroy(&e);
}

static struct cs_pod *bound(struct pt_env *e, const char *name, const char *labels)
{
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'%s','namespace':'ns1','uid':'u-%s','labels':{%s}},"
             "'spec':{'nodeName':'n1','containers':[{'name':'c','image':'i'}]}}",
             name, name, labels);
    return pt_pod(e, buf);
}

static void test_group_ready_counts_bound_members(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_coscheduling, NULL);
    const struct cs_plugin *pl = &cs_plugin_coscheduling;

    /* Gang of 3 (waiting-and-running): 1 placed now is not enough ... */
    struct unitv u = { .n = 1 };
    u.pods[0] = gpod(&e, "m2", ACK_LABELS("g", "3")
                     ",'pod-group.scheduling.sigs.k8s.io/match-policy':'waiting-and-running'",
                     NULL, 0);
    u.placed[0] = true;
    unit_view(&u, "ns1/g", 3, true);
    assert_false(pl->group_ready(e.priv, &u.v));
    /* ... until two members are bound (the ledger hears of them through on_pod). */
    struct cs_pod *b0 = bound(&e, "m0", ACK_LABELS("g", "3"));
    struct cs_pod *b1 = bound(&e, "m1", ACK_LABELS("g", "3"));
    pl->on_pod(e.priv, NULL, b0);
    assert_false(pl->group_ready(e.priv, &u.v));
    pl->on_pod(e.priv, NULL, b1);
    assert_true(pl->group_ready(e.priv, &u.v));
    /* A member going away drops the count again (waiting-and-running is checked every time). */
    pl->on_pod(e.priv, b1, NULL);
    assert_false(pl->group_ready(e.priv, &u.v));
    unit_free(&u);
    cs_pod_unref(b0);
    cs_pod_unref(b1);
    pt_env_destroy(&e);
}

static void test_group_ready_once_satisfied_and_only_waiting(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_coscheduling, NULL);
    const struct cs_plugin *pl = &cs_plugin_coscheduling;

    /* once-satisfied (default): 2 bound of min 2 satisfies the gang; after one goes away a
     * replacement member binds alone. */
    struct cs_pod *b0 = bound(&e, "m0", ACK_LABELS("g", "2"));
    struct cs_pod *b1 = bound(&e, "m1", ACK_LABELS("g", "2"));
    pl->on_pod(e.priv, NULL, b0);
    pl->on_pod(e.priv, NULL, b1);
    pl->on_pod(e.priv, b1, NULL);
    struct unitv u = { .n = 1 };
    u.pods[0] = gpod(&e, "m3", ACK_LABELS("g", "2"), NULL, 0);
    u.placed[0] = true;
    unit_view(&u, "ns1/g", 2, true);
    assert_true(pl->group_ready(e.priv, &u.v));
    unit_free(&u);

    /* only-waiting: bound members do not count; 2 of min 2 must be placed together. */
    struct unitv w = { .n = 2 };
    const char *ow = KOORD("ow", "2") ",'gang.scheduling.koordinator.sh/match-policy':'only-waiting'";
    w.pods[0] = gpod(&e, "w0", NULL, ow, 0);
    w.pods[1] = gpod(&e, "w1", NULL, ow, 0);
    w.placed[0] = true;
    w.placed[1] = false;
    unit_view(&w, "ns1/ow", 2, true);
    assert_false(pl->group_ready(e.priv, &w.v));
    w.placed[1] = true;
    unit_view(&w, "ns1/ow", 2, true);
    assert_true(pl->group_ready(e.priv, &w.v));
    unit_free(&w);
    cs_pod_unref(b0);
    cs_pod_unref(b1);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decl_forms_and_precedence),
        cmocka_unit_test(test_decl_errors_keep_the_gang),
        cmocka_unit_test(test_gang_groups_canonical),
        cmocka_unit_test(test_pod_group_keys),
        cmocka_unit_test(test_group_valid_reasons),
        cmocka_unit_test(test_group_ready_counts_bound_members),
        cmocka_unit_test(test_group_ready_once_satisfied_and_only_waiting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
