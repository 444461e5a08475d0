/* The client's HTTP/2 transports, specified against TLS servers that live in this test.
 *
 * The servers (one thread per connection; nghttp2 on OpenSSL; certificates from apisim's
 * throw-away PKI: a CA and a serving certificate for IP 127.0.0.1 and DNS localhost) answer by
 * path:
 *   /slow        never answers
 *   /held        200 once the test bumps the server's `release` counter
 *   /status/503  503 with "retry-after: 0"
 *   /goaway      200, then a graceful GOAWAY (the streams it covers still complete)
 *   /close       the TCP connection is closed at once (no response, no TLS close_notify)
 *   /lines       50 JSON lines cut into 7-byte DATA frames
 *   anything else: 200 with a JSON echo of the method, path, body length, authorization and
 *                user-agent headers, the protocol, the ALPN protocols the client offered and
 *                the serial number of the connection
 * Three servers: SRV offers only "h2" in ALPN (a fatal alert to clients without it), MTLS also
 * requires a client certificate signed by the CA, H1 offers only "http/1.1" (no ALPN answer to a
 * client offering only h2) and speaks a minimal HTTP/1.1. Each counts connections and requests,
 * and the h2 servers count apart the requests of clients that offered only "h2" in ALPN: the
 * client's own transport (h2.c) does, libcurl offers "h2,http/1.1".
 *
 * Specs, first of cs_h2 (pkg/client/h2.h) driven directly with poll(2), then of the whole client
 * (pkg/client/client.h), whose requests ride that connection once it is READY and fall back to
 * libcurl otherwise; streams (watches) and the TLS options are specified through the client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "pkg/apisim/tls.h"
#include "pkg/client/client.h"
#include "pkg/client/h2.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/timeutil.h"

static int64_t now_ms(void)
{
    return cs_mono_ns() / 1000000;
}

static int load(const int *counter)
{
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* ---- the test servers ---------------------------------------------------------------------- */

enum srv_mode { MODE_H2, MODE_MTLS, MODE_H1 };

struct tsrv {
    int mode;
    SSL_CTX *ctx;
    int lfd, port;
    pthread_t th;
    int stop;                    /* atomic */
    int connections;             /* atomic: accepted */
    int requests;                /* atomic: complete h2 requests received */
    int own_requests;            /* atomic: of those, from clients offering only "h2" */
    int h1_requests;             /* atomic: HTTP/1.1 requests answered */
    int live;                    /* atomic: connection threads still running */
    int release;                 /* atomic: bumped by a test to answer the /held requests */
};

struct sstream {
    struct sstream *prev, *next;
    char method[16], path[256], auth[256], ua[64];
    struct cs_buf body;
    struct cs_buf out;
    size_t off;
    size_t piece;                /* max bytes per DATA frame read, 0 = any */
    int goaway_after;            /* send GOAWAY once this stream has closed */
};

#define SRV_HELD 64

struct sconn {
    struct tsrv *srv;
    SSL *ssl;
    int fd;
    int serial;
    char alpn[64];               /* the protocols the client offered, "h2,http/1.1" */
    int close_now;               /* /close: drop the connection without a word */
    struct sstream *streams;     /* open streams (nghttp2_session_del calls no callbacks) */
    int nheld;
    struct {
        int32_t id;
        int release;             /* answered once srv->release exceeds this */
    } held[SRV_HELD];
};

static int srv_stopping(const struct sconn *c)
{
    return __atomic_load_n(&c->srv->stop, __ATOMIC_SEQ_CST);
}

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *user)
{
    (void)s;
    (void)flags;
    struct sconn *c = user;
    int n = SSL_write(c->ssl, data, (int)len);
    return n <= 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct sconn *c = user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    struct sstream *st = cs_calloc(1, sizeof(*st));
    cs_buf_init(&st->body);
    cs_buf_init(&st->out);
    st->next = c->streams;
    if (c->streams) {
        c->streams->prev = st;
    }
    c->streams = st;
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    return 0;
}

static void sstream_free(struct sconn *c, struct sstream *st)
{
    if (st->prev) {
        st->prev->next = st->next;
    } else {
        c->streams = st->next;
    }
    if (st->next) {
        st->next->prev = st->prev;
    }
    cs_buf_free(&st->body);
    cs_buf_free(&st->out);
    cs_free(st);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    (void)flags;
    (void)user;
    struct sstream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st) {
        return 0;
    }
    const char *v = (const char *)value;
    if (nl == 5 && !memcmp(name, ":path", 5)) {
        snprintf(st->path, sizeof(st->path), "%.*s", (int)vl, v);
    } else if (nl == 7 && !memcmp(name, ":method", 7)) {
        snprintf(st->method, sizeof(st->method), "%.*s", (int)vl, v);
    } else if (nl == 13 && !memcmp(name, "authorization", 13)) {
        snprintf(st->auth, sizeof(st->auth), "%.*s", (int)vl, v);
    } else if (nl == 10 && !memcmp(name, "user-agent", 10)) {
        snprintf(st->ua, sizeof(st->ua), "%.*s", (int)vl, v);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user)
{
    (void)flags;
    (void)user;
    struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) {
        cs_buf_append(&st->body, data, len);
    }
    return 0;
}

static ssize_t read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                       nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)id;
    (void)user;
    struct sstream *st = src->ptr;
    size_t n = st->out.len - st->off;
    if (n > len) {
        n = len;
    }
    if (st->piece && n > st->piece) {
        n = st->piece;
    }
    memcpy(buf, st->out.data + st->off, n);
    st->off += n;
    if (st->off == st->out.len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

#define SNV(N, V)                                                                              \
    {                                                                                          \
        (uint8_t *)(N), (uint8_t *)(V), sizeof(N) - 1, strlen(V), NGHTTP2_NV_FLAG_NONE         \
    }

static void respond(nghttp2_session *s, int32_t id, struct sstream *st, const char *status,
                    int retry_after_0)
{
    nghttp2_nv hdrs[] = {
        SNV(":status", status),
        SNV("content-type", "application/json"),
        SNV("retry-after", "0"),
    };
    nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_cb };
    nghttp2_submit_response(s, id, hdrs, retry_after_0 ? 3 : 2, &prd);
}

static void echo_body(const struct sconn *c, struct sstream *st)
{
    cs_buf_printf(&st->out,
                  "{\"method\":\"%s\",\"path\":\"%s\",\"bodyLen\":%zu,\"auth\":\"%s\","
                  "\"ua\":\"%s\",\"proto\":\"h2\",\"alpn\":\"%s\",\"conn\":%d}",
                  st->method, st->path, st->body.len, st->auth, st->ua, c->alpn, c->serial);
}

