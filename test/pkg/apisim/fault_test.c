/* Fault injection: determinism by seed, fractions over many draws, codes, parsing, watches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "pkg/apisim/fault.h"
#include "pkg/util/buf.h"

#define DRAWS 10000

static struct cs_apisim_fault_config cfg_with(int op, double frac, int code, uint64_t seed)
{
    struct cs_apisim_fault_config c;
    cs_apisim_fault_config_init(&c);
    c.seed = seed;
    c.rules[op].fraction = frac;
    c.rules[op].code = code;
    return c;
}

static void test_fault_same_seed_same_decisions(void **state)
{
    (void)state;
    struct cs_apisim_fault a, b, c;
    struct cs_apisim_fault_config cfg = cfg_with(CS_APISIM_FAULT_BIND, 0.3, 500, 42);
    cs_apisim_fault_init(&a, &cfg);
    cs_apisim_fault_init(&b, &cfg);
    cfg.seed = 43;
    cs_apisim_fault_init(&c, &cfg);
    int differ = 0;
    for (int i = 0; i < DRAWS; i++) {
        struct cs_apisim_fault_decision da, db, dc;
        cs_apisim_fault_on_request(&a, "create", "pods", "binding", &da);
        cs_apisim_fault_on_request(&b, "create", "pods", "binding", &db);
        cs_apisim_fault_on_request(&c, "create", "pods", "binding", &dc);
        assert_int_equal(da.code, db.code);
        differ += da.code != dc.code;
    }
    /* Another seed gives another sequence. */
    assert_true(differ > 100);
    cs_apisim_fault_destroy(&a);
    cs_apisim_fault_destroy(&b);
    cs_apisim_fault_destroy(&c);
}

static void test_fault_fractions_within_tolerance(void **state)
{
    (void)state;
    static const double fracs[] = { 0.01, 0.1, 0.5, 0.9 };
    for (size_t k = 0; k < sizeof(fracs) / sizeof(fracs[0]); k++) {
        struct cs_apisim_fault f;
        struct cs_apisim_fault_config cfg = cfg_with(CS_APISIM_FAULT_PATCH, fracs[k], 429, 7);
        cs_apisim_fault_init(&f, &cfg);
        int hits = 0, other = 0;
        for (int i = 0; i < DRAWS; i++) {
            struct cs_apisim_fault_decision d;
            cs_apisim_fault_on_request(&f, "patch", "pods", "status", &d);
            if (d.code == 429) {
                hits++;
                assert_int_equal(d.retry_after_s, 1);
                assert_string_equal(d.reason, "TooManyRequests");
            }
            /* Other ops are untouched. */
            cs_apisim_fault_on_request(&f, "create", "pods", "binding", &d);
            other += d.code != 0;
        }
        double want = fracs[k] * DRAWS;
        double sd = sqrt(DRAWS * fracs[k] * (1 - fracs[k]));
        assert_true(fabs((double)hits - want) <= 4 * sd + 1);
        assert_int_equal(other, 0);
        assert_int_equal(f.injected[CS_APISIM_FAULT_PATCH], (uint64_t)hits);
        cs_apisim_fault_destroy(&f);
    }
}

static void test_fault_codes_and_ops(void **state)
{
    (void)state;
    struct cs_apisim_fault f;
    struct cs_apisim_fault_config cfg = cfg_with(CS_APISIM_FAULT_BIND, 1.0, 409, 1);
    cfg.rules[CS_APISIM_FAULT_CREATE].fraction = 1.0;
    cfg.rules[CS_APISIM_FAULT_CREATE].code = 500;
    cs_apisim_fault_init(&f, &cfg);
    struct cs_apisim_fault_decision d;
    cs_apisim_fault_on_request(&f, "create", "pods", "binding", &d);
    assert_int_equal(d.code, 409);
    assert_string_equal(d.reason, "Conflict");
    assert_int_equal(d.retry_after_s, 0);
    cs_apisim_fault_on_request(&f, "create", "pods", NULL, &d);
    assert_int_equal(d.code, 500);
    assert_string_equal(d.reason, "InternalError");
    cs_apisim_fault_on_request(&f, "get", "pods", NULL, &d);
    assert_int_equal(d.code, 0);
    cs_apisim_fault_on_request(&f, "watch", "pods", NULL, &d);
    assert_int_equal(d.code, 0);
    cs_apisim_fault_on_request(NULL, "create", "pods", "binding", &d);
    assert_int_equal(d.code, 0);
    assert_int_equal(cs_apisim_fault_op_of("patch", "status"), CS_APISIM_FAULT_PATCH);
    assert_int_equal(cs_apisim_fault_op_of("watch", NULL), -1);
    cs_apisim_fault_destroy(&f);
}

