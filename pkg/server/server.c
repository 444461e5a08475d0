/*
 * Health, metrics and configz endpoint over libmicrohttpd with one internal polling thread
 * (scrapes and probes are rare and cheap; a thread per connection would buy nothing).
 * Requests are answered on the first callback: every route is a GET without a body. The
 * check list and the configz text sit behind one mutex; the check callbacks themselves run
 * outside it so a slow check cannot block set_configz. The metrics text is rendered per
 * request into a buffer that libmicrohttpd copies.
 */
#include "pkg/server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "pkg/util/alloc.h"
#include "pkg/util/log.h"

#define MAX_EXCLUDES 16

struct check {
    char *name;
    unsigned endpoints;
    cs_server_check_fn fn;
    void *arg;
};

struct cs_server {
    char *bind_address;
    int port_cfg;
    char *cert_file;
    char *key_file;
    struct cs_metrics_registry *metrics;

    pthread_mutex_t mu;
    struct check *checks;
    size_t nchecks, checks_cap;
    char *configz;

    struct MHD_Daemon *daemon;
    char *cert_pem;
    char *key_pem;
    int port;
    int tls;
};

static char *dup_or_null(const char *s)
{
    return (s && *s) ? cs_strdup(s) : NULL;
}

struct cs_server *cs_server_new(const struct cs_server_config *cfg)
{
    struct cs_server *s = cs_calloc(1, sizeof *s);
    s->bind_address = cs_strdup(cfg && cfg->bind_address && *cfg->bind_address
                                    ? cfg->bind_address : "0.0.0.0");
    s->port_cfg = cfg ? cfg->port : 0;
    s->cert_file = cfg ? dup_or_null(cfg->tls_cert_file) : NULL;
    s->key_file = cfg ? dup_or_null(cfg->tls_key_file) : NULL;
    s->metrics = cfg ? cfg->metrics : NULL;
    s->port = -1;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

static int valid_check_name(const char *n)
{
    if (n == NULL || *n == '\0') {
        return 0;
    }
    for (; *n; n++) {
        int ok = (*n >= 'a' && *n <= 'z') || (*n >= 'A' && *n <= 'Z') ||
                 (*n >= '0' && *n <= '9') || *n == '-';
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

int cs_server_add_check(struct cs_server *s, const char *name, unsigned endpoints,
                        cs_server_check_fn fn, void *arg)
{
    if (s == NULL || fn == NULL || !valid_check_name(name) || strcmp(name, "ping") == 0 ||
        (endpoints & CS_SERVER_ALLZ) == 0) {
        return -1;
    }
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nchecks; i++) {
        if (strcmp(s->checks[i].name, name) == 0) {
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
    }
    s->checks = cs_grow(s->checks, sizeof *s->checks, s->nchecks + 1, &s->checks_cap);
    s->checks[s->nchecks++] = (struct check){ cs_strdup(name), endpoints, fn, arg };
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void cs_server_set_configz(struct cs_server *s, const char *json)
{
    char *copy = json ? cs_strdup(json) : NULL;
    pthread_mutex_lock(&s->mu);
    char *old = s->configz;
    s->configz = copy;
    pthread_mutex_unlock(&s->mu);
    cs_free(old);
}

/* ---- request handling ----------------------------------------------------------------------- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status,
                               const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL) {
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *conn, unsigned status,
                                    const char *text)
{
    return respond(conn, status, "text/plain; charset=utf-8", text, strlen(text));
}

struct query {
    int verbose;
    size_t nexclude;
    const char *exclude[MAX_EXCLUDES];
};

static enum MHD_Result query_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    struct query *q = cls;
    if (strcmp(key, "verbose") == 0) {
        q->verbose = 1;
    } else if (strcmp(key, "exclude") == 0 && value != NULL && q->nexclude < MAX_EXCLUDES) {
        q->exclude[q->nexclude++] = value;
    }
    return MHD_YES;
}

static int excluded(const struct query *q, const char *name)
{
    for (size_t i = 0; i < q->nexclude; i++) {
        if (strcmp(q->exclude[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Run the checks of `endpoint` (one of CS_SERVER_*); `only` restricts to one check name. */
static enum MHD_Result serve_health(struct cs_server *s, struct MHD_Connection *conn,
                                    unsigned endpoint, const char *ep_name, const char *only)
{
    struct query q = { 0 };
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_iter, &q);

    /* snapshot the checks so callbacks run without the lock */
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    struct check *snap = cs_calloc(s->nchecks + 1, sizeof *snap);
    for (size_t i = 0; i < s->nchecks; i++) {
        if (s->checks[i].endpoints & endpoint) {
            snap[n] = s->checks[i];
            snap[n].name = cs_strdup(s->checks[i].name);
            n++;
        }
    }
    pthread_mutex_unlock(&s->mu);

    struct cs_buf out, reason;
    cs_buf_init(&out);
    cs_buf_init(&reason);
    int failed = 0, found = only == NULL || strcmp(only, "ping") == 0;
    if (only == NULL || strcmp(only, "ping") == 0) {
        cs_buf_puts(&out, "[+]ping ok\n");
    }
    for (size_t i = 0; i < n; i++) {
        if (only != NULL && strcmp(only, snap[i].name) != 0) {
            continue;
        }
        found = 1;
        if (only == NULL && excluded(&q, snap[i].name)) {
            cs_buf_printf(&out, "[+]%s excluded: ok\n", snap[i].name);
            continue;
        }
        cs_buf_reset(&reason);
        if (snap[i].fn(snap[i].arg, &reason) != 0) {
            failed = 1;
            cs_buf_printf(&out, "[-]%s failed: %s\n", snap[i].name,
                          reason.len ? reason.data : "reason withheld");
            CS_INFO_S("Health check failed", CS_KV("endpoint", ep_name),
                      CS_KV("check", snap[i].name), CS_KV("reason", reason.data));
        } else {
            cs_buf_printf(&out, "[+]%s ok\n", snap[i].name);
        }
    }
    for (size_t i = 0; i < n; i++) {
        cs_free(snap[i].name);
    }
    cs_free(snap);
    cs_buf_free(&reason);

    enum MHD_Result ret;
    if (!found) {
        ret = respond_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
    } else if (failed) {
        cs_buf_printf(&out, "%s check failed\n", ep_name);
        ret = respond_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, out.data);
    } else if (q.verbose) {
        cs_buf_printf(&out, "%s check passed\n", ep_name);
        ret = respond_text(conn, MHD_HTTP_OK, out.data);
    } else {
        ret = respond_text(conn, MHD_HTTP_OK, "ok");
    }
    cs_buf_free(&out);
    return ret;
}

/* "/readyz" -> only NULL; "/readyz/x" -> only "x"; otherwise 0. */
static int health_route(const char *url, const char *prefix, const char **only)
{
    size_t n = strlen(prefix);
    if (strncmp(url, prefix, n) != 0) {
        return 0;
    }
    if (url[n] == '\0' || (url[n] == '/' && url[n + 1] == '\0')) {
        *only = NULL;
        return 1;
    }
    if (url[n] == '/') {
        *only = url + n + 1;
        return 1;
    }
    return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    struct cs_server *s = cls;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return respond_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    const char *only = NULL;
    if (health_route(url, "/healthz", &only)) {
        return serve_health(s, conn, CS_SERVER_HEALTHZ, "healthz", only);
    }
    if (health_route(url, "/livez", &only)) {
        return serve_health(s, conn, CS_SERVER_LIVEZ, "livez", only);
    }
    if (health_route(url, "/readyz", &only)) {
        return serve_health(s, conn, CS_SERVER_READYZ, "readyz", only);
    }
    if (strcmp(url, "/metrics") == 0) {
        struct cs_buf out;
        cs_buf_init(&out);
        cs_metrics_render(s->metrics, &out);
        enum MHD_Result ret = respond(conn, MHD_HTTP_OK, CS_METRICS_CONTENT_TYPE,
                                      out.data ? out.data : "", out.len);
        cs_buf_free(&out);
        return ret;
    }
    if (strcmp(url, "/configz") == 0) {
        pthread_mutex_lock(&s->mu);
        char *copy = cs_strdup(s->configz ? s->configz : "{}");
        pthread_mutex_unlock(&s->mu);
        enum MHD_Result ret = respond(conn, MHD_HTTP_OK, "application/json", copy, strlen(copy));
        cs_free(copy);
        return ret;
    }
    return respond_text(conn, MHD_HTTP_NOT_FOUND, "404 page not found\n");
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) {
        msg[--n] = '\0';
    }
    CS_WARN_S("HTTP server", CS_KV("detail", msg));
}

static char *read_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    struct cs_buf b;
    cs_buf_init(&b);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        cs_buf_append(&b, chunk, got);
    }
    int bad = ferror(f);
    fclose(f);
    if (bad || b.len == 0) {
        snprintf(err, errlen, "cannot read %s", path);
        cs_buf_free(&b);
        return NULL;
    }
    return cs_buf_steal(&b);
}

