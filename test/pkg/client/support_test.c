/* Specification of the client's pure pieces: line and frame splitting, the token bucket, backoff,
 * resourceVersion ordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/client/support.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

struct lines {
    char *v[64];
    size_t n;
};

static void collect(void *arg, const char *line, size_t len)
{
    struct lines *l = arg;
    assert_true(l->n < 64);
    assert_int_equal(strlen(line), len); /* NUL-terminated at len */
    l->v[l->n++] = cs_strndup(line, len);
}

static void lines_free(struct lines *l)
{
    for (size_t i = 0; i < l->n; i++) {
        cs_free(l->v[i]);
    }
    l->n = 0;
}

static int feed_str(struct cs_linebuf *lb, const char *s, struct lines *out)
{
    char *copy = cs_strdup(s);
    int rc = cs_linebuf_feed(lb, copy, strlen(copy), collect, out);
    cs_free(copy);
    return rc;
}

static void test_lines_split_across_chunks(void **state)
{
    (void)state;
    struct cs_linebuf lb;
    cs_linebuf_init(&lb, 0);
    struct lines out = { .n = 0 };
    assert_int_equal(feed_str(&lb, "{\"a\":1}\n{\"b\"", &out), 0);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.v[0], "{\"a\":1}");
    assert_int_equal(cs_linebuf_pending(&lb), 4);
    assert_int_equal(feed_str(&lb, ":2", &out), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(feed_str(&lb, "}\r\n\n{\"c\":3}\n", &out), 0);
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[1], "{\"b\":2}");   /* "\r\n" stripped, empty line skipped */
    assert_string_equal(out.v[2], "{\"c\":3}");
    assert_int_equal(cs_linebuf_pending(&lb), 0);
    lines_free(&out);
    cs_linebuf_free(&lb);
}

static void test_lines_byte_by_byte_and_chunk_bytes_restored(void **state)
{
    (void)state;
    const char *text = "first\nsecond line\nthird\n";
    struct cs_linebuf lb;
    cs_linebuf_init(&lb, 0);
    struct lines out = { .n = 0 };
    for (size_t i = 0; text[i]; i++) {
        char ch = text[i];
        assert_int_equal(cs_linebuf_feed(&lb, &ch, 1, collect, &out), 0);
        assert_int_equal(ch, text[i]);
    }
    assert_int_equal(out.n, 3);
    assert_string_equal(out.v[1], "second line");
    lines_free(&out);
    /* A whole chunk is passed without copying; the bytes are intact afterwards. */
    char chunk[] = "x\ny\n";
    assert_int_equal(cs_linebuf_feed(&lb, chunk, 4, collect, &out), 0);
    assert_memory_equal(chunk, "x\ny\n", 4);
    assert_int_equal(out.n, 2);
    lines_free(&out);
    cs_linebuf_free(&lb);
}

static void test_lines_very_long_and_over_limit(void **state)
{
    (void)state;
    struct cs_linebuf lb;
    cs_linebuf_init(&lb, 3u << 20);
    struct lines out = { .n = 0 };
    size_t big = 2u << 20;
    char *chunk = cs_malloc(64 * 1024);
    memset(chunk, 'x', 64 * 1024);
    for (size_t done = 0; done < big; done += 64 * 1024) {
        assert_int_equal(cs_linebuf_feed(&lb, chunk, 64 * 1024, collect, &out), 0);
    }
    assert_int_equal(out.n, 0);
    char nl = '\n';
    assert_int_equal(cs_linebuf_feed(&lb, &nl, 1, collect, &out), 0);
    assert_int_equal(out.n, 1);
    assert_int_equal(strlen(out.v[0]), big);
    lines_free(&out);
    /* Past the limit: error, buffer reset, later lines work again. */
    for (size_t done = 0; done < (3u << 20); done += 64 * 1024) {
        assert_int_equal(cs_linebuf_feed(&lb, chunk, 64 * 1024, collect, &out), 0);
    }
    assert_int_equal(cs_linebuf_feed(&lb, chunk, 64 * 1024, collect, &out), -1);
    assert_int_equal(cs_linebuf_pending(&lb), 0);
    assert_int_equal(feed_str(&lb, "ok\n", &out), 0);
    assert_int_equal(out.n, 1);
    assert_string_equal(out.v[0], "ok");
    lines_free(&out);
    cs_free(chunk);
    cs_linebuf_free(&lb);
}

#define MS 1000000LL

