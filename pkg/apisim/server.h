#ifndef CS_PKG_APISIM_SERVER_H
#define CS_PKG_APISIM_SERVER_H
/*
 * apisim's HTTP(S) front end (libmicrohttpd, one internal epoll thread, keep-alive, watch
 * streams suspended while idle) plus a ticker thread for graceful deletions, bookmarks and
 * watch timeouts.
 *
 * Ownership: the server borrows the store and the sim (both must outlive it).
 * Thread context: start/stop from the main thread.
 */
#include <stddef.h>

struct cs_apisim_store;
struct cs_apisim_sim;
struct cs_apisim_server;

struct cs_apisim_server_opts {
    const char *host;    /* listen address, e.g. "127.0.0.1" */
    int port;            /* 0 = pick a free port */
    int tls;             /* generate a CA + serving cert and serve HTTPS */
    const char *token;   /* require `Authorization: Bearer <token>` (NULL = no auth) */
};

/* Registers built-in types and default namespaces in the store, then serves.
 * Returns NULL with err filled on failure. */
struct cs_apisim_server *cs_apisim_server_start(struct cs_apisim_store *st,
                                                const struct cs_apisim_server_opts *o,
                                                char *err, size_t errlen);
/* Register built-in types and namespaces only (used before loading --cluster files). */
void cs_apisim_server_prepare_store(struct cs_apisim_store *st);
void cs_apisim_server_set_sim(struct cs_apisim_server *sv, struct cs_apisim_sim *sim);
int cs_apisim_server_port(const struct cs_apisim_server *sv);
/* PEM of the generated CA (NULL without TLS). */
const char *cs_apisim_server_ca_pem(const struct cs_apisim_server *sv);
/* Write a kubeconfig for this server (0 or -1 with err). */
int cs_apisim_server_write_kubeconfig(const struct cs_apisim_server *sv, const char *path,
                                      char *err, size_t errlen);
void cs_apisim_server_stop(struct cs_apisim_server *sv);

#endif
