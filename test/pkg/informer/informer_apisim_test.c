/* The informer and client against a real apisim ($APISIM_BIN, started by this test):
 * list+watch sees creates/updates/deletes; after apisim drops every watch or answers resumes
 * with 410 the informer recovers with no lost or duplicated event; binds get 201; the TLS +
 * bearer token path works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pkg/client/client.h"
#include "pkg/informer/informer.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/map.h"

/* ---- apisim process ------------------------------------------------------------------------ */

struct sim {
    pid_t pid;
    char dir[128];
    char kubeconfig[256];
};

static int sim_start(struct sim *s, const char *const *extra)
{
    const char *bin = getenv("APISIM_BIN");
    if (!bin || !*bin || access(bin, X_OK) != 0) {
        fail_msg("APISIM_BIN is not set or not executable (%s): build apisim (make asan) and run "
                 "through hack/run-tests.sh", bin ? bin : "unset");
    }
    snprintf(s->dir, sizeof(s->dir), "/tmp/cs-inf-apisim-XXXXXX");
    assert_non_null(mkdtemp(s->dir));
    snprintf(s->kubeconfig, sizeof(s->kubeconfig), "%s/kubeconfig", s->dir);
    char log[256];
    snprintf(log, sizeof(log), "%s/apisim.log", s->dir);
    const char *argv[32];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--kubeconfig-out";
    argv[n++] = s->kubeconfig;
    argv[n++] = "--cluster-gen";
    argv[n++] = "nodes=3,cpu=4,memory=32Gi,pods=110";
    for (int i = 0; extra && extra[i] && n < 30; i++) {
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (f) {
            dup2(fileno(stdout), 2);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 600; i++) {
        struct stat st;
        char buf[4096] = "";
        FILE *lf = fopen(log, "r");
        if (lf) {
            size_t r = fread(buf, 1, sizeof(buf) - 1, lf);
            buf[r] = '\0';
            fclose(lf);
        }
        if (strstr(buf, "serving on") && stat(s->kubeconfig, &st) == 0 && st.st_size > 0) {
            return 0;
        }
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fail_msg("apisim exited early: %s", buf);
        }
        usleep(50 * 1000);
    }
    fail_msg("apisim did not start within 30 s");
    return -1;
}

static void sim_stop(struct sim *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int status;
        waitpid(s->pid, &status, 0);
        s->pid = 0;
    }
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", s->dir);
    }
}

/* A client of the simulator; coalesce_us as cs_client_config (cosched runs with 1000); ctype
 * its content type (NULL: JSON). */
static struct cs_client *client_with(struct sim *s, long coalesce_us, const char *ctype)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char err[512];
    if (cs_kubeconfig_load(s->kubeconfig, NULL, &cfg, err, sizeof(err)) < 0) {
        fail_msg("%s", err);
    }
    cfg.qps = 0;
    cfg.coalesce_us = coalesce_us;
    cfg.content_type = ctype ? cs_strdup(ctype) : NULL;
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);
    return c;
}

static struct cs_client *client_coalescing(struct sim *s, long coalesce_us)
{
    return client_with(s, coalesce_us, NULL);
}

static struct cs_client *client_for(struct sim *s)
{
    return client_coalescing(s, 0);
}

static long call(struct cs_client *c, const char *method, const char *path, const char *ct,
                 const char *body, char **out)
{
    struct cs_client_req req = { .method = method, .path = path, .body = body,
                                 .body_len = body ? strlen(body) : 0, .content_type = ct,
                                 .retry = CS_CLIENT_RETRY_DEFAULT };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    long st = r.status;
    if (out) {
        *out = cs_strdup(r.body);
    }
    if (st == 0) {
        fprintf(stderr, "%s %s: %s\n", method, path, r.err);
    }
    cs_client_resp_free(&r);
    return st;
}

static long create_pod(struct cs_client *c, const char *name)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\","
             "\"image\":\"pause\"}]}}", name);
    return call(c, "POST", "/api/v1/namespaces/default/pods", NULL, body, NULL);
}

