#ifndef CS_PKG_FRAMEWORK_SESSION_H
#define CS_PKG_FRAMEWORK_SESSION_H
/*
 * Sessions (Volcano's OpenSession / actions / CloseSession over kube-scheduler's framework).
 *
 * A session runs on the scheduling thread over the snapshot the owner refreshed:
 *   open     plugins' session_open hooks;
 *   units    the batch is split into units: single pods, and groups (pods whose pod_group hook
 *            names a group, keyed by profile and group name). A group's other pending members
 *            are taken from the queue with it (env->take_group), whatever the batch size and
 *            wherever they wait (active, backoff or unschedulable). Units are ordered together
 *            by priority (then queue time), or by a plugin's group_less hook;
 *   actions  allocate (place each unit through one statement: a single pod commits when placed;
 *            a group commits when group_ready, counting members already bound or assumed,
 *            else the statement is discarded), then preempt (when enabled: a pod that did not
 *            fit and whose PostFilter chose a node gets its victims evicted and the node
 *            nominated, through a statement);
 *   close    plugins' session_close hooks.
 *
 * Commit belongs to the owner (env->commit): it must commit a statement whole or not at all.
 * Every pod taken from the queue is handed back through exactly one env callback (committed,
 * failed or dropped), so the queue never loses one.
 *
 * Memory: per-pod plugin state lives in the cycle's pod arena, released after each unit (when
 * its statement is committed or discarded).
 */
#include <stddef.h>
#include <stdint.h>

#include "pkg/framework/framework.h"
#include "pkg/framework/statement.h"
#include "pkg/queue/queue.h"

enum cs_session_action {
    CS_ACTION_ALLOCATE = 1u << 0,
    CS_ACTION_PREEMPT = 1u << 1,
};
#define CS_ACTIONS_DEFAULT (CS_ACTION_ALLOCATE | CS_ACTION_PREEMPT)

/* Parse "allocate,preempt" into a mask; -1 with err naming an unknown action. allocate is
 * required. */
int cs_session_parse_actions(const char *list, uint32_t *out, char *err, size_t errlen);

struct cs_session_env {
    void *arg;
    struct cs_profile *(*profile_for)(void *arg, const struct cs_pod *pod);
    /* Take the group's pending members that are in the queue (not in flight) into out (at most
     * max); returns how many. They are in flight afterwards, like popped pods. */
    size_t (*take_group)(void *arg, const char *group_key, struct cs_qentry **out, size_t max);
    /* Members of the group bound or assumed already. */
    uint32_t (*group_assigned)(void *arg, const char *group_key);
    /* Commit the statement whole (assume, evict, nominate, bind) and clear it; or change
     * nothing, leave it, and return -1 with *why (static or pod-arena text). */
    int (*commit)(void *arg, struct cs_statement *st, int64_t start_ns, const char **why);
    /* A pod was not placed: report it and hand its entry back to the queue. */
    void (*failed)(void *arg, struct cs_qentry *e, struct cs_profile *prof,
                   const struct cs_sched_result *res, double secs);
    /* A pod is no longer ours (no profile): hand it back. */
    void (*drop)(void *arg, struct cs_qentry *e);
    /* Metrics of one attempt (optional). */
    void (*observe)(void *arg, struct cs_profile *prof, const struct cs_sched_result *res);
};

struct cs_session {
    struct cs_snapshot *snap;
    struct cs_cycle *cycle;
    struct cs_statement stmt;
    struct cs_profile *profiles;
    uint32_t n_profiles;
    const struct cs_session_env *env;
    const struct cs_api_ctx *api;
    uint32_t actions;
    uint32_t max_group;            /* most members taken for one group (default 100000) */
    /* stats of the last run */
    uint32_t units;
    uint32_t groups_committed;
    uint32_t groups_discarded;
};

void cs_session_init(struct cs_session *s, struct cs_snapshot *snap, struct cs_cycle *cycle,
                     struct cs_profile *profiles, uint32_t n_profiles,
                     const struct cs_session_env *env, const struct cs_api_ctx *api,
                     uint32_t actions);
void cs_session_destroy(struct cs_session *s);
/* Run one session over the popped batch (entries in flight). */
void cs_session_run(struct cs_session *s, struct cs_qentry **batch, size_t n);

/* The group key of a pod in a profile ("profile/group", interned), or NULL. */
const char *cs_session_group_key(const struct cs_api_ctx *api, struct cs_profile *prof,
                                 const struct cs_pod *pod, int32_t *min_member);

/* Plugin notifications across profiles: each distinct plugin instance (by priv) once. */
void cs_fw_notify_pod(struct cs_profile *profiles, uint32_t n, const struct cs_pod *old,
                      const struct cs_pod *new_pod);
void cs_fw_notify_node(struct cs_profile *profiles, uint32_t n, const struct cs_node *old,
                       const struct cs_node *new_node);
void cs_fw_notify_pending(struct cs_profile *profiles, uint32_t n, const char *key,
                          const struct cs_pod *pod);
/* Does any plugin of these profiles want on_pod/on_node/on_pending? */
bool cs_fw_wants_changes(struct cs_profile *profiles, uint32_t n);

#endif
