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
    /* guarantee: where the pod makes N borrow, what N's siblings are owed is reserved in
     * N's parent and every ancestor above (a pod within its leaf's min is exempt: it is
     * entitled, and takes from borrowers by reclaim when the room is gone). */
    if (cs_quota_within_min(m, pod)) {
        return 0;
    }
    int64_t reserve[CS_QUOTA_MAX_DIMS] = { 0 };
    const char *who[CS_QUOTA_MAX_DIMS] = { 0 }, *for_whom[CS_QUOTA_MAX_DIMS] = { 0 };
    for (int32_t i = *leaf; t->nodes[i].parent >= 0; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        const struct cs_quota_node *p = &t->nodes[q->parent];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (req[d] <= 0 || taken(q, d) - held[d] + req[d] <= q->min[d]) {
                continue;
            }
            for (uint32_t k = 0; k < p->n_children; k++) {
                const struct cs_quota_node *s = &t->nodes[p->children[k]];
                if (s == q) {
                    continue;
                }
                int64_t want = taken(s, d) + s->pending[d];
                int64_t o = (want < s->min[d] ? want : s->min[d]) - taken(s, d);
                if (o > 0) {
                    reserve[d] += o;
                    if (who[d] == NULL) {
                        who[d] = s->name;
                        for_whom[d] = q->name;
                    }
                }
            }
        }
        for (uint32_t d = 0; d < t->n_dims; d++) {
            int64_t u = taken(p, d) - held[d];
            if (reserve[d] > 0 && p->max[d] != CS_QUOTA_UNLIMITED &&
                u + req[d] + reserve[d] > p->max[d]) {
                cs_quota_format(t, d, req[d], a, sizeof(a));
                cs_quota_format(t, d, reserve[d], b, sizeof(b));
                cs_quota_format(t, d, p->max[d] - u, c, sizeof(c));
                snprintf(why, n,
                         "quota %s would borrow %s that quota %s is guaranteed: request %s, "
                         "owed to others %s, free in %s %s",
                         for_whom[d], t->dim[d], who[d], a, b, p->name, c);
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
        if ((q->declared & (1u << d)) && req[d] > 0 &&
            taken(q, d) - held[d] + req[d] > q->min[d]) {
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
        if ((q->declared & (1u << d)) && q->used[d] > q->min[d]) {
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

static void take_off(const struct cs_quota_tree *t, int64_t *delta, int32_t lv,
                     const int64_t *req, int sign)
{
    for (int32_t i = lv; i >= 0; i = t->nodes[i].parent) {
        for (uint32_t d = 0; d < t->n_dims; d++) {
            delta[(size_t)i * t->n_dims + d] += sign * req[d];
        }
    }
}

static int32_t min_broken(const struct cs_quota_tree *t, const int64_t *delta, int32_t lv,
                          int32_t lp);

bool cs_quota_victims_ok(const struct cs_quota_model *m, const struct cs_pod *pod,
                         struct cs_pod *const *victims, uint32_t n)
{
    int32_t lp = cs_quota_leaf_of(m, pod->ns);
    if (lp < 0 || n == 0) {
        return true;
    }
    const struct cs_quota_tree *t = m->tree;
    int64_t *delta = cs_calloc((size_t)t->n * t->n_dims + 1, sizeof(int64_t));
    for (uint32_t i = 0; i < n; i++) {
        int32_t lv = cs_quota_leaf_of(m, victims[i]->ns);
        const struct cs_quota_pod *e = cs_map_get(&m->pods, victims[i]->key);
        if (lv >= 0 && lv != lp && e && e->charged && e->state == CS_QUOTA_ASSIGNED &&
            !e->evicting) {
            take_off(t, delta, lv, e->req, +1);
        }
    }
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        int32_t lv = cs_quota_leaf_of(m, victims[i]->ns);
        if (lv >= 0 && lv != lp) {
            ok = min_broken(t, delta, lv, lp) < 0;
        }
    }
    cs_free(delta);
    return ok;
}

/* ---- reclaim ------------------------------------------------------------------------------ */

struct cand {
    const struct cs_quota_pod *e;
    bool pdb;                      /* evicting it violates a budget */
    bool victim;
    bool protected_;               /* kept out: taking it broke a min */
};

static int64_t start_of(const struct cs_pod *p)
{
    return p->start_ns ? p->start_ns : p->creation_ns;
}

/* Importance inside one leaf: higher priority first, then older first, then key. */
static int more_important(const void *pa, const void *pb)
{
    const struct cand *a = *(const struct cand *const *)pa;
    const struct cand *b = *(const struct cand *const *)pb;
    if (a->e->pod->priority != b->e->pod->priority) {
        return a->e->pod->priority > b->e->pod->priority ? -1 : 1;
    }
    int64_t sa = start_of(a->e->pod), sb = start_of(b->e->pod);
    if (sa != sb) {
        return sa < sb ? -1 : 1;
    }
    return strcmp(a->e->key, b->e->key);
}

/* The excess at each node of the pod's path, with delta taken off: true when none is left;
 * fills the first (node, dim) in excess. */
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

/* Victims keep every quota below the common ancestor at its min in the resources it borrows:
 * returns -1, or the node index where the victims' sum (delta) breaks that. */
static int32_t min_broken(const struct cs_quota_tree *t, const int64_t *delta, int32_t lv,
                          int32_t lp)
{
    int32_t stop = lca(t, lv, lp);
    for (int32_t i = lv; i >= 0 && i != stop; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (q->used[d] > q->min[d] && q->used[d] - delta[(size_t)i * t->n_dims + d] < q->min[d]) {
                return i;
            }
        }
    }
    return -1;
}

struct leafq {
    int32_t leaf;
    struct cand **pods[2];         /* per pass (0: PDB-violating), most important first */
    uint32_t n[2], next[2];
    size_t cap[2];
};

/* At most this many victims are looked for per leaf on the fast path (see gather). */
#define CAPPED_PER_LEAF 32

/* Candidates: assigned pods of borrowing leaves (when the pod is within its min), or
 * lower-priority pods of the pod's own leaf; only pods that lower an excess.
 * capped: per leaf, only its least important pods (the head of its list) that together cover
 * the excess they can lower: the reprieve keeps a leaf's more important pods first (PDB-
 * protected ones before all others), so with those removed the others are always reprieved.
 * This makes reclaim O(leaves x victims) instead of O(pods of the borrowing leaves). Returns
 * true when a capped leaf had more candidates than it gave (a full gathering may find other
 * victims when the fast path does not settle it). */
static bool gather(const struct cs_quota_model *m, const struct cs_pod *pod, int32_t lp,
                   bool within, const int64_t *ex, const struct cs_quota_reclaim_opts *opts,
                   bool capped, struct cand **cp, size_t *ncp)
{
    const struct cs_quota_tree *t = m->tree;
    struct cand *c = *cp;          /* reused across calls: cs_grow reallocates it */
    size_t nc = 0, cap = 0;
    bool truncated = false;
    for (uint32_t l = 0; l < t->n; l++) {
        const struct cs_quota_node *q = &t->nodes[l];
        if (q->n_children || q->assigned == NULL) {
            continue;
        }
        if ((int32_t)l != lp) {
            bool borrowing = false;
            for (uint32_t d = 0; d < t->n_dims && within; d++) {
                borrowing = borrowing || ((q->declared & (1u << d)) && q->used[d] > q->min[d]);
            }
            if (!borrowing) {
                continue;
            }
        }
        /* what this leaf can lower: the excess of the path nodes above it */
        int64_t need[CS_QUOTA_MAX_DIMS] = { 0 };
        bool any = false;
        for (int32_t a = lp; a >= 0; a = t->nodes[a].parent) {
            if (!under(t, (int32_t)l, a)) {
                continue;
            }
            for (uint32_t d = 0; d < t->n_dims; d++) {
                int64_t x = ex[(size_t)a * t->n_dims + d];
                if (x > need[d]) {
                    need[d] = x;
                    any = true;
                }
            }
        }
        if (!any) {
            continue;
        }
        /* The leaf's list is least important first: take from the head. */
        int64_t cum[CS_QUOTA_MAX_DIMS] = { 0 };
        size_t taken = 0;
        for (const struct cs_quota_pod *e = q->assigned; e; e = e->next) {
            if (capped) {
                bool covered = true;
                for (uint32_t d = 0; d < t->n_dims && covered; d++) {
                    covered = need[d] <= 0 || cum[d] >= need[d];
                }
                if (covered || taken == CAPPED_PER_LEAF) {
                    truncated = truncated || !covered || e != NULL;
                    break;
                }
            }
            if (((int32_t)l == lp && e->pod->priority >= pod->priority) || e->pod->deletion_ns) {
                continue;
            }
            bool helps = false;
            for (uint32_t d = 0; d < t->n_dims && !helps; d++) {
                helps = need[d] > 0 && e->req[d] > 0;
            }
            if (!helps || (opts && opts->allowed && !opts->allowed(opts->allowed_arg, e->pod))) {
                continue;
            }
            c = cs_grow(c, sizeof(*c), nc + 1, &cap);
            c[nc++] = (struct cand){
                .e = e,
                .pdb = opts && opts->violates_pdb && opts->violates_pdb(opts->pdb_arg, e->pod),
            };
            for (uint32_t d = 0; d < t->n_dims; d++) {
                cum[d] += e->req[d];
            }
            taken++;
        }
    }
    *cp = c;
    *ncp = nc;
    return truncated;
}

/* One selection round over the candidates not protected: everything removed, then reprieved
 * most important first while the excess stays cleared (kube-scheduler's reprieve, across
 * quotas: among equal priorities, the leaf least above its min keeps its pod first, so the
 * borrower furthest above its min gives back). Returns false when even all of them are not
 * enough. */
static bool select_round(const struct cs_quota_tree *t, struct cand *c, size_t nc,
                         struct leafq *lq, uint32_t nl, int32_t lp, const int64_t *req,
                         const int64_t *held, uint32_t dim, int64_t *delta, int64_t *ex)
{
    size_t cells = (size_t)t->n * t->n_dims;
    memset(delta, 0, sizeof(int64_t) * (cells + 1));
    for (size_t i = 0; i < nc; i++) {
        c[i].victim = !c[i].protected_;
        if (c[i].victim) {
            take_off(t, delta, c[i].e->leaf, c[i].e->req, +1);
        }
    }
    int32_t at;
    uint32_t d0;
    if (!no_excess(t, delta, lp, req, held, ex, &at, &d0)) {
        return false;
    }
    for (uint32_t l = 0; l < nl; l++) {
        lq[l].next[0] = lq[l].next[1] = 0;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (;;) {
            struct leafq *best = NULL;
            struct cand *bc = NULL;
            int64_t best_above = 0;
            for (uint32_t l = 0; l < nl; l++) {
                struct leafq *q = &lq[l];
                while (q->next[pass] < q->n[pass] && q->pods[pass][q->next[pass]]->protected_) {
                    q->next[pass]++;
                }
                if (q->next[pass] >= q->n[pass]) {
                    continue;
                }
                struct cand *h = q->pods[pass][q->next[pass]];
                const struct cs_quota_node *n = &t->nodes[q->leaf];
                int64_t above = n->used[dim] - delta[(size_t)q->leaf * t->n_dims + dim] -
                                n->min[dim];
                bool better = bc == NULL;
                if (!better && h->e->pod->priority != bc->e->pod->priority) {
                    better = h->e->pod->priority > bc->e->pod->priority;
                } else if (!better && above != best_above) {
                    better = above < best_above;
                } else if (!better) {
                    better = more_important(&h, &bc) < 0;
                }
                if (better) {
                    best = q;
                    bc = h;
                    best_above = above;
                }
            }
            if (best == NULL) {
                break;
            }
            best->next[pass]++;
            take_off(t, delta, bc->e->leaf, bc->e->req, -1);
            if (no_excess(t, delta, lp, req, held, ex, &at, &d0)) {
                bc->victim = false;
            } else {
                take_off(t, delta, bc->e->leaf, bc->e->req, +1);
            }
        }
    }
    return true;
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
    struct cand *c = NULL;
    size_t nc = 0;
    struct leafq *lq = cs_calloc(t->n, sizeof(*lq));
    uint32_t nl = 0;
    bool capped = true;
again:
    nc = 0;
    nl = 0;
    bool truncated = gather(m, pod, lp, within, ex, opts, capped, &c, &nc);
    /* Per leaf and pass, most important first (pointers into c, stable from now on). */
    int32_t *slot = cs_malloc(sizeof(int32_t) * t->n);
    for (uint32_t l = 0; l < t->n; l++) {
        slot[l] = -1;
        lq[l].n[0] = lq[l].n[1] = 0;
    }
    for (size_t i = 0; i < nc; i++) {
        int32_t l = slot[c[i].e->leaf];
        if (l < 0) {
            l = slot[c[i].e->leaf] = (int32_t)nl++;
            lq[l].leaf = c[i].e->leaf;
        }
        int pass = c[i].pdb ? 0 : 1;
        lq[l].pods[pass] = cs_grow(lq[l].pods[pass], sizeof(struct cand *), lq[l].n[pass] + 1,
                                   &lq[l].cap[pass]);
        lq[l].pods[pass][lq[l].n[pass]++] = &c[i];
    }
    cs_free(slot);
    for (uint32_t l = 0; l < nl; l++) {
        for (int pass = 0; pass < 2; pass++) {
            if (lq[l].n[pass] > 1) {
                qsort(lq[l].pods[pass], lq[l].n[pass], sizeof(struct cand *), more_important);
            }
        }
    }
    bool ok = false;
    const char *fail_rule = NULL;
    uint32_t d_first = d0;         /* fairness is measured in the first resource in excess */
    int round = 0;
    for (; round < 64; round++) {
        if (!select_round(t, c, nc, lq, nl, lp, req, held, d_first, delta, ex)) {
            fail_rule = "cannot give it";
            break;
        }
        /* Check every victim's quotas against their mins; protect the most important victim
         * under the first broken node, and try again. */
        int32_t broken = -1;
        for (size_t i = 0; i < nc && broken < 0; i++) {
            if (c[i].victim) {
                broken = min_broken(t, delta, c[i].e->leaf, lp);
            }
        }
        if (broken < 0) {
            ok = true;
            break;
        }
        struct cand *keep = NULL;
        for (size_t i = 0; i < nc; i++) {
            if (c[i].victim && under(t, c[i].e->leaf, broken) &&
                (keep == NULL || more_important(&(struct cand *){ &c[i] }, &keep) < 0)) {
                keep = &c[i];
            }
        }
        if (keep == NULL) {
            break;                 /* cannot happen: the broken node came from a victim */
        }
        keep->protected_ = true;
        fail_rule = "cannot give it without going below their min";
    }
    if (capped && truncated && (!ok || round > 0)) {
        /* The fast path did not settle it: look at every candidate. */
        for (uint32_t l = 0; l < nl; l++) {
            lq[l].n[0] = lq[l].n[1] = 0;
        }
        capped = false;
        fail_rule = NULL;
        goto again;
    }
    const struct cs_quota_pod **v = NULL;
    uint32_t nv = 0;
    if (ok) {
        v = cs_calloc(nc + 1, sizeof(*v));
        for (int pass = 1; pass >= 0; pass--) {      /* least important first */
            for (size_t i = 0; i < nc; i++) {
                if (c[i].victim && (c[i].pdb ? 0 : 1) == pass) {
                    v[nv++] = c[i].e;
                }
            }
        }
    } else {
        memset(delta, 0, sizeof(int64_t) * cells);
        no_excess(t, delta, lp, req, held, ex, &at, &d0);
        char a[48];
        cs_quota_format(t, d0, ex[(size_t)at * t->n_dims + d0], a, sizeof(a));
        if (within) {
            snprintf(why, n, "quota %s needs %s %s back and borrowers %s", t->nodes[at].name, a,
                     t->dim[d0], fail_rule ? fail_rule : "cannot give it");
        } else {
            snprintf(why, n,
                     "quota %s needs %s %s and the pod's quota is at or above its min: only "
                     "lower-priority pods of its own quota may be preempted",
                     t->nodes[at].name, a, t->dim[d0]);
        }
    }
    for (uint32_t l = 0; l < nl; l++) {
        cs_free(lq[l].pods[0]);
        cs_free(lq[l].pods[1]);
    }
    cs_free(lq);
    cs_free(c);
    cs_free(delta);
    cs_free(ex);
    if (!ok) {
        return -1;
    }
    *out = v;
    *n_out = nv;
    return 0;
}