static long label_pod(struct cs_client *c, const char *name, int v)
{
    char path[256], body[128];
    snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/%s", name);
    snprintf(body, sizeof(body), "{\"metadata\":{\"labels\":{\"v\":\"%d\"}}}", v);
    return call(c, "PATCH", path, "application/merge-patch+json", body, NULL);
}

static long delete_pod(struct cs_client *c, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/namespaces/default/pods/%s?gracePeriodSeconds=0", name);
    return call(c, "DELETE", path, NULL, NULL, NULL);
}

static long set_faults(struct cs_client *c, const char *json)
{
    return call(c, "PUT", "/apisim/faults", NULL, json, NULL);
}

/* ---- a mirror of what the handlers said --------------------------------------------------- */

struct mirror {
    pthread_mutex_t mu;
    struct cs_map rv;            /* key -> cs_strdup'd rv; keys owned in `keys` */
    char *keys[4096];
    size_t nkeys;
    int adds, updates, deletes, synced;
    int violations;              /* add of a present key, update/delete of an absent key */
    char last_violation[256];
};

static char *key_of(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_printf(&b, "%s/%s", json_string_value(json_object_get(md, "namespace")),
                  json_string_value(json_object_get(md, "name")));
    return cs_buf_steal(&b);
}

static const char *rv_of(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static void m_set(struct mirror *m, char *key, const char *rv)
{
    char *old = cs_map_get(&m->rv, key);
    cs_free(old);
    const char *k = key;
    size_t i;
    for (i = 0; i < m->nkeys; i++) {
        if (!strcmp(m->keys[i], key)) {
            k = m->keys[i];
            break;
        }
    }
    if (i == m->nkeys) {
        m->keys[m->nkeys++] = cs_strdup(key);
        k = m->keys[i];
    }
    cs_map_put(&m->rv, k, rv ? cs_strdup(rv) : NULL);
}

static void violation(struct mirror *m, const char *what, const char *key)
{
    m->violations++;
    snprintf(m->last_violation, sizeof(m->last_violation), "%s %s", what, key);
}

static void m_add(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    char *k = key_of(obj);
    pthread_mutex_lock(&m->mu);
    if (cs_map_get(&m->rv, k)) {
        violation(m, "add of present", k);
    }
    m->adds++;
    m_set(m, k, rv_of(obj));
    pthread_mutex_unlock(&m->mu);
    cs_free(k);
}

static void m_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    struct mirror *m = arg;
    char *k = key_of(obj);
    pthread_mutex_lock(&m->mu);
    if (!cs_map_get(&m->rv, k)) {
        violation(m, "update of absent", k);
    }
    m->updates++;
    m_set(m, k, rv_of(obj));
    pthread_mutex_unlock(&m->mu);
    cs_free(k);
}

static void m_delete(void *arg, json_t *obj)
{
    struct mirror *m = arg;
    char *k = key_of(obj);
    pthread_mutex_lock(&m->mu);
    if (!cs_map_get(&m->rv, k)) {
        violation(m, "delete of absent", k);
    }
    m->deletes++;
    m_set(m, k, NULL);
    pthread_mutex_unlock(&m->mu);
    cs_free(k);
}

static void m_synced(void *arg)
{
    struct mirror *m = arg;
    pthread_mutex_lock(&m->mu);
    m->synced++;
    pthread_mutex_unlock(&m->mu);
}

static void mirror_init(struct mirror *m)
{
    memset(m, 0, sizeof(*m));
    pthread_mutex_init(&m->mu, NULL);
    cs_map_init(&m->rv);
}

static void mirror_free(struct mirror *m)
{
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&m->rv, &it, &k, &v);) {
        cs_free(v);
    }
    cs_map_destroy(&m->rv);
    for (size_t i = 0; i < m->nkeys; i++) {
        cs_free(m->keys[i]);
    }
}

