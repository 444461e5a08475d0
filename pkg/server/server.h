#ifndef CS_PKG_SERVER_SERVER_H
#define CS_PKG_SERVER_SERVER_H
/*
 * The scheduler's own HTTP endpoint (libmicrohttpd): /healthz, /livez, /readyz, /metrics and
 * /configz, like kube-scheduler's secure port.
 *
 * Transport. kube-scheduler serves HTTPS only (port 10259, self-signed when no certificate is
 * configured). cosched serves HTTPS when --tls-cert-file and --tls-private-key-file are both
 * given and plain HTTP otherwise (no self-signed certificate is generated); it logs which one
 * at start. No authentication or authorization is done: every path is public, as if
 * --authorization-always-allow-paths covered them all.
 *
 * Health endpoints follow k8s.io/apiserver/pkg/server/healthz: every endpoint has the built-in
 * check "ping" plus the checks added for it. All pass: 200 "ok" (or the verbose list with
 * ?verbose). A failure: 500 with one line per check, "[+]name ok" / "[-]name failed: reason",
 * then "<endpoint> check failed". "/readyz/<check>" runs a single check; ?exclude=<name>
 * (repeatable) skips a check.
 *
 * Threads. The server runs one internal polling thread. Check callbacks run on that thread
 * and must be thread-safe and quick. cs_server_add_check and cs_server_set_configz may be
 * called from any thread, before or after start. start/stop/free from the owning thread.
 *
 * Ownership. The config's strings are copied. The metrics registry is borrowed and must
 * outlive the server (stop it first).
 */
#include <stddef.h>

#include "pkg/metrics/metrics.h"
#include "pkg/util/buf.h"

#define CS_SERVER_DEFAULT_PORT 10259

struct cs_server_config {
    const char *bind_address;          /* --bind-address; NULL/"" = "0.0.0.0"; IPv6 ok */
    int port;                          /* --secure-port; 0 = a free port (see cs_server_port) */
    const char *tls_cert_file;         /* --tls-cert-file (PEM), or NULL */
    const char *tls_key_file;          /* --tls-private-key-file (PEM), or NULL */
    struct cs_metrics_registry *metrics; /* rendered at /metrics; NULL: /metrics is empty */
};

/* Endpoint mask of a check. */
#define CS_SERVER_HEALTHZ 1u
#define CS_SERVER_LIVEZ 2u
#define CS_SERVER_READYZ 4u
#define CS_SERVER_ALLZ (CS_SERVER_HEALTHZ | CS_SERVER_LIVEZ | CS_SERVER_READYZ)

/* Return 0 when healthy; otherwise non-zero and append a one-line reason to `reason`. */
typedef int (*cs_server_check_fn)(void *arg, struct cs_buf *reason);

struct cs_server;

struct cs_server *cs_server_new(const struct cs_server_config *cfg);
/* Add a named check ([A-Za-z0-9-], unique; e.g. "leaderElection", "sched-handler-sync")
 * to the endpoints in mask. Returns 0 or -1. */
int cs_server_add_check(struct cs_server *s, const char *name, unsigned endpoints,
                        cs_server_check_fn fn, void *arg);
/* Replace the JSON served at /configz (copied). NULL serves "{}". */
void cs_server_set_configz(struct cs_server *s, const char *json);
/* Bind and start serving. Returns 0, or -1 with a message in err (bad address, port in use,
 * unreadable certificate, only one of cert/key given). */
int cs_server_start(struct cs_server *s, char *err, size_t errlen);
/* The port actually bound (useful with port 0), or -1 when not started. */
int cs_server_port(const struct cs_server *s);
/* 1 when serving HTTPS. */
int cs_server_is_tls(const struct cs_server *s);
/* Stop serving (closes connections, joins the thread). Idempotent. */
void cs_server_stop(struct cs_server *s);
/* Stop and free. NULL is a no-op. */
void cs_server_free(struct cs_server *s);

#endif
