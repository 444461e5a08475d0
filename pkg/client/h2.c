/*
 * HTTP/2 over TLS for the client's requests (see h2.h for why it exists beside curl).
 *
 * Layers, bottom up: a non-blocking TCP socket; an OpenSSL SSL object on it (ALPN "h2", SNI and
 * host-name verification as curl does them); an nghttp2 client session driven through its
 * memory interface (nghttp2_session_mem_recv / mem_send), so that this file decides when the
 * socket is read and written. Output: every frame nghttp2 has ready is gathered into one buffer
 * and written with SSL_write (partial writes allowed); a write that would block leaves the rest
 * for EPOLLOUT. Input: SSL_read until it would block, each chunk fed to nghttp2.
 *
 * Streams: each submitted request gets a small record (the caller's pointer, the body cursor
 * for the data provider) linked into the connection's list, so that a connection dying with
 * streams open can give each of them its close callback exactly once, whatever nghttp2 does.
 */
#include "pkg/client/h2.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

#define H2_OUT_HIGH (256u * 1024u)        /* stop pulling frames from nghttp2 above this */
#define H2_STREAM_WINDOW (4 * 1024 * 1024) /* per-stream receive window (lists can be MiBs) */
#define H2_CONN_WINDOW (16 * 1024 * 1024)

struct h2s {
    struct h2s *prev, *next;
    void *ud;
    const char *body;
    size_t body_len, body_off;
    int32_t id;
    int closed;
};

struct cs_h2 {
    struct cs_h2_callbacks cb;
    SSL_CTX *ctx;
    SSL *ssl;
    nghttp2_session *sess;
    int fd;
    int state;
    int tcp_connected;
    int refused;
    int goaway;                          /* the server sent GOAWAY: drain, no new streams */
    int broken;                          /* the connection failed: nothing more completes */
    int want_write;                      /* SSL needs the socket writable to go on */
    int read_blocked_on_write;           /* SSL_read wants a write (renegotiation-like) */
    char host[256];                      /* to connect to */
    char port[16];
    char name[256];                      /* verified name, SNI and :authority host */
    char authority[300];
    char prefix[256];                    /* the server URL's path, without trailing '/' */
    char user_agent[256];                /* cfg->user_agent, "cosched/0.1" when unset */
    int insecure;
    struct cs_buf out;                   /* encrypted-to-be bytes not yet taken by SSL_write */
    size_t out_off;
    struct h2s *streams;
    size_t nstreams;
    char err[256];
};

/* ---- small helpers ------------------------------------------------------------------------- */

/* The connection failed: state DEAD, the reason kept (the first failure wins). */
static void set_dead(struct cs_h2 *h, const char *fmt, const char *detail)
{
    if (h->broken) {
        return;
    }
    h->broken = 1;
    h->state = CS_H2_DEAD;
    snprintf(h->err, sizeof(h->err), fmt, detail ? detail : "");
}

static const char *ssl_errstr(char *buf, size_t n)
{
    unsigned long e = ERR_get_error();
    if (!e) {
        snprintf(buf, n, "%s", errno ? strerror(errno) : "unknown TLS error");
    } else {
        ERR_error_string_n(e, buf, n);
    }
    ERR_clear_error();
    return buf;
}

static int is_ip_literal(const char *s)
{
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, tmp) == 1 || inet_pton(AF_INET6, s, tmp) == 1;
}

static void unlink_stream(struct cs_h2 *h, struct h2s *s)
{
    if (s->prev) {
        s->prev->next = s->next;
    } else {
        h->streams = s->next;
    }
    if (s->next) {
        s->next->prev = s->prev;
    }
    s->prev = s->next = NULL;
    h->nstreams--;
}

/* Give the stream its close callback once and forget it. */
static void close_stream(struct cs_h2 *h, struct h2s *s, const char *err)
{
    if (s->closed) {
        return;
    }
    s->closed = 1;
    unlink_stream(h, s);
    if (h->sess && s->id > 0) {
        nghttp2_session_set_stream_user_data(h->sess, s->id, NULL);
    }
    void *ud = s->ud;
    cs_free(s);
    h->cb.close(ud, err);
}

