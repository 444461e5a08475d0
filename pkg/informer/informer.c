/*
 * Informer state machine (reflector). Everything below the public functions runs on the
 * client's I/O thread: LIST pages arrive as request callbacks, watch lines as stream lines,
 * retries as client timers. The store (store.c) decides what each datum means; this file only
 * sequences list -> watch -> (re-watch | relist | back off).
 *
 * Each list or watch carries the informer's generation at the time it was issued; stop bumps
 * the generation, so late callbacks of an old generation only release their reference. The
 * informer's memory is released when it is freed and no request or stream still refers to it.
 */
#include "pkg/informer/informer.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "api/pbjson.h"
#include "pkg/client/client.h"
#include "pkg/client/support.h"
#include "pkg/informer/store.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

struct cs_informer {
    struct cs_client *c;
    char *path, *label_sel, *field_sel, *name;
    int page_size, wt_min, wt_max, bo_initial, bo_max;
    struct cs_informer_handlers h;
    struct cs_pb_proj *peek_proj; /* opts.peek_fields, when handlers.peek is set */

    /* I/O thread */
    struct cs_inf_store store;
    struct cs_inf_sink sink;
    char *last_rv;
    char *list_rv;               /* RV of the list in progress */
    int list_is_first;
    struct cs_client_stream *stream;
    uint64_t gen;
    uint64_t timer_id;
    struct op *timer_op;
    int backoff_attempt;
    int watch_relist;            /* the watch reported 410: relist when it ends */
    int watch_events;            /* events in the current watch */
    int watch_progress;          /* the current watch delivered an object event or bookmark */
    int consec_410;              /* 410s since the last watch progress */
    int need_relist;             /* the pending backoff timer must relist */
    int64_t watch_start_ns;
    int short_watches;
    int refs;                    /* outstanding requests/streams + 1 for the owner */
    int started, stopped, freeing;
    uint64_t rng;

    int synced;                  /* atomic */
    int sync_on_404;             /* opts: a missing resource counts as an empty, synced list */
    int logged_404;
    int watch_list;              /* opts: try a streaming list (sendInitialEvents) first */
    int wl_refused;              /* the server refused it: paginated lists from now on */
    int wl_initial;              /* the current watch is a streaming list before its end mark */
    int json_only;               /* protobuf was refused or undecodable here: JSON from now on */
    int logged_media;            /* the media type in use was logged */
    struct cs_informer_stats st; /* atomic fields */

    pthread_mutex_t mu;          /* stop handshake */
    pthread_cond_t cv;
    int stop_acked;
};

struct op {
    struct cs_informer *inf;
    uint64_t gen;
};

#define STAT_INC(inf, f) __atomic_add_fetch(&(inf)->st.f, 1, __ATOMIC_RELAXED)

static void begin_list(struct cs_informer *inf);
static void begin_watch(struct cs_informer *inf);
static void backoff(struct cs_informer *inf);

/* ---- lifetime ------------------------------------------------------------------------------- */

static void inf_destroy(struct cs_informer *inf)
{
    cs_inf_store_free(&inf->store);
    cs_pb_proj_free(inf->peek_proj);
    cs_free(inf->path);
    cs_free(inf->label_sel);
    cs_free(inf->field_sel);
    cs_free(inf->name);
    cs_free(inf->last_rv);
    cs_free(inf->list_rv);
    pthread_mutex_destroy(&inf->mu);
    pthread_cond_destroy(&inf->cv);
    cs_free(inf);
}

static void inf_ref(struct cs_informer *inf)
{
    __atomic_add_fetch(&inf->refs, 1, __ATOMIC_ACQ_REL);
}

