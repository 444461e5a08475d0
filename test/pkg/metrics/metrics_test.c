/* Specification of the Prometheus registry: exposition text, float format, vectors, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkg/metrics/metrics.h"
#include "pkg/metrics/sched_metrics.h"
#include "pkg/util/buf.h"

static const char golden[] =
    "# HELP demo_latency_seconds Latency of \\\\ things.\\nSecond line.\n"
    "# TYPE demo_latency_seconds histogram\n"
    "demo_latency_seconds_bucket{op=\"get\",le=\"0.001\"} 1\n"
    "demo_latency_seconds_bucket{op=\"get\",le=\"0.01\"} 1\n"
    "demo_latency_seconds_bucket{op=\"get\",le=\"0.1\"} 3\n"
    "demo_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
    "demo_latency_seconds_sum{op=\"get\"} 2.1205\n"
    "demo_latency_seconds_count{op=\"get\"} 4\n"
    "# HELP demo_queue_depth Pods waiting.\n"
    "# TYPE demo_queue_depth gauge\n"
    "demo_queue_depth 7.5\n"
    "# HELP demo_requests_total Requests served.\n"
    "# TYPE demo_requests_total counter\n"
    "demo_requests_total{code=\"200\",method=\"GET\"} 3\n"
    "demo_requests_total{code=\"500\",method=\"PUT \\\"x\\\"\\\\\\n\"} 1\n";

static void test_render_matches_golden_text(void **state)
{
    (void)state;
    struct cs_metrics_registry *r = cs_metrics_registry_new();
    /* registered out of name order and with label names out of order: output sorts both */
    struct cs_metric *req = cs_metrics_counter_new(r, "demo_requests_total", "Requests served.",
                                                   CS_METRICS_LABELS("method", "code"));
    struct cs_metric *q = cs_metrics_gauge_new(r, "demo_queue_depth", "Pods waiting.", NULL);
    double b[3];
    assert_int_equal(cs_metrics_exp_buckets(0.001, 10, 3, b), 3);
    struct cs_metric *lat = cs_metrics_histogram_new(r, "demo_latency_seconds",
                                                     "Latency of \\ things.\nSecond line.",
                                                     CS_METRICS_LABELS("op"), b, 3);
    struct cs_metric *unused = cs_metrics_counter_new(r, "demo_unused_total", "never observed",
                                                      CS_METRICS_LABELS("x"));
    assert_non_null(req);
    assert_non_null(q);
    assert_non_null(lat);
    assert_non_null(unused);

    cs_metrics_inc(req, CS_METRICS_LABELS("PUT \"x\"\\\n", "500"));
    cs_metrics_add(req, CS_METRICS_LABELS("GET", "200"), 2);
    cs_metrics_inc(req, CS_METRICS_LABELS("GET", "200"));
    cs_metrics_add(req, CS_METRICS_LABELS("GET", "200"), -5); /* ignored: counters only grow */
    cs_metrics_set(q, NULL, 10);
    cs_metrics_add(q, NULL, -2.5);
    cs_metrics_observe(lat, CS_METRICS_LABELS("get"), 0.001);   /* le is inclusive */
    cs_metrics_observe(lat, CS_METRICS_LABELS("get"), 0.05);
    cs_metrics_observe(lat, CS_METRICS_LABELS("get"), 0.0695);
    cs_metrics_observe(lat, CS_METRICS_LABELS("get"), 2);

    struct cs_buf out;
    cs_buf_init(&out);
    cs_metrics_render(r, &out);
    assert_string_equal(out.data, golden);
    cs_buf_free(&out);
    cs_metrics_registry_free(r);
}

static void check_float(double v, const char *want)
{
    struct cs_buf b;
    cs_buf_init(&b);
    cs_metrics_format_float(&b, v);
    assert_string_equal(b.data, want);
    cs_buf_free(&b);
}

