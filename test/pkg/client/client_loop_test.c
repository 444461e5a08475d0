/* Specification of the client's I/O loop against a small HTTP/1.1 server living in this test:
 * requests and headers, retries with Retry-After, streams split across chunks, cancellation,
 * timers and posted work, the limiter, stop semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/timeutil.h"

/* ---- the test server ---------------------------------------------------------------------- */

struct srv {
    int lfd;
    int port;
    pthread_t th;
    int flaky_count;              /* atomic */
    int stop;
};

static struct srv S;

static void send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int code, const char *extra_hdr, const char *body)
{
    char h[512];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                     code, strlen(body), extra_hdr ? extra_hdr : "");
    send_all(fd, h, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void chunk(int fd, const char *data)
{
    char h[32];
    int n = snprintf(h, sizeof(h), "%zx\r\n", strlen(data));
    send_all(fd, h, (size_t)n);
    send_all(fd, data, strlen(data));
    send_all(fd, "\r\n", 2);
}

static const char *header_value(const char *req, const char *name, char *out, size_t n)
{
    const char *p = strcasestr(req, name);
    out[0] = '\0';
    if (!p) {
        return out;
    }
    p += strlen(name);
    while (*p == ' ') {
        p++;
    }
    size_t k = strcspn(p, "\r\n");
    if (k >= n) {
        k = n - 1;
    }
    memcpy(out, p, k);
    out[k] = '\0';
    return out;
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct cs_buf in;
    cs_buf_init(&in);
    char tmp[8192];
    for (;;) {
        char *end = in.data ? strstr(in.data, "\r\n\r\n") : NULL;
        if (!end) {
            ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
            if (r <= 0) {
                break;
            }
            cs_buf_append(&in, tmp, (size_t)r);
            continue;
        }
        size_t hlen = (size_t)(end - in.data) + 4;
        char cl[32], auth[256], ct[128];
        header_value(in.data, "Content-Length:", cl, sizeof(cl));
        size_t blen = cl[0] ? strtoul(cl, NULL, 10) : 0;
        while (in.len < hlen + blen) {
            ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
            if (r <= 0) {
                goto out;
            }
            cs_buf_append(&in, tmp, (size_t)r);
        }
        char method[16] = "", path[256] = "";
        sscanf(in.data, "%15s %255s", method, path);
        header_value(in.data, "Authorization:", auth, sizeof(auth));
        header_value(in.data, "Content-Type:", ct, sizeof(ct));
        char body[1024];
        snprintf(body, sizeof(body), "%.*s", (int)blen, in.data + hlen);
        cs_buf_consume(&in, hlen + blen);

        if (!strcmp(path, "/echo")) {
            char out[2048];
            snprintf(out, sizeof(out), "{\"method\":\"%s\",\"auth\":\"%s\",\"ct\":\"%s\",\"body\":%s}",
                     method, auth, ct, blen ? body : "null");
            reply(fd, 200, NULL, out);
        } else if (!strcmp(path, "/pre/fix/echo")) {
            reply(fd, 200, NULL, "{\"prefixed\":true}");
        } else if (!strcmp(path, "/flaky")) {
            int n = __atomic_add_fetch(&S.flaky_count, 1, __ATOMIC_SEQ_CST);
            if (n <= 2) {
                reply(fd, 503, "Retry-After: 0\r\n", "{\"kind\":\"Status\",\"code\":503}");
            } else {
                reply(fd, 200, NULL, "{\"ok\":true}");
            }
        } else if (!strcmp(path, "/missing")) {
            reply(fd, 404, NULL, "{\"kind\":\"Status\",\"code\":404}");
        } else if (!strcmp(path, "/slow")) {
            usleep(1500 * 1000);
            reply(fd, 200, NULL, "{}");
        } else if (!strcmp(path, "/stream")) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
            send_all(fd, h, strlen(h));
            chunk(fd, "{\"n\":1}\n{\"n\"");
            usleep(20000);
            chunk(fd, ":2}");
            usleep(20000);
            chunk(fd, "\n{\"n\":3}\n{\"n\":4}\n");
            send_all(fd, "0\r\n\r\n", 5);
        } else if (!strcmp(path, "/hang")) {
            const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";
            send_all(fd, h, strlen(h));
            chunk(fd, "{\"first\":true}\n");
            char c;
            while (recv(fd, &c, 1, 0) > 0) {
            }
            break;
        } else if (!strcmp(path, "/gone-stream")) {
            reply(fd, 410, NULL, "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}");
        } else {
            reply(fd, 500, NULL, "{}");
        }
    }
out:
    cs_buf_free(&in);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(S.lfd, NULL, NULL);
        if (fd < 0) {
            if (__atomic_load_n(&S.stop, __ATOMIC_SEQ_CST)) {
                break;
            }
            continue;
        }
        pthread_t t;
        pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
    return NULL;
}