static void fail_all(struct cs_h2 *h, const char *why)
{
    while (h->streams) {
        close_stream(h, h->streams, why);
    }
}

/* ---- TLS context ----------------------------------------------------------------------------- */

static int load_ca_pem(SSL_CTX *ctx, const char *data, size_t len)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio) {
        return -1;
    }
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    int n = 0;
    X509 *x;
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (X509_STORE_add_cert(store, x) == 1) {
            n++;
        }
        X509_free(x);
    }
    ERR_clear_error(); /* the end of the PEM data reads as an error */
    BIO_free(bio);
    return n > 0 ? 0 : -1;
}

static int load_cert_pem(SSL_CTX *ctx, const char *data, size_t len)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio) {
        return -1;
    }
    int rc = -1;
    X509 *leaf = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (leaf && SSL_CTX_use_certificate(ctx, leaf) == 1) {
        rc = 0;
        X509 *extra;
        while ((extra = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (SSL_CTX_add_extra_chain_cert(ctx, extra) != 1) { /* takes ownership on success */
                X509_free(extra);
            }
        }
        ERR_clear_error();
    }
    X509_free(leaf);
    BIO_free(bio);
    return rc;
}

static int load_key_pem(SSL_CTX *ctx, const char *data, size_t len)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (!bio) {
        return -1;
    }
    EVP_PKEY *k = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    int rc = k && SSL_CTX_use_PrivateKey(ctx, k) == 1 ? 0 : -1;
    EVP_PKEY_free(k);
    BIO_free(bio);
    return rc;
}

static SSL_CTX *make_ctx(const struct cs_client_config *cfg, char *err, size_t errlen)
{
    char e[200];
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        snprintf(err, errlen, "h2: SSL_CTX_new: %s", ssl_errstr(e, sizeof(e)));
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    const char *what = NULL;
    if (cfg->ca_data) {
        if (load_ca_pem(ctx, cfg->ca_data, cfg->ca_data_len) < 0) {
            what = "certificate-authority-data";
        }
    } else if (cfg->ca_file) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
            what = "certificate-authority";
        }
    } else if (!cfg->insecure_skip_tls_verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        /* The system's store is parsed only when it will verify something: reading its few
         * hundred certificates took ~100 ms of CPU, 4.5% of a SchedulingBasic run. */
        what = "the system's CA certificates";
    }
    if (!what && cfg->cert_data && load_cert_pem(ctx, cfg->cert_data, cfg->cert_data_len) < 0) {
        what = "client-certificate-data";
    }
    if (!what && !cfg->cert_data && cfg->cert_file &&
        SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
        what = "client-certificate";
    }
    if (!what && cfg->key_data && load_key_pem(ctx, cfg->key_data, cfg->key_data_len) < 0) {
        what = "client-key-data";
    }
    if (!what && !cfg->key_data && cfg->key_file &&
        SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1) {
        what = "client-key";
    }
    if (what) {
        snprintf(err, errlen, "h2: cannot load %s: %s", what, ssl_errstr(e, sizeof(e)));
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, cfg->insecure_skip_tls_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                       NULL);
    static const unsigned char alpn[] = { 2, 'h', '2' };
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn));
    return ctx;
}

