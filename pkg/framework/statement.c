/* Statements (see statement.h): an op log over the snapshot with reverse-order undo. */
#include "pkg/framework/statement.h"

#include <string.h>

#include "api/placed.h"
#include "pkg/framework/snapshot.h"
#include "pkg/util/alloc.h"

void cs_stmt_init(struct cs_statement *st)
{
    memset(st, 0, sizeof(*st));
}

static void tell(const struct cs_statement *st, enum cs_stmt_event ev, const struct cs_pod *pod,
                 const char *node, bool undo)
{
    if (st->notify) {
        st->notify(st->notify_arg, ev, pod, node, undo);
    }
}

void cs_stmt_destroy(struct cs_statement *st)
{
    cs_stmt_clear(st);
    cs_free(st->ops);
    memset(st, 0, sizeof(*st));
}

static struct cs_stmt_op *push(struct cs_statement *st)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->ops = cs_realloc(st->ops, sizeof(*st->ops) * st->cap);
    }
    struct cs_stmt_op *op = &st->ops[st->n++];
    memset(op, 0, sizeof(*op));
    return op;
}

enum cs_code cs_stmt_allocate(struct cs_statement *st, struct cs_snapshot *snap,
                              struct cs_fw_attempt *att, struct cs_pod *pod,
                              struct cs_node_info *ni, void *owner, struct cs_status *err)
{
    struct cs_bind_patch patch = { 0 };
    struct cs_status local = { 0 };
    enum cs_code code = cs_fw_pre_bind(att, pod, ni->name, &patch, err ? err : &local);
    if (code != CS_SUCCESS && code != CS_SKIP) {
        return code;
    }
    struct cs_stmt_op *op = push(st);
    op->kind = CS_STMT_ALLOCATE;
    op->orig = cs_pod_ref(pod);
    op->pod = cs_pod_placed(pod, ni->name, patch.annotations, patch.n_annotations);
    op->ni = ni;
    op->att = att;
    op->patch = patch;
    op->owner = owner;
    cs_node_info_add_pod(ni, op->pod);
    cs_snapshot_touch(snap, ni);
    return CS_SUCCESS;
}

int cs_stmt_evict(struct cs_statement *st, struct cs_snapshot *snap, struct cs_pod *victim)
{
    struct cs_node_info *ni = victim->node_name ? cs_snapshot_get(snap, victim->node_name) : NULL;
    if (ni == NULL) {
        return -1;
    }
    /* Our reference first: the node's may be the victim's last one. */
    struct cs_pod *ref = cs_pod_ref(victim);
    if (cs_node_info_remove_pod(ni, victim) != 0) {
        cs_pod_unref(ref);
        return -1;
    }
    cs_snapshot_touch(snap, ni);
    struct cs_stmt_op *op = push(st);
    op->kind = CS_STMT_EVICT;
    op->pod = ref;
    op->ni = ni;
    tell(st, CS_STMT_EV_EVICT, ref, ni->name, false);
    return 0;
}

void cs_stmt_nominate(struct cs_statement *st, struct cs_fw_attempt *att, struct cs_pod *pod,
                      struct cs_node_info *ni, void *owner)
{
    struct cs_stmt_op *op = push(st);
    op->kind = CS_STMT_NOMINATE;
    op->pod = cs_pod_ref(pod);
    op->orig = cs_pod_ref(pod);
    op->ni = ni;
    op->att = att;
    op->owner = owner;
    tell(st, CS_STMT_EV_NOMINATE, pod, ni->name, false);
}

static void undo(struct cs_statement *st, struct cs_snapshot *snap, uint32_t mark, bool unreserve)
{
    for (uint32_t i = st->n; i-- > mark;) {
        struct cs_stmt_op *op = &st->ops[i];
        switch (op->kind) {
        case CS_STMT_ALLOCATE:
            cs_node_info_remove_pod(op->ni, op->pod);
            cs_snapshot_touch(snap, op->ni);
            if (unreserve && op->att) {
                cs_fw_unreserve(op->att, op->orig, op->ni->name);
            }
            break;
        case CS_STMT_EVICT:
            cs_node_info_add_pod(op->ni, op->pod);
            cs_snapshot_touch(snap, op->ni);
            tell(st, CS_STMT_EV_EVICT, op->pod, op->ni->name, true);
            break;
        case CS_STMT_NOMINATE:
            tell(st, CS_STMT_EV_NOMINATE, op->pod, op->ni->name, true);
            if (unreserve && op->att) {
                cs_fw_unreserve(op->att, op->orig, op->ni->name);
            }
            break;
        }
        cs_pod_unref(op->pod);
        cs_pod_unref(op->orig);
    }
    st->n = mark;
}

void cs_stmt_discard(struct cs_statement *st, struct cs_snapshot *snap)
{
    undo(st, snap, 0, true);
}

uint32_t cs_stmt_mark(const struct cs_statement *st)
{
    return st->n;
}

void cs_stmt_rollback(struct cs_statement *st, struct cs_snapshot *snap, uint32_t mark)
{
    undo(st, snap, mark, false);
}

void cs_stmt_clear(struct cs_statement *st)
{
    for (uint32_t i = 0; i < st->n; i++) {
        cs_pod_unref(st->ops[i].pod);
        cs_pod_unref(st->ops[i].orig);
    }
    st->n = 0;
}

uint32_t cs_stmt_count(const struct cs_statement *st, enum cs_stmt_kind kind)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < st->n; i++) {
        k += st->ops[i].kind == kind;
    }
    return k;
}
