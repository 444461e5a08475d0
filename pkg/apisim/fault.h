#ifndef CS_PKG_APISIM_FAULT_H
#define CS_PKG_APISIM_FAULT_H
/*
 * apisim fault injection: failing a fraction of requests per operation with 500/409/429,
 * added latency, dropped watches and forced 410 on watch resume. Every decision draws from a
 * splitmix64 PRNG seeded by --seed and owned by the context, so a run is reproducible for a
 * given seed and request order.
 *
 * Ownership: the context owns its config. Thread context: every function is thread-safe (one
 * mutex inside the context); HTTP threads call the decision hooks concurrently.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/buf.h"

/* Operations a failure rule can target. */
enum cs_apisim_fault_op {
    CS_APISIM_FAULT_BIND = 0,   /* create pods/binding */
    CS_APISIM_FAULT_CREATE,     /* create (not binding) */
    CS_APISIM_FAULT_UPDATE,     /* PUT, including /status */
    CS_APISIM_FAULT_PATCH,      /* PATCH, including /status */
    CS_APISIM_FAULT_DELETE,
    CS_APISIM_FAULT_GET,
    CS_APISIM_FAULT_LIST,
    CS_APISIM_FAULT_NOPS
};

struct cs_apisim_fault_rule {
    double fraction;            /* 0..1 of matching requests that fail */
    int code;                   /* 500, 409 or 429 */
};

struct cs_apisim_fault_config {
    uint64_t seed;                       /* 0 = keep the current PRNG state */
    struct cs_apisim_fault_rule rules[CS_APISIM_FAULT_NOPS];
    int retry_after_s;                   /* Retry-After for 429 (default 1) */
    int64_t latency_us;                  /* fixed latency added to every API request */
    int64_t jitter_us;                   /* plus uniform [0, jitter_us] */
    double watch_drop_prob;              /* close a watch with this probability per event */
    double watch_drop_every_s;           /* close every watch this long after it started */
    double watch_410_fraction;           /* fraction of watch resumes (RV given) answered 410 */
};

struct cs_apisim_fault {
    pthread_mutex_t mu;
    struct cs_apisim_fault_config cfg;
    uint64_t rng;                        /* splitmix64 state */
    uint64_t epoch;                      /* bumped by "drop all watches now" */
    uint64_t injected[CS_APISIM_FAULT_NOPS];
    uint64_t watches_dropped, watches_410;
};

/* What the HTTP layer must do with one request. */
struct cs_apisim_fault_decision {
    int code;                   /* 0 = proceed normally; else answer this HTTP status */
    const char *reason;         /* Status reason for code (static string) */
    const char *message;        /* Status message (static string) */
    int retry_after_s;          /* > 0: send `Retry-After` */
    int64_t delay_us;           /* sleep this long before answering */
};

/* Per-watch state, held by the watch's connection. */
struct cs_apisim_fault_watch {
    int64_t started_ns;
    uint64_t epoch;
};

void cs_apisim_fault_config_init(struct cs_apisim_fault_config *c);
void cs_apisim_fault_init(struct cs_apisim_fault *f, const struct cs_apisim_fault_config *c);
void cs_apisim_fault_destroy(struct cs_apisim_fault *f);
void cs_apisim_fault_set(struct cs_apisim_fault *f, const struct cs_apisim_fault_config *c);
void cs_apisim_fault_get(struct cs_apisim_fault *f, struct cs_apisim_fault_config *out);

/* Map a verb/subresource to an op; -1 for watch and unknown verbs. */
int cs_apisim_fault_op_of(const char *verb, const char *subresource);
const char *cs_apisim_fault_op_name(int op);

/* Decide the fate of one API request. f may be NULL (no fault). */
void cs_apisim_fault_on_request(struct cs_apisim_fault *f, const char *verb,
                                const char *resource, const char *subresource,
                                struct cs_apisim_fault_decision *d);
/* Called when a watch starts. resume = the request names a non-zero resourceVersion.
 * Returns 1 when the watch must be answered with 410 Expired. Fills *w. */
int cs_apisim_fault_watch_begin(struct cs_apisim_fault *f, int resume,
                                struct cs_apisim_fault_watch *w);
/* Called before each event and on idle ticks; 1 = close the stream now. */
int cs_apisim_fault_watch_should_drop(struct cs_apisim_fault *f,
                                      struct cs_apisim_fault_watch *w);
/* Make every open watch close at its next check. */
void cs_apisim_fault_drop_all_watches(struct cs_apisim_fault *f);

/* Parse a fault rule "FRACTION[:CODE]" (e.g. "0.1:429"); code defaults to 500. */
int cs_apisim_fault_parse_rule(const char *s, struct cs_apisim_fault_rule *r);
/* Parse a duration "250ms", "2s", "100us", "1.5s", bare number = ms, into microseconds. */
int cs_apisim_fault_parse_duration_us(const char *s, int64_t *us);
/* Replace *c with the JSON settings (same shape as cs_apisim_fault_to_json). Absent fields
 * are off. Returns 0, or -1 with a message naming the field in err (if err != NULL). */
int cs_apisim_fault_config_from_json(const char *json, size_t len,
                                     struct cs_apisim_fault_config *c, struct cs_buf *err);
/* Append the settings and counters as JSON. */
void cs_apisim_fault_to_json(struct cs_apisim_fault *f, struct cs_buf *out);

/* Deterministic PRNG (splitmix64), exposed for tests and the generator. */
uint64_t cs_apisim_rand_next(uint64_t *state);
/* Uniform double in [0, 1). */
double cs_apisim_rand_unit(uint64_t *state);

#endif
