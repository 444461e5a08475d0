/*
 * Specification of the elastic quota model (pkg/quota):
 *
 *   - a tree is valid only as a whole: min <= max, children's mins within the parent's min,
 *     namespaces on leaves and in one leaf only, unique names, valid quantities; the error
 *     names the rule and the nodes;
 *   - a resource absent from max is unlimited, absent from min is 0;
 *   - admission: used + request <= max at the leaf and every ancestor; a pod that would make
 *     its quota borrow must leave its siblings what they are guaranteed and asking for; a pod
 *     within its min is never refused by that rule;
 *   - reclaim: a pod within its min takes back from borrowers, lowest priority first, then the
 *     borrower furthest above its min, then the newest pod; never below a victim's min; never
 *     more than needed; a pod at or above its min may take only lower-priority pods of its
 *     own quota;
 *   - scenario S4 (features.md) plays out at the model level as (4), (4,4), (3,3,2),
 *     (2,2,2,2), and the final state is stable;
 *   - flat ElasticQuotas form a one-level tree whose root is the sum of the mins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/decode.h"
#include "pkg/quota/quota.h"
#include "pkg/util/alloc.h"

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

static int64_t seq = 1;

/* A pod in a namespace asking cpu (cores), memory and gpus, created at time `seq`. */
static struct cs_pod *pod(const char *ns, const char *name, int cpu, const char *mem, int gpu,
                          int prio)
{
    char buf[1024];
    char gpus[64] = "";
    if (gpu) {
        snprintf(gpus, sizeof(gpus), ",\"nvidia.com/gpu\":\"%d\"", gpu);
    }
    int64_t t = seq++;
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"uid\":\"u-%s-%s\","
             "\"creationTimestamp\":\"2026-01-01T00:%02d:%02dZ\"},"
             "\"spec\":{\"priority\":%d,\"containers\":[{\"name\":\"c\",\"image\":\"i\","
             "\"resources\":{\"requests\":{\"cpu\":\"%d\",\"memory\":\"%s\"%s},"
             "\"limits\":{%s}}}]}}",
             name, ns, ns, name, (int)(t / 60) % 60, (int)(t % 60), prio, cpu, mem ? mem : "0",
             gpus, gpu ? gpus + 1 : "");
    struct cs_pod *p = NULL;
    char err[256];
    int rc = cs_pod_decode_text(&api, buf, strlen(buf), &p, err, sizeof(err));
    if (rc != 0) {
        print_error("%s\n%s\n", err, buf);
    }
    assert_int_equal(rc, 0);
    return p;
}

#define S4_TREE                                                                               \
    "{'metadata':{'name':'eqt','namespace':'kube-system'},'spec':{'root':{'name':'root',"     \
    "'min':{'cpu':40},'max':{'cpu':40},'children':["                                         \
    "{'name':'root.a','min':{'cpu':20},'max':{'cpu':40},'children':["                        \
    "{'name':'root.a.1','namespaces':['namespace1'],'min':{'cpu':10},'max':{'cpu':20}},"      \
    "{'name':'root.a.2','namespaces':['namespace2'],'min':{'cpu':10},'max':{'cpu':20}}]},"    \
    "{'name':'root.b','min':{'cpu':20},'max':{'cpu':40},'children':["                        \
    "{'name':'root.b.1','namespaces':['namespace3'],'min':{'cpu':10},'max':{'cpu':20}},"      \
    "{'name':'root.b.2','namespaces':['namespace4'],'min':{'cpu':10},'max':{'cpu':20}}]}]}}}"

static struct cs_quota_tree *parse_ok(const char *src)
{
    json_t *j = jload(src);
    struct cs_quota_tree *t = NULL;
    char err[512] = "";
    int rc = cs_quota_tree_parse(j, api.resources, &t, err, sizeof(err));
    if (rc != 0) {
        print_error("parse: %s\n", err);
    }
    assert_int_equal(rc, 0);
    json_decref(j);
    return t;
}

static void parse_fails(const char *src, const char *want1, const char *want2)
{
    json_t *j = jload(src);
    struct cs_quota_tree *t = NULL;
    char err[512] = "";
    assert_int_equal(cs_quota_tree_parse(j, api.resources, &t, err, sizeof(err)), -1);
    assert_null(t);
    if (strstr(err, want1) == NULL || (want2 && strstr(err, want2) == NULL)) {
        print_error("error \"%s\" lacks \"%s\" / \"%s\"\n", err, want1, want2 ? want2 : "");
        fail();
    }
    json_decref(j);
}