/* A request is complete (END_STREAM on its HEADERS or DATA): answer it as its path says. */
static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct sconn *c = user;
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)) {
        return 0;
    }
    int32_t id = f->hd.stream_id;
    struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st) {
        return 0;
    }
    __atomic_add_fetch(&c->srv->requests, 1, __ATOMIC_SEQ_CST);
    if (!strcmp(c->alpn, "h2")) {
        __atomic_add_fetch(&c->srv->own_requests, 1, __ATOMIC_SEQ_CST);
    }
    if (!strcmp(st->path, "/slow")) {
        return 0;
    }
    if (!strcmp(st->path, "/close")) {
        c->close_now = 1;
        return 0;
    }
    if (!strcmp(st->path, "/held")) {
        echo_body(c, st);
        if (c->nheld < SRV_HELD) {
            c->held[c->nheld].id = id;
            c->held[c->nheld].release = load(&c->srv->release);
            c->nheld++;
        }
        return 0;
    }
    if (!strcmp(st->path, "/status/503")) {
        cs_buf_puts(&st->out, "{\"kind\":\"Status\",\"code\":503}");
        respond(s, id, st, "503", 1);
        return 0;
    }
    if (!strcmp(st->path, "/lines")) {
        for (int i = 1; i <= 50; i++) {
            cs_buf_printf(&st->out, "{\"n\":%d,\"pad\":\"%*s\"}\n", i, i * 3, "");
        }
        st->piece = 7;
    } else {
        st->goaway_after = !strcmp(st->path, "/goaway");
        echo_body(c, st);
    }
    respond(s, id, st, "200", 0);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    (void)code;
    struct sconn *c = user;
    struct sstream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st) {
        return 0;
    }
    if (st->goaway_after) {
        nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                              NGHTTP2_NO_ERROR, NULL, 0);
    }
    nghttp2_session_set_stream_user_data(s, id, NULL);
    sstream_free(c, st);
    return 0;
}

/* Answer the /held requests that the test has released. */
static void answer_released(struct sconn *c, nghttp2_session *s)
{
    int release = load(&c->srv->release);
    for (int i = 0; i < c->nheld;) {
        if (c->held[i].release >= release) {
            i++;
            continue;
        }
        struct sstream *st = nghttp2_session_get_stream_user_data(s, c->held[i].id);
        if (st) {
            respond(s, c->held[i].id, st, "200", 0);
        }
        c->held[i] = c->held[--c->nheld];
    }
}

/* Wait up to 10 ms for input. Returns 1 readable, 0 not yet, -1 the connection is gone. */
static int wait_readable(struct sconn *c)
{
    if (SSL_pending(c->ssl) > 0) {
        return 1;
    }
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    int n = poll(&p, 1, 10);
    if (n < 0) {
        return errno == EINTR ? 0 : -1;
    }
    return n;
}

/* A graceful end: close_notify, FIN, then read until the peer closes (so that unread input does
 * not turn our close into a reset that could destroy responses still in flight). */
static void linger_close(struct sconn *c)
{
    SSL_shutdown(c->ssl);
    shutdown(c->fd, SHUT_WR);
    char buf[4096];
    int64_t end = now_ms() + 500;
    while (now_ms() < end && !srv_stopping(c)) {
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (poll(&p, 1, 10) > 0 && read(c->fd, buf, sizeof(buf)) <= 0) {
            break;
        }
    }
}

static void serve_h2(struct sconn *c)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_session *s = NULL;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    nghttp2_session_server_new(&s, cbs, c);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry iv = { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 };
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, &iv, 1);
    uint8_t buf[16384];
    int graceful = 0;
    for (;;) {
        answer_released(c, s);
        if (nghttp2_session_send(s) != 0 || c->close_now || srv_stopping(c)) {
            break;
        }
        if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s)) {
            graceful = 1;
            break;
        }
        int w = wait_readable(c);
        if (w < 0) {
            break;
        }
        if (w == 0) {
            continue;
        }
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)n) < 0) {
            break;
        }
    }
    nghttp2_session_del(s);
    while (c->streams) {
        sstream_free(c, c->streams);
    }
    if (graceful) {
        linger_close(c);
    }
}

/* HTTP/1.1, just enough for curl: a request line, headers, a Content-Length body; keep-alive. */
static void serve_h1(struct sconn *c)
{
    struct cs_buf in, out;
    cs_buf_init(&in);
    cs_buf_init(&out);
    char buf[16384];
    while (!srv_stopping(c)) {
        char *eoh = in.len ? strstr(in.data, "\r\n\r\n") : NULL;
        if (eoh) {
            size_t hlen = (size_t)(eoh + 4 - in.data), clen = 0;
            *eoh = '\0';
            for (const char *p = strchr(in.data, '\n'); p; p = strchr(p + 1, '\n')) {
                if (!strncasecmp(p + 1, "content-length:", 15)) {
                    clen = strtoul(p + 16, NULL, 10);
                }
            }
            if (in.len >= hlen + clen) {
                char method[16] = "", path[256] = "";
                sscanf(in.data, "%15s %255s", method, path);
                __atomic_add_fetch(&c->srv->h1_requests, 1, __ATOMIC_SEQ_CST);
                char body[512];
                int bl = snprintf(body, sizeof(body),
                                  "{\"method\":\"%s\",\"path\":\"%s\",\"bodyLen\":%zu,"
                                  "\"proto\":\"http/1.1\",\"conn\":%d}",
                                  method, path, clen, c->serial);
                cs_buf_reset(&out);
                cs_buf_printf(&out,
                              "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                              "Content-Length: %d\r\n\r\n%s",
                              bl, body);
                if (SSL_write(c->ssl, out.data, (int)out.len) <= 0) {
                    break;
                }
                cs_buf_consume(&in, hlen + clen);
                continue;
            }
            *eoh = '\r';
        }
        int w = wait_readable(c);
        if (w < 0) {
            break;
        }
        if (w == 0) {
            continue;
        }
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n <= 0) {
            break;
        }
        cs_buf_append(&in, buf, (size_t)n);
    }
    cs_buf_free(&in);
    cs_buf_free(&out);
}

