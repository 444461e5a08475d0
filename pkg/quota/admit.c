/*
 * Quota decisions: admission (the max and guarantee rules), the preemption rules, and reclaim
 * (which borrowed pods to take back for a pod that is entitled to them). See quota.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/quota/quota.h"
#include "pkg/util/alloc.h"

/* The pod's request, and what of it is already held by its own nomination. */
static void own(const struct cs_quota_model *m, const struct cs_pod *pod, int64_t *req,
                int64_t *held)
{
    cs_quota_pod_request(m->tree, pod, req);
    memset(held, 0, sizeof(int64_t) * CS_QUOTA_MAX_DIMS);
    const struct cs_quota_pod *e = cs_map_get(&m->pods, pod->key);
    if (e && e->charged && e->state == CS_QUOTA_NOMINATED) {
        memcpy(held, e->req, sizeof(int64_t) * m->tree->n_dims);
    }
}

static int64_t taken(const struct cs_quota_node *q, uint32_t d)
{
    return q->used[d] + q->nominated[d];
}

int cs_quota_admit(const struct cs_quota_model *m, const struct cs_pod *pod, int32_t *leaf,
                   char *why, size_t n)
{
    *leaf = cs_quota_leaf_of(m, pod->ns);
    if (*leaf < 0) {
        return 0;
    }
    const struct cs_quota_tree *t = m->tree;
    int64_t req[CS_QUOTA_MAX_DIMS], held[CS_QUOTA_MAX_DIMS];
    own(m, pod, req, held);
    char a[48], b[48], c[48];
    /* max, leaf first */
    for (int32_t i = *leaf; i >= 0; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (req[d] <= 0 || q->max[d] == CS_QUOTA_UNLIMITED) {
                continue;
            }
            int64_t u = taken(q, d) - held[d];
            if (u + req[d] > q->max[d]) {
                cs_quota_format(t, d, u, a, sizeof(a));
                cs_quota_format(t, d, req[d], b, sizeof(b));
                cs_quota_format(t, d, q->max[d], c, sizeof(c));
                snprintf(why, n, "quota %s would exceed max %s: used %s, request %s, max %s",
                         q->name, t->dim[d], a, b, c);
                return 1;
            }
        }
    }
    /* guarantee: where the pod makes N borrow, N's siblings keep what they are owed */
    for (int32_t i = *leaf; t->nodes[i].parent >= 0; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        const struct cs_quota_node *p = &t->nodes[q->parent];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (req[d] <= 0 || taken(q, d) - held[d] + req[d] <= q->min[d] ||
                p->max[d] == CS_QUOTA_UNLIMITED) {
                continue;
            }
            int64_t owed = 0;
            const char *who = NULL;
            for (uint32_t k = 0; k < p->n_children; k++) {
                const struct cs_quota_node *s = &t->nodes[p->children[k]];
                if (s == q) {
                    continue;
                }
                int64_t want = taken(s, d) + s->pending[d];
                int64_t o = (want < s->min[d] ? want : s->min[d]) - taken(s, d);
                if (o > 0) {
                    owed += o;
                    who = who ? who : s->name;
                }
            }
            int64_t u = taken(p, d) - held[d];
            if (owed > 0 && u + req[d] + owed > p->max[d]) {
                cs_quota_format(t, d, req[d], a, sizeof(a));
                cs_quota_format(t, d, owed, b, sizeof(b));
                cs_quota_format(t, d, p->max[d] - u, c, sizeof(c));
                snprintf(why, n,
                         "quota %s would borrow %s that quota %s is guaranteed: request %s, "
                         "owed to siblings %s, free in %s %s",
                         q->name, t->dim[d], who, a, b, p->name, c);
                return 1;
            }
        }
    }
    return 0;
}

bool cs_quota_within_min(const struct cs_quota_model *m, const struct cs_pod *pod)
{
    int32_t leaf = cs_quota_leaf_of(m, pod->ns);
    if (leaf < 0) {
        return false;
    }
    const struct cs_quota_tree *t = m->tree;
    int64_t req[CS_QUOTA_MAX_DIMS], held[CS_QUOTA_MAX_DIMS];
    own(m, pod, req, held);
    const struct cs_quota_node *q = &t->nodes[leaf];
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (req[d] > 0 && taken(q, d) - held[d] + req[d] > q->min[d]) {
            return false;
        }
    }
    return true;
}

bool cs_quota_may_preempt(const struct cs_quota_model *m, const struct cs_pod *pod,
                          const struct cs_pod *victim)
{
    int32_t lp = cs_quota_leaf_of(m, pod->ns);
    int32_t lv = cs_quota_leaf_of(m, victim->ns);
    if (lp < 0 || lv < 0) {
        return lp == lv;           /* no quota: only pods in no quota */
    }
    if (lp == lv) {
        return victim->priority < pod->priority;
    }
    if (!cs_quota_within_min(m, pod)) {
        return false;
    }
    /* a borrower: its leaf is above its min in some resource */
    const struct cs_quota_tree *t = m->tree;
    const struct cs_quota_node *q = &t->nodes[lv];
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (q->used[d] > q->min[d]) {
            return true;
        }
    }
    return false;
}

