#ifndef CS_PKG_CLIENT_H2_H
#define CS_PKG_CLIENT_H2_H
/*
 * One HTTP/2 connection over TLS for requests (nghttp2 on a non-blocking OpenSSL socket), owned
 * and driven by the client's I/O thread. The client sends its requests here when the server
 * speaks h2 and keeps libcurl for watches and as the fallback (plain HTTP, HTTP/1.1-only
 * servers, proxies, a connection that cannot be made).
 *
 * Why not curl for everything: on the real kube-apiserver a scheduler's steady state is two
 * small requests per pod (the binding and the Scheduled event); curl spent ~150 us of CPU on
 * each (its per-transfer state machine, header assembly, a poll(2) per transfer, an epoll
 * change per socket state), three quarters of cosched's CPU. Here a request is an HPACK header
 * block and a DATA frame appended to one output buffer; everything submitted in one loop turn
 * leaves in one SSL_write, and one SSL_read serves every response that arrived together.
 *
 * Life cycle: cs_h2_new (TLS context from the client config, no I/O) -> cs_h2_connect
 * (non-blocking connect; the caller puts cs_h2_fd in its epoll set with cs_h2_events) ->
 * cs_h2_io on each readiness (TCP connect, TLS handshake, then frames) -> READY. A connection
 * that fails, is refused h2 by ALPN, or is drained by a GOAWAY goes to DEAD; its streams that
 * had not completed end with an error (a transport error: the caller may retry them).
 *
 * Callbacks run on the caller's thread from inside cs_h2_io / cs_h2_flush / cs_h2_free. They
 * must not call back into this connection except cs_h2_state/cs_h2_error. Each submitted
 * stream gets exactly one close callback (err NULL when a response ended cleanly).
 *
 * Ownership: the request's strings are copied into nghttp2's header block at submit; the body
 * is borrowed until the stream's close callback and must stay valid that long.
 */
#include <stddef.h>
#include <stdint.h>

struct cs_client_config;

enum cs_h2_state {
    CS_H2_IDLE = 0,              /* created, not connected */
    CS_H2_CONNECTING,            /* TCP connect or TLS handshake in progress */
    CS_H2_READY,                 /* h2 negotiated: submit requests */
    CS_H2_DEAD,                  /* failed, closed or drained: free it */
};

struct cs_h2_callbacks {
    /* A response header (":status" included), name and value not NUL-terminated. */
    void (*header)(void *ud, const char *name, size_t nlen, const char *value, size_t vlen);
    /* A chunk of the response body. */
    void (*data)(void *ud, const char *p, size_t n);
    /* The stream ended: err NULL on a complete response, else why it did not complete. */
    void (*close)(void *ud, const char *err);
};

struct cs_h2_req {
    const char *method;
    const char *path;            /* path and query, the server's path prefix not included */
    const char *accept;          /* may be NULL */
    const char *content_type;    /* may be NULL (no body) */
    const char *token;           /* bearer token, or NULL */
    const char *body;            /* borrowed until close; NULL = no body */
    size_t body_len;
};

struct cs_h2;

/* Parse the server URL and build the TLS context (CA, client certificate and key, from data or
 * files; verification off only with insecure_skip_tls_verify). Returns NULL with a message when
 * the server is not https or the credentials do not load. */
struct cs_h2 *cs_h2_new(const struct cs_client_config *cfg, const struct cs_h2_callbacks *cb,
                        char *err, size_t errlen);
/* Start a non-blocking connect. Returns 0 (state CONNECTING) or -1 (state DEAD, see
 * cs_h2_error). Resolves the host name with getaddrinfo on the calling thread. */
int cs_h2_connect(struct cs_h2 *h);
/* The socket (-1 before connect) and the epoll events it waits for now. */
int cs_h2_fd(const struct cs_h2 *h);
uint32_t cs_h2_events(const struct cs_h2 *h);
int cs_h2_state(const struct cs_h2 *h);
/* Why the connection is DEAD ("" otherwise). */
const char *cs_h2_error(const struct cs_h2 *h);
/* 1 while a connection that got GOAWAY still has streams to complete (keep driving it). */
int cs_h2_draining(const struct cs_h2 *h);
/* 1 when the server completed TLS but did not choose h2 (the caller should stop trying). */
int cs_h2_refused(const struct cs_h2 *h);
/* Handle readiness of the socket (EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits). */
void cs_h2_io(struct cs_h2 *h, uint32_t events);
/* Queue a request (state READY only). Returns the stream id (> 0), or -1 on error (no close
 * callback then). Nothing is written until cs_h2_flush or cs_h2_io. */
int32_t cs_h2_submit(struct cs_h2 *h, const struct cs_h2_req *r, void *ud);
/* Cancel a stream (RST_STREAM CANCEL); its close callback follows with an error. */
void cs_h2_cancel(struct cs_h2 *h, int32_t stream_id);
/* Write what is queued, as far as the socket takes it. */
void cs_h2_flush(struct cs_h2 *h);
/* Streams submitted and not yet closed. */
size_t cs_h2_open_streams(const struct cs_h2 *h);
/* Close: every open stream gets its close callback with `why`; then free. NULL is a no-op. */
void cs_h2_free(struct cs_h2 *h, const char *why);

#endif
