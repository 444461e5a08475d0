#ifndef CS_PKG_FRAMEWORK_STATEMENT_H
#define CS_PKG_FRAMEWORK_STATEMENT_H
/*
 * Statements (Volcano's Statement): an op log of tentative changes to the session snapshot,
 * committed or discarded together.
 *
 *   allocate  the pod (with the annotations its PreBind asked for, and its node name) is added
 *             to the snapshot node at once, so later pods of the session see it;
 *   evict     a victim is removed from its snapshot node at once (preemption);
 *   nominate  a preemptor that waits for its victims to go: nothing changes in the snapshot.
 *
 * discard undoes every op in reverse order (victims come back, placements go, Unreserve runs
 * with each pod's own attempt state). Commit is the owner's (pkg/scheduler): it checks every op
 * before performing any, so a statement is committed whole or not at all, then clears it.
 * A single pod is a statement of one; a gang is a statement of its members.
 *
 * A dry run (cs_stmt_mark / cs_stmt_rollback) evaluates "remove these victims, does the
 * preemptor (or the whole group) fit?" on the snapshot and undoes exactly what it tried,
 * without touching the cache.
 *
 * Thread: scheduler thread only. Ops hold counted pod references until clear/discard; the
 * attempts they point to live in the pod arena, which the owner resets only when no statement
 * holds ops.
 */
#include <stdint.h>

#include "pkg/framework/framework.h"

enum cs_stmt_kind { CS_STMT_ALLOCATE = 0, CS_STMT_EVICT, CS_STMT_NOMINATE };

struct cs_stmt_op {
    enum cs_stmt_kind kind;
    struct cs_pod *pod;            /* ALLOCATE: the pod as placed (nodeName + PreBind
                                    * annotations); EVICT: the victim; NOMINATE: the preemptor */
    struct cs_pod *orig;           /* ALLOCATE/NOMINATE: the queued pod object */
    struct cs_node_info *ni;       /* snapshot node */
    struct cs_fw_attempt *att;     /* ALLOCATE/NOMINATE: the pod's attempt (pod arena) */
    struct cs_bind_patch patch;    /* ALLOCATE: PreBind's annotations (pod arena) */
    void *owner;                   /* caller's tag (e.g. the queue entry) */
};

struct cs_statement {
    struct cs_stmt_op *ops;
    uint32_t n;
    uint32_t cap;
    /* Told of every evict and nominate, and of their undoing (the session sets it to reach
     * plugins' on_stmt); NULL = nobody listens. */
    void (*notify)(void *arg, enum cs_stmt_event ev, const struct cs_pod *pod, const char *node,
                   bool undo);
    void *notify_arg;
};

void cs_stmt_init(struct cs_statement *st);
void cs_stmt_destroy(struct cs_statement *st);
/* Run PreBind for the placement, then add the placed pod to the snapshot node. Returns
 * CS_SUCCESS, or PreBind's failure (nothing is added; *err describes it, pod arena). */
enum cs_code cs_stmt_allocate(struct cs_statement *st, struct cs_snapshot *snap,
                              struct cs_fw_attempt *att, struct cs_pod *pod,
                              struct cs_node_info *ni, void *owner, struct cs_status *err);
/* Remove a victim from its snapshot node (no-op returning -1 when it is not there). */
int cs_stmt_evict(struct cs_statement *st, struct cs_snapshot *snap, struct cs_pod *victim);
/* Record that `pod` waits for node `ni` (preemption's nomination). */
void cs_stmt_nominate(struct cs_statement *st, struct cs_fw_attempt *att, struct cs_pod *pod,
                      struct cs_node_info *ni, void *owner);
/* Undo all ops (reverse order), running Unreserve for each allocation. */
void cs_stmt_discard(struct cs_statement *st, struct cs_snapshot *snap);
/* Dry runs: the op count now, and undo back to it (no Unreserve: dry runs reserve nothing). */
uint32_t cs_stmt_mark(const struct cs_statement *st);
void cs_stmt_rollback(struct cs_statement *st, struct cs_snapshot *snap, uint32_t mark);
/* Forget the ops after the owner committed them (placements stay in the snapshot). */
void cs_stmt_clear(struct cs_statement *st);
/* Number of ops of a kind. */
uint32_t cs_stmt_count(const struct cs_statement *st, enum cs_stmt_kind kind);

#endif
