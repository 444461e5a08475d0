/*
 * The client's I/O loop. One thread owns the curl multi handle and everything hanging off it:
 * transfers ("xfers", a request or a stream), the timer heap, the pool of idle easy handles,
 * the rate limiter and the token cache. Other threads talk to it only through two mutex-guarded
 * FIFO lists (submitted xfers and posted functions) plus a wakeup eventfd.
 *
 * One loop turn: take the two lists, run posted functions, admit submitted xfers (requests go
 * through the limiter; a delayed one waits on a timer), fire due timers, let curl act on its
 * own timeout, complete finished transfers (retry with backoff, or call back), then epoll_wait
 * until a socket, a timer or a wakeup (an eventfd) needs us, and hand each ready socket to
 * curl_multi_socket_action. curl's socket interface, rather than curl_multi_perform +
 * curl_multi_poll: perform visits every transfer and polls each one's socket with a zero
 * timeout to learn whether it is readable (measured: ~100 poll(2) calls per scheduled pod with
 * 64 binds and events in flight, a third of the client's CPU); socket_action is told which
 * socket is ready and runs only the transfers on it.
 *
 * Streams are reference counted (the caller's handle and the loop's own reference), so a
 * close from any thread and the loop finishing the stream can happen in either order.
 * Cancellation is a flag checked by the write callback (no line after it) plus a posted
 * function that removes the transfer from the multi outside curl's callbacks.
 */
#include "pkg/client/client.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/pbjson.h"
#include "pkg/client/h2.h"
#include "pkg/client/support.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define STREAM_ERR_BODY_MAX 4096

enum { XF_REQ = 1, XF_STREAM = 2 };

struct xfer {
    struct xfer *next;                 /* submit queue link */
    int kind;
    struct cs_client *c;
    CURL *easy;
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    int verb;
    int active;                        /* added to the multi */
    int counted;                       /* holds one of the request slots */
    struct xfer *aprev, *anext;        /* list of active xfers (for stop) */
    /* request */
    char *method, *path, *body, *content_type, *accept;
    size_t body_len;
    cs_client_cb cb;
    void *arg;
    int retry, max_attempts, attempts;
    long timeout_ms;
    struct cs_buf resp;
    int retry_after_s;
    char ctype[96];                    /* the response's Content-Type ("" when absent) */
    /* stream */
    cs_client_line_cb line_cb;
    cs_client_frame_cb frame_cb;       /* protobuf watch frames, or NULL */
    cs_client_done_cb done_cb;
    struct cs_linebuf lb;
    struct cs_framebuf fb;
    int framing;                       /* 0 undecided, 1 lines, 2 length-delimited frames */
    int refs;                          /* atomic */
    int cancelled;                     /* atomic */
    int finished;                      /* done_cb called */
    int line_error;
    /* a request on the client's own HTTP/2 connection (h2.c) */
    int on_h2;
    int32_t h2_id;
    long h2_status;
    int h2_timed_out;
    int64_t deadline_ns;               /* 0 = no timeout */
    struct xfer *hprev, *hnext;        /* list of requests in flight on h2 */
};

struct cs_client_stream {
    struct xfer x;
};

struct post {
    struct post *next;
    cs_client_fn fn;
    void *arg;
};

struct timer {
    int64_t due_ns;
    uint64_t id;
    cs_client_fn fn;
    void *arg;
    struct xfer *xf;                   /* a delayed request start (failed on stop) */
};

struct cs_client {
    struct cs_client_config cfg;
    char *base_url;                    /* scheme://host[:port] to prefix paths with */
    struct curl_slist *connect_to;     /* tls-server-name mapping, or NULL */
    int https;
    CURLM *multi;

    pthread_mutex_t mu;                /* guards the fields down to `stopping` */
    struct xfer *sub_head, *sub_tail;
    struct post *post_head, *post_tail;
    int accepting;
    int stopping;

    pthread_t thread;
    int started, joined;

    /* I/O thread only */
    struct timer *timers;
    size_t ntimers, timers_cap;
    uint64_t next_timer_id;
    CURL **pool;
    size_t npool, pool_cap;
    struct cs_limiter limiter;
    uint64_t rng;
    char *token;
    int64_t token_read_ns;
    int n_streams;
    struct xfer *active_head;
    /* Requests admitted but waiting for a slot: at most `cap` requests are handed to curl at a
     * time (max_conns_per_host, x100 once HTTP/2 is seen), so curl never queues transfers
     * internally (its pending queue adds latency under HTTP/1.1). */
    struct xfer *ready_head, *ready_tail;
    int req_active;
    int h2_seen;
    int epfd;                          /* epoll set of curl's sockets and wake_fd */
    int wake_fd;                       /* eventfd: other threads wake the loop */
    int64_t curl_due_ns;               /* curl's timeout (CURLMOPT_TIMERFUNCTION), -1 none */
    /* The request transport of h2.c (https servers that speak h2): requests go there while it
     * is READY, to curl otherwise. h2_off: never try (plain HTTP, a proxy in the environment,
     * COSCHED_CLIENT_H2=0, credentials it cannot load, or a server refusing h2). */
    struct cs_h2 *h2;
    int h2_off;
    int h2_fails;                      /* consecutive connections that did not become READY */
    int h2_ready_once;
    int h2_counted;                    /* this connection was counted in stats.connects */
    int64_t h2_retry_ns;               /* no new connection before this */
    int64_t h2_connect_deadline_ns;
    int64_t h2_sweep_ns;               /* next scan for timed-out requests */
    int h2_ep_fd;                      /* the fd in the epoll set, -1 none */
    uint32_t h2_ep_events;
    struct xfer *h2_head;
    struct xfer *h2_wait;              /* streams waiting for the connection (h2_hold) */
    int shutting_down;

    pthread_mutex_t stats_mu;
    struct cs_client_stats stats;
};

/* ---- small helpers ------------------------------------------------------------------------- */

static char *dup_or_null(const char *s)
{
    return s ? cs_strdup(s) : NULL;
}

static char *dup_bytes(const char *p, size_t n)
{
    char *d = cs_malloc(n + 1);
    if (n) {
        memcpy(d, p, n);
    }
    d[n] = '\0';
    return d;
}

static int verb_of(const char *m)
{
    if (!m || !strcmp(m, "GET")) {
        return CS_VERB_GET;
    }
    if (!strcmp(m, "POST")) {
        return CS_VERB_POST;
    }
    if (!strcmp(m, "PUT")) {
        return CS_VERB_PUT;
    }
    if (!strcmp(m, "PATCH")) {
        return CS_VERB_PATCH;
    }
    if (!strcmp(m, "DELETE")) {
        return CS_VERB_DELETE;
    }
    return CS_VERB_OTHER;
}

int cs_client_is_protobuf(const char *content_type)
{
    return content_type &&
           !strncasecmp(content_type, CS_CLIENT_PB_MEDIA, strlen(CS_CLIENT_PB_MEDIA));
}

const char *cs_client_resp_text(const struct cs_client_resp *r, char *buf, size_t n)
{
    if (cs_client_is_protobuf(r->content_type)) {
        char err[128];
        json_t *st = cs_pb_decode_object(r->body, r->body_len, err, sizeof(err));
        const char *m = json_string_value(json_object_get(st, "message"));
        snprintf(buf, n, "%s", m ? m : st ? "(protobuf body without a message)" : err);
        json_decref(st);
        return buf;
    }
    snprintf(buf, n, "%.*s", (int)(r->body_len < n ? r->body_len : n - 1), r->body ? r->body : "");
    return buf;
}