static void test_tree_parse_s4(void **state)
{
    (void)state;
    struct cs_quota_tree *t = parse_ok(S4_TREE);
    assert_int_equal(t->n, 7);
    assert_int_equal(t->n_dims, 1);
    assert_string_equal(t->dim[0], "cpu");
    assert_string_equal(t->nodes[0].name, "root");
    assert_int_equal(t->nodes[0].min[0], 40000);
    int32_t a1 = cs_quota_tree_find(t, "root.a.1");
    assert_true(a1 > 0);
    assert_int_equal(t->nodes[a1].max[0], 20000);
    assert_int_equal(t->nodes[t->nodes[a1].parent].depth, 1);
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, t);
    assert_int_equal(cs_quota_leaf_of(&m, "namespace1"), a1);
    assert_int_equal(cs_quota_leaf_of(&m, "other"), -1);
    cs_quota_model_destroy(&m);
}

static void test_tree_validation_rules(void **state)
{
    (void)state;
    parse_fails("{'spec':{'root':{'name':'root','min':{'cpu':10},'max':{'cpu':10},'children':["
                "{'name':'x','namespaces':['n'],'min':{'cpu':30},'max':{'cpu':20}}]}}}",
                "min<=max", "quota x min cpu 30 > max 20");
    parse_fails("{'spec':{'root':{'name':'root','min':{'cpu':20},'max':{'cpu':20},'children':["
                "{'name':'a','namespaces':['n1'],'min':{'cpu':15}},"
                "{'name':'b','namespaces':['n2'],'min':{'cpu':10}}]}}}",
                "children-min", "the children of quota root ask min cpu 25 > its min 20 (a 15, b 10)");
    parse_fails("{'spec':{'root':{'name':'root','children':["
                "{'name':'a','namespaces':['n1']},{'name':'b','namespaces':['n2','n1']}]}}}",
                "namespace-in-one-leaf", "namespace n1 is in quota a and quota b");
    parse_fails("{'spec':{'root':{'name':'root','children':[{'name':'a'},{'name':'a'}]}}}",
                "unique-names", "quota name a");
    parse_fails("{'spec':{'root':{'name':'root','min':{'cpu':'ten'}}}}", "quantities",
                "quota root min cpu");
    parse_fails("{'spec':{'root':{'name':'root','max':{'memory':'-1Gi'}}}}", "quantities",
                "negative");
    parse_fails("{'spec':{'root':{'name':'root','namespaces':['n'],'children':[{'name':'a'}]}}}",
                "namespaces-on-leaves", "quota root");
    parse_fails("{'spec':{'root':{'min':{'cpu':1}}}}", "names", "spec.root has no name");
    parse_fails("{'spec':{}}", "root", NULL);
}

