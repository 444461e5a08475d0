#ifndef CS_PKG_KQUEUE_KQUEUE_H
#define CS_PKG_KQUEUE_KQUEUE_H
/*
 * The job queue (ack-kube-queue, ack-features.md 6): whole jobs wait, suspended, as
 * QueueUnits in Queues, and are released when their quota can take all of them.
 *
 * This is the model: units, queues and the release decision as pure data (no I/O, no threads;
 * the owner serialises every call). The quota tree comes from pkg/quota (parsed and validated
 * there); the model charges jobs to it, not pods.
 *
 * Units. A unit is one QueueUnit: its total request (replicas x pod-template requests), its
 * priority and creation time, and its phase. Enqueued units wait; Dequeued (released, its
 * reservation held) and Running units are charged to their quota node and every ancestor, as
 * resources and as one job; Succeed and Failed units are charged nothing.
 *
 * Queues. One per quota node (named by cs_kq_queue_name), one "default" queue for units in no
 * quota (nothing limits it), and any Queue a user creates (no quota either). A unit goes to the
 * queue its annotation names, else to its quota's queue; its quota is the one its label names,
 * else the leaf of its namespace.
 *
 * Release (cs_kq_schedule), queue by queue, in order: priority descending, then creation, then
 * name. A preemptible unit fits when used + request <= max and jobs + 1 <= max "kube-queue/
 * max-jobs" at its quota and every ancestor; a non-preemptible one is checked the same way
 * against what non-preemptible units use and the min (ack-features.md 6.3). Policy Priority
 * skips a unit that does not fit and tries the next; Block stops at the first unit that does
 * not fit (strict head of line). Every waiting unit gets a message for people: why it waits
 * and its position.
 *
 * Fairness, the "hungry quota" rule (ack-features.md 6.3): a quota node is hungry when a unit
 * waits in its queue (the head, under Block) that would keep it within its min (used + request
 * <= min in every resource it asks, max-jobs allowing one more). While some node is hungry, a
 * preemptible unit that would take its own quota above its min (borrow) waits ("blocked by
 * quota root.a because of min: ... root.b waits below its min"), unless the hungry node is its
 * own quota, an ancestor or a descendant. So a leaf that borrows cannot take the capacity a
 * sibling is guaranteed and asking for; a unit that could never fit within min makes no one
 * hungry.
 *
 * Plain ResourceQuotas (no tree): a unit is released only when its request fits under every
 * ResourceQuota of its namespace: used (set by the owner: what the namespace's pods use,
 * jobs this model holds a reservation for left out) + the reservations of its released units
 * + the request <= hard, per resource the quota limits ("blocked by ResourceQuota qa/rq because
 * of requests.cpu: used 3 + job 2 > hard 4"). Keys and what a unit counts against them:
 * requests.<r>, cpu/memory/ephemeral-storage and pods/count/pods its spec.resource (which
 * counts "pods" as the scheduler does, one per pod); limits.<r> its pods' summed limits (set by
 * the owner from the job, cs_kq_unit_set_limits; 0 when not known). Other count/<kind> keys are
 * not gated: the job object is counted when it is created, and what else it makes is not known.
 *
 * Requeue backoff: a unit put back (cs_kq_unit_requeue) waits until its backoff ends
 * (compared with m->now_ns, which the owner sets before each pass).
 *
 * Allow-lists (ack-features.md 6.2; the names are koord-queue's annotations, kept as written).
 * Each is a comma-separated list, "*" meaning all; each restricts only where it is set:
 *   Namespace kube-queue/available-quota-in-namespace: the quotas its units may name by label
 *             (the leaf that lists the namespace is always theirs);
 *   Namespace kube-queue/available-queue-in-namespace: the queues its units may name by
 *             annotation (their quota's own queue is always theirs; koord-queue writes this one
 *             as a JSON object keyed by queue, which is read too);
 *   Queue     kube-queue/available-quota-in-queue: the quotas whose units it takes (besides
 *             the quota it was made for).
 * A unit that an allow-list keeps out waits apart, in no queue's order (so it blocks no one),
 * with a message naming the list; it goes in as soon as the list or its labels change. (Unlike
 * koord-queue, where a tree Queue without the annotation takes only its own quota's units, and
 * a namespace without one may name no quota at all when the check is on.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pkg/quota/quota.h"
#include "pkg/util/map.h"

enum cs_kq_phase {
    CS_KQ_ENQUEUED = 0,
    CS_KQ_DEQUEUED,
    CS_KQ_RUNNING,
    CS_KQ_SUCCEED,
    CS_KQ_FAILED,
};

enum cs_kq_policy { CS_KQ_PRIORITY = 0, CS_KQ_BLOCK };

/* "Enqueued", ...; parse: unknown or empty -> Enqueued, returns false for unknown non-empty. */
const char *cs_kq_phase_name(enum cs_kq_phase p);
bool cs_kq_phase_parse(const char *s, enum cs_kq_phase *out);
const char *cs_kq_policy_name(enum cs_kq_policy p);
/* "Priority" / "Block" (and "StrictPriority" as Block); false for anything else. */
bool cs_kq_policy_parse(const char *s, enum cs_kq_policy *out);

