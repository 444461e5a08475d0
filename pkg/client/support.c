/*
 * Pure helpers of the client (see support.h). The limiter follows the reservation model of a
 * token bucket: a caller always gets its token, possibly in the future, and is told how long to
 * wait; tokens refill continuously at qps up to burst. The line splitter avoids copies for lines
 * that lie entirely inside one chunk, which is the common case for watch streams.
 */
#include "pkg/client/support.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cs_limiter_init(struct cs_limiter *l, double qps, int burst, int64_t now_ns)
{
    l->qps = qps;
    l->burst = burst >= 1 ? (double)burst : 1.0;
    l->tokens = l->burst;
    l->last_ns = now_ns;
}

int64_t cs_limiter_reserve(struct cs_limiter *l, int64_t now_ns)
{
    if (l->qps <= 0) {
        return 0;
    }
    if (now_ns > l->last_ns) {
        l->tokens += (double)(now_ns - l->last_ns) * l->qps / 1e9;
        if (l->tokens > l->burst) {
            l->tokens = l->burst;
        }
        l->last_ns = now_ns;
    }
    l->tokens -= 1.0;
    if (l->tokens >= 0) {
        return 0;
    }
    double wait_ns = -l->tokens / l->qps * 1e9;
    return (int64_t)(wait_ns + 0.5);
}

uint64_t cs_rand_next(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

double cs_rand_unit(uint64_t *state)
{
    return (double)(cs_rand_next(state) >> 11) / 9007199254740992.0;
}

int64_t cs_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, double jitter,
                      uint64_t *rng)
{
    if (attempt < 1) {
        attempt = 1;
    }
    double d = (double)initial_ms;
    for (int i = 1; i < attempt && d < (double)max_ms; i++) {
        d *= 2;
    }
    if (d > (double)max_ms) {
        d = (double)max_ms;
    }
    if (jitter > 0 && rng) {
        d *= 1.0 - jitter / 2 + jitter * cs_rand_unit(rng);
        if (d > (double)max_ms) {
            d = (double)max_ms;
        }
    }
    return (int64_t)d;
}

int64_t cs_retry_delay_ms(int attempt, int retry_after_s, uint64_t *rng)
{
    if (retry_after_s >= 0) {
        int64_t ms = (int64_t)retry_after_s * 1000;
        return ms > 30000 ? 30000 : ms;
    }
    return cs_backoff_ms(attempt, 200, 10000, 0.5, rng);
}

int cs_retryable_status(long status)
{
    return status == 0 || status == 429 || (status >= 500 && status <= 599);
}

void cs_linebuf_init(struct cs_linebuf *lb, size_t max_line)
{
    cs_buf_init(&lb->partial);
    lb->max_line = max_line ? max_line : (size_t)64 << 20;
}

void cs_linebuf_free(struct cs_linebuf *lb)
{
    cs_buf_free(&lb->partial);
}

size_t cs_linebuf_pending(const struct cs_linebuf *lb)
{
    return lb->partial.len;
}

/* Emit data[0..len) as a line after trimming a trailing '\r'; data[len] must be writable. */
static void emit_line(char *data, size_t len, cs_line_fn fn, void *arg)
{
    if (len > 0 && data[len - 1] == '\r') {
        len--;
    }
    if (len == 0) {
        return;
    }
    char saved = data[len];
    data[len] = '\0';
    fn(arg, data, len);
    data[len] = saved;
}

int cs_linebuf_feed(struct cs_linebuf *lb, char *data, size_t len, cs_line_fn fn, void *arg)
{
    size_t pos = 0;
    if (lb->partial.len > 0) {
        char *nl = memchr(data, '\n', len);
        size_t take = nl ? (size_t)(nl - data) : len;
        if (lb->partial.len + take > lb->max_line) {
            cs_buf_reset(&lb->partial);
            return -1;
        }
        cs_buf_append(&lb->partial, data, take);
        if (!nl) {
            return 0;
        }
        /* cs_buf keeps a NUL after the data, so the line end is writable. */
        emit_line(lb->partial.data, lb->partial.len, fn, arg);
        cs_buf_reset(&lb->partial);
        pos = take + 1;
    }
    while (pos < len) {
        char *start = data + pos;
        char *nl = memchr(start, '\n', len - pos);
        if (!nl) {
            break;
        }
        size_t n = (size_t)(nl - start);
        if (n > lb->max_line) {
            return -1;
        }
        emit_line(start, n, fn, arg); /* start[n] is the '\n', writable */
        pos += n + 1;
    }
    if (pos < len) {
        if (len - pos > lb->max_line) {
            return -1;
        }
        cs_buf_append(&lb->partial, data + pos, len - pos);
    }
    return 0;
}

void cs_framebuf_init(struct cs_framebuf *fb, size_t max_frame)
{
    cs_buf_init(&fb->partial);
    fb->max_frame = max_frame ? max_frame : (size_t)64 << 20;
}

void cs_framebuf_free(struct cs_framebuf *fb)
{
    cs_buf_free(&fb->partial);
}

size_t cs_framebuf_pending(const struct cs_framebuf *fb)
{
    return fb->partial.len;
}

static size_t frame_len(const unsigned char *p)
{
    return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | (size_t)p[3];
}

int cs_framebuf_feed(struct cs_framebuf *fb, const char *data, size_t len, cs_line_fn fn,
                     void *arg)
{
    size_t pos = 0;
    /* Finish a frame begun in an earlier chunk: first its 4-byte length, then its body. */
    while (fb->partial.len > 0 && pos < len) {
        struct cs_buf *b = &fb->partial;
        size_t want = b->len < 4 ? 4 : 4 + frame_len((const unsigned char *)b->data);
        size_t take = want - b->len < len - pos ? want - b->len : len - pos;
        cs_buf_append(b, data + pos, take);
        pos += take;
        if (b->len == 4) {
            size_t n = frame_len((const unsigned char *)b->data);
            if (n > fb->max_frame) {
                cs_buf_reset(b);
                return -1;
            }
            want = 4 + n;
        }
        if (b->len == want && b->len >= 4) {
            fn(arg, b->data + 4, want - 4);
            cs_buf_reset(b);
        }
    }
    while (len - pos >= 4) {
        size_t n = frame_len((const unsigned char *)data + pos);
        if (n > fb->max_frame) {
            return -1;
        }
        if (len - pos - 4 < n) {
            break;
        }
        fn(arg, data + pos + 4, n);
        pos += 4 + n;
    }
    if (pos < len) {
        cs_buf_append(&fb->partial, data + pos, len - pos);
    }
    return 0;
}

uint64_t cs_rv_parse(const char *rv)
{
    if (!rv || !*rv || *rv < '0' || *rv > '9') {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(rv, &end, 10);
    if (errno != 0 || !end || *end != '\0') {
        return 0;
    }
    return (uint64_t)v;
}

int cs_rv_newer(const char *incoming, const char *known)
{
    if (!known || !*known) {
        return 1;
    }
    if (!incoming || !*incoming) {
        return 0;
    }
    uint64_t a = cs_rv_parse(incoming);
    uint64_t b = cs_rv_parse(known);
    if (a && b) {
        return a > b;
    }
    return strcmp(incoming, known) != 0;
}