int cs_server_start(struct cs_server *s, char *err, size_t errlen)
{
    if (s->daemon != NULL) {
        snprintf(err, errlen, "server already started");
        return -1;
    }
    if (s->port_cfg < 0 || s->port_cfg > 65535) {
        snprintf(err, errlen, "invalid port %d", s->port_cfg);
        return -1;
    }
    if ((s->cert_file == NULL) != (s->key_file == NULL)) {
        snprintf(err, errlen, "--tls-cert-file and --tls-private-key-file must be given together");
        return -1;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, s->bind_address, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)s->port_cfg);
    } else if (inet_pton(AF_INET6, s->bind_address, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)s->port_cfg);
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errlen, "invalid --bind-address %s (want an IP address)", s->bind_address);
        return -1;
    }
    if (s->cert_file != NULL) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            snprintf(err, errlen, "libmicrohttpd was built without TLS support");
            return -1;
        }
        s->cert_pem = read_file(s->cert_file, err, errlen);
        s->key_pem = s->cert_pem ? read_file(s->key_file, err, errlen) : NULL;
        if (s->key_pem == NULL) {
            cs_free(s->cert_pem);
            s->cert_pem = NULL;
            return -1;
        }
        flags |= MHD_USE_TLS;
        s->daemon = MHD_start_daemon(flags, (uint16_t)s->port_cfg, NULL, NULL, handle, s,
                                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                     MHD_OPTION_HTTPS_MEM_CERT, s->cert_pem,
                                     MHD_OPTION_HTTPS_MEM_KEY, s->key_pem,
                                     MHD_OPTION_END);
    } else {
        s->daemon = MHD_start_daemon(flags, (uint16_t)s->port_cfg, NULL, NULL, handle, s,
                                     MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                     MHD_OPTION_END);
    }
    if (s->daemon == NULL) {
        snprintf(err, errlen, "cannot serve on %s:%d (address in use, or bad TLS material)",
                 s->bind_address, s->port_cfg);
        cs_free(s->cert_pem);
        cs_free(s->key_pem);
        s->cert_pem = s->key_pem = NULL;
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? (int)info->port : s->port_cfg;
    s->tls = s->cert_file != NULL;
    CS_INFO_S("Serving health and metrics", CS_KV("address", s->bind_address),
              CS_KVI("port", s->port), CS_KV("scheme", s->tls ? "https" : "http"));
    return 0;
}

int cs_server_port(const struct cs_server *s)
{
    return (s && s->daemon) ? s->port : -1;
}

int cs_server_is_tls(const struct cs_server *s)
{
    return (s && s->daemon) ? s->tls : 0;
}

void cs_server_stop(struct cs_server *s)
{
    if (s == NULL || s->daemon == NULL) {
        return;
    }
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    s->port = -1;
    cs_free(s->cert_pem);
    cs_free(s->key_pem);
    s->cert_pem = s->key_pem = NULL;
}

void cs_server_free(struct cs_server *s)
{
    if (s == NULL) {
        return;
    }
    cs_server_stop(s);
    for (size_t i = 0; i < s->nchecks; i++) {
        cs_free(s->checks[i].name);
    }
    cs_free(s->checks);
    cs_free(s->configz);
    cs_free(s->bind_address);
    cs_free(s->cert_file);
    cs_free(s->key_file);
    pthread_mutex_destroy(&s->mu);
    cs_free(s);
}
