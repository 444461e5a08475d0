/* Specification of the small utilities: arena, hash map, interning, buffers, time, logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/arena.h"
#include "pkg/util/buf.h"
#include "pkg/util/flag.h"
#include "pkg/util/intern.h"
#include "pkg/util/log.h"
#include "pkg/util/map.h"
#include "pkg/util/timeutil.h"

static void test_arena_alloc_is_aligned_and_survives_big_requests(void **state)
{
    (void)state;
    struct cs_arena a;
    cs_arena_init(&a, 1024);
    char *p = cs_arena_alloc(&a, 3);
    char *q = cs_arena_alloc(&a, 5);
    assert_int_equal((uintptr_t)p % 16, 0);
    assert_int_equal((uintptr_t)q % 16, 0);
    assert_ptr_not_equal(p, q);
    char *big = cs_arena_zalloc(&a, 100000);
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(big[i], 0);
    }
    char *s = cs_arena_printf(&a, "%s-%d", "node", 42);
    assert_string_equal(s, "node-42");
    cs_arena_reset(&a);
    char *r = cs_arena_strdup(&a, "again");
    assert_string_equal(r, "again");
    cs_arena_destroy(&a);
}

static void test_map_put_get_delete_many(void **state)
{
    (void)state;
    struct cs_map m;
    cs_map_init(&m);
    char keys[5000][16];
    for (int i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%d", i);
        assert_null(cs_map_put(&m, keys[i], (void *)(intptr_t)(i + 1)));
    }
    assert_int_equal(cs_map_len(&m), 5000);
    for (int i = 0; i < 5000; i += 2) {
        assert_int_equal((intptr_t)cs_map_del(&m, keys[i]), i + 1);
    }
    assert_int_equal(cs_map_len(&m), 2500);
    for (int i = 0; i < 5000; i++) {
        intptr_t v = (intptr_t)cs_map_get(&m, keys[i]);
        assert_int_equal(v, (i % 2) ? i + 1 : 0);
    }
    assert_int_equal((intptr_t)cs_map_put(&m, keys[1], (void *)7), 2);
    assert_int_equal((intptr_t)cs_map_get(&m, "k1"), 7);
    size_t it = 0, n = 0;
    while (cs_map_next(&m, &it, NULL, NULL)) {
        n++;
    }
    assert_int_equal(n, 2500);
    cs_map_destroy(&m);
}

static void test_intern_returns_one_copy_per_string(void **state)
{
    (void)state;
    struct cs_intern t;
    cs_intern_init(&t);
    char a[] = "kubernetes.io/hostname";
    char b[] = "kubernetes.io/hostname";
    const char *x = cs_intern(&t, a);
    const char *y = cs_intern(&t, b);
    assert_ptr_equal(x, y);
    assert_ptr_not_equal(x, a);
    assert_ptr_not_equal(cs_intern(&t, "zone"), x);
    assert_ptr_equal(cs_intern_n(&t, "zonex", 4), cs_intern(&t, "zone"));
    assert_int_equal(cs_intern_len(&t), 2);
    cs_intern_destroy(&t);
}

static void test_buf_json_and_url_escaping(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_json_str(&b, "a\"b\\c\n\x01");
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\"");
    cs_buf_reset(&b);
    cs_buf_url_escape(&b, "status.phase!=Succeeded,x=y z");
    assert_string_equal(b.data, "status.phase%21%3DSucceeded%2Cx%3Dy%20z");
    cs_buf_consume(&b, 7);
    assert_string_equal(b.data, "phase%21%3DSucceeded%2Cx%3Dy%20z");
    char *s = cs_buf_steal(&b);
    assert_int_equal(b.len, 0);
    cs_free(s);
}

static void test_str_join_concatenates_and_cuts_like_snprintf(void **state)
{
    (void)state;
    char buf[8];
    assert_int_equal(cs_str_join(buf, sizeof(buf), "ab", "", "cd", (const char *)NULL), 4);
    assert_string_equal(buf, "abcd");
    /* cut to fit, the whole length returned */
    assert_int_equal(cs_str_join(buf, sizeof(buf), "Bearer ", "tok", (const char *)NULL), 10);
    assert_string_equal(buf, "Bearer ");
    assert_int_equal(cs_str_join(buf, 1, "x", (const char *)NULL), 1);
    assert_string_equal(buf, "");
    assert_int_equal(cs_str_join(buf, sizeof(buf), (const char *)NULL), 0);
    assert_string_equal(buf, "");
    assert_int_equal(cs_str_join(NULL, 0, "abc", (const char *)NULL), 3);
}

static void test_time_round_trips_rfc3339(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(cs_parse_time("2024-01-02T03:04:05Z", &t), 0);
    char buf[40];
    cs_fmt_time(t, buf, sizeof(buf));
    assert_string_equal(buf, "2024-01-02T03:04:05Z");
    assert_int_equal(cs_parse_time("2024-01-02T03:04:05.123456Z", &t), 0);
    cs_fmt_microtime(t, buf, sizeof(buf));
    assert_string_equal(buf, "2024-01-02T03:04:05.123456Z");
    int64_t u;
    assert_int_equal(cs_parse_time("2024-01-02T05:04:05.123456+02:00", &u), 0);
    assert_true(u == t);
    assert_int_equal(cs_parse_time("yesterday", &t), -1);
    assert_int_equal(cs_parse_time("2024-01-02T03:04:05", &t), -1);
}

