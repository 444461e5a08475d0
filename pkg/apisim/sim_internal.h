#ifndef CS_PKG_APISIM_SIM_INTERNAL_H
#define CS_PKG_APISIM_SIM_INTERNAL_H
/*
 * Internals shared by the simulation's sources (sim_core.c, sim_ctl.c, sim_flags.c) and its
 * unit tests. Not for the HTTP layer: it only needs sim.h.
 *
 * Threads: the write hook runs on whichever thread writes the store (store lock held) and
 * only appends to the work list under sim->mu. Everything else here runs on the simulation
 * thread with the store lock held; the timer heap is touched by that thread only.
 * Lock order: store lock, then sim->mu; never the reverse.
 */
#include <pthread.h>
#include <stdint.h>

#include <jansson.h>

#include "pkg/apisim/sim.h"
#include "pkg/apisim/store.h"
#include "pkg/util/map.h"

/* ---- timer heap (min-heap on deadline, FIFO among equal deadlines) --------------------- */
enum cs_apisim_timer_kind {
    CS_APISIM_T_RUN = 1,        /* bound pod -> Running */
    CS_APISIM_T_FINISH,         /* running pod with run-seconds -> Succeeded/Failed */
};

struct cs_apisim_timer {
    int64_t deadline_ns;        /* monotonic */
    uint64_t seq;               /* insertion order, breaks ties */
    int kind;
    char *key;                  /* "ns/name", owned */
    char *uid;                  /* owned; the action checks the object still has it */
};

struct cs_apisim_timer_heap {
    struct cs_apisim_timer *v;
    size_t len, cap;
    uint64_t seq;
};

void cs_apisim_timer_heap_init(struct cs_apisim_timer_heap *h);
void cs_apisim_timer_heap_free(struct cs_apisim_timer_heap *h);
/* Copies key and uid. */
void cs_apisim_timer_push(struct cs_apisim_timer_heap *h, int64_t deadline_ns, int kind,
                          const char *key, const char *uid);
/* Earliest timer or NULL (borrowed until the next push/pop). */
const struct cs_apisim_timer *cs_apisim_timer_peek(const struct cs_apisim_timer_heap *h);
/* Remove the earliest timer into *out (caller frees out->key/uid with cs_free); 0 if empty. */
int cs_apisim_timer_pop(struct cs_apisim_timer_heap *h, struct cs_apisim_timer *out);

/* ---- work items queued by the write hook ----------------------------------------------- */
enum cs_apisim_work_kind {
    CS_APISIM_W_POD = 1,        /* pod lifecycle check */
    CS_APISIM_W_DEPLOY,
    CS_APISIM_W_RS,
    CS_APISIM_W_JOB,
    CS_APISIM_W_TFJOB,
    CS_APISIM_W_PYTORCHJOB,
    CS_APISIM_W_GC,             /* delete dependents of owner uid (name field) in ns */
};

struct cs_apisim_work {
    int kind;
    char *ns;
    char *name;
};

struct cs_apisim_sim_stats {
    uint64_t pods_running, pods_succeeded, pods_failed, pods_created, pods_deleted;
    uint64_t reconciles, nodes_generated, pods_generated, graceful_reaped;
};

struct cs_apisim_sim {
    struct cs_apisim_store *st;
    struct cs_apisim_fault fault;
    /* copied option scalars */
    int64_t running_delay_ms;
    int pod_lifecycle, ctl_deployments, ctl_jobs, ctl_kubeflow, reap_terminating;

    pthread_t thread;
    int thread_started;
    pthread_mutex_t mu;         /* guards work, stop */
    pthread_cond_t cv;
    int stop;
    struct cs_apisim_work *work;
    size_t nwork, work_cap;

    struct cs_apisim_timer_heap timers;   /* sim thread only */
    struct cs_apisim_sim_stats stats;     /* sim thread writes; read under store lock */
};

/* ---- helpers (sim_core.c) ----------------------------------------------------------------- */
/* String at a dotted path of object keys ("spec.nodeName"), or "" when absent. */
const char *cs_apisim_jstr(const json_t *o, const char *path);
/* metadata.annotations[key] or metadata.labels[key]; NULL when absent. */
const char *cs_apisim_annotation(const json_t *o, const char *key);
const char *cs_apisim_label(const json_t *o, const char *key);
/* The controller ownerReference's uid/kind/name (NULL when the object has none). */
const json_t *cs_apisim_controller_ref(const json_t *o);
int cs_apisim_owned_by(const json_t *o, const char *uid);
/* Queue a work item (takes sim->mu; may be called with the store lock held). */
void cs_apisim_sim_enqueue(struct cs_apisim_sim *s, int kind, const char *ns, const char *name);
/* Apply the defaulting the apiserver's admission would do for a pod created by a
 * controller (schedulerName, requests from limits, priority from priorityClassName). */
void cs_apisim_sim_default_pod(struct cs_apisim_store *st, json_t *pod);
/* Build an ownerReference for owner (kind/apiVersion from the object). New reference. */
json_t *cs_apisim_owner_ref(const json_t *owner);
/* Create a pod from a pod template (labels/annotations/spec), named `name` or, if
 * generate_name != NULL, generated. extra_labels may be NULL. Lock held. 0 or HTTP code. */
int cs_apisim_sim_create_pod(struct cs_apisim_sim *s, const char *ns, const json_t *tmpl,
                             const char *name, const char *generate_name,
                             const json_t *owner, const json_t *extra_labels);
/* Delete a pod with its default grace period. */
void cs_apisim_sim_delete_pod(struct cs_apisim_sim *s, const char *ns, const char *name);

/* ---- controllers (sim_ctl.c), store lock held --------------------------------------------- */
void cs_apisim_ctl_deployment(struct cs_apisim_sim *s, const char *ns, const char *name);
void cs_apisim_ctl_replicaset(struct cs_apisim_sim *s, const char *ns, const char *name);
void cs_apisim_ctl_job(struct cs_apisim_sim *s, const char *ns, const char *name);
void cs_apisim_ctl_kubeflow(struct cs_apisim_sim *s, int kind, const char *ns,
                            const char *name);
void cs_apisim_ctl_gc(struct cs_apisim_sim *s, const char *ns, const char *owner_uid);

/* ---- generator wiring (sim_core.c) ---------------------------------------------------------- */
/* Create the generated nodes and pods in the store (lock held). 0 or -1 (logged). */
int cs_apisim_sim_generate(struct cs_apisim_sim *s, const struct cs_apisim_sim_opts *o);

#endif