/* A resource amount by name: cpu in millicores, everything else in units (bytes). */
struct cs_kq_res {
    char *name;
    int64_t v;
};

/* Lists of them (heap array, names owned): free, deep copy (NULL when n is 0), amount by name
 * (0 when absent). */
void cs_kq_res_list_free(struct cs_kq_res *l, uint32_t n);
struct cs_kq_res *cs_kq_res_list_copy(const struct cs_kq_res *l, uint32_t n);
int64_t cs_kq_res_list_get(const struct cs_kq_res *l, uint32_t n, const char *name);

/* What the model needs of a QueueUnit (borrowed; the model copies). */
struct cs_kq_unit_spec {
    const char *ns, *name;
    int32_t priority;
    int64_t creation_ns;
    const char *queue;           /* queue named by the unit (annotation kube-queue/queue-name),
                                  * NULL: its quota's */
    const char *quota;           /* quota named by its label, NULL: its namespace's leaf */
    bool preemptible;
    const struct cs_kq_res *res;
    uint32_t n_res;
};

struct cs_kq_unit {
    char *key;                   /* "ns/name" */
    char *ns, *name;
    int32_t priority;
    int64_t creation_ns;         /* the unit's; the owner sets its job's when it knows the job */
    char *want_queue, *want_quota;
    bool preemptible;
    struct cs_kq_res *res;
    uint32_t n_res;
    enum cs_kq_phase phase;
    /* derived (the model's) */
    int32_t quota;               /* node index, -1: none */
    int32_t queue;               /* index into the model's queues, -1: the named queue is missing */
    int64_t req[CS_QUOTA_MAX_DIMS];  /* res in the tree's resources */
    bool charged;
    uint32_t position, waiting;  /* Enqueued: 1-based position among `waiting` units */
    char message[320];
    bool changed;                /* phase, message or position changed since the owner cleared it */
    int64_t backoff_until_ns;    /* requeued: not released before (m->now_ns) */
    uint32_t requeues;           /* how many times it was put back */
    char requeue_why[160];       /* why it was last put back ("" never) */
    bool denied;                 /* an allow-list keeps it out of its queue (message says which) */
    /* the owner's, read from the job (not part of the QueueUnit): its pods' summed limits, what
     * it counts against a ResourceQuota's limits.* (cs_kq_unit_set_limits) */
    struct cs_kq_res *limits;
    uint32_t n_limits;
};

struct cs_kq_queue {
    char *name;
    int32_t quota;               /* node index, -1: no quota */
    bool from_tree;
    bool user;                   /* a Queue object a user made (not from the tree) */
    enum cs_kq_policy policy;
    bool policy_set;             /* set by its Queue object's spec.queuePolicy */
    char *allow_quotas;          /* kube-queue/available-quota-in-queue, NULL: not set */
    struct cs_kq_unit **order;   /* waiting units in release order, after cs_kq_schedule */
    uint32_t n_order, cap_order;
    bool changed;                /* order changed since the owner cleared it */
};

struct cs_kq_rq {
    char *ns, *name;
    uint32_t n;
    char **key;                  /* as written in spec.hard: "requests.cpu" */
    char **res;                  /* what it limits: "cpu" */
    int64_t *hard, *used, *reserved;   /* used: the owner's; reserved: the model's */
};

struct cs_kq_model {
    struct cs_quota_tree *tree;  /* owned; NULL: no quotas */
    int64_t *max_jobs, *min_jobs;             /* per node, owned */
    int64_t (*used)[CS_QUOTA_MAX_DIMS];       /* per node: Dequeued + Running units */
    int64_t (*np_used)[CS_QUOTA_MAX_DIMS];    /* the non-preemptible part */
    int64_t *jobs, *np_jobs;
    struct cs_map units;         /* key -> struct cs_kq_unit * */
    struct cs_kq_queue **queues;
    uint32_t n_queues;
    struct cs_map queue_by_name; /* name -> index + 1 */
    enum cs_kq_policy default_policy;
    struct cs_kq_rq **rqs;       /* ResourceQuotas (used when there is no tree) */
    uint32_t n_rqs;
    uint8_t *hungry;             /* per node: hungry in the current pass (cs_kq_schedule) */
    int64_t now_ns;              /* the owner's clock, for backoffs (0: backoffs ignored) */
    struct cs_map ns_allow;      /* namespace -> struct cs_kq_ns_allow * */
};

