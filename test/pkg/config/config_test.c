/* Specification of KubeSchedulerConfiguration loading: defaults, a full example, the shipped
 * manifest, strict decoding and every validation rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pkg/config/config.h"
#include "pkg/config/encode.h"
#include "pkg/util/buf.h"
#include "pkg/util/yaml.h"
#include "pkg/config/extpoint.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define HDR "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"

static void load_ok(const char *text, struct cs_config *c)
{
    char err[512] = "";
    if (cs_config_load_string(text, strlen(text), c, err, sizeof(err)) != 0) {
        fail_msg("unexpected error: %s\n--\n%s", err, text);
    }
}

static void assert_defaults(const struct cs_config *c)
{
    assert_int_equal(c->parallelism, 16);
    assert_int_equal(c->percentage_of_nodes_to_score, CS_CONFIG_UNSET);
    assert_int_equal(c->percentage_of_placements_to_score, CS_CONFIG_UNSET);
    assert_int_equal(c->pod_initial_backoff_seconds, 1);
    assert_int_equal(c->pod_max_backoff_seconds, 10);
    assert_int_equal(c->enable_profiling, 1);
    assert_int_equal(c->enable_contention_profiling, 1);
    assert_int_equal(c->delay_cache_until_active, 0);
    assert_string_equal(c->client_connection.kubeconfig, "");
    assert_string_equal(c->client_connection.accept_content_types, "");
    assert_string_equal(c->client_connection.content_type, "application/vnd.kubernetes.protobuf");
    assert_true(c->client_connection.qps == 50.0);
    assert_int_equal(c->client_connection.burst, 100);
    assert_int_equal(c->leader_election.leader_elect, 1);
    assert_int_equal(c->leader_election.lease_duration_ms, 15000);
    assert_int_equal(c->leader_election.renew_deadline_ms, 10000);
    assert_int_equal(c->leader_election.retry_period_ms, 2000);
    assert_string_equal(c->leader_election.resource_lock, "leases");
    assert_string_equal(c->leader_election.resource_name, "kube-scheduler");
    assert_string_equal(c->leader_election.resource_namespace, "kube-system");
    assert_int_equal(c->nprofiles, 1);
    assert_string_equal(c->profiles[0].scheduler_name, "ack-co-scheduler");
    assert_int_equal(c->profiles[0].percentage_of_nodes_to_score, CS_CONFIG_UNSET);
    for (int s = 0; s < CS_CONFIG_NSETS; s++) {
        assert_int_equal(c->profiles[0].plugins.sets[s].nenabled, 0);
        assert_int_equal(c->profiles[0].plugins.sets[s].ndisabled, 0);
    }
    assert_int_equal(c->profiles[0].nplugin_config, 0);
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct cs_config c;
    cs_config_defaults(&c);
    assert_defaults(&c);
    char err[128];
    assert_int_equal(cs_config_validate(&c, err, sizeof(err)), 0);
    assert_int_equal(cs_config_percentage_of_nodes_to_score(&c, &c.profiles[0]), 0);
    cs_config_free(&c);
    cs_config_free(&c); /* zeroed: a second free is harmless */

    /* The smallest valid document gives exactly the defaults. */
    load_ok(HDR, &c);
    assert_defaults(&c);
    cs_config_free(&c);

    /* One profile without a name gets ours. */
    load_ok(HDR "profiles:\n- percentageOfNodesToScore: 30\n", &c);
    assert_int_equal(c.nprofiles, 1);
    assert_string_equal(c.profiles[0].scheduler_name, "ack-co-scheduler");
    assert_int_equal(cs_config_percentage_of_nodes_to_score(&c, &c.profiles[0]), 30);
    cs_config_free(&c);
}