static int srv_setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    S.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(S.lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(S.lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(S.lfd, 64) < 0) {
        return -1;
    }
    socklen_t al = sizeof(a);
    getsockname(S.lfd, (struct sockaddr *)&a, &al);
    S.port = ntohs(a.sin_port);
    pthread_create(&S.th, NULL, accept_main, NULL);
    return 0;
}

static int srv_teardown(void **state)
{
    (void)state;
    __atomic_store_n(&S.stop, 1, __ATOMIC_SEQ_CST);
    shutdown(S.lfd, SHUT_RDWR);
    close(S.lfd);
    pthread_join(S.th, NULL);
    curl_global_cleanup();
    return 0;
}

static struct cs_client *new_client(double qps, int burst, const char *token)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", S.port);
    cfg.server = cs_strdup(url);
    cfg.qps = qps;
    cfg.burst = burst;
    if (token) {
        cfg.token = cs_strdup(token);
    }
    char err[256];
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);
    return c;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_request_roundtrip_with_token_and_body(void **state)
{
    (void)state;
    struct cs_client *c = new_client(0, 1, "s3cret");
    struct cs_client_req req = { .method = "POST", .path = "/echo", .body = "{\"x\":1}",
                                 .body_len = 7 };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    assert_int_equal(r.status, 200);
    assert_null(r.err);
    assert_int_equal(r.attempts, 1);
    assert_non_null(strstr(r.body, "\"method\":\"POST\""));
    assert_non_null(strstr(r.body, "\"auth\":\"Bearer s3cret\""));
    assert_non_null(strstr(r.body, "\"ct\":\"application/json\""));
    assert_non_null(strstr(r.body, "\"body\":{\"x\":1}"));
    cs_client_resp_free(&r);
    struct cs_client_req del = { .method = "DELETE", .path = "/echo" };
    assert_int_equal(cs_client_do(c, &del, &r), 0);
    assert_non_null(strstr(r.body, "\"method\":\"DELETE\""));
    assert_non_null(strstr(r.body, "\"body\":null"));
    cs_client_resp_free(&r);
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.requests[CS_VERB_POST][2], 1);
    assert_int_equal(st.requests[CS_VERB_DELETE][2], 1);
    assert_int_equal(st.in_flight, 0);
    cs_client_free(c);
}

static void test_server_url_path_prefix(void **state)
{
    (void)state;
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/pre/fix/", S.port);
    cfg.server = cs_strdup(url);
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_int_equal(cs_client_start(c), 0);
    struct cs_client_req req = { .path = "/echo" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "prefixed"));
    cs_client_resp_free(&r);
    cs_client_free(c);
}