int cs_client_wire_body(const struct cs_client *c, struct cs_buf *body, const char **ctype,
                        const char **accept)
{
    if (!cs_client_protobuf(c)) {
        return 0;
    }
    json_t *obj = json_loadb(body->data, body->len, 0, NULL);
    struct cs_buf pb;
    cs_buf_init(&pb);
    char err[256];
    int ok = obj && cs_pb_encode_object(obj, &pb, err, sizeof(err)) == 0;
    json_decref(obj);
    if (!ok) {
        cs_buf_free(&pb);
        return 0;
    }
    cs_buf_free(body);
    *body = pb;
    *ctype = CS_PB_MEDIA;
    *accept = CS_PB_MEDIA ", application/json";
    return 1;
}

int cs_client_protobuf(const struct cs_client *c)
{
    return cs_client_is_protobuf(c->cfg.content_type);
}

const char *cs_client_verb_name(int verb)
{
    static const char *const names[CS_VERB_N] = { "GET", "POST", "PUT", "PATCH", "DELETE",
                                                  "OTHER", "WATCH" };
    return verb >= 0 && verb < CS_VERB_N ? names[verb] : "OTHER";
}

static int code_class(long status)
{
    if (status < 100 || status > 599) {
        return 0;
    }
    return (int)(status / 100);
}

static void stats_add(struct cs_client *c, int verb, long status, int retried)
{
    pthread_mutex_lock(&c->stats_mu);
    c->stats.requests[verb][code_class(status)]++;
    if (retried) {
        c->stats.retries++;
    }
    pthread_mutex_unlock(&c->stats_mu);
}

static void stats_inflight(struct cs_client *c, int delta)
{
    pthread_mutex_lock(&c->stats_mu);
    c->stats.in_flight += (uint64_t)(int64_t)delta;
    pthread_mutex_unlock(&c->stats_mu);
}

void cs_client_stats(struct cs_client *c, struct cs_client_stats *out)
{
    pthread_mutex_lock(&c->stats_mu);
    *out = c->stats;
    pthread_mutex_unlock(&c->stats_mu);
}

int cs_client_running(const struct cs_client *c)
{
    return c->started && !c->joined && !__atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE);
}

int cs_client_on_io_thread(const struct cs_client *c)
{
    return c->started && !c->joined && pthread_equal(pthread_self(), c->thread);
}

const char *cs_client_server(const struct cs_client *c)
{
    return c->cfg.server;
}

/* ---- timers (binary min-heap on (due, id)) -------------------------------------------------- */

static int timer_less(const struct timer *a, const struct timer *b)
{
    return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->id < b->id);
}

static void heap_swap(struct timer *h, size_t i, size_t j)
{
    struct timer t = h[i];
    h[i] = h[j];
    h[j] = t;
}

static void heap_up(struct timer *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!timer_less(&h[i], &h[p])) {
            break;
        }
        heap_swap(h, i, p);
        i = p;
    }
}

static void heap_down(struct timer *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && timer_less(&h[l], &h[m])) {
            m = l;
        }
        if (r < n && timer_less(&h[r], &h[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_remove_at(struct cs_client *c, size_t i)
{
    c->ntimers--;
    if (i == c->ntimers) {
        return;
    }
    c->timers[i] = c->timers[c->ntimers];
    heap_down(c->timers, c->ntimers, i);
    heap_up(c->timers, i);
}

static uint64_t timer_push(struct cs_client *c, int64_t delay_ns, cs_client_fn fn, void *arg,
                           struct xfer *xf)
{
    c->timers = cs_grow(c->timers, sizeof(*c->timers), c->ntimers + 1, &c->timers_cap);
    struct timer *t = &c->timers[c->ntimers];
    t->due_ns = cs_mono_ns() + (delay_ns > 0 ? delay_ns : 0);
    t->id = ++c->next_timer_id;
    t->fn = fn;
    t->arg = arg;
    t->xf = xf;
    c->ntimers++;
    heap_up(c->timers, c->ntimers - 1);
    return t->id;
}

uint64_t cs_client_timer_add(struct cs_client *c, int64_t delay_ms, cs_client_fn fn, void *arg)
{
    return timer_push(c, delay_ms * 1000000LL, fn, arg, NULL);
}

int cs_client_timer_cancel(struct cs_client *c, uint64_t id)
{
    for (size_t i = 0; i < c->ntimers; i++) {
        if (c->timers[i].id == id) {
            heap_remove_at(c, i);
            return 1;
        }
    }
    return 0;
}

static void run_due_timers(struct cs_client *c)
{
    int64_t now = cs_mono_ns();
    while (c->ntimers > 0 && c->timers[0].due_ns <= now) {
        struct timer t = c->timers[0];
        heap_remove_at(c, 0);
        t.fn(t.arg);
    }
}

/* ---- xfer lifetime -------------------------------------------------------------------------- */

static void xfer_free(struct xfer *x)
{
    cs_free(x->method);
    cs_free(x->path);
    cs_free(x->body);
    cs_free(x->content_type);
    cs_free(x->accept);
    cs_buf_free(&x->resp);
    if (x->kind == XF_STREAM) {
        cs_linebuf_free(&x->lb);
        cs_framebuf_free(&x->fb);
    }
    cs_free(x);
}

static void stream_unref(struct xfer *x)
{
    if (__atomic_sub_fetch(&x->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        xfer_free(x);
    }
}

static void active_link(struct cs_client *c, struct xfer *x)
{
    x->active = 1;
    x->aprev = NULL;
    x->anext = c->active_head;
    if (c->active_head) {
        c->active_head->aprev = x;
    }
    c->active_head = x;
}

static void active_unlink(struct cs_client *c, struct xfer *x)
{
    if (!x->active) {
        return;
    }
    curl_multi_remove_handle(c->multi, x->easy);
    x->active = 0;
    if (x->aprev) {
        x->aprev->anext = x->anext;
    } else {
        c->active_head = x->anext;
    }
    if (x->anext) {
        x->anext->aprev = x->aprev;
    }
    x->aprev = x->anext = NULL;
}

static void release_easy(struct cs_client *c, struct xfer *x)
{
    if (x->counted) {
        x->counted = 0;
        c->req_active--;
    }
    if (x->easy) {
        active_unlink(c, x);
        c->pool = cs_grow(c->pool, sizeof(*c->pool), c->npool + 1, &c->pool_cap);
        c->pool[c->npool++] = x->easy;
        x->easy = NULL;
    }
    if (x->hdrs) {
        curl_slist_free_all(x->hdrs);
        x->hdrs = NULL;
    }
}

static void set_stream_conn_limit(struct cs_client *c)
{
    long n = (long)c->cfg.max_conns_per_host + c->n_streams;
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, n);
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, n + 4);
}

/* Deliver the end of a request to its callback and free it. */
static void req_finish(struct cs_client *c, struct xfer *x, long status, const char *err)
{
    release_easy(c, x);
    stats_inflight(c, -1);
    if (x->cb) {
        struct cs_client_resp r = {
            .status = status,
            .body = x->resp.data ? x->resp.data : "",
            .body_len = x->resp.len,
            .err = err,
            .retry_after_s = x->retry_after_s,
            .attempts = x->attempts,
            .content_type = x->ctype,
        };
        x->cb(x->arg, &r);
    }
    xfer_free(x);
}

static void stream_finish(struct cs_client *c, struct xfer *x, long status, const char *err)
{
    if (x->finished) {
        return;
    }
    x->finished = 1;
    int was_active = x->active || x->easy;
    release_easy(c, x);
    if (was_active) {
        c->n_streams--;
        set_stream_conn_limit(c);
    }
    pthread_mutex_lock(&c->stats_mu);
    c->stats.streams_open--;
    pthread_mutex_unlock(&c->stats_mu);
    x->done_cb(x->arg, status, err);
    stream_unref(x);
}

/* ---- token ---------------------------------------------------------------------------------- */

static int read_small_file(const char *path, char **out)
{
    int rc = -1;
    struct cs_buf b;
    cs_buf_init(&b);
    FILE *f = fopen(path, "rb");
    if (!f) {
        goto out;
    }
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        cs_buf_append(&b, tmp, n);
        if (b.len > (1u << 20)) {
            goto out;
        }
    }
    if (ferror(f)) {
        goto out;
    }
    cs_buf_reserve(&b, 0);
    *out = cs_buf_steal(&b);
    rc = 0;
out:
    if (f) {
        fclose(f);
    }
    cs_buf_free(&b);
    return rc;
}

static const char *current_token(struct cs_client *c)
{
    if (!c->cfg.token_file) {
        return c->cfg.token;
    }
    int64_t now = cs_mono_ns();
    int64_t every = (c->cfg.token_reread_ms > 0 ? c->cfg.token_reread_ms : 60000) * 1000000LL;
    if (c->token && now - c->token_read_ns < every) {
        return c->token;
    }
    char *t = NULL;
    if (read_small_file(c->cfg.token_file, &t) < 0) {
        CS_WARN_S("Cannot read token file; keeping the previous token",
                  CS_KV("file", c->cfg.token_file), CS_KV("error", strerror(errno)));
        c->token_read_ns = now;
        return c->token ? c->token : c->cfg.token;
    }
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t')) {
        t[--n] = '\0';
    }
    cs_free(c->token);
    c->token = t;
    c->token_read_ns = now;
    return c->token;
}