static void inf_unref(struct cs_informer *inf)
{
    if (__atomic_sub_fetch(&inf->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        inf_destroy(inf);
    }
}

static void sink_add(void *arg, json_t *obj)
{
    struct cs_informer *inf = arg;
    if (inf->h.on_add) {
        inf->h.on_add(inf->h.arg, obj);
    }
}

static void sink_update(void *arg, json_t *old, json_t *obj)
{
    struct cs_informer *inf = arg;
    if (inf->h.on_update) {
        inf->h.on_update(inf->h.arg, old, obj);
    }
}

static void sink_del(void *arg, json_t *obj)
{
    struct cs_informer *inf = arg;
    if (inf->h.on_delete) {
        inf->h.on_delete(inf->h.arg, obj);
    }
}

struct cs_informer *cs_informer_new(struct cs_client *c, const struct cs_informer_opts *o,
                                    char *err, size_t errlen)
{
    if (!c || !o || !o->path || o->path[0] != '/' || strchr(o->path, '?')) {
        snprintf(err, errlen, "informer: path must start with '/' and carry no query (got %s)",
                 o && o->path ? o->path : "(null)");
        return NULL;
    }
    struct cs_pb_proj *peek_proj = NULL;
    if (o->handlers.peek) {
        peek_proj = o->keep_objects ? NULL : cs_pb_proj_new(o->peek_fields);
        if (peek_proj == NULL || peek_proj->n == 0) {
            snprintf(err, errlen, "informer %s: a peek handler needs peek_fields (valid JSON "
                     "paths) and no keep_objects", o->path);
            cs_pb_proj_free(peek_proj);
            return NULL;
        }
    }
    struct cs_informer *inf = cs_calloc(1, sizeof(*inf));
    inf->peek_proj = peek_proj;
    inf->c = c;
    inf->path = cs_strdup(o->path);
    inf->label_sel = o->label_selector && *o->label_selector ? cs_strdup(o->label_selector) : NULL;
    inf->field_sel = o->field_selector && *o->field_selector ? cs_strdup(o->field_selector) : NULL;
    inf->name = cs_strdup(o->name ? o->name : o->path);
    inf->page_size = o->page_size > 0 ? o->page_size : 500;
    inf->wt_min = o->watch_timeout_min_s > 0 ? o->watch_timeout_min_s : 300;
    inf->wt_max = o->watch_timeout_max_s >= inf->wt_min ? o->watch_timeout_max_s : 2 * inf->wt_min;
    inf->bo_initial = o->backoff_initial_ms > 0 ? o->backoff_initial_ms : 800;
    inf->bo_max = o->backoff_max_ms > 0 ? o->backoff_max_ms : 30000;
    inf->h = o->handlers;
    inf->sync_on_404 = o->sync_on_404;
    inf->watch_list = !o->no_watch_list;
    cs_inf_store_init(&inf->store, o->keep_objects);
    inf->sink.add = sink_add;
    inf->sink.update = sink_update;
    inf->sink.del = sink_del;
    inf->sink.arg = inf;
    inf->refs = 1;
    inf->rng = (uint64_t)cs_mono_ns() ^ (uint64_t)(uintptr_t)inf;
    pthread_mutex_init(&inf->mu, NULL);
    pthread_cond_init(&inf->cv, NULL);
    return inf;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static void report_error(struct cs_informer *inf, const char *msg)
{
    STAT_INC(inf, errors);
    CS_WARN_S("Informer error", CS_KV("informer", inf->name), CS_KV("error", msg));
    if (inf->h.on_error) {
        inf->h.on_error(inf->h.arg, msg);
    }
}

static void set_last_rv(struct cs_informer *inf, const char *rv)
{
    if (!rv || !*rv || !cs_rv_newer(rv, inf->last_rv)) {
        return;
    }
    cs_free(inf->last_rv);
    inf->last_rv = cs_strdup(rv);
}

static void append_selectors(struct cs_informer *inf, struct cs_buf *b)
{
    if (inf->label_sel) {
        cs_buf_puts(b, "&labelSelector=");
        cs_buf_url_escape(b, inf->label_sel);
    }
    if (inf->field_sel) {
        cs_buf_puts(b, "&fieldSelector=");
        cs_buf_url_escape(b, inf->field_sel);
    }
}


static struct op *op_new(struct cs_informer *inf)
{
    struct op *o = cs_malloc(sizeof(*o));
    o->inf = inf;
    o->gen = inf->gen;
    inf_ref(inf);
    return o;
}

/* Returns 1 when the op is still current; always consumes the op's reference when stale. */
static int op_current(struct op *o)
{
    struct cs_informer *inf = o->inf;
    if (inf->stopped || o->gen != inf->gen) {
        inf_unref(inf);
        cs_free(o);
        return 0;
    }
    return 1;
}

static void op_done(struct op *o)
{
    struct cs_informer *inf = o->inf;
    cs_free(o);
    inf_unref(inf);
}

static void on_backoff_timer(void *arg)
{
    struct op *o = arg;
    if (!op_current(o)) {
        return;
    }
    struct cs_informer *inf = o->inf;
    int relist = inf->need_relist || inf->list_rv != NULL || !inf->last_rv;
    inf->timer_id = 0;
    inf->timer_op = NULL;
    op_done(o);
    if (relist) {
        begin_list(inf);
    } else {
        begin_watch(inf);
    }
}

/* Retry after a backoff: the list when one was in progress or none finished, else the watch. */
static void backoff(struct cs_informer *inf)
{
    if (inf->stopped) {
        return;
    }
    inf->backoff_attempt++;
    int64_t d = cs_backoff_ms(inf->backoff_attempt, inf->bo_initial, inf->bo_max, 0.5, &inf->rng);
    if (d < inf->bo_initial / 2) {
        d = inf->bo_initial / 2;
    }
    inf->timer_op = op_new(inf);
    inf->timer_id = cs_client_timer_add(inf->c, d, on_backoff_timer, inf->timer_op);
}

/* ---- list ----------------------------------------------------------------------------------- */

static void submit_page(struct cs_informer *inf, const char *cont);
static void on_page(void *arg, const struct cs_client_resp *r);

static void mark_synced(struct cs_informer *inf)
{
    if (!__atomic_load_n(&inf->synced, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&inf->synced, 1, __ATOMIC_RELEASE);
        if (inf->h.on_synced) {
            inf->h.on_synced(inf->h.arg);
        }
    }
}

/* The end of a list (the last page, or a streaming list's end mark): forget what it did not
 * contain, resume watching from its resourceVersion. */
static void list_done(struct cs_informer *inf)
{
    size_t gone = cs_inf_store_list_end(&inf->store, &inf->sink);
    /* The list's RV is where the watch resumes (the list is the newer truth). */
    cs_free(inf->last_rv);
    inf->last_rv = inf->list_rv;
    inf->list_rv = NULL;
    STAT_INC(inf, lists);
    /* backoff_attempt is reset by watch progress, not here: a list that succeeds while every
     * watch fails must not keep the retries at the shortest delay. */
    if (CS_V(2)) {
        CS_INFO_S("Informer listed", CS_KV("informer", inf->name),
                  CS_KVI("objects", cs_inf_store_len(&inf->store)), CS_KVI("deleted", gone),
                  CS_KV("resourceVersion", inf->last_rv));
    }
    inf->logged_404 = 0;
    mark_synced(inf);
}

static void finish_list(struct cs_informer *inf)
{
    list_done(inf);
    if (!inf->stopped) {
        begin_watch(inf);
    }
}

/* Relist after a 410: at once the first time; if 410s keep coming with no watch progress in
 * between (a server that expires every resume), back off between relists. */
static void relist_after_410(struct cs_informer *inf)
{
    STAT_INC(inf, relists_410);
    if (++inf->consec_410 > 1) {
        inf->need_relist = 1;
        backoff(inf);
        return;
    }
    begin_list(inf);
}

/* ---- media types ---------------------------------------------------------------------------- */

/* What to ask for: protobuf first when the client speaks it, JSON as the fallback the server
 * uses for kinds without protobuf (custom resources). Watches negotiate the same way; the
 * server answers with the stream form of the type it picks. */
static const char *accept_of(const struct cs_informer *inf)
{
    if (!inf->json_only && cs_client_protobuf(inf->c)) {
        return CS_PB_MEDIA ", application/json";
    }
    return "application/json";
}

static void log_media(struct cs_informer *inf, int pb)
{
    if (!inf->logged_media) {
        inf->logged_media = 1;
        if (CS_V(2)) {
            CS_INFO_S("Informer media type", CS_KV("informer", inf->name),
                      CS_KV("contentType", pb ? CS_PB_MEDIA : "application/json"),
                      CS_KV("asked", accept_of(inf)));
        }
    }
}

static void json_only(struct cs_informer *inf, const char *why)
{
    int expected = strstr(why, "no protobuf schema") != NULL; /* a kind outside api/proto */
    if (!expected) {
        STAT_INC(inf, errors);
    }
    if (!inf->json_only && !expected) {
        CS_ERROR_S(why, "Cannot decode protobuf; reading this resource as JSON from now on",
                   CS_KV("informer", inf->name), CS_KV("path", inf->path));
    } else if (!inf->json_only && CS_V(2)) {
        CS_INFO_S("Kind outside the protobuf schema; reading it as JSON",
                  CS_KV("informer", inf->name), CS_KV("path", inf->path));
    }
    inf->json_only = 1;
    inf->logged_media = 0;
}

static void page_process(struct cs_informer *inf, const struct cs_client_resp *r)
{
    char msg[512];
    if (r->status == 410) {
        /* An expired continue token: start the list over against the latest snapshot. */
        relist_after_410(inf);
        return;
    }
    if (r->status == 404 && inf->sync_on_404) {
        /* An optional resource that is not served (its CRD is not installed): empty and
         * synced for now; keep asking every few seconds (about 3 s: one cheap GET) so that a
         * CRD installed after the scheduler started is picked up soon. */
        if (!inf->logged_404) {
            inf->logged_404 = 1;
            CS_INFO_S("Resource not served; treated as empty until it is",
                      CS_KV("informer", inf->name), CS_KV("path", inf->path));
        }
        mark_synced(inf);
        inf->backoff_attempt = 3;
        backoff(inf);
        return;
    }
    if (r->status != 200) {
        char body[320];
        snprintf(msg, sizeof(msg), "list %s: %s%ld: %s", inf->path, r->err ? r->err : "HTTP ",
                 r->status, cs_client_resp_text(r, body, sizeof(body)));
        report_error(inf, msg);
        backoff(inf);
        return;
    }
    json_error_t jerr;
    json_t *doc;
    int pb = cs_client_is_protobuf(r->content_type);
    log_media(inf, pb);
    if (pb) {
        doc = cs_pb_decode_object(r->body, r->body_len, jerr.text, sizeof(jerr.text));
        if (doc == NULL) {
            /* Not a kind our schema knows, or a decoding defect: the same data is there as
             * JSON; lose nothing, say why once. */
            json_only(inf, jerr.text);
            begin_list(inf);
            return;
        }
    } else {
        doc = json_loadb(r->body, r->body_len, 0, &jerr);
    }
    json_t *items = json_object_get(doc, "items");
    json_t *md = json_object_get(doc, "metadata");
    const char *rv = json_string_value(json_object_get(md, "resourceVersion"));
    if (!doc || !json_is_object(doc) || (items && !json_is_array(items) && !json_is_null(items))) {
        snprintf(msg, sizeof(msg), "list %s: bad response: %s", inf->path,
                 doc ? "items is not an array" : jerr.text);
        json_decref(doc);
        report_error(inf, msg);
        backoff(inf);
        return;
    }
    STAT_INC(inf, list_pages);
    if (!inf->list_rv && rv) {
        inf->list_rv = cs_strdup(rv);
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        if (inf->stopped) {
            break;
        }
        if (cs_inf_store_list_item(&inf->store, it, &inf->sink) == CS_INF_INVALID) {
            snprintf(msg, sizeof(msg), "list %s: item %zu has no metadata.name", inf->path, i);
            report_error(inf, msg);
        }
    }
    const char *cont = json_string_value(json_object_get(md, "continue"));
    if (inf->stopped) {
        json_decref(doc);
        return;
    }
    if (cont && *cont) {
        submit_page(inf, cont);
    } else {
        if (!inf->list_rv) {
            inf->list_rv = cs_strdup("");
        }
        finish_list(inf);
    }
    json_decref(doc);
}

static void on_page(void *arg, const struct cs_client_resp *r)
{
    struct op *o = arg;
    if (!op_current(o)) {
        return;
    }
    /* The op's reference keeps the informer alive even if a handler frees it meanwhile. */
    page_process(o->inf, r);
    op_done(o);
}

static void submit_page(struct cs_informer *inf, const char *cont)
{
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_printf(&b, "%s?limit=%d", inf->path, inf->page_size);
    if (cont) {
        cs_buf_puts(&b, "&continue=");
        cs_buf_url_escape(&b, cont);
    }
    append_selectors(inf, &b);
    struct cs_client_req req = {
        .method = "GET",
        .path = b.data,
        .accept = accept_of(inf),
        .cb = on_page,
        .arg = op_new(inf),
        .retry = CS_CLIENT_RETRY_DEFAULT,
        .max_attempts = 3,
        .timeout_ms = 300000,
    };
    if (cs_client_submit(inf->c, &req) < 0) {
        /* The client is stopping; nothing will call back. */
        op_done(req.arg);
    }
    cs_buf_free(&b);
}

static void open_watch(struct cs_informer *inf, int initial);

/* A (re)list: as a streaming list (one watch that starts with the current state, then an
 * annotated bookmark, then goes on as the watch: what kube-scheduler 1.37's reflectors do,
 * cheaper for the server than pages of a large collection), or as pages when the server
 * refuses that. */
static void begin_list(struct cs_informer *inf)
{
    if (inf->stopped) {
        return;
    }
    cs_free(inf->list_rv);
    inf->list_rv = NULL;
    inf->need_relist = 0;
    cs_inf_store_list_begin(&inf->store);
    if (inf->watch_list && !inf->wl_refused) {
        open_watch(inf, 1);
    } else {
        submit_page(inf, NULL);
    }
}

/* ---- watch ---------------------------------------------------------------------------------- */

static void on_event(struct op *o, const char *type, json_t *obj, const char *why);

static void on_line(void *arg, const char *line, size_t len)
{
    struct op *o = arg;
    struct cs_informer *inf = o->inf;
    if (inf->stopped || o->gen != inf->gen) {
        return;
    }
    json_error_t jerr;
    json_t *ev = json_loadb(line, len, 0, &jerr);
    on_event(o, json_string_value(json_object_get(ev, "type")), json_object_get(ev, "object"),
             ev ? "missing type or object" : jerr.text);
    json_decref(ev);
}

/* A watch event took effect (or was a bookmark): the watch is making progress. */
static void watch_advanced(struct cs_informer *inf, const char *rv)
{
    set_last_rv(inf, rv);
    inf->backoff_attempt = 0;
    inf->watch_progress = 1;
    inf->consec_410 = 0;
}

static const char *rv_of(json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                             "resourceVersion"));
}

