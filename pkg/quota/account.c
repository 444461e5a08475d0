/*
 * Quota accounting: every known pod with its state, charged to its leaf and the leaf's
 * ancestors. A pod is charged as used (assigned, not evicting), nominated, or pending; a change
 * of state or version takes the old charge off and puts the new one on, O(depth x resources).
 * Leaves keep a list of their charged assigned pods, the candidates of reclaim.
 */
#include <string.h>

#include "pkg/quota/quota.h"
#include "pkg/util/alloc.h"

void cs_quota_pod_request(const struct cs_quota_tree *t, const struct cs_pod *pod, int64_t *req)
{
    for (uint32_t d = 0; d < t->n_dims; d++) {
        int s = t->dim_slot[d];
        req[d] = s >= 0 ? pod->requests.v[s] : cs_res_extra_get(&pod->extra_requests, t->dim[d]);
    }
}

void cs_quota_model_init(struct cs_quota_model *m, struct cs_resource_names *res)
{
    memset(m, 0, sizeof(*m));
    m->res = res;
    cs_map_init(&m->pods);
}

static void entry_free(struct cs_quota_pod *e)
{
    cs_pod_unref(e->pod);
    cs_free(e->node);
    cs_free(e->key);
    cs_free(e);
}

void cs_quota_model_destroy(struct cs_quota_model *m)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&m->pods, &it, &k, &v)) {
        entry_free(v);
    }
    cs_map_destroy(&m->pods);
    cs_quota_tree_free(m->tree);
    m->tree = NULL;
}

/* Which aggregate an entry is charged to (NULL: none). */
static int64_t *bucket(struct cs_quota_node *q, const struct cs_quota_pod *e)
{
    switch (e->state) {
    case CS_QUOTA_ASSIGNED:
        return e->evicting ? NULL : q->used;
    case CS_QUOTA_NOMINATED:
        return q->nominated;
    case CS_QUOTA_PENDING:
        return q->pending;
    }
    return NULL;
}

static void charge(struct cs_quota_model *m, struct cs_quota_pod *e, int sign)
{
    struct cs_quota_tree *t = m->tree;
    if (t == NULL || e->leaf < 0) {
        return;
    }
    for (int32_t i = e->leaf; i >= 0; i = t->nodes[i].parent) {
        struct cs_quota_node *q = &t->nodes[i];
        int64_t *b = bucket(q, e);
        if (b) {
            for (uint32_t d = 0; d < t->n_dims; d++) {
                b[d] += sign * e->req[d];
            }
        }
        if (e->state == CS_QUOTA_ASSIGNED && !e->evicting) {
            q->n_assigned += sign > 0 ? 1 : (uint32_t)-1;
        } else if (e->state != CS_QUOTA_ASSIGNED) {
            q->n_pending += sign > 0 ? 1 : (uint32_t)-1;
        }
    }
    struct cs_quota_node *leaf = &t->nodes[e->leaf];
    if (e->state == CS_QUOTA_ASSIGNED && !e->evicting) {
        if (sign > 0) {
            /* Least important first (lower priority, then newer): reclaim takes victims from
             * the head. New pods are usually the newest, so this is O(1) in the common case. */
            struct cs_quota_pod *prev = NULL, *cur = leaf->assigned;
            while (cur && cs_quota_less_important(cur->pod, e->pod)) {
                prev = cur;
                cur = cur->next;
            }
            e->prev = prev;
            e->next = cur;
            if (cur) {
                cur->prev = e;
            }
            if (prev) {
                prev->next = e;
            } else {
                leaf->assigned = e;
            }
        } else {
            if (e->prev) {
                e->prev->next = e->next;
            } else {
                leaf->assigned = e->next;
            }
            if (e->next) {
                e->next->prev = e->prev;
            }
            e->prev = e->next = NULL;
        }
    }
    e->charged = sign > 0;
    m->version++;
}