static void test_config_full_example(void **state)
{
    (void)state;
    struct cs_config c;
    load_ok(HDR "parallelism: 32\n"
                "percentageOfNodesToScore: 0\n"
                "percentageOfPlacementsToScore: 40\n"
                "podInitialBackoffSeconds: 2\n"
                "podMaxBackoffSeconds: 60\n"
                "enableProfiling: false\n"
                "enableContentionProfiling: false\n"
                "delayCacheUntilActive: true\n"
                "extenders: []\n"
                "clientConnection:\n"
                "  kubeconfig: /etc/kubernetes/scheduler.conf\n"
                "  acceptContentTypes: application/json\n"
                "  contentType: application/json\n"
                "  qps: 200.5\n"
                "  burst: 400\n"
                "leaderElection:\n"
                "  leaderElect: false\n"
                "  leaseDuration: 1m30s\n"
                "  renewDeadline: 45s\n"
                "  retryPeriod: 500ms\n"
                "  resourceLock: leases\n"
                "  resourceName: cosched\n"
                "  resourceNamespace: sched\n"
                "profiles:\n"
                "- schedulerName: ack-co-scheduler\n"
                "  percentageOfNodesToScore: 70\n"
                "  plugins:\n"
                "    multiPoint:\n"
                "      enabled: [{name: Gang, weight: 5}]\n"
                "    score:\n"
                "      enabled:\n"
                "      - name: NodeResourcesFit\n"
                "        weight: 3\n"
                "      - {name: ImageLocality}\n"
                "      disabled:\n"
                "      - name: '*'\n"
                "    filter: {disabled: [{name: NodePorts}]}\n"
                "    preEnqueue: null\n"
                "  pluginConfig:\n"
                "  - name: NodeResourcesFit\n"
                "    args:\n"
                "      scoringStrategy: {type: MostAllocated}\n"
                "  - name: Gang\n"
                "- schedulerName: second\n",
            &c);
    assert_int_equal(c.parallelism, 32);
    assert_int_equal(c.percentage_of_nodes_to_score, 0);
    assert_int_equal(c.percentage_of_placements_to_score, 40);
    assert_int_equal(c.pod_initial_backoff_seconds, 2);
    assert_int_equal(c.pod_max_backoff_seconds, 60);
    assert_int_equal(c.enable_profiling, 0);
    assert_int_equal(c.enable_contention_profiling, 0);
    assert_int_equal(c.delay_cache_until_active, 1);
    assert_string_equal(c.client_connection.kubeconfig, "/etc/kubernetes/scheduler.conf");
    assert_string_equal(c.client_connection.accept_content_types, "application/json");
    assert_string_equal(c.client_connection.content_type, "application/json");
    assert_true(c.client_connection.qps == 200.5);
    assert_int_equal(c.client_connection.burst, 400);
    assert_int_equal(c.leader_election.leader_elect, 0);
    assert_int_equal(c.leader_election.lease_duration_ms, 90000);
    assert_int_equal(c.leader_election.renew_deadline_ms, 45000);
    assert_int_equal(c.leader_election.retry_period_ms, 500);
    assert_string_equal(c.leader_election.resource_name, "cosched");
    assert_string_equal(c.leader_election.resource_namespace, "sched");

    assert_int_equal(c.nprofiles, 2);
    const struct cs_config_profile *p = cs_config_find_profile(&c, "ack-co-scheduler");
    assert_ptr_equal(p, &c.profiles[0]);
    assert_ptr_equal(cs_config_find_profile(&c, "second"), &c.profiles[1]);
    assert_null(cs_config_find_profile(&c, "default-scheduler"));
    assert_int_equal(p->percentage_of_nodes_to_score, 70);
    assert_int_equal(cs_config_percentage_of_nodes_to_score(&c, p), 70);
    assert_int_equal(cs_config_percentage_of_nodes_to_score(&c, &c.profiles[1]), 0);
    assert_int_equal(c.profiles[1].index, 1);

    const struct cs_config_plugin_set *mp = &p->plugins.sets[CS_CONFIG_MULTI_POINT];
    assert_int_equal(mp->nenabled, 1);
    assert_string_equal(mp->enabled[0].name, "Gang");
    assert_int_equal(mp->enabled[0].weight, 5);
    const struct cs_config_plugin_set *sc = &p->plugins.sets[CS_EP_SCORE];
    assert_int_equal(sc->nenabled, 2);
    assert_string_equal(sc->enabled[0].name, "NodeResourcesFit");
    assert_int_equal(sc->enabled[0].weight, 3);
    assert_string_equal(sc->enabled[1].name, "ImageLocality");
    assert_int_equal(sc->enabled[1].weight, 0);
    assert_int_equal(sc->ndisabled, 1);
    assert_string_equal(sc->disabled[0].name, "*");
    assert_int_equal(p->plugins.sets[CS_EP_FILTER].ndisabled, 1);
    assert_string_equal(p->plugins.sets[CS_EP_FILTER].disabled[0].name, "NodePorts");
    assert_int_equal(p->plugins.sets[CS_EP_PRE_ENQUEUE].nenabled, 0);

    const json_t *args = cs_config_plugin_args(p, "NodeResourcesFit");
    assert_non_null(args);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(args, "scoringStrategy"), "type")),
        "MostAllocated");
    assert_null(cs_config_plugin_args(p, "Gang")); /* listed without args */
    assert_null(cs_config_plugin_args(p, "ImageLocality"));
    assert_null(cs_config_plugin_args(&c.profiles[1], "NodeResourcesFit"));
    cs_config_free(&c);
}

