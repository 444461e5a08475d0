#ifndef CS_PKG_CLIENT_CLIENT_H
#define CS_PKG_CLIENT_CLIENT_H
/*
 * Kubernetes API client: one connection manager per process over a libcurl multi handle that
 * is driven by the client's own I/O thread.
 *
 * Threads. cs_client_start spawns the I/O thread. Every callback given to this module (request
 * completions, stream lines, stream ends, timers, posted functions) runs ON THE I/O THREAD, one
 * at a time; callbacks must not block (no cs_client_do, no sleeping, no disk beyond tiny
 * files). cs_client_submit, cs_client_post, cs_client_stream_open/close and cs_client_stats are
 * thread-safe. cs_client_timer_add/cancel are I/O-thread only (post first from elsewhere).
 *
 * Transport. For an https server that offers h2 through ALPN, requests and watches share one
 * HTTP/2 connection of the client's own (h2.c: nghttp2 over OpenSSL, far cheaper per request
 * than a curl transfer); while it connects they wait for it, and whenever it is not available
 * (connect failure, backoff, a server without h2, a proxy in the environment, or
 * COSCHED_CLIENT_H2=0) libcurl carries them: HTTP/2 multiplexed when offered, otherwise
 * keep-alive HTTP/1.1 with at most cfg.max_conns_per_host connections for requests (each open
 * stream gets one extra connection on top of that budget, so watches never starve requests).
 * Requests beyond what the connections carry wait in the client's own FIFO, not in curl. No
 * compression. Mains should ignore SIGPIPE.
 *
 * Rate limit. A client-go style token bucket (qps, burst) applies to every non-stream request
 * (lists included). Streams (watches) are not limited. Retries of a request take a token again.
 *
 * Ownership. The client copies its config. Request bodies and strings in cs_client_req are
 * copied by submit; the caller may free them when submit returns. Response data passed to a
 * callback is borrowed for the duration of the callback.
 */
#include <stddef.h>
#include <stdint.h>

/* ---- configuration ------------------------------------------------------------------------ */

struct cs_client_config {
    char *server;                /* "https://host:6443" or "http://127.0.0.1:8080" (no path) */
    char *ca_file;               /* PEM file path, or NULL */
    char *ca_data;               /* PEM bytes (already base64-decoded), or NULL */
    size_t ca_data_len;
    char *cert_file;             /* client certificate PEM file, or NULL */
    char *cert_data;             /* client certificate PEM bytes, or NULL */
    size_t cert_data_len;
    char *key_file;              /* client key PEM file, or NULL */
    char *key_data;              /* client key PEM bytes, or NULL */
    size_t key_data_len;
    char *token;                 /* bearer token, or NULL */
    char *token_file;            /* re-read at most once a minute; wins over token when set */
    int insecure_skip_tls_verify;/* only when the kubeconfig says so */
    char *tls_server_name;       /* SNI / certificate name override, or NULL */
    char *namespace_;            /* the context's namespace (informational), or NULL */
    double qps;                  /* <= 0: unlimited. Default 50 (kube-scheduler's) */
    int burst;                   /* default 100 */
    int max_conns_per_host;      /* HTTP/1.1 connection pool for requests; default 8 (measured
                                  * against apisim: 4..16 within noise, 32+ slower) */
    char *user_agent;            /* default "cosched/0.1" */
    char *content_type;          /* clientConnection.contentType: NULL or "application/json" =
                                  * JSON; CS_CLIENT_PB_MEDIA = protobuf for built-in kinds (the
                                  * users of the client decide per request; see
                                  * cs_client_protobuf) */
    long request_timeout_ms;     /* per request attempt (not streams); default 60000; 0 = none */
    long token_reread_ms;        /* token_file re-read interval; default 60000 */
    long coalesce_us;            /* 0 = off. While work arrives within this window of the
                                  * last wake and requests are in flight, the I/O thread waits
                                  * this long before it looks again, so that responses arriving
                                  * close together cost one wake (interrupt coalescing: at most
                                  * this much latency for less CPU); sparse traffic is not
                                  * delayed */
};

/* Fill defaults (all pointers NULL). */
void cs_client_config_init(struct cs_client_config *cfg);
/* Free every owned string and re-init. */
void cs_client_config_free(struct cs_client_config *cfg);
/* Deep copy src into dst (dst is overwritten, not freed first). */
void cs_client_config_copy(struct cs_client_config *dst, const struct cs_client_config *src);

/* Parse a kubeconfig (YAML or JSON). context NULL/"" = current-context. Fills cfg (call
 * cs_client_config_init first; on error cfg is left initialised-empty). Base64 `*-data` fields
 * are decoded; relative file paths are resolved against the kubeconfig's directory; tokenFile
 * is kept as a file to re-read. Returns 0, or -1 with a message naming the field, e.g.
 * `kubeconfig: context "x" not found`. Exec plugins and username/password are not supported
 * (error naming the user). */
