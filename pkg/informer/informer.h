#ifndef CS_PKG_INFORMER_INFORMER_H
#define CS_PKG_INFORMER_INFORMER_H
/*
 * Informer: keeps one resource collection in step with the API server, like client-go's
 * reflector + store, and tells handlers what changed.
 *
 *   LIST as a streaming list (watch=true&sendInitialEvents=true: the current state as ADDED
 *   events, then a BOOKMARK annotated k8s.io/initial-events-end that completes the list, and
 *   the same stream goes on as the watch); a server that refuses it (4xx) gets paginated lists
 *   from then on (limit/continue; an expired continue token restarts the list) ->
 *   WATCH from the list's resourceVersion with allowWatchBookmarks=true and a randomised
 *   timeoutSeconds (300..600 by default) -> BOOKMARK advances the RV -> watch end: re-watch
 *   from the last RV -> 410 Gone (HTTP or ERROR event): relist and diff against what the
 *   informer knew (gone -> on_delete with the last state, changed RV -> on_update, new ->
 *   on_add, same RV -> nothing). Events whose resourceVersion is not newer than the one known
 *   for that key are ignored, so nothing is applied twice. Errors back off 800 ms .. 30 s
 *   (factor 2, jitter) and the informer keeps trying until stopped.
 *
 * Threads. Handlers run on the client's I/O thread, one at a time, with BORROWED jansson
 * objects valid during the call (json_incref to keep one; never modify them). start/stop/free/
 * has_synced may be called from any thread. Handlers must not block.
 *
 * Memory. Per key the informer keeps the key, uid and resourceVersion; with keep_objects it
 * also keeps a reference to the last json object (then on_delete after a relist gets the full
 * last state, otherwise a stub {"metadata":{"name","namespace","uid","resourceVersion"}}; a
 * watch DELETED event always passes the server's object). Measured at 10000 pods of ~700 bytes
 * of JSON: ~0.2 KB per pod without keep_objects, ~7 KB per pod with it (jansson trees are ~10x
 * the JSON text), so keep_objects is off by default; the cache keeps its own compact state.
 */
#include <jansson.h>
#include <stdint.h>

struct cs_client;
struct cs_informer;

struct cs_informer_handlers {
    void (*on_add)(void *arg, json_t *obj);
    /* old: the previous state when keep_objects is set, else NULL. */
    void (*on_update)(void *arg, json_t *old, json_t *obj);
    void (*on_delete)(void *arg, json_t *obj);
    void (*on_synced)(void *arg);               /* once, after the first full list */
    void (*on_error)(void *arg, const char *msg); /* informational; the informer retries */
    void *arg;
    /* Optional, for watches that arrive as protobuf: a MODIFIED event the store would apply is
     * first decoded as only opts.peek_fields (a BORROWED partial object) and given to peek. peek
     * returns 1 when that was all it needed: the informer records the event's resourceVersion
     * and on_update is not called. 0: the event is decoded whole and goes to on_update. A
     * handler that only needs a few fields of most updates (the scheduler confirming its own
     * binds) is spared converting the rest of each object. */
    int (*peek)(void *arg, json_t *partial);
};

struct cs_informer_opts {
    const char *path;            /* collection path, e.g. "/api/v1/pods" (copied) */
    const char *label_selector;  /* raw selector text or NULL (copied, escaped by the informer) */
    const char *field_selector;  /* e.g. "status.phase!=Succeeded,status.phase!=Failed" */
    int page_size;               /* LIST limit; <= 0 means 500 */
    int watch_timeout_min_s;     /* timeoutSeconds drawn from [min, max]; 0 = 300 */
    int watch_timeout_max_s;     /* 0 = 2 * min */
    int backoff_initial_ms;      /* 0 = 800 */
    int backoff_max_ms;          /* 0 = 30000 */
    int keep_objects;            /* keep a json ref per object (see Memory above) */
    int sync_on_404;             /* a 404 on list counts as synced (optional CRDs); retried */
    int no_watch_list;           /* list with pages only, never as a streaming list */
    const char *name;            /* for logs, e.g. "pods"; default = path */
    const char *const *peek_fields; /* for handlers.peek: NULL-terminated JSON paths such as
                                     * "metadata.uid" (copied); not with keep_objects */
    struct cs_informer_handlers handlers;
};

/* Create (not started). Returns NULL with err when opts are invalid (path must start with
 * '/'). The client must outlive the informer. */
struct cs_informer *cs_informer_new(struct cs_client *c, const struct cs_informer_opts *opts,
                                    char *err, size_t errlen);
/* Begin list+watch (any thread; the work runs on the I/O thread). Returns 0 or -1 when the
 * client is not running. */
int cs_informer_start(struct cs_informer *inf);
/* Stop: no handler runs after it returns (when called from the I/O thread: from then on).
 * From another thread it waits for the I/O thread to acknowledge. Idempotent. */
void cs_informer_stop(struct cs_informer *inf);
/* Stop and free. From the I/O thread the memory is released once outstanding requests end. */
void cs_informer_free(struct cs_informer *inf);
/* 1 once the first full list has been delivered (any thread). */
int cs_informer_has_synced(const struct cs_informer *inf);
/* Number of objects currently known (I/O thread, or after stop). */
size_t cs_informer_len(const struct cs_informer *inf);
/* The last resourceVersion seen (list, event or bookmark) as a string (I/O thread; borrowed). */
const char *cs_informer_last_rv(const struct cs_informer *inf);

struct cs_informer_stats {
    uint64_t lists;              /* completed full lists */
    uint64_t list_pages;
    uint64_t watches;            /* watch requests opened */
    uint64_t relists_410;        /* relists caused by 410 Gone */
    uint64_t events;             /* watch events applied (add/update/delete) */
    uint64_t events_ignored;     /* stale or duplicate events dropped */
    uint64_t bookmarks;
    uint64_t errors;
};
/* Snapshot (any thread). */
void cs_informer_stats(const struct cs_informer *inf, struct cs_informer_stats *out);

#endif
