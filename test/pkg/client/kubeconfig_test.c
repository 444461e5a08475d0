/* Specification of kubeconfig and in-cluster configuration loading. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pkg/client/client.h"

/* "-----BEGIN CERTIFICATE-----\nCA\n" and friends, base64-encoded. */
#define CA_PEM "-----BEGIN CERTIFICATE-----\nCA\n"
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkNBCg=="
#define CERT_PEM "client-cert"
#define CERT_B64 "Y2xpZW50LWNlcnQ="
#define KEY_PEM "client-key"
#define KEY_B64 "Y2xpZW50LWtleQ=="

static char tmpdir[256];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/cs-kubeconfig-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *KC =
    "apiVersion: v1\n"
    "kind: Config\n"
    "current-context: dev\n"
    "clusters:\n"
    "- name: c1\n"
    "  cluster:\n"
    "    server: https://10.0.0.1:6443\n"
    "    certificate-authority-data: " CA_B64 "\n"
    "    tls-server-name: api.internal\n"
    "- name: c2\n"
    "  cluster:\n"
    "    server: http://127.0.0.1:8080\n"
    "    certificate-authority: certs/ca.crt\n"
    "    insecure-skip-tls-verify: true\n"
    "users:\n"
    "- name: tok\n"
    "  user:\n"
    "    token: abc.def\n"
    "- name: certs\n"
    "  user:\n"
    "    client-certificate-data: " CERT_B64 "\n"
    "    client-key-data: " KEY_B64 "\n"
    "- name: files\n"
    "  user:\n"
    "    client-certificate: certs/client.crt\n"
    "    client-key: /abs/client.key\n"
    "    tokenFile: token.txt\n"
    "- name: execuser\n"
    "  user:\n"
    "    exec:\n"
    "      command: get-token\n"
    "contexts:\n"
    "- name: dev\n"
    "  context: {cluster: c1, user: tok, namespace: team-a}\n"
    "- name: certctx\n"
    "  context: {cluster: c1, user: certs}\n"
    "- name: filectx\n"
    "  context: {cluster: c2, user: files}\n"
    "- name: noclu\n"
    "  context: {cluster: missing, user: tok}\n"
    "- name: execctx\n"
    "  context: {cluster: c1, user: execuser}\n";

static void test_current_context_token_and_ca_data(void **state)
{
    (void)state;
    write_file("config", KC);
    char path[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/config", tmpdir);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    assert_int_equal(cs_kubeconfig_load(path, NULL, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://10.0.0.1:6443");
    assert_string_equal(cfg.token, "abc.def");
    assert_string_equal(cfg.namespace_, "team-a");
    assert_string_equal(cfg.tls_server_name, "api.internal");
    assert_int_equal(cfg.ca_data_len, strlen(CA_PEM));
    assert_memory_equal(cfg.ca_data, CA_PEM, strlen(CA_PEM));
    assert_int_equal(cfg.insecure_skip_tls_verify, 0);
    assert_null(cfg.cert_data);
    assert_int_equal(cfg.qps, 50);  /* defaults survive */
    assert_int_equal(cfg.burst, 100);
    cs_client_config_free(&cfg);
}

static void test_cert_and_key_data(void **state)
{
    (void)state;
    char err[256] = "";
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    assert_int_equal(cs_kubeconfig_parse(KC, strlen(KC), "/x", "certctx", &cfg, err, sizeof(err)), 0);
    assert_int_equal(cfg.cert_data_len, strlen(CERT_PEM));
    assert_memory_equal(cfg.cert_data, CERT_PEM, strlen(CERT_PEM));
    assert_int_equal(cfg.key_data_len, strlen(KEY_PEM));
    assert_memory_equal(cfg.key_data, KEY_PEM, strlen(KEY_PEM));
    assert_null(cfg.token);
    cs_client_config_free(&cfg);
}

