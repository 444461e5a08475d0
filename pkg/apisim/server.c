/*
 * apisim HTTP plumbing: libmicrohttpd daemon setup, request body accumulation with a size
 * limit, authentication, content negotiation, dispatch to discovery / admin / resource
 * handlers, and the ticker thread (graceful deletions, watch bookmarks and timeouts).
 *
 * Every API request runs on the single MHD polling thread and holds the store lock only
 * while its handler runs. Watch streams are MHD callback responses that suspend their
 * connection when idle; store writes and the ticker resume them (see watch.c).
 */
#include "pkg/apisim/server.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "api/pbjson.h"
#include "pkg/apisim/http.h"
#include "pkg/apisim/sim.h"
#include "pkg/apisim/tls.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"
#include "pkg/util/yaml.h"

struct conn_req {
    struct cs_buf body;
    int too_big;
};

const char *cs_apisim_query(const struct cs_apisim_req *q, const char *key)
{
    return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *cs_apisim_header(const struct cs_apisim_req *q, const char *key)
{
    return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, key);
}

/* --- negotiation ----------------------------------------------------------------------------- */

/* 1 if the Accept header allows a JSON (or YAML) answer. */
static int accept_ok(const char *accept)
{
    if (!accept || !accept[0])
        return 1;
    return strstr(accept, "application/json") || strstr(accept, "*/*") ||
           strstr(accept, "application/*") || strstr(accept, "application/yaml");
}

static int is_yaml_only(const char *accept)
{
    return accept && strstr(accept, "application/yaml") && !strstr(accept, "application/json");
}

/* --- responses ------------------------------------------------------------------------------- */

/* A JSON reply re-encoded as protobuf when the client prefers it and the schema knows the kind
 * (api/pbjson.h); anything else stays JSON, which such a client accepts as its fallback. */
static int to_protobuf(struct cs_apisim_reply *r)
{
    json_t *j = json_loadb(r->body.data, r->body.len, 0, NULL);
    const char *av = json_string_value(json_object_get(j, "apiVersion"));
    const char *kind = json_string_value(json_object_get(j, "kind"));
    struct cs_buf pb;
    cs_buf_init(&pb);
    char err[256];
    int ok = av && kind && cs_pb_known(av, kind) &&
             cs_pb_encode_object(j, &pb, err, sizeof(err)) == 0;
    if (ok) {
        cs_buf_free(&r->body);
        r->body = pb;
        r->ctype = CS_PB_MEDIA;
    } else {
        cs_buf_free(&pb);
    }
    json_decref(j);
    return ok;
}

static void maybe_protobuf(struct cs_apisim_reply *r)
{
    if (!r->want_pb || r->body.len == 0 || (r->ctype && strcmp(r->ctype, "application/json")))
        return;
    if (!to_protobuf(r) && r->pb_only) {
        /* a kind without protobuf (custom resources) for a client that takes nothing else */
        cs_apisim_reply_status(r, 406, "NotAcceptable",
                               "only the following media types are accepted: application/json, "
                               "application/yaml, application/vnd.kubernetes.protobuf",
                               NULL, NULL);
        to_protobuf(r);
    }
}