/* A MODIFIED protobuf event offered to handlers.peek as its peek_fields alone; 1 when peek took
 * it (recorded here), 0 when it must be decoded whole (an undecodable one included: the whole
 * decode reports it). */
static int peek_update(struct cs_informer *inf, const void *raw, size_t len)
{
    char err[256];
    json_t *part = cs_pb_decode_object_proj(raw, len, inf->peek_proj, err, sizeof(err));
    struct cs_inf_entry *e = part ? cs_inf_store_newer(&inf->store, part) : NULL;
    int took = e && inf->h.peek(inf->h.arg, part);
    if (took) {
        cs_inf_store_record(&inf->store, e, part);
        inf->watch_events++;
        STAT_INC(inf, events);
        watch_advanced(inf, rv_of(part));
    }
    json_decref(part);
    return took;
}

static void on_frame(void *arg, const char *frame, size_t len)
{
    struct op *o = arg;
    struct cs_informer *inf = o->inf;
    if (inf->stopped || o->gen != inf->gen) {
        return;
    }
    if (!inf->logged_media) {
        log_media(inf, 1);
    }
    char err[256], type[32] = "";
    const char *tp;
    const void *raw;
    size_t tl, rl;
    json_t *obj = NULL;
    if (cs_pb_watch_split(frame, len, &tp, &tl, &raw, &rl, err, sizeof(err)) == 0) {
        /* The frame is split once: its type decides whether the object is decoded whole. */
        size_t k = 0;
        while (k < tl && k + 1 < sizeof(type) && tp[k] > ' ' && tp[k] < 0x7f) {
            type[k] = tp[k];
            k++;
        }
        type[k] = '\0';
        if (k < tl) {
            snprintf(err, sizeof(err), "watch event type is not a short word");
        } else if (inf->peek_proj && !inf->wl_initial && !strcmp(type, "MODIFIED") &&
                   peek_update(inf, raw, rl)) {
            return;
        } else {
            obj = cs_pb_decode_object(raw, rl, err, sizeof(err));
        }
    }
    if (obj == NULL) {
        /* Undecodable: relist as JSON when this watch ends (now), so nothing is lost. */
        json_only(inf, err);
        inf->watch_relist = 1;
        if (inf->stream) {
            cs_client_stream_close(inf->stream);
            inf->stream = NULL;
        }
        return;
    }
    on_event(o, type, obj, NULL);
    json_decref(obj);
}

