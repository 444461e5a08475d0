/*
 * Watch streams. A watch is an MHD callback response over the shared history ring: it keeps
 * a cursor (the last RV it has processed) and, when called for data, turns the events after
 * the cursor into JSON lines, applying namespace and selector filters with the apiserver's
 * transition rules (starts matching -> ADDED, stops -> DELETED with the previous object at the
 * event's RV). With nothing to send it suspends its connection; the store hook resumes it on
 * a relevant write and the ticker resumes everything periodically for bookmarks, timeouts and
 * fault checks. A watcher that falls out of the ring gets a 410 ERROR event and is closed.
 *
 * Lifetime: the watch struct is linked in sv->watches (store lock). MHD's free callback only
 * marks it dead; wake_all unlinks and frees dead watches under the lock, so a resume never
 * races with a free.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/pbjson.h"
#include "pkg/apisim/http.h"
#include "pkg/apisim/sim.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define CS_BOOKMARK_EVERY_NS (5LL * 1000000000LL)
#define CS_FILL_LIMIT (256u * 1024u)

struct cs_apisim_watch {
    struct cs_apisim_server *sv;
    struct cs_apisim_watch *next;
    struct cs_apisim_req q;        /* re-routed copy (segbuf owned here) */
    char *path;
    struct cs_apisim_match match;
    int filtered;                  /* selectors present */
    int plain;                     /* no view conversion needed */
    int pb;                        /* frames of protobuf WatchEvents instead of JSON lines */
    uint64_t cursor;
    uint64_t start_rv;             /* the RV a resumed watch asked for (0 otherwise) */
    int bookmarks;
    int64_t deadline_ns;
    int64_t next_bookmark_ns;
    struct cs_buf out;
    size_t out_off;
    int suspended;
    int finished;
    int dead;                      /* set by MHD's free callback (atomic) */
    int cols_sent;
    struct cs_apisim_list initial; /* synthetic ADDED events still to send */
    size_t initial_pos;
    int has_initial;
    int initial_end_bookmark;      /* sendInitialEvents: send the annotated bookmark */
    uint64_t expired_rv;           /* > 0: send 410 for this RV, then end */
    struct cs_apisim_fault_watch fw;
};

static void put_obj_json(struct cs_apisim_watch *w, const char *type, const json_t *obj,
                         const char *text, size_t len);

/* The JSON line appended since mark, as a protobuf frame (a protobuf watch). The object lacks
 * apiVersion/kind only in a hand-made line; they are the watched resource's then. */
static void to_frame(struct cs_apisim_watch *w, size_t mark)
{
    if (!w->pb || w->out.len <= mark)
        return;
    json_t *ev = json_loadb(w->out.data + mark, w->out.len - mark, 0, NULL);
    json_t *obj = json_object_get(ev, "object");
    const char *type = json_string_value(json_object_get(ev, "type"));
    w->out.len = mark;
    w->out.data[mark] = '\0';
    if (json_is_object(obj) && !json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(w->q.rt->kind));
    if (json_is_object(obj) && !json_object_get(obj, "apiVersion")) {
        char av[256];
        if (w->q.group[0])
            snprintf(av, sizeof(av), "%s/%s", w->q.group, w->q.version);
        else
            snprintf(av, sizeof(av), "%s", w->q.version);
        json_object_set_new(obj, "apiVersion", json_string(av));
    }
    char err[256];
    if (!type || !json_is_object(obj) ||
        cs_pb_encode_watch_event(type, obj, &w->out, err, sizeof(err)) != 0)
        CS_ERROR_S(type ? err : "bad event", "Cannot encode a protobuf watch event; dropped");
    json_decref(ev);
}

static void put_obj(struct cs_apisim_watch *w, const char *type, const json_t *obj,
                    const char *text, size_t len)
{
    size_t mark = w->out.len;
    put_obj_json(w, type, obj, text, len);
    to_frame(w, mark);
}

static void put_obj_json(struct cs_apisim_watch *w, const char *type, const json_t *obj,
                         const char *text, size_t len)
{
    struct cs_buf *b = &w->out;
    cs_buf_reserve(b, len + 48);  /* one growth at most for the whole line */
    cs_buf_puts(b, "{\"type\":\"");
    cs_buf_puts(b, type);
    cs_buf_puts(b, "\",\"object\":");
    if (w->q.as_table) {
        const json_t *one[1] = { obj };
        cs_apisim_table(&w->q, one, 1, NULL, NULL, !w->cols_sent, b);
        w->cols_sent = 1;
    } else if (w->plain && text) {
        cs_buf_append(b, text, len);
    } else {
        json_t *v = cs_apisim_to_view(&w->q, obj);
        char *t = json_dumps(v, JSON_COMPACT);
        cs_buf_puts(b, t ? t : "{}");
        free(t);
        json_decref(v);
    }
    cs_buf_puts(b, "}\n");
}