/* ---- curl callbacks ------------------------------------------------------------------------- */

/* A Retry-After value (seconds; surrounding spaces allowed) into *out; other forms are ignored. */
static void parse_retry_after(const char *v, size_t n, int *out)
{
    char tmp[32];
    size_t k = n < sizeof(tmp) - 1 ? n : sizeof(tmp) - 1;
    memcpy(tmp, v, k);
    tmp[k] = '\0';
    char *end = NULL;
    errno = 0;
    long r = strtol(tmp, &end, 10);
    if (errno == 0 && end != tmp && r >= 0 && r < 86400) {
        *out = (int)r;
    }
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata)
{
    struct xfer *x = userdata;
    size_t len = size * n;
    if (len >= 5 && !strncmp(buf, "HTTP/", 5)) {
        x->retry_after_s = -1;
        x->ctype[0] = '\0';
    } else if (len > 13 && !strncasecmp(buf, "Content-Type:", 13)) {
        size_t a = 13, b = len;
        while (a < b && (buf[a] == ' ' || buf[a] == '\t')) {
            a++;
        }
        while (b > a && (buf[b - 1] == '\r' || buf[b - 1] == '\n' || buf[b - 1] == ' ')) {
            b--;
        }
        size_t k = b - a < sizeof(x->ctype) - 1 ? b - a : sizeof(x->ctype) - 1;
        memcpy(x->ctype, buf + a, k);
        x->ctype[k] = '\0';
    } else if (len > 12 && !strncasecmp(buf, "Retry-After:", 12)) {
        parse_retry_after(buf + 12, len - 12, &x->retry_after_s);
    }
    return len;
}

static size_t on_req_data(char *data, size_t size, size_t n, void *userdata)
{
    struct xfer *x = userdata;
    cs_buf_append(&x->resp, data, size * n);
    return size * n;
}

static void stream_line(void *arg, const char *line, size_t len)
{
    struct xfer *x = arg;
    if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE)) {
        return;
    }
    pthread_mutex_lock(&x->c->stats_mu);
    x->c->stats.stream_lines++;
    pthread_mutex_unlock(&x->c->stats_mu);
    x->line_cb(x->arg, line, len);
}

static void stream_frame(void *arg, const char *frame, size_t len)
{
    struct xfer *x = arg;
    if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE)) {
        return;
    }
    pthread_mutex_lock(&x->c->stats_mu);
    x->c->stats.stream_lines++;
    pthread_mutex_unlock(&x->c->stats_mu);
    x->frame_cb(x->arg, frame, len);
}

static size_t on_stream_data(char *data, size_t size, size_t n, void *userdata)
{
    struct xfer *x = userdata;
    size_t len = size * n;
    if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE)) {
        return 0;
    }
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        if (x->resp.len < STREAM_ERR_BODY_MAX) {
            size_t room = STREAM_ERR_BODY_MAX - x->resp.len;
            cs_buf_append(&x->resp, data, len < room ? len : room);
        }
        return len;
    }
    if (x->framing == 0) {
        /* A protobuf stream is length-delimited; anything else (JSON) is newline-delimited. */
        x->framing = x->frame_cb && cs_client_is_protobuf(x->ctype) ? 2 : 1;
    }
    int rc = x->framing == 2 ? cs_framebuf_feed(&x->fb, data, len, stream_frame, x)
                             : cs_linebuf_feed(&x->lb, data, len, stream_line, x);
    if (rc < 0) {
        x->line_error = 1;
        return 0;
    }
    return len;
}

/* ---- starting transfers --------------------------------------------------------------------- */

static CURL *take_easy(struct cs_client *c)
{
    if (c->npool > 0) {
        CURL *e = c->pool[--c->npool];
        curl_easy_reset(e);
        return e;
    }
    return curl_easy_init();
}

static void set_common_opts(struct cs_client *c, struct xfer *x, CURL *e)
{
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* A watch can be idle for minutes; keepalive probes find a vanished server in ~2 min. */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->cfg.user_agent);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    if (c->https) {
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
        if (c->cfg.insecure_skip_tls_verify) {
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (c->cfg.ca_data) {
            struct curl_blob b = { c->cfg.ca_data, c->cfg.ca_data_len, CURL_BLOB_NOCOPY };
            curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
        } else if (c->cfg.ca_file) {
            curl_easy_setopt(e, CURLOPT_CAINFO, c->cfg.ca_file);
        }
        if (c->cfg.cert_data) {
            struct curl_blob b = { c->cfg.cert_data, c->cfg.cert_data_len, CURL_BLOB_NOCOPY };
            curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &b);
            curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        } else if (c->cfg.cert_file) {
            curl_easy_setopt(e, CURLOPT_SSLCERT, c->cfg.cert_file);
        }
        if (c->cfg.key_data) {
            struct curl_blob b = { c->cfg.key_data, c->cfg.key_data_len, CURL_BLOB_NOCOPY };
            curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &b);
            curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
        } else if (c->cfg.key_file) {
            curl_easy_setopt(e, CURLOPT_SSLKEY, c->cfg.key_file);
        }
        if (c->connect_to) {
            curl_easy_setopt(e, CURLOPT_CONNECT_TO, c->connect_to);
        }
    }
}

static struct curl_slist *build_headers(struct cs_client *c, const char *accept,
                                        const char *content_type)
{
    char line[256];
    struct curl_slist *h = NULL;
    snprintf(line, sizeof(line), "Accept: %s", accept ? accept : "application/json");
    h = curl_slist_append(h, line);
    if (content_type) {
        snprintf(line, sizeof(line), "Content-Type: %s", content_type);
        h = curl_slist_append(h, line);
    }
    h = curl_slist_append(h, "Expect:");
    const char *tok = current_token(c);
    if (tok && *tok) {
        struct cs_buf b;
        cs_buf_init(&b);
        cs_buf_printf(&b, "Authorization: Bearer %s", tok);
        h = curl_slist_append(h, b.data);
        cs_buf_free(&b);
    }
    return h;
}