static void test_floats_are_formatted_like_go(void **state)
{
    (void)state;
    check_float(0, "0");
    check_float(1, "1");
    check_float(100, "100");
    check_float(123456, "123456");
    check_float(1000000, "1e+06");
    check_float(1234567, "1.234567e+06");
    check_float(0.001, "0.001");
    check_float(0.0001, "0.0001");
    check_float(0.00001, "1e-05");
    check_float(1.5e-05, "1.5e-05");
    check_float(0.00001 * 1.5, "1.5000000000000002e-05");
    check_float(0.1 + 0.2, "0.30000000000000004");
    check_float(-2.5, "-2.5");
    check_float(INFINITY, "+Inf");
    check_float(-INFINITY, "-Inf");
    check_float(NAN, "NaN");
}

static void test_registration_rejects_bad_input(void **state)
{
    (void)state;
    struct cs_metrics_registry *r = cs_metrics_registry_new();
    double b[2] = { 1, 1 };
    assert_null(cs_metrics_counter_new(r, "9bad", "", NULL));
    assert_null(cs_metrics_counter_new(r, "ok_total", "", CS_METRICS_LABELS("bad-label")));
    assert_null(cs_metrics_counter_new(r, "ok_total", "", CS_METRICS_LABELS("a", "a")));
    assert_null(cs_metrics_histogram_new(r, "h", "", CS_METRICS_LABELS("le"), b, 1));
    assert_null(cs_metrics_histogram_new(r, "h", "", NULL, b, 2)); /* not increasing */
    assert_non_null(cs_metrics_counter_new(r, "ok_total", "", NULL));
    assert_null(cs_metrics_gauge_new(r, "ok_total", "", NULL)); /* duplicate */
    assert_int_equal(cs_metrics_exp_buckets(0, 2, 3, b), 0);
    assert_int_equal(cs_metrics_exp_buckets(1, 1, 3, b), 0);
    double lin[3];
    assert_int_equal(cs_metrics_linear_buckets(5, 5, 3, lin), 3);
    assert_true(lin[0] == 5 && lin[1] == 10 && lin[2] == 15);
    cs_metrics_registry_free(r);
}

static void test_vector_children_are_stable_and_many(void **state)
{
    (void)state;
    struct cs_metrics_registry *r = cs_metrics_registry_new();
    struct cs_metric *c = cs_metrics_counter_new(r, "many_total", "h", CS_METRICS_LABELS("k"));
    struct cs_metric_child *first = cs_metrics_with(c, CS_METRICS_LABELS("v0"));
    char v[32];
    for (int i = 0; i < 1000; i++) { /* forces several table growths */
        snprintf(v, sizeof v, "v%d", i);
        cs_metrics_add(c, (const char *const[]){ v }, (double)i);
    }
    assert_int_equal(cs_metrics_children(c), 1000);
    assert_ptr_equal(cs_metrics_with(c, CS_METRICS_LABELS("v0")), first);
    for (int i = 0; i < 1000; i += 97) {
        snprintf(v, sizeof v, "v%d", i);
        assert_true(cs_metrics_child_value(cs_metrics_with(c, (const char *const[]){ v })) ==
                    (double)i);
    }
    /* wrong-type operations are no-ops */
    cs_metrics_child_observe(first, 42);
    assert_true(cs_metrics_child_value(first) == 0);
    double b1[1] = { 1 };
    struct cs_metric *h = cs_metrics_histogram_new(r, "h_seconds", "h", NULL, b1, 1);
    cs_metrics_set(h, NULL, 5);
    cs_metrics_add(h, NULL, 5);
    assert_int_equal(cs_metrics_child_count(cs_metrics_with(h, NULL)), 0);
    assert_true(cs_metrics_child_sum(cs_metrics_with(h, NULL)) == 0);
    cs_metrics_registry_free(r);
}

struct hammer {
    struct cs_metric *ctr;
    struct cs_metric *hist;
    int id;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    char lbl[16];
    for (int i = 0; i < 100000; i++) {
        cs_metrics_inc(h->ctr, CS_METRICS_LABELS("shared"));
        snprintf(lbl, sizeof lbl, "k%d", i % 50); /* new combinations race between threads */
        cs_metrics_inc(h->ctr, (const char *const[]){ lbl });
        cs_metrics_observe(h->hist, NULL, (i % 2) ? 0.5 : 2.0);
    }
    return NULL;
}