static int32_t lca(const struct cs_quota_tree *t, int32_t a, int32_t b)
{
    while (t->nodes[a].depth > t->nodes[b].depth) {
        a = t->nodes[a].parent;
    }
    while (t->nodes[b].depth > t->nodes[a].depth) {
        b = t->nodes[b].parent;
    }
    while (a != b) {
        a = t->nodes[a].parent;
        b = t->nodes[b].parent;
    }
    return a;
}

/* With `delta` taken off the used of every node (per node x dim), does removing req from leaf
 * lv keep every node below `stop` at or above its min where req holds something? */
static bool keeps_min(const struct cs_quota_tree *t, const int64_t *delta, int32_t lv,
                      int32_t stop, const int64_t *req)
{
    for (int32_t i = lv; i >= 0 && i != stop; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (req[d] > 0 &&
                q->used[d] - delta[(size_t)i * t->n_dims + d] - req[d] < q->min[d]) {
                return false;
            }
        }
    }
    return true;
}

static void take_off(const struct cs_quota_tree *t, int64_t *delta, int32_t lv,
                     const int64_t *req, int sign)
{
    for (int32_t i = lv; i >= 0; i = t->nodes[i].parent) {
        for (uint32_t d = 0; d < t->n_dims; d++) {
            delta[(size_t)i * t->n_dims + d] += sign * req[d];
        }
    }
}

bool cs_quota_victims_ok(const struct cs_quota_model *m, const struct cs_pod *pod,
                         struct cs_pod *const *victims, uint32_t n)
{
    int32_t lp = cs_quota_leaf_of(m, pod->ns);
    if (lp < 0 || n == 0) {
        return true;
    }
    const struct cs_quota_tree *t = m->tree;
    int64_t *delta = cs_calloc((size_t)t->n * t->n_dims + 1, sizeof(int64_t));
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        int32_t lv = cs_quota_leaf_of(m, victims[i]->ns);
        if (lv < 0 || lv == lp) {
            continue;
        }
        const struct cs_quota_pod *e = cs_map_get(&m->pods, victims[i]->key);
        int64_t req[CS_QUOTA_MAX_DIMS];
        if (e && e->charged && e->state == CS_QUOTA_ASSIGNED && !e->evicting) {
            memcpy(req, e->req, sizeof(int64_t) * t->n_dims);
        } else {
            continue;              /* not charged: takes nothing from its quota */
        }
        ok = keeps_min(t, delta, lv, lca(t, lv, lp), req);
        take_off(t, delta, lv, req, +1);
    }
    cs_free(delta);
    return ok;
}

/* ---- reclaim ------------------------------------------------------------------------------ */

struct cand {
    const struct cs_quota_pod *e;
    bool pdb;                      /* evicting it violates a budget */
    bool chosen;
};

static int64_t start_of(const struct cs_pod *p)
{
    return p->start_ns ? p->start_ns : p->creation_ns;
}

/* Is a a better victim than b, given how far each one's leaf is above its min in dim d0? */
static bool better_victim(const struct cand *a, int64_t above_a, const struct cand *b,
                          int64_t above_b)
{
    if (a->pdb != b->pdb) {
        return !a->pdb;
    }
    if (a->e->pod->priority != b->e->pod->priority) {
        return a->e->pod->priority < b->e->pod->priority;
    }
    if (above_a != above_b) {
        return above_a > above_b;
    }
    int64_t sa = start_of(a->e->pod), sb = start_of(b->e->pod);
    if (sa != sb) {
        return sa > sb;
    }
    return strcmp(a->e->key, b->e->key) < 0;
}

/* The excess at each node of the pod's path, with delta taken off: returns true when none is
 * left; fills the first (node, dim) in excess. */
static bool no_excess(const struct cs_quota_tree *t, const int64_t *delta, int32_t lp,
                      const int64_t *req, const int64_t *held, int64_t *ex, int32_t *at,
                      uint32_t *dim)
{
    bool none = true;
    for (int32_t i = lp; i >= 0; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            size_t x = (size_t)i * t->n_dims + d;
            ex[x] = 0;
            if (req[d] <= 0 || q->max[d] == CS_QUOTA_UNLIMITED) {
                continue;
            }
            int64_t over = q->used[d] + q->nominated[d] - held[d] - delta[x] + req[d] - q->max[d];
            if (over > 0) {
                ex[x] = over;
                if (none) {
                    *at = i;
                    *dim = d;
                }
                none = false;
            }
        }
    }
    return none;
}

static bool under(const struct cs_quota_tree *t, int32_t node, int32_t anc)
{
    for (int32_t i = node; i >= 0; i = t->nodes[i].parent) {
        if (i == anc) {
            return true;
        }
    }
    return false;
}

