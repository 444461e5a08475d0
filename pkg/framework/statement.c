/* Statements (see statement.h): an op log over the snapshot with reverse-order undo. */
#include "pkg/framework/statement.h"

#include <string.h>

#include "pkg/util/alloc.h"

void cs_stmt_init(struct cs_statement *st)
{
    memset(st, 0, sizeof(*st));
}

void cs_stmt_destroy(struct cs_statement *st)
{
    cs_stmt_clear(st);
    cs_free(st->ops);
    memset(st, 0, sizeof(*st));
}

void cs_stmt_allocate(struct cs_statement *st, struct cs_snapshot *snap, struct cs_profile *prof,
                      struct cs_pod *pod, struct cs_node_info *ni, void *owner)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 16;
        st->ops = cs_realloc(st->ops, sizeof(*st->ops) * st->cap);
    }
    st->ops[st->n++] = (struct cs_stmt_op){
        .pod = cs_pod_ref(pod), .ni = ni, .prof = prof, .owner = owner,
    };
    cs_node_info_add_pod(ni, pod);
    cs_snapshot_touch(snap, ni);
}

void cs_stmt_discard(struct cs_statement *st, struct cs_snapshot *snap, struct cs_cycle *c)
{
    for (uint32_t i = st->n; i-- > 0;) {
        struct cs_stmt_op *op = &st->ops[i];
        cs_node_info_remove_pod(op->ni, op->pod);
        cs_snapshot_touch(snap, op->ni);
        cs_fw_unreserve(op->prof, c, op->pod, op->ni->name);
        cs_pod_unref(op->pod);
    }
    st->n = 0;
}

void cs_stmt_clear(struct cs_statement *st)
{
    for (uint32_t i = 0; i < st->n; i++) {
        cs_pod_unref(st->ops[i].pod);
    }
    st->n = 0;
}