/* One watch event (type and obj borrowed), from a JSON line or a protobuf frame; why says what
 * is wrong when type or obj is missing. */
static void on_event(struct op *o, const char *type, json_t *obj, const char *why)
{
    struct cs_informer *inf = o->inf;
    char msg[512];
    if (!type || !json_is_object(obj)) {
        snprintf(msg, sizeof(msg), "watch %s: bad event: %s", inf->path, why);
        report_error(inf, msg);
        return;
    }
    const char *rv = rv_of(obj);
    inf->watch_events++;
    if (inf->wl_initial && !strcmp(type, "ADDED")) {
        /* The current state, as a list's items. */
        if (cs_inf_store_list_item(&inf->store, obj, &inf->sink) == CS_INF_INVALID) {
            snprintf(msg, sizeof(msg), "watch-list %s: an object has no metadata.name", inf->path);
            report_error(inf, msg);
        }
        inf->watch_progress = 1;
    } else if (inf->wl_initial && !strcmp(type, "BOOKMARK") &&
               json_is_string(json_object_get(
                   json_object_get(json_object_get(obj, "metadata"), "annotations"),
                   "k8s.io/initial-events-end"))) {
        inf->wl_initial = 0;
        inf->list_rv = cs_strdup(rv ? rv : "");
        STAT_INC(inf, list_pages);
        list_done(inf);
        inf->backoff_attempt = 0;
        inf->watch_progress = 1;
        inf->consec_410 = 0;
    } else if (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED") || !strcmp(type, "DELETED")) {
        int a = cs_inf_store_apply(&inf->store, type[0] == 'D', obj, &inf->sink);
        if (a == CS_INF_INVALID) {
            snprintf(msg, sizeof(msg), "watch %s: %s event object has no metadata.name",
                     inf->path, type);
            report_error(inf, msg);
        } else if (a == CS_INF_IGNORED) {
            STAT_INC(inf, events_ignored);
        } else {
            STAT_INC(inf, events);
        }
        watch_advanced(inf, rv);
    } else if (!strcmp(type, "BOOKMARK")) {
        STAT_INC(inf, bookmarks);
        watch_advanced(inf, rv);
    } else if (!strcmp(type, "ERROR")) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        const char *m = json_string_value(json_object_get(obj, "message"));
        if (code == 410) {
            inf->watch_relist = 1;
            if (CS_V(2)) {
                CS_INFO_S("Watch expired; relisting", CS_KV("informer", inf->name),
                          CS_KV("message", m ? m : ""));
            }
        } else {
            snprintf(msg, sizeof(msg), "watch %s: ERROR event code %lld: %s", inf->path,
                     (long long)code, m ? m : "");
            report_error(inf, msg);
        }
    } else {
        snprintf(msg, sizeof(msg), "watch %s: unknown event type %s", inf->path, type);
        report_error(inf, msg);
    }
}