static void test_absent_max_unlimited_absent_min_zero(void **state)
{
    (void)state;
    /* memory appears only in max of the root (absent at the leaf: unlimited there); gpu only
     * in the leaf's max (absent from min: 0 guaranteed). */
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'root','min':{'cpu':4},'max':{'memory':'100Gi'},'children':["
        "{'name':'l','namespaces':['ns'],'min':{'cpu':2},'max':{'cpu':4,'nvidia.com/gpu':2}},"
        "{'name':'o','namespaces':['other'],'min':{'cpu':2},'max':{'cpu':4}}]}}}"));
    const struct cs_quota_tree *t = m.tree;
    int32_t l = cs_quota_tree_find(t, "l");
    uint32_t mem = 0, gpu = 0;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        mem = strcmp(t->dim[d], "memory") == 0 ? d : mem;
        gpu = strcmp(t->dim[d], "nvidia.com/gpu") == 0 ? d : gpu;
    }
    assert_int_equal(t->nodes[l].max[mem], CS_QUOTA_UNLIMITED);
    assert_int_equal(t->nodes[l].min[gpu], 0);
    assert_int_equal(t->nodes[0].max[0 == mem ? 1 : 0], CS_QUOTA_UNLIMITED);   /* root cpu */
    char why[256];
    int32_t leaf;
    /* 50Gi at the leaf: unlimited there, 100Gi at the root: fits. */
    struct cs_pod *p1 = pod("ns", "p1", 1, "50Gi", 0, 0);
    assert_int_equal(cs_quota_admit(&m, p1, &leaf, why, sizeof(why)), 0);
    cs_quota_pod_set(&m, p1, CS_QUOTA_ASSIGNED, NULL);
    struct cs_pod *p2 = pod("ns", "p2", 1, "60Gi", 0, 0);
    assert_int_equal(cs_quota_admit(&m, p2, &leaf, why, sizeof(why)), 1);
    assert_string_equal(why, "quota root would exceed max memory: used 50Gi, request 60Gi, "
                             "max 100Gi");
    /* A gpu pod: min 0, so it borrows from the first gpu and is never within min. */
    struct cs_pod *g = pod("ns", "g", 1, NULL, 1, 0);
    assert_int_equal(cs_quota_admit(&m, g, &leaf, why, sizeof(why)), 0);
    assert_false(cs_quota_within_min(&m, g));
    struct cs_pod *g3 = pod("ns", "g3", 1, NULL, 3, 0);
    assert_int_equal(cs_quota_admit(&m, g3, &leaf, why, sizeof(why)), 1);
    assert_non_null(strstr(why, "quota l would exceed max nvidia.com/gpu: used 0, request 3, max 2"));
    /* A pod in no quota is not ours to judge. */
    struct cs_pod *free_pod = pod("elsewhere", "f", 100, "1Ti", 0, 0);
    assert_int_equal(cs_quota_admit(&m, free_pod, &leaf, why, sizeof(why)), 0);
    assert_int_equal(leaf, -1);
    cs_pod_unref(p1);
    cs_pod_unref(p2);
    cs_pod_unref(g);
    cs_pod_unref(g3);
    cs_pod_unref(free_pod);
    cs_quota_model_destroy(&m);
}

/* ---- S4 at the model level ---------------------------------------------------------------- */

struct s4 {
    struct cs_quota_model m;
    struct cs_pod *pods[4][5];
};

static int running(struct s4 *s, int ns)
{
    int n = 0;
    for (int i = 0; i < 5; i++) {
        const struct cs_quota_pod *e = cs_quota_pod_get(&s->m, s->pods[ns][i]->key);
        n += e && e->state == CS_QUOTA_ASSIGNED && !e->evicting;
    }
    return n;
}

/* Schedule what fits, reclaim for what may reclaim (victims go; preemptor binds), until
 * nothing changes: what the scheduler does over a few sessions. Returns victims taken. */
static int settle(struct s4 *s, int upto, char victims_log[][64], int *n_log)
{
    int taken = 0;
    for (bool changed = true; changed;) {
        changed = false;
        for (int ns = 0; ns <= upto; ns++) {
            for (int i = 0; i < 5; i++) {
                struct cs_pod *p = s->pods[ns][i];
                const struct cs_quota_pod *e = cs_quota_pod_get(&s->m, p->key);
                if (e && e->state == CS_QUOTA_ASSIGNED && !e->evicting) {
                    continue;
                }
                char why[256];
                int32_t leaf;
                if (cs_quota_admit(&s->m, p, &leaf, why, sizeof(why)) == 0) {
                    cs_quota_pod_set(&s->m, p, CS_QUOTA_ASSIGNED, NULL);
                    changed = true;
                    continue;
                }
                const struct cs_quota_pod **v = NULL;
                uint32_t nv = 0;
                if (cs_quota_reclaim(&s->m, p, NULL, &v, &nv, why, sizeof(why)) == 0) {
                    for (uint32_t k = 0; k < nv; k++) {
                        snprintf(victims_log[(*n_log)++], 64, "%s", v[k]->key);
                        /* the victim is deleted; its Deployment makes a new pod (pending) */
                        cs_quota_pod_remove(&s->m, v[k]->key, ~0u);
                        taken++;
                    }
                    cs_free(v);
                    assert_int_equal(cs_quota_admit(&s->m, p, &leaf, why, sizeof(why)), 0);
                    cs_quota_pod_set(&s->m, p, CS_QUOTA_ASSIGNED, NULL);
                    changed = true;
                } else {
                    cs_quota_pod_set(&s->m, p, CS_QUOTA_PENDING, NULL);
                }
            }
        }
    }
    return taken;
}