static void put_bookmark(struct cs_apisim_watch *w, uint64_t rv, int initial_end)
{
    size_t mark = w->out.len;
    const struct cs_apisim_rtype *rt = w->q.rt;
    char av[256];
    if (w->q.group[0])
        snprintf(av, sizeof(av), "%s/%s", w->q.group, w->q.version);
    else
        snprintf(av, sizeof(av), "%s", w->q.version);
    cs_buf_printf(&w->out, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":"
                  "\"%s\",\"metadata\":{\"resourceVersion\":\"%llu\",\"creationTimestamp\":null"
                  "%s}}}\n", w->q.as_table ? "Table" : rt->kind,
                  w->q.as_table ? "meta.k8s.io/v1" : av, (unsigned long long)rv,
                  initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" :
                                "");
    to_frame(w, mark);
}

static void put_expired(struct cs_apisim_watch *w, uint64_t rv)
{
    char msg[160];
    snprintf(msg, sizeof(msg), "too old resource version: %llu (%llu)", (unsigned long long)rv,
             (unsigned long long)(cs_apisim_store_oldest_rv(w->sv->store) - 1));
    size_t mark = w->out.len;
    cs_buf_puts(&w->out, "{\"type\":\"ERROR\",\"object\":");
    cs_apisim_status_json(&w->out, 410, "Expired", msg, NULL, NULL);
    cs_buf_puts(&w->out, "}\n");
    to_frame(w, mark);
}

static int in_ns(const struct cs_apisim_watch *w, const char *key)
{
    if (!w->q.ns || !w->q.store_rt->namespaced)
        return 1;
    size_t n = strlen(w->q.ns);
    return !strncmp(key, w->q.ns, n) && key[n] == '/';
}

/* DELETED for an object that stopped matching: previous content, the event's RV. */
static void put_stopped(struct cs_apisim_watch *w, const json_t *old_obj, uint64_t rv)
{
    json_t *c = json_deep_copy(old_obj);
    char buf[24];
    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)rv);
    json_t *meta = json_object_get(c, "metadata");
    if (json_is_object(meta))
        json_object_set_new(meta, "resourceVersion", json_string(buf));
    char *t = json_dumps(c, JSON_COMPACT);
    put_obj(w, "DELETED", c, t, t ? strlen(t) : 0);
    free(t);
    json_decref(c);
}

static void emit_event(struct cs_apisim_watch *w, const struct cs_apisim_event *ev)
{
    size_t nlen;
    const char *ntext = cs_apisim_obj_text(ev->new_obj, &nlen);
    if (!w->filtered) {
        const char *type = ev->type == CS_APISIM_ADDED ? "ADDED" :
                           ev->type == CS_APISIM_MODIFIED ? "MODIFIED" : "DELETED";
        put_obj(w, type, cs_apisim_obj_json(ev->new_obj), ntext, nlen);
        return;
    }
    const json_t *nj = cs_apisim_obj_json(ev->new_obj);
    const json_t *oj = ev->old_obj ? cs_apisim_obj_json(ev->old_obj) : NULL;
    int new_m = nj && cs_apisim_match_obj(nj, &w->match);
    int old_m = oj && cs_apisim_match_obj(oj, &w->match);
    switch (ev->type) {
    case CS_APISIM_ADDED:
        if (new_m)
            put_obj(w, "ADDED", nj, ntext, nlen);
        break;
    case CS_APISIM_MODIFIED:
        if (new_m)
            put_obj(w, old_m ? "MODIFIED" : "ADDED", nj, ntext, nlen);
        else if (old_m)
            put_stopped(w, oj, ev->rv);
        break;
    default:
        if (old_m || new_m)
            put_obj(w, "DELETED", nj, ntext, nlen);
        break;
    }
}