static int64_t start_of(const struct cs_pod *p)
{
    return p->start_ns ? p->start_ns : p->creation_ns;
}

bool cs_quota_less_important(const struct cs_pod *a, const struct cs_pod *b)
{
    if (a->priority != b->priority) {
        return a->priority < b->priority;
    }
    int64_t sa = start_of(a), sb = start_of(b);
    if (sa != sb) {
        return sa > sb;
    }
    return strcmp(a->key, b->key) > 0;
}

static void place(struct cs_quota_model *m, struct cs_quota_pod *e)
{
    struct cs_quota_tree *t = m->tree;
    e->leaf = t ? cs_quota_leaf_of(m, e->pod->ns) : -1;
    if (e->leaf >= 0) {
        cs_quota_pod_request(t, e->pod, e->req);
        charge(m, e, +1);
    }
}

void cs_quota_model_set_tree(struct cs_quota_model *m, struct cs_quota_tree *t)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&m->pods, &it, &k, &v)) {
        struct cs_quota_pod *e = v;
        if (e->charged) {
            charge(m, e, -1);
        }
    }
    cs_quota_tree_free(m->tree);
    m->tree = t;
    it = 0;
    while (cs_map_next(&m->pods, &it, &k, &v)) {
        place(m, v);
    }
    m->version++;
}

int32_t cs_quota_leaf_of(const struct cs_quota_model *m, const char *ns)
{
    if (m->tree == NULL || ns == NULL) {
        return -1;
    }
    intptr_t i = (intptr_t)cs_map_get(&m->tree->ns_leaf, ns);
    return (int32_t)i - 1;
}

void cs_quota_pod_set(struct cs_quota_model *m, const struct cs_pod *pod,
                      enum cs_quota_state st, const char *node)
{
    struct cs_quota_pod *e = cs_map_get(&m->pods, pod->key);
    if (e == NULL) {
        e = cs_calloc(1, sizeof(*e));
        e->key = cs_strdup(pod->key);
        e->leaf = -1;
        cs_map_put(&m->pods, e->key, e);
    } else if (e->charged) {
        charge(m, e, -1);
    }
    if (e->pod != pod) {
        cs_pod_unref(e->pod);
        e->pod = cs_pod_ref((struct cs_pod *)pod);
    }
    if (e->state != st && st != CS_QUOTA_ASSIGNED) {
        e->evicting = false;
    }
    e->state = st;
    /* A pod being deleted is on its way out: it no longer holds quota. */
    if (st == CS_QUOTA_ASSIGNED && pod->deletion_ns) {
        e->evicting = true;
    }
    cs_free(e->node);
    e->node = st == CS_QUOTA_NOMINATED && node ? cs_strdup(node) : NULL;
    place(m, e);
}

bool cs_quota_pod_remove(struct cs_quota_model *m, const char *key, unsigned state_mask)
{
    struct cs_quota_pod *e = cs_map_get(&m->pods, key);
    if (e == NULL || !(state_mask & (1u << e->state))) {
        return false;
    }
    if (e->charged) {
        charge(m, e, -1);
    }
    cs_map_del(&m->pods, key);
    entry_free(e);
    return true;
}

void cs_quota_pod_evicting(struct cs_quota_model *m, const char *key, bool on)
{
    struct cs_quota_pod *e = cs_map_get(&m->pods, key);
    if (e == NULL || e->state != CS_QUOTA_ASSIGNED || e->evicting == on) {
        return;
    }
    if (!on && e->pod->deletion_ns) {
        return;                    /* being deleted anyway */
    }
    if (e->charged) {
        charge(m, e, -1);
    }
    e->evicting = on;
    if (e->leaf >= 0) {
        charge(m, e, +1);
    }
}

const struct cs_quota_pod *cs_quota_pod_get(const struct cs_quota_model *m, const char *key)
{
    return cs_map_get(&m->pods, key);
}
