#ifndef CS_PKG_SCHEDULER_SCHEDULER_H
#define CS_PKG_SCHEDULER_SCHEDULER_H
/*
 * The scheduler: wires informers -> cache/queue -> session cycles -> binder, and owns every
 * long-lived piece. main() builds a cs_scheduler from flags and configuration, starts it, and
 * stops it on SIGTERM (in-flight binds finish first).
 *
 * Threads:
 *   watch I/O thread:        informer handlers (decode, cache, queue), housekeeping timers.
 *   bind I/O thread:         bind requests and completions, event and status writes.
 *   scheduler thread:        session cycles: pop a batch, refresh the snapshot, place pods
 *                            through statements, commit (assume + bind), report failures.
 * Shared state is the cache (its lock), the queue (its lock) and atomics for counters.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/podroom.h"
#include "api/types.h"
#include "pkg/binder/binder.h"
#include "pkg/binder/recorder.h"
#include "pkg/cache/cache.h"
#include "pkg/framework/framework.h"
#include "pkg/framework/handle.h"
#include "pkg/framework/nominator.h"
#include "pkg/framework/session.h"
#include "pkg/framework/snapshot.h"
#include "pkg/framework/statement.h"
#include "pkg/metrics/sched_metrics.h"
#include "pkg/queue/queue.h"
#include "pkg/util/intern.h"
#include "pkg/util/map.h"

struct cs_client;
struct cs_informer;
struct cs_metrics_registry;

struct cs_scheduler_opts {
    int batch_size;                /* pods per session (default 256) */
    int64_t initial_backoff_ns;
    int64_t max_backoff_ns;
    uint64_t seed;                 /* tie-break randomness; 0 = from the clock */
    const char *identity;          /* reportingInstance / leader identity */
    uint32_t actions;              /* session actions (CS_ACTION_*); 0 = allocate, preempt */
};

/* A bind that failed on the bind I/O thread: Unreserve runs on the scheduling thread at the
 * next session open (the attempt's state is gone by then: plugins get a fresh state). */
struct cs_unreserve_job {
    struct cs_pod *pod;            /* counted */
    struct cs_profile *prof;
    const char *node;
    struct cs_unreserve_job *next;
};

struct cs_scheduler {
    struct cs_intern strings;
    struct cs_resource_names resources;
    struct cs_pod_room pod_room;
    struct cs_api_ctx api;
    struct cs_client *client;      /* borrowed: informers, timers, leader election */
    struct cs_client *bind_client; /* borrowed: binds, events, status patches (may == client) */
    struct cs_informer *pod_inf;
    struct cs_informer *node_inf;
    struct cs_informer *prio_inf;  /* PriorityClasses, for pods without spec.priority */
    struct cs_prio_table *priorities;
    struct cs_cache cache;
    struct cs_queue queue;
    struct cs_profile *profiles;
    uint32_t n_profiles;
    struct cs_snapshot snap;
    struct cs_cycle cycle;
    struct cs_fw_handle fw;        /* what plugins registered at init; hooks set here */
    uint64_t fw_invalidations;     /* fw.invalidations the snapshot epoch last followed */
    struct cs_nominator nominator;
    struct cs_session session;
    struct cs_session_env env;
    struct cs_informer **extra_inf;  /* plugins' watches (cs_fw_watch) */
    uint32_t n_extra_inf;
    bool journal;                  /* some plugin wants on_pod/on_node */
    pthread_mutex_t unres_mu;
    struct cs_unreserve_job *unres;  /* failed binds awaiting Unreserve (LIFO) */
    struct cs_binder binder;
    struct cs_recorder recorder;
    struct cs_metrics_registry *registry;   /* borrowed */
    struct cs_sched_metrics metrics;
    struct cs_scheduler_opts opts;

    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    atomic_bool leading;           /* schedule only while true */
    pthread_mutex_t live_mu;       /* guards live (informer and bind threads) */
    struct cs_map live;            /* key -> what the informer last saw of the pod */
    struct cs_map newer;           /* key -> newest version (counted) of a pod seen while it was
                                    * assumed; requeued instead of the bound one if the bind
                                    * fails (guarded by live_mu) */
    atomic_long scheduled;
    atomic_long unschedulable;
    atomic_long errors;
    atomic_long bound;
    atomic_long bind_failed;
};

/* Initialise everything that does not talk to the cluster. Profiles are added next. */
void cs_scheduler_init(struct cs_scheduler *s, struct cs_client *client,
                       struct cs_metrics_registry *reg, const struct cs_scheduler_opts *opts);
/* Connect the API clients (profiles are built before any connection, so a bad configuration
 * fails before a client exists). Call once, before cs_scheduler_start. Informer handlers run
 * on `client`'s I/O thread, bind completions on `bind_client`'s: two threads share the work of
 * a busy scheduler (pass the same client twice for one thread). */
void cs_scheduler_set_client(struct cs_scheduler *s, struct cs_client *client,
                             struct cs_client *bind_client);
/* Add a profile built by the caller (ownership moves to the scheduler). */
void cs_scheduler_add_profile(struct cs_scheduler *s, const struct cs_profile *prof);
/* Start informers (the client must be running) and the scheduler thread. */
int cs_scheduler_start(struct cs_scheduler *s, char *err, size_t errlen);
/* 1 when both informers have synced. */
int cs_scheduler_synced(struct cs_scheduler *s);
void cs_scheduler_set_leading(struct cs_scheduler *s, bool leading);
/* Stop scheduling, wait for in-flight binds (up to timeout), stop informers. */
void cs_scheduler_stop(struct cs_scheduler *s, int64_t drain_timeout_ns);
void cs_scheduler_destroy(struct cs_scheduler *s);

#endif