static void test_s4_borrow_and_reclaim(void **state)
{
    (void)state;
    struct s4 s;
    cs_quota_model_init(&s.m, api.resources);
    cs_quota_model_set_tree(&s.m, parse_ok(S4_TREE));
    for (int ns = 0; ns < 4; ns++) {
        for (int i = 0; i < 5; i++) {
            char n[32], name[32];
            snprintf(n, sizeof(n), "namespace%d", ns + 1);
            snprintf(name, sizeof(name), "nginx%d-%d", ns + 1, i);
            s.pods[ns][i] = pod(n, name, 5, NULL, 0, 0);
        }
    }
    char log[32][64];
    int n_log = 0;
    assert_int_equal(settle(&s, 0, log, &n_log), 0);
    assert_int_equal(running(&s, 0), 4);
    char why[256];
    int32_t leaf;
    assert_int_equal(cs_quota_admit(&s.m, s.pods[0][4], &leaf, why, sizeof(why)), 1);
    assert_string_equal(why, "quota root.a.1 would exceed max cpu: used 20, request 5, max 20");

    assert_int_equal(settle(&s, 1, log, &n_log), 0);
    assert_int_equal(running(&s, 0), 4);
    assert_int_equal(running(&s, 1), 4);

    /* nginx3: b.1 below its min reclaims 10 cpu from the borrowers, one pod from each. */
    assert_int_equal(settle(&s, 2, log, &n_log), 2);
    assert_int_equal(running(&s, 0), 3);
    assert_int_equal(running(&s, 1), 3);
    assert_int_equal(running(&s, 2), 2);
    assert_true(strncmp(log[0], "namespace", 9) == 0 && strncmp(log[1], "namespace", 9) == 0);
    assert_true(log[0][9] != log[1][9]);                     /* fairness: one from each */
    assert_true(log[0][9] == '1' || log[0][9] == '2');
    /* newest first: the first victim is the borrowers' newest pod (nginx2-3) */
    assert_string_equal(log[0], "namespace2/nginx2-3");
    assert_string_equal(log[1], "namespace1/nginx1-3");

    assert_int_equal(settle(&s, 3, log, &n_log), 2);
    for (int ns = 0; ns < 4; ns++) {
        assert_int_equal(running(&s, ns), 2);
    }
    /* Stable: every quota is at its min, nobody may reclaim, nothing else is admitted. */
    assert_int_equal(settle(&s, 3, log, &n_log), 0);
    for (int ns = 0; ns < 4; ns++) {
        struct cs_pod *extra = s.pods[ns][4];
        const struct cs_quota_pod **v = NULL;
        uint32_t nv = 0;
        assert_int_equal(cs_quota_reclaim(&s.m, extra, NULL, &v, &nv, why, sizeof(why)), -1);
        assert_non_null(strstr(why, "at or above its min"));
    }
    for (int ns = 0; ns < 4; ns++) {
        for (int i = 0; i < 5; i++) {
            cs_pod_unref(s.pods[ns][i]);
        }
    }
    cs_quota_model_destroy(&s.m);
}

static void test_guarantee_rule_and_pending(void **state)
{
    (void)state;
    /* Two leaves of min 10, max 20 under a root of 20: a's second 10 would borrow what b is
     * guaranteed once b asks for it. */
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'root','min':{'cpu':20},'max':{'cpu':20},'children':["
        "{'name':'a','namespaces':['na'],'min':{'cpu':10},'max':{'cpu':20}},"
        "{'name':'b','namespaces':['nb'],'min':{'cpu':10},'max':{'cpu':20}}]}}}"));
    struct cs_pod *a1 = pod("na", "a1", 10, NULL, 0, 0);
    struct cs_pod *a2 = pod("na", "a2", 5, NULL, 0, 0);
    struct cs_pod *b1 = pod("nb", "b1", 8, NULL, 0, 0);
    char why[256];
    int32_t leaf;
    assert_int_equal(cs_quota_admit(&m, a1, &leaf, why, sizeof(why)), 0);
    cs_quota_pod_set(&m, a1, CS_QUOTA_ASSIGNED, NULL);
    /* b asks for nothing yet: a may borrow. */
    assert_int_equal(cs_quota_admit(&m, a2, &leaf, why, sizeof(why)), 0);
    /* b has a pending pod of 8: a's borrowing would leave only 5 of its 8. */
    cs_quota_pod_set(&m, b1, CS_QUOTA_PENDING, NULL);
    assert_int_equal(cs_quota_admit(&m, a2, &leaf, why, sizeof(why)), 1);
    assert_string_equal(why, "quota a would borrow cpu that quota b is guaranteed: request 5, "
                             "owed to others 8, free in root 10");
    /* b's pod is within b's min: always admitted. */
    assert_int_equal(cs_quota_admit(&m, b1, &leaf, why, sizeof(why)), 0);
    cs_quota_pod_set(&m, b1, CS_QUOTA_ASSIGNED, NULL);
    /* b got its 8 and asks no more: a may borrow the rest (2 of it). */
    struct cs_pod *a3 = pod("na", "a3", 2, NULL, 0, 0);
    assert_int_equal(cs_quota_admit(&m, a3, &leaf, why, sizeof(why)), 0);
    /* Pending pods go away: b's pending deleted. */
    assert_true(cs_quota_pod_remove(&m, b1->key, 1u << CS_QUOTA_ASSIGNED));
    assert_false(cs_quota_pod_remove(&m, b1->key, ~0u));
    int32_t b = cs_quota_tree_find(m.tree, "b");
    assert_int_equal(m.tree->nodes[b].used[0], 0);
    assert_int_equal(m.tree->nodes[b].pending[0], 0);
    assert_int_equal(m.tree->nodes[0].used[0], 10000);
    cs_pod_unref(a1);
    cs_pod_unref(a2);
    cs_pod_unref(a3);
    cs_pod_unref(b1);
    cs_quota_model_destroy(&m);
}