static void *conn_main(void *arg)
{
    struct sconn *c = arg;
    /* a client that connects and never finishes its handshake must not hold the thread */
    struct timeval tv = { .tv_sec = 3 };
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (SSL_accept(c->ssl) == 1) {
        if (c->srv->mode == MODE_H1) {
            serve_h1(c);
        } else {
            serve_h2(c);
        }
    }
    SSL_free(c->ssl);
    close(c->fd);
    __atomic_sub_fetch(&c->srv->live, 1, __ATOMIC_SEQ_CST);
    cs_free(c);
    return NULL;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct tsrv *srv = arg;
    struct sconn *c = SSL_get_app_data(ssl);
    size_t at = 0;
    for (unsigned int i = 0; i < inlen && at + 1 < sizeof(c->alpn); i += 1u + in[i]) {
        at += (size_t)snprintf(c->alpn + at, sizeof(c->alpn) - at, "%s%.*s", at ? "," : "",
                               (int)in[i], (const char *)in + i + 1);
        at = at < sizeof(c->alpn) ? at : sizeof(c->alpn) - 1;
    }
    static const unsigned char h2[] = "\x02h2";
    static const unsigned char h1[] = "\x08http/1.1";
    unsigned char *o = NULL;
    int mine = srv->mode == MODE_H1;
    if (SSL_select_next_proto(&o, outlen, mine ? h1 : h2, mine ? 9 : 3, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED) {
        /* H1 goes on without ALPN (the client sees it was not given h2); the h2 servers refuse */
        return mine ? SSL_TLSEXT_ERR_NOACK : SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static void *accept_main(void *arg)
{
    struct tsrv *srv = arg;
    for (;;) {
        int fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0) {
            if (__atomic_load_n(&srv->stop, __ATOMIC_SEQ_CST)) {
                break;
            }
            continue;
        }
        struct sconn *c = cs_calloc(1, sizeof(*c));
        c->srv = srv;
        c->fd = fd;
        c->serial = __atomic_add_fetch(&srv->connections, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&srv->live, 1, __ATOMIC_SEQ_CST);
        c->ssl = SSL_new(srv->ctx);
        SSL_set_fd(c->ssl, fd);
        SSL_set_app_data(c->ssl, c);
        pthread_t t;
        pthread_create(&t, NULL, conn_main, c);
        pthread_detach(t);
    }
    return NULL;
}

static struct tsrv SRV = { .mode = MODE_H2 };
static struct tsrv MTLS = { .mode = MODE_MTLS };
static struct tsrv H1 = { .mode = MODE_H1 };
static char *CA_PEM, *CERT_PEM, *KEY_PEM;
static char *OTHER_CA_PEM; /* a CA that signed nothing the servers present */

static int srv_init(struct tsrv *srv)
{
    srv->ctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(CERT_PEM, -1), *kb = BIO_new_mem_buf(KEY_PEM, -1);
    BIO *ab = BIO_new_mem_buf(CA_PEM, -1);
    X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    X509 *ca = PEM_read_bio_X509(ab, NULL, NULL, NULL);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    int ok = x && pk && ca && SSL_CTX_use_certificate(srv->ctx, x) == 1 &&
             SSL_CTX_use_PrivateKey(srv->ctx, pk) == 1;
    if (ok && srv->mode == MODE_MTLS) {
        /* The generated certificate says serverAuth; accept it as a client certificate too. */
        ok = X509_STORE_add_cert(SSL_CTX_get_cert_store(srv->ctx), ca) == 1 &&
             SSL_CTX_set_purpose(srv->ctx, X509_PURPOSE_ANY) == 1;
        SSL_CTX_set_verify(srv->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    X509_free(x);
    X509_free(ca);
    EVP_PKEY_free(pk);
    BIO_free(cb);
    BIO_free(kb);
    BIO_free(ab);
    if (!ok) {
        return -1;
    }
    SSL_CTX_set_alpn_select_cb(srv->ctx, alpn_select, srv);
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(srv->lfd, 64) < 0) {
        return -1;
    }
    socklen_t al = sizeof(a);
    getsockname(srv->lfd, (struct sockaddr *)&a, &al);
    srv->port = ntohs(a.sin_port);
    return pthread_create(&srv->th, NULL, accept_main, srv) == 0 ? 0 : -1;
}

static void srv_fini(struct tsrv *srv)
{
    __atomic_store_n(&srv->stop, 1, __ATOMIC_SEQ_CST);
    shutdown(srv->lfd, SHUT_RDWR);
    close(srv->lfd);
    pthread_join(srv->th, NULL);
    for (int i = 0; i < 500 && __atomic_load_n(&srv->live, __ATOMIC_SEQ_CST) > 0; i++) {
        usleep(10 * 1000);
    }
    SSL_CTX_free(srv->ctx);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    char err[256], *cert2 = NULL, *key2 = NULL;
    if (cs_apisim_tls_generate(&CA_PEM, &CERT_PEM, &KEY_PEM, err, sizeof(err)) < 0 ||
        cs_apisim_tls_generate(&OTHER_CA_PEM, &cert2, &key2, err, sizeof(err)) < 0) {
        fprintf(stderr, "tls: %s\n", err);
        return -1;
    }
    cs_free(cert2);
    cs_free(key2);
    return srv_init(&SRV) == 0 && srv_init(&MTLS) == 0 && srv_init(&H1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    srv_fini(&SRV);
    srv_fini(&MTLS);
    srv_fini(&H1);
    cs_free(CA_PEM);
    cs_free(CERT_PEM);
    cs_free(KEY_PEM);
    cs_free(OTHER_CA_PEM);
    curl_global_cleanup();
    return 0;
}

/* ---- cs_h2 driven directly ------------------------------------------------------------------ */

/* What one stream received through the callbacks. */
struct tresp {
    int closes;
    int failed;                  /* the close callback had an error */
    char err[256];
    long status;
    char ctype[64];
    struct cs_buf body;
};

static void tr_header(void *ud, const char *name, size_t nlen, const char *value, size_t vlen)
{
    struct tresp *r = ud;
    if (nlen == 7 && !memcmp(name, ":status", 7)) {
        char tmp[16];
        snprintf(tmp, sizeof(tmp), "%.*s", (int)vlen, value);
        r->status = strtol(tmp, NULL, 10);
    } else if (nlen == 12 && !memcmp(name, "content-type", 12)) {
        snprintf(r->ctype, sizeof(r->ctype), "%.*s", (int)vlen, value);
    }
}

static void tr_data(void *ud, const char *p, size_t n)
{
    struct tresp *r = ud;
    cs_buf_append(&r->body, p, n);
}

static void tr_close(void *ud, const char *err)
{
    struct tresp *r = ud;
    r->closes++;
    if (err) {
        r->failed = 1;
        snprintf(r->err, sizeof(r->err), "%s", err);
    }
}

static const struct cs_h2_callbacks TCB = { tr_header, tr_data, tr_close };

static struct tresp *tresp_new(size_t n)
{
    struct tresp *r = cs_calloc(n, sizeof(*r));
    for (size_t i = 0; i < n; i++) {
        cs_buf_init(&r[i].body);
    }
    return r;
}

static void tresp_free(struct tresp *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cs_buf_free(&r[i].body);
    }
    cs_free(r);
}

struct h2opts {
    const char *ca;              /* PEM, NULL = none */
    const char *sni;             /* tls_server_name */
    const char *path;            /* the server URL's path, "" by default */
    int insecure;
};

static struct cs_h2 *h2_new(const struct tsrv *srv, const struct h2opts *o)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[128], err[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", srv->port, o->path ? o->path : "");
    cfg.server = cs_strdup(url);
    if (o->ca) {
        cfg.ca_data = cs_strdup(o->ca);
        cfg.ca_data_len = strlen(o->ca);
    }
    if (o->sni) {
        cfg.tls_server_name = cs_strdup(o->sni);
    }
    cfg.insecure_skip_tls_verify = o->insecure;
    struct cs_h2 *h = cs_h2_new(&cfg, &TCB, err, sizeof(err));
    cs_client_config_free(&cfg);
    if (!h) {
        fail_msg("cs_h2_new: %s", err);
    }
    return h;
}

typedef int (*until_fn)(struct cs_h2 *h, void *arg);

/* Run the connection as the client's loop does (poll for cs_h2_events, then cs_h2_io) until
 * until() holds or ms pass. Returns 1 when it held. */
static int drive(struct cs_h2 *h, until_fn until, void *arg, int ms)
{
    int64_t end = now_ms() + ms;
    while (!until(h, arg)) {
        if (now_ms() > end) {
            return 0;
        }
        uint32_t ev = cs_h2_events(h);
        struct pollfd p = { .fd = cs_h2_fd(h) };
        p.events = (short)(((ev & EPOLLIN) ? POLLIN : 0) | ((ev & EPOLLOUT) ? POLLOUT : 0));
        if (poll(&p, 1, 10) > 0) {
            uint32_t e = ((p.revents & POLLIN) ? EPOLLIN : 0) |
                         ((p.revents & POLLOUT) ? EPOLLOUT : 0) |
                         ((p.revents & POLLERR) ? EPOLLERR : 0) |
                         ((p.revents & POLLHUP) ? EPOLLHUP : 0);
            cs_h2_io(h, e);
        }
    }
    return 1;
}

static int until_settled(struct cs_h2 *h, void *arg)
{
    (void)arg;
    return cs_h2_state(h) != CS_H2_CONNECTING;
}

struct closes_arg {
    struct tresp *r;
    size_t n;
};

static int until_closed(struct cs_h2 *h, void *arg)
{
    (void)h;
    const struct closes_arg *a = arg;
    for (size_t i = 0; i < a->n; i++) {
        if (a->r[i].closes == 0) {
            return 0;
        }
    }
    return 1;
}

static int until_never(struct cs_h2 *h, void *arg)
{
    (void)h;
    (void)arg;
    return 0;
}

struct count_arg {
    const int *counter;
    int want;
};

static int until_count(struct cs_h2 *h, void *arg)
{
    (void)h;
    const struct count_arg *a = arg;
    return load(a->counter) >= a->want;
}

/* Connect and complete the handshake; the state it settled in is returned. */
static int h2_settle(struct cs_h2 *h)
{
    if (cs_h2_connect(h) != 0) {
        return cs_h2_state(h);
    }
    assert_int_equal(cs_h2_state(h), CS_H2_CONNECTING);
    assert_true(cs_h2_fd(h) >= 0);
    assert_true(drive(h, until_settled, NULL, 3000));
    return cs_h2_state(h);
}

static struct cs_h2 *h2_ready(const struct tsrv *srv, const struct h2opts *o)
{
    struct cs_h2 *h = h2_new(srv, o);
    if (h2_settle(h) != CS_H2_READY) {
        fail_msg("not READY: %s", cs_h2_error(h));
    }
    return h;
}

static void wait_closed(struct cs_h2 *h, struct tresp *r, size_t n, int ms)
{
    struct closes_arg a = { r, n };
    if (!drive(h, until_closed, &a, ms)) {
        fail_msg("streams still open after %d ms (%zu open on the connection)", ms,
                 cs_h2_open_streams(h));
    }
}

static int32_t get(struct cs_h2 *h, const char *path, struct tresp *r)
{
    struct cs_h2_req req = { .method = "GET", .path = path };
    int32_t id = cs_h2_submit(h, &req, r);
    assert_true(id > 0);
    return id;
}

/* The handshake verifies the server's IP SAN with the CA from memory and reaches READY; before
 * that nothing can be submitted. */
static void test_h2_handshake_verifies_ip_san_and_reaches_ready(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_new(&SRV, &o);
    assert_int_equal(cs_h2_state(h), CS_H2_IDLE);
    assert_int_equal(cs_h2_fd(h), -1);
    assert_int_equal(cs_h2_events(h), 0);
    struct tresp *r = tresp_new(1);
    struct cs_h2_req req = { .method = "GET", .path = "/ok" };
    assert_int_equal(cs_h2_submit(h, &req, r), -1); /* not READY: refused, no callback */
    assert_int_equal(h2_settle(h), CS_H2_READY);
    assert_string_equal(cs_h2_error(h), "");
    assert_int_equal(cs_h2_refused(h), 0);
    assert_int_equal(cs_h2_draining(h), 0);
    assert_true(cs_h2_events(h) & EPOLLIN);
    cs_h2_free(h, NULL);
    assert_int_equal(r->closes, 0);
    tresp_free(r, 1);
}

/* A GET and a POST with a body: status, content-type and body arrive through the callbacks, the
 * bearer token and the default user agent are sent, and each stream gets exactly one close
 * callback, with err NULL. */
static void test_h2_get_and_post_deliver_status_type_and_body(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(2);
    struct cs_h2_req g = { .method = "GET", .path = "/ok", .accept = "application/json",
                           .token = "tok-1" };
    static const char body[] = "{\"a\":1}";
    struct cs_h2_req p = { .method = "POST", .path = "/ok", .content_type = "application/json",
                           .body = body, .body_len = sizeof(body) - 1 };
    int32_t id1 = cs_h2_submit(h, &g, &r[0]);
    int32_t id2 = cs_h2_submit(h, &p, &r[1]);
    assert_true(id1 > 0 && id2 > 0 && id1 != id2);
    assert_int_equal(cs_h2_open_streams(h), 2);
    cs_h2_flush(h);
    wait_closed(h, r, 2, 3000);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(r[i].closes, 1);
        if (r[i].failed) {
            fail_msg("stream %d: %s", i, r[i].err);
        }
        assert_int_equal(r[i].status, 200);
        assert_string_equal(r[i].ctype, "application/json");
    }
    assert_non_null(strstr(r[0].body.data, "\"method\":\"GET\",\"path\":\"/ok\",\"bodyLen\":0,"
                                           "\"auth\":\"Bearer tok-1\""));
    assert_non_null(strstr(r[0].body.data, "\"ua\":\"cosched/0.1\""));
    assert_non_null(strstr(r[1].body.data, "\"method\":\"POST\",\"path\":\"/ok\",\"bodyLen\":7,"
                                           "\"auth\":\"\""));
    assert_int_equal(cs_h2_open_streams(h), 0);
    assert_int_equal(cs_h2_state(h), CS_H2_READY);
    cs_h2_free(h, "done");
    assert_int_equal(r[0].closes + r[1].closes, 2); /* nothing more at free */
    tresp_free(r, 2);
}

/* tls_server_name "localhost" is verified against the DNS SAN (while connecting to 127.0.0.1),
 * and the server URL's path is a prefix of every request's path. */
static void test_h2_dns_san_and_url_path_prefix(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM, .sni = "localhost", .path = "/pre/" };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(1);
    get(h, "/ok?x=1", r);
    cs_h2_flush(h);
    wait_closed(h, r, 1, 3000);
    assert_int_equal(r->status, 200);
    assert_non_null(strstr(r->body.data, "\"path\":\"/pre/ok?x=1\""));
    cs_h2_free(h, NULL);
    tresp_free(r, 1);
}

/* 300 requests submitted in one go (three times the server's concurrent streams) all complete,
 * each with its own response, on the one connection. */
static void test_h2_300_requests_at_once_all_complete(void **state)
{
    (void)state;
    enum { N = 300 };
    int conns0 = load(&SRV.connections), reqs0 = load(&SRV.requests);
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(N);
    for (int i = 0; i < N; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/ok?i=%d", i);
        get(h, path, &r[i]); /* the path is copied at submit */
    }
    assert_int_equal(cs_h2_open_streams(h), N);
    cs_h2_flush(h);
    wait_closed(h, r, N, 8000);
    for (int i = 0; i < N; i++) {
        char want[48];
        snprintf(want, sizeof(want), "\"path\":\"/ok?i=%d\"", i);
        assert_int_equal(r[i].closes, 1);
        assert_false(r[i].failed);
        assert_int_equal(r[i].status, 200);
        assert_non_null(strstr(r[i].body.data, want));
    }
    assert_int_equal(cs_h2_open_streams(h), 0);
    assert_int_equal(load(&SRV.requests) - reqs0, N);
    assert_int_equal(load(&SRV.connections) - conns0, 1);
    cs_h2_free(h, NULL);
    tresp_free(r, N);
}

/* A server certificate that the configured CA did not sign, or that does not cover the name
 * verified, ends the connection DEAD with a verify error; insecure_skip_tls_verify (no CA at all)
 * reaches READY and works. */
static void test_h2_certificate_verification(void **state)
{
    (void)state;
    struct h2opts other = { .ca = OTHER_CA_PEM };
    struct cs_h2 *h = h2_new(&SRV, &other);
    assert_int_equal(h2_settle(h), CS_H2_DEAD);
    assert_non_null(strstr(cs_h2_error(h), "verify"));
    assert_int_equal(cs_h2_refused(h), 0);
    cs_h2_free(h, NULL);

    struct h2opts wrong_name = { .ca = CA_PEM, .sni = "wrong.example" };
    h = h2_new(&SRV, &wrong_name);
    assert_int_equal(h2_settle(h), CS_H2_DEAD);
    assert_non_null(strstr(cs_h2_error(h), "verify"));
    cs_h2_free(h, NULL);

    struct h2opts insecure = { .insecure = 1 };
    h = h2_ready(&SRV, &insecure);
    struct tresp *r = tresp_new(1);
    get(h, "/ok", r);
    cs_h2_flush(h);
    wait_closed(h, r, 1, 3000);
    assert_int_equal(r->status, 200);
    cs_h2_free(h, NULL);
    tresp_free(r, 1);
}

/* A server that completes TLS without choosing h2 (it offers only http/1.1): DEAD, refused, and
 * nothing can be submitted. */
static void test_h2_alpn_refusal(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_new(&H1, &o);
    assert_int_equal(h2_settle(h), CS_H2_DEAD);
    assert_int_equal(cs_h2_refused(h), 1);
    assert_non_null(strstr(cs_h2_error(h), "ALPN"));
    struct tresp *r = tresp_new(1);
    struct cs_h2_req req = { .method = "GET", .path = "/ok" };
    assert_int_equal(cs_h2_submit(h, &req, r), -1);
    cs_h2_free(h, NULL);
    assert_int_equal(r->closes, 0);
    tresp_free(r, 1);
}

/* The server drops the connection with streams open: each of them gets its close callback with
 * an error, exactly once (neither more driving nor cs_h2_free adds another). */
static void test_h2_server_close_fails_every_open_stream_once(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(4);
    get(h, "/slow", &r[0]);
    get(h, "/slow", &r[1]);
    get(h, "/slow", &r[2]);
    get(h, "/close", &r[3]);
    cs_h2_flush(h);
    wait_closed(h, r, 4, 3000);
    assert_int_equal(cs_h2_state(h), CS_H2_DEAD);
    assert_true(strlen(cs_h2_error(h)) > 0);
    assert_int_equal(cs_h2_open_streams(h), 0);
    assert_int_equal(cs_h2_draining(h), 0);
    drive(h, until_never, NULL, 100);
    cs_h2_free(h, "late");
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].closes, 1);
        assert_true(r[i].failed);
        assert_string_not_equal(r[i].err, "late");
    }
    tresp_free(r, 4);
}

