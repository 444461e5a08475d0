#ifndef CS_PKG_APISIM_HTTP_H
#define CS_PKG_APISIM_HTTP_H
/*
 * Internal interfaces of apisim's HTTP layer: the parsed request, the reply being built, the
 * server context, and the handler entry points implemented in separate files (resources,
 * watch, pods, discovery, tables, events view, CRDs).
 *
 * Ownership: a request and its reply belong to one HTTP exchange. The server context owns the
 * store pointer (not the store), the watch list and the TLS material.
 * Thread context: handlers run on the MHD polling thread with the store lock held, unless
 * stated otherwise.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg/apisim/fieldsel.h"
#include "pkg/apisim/store.h"
#include "pkg/util/buf.h"
#include "pkg/util/selector.h"

struct MHD_Connection;
struct cs_apisim_sim;
struct cs_apisim_watch;

#define CS_APISIM_MAX_BODY (3u * 1024u * 1024u)

/* A routed API request. Strings point into the request (valid for the exchange). */
struct cs_apisim_req {
    const char *method;
    const char *path;
    struct MHD_Connection *conn;
    const char *body;
    size_t body_len;
    /* routing result */
    const char *group;       /* "" core */
    const char *version;
    const char *ns;          /* NULL when not namespaced */
    const char *resource;
    const char *name;        /* NULL for collections */
    const char *sub;         /* subresource or NULL */
    struct cs_apisim_rtype *rt;       /* the served type (view) */
    struct cs_apisim_rtype *store_rt; /* where objects live (differs for events.k8s.io) */
    int as_table;            /* Accept asks for meta.k8s.io Table */
    int want_yaml;           /* Accept application/yaml */
    char segbuf[1024];       /* storage for the split path */
};

struct cs_apisim_reply {
    int code;
    const char *ctype;       /* default application/json */
    int want_pb;             /* the client prefers protobuf: built-in kinds are sent as such */
    int pb_only;             /* ... and accepts nothing else: other kinds get 406 */
    struct cs_buf body;
    int retry_after_s;
    struct cs_apisim_watch *watch; /* set: stream this watch instead of body */
};

struct cs_apisim_server {
    struct cs_apisim_store *store;
    struct cs_apisim_sim *sim;     /* may be NULL */
    struct MHD_Daemon *daemon;
    const char *token;             /* required bearer token or NULL */
    int port;
    int tls;
    char *cert_pem, *key_pem, *ca_pem;
    /* watches (guarded by the store lock) */
    struct cs_apisim_watch *watches;
    size_t nwatches;
    int stopping;
    /* ticker thread */
    pthread_t ticker;
    int ticker_started;
    int ticker_stop;
    pthread_mutex_t tick_mu;
    pthread_cond_t tick_cv;
    struct cs_apisim_rtype *crd_rt, *ns_rt, *pod_rt, *event_rt, *pc_rt;
};

/* --- replies (reply.c) --------------------------------------------------------------------- */
void cs_apisim_reply_init(struct cs_apisim_reply *r);
void cs_apisim_reply_free(struct cs_apisim_reply *r);
/* Answer a metav1.Status failure. kind/name fill details when non-NULL. */
void cs_apisim_reply_status(struct cs_apisim_reply *r, int code, const char *reason,
                            const char *message, const char *name, const char *kind);
void cs_apisim_reply_st(struct cs_apisim_reply *r, const struct cs_apisim_status *st,
                        const char *name, const char *kind);
/* Answer with JSON text / a JSON value (serialized; honours want_yaml). */
void cs_apisim_reply_text(struct cs_apisim_reply *r, int code, const char *json, size_t len);
void cs_apisim_reply_json(struct cs_apisim_reply *r, int code, const json_t *j);
/* Append a Status object to a buffer. */
void cs_apisim_status_json(struct cs_buf *b, int code, const char *reason, const char *message,
                           const char *name, const char *kind);

