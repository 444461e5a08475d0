#ifndef CS_PKG_LEADERELECTION_LEADERELECTION_H
#define CS_PKG_LEADERELECTION_LEADERELECTION_H
/*
 * Lease-based leader election (coordination.k8s.io/v1 Lease), client-go semantics:
 *
 *  - Acquire: GET the lease; absent (404) -> POST one naming us (leaseTransitions 0). Present
 *    and held by someone else -> wait until it is expired *by our own clock*: the lease is
 *    valid until (local time we last saw its content change) + its leaseDurationSeconds; its
 *    renewTime is never compared with our clock. Expired or released (empty holder) -> PUT
 *    with us as holder, acquireTime = renewTime = now, leaseTransitions + 1.
 *  - Renew: the leader PUTs renewTime = now every retryPeriod (keeping acquireTime and
 *    leaseTransitions), first optimistically with the last object it wrote (its
 *    resourceVersion), on any failure through GET + decide. A 409 is just a failed attempt.
 *  - Lose: when a successful renew is followed by retryPeriod + renewDeadline without another
 *    one, leadership is lost (client-go's renew loop). Divergence, on the safe side: a leader
 *    that reads a valid lease naming someone else stops at once instead of waiting out the
 *    deadline. After losing, the elector does not campaign again (kube-scheduler exits).
 *  - Retry: the candidate retries every retryPeriod with jitter factor 1.2 (the wait is
 *    uniform in [retryPeriod, 2.2 * retryPeriod)); the leader every retryPeriod.
 *
 * The decision logic is pure (cs_le_decide and friends: state + lease JSON + clock -> action),
 * so it is tested without a server. struct cs_le runs it on its own thread over a transport
 * function; cs_le_client_request adapts pkg/client.
 *
 * Threads. The elector thread calls the transport and every callback, one at a time.
 * Callbacks must return promptly (start your own threads from on_started_leading) and must
 * not call cs_le_stop/cs_le_free. Getters and cs_le_check are thread-safe. cs_le_stop may
 * wait for one request in flight (at most the renew deadline). An elector is not restartable.
 *
 * Ownership. cs_le_new copies the lease strings; the transport argument and callback argument
 * are borrowed. struct cs_le_state owns its cached lease JSON, a decision owns its body.
 */
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/buf.h"

#define CS_LE_DEFAULT_NAMESPACE "kube-system"
#define CS_LE_DEFAULT_NAME "kube-scheduler"
#define CS_LE_DEFAULT_LEASE_DURATION_MS 15000
#define CS_LE_DEFAULT_RENEW_DEADLINE_MS 10000
#define CS_LE_DEFAULT_RETRY_PERIOD_MS 2000
#define CS_LE_JITTER_FACTOR 1.2

#define CS_LE_HOLDER_MAX 256
#define CS_LE_TIME_MAX 40

/* ---- pure state machine ------------------------------------------------------------------- */

struct cs_le_params {
    const char *namespace_;           /* resourceNamespace */
    const char *name;                 /* resourceName */
    const char *identity;             /* holderIdentity we write */
    int64_t lease_duration_ms;
    int64_t renew_deadline_ms;
    int64_t retry_period_ms;
};

/* The spec of a Lease, as the election reads and writes it. */
struct cs_le_record {
    char holder[CS_LE_HOLDER_MAX];    /* "" when released or absent */
    int lease_duration_s;
    char acquire_time[CS_LE_TIME_MAX];/* MicroTime text, "" when absent */
    char renew_time[CS_LE_TIME_MAX];
    int transitions;
};

/* What the elector remembers between attempts. Zero-initialise; release with
 * cs_le_state_free. Owned by one thread. */
struct cs_le_state {
    struct cs_le_record observed;     /* last lease content seen (or written) */
    int have_observed;
    int64_t observed_ns;              /* monotonic time when `observed` last changed */
    char *lease_json;                 /* last lease object read or written (owned) */
    int leading;                      /* we won and have not lost since */
    int64_t renew_ok_ns;              /* monotonic time of the last successful write */
};

enum cs_le_action {
    CS_LE_WAIT = 1,   /* held by someone else and not expired by our clock */
    CS_LE_CREATE,     /* POST decision.body to the collection */
    CS_LE_UPDATE,     /* PUT decision.body to the lease */
    CS_LE_LOSE,       /* we were leading and must stop */
    CS_LE_RETRY,      /* the read failed or the lease is unreadable: try again later */
};

struct cs_le_decision {
    enum cs_le_action action;
    char *body;                       /* CREATE/UPDATE request body (owned; cs_le_decision_free) */
    struct cs_le_record record;       /* CREATE/UPDATE: the record being written */
    char new_holder[CS_LE_HOLDER_MAX];/* the observed holder when it changed in this step */
    int holder_changed;               /* 1 when the observed holder differs from before */
    const char *reason;               /* static text for logs */
};

void cs_le_state_free(struct cs_le_state *st);
void cs_le_decision_free(struct cs_le_decision *d);

