#ifndef CS_PKG_CLIENT_SUPPORT_H
#define CS_PKG_CLIENT_SUPPORT_H
/*
 * Small pure pieces of the client, exposed so that pkg/informer and the unit tests can use
 * them: the token-bucket rate limiter (clock passed in), backoff computation, the chunk-to-line
 * splitter, resourceVersion ordering and a tiny PRNG. None of them locks or has global state;
 * each object belongs to one thread at a time.
 */
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/buf.h"

/* ---- token bucket (client-go flowcontrol semantics) ---- */
struct cs_limiter {
    double qps;                  /* tokens per second; <= 0: unlimited */
    double burst;                /* bucket size (>= 1) */
    double tokens;               /* may go negative: reservations not yet covered */
    int64_t last_ns;             /* clock of the last refill */
};

void cs_limiter_init(struct cs_limiter *l, double qps, int burst, int64_t now_ns);
/* Take one token; returns how many ns the caller must wait before acting (0 = now). Callers
 * that reserve in sequence get non-decreasing start times, so FIFO order is kept. */
int64_t cs_limiter_reserve(struct cs_limiter *l, int64_t now_ns);

/* ---- backoff ---- */
/* Delay before attempt `attempt` (1 = first retry): initial * 2^(attempt-1), capped at max,
 * then jitter: multiplied by a factor in [1 - jitter/2, 1 + jitter/2) drawn from *rng, and
 * capped at max again. jitter 0 = none. */
int64_t cs_backoff_ms(int attempt, int64_t initial_ms, int64_t max_ms, double jitter,
                      uint64_t *rng);
/* Retry delay of a request: Retry-After (seconds, >= 0) wins, capped at 30 s; else
 * cs_backoff_ms(attempt, 200, 10000, 0.5). */
int64_t cs_retry_delay_ms(int attempt, int retry_after_s, uint64_t *rng);
/* 1 when a response with this status (0 = transport error) is worth retrying. */
int cs_retryable_status(long status);

/* ---- PRNG (xorshift64*) ---- */
uint64_t cs_rand_next(uint64_t *state);
/* Uniform double in [0, 1). */
double cs_rand_unit(uint64_t *state);

/* ---- line splitter ---- */
struct cs_linebuf {
    struct cs_buf partial;       /* bytes of an unfinished line */
    size_t max_line;             /* longest line accepted */
};
typedef void (*cs_line_fn)(void *arg, const char *line, size_t len);
void cs_linebuf_init(struct cs_linebuf *lb, size_t max_line);
void cs_linebuf_free(struct cs_linebuf *lb);
/* Feed a chunk; fn is called for each complete non-empty line (without "\n" or "\r\n",
 * NUL-terminated). Lines inside the chunk are passed without copying when possible, so the
 * chunk must be writable (a NUL is placed temporarily at each line end and restored).
 * Returns 0, or -1 when a line exceeds max_line (the buffer is then reset). */
int cs_linebuf_feed(struct cs_linebuf *lb, char *data, size_t len, cs_line_fn fn, void *arg);
/* Bytes held for an unfinished line. */
size_t cs_linebuf_pending(const struct cs_linebuf *lb);

/* ---- length-delimited frames (protobuf watch streams) ---- */
/* Each frame is a 4-byte big-endian length followed by that many bytes. Frames complete inside
 * a chunk are passed without copying; a frame split across chunks is gathered first. */
struct cs_framebuf {
    struct cs_buf partial;       /* bytes of an unfinished frame (its length prefix included) */
    size_t max_frame;            /* longest frame accepted */
};
void cs_framebuf_init(struct cs_framebuf *fb, size_t max_frame);
void cs_framebuf_free(struct cs_framebuf *fb);
/* Feed a chunk; fn is called for each complete frame (without its length prefix; empty frames
 * are passed too). Returns 0, or -1 when a frame's length exceeds max_frame (the buffer is then
 * reset). */
int cs_framebuf_feed(struct cs_framebuf *fb, const char *data, size_t len, cs_line_fn fn,
                     void *arg);
size_t cs_framebuf_pending(const struct cs_framebuf *fb);

/* ---- resourceVersion ---- */
/* Parse a resourceVersion as an unsigned decimal; 0 when absent/invalid (0 is never a real
 * RV). The server treats RVs as ordered uint64 internally; clients only compare them. */
uint64_t cs_rv_parse(const char *rv);
/* 1 when an event with RV `incoming` should replace what is known at RV `known`: strictly
 * newer, or either side unparseable and the strings differ. */
int cs_rv_newer(const char *incoming, const char *known);

#endif
