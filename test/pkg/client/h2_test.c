/* The client over HTTP/2: a TLS server in this test offers only "h2" through ALPN (nghttp2 on
 * OpenSSL, throw-away certificates from apisim's generator); many concurrent requests must
 * share one connection, bodies must arrive, and a stream's lines must survive being cut into
 * tiny DATA frames. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkg/apisim/tls.h"
#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

/* ---- h2 server ------------------------------------------------------------------------------ */

struct h2srv {
    SSL_CTX *ctx;
    int lfd, port;
    pthread_t th;
    int stop;
    int connections;             /* atomic */
    int requests;                /* atomic */
    int live;                    /* atomic: connection threads still running */
    char *ca_pem;
};

struct h2stream {
    char method[16];
    char path[256];
    struct cs_buf body;
    struct cs_buf out;
    size_t off;
    size_t piece;                /* max bytes per DATA frame read */
};

struct h2conn {
    struct h2srv *srv;
    SSL *ssl;
};

static ssize_t send_cb(nghttp2_session *s, const uint8_t *data, size_t len, int flags,
                             void *user)
{
    (void)s;
    (void)flags;
    struct h2conn *c = user;
    int n = SSL_write(c->ssl, data, (int)len);
    return n <= 0 ? NGHTTP2_ERR_CALLBACK_FAILURE : n;
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    (void)user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    struct h2stream *st = cs_calloc(1, sizeof(*st));
    cs_buf_init(&st->body);
    cs_buf_init(&st->out);
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nl,
                     const uint8_t *value, size_t vl, uint8_t flags, void *user)
{
    (void)flags;
    (void)user;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st) {
        return 0;
    }
    if (nl == 5 && !memcmp(name, ":path", 5)) {
        snprintf(st->path, sizeof(st->path), "%.*s", (int)vl, (const char *)value);
    } else if (nl == 7 && !memcmp(name, ":method", 7)) {
        snprintf(st->method, sizeof(st->method), "%.*s", (int)vl, (const char *)value);
    }
    return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user)
{
    (void)flags;
    (void)user;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) {
        cs_buf_append(&st->body, data, len);
    }
    return 0;
}

static ssize_t read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                             uint32_t *flags, nghttp2_data_source *src, void *user)
{
    (void)s;
    (void)id;
    (void)user;
    struct h2stream *st = src->ptr;
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

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct h2conn *c = user;
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)) {
        return 0;
    }
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st) {
        return 0;
    }
    __atomic_add_fetch(&c->srv->requests, 1, __ATOMIC_SEQ_CST);
    if (!strcmp(st->path, "/lines")) {
        for (int i = 1; i <= 50; i++) {
            cs_buf_printf(&st->out, "{\"n\":%d,\"pad\":\"%*s\"}\n", i, i * 3, "");
        }
        st->piece = 7;
    } else {
        cs_buf_printf(&st->out, "{\"method\":\"%s\",\"path\":\"%s\",\"bodyLen\":%zu}", st->method,
                      st->path, st->body.len);
    }
    nghttp2_nv hdrs[] = {
        { (uint8_t *)":status", (uint8_t *)"200", 7, 3, NGHTTP2_NV_FLAG_NONE },
        { (uint8_t *)"content-type", (uint8_t *)"application/json", 12, 16, NGHTTP2_NV_FLAG_NONE },
    };
    nghttp2_data_provider prd = { .source.ptr = st, .read_callback = read_cb };
    nghttp2_submit_response(s, f->hd.stream_id, hdrs, 2, &prd);
    return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    (void)code;
    (void)user;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) {
        cs_buf_free(&st->body);
        cs_buf_free(&st->out);
        cs_free(st);
    }
    return 0;
}

static void *h2_conn_main(void *arg)
{
    struct h2conn *c = arg;
    nghttp2_session_callbacks *cbs;
    nghttp2_session *s = NULL;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_send_callback(cbs, send_cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close);
    if (SSL_accept(c->ssl) == 1) {
        nghttp2_session_server_new(&s, cbs, c);
        nghttp2_settings_entry iv = { NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100 };
        nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, &iv, 1);
        uint8_t buf[16384];
        for (;;) {
            if (nghttp2_session_send(s) != 0) {
                break;
            }
            if (!nghttp2_session_want_read(s) && !nghttp2_session_want_write(s)) {
                break;
            }
            int n = SSL_read(c->ssl, buf, sizeof(buf));
            if (n <= 0 || nghttp2_session_mem_recv(s, buf, (size_t)n) < 0) {
                break;
            }
        }
        nghttp2_session_del(s);
    }
    nghttp2_session_callbacks_del(cbs);
    int fd = SSL_get_fd(c->ssl);
    SSL_free(c->ssl);
    close(fd);
    __atomic_sub_fetch(&c->srv->live, 1, __ATOMIC_SEQ_CST);
    cs_free(c);
    return NULL;
}