static void on_watch_done(void *arg, long status, const char *err)
{
    struct op *o = arg;
    struct cs_informer *inf = o->inf;
    int current = !inf->stopped && o->gen == inf->gen;
    if (current && inf->stream) {
        cs_client_stream_close(inf->stream);
        inf->stream = NULL;
    }
    op_done(o);
    if (!current) {
        return;
    }
    char msg[512];
    if (inf->wl_initial) {
        /* The streaming list ended before its end mark. Refused (the server does not offer
         * it, or not with these parameters): paginated lists from now on, as client-go falls
         * back; otherwise start the list again after a backoff. */
        inf->wl_initial = 0;
        if (status >= 400 && status < 500 && status != 410 && status != 429) {
            inf->wl_refused = 1;
            if (CS_V(2)) {
                CS_INFO_S("Streaming list refused; using paginated lists",
                          CS_KV("informer", inf->name), CS_KVI("status", status));
            }
            begin_list(inf);
            return;
        }
        if (status == 410 || inf->watch_relist || (!err && status == 200)) {
            inf->watch_relist = 0;
            relist_after_410(inf);
            return;
        }
        snprintf(msg, sizeof(msg), "watch-list %s: %ld %.400s", inf->path, status,
                 err ? err : "unexpected end");
        report_error(inf, msg);
        inf->need_relist = 1;
        backoff(inf);
        return;
    }
    if (status == 410 || inf->watch_relist) {
        inf->watch_relist = 0;
        relist_after_410(inf);
        return;
    }
    if (err || status != 200) {
        snprintf(msg, sizeof(msg), "watch %s: %ld %.400s", inf->path, status,
                 err ? err : "unexpected end");
        report_error(inf, msg);
        backoff(inf);
        return;
    }
    /* A clean end (timeoutSeconds, server restart, dropped connection with a clean close).
     * Re-watch at once, unless watches keep ending immediately with nothing in them. */
    int64_t lived_ms = (cs_mono_ns() - inf->watch_start_ns) / 1000000;
    if (inf->watch_events == 0 && lived_ms < 1000) {
        if (++inf->short_watches >= 3) {
            backoff(inf);
            return;
        }
    } else {
        inf->short_watches = 0;
    }
    begin_watch(inf);
}