static void test_limiter_burst_then_qps(void **state)
{
    (void)state;
    struct cs_limiter l;
    int64_t t = 1000 * MS;
    cs_limiter_init(&l, 10, 3, t);
    /* burst 3: three immediate */
    assert_int_equal(cs_limiter_reserve(&l, t), 0);
    assert_int_equal(cs_limiter_reserve(&l, t), 0);
    assert_int_equal(cs_limiter_reserve(&l, t), 0);
    /* then one every 100 ms, queued in order */
    assert_int_equal(cs_limiter_reserve(&l, t), 100 * MS);
    assert_int_equal(cs_limiter_reserve(&l, t), 200 * MS);
    /* 250 ms later: the two reservations consumed 200 ms of refill; the next waits 50 ms */
    assert_int_equal(cs_limiter_reserve(&l, t + 250 * MS), 50 * MS);
    /* a long idle period refills only up to burst */
    t += 10000 * MS;
    assert_int_equal(cs_limiter_reserve(&l, t), 0);
    assert_int_equal(cs_limiter_reserve(&l, t), 0);
    assert_int_equal(cs_limiter_reserve(&l, t), 0);
    assert_true(cs_limiter_reserve(&l, t) > 0);
}

static void test_limiter_unlimited(void **state)
{
    (void)state;
    struct cs_limiter l;
    cs_limiter_init(&l, 0, 1, 0);
    for (int i = 0; i < 100000; i++) {
        assert_int_equal(cs_limiter_reserve(&l, 0), 0);
    }
}

static void test_backoff_doubles_caps_and_jitters(void **state)
{
    (void)state;
    assert_int_equal(cs_backoff_ms(1, 800, 30000, 0, NULL), 800);
    assert_int_equal(cs_backoff_ms(2, 800, 30000, 0, NULL), 1600);
    assert_int_equal(cs_backoff_ms(5, 800, 30000, 0, NULL), 12800);
    assert_int_equal(cs_backoff_ms(6, 800, 30000, 0, NULL), 25600);
    assert_int_equal(cs_backoff_ms(7, 800, 30000, 0, NULL), 30000);
    assert_int_equal(cs_backoff_ms(1000, 800, 30000, 0, NULL), 30000);
    uint64_t rng = 42;
    int64_t lo = 1 << 30, hi = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t d = cs_backoff_ms(3, 800, 30000, 0.5, &rng);
        assert_true(d >= 2400 && d < 4000);   /* 3200 * [0.75, 1.25) */
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    assert_true(hi - lo > 1000);              /* it really varies */
    for (int i = 0; i < 100; i++) {
        assert_true(cs_backoff_ms(20, 800, 30000, 0.5, &rng) <= 30000);
    }
}

static void test_retry_delay_honours_retry_after(void **state)
{
    (void)state;
    uint64_t rng = 7;
    assert_int_equal(cs_retry_delay_ms(1, 3, &rng), 3000);
    assert_int_equal(cs_retry_delay_ms(4, 0, &rng), 0);
    assert_int_equal(cs_retry_delay_ms(1, 3600, &rng), 30000);
    int64_t d = cs_retry_delay_ms(2, -1, &rng);
    assert_true(d >= 300 && d < 500);
    assert_true(cs_retryable_status(0));
    assert_true(cs_retryable_status(429));
    assert_true(cs_retryable_status(503));
    assert_false(cs_retryable_status(409));
    assert_false(cs_retryable_status(404));
    assert_false(cs_retryable_status(201));
}

static void test_rv_ordering(void **state)
{
    (void)state;
    assert_int_equal(cs_rv_parse("12345"), 12345);
    assert_int_equal(cs_rv_parse(""), 0);
    assert_int_equal(cs_rv_parse("12a"), 0);
    assert_int_equal(cs_rv_parse("-1"), 0);
    assert_int_equal(cs_rv_parse(NULL), 0);
    assert_true(cs_rv_newer("10", "9"));       /* numeric, not lexical */
    assert_false(cs_rv_newer("9", "10"));
    assert_false(cs_rv_newer("10", "10"));
    assert_true(cs_rv_newer("5", NULL));
    assert_true(cs_rv_newer("5", ""));
    assert_false(cs_rv_newer("", "5"));
    assert_true(cs_rv_newer("abc", "abd"));    /* opaque: different means newer */
    assert_false(cs_rv_newer("abc", "abc"));
    assert_true(cs_rv_newer("18446744073709551615", "18446744073709551614"));
}