static void test_retry_on_503_honours_retry_after(void **state)
{
    (void)state;
    struct cs_client *c = new_client(0, 1, NULL);
    __atomic_store_n(&S.flaky_count, 0, __ATOMIC_SEQ_CST);
    struct cs_client_req req = { .method = "GET", .path = "/flaky",
                                 .retry = CS_CLIENT_RETRY_DEFAULT };
    struct cs_client_resp r;
    int64_t t0 = cs_mono_ns();
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.attempts, 3);
    /* Retry-After: 0 means no backoff; exponential backoff would take >= 450 ms */
    assert_true(cs_mono_ns() - t0 < 400 * 1000000LL);
    cs_client_resp_free(&r);
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.retries, 2);
    assert_int_equal(st.requests[CS_VERB_GET][5], 2);

    /* no retry policy: the 503 comes straight back */
    __atomic_store_n(&S.flaky_count, 0, __ATOMIC_SEQ_CST);
    req.retry = CS_CLIENT_RETRY_NONE;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    assert_int_equal(r.status, 503);
    assert_int_equal(r.retry_after_s, 0);
    assert_int_equal(r.attempts, 1);
    cs_client_resp_free(&r);
    /* 404 is final even with retries on */
    struct cs_client_req nf = { .path = "/missing", .retry = CS_CLIENT_RETRY_DEFAULT };
    assert_int_equal(cs_client_do(c, &nf, &r), 0);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.retry_after_s, -1);
    cs_client_resp_free(&r);
    cs_client_free(c);
}

static void test_connection_refused_is_a_transport_error(void **state)
{
    (void)state;
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    cfg.server = cs_strdup("http://127.0.0.1:1");
    char err[256];
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_int_equal(cs_client_start(c), 0);
    struct cs_client_req req = { .path = "/x", .retry = CS_CLIENT_RETRY_DEFAULT, .max_attempts = 2 };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    assert_int_equal(r.status, 0);
    assert_non_null(r.err);
    assert_true(strlen(r.err) > 0);
    assert_int_equal(r.attempts, 2);
    cs_client_resp_free(&r);
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.requests[CS_VERB_GET][0], 2);
    cs_client_free(c);
}

struct sink {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char lines[16][64];
    int n;
    int done;
    long status;
    char err[256];
    int on_io;
    struct cs_client *c;
};

static void sink_init(struct sink *s, struct cs_client *c)
{
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->c = c;
    s->on_io = 1;
}