/* 1 when the mirror equals the server's current pod list (same keys, same RVs). */
static int mirror_matches_server(struct mirror *m, struct cs_client *c, char *why, size_t n)
{
    char *body = NULL;
    if (call(c, "GET", "/api/v1/pods", NULL, NULL, &body) != 200) {
        snprintf(why, n, "list failed");
        cs_free(body);
        return 0;
    }
    json_t *doc = json_loads(body, 0, NULL);
    cs_free(body);
    int ok = 1;
    size_t i, count = 0;
    json_t *it;
    pthread_mutex_lock(&m->mu);
    json_array_foreach(json_object_get(doc, "items"), i, it) {
        char *k = key_of(it);
        const char *have = cs_map_get(&m->rv, k);
        if (!have || strcmp(have, rv_of(it)) != 0) {
            snprintf(why, n, "%s: server rv %s, informer %s", k, rv_of(it), have ? have : "absent");
            ok = 0;
        }
        cs_free(k);
        count++;
    }
    size_t present = 0;
    const char *k;
    void *v;
    for (size_t x = 0; cs_map_next(&m->rv, &x, &k, &v);) {
        present += v != NULL;
    }
    if (ok && present != count) {
        snprintf(why, n, "informer has %zu pods, server %zu", present, count);
        ok = 0;
    }
    pthread_mutex_unlock(&m->mu);
    json_decref(doc);
    return ok;
}

static int eventually_matches(struct mirror *m, struct cs_client *c, char *why, size_t n)
{
    for (int i = 0; i < 200; i++) {
        if (mirror_matches_server(m, c, why, n)) {
            return 1;
        }
        usleep(50 * 1000);
    }
    return 0;
}

/* A new informer, started and synced. */
static struct cs_informer *started(struct cs_client *c, const struct cs_informer_opts *o)
{
    char err[256];
    struct cs_informer *inf = cs_informer_new(c, o, err, sizeof(err));
    if (inf == NULL) {
        fail_msg("%s", err);
    }
    assert_int_equal(cs_informer_start(inf), 0);
    for (int i = 0; i < 400 && !cs_informer_has_synced(inf); i++) {
        usleep(25 * 1000);
    }
    assert_true(cs_informer_has_synced(inf));
    return inf;
}

static struct cs_informer *start_informer(struct cs_client *c, struct mirror *m)
{
    struct cs_informer_opts o = {
        .path = "/api/v1/pods",
        .page_size = 7,
        .no_watch_list = 1,  /* pages of 7 and resumes that expire: the paginated path (the
                              * streaming list is specified in informer_fake_test) */
        .backoff_initial_ms = 50,
        .backoff_max_ms = 400,
        .handlers = { m_add, m_update, m_delete, m_synced, NULL, m },
    };
    return started(c, &o);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_list_watch_crud_and_faults(void **state)
{
    (void)state;
    struct sim s = { .pid = 0 };
    const char *const extra[] = { "--pods-gen", "count=20,cpu=100m,memory=100Mi", NULL };
    sim_start(&s, extra);
    struct cs_client *c = client_for(&s);
    struct mirror m;
    mirror_init(&m);
    struct cs_informer *inf = start_informer(c, &m);
    char why[512] = "";
    assert_int_equal(m.synced, 1);
    assert_true(m.adds >= 20);
    assert_true(eventually_matches(&m, c, why, sizeof(why)));

    /* create, update, delete */
    assert_int_equal(create_pod(c, "crud-1"), 201);
    assert_int_equal(label_pod(c, "crud-1", 1), 200);
    assert_int_equal(create_pod(c, "crud-2"), 201);
    assert_int_equal(delete_pod(c, "crud-2"), 200);
    assert_true(eventually_matches(&m, c, why, sizeof(why)));
    int adds = m.adds, dels = m.deletes;
    assert_true(m.updates >= 1);
    assert_int_equal(m.violations, 0);

    /* apisim drops every watch: events after the drop still arrive exactly once */
    struct cs_informer_stats sd0, sd1;
    cs_informer_stats(inf, &sd0);
    assert_int_equal(set_faults(c, "{\"dropWatchesNow\":true}"), 200);
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof(name), "after-drop-%d", i);
        assert_int_equal(create_pod(c, name), 201);
    }
    assert_true(eventually_matches(&m, c, why, sizeof(why)));
    assert_int_equal(m.adds, adds + 10);
    assert_int_equal(m.violations, 0);
    cs_informer_stats(inf, &sd1);
    assert_true(sd1.watches > sd0.watches); /* the watch really was dropped and reopened */

    /* forced 410 on every resume: the informer relists and diffs */
    struct cs_informer_stats st0, st1;
    cs_informer_stats(inf, &st0);
    assert_int_equal(set_faults(c, "{\"watch410Fraction\":1,\"dropWatchesNow\":true}"), 200);
    assert_int_equal(delete_pod(c, "after-drop-0"), 200);
    assert_int_equal(label_pod(c, "after-drop-1", 2), 200);
    assert_int_equal(create_pod(c, "after-410"), 201);
    for (int i = 0; i < 100; i++) {
        cs_informer_stats(inf, &st1);
        if (st1.relists_410 > st0.relists_410) {
            break;
        }
        usleep(20 * 1000);
    }
    assert_true(st1.relists_410 > st0.relists_410);
    /* every resume expires: relists back off (50..400 ms here) instead of spinning */
    usleep(1000 * 1000);
    struct cs_informer_stats st2;
    cs_informer_stats(inf, &st2);
    assert_true(st2.relists_410 - st1.relists_410 >= 2);
    if (st2.relists_410 - st1.relists_410 > 12) {
        fail_msg("relists in 1 s: %llu", (unsigned long long)(st2.relists_410 - st1.relists_410));
    }
    assert_int_equal(set_faults(c, "{}"), 200);
    assert_true(eventually_matches(&m, c, why, sizeof(why)));
    assert_true(m.deletes >= dels + 1);
    assert_int_equal(m.violations, 0);

    /* and it keeps watching afterwards */
    assert_int_equal(create_pod(c, "late"), 201);
    assert_true(eventually_matches(&m, c, why, sizeof(why)));
    if (m.violations) {
        fail_msg("violation: %s", m.last_violation);
    }
    cs_informer_free(inf);
    cs_client_free(c);
    mirror_free(&m);
    sim_stop(&s);
}