int cs_kubeconfig_load(const char *path, const char *context, struct cs_client_config *cfg,
                       char *err, size_t errlen);
/* Same, from text already in memory; dir is used to resolve relative paths (may be NULL). */
int cs_kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                        struct cs_client_config *cfg, char *err, size_t errlen);
/* In-cluster config: KUBERNETES_SERVICE_HOST/PORT, the service account token file (kept as
 * token_file, so it is re-read), ca.crt and namespace. root NULL = "/var/run/secrets/
 * kubernetes.io/serviceaccount" (tests pass a temp dir). Returns 0 or -1 with a message. */
int cs_client_config_in_cluster(struct cs_client_config *cfg, const char *root, char *err,
                                size_t errlen);

/* ---- client lifecycle ---------------------------------------------------------------------- */

struct cs_buf;
struct cs_client;

/* Validates the config (server URL scheme) and creates the client; no thread yet.
 * Returns NULL with a message in err on a bad config. */
struct cs_client *cs_client_new(const struct cs_client_config *cfg, char *err, size_t errlen);
/* Start the I/O thread. Returns 0 or -1. */
int cs_client_start(struct cs_client *c);
/* Stop (from any thread but the I/O thread): runs the posted functions still queued, fails
 * queued and in-flight requests (callback with err "client stopped"), ends streams (done_cb
 * with err "cancelled"), drops timers without running them, joins the thread. Idempotent.
 * After stop, submit/post/stream_open return -1/NULL. */
void cs_client_stop(struct cs_client *c);
/* Stop if needed and free. NULL is a no-op. */
void cs_client_free(struct cs_client *c);
/* 1 while the I/O thread runs (started, not yet stopped). */
int cs_client_running(const struct cs_client *c);
/* 1 when called on this client's I/O thread. */
int cs_client_on_io_thread(const struct cs_client *c);
/* The server URL (borrowed, lives as long as the client). */
const char *cs_client_server(const struct cs_client *c);

/* ---- requests ------------------------------------------------------------------------------ */

enum cs_client_retry {
    CS_CLIENT_RETRY_NONE = 0,    /* one attempt */
    /* retry on 429, 5xx and connection errors (not on other 4xx), exponential backoff from
     * 200 ms to 10 s with jitter; a Retry-After header (seconds) is honoured (capped at 30 s) */
    CS_CLIENT_RETRY_DEFAULT = 1,
};

struct cs_client_resp {
    long status;                 /* HTTP status, 0 when no response (transport error) */
    const char *body;            /* NUL-terminated, may contain NULs; "" when empty */
    size_t body_len;
    const char *err;             /* NULL on a completed HTTP exchange; transport error text */
    int retry_after_s;           /* Retry-After header in seconds, -1 when absent */
    int attempts;                /* attempts made (1 = no retry) */
    const char *content_type;    /* the response's Content-Type, "" when absent */
};

/* The Kubernetes protobuf media type (a prefix of its ";stream=watch" form). */
#define CS_CLIENT_PB_MEDIA "application/vnd.kubernetes.protobuf"
/* Whether a response's Content-Type is the Kubernetes protobuf media type. */
int cs_client_is_protobuf(const char *content_type);
/* A response body as text for messages: a protobuf Status becomes its message, JSON or text
 * is copied as is; truncated to fit buf (n > 0). Returns buf. */
const char *cs_client_resp_text(const struct cs_client_resp *r, char *buf, size_t n);
/* A JSON request body of a built-in kind in the client's wire format: with protobuf configured
 * and a kind the schema knows, body is replaced by its protobuf envelope and *ctype / *accept
 * are set to protobuf (accept falls back to JSON); otherwise body is left as JSON and the
 * pointers are untouched. Returns 1 when the body is protobuf now, 0 otherwise. */
int cs_client_wire_body(const struct cs_client *c, struct cs_buf *body, const char **ctype,
                        const char **accept);
/* Whether the client was configured to speak protobuf (config content_type). */
int cs_client_protobuf(const struct cs_client *c);

typedef void (*cs_client_cb)(void *arg, const struct cs_client_resp *resp);

struct cs_client_req {
    const char *method;          /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;            /* path and query, already URL-escaped: "/api/v1/pods?limit=5" */
    const char *body;            /* copied; may be NULL */
    size_t body_len;
    const char *content_type;    /* default "application/json" when there is a body */
    const char *accept;          /* default "application/json" */
    cs_client_cb cb;             /* may be NULL (fire and forget) */
    void *arg;
    int retry;                   /* enum cs_client_retry */
    int max_attempts;            /* with RETRY_DEFAULT; <= 0 means 5 */
    long timeout_ms;             /* per attempt; 0 = the config's request_timeout_ms */
};