static void test_guarantee_reserved_up_the_tree(void **state)
{
    (void)state;
    /* The live-edit shape: root 45; a (min 25) = a.1 (min 15) + a.2 (min 10); b (min 20).
     * a.1 uses 10 and asks 15 more; a.2 at its min. a.2 borrowing 5 fits a's max (40) but the
     * root has only the 5 that a.1 is owed: refused at the root. a.1's own pod is entitled. */
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'root','min':{'cpu':45},'max':{'cpu':45},'children':["
        "{'name':'a','min':{'cpu':25},'max':{'cpu':40},'children':["
        "{'name':'a.1','namespaces':['n1'],'min':{'cpu':15},'max':{'cpu':20}},"
        "{'name':'a.2','namespaces':['n2'],'min':{'cpu':10},'max':{'cpu':20}}]},"
        "{'name':'b','min':{'cpu':20},'max':{'cpu':40},'children':["
        "{'name':'b.1','namespaces':['n3'],'min':{'cpu':20},'max':{'cpu':20}}]}]}}}"));
    struct cs_pod *u1 = pod("n1", "u1", 10, NULL, 0, 0);
    struct cs_pod *u2 = pod("n2", "u2", 10, NULL, 0, 0);
    struct cs_pod *u3 = pod("n3", "u3", 20, NULL, 0, 0);
    struct cs_pod *w1 = pod("n1", "w1", 5, NULL, 0, 0);
    struct cs_pod *w1b = pod("n1", "w1b", 10, NULL, 0, 0);
    struct cs_pod *x2 = pod("n2", "x2", 5, NULL, 0, 0);
    cs_quota_pod_set(&m, u1, CS_QUOTA_ASSIGNED, NULL);
    cs_quota_pod_set(&m, u2, CS_QUOTA_ASSIGNED, NULL);
    cs_quota_pod_set(&m, u3, CS_QUOTA_ASSIGNED, NULL);
    cs_quota_pod_set(&m, w1, CS_QUOTA_PENDING, NULL);
    cs_quota_pod_set(&m, w1b, CS_QUOTA_PENDING, NULL);
    char why[256];
    int32_t leaf;
    assert_int_equal(cs_quota_admit(&m, x2, &leaf, why, sizeof(why)), 1);
    assert_string_equal(why, "quota a.2 would borrow cpu that quota a.1 is guaranteed: request 5, "
                             "owed to others 5, free in root 5");
    assert_int_equal(cs_quota_admit(&m, w1, &leaf, why, sizeof(why)), 0);
    struct cs_pod *all[] = { u1, u2, u3, w1, w1b, x2 };
    for (size_t i = 0; i < 6; i++) {
        cs_pod_unref(all[i]);
    }
    cs_quota_model_destroy(&m);
}

static bool pdb_protects_x(void *arg, const struct cs_pod *v)
{
    (void)arg;
    return strstr(v->name, "-x") != NULL;
}