/* cs_h2_cancel ends a stream with an error whether its request is on the wire or still queued
 * (cancelled before any flush), and the connection goes on serving; an unknown id is ignored. */
static void test_h2_cancel_ends_the_stream_with_an_error(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(3);
    int reqs0 = load(&SRV.requests);
    int32_t slow = get(h, "/slow", &r[0]);
    cs_h2_flush(h);
    struct count_arg seen = { &SRV.requests, reqs0 + 1 };
    assert_true(drive(h, until_count, &seen, 3000)); /* the server has the request */
    cs_h2_cancel(h, slow);
    cs_h2_flush(h);
    wait_closed(h, &r[0], 1, 3000);
    assert_true(r[0].failed);

    int32_t queued = get(h, "/ok", &r[1]);
    cs_h2_cancel(h, queued); /* nothing written yet */
    cs_h2_flush(h);
    wait_closed(h, &r[1], 1, 3000);
    assert_true(r[1].failed);
    assert_int_equal(r[1].status, 0);

    cs_h2_cancel(h, 999);    /* never submitted */
    cs_h2_cancel(h, slow);   /* already closed */
    get(h, "/ok", &r[2]);
    cs_h2_flush(h);
    wait_closed(h, &r[2], 1, 3000);
    assert_false(r[2].failed);
    assert_int_equal(r[2].status, 200);
    assert_int_equal(cs_h2_state(h), CS_H2_READY);
    cs_h2_free(h, NULL);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].closes, 1);
    }
    tresp_free(r, 3);
}