/* "https://host[:port][/prefix]" -> host, port, prefix; IPv6 hosts in brackets. */
static int parse_url(struct cs_h2 *h, const char *url, char *err, size_t errlen)
{
    if (!url || strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "h2: server %s is not https", url ? url : "(none)");
        return -1;
    }
    const char *p = url + 8;
    size_t hl = strcspn(p, "/");
    const char *prefix = p + hl;
    char hp[300];
    if (hl == 0 || hl >= sizeof(hp)) {
        snprintf(err, errlen, "h2: server %s: bad host", url);
        return -1;
    }
    memcpy(hp, p, hl);
    hp[hl] = '\0';
    const char *port = "443";
    char *host = hp;
    if (hp[0] == '[') {
        char *rb = strchr(hp, ']');
        if (!rb) {
            snprintf(err, errlen, "h2: server %s: bad IPv6 host", url);
            return -1;
        }
        *rb = '\0';
        host = hp + 1;
        if (rb[1] == ':') {
            port = rb + 2;
        }
    } else {
        char *colon = strrchr(hp, ':');
        if (colon) {
            *colon = '\0';
            port = colon + 1;
        }
    }
    if (strlen(host) >= sizeof(h->host) || strlen(port) >= sizeof(h->port) || !*port) {
        snprintf(err, errlen, "h2: server %s: bad host or port", url);
        return -1;
    }
    memcpy(h->host, host, strlen(host) + 1); /* lengths checked above (snprintf would make
                                              * gcc -O1 warn about truncation) */
    memcpy(h->port, port, strlen(port) + 1);
    size_t pl = strlen(prefix);
    while (pl > 0 && prefix[pl - 1] == '/') {
        pl--;
    }
    if (pl >= sizeof(h->prefix)) {
        snprintf(err, errlen, "h2: server %s: path too long", url);
        return -1;
    }
    memcpy(h->prefix, prefix, pl);
    h->prefix[pl] = '\0';
    return 0;
}

/* ---- nghttp2 callbacks ----------------------------------------------------------------------- */

static int on_header_cb(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                        size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *u)
{
    (void)flags;
    (void)u;
    if (f->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    struct h2s *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    struct cs_h2 *h = u;
    if (st && !st->closed) {
        h->cb.header(st->ud, (const char *)name, nlen, (const char *)value, vlen);
    }
    return 0;
}

static int on_data_cb(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                      size_t len, void *u)
{
    (void)flags;
    struct h2s *st = nghttp2_session_get_stream_user_data(s, id);
    struct cs_h2 *h = u;
    if (st && !st->closed) {
        h->cb.data(st->ud, (const char *)data, len);
    }
    return 0;
}

static int on_close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *u)
{
    struct cs_h2 *h = u;
    struct h2s *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st) {
        return 0;
    }
    if (code == NGHTTP2_NO_ERROR) {
        close_stream(h, st, NULL);
    } else {
        char msg[96];
        snprintf(msg, sizeof(msg), "HTTP/2 stream %d reset: %s", id, nghttp2_http2_strerror(code));
        close_stream(h, st, msg);
    }
    return 0;
}

static int on_frame_recv_cb(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    (void)s;
    struct cs_h2 *h = u;
    if (f->hd.type == NGHTTP2_GOAWAY && h->state == CS_H2_READY) {
        /* No new streams; the open ones below last_stream_id still complete (nghttp2 closes
         * the others as refused). The connection counts as dead for new requests from now on;
         * the caller frees it once drained. */
        h->goaway = 1;
        h->state = CS_H2_DEAD;
        snprintf(h->err, sizeof(h->err), "the server sent GOAWAY");
    }
    return 0;
}

static ssize_t body_read_cb(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *u)
{
    (void)s;
    (void)id;
    (void)u;
    struct h2s *st = src->ptr;
    size_t left = st->body_len - st->body_off;
    size_t n = left < len ? left : len;
    if (n) {
        memcpy(buf, st->body + st->body_off, n);
    }
    st->body_off += n;
    if (st->body_off == st->body_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

struct cs_h2 *cs_h2_new(const struct cs_client_config *cfg, const struct cs_h2_callbacks *cb,
                        char *err, size_t errlen)
{
    struct cs_h2 *h = cs_calloc(1, sizeof(*h));
    h->cb = *cb;
    h->fd = -1;
    cs_buf_init(&h->out);
    if (parse_url(h, cfg->server, err, errlen) < 0) {
        cs_free(h);
        return NULL;
    }
    snprintf(h->name, sizeof(h->name), "%s",
             cfg->tls_server_name && *cfg->tls_server_name ? cfg->tls_server_name : h->host);
    if (strchr(h->name, ':')) {
        snprintf(h->authority, sizeof(h->authority), "[%s]:%s", h->name, h->port);
    } else {
        snprintf(h->authority, sizeof(h->authority), "%s:%s", h->name, h->port);
    }
    snprintf(h->user_agent, sizeof(h->user_agent), "%s",
             cfg->user_agent && *cfg->user_agent ? cfg->user_agent : "cosched/0.1");
    h->insecure = cfg->insecure_skip_tls_verify;
    h->ctx = make_ctx(cfg, err, errlen);
    if (!h->ctx) {
        cs_free(h);
        return NULL;
    }
    return h;
}

static int start_session(struct cs_h2 *h)
{
    nghttp2_session_callbacks *cbs;
    if (nghttp2_session_callbacks_new(&cbs) != 0) {
        return -1;
    }
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header_cb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_close_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv_cb);
    int rc = nghttp2_session_client_new(&h->sess, cbs, h);
    nghttp2_session_callbacks_del(cbs);
    if (rc != 0) {
        return -1;
    }
    nghttp2_settings_entry iv[] = {
        { NGHTTP2_SETTINGS_ENABLE_PUSH, 0 },
        { NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW },
    };
    if (nghttp2_submit_settings(h->sess, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0])) != 0 ||
        nghttp2_session_set_local_window_size(h->sess, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW) != 0) {
        return -1;
    }
    return 0;
}

