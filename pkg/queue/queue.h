#ifndef CS_PKG_QUEUE_QUEUE_H
#define CS_PKG_QUEUE_QUEUE_H
/*
 * The scheduling queue: kube-scheduler's three-part queue.
 *
 *   activeQ        heap ordered by the QueueSort plugin (ops->less): pods to try now
 *   backoffQ       heap ordered by backoff expiry: pods that failed recently
 *   unschedulable  pods rejected by plugins, waiting for a cluster event those plugins declared
 *   gated          pods a PreEnqueue plugin refused (e.g. scheduling gates), re-checked on update
 *
 * Every pending pod the scheduler owns is in exactly one place, or "in flight" (popped, being
 * scheduled); the queue never forgets a pod except when it is deleted or scheduled. Events that
 * arrive while a pod is in flight are remembered (a per-event sequence), so a pod rejected by a
 * plugin whose event fired during its attempt goes to backoff instead of waiting forever.
 *
 * Thread model: one mutex and a condition variable. The informer thread adds/updates/deletes,
 * the scheduler thread pops and reports results, the binder requeues after failed binds.
 * Entries are owned by the queue; popped entries are lent to the caller until a done_* call.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/plugin.h"
#include "pkg/util/map.h"

enum cs_qwhere {
    CS_Q_NONE = 0,
    CS_Q_ACTIVE,
    CS_Q_BACKOFF,
    CS_Q_UNSCHEDULABLE,
    CS_Q_GATED,
    CS_Q_INFLIGHT,
};

struct cs_qentry {
    struct cs_queued_pod qp;     /* qp.pod is a counted reference to the newest version */
    char *key;                   /* owned "ns/name" */
    enum cs_qwhere where;
    int32_t heap_idx;
    int64_t backoff_expiry_ns;
    int64_t unsched_since_ns;
    uint32_t reject_events;      /* events that may make it schedulable again */
    uint64_t reject_plugins;     /* who rejected it (profile instance bits; 0 = unknown),
                                  * for queueing hints; set by the caller before done_* */
    uint64_t pop_seq;            /* event sequence number when popped */
    bool deleted;                /* deleted while in flight */
    bool updated;                /* a newer version arrived while in flight */
    bool error_backoff;          /* in backoff after an error (a failed bind): never popped
                                  * before its expiry */
    struct cs_pod *newer;        /* that version (counted), swapped in when the attempt ends:
                                  * the scheduling thread reads qp.pod without the lock */
    char *gated_reason;          /* owned; why PreEnqueue refused it */
    uint64_t reported;           /* hash of the last failure reported for this pod (0: none);
                                  * owned by the scheduling thread, which skips repeating it */
    const char *group;           /* the pod's group key (ops->group_of, interned), or NULL */
};

struct cs_queue_ops {
    /* QueueSort: a before b. Called under the queue lock. */
    bool (*less)(void *arg, const struct cs_queued_pod *a, const struct cs_queued_pod *b);
    /* PreEnqueue: true to admit; otherwise fills reason. Called under the queue lock. */
    bool (*pre_enqueue)(void *arg, const struct cs_pod *pod, char *reason, size_t n);
    /* Did an update change anything scheduling depends on? Status-only updates (including the
     * scheduler's own PodScheduled condition) must not re-activate a rejected pod. NULL: every
     * update counts. Called under the queue lock. */
    bool (*changed)(void *arg, const struct cs_pod *old, const struct cs_pod *pod);
    /* The group key of a pod (an interned string compared by pointer), or NULL. Called under
     * the queue lock when a pod is added or updated. NULL op: no groups. */
    const char *(*group_of)(void *arg, const struct cs_pod *pod);
    /* Queueing hints: may the event move this unschedulable entry (whose reject_events match
     * it)? NULL = yes. Called under the queue lock. */
    bool (*hint)(void *arg, const struct cs_qentry *e, const struct cs_event_info *ev);
    void *arg;
};

struct cs_qheap {
    struct cs_qentry **v;
    uint32_t n;
    uint32_t cap;
};