/* cs_h2_free with streams open, sent or not: each gets its close callback with `why`. */
static void test_h2_free_ends_open_streams_with_why(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(3);
    int reqs0 = load(&SRV.requests);
    get(h, "/slow", &r[0]);
    get(h, "/slow", &r[1]);
    cs_h2_flush(h);
    struct count_arg seen = { &SRV.requests, reqs0 + 2 };
    assert_true(drive(h, until_count, &seen, 3000));
    get(h, "/slow", &r[2]); /* not flushed */
    assert_int_equal(cs_h2_open_streams(h), 3);
    cs_h2_free(h, "client stopped");
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].closes, 1);
        assert_true(r[i].failed);
        assert_string_equal(r[i].err, "client stopped");
    }
    tresp_free(r, 3);
}

static int until_dead(struct cs_h2 *h, void *arg)
{
    (void)arg;
    return cs_h2_state(h) == CS_H2_DEAD;
}

/* A graceful GOAWAY: the connection takes no new requests (DEAD for submitting) but drains: a
 * stream it covers, answered only afterwards, still completes cleanly. */
static void test_h2_goaway_drains_open_streams(void **state)
{
    (void)state;
    struct h2opts o = { .ca = CA_PEM };
    struct cs_h2 *h = h2_ready(&SRV, &o);
    struct tresp *r = tresp_new(3);
    get(h, "/held", &r[0]);   /* answered when released below */
    get(h, "/goaway", &r[1]); /* answered at once, then GOAWAY */
    cs_h2_flush(h);
    wait_closed(h, &r[1], 1, 3000);
    assert_false(r[1].failed);
    assert_int_equal(r[1].status, 200);
    assert_true(drive(h, until_dead, NULL, 3000));
    assert_int_equal(r[0].closes, 0);
    assert_int_equal(cs_h2_draining(h), 1);
    assert_int_equal(cs_h2_refused(h), 0);
    struct cs_h2_req req = { .method = "GET", .path = "/ok" };
    assert_int_equal(cs_h2_submit(h, &req, &r[2]), -1);
    __atomic_add_fetch(&SRV.release, 1, __ATOMIC_SEQ_CST);
    wait_closed(h, &r[0], 1, 3000);
    assert_false(r[0].failed);
    assert_int_equal(r[0].status, 200);
    assert_non_null(strstr(r[0].body.data, "\"path\":\"/held\""));
    assert_int_equal(cs_h2_draining(h), 0);
    assert_int_equal(cs_h2_state(h), CS_H2_DEAD);
    cs_h2_free(h, NULL);
    assert_int_equal(r[0].closes + r[1].closes + r[2].closes, 2);
    tresp_free(r, 3);
}