static void test_reclaim_order_and_sparing(void **state)
{
    (void)state;
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'root','min':{'cpu':30},'max':{'cpu':30},'children':["
        "{'name':'a','namespaces':['na'],'min':{'cpu':10},'max':{'cpu':30}},"
        "{'name':'b','namespaces':['nb'],'min':{'cpu':10},'max':{'cpu':30}},"
        "{'name':'c','namespaces':['nc'],'min':{'cpu':10},'max':{'cpu':30}}]}}}"));
    /* a uses 20 (borrows 10): a 2-cpu low-priority pod, an 8-cpu pod protected by a PDB, a
     * 10-cpu pod; b uses 10 (at min: untouchable). */
    struct cs_pod *a_low = pod("na", "a-low", 2, NULL, 0, -5);
    struct cs_pod *a_x = pod("na", "a-x", 8, NULL, 0, 0);
    struct cs_pod *a_big = pod("na", "a-big", 10, NULL, 0, 0);
    struct cs_pod *b_1 = pod("nb", "b-1", 10, NULL, 0, -10);
    struct cs_pod *pods[] = { a_low, a_x, a_big, b_1 };
    for (size_t i = 0; i < 4; i++) {
        cs_quota_pod_set(&m, pods[i], CS_QUOTA_ASSIGNED, NULL);
    }
    struct cs_quota_reclaim_opts o = { .violates_pdb = pdb_protects_x };
    /* c wants 9 within its min: root is full (30). Lowest priority first (a-low, 2), then the
     * PDB-safe a-big (10): 12 taken; a-low is then not needed (10 >= 9) and is spared. b's
     * pod has the lowest priority but b is at its min. */
    struct cs_pod *c1 = pod("nc", "c1", 9, NULL, 0, 0);
    const struct cs_quota_pod **v = NULL;
    uint32_t nv = 0;
    char why[256];
    assert_int_equal(cs_quota_reclaim(&m, c1, &o, &v, &nv, why, sizeof(why)), 0);
    assert_int_equal(nv, 1);
    assert_string_equal(v[0]->key, "na/a-big");
    cs_free(v);
    /* No PDB information: a-x (8, newer than a-low, same priority as a-big but newer) ... the
     * 2-cpu pod goes first by priority, then the newest of the rest (a-big), a-low spared. */
    assert_int_equal(cs_quota_reclaim(&m, c1, NULL, &v, &nv, why, sizeof(why)), 0);
    assert_int_equal(nv, 1);
    assert_string_equal(v[0]->key, "na/a-big");
    cs_free(v);
    /* Asking 11: a can give back only 10 without going below its min. */
    struct cs_pod *c2 = pod("nc", "c2", 11, NULL, 0, 0);
    assert_int_equal(cs_quota_reclaim(&m, c2, NULL, &v, &nv, why, sizeof(why)), -1);
    /* 11 > c's min 10: c2 is not within min, so it may take only lower-priority pods of c. */
    assert_non_null(strstr(why, "at or above its min"));
    /* Preemption rules for the engine. */
    assert_true(cs_quota_may_preempt(&m, c1, a_big));      /* a borrows */
    assert_false(cs_quota_may_preempt(&m, c1, b_1));       /* b does not */
    assert_false(cs_quota_may_preempt(&m, c2, a_big));     /* c2 would borrow */
    struct cs_pod *a_hi = pod("na", "a-hi", 1, NULL, 0, 5);
    assert_true(cs_quota_may_preempt(&m, a_hi, a_low));    /* own quota, lower priority */
    assert_false(cs_quota_may_preempt(&m, a_hi, b_1));
    struct cs_pod *nq = pod("none", "nq", 1, NULL, 0, 100);
    assert_false(cs_quota_may_preempt(&m, nq, a_low));     /* no quota: only no-quota pods */
    struct cs_pod *nq2 = pod("none", "nq2", 1, NULL, 0, 0);
    assert_true(cs_quota_may_preempt(&m, nq, nq2));
    /* victims_ok: taking a-big and a-x would put a at 2 < 10. */
    struct cs_pod *two[] = { a_big, a_x };
    assert_false(cs_quota_victims_ok(&m, c1, two, 2));
    assert_true(cs_quota_victims_ok(&m, c1, two, 1));
    for (size_t i = 0; i < 4; i++) {
        cs_pod_unref(pods[i]);
    }
    cs_pod_unref(c1);
    cs_pod_unref(c2);
    cs_pod_unref(a_hi);
    cs_pod_unref(nq);
    cs_pod_unref(nq2);
    cs_quota_model_destroy(&m);
}