/* --- routing and dispatch (server.c / resources.c) ----------------------------------------- */
/* Split the path; returns 0 for /api... and /apis... resource paths (rt lookup done by caller). */
int cs_apisim_route(struct cs_apisim_req *q, const char *path);
void cs_apisim_handle_resource(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                               struct cs_apisim_reply *r);
const char *cs_apisim_query(const struct cs_apisim_req *q, const char *key);
const char *cs_apisim_header(const struct cs_apisim_req *q, const char *key);

/* Label + field selector of a list or watch (resources.c). */
struct cs_apisim_match {
    struct cs_selector *labels;
    struct cs_apisim_fieldsel fields;
};
/* Parse labelSelector/fieldSelector of q; -1 with a 400 reply on error. */
int cs_apisim_match_init(struct cs_apisim_req *q, struct cs_apisim_reply *r,
                         struct cs_apisim_match *m);
/* cs_apisim_match_fn-compatible: arg is a struct cs_apisim_match *. */
int cs_apisim_match_obj(const json_t *obj, void *arg);
void cs_apisim_match_free(struct cs_apisim_match *m);

/* --- discovery (discovery.c) --------------------------------------------------------------- */
/* Returns 1 when the path was a discovery or info path and the reply is filled. */
int cs_apisim_discovery(struct cs_apisim_server *sv, const char *path,
                        struct cs_apisim_reply *r);

/* --- built-in types and admission (builtin.c, pods.c, events_view.c, crd.c) ---------------- */
void cs_apisim_builtin_register(struct cs_apisim_server *sv);
/* Admission for a create or update of obj (view form already converted to storage form).
 * Returns 0 or an HTTP code with st filled. old is NULL on create. */
int cs_apisim_admit(struct cs_apisim_server *sv, const struct cs_apisim_rtype *rt,
                    const char *ns, json_t *obj, const json_t *old, struct cs_apisim_status *st);
int cs_apisim_pod_admit(struct cs_apisim_server *sv, const char *ns, json_t *obj,
                        const json_t *old, struct cs_apisim_status *st);
int cs_apisim_crd_admit(struct cs_apisim_server *sv, json_t *obj, const json_t *old,
                        struct cs_apisim_status *st);
void cs_apisim_pod_binding(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                           struct cs_apisim_reply *r);
void cs_apisim_pod_eviction(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                            struct cs_apisim_reply *r);
/* events.k8s.io/v1 <-> core/v1 Event. Both return new references. */
json_t *cs_apisim_event_to_core(const json_t *ev);
json_t *cs_apisim_event_from_core(const json_t *core);
/* Convert a stored object to the view of rt/version (new reference). */
json_t *cs_apisim_to_view(const struct cs_apisim_req *q, const json_t *stored);
/* Start (or update) serving the custom type a stored CRD describes. */
void cs_apisim_crd_serve(struct cs_apisim_store *s, const json_t *crd);
/* CRD write hook: (un)registers served custom types. */
void cs_apisim_crd_hook(void *arg, struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                        int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv);

/* --- tables (table.c) ---------------------------------------------------------------------- */
/* Append a meta.k8s.io/v1 Table for objs (stored form) to b. */
void cs_apisim_table(const struct cs_apisim_req *q, const json_t *const *objs, size_t n,
                     const char *rv, const char *cont, int with_columns, struct cs_buf *b);

/* --- watch (watch.c) ----------------------------------------------------------------------- */
void cs_apisim_watch_start(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                           struct cs_apisim_reply *r);
/* Store hook: wakes watchers. */
void cs_apisim_watch_hook(void *arg, struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                          int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv);
/* Wake every suspended watcher (ticker; lock held). */
void cs_apisim_watch_wake_all(struct cs_apisim_server *sv);
/* Queue the MHD response for a watch reply; returns the MHD result. */
int cs_apisim_watch_queue(struct cs_apisim_server *sv, struct MHD_Connection *conn,
                          struct cs_apisim_watch *w);
/* Close all watches (shutdown). */
void cs_apisim_watch_close_all(struct cs_apisim_server *sv);

#endif