/* ---- through the whole client --------------------------------------------------------------- */

struct copts {
    const struct tsrv *srv;
    const char *ca;
    const char *path;
    const char *sni;
    const char *user_agent;
    int insecure;
    int client_cert;             /* certificate and key from data */
    int max_conns;
};

static struct cs_client *client_new(const struct copts *o)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[128], err[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", o->srv->port, o->path ? o->path : "");
    cfg.server = cs_strdup(url);
    if (o->ca) {
        cfg.ca_data = cs_strdup(o->ca);
        cfg.ca_data_len = strlen(o->ca);
    }
    if (o->sni) {
        cfg.tls_server_name = cs_strdup(o->sni);
    }
    if (o->user_agent) {
        cfg.user_agent = cs_strdup(o->user_agent);
    }
    if (o->client_cert) {
        cfg.cert_data = cs_strdup(CERT_PEM);
        cfg.cert_data_len = strlen(CERT_PEM);
        cfg.key_data = cs_strdup(KEY_PEM);
        cfg.key_data_len = strlen(KEY_PEM);
    }
    cfg.insecure_skip_tls_verify = o->insecure;
    cfg.qps = 0;
    if (o->max_conns) {
        cfg.max_conns_per_host = o->max_conns;
    }
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    if (!c) {
        fail_msg("cs_client_new: %s", err);
    }
    assert_int_equal(cs_client_start(c), 0);
    return c;
}

/* Before any request the client's first connection is its own h2 one: wait until it counts. */
static void wait_h2_ready(struct cs_client *c)
{
    struct cs_client_stats st;
    for (int i = 0; i < 300; i++) {
        cs_client_stats(c, &st);
        if (st.connects >= 1) {
            return;
        }
        usleep(10 * 1000);
    }
    fail_msg("the client's h2 connection did not become ready");
}

static void do_req(struct cs_client *c, const struct cs_client_req *req, struct cs_client_resp *r)
{
    assert_int_equal(cs_client_do(c, req, r), 0);
}

static void expect_ok(struct cs_client *c, const char *method, const char *path, const char *has)
{
    struct cs_client_req req = { .method = method, .path = path };
    if (method && !strcmp(method, "POST")) {
        req.body = "{}";
        req.body_len = 2;
    }
    struct cs_client_resp r;
    do_req(c, &req, &r);
    if (r.status != 200) {
        fail_msg("%s %s: status %ld err %s", method ? method : "GET", path, r.status,
                 r.err ? r.err : "");
    }
    if (has && !strstr(r.body, has)) {
        fail_msg("%s %s: %s lacks %s", method ? method : "GET", path, r.body, has);
    }
    cs_client_resp_free(&r);
}

struct many {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, ok;
};

static void many_cb(void *arg, const struct cs_client_resp *r)
{
    struct many *m = arg;
    pthread_mutex_lock(&m->mu);
    m->done++;
    if (r->status == 200 && strstr(r->body, "\"bodyLen\":1000") &&
        strstr(r->body, "\"alpn\":\"h2\"")) {
        m->ok++;
    } else if (r->err) {
        fprintf(stderr, "h2 request failed: %s\n", r->err);
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

/* Once its h2 connection is READY the client sends every request on it: one connection and
 * one connect for 92 requests, 90 of them POSTs in flight at once (far more than the 4
 * HTTP/1.1 connections allowed); responses carry status, type and body; the configured user
 * agent is sent. */
static void test_client_requests_ride_its_h2_connection(void **state)
{
    (void)state;
    int conns0 = load(&SRV.connections), own0 = load(&SRV.own_requests);
    struct copts o = { .srv = &SRV, .ca = CA_PEM, .max_conns = 4, .user_agent = "h2-spec/1" };
    struct cs_client *c = client_new(&o);
    wait_h2_ready(c);
    struct cs_client_req first = { .path = "/hello" };
    struct cs_client_resp r;
    do_req(c, &first, &r);
    assert_int_equal(r.status, 200);
    assert_null(r.err);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.content_type, "application/json");
    assert_non_null(strstr(r.body, "\"method\":\"GET\",\"path\":\"/hello\""));
    assert_non_null(strstr(r.body, "\"ua\":\"h2-spec/1\""));
    assert_non_null(strstr(r.body, "\"alpn\":\"h2\""));
    cs_client_resp_free(&r);

    struct many m = { .done = 0 };
    pthread_mutex_init(&m.mu, NULL);
    pthread_cond_init(&m.cv, NULL);
    char body[1000];
    memset(body, 'x', sizeof(body));
    for (int i = 0; i < 90; i++) {
        struct cs_client_req req = { .method = "POST", .path = "/bind", .body = body,
                                     .body_len = sizeof(body), .cb = many_cb, .arg = &m };
        assert_int_equal(cs_client_submit(c, &req), 0);
    }
    pthread_mutex_lock(&m.mu);
    while (m.done < 90) {
        pthread_cond_wait(&m.cv, &m.mu);
    }
    pthread_mutex_unlock(&m.mu);
    assert_int_equal(m.ok, 90);
    expect_ok(c, "POST", "/last", "\"bodyLen\":2");

    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(load(&SRV.connections) - conns0, 1);
    assert_int_equal(load(&SRV.own_requests) - own0, 92);
    cs_client_free(c);
    pthread_mutex_destroy(&m.mu);
    pthread_cond_destroy(&m.cv);
}

/* A 503 with "retry-after: 0" is retried on the h2 connection until max_attempts. */
static void test_client_retries_503_over_h2(void **state)
{
    (void)state;
    int conns0 = load(&SRV.connections), own0 = load(&SRV.own_requests);
    struct copts o = { .srv = &SRV, .ca = CA_PEM };
    struct cs_client *c = client_new(&o);
    wait_h2_ready(c);
    struct cs_client_req req = { .path = "/status/503", .retry = CS_CLIENT_RETRY_DEFAULT,
                                 .max_attempts = 3 };
    struct cs_client_resp r;
    do_req(c, &req, &r);
    assert_int_equal(r.status, 503);
    assert_null(r.err);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.retry_after_s, 0);
    assert_non_null(strstr(r.body, "\"code\":503"));
    cs_client_resp_free(&r);
    assert_int_equal(load(&SRV.own_requests) - own0, 3);
    assert_int_equal(load(&SRV.connections) - conns0, 1);
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.retries, 2);
    cs_client_free(c);
}