static void test_three_levels_memory_and_gpu(void **state)
{
    (void)state;
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'root','min':{'memory':'40Gi','nvidia.com/gpu':8},"
        "'max':{'memory':'40Gi','nvidia.com/gpu':8},'children':["
        "{'name':'root.a','min':{'memory':'20Gi','nvidia.com/gpu':4},'max':{'memory':'40Gi',"
        "'nvidia.com/gpu':8},'children':["
        "{'name':'root.a.x','min':{'memory':'10Gi','nvidia.com/gpu':2},'max':{'memory':'40Gi',"
        "'nvidia.com/gpu':8},'children':["
        "{'name':'root.a.x.1','namespaces':['t1'],'min':{'memory':'10Gi','nvidia.com/gpu':2},"
        "'max':{'memory':'20Gi','nvidia.com/gpu':4}}]}]},"
        "{'name':'root.b','min':{'memory':'20Gi','nvidia.com/gpu':4},'max':{'memory':'40Gi',"
        "'nvidia.com/gpu':8},'children':["
        "{'name':'root.b.1','namespaces':['t2'],'min':{'memory':'10Gi','nvidia.com/gpu':2},"
        "'max':{'memory':'40Gi','nvidia.com/gpu':8}}]}]}}}"));
    /* t2 takes all 8 gpus (borrowing 6 across two levels). */
    struct cs_pod *b[4];
    char why[256];
    int32_t leaf;
    for (int i = 0; i < 4; i++) {
        char n[16];
        snprintf(n, sizeof(n), "b%d", i);
        b[i] = pod("t2", n, 0, "1Gi", 2, 0);
        assert_int_equal(cs_quota_admit(&m, b[i], &leaf, why, sizeof(why)), 0);
        cs_quota_pod_set(&m, b[i], CS_QUOTA_ASSIGNED, NULL);
    }
    struct cs_pod *t1 = pod("t1", "t1", 0, "1Gi", 2, 0);
    assert_int_equal(cs_quota_admit(&m, t1, &leaf, why, sizeof(why)), 1);
    assert_string_equal(why, "quota root would exceed max nvidia.com/gpu: used 8, request 2, max 8");
    const struct cs_quota_pod **v = NULL;
    uint32_t nv = 0;
    assert_int_equal(cs_quota_reclaim(&m, t1, NULL, &v, &nv, why, sizeof(why)), 0);
    assert_int_equal(nv, 1);
    assert_string_equal(v[0]->key, "t2/b3");                /* the newest */
    cs_quota_pod_evicting(&m, v[0]->key, true);
    cs_free(v);
    assert_int_equal(cs_quota_admit(&m, t1, &leaf, why, sizeof(why)), 0);
    cs_quota_pod_set(&m, t1, CS_QUOTA_NOMINATED, "n1");
    /* The nomination holds t1's gpus: the evicted pod's replacement cannot take them back. */
    struct cs_pod *b4 = pod("t2", "b4", 0, "1Gi", 2, 0);
    assert_int_equal(cs_quota_admit(&m, b4, &leaf, why, sizeof(why)), 1);
    /* ... but t1 itself is not blocked by its own nomination. */
    assert_int_equal(cs_quota_admit(&m, t1, &leaf, why, sizeof(why)), 0);
    /* Undoing the eviction (a discarded statement) puts the usage back. */
    cs_quota_pod_evicting(&m, "t2/b3", false);
    int32_t r = 0;
    uint32_t g = strcmp(m.tree->dim[0], "nvidia.com/gpu") == 0 ? 0 : 1;
    assert_int_equal(m.tree->nodes[r].used[g], 8);
    assert_int_equal(m.tree->nodes[r].nominated[g], 2);
    for (int i = 0; i < 4; i++) {
        cs_pod_unref(b[i]);
    }
    cs_pod_unref(t1);
    cs_pod_unref(b4);
    cs_quota_model_destroy(&m);
}