static void test_fault_latency_and_jitter(void **state)
{
    (void)state;
    struct cs_apisim_fault f;
    struct cs_apisim_fault_config cfg;
    cs_apisim_fault_config_init(&cfg);
    cfg.latency_us = 2000;
    cfg.jitter_us = 1000;
    cs_apisim_fault_init(&f, &cfg);
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < DRAWS; i++) {
        struct cs_apisim_fault_decision d;
        cs_apisim_fault_on_request(&f, "list", "pods", NULL, &d);
        assert_int_equal(d.code, 0);
        lo = d.delay_us < lo ? d.delay_us : lo;
        hi = d.delay_us > hi ? d.delay_us : hi;
    }
    assert_true(lo >= 2000 && lo < 2050);
    assert_true(hi <= 3000 && hi > 2950);
    cs_apisim_fault_destroy(&f);
}

static void test_fault_watch_410_and_drop(void **state)
{
    (void)state;
    struct cs_apisim_fault f;
    struct cs_apisim_fault_config cfg;
    cs_apisim_fault_config_init(&cfg);
    cfg.seed = 9;
    cfg.watch_410_fraction = 0.25;
    cfg.watch_drop_prob = 0.05;
    cs_apisim_fault_init(&f, &cfg);
    int expired = 0, dropped = 0;
    for (int i = 0; i < DRAWS; i++) {
        struct cs_apisim_fault_watch w;
        expired += cs_apisim_fault_watch_begin(&f, 1, &w);
        dropped += cs_apisim_fault_watch_should_drop(&f, &w);
        /* A fresh watch (no resourceVersion) is never expired. */
        assert_int_equal(cs_apisim_fault_watch_begin(&f, 0, &w), 0);
    }
    assert_true(fabs((double)expired - 2500) <= 4 * sqrt(DRAWS * 0.25 * 0.75));
    assert_true(fabs((double)dropped - 500) <= 4 * sqrt(DRAWS * 0.05 * 0.95));

    /* dropWatchesNow: every watch begun before it closes at its next check, later ones not. */
    cs_apisim_fault_config_init(&cfg);
    cs_apisim_fault_set(&f, &cfg);
    struct cs_apisim_fault_watch old, young;
    cs_apisim_fault_watch_begin(&f, 0, &old);
    assert_int_equal(cs_apisim_fault_watch_should_drop(&f, &old), 0);
    cs_apisim_fault_drop_all_watches(&f);
    cs_apisim_fault_watch_begin(&f, 0, &young);
    assert_int_equal(cs_apisim_fault_watch_should_drop(&f, &old), 1);
    assert_int_equal(cs_apisim_fault_watch_should_drop(&f, &young), 0);

    /* Age-based drop. */
    cfg.watch_drop_every_s = 0.5;
    cs_apisim_fault_set(&f, &cfg);
    young.started_ns -= 600000000LL;
    assert_int_equal(cs_apisim_fault_watch_should_drop(&f, &young), 1);
    cs_apisim_fault_destroy(&f);
}

