/* Quantity grammar, rounding, saturation and canonical form (k8s-api.md §8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/quantity.h"

struct qcase {
    const char *in;
    int64_t milli;
    int64_t value;
    const char *canonical;
};

static const struct qcase valid_cases[] = {
    {"0", 0, 0, "0"},
    {"000", 0, 0, "0"},
    {"-0", 0, 0, "0"},
    {"0Gi", 0, 0, "0"},
    {"1", 1000, 1, "1"},
    {"100m", 100, 1, "100m"},
    {"1000m", 1000, 1, "1"},
    {"1500m", 1500, 2, "1500m"},
    {"1.5", 1500, 2, "1500m"},
    {".5", 500, 1, "500m"},
    {"0.5", 500, 1, "500m"},
    {"1.", 1000, 1, "1"},
    {"+2", 2000, 2, "2"},
    {"-1", -1000, -1, "-1"},
    {"-1.5", -1500, -2, "-1500m"},
    {"1k", 1000000, 1000, "1k"},
    {"1Ki", 1024000, 1024, "1Ki"},
    {"1Mi", 1048576000, 1048576, "1Mi"},
    {"1Gi", 1073741824000, 1073741824, "1Gi"},
    {"1.5Gi", 1610612736000, 1610612736, "1536Mi"},
    {"-1.5Gi", -1610612736000, -1610612736, "-1536Mi"},
    {"2048Ki", 2097152000, 2097152, "2Mi"},
    {"1024", 1024000, 1024, "1024"},
    {"1000Mi", 1048576000000, 1048576000, "1000Mi"},
    {"0.5Ki", 512000, 512, "512"},
    {"0.9Gi", 966367641600, 966367642, "966367641600m"},
    {"1e3", 1000000, 1000, "1e3"},
    {"1E3", 1000000, 1000, "1e3"},
    {"1e+3", 1000000, 1000, "1e3"},
    {"1.5e3", 1500000, 1500, "1500"},
    {"5e-3", 5, 1, "5e-3"},
    {"1e0", 1000, 1, "1"},
    {"1E", INT64_MAX, 1000000000000000000, "1E"},
    {"1M", 1000000000, 1000000, "1M"},
    {"1G", 1000000000000, 1000000000, "1G"},
    {"1T", 1000000000000000, 1000000000000, "1T"},
    {"1P", 1000000000000000000, 1000000000000000, "1P"},
    {"1u", 1, 1, "1u"},
    {"1n", 1, 1, "1n"},
    {"1000n", 1, 1, "1u"},
    {"0.1m", 1, 1, "100u"},
    {"0.1n", 1, 1, "1n"},
    {"0.0000000001", 1, 1, "1n"},
    {"-0.1n", -1, -1, "-1n"},
    {"1.G", 1000000000000, 1000000000, "1G"},
    {"12.5k", 12500000, 12500, "12500"},
    {"9223372036854775807", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"9223372036854775808", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"100000000000000000000000000000000000000000", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"8Ei", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"-8Ei", INT64_MIN, -INT64_MAX, "-9223372036854775807"},
    {"1e100", INT64_MAX, INT64_MAX, "9223372036854775807"},
    {"1e-100", 1, 1, "1e-9"},
    {"1.000000000000000000000000000000000001", 1001, 2, "1000000001n"},
    {"0.000000000000000000000000000000000000000000001Ei", 1, 1, "1n"},
    {"9223372036854775.807k", INT64_MAX, 9223372036854775807, "9223372036854775807"},
};

static void test_valid_quantities(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const struct qcase *c = &valid_cases[i];
        struct cs_quantity q;
        char buf[CS_QUANTITY_STRLEN];
        if (cs_quantity_parse(c->in, &q) != 0)
            fail_msg("%s: rejected", c->in);
        if (cs_quantity_milli(&q) != c->milli)
            fail_msg("%s: milli %lld, want %lld", c->in, (long long)cs_quantity_milli(&q),
                     (long long)c->milli);
        if (cs_quantity_value(&q) != c->value)
            fail_msg("%s: value %lld, want %lld", c->in, (long long)cs_quantity_value(&q),
                     (long long)c->value);
        size_t n = cs_quantity_format(&q, buf, sizeof(buf));
        if (strcmp(buf, c->canonical) != 0)
            fail_msg("%s: canonical %s, want %s", c->in, buf, c->canonical);
        assert_int_equal(n, strlen(c->canonical));
        /* The canonical form is a fixed point: it parses back to the same value and text. */
        struct cs_quantity back;
        char buf2[CS_QUANTITY_STRLEN];
        assert_int_equal(cs_quantity_parse(buf, &back), 0);
        assert_int_equal(cs_quantity_cmp(&q, &back), 0);
        cs_quantity_format(&back, buf2, sizeof(buf2));
        assert_string_equal(buf, buf2);
    }
}

static void test_invalid_quantities(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "1.2.3", "1Z", "--1", "+-1", "1 Gi", " 1", "1 ", "Gi", "1e", "1e+", "1E-", ".", "+",
        "-", "1ki", "1K", "1KI", "1Gib", "1mi", "1ee3", "1e3.5", "1e3k", "k", "1..", "..5",
        "0x10", "1,5", "1_000", "∞", "1Gi ", "\t1", "1e 3", "e3", "1i", "NaN", "Inf",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cs_quantity q = {.whole = 77, .nanos = 0, .neg = false, .format = CS_QF_DECIMAL_SI};
        if (cs_quantity_parse(bad[i], &q) == 0)
            fail_msg("\"%s\" accepted", bad[i]);
        assert_int_equal(q.whole, 77);  /* untouched on error */
    }
}