struct cs_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct cs_queue_ops ops;
    struct cs_map all;           /* key -> entry (every place, incl. in flight) */
    struct cs_qheap active;
    struct cs_qheap backoff;
    struct cs_map unsched;       /* key -> entry */
    struct cs_map group_waiting; /* group key -> members waiting in active/backoff/unsched
                                  * (count as uintptr_t): take_group skips empty groups */
    uint32_t n_gated;
    uint32_t n_inflight;
    int64_t initial_backoff_ns;
    int64_t max_backoff_ns;
    bool pop_from_backoff;       /* kube-scheduler's SchedulerPopFromBackoffQ (on by default
                                  * since v1.33): when activeQ is empty, pop the backoff head
                                  * unless it backs off after an error. Off unless set. */
    int64_t max_unsched_ns;      /* flush unschedulable pods older than this */
    uint64_t event_seq;
    uint64_t last_event_seq[8];  /* per cs_cluster_event bit */
    bool closed;
    int64_t (*now)(void);        /* clock (monotonic ns); replaceable in tests */
};

void cs_queue_init(struct cs_queue *q, const struct cs_queue_ops *ops, int64_t initial_backoff_ns,
                   int64_t max_backoff_ns);
void cs_queue_destroy(struct cs_queue *q);

/* A pending pod was added or updated (informer). Takes its own reference. */
void cs_queue_add(struct cs_queue *q, struct cs_pod *pod);
/* The pod was deleted or got assigned by someone: leave the queue. */
void cs_queue_delete(struct cs_queue *q, const char *key);
/* Put a pod whose bind failed back, with the backoff its attempts so far earn (binder). The
 * caller passes the newest version it knows; a newer one the queue holds wins. */
void cs_queue_requeue_backoff(struct cs_queue *q, struct cs_pod *pod, uint32_t attempts);

/* Pop up to max pods from activeQ (moving expired backoff pods first); waits up to timeout_ns
 * for at least one. Returns the number popped (0 on timeout or close). */
size_t cs_queue_pop(struct cs_queue *q, struct cs_qentry **out, size_t max, int64_t timeout_ns);

/* Take the pending members of a group that wait anywhere but in flight (active, backoff,
 * unschedulable; not gated) into out, at most max; they are in flight afterwards, exactly as if
 * popped. Returns how many. Groups are taken whole whatever the batch size, and a member in
 * backoff does not hold its group back. O(pending pods). */
size_t cs_queue_take_group(struct cs_queue *q, const char *group, struct cs_qentry **out,
                           size_t max);

/* Is the popped entry still the same pod (not deleted, not replaced by a new pod with the same
 * name)? Checked before committing a decision. */
bool cs_queue_still_current(struct cs_queue *q, struct cs_qentry *e, const struct cs_pod *pod);

/* Results of an attempt (scheduler thread). Each consumes the popped entry. */
void cs_queue_done_scheduled(struct cs_queue *q, struct cs_qentry *e);
void cs_queue_done_unschedulable(struct cs_queue *q, struct cs_qentry *e, uint32_t events);
void cs_queue_done_error(struct cs_queue *q, struct cs_qentry *e);

/* A cluster event happened (cs_cluster_event bits): move matching unschedulable pods. */
void cs_queue_on_event(struct cs_queue *q, uint32_t events);
/* The same for one event with its objects: unschedulable pods whose rejectors' queueing hints
 * say it may help are moved. A custom event also re-checks gated pods (a plugin's gate may have
 * cleared). */
void cs_queue_on_event_info(struct cs_queue *q, const struct cs_event_info *ev);
/* Periodic housekeeping: expired backoff -> active, stale unschedulable -> active/backoff. */
void cs_queue_flush(struct cs_queue *q);
/* Wake all poppers and make pop return 0 from now on. */
void cs_queue_close(struct cs_queue *q);

struct cs_queue_stats {
    uint32_t active;
    uint32_t backoff;
    uint32_t unschedulable;
    uint32_t gated;
    uint32_t inflight;
};
void cs_queue_stats(struct cs_queue *q, struct cs_queue_stats *out);

#endif