static void begin_watch(struct cs_informer *inf)
{
    open_watch(inf, 0);
}

static void open_watch(struct cs_informer *inf, int initial)
{
    if (inf->stopped) {
        return;
    }
    int span = inf->wt_max - inf->wt_min;
    int tmo = inf->wt_min + (span > 0 ? (int)(cs_rand_unit(&inf->rng) * (span + 1)) : 0);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_printf(&b, "%s?watch=true&allowWatchBookmarks=true&timeoutSeconds=%d", inf->path, tmo);
    if (initial) {
        /* The state as of now (a consistent read), then the changes after it. */
        cs_buf_puts(&b, "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan");
    } else if (inf->last_rv && *inf->last_rv) {
        cs_buf_puts(&b, "&resourceVersion=");
        cs_buf_url_escape(&b, inf->last_rv);
    }
    append_selectors(inf, &b);
    inf->wl_initial = initial;
    inf->watch_events = 0;
    inf->watch_progress = 0;
    inf->watch_relist = 0;
    inf->watch_start_ns = cs_mono_ns();
    struct op *o = op_new(inf);
    inf->stream = cs_client_stream_open_neg(inf->c, b.data, accept_of(inf), on_line, on_frame,
                                            on_watch_done, o);
    if (!inf->stream) {
        op_done(o);
    } else {
        STAT_INC(inf, watches);
    }
    cs_buf_free(&b);
}