static int add_to_multi(struct cs_client *c, struct xfer *x, const char *path)
{
    struct cs_buf url;
    cs_buf_init(&url);
    cs_buf_puts(&url, c->base_url);
    cs_buf_puts(&url, path);
    curl_easy_setopt(x->easy, CURLOPT_URL, url.data); /* curl copies the string */
    cs_buf_free(&url);
    x->errbuf[0] = '\0';
    x->retry_after_s = -1;
    CURLMcode mc = curl_multi_add_handle(c->multi, x->easy);
    if (mc != CURLM_OK) {
        snprintf(x->errbuf, sizeof(x->errbuf), "curl_multi_add_handle: %s",
                 curl_multi_strerror(mc));
        return -1;
    }
    active_link(c, x);
    return 0;
}

static int h2_launch(struct cs_client *c, struct xfer *x);
static int h2_hold(const struct cs_client *c);
static int h2_launch_stream(struct cs_client *c, struct xfer *x);

static void req_launch(struct cs_client *c, struct xfer *x)
{
    x->counted = 1;
    c->req_active++;
    x->attempts++;
    cs_buf_reset(&x->resp);
    if (h2_launch(c, x) == 0) {
        return;
    }
    CURL *e = take_easy(c);
    x->easy = e;
    set_common_opts(c, x, e);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_req_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    long tmo = x->timeout_ms ? x->timeout_ms : c->cfg.request_timeout_ms;
    if (tmo > 0) {
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, tmo);
    }
    const char *ct = NULL;
    if (x->body) {
        ct = x->content_type ? x->content_type : "application/json";
    }
    x->hdrs = build_headers(c, x->accept, ct);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    if (x->verb == CS_VERB_GET) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (x->body || x->verb == CS_VERB_POST) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->body_len);
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body ? x->body : "");
        }
        if (x->verb != CS_VERB_POST) {
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, x->method);
        }
    }
    if (add_to_multi(c, x, x->path) < 0) {
        req_finish(c, x, 0, x->errbuf);
    }
}

static int req_cap(const struct cs_client *c)
{
    return c->h2_seen || c->h2_ready_once ? c->cfg.max_conns_per_host * 100
                                          : c->cfg.max_conns_per_host;
}

/* Hand waiting requests to a transport while slots are free. */
static void pump_ready(struct cs_client *c)
{
    while (c->ready_head && c->req_active < req_cap(c) && !h2_hold(c)) {
        struct xfer *x = c->ready_head;
        c->ready_head = x->next;
        if (!c->ready_head) {
            c->ready_tail = NULL;
        }
        x->next = NULL;
        req_launch(c, x);
    }
}

static void req_start(struct cs_client *c, struct xfer *x)
{
    x->next = NULL;
    if (c->ready_tail) {
        c->ready_tail->next = x;
    } else {
        c->ready_head = x;
    }
    c->ready_tail = x;
    pump_ready(c);
}

static void req_start_timer(void *arg)
{
    struct xfer *x = arg;
    req_start(x->c, x);
}

/* Admit a request: take a limiter token, start now or after the wait. */
static void req_admit(struct cs_client *c, struct xfer *x)
{
    int64_t wait = cs_limiter_reserve(&c->limiter, cs_mono_ns());
    if (wait <= 0) {
        req_start(c, x);
        return;
    }
    pthread_mutex_lock(&c->stats_mu);
    c->stats.rate_limited++;
    c->stats.rate_limit_wait_s += (double)wait / 1e9;
    pthread_mutex_unlock(&c->stats_mu);
    timer_push(c, wait, req_start_timer, x, x);
}

static void req_retry_timer(void *arg)
{
    struct xfer *x = arg;
    req_admit(x->c, x);
}

static void stream_start(struct cs_client *c, struct xfer *x)
{
    if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE)) {
        stream_finish(c, x, 0, "cancelled");
        return;
    }
    if (h2_hold(c)) {
        x->next = c->h2_wait; /* started by h2_tick once the connection is READY or failed */
        c->h2_wait = x;
        return;
    }
    if (h2_launch_stream(c, x) == 0) {
        return;
    }
    CURL *e = take_easy(c);
    x->easy = e;
    c->n_streams++;
    set_stream_conn_limit(c);
    set_common_opts(c, x, e);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_stream_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    x->hdrs = build_headers(c, x->accept ? x->accept : "application/json", NULL);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    if (add_to_multi(c, x, x->path) < 0) {
        stream_finish(c, x, 0, x->errbuf);
    }
}

/* ---- completion ----------------------------------------------------------------------------- */

static void req_complete(struct cs_client *c, struct xfer *x, long status, const char *err);

static void on_done(struct cs_client *c, struct xfer *x, CURLcode res)
{
    long status = 0, nconn = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &nconn);
    if (nconn > 0) {
        pthread_mutex_lock(&c->stats_mu);
        c->stats.connects += (uint64_t)nconn;
        pthread_mutex_unlock(&c->stats_mu);
    }
    active_unlink(c, x);
    const char *err = NULL;
    if (res != CURLE_OK) {
        err = x->errbuf[0] ? x->errbuf : curl_easy_strerror(res);
    }
    if (x->kind == XF_STREAM) {
        if (x->line_error) {
            err = "line longer than the stream limit";
        } else if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE)) {
            err = "cancelled";
        } else if (status != 200 && status != 0) {
            err = x->resp.len ? x->resp.data : "unexpected HTTP status";
        }
        stats_add(c, CS_VERB_WATCH, res == CURLE_OK ? status : 0, 0);
        stream_finish(c, x, status, err);
        return;
    }
    if (res != CURLE_OK) {
        status = 0;
    }
    if (!c->h2_seen) {
        long hv = 0;
        curl_easy_getinfo(x->easy, CURLINFO_HTTP_VERSION, &hv);
        if (hv == CURL_HTTP_VERSION_2_0) {
            c->h2_seen = 1;
        }
    }
    req_complete(c, x, status, err);
}

/* The end of one attempt of a request (either transport): retry it or deliver it. */
static void req_complete(struct cs_client *c, struct xfer *x, long status, const char *err)
{
    stats_add(c, x->verb, status, x->attempts > 1);
    int max = x->max_attempts > 0 ? x->max_attempts : 5;
    if (x->retry == CS_CLIENT_RETRY_DEFAULT && cs_retryable_status(status) && x->attempts < max &&
        !c->shutting_down) {
        int64_t d = cs_retry_delay_ms(x->attempts, x->retry_after_s, &c->rng);
        if (CS_V(4)) {
            CS_INFO_S("Retrying request", CS_KV("verb", x->method), CS_KV("path", x->path),
                      CS_KVI("status", status), CS_KV("error", err ? err : ""),
                      CS_KVI("attempt", x->attempts), CS_KVI("delayMs", d));
        }
        release_easy(c, x);
        timer_push(c, d * 1000000LL, req_retry_timer, x, x);
        return;
    }
    req_finish(c, x, status, err);
}

static void drain_multi(struct cs_client *c)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) {
            continue;
        }
        struct xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x) {
            on_done(c, x, m->data.result);
        }
    }
}

/* ---- the client's own HTTP/2 connection (h2.c) ------------------------------------------------ */

static void h2_unlink(struct cs_client *c, struct xfer *x)
{
    if (!x->on_h2) {
        return;
    }
    x->on_h2 = 0;
    if (x->hprev) {
        x->hprev->hnext = x->hnext;
    } else {
        c->h2_head = x->hnext;
    }
    if (x->hnext) {
        x->hnext->hprev = x->hprev;
    }
    x->hprev = x->hnext = NULL;
}