int cs_quota_reclaim(const struct cs_quota_model *m, const struct cs_pod *pod,
                     const struct cs_quota_reclaim_opts *opts,
                     const struct cs_quota_pod ***out, uint32_t *n_out, char *why, size_t n)
{
    *out = NULL;
    *n_out = 0;
    int32_t lp = cs_quota_leaf_of(m, pod->ns);
    if (lp < 0) {
        snprintf(why, n, "the pod is in no quota");
        return -1;
    }
    const struct cs_quota_tree *t = m->tree;
    int64_t req[CS_QUOTA_MAX_DIMS], held[CS_QUOTA_MAX_DIMS];
    own(m, pod, req, held);
    size_t cells = (size_t)t->n * t->n_dims + 1;
    int64_t *delta = cs_calloc(cells, sizeof(int64_t));
    int64_t *ex = cs_calloc(cells, sizeof(int64_t));
    int32_t at = -1;
    uint32_t d0 = 0;
    if (no_excess(t, delta, lp, req, held, ex, &at, &d0)) {
        cs_free(delta);
        cs_free(ex);
        snprintf(why, n, "the pod fits its quota's max");
        return -1;
    }
    bool within = cs_quota_within_min(m, pod);
    /* Candidates: assigned pods of borrowing leaves (within min), or lower-priority pods of the
     * pod's own leaf. */
    struct cand *c = NULL;
    size_t nc = 0, cap = 0;
    for (uint32_t l = 0; l < t->n; l++) {
        const struct cs_quota_node *q = &t->nodes[l];
        if (q->n_children || q->assigned == NULL) {
            continue;
        }
        if ((int32_t)l != lp) {
            bool borrowing = false;
            for (uint32_t d = 0; d < t->n_dims && within; d++) {
                borrowing = borrowing || q->used[d] > q->min[d];
            }
            if (!borrowing) {
                continue;
            }
        }
        for (const struct cs_quota_pod *e = q->assigned; e; e = e->next) {
            if ((int32_t)l == lp && e->pod->priority >= pod->priority) {
                continue;
            }
            if (e->pod->deletion_ns || (opts && opts->allowed &&
                                        !opts->allowed(opts->allowed_arg, e->pod))) {
                continue;
            }
            c = cs_grow(c, sizeof(*c), nc + 1, &cap);
            c[nc++] = (struct cand){
                .e = e,
                .pdb = opts && opts->violates_pdb && opts->violates_pdb(opts->pdb_arg, e->pod),
            };
        }
    }
    const struct cs_quota_pod **v = cs_calloc(nc + 1, sizeof(*v));
    uint32_t nv = 0;
    bool done = false;
    while (!done) {
        /* the best candidate that lowers some excess and keeps its quotas at their min */
        struct cand *best = NULL;
        int64_t best_above = 0;
        for (size_t i = 0; i < nc; i++) {
            struct cand *k = &c[i];
            if (k->chosen) {
                continue;
            }
            int32_t lv = k->e->leaf;
            bool helps = false;
            for (int32_t a = lp; a >= 0 && !helps; a = t->nodes[a].parent) {
                if (!under(t, lv, a)) {
                    continue;
                }
                for (uint32_t d = 0; d < t->n_dims && !helps; d++) {
                    helps = ex[(size_t)a * t->n_dims + d] > 0 && k->e->req[d] > 0;
                }
            }
            if (!helps || (lv != lp && !keeps_min(t, delta, lv, lca(t, lv, lp), k->e->req))) {
                continue;
            }
            const struct cs_quota_node *q = &t->nodes[lv];
            int64_t above = q->used[d0] - delta[(size_t)lv * t->n_dims + d0] - q->min[d0];
            if (best == NULL || better_victim(k, above, best, best_above)) {
                best = k;
                best_above = above;
            }
        }
        if (best == NULL) {
            break;
        }
        best->chosen = true;
        v[nv++] = best->e;
        take_off(t, delta, best->e->leaf, best->e->req, +1);
        done = no_excess(t, delta, lp, req, held, ex, &at, &d0);
    }
    if (!done) {
        char a[48];
        cs_quota_format(t, d0, ex[(size_t)at * t->n_dims + d0], a, sizeof(a));
        snprintf(why, n,
                 within ? "quota %s needs %s %s back and borrowers cannot give it without going "
                          "below their min"
                        : "quota %s needs %s %s and the pod's quota is at or above its min: only "
                          "lower-priority pods of its own quota may be preempted",
                 t->nodes[at].name, a, t->dim[d0]);
        cs_free(v);
        cs_free(c);
        cs_free(delta);
        cs_free(ex);
        return -1;
    }
    /* Spare every victim that is not needed, most important first. */
    for (uint32_t i = nv; i-- > 0;) {
        take_off(t, delta, v[i]->leaf, v[i]->req, -1);
        if (no_excess(t, delta, lp, req, held, ex, &at, &d0)) {
            memmove(&v[i], &v[i + 1], sizeof(*v) * (nv - i - 1));
            nv--;
        } else {
            take_off(t, delta, v[i]->leaf, v[i]->req, +1);
        }
    }
    cs_free(c);
    cs_free(delta);
    cs_free(ex);
    *out = v;
    *n_out = nv;
    return 0;
}