/* ---- control -------------------------------------------------------------------------------- */

static void start_io(void *arg)
{
    struct cs_informer *inf = arg;
    if (!inf->stopped && !inf->started) {
        inf->started = 1;
        begin_list(inf);
    }
    inf_unref(inf);
}

int cs_informer_start(struct cs_informer *inf)
{
    inf_ref(inf);
    if (cs_client_on_io_thread(inf->c)) {
        start_io(inf);
        return 0;
    }
    if (cs_client_post(inf->c, start_io, inf) < 0) {
        inf_unref(inf);
        return -1;
    }
    return 0;
}

static void stop_now(struct cs_informer *inf)
{
    if (inf->stopped) {
        return;
    }
    inf->stopped = 1;
    inf->gen++;
    if (inf->stream) {
        cs_client_stream_close(inf->stream);
        inf->stream = NULL;
    }
    if (inf->timer_id) {
        /* Pending, or dropped by a stopped client: either way it will never run (a timer
         * that ran has cleared timer_id), so its reference goes now. Never the last one: the
         * owner still holds one. */
        cs_client_timer_cancel(inf->c, inf->timer_id);
        op_done(inf->timer_op);
        inf->timer_id = 0;
        inf->timer_op = NULL;
    }
}

static void stop_io(void *arg)
{
    struct cs_informer *inf = arg;
    stop_now(inf);
    pthread_mutex_lock(&inf->mu);
    inf->stop_acked = 1;
    pthread_cond_broadcast(&inf->cv);
    pthread_mutex_unlock(&inf->mu);
}