int cs_h2_connect(struct cs_h2 *h)
{
    if (h->state != CS_H2_IDLE) {
        return h->state == CS_H2_DEAD ? -1 : 0;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int gai = getaddrinfo(h->host, h->port, &hints, &res);
    if (gai != 0 || !res) {
        set_dead(h, "cannot resolve the server: %s", gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(res);
        set_dead(h, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1, idle = 30, intvl = 10;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        set_dead(h, "connect: %s", strerror(errno));
        return -1;
    }
    h->fd = fd;
    h->tcp_connected = rc == 0;
    h->ssl = SSL_new(h->ctx);
    if (!h->ssl || SSL_set_fd(h->ssl, fd) != 1) {
        set_dead(h, "SSL_new failed%s", "");
        return -1;
    }
    /* Read ahead: one read(2) takes every record the socket holds, not a 5-byte header and
     * then a body per record (5.5 reads per scheduled pod without it). */
    SSL_set_read_ahead(h->ssl, 1);
    SSL_set_default_read_buffer_len(h->ssl, 64 * 1024);
    if (!is_ip_literal(h->name)) {
        SSL_set_tlsext_host_name(h->ssl, h->name);
    }
    if (!h->insecure) {
        if (is_ip_literal(h->name)) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(h->ssl), h->name);
        } else {
            SSL_set1_host(h->ssl, h->name);
        }
    }
    SSL_set_connect_state(h->ssl);
    h->state = CS_H2_CONNECTING;
    return 0;
}

int cs_h2_fd(const struct cs_h2 *h)
{
    return h->fd;
}

int cs_h2_state(const struct cs_h2 *h)
{
    return h->state;
}

const char *cs_h2_error(const struct cs_h2 *h)
{
    return h->state == CS_H2_DEAD ? h->err : "";
}

int cs_h2_draining(const struct cs_h2 *h)
{
    return h->goaway && !h->broken && h->nstreams > 0;
}

int cs_h2_refused(const struct cs_h2 *h)
{
    return h->refused;
}

size_t cs_h2_open_streams(const struct cs_h2 *h)
{
    return h->nstreams;
}

uint32_t cs_h2_events(const struct cs_h2 *h)
{
    if (h->fd < 0) {
        return 0;
    }
    if (h->state == CS_H2_CONNECTING && !h->tcp_connected) {
        return EPOLLOUT;
    }
    uint32_t ev = EPOLLIN;
    if (h->want_write || h->out_off < h->out.len) {
        ev |= EPOLLOUT;
    }
    return ev;
}

/* TLS handshake step; READY when done and h2 was chosen. */
static void handshake(struct cs_h2 *h)
{
    ERR_clear_error();
    int rc = SSL_do_handshake(h->ssl);
    if (rc == 1) {
        const unsigned char *proto = NULL;
        unsigned int plen = 0;
        SSL_get0_alpn_selected(h->ssl, &proto, &plen);
        if (plen != 2 || memcmp(proto, "h2", 2) != 0) {
            h->refused = 1;
            set_dead(h, "the server did not choose h2 in ALPN%s", "");
            return;
        }
        if (start_session(h) < 0) {
            set_dead(h, "nghttp2 session setup failed%s", "");
            return;
        }
        h->want_write = 0;
        h->state = CS_H2_READY;
        return;
    }
    int e = SSL_get_error(h->ssl, rc);
    if (e == SSL_ERROR_WANT_READ) {
        h->want_write = 0;
    } else if (e == SSL_ERROR_WANT_WRITE) {
        h->want_write = 1;
    } else {
        char buf[200];
        long vr = SSL_get_verify_result(h->ssl);
        if (vr != X509_V_OK) {
            set_dead(h, "TLS handshake: certificate verify failed: %s",
                     X509_verify_cert_error_string(vr));
        } else {
            set_dead(h, "TLS handshake: %s", ssl_errstr(buf, sizeof(buf)));
        }
    }
}

/* Pull frames from nghttp2 into the output buffer and write as much as the socket takes. */
static void pump_out(struct cs_h2 *h)
{
    if (!h->sess || h->fd < 0) {
        return;
    }
    for (;;) {
        while (h->out.len - h->out_off < H2_OUT_HIGH) {
            const uint8_t *data = NULL;
            ssize_t n = nghttp2_session_mem_send(h->sess, &data);
            if (n < 0) {
                set_dead(h, "HTTP/2 send: %s", nghttp2_strerror((int)n));
                return;
            }
            if (n == 0) {
                break;
            }
            cs_buf_append(&h->out, data, (size_t)n);
        }
        if (h->out_off >= h->out.len) {
            cs_buf_reset(&h->out);
            h->out_off = 0;
            return;
        }
        ERR_clear_error();
        size_t want = h->out.len - h->out_off;
        int w = SSL_write(h->ssl, h->out.data + h->out_off, want > (1u << 30) ? 1 << 30 : (int)want);
        if (w > 0) {
            h->out_off += (size_t)w;
            h->want_write = 0;
            continue;
        }
        int e = SSL_get_error(h->ssl, w);
        if (e == SSL_ERROR_WANT_WRITE) {
            h->want_write = 1;
            return;
        }
        if (e == SSL_ERROR_WANT_READ) {
            return; /* the read side will call us again */
        }
        char buf[200];
        set_dead(h, "TLS write: %s", ssl_errstr(buf, sizeof(buf)));
        return;
    }
}

static void pump_in(struct cs_h2 *h)
{
    char buf[64 * 1024];
    for (;;) {
        ERR_clear_error();
        int r = SSL_read(h->ssl, buf, (int)sizeof(buf));
        if (r > 0) {
            ssize_t used = nghttp2_session_mem_recv(h->sess, (const uint8_t *)buf, (size_t)r);
            if (used < 0) {
                set_dead(h, "HTTP/2 receive: %s", nghttp2_strerror((int)used));
                return;
            }
            continue;
        }
        int e = SSL_get_error(h->ssl, r);
        if (e == SSL_ERROR_WANT_READ) {
            return;
        }
        if (e == SSL_ERROR_WANT_WRITE) {
            h->want_write = 1;
            return;
        }
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) {
            set_dead(h, "the server closed the connection%s", "");
            return;
        }
        char eb[200];
        set_dead(h, "TLS read: %s", ssl_errstr(eb, sizeof(eb)));
        return;
    }
}