/* The hand-written formatter agrees with gmtime + strftime on every second it is given (years 1
 * to 9999 at random, the day and leap-year edges), and cuts a short buffer like snprintf. */
static void test_rfc3339_formatter_agrees_with_libc(void **state)
{
    (void)state;
    static const int64_t edges[] = { 0, -1, 86399, 86400, 951782400 /* 2000-02-29 */,
                                     4107542399 /* 2100-02-28T23:59:59 */, 4107542400,
                                     -62135596800 /* 0001-01-01 */, 253402300799 /* 9999-12-31 */ };
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 200000; i++) {
        int64_t sec;
        if (i < (int)(sizeof(edges) / sizeof(edges[0]))) {
            sec = edges[i];
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            sec = -62135596800LL + (int64_t)(x % (253402300799ULL + 62135596801ULL));
        }
        time_t t = (time_t)sec;
        struct tm tm;
        assert_non_null(gmtime_r(&t, &tm));
        char want[64], got[64];
        size_t k = strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S", &tm);
        if (tm.tm_year + 1900 < 1000) {
            /* glibc's %Y does not pad; Go (and we) print 4 digits */
            char rest[48];
            snprintf(rest, sizeof(rest), "%s", strchr(want, '-'));
            snprintf(want, sizeof(want), "%04d%s", tm.tm_year + 1900, rest);
            k = strlen(want);
        }
        snprintf(want + k, sizeof(want) - k, ".%06dZ", (int)(i % 1000000));
        cs_fmt_rfc3339(sec, (int64_t)(i % 1000000) * 1000, true, got, sizeof(got));
        assert_string_equal(got, want);
        want[k] = 'Z', want[k + 1] = '\0';
        cs_fmt_rfc3339(sec, 0, false, got, sizeof(got));
        assert_string_equal(got, want);
    }
    char small[11];
    cs_fmt_rfc3339(0, 0, false, small, sizeof(small));
    assert_string_equal(small, "1970-01-01");
    cs_fmt_microtime(-1000, small, sizeof(small)); /* 1 µs before the epoch */
    char full[40];
    cs_fmt_microtime(-1000, full, sizeof(full));
    assert_string_equal(full, "1969-12-31T23:59:59.999999Z");
}

/* Flags split as pflag spells them; a value comes after '=' or as the next argument. */
static void test_flags_split_like_pflag(void **state)
{
    (void)state;
    char *argv[] = { "prog", "--kubeconfig=/k", "-v", "3", "--leader-elect", "--qps", "x",
                     "--help", "--last" };
    int argc = 9;
    struct cs_flag f;
    assert_int_equal(cs_flag_parse("prog", argv[1], &f), 1);
    assert_string_equal(f.key, "kubeconfig");
    assert_string_equal(f.val, "/k");
    int i = 1;
    assert_int_equal(cs_flag_take_value("prog", argc, argv, &i, &f), 0);
    assert_int_equal(i, 1);                /* had "=value": the next argument is not taken */
    i = 2;
    assert_int_equal(cs_flag_parse("prog", argv[i], &f), 1);
    assert_string_equal(f.key, "v");
    assert_null(f.val);
    assert_int_equal(cs_flag_take_value("prog", argc, argv, &i, &f), 0);
    assert_int_equal(i, 3);
    assert_string_equal(f.val, "3");
    assert_int_equal(cs_flag_parse("prog", argv[4], &f), 1);
    assert_string_equal(f.key, "leader-elect");
    assert_int_equal(cs_flag_parse("prog", argv[7], &f), 0);   /* --help */
    assert_int_equal(cs_flag_parse("prog", "stray", &f), -1);
    i = 8;
    assert_int_equal(cs_flag_parse("prog", argv[i], &f), 1);
    assert_int_equal(cs_flag_take_value("prog", argc, argv, &i, &f), -1); /* nothing after it */
    static const char *const names[] = { "kubeconfig", "v", NULL };
    assert_true(cs_flag_listed(names, "v"));
    assert_false(cs_flag_listed(names, "qps"));
}

static void test_log_writes_klog_text_format(void **state)
{
    (void)state;
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    cs_log_set_stream(f);
    CS_INFO_S("Pod scheduled", CS_KV("pod", "ns/p\"q"), CS_KVI("score", 87));
    CS_ERROR_S("boom", "Bind failed");
    cs_log_set_stream(NULL);
    fclose(f);
    assert_non_null(strstr(mem, "] \"Pod scheduled\" pod=\"ns/p\\\"q\" score=87\n"));
    assert_true(mem[0] == 'I');
    assert_non_null(strstr(mem, "util_test.c:"));
    assert_non_null(strstr(mem, "\nE"));
    assert_non_null(strstr(mem, "\"Bind failed\" err=\"boom\"\n"));
    free(mem);
    cs_log_set_v(3);
    assert_true(CS_V(3));
    assert_false(CS_V(4));
    cs_log_set_v(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alloc_is_aligned_and_survives_big_requests),
        cmocka_unit_test(test_map_put_get_delete_many),
        cmocka_unit_test(test_intern_returns_one_copy_per_string),
        cmocka_unit_test(test_buf_json_and_url_escaping),
        cmocka_unit_test(test_str_join_concatenates_and_cuts_like_snprintf),
        cmocka_unit_test(test_time_round_trips_rfc3339),
        cmocka_unit_test(test_rfc3339_formatter_agrees_with_libc),
        cmocka_unit_test(test_flags_split_like_pflag),
        cmocka_unit_test(test_log_writes_klog_text_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