static void sink_line(void *arg, const char *line, size_t len)
{
    struct sink *s = arg;
    pthread_mutex_lock(&s->mu);
    if (!cs_client_on_io_thread(s->c)) {
        s->on_io = 0;
    }
    if (s->n < 16) {
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%.*s", (int)len, line);
    }
    s->n++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void sink_done(void *arg, long status, const char *err)
{
    struct sink *s = arg;
    pthread_mutex_lock(&s->mu);
    s->done++;
    s->status = status;
    snprintf(s->err, sizeof(s->err), "%s", err ? err : "");
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void sink_wait(struct sink *s, int lines, int done)
{
    pthread_mutex_lock(&s->mu);
    while (s->n < lines || s->done < done) {
        pthread_cond_wait(&s->cv, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static void test_stream_lines_across_chunks(void **state)
{
    (void)state;
    struct cs_client *c = new_client(0, 1, NULL);
    struct sink s;
    sink_init(&s, c);
    struct cs_client_stream *st = cs_client_stream_open(c, "/stream", sink_line, sink_done, &s);
    assert_non_null(st);
    sink_wait(&s, 4, 1);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.lines[0], "{\"n\":1}");
    assert_string_equal(s.lines[1], "{\"n\":2}");
    assert_string_equal(s.lines[3], "{\"n\":4}");
    assert_int_equal(s.status, 200);
    assert_string_equal(s.err, "");
    assert_int_equal(s.on_io, 1);
    cs_client_stream_close(st);
    /* a non-200 stream ends with the status and the body as error */
    struct sink g;
    sink_init(&g, c);
    st = cs_client_stream_open(c, "/gone-stream", sink_line, sink_done, &g);
    sink_wait(&g, 0, 1);
    assert_int_equal(g.status, 410);
    assert_non_null(strstr(g.err, "Expired"));
    assert_int_equal(g.n, 0);
    cs_client_stream_close(st);
    cs_client_free(c);
}

static void test_stream_cancel_from_another_thread(void **state)
{
    (void)state;
    struct cs_client *c = new_client(0, 1, NULL);
    struct sink s;
    sink_init(&s, c);
    struct cs_client_stream *st = cs_client_stream_open(c, "/hang", sink_line, sink_done, &s);
    sink_wait(&s, 1, 0);
    cs_client_stream_close(st);
    sink_wait(&s, 1, 1);
    assert_int_equal(s.done, 1);
    assert_string_equal(s.err, "cancelled");
    struct cs_client_stats stt;
    cs_client_stats(c, &stt);
    assert_int_equal(stt.streams_open, 0);
    /* a stream still open at stop ends with "cancelled" exactly once */
    struct sink s2;
    sink_init(&s2, c);
    st = cs_client_stream_open(c, "/hang", sink_line, sink_done, &s2);
    sink_wait(&s2, 1, 0);
    cs_client_stop(c);
    assert_int_equal(s2.done, 1);
    assert_string_equal(s2.err, "cancelled");
    cs_client_stream_close(st);
    assert_null(cs_client_stream_open(c, "/hang", sink_line, sink_done, &s2));
    cs_client_free(c);
}

struct order {
    struct cs_client *c;
    char seq[32];
    int done;
    int do_rc;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void mark(struct order *o, char ch)
{
    size_t n = strlen(o->seq);
    o->seq[n] = ch;
    o->seq[n + 1] = '\0';
}

static void t_a(void *arg) { mark(arg, 'a'); }
static void t_b(void *arg) { mark(arg, 'b'); }
static void t_c(void *arg) { mark(arg, 'c'); }
static void t_end(void *arg)
{
    struct order *o = arg;
    pthread_mutex_lock(&o->mu);
    mark(o, 'z');
    o->done = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
}

static void post_fn(void *arg)
{
    struct order *o = arg;
    assert_true(cs_client_on_io_thread(o->c));
    struct cs_client_req req = { .path = "/echo" };
    struct cs_client_resp r;
    o->do_rc = cs_client_do(o->c, &req, &r); /* refused on the I/O thread */
    cs_client_timer_add(o->c, 30, t_c, o);
    cs_client_timer_add(o->c, 10, t_a, o);
    uint64_t id = cs_client_timer_add(o->c, 20, t_b, o);
    cs_client_timer_add(o->c, 60, t_end, o);
    assert_int_equal(cs_client_timer_cancel(o->c, id), 1);
    assert_int_equal(cs_client_timer_cancel(o->c, id), 0);
    mark(o, 'p');
}

static void stop_from_io(void *arg)
{
    cs_client_stop(arg); /* refused: would deadlock joining itself */
}

static void test_stop_on_io_thread_is_refused(void **state)
{
    (void)state;
    struct cs_client *c = new_client(0, 1, NULL);
    assert_int_equal(cs_client_post(c, stop_from_io, c), 0);
    struct cs_client_req req = { .path = "/echo" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0); /* still running */
    assert_int_equal(r.status, 200);
    cs_client_resp_free(&r);
    cs_client_free(c);
}

static void test_timers_and_post(void **state)
{
    (void)state;
    struct cs_client *c = new_client(0, 1, NULL);
    struct order o = { .c = c, .seq = "" };
    pthread_mutex_init(&o.mu, NULL);
    pthread_cond_init(&o.cv, NULL);
    assert_false(cs_client_on_io_thread(c));
    assert_int_equal(cs_client_post(c, post_fn, &o), 0);
    pthread_mutex_lock(&o.mu);
    while (!o.done) {
        pthread_cond_wait(&o.cv, &o.mu);
    }
    pthread_mutex_unlock(&o.mu);
    assert_string_equal(o.seq, "pacz");
    assert_int_equal(o.do_rc, -1);
    cs_client_free(c);
}

static void test_limiter_spaces_requests(void **state)
{
    (void)state;
    struct cs_client *c = new_client(20, 1, NULL); /* one request per 50 ms */
    int64_t t0 = cs_mono_ns();
    for (int i = 0; i < 5; i++) {
        struct cs_client_req req = { .path = "/echo" };
        struct cs_client_resp r;
        assert_int_equal(cs_client_do(c, &req, &r), 0);
        assert_int_equal(r.status, 200);
        cs_client_resp_free(&r);
    }
    /* 4 waits of >= 50 ms each, whatever the machine's speed */
    assert_true(cs_mono_ns() - t0 >= 195 * 1000000LL);
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_true(st.rate_limited >= 4);
    cs_client_free(c);
}

static int slow_calls;
static int slow_stopped;

static void slow_cb(void *arg, const struct cs_client_resp *r)
{
    (void)arg;
    __atomic_add_fetch(&slow_calls, 1, __ATOMIC_SEQ_CST);
    if (r->err && !strcmp(r->err, "client stopped")) {
        __atomic_add_fetch(&slow_stopped, 1, __ATOMIC_SEQ_CST);
    }
}

static void test_stop_fails_pending_requests_once(void **state)
{
    (void)state;
    {
        /* a client that never started: cs_client_do refuses instead of waiting forever */
        struct cs_client_config cfg;
        cs_client_config_init(&cfg);
        cfg.server = cs_strdup("http://127.0.0.1:1");
        char err[128];
        struct cs_client *idle = cs_client_new(&cfg, err, sizeof(err));
        cs_client_config_free(&cfg);
        struct cs_client_req req = { .path = "/x" };
        struct cs_client_resp r;
        assert_int_equal(cs_client_do(idle, &req, &r), -1);
        cs_client_free(idle);
    }
    struct cs_client *c = new_client(1, 1, NULL); /* second and third wait on the limiter */
    for (int i = 0; i < 3; i++) {
        struct cs_client_req req = { .path = "/slow", .cb = slow_cb };
        assert_int_equal(cs_client_submit(c, &req), 0);
    }
    usleep(100 * 1000);
    cs_client_stop(c);
    assert_int_equal(slow_calls, 3);
    assert_int_equal(slow_stopped, 3);
    struct cs_client_req req = { .path = "/slow", .cb = slow_cb };
    assert_int_equal(cs_client_submit(c, &req), -1);
    assert_int_equal(cs_client_post(c, t_a, NULL), -1);
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.in_flight, 0);
    cs_client_free(c);
}

static void write_token(const char *path, const char *tok)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", tok);
    fclose(f);
}

static void expect_auth(struct cs_client *c, const char *want)
{
    struct cs_client_req req = { .path = "/echo" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    char needle[128];
    snprintf(needle, sizeof(needle), "\"auth\":\"Bearer %s\"", want);
    if (!strstr(r.body, needle)) {
        fail_msg("want %s in %s", needle, r.body);
    }
    cs_client_resp_free(&r);
}

static void test_token_file_is_reread(void **state)
{
    (void)state;
    char path[] = "/tmp/cs-token-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_token(path, "first");
    for (int fast = 0; fast < 2; fast++) {
        struct cs_client_config cfg;
        cs_client_config_init(&cfg);
        char url[64], err[256];
        snprintf(url, sizeof(url), "http://127.0.0.1:%d", S.port);
        cfg.server = cs_strdup(url);
        cfg.token = cs_strdup("static-ignored");
        cfg.token_file = cs_strdup(path);
        if (fast) {
            cfg.token_reread_ms = 1;
        }
        struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
        cs_client_config_free(&cfg);
        assert_int_equal(cs_client_start(c), 0);
        write_token(path, "first");
        expect_auth(c, "first");
        write_token(path, "second");
        usleep(20 * 1000);
        /* default: cached for a minute; fast: the rotated token is picked up */
        expect_auth(c, fast ? "second" : "first");
        cs_client_free(c);
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_roundtrip_with_token_and_body),
        cmocka_unit_test(test_retry_on_503_honours_retry_after),
        cmocka_unit_test(test_server_url_path_prefix),
        cmocka_unit_test(test_connection_refused_is_a_transport_error),
        cmocka_unit_test(test_stream_lines_across_chunks),
        cmocka_unit_test(test_stream_cancel_from_another_thread),
        cmocka_unit_test(test_timers_and_post),
        cmocka_unit_test(test_stop_on_io_thread_is_refused),
        cmocka_unit_test(test_limiter_spaces_requests),
        cmocka_unit_test(test_stop_fails_pending_requests_once),
        cmocka_unit_test(test_token_file_is_reread),
    };
    return cmocka_run_group_tests(tests, srv_setup, srv_teardown);
}