static enum MHD_Result queue_reply(struct MHD_Connection *conn, struct cs_apisim_reply *r)
{
    maybe_protobuf(r);
    size_t len = r->body.len;
    char *data = cs_buf_steal(&r->body);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, data, free);
    MHD_add_response_header(resp, "Content-Type", r->ctype ? r->ctype : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    if (r->retry_after_s > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", r->retry_after_s);
        MHD_add_response_header(resp, "Retry-After", ra);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->code, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* --- request handling ------------------------------------------------------------------------ */

static int is_health(const char *url)
{
    return !strcmp(url, "/healthz") || !strcmp(url, "/livez") || !strcmp(url, "/readyz");
}

static const char *verb_of(const char *method, const struct cs_apisim_req *q, int watch)
{
    if (!strcmp(method, "GET"))
        return watch ? "watch" : (q->name ? "get" : "list");
    if (!strcmp(method, "POST"))
        return "create";
    if (!strcmp(method, "PUT"))
        return "update";
    if (!strcmp(method, "PATCH"))
        return "patch";
    if (!strcmp(method, "DELETE"))
        return "delete";
    return "unknown";
}

static void handle(struct cs_apisim_server *sv, struct MHD_Connection *conn, const char *url,
                   const char *method, struct conn_req *cr, struct cs_apisim_reply *r)
{
    struct cs_apisim_req q;
    memset(&q, 0, sizeof(q));
    q.method = method;
    q.path = url;
    q.conn = conn;
    q.body = cr->body.data ? cr->body.data : "";
    q.body_len = cr->body.len;

    if (sv->token && !is_health(url)) {
        const char *auth = cs_apisim_header(&q, "Authorization");
        if (!auth || strncmp(auth, "Bearer ", 7) || strcmp(auth + 7, sv->token)) {
            cs_apisim_reply_status(r, 401, "Unauthorized", "Unauthorized", NULL, NULL);
            return;
        }
    }
    if (cr->too_big) {
        char msg[96];
        snprintf(msg, sizeof(msg), "Request entity too large: limit is %u", CS_APISIM_MAX_BODY);
        cs_apisim_reply_status(r, 413, "RequestEntityTooLarge", msg, NULL, NULL);
        return;
    }
    const char *accept = cs_apisim_header(&q, "Accept");
    r->want_pb = accept && !strncmp(accept, CS_PB_MEDIA, strlen(CS_PB_MEDIA));
    r->pb_only = r->want_pb && !accept_ok(accept);
    if (!strcmp(url, "/openapi/v2") && accept && strstr(accept, "protobuf")) {
        /*
         * A minimal OpenAPI v2 document (gnostic protobuf: swagger "2.0", info, empty paths)
         * with no definitions: kubectl finds no schema for any kind and skips client-side
         * validation, so `kubectl create/apply -f` work without --validate=false. /openapi/v3
         * answers 404, from which kubectl falls back to this legacy document.
         */
        static const char doc[] = "\x0a\x03" "2.0" "\x12\x15\x0a\x0a" "Kubernetes"
                                  "\x12\x07" "v1.37.2" "\x42\x00";
        r->ctype = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
        cs_buf_append(&r->body, doc, sizeof(doc) - 1);
        return;
    }
    if (!strncmp(url, "/openapi/", 9)) {
        cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested "
                               "resource", NULL, NULL);
        return;
    }
    if (!accept_ok(accept) && !r->pb_only) {
        cs_apisim_reply_status(r, 406, "NotAcceptable",
                               "only the following media types are accepted: application/json, "
                               "application/yaml, application/json;stream=watch", NULL, NULL);
        return;
    }
    if (is_yaml_only(accept))
        r->ctype = "application/yaml";
    if (!strncmp(url, "/apisim/", 8)) {
        int code = 404;
        char *body = NULL;
        size_t len = 0;
        cs_apisim_sim_admin(sv->sim, method, url, q.body, q.body_len, &code, &body, &len);
        if (body) {
            r->code = code;
            cs_buf_append(&r->body, body, len);
            cs_free(body);
        } else {
            cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested "
                                   "resource", NULL, NULL);
        }
        return;
    }
    if (is_health(url)) {
        r->ctype = "text/plain";
        cs_buf_puts(&r->body, "ok");
        return;
    }
    cs_apisim_store_lock(sv->store);
    if (cs_apisim_discovery(sv, url, r)) {
        cs_apisim_store_unlock(sv->store);
        return;
    }
    if (cs_apisim_route(&q, url) != 0) {
        cs_apisim_store_unlock(sv->store);
        cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested "
                               "resource", NULL, NULL);
        return;
    }
    if (accept && strstr(accept, "as=Table"))
        q.as_table = 1;
    const char *w = cs_apisim_query(&q, "watch");
    int watch = w && (!strcmp(w, "true") || !strcmp(w, "1"));
    struct cs_apisim_fault_decision d;
    memset(&d, 0, sizeof(d));
    if (sv->sim)
        cs_apisim_fault_on_request(cs_apisim_sim_fault(sv->sim), verb_of(method, &q, watch),
                                   q.resource, q.sub, &d);
    if (d.code) {
        cs_apisim_store_unlock(sv->store);
        if (d.delay_us > 0)
            usleep((useconds_t)d.delay_us);
        cs_apisim_reply_status(r, d.code, d.reason, d.message, q.name, q.resource);
        r->retry_after_s = d.retry_after_s;
        return;
    }
    cs_apisim_handle_resource(sv, &q, r);
    cs_apisim_store_unlock(sv->store);
    if (d.delay_us > 0)
        usleep((useconds_t)d.delay_us);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    struct cs_apisim_server *sv = cls;
    struct conn_req *cr = *con_cls;
    (void)version;
    if (!cr) {
        cr = cs_calloc(1, sizeof(*cr));
        cs_buf_init(&cr->body);
        *con_cls = cr;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!cr->too_big && cr->body.len + *upload_data_size <= CS_APISIM_MAX_BODY)
            cs_buf_append(&cr->body, upload_data, *upload_data_size);
        else
            cr->too_big = 1;
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct cs_apisim_reply r;
    cs_apisim_reply_init(&r);
    handle(sv, conn, url, method, cr, &r);
    enum MHD_Result ret;
    if (r.watch)
        ret = (enum MHD_Result)cs_apisim_watch_queue(sv, conn, r.watch);
    else
        ret = queue_reply(conn, &r);
    if (CS_V(6))
        CS_INFO_S("request", CS_KV("verb", method), CS_KV("url", url), CS_KVI("code", r.code));
    cs_apisim_reply_free(&r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_req *cr = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;
    if (cr) {
        cs_buf_free(&cr->body);
        cs_free(cr);
        *con_cls = NULL;
    }
}