static void h2_on_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct xfer *x = ud;
    char tmp[32];
    if (nlen == 7 && !memcmp(name, ":status", 7)) {
        size_t k = vlen < sizeof(tmp) - 1 ? vlen : sizeof(tmp) - 1;
        memcpy(tmp, value, k);
        tmp[k] = '\0';
        x->h2_status = strtol(tmp, NULL, 10);
    } else if (nlen == 12 && !strncasecmp(name, "content-type", 12)) {
        size_t k = vlen < sizeof(x->ctype) - 1 ? vlen : sizeof(x->ctype) - 1;
        memcpy(x->ctype, value, k);
        x->ctype[k] = '\0';
    } else if (nlen == 11 && !strncasecmp(name, "retry-after", 11)) {
        parse_retry_after(value, vlen, &x->retry_after_s);
    }
}

static void h2_on_data(void *ud, const char *p, size_t n)
{
    struct xfer *x = ud;
    if (x->kind != XF_STREAM) {
        cs_buf_append(&x->resp, p, n);
        return;
    }
    if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE) || x->line_error) {
        return; /* the RST_STREAM is on its way */
    }
    if (x->h2_status != 200) {
        if (x->resp.len < STREAM_ERR_BODY_MAX) {
            size_t room = STREAM_ERR_BODY_MAX - x->resp.len;
            cs_buf_append(&x->resp, p, n < room ? n : room);
        }
        return;
    }
    if (x->framing == 0) {
        x->framing = x->frame_cb && cs_client_is_protobuf(x->ctype) ? 2 : 1;
    }
    int rc;
    if (x->framing == 2) {
        rc = cs_framebuf_feed(&x->fb, p, n, stream_frame, x);
    } else {
        /* the line splitter writes NULs into its chunk: give it a copy */
        cs_buf_reset(&x->resp);
        cs_buf_append(&x->resp, p, n);
        rc = cs_linebuf_feed(&x->lb, x->resp.data, n, stream_line, x);
        cs_buf_reset(&x->resp);
    }
    if (rc < 0) {
        x->line_error = 1;
        cs_h2_cancel(x->c->h2, x->h2_id);
    }
}

static void h2_stream_closed(struct cs_client *c, struct xfer *x, const char *err)
{
    long status = err ? 0 : x->h2_status;
    if (x->line_error) {
        err = "line longer than the stream limit";
    } else if (__atomic_load_n(&x->cancelled, __ATOMIC_ACQUIRE) || c->shutting_down) {
        err = "cancelled";
    } else if (!err && status != 200) {
        err = x->resp.len ? x->resp.data : "unexpected HTTP status";
    }
    stats_add(c, CS_VERB_WATCH, status, 0);
    stream_finish(c, x, status, err);
}

static void h2_on_close(void *ud, const char *err)
{
    struct xfer *x = ud;
    struct cs_client *c = x->c;
    h2_unlink(c, x);
    if (x->kind == XF_STREAM) {
        h2_stream_closed(c, x, err);
        return;
    }
    char msg[128];
    if (x->h2_timed_out) {
        snprintf(msg, sizeof(msg), "Operation timed out after %ld milliseconds",
                 x->timeout_ms ? x->timeout_ms : c->cfg.request_timeout_ms);
        err = msg;
    }
    req_complete(c, x, err ? 0 : x->h2_status, err);
}

static void h2_link(struct cs_client *c, struct xfer *x)
{
    x->on_h2 = 1;
    x->hprev = NULL;
    x->hnext = c->h2_head;
    if (c->h2_head) {
        c->h2_head->hprev = x;
    }
    c->h2_head = x;
}

/* While the connection is being made, requests and streams wait for it (up to its connect
 * deadline) rather than opening curl connections of their own. */
static int h2_hold(const struct cs_client *c)
{
    return c->h2 && cs_h2_state(c->h2) == CS_H2_CONNECTING;
}

/* Open a watch over h2 when the connection is READY. Returns 0, or -1 (use curl). */
static int h2_launch_stream(struct cs_client *c, struct xfer *x)
{
    if (!c->h2 || cs_h2_state(c->h2) != CS_H2_READY) {
        return -1;
    }
    x->ctype[0] = '\0';
    x->h2_status = 0;
    x->deadline_ns = 0;
    struct cs_h2_req r = {
        .method = "GET",
        .path = x->path,
        .accept = x->accept ? x->accept : "application/json",
        .token = current_token(c),
    };
    int32_t id = cs_h2_submit(c->h2, &r, x);
    if (id < 0) {
        return -1;
    }
    x->h2_id = id;
    h2_link(c, x);
    return 0;
}

/* Send this attempt over h2 when the connection is READY. Returns 0, or -1 (use curl). */
static int h2_launch(struct cs_client *c, struct xfer *x)
{
    if (!c->h2 || cs_h2_state(c->h2) != CS_H2_READY) {
        return -1;
    }
    x->retry_after_s = -1;
    x->ctype[0] = '\0';
    x->h2_status = 0;
    x->h2_timed_out = 0;
    const char *ct = NULL;
    if (x->body) {
        ct = x->content_type ? x->content_type : "application/json";
    }
    struct cs_h2_req r = {
        .method = x->method,
        .path = x->path,
        .accept = x->accept,
        .content_type = ct,
        .token = current_token(c),
        /* DELETE and PATCH may carry a body; POST always sends one (possibly empty) */
        .body = x->body ? x->body : (x->verb == CS_VERB_POST ? "" : NULL),
        .body_len = x->body ? x->body_len : 0,
    };
    int32_t id = cs_h2_submit(c->h2, &r, x);
    if (id < 0) {
        return -1;
    }
    x->h2_id = id;
    long tmo = x->timeout_ms ? x->timeout_ms : c->cfg.request_timeout_ms;
    x->deadline_ns = tmo > 0 ? cs_mono_ns() + (int64_t)tmo * 1000000 : 0;
    h2_link(c, x);
    return 0;
}

static void h2_epoll_sync(struct cs_client *c)
{
    int fd = c->h2 ? cs_h2_fd(c->h2) : -1;
    uint32_t ev = c->h2 ? cs_h2_events(c->h2) : 0;
    if (c->h2_ep_fd >= 0 && c->h2_ep_fd != fd) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->h2_ep_fd, NULL);
        c->h2_ep_fd = -1;
    }
    if (fd < 0) {
        return;
    }
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = ev;
    e.data.fd = fd;
    if (c->h2_ep_fd < 0) {
        if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &e) == 0) {
            c->h2_ep_fd = fd;
            c->h2_ep_events = ev;
        }
    } else if (ev != c->h2_ep_events) {
        epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &e);
        c->h2_ep_events = ev;
    }
}

/* Drop the connection (its open streams end with `why` and are retried or delivered). */
static void h2_drop(struct cs_client *c, const char *why)
{
    struct cs_h2 *h = c->h2;
    c->h2 = NULL;
    if (c->h2_ep_fd >= 0) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, c->h2_ep_fd, NULL);
        c->h2_ep_fd = -1;
    }
    cs_h2_free(h, why);
}

/* Once per loop turn: connect when needed, write what was submitted, notice a dead connection,
 * time out overdue requests, and keep the epoll set in step. */