/* ---- peek: a handler that needs a few fields of most updates -------------------------------- */

struct peeker {
    struct mirror m;
    int peeked, whole_updates, partial_had_spec;
};

/* Takes an update from its projection when the pod's label v is even. */
static int p_peek(void *arg, json_t *partial)
{
    struct peeker *p = arg;
    json_t *md = json_object_get(partial, "metadata");
    const char *v = json_string_value(json_object_get(json_object_get(md, "labels"), "v"));
    if (json_object_get(partial, "spec") || json_object_get(md, "uid")) {
        p->partial_had_spec++; /* converted what the projection did not name */
    }
    if (!v || (strtol(v, NULL, 10) % 2) != 0) {
        return 0;
    }
    char *k = key_of(partial);
    pthread_mutex_lock(&p->m.mu);
    p->peeked++;
    m_set(&p->m, k, rv_of(partial));
    pthread_mutex_unlock(&p->m.mu);
    cs_free(k);
    return 1;
}

static void p_update(void *arg, json_t *old, json_t *obj)
{
    struct peeker *p = arg;
    if (json_object_get(obj, "spec")) {
        __atomic_add_fetch(&p->whole_updates, 1, __ATOMIC_RELAXED);
    }
    m_update(&p->m, old, obj);
}

/* Over protobuf, a MODIFIED event is first shown to handlers.peek as only the informer's
 * peek_fields; what peek takes is recorded (its resourceVersion; on_update is not called), what
 * it declines arrives whole at on_update. Either way the informer's view stays the server's. */