/* --- ticker ---------------------------------------------------------------------------------- */

static void *ticker_main(void *arg)
{
    struct cs_apisim_server *sv = arg;
    pthread_mutex_lock(&sv->tick_mu);
    while (!sv->ticker_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&sv->tick_cv, &sv->tick_mu, &ts);
        if (sv->ticker_stop)
            break;
        pthread_mutex_unlock(&sv->tick_mu);
        cs_apisim_store_lock(sv->store);
        cs_apisim_store_tick(sv->store, cs_mono_ns());
        cs_apisim_watch_wake_all(sv);
        cs_apisim_store_unlock(sv->store);
        pthread_mutex_lock(&sv->tick_mu);
    }
    pthread_mutex_unlock(&sv->tick_mu);
    return NULL;
}

/* --- lifecycle ------------------------------------------------------------------------------- */

void cs_apisim_server_prepare_store(struct cs_apisim_store *st)
{
    struct cs_apisim_server tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.store = st;
    cs_apisim_store_lock(st);
    if (!cs_apisim_store_rtype(st, "", "pods"))
        cs_apisim_builtin_register(&tmp);
    cs_apisim_store_unlock(st);
}

struct cs_apisim_server *cs_apisim_server_start(struct cs_apisim_store *st,
                                                const struct cs_apisim_server_opts *o,
                                                char *err, size_t errlen)
{
    struct cs_apisim_server *sv = cs_calloc(1, sizeof(*sv));
    sv->store = st;
    sv->token = o->token;
    sv->tls = o->tls;
    pthread_mutex_init(&sv->tick_mu, NULL);
    pthread_cond_init(&sv->tick_cv, NULL);
    cs_apisim_server_prepare_store(st);
    cs_apisim_store_lock(st);
    sv->crd_rt = cs_apisim_store_rtype(st, "apiextensions.k8s.io", "customresourcedefinitions");
    sv->ns_rt = cs_apisim_store_rtype(st, "", "namespaces");
    sv->pod_rt = cs_apisim_store_rtype(st, "", "pods");
    sv->event_rt = cs_apisim_store_rtype(st, "", "events");
    sv->pc_rt = cs_apisim_store_rtype(st, "scheduling.k8s.io", "priorityclasses");
    cs_apisim_store_add_hook(st, cs_apisim_watch_hook, sv);
    cs_apisim_store_add_hook(st, cs_apisim_crd_hook, sv);
    /* CRDs loaded before the hook was installed (e.g. from --cluster) */
    {
        size_t it = 0;
        const json_t *crd;
        json_t *all = json_array();
        while (cs_apisim_store_next(st, sv->crd_rt, &it, &crd))
            json_array_append(all, (json_t *)crd);
        size_t i;
        json_t *c;
        json_array_foreach(all, i, c)
            cs_apisim_crd_hook(sv, st, sv->crd_rt, CS_APISIM_ADDED, NULL, c, 0);
        json_decref(all);
    }
    cs_apisim_store_unlock(st);

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host ? o->host : "127.0.0.1", &addr.sin_addr) != 1) {
        snprintf(err, errlen, "--listen: bad IPv4 address %s", o->host ? o->host : "");
        goto fail;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_TURBO;
    if (o->tls) {
        if (cs_apisim_tls_generate(&sv->ca_pem, &sv->cert_pem, &sv->key_pem, err, errlen))
            goto fail;
        flags |= MHD_USE_TLS;
        sv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, sv,
                                      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                      MHD_OPTION_NOTIFY_COMPLETED, on_completed, sv,
                                      MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                                      MHD_OPTION_CONNECTION_LIMIT, 10000u,
                                      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
                                      MHD_OPTION_HTTPS_MEM_KEY, sv->key_pem,
                                      MHD_OPTION_HTTPS_MEM_CERT, sv->cert_pem,
                                      MHD_OPTION_END);
    } else {
        sv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, sv,
                                      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                                      MHD_OPTION_NOTIFY_COMPLETED, on_completed, sv,
                                      MHD_OPTION_CONNECTION_TIMEOUT, 0u,
                                      MHD_OPTION_CONNECTION_LIMIT, 10000u,
                                      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32 * 1024,
                                      MHD_OPTION_END);
    }
    if (!sv->daemon) {
        snprintf(err, errlen, "cannot listen on %s:%d", o->host ? o->host : "", o->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(sv->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    sv->port = info ? info->port : o->port;
    if (pthread_create(&sv->ticker, NULL, ticker_main, sv) == 0)
        sv->ticker_started = 1;
    return sv;
fail:
    cs_apisim_server_stop(sv);
    return NULL;
}

void cs_apisim_server_set_sim(struct cs_apisim_server *sv, struct cs_apisim_sim *sim)
{
    cs_apisim_store_lock(sv->store);
    sv->sim = sim;
    cs_apisim_store_unlock(sv->store);
}

int cs_apisim_server_port(const struct cs_apisim_server *sv)
{
    return sv->port;
}

const char *cs_apisim_server_ca_pem(const struct cs_apisim_server *sv)
{
    return sv->ca_pem;
}

int cs_apisim_server_write_kubeconfig(const struct cs_apisim_server *sv, const char *path,
                                      char *err, size_t errlen)
{
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_printf(&b, "apiVersion: v1\nkind: Config\nclusters:\n- name: apisim\n  cluster:\n"
                      "    server: %s://127.0.0.1:%d\n", sv->tls ? "https" : "http", sv->port);
    if (sv->tls) {
        cs_buf_puts(&b, "    certificate-authority-data: ");
        cs_apisim_tls_base64(sv->ca_pem, strlen(sv->ca_pem), &b);
        cs_buf_putc(&b, '\n');
    }
    cs_buf_puts(&b, "users:\n- name: apisim\n  user:");
    if (sv->token) {
        cs_buf_puts(&b, "\n    token: ");
        cs_buf_json_str(&b, sv->token);
        cs_buf_putc(&b, '\n');
    } else {
        cs_buf_puts(&b, " {}\n");
    }
    cs_buf_puts(&b, "contexts:\n- name: apisim\n  context:\n    cluster: apisim\n"
                    "    user: apisim\n    namespace: default\ncurrent-context: apisim\n");
    int rc = 0;
    FILE *f = fopen(path, "w");
    if (!f || fwrite(b.data, 1, b.len, f) != b.len) {
        snprintf(err, errlen, "--kubeconfig-out: cannot write %s", path);
        rc = -1;
    }
    if (f && fclose(f) != 0 && rc == 0) {
        snprintf(err, errlen, "--kubeconfig-out: cannot write %s", path);
        rc = -1;
    }
    cs_buf_free(&b);
    return rc;
}

void cs_apisim_server_stop(struct cs_apisim_server *sv)
{
    if (!sv)
        return;
    if (sv->ticker_started) {
        pthread_mutex_lock(&sv->tick_mu);
        sv->ticker_stop = 1;
        pthread_cond_signal(&sv->tick_cv);
        pthread_mutex_unlock(&sv->tick_mu);
        pthread_join(sv->ticker, NULL);
    }
    if (sv->daemon) {
        cs_apisim_store_lock(sv->store);
        sv->stopping = 1;
        cs_apisim_watch_wake_all(sv);
        cs_apisim_store_unlock(sv->store);
        /* let the resumed watch streams end before the daemon goes away */
        for (int i = 0; i < 50; i++) {
            cs_apisim_store_lock(sv->store);
            size_t n = sv->nwatches;
            cs_apisim_watch_wake_all(sv);
            cs_apisim_store_unlock(sv->store);
            if (!n)
                break;
            usleep(10000);
        }
        MHD_stop_daemon(sv->daemon);
    }
    if (sv->store) {
        cs_apisim_store_lock(sv->store);
        cs_apisim_store_remove_hook(sv->store, cs_apisim_watch_hook, sv);
        cs_apisim_store_remove_hook(sv->store, cs_apisim_crd_hook, sv);
        cs_apisim_watch_close_all(sv);
        cs_apisim_store_unlock(sv->store);
    }
    pthread_mutex_destroy(&sv->tick_mu);
    pthread_cond_destroy(&sv->tick_cv);
    cs_free(sv->ca_pem);
    cs_free(sv->cert_pem);
    cs_free(sv->key_pem);
    cs_free(sv);
}
