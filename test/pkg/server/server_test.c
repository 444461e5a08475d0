/* Specification of the health/metrics endpoint, exercised over real HTTP with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/metrics/metrics.h"
#include "pkg/server/server.h"
#include "pkg/util/buf.h"

struct reply {
    long status;
    struct cs_buf body;
    char ctype[128];
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    cs_buf_append(arg, p, sz * n);
    return sz * n;
}

static void fetch(int port, const char *method, const char *path, struct reply *r)
{
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    cs_buf_init(&r->body);
    cs_buf_puts(&r->body, "");
    r->ctype[0] = '\0';
    CURL *c = curl_easy_init();
    assert_non_null(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) {
        snprintf(r->ctype, sizeof r->ctype, "%s", ct);
    }
    curl_easy_cleanup(c);
}

static void reply_free(struct reply *r)
{
    cs_buf_free(&r->body);
}

struct synced {
    atomic_int ok;
};

static int synced_check(void *arg, struct cs_buf *reason)
{
    struct synced *s = arg;
    if (atomic_load(&s->ok)) {
        return 0;
    }
    cs_buf_puts(reason, "informers not synced");
    return -1;
}

static int group_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    curl_global_cleanup();
    return 0;
}

static void test_endpoints_over_http(void **state)
{
    (void)state;
    struct cs_metrics_registry *reg = cs_metrics_registry_new();
    struct cs_metric *m = cs_metrics_counter_new(reg, "scheduler_schedule_attempts_total", "h",
                                                 CS_METRICS_LABELS("result", "profile"));
    cs_metrics_add(m, CS_METRICS_LABELS("scheduled", "default-scheduler"), 3);

    struct cs_server_config cfg = { .bind_address = "127.0.0.1", .port = 0, .metrics = reg };
    struct cs_server *s = cs_server_new(&cfg);
    struct synced sync;
    atomic_init(&sync.ok, 0);
    assert_int_equal(cs_server_add_check(s, "sched-handler-sync", CS_SERVER_READYZ,
                                         synced_check, &sync), 0);
    assert_int_equal(cs_server_add_check(s, "sched-handler-sync", CS_SERVER_READYZ,
                                         synced_check, &sync), -1); /* duplicate */
    assert_int_equal(cs_server_add_check(s, "Bad Name", CS_SERVER_READYZ, synced_check, &sync),
                     -1);
    assert_int_equal(cs_server_port(s), -1);
    char err[256];
    assert_int_equal(cs_server_start(s, err, sizeof err), 0);
    int port = cs_server_port(s);
    assert_true(port > 0 && port < 65536);
    assert_int_equal(cs_server_is_tls(s), 0);

    struct reply r;
    fetch(port, "GET", "/healthz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ok");
    reply_free(&r);

    fetch(port, "GET", "/livez", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ok");
    reply_free(&r);

    fetch(port, "GET", "/readyz", &r);
    assert_int_equal(r.status, 500);
    assert_string_equal(r.body.data, "[+]ping ok\n"
                                     "[-]sched-handler-sync failed: informers not synced\n"
                                     "readyz check failed\n");
    reply_free(&r);

    fetch(port, "GET", "/readyz?exclude=sched-handler-sync", &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);

    atomic_store(&sync.ok, 1);
    fetch(port, "GET", "/readyz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "ok");
    reply_free(&r);

    fetch(port, "GET", "/readyz?verbose", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data,
                        "[+]ping ok\n[+]sched-handler-sync ok\nreadyz check passed\n");
    reply_free(&r);

    fetch(port, "GET", "/readyz/sched-handler-sync", &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    fetch(port, "GET", "/readyz/nope", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);

    fetch(port, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body.data, "# TYPE scheduler_schedule_attempts_total counter\n"));
    assert_non_null(strstr(r.body.data, "scheduler_schedule_attempts_total{profile="
                                        "\"default-scheduler\",result=\"scheduled\"} 3\n"));
    reply_free(&r);

    fetch(port, "GET", "/configz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body.data, "{}");
    reply_free(&r);
    cs_server_set_configz(s, "{\"componentconfig\":{\"parallelism\":16}}");
    fetch(port, "GET", "/configz", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.ctype, "application/json");
    assert_string_equal(r.body.data, "{\"componentconfig\":{\"parallelism\":16}}");
    reply_free(&r);

    fetch(port, "GET", "/nowhere", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    fetch(port, "POST", "/healthz", &r);
    assert_int_equal(r.status, 405);
    reply_free(&r);

    cs_server_stop(s);
    cs_server_stop(s); /* idempotent */
    assert_int_equal(cs_server_port(s), -1);
    cs_server_free(s);
    cs_metrics_registry_free(reg);
}

static void test_port_conflict_and_bad_config_fail_to_start(void **state)
{
    (void)state;
    struct cs_server_config cfg = { .bind_address = "127.0.0.1", .port = 0 };
    struct cs_server *a = cs_server_new(&cfg);
    char err[256];
    assert_int_equal(cs_server_start(a, err, sizeof err), 0);
    cfg.port = cs_server_port(a);
    struct cs_server *b = cs_server_new(&cfg);
    assert_int_equal(cs_server_start(b, err, sizeof err), -1);
    assert_non_null(strstr(err, "cannot serve"));
    cs_server_free(b);
    cs_server_free(a);

    struct cs_server_config bad = { .bind_address = "not-an-ip", .port = 0 };
    struct cs_server *c = cs_server_new(&bad);
    assert_int_equal(cs_server_start(c, err, sizeof err), -1);
    assert_non_null(strstr(err, "bind-address"));
    cs_server_free(c);

    struct cs_server_config half = { .port = 0, .tls_cert_file = "/nonexistent.pem" };
    struct cs_server *d = cs_server_new(&half);
    assert_int_equal(cs_server_start(d, err, sizeof err), -1);
    assert_non_null(strstr(err, "together"));
    cs_server_free(d);

    struct cs_server_config missing = { .port = 0, .tls_cert_file = "/nonexistent.pem",
                                        .tls_key_file = "/nonexistent.key" };
    struct cs_server *e = cs_server_new(&missing);
    assert_int_equal(cs_server_start(e, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent.pem"));
    cs_server_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints_over_http),
        cmocka_unit_test(test_port_conflict_and_bad_config_fail_to_start),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