static void test_two_threads_give_exact_totals(void **state)
{
    (void)state;
    struct cs_metrics_registry *r = cs_metrics_registry_new();
    double b[1] = { 1 };
    struct hammer h[2];
    struct cs_metric *ctr = cs_metrics_counter_new(r, "t_total", "h", CS_METRICS_LABELS("k"));
    struct cs_metric *hist = cs_metrics_histogram_new(r, "t_seconds", "h", NULL, b, 1);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        h[i] = (struct hammer){ ctr, hist, i };
        assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }
    assert_true(cs_metrics_child_value(cs_metrics_with(ctr, CS_METRICS_LABELS("shared"))) ==
                200000.0);
    assert_int_equal(cs_metrics_children(ctr), 51);
    assert_true(cs_metrics_child_value(cs_metrics_with(ctr, CS_METRICS_LABELS("k7"))) == 4000.0);
    struct cs_metric_child *hc = cs_metrics_with(hist, NULL);
    assert_int_equal(cs_metrics_child_count(hc), 200000);
    assert_true(cs_metrics_child_sum(hc) == 100000 * 0.5 + 100000 * 2.0);
    struct cs_buf out;
    cs_buf_init(&out);
    cs_metrics_render(r, &out);
    assert_non_null(strstr(out.data, "t_seconds_bucket{le=\"1\"} 100000\n"));
    assert_non_null(strstr(out.data, "t_seconds_bucket{le=\"+Inf\"} 200000\n"));
    cs_buf_free(&out);
    cs_metrics_registry_free(r);
}


static void test_sched_metrics_have_kube_scheduler_names_and_buckets(void **state)
{
    (void)state;
    struct cs_metrics_registry *r = cs_metrics_registry_new();
    struct cs_sched_metrics m;
    assert_int_equal(cs_sched_metrics_init(&m, r), 0);
    cs_sched_metrics_attempt(&m, CS_SCHED_RESULT_SCHEDULED, "default-scheduler", 0.003);
    cs_sched_metrics_pending(&m, 3, 2, 1, 0);
    cs_sched_metrics_cache(&m, 10, 20, 1);
    cs_metrics_observe(m.extension_point_duration,
                       CS_METRICS_LABELS("Filter", "Success", "default-scheduler"), 0.00005);
    cs_metrics_observe(m.plugin_execution_duration,
                       CS_METRICS_LABELS("NodeResourcesFit", "Filter", "Success"), 0.00001);
    cs_metrics_inc(m.preemption_attempts, NULL);
    cs_metrics_observe(m.preemption_victims, NULL, 3);
    cs_metrics_observe(m.pod_scheduling_attempts, NULL, 1);
    cs_metrics_observe(m.algorithm_duration, NULL, 0.002);
    cs_metrics_inc(m.queue_incoming_pods, CS_METRICS_LABELS("active", "PodAdd"));
    cs_metrics_inc(m.binds, CS_METRICS_LABELS("success"));
    cs_metrics_observe(m.session_duration, NULL, 0.01);
    cs_metrics_set(m.leader_status, CS_METRICS_LABELS("kube-scheduler"), 1);
    struct cs_buf out;
    cs_buf_init(&out);
    cs_metrics_render(r, &out);
    static const char *const want[] = {
        "# TYPE scheduler_schedule_attempts_total counter\n",
        "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} 1\n",
        "scheduler_scheduling_attempt_duration_seconds_bucket{profile=\"default-scheduler\","
        "result=\"scheduled\",le=\"16.384\"} 1\n",
        "scheduler_pending_pods{queue=\"active\"} 3\n",
        "scheduler_pending_pods{queue=\"gated\"} 0\n",
        "scheduler_framework_extension_point_duration_seconds_bucket{extension_point=\"Filter\","
        "profile=\"default-scheduler\",status=\"Success\",le=\"0.2048\"} 1\n",
        "scheduler_plugin_execution_duration_seconds_bucket{extension_point=\"Filter\","
        "plugin=\"NodeResourcesFit\",status=\"Success\",le=\"1e-05\"} 1\n",
        "scheduler_preemption_attempts_total 1\n",
        "scheduler_preemption_victims_bucket{le=\"64\"} 1\n",
        "scheduler_pod_scheduling_attempts_bucket{le=\"16\"} 1\n",
        "# TYPE scheduler_scheduling_algorithm_duration_seconds histogram\n",
        "scheduler_queue_incoming_pods_total{event=\"PodAdd\",queue=\"active\"} 1\n",
        "scheduler_scheduler_cache_size{type=\"assumed_pods\"} 1\n",
        "cosched_binds_total{result=\"success\"} 1\n",
        "cosched_session_duration_seconds_count 1\n",
        "leader_election_master_status{name=\"kube-scheduler\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strstr(out.data, want[i]) == NULL) {
            fail_msg("missing: %s", want[i]);
        }
    }
    /* exp(0.001,2,15) has 15 finite buckets, the last one 16.384, then +Inf */
    assert_null(strstr(out.data, "le=\"32.768\""));
    /* preemption victims: exp(1,2,7) ends at 64; pod attempts exp(1,2,5) ends at 16 */
    assert_null(strstr(out.data, "scheduler_preemption_victims_bucket{le=\"128\"}"));
    assert_null(strstr(out.data, "scheduler_pod_scheduling_attempts_bucket{le=\"32\"}"));
    cs_buf_free(&out);
    /* registering the same families twice fails */
    struct cs_sched_metrics again;
    assert_int_equal(cs_sched_metrics_init(&again, r), -1);
    cs_metrics_registry_free(r);
}