static void h2_tick_conn(struct cs_client *c)
{
    if (c->h2_off) {
        return;
    }
    int64_t now = cs_mono_ns();
    if (!c->h2 && now >= c->h2_retry_ns) {
        char err[256];
        static const struct cs_h2_callbacks cbs = { h2_on_header, h2_on_data, h2_on_close };
        c->h2 = cs_h2_new(&c->cfg, &cbs, err, sizeof(err));
        if (!c->h2) {
            c->h2_off = 1;
            if (CS_V(2)) {
                CS_INFO_S("Requests stay on libcurl", CS_KV("reason", err));
            }
            return;
        }
        c->h2_connect_deadline_ns = now + 10LL * 1000000000;
        c->h2_counted = 0;
        cs_h2_connect(c->h2);
    }
    if (!c->h2) {
        return;
    }
    struct cs_h2 *h = c->h2;
    int st = cs_h2_state(h);
    if (st == CS_H2_CONNECTING && now > c->h2_connect_deadline_ns) {
        h2_drop(c, "connect timeout");
        c->h2_fails++;
        c->h2_retry_ns = now + cs_backoff_ms(c->h2_fails, 1000, 30000, 0.5, &c->rng) * 1000000LL;
        return;
    }
    if (st == CS_H2_READY) {
        if (!c->h2_ready_once) {
            c->h2_ready_once = 1;
            if (CS_V(2)) {
                CS_INFO_S("Requests use the client's own HTTP/2 connection",
                          CS_KV("server", c->cfg.server));
            }
        }
        if (!c->h2_counted) {
            c->h2_counted = 1;
            c->h2_fails = 0;
            pthread_mutex_lock(&c->stats_mu);
            c->stats.connects++;
            pthread_mutex_unlock(&c->stats_mu);
        }
    }
    /* A connection draining after GOAWAY still carries requests: they keep their deadlines. */
    if (st == CS_H2_READY || cs_h2_draining(h)) {
        cs_h2_flush(h);
        if (now >= c->h2_sweep_ns) {
            c->h2_sweep_ns = now + 200000000LL;
            for (struct xfer *x = c->h2_head, *n; x; x = n) {
                n = x->hnext;
                if (x->deadline_ns && now > x->deadline_ns && !x->h2_timed_out) {
                    x->h2_timed_out = 1;
                    cs_h2_cancel(h, x->h2_id);
                }
            }
            cs_h2_flush(h);
        }
        st = cs_h2_state(h);
    }
    if (st == CS_H2_DEAD && !cs_h2_draining(h)) {
        if (cs_h2_refused(h)) {
            c->h2_off = 1;
            if (CS_V(2)) {
                CS_INFO_S("Requests stay on libcurl", CS_KV("reason", cs_h2_error(h)));
            }
        } else {
            if (CS_V(2)) {
                CS_INFO_S("The client's HTTP/2 connection ended; requests use libcurl until it is back",
                          CS_KV("reason", cs_h2_error(h)));
            }
            c->h2_fails++;
            c->h2_retry_ns = now + cs_backoff_ms(c->h2_fails, 200, 30000, 0.5, &c->rng) * 1000000LL;
        }
        char why[300];
        snprintf(why, sizeof(why), "%s", cs_h2_error(h));
        h2_drop(c, why);
        return;
    }
    h2_epoll_sync(c);
}

static void h2_tick(struct cs_client *c)
{
    h2_tick_conn(c);
    if (c->h2_wait && !h2_hold(c)) {
        struct xfer *w = c->h2_wait;
        c->h2_wait = NULL;
        while (w) { /* oldest first is not needed: each watch is independent */
            struct xfer *n = w->next;
            w->next = NULL;
            stream_start(c, w);
            w = n;
        }
    }
}

/* ---- the loop ------------------------------------------------------------------------------- */

static void admit(struct cs_client *c, struct xfer *x)
{
    if (x->kind == XF_STREAM) {
        stream_start(c, x);
    } else {
        req_admit(c, x);
    }
}

static void fail_xfer(struct cs_client *c, struct xfer *x)
{
    if (x->kind == XF_STREAM) {
        stream_finish(c, x, 0, "cancelled");
    } else {
        req_finish(c, x, 0, "client stopped");
    }
}

/* Take the submit and post lists; returns 1 if anything was taken. */
static int take_queues(struct cs_client *c, struct xfer **subs, struct post **posts)
{
    pthread_mutex_lock(&c->mu);
    *subs = c->sub_head;
    *posts = c->post_head;
    c->sub_head = c->sub_tail = NULL;
    c->post_head = c->post_tail = NULL;
    pthread_mutex_unlock(&c->mu);
    return *subs || *posts;
}

static void run_posts(struct post *p)
{
    while (p) {
        struct post *n = p->next;
        p->fn(p->arg);
        cs_free(p);
        p = n;
    }
}

static void shutdown_io(struct cs_client *c)
{
    struct xfer *subs;
    struct post *posts;
    c->shutting_down = 1;
    if (c->h2) {
        h2_drop(c, "client stopped");
    }
    while (c->h2_wait) {
        struct xfer *x = c->h2_wait;
        c->h2_wait = x->next;
        x->next = NULL;
        stream_finish(c, x, 0, "cancelled");
    }
    /* Posted functions still run (they may be closes and cleanups); new posts are refused. */
    while (take_queues(c, &subs, &posts)) {
        run_posts(posts);
        while (subs) {
            struct xfer *n = subs->next;
            fail_xfer(c, subs);
            subs = n;
        }
    }
    while (c->ready_head) {
        struct xfer *x = c->ready_head;
        c->ready_head = x->next;
        if (!c->ready_head) {
            c->ready_tail = NULL;
        }
        fail_xfer(c, x);
    }
    /* Delayed request starts and retries. */
    while (c->ntimers > 0) {
        struct timer t = c->timers[c->ntimers - 1];
        c->ntimers--;
        if (t.xf) {
            fail_xfer(c, t.xf);
        }
    }
    /* In-flight transfers. */
    while (c->active_head) {
        fail_xfer(c, c->active_head);
    }
}

/* curl tells which sockets to watch for what (CURLMOPT_SOCKETFUNCTION); socketp is non-NULL
 * once the socket is in the epoll set. */
static int on_curl_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)e;
    struct cs_client *c = userp;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL); /* may be closed already: ignored */
        curl_multi_assign(c->multi, s, NULL);
        return 0;
    }
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (socketp == NULL || epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev) != 0) {
        if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, s, &ev) != 0 && errno == EEXIST) {
            epoll_ctl(c->epfd, EPOLL_CTL_MOD, s, &ev);
        }
        curl_multi_assign(c->multi, s, c);
    }
    return 0;
}

/* curl's single timeout (CURLMOPT_TIMERFUNCTION): -1 removes it. */
static int on_curl_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    struct cs_client *c = userp;
    c->curl_due_ns = timeout_ms < 0 ? -1 : cs_mono_ns() + (int64_t)timeout_ms * 1000000;
    return 0;
}

static void wake_loop(struct cs_client *c)
{
    uint64_t one = 1;
    ssize_t n = write(c->wake_fd, &one, sizeof(one));
    (void)n; /* EAGAIN: the counter is already non-zero, the loop will wake */
}