static void test_fault_parse_rule_and_duration(void **state)
{
    (void)state;
    struct cs_apisim_fault_rule r;
    assert_int_equal(cs_apisim_fault_parse_rule("0.25:429", &r), 0);
    assert_true(r.fraction == 0.25 && r.code == 429);
    assert_int_equal(cs_apisim_fault_parse_rule("1", &r), 0);
    assert_true(r.fraction == 1 && r.code == 500);
    assert_int_equal(cs_apisim_fault_parse_rule("1.5", &r), -1);
    assert_int_equal(cs_apisim_fault_parse_rule("0.1:404", &r), -1);
    assert_int_equal(cs_apisim_fault_parse_rule("abc", &r), -1);
    assert_int_equal(cs_apisim_fault_parse_rule("0.1:", &r), -1);
    int64_t us;
    assert_int_equal(cs_apisim_fault_parse_duration_us("250ms", &us), 0);
    assert_int_equal(us, 250000);
    assert_int_equal(cs_apisim_fault_parse_duration_us("1.5s", &us), 0);
    assert_int_equal(us, 1500000);
    assert_int_equal(cs_apisim_fault_parse_duration_us("40", &us), 0);
    assert_int_equal(us, 40000);
    assert_int_equal(cs_apisim_fault_parse_duration_us("7us", &us), 0);
    assert_int_equal(us, 7);
    assert_int_equal(cs_apisim_fault_parse_duration_us("5h", &us), -1);
    assert_int_equal(cs_apisim_fault_parse_duration_us("", &us), -1);
}

static void test_fault_json_roundtrip_and_errors(void **state)
{
    (void)state;
    const char *in = "{\"seed\":5,\"bind\":{\"fraction\":0.5,\"code\":429},"
                     "\"latencyMs\":3,\"jitterMs\":1.5,\"watch410Fraction\":0.2,"
                     "\"watchDropProbability\":0.01,\"watchDropEverySeconds\":30,"
                     "\"retryAfterSeconds\":2}";
    struct cs_apisim_fault_config c;
    struct cs_buf err, out;
    cs_buf_init(&err);
    cs_buf_init(&out);
    assert_int_equal(cs_apisim_fault_config_from_json(in, strlen(in), &c, &err), 0);
    assert_true(c.seed == 5 && c.rules[CS_APISIM_FAULT_BIND].fraction == 0.5);
    assert_int_equal(c.rules[CS_APISIM_FAULT_BIND].code, 429);
    assert_int_equal(c.latency_us, 3000);
    assert_int_equal(c.jitter_us, 1500);
    assert_true(c.watch_410_fraction == 0.2 && c.watch_drop_prob == 0.01);
    assert_true(c.watch_drop_every_s == 30 && c.retry_after_s == 2);
    /* Absent fields are off. */
    assert_true(c.rules[CS_APISIM_FAULT_PATCH].fraction == 0);

    struct cs_apisim_fault f;
    cs_apisim_fault_init(&f, &c);
    cs_apisim_fault_to_json(&f, &out);
    struct cs_apisim_fault_config c2;
    assert_int_equal(cs_apisim_fault_config_from_json(out.data, out.len, &c2, &err), 0);
    assert_true(c2.rules[CS_APISIM_FAULT_BIND].fraction == 0.5);
    assert_int_equal(c2.latency_us, 3000);
    assert_true(c2.watch_drop_every_s == 30);
    cs_apisim_fault_destroy(&f);

    static const char *const bad[] = {
        "{\"bind\":{\"fraction\":2}}", "{\"bind\":{\"code\":404}}", "{\"bogus\":1}",
        "{\"latencyMs\":-1}", "[1]", "{\"bind\":0.5}", "not json", "{\"watch410Fraction\":3}",
    };
    static const char *const names[] = { "bind.fraction", "bind.code", "bogus", "latencyMs",
                                         "object", "bind", "invalid JSON", "watch410Fraction" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cs_buf_reset(&err);
        assert_int_equal(cs_apisim_fault_config_from_json(bad[i], strlen(bad[i]), &c, &err), -1);
        assert_non_null(strstr(err.data, names[i]));
    }
    cs_buf_free(&err);
    cs_buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_same_seed_same_decisions),
        cmocka_unit_test(test_fault_fractions_within_tolerance),
        cmocka_unit_test(test_fault_codes_and_ops),
        cmocka_unit_test(test_fault_latency_and_jitter),
        cmocka_unit_test(test_fault_watch_410_and_drop),
        cmocka_unit_test(test_fault_parse_rule_and_duration),
        cmocka_unit_test(test_fault_json_roundtrip_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