/* Produce output into w->out (lock held). */
static void fill(struct cs_apisim_watch *w)
{
    struct cs_apisim_server *sv = w->sv;
    struct cs_apisim_store *s = sv->store;
    int64_t now = cs_mono_ns();
    if (w->finished)
        return;
    if (sv->stopping) {
        w->finished = 1;
        return;
    }
    if (w->expired_rv) {
        put_expired(w, w->expired_rv);
        w->finished = 1;
        return;
    }
    if (sv->sim && cs_apisim_fault_watch_should_drop(cs_apisim_sim_fault(sv->sim), &w->fw)) {
        w->finished = 1;
        return;
    }
    while (w->has_initial && w->initial_pos < w->initial.len && w->out.len < CS_FILL_LIMIT) {
        struct cs_apisim_obj *o = w->initial.items[w->initial_pos++];
        size_t len;
        const char *t = cs_apisim_obj_text(o, &len);
        put_obj(w, "ADDED", cs_apisim_obj_json(o), t, len);
    }
    if (w->has_initial && w->initial_pos >= w->initial.len) {
        cs_apisim_list_free(&w->initial);
        w->has_initial = 0;
        if (w->initial_end_bookmark) {
            put_bookmark(w, w->cursor, 1);
            w->initial_end_bookmark = 0;
        }
    }
    if (w->has_initial)
        return;
    if (w->cursor < s->rv && w->cursor + 1 < cs_apisim_store_oldest_rv(s)) {
        put_expired(w, w->cursor);
        w->finished = 1;
        return;
    }
    while (w->cursor < s->rv && w->out.len < CS_FILL_LIMIT) {
        struct cs_apisim_event ev;
        w->cursor++;
        if (!cs_apisim_store_event(s, w->cursor, &ev))
            continue;
        if (ev.rt != w->q.store_rt || !in_ns(w, cs_apisim_obj_key(ev.new_obj)))
            continue;
        emit_event(w, &ev);
    }
    /* Like kube-apiserver's cacheWatcher, a bookmark is only sent once there is an RV newer
     * than the one the watch resumed from: nothing new, no bookmark. */
    int progressed = w->cursor > w->start_rv;
    if (w->deadline_ns && now >= w->deadline_ns && w->cursor >= s->rv) {
        if (w->bookmarks && progressed)
            put_bookmark(w, w->cursor, 0);
        w->finished = 1;
        return;
    }
    if (w->bookmarks && progressed && now >= w->next_bookmark_ns && w->out.len == 0) {
        put_bookmark(w, w->cursor, 0);
        w->next_bookmark_ns = now + CS_BOOKMARK_EVERY_NS;
    }
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct cs_apisim_watch *w = cls;
    struct cs_apisim_store *s = w->sv->store;
    ssize_t n = 0;
    (void)pos;
    cs_apisim_store_lock(s);
    if (w->out_off >= w->out.len) {
        cs_buf_reset(&w->out);
        w->out_off = 0;
        fill(w);
    }
    if (w->out_off < w->out.len) {
        size_t k = w->out.len - w->out_off;
        if (k > max)
            k = max;
        memcpy(buf, w->out.data + w->out_off, k);
        w->out_off += k;
        n = (ssize_t)k;
    } else if (w->finished) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        w->suspended = 1;
        MHD_suspend_connection(w->q.conn);
        n = 0;
    }
    cs_apisim_store_unlock(s);
    return n;
}

static void on_free(void *cls)
{
    struct cs_apisim_watch *w = cls;
    __atomic_store_n(&w->dead, 1, __ATOMIC_RELEASE);
}

static void watch_free(struct cs_apisim_watch *w)
{
    cs_apisim_match_free(&w->match);
    cs_apisim_list_free(&w->initial);
    cs_buf_free(&w->out);
    cs_free(w->path);
    cs_free(w);
}

static void resume(struct cs_apisim_watch *w)
{
    if (w->suspended && !__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE)) {
        w->suspended = 0;
        MHD_resume_connection(w->q.conn);
    }
}

void cs_apisim_watch_hook(void *arg, struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                          int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv)
{
    struct cs_apisim_server *sv = arg;
    (void)s;
    (void)type;
    (void)old_obj;
    (void)new_obj;
    (void)rv;
    for (struct cs_apisim_watch *w = sv->watches; w; w = w->next)
        if (w->suspended && w->q.store_rt == rt)
            resume(w);
}

void cs_apisim_watch_wake_all(struct cs_apisim_server *sv)
{
    struct cs_apisim_watch **pp = &sv->watches;
    while (*pp) {
        struct cs_apisim_watch *w = *pp;
        if (__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE)) {
            *pp = w->next;
            sv->nwatches--;
            watch_free(w);
            continue;
        }
        resume(w);
        pp = &w->next;
    }
}