static void test_parse_n_stops_at_length(void **state)
{
    (void)state;
    struct cs_quantity q;
    assert_int_equal(cs_quantity_parse_n("250mXYZ", 4, &q), 0);
    assert_int_equal(cs_quantity_milli(&q), 250);
    assert_int_equal(cs_quantity_parse_n("250mXYZ", 5, &q), -1);
}

static void test_decimal_vs_binary(void **state)
{
    (void)state;
    struct cs_quantity k, ki;
    assert_int_equal(cs_quantity_parse("1k", &k), 0);
    assert_int_equal(cs_quantity_parse("1Ki", &ki), 0);
    assert_int_equal(cs_quantity_value(&k), 1000);
    assert_int_equal(cs_quantity_value(&ki), 1024);
    assert_int_equal(k.format, CS_QF_DECIMAL_SI);
    assert_int_equal(ki.format, CS_QF_BINARY_SI);
    assert_int_equal(cs_quantity_cmp(&k, &ki), -1);
    assert_int_equal(cs_quantity_cmp(&ki, &k), 1);
}

static void test_json_entry_point(void **state)
{
    (void)state;
    struct cs_quantity q;
    char err[128];
    char buf[CS_QUANTITY_STRLEN];
    json_t *v;

    v = json_string("250m");
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), 0);
    assert_int_equal(cs_quantity_milli(&q), 250);
    json_decref(v);

    v = json_integer(4);
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), 0);
    assert_int_equal(cs_quantity_milli(&q), 4000);
    json_decref(v);

    /* Bare reals: decimal text the encoder wrote, not the binary double's expansion. */
    v = json_real(0.1);
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), 0);
    cs_quantity_format(&q, buf, sizeof(buf));
    assert_string_equal(buf, "100m");
    json_decref(v);

    v = json_real(1.5e9);
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), 0);
    assert_int_equal(cs_quantity_value(&q), 1500000000);
    json_decref(v);

    v = json_string("1.2.3");
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), -1);
    assert_string_equal(err, "invalid quantity \"1.2.3\"");
    json_decref(v);

    v = json_true();
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "string or a number"));

    v = json_stringn("1\0Gi", 4);
    assert_int_equal(cs_quantity_from_json(v, &q, err, sizeof(err)), -1);
    json_decref(v);
}

static void test_constructors_and_truncation(void **state)
{
    (void)state;
    struct cs_quantity q;
    char buf[CS_QUANTITY_STRLEN];
    cs_quantity_from_milli(&q, 2500);
    cs_quantity_format(&q, buf, sizeof(buf));
    assert_string_equal(buf, "2500m");
    cs_quantity_from_milli(&q, INT64_MIN);
    assert_int_equal(cs_quantity_milli(&q), INT64_MIN);
    cs_quantity_from_value(&q, 3 * 1024 * 1024, CS_QF_BINARY_SI);
    cs_quantity_format(&q, buf, sizeof(buf));
    assert_string_equal(buf, "3Mi");
    cs_quantity_from_value(&q, 0, CS_QF_BINARY_SI);
    assert_true(cs_quantity_is_zero(&q));
    assert_false(q.neg);

    char small[4];
    assert_int_equal(cs_quantity_parse("1536Mi", &q), 0);
    assert_int_equal(cs_quantity_format(&q, small, sizeof(small)), 6);
    assert_string_equal(small, "153");
}

/* Property: any string either fails to parse or has a canonical form that is a fixed point. */
static void test_random_strings_roundtrip(void **state)
{
    (void)state;
    static const char alphabet[] = "0123456789.+-eEkKMGTPinum ";
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    int accepted = 0;
    for (int iter = 0; iter < 200000; iter++) {
        char s[12];
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int len = (int)((seed >> 33) % 10);
        for (int i = 0; i < len; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            s[i] = alphabet[(seed >> 33) % (sizeof(alphabet) - 1)];
        }
        s[len] = '\0';
        struct cs_quantity q, back;
        if (cs_quantity_parse(s, &q) != 0)
            continue;
        accepted++;
        char c1[CS_QUANTITY_STRLEN], c2[CS_QUANTITY_STRLEN];
        cs_quantity_format(&q, c1, sizeof(c1));
        if (cs_quantity_parse(c1, &back) != 0)
            fail_msg("%s -> %s does not parse", s, c1);
        if (cs_quantity_cmp(&q, &back) != 0)
            fail_msg("%s -> %s changes value", s, c1);
        cs_quantity_format(&back, c2, sizeof(c2));
        if (strcmp(c1, c2) != 0)
            fail_msg("%s -> %s -> %s", s, c1, c2);
        assert_true(cs_quantity_milli(&q) >= cs_quantity_value(&q) || q.neg);
    }
    assert_true(accepted > 1000);  /* the generator does reach valid inputs */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_quantities),
        cmocka_unit_test(test_invalid_quantities),
        cmocka_unit_test(test_parse_n_stops_at_length),
        cmocka_unit_test(test_decimal_vs_binary),
        cmocka_unit_test(test_json_entry_point),
        cmocka_unit_test(test_constructors_and_truncation),
        cmocka_unit_test(test_random_strings_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