static void test_config_json_input_and_manifest(void **state)
{
    (void)state;
    struct cs_config c;
    load_ok("{\"apiVersion\":\"kubescheduler.config.k8s.io/v1\","
            "\"kind\":\"KubeSchedulerConfiguration\",\"parallelism\":4,"
            "\"profiles\":[{\"schedulerName\":\"a\"},{\"schedulerName\":\"b\"}]}",
            &c);
    assert_int_equal(c.parallelism, 4);
    assert_int_equal(c.nprofiles, 2);
    assert_string_equal(c.profiles[1].scheduler_name, "b");
    cs_config_free(&c);

    char err[512] = "";
    if (cs_config_load_file("manifests/config/scheduler-config.yaml", &c, err, sizeof(err)) != 0) {
        fail_msg("shipped manifest: %s", err);
    }
    assert_int_equal(c.nprofiles, 1);
    assert_string_equal(c.profiles[0].scheduler_name, "ack-co-scheduler");
    const json_t *args = cs_config_plugin_args(&c.profiles[0], "NodeResourcesFit");
    assert_non_null(args);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(args, "scoringStrategy"), "type")),
        "MostAllocated");
    cs_config_free(&c);

    /* A file on disk, with the path in errors. */
    char path[] = "/tmp/cs_config_test_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *bad = HDR "parallelism: 8\nprofiles:\n- schedulerName: x\n  pluginz: {}\n";
    assert_int_equal(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
    close(fd);
    assert_int_equal(cs_config_load_file(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, ": profiles[0].pluginz: unknown field"));
    unlink(path);
    assert_int_equal(cs_config_load_file(path, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "No such file or directory"));
}

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *want;
    } rows[] = {
        /* document shape, apiVersion, kind */
        { "kind: KubeSchedulerConfiguration\n", "apiVersion: required" },
        { "apiVersion: kubescheduler.config.k8s.io/v1beta3\nkind: KubeSchedulerConfiguration\n",
          "apiVersion: kubescheduler.config.k8s.io/v1beta3 is not supported; use "
          "kubescheduler.config.k8s.io/v1" },
        { "apiVersion: v1\nkind: KubeSchedulerConfiguration\n", "unknown API version \"v1\"" },
        { "apiVersion: kubescheduler.config.k8s.io/v1\nkind: Pod\n",
          "kind: want KubeSchedulerConfiguration, got \"Pod\"" },
        { "apiVersion: kubescheduler.config.k8s.io/v1\n", "kind: want KubeSchedulerConfiguration" },
        { "- a\n", "must be a KubeSchedulerConfiguration object" },
        { HDR "parallelism: [1\n", "line 4" },
        { HDR "parallelism: 1\nparallelism: 2\n", "duplicate mapping key \"parallelism\"" },
        /* strict fields */
        { HDR "paralellism: 1\n", "paralellism: unknown field" },
        { HDR "healthzBindAddress: 0.0.0.0:10251\n", "healthzBindAddress: unknown field" },
        { HDR "leaderElection: {leaderElect: true, lease: 1s}\n",
          "leaderElection.lease: unknown field" },
        { HDR "clientConnection: {qps: 1, bust: 2}\n", "clientConnection.bust: unknown field" },
        { HDR "profiles:\n- schedulerName: a\n  plugins:\n    score:\n      enabled:\n"
              "      - name: A\n      - name: B\n        wieght: 2\n",
          "profiles[0].plugins.score.enabled[1].wieght: unknown field" },
        { HDR "profiles:\n- plugins: {scoring: {}}\n", "profiles[0].plugins.scoring: unknown field" },
        { HDR "profiles:\n- plugins: {filter: {enable: []}}\n",
          "profiles[0].plugins.filter.enable: unknown field" },
        { HDR "profiles:\n- pluginConfig: [{name: A, arg: {}}]\n",
          "profiles[0].pluginConfig[0].arg: unknown field" },
        /* types */
        { HDR "parallelism: many\n", "parallelism: must be an integer" },
        { HDR "parallelism: 1.5\n", "parallelism: must be an integer" },
        { HDR "parallelism: 4294967296\n", "parallelism: 4294967296 is out of range" },
        { HDR "enableProfiling: yes\n", "enableProfiling: must be a boolean" },
        { HDR "clientConnection: {qps: fast}\n", "clientConnection.qps: must be a number" },
        { HDR "clientConnection: {kubeconfig: 5}\n", "clientConnection.kubeconfig: must be a string" },
        { HDR "leaderElection: {leaseDuration: 15}\n",
          "leaderElection.leaseDuration: must be a duration string" },
        { HDR "leaderElection: {leaseDuration: \"15\"}\n",
          "leaderElection.leaseDuration: missing unit in duration \"15\"" },
        { HDR "leaderElection: {retryPeriod: 2 s}\n",
          "leaderElection.retryPeriod: unknown unit in duration \"2 s\"" },
        { HDR "profiles: {}\n", "profiles: must be an array" },
        { HDR "profiles: [5]\n", "profiles[0]: must be an object" },
        { HDR "profiles: [{plugins: []}]\n", "profiles[0].plugins: must be an object" },
        { HDR "profiles: [{plugins: {score: {enabled: {}}}}]\n",
          "profiles[0].plugins.score.enabled: must be an array" },
        { HDR "profiles: [{plugins: {score: {enabled: [{name: A, weight: x}]}}}]\n",
          "profiles[0].plugins.score.enabled[0].weight: must be an integer" },
        { HDR "profiles: [{pluginConfig: [{name: A, args: [1]}]}]\n",
          "profiles[0].pluginConfig[0].args: must be an object" },
        { HDR "extenders: [{urlPrefix: http://x}]\n", "extenders: scheduler extenders are not "
                                                      "supported" },
        /* validation */
        { HDR "parallelism: 0\n", "parallelism: must be greater than zero, got 0" },
        { HDR "parallelism: -3\n", "parallelism: must be greater than zero, got -3" },
        { HDR "percentageOfNodesToScore: 101\n",
          "percentageOfNodesToScore: must be between 0 and 100, got 101" },
        { HDR "percentageOfNodesToScore: -1\n",
          "percentageOfNodesToScore: must be between 0 and 100, got -1" },
        { HDR "profiles: [{percentageOfNodesToScore: 150}]\n",
          "profiles[0].percentageOfNodesToScore: must be between 0 and 100, got 150" },
        { HDR "podInitialBackoffSeconds: 0\n", "podInitialBackoffSeconds: must be greater than zero" },
        { HDR "podInitialBackoffSeconds: -1\n", "podInitialBackoffSeconds: must be greater than" },
        { HDR "podInitialBackoffSeconds: 5\npodMaxBackoffSeconds: 4\n",
          "podMaxBackoffSeconds: must be greater than or equal to podInitialBackoffSeconds (5), "
          "got 4" },
        { HDR "clientConnection: {qps: -1}\n", "clientConnection.qps: must be non-negative" },
        { HDR "clientConnection: {burst: -1}\n", "clientConnection.burst: must be non-negative" },
        { HDR "leaderElection: {leaseDuration: 0s}\n",
          "leaderElection.leaseDuration: must be greater than zero" },
        { HDR "leaderElection: {leaseDuration: 10s}\n",
          "leaderElection.leaseDuration: must be greater than renewDeadline" },
        { HDR "leaderElection: {retryPeriod: 10s}\n",
          "leaderElection.renewDeadline: must be greater than retryPeriod" },
        { HDR "leaderElection: {resourceLock: endpoints}\n",
          "leaderElection.resourceLock: unsupported lock \"endpoints\"" },
        { HDR "leaderElection: {resourceName: \"\"}\n", "leaderElection.resourceName: required" },
        { HDR "profiles:\n- schedulerName: a\n- schedulerName: b\n- schedulerName: a\n",
          "profiles[2].schedulerName: duplicate \"a\" (also profiles[0])" },
        { HDR "profiles:\n- schedulerName: a\n- percentageOfNodesToScore: 5\n",
          "profiles[1].schedulerName: required" },
        { HDR "profiles: [{schedulerName: \"\"}]\n", "profiles[0].schedulerName: required" },
        { HDR "profiles: [{plugins: {score: {enabled: [{name: A, weight: -2}]}}}]\n",
          "profiles[0].plugins.score.enabled[0].weight: must be non-negative, got -2" },
        { HDR "profiles: [{plugins: {multiPoint: {enabled: [{weight: 2}]}}}]\n",
          "profiles[0].plugins.multiPoint.enabled[0].name: required" },
        { HDR "profiles: [{plugins: {bind: {disabled: [{}]}}}]\n",
          "profiles[0].plugins.bind.disabled[0].name: required" },
        { HDR "profiles: [{pluginConfig: [{name: A}, {name: B}, {name: A}]}]\n",
          "profiles[0].pluginConfig[2].name: duplicate plugin config for \"A\"" },
        { HDR "profiles: [{pluginConfig: [{args: {}}]}]\n",
          "profiles[0].pluginConfig[0].name: required" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char err[512] = "";
        struct cs_config c;
        int rc = cs_config_load_string(rows[i].text, strlen(rows[i].text), &c, err, sizeof(err));
        if (rc != -1 || strstr(err, rows[i].want) == NULL) {
            fail_msg("row %zu: rc=%d err=\"%s\" want \"%s\"\n--\n%s", i, rc, err, rows[i].want,
                     rows[i].text);
        }
        /* Nothing is left to free after an error. */
        assert_int_equal(c.nprofiles, 0);
        assert_null(c.profiles);
    }
}

