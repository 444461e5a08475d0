#ifndef CS_PKG_FRAMEWORK_STATEMENT_H
#define CS_PKG_FRAMEWORK_STATEMENT_H
/*
 * Statements: tentative placements on the session snapshot, committed or discarded together
 * (Volcano's Statement). allocate adds the pod to the snapshot node at once, so later pods of
 * the same session see it; discard removes every placement in reverse order and runs the
 * profile's Unreserve; the caller commits by walking ops (assume in the cache, hand to the
 * binder) and then clearing. A single pod is a statement of one; a gang is a statement of its
 * members, committed only when enough of them were placed.
 *
 * Thread: scheduler thread only. Ops hold counted pod references until clear/discard.
 */
#include <stdint.h>

#include "pkg/framework/framework.h"

struct cs_stmt_op {
    struct cs_pod *pod;
    struct cs_node_info *ni;       /* snapshot node */
    struct cs_profile *prof;
    void *owner;                   /* caller's tag (e.g. the queue entry) */
};

struct cs_statement {
    struct cs_stmt_op *ops;
    uint32_t n;
    uint32_t cap;
};

void cs_stmt_init(struct cs_statement *st);
void cs_stmt_destroy(struct cs_statement *st);
void cs_stmt_allocate(struct cs_statement *st, struct cs_snapshot *snap, struct cs_profile *prof,
                      struct cs_pod *pod, struct cs_node_info *ni, void *owner);
/* Undo all placements (reverse order), running Unreserve for each. */
void cs_stmt_discard(struct cs_statement *st, struct cs_snapshot *snap, struct cs_cycle *c);
/* Forget the ops after the caller committed them (placements stay in the snapshot). */
void cs_stmt_clear(struct cs_statement *st);

#endif
