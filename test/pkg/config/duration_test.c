/* Specification of Go duration parsing and printing (metav1.Duration fields). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "pkg/config/duration.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MS 1000000LL
#define SEC (1000 * MS)

static void test_duration_parse(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ns;
    } ok[] = {
        { "0", 0 },
        { "-0", 0 },
        { "0s", 0 },
        { "15s", 15 * SEC },
        { "1m30s", 90 * SEC },
        { "500ms", 500 * MS },
        { "1.5h", 5400 * SEC },
        { "2h45m", (2 * 3600 + 45 * 60) * SEC },
        { ".5s", 500 * MS },
        { "1.s", SEC },
        { "-2us", -2000 },
        { "+3ns", 3 },
        { "7\xc2\xb5s", 7000 },
        { "7\xce\xbcs", 7000 },
        { "1h1m1s1ms1us1ns", 3661 * SEC + MS + 1000 + 1 },
        { "2562047h47m16.854775807s", INT64_MAX },
        { "-2562047h47m16.854775808s", INT64_MIN },
        { "0.000000001s", 1 },
    };
    for (size_t i = 0; i < N(ok); i++) {
        char err[128] = "";
        int64_t ns = 42;
        if (cs_duration_parse(ok[i].in, &ns, err, sizeof(err)) != 0 || ns != ok[i].ns) {
            fail_msg("\"%s\": got %lld (%s), want %lld", ok[i].in, (long long)ns, err,
                     (long long)ok[i].ns);
        }
    }
    static const struct {
        const char *in;
        const char *want;
    } bad[] = {
        { "", "invalid duration \"\"" },
        { "-", "invalid duration" },
        { "15", "missing unit in duration \"15\"" },
        { "1.5", "missing unit" },
        { "s", "invalid duration" },
        { ".s", "invalid duration" },
        { "1d", "unknown unit in duration \"1d\"" },
        { "1 s", "unknown unit" },
        { "1sec", "unknown unit" },
        { "1s2", "missing unit" },
        { "2562047h47m16.854775808s", "out of range" },
        { "99999999999999999999s", "out of range" },
    };
    for (size_t i = 0; i < N(bad); i++) {
        char err[128] = "";
        int64_t ns = 0;
        if (cs_duration_parse(bad[i].in, &ns, err, sizeof(err)) != -1 ||
            strstr(err, bad[i].want) == NULL) {
            fail_msg("\"%s\": err \"%s\", want \"%s\"", bad[i].in, err, bad[i].want);
        }
    }
}

static void test_duration_format(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *want;
    } rows[] = {
        { 0, "0s" },           { 1, "1ns" },          { 1500, "1.5us" },
        { 500 * MS, "500ms" }, { 1500 * MS, "1.5s" }, { 15 * SEC, "15s" },
        { 90 * SEC, "1m30s" }, { 3600 * SEC, "1h0m0s" }, { -2 * MS, "-2ms" },
        { INT64_MAX, "2562047h47m16.854775807s" }, { INT64_MIN, "-2562047h47m16.854775808s" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char out[64];
        cs_duration_format(rows[i].ns, out, sizeof(out));
        assert_string_equal(out, rows[i].want);
        int64_t back = 0;
        char err[64];
        assert_int_equal(cs_duration_parse(out, &back, err, sizeof(err)), 0);
        assert_int_equal(back, rows[i].ns);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse),
        cmocka_unit_test(test_duration_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