/* ---- length-delimited frames (protobuf watch) ---- */

struct frames {
    char data[8][64];
    size_t len[8];
    size_t n;
};

static void collect_frame(void *arg, const char *f, size_t len)
{
    struct frames *fr = arg;
    assert_true(fr->n < 8 && len < 64);
    memcpy(fr->data[fr->n], f, len);
    fr->len[fr->n++] = len;
}

/* Three frames: "abc", "" and 40 bytes of 'x', each behind its 4-byte big-endian length. */
static size_t three_frames(char *out)
{
    size_t n = 0;
    const char *bodies[3] = { "abc", "", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };
    for (int i = 0; i < 3; i++) {
        size_t l = strlen(bodies[i]);
        out[n++] = 0, out[n++] = 0, out[n++] = 0, out[n++] = (char)l;
        memcpy(out + n, bodies[i], l);
        n += l;
    }
    return n;
}

static void check_three(const struct frames *fr)
{
    assert_int_equal(fr->n, 3);
    assert_int_equal(fr->len[0], 3);
    assert_memory_equal(fr->data[0], "abc", 3);
    assert_int_equal(fr->len[1], 0);
    assert_int_equal(fr->len[2], 40);
    assert_int_equal(fr->data[2][39], 'x');
}

static void test_frames_whole_split_anywhere_and_byte_by_byte(void **state)
{
    (void)state;
    char buf[128];
    size_t n = three_frames(buf);
    /* Every split point of the stream into two chunks gives the same frames. */
    for (size_t cut = 0; cut <= n; cut++) {
        struct cs_framebuf fb;
        cs_framebuf_init(&fb, 0);
        struct frames fr = { .n = 0 };
        assert_int_equal(cs_framebuf_feed(&fb, buf, cut, collect_frame, &fr), 0);
        assert_int_equal(cs_framebuf_feed(&fb, buf + cut, n - cut, collect_frame, &fr), 0);
        check_three(&fr);
        assert_int_equal(cs_framebuf_pending(&fb), 0);
        cs_framebuf_free(&fb);
    }
    struct cs_framebuf fb;
    cs_framebuf_init(&fb, 0);
    struct frames fr = { .n = 0 };
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cs_framebuf_feed(&fb, buf + i, 1, collect_frame, &fr), 0);
    }
    check_three(&fr);
    cs_framebuf_free(&fb);
}

static void test_frames_unfinished_held_and_oversized_refused(void **state)
{
    (void)state;
    struct cs_framebuf fb;
    cs_framebuf_init(&fb, 16);
    struct frames fr = { .n = 0 };
    const char partial[] = { 0, 0, 0, 5, 'a', 'b' };
    assert_int_equal(cs_framebuf_feed(&fb, partial, sizeof(partial), collect_frame, &fr), 0);
    assert_int_equal(fr.n, 0);
    assert_int_equal(cs_framebuf_pending(&fb), 6);
    const char rest[] = { 'c', 'd', 'e', 0, 0, 1 };
    assert_int_equal(cs_framebuf_feed(&fb, rest, sizeof(rest), collect_frame, &fr), 0);
    assert_int_equal(fr.n, 1);
    assert_memory_equal(fr.data[0], "abcde", 5);
    /* The next length (0x00000100 = 256) is larger than the limit of 16: refused. */
    const char big[] = { 0 };
    assert_int_equal(cs_framebuf_feed(&fb, big, 1, collect_frame, &fr), -1);
    assert_int_equal(cs_framebuf_pending(&fb), 0);
    const char big2[] = { 0x7f, 0, 0, 0 };
    assert_int_equal(cs_framebuf_feed(&fb, big2, 4, collect_frame, &fr), -1);
    cs_framebuf_free(&fb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_split_across_chunks),
        cmocka_unit_test(test_frames_whole_split_anywhere_and_byte_by_byte),
        cmocka_unit_test(test_frames_unfinished_held_and_oversized_refused),
        cmocka_unit_test(test_lines_byte_by_byte_and_chunk_bytes_restored),
        cmocka_unit_test(test_lines_very_long_and_over_limit),
        cmocka_unit_test(test_limiter_burst_then_qps),
        cmocka_unit_test(test_limiter_unlimited),
        cmocka_unit_test(test_backoff_doubles_caps_and_jitters),
        cmocka_unit_test(test_retry_delay_honours_retry_after),
        cmocka_unit_test(test_rv_ordering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
