/*
 * Scheduling queue (see queue.h). Two binary heaps with back-pointers (heap_idx) so an entry
 * can be removed from the middle when its pod is deleted or updated; a map for the
 * unschedulable set; one map from key to entry over everything.
 *
 * Backoff follows kube-scheduler: initial * 2^(attempts-1), capped at max, counted from the end
 * of the last attempt. Unschedulable pods move on a matching event to backoffQ while their
 * backoff runs, else straight to activeQ; they are also flushed after max_unsched_ns.
 */
#include "pkg/queue/queue.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "pkg/util/alloc.h"
#include "pkg/util/timeutil.h"

/* ---- heaps -------------------------------------------------------------------------------- */

typedef bool (*heap_less_fn)(struct cs_queue *q, const struct cs_qentry *a,
                             const struct cs_qentry *b);

static bool active_less(struct cs_queue *q, const struct cs_qentry *a, const struct cs_qentry *b)
{
    if (q->ops.less) {
        return q->ops.less(q->ops.arg, &a->qp, &b->qp);
    }
    return a->qp.timestamp_ns < b->qp.timestamp_ns;
}

static bool backoff_less(struct cs_queue *q, const struct cs_qentry *a, const struct cs_qentry *b)
{
    (void)q;
    return a->backoff_expiry_ns < b->backoff_expiry_ns;
}

static void heap_swap(struct cs_qheap *h, uint32_t i, uint32_t j)
{
    struct cs_qentry *t = h->v[i];
    h->v[i] = h->v[j];
    h->v[j] = t;
    h->v[i]->heap_idx = (int32_t)i;
    h->v[j]->heap_idx = (int32_t)j;
}

static void heap_up(struct cs_queue *q, struct cs_qheap *h, uint32_t i, heap_less_fn less)
{
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!less(q, h->v[i], h->v[p])) {
            break;
        }
        heap_swap(h, i, p);
        i = p;
    }
}

static void heap_down(struct cs_queue *q, struct cs_qheap *h, uint32_t i, heap_less_fn less)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && less(q, h->v[l], h->v[m])) {
            m = l;
        }
        if (r < h->n && less(q, h->v[r], h->v[m])) {
            m = r;
        }
        if (m == i) {
            break;
        }
        heap_swap(h, i, m);
        i = m;
    }
}

static void heap_push(struct cs_queue *q, struct cs_qheap *h, struct cs_qentry *e, heap_less_fn less)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->v = cs_realloc(h->v, sizeof(*h->v) * h->cap);
    }
    h->v[h->n] = e;
    e->heap_idx = (int32_t)h->n;
    h->n++;
    heap_up(q, h, h->n - 1, less);
}

static void heap_remove(struct cs_queue *q, struct cs_qheap *h, struct cs_qentry *e, heap_less_fn less)
{
    uint32_t i = (uint32_t)e->heap_idx;
    if (e->heap_idx < 0 || i >= h->n || h->v[i] != e) {
        return;
    }
    h->n--;
    if (i != h->n) {
        h->v[i] = h->v[h->n];
        h->v[i]->heap_idx = (int32_t)i;
        heap_down(q, h, i, less);
        heap_up(q, h, i, less);
    }
    e->heap_idx = -1;
}

/* ---- placement ---------------------------------------------------------------------------- */

static bool waiting_place(enum cs_qwhere w)
{
    return w == CS_Q_ACTIVE || w == CS_Q_BACKOFF || w == CS_Q_UNSCHEDULABLE;
}

/* Count the entry in (+1) or out of (-1) its group's waiting members. */
static void group_adj(struct cs_queue *q, const struct cs_qentry *e, int delta)
{
    if (e->group == NULL || !waiting_place(e->where)) {
        return;
    }
    uintptr_t n = (uintptr_t)cs_map_get(&q->group_waiting, e->group);
    n = delta > 0 ? n + 1 : n - 1;
    if (n == 0) {
        cs_map_del(&q->group_waiting, e->group);
    } else {
        cs_map_put(&q->group_waiting, e->group, (void *)n);
    }
}