static void *io_main(void *arg)
{
    struct cs_client *c = arg;
    struct epoll_event evs[64];
    h2_tick(c); /* connect at once: the first lists and watches can then use it */
    bool dense = false; /* the last wait found work within coalesce_us */
    for (;;) {
        struct xfer *subs;
        struct post *posts;
        pthread_mutex_lock(&c->mu);
        int stop = c->stopping;
        pthread_mutex_unlock(&c->mu);
        if (stop) {
            break;
        }
        take_queues(c, &subs, &posts);
        run_posts(posts);
        while (subs) {
            struct xfer *n = subs->next;
            subs->next = NULL;
            admit(c, subs);
            subs = n;
        }
        run_due_timers(c);
        int running = 0;
        pump_ready(c);
        if (c->curl_due_ns >= 0 && c->curl_due_ns <= cs_mono_ns()) {
            c->curl_due_ns = -1;
            curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        drain_multi(c);
        pump_ready(c);

        h2_tick(c);

        int timeout = 1000;
        pthread_mutex_lock(&c->mu);
        int more = c->sub_head || c->post_head || c->stopping ||
                   (c->ready_head && c->req_active < req_cap(c) && !h2_hold(c)) ||
                   (c->h2_wait && !h2_hold(c));
        pthread_mutex_unlock(&c->mu);
        int64_t now = cs_mono_ns();
        if (more) {
            timeout = 0;
        } else {
            if (c->ntimers > 0) {
                int64_t d = (c->timers[0].due_ns - now + 999999) / 1000000;
                timeout = d < timeout ? (d < 0 ? 0 : (int)d) : timeout;
            }
            if (c->curl_due_ns >= 0) {
                int64_t d = (c->curl_due_ns - now + 999999) / 1000000;
                timeout = d < timeout ? (d < 0 ? 0 : (int)d) : timeout;
            }
            if (c->h2_head || (c->h2 && cs_h2_state(c->h2) == CS_H2_CONNECTING)) {
                timeout = timeout > 200 ? 200 : timeout; /* request deadlines, connect timeout */
            }
        }
        if (timeout > 0 && dense && c->h2_head) {
            cs_sleep_ns((int64_t)c->cfg.coalesce_us * 1000);
        }
        int64_t t_wait = c->cfg.coalesce_us > 0 ? cs_mono_ns() : 0;
        int n = epoll_wait(c->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), timeout);
        /* Coalesce only while work comes faster than the window: sparse traffic keeps one
         * wake per arrival instead of two. */
        dense = c->cfg.coalesce_us > 0 && n > 0 &&
                cs_mono_ns() - t_wait < (int64_t)c->cfg.coalesce_us * 1000;
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == c->wake_fd) {
                uint64_t v;
                ssize_t r = read(c->wake_fd, &v, sizeof(v));
                (void)r;
                continue;
            }
            uint32_t e = evs[i].events;
            if (c->h2 && fd == cs_h2_fd(c->h2)) {
                cs_h2_io(c->h2, e);
                continue;
            }
            int bits = ((e & EPOLLIN) ? CURL_CSELECT_IN : 0) |
                       ((e & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
                       ((e & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
            curl_multi_socket_action(c->multi, fd, bits, &running);
        }
        if (n > 0) {
            drain_multi(c);
        }
    }
    shutdown_io(c);
    return NULL;
}

/* ---- public API ------------------------------------------------------------------------------ */

static int parse_server(struct cs_client *c, char *err, size_t errlen)
{
    const char *s = c->cfg.server;
    if (!s || !*s) {
        snprintf(err, errlen, "client config: server is empty");
        return -1;
    }
    const char *rest;
    if (!strncmp(s, "https://", 8)) {
        c->https = 1;
        rest = s + 8;
    } else if (!strncmp(s, "http://", 7)) {
        rest = s + 7;
    } else {
        snprintf(err, errlen, "client config: server %s: scheme must be http or https", s);
        return -1;
    }
    if (!*rest || *rest == '/') {
        snprintf(err, errlen, "client config: server %s has no host", s);
        return -1;
    }
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/') {
        n--;
    }
    c->base_url = cs_strndup(s, n);
    if (c->https && c->cfg.tls_server_name && *c->cfg.tls_server_name) {
        /* Connect to the real host but speak TLS (SNI, verification, Host) as the name. */
        const char *hp = rest;
        size_t hl = strcspn(hp, "/");
        char host[512];
        if (hl >= sizeof(host)) {
            snprintf(err, errlen, "client config: server %s: host too long", s);
            return -1;
        }
        memcpy(host, hp, hl);
        host[hl] = '\0';
        const char *port = "443";
        char *colon = NULL;
        if (host[0] == '[') {
            char *rb = strchr(host, ']');
            colon = rb ? strchr(rb, ':') : NULL;
        } else {
            colon = strrchr(host, ':');
        }
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
        struct cs_buf b;
        cs_buf_init(&b);
        cs_buf_printf(&b, "%s:%s:%s:%s", c->cfg.tls_server_name, port, host, port);
        c->connect_to = curl_slist_append(NULL, b.data);
        cs_buf_reset(&b);
        /* keep a path prefix (proxies serve clusters under /k8s/clusters/<id>) */
        const char *prefix = hp + hl;
        size_t plen = strlen(prefix);
        while (plen > 0 && prefix[plen - 1] == '/') {
            plen--;
        }
        cs_buf_printf(&b, "https://%s:%s%.*s", c->cfg.tls_server_name, port, (int)plen, prefix);
        cs_free(c->base_url);
        c->base_url = cs_buf_steal(&b);
        cs_buf_free(&b);
    }
    return 0;
}

/* The own HTTP/2 transport connects directly: not when a proxy is configured (curl honours
 * the proxy variables), nor when COSCHED_CLIENT_H2=0 asks for curl alone (comparisons). */
static int h2_unwanted(void)
{
    static const char *const vars[] = { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) {
            return 1;
        }
    }
    const char *h2 = getenv("COSCHED_CLIENT_H2");
    return h2 && !strcmp(h2, "0");
}

struct cs_client *cs_client_new(const struct cs_client_config *cfg, char *err, size_t errlen)
{
    struct cs_client *c = cs_calloc(1, sizeof(*c));
    cs_client_config_copy(&c->cfg, cfg);
    if (!c->cfg.user_agent) {
        c->cfg.user_agent = cs_strdup("cosched/0.1");
    }
    if (c->cfg.max_conns_per_host <= 0) {
        c->cfg.max_conns_per_host = 8;
    }
    if (parse_server(c, err, errlen) < 0) {
        cs_client_config_free(&c->cfg);
        cs_free(c->base_url);
        cs_free(c);
        return NULL;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->stats_mu, NULL);
    c->multi = curl_multi_init();
    curl_multi_setopt(c->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    c->curl_due_ns = -1;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->epfd < 0 || c->wake_fd < 0) {
        snprintf(err, errlen, "client: cannot create the event loop: %s", strerror(errno));
        if (c->epfd >= 0) {
            close(c->epfd);
        }
        if (c->wake_fd >= 0) {
            close(c->wake_fd);
        }
        curl_multi_cleanup(c->multi);
        pthread_mutex_destroy(&c->mu);
        pthread_mutex_destroy(&c->stats_mu);
        cs_client_config_free(&c->cfg);
        cs_free(c->base_url);
        cs_free(c);
        return NULL;
    }
    {
        struct epoll_event ev;
        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN;
        ev.data.fd = c->wake_fd;
        epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->wake_fd, &ev);
    }
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    set_stream_conn_limit(c);
    cs_limiter_init(&c->limiter, c->cfg.qps, c->cfg.burst, cs_mono_ns());
    c->rng = (uint64_t)cs_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)c;
    c->h2_ep_fd = -1;
    c->h2_off = !c->https || h2_unwanted();
    c->accepting = 1;
    return c;
}

int cs_client_start(struct cs_client *c)
{
    if (c->started) {
        return c->joined ? -1 : 0;
    }
    if (pthread_create(&c->thread, NULL, io_main, c) != 0) {
        CS_ERROR_S(strerror(errno), "Cannot start the client I/O thread");
        return -1;
    }
    pthread_setname_np(c->thread, "cs-client-io"); /* visible in top -H and perf */
    c->started = 1;
    return 0;
}

void cs_client_stop(struct cs_client *c)
{
    if (!c) {
        return;
    }
    if (cs_client_on_io_thread(c)) {
        CS_ERROR_S("misuse", "cs_client_stop called on the I/O thread; ignored");
        return;
    }
    pthread_mutex_lock(&c->mu);
    int already = c->stopping;
    c->stopping = 1;
    c->accepting = 0;
    pthread_mutex_unlock(&c->mu);
    if (already) {
        return;
    }
    if (c->started) {
        wake_loop(c);
        pthread_join(c->thread, NULL);
        c->joined = 1;
    } else {
        shutdown_io(c);
    }
}