/* Validation of a config assembled in code. */
static void test_config_validate_in_code(void **state)
{
    (void)state;
    struct cs_config c;
    char err[256];
    cs_config_defaults(&c);
    c.leader_election.leader_elect = 0;
    c.leader_election.lease_duration_ms = 0; /* not checked when leader election is off */
    assert_int_equal(cs_config_validate(&c, err, sizeof(err)), 0);
    c.profiles[0].percentage_of_placements_to_score = 101;
    assert_int_equal(cs_config_validate(&c, err, sizeof(err)), -1);
    assert_string_equal(err, "profiles[0].percentageOfPlacementsToScore: must be between 0 and "
                             "100, got 101");
    cs_config_free(&c);
    cs_config_defaults(&c);
    cs_config_free(&c); /* leaves nprofiles = 0 */
    assert_int_equal(c.nprofiles, 0);
    cs_config_defaults(&c);
    struct cs_config_profile *keep = c.profiles;
    size_t keepn = c.nprofiles;
    c.nprofiles = 0;
    assert_int_equal(cs_config_validate(&c, err, sizeof(err)), -1);
    assert_string_equal(err, "profiles: at least one profile is required");
    c.nprofiles = keepn;
    c.profiles = keep;
    cs_config_free(&c);
}

/* Writing the effective config and reading it back (as YAML) gives the same config. */
static void test_config_encode_round_trip(void **state)
{
    (void)state;
    static const char *const docs[] = {
        HDR,
        HDR "parallelism: 3\npercentageOfNodesToScore: 0\nleaderElection: {leaseDuration: 1m30s, "
            "renewDeadline: 1.5s, retryPeriod: 250ms}\nclientConnection: {qps: 12.5}\n"
            "profiles:\n- schedulerName: a\n  percentageOfNodesToScore: 9\n  plugins:\n"
            "    multiPoint: {enabled: [{name: X, weight: 4}], disabled: [{name: '*'}]}\n"
            "    score: {enabled: [{name: Y}]}\n"
            "  pluginConfig: [{name: X, args: {k: [1, \"true\"]}}, {name: Y}]\n"
            "- schedulerName: b\n",
    };
    for (size_t i = 0; i < N(docs); i++) {
        struct cs_config c, back;
        char err[256];
        load_ok(docs[i], &c);
        json_t *j = cs_config_to_json(&c);
        struct cs_buf b;
        cs_buf_init(&b);
        cs_json_to_yaml(j, &b);
        if (cs_config_load_string(b.data, b.len, &back, err, sizeof(err)) != 0) {
            fail_msg("re-read failed: %s\n%s", err, b.data);
        }
        json_t *j2 = cs_config_to_json(&back);
        if (!json_equal(j, j2)) {
            fail_msg("round trip differs:\n%s", b.data);
        }
        assert_int_equal(back.leader_election.lease_duration_ms,
                         c.leader_election.lease_duration_ms);
        assert_int_equal(back.nprofiles, c.nprofiles);
        json_decref(j);
        json_decref(j2);
        cs_buf_free(&b);
        cs_config_free(&back);
        cs_config_free(&c);
    }
    /* Spot-check the encoded defaults. */
    struct cs_config d;
    cs_config_defaults(&d);
    json_t *j = cs_config_to_json(&d);
    assert_string_equal(json_string_value(json_object_get(j, "apiVersion")),
                        "kubescheduler.config.k8s.io/v1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "leaderElection"), "leaseDuration")),
        "15s");
    assert_null(json_object_get(j, "percentageOfNodesToScore"));
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "profiles"), 0), "schedulerName")),
                        "ack-co-scheduler");
    json_decref(j);
    cs_config_free(&d);
}