static void detach(struct cs_queue *q, struct cs_qentry *e)
{
    group_adj(q, e, -1);
    switch (e->where) {
    case CS_Q_ACTIVE:
        heap_remove(q, &q->active, e, active_less);
        break;
    case CS_Q_BACKOFF:
        heap_remove(q, &q->backoff, e, backoff_less);
        break;
    case CS_Q_UNSCHEDULABLE:
        cs_map_del(&q->unsched, e->key);
        break;
    case CS_Q_GATED:
        q->n_gated--;
        break;
    case CS_Q_INFLIGHT:
        q->n_inflight--;
        break;
    case CS_Q_NONE:
        break;
    }
    e->where = CS_Q_NONE;
}

static void to_active(struct cs_queue *q, struct cs_qentry *e)
{
    detach(q, e);
    e->where = CS_Q_ACTIVE;
    group_adj(q, e, +1);
    heap_push(q, &q->active, e, active_less);
    pthread_cond_signal(&q->cv);
}

static void to_backoff(struct cs_queue *q, struct cs_qentry *e, bool error)
{
    detach(q, e);
    e->where = CS_Q_BACKOFF;
    e->error_backoff = error;
    group_adj(q, e, +1);
    heap_push(q, &q->backoff, e, backoff_less);
    if (q->pop_from_backoff) {
        pthread_cond_signal(&q->cv);   /* an idle scheduler may take it now */
    }
}

static void to_unsched(struct cs_queue *q, struct cs_qentry *e)
{
    detach(q, e);
    e->where = CS_Q_UNSCHEDULABLE;
    group_adj(q, e, +1);
    e->unsched_since_ns = q->now();
    cs_map_put(&q->unsched, e->key, e);
}

static void to_gated(struct cs_queue *q, struct cs_qentry *e, const char *reason)
{
    detach(q, e);
    e->where = CS_Q_GATED;
    q->n_gated++;
    cs_free(e->gated_reason);
    e->gated_reason = cs_strdup(reason);
}

static void free_entry(struct cs_qentry *e)
{
    cs_pod_unref(e->newer);
    cs_pod_unref((struct cs_pod *)e->qp.pod);
    cs_free(e->key);
    cs_free(e->gated_reason);
    cs_free(e);
}

static void drop(struct cs_queue *q, struct cs_qentry *e)
{
    detach(q, e);
    cs_map_del(&q->all, e->key);
    free_entry(e);
}

static bool admit(struct cs_queue *q, struct cs_qentry *e)
{
    if (q->ops.pre_enqueue == NULL) {
        return true;
    }
    char reason[256] = "";
    if (q->ops.pre_enqueue(q->ops.arg, e->qp.pod, reason, sizeof(reason))) {
        return true;
    }
    to_gated(q, e, reason);
    return false;
}

static int64_t backoff_duration(const struct cs_queue *q, uint32_t attempts)
{
    int64_t d = q->initial_backoff_ns;
    for (uint32_t i = 1; i < attempts && d < q->max_backoff_ns; i++) {
        d *= 2;
    }
    return d < q->max_backoff_ns ? d : q->max_backoff_ns;
}

/* Move an entry that may run again: backoffQ while its backoff lasts, else activeQ. */
static void requeue(struct cs_queue *q, struct cs_qentry *e)
{
    if (e->backoff_expiry_ns > q->now()) {
        to_backoff(q, e, false);
    } else {
        to_active(q, e);
    }
}

/* ---- public ------------------------------------------------------------------------------- */

void cs_queue_init(struct cs_queue *q, const struct cs_queue_ops *ops, int64_t initial_backoff_ns,
                   int64_t max_backoff_ns)
{
    memset(q, 0, sizeof(*q));
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (ops) {
        q->ops = *ops;
    }
    cs_map_init(&q->all);
    cs_map_init(&q->unsched);
    cs_map_init(&q->group_waiting);
    q->initial_backoff_ns = initial_backoff_ns > 0 ? initial_backoff_ns : 1000000000LL;
    q->max_backoff_ns = max_backoff_ns >= q->initial_backoff_ns ? max_backoff_ns
                                                                 : q->initial_backoff_ns;
    q->max_unsched_ns = 5LL * 60 * 1000000000LL;
    q->now = cs_mono_ns;
}