static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl;
    (void)arg;
    static const unsigned char h2[] = "\x02h2";
    unsigned char *o = NULL;
    if (SSL_select_next_proto(&o, outlen, h2, 3, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_ALERT_FATAL; /* h2 only: an HTTP/1.1 client would fail */
    }
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static void *h2_accept_main(void *arg)
{
    struct h2srv *srv = arg;
    for (;;) {
        int fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0) {
            if (__atomic_load_n(&srv->stop, __ATOMIC_SEQ_CST)) {
                break;
            }
            continue;
        }
        __atomic_add_fetch(&srv->connections, 1, __ATOMIC_SEQ_CST);
        __atomic_add_fetch(&srv->live, 1, __ATOMIC_SEQ_CST);
        struct h2conn *c = cs_calloc(1, sizeof(*c));
        c->srv = srv;
        c->ssl = SSL_new(srv->ctx);
        SSL_set_fd(c->ssl, fd);
        pthread_t t;
        pthread_create(&t, NULL, h2_conn_main, c);
        pthread_detach(t);
    }
    return NULL;
}

static struct h2srv SRV;   /* server-authenticated TLS */
static struct h2srv MTLS;  /* also requires a client certificate signed by the CA */
static char *CERT_PEM, *KEY_PEM;

static int srv_init(struct h2srv *srv, int require_client_cert)
{
    srv->ctx = SSL_CTX_new(TLS_server_method());
    BIO *cb = BIO_new_mem_buf(CERT_PEM, -1), *kb = BIO_new_mem_buf(KEY_PEM, -1);
    BIO *ab = BIO_new_mem_buf(SRV.ca_pem, -1);
    X509 *x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
    X509 *ca = PEM_read_bio_X509(ab, NULL, NULL, NULL);
    EVP_PKEY *pk = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
    int ok = x && pk && ca && SSL_CTX_use_certificate(srv->ctx, x) == 1 &&
             SSL_CTX_use_PrivateKey(srv->ctx, pk) == 1;
    if (ok && require_client_cert) {
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
    SSL_CTX_set_alpn_select_cb(srv->ctx, alpn_select, NULL);
    srv->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(srv->lfd, 64) < 0) {
        return -1;
    }
    socklen_t al = sizeof(a);
    getsockname(srv->lfd, (struct sockaddr *)&a, &al);
    srv->port = ntohs(a.sin_port);
    return pthread_create(&srv->th, NULL, h2_accept_main, srv) == 0 ? 0 : -1;
}

static void srv_fini(struct h2srv *srv)
{
    __atomic_store_n(&srv->stop, 1, __ATOMIC_SEQ_CST);
    shutdown(srv->lfd, SHUT_RDWR);
    close(srv->lfd);
    pthread_join(srv->th, NULL);
    /* let connection threads finish after the clients closed their connections */
    for (int i = 0; i < 500 && __atomic_load_n(&srv->live, __ATOMIC_SEQ_CST) > 0; i++) {
        usleep(10 * 1000);
    }
    SSL_CTX_free(srv->ctx);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    char err[256];
    if (cs_apisim_tls_generate(&SRV.ca_pem, &CERT_PEM, &KEY_PEM, err, sizeof(err)) < 0) {
        fprintf(stderr, "tls: %s\n", err);
        return -1;
    }
    return srv_init(&SRV, 0) == 0 && srv_init(&MTLS, 1) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    srv_fini(&SRV);
    srv_fini(&MTLS);
    cs_free(SRV.ca_pem);
    cs_free(CERT_PEM);
    cs_free(KEY_PEM);
    curl_global_cleanup();
    return 0;
}

static struct cs_client *h2_client(int max_conns)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], err[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", SRV.port);
    cfg.server = cs_strdup(url);
    cfg.ca_data = cs_strdup(SRV.ca_pem);
    cfg.ca_data_len = strlen(SRV.ca_pem);
    cfg.qps = 0;
    cfg.max_conns_per_host = max_conns;
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);
    return c;
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
    if (r->status == 200 && strstr(r->body, "\"bodyLen\":1000")) {
        m->ok++;
    } else if (r->err) {
        fprintf(stderr, "h2 request failed: %s\n", r->err);
    }
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