static void test_ext_point_names(void **state)
{
    (void)state;
    static const char *const names[CS_EP_COUNT] = {
        "PreEnqueue", "QueueSort", "PreFilter", "Filter",  "PostFilter", "PreScore",
        "Score",      "Reserve",   "Permit",    "PreBind", "Bind",       "PostBind",
    };
    for (int i = 0; i < CS_EP_COUNT; i++) {
        assert_string_equal(cs_ext_point_name((enum cs_ext_point)i), names[i]);
        const char *key = cs_ext_point_config_key((enum cs_ext_point)i);
        /* config key = name with a lowercase first letter */
        assert_int_equal(key[0], names[i][0] - 'A' + 'a');
        assert_string_equal(key + 1, names[i] + 1);
        assert_int_equal(cs_ext_point_from_config_key(key), i);
    }
    assert_string_equal(cs_ext_point_name(CS_EP_COUNT), "?");
    assert_int_equal(cs_ext_point_from_config_key("multiPoint"), CS_EP_COUNT);
    assert_int_equal(cs_ext_point_from_config_key("Score"), CS_EP_COUNT);
}

/* Whether clientConnection.qps/burst were written (even with kube-scheduler's default
 * values) is kept, so cosched can apply its own default only when the user said nothing. */
static void test_client_connection_rates_remember_being_set(void **state)
{
    (void)state;
    struct cs_config c;
    load_ok(HDR, &c);
    assert_int_equal(c.client_connection.qps_set, 0);
    assert_int_equal(c.client_connection.burst_set, 0);
    cs_config_free(&c);
    load_ok(HDR "clientConnection:\n  qps: 50\n", &c);
    assert_int_equal(c.client_connection.qps_set, 1);
    assert_int_equal(c.client_connection.burst_set, 0);
    assert_true(c.client_connection.qps == 50);
    cs_config_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_full_example),
        cmocka_unit_test(test_config_json_input_and_manifest),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_validate_in_code),
        cmocka_unit_test(test_config_encode_round_trip),
        cmocka_unit_test(test_ext_point_names),
        cmocka_unit_test(test_client_connection_rates_remember_being_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