static void test_tree_change_recharges(void **state)
{
    (void)state;
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    struct cs_pod *p = pod("n1", "p", 3, NULL, 0, 0);
    cs_quota_pod_set(&m, p, CS_QUOTA_ASSIGNED, NULL);      /* known before any tree */
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'r','max':{'cpu':10},'children':[{'name':'l','namespaces':['n1'],"
        "'max':{'cpu':5}}]}}}"));
    assert_int_equal(m.tree->nodes[1].used[0], 3000);
    assert_int_equal(m.tree->nodes[0].used[0], 3000);
    struct cs_quota_tree *same = parse_ok(
        "{'spec':{'root':{'name':'r','max':{'cpu':10},'children':[{'name':'l','namespaces':['n1'],"
        "'max':{'cpu':5}}]}}}");
    assert_true(cs_quota_tree_same(same, m.tree));
    cs_quota_tree_free(same);
    /* A raised max takes effect at once, usage carried over. */
    cs_quota_model_set_tree(&m, parse_ok(
        "{'spec':{'root':{'name':'r','max':{'cpu':10},'children':[{'name':'l','namespaces':['n1'],"
        "'max':{'cpu':8}}]}}}"));
    assert_int_equal(m.tree->nodes[1].used[0], 3000);
    struct cs_pod *q = pod("n1", "q", 5, NULL, 0, 0);
    char why[256];
    int32_t leaf;
    assert_int_equal(cs_quota_admit(&m, q, &leaf, why, sizeof(why)), 0);
    cs_quota_model_set_tree(&m, NULL);
    assert_int_equal(cs_quota_admit(&m, q, &leaf, why, sizeof(why)), 0);
    assert_int_equal(leaf, -1);
    cs_pod_unref(p);
    cs_pod_unref(q);
    cs_quota_model_destroy(&m);
}

static void test_flat_elastic_quotas(void **state)
{
    (void)state;
    json_t *o[3] = {
        jload("{'metadata':{'name':'eq','namespace':'n1'},'spec':{'min':{'cpu':4},'max':{'cpu':8}}}"),
        jload("{'metadata':{'name':'eq','namespace':'n2'},'spec':{'min':{'cpu':2},'max':{'cpu':6,"
              "'memory':'1Gi'}}}"),
        jload("{'metadata':{'name':'bad','namespace':'n3'},'spec':{'min':{'cpu':9},'max':{'cpu':1}}}"),
    };
    char errs[1024] = "";
    struct cs_quota_tree *t =
        cs_quota_tree_from_flat((const json_t *const *)o, 3, api.resources, errs, sizeof(errs));
    assert_non_null(t);
    assert_non_null(strstr(errs, "ElasticQuota n3/bad: min<=max"));
    assert_int_equal(t->n, 3);
    assert_string_equal(t->nodes[1].name, "n1/eq");
    uint32_t cpu = strcmp(t->dim[0], "cpu") == 0 ? 0 : 1;
    assert_int_equal(t->nodes[0].min[cpu], 6000);          /* the guarantees' sum */
    assert_int_equal(t->nodes[0].max[cpu], 6000);
    uint32_t mem = 1 - cpu;
    assert_int_equal(t->nodes[0].max[mem], CS_QUOTA_UNLIMITED);   /* no min declared */
    struct cs_quota_model m;
    cs_quota_model_init(&m, api.resources);
    cs_quota_model_set_tree(&m, t);
    assert_int_equal(cs_quota_leaf_of(&m, "n3"), -1);      /* the refused one governs nothing */
    struct cs_pod *p = pod("n1", "p", 7, NULL, 0, 0);       /* within n1's max, over the budget */
    char why[256];
    int32_t leaf;
    assert_int_equal(cs_quota_admit(&m, p, &leaf, why, sizeof(why)), 1);
    assert_string_equal(why, "quota root would exceed max cpu: used 0, request 7, max 6");
    cs_pod_unref(p);
    cs_quota_model_destroy(&m);
    for (int i = 0; i < 3; i++) {
        json_decref(o[i]);
    }
}

int main(void)
{
    cs_api_ctx_init(&api);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_parse_s4),
        cmocka_unit_test(test_tree_validation_rules),
        cmocka_unit_test(test_absent_max_unlimited_absent_min_zero),
        cmocka_unit_test(test_s4_borrow_and_reclaim),
        cmocka_unit_test(test_guarantee_rule_and_pending),
        cmocka_unit_test(test_guarantee_reserved_up_the_tree),
        cmocka_unit_test(test_reclaim_order_and_sparing),
        cmocka_unit_test(test_three_levels_memory_and_gpu),
        cmocka_unit_test(test_tree_change_recharges),
        cmocka_unit_test(test_flat_elastic_quotas),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cs_api_ctx_destroy(&api);
    return rc;
}