void cs_apisim_watch_close_all(struct cs_apisim_server *sv)
{
    while (sv->watches) {
        struct cs_apisim_watch *w = sv->watches;
        sv->watches = w->next;
        watch_free(w);
    }
    sv->nwatches = 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !s[0] || s[0] == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int is_true(const char *v)
{
    return v && (!strcmp(v, "true") || !strcmp(v, "1"));
}

void cs_apisim_watch_start(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                           struct cs_apisim_reply *r)
{
    struct cs_apisim_store *s = sv->store;
    const char *rvp = cs_apisim_query(q, "resourceVersion");
    const char *rvm = cs_apisim_query(q, "resourceVersionMatch");
    const char *sie = cs_apisim_query(q, "sendInitialEvents");
    const char *to = cs_apisim_query(q, "timeoutSeconds");
    int bookmarks = is_true(cs_apisim_query(q, "allowWatchBookmarks"));
    uint64_t rv = 0, timeout = 1800;
    char msg[300];
    if (rvp && rvp[0] && parse_u64(rvp, &rv)) {
        snprintf(msg, sizeof(msg), "invalid resource version \"%s\"", rvp);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        return;
    }
    if (to && to[0] && parse_u64(to, &timeout)) {
        cs_apisim_reply_status(r, 400, "BadRequest", "timeoutSeconds must be a non-negative "
                               "integer", NULL, NULL);
        return;
    }
    if (cs_apisim_query(q, "continue")) {
        cs_apisim_reply_status(r, 400, "BadRequest", "continue is not allowed on watch", NULL,
                               NULL);
        return;
    }
    int send_initial = is_true(sie);
    if (sie && send_initial) {
        if (!rvm || strcmp(rvm, "NotOlderThan")) {
            cs_apisim_reply_status(r, 422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: "
                                   "resourceVersionMatch: Forbidden: sendInitialEvents requires "
                                   "setting resourceVersionMatch to NotOlderThan", NULL, NULL);
            return;
        }
        if (!bookmarks) {
            cs_apisim_reply_status(r, 422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: "
                                   "allowWatchBookmarks: Forbidden: sendInitialEvents requires "
                                   "setting allowWatchBookmarks to true", NULL, NULL);
            return;
        }
    } else if (rvm && rvm[0]) {
        cs_apisim_reply_status(r, 422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: "
                               "resourceVersionMatch: Forbidden: resourceVersionMatch is "
                               "forbidden for watch unless sendInitialEvents is provided",
                               NULL, NULL);
        return;
    }
    struct cs_apisim_watch *w = cs_calloc(1, sizeof(*w));
    w->sv = sv;
    w->path = cs_strdup(q->path);
    w->q = *q;
    cs_apisim_route(&w->q, w->path);
    w->q.rt = q->rt;
    w->q.store_rt = q->store_rt;
    w->q.path = w->path;
    cs_buf_init(&w->out);
    if (cs_apisim_match_init(q, r, &w->match)) {
        watch_free(w);
        return;
    }
    w->filtered = (w->match.labels && !cs_selector_is_empty(w->match.labels)) || w->match.fields.n;
    w->plain = !(q->rt != q->store_rt) && !(q->rt->is_crd && strcmp(q->version, q->rt->version));
    {
        char av[256];
        if (q->group[0])
            snprintf(av, sizeof(av), "%s/%s", q->group, q->version);
        else
            snprintf(av, sizeof(av), "%s", q->version);
        w->pb = r->want_pb && !q->as_table && cs_pb_known(av, q->rt->kind);
    }
    w->bookmarks = bookmarks;
    int64_t now = cs_mono_ns();
    w->deadline_ns = timeout ? now + (int64_t)timeout * 1000000000LL : 0;
    w->next_bookmark_ns = now + CS_BOOKMARK_EVERY_NS;
    int resume_rv = rvp && rvp[0] && rv != 0;
    if (sv->sim && cs_apisim_fault_watch_begin(cs_apisim_sim_fault(sv->sim), resume_rv, &w->fw))
        w->expired_rv = rv ? rv : 1;
    if (send_initial || (!resume_rv && !(sie && !send_initial))) {
        /* synthetic ADDED for the current state, then changes after it */
        if (rv > s->rv) {
            snprintf(msg, sizeof(msg), "Too large resource version: %llu, current: %llu",
                     (unsigned long long)rv, (unsigned long long)s->rv);
            cs_apisim_reply_status(r, 504, "Timeout", msg, NULL, NULL);
            watch_free(w);
            return;
        }
        cs_apisim_store_list(s, q->store_rt, q->ns, w->filtered ? cs_apisim_match_obj : NULL,
                             &w->match, &w->initial);
        w->has_initial = 1;
        w->cursor = s->rv;
        w->initial_end_bookmark = send_initial;
    } else if (resume_rv) {
        w->cursor = rv;
        w->start_rv = rv;
        if (rv < s->rv && rv + 1 < cs_apisim_store_oldest_rv(s))
            w->expired_rv = rv;
    } else {
        w->cursor = s->rv;
    }
    w->next = sv->watches;
    sv->watches = w;
    sv->nwatches++;
    r->watch = w;
    r->code = 200;
}

int cs_apisim_watch_queue(struct cs_apisim_server *sv, struct MHD_Connection *conn,
                          struct cs_apisim_watch *w)
{
    (void)sv;
    (void)conn;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                                  reader, w, on_free);
    MHD_add_response_header(resp, "Content-Type", w->pb ? CS_PB_MEDIA_WATCH : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return (int)ret;
}