static void test_peek_takes_updates_from_a_projection(void **state)
{
    (void)state;
    struct sim s = { .pid = 0 };
    sim_start(&s, NULL);
    struct cs_client *c = client_with(&s, 0, CS_CLIENT_PB_MEDIA);
    char err[512];

    struct peeker p = { .peeked = 0 };
    mirror_init(&p.m);
    static const char *const fields[] = { "metadata.name", "metadata.namespace",
                                          "metadata.resourceVersion", "metadata.labels", NULL };
    struct cs_informer_opts o = {
        .path = "/api/v1/pods",
        .peek_fields = fields,
        .handlers = { m_add, p_update, m_delete, m_synced, NULL, &p, p_peek },
    };
    /* a peek handler needs fields to peek at, and cannot be given partial objects to keep */
    struct cs_informer_opts bad = o;
    bad.peek_fields = NULL;
    assert_null(cs_informer_new(c, &bad, err, sizeof(err)));
    assert_non_null(strstr(err, "peek_fields"));
    bad = o;
    bad.keep_objects = 1;
    assert_null(cs_informer_new(c, &bad, err, sizeof(err)));

    struct cs_informer *inf = started(c, &o);
    for (int i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof(name), "peek-%d", i);
        assert_int_equal(create_pod(c, name), 201);
        for (int v = 1; v <= 4; v++) {
            assert_int_equal(label_pod(c, name, v), 200);
        }
    }
    char why[512] = "";
    if (!eventually_matches(&p.m, c, why, sizeof(why))) {
        fail_msg("informer view: %s", why);
    }
    /* Each pod: labels 2 and 4 taken from the projection, 1 and 3 delivered whole (events
     * can be coalesced by nobody here: apisim sends every one). */
    assert_int_equal(p.peeked, 6);
    assert_int_equal(p.whole_updates, 6);
    assert_int_equal(p.partial_had_spec, 0);
    assert_int_equal(p.m.violations, 0);
    /* a pod deleted after a peeked update is deleted once, at its newest version */
    assert_int_equal(delete_pod(c, "peek-0"), 200);
    if (!eventually_matches(&p.m, c, why, sizeof(why))) {
        fail_msg("after delete: %s", why);
    }
    assert_int_equal(p.m.deletes, 1);
    assert_int_equal(p.m.violations, 0);
    cs_informer_free(inf);
    cs_client_free(c);
    mirror_free(&p.m);
    sim_stop(&s);
}

static void test_tls_token_and_bind(void **state)
{
    (void)state;
    struct sim s = { .pid = 0 };
    const char *const extra[] = { "--tls", "--token", "tok-123", "--pods-gen",
                                  "count=5,cpu=100m,memory=100Mi", NULL };
    sim_start(&s, extra);
    /* HTTP/2 over TLS with wakes coalesced as cosched has them: the same answers */
    struct cs_client *c = client_coalescing(&s, 1000);
    assert_non_null(strstr(cs_client_server(c), "https://"));
    struct mirror m;
    mirror_init(&m);
    struct cs_informer *inf = start_informer(c, &m);
    char why[512] = "";
    assert_true(eventually_matches(&m, c, why, sizeof(why)));

    /* bind a pending pod: 201, and the informer sees its nodeName */
    assert_int_equal(create_pod(c, "bind-me"), 201);
    char *nodes = NULL;
    assert_int_equal(call(c, "GET", "/api/v1/nodes", NULL, NULL, &nodes), 200);
    json_t *nl = json_loads(nodes, 0, NULL);
    cs_free(nodes);
    const char *node = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(nl, "items"), 0), "metadata"), "name"));
    assert_non_null(node);
    char body[512];
    snprintf(body, sizeof(body),
             "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":\"bind-me\","
             "\"namespace\":\"default\"},\"target\":{\"kind\":\"Node\",\"name\":\"%s\"}}", node);
    assert_int_equal(call(c, "POST", "/api/v1/namespaces/default/pods/bind-me/binding", NULL, body,
                          NULL), 201);
    /* binding it again conflicts */
    assert_int_equal(call(c, "POST", "/api/v1/namespaces/default/pods/bind-me/binding", NULL, body,
                          NULL), 409);
    json_decref(nl);
    assert_true(eventually_matches(&m, c, why, sizeof(why)));
    assert_int_equal(m.violations, 0);
    cs_informer_free(inf);
    cs_client_free(c);

    /* a wrong token is refused */
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char err[512];
    assert_int_equal(cs_kubeconfig_load(s.kubeconfig, NULL, &cfg, err, sizeof(err)), 0);
    cs_free(cfg.token);
    cfg.token = cs_strdup("wrong");
    c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    cs_client_start(c);
    assert_int_equal(call(c, "GET", "/api/v1/pods", NULL, NULL, NULL), 401);
    cs_client_free(c);
    mirror_free(&m);
    sim_stop(&s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_watch_crud_and_faults),
        cmocka_unit_test(test_tls_token_and_bind),
        cmocka_unit_test(test_peek_takes_updates_from_a_projection),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