void cs_h2_io(struct cs_h2 *h, uint32_t events)
{
    if (h->fd < 0 || h->broken || (h->state == CS_H2_DEAD && !h->sess)) {
        return;
    }
    if (h->state == CS_H2_CONNECTING) {
        if (!h->tcp_connected) {
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
                set_dead(h, "connect: %s", strerror(soerr ? soerr : errno));
                return;
            }
            if (!(events & (EPOLLOUT | EPOLLIN))) {
                return;
            }
            h->tcp_connected = 1;
        }
        handshake(h);
        if (h->state != CS_H2_READY) {
            return;
        }
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        pump_in(h);
    }
    pump_out(h);
    if (h->sess && !nghttp2_session_want_read(h->sess) && !nghttp2_session_want_write(h->sess)) {
        set_dead(h, "HTTP/2 session ended%s", "");
    }
    if (h->broken) {
        fail_all(h, h->err); /* the socket is gone: nothing more will complete */
    }
}

void cs_h2_flush(struct cs_h2 *h)
{
    if (h->sess && !h->broken) {
        pump_out(h);
        if (h->broken) {
            fail_all(h, h->err);
        }
    }
}

int32_t cs_h2_submit(struct cs_h2 *h, const struct cs_h2_req *r, void *ud)
{
    if (h->state != CS_H2_READY) {
        return -1;
    }
    char path[8192];
    size_t pl = cs_str_join(path, sizeof(path), h->prefix, r->path, (const char *)NULL);
    if (pl >= sizeof(path)) {
        return -1;
    }
    char auth[4096], clen[24];
    nghttp2_nv nv[10];
    size_t n = 0;
#define NV(N, V, VL)                                                                     \
    do {                                                                                 \
        nv[n].name = (uint8_t *)(N);                                                     \
        nv[n].namelen = sizeof(N) - 1;                                                   \
        nv[n].value = (uint8_t *)(V);                                                    \
        nv[n].valuelen = (VL);                                                           \
        nv[n].flags = NGHTTP2_NV_FLAG_NO_COPY_NAME;                                      \
        n++;                                                                             \
    } while (0)
    NV(":method", r->method, strlen(r->method));
    NV(":scheme", "https", 5);
    NV(":authority", h->authority, strlen(h->authority));
    NV(":path", path, pl);
    NV("user-agent", h->user_agent, strlen(h->user_agent));
    const char *acc = r->accept ? r->accept : "application/json";
    NV("accept", acc, strlen(acc));
    if (r->body) {
        const char *ct = r->content_type ? r->content_type : "application/json";
        NV("content-type", ct, strlen(ct));
        int cl = snprintf(clen, sizeof(clen), "%zu", r->body_len);
        NV("content-length", clen, (size_t)cl);
    }
    if (r->token && *r->token) {
        size_t al = cs_str_join(auth, sizeof(auth), "Bearer ", r->token, (const char *)NULL);
        if (al >= sizeof(auth)) {
            return -1;
        }
        NV("authorization", auth, al);
    }
#undef NV
    struct h2s *st = cs_calloc(1, sizeof(*st));
    st->ud = ud;
    st->body = r->body;
    st->body_len = r->body ? r->body_len : 0;
    nghttp2_data_provider prd;
    prd.source.ptr = st;
    prd.read_callback = body_read_cb;
    int32_t id = nghttp2_submit_request(h->sess, NULL, nv, n, r->body ? &prd : NULL, st);
    if (id < 0) {
        cs_free(st);
        return -1;
    }
    st->id = id;
    st->next = h->streams;
    if (h->streams) {
        h->streams->prev = st;
    }
    h->streams = st;
    h->nstreams++;
    return id;
}