static void test_files_relative_to_kubeconfig_dir(void **state)
{
    (void)state;
    write_file("config", KC);
    char path[512], want[600], err[256] = "";
    snprintf(path, sizeof(path), "%s/config", tmpdir);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    assert_int_equal(cs_kubeconfig_load(path, "filectx", &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "http://127.0.0.1:8080");
    snprintf(want, sizeof(want), "%s/certs/ca.crt", tmpdir);
    assert_string_equal(cfg.ca_file, want);
    snprintf(want, sizeof(want), "%s/certs/client.crt", tmpdir);
    assert_string_equal(cfg.cert_file, want);
    assert_string_equal(cfg.key_file, "/abs/client.key");
    snprintf(want, sizeof(want), "%s/token.txt", tmpdir);
    assert_string_equal(cfg.token_file, want);
    assert_int_equal(cfg.insecure_skip_tls_verify, 1);
    cs_client_config_free(&cfg);
}

static void test_errors_name_the_field(void **state)
{
    (void)state;
    char err[256] = "";
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    assert_int_equal(cs_kubeconfig_parse(KC, strlen(KC), NULL, "x", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "kubeconfig: context \"x\" not found");
    assert_int_equal(cs_kubeconfig_parse(KC, strlen(KC), NULL, "noclu", &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cluster \"missing\""));
    assert_int_equal(cs_kubeconfig_parse(KC, strlen(KC), NULL, "execctx", &cfg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "user \"execuser\": exec"));
    assert_null(cfg.server); /* left empty on error */

    const char *bad64 = "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
                        "clusters: [{name: c, cluster: {server: 'https://h', "
                        "certificate-authority-data: 'not*base64'}}]\n"
                        "users: [{name: u, user: {token: t}}]\n";
    assert_int_equal(cs_kubeconfig_parse(bad64, strlen(bad64), NULL, NULL, &cfg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "certificate-authority-data is not valid base64"));

    const char *noctx = "clusters: []\n";
    assert_int_equal(cs_kubeconfig_parse(noctx, strlen(noctx), NULL, NULL, &cfg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "current-context"));

    const char *broken = "a: [1, 2\n";
    assert_int_equal(cs_kubeconfig_parse(broken, strlen(broken), NULL, NULL, &cfg, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "kubeconfig: "));

    assert_int_equal(cs_kubeconfig_load("/nonexistent/kc", NULL, &cfg, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/kc"));
    cs_client_config_free(&cfg);
}

static void test_json_kubeconfig(void **state)
{
    (void)state;
    const char *js = "{\"current-context\":\"a\",\"contexts\":[{\"name\":\"a\",\"context\":"
                     "{\"cluster\":\"c\"}}],\"clusters\":[{\"name\":\"c\",\"cluster\":"
                     "{\"server\":\"http://h:1\"}}]}";
    char err[256] = "";
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    assert_int_equal(cs_kubeconfig_parse(js, strlen(js), NULL, NULL, &cfg, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "http://h:1");
    assert_null(cfg.token);
    cs_client_config_free(&cfg);
}

static void test_malformed_kubeconfigs_fail_cleanly(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "[]",
        "42",
        "current-context: [a]\n",
        "current-context: a\ncontexts: 7\n",
        "current-context: a\ncontexts: [7, \"x\", {name: 3}]\n",
        "current-context: a\ncontexts: [{name: a, context: \"str\"}]\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: [1]}}]\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\nclusters: {c: 1}\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: c}}]\n"
        "clusters: [{name: c, cluster: {server: 5}}]\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h', insecure-skip-tls-verify: maybe}}]\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h'}}]\nusers: [{name: u, user: {token: [x]}}]\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
        "users: [{name: u, user: {client-certificate-data: Y2VydA==}}]\n",
        "current-context: a\ncontexts: [{name: a, context: {cluster: c, user: u}}]\n"
        "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority-data: 'QQ=A'}}]\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[256] = "";
        struct cs_client_config cfg;
        cs_client_config_init(&cfg);
        int rc = cs_kubeconfig_parse(bad[i], strlen(bad[i]), NULL, NULL, &cfg, err, sizeof(err));
        if (rc != -1 || strncmp(err, "kubeconfig: ", 12) != 0) {
            fail_msg("case %zu: rc %d err \"%s\"", i, rc, err);
        }
        assert_null(cfg.server);
    }
}

static void test_in_cluster(void **state)
{
    (void)state;
    char err[256] = "";
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    unsetenv("KUBERNETES_SERVICE_HOST");
    assert_int_equal(cs_client_config_in_cluster(&cfg, tmpdir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));
    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    char tok[512];
    snprintf(tok, sizeof(tok), "%s/token", tmpdir);
    unlink(tok);
    assert_int_equal(cs_client_config_in_cluster(&cfg, tmpdir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "token"));
    write_file("token", "sa-token\n");
    write_file("namespace", "kube-system\n");
    assert_int_equal(cs_client_config_in_cluster(&cfg, tmpdir, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    assert_string_equal(cfg.token_file, tok);
    assert_non_null(strstr(cfg.ca_file, "/ca.crt"));
    assert_string_equal(cfg.namespace_, "kube-system");
    cs_client_config_free(&cfg);
    setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
    assert_int_equal(cs_client_config_in_cluster(&cfg, tmpdir, err, sizeof(err)), 0);
    assert_string_equal(cfg.server, "https://[fd00::1]:443");
    cs_client_config_free(&cfg);
}

static void test_client_rejects_bad_server(void **state)
{
    (void)state;
    char err[256] = "";
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    cfg.server = strdup("ftp://x");
    assert_null(cs_client_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "scheme"));
    free(cfg.server);
    cfg.server = NULL;
    assert_null(cs_client_new(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "server is empty"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_current_context_token_and_ca_data),
        cmocka_unit_test(test_cert_and_key_data),
        cmocka_unit_test(test_files_relative_to_kubeconfig_dir),
        cmocka_unit_test(test_errors_name_the_field),
        cmocka_unit_test(test_json_kubeconfig),
        cmocka_unit_test(test_malformed_kubeconfigs_fail_cleanly),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_client_rejects_bad_server),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