/* Parse a Lease object's spec. Returns 0, or -1 when json is not a Lease-like object. */
int cs_le_parse_record(const char *json, size_t len, struct cs_le_record *out);
/* 1 when the observed lease is still valid at now_ns by our clock. */
int cs_le_lease_valid(const struct cs_le_state *st, int64_t now_ns);
/* 1 when we are leading and the renew deadline has passed (retryPeriod + renewDeadline after
 * the last successful write). */
int cs_le_deadline_passed(const struct cs_le_state *st, const struct cs_le_params *p,
                          int64_t now_ns);

/* The leader's optimistic renew: when leading with a still-valid lease and a cached object,
 * fill an UPDATE from the cache and return 1; otherwise return 0 (out untouched). */
int cs_le_fast_renew(const struct cs_le_state *st, const struct cs_le_params *p,
                     int64_t now_ns, int64_t now_wall_ns, struct cs_le_decision *out);

/* One acquire-or-renew step given the result of GET on the lease: get_status is the HTTP
 * status (0 = transport error), get_body the response. Updates st's observation (not
 * `leading`) and fills out. now_ns is the monotonic clock, now_wall_ns the wall clock used
 * for acquireTime/renewTime. */
void cs_le_decide(struct cs_le_state *st, const struct cs_le_params *p, long get_status,
                  const char *get_body, size_t get_len, int64_t now_ns, int64_t now_wall_ns,
                  struct cs_le_decision *out);

/* The CREATE/UPDATE of d succeeded with the server's response body (the stored Lease, with
 * its new resourceVersion; may be NULL). Records the write; sets st->leading. Returns 1 when
 * this write made us leader (we were not leading before). */
int cs_le_written(struct cs_le_state *st, const struct cs_le_decision *d, const char *resp,
                  size_t resp_len, int64_t now_ns);

/* The body that releases the lease (empty holder, leaseDurationSeconds 1), built from the
 * cached object; NULL when there is none. Owned by the caller (cs_free). */
char *cs_le_release_body(const struct cs_le_state *st, int64_t now_wall_ns);

/* "/apis/coordination.k8s.io/v1/namespaces/<ns>/leases[/<name>]" into out. */
void cs_le_path(struct cs_buf *out, const struct cs_le_params *p, int with_name);

/* "<hostname>_<uuid v4>" into buf. Returns 0 or -1 (buf too small). */
int cs_le_default_identity(char *buf, size_t n);

/* ---- runner ------------------------------------------------------------------------------- */

/* Perform one HTTP request. Returns 0 when a response arrived (*status set, resp filled with
 * the body), -1 on a transport error. Called on the elector thread; may block up to
 * timeout_ms. */
typedef int (*cs_le_request_fn)(void *arg, const char *method, const char *path,
                                const char *body, long timeout_ms, long *status,
                                struct cs_buf *resp);

struct cs_le_callbacks {
    void (*on_started_leading)(void *arg);
    /* lost = 1: leadership was lost (kube-scheduler exits 1); 0: cs_le_stop while leading. */
    void (*on_stopped_leading)(void *arg, int lost);
    /* The observed holder changed (identity may be ours); may be NULL. */
    void (*on_new_leader)(void *arg, const char *identity);
    void *arg;
};

struct cs_le_config {
    struct cs_le_params lease;        /* strings copied; zero durations take the defaults */
    cs_le_request_fn request;
    void *request_arg;                /* borrowed; must outlive the elector */
    struct cs_le_callbacks cb;
    int release_on_cancel;            /* on stop while leading, write a released lease */
};

struct cs_le;

/* Validates (namespace, name, identity set; leaseDuration > renewDeadline > jitter *
 * retryPeriod, as client-go requires) and copies the config. NULL with a message in err. */
struct cs_le *cs_le_new(const struct cs_le_config *cfg, char *err, size_t errlen);
/* Start campaigning on a new thread. Returns 0 or -1. */
int cs_le_start(struct cs_le *le);
/* Stop the thread (release first when configured and leading) and join it. Idempotent. */
void cs_le_stop(struct cs_le *le);
void cs_le_free(struct cs_le *le);
/* 1 while leading. */
int cs_le_is_leader(struct cs_le *le);
/* Copy the last observed holder into buf ("" when unknown). */
void cs_le_leader(struct cs_le *le, char *buf, size_t n);
/* 1 after the elector stopped by itself (leadership lost). */
int cs_le_finished(struct cs_le *le);
/* A cs_server check (arg = struct cs_le *): fails when we believe we lead but the lease
 * expired more than 20 s ago by our clock (client-go's HealthzAdaptor, kube-scheduler's
 * timeout). */
int cs_le_check(void *arg, struct cs_buf *reason);

/* Transport over pkg/client: arg is a started struct cs_client *. */
int cs_le_client_request(void *arg, const char *method, const char *path, const char *body,
                         long timeout_ms, long *status, struct cs_buf *resp);

#endif