/* Queue a request (any thread). Returns 0: cb will be called exactly once on the I/O thread.
 * Returns -1 when the client is stopped (cb is never called). */
int cs_client_submit(struct cs_client *c, const struct cs_client_req *req);

/* Blocking convenience for startup code and tests: submit and wait. NEVER call from the I/O
 * thread (returns -1 there). Returns 0 with *out filled (owned: free with cs_client_resp_free;
 * a transport error is a 0 return with out->err set and out->status 0), -1 when the client is
 * not running. */
int cs_client_do(struct cs_client *c, const struct cs_client_req *req, struct cs_client_resp *out);
void cs_client_resp_free(struct cs_client_resp *r);

/* ---- streams (watch) ----------------------------------------------------------------------- */

struct cs_client_stream;

/* One newline-terminated line (without the '\n'; a trailing '\r' is stripped), NUL-terminated
 * at line[len]; borrowed for the call. Empty lines are skipped. */
typedef void (*cs_client_line_cb)(void *arg, const char *line, size_t len);
/* The stream ended: http_status is the response status (0 if none); err is NULL for a clean
 * end of a 200 response, otherwise the transport error, "cancelled", or for a non-200 status
 * the start of the response body (a Status object). */
typedef void (*cs_client_done_cb)(void *arg, long http_status, const char *err);

/* Open a streaming GET (any thread). Lines are delivered as they arrive; chunks are split on
 * '\n' across boundaries; a line longer than 64 MiB fails the stream. done_cb is called exactly
 * once, on the I/O thread, and never from inside cs_client_stream_close: arg must stay valid
 * until done_cb has run. Returns a handle to pass to cs_client_stream_close exactly once, or
 * NULL when the client is stopped (no callback then). */
struct cs_client_stream *cs_client_stream_open(struct cs_client *c, const char *path,
                                               cs_client_line_cb line_cb,
                                               cs_client_done_cb done_cb, void *arg);
/* The same with an Accept header of the caller's (NULL = application/json). When frame_cb is
 * set and the response's Content-Type is the Kubernetes protobuf media type, the body is read
 * as length-delimited frames (4-byte big-endian length, then the bytes), each passed to
 * frame_cb without its length (borrowed for the call); otherwise as lines to line_cb. */
typedef void (*cs_client_frame_cb)(void *arg, const char *frame, size_t len);
struct cs_client_stream *cs_client_stream_open_neg(struct cs_client *c, const char *path,
                                                   const char *accept, cs_client_line_cb line_cb,
                                                   cs_client_frame_cb frame_cb,
                                                   cs_client_done_cb done_cb, void *arg);
/* Cancel the stream if still running and release the handle (any thread, also from inside
 * the stream's own callbacks). Called from the I/O thread, no line_cb runs after it returns;
 * done_cb still follows (err "cancelled") unless the stream had already ended. */
void cs_client_stream_close(struct cs_client_stream *s);

/* ---- timers and posted work ---------------------------------------------------------------- */

typedef void (*cs_client_fn)(void *arg);

/* Run fn(arg) on the I/O thread after delay_ms (I/O thread only). Returns a non-zero id. */
uint64_t cs_client_timer_add(struct cs_client *c, int64_t delay_ms, cs_client_fn fn, void *arg);
/* Cancel a timer that has not fired yet (I/O thread only). Returns 1 if it was pending. */
int cs_client_timer_cancel(struct cs_client *c, uint64_t id);
/* Run fn(arg) on the I/O thread soon (any thread), in FIFO order. Returns 0, or -1 when the
 * client is stopped (fn not run). */
int cs_client_post(struct cs_client *c, cs_client_fn fn, void *arg);

/* ---- metrics ------------------------------------------------------------------------------- */

enum cs_client_verb {
    CS_VERB_GET, CS_VERB_POST, CS_VERB_PUT, CS_VERB_PATCH, CS_VERB_DELETE, CS_VERB_OTHER,
    CS_VERB_WATCH, CS_VERB_N
};
/* Code classes: 0 = no response (transport error), 1..5 = 1xx..5xx. */
#define CS_CODE_CLASSES 6

struct cs_client_stats {
    uint64_t requests[CS_VERB_N][CS_CODE_CLASSES]; /* finished attempts */
    uint64_t retries;            /* attempts beyond the first */
    uint64_t in_flight;          /* requests submitted and not yet completed */
    uint64_t streams_open;
    uint64_t stream_lines;
    uint64_t connects;           /* new connections opened (low = keep-alive works) */
    uint64_t rate_limited;       /* requests that had to wait for the limiter */
    double rate_limit_wait_s;    /* total time spent waiting for the limiter */
};
/* Snapshot (any thread). */
void cs_client_stats(struct cs_client *c, struct cs_client_stats *out);
const char *cs_client_verb_name(int verb);

#endif
