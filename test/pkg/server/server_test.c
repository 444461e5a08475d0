/* Specification of the health/metrics endpoint, exercised over real HTTP with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>
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


/* Write a throw-away self-signed certificate (EC P-256, CN=localhost) and its key. */
static void make_cert(const char *cert_path, const char *key_path)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    assert_non_null(key);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                               -1, 0);
    X509_set_issuer_name(x, name);
    assert_true(X509_sign(x, key, EVP_sha256()) > 0);
    FILE *f = fopen(cert_path, "w");
    assert_non_null(f);
    PEM_write_X509(f, x);
    fclose(f);
    f = fopen(key_path, "w");
    assert_non_null(f);
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
}

static void test_https_when_cert_and_key_are_given(void **state)
{
    (void)state;
    char cert[64], key[64];
    snprintf(cert, sizeof cert, "/tmp/cosched-srv-%d.crt", (int)getpid());
    snprintf(key, sizeof key, "/tmp/cosched-srv-%d.key", (int)getpid());
    make_cert(cert, key);
    struct cs_server_config cfg = { .bind_address = "127.0.0.1", .port = 0,
                                    .tls_cert_file = cert, .tls_key_file = key };
    struct cs_server *s = cs_server_new(&cfg);
    char err[256];
    assert_int_equal(cs_server_start(s, err, sizeof err), 0);
    assert_int_equal(cs_server_is_tls(s), 1);

    char url[128];
    snprintf(url, sizeof url, "https://localhost:%d/livez", cs_server_port(s));
    struct curl_slist *res = NULL;
    char pin[128];
    snprintf(pin, sizeof pin, "localhost:%d:127.0.0.1", cs_server_port(s));
    res = curl_slist_append(res, pin);
    struct cs_buf body;
    cs_buf_init(&body);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_RESOLVE, res);
    curl_easy_setopt(c, CURLOPT_CAINFO, cert); /* verify against our own certificate */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_int_equal(status, 200);
    assert_string_equal(body.data, "ok");
    curl_easy_cleanup(c);
    curl_slist_free_all(res);
    cs_buf_free(&body);

    /* plain HTTP against the TLS port does not get an answer */
    struct cs_buf junk;
    cs_buf_init(&junk);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/livez", cs_server_port(s));
    c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &junk);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    CURLcode rc = curl_easy_perform(c);
    status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    assert_true(rc != CURLE_OK || status != 200);
    curl_easy_cleanup(c);
    cs_buf_free(&junk);

    cs_server_free(s);
    unlink(cert);
    unlink(key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_endpoints_over_http),
        cmocka_unit_test(test_port_conflict_and_bad_config_fail_to_start),
        cmocka_unit_test(test_https_when_cert_and_key_are_given),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