struct sampled {
    int calls;
    struct cs_metric *g;
};

static void sample(void *arg)
{
    struct sampled *s = arg;
    s->calls++;
    cs_metrics_set(s->g, NULL, s->calls * 10);
}

static void test_collectors_run_at_render_and_process_metrics_appear(void **state)
{
    (void)state;
    struct cs_metrics_registry *r = cs_metrics_registry_new();
    struct sampled smp = { 0, cs_metrics_gauge_new(r, "sampled_value", "h", NULL) };
    cs_metrics_add_collector(r, sample, &smp, NULL);
    assert_int_equal(cs_metrics_register_process(r), 0);
    assert_int_equal(cs_metrics_register_process(r), -1); /* names taken */
    struct cs_buf out;
    cs_buf_init(&out);
    cs_metrics_render(r, &out);
    assert_int_equal(smp.calls, 1);
    assert_non_null(strstr(out.data, "sampled_value 10\n"));
    cs_buf_reset(&out);
    cs_metrics_render(r, &out);
    assert_non_null(strstr(out.data, "sampled_value 20\n"));
    assert_non_null(strstr(out.data, "# TYPE process_cpu_seconds_total counter\n"));
    const char *rss = strstr(out.data, "\nprocess_resident_memory_bytes ");
    assert_non_null(rss);
    assert_true(strtod(rss + strlen("\nprocess_resident_memory_bytes "), NULL) > 1e6);
    const char *st = strstr(out.data, "\nprocess_start_time_seconds ");
    assert_non_null(st);
    double start = strtod(st + strlen("\nprocess_start_time_seconds "), NULL);
    double now = (double)time(NULL);
    assert_true(start > now - 3600 && start <= now + 1);
    const char *fds = strstr(out.data, "\nprocess_open_fds ");
    assert_non_null(fds);
    assert_true(strtod(fds + strlen("\nprocess_open_fds "), NULL) >= 3);
    cs_buf_free(&out);
    cs_metrics_registry_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_matches_golden_text),
        cmocka_unit_test(test_floats_are_formatted_like_go),
        cmocka_unit_test(test_registration_rejects_bad_input),
        cmocka_unit_test(test_vector_children_are_stable_and_many),
        cmocka_unit_test(test_two_threads_give_exact_totals),
        cmocka_unit_test(test_sched_metrics_have_kube_scheduler_names_and_buckets),
        cmocka_unit_test(test_collectors_run_at_render_and_process_metrics_appear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
