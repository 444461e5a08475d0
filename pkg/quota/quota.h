#ifndef CS_PKG_QUOTA_QUOTA_H
#define CS_PKG_QUOTA_QUOTA_H
/*
 * The elastic quota model: ACK's ElasticQuotaTree (and scheduler-plugins' flat ElasticQuota,
 * seen as a one-level tree), the pods charged to it, and the decisions built on them. Shared by
 * the CapacityScheduling plugin and the job queue; pure data (no I/O, no threads, no locks: the
 * owner serialises every call).
 *
 * Tree. Quota nodes with a min (guaranteed) and a max (the cap, borrowed resources included)
 * per resource; a resource absent from max is unlimited, absent from min is 0. Leaves carry
 * namespaces; a pod is charged to the leaf of its namespace and to every ancestor. Resources
 * are the names the tree mentions (any name: cpu, memory, nvidia.com/gpu ...); names under
 * "kube-queue/" belong to the job queue and are not charged. A tree is validated as a whole
 * (cs_quota_tree_parse): an invalid one is refused with the rule and the nodes it breaks.
 *
 * Pods. Each known pod has a state: PENDING (waiting), NOMINATED (waiting for preempted pods to
 * go; its request is held against its quotas), ASSIGNED (bound or assumed: used). An assigned
 * pod that is being deleted or was chosen as a victim is "evicting" and no longer counts as
 * used. Every change updates the leaf and its ancestors (O(depth x resources)); nothing rescans
 * the pods, except installing a new tree (O(pods)).
 *
 * Admission (cs_quota_admit), for a pod of leaf L asking r:
 *   max         used + nominated + r <= max at L and every ancestor;
 *   guarantee   where the pod would make a node N borrow (exceed N's min), its parent must keep
 *               room for what N's siblings are guaranteed and asking for: for each sibling S,
 *               min(S.min, S.used + S.nominated + S.pending) - (S.used + S.nominated).
 *               A pod that keeps N within its min is never refused by this rule.
 * Reclaim (cs_quota_reclaim): a pod that stays within its leaf's min may take back from
 * borrowers (quotas above their min) whatever the max rule needs, any priority, without
 * bringing any quota below its min; otherwise only lower-priority pods of its own quota.
 * "Within its min" and "borrowing" are judged on the resources the leaf names in its min or
 * max: a quota that says nothing about memory is not a memory borrower (whereas the max and
 * guarantee rules apply to every resource of the tree, a parent's included).
 * Victims: PDB-safe first, lowest priority, then the borrower furthest above its min (so
 * siblings give back evenly), then newest; then every victim that is not needed is spared.
 * A state where every quota is within its min is stable: nothing may preempt from it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/resource.h"
#include "api/types.h"
#include "pkg/util/map.h"

#define CS_QUOTA_MAX_DIMS 32
#define CS_QUOTA_MAX_DEPTH 32
#define CS_QUOTA_UNLIMITED INT64_MAX

struct cs_quota_node {
    char *name;                    /* the full name ("root.a.1"), unique in the tree */
    int32_t parent;                /* index, -1 for the root */
    uint32_t depth;                /* root 0 */
    int32_t *children;             /* indexes */
    uint32_t n_children;
    char **namespaces;
    uint32_t n_namespaces;
    json_t *attributes;            /* counted reference, or NULL */
    int64_t min[CS_QUOTA_MAX_DIMS];
    int64_t max[CS_QUOTA_MAX_DIMS];   /* CS_QUOTA_UNLIMITED when absent */
    uint32_t declared;             /* bit d: the node names resource d in its min or max */
    /* accounting (owned by the model) */
    int64_t used[CS_QUOTA_MAX_DIMS];
    int64_t nominated[CS_QUOTA_MAX_DIMS];
    int64_t pending[CS_QUOTA_MAX_DIMS];
    uint32_t n_assigned, n_pending;
    struct cs_quota_pod *assigned; /* leaves: the charged assigned pods, least important
                                    * first (cs_quota_less_important) */
};

struct cs_quota_tree {
    char *source;                  /* what it came from: "kube-system/name" or "ElasticQuota" */
    char *resource_version;
    uint32_t n_dims;
    char *dim[CS_QUOTA_MAX_DIMS];
    int dim_slot[CS_QUOTA_MAX_DIMS];  /* dense slot in the api's table, -1: by name (extras) */
    struct cs_quota_node *nodes;   /* pre-order: nodes[0] is the root */
    uint32_t n;
    struct cs_map ns_leaf;         /* namespace -> leaf index + 1 (as a pointer) */
};

/* Parse and validate spec.root of an ElasticQuotaTree object. 0 with *out, or -1 with err
 * naming the rule and the nodes ("min<=max: quota root.a.1 min cpu 30 > max 20"). */
int cs_quota_tree_parse(const json_t *obj, struct cs_resource_names *res,
                        struct cs_quota_tree **out, char *err, size_t errlen);
/* A tree from flat ElasticQuota objects (one per namespace): a root whose min and max are the
 * sum of the mins (the guaranteed total is the budget), one leaf per object named
 * "<namespace>/<name>". Objects that are invalid are left out, each described in errs (one
 * line each) so the caller can report them. Returns NULL when no object is valid. */
struct cs_quota_tree *cs_quota_tree_from_flat(const json_t *const *objs, size_t n,
                                              struct cs_resource_names *res, char *errs,
                                              size_t errlen);
void cs_quota_tree_free(struct cs_quota_tree *t);
/* Same spec (names, namespaces, min, max, attributes)? */
bool cs_quota_tree_same(const struct cs_quota_tree *a, const struct cs_quota_tree *b);
/* Index of a node by name, -1 when none. */
int32_t cs_quota_tree_find(const struct cs_quota_tree *t, const char *name);