/* A request's timeout_ms holds on h2: a request the server never answers ends after about that
 * long with status 0 and "timed out"; the connection stays and serves the next request. */
static void test_client_h2_request_timeout(void **state)
{
    (void)state;
    int conns0 = load(&SRV.connections);
    struct copts o = { .srv = &SRV, .ca = CA_PEM };
    struct cs_client *c = client_new(&o);
    wait_h2_ready(c);
    struct cs_client_req req = { .path = "/slow", .timeout_ms = 300 };
    struct cs_client_resp r;
    int64_t t0 = now_ms();
    do_req(c, &req, &r);
    int64_t took = now_ms() - t0;
    assert_int_equal(r.status, 0);
    assert_non_null(r.err);
    assert_non_null(strstr(r.err, "timed out"));
    assert_int_equal(r.attempts, 1);
    cs_client_resp_free(&r);
    if (took < 290 || took > 2000) {
        fail_msg("timed out after %lld ms, not about 300", (long long)took);
    }
    expect_ok(c, "GET", "/after", "\"alpn\":\"h2\"");
    assert_int_equal(load(&SRV.connections) - conns0, 1);
    cs_client_free(c);
}

struct timeouts {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, timed_out;
};

static void timeout_cb(void *arg, const struct cs_client_resp *r)
{
    struct timeouts *t = arg;
    pthread_mutex_lock(&t->mu);
    t->done++;
    if (r->status == 0 && r->err && strstr(r->err, "timed out")) {
        t->timed_out++;
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* More unanswered requests than the server allows concurrent streams (100): those whose HEADERS
 * nghttp2 still holds back time out as well, none is left hanging. */
static void test_client_h2_timeouts_cover_requests_queued_behind_the_stream_limit(void **state)
{
    (void)state;
    enum { N = 130 };
    struct copts o = { .srv = &SRV, .ca = CA_PEM };
    struct cs_client *c = client_new(&o);
    wait_h2_ready(c);
    struct timeouts t = { .done = 0 };
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    for (int i = 0; i < N; i++) {
        struct cs_client_req req = { .path = "/slow", .timeout_ms = 300, .cb = timeout_cb,
                                     .arg = &t };
        assert_int_equal(cs_client_submit(c, &req), 0);
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&t.mu);
    while (t.done < N && pthread_cond_timedwait(&t.cv, &t.mu, &until) == 0) {
    }
    int done = t.done, timed_out = t.timed_out;
    pthread_mutex_unlock(&t.mu);
    assert_int_equal(done, N);
    assert_int_equal(timed_out, N);
    expect_ok(c, "GET", "/after", "\"alpn\":\"h2\"");
    cs_client_free(c);
    pthread_mutex_destroy(&t.mu);
    pthread_cond_destroy(&t.cv);
}

/* A request still open on a connection that is draining after a GOAWAY keeps its timeout: the
 * server keeps the connection for it but never answers, and it ends "timed out" all the same;
 * the client then goes on with a new connection. */
static void test_client_h2_timeout_holds_while_draining(void **state)
{
    (void)state;
    struct copts o = { .srv = &SRV, .ca = CA_PEM };
    struct cs_client *c = client_new(&o);
    wait_h2_ready(c);
    struct timeouts t = { .done = 0 };
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    struct cs_client_req slow = { .path = "/slow", .timeout_ms = 400, .cb = timeout_cb,
                                  .arg = &t };
    assert_int_equal(cs_client_submit(c, &slow), 0);
    usleep(50 * 1000);
    expect_ok(c, "GET", "/goaway", "\"alpn\":\"h2\""); /* the GOAWAY covers /slow */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 3;
    pthread_mutex_lock(&t.mu);
    while (t.done < 1 && pthread_cond_timedwait(&t.cv, &t.mu, &until) == 0) {
    }
    int done = t.done, timed_out = t.timed_out;
    pthread_mutex_unlock(&t.mu);
    assert_int_equal(done, 1);
    assert_int_equal(timed_out, 1);
    expect_ok(c, "GET", "/after", NULL);
    cs_client_free(c);
    pthread_mutex_destroy(&t.mu);
    pthread_cond_destroy(&t.cv);
}

/* A server that will not speak h2 (ALPN offers http/1.1 only): the client's requests go to
 * libcurl over HTTP/1.1 and succeed. */
static void test_client_falls_back_to_curl_when_h2_is_refused(void **state)
{
    (void)state;
    int h1_0 = load(&H1.h1_requests);
    struct copts o = { .srv = &H1, .ca = CA_PEM };
    struct cs_client *c = client_new(&o);
    expect_ok(c, "GET", "/one", "\"proto\":\"http/1.1\"");
    usleep(100 * 1000); /* the h2 attempt has been refused by now */
    expect_ok(c, "GET", "/two", "\"path\":\"/two\"");
    expect_ok(c, "POST", "/three", "\"bodyLen\":2");
    assert_int_equal(load(&H1.h1_requests) - h1_0, 3);
    cs_client_free(c);
}

/* After a GOAWAY and after a connection the server dropped mid-request (that request fails with
 * a transport error, one attempt), the client goes on answering, and h2 comes back. */
static void test_client_survives_goaway_and_dropped_connection(void **state)
{
    (void)state;
    struct copts o = { .srv = &SRV, .ca = CA_PEM };
    struct cs_client *c = client_new(&o);
    wait_h2_ready(c);
    expect_ok(c, "GET", "/goaway", "\"path\":\"/goaway\"");
    expect_ok(c, "GET", "/after-goaway", NULL);
    struct cs_client_req req = { .path = "/close" };
    struct cs_client_resp r;
    do_req(c, &req, &r);
    assert_int_equal(r.status, 0);
    assert_non_null(r.err);
    assert_int_equal(r.attempts, 1);
    cs_client_resp_free(&r);
    expect_ok(c, "GET", "/after-close", NULL);
    /* a new h2 connection is made (after a short backoff) and carries the requests again */
    int back = 0;
    for (int i = 0; i < 100 && !back; i++) {
        usleep(20 * 1000);
        struct cs_client_req again = { .path = "/again" };
        do_req(c, &again, &r);
        assert_int_equal(r.status, 200);
        back = strstr(r.body, "\"alpn\":\"h2\"") != NULL;
        cs_client_resp_free(&r);
    }
    assert_true(back);
    cs_client_free(c);
}

/* ---- streams and TLS options through the client --------------------------------------------- */

struct lines {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n, bad, done;
    long status;
};

static void line_cb(void *arg, const char *line, size_t len)
{
    struct lines *l = arg;
    char want[64];
    pthread_mutex_lock(&l->mu);
    l->n++;
    int w = snprintf(want, sizeof(want), "{\"n\":%d,\"pad\":\"", l->n);
    if (len != (size_t)w + (size_t)l->n * 3 + 2 || strncmp(line, want, (size_t)w) != 0) {
        l->bad++;
    }
    pthread_mutex_unlock(&l->mu);
}

static void done_cb(void *arg, long status, const char *err)
{
    struct lines *l = arg;
    pthread_mutex_lock(&l->mu);
    l->done = 1;
    l->status = err ? -1 : status;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

/* A stream's lines survive being cut into tiny DATA frames (streams stay on libcurl). */
static void test_h2_stream_lines_from_tiny_frames(void **state)
{
    (void)state;
    struct copts o = { .srv = &SRV, .ca = CA_PEM, .max_conns = 4 };
    struct cs_client *c = client_new(&o);
    struct lines l = { .n = 0 };
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    struct cs_client_stream *s = cs_client_stream_open(c, "/lines", line_cb, done_cb, &l);
    assert_non_null(s);
    pthread_mutex_lock(&l.mu);
    while (!l.done) {
        pthread_cond_wait(&l.cv, &l.mu);
    }
    pthread_mutex_unlock(&l.mu);
    assert_int_equal(l.status, 200);
    assert_int_equal(l.n, 50);
    assert_int_equal(l.bad, 0);
    cs_client_stream_close(s);
    cs_client_free(c);
    pthread_mutex_destroy(&l.mu);
    pthread_cond_destroy(&l.cv);
}

static char last_body[512];

/* One request on a fresh client; the status (0 on a transport error) and error text. */
static long one_status(const struct copts *o, char *err, size_t errlen)
{
    struct cs_client *c = client_new(o);
    struct cs_client_req req = { .path = "/tls" };
    struct cs_client_resp r;
    do_req(c, &req, &r);
    long st = r.status;
    snprintf(err, errlen, "%s", r.err ? r.err : "");
    snprintf(last_body, sizeof(last_body), "%s", r.body);
    cs_client_resp_free(&r);
    cs_client_free(c);
    return st;
}

static void test_tls_verification_options(void **state)
{
    (void)state;
    char err[256];
    /* the CA verifies the server */
    struct copts o = { .srv = &SRV, .ca = CA_PEM, .path = "/pre" };
    assert_int_equal(one_status(&o, err, sizeof(err)), 200);
    /* without it the system trust store does not */
    o.ca = NULL;
    assert_int_equal(one_status(&o, err, sizeof(err)), 0);
    assert_true(strlen(err) > 0);
    /* unless the kubeconfig said insecure-skip-tls-verify */
    o.insecure = 1;
    assert_int_equal(one_status(&o, err, sizeof(err)), 200);
    /* tls-server-name is the name verified: the certificate covers localhost ... */
    o.insecure = 0;
    o.ca = CA_PEM;
    o.sni = "localhost";
    assert_int_equal(one_status(&o, err, sizeof(err)), 200);
    assert_non_null(strstr(last_body, "\"path\":\"/pre/tls\"")); /* the URL's path prefix stays */
    /* ... and not wrong.example, although the address is the same */
    o.sni = "wrong.example";
    assert_int_equal(one_status(&o, err, sizeof(err)), 0);
    assert_true(strlen(err) > 0);
}

static void test_client_certificate_from_data(void **state)
{
    (void)state;
    char err[256];
    struct copts o = { .srv = &MTLS, .ca = CA_PEM, .client_cert = 1 };
    assert_int_equal(one_status(&o, err, sizeof(err)), 200);
    o.client_cert = 0;
    assert_int_equal(one_status(&o, err, sizeof(err)), 0); /* refused without a certificate */
    assert_true(strlen(err) > 0);
}

static char *write_tmp(const char *text)
{
    char *path = cs_strdup("/tmp/cs-h2-pem-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

/* The same with a kubeconfig of file paths: CA, client certificate and key read from disk. */
static void test_tls_material_from_files(void **state)
{
    (void)state;
    char *ca = write_tmp(CA_PEM), *cert = write_tmp(CERT_PEM), *key = write_tmp(KEY_PEM);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], e[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", MTLS.port);
    cfg.server = cs_strdup(url);
    cfg.ca_file = cs_strdup(ca);
    cfg.cert_file = cs_strdup(cert);
    cfg.key_file = cs_strdup(key);
    struct cs_client *c = cs_client_new(&cfg, e, sizeof(e));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);
    wait_h2_ready(c); /* the own h2 connection presents the certificate from the file too */
    expect_ok(c, "GET", "/files", "\"alpn\":\"h2\"");
    cs_client_free(c);
    unlink(ca);
    unlink(cert);
    unlink(key);
    cs_free(ca);
    cs_free(cert);
    cs_free(key);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the servers write to clients that have gone */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2_handshake_verifies_ip_san_and_reaches_ready),
        cmocka_unit_test(test_h2_get_and_post_deliver_status_type_and_body),
        cmocka_unit_test(test_h2_dns_san_and_url_path_prefix),
        cmocka_unit_test(test_h2_300_requests_at_once_all_complete),
        cmocka_unit_test(test_h2_certificate_verification),
        cmocka_unit_test(test_h2_alpn_refusal),
        cmocka_unit_test(test_h2_server_close_fails_every_open_stream_once),
        cmocka_unit_test(test_h2_cancel_ends_the_stream_with_an_error),
        cmocka_unit_test(test_h2_free_ends_open_streams_with_why),
        cmocka_unit_test(test_h2_goaway_drains_open_streams),
        cmocka_unit_test(test_client_requests_ride_its_h2_connection),
        cmocka_unit_test(test_client_retries_503_over_h2),
        cmocka_unit_test(test_client_h2_request_timeout),
        cmocka_unit_test(test_client_h2_timeouts_cover_requests_queued_behind_the_stream_limit),
        cmocka_unit_test(test_client_h2_timeout_holds_while_draining),
        cmocka_unit_test(test_client_falls_back_to_curl_when_h2_is_refused),
        cmocka_unit_test(test_client_survives_goaway_and_dropped_connection),
        cmocka_unit_test(test_h2_stream_lines_from_tiny_frames),
        cmocka_unit_test(test_tls_verification_options),
        cmocka_unit_test(test_client_certificate_from_data),
        cmocka_unit_test(test_tls_material_from_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