void cs_informer_stop(struct cs_informer *inf)
{
    if (!inf) {
        return;
    }
    if (cs_client_on_io_thread(inf->c)) {
        stop_now(inf);
        return;
    }
    if (!cs_client_running(inf->c)) {
        /* Not started or already stopped: no I/O thread touches the informer. */
        stop_now(inf);
        return;
    }
    pthread_mutex_lock(&inf->mu);
    inf->stop_acked = 0;
    pthread_mutex_unlock(&inf->mu);
    if (cs_client_post(inf->c, stop_io, inf) < 0) {
        /* The client is stopped: its thread is gone and every callback has been delivered. */
        stop_now(inf);
        return;
    }
    pthread_mutex_lock(&inf->mu);
    while (!inf->stop_acked) {
        pthread_cond_wait(&inf->cv, &inf->mu);
    }
    pthread_mutex_unlock(&inf->mu);
}

static void free_io(void *arg)
{
    struct cs_informer *inf = arg;
    stop_now(inf);
    inf_unref(inf);
}

void cs_informer_free(struct cs_informer *inf)
{
    if (!inf) {
        return;
    }
    if (cs_client_on_io_thread(inf->c)) {
        free_io(inf);
        return;
    }
    cs_informer_stop(inf);
    if (!cs_client_running(inf->c) || cs_client_post(inf->c, free_io, inf) < 0) {
        free_io(inf);
    }
}

int cs_informer_has_synced(const struct cs_informer *inf)
{
    return __atomic_load_n(&inf->synced, __ATOMIC_ACQUIRE);
}

size_t cs_informer_len(const struct cs_informer *inf)
{
    return cs_inf_store_len(&inf->store);
}

const char *cs_informer_last_rv(const struct cs_informer *inf)
{
    return inf->last_rv ? inf->last_rv : "";
}

void cs_informer_stats(const struct cs_informer *inf, struct cs_informer_stats *out)
{
    out->lists = __atomic_load_n(&inf->st.lists, __ATOMIC_RELAXED);
    out->list_pages = __atomic_load_n(&inf->st.list_pages, __ATOMIC_RELAXED);
    out->watches = __atomic_load_n(&inf->st.watches, __ATOMIC_RELAXED);
    out->relists_410 = __atomic_load_n(&inf->st.relists_410, __ATOMIC_RELAXED);
    out->events = __atomic_load_n(&inf->st.events, __ATOMIC_RELAXED);
    out->events_ignored = __atomic_load_n(&inf->st.events_ignored, __ATOMIC_RELAXED);
    out->bookmarks = __atomic_load_n(&inf->st.bookmarks, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&inf->st.errors, __ATOMIC_RELAXED);
}