void cs_h2_cancel(struct cs_h2 *h, int32_t stream_id)
{
    if (!h->sess) {
        return;
    }
    struct h2s *st = nghttp2_session_get_stream_user_data(h->sess, stream_id);
    /* A request whose HEADERS still wait in nghttp2's queue (not written yet, or held back by
     * the server's concurrent-stream limit) has no nghttp2 stream yet: find it in our list.
     * RST_STREAM then cancels the queued HEADERS and nghttp2 closes the stream with CANCEL. */
    for (struct h2s *s = h->streams; !st && s; s = s->next) {
        if (s->id == stream_id) {
            st = s;
        }
    }
    if (!st) {
        return;
    }
    if (nghttp2_submit_rst_stream(h->sess, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL) != 0) {
        close_stream(h, st, "HTTP/2 stream cancelled");
    }
}

void cs_h2_free(struct cs_h2 *h, const char *why)
{
    if (!h) {
        return;
    }
    fail_all(h, why ? why : "connection closed");
    if (h->sess) {
        nghttp2_session_del(h->sess);
    }
    if (h->ssl) {
        SSL_free(h->ssl);
    }
    if (h->fd >= 0) {
        close(h->fd);
    }
    SSL_CTX_free(h->ctx);
    cs_buf_free(&h->out);
    cs_free(h);
}