void cs_client_free(struct cs_client *c)
{
    if (!c) {
        return;
    }
    cs_client_stop(c);
    for (size_t i = 0; i < c->npool; i++) {
        curl_easy_cleanup(c->pool[i]);
    }
    cs_free(c->pool);
    cs_free(c->timers);
    curl_multi_cleanup(c->multi);
    close(c->epfd);
    close(c->wake_fd);
    curl_slist_free_all(c->connect_to);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->stats_mu);
    cs_free(c->token);
    cs_free(c->base_url);
    cs_client_config_free(&c->cfg);
    cs_free(c);
}

static int enqueue(struct cs_client *c, struct xfer *x)
{
    pthread_mutex_lock(&c->mu);
    if (!c->accepting) {
        pthread_mutex_unlock(&c->mu);
        return -1;
    }
    /* Only the push that finds both queues empty must wake the loop: the loop takes whole
     * queues, and it checks them under the lock before it sleeps. */
    int wake = !c->sub_head && !c->post_head;
    x->next = NULL;
    if (c->sub_tail) {
        c->sub_tail->next = x;
    } else {
        c->sub_head = x;
    }
    c->sub_tail = x;
    pthread_mutex_unlock(&c->mu);
    if (wake && !cs_client_on_io_thread(c)) {
        wake_loop(c);
    }
    return 0;
}

int cs_client_submit(struct cs_client *c, const struct cs_client_req *req)
{
    struct xfer *x = cs_calloc(1, sizeof(*x));
    x->kind = XF_REQ;
    x->c = c;
    x->method = cs_strdup(req->method ? req->method : "GET");
    x->verb = verb_of(x->method);
    x->path = cs_strdup(req->path ? req->path : "/");
    if (req->body) {
        x->body = dup_bytes(req->body, req->body_len);
        x->body_len = req->body_len;
    }
    x->content_type = dup_or_null(req->content_type);
    x->accept = dup_or_null(req->accept);
    x->cb = req->cb;
    x->arg = req->arg;
    x->retry = req->retry;
    x->max_attempts = req->max_attempts;
    x->timeout_ms = req->timeout_ms;
    x->retry_after_s = -1;
    cs_buf_init(&x->resp);
    stats_inflight(c, 1);
    if (enqueue(c, x) < 0) {
        stats_inflight(c, -1);
        xfer_free(x);
        return -1;
    }
    return 0;
}

struct do_wait {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    struct cs_client_resp *out;
};

static void do_cb(void *arg, const struct cs_client_resp *r)
{
    struct do_wait *w = arg;
    struct cs_client_resp *o = w->out;
    o->status = r->status;
    o->body = dup_bytes(r->body, r->body_len);
    o->body_len = r->body_len;
    o->err = r->err ? cs_strdup(r->err) : NULL;
    o->retry_after_s = r->retry_after_s;
    o->attempts = r->attempts;
    o->content_type = cs_strdup(r->content_type ? r->content_type : "");
    pthread_mutex_lock(&w->mu);
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

int cs_client_do(struct cs_client *c, const struct cs_client_req *req, struct cs_client_resp *out)
{
    memset(out, 0, sizeof(*out));
    if (cs_client_on_io_thread(c)) {
        CS_ERROR_S("misuse", "cs_client_do called on the I/O thread", CS_KV("path", req->path));
        return -1;
    }
    if (!cs_client_running(c)) {
        return -1; /* nothing would ever answer */
    }
    struct do_wait w = { .done = 0, .out = out };
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    struct cs_client_req r = *req;
    r.cb = do_cb;
    r.arg = &w;
    int rc = cs_client_submit(c, &r);
    if (rc == 0) {
        pthread_mutex_lock(&w.mu);
        while (!w.done) {
            pthread_cond_wait(&w.cv, &w.mu);
        }
        pthread_mutex_unlock(&w.mu);
    }
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

void cs_client_resp_free(struct cs_client_resp *r)
{
    if (!r) {
        return;
    }
    cs_free((char *)r->body);
    cs_free((char *)r->err);
    cs_free((char *)r->content_type);
    memset(r, 0, sizeof(*r));
}

int cs_client_post(struct cs_client *c, cs_client_fn fn, void *arg)
{
    struct post *p = cs_malloc(sizeof(*p));
    p->next = NULL;
    p->fn = fn;
    p->arg = arg;
    pthread_mutex_lock(&c->mu);
    if (!c->accepting) {
        pthread_mutex_unlock(&c->mu);
        cs_free(p);
        return -1;
    }
    int wake = !c->sub_head && !c->post_head; /* see enqueue */
    if (c->post_tail) {
        c->post_tail->next = p;
    } else {
        c->post_head = p;
    }
    c->post_tail = p;
    pthread_mutex_unlock(&c->mu);
    if (wake && !cs_client_on_io_thread(c)) {
        wake_loop(c);
    }
    return 0;
}

struct cs_client_stream *cs_client_stream_open(struct cs_client *c, const char *path,
                                               cs_client_line_cb line_cb,
                                               cs_client_done_cb done_cb, void *arg)
{
    return cs_client_stream_open_neg(c, path, NULL, line_cb, NULL, done_cb, arg);
}

struct cs_client_stream *cs_client_stream_open_neg(struct cs_client *c, const char *path,
                                                   const char *accept, cs_client_line_cb line_cb,
                                                   cs_client_frame_cb frame_cb,
                                                   cs_client_done_cb done_cb, void *arg)
{
    struct cs_client_stream *s = cs_calloc(1, sizeof(*s));
    struct xfer *x = &s->x;
    x->kind = XF_STREAM;
    x->c = c;
    x->verb = CS_VERB_WATCH;
    x->method = cs_strdup("GET");
    x->path = cs_strdup(path);
    x->line_cb = line_cb;
    x->frame_cb = frame_cb;
    x->accept = accept ? cs_strdup(accept) : NULL;
    x->done_cb = done_cb;
    x->arg = arg;
    x->refs = 2;
    x->retry_after_s = -1;
    cs_buf_init(&x->resp);
    cs_linebuf_init(&x->lb, 0);
    cs_framebuf_init(&x->fb, 0);
    pthread_mutex_lock(&c->stats_mu);
    c->stats.streams_open++;
    pthread_mutex_unlock(&c->stats_mu);
    if (enqueue(c, x) < 0) {
        pthread_mutex_lock(&c->stats_mu);
        c->stats.streams_open--;
        pthread_mutex_unlock(&c->stats_mu);
        xfer_free(x);
        return NULL;
    }
    return s;
}

static void stream_cancel_io(void *arg)
{
    struct xfer *x = arg;
    if (!x->finished && x->on_h2) {
        /* the close callback finishes it once the RST_STREAM is out (the loop's reference
         * keeps it alive until then) */
        cs_h2_cancel(x->c->h2, x->h2_id);
    } else if (!x->finished && (x->active || x->easy)) {
        stream_finish(x->c, x, 0, "cancelled");
    }
    /* Not started yet: stream_start sees the flag and finishes it. */
    stream_unref(x); /* the caller's reference */
}

void cs_client_stream_close(struct cs_client_stream *s)
{
    if (!s) {
        return;
    }
    struct xfer *x = &s->x;
    __atomic_store_n(&x->cancelled, 1, __ATOMIC_RELEASE);
    if (cs_client_post(x->c, stream_cancel_io, x) < 0) {
        stream_unref(x);
    }
}