enum cs_quota_state { CS_QUOTA_PENDING = 0, CS_QUOTA_NOMINATED, CS_QUOTA_ASSIGNED };

struct cs_quota_pod {
    char *key;                     /* "ns/name" (owned) */
    struct cs_pod *pod;            /* counted reference: the latest version seen */
    int32_t leaf;                  /* -1: in no quota */
    enum cs_quota_state state;
    bool evicting;                 /* assigned, chosen as a victim or being deleted */
    bool charged;                  /* its request is in the aggregates */
    char *node;                    /* NOMINATED: the node it waits for (owned) */
    int64_t req[CS_QUOTA_MAX_DIMS];
    struct cs_quota_pod *prev, *next;   /* in its leaf's assigned list */
};

struct cs_quota_model {
    struct cs_quota_tree *tree;    /* NULL: no quotas */
    struct cs_resource_names *res;
    struct cs_map pods;            /* key -> struct cs_quota_pod * */
    uint64_t version;              /* bumped by every change of the aggregates */
};

void cs_quota_model_init(struct cs_quota_model *m, struct cs_resource_names *res);
void cs_quota_model_destroy(struct cs_quota_model *m);
/* Install a tree (the model owns it; NULL removes quotas). Every known pod is charged anew. */
void cs_quota_model_set_tree(struct cs_quota_model *m, struct cs_quota_tree *t);
/* Record a pod version in a state (NOMINATED: node is where it waits). */
void cs_quota_pod_set(struct cs_quota_model *m, const struct cs_pod *pod,
                      enum cs_quota_state st, const char *node);
/* Forget a pod when its state is in the mask (1u << state); returns true when it was. */
bool cs_quota_pod_remove(struct cs_quota_model *m, const char *key, unsigned state_mask);
/* Mark an assigned pod evicting (a victim) or not (the eviction was undone). */
void cs_quota_pod_evicting(struct cs_quota_model *m, const char *key, bool on);
const struct cs_quota_pod *cs_quota_pod_get(const struct cs_quota_model *m, const char *key);
/* The leaf of a namespace, -1 when none. */
int32_t cs_quota_leaf_of(const struct cs_quota_model *m, const char *ns);
/* Victim order: lower priority, then the newer start (or creation), then the greater key. */
bool cs_quota_less_important(const struct cs_pod *a, const struct cs_pod *b);
/* A pod's request in the tree's resources. */
void cs_quota_pod_request(const struct cs_quota_tree *t, const struct cs_pod *pod, int64_t *req);

/* Admission. 0: fits (or the pod is in no quota: *leaf = -1); 1: refused, why says which
 * quota node and resource. The pod's own nomination is not counted against it. */
int cs_quota_admit(const struct cs_quota_model *m, const struct cs_pod *pod, int32_t *leaf,
                   char *why, size_t n);
/* Does the pod stay within its leaf's min (so it may reclaim from borrowers)? */
bool cs_quota_within_min(const struct cs_quota_model *m, const struct cs_pod *pod);
/* May `victim` be preempted for `pod` at all (the quota rules above, before amounts)? */
bool cs_quota_may_preempt(const struct cs_quota_model *m, const struct cs_pod *pod,
                          const struct cs_pod *victim);
/* Would the quotas be acceptable with these victims gone: no victim's quota (below the common
 * ancestor with the pod's leaf) drops below its min for a resource the victim holds, unless
 * the victim is of the pod's own quota? */
bool cs_quota_victims_ok(const struct cs_quota_model *m, const struct cs_pod *pod,
                         struct cs_pod *const *victims, uint32_t n);

struct cs_quota_reclaim_opts {
    /* Would evicting this pod violate a PodDisruptionBudget? NULL = no budgets. */
    bool (*violates_pdb)(void *arg, const struct cs_pod *victim);
    void *pdb_arg;
    /* Another plugin's veto (gang minimums ...). NULL = allowed. */
    bool (*allowed)(void *arg, const struct cs_pod *victim);
    void *allowed_arg;
};
/* The pods whose eviction lets `pod` pass the max rule: 0 with *out (heap array of model
 * entries, the caller frees it) and *n_out, or -1 with why. */
int cs_quota_reclaim(const struct cs_quota_model *m, const struct cs_pod *pod,
                     const struct cs_quota_reclaim_opts *opts,
                     const struct cs_quota_pod ***out, uint32_t *n_out, char *why, size_t n);

/* A quantity as Kubernetes prints it ("20", "500m", "8Gi", "1500"). */
void cs_quota_format(const struct cs_quota_tree *t, uint32_t dim, int64_t v, char *out,
                     size_t n);

/* ---- the job queue's view (pkg/quota/jobs.c) ---------------------------------------------- */
#define CS_QUOTA_MAX_JOBS "kube-queue/max-jobs"
/* The "kube-queue/max-jobs" counts of each node's max and min in an ElasticQuotaTree document,
 * by node index of t (parsed from the same document): arrays of t->n entries,
 * CS_QUOTA_UNLIMITED where absent. -1 with err when a count is not a valid quantity. */
int cs_quota_tree_jobs(const json_t *obj, const struct cs_quota_tree *t, int64_t *max_jobs,
                       int64_t *min_jobs, char *err, size_t errlen);
/* The first node, from leaf up to the root, where used[node] + req would exceed its max (or its
 * min with against_min; a resource a node declares in neither is not limited there by min),
 * with *dim the resource; -1 when the request fits everywhere. used: t->n rows. */
int32_t cs_quota_path_exceeds(const struct cs_quota_tree *t, int32_t leaf,
                              const int64_t (*used)[CS_QUOTA_MAX_DIMS], const int64_t *req,
                              bool against_min, uint32_t *dim);

#endif