static void test_h2_multiplexes_requests_on_one_connection(void **state)
{
    (void)state;
    int conns0 = __atomic_load_n(&SRV.connections, __ATOMIC_SEQ_CST);
    struct cs_client *c = h2_client(4);
    /* the first request learns that the server speaks h2 */
    struct cs_client_req first = { .path = "/hello" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &first, &r), 0);
    if (r.status != 200) {
        fail_msg("first h2 request: status %ld err %s", r.status, r.err ? r.err : "");
    }
    assert_non_null(strstr(r.body, "\"path\":\"/hello\""));
    cs_client_resp_free(&r);
    /* then 90 POSTs at once (below the server's 100 concurrent streams): far more than the 4
     * HTTP/1.1 connections allowed could carry in parallel, yet all on the one connection */
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
    struct cs_client_stats st;
    cs_client_stats(c, &st);
    assert_int_equal(st.connects, 1);
    assert_int_equal(__atomic_load_n(&SRV.connections, __ATOMIC_SEQ_CST) - conns0, 1);
    cs_client_free(c);
}

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

static void test_h2_stream_lines_from_tiny_frames(void **state)
{
    (void)state;
    struct cs_client *c = h2_client(4);
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
}

static char last_body[512];

static long get_status(const char *ca, const char *sni, int insecure, char *err, size_t errlen)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], e[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/pre", SRV.port);
    cfg.server = cs_strdup(url);
    if (ca) {
        cfg.ca_data = cs_strdup(ca);
        cfg.ca_data_len = strlen(ca);
    }
    if (sni) {
        cfg.tls_server_name = cs_strdup(sni);
    }
    cfg.insecure_skip_tls_verify = insecure;
    struct cs_client *c = cs_client_new(&cfg, e, sizeof(e));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);
    struct cs_client_req req = { .path = "/tls" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
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
    assert_int_equal(get_status(SRV.ca_pem, NULL, 0, err, sizeof(err)), 200);
    /* without it the system trust store does not */
    assert_int_equal(get_status(NULL, NULL, 0, err, sizeof(err)), 0);
    assert_true(strlen(err) > 0);
    /* unless the kubeconfig said insecure-skip-tls-verify */
    assert_int_equal(get_status(NULL, NULL, 1, err, sizeof(err)), 200);
    /* tls-server-name is the name verified: the certificate covers localhost ... */
    assert_int_equal(get_status(SRV.ca_pem, "localhost", 0, err, sizeof(err)), 200);
    assert_non_null(strstr(last_body, "\"path\":\"/pre/tls\"")); /* the URL's path prefix stays */
    /* ... and not wrong.example, although the address is the same */
    assert_int_equal(get_status(SRV.ca_pem, "wrong.example", 0, err, sizeof(err)), 0);
    assert_true(strlen(err) > 0);
}

static long mtls_status(int with_cert, char *err, size_t errlen)
{
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], e[256];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d", MTLS.port);
    cfg.server = cs_strdup(url);
    cfg.ca_data = cs_strdup(SRV.ca_pem);
    cfg.ca_data_len = strlen(SRV.ca_pem);
    if (with_cert) {
        cfg.cert_data = cs_strdup(CERT_PEM);
        cfg.cert_data_len = strlen(CERT_PEM);
        cfg.key_data = cs_strdup(KEY_PEM);
        cfg.key_data_len = strlen(KEY_PEM);
    }
    struct cs_client *c = cs_client_new(&cfg, e, sizeof(e));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);
    struct cs_client_req req = { .path = "/mtls" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    long st = r.status;
    snprintf(err, errlen, "%s", r.err ? r.err : "");
    cs_client_resp_free(&r);
    cs_client_free(c);
    return st;
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
    char *ca = write_tmp(SRV.ca_pem), *cert = write_tmp(CERT_PEM), *key = write_tmp(KEY_PEM);
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
    assert_int_equal(cs_client_start(c), 0);
    struct cs_client_req req = { .path = "/files" };
    struct cs_client_resp r;
    assert_int_equal(cs_client_do(c, &req, &r), 0);
    if (r.status != 200) {
        fail_msg("status %ld err %s", r.status, r.err ? r.err : "");
    }
    cs_client_resp_free(&r);
    cs_client_free(c);
    unlink(ca);
    unlink(cert);
    unlink(key);
    cs_free(ca);
    cs_free(cert);
    cs_free(key);
}

static void test_client_certificate_from_data(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(mtls_status(1, err, sizeof(err)), 200);
    assert_int_equal(mtls_status(0, err, sizeof(err)), 0); /* refused without a certificate */
    assert_true(strlen(err) > 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* the server writes to clients that gave up on the handshake */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h2_multiplexes_requests_on_one_connection),
        cmocka_unit_test(test_h2_stream_lines_from_tiny_frames),
        cmocka_unit_test(test_tls_verification_options),
        cmocka_unit_test(test_client_certificate_from_data),
        cmocka_unit_test(test_tls_material_from_files),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