void cs_queue_destroy(struct cs_queue *q)
{
    size_t it = 0;
    void *v;
    while (cs_map_next(&q->all, &it, NULL, &v)) {
        free_entry(v);
    }
    cs_map_destroy(&q->all);
    cs_map_destroy(&q->unsched);
    cs_map_destroy(&q->group_waiting);
    cs_free(q->active.v);
    cs_free(q->backoff.v);
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
}

/* A new entry for pod, known to the queue but in no place yet (caller holds the lock). */
static struct cs_qentry *new_entry(struct cs_queue *q, struct cs_pod *pod, uint32_t attempts)
{
    struct cs_qentry *e = cs_calloc(1, sizeof(*e));
    e->key = cs_strdup(pod->key);
    e->qp.pod = cs_pod_ref(pod);
    e->qp.timestamp_ns = q->now();
    e->qp.attempts = attempts;
    e->heap_idx = -1;
    e->group = q->ops.group_of ? q->ops.group_of(q->ops.arg, pod) : NULL;
    cs_map_put(&q->all, e->key, e);
    return e;
}

void cs_queue_add(struct cs_queue *q, struct cs_pod *pod)
{
    pthread_mutex_lock(&q->mu);
    struct cs_qentry *e = cs_map_get(&q->all, pod->key);
    if (e == NULL) {
        e = new_entry(q, pod, 0);
        if (admit(q, e)) {
            to_active(q, e);
        }
        goto out;
    }
    /* An update: keep the newest version. An entry in flight keeps the version being scheduled
     * (the scheduling thread holds it without the lock) and parks the new one in e->newer. */
    struct cs_pod *old = e->newer ? e->newer : (struct cs_pod *)e->qp.pod;
    bool changed = q->ops.changed == NULL || q->ops.changed(q->ops.arg, old, pod);
    if (e->where == CS_Q_INFLIGHT) {
        cs_pod_unref(e->newer);
        e->newer = cs_pod_ref(pod);
    } else {
        e->qp.pod = cs_pod_ref(pod);
        cs_pod_unref(old);
    }
    group_adj(q, e, -1);
    e->group = q->ops.group_of ? q->ops.group_of(q->ops.arg, pod) : NULL;
    group_adj(q, e, +1);
    switch (e->where) {
    case CS_Q_INFLIGHT:
        if (e->deleted) {
            /* Deleted and created again under the same name while its predecessor was
             * being scheduled: the new pod must be scheduled afresh, never dropped. */
            e->deleted = false;
            changed = true;
        }
        e->updated = e->updated || changed;
        break;
    case CS_Q_GATED:
        if (admit(q, e)) {
            to_active(q, e);
        }
        break;
    case CS_Q_UNSCHEDULABLE:
        /* The pod itself changed: it may fit now (kube moves it on a PodUpdate). */
        if (changed && admit(q, e)) {
            requeue(q, e);
        }
        break;
    case CS_Q_ACTIVE:
        heap_remove(q, &q->active, e, active_less);
        heap_push(q, &q->active, e, active_less);
        break;
    case CS_Q_BACKOFF:
    case CS_Q_NONE:
        break;
    }
out:
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_delete(struct cs_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    struct cs_qentry *e = cs_map_get(&q->all, key);
    if (e) {
        if (e->where == CS_Q_INFLIGHT) {
            e->deleted = true;
        } else {
            drop(q, e);
        }
    }
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_requeue_backoff(struct cs_queue *q, struct cs_pod *pod, uint32_t attempts)
{
    pthread_mutex_lock(&q->mu);
    struct cs_qentry *e = cs_map_get(&q->all, pod->key);
    if (e == NULL) {
        e = new_entry(q, pod, attempts ? attempts : 1);
    } else if (e->qp.attempts < attempts) {
        e->qp.attempts = attempts;
    }
    if (e->where != CS_Q_INFLIGHT) {
        e->backoff_expiry_ns = q->now() + backoff_duration(q, e->qp.attempts);
        if (admit(q, e)) {
            to_backoff(q, e, true);
        }
    }
    pthread_mutex_unlock(&q->mu);
}

static void flush_backoff_locked(struct cs_queue *q, int64_t now)
{
    while (q->backoff.n && q->backoff.v[0]->backoff_expiry_ns <= now) {
        to_active(q, q->backoff.v[0]);
    }
}

size_t cs_queue_pop(struct cs_queue *q, struct cs_qentry **out, size_t max, int64_t timeout_ns)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    int64_t deadline = q->now() + timeout_ns;
    for (;;) {
        if (q->closed) {
            goto out;
        }
        flush_backoff_locked(q, q->now());
        if (!q->active.n && q->pop_from_backoff && q->backoff.n &&
            !q->backoff.v[0]->error_backoff) {
            to_active(q, q->backoff.v[0]);
        }
        if (q->active.n) {
            break;
        }
        int64_t now = q->now();
        if (now >= deadline) {
            goto out;
        }
        int64_t wake = deadline;
        if (q->backoff.n && q->backoff.v[0]->backoff_expiry_ns < wake) {
            wake = q->backoff.v[0]->backoff_expiry_ns;
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        int64_t abs_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (wake - now);
        ts.tv_sec = abs_ns / 1000000000LL;
        ts.tv_nsec = abs_ns % 1000000000LL;
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
    while (n < max && q->active.n) {
        struct cs_qentry *e = q->active.v[0];
        detach(q, e);
        e->where = CS_Q_INFLIGHT;
        q->n_inflight++;
        e->qp.attempts++;
        e->pop_seq = q->event_seq;
        e->updated = false;
        out[n++] = e;
    }
out:
    pthread_mutex_unlock(&q->mu);
    return n;
}

size_t cs_queue_take_group(struct cs_queue *q, const char *group, struct cs_qentry **out,
                           size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&q->mu);
    size_t it = 0;
    void *v;
    if (cs_map_get(&q->group_waiting, group) == NULL) {
        goto out;                  /* every member is in flight (popped together) or gated */
    }
    while (n < max && cs_map_next(&q->all, &it, NULL, &v)) {
        struct cs_qentry *e = v;
        if (e->group != group || (e->where != CS_Q_ACTIVE && e->where != CS_Q_BACKOFF &&
                                  e->where != CS_Q_UNSCHEDULABLE)) {
            continue;
        }
        out[n++] = e;
    }
    /* Detach after the scan: detaching mutates the unschedulable map, not `all`. */
    for (size_t i = 0; i < n; i++) {
        struct cs_qentry *e = out[i];
        detach(q, e);
        e->where = CS_Q_INFLIGHT;
        q->n_inflight++;
        e->qp.attempts++;
        e->pop_seq = q->event_seq;
        e->updated = false;
    }
out:
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* The attempt of an in-flight entry ended: the newest version becomes the queued one. */
static void land(struct cs_qentry *e)
{
    if (e->newer) {
        cs_pod_unref((struct cs_pod *)e->qp.pod);
        e->qp.pod = e->newer;
        e->newer = NULL;
    }
}

bool cs_queue_still_current(struct cs_queue *q, struct cs_qentry *e, const struct cs_pod *pod)
{
    pthread_mutex_lock(&q->mu);
    const struct cs_pod *cur = e->newer ? e->newer : e->qp.pod;
    bool ok = !e->deleted && cur->uid && pod->uid && strcmp(cur->uid, pod->uid) == 0;
    pthread_mutex_unlock(&q->mu);
    return ok;
}

void cs_queue_done_scheduled(struct cs_queue *q, struct cs_qentry *e)
{
    pthread_mutex_lock(&q->mu);
    drop(q, e);
    pthread_mutex_unlock(&q->mu);
}

static bool event_since(const struct cs_queue *q, uint32_t events, uint64_t seq)
{
    for (int b = 0; b < 8; b++) {
        if ((events & (1u << b)) && q->last_event_seq[b] > seq) {
            return true;
        }
    }
    return false;
}

void cs_queue_done_unschedulable(struct cs_queue *q, struct cs_qentry *e, uint32_t events)
{
    pthread_mutex_lock(&q->mu);
    land(e);
    if (e->deleted) {
        drop(q, e);
        goto out;
    }
    e->reject_events = events;
    /* kube-scheduler re-stamps a pod that goes back after a failed attempt, so that pods that
     * keep failing do not stay ahead of newer pods of equal priority. */
    e->qp.timestamp_ns = q->now();
    e->backoff_expiry_ns = q->now() + backoff_duration(q, e->qp.attempts);
    if (!admit(q, e)) {
        goto out;
    }
    if (e->updated || event_since(q, events, e->pop_seq)) {
        requeue(q, e);
    } else {
        to_unsched(q, e);
    }
out:
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_done_error(struct cs_queue *q, struct cs_qentry *e)
{
    pthread_mutex_lock(&q->mu);
    land(e);
    if (e->deleted) {
        drop(q, e);
        goto out;
    }
    e->qp.timestamp_ns = q->now();
    e->backoff_expiry_ns = q->now() + backoff_duration(q, e->qp.attempts);
    if (admit(q, e)) {
        to_backoff(q, e, true);
    }
out:
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_on_event(struct cs_queue *q, uint32_t events)
{
    struct cs_event_info ev = { .event = events };
    cs_queue_on_event_info(q, &ev);
}

void cs_queue_on_event_info(struct cs_queue *q, const struct cs_event_info *ev)
{
    uint32_t events = ev->event;
    pthread_mutex_lock(&q->mu);
    q->event_seq++;
    for (int b = 0; b < 8; b++) {
        if (events & (1u << b)) {
            q->last_event_seq[b] = q->event_seq;
        }
    }
    if (cs_map_len(&q->unsched) == 0) {
        goto out;
    }
    struct cs_qentry **move = NULL;
    size_t n = 0, cap = 0;
    size_t it = 0;
    void *v;
    while (cs_map_next(&q->unsched, &it, NULL, &v)) {
        struct cs_qentry *e = v;
        /* A pod with no declared rejector events is moved by any event; else the rejectors'
         * hints decide. */
        if (e->reject_events == 0 ||
            ((e->reject_events & events) &&
             (q->ops.hint == NULL || q->ops.hint(q->ops.arg, e, ev)))) {
            move = cs_grow(move, sizeof(*move), n + 1, &cap);
            move[n++] = e;
        }
    }
    for (size_t i = 0; i < n; i++) {
        requeue(q, move[i]);
    }
    cs_free(move);
out:
    if ((events & CS_EV_CUSTOM) && q->n_gated && q->ops.pre_enqueue) {
        /* A plugin's gate may have cleared: ask PreEnqueue again. */
        struct cs_qentry **gated = NULL;
        size_t ng = 0, gcap = 0;
        size_t it2 = 0;
        void *v2;
        while (cs_map_next(&q->all, &it2, NULL, &v2)) {
            struct cs_qentry *e = v2;
            if (e->where == CS_Q_GATED) {
                gated = cs_grow(gated, sizeof(*gated), ng + 1, &gcap);
                gated[ng++] = e;
            }
        }
        for (size_t i = 0; i < ng; i++) {
            if (admit(q, gated[i])) {
                to_active(q, gated[i]);
            }
        }
        cs_free(gated);
    }
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_flush(struct cs_queue *q)
{
    pthread_mutex_lock(&q->mu);
    int64_t now = q->now();
    flush_backoff_locked(q, now);
    struct cs_qentry **move = NULL;
    size_t n = 0, cap = 0;
    size_t it = 0;
    void *v;
    while (cs_map_next(&q->unsched, &it, NULL, &v)) {
        struct cs_qentry *e = v;
        if (now - e->unsched_since_ns >= q->max_unsched_ns) {
            move = cs_grow(move, sizeof(*move), n + 1, &cap);
            move[n++] = e;
        }
    }
    for (size_t i = 0; i < n; i++) {
        requeue(q, move[i]);
    }
    cs_free(move);
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_close(struct cs_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void cs_queue_stats(struct cs_queue *q, struct cs_queue_stats *out)
{
    pthread_mutex_lock(&q->mu);
    out->active = q->active.n;
    out->backoff = q->backoff.n;
    out->unschedulable = (uint32_t)cs_map_len(&q->unsched);
    out->gated = q->n_gated;
    out->inflight = q->n_inflight;
    pthread_mutex_unlock(&q->mu);
}