/* A namespace's allow-lists (NULL: not set). */
struct cs_kq_ns_allow {
    char *ns;                    /* the map's key */
    char *quotas;                /* kube-queue/available-quota-in-namespace */
    char *queues;                /* kube-queue/available-queue-in-namespace */
};

void cs_kq_model_init(struct cs_kq_model *m, enum cs_kq_policy default_policy);
void cs_kq_model_destroy(struct cs_kq_model *m);

/* The Queue name of a quota node (ack-features.md 6.2): its full name lower-cased, '/' and '_'
 * (and anything a Kubernetes name cannot hold) turned into '-', the last 58 characters, trimmed
 * so that it starts and ends with a letter or digit (the real apiserver refuses the trailing
 * '-' kube-queue appends). */
void cs_kq_queue_name(const char *fullname, char *out, size_t n);

/* Install a tree (owned; NULL removes quotas) with its max-jobs/min-jobs arrays (owned, t->n
 * each, may be NULL: unlimited). Queues are rebuilt, units re-mapped and charged anew. */
void cs_kq_set_tree(struct cs_kq_model *m, struct cs_quota_tree *t, int64_t *max_jobs,
                    int64_t *min_jobs);
/* A Queue object exists (or changed): policy NULL/"" keeps the default. A name that is not a
 * tree queue becomes a user queue (no quota). */
void cs_kq_queue_upsert(struct cs_kq_model *m, const char *name, const char *policy);
void cs_kq_queue_remove(struct cs_kq_model *m, const char *name);
/* A Queue's kube-queue/available-quota-in-queue (NULL or "": not set; kept when the tree
 * changes; forgotten with the queue). No-op for a queue the model does not have. */
void cs_kq_queue_set_quotas(struct cs_kq_model *m, const char *name, const char *quotas);
/* A namespace's allow-lists (both NULL or "": none, as when it is deleted). */
void cs_kq_ns_set(struct cs_kq_model *m, const char *ns, const char *quotas, const char *queues);
/* Does an allow-list keep u out of its queue? why (when true): which list, in words. */
bool cs_kq_denied(const struct cs_kq_model *m, const struct cs_kq_unit *u, char *why, size_t n);
struct cs_kq_queue *cs_kq_queue_get(const struct cs_kq_model *m, const char *name);

/* A ResourceQuota exists or changed: n limits, key[i] as written, res[i] the resource, hard[i]
 * in the model's units (cpu in millicores). Its used row is kept across updates of the same
 * keys. Returns it (owned by the model; the owner writes used[]). */
struct cs_kq_rq *cs_kq_rq_set(struct cs_kq_model *m, const char *ns, const char *name,
                              const char *const *key, const char *const *res,
                              const int64_t *hard, uint32_t n);
void cs_kq_rq_remove(struct cs_kq_model *m, const char *ns, const char *name);
/* Is a ResourceQuota resource ("cpu", "limits.cpu") kept in millicores? */
static inline bool cs_kq_rq_milli(const char *res)
{
    return strcmp(res, "cpu") == 0 || strcmp(res, "limits.cpu") == 0;
}

/* Add or update a unit (its phase is kept on update). */
struct cs_kq_unit *cs_kq_unit_upsert(struct cs_kq_model *m, const struct cs_kq_unit_spec *s);
struct cs_kq_unit *cs_kq_unit_get(const struct cs_kq_model *m, const char *key);
/* The summed limits of the pods the unit's job runs at once (copied), for limits.* keys. */
void cs_kq_unit_set_limits(struct cs_kq_unit *u, const struct cs_kq_res *limits, uint32_t n);
/* Set a unit's phase (charging or releasing its reservation). */
void cs_kq_unit_set_phase(struct cs_kq_model *m, struct cs_kq_unit *u, enum cs_kq_phase p);
void cs_kq_unit_remove(struct cs_kq_model *m, const char *key);

/* Put a released unit back (its job was suspended again): phase Enqueued, its reservation
 * released, not released again before now_ns + backoff_ns; why says what happened. */
void cs_kq_unit_requeue(struct cs_kq_model *m, struct cs_kq_unit *u, int64_t backoff_ns,
                        const char *why);

/* Decide: release every unit that may go now (phase Dequeued, charged); *out (heap array, the
 * caller frees it with cs_free) lists them in release order. Messages and positions of the
 * units that wait are brought up to date. Returns how many were released. */
uint32_t cs_kq_schedule(struct cs_kq_model *m, struct cs_kq_unit ***out);

/* Why a unit waits (empty when it would fit now), without changing anything. */
bool cs_kq_fits(const struct cs_kq_model *m, const struct cs_kq_unit *u, char *why, size_t n);

#endif
