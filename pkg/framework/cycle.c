/*
 * The per-pod scheduling algorithm (kube-scheduler's schedulePod + Reserve/Permit):
 *
 *   PreFilter  each plugin may reject the pod outright, or answer Skip so its Filter is skipped.
 *   Filter     every node in the snapshot (or numFeasibleNodesToFind of them from a rotating
 *              start when percentageOfNodesToScore is set), plugins in order, first failure
 *              wins; failure reasons are counted for the FitError message.
 *   Score      PreScore (Skip drops the plugin's Score), Score per feasible node, Normalize,
 *              weighted sum; the highest total wins, ties broken uniformly at random
 *              (reservoir sampling).
 *   Reserve, Permit on the chosen node; Unreserve in reverse order on any later failure.
 *
 * All scratch lives in the cycle arena. Filter and Score are the hot loops: they call plugin
 * ops through arrays built once per profile and allocate nothing per node on success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/framework/framework.h"
#include "pkg/framework/nominator.h"
#include "pkg/util/alloc.h"
#include "pkg/util/map.h"
#include "pkg/util/timeutil.h"

void cs_cycle_init(struct cs_cycle *c, const struct cs_api_ctx *api, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    cs_arena_init(&c->arena, 4 * 1024 * 1024);
    cs_arena_init(&c->pod_arena, 256 * 1024);
    c->api = api;
    c->rng = seed ? seed : 0x9e3779b97f4a7c15ULL;
}

static void eq_drop(struct cs_eqclass *eq)
{
    cs_pod_unref(eq->rep);
    eq->rep = NULL;
    eq->valid = false;
}

void cs_cycle_destroy(struct cs_cycle *c)
{
    for (uint32_t i = 0; i < CS_EQ_CLASSES; i++) {
        struct cs_eqclass *q = &c->eq.cls[i];
        eq_drop(q);
        cs_free(q->ver);
        cs_free(q->fit);
        cs_free(q->raw);
        cs_free(q->raw_ok);
        cs_free(q->same);
        cs_free(q->same_v);
        cs_free(q->part);
    }
    cs_arena_destroy(&c->arena);
    cs_arena_destroy(&c->pod_arena);
    memset(c, 0, sizeof(*c));
}

void cs_cycle_reset(struct cs_cycle *c)
{
    cs_arena_reset(&c->arena);
}

void cs_cycle_release(struct cs_cycle *c)
{
    cs_arena_reset(&c->pod_arena);
}

static uint64_t rng_next(struct cs_cycle *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

/* One call struct per plugin instance with a cleared state slot, in the pod arena. */
void cs_fw_prefilter_nodes(struct cs_fw_call *c, const char *const *names, uint32_t n)
{
    struct cs_fw_attempt *att = c->fw;
    if (att == NULL) {
        return;
    }
    struct cs_arena *a = c->arena;
    const char *who = att->prof->insts[c - att->calls].p->name;
    if (!att->pf_set) {
        att->pf_names = cs_arena_alloc(a, sizeof(*att->pf_names) * (n ? n : 1));
        for (uint32_t i = 0; i < n; i++) {
            att->pf_names[i] = cs_arena_strdup(a, names[i]);
        }
        att->pf_n = n;
        att->pf_set = true;
        att->pf_plugins = cs_arena_printf(a, "[%s]", who);
        return;
    }
    uint32_t k = 0;                /* intersect */
    for (uint32_t i = 0; i < att->pf_n; i++) {
        bool keep = false;
        for (uint32_t j = 0; j < n && !keep; j++) {
            keep = strcmp(att->pf_names[i], names[j]) == 0;
        }
        if (keep) {
            att->pf_names[k++] = att->pf_names[i];
        }
    }
    att->pf_n = k;
    /* Go's %v of the sorted plugin names: "[A B]" */
    size_t l = strlen(att->pf_plugins);
    att->pf_plugins = strcmp(who, att->pf_plugins + 1) < 0
                          ? cs_arena_printf(a, "[%s %.*s]", who, (int)(l - 2), att->pf_plugins + 1)
                          : cs_arena_printf(a, "[%.*s %s]", (int)(l - 2), att->pf_plugins + 1, who);
}

void cs_fw_tolerate(struct cs_fw_call *c, const struct cs_taint *taint)
{
    struct cs_fw_attempt *att = c->fw;
    if (att == NULL || cs_fw_tolerated(c, taint)) {
        return;
    }
    struct cs_taint *t = cs_arena_alloc(c->arena, sizeof(*t) * (att->n_tolerated + 1));
    if (att->n_tolerated) {
        memcpy(t, att->tolerated, sizeof(*t) * att->n_tolerated);
    }
    t[att->n_tolerated] = (struct cs_taint){
        .key = cs_arena_strdup(c->arena, taint->key ? taint->key : ""),
        .value = taint->value ? cs_arena_strdup(c->arena, taint->value) : NULL,
        .effect = taint->effect,
    };
    att->tolerated = t;
    att->n_tolerated++;
}

static bool opt_eq(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

bool cs_fw_tolerated(const struct cs_fw_call *c, const struct cs_taint *taint)
{
    const struct cs_fw_attempt *att = c->fw;
    for (uint32_t i = 0; att && i < att->n_tolerated; i++) {
        const struct cs_taint *t = &att->tolerated[i];
        if (t->effect == taint->effect && opt_eq(t->key, taint->key) &&
            opt_eq(t->value, taint->value)) {
            return true;
        }
    }
    return false;
}

/* Does a plugin of the profile want this feasible node only as a fallback? */
static bool is_fallback(const struct cs_fw_attempt *att, const struct cs_pod *pod,
                        const struct cs_node_info *ni)
{
    const struct cs_profile *prof = att->prof;
    for (uint32_t i = 0; i < prof->n_fallback; i++) {
        const struct cs_fw_inst *in = &prof->insts[prof->fallback[i]];
        if (in->p->fallback(&att->calls[in->slot], pod, ni)) {
            return true;
        }
    }
    return false;
}

static bool pf_allows(const struct cs_fw_attempt *att, const char *node)
{
    for (uint32_t i = 0; i < att->pf_n; i++) {
        if (strcmp(att->pf_names[i], node) == 0) {
            return true;
        }
    }
    return false;
}

struct cs_fw_attempt *cs_fw_attempt_new(struct cs_profile *prof, struct cs_cycle *c)
{
    struct cs_arena *pa = &c->pod_arena;
    struct cs_fw_attempt *att = CS_ARENA_NEW(pa, struct cs_fw_attempt);
    uint32_t n = prof->n_insts ? prof->n_insts : 1;
    att->prof = prof;
    att->states = CS_ARENA_ARRAY(pa, void *, n);
    att->calls = CS_ARENA_ARRAY(pa, struct cs_fw_call, n);
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        att->calls[i] = (struct cs_fw_call){
            .priv = prof->insts[i].priv,
            .state = &att->states[i],
            .arena = pa,
            .snap = c->snap,
            .api = c->api,
            .fw = att,
        };
    }
    att->cycle = c;
    return att;
}

uint32_t cs_fw_num_nodes_to_find(uint32_t n_nodes, int32_t pct)
{
    if (pct < 0 || pct >= 100 || n_nodes < 100) {
        return n_nodes;
    }
    int64_t p = pct;
    if (p == 0) {
        p = 50 - (int64_t)n_nodes / 125;
        if (p < 5) {
            p = 5;
        }
    }
    int64_t num = (int64_t)n_nodes * p / 100;
    if (num < 100) {
        num = 100;
    }
    return (uint32_t)num;
}

/* Reason histogram for the FitError message. */
struct reason_count {
    const char *reason;
    uint32_t count;
};

struct reasons {
    struct cs_map map;            /* reason text -> struct reason_count * (arena) */
    uint32_t events;
};

static void count_reason(struct reasons *r, struct cs_arena *a, const char *reason)
{
    struct reason_count *rc = cs_map_get(&r->map, reason);
    if (rc == NULL) {
        rc = cs_arena_alloc(a, sizeof(*rc));
        rc->reason = reason;
        rc->count = 0;
        cs_map_put(&r->map, reason, rc);
    }
    rc->count++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "0/N nodes are available: 2 Insufficient cpu, 3 node(s) ...." with reasons sorted as
 * strings including their counts, as kube-scheduler's FitError does. */
static const char *fit_error(struct cs_arena *a, uint32_t n_nodes, struct reasons *r)
{
    size_t n = cs_map_len(&r->map);
    const char **items = cs_arena_alloc(a, sizeof(*items) * (n ? n : 1));
    size_t i = 0, it = 0;
    void *v;
    size_t total = 64;
    while (cs_map_next(&r->map, &it, NULL, &v)) {
        struct reason_count *rc = v;
        items[i] = cs_arena_printf(a, "%u %s", rc->count, rc->reason);
        total += strlen(items[i]) + 2;
        i++;
    }
    qsort(items, n, sizeof(*items), cmp_str);
    char *msg = cs_arena_alloc(a, total);
    int off = snprintf(msg, total, "0/%u nodes are available:", n_nodes);
    for (i = 0; i < n; i++) {
        off += snprintf(msg + off, total - (size_t)off, "%s%s", i ? ", " : " ", items[i]);
    }
    snprintf(msg + off, total - (size_t)off, ".");
    return msg;
}

static const char *join_reasons(struct cs_arena *a, const struct cs_status *st)
{
    if (st->n_reasons == 0) {
        return cs_code_name(st->code);
    }
    if (st->n_reasons == 1) {
        return st->reasons[0];
    }
    size_t total = 1;
    for (uint32_t i = 0; i < st->n_reasons; i++) {
        total += strlen(st->reasons[i]) + 2;
    }
    char *s = cs_arena_alloc(a, total);
    size_t off = 0;
    for (uint32_t i = 0; i < st->n_reasons; i++) {
        off += (size_t)snprintf(s + off, total - off, "%s%s", i ? ", " : "", st->reasons[i]);
    }
    return s;
}

static void plugin_time(struct cs_cycle *c, struct cs_sched_result *res, const char *plugin,
                        enum cs_ext_point ep, enum cs_code code, int64_t t0)
{
    if (c->sample && res->n_plugin_ns < sizeof(res->plugin_ns) / sizeof(res->plugin_ns[0])) {
        res->plugin_ns[res->n_plugin_ns++] = (struct cs_plugin_time){
            .plugin = plugin, .ep = ep, .code = code, .ns = cs_mono_ns() - t0,
        };
    }
}

static void fail(struct cs_sched_result *res, enum cs_code code, const char *msg,
                 const char *plugin, uint32_t events)
{
    res->code = code;
    res->message = msg;
    res->plugin = plugin;
    res->reject_events = events;
}

/* The filters of one node, first failure wins; *failed names the rejecting instance. */
static enum cs_code filter_node(struct cs_fw_attempt *att, const struct cs_fw_inst *const *filters,
                                uint32_t n_filters, const struct cs_pod *pod,
                                const struct cs_node_info *ni, struct cs_status *st,
                                const struct cs_fw_inst **failed)
{
    for (uint32_t f = 0; f < n_filters; f++) {
        const struct cs_fw_inst *in = filters[f];
        st->n_reasons = 0;
        st->code = CS_SUCCESS;
        enum cs_code code = in->p->filter(&att->calls[in->slot], pod, ni, st);
        if (code != CS_SUCCESS) {
            st->code = code;
            *failed = in;
            return code;
        }
    }
    return CS_SUCCESS;
}

/* kube-scheduler's filter with nominated pods: pods nominated to this node with at least the
 * pod's priority count as if they ran there (added for the check, then removed, leaving the
 * node exactly as it was, version included). When the filters pass with them, they run again
 * without them, as upstream does: a pod's required pod affinity may be met only by a nominated
 * pod, which is not running there yet. */
static enum cs_code filter_node_nominated(struct cs_cycle *c, struct cs_fw_attempt *att,
                                          const struct cs_fw_inst *const *filters,
                                          uint32_t n_filters, const struct cs_pod *pod,
                                          struct cs_node_info *ni, struct cs_status *st,
                                          const struct cs_fw_inst **failed)
{
    struct cs_pod **nom = NULL;
    uint32_t n_nom = c->nominator ? cs_nominator_on_node(c->nominator, ni->name, pod, &nom,
                                                         &c->arena)
                                  : 0;
    if (n_nom == 0) {
        return filter_node(att, filters, n_filters, pod, ni, st, failed);
    }
    /* A nominated pod already placed on this node in the session's statement counts once. */
    uint32_t k = 0;
    for (uint32_t i = 0; i < n_nom; i++) {
        bool placed = false;
        for (uint32_t j = 0; j < ni->n_pods && !placed; j++) {
            placed = ni->pods[j]->key == nom[i]->key || strcmp(ni->pods[j]->key, nom[i]->key) == 0;
        }
        if (placed) {
            cs_pod_unref(nom[i]);
        } else {
            nom[k++] = nom[i];
        }
    }
    n_nom = k;
    if (n_nom == 0) {
        return filter_node(att, filters, n_filters, pod, ni, st, failed);
    }
    uint64_t gen = ni->generation;
    for (uint32_t i = 0; i < n_nom; i++) {
        cs_node_info_add_pod(ni, nom[i]);
    }
    enum cs_code code = filter_node(att, filters, n_filters, pod, ni, st, failed);
    for (uint32_t i = n_nom; i-- > 0;) {
        cs_node_info_remove_pod(ni, nom[i]);
        cs_pod_unref(nom[i]);
    }
    ni->generation = gen;
    if (code == CS_SUCCESS) {
        code = filter_node(att, filters, n_filters, pod, ni, st, failed);
    }
    return code;
}

enum cs_code cs_fw_run_filters(struct cs_fw_attempt *att, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    struct cs_profile *prof = att->prof;
    const struct cs_fw_point *fp = &prof->points[CS_EP_FILTER];
    for (uint32_t i = 0; i < fp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[fp->inst[i]];
        st->n_reasons = 0;
        st->code = CS_SUCCESS;
        enum cs_code code = in->p->filter(&att->calls[in->slot], pod, ni, st);
        if (code != CS_SUCCESS && code != CS_SKIP) {
            st->code = code;
            st->plugin = in->p->name;
            return code;
        }
    }
    return CS_SUCCESS;
}

enum cs_code cs_fw_run_pre_filter(struct cs_fw_attempt *att, const struct cs_pod *pod,
                                  struct cs_status *st)
{
    struct cs_profile *prof = att->prof;
    const struct cs_fw_point *pf = &prof->points[CS_EP_PRE_FILTER];
    for (uint32_t i = 0; i < pf->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[pf->inst[i]];
        enum cs_code code = in->p->pre_filter(&att->calls[in->slot], pod, st);
        if (code != CS_SUCCESS && code != CS_SKIP) {
            st->plugin = in->p->name;
            return code;
        }
    }
    return CS_SUCCESS;
}

/* PostFilter: the plugins in order until one succeeds; its nomination and victims go into
 * res->preempt. */
static void post_filter(struct cs_profile *prof, struct cs_fw_attempt *att,
                        const struct cs_pod *pod, const struct cs_node_status_map *statuses,
                        struct cs_sched_result *res)
{
    const struct cs_fw_point *post = &prof->points[CS_EP_POST_FILTER];
    const char *msg = NULL;
    for (uint32_t i = 0; i < post->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[post->inst[i]];
        struct cs_status st = { 0 };
        struct cs_preempt_result pr = { 0 };
        if (in->p->post_filter(&att->calls[in->slot], pod, statuses, &pr, &st) == CS_SUCCESS) {
            res->preempt = pr;
            return;
        }
        if (st.n_reasons) {
            const char *r = join_reasons(&att->cycle->arena, &st);
            msg = msg ? cs_arena_printf(&att->cycle->arena, "%s, %s", msg, r) : r;
        }
    }
    /* kube-scheduler's FitError carries the PostFilter plugins' message after its own, e.g.
     * "... 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims
     * found for incoming pod." */
    if (msg && res->message) {
        res->message = cs_arena_printf(&att->cycle->arena, "%s %s", res->message, msg);
    }
}


/* The equivalence cache's part in scoring: the class, which instances are volatile, and the
 * nodes its raw scores must cover (every node the cached filters passed). */
struct eq_pick {
    struct cs_eqclass *eq;
    const bool *vol;
    struct cs_node_info *const *cover;
    const int32_t *cidx;
    uint32_t n_cover;
    bool fallback_only;            /* the cover is the fallback nodes (not kept in step) */
};

/* Bring score plugin i's cached raw scores up to date: every node of the cover when they are not
 * complete, else the stale nodes only. Returns whether every node was scored. */
static bool eq_raw_update(const struct eq_pick *ep, uint32_t i, const struct cs_fw_inst *in,
                         struct cs_fw_call *call, const struct cs_pod *pod)
{
    struct cs_eqclass *eq = ep->eq;
    int64_t *raw = eq->raw + (size_t)i * eq->cap;
    if (!eq->raw_ok[i]) {
        bool same = true;
        for (uint32_t j = 0; j < ep->n_cover; j++) {
            raw[ep->cidx[j]] = in->p->score(call, pod, ep->cover[j]);
            same = same && raw[ep->cidx[j]] == raw[ep->cidx[0]];
        }
        eq->raw_ok[i] = true;
        eq->same[i] = same && ep->n_cover > 0;
        eq->same_v[i] = ep->n_cover > 0 ? raw[ep->cidx[0]] : 0;
        return true;
    }
    for (uint32_t k = 0; k < eq->stale_n; k++) {
        struct cs_node_info *ni = eq->stale[k];
        raw[ni->index] = in->p->score(call, pod, ni);
        eq->same[i] = eq->same[i] && raw[ni->index] == eq->same_v[i];
    }
    return false;
}

/* part[idx] = the weighted sum of the raw scores of the plugins in mask, for n nodes. */
static void eq_part_sum(struct cs_eqclass *eq, const struct cs_fw_point *sp, uint64_t mask,
                        const int32_t *idx, uint32_t n)
{
    for (uint32_t j = 0; j < n; j++) {
        eq->part[idx[j]] = 0;
    }
    for (uint32_t i = 0; i < sp->n && mask; i++) {
        if (!(mask & (1ull << i))) {
            continue;
        }
        const int64_t *raw = eq->raw + (size_t)i * eq->cap;
        int64_t w = sp->weight[i];
        for (uint32_t j = 0; j < n; j++) {
            eq->part[idx[j]] += raw[idx[j]] * w;
        }
    }
}

/* The totals of the cached score plugins without NormalizeScore (their raw scores are final):
 * kept per node in eq->part, so that a pod pays one pass over the feasible nodes for all of
 * them and the sums move only on the nodes rescored for it. Returns the totals (cycle arena)
 * and sets *done to those plugins (profile order bits). */
static int64_t *eq_part_totals(struct cs_cycle *c, struct cs_fw_attempt *att,
                               const struct cs_pod *pod, const struct cs_profile *prof,
                               const struct eq_pick *ep,
                               const bool *skip_score, const int32_t *fidx, uint32_t n_feasible,
                               struct cs_sched_result *res, uint64_t *done)
{
    struct cs_eqclass *eq = ep->eq;
    const struct cs_fw_point *sp = &prof->points[CS_EP_SCORE];
    uint64_t mask = 0;
    bool full = false;
    for (uint32_t i = 0; i < sp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[sp->inst[i]];
        if (skip_score[in->slot] || ep->vol[in->slot] || in->p->normalize_score) {
            continue;
        }
        int64_t tp = c->sample ? cs_mono_ns() : 0;
        full |= eq_raw_update(ep, i, in, &att->calls[in->slot], pod);
        plugin_time(c, res, in->p->name, CS_EP_SCORE, CS_SUCCESS, tp);
        mask |= 1ull << i;
    }
    *done = mask;
    int64_t *total = cs_arena_alloc(&c->arena, sizeof(*total) * n_feasible);
    if (mask == 0) {
        memset(total, 0, sizeof(*total) * n_feasible);
        return total;
    }
    if (full || eq->part_mask != mask) {
        eq_part_sum(eq, sp, mask, ep->cidx, ep->n_cover);
        eq->part_mask = mask;
    } else if (eq->stale_n) {
        int32_t *idx = cs_arena_alloc(&c->arena, sizeof(*idx) * eq->stale_n);
        for (uint32_t k = 0; k < eq->stale_n; k++) {
            idx[k] = eq->stale[k]->index;
        }
        eq_part_sum(eq, sp, mask, idx, eq->stale_n);
    }
    for (uint32_t j = 0; j < n_feasible; j++) {
        total[j] = eq->part[fidx[j]];
    }
    return total;
}

/* Scoring: PreScore (Skip drops a plugin), Score (from the equivalence cache when eq is given),
 * NormalizeScore, weighted sum, best total with a uniformly random tie-break. With one feasible
 * node there is nothing to compare, as in kube-scheduler. Returns 0, or -1 with res filled. */
static int pick_best(struct cs_profile *prof, struct cs_cycle *c, struct cs_fw_attempt *att,
                     const struct cs_pod *pod,
                     struct cs_node_info **feasible, int32_t *fidx, uint32_t n_feasible,
                     const struct eq_pick *ep,
                     struct cs_node_info **best_out, struct cs_sched_result *res)
{
    struct cs_eqclass *eq = ep ? ep->eq : NULL;
    struct cs_arena *a = &c->arena;
    struct cs_node_info *best = feasible[0];
    if (n_feasible == 1) {
        *best_out = best;
        return 0;
    }
    int64_t t_ps = cs_mono_ns();
    const struct cs_fw_point *ps = &prof->points[CS_EP_PRE_SCORE];
    bool *skip_score = cs_arena_zalloc(a, sizeof(bool) * prof->n_insts);
    for (uint32_t i = 0; i < ps->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[ps->inst[i]];
        struct cs_status st = { 0 };
        int64_t tp = c->sample ? cs_mono_ns() : 0;
        enum cs_code code = in->p->pre_score(&att->calls[in->slot], pod, feasible, n_feasible, &st);
        plugin_time(c, res, in->p->name, CS_EP_PRE_SCORE, code, tp);
        if (code == CS_SKIP) {
            skip_score[in->slot] = true;
        } else if (code != CS_SUCCESS) {
            fail(res, CS_ERROR,
                 cs_arena_printf(a, "running PreScore plugin \"%s\": %s", in->p->name,
                                 join_reasons(a, &st)),
                 in->p->name, 0);
            return -1;
        }
    }
    int64_t t_s = cs_mono_ns();
    res->ep_ns[CS_EP_PRE_SCORE] += t_s - t_ps;
    struct cs_node_score *scores = cs_arena_alloc(a, sizeof(*scores) * n_feasible);
    /* Node indexes gathered once: the loops below then touch only dense arrays. */
    if (fidx == NULL) {
        fidx = cs_arena_alloc(a, sizeof(*fidx) * n_feasible);
        for (uint32_t j = 0; j < n_feasible; j++) {
            fidx[j] = feasible[j]->index;
        }
    }
    uint64_t done = 0;
    int64_t *total = eq ? eq_part_totals(c, att, pod, prof, ep, skip_score, fidx, n_feasible, res,
                                         &done)
                        : cs_arena_zalloc(a, sizeof(*total) * n_feasible);
    const struct cs_fw_point *sp = &prof->points[CS_EP_SCORE];
    for (uint32_t i = 0; i < sp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[sp->inst[i]];
        if (done & (1ull << i)) {
            continue;
        }
        if (skip_score[in->slot]) {
            if (eq && eq->stale_n) {
                eq->raw_ok[i] = false;  /* stale nodes were not scored for this plugin */
            }
            continue;
        }
        struct cs_fw_call *call = &att->calls[in->slot];
        int64_t tp = c->sample ? cs_mono_ns() : 0;
        if (eq && !ep->vol[in->slot]) {
            /* (a cached plugin without NormalizeScore is in done: eq_part_totals) */
            int64_t *raw = eq->raw + (size_t)i * eq->cap;
            eq_raw_update(ep, i, in, call, pod);
            /* A plugin that scores every feasible node the same adds a constant to every
             * total (normalisation maps equal inputs to equal outputs): it cannot change the
             * ranking or the set of ties, so it is skipped. Known without a pass when it
             * scores the whole cover (a superset of the feasible nodes) the same. */
            uint32_t j = n_feasible;
            if (ep->fallback_only || !eq->same[i]) {
                int64_t first = raw[fidx[0]];
                j = 1;
                while (j < n_feasible && raw[fidx[j]] == first) {
                    j++;
                }
            }
            if (j == n_feasible) {
                plugin_time(c, res, in->p->name, CS_EP_SCORE, CS_SUCCESS, tp);
                continue;
            }
            for (j = 0; j < n_feasible; j++) {
                scores[j].index = fidx[j];
                scores[j].score = raw[fidx[j]];
            }
        } else {
            for (uint32_t j = 0; j < n_feasible; j++) {
                scores[j].index = fidx[j];
                scores[j].score = in->p->score(call, pod, feasible[j]);
            }
        }
        if (in->p->normalize_score) {
            in->p->normalize_score(call, pod, scores, n_feasible);
        }
        plugin_time(c, res, in->p->name, CS_EP_SCORE, CS_SUCCESS, tp);
        int64_t w = sp->weight[i];
        for (uint32_t j = 0; j < n_feasible; j++) {
            total[j] += scores[j].score * w;
        }
    }
    res->ep_ns[CS_EP_SCORE] += cs_mono_ns() - t_s;
    /* Highest total; ties broken uniformly at random (count them, then pick the k-th). */
    int64_t best_score = total[0];
    uint32_t ties = 1;
    for (uint32_t j = 1; j < n_feasible; j++) {
        if (total[j] > best_score) {
            best_score = total[j];
            ties = 1;
        } else if (total[j] == best_score) {
            ties++;
        }
    }
    uint32_t pick = ties > 1 ? (uint32_t)(rng_next(c) % ties) : 0;
    for (uint32_t j = 0; j < n_feasible; j++) {
        if (total[j] == best_score && pick-- == 0) {
            best = feasible[j];
            break;
        }
    }
    *best_out = best;
    return 0;
}

/* May the equivalence cache decide this pod? Every node is evaluated and the profile has at
 * most 64 instances; vol[slot] is set for each filter and score plugin that is not node-local
 * for this pod (by flag or by its per-pod node_local op): those run fresh on every attempt. */
static bool pod_eq_mode(const struct cs_profile *prof, const struct cs_pod *pod, bool *vol,
                        uint64_t *vol_mask)
{
    if (prof->pct_nodes_to_score >= 0 || prof->points[CS_EP_SCORE].n > 64 || prof->n_insts > 64) {
        return false;
    }
    static const int pts[] = { CS_EP_FILTER, CS_EP_SCORE };
    *vol_mask = 0;
    for (size_t k = 0; k < 2; k++) {
        const struct cs_fw_point *p = &prof->points[pts[k]];
        for (uint32_t i = 0; i < p->n; i++) {
            const struct cs_fw_inst *in = &prof->insts[p->inst[i]];
            bool local = in->p->node_local ? in->p->node_local(in->priv, pod)
                                           : (in->p->flags & CS_PLUGIN_NODE_LOCAL) != 0;
            if (!local) {
                vol[in->slot] = true;
                *vol_mask |= 1ull << in->slot;
            }
        }
    }
    return true;
}

static void eq_reset(struct cs_eqclass *eq, const struct cs_profile *prof, const struct cs_pod *pod,
                     uint64_t epoch, uint32_t n_nodes, uint64_t skip_mask, uint64_t vol_mask)
{
    eq_drop(eq);
    eq->n_score = prof->points[CS_EP_SCORE].n;
    if (eq->cap < n_nodes) {
        eq->cap = n_nodes;
        eq->ver = cs_realloc(eq->ver, sizeof(*eq->ver) * eq->cap);
        eq->fit = cs_realloc(eq->fit, sizeof(*eq->fit) * eq->cap);
        eq->raw = cs_realloc(eq->raw, sizeof(*eq->raw) * eq->cap * (eq->n_score ? eq->n_score : 1));
        eq->part = cs_realloc(eq->part, sizeof(*eq->part) * eq->cap);
    } else {
        eq->raw = cs_realloc(eq->raw, sizeof(*eq->raw) * eq->cap * (eq->n_score ? eq->n_score : 1));
    }
    size_t ns = eq->n_score ? eq->n_score : 1;
    eq->raw_ok = cs_realloc(eq->raw_ok, sizeof(*eq->raw_ok) * ns);
    eq->same = cs_realloc(eq->same, sizeof(*eq->same) * ns);
    eq->same_v = cs_realloc(eq->same_v, sizeof(*eq->same_v) * ns);
    memset(eq->ver, 0, sizeof(*eq->ver) * eq->cap);
    memset(eq->raw_ok, 0, sizeof(*eq->raw_ok) * ns);
    eq->part_mask = 0;
    eq->prof = prof;
    eq->rep = cs_pod_ref((struct cs_pod *)pod);
    eq->epoch = epoch;
    eq->n_nodes = n_nodes;
    eq->skip_mask = skip_mask;
    eq->vol_mask = vol_mask;
    eq->valid = true;
}

/* Fast path: run the cached (node-local) filters only on the nodes whose version moved since
 * the class's entry, the volatile filters on every node the cached ones passed, then score from
 * cached raw scores (volatile score plugins fresh). Returns 1 when a node was chosen, 0 to fall
 * back to the full evaluation (no feasible node: the full path builds the failure message), -1
 * on a plugin error. */
static int eq_schedule(struct cs_profile *prof, struct cs_cycle *c, struct cs_fw_attempt *att,
                       const struct cs_pod *pod,
                       const struct cs_fw_inst *const *filters, uint32_t n_filters,
                       uint64_t skip_mask, const bool *vol, uint64_t vol_mask,
                       struct cs_node_info **best, struct cs_sched_result *res)
{
    uint32_t n_nodes = cs_snapshot_num_nodes(c->snap);
    struct cs_eqclass *eq = NULL, *lru = &c->eq.cls[0];
    for (uint32_t i = 0; i < CS_EQ_CLASSES && eq == NULL; i++) {
        struct cs_eqclass *q = &c->eq.cls[i];
        if (q->valid && q->epoch != c->snap->epoch) {
            eq_drop(q);            /* stale: the node list or a plugin's data changed */
        }
        if (!q->valid) {
            lru = q;
            continue;
        }
        if (q->prof == prof && q->n_nodes == n_nodes && q->skip_mask == skip_mask &&
            q->vol_mask == vol_mask &&
            (vol_mask ? cs_fw_pod_equivalent_nl(pod, q->rep, prof->eq_meta)
                      : cs_fw_pod_equivalent_meta(pod, q->rep, prof->eq_meta)) &&
            (prof->eq_meta || cs_fw_pod_same_keys(pod, q->rep, prof->eq_keys, prof->n_eq_keys))) {
            eq = q;
        } else if (lru->valid && q->used < lru->used) {
            lru = q;
        }
    }
    if (eq == NULL) {
        eq = lru;
        eq_reset(eq, prof, pod, c->snap->epoch, n_nodes, skip_mask, vol_mask);
    } else {
        c->eq.hits++;
    }
    eq->used = ++c->eq.tick;
    struct cs_arena *a = &c->arena;
    /* filters split: cached ones decide fit[], volatile ones run per attempt */
    const struct cs_fw_inst **nl = cs_arena_alloc(a, sizeof(*nl) * (n_filters + 1));
    const struct cs_fw_inst **vf = cs_arena_alloc(a, sizeof(*vf) * (n_filters + 1));
    uint32_t n_nl = 0, n_vf = 0;
    for (uint32_t f = 0; f < n_filters; f++) {
        if (vol[filters[f]->slot]) {
            vf[n_vf++] = filters[f];
        } else {
            nl[n_nl++] = filters[f];
        }
    }
    /* cover: the nodes cached filters pass (raw scores are kept for all of them) */
    struct cs_node_info **cover = cs_arena_alloc(a, sizeof(*cover) * n_nodes);
    int32_t *cidx = cs_arena_alloc(a, sizeof(*cidx) * n_nodes);
    eq->stale = cs_arena_alloc(a, sizeof(*eq->stale) * n_nodes);
    eq->stale_n = 0;
    uint32_t n_cover = 0, n_fb = 0;
    int64_t t_f = cs_mono_ns();
    const uint64_t *vers = c->snap->vers;
    struct cs_node_info *const *list = c->snap->list;
    for (uint32_t idx = 0; idx < n_nodes; idx++) {
        if (eq->ver[idx] != vers[idx]) {
            struct cs_node_info *ni = list[idx];
            bool ok = true;
            for (uint32_t f = 0; f < n_nl && ok; f++) {
                struct cs_status st;
                st.n_reasons = 0;
                st.code = CS_SUCCESS;
                enum cs_code code = nl[f]->p->filter(&att->calls[nl[f]->slot], pod, ni, &st);
                if (code == CS_ERROR) {
                    eq_drop(eq);
                    return 0;
                }
                ok = code == CS_SUCCESS;
            }
            eq->fit[idx] = ok ? (prof->n_fallback && is_fallback(att, pod, ni) ? 2 : 1) : 0;
            eq->ver[idx] = vers[idx];
            c->eq.recomputed++;
            if (ok) {
                eq->stale[eq->stale_n++] = ni;
            }
        }
        if (eq->fit[idx] == 1) {
            cidx[n_cover] = (int32_t)idx;
            cover[n_cover++] = list[idx];
        } else if (eq->fit[idx] == 2) {
            n_fb++;
        }
    }
    bool fallback_only = n_cover == 0 && n_fb > 0;
    if (fallback_only) {
        /* only fallback nodes fit: choose among them */
        for (uint32_t idx = 0; idx < n_nodes; idx++) {
            if (eq->fit[idx] == 2) {
                cidx[n_cover] = (int32_t)idx;
                cover[n_cover++] = list[idx];
            }
        }
    }
    struct cs_node_info **feasible = cover;
    int32_t *fidx = cidx;
    uint32_t n_feasible = n_cover;
    if (n_vf > 0) {
        feasible = cs_arena_alloc(a, sizeof(*feasible) * (n_cover ? n_cover : 1));
        fidx = cs_arena_alloc(a, sizeof(*fidx) * (n_cover ? n_cover : 1));
        n_feasible = 0;
        for (uint32_t j = 0; j < n_cover; j++) {
            bool ok = true;
            for (uint32_t f = 0; f < n_vf && ok; f++) {
                struct cs_status st;
                st.n_reasons = 0;
                st.code = CS_SUCCESS;
                enum cs_code code = vf[f]->p->filter(&att->calls[vf[f]->slot], pod, cover[j], &st);
                if (code == CS_ERROR) {
                    return 0;
                }
                ok = code == CS_SUCCESS;
            }
            if (ok) {
                fidx[n_feasible] = cidx[j];
                feasible[n_feasible++] = cover[j];
            }
        }
    }
    res->ep_ns[CS_EP_FILTER] = cs_mono_ns() - t_f;
    if (n_feasible == 0) {
        return 0;
    }
    res->evaluated = n_nodes;
    res->feasible = n_feasible;
    struct eq_pick ep = { .eq = eq, .vol = vol, .cover = cover, .cidx = cidx, .n_cover = n_cover,
                          .fallback_only = fallback_only };
    if (pick_best(prof, c, att, pod, feasible, fidx, n_feasible, &ep, best, res) != 0) {
        return -1;
    }
    if ((n_feasible == 1 && eq->stale_n) || n_fb > 0) {
        /* Raw scores are kept only while they cover every fit node: pick_best did not score
         * with one feasible node, and fallback nodes are scored only when chosen among. */
        memset(eq->raw_ok, 0, sizeof(*eq->raw_ok) * (eq->n_score ? eq->n_score : 1));
    }
    return 1;
}

void cs_fw_schedule_pod(struct cs_profile *prof, struct cs_cycle *c, const struct cs_pod *pod,
                        struct cs_sched_result *res)
{
    memset(res, 0, sizeof(*res));
    struct cs_arena *a = &c->arena;
    c->sample = c->attempts++ % 10 == 0;
    struct cs_fw_attempt *att = cs_fw_attempt_new(prof, c);
    res->att = att;
    uint32_t n_nodes = cs_snapshot_num_nodes(c->snap);
    if (n_nodes == 0) {
        fail(res, CS_ERROR, "no nodes available to schedule pods", NULL, CS_EV_NODE_ADD);
        return;
    }

    struct cs_node_info *best = NULL;

    /* PreFilter */
    int64_t t0 = cs_mono_ns();
    const struct cs_fw_point *pf = &prof->points[CS_EP_PRE_FILTER];
    bool *skip_filter = cs_arena_zalloc(a, sizeof(bool) * prof->n_insts);
    for (uint32_t i = 0; i < pf->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[pf->inst[i]];
        struct cs_status st = { 0 };
        int64_t tp = c->sample ? cs_mono_ns() : 0;
        enum cs_code code = in->p->pre_filter(&att->calls[in->slot], pod, &st);
        plugin_time(c, res, in->p->name, CS_EP_PRE_FILTER, code, tp);
        if (code == CS_SKIP) {
            skip_filter[in->slot] = true;
            continue;
        }
        if (code == CS_SUCCESS) {
            continue;
        }
        if (code == CS_ERROR) {
            fail(res, CS_ERROR,
                 cs_arena_printf(a, "running PreFilter plugin \"%s\": %s", in->p->name,
                                 join_reasons(a, &st)),
                 in->p->name, 0);
            return;
        }
        fail(res, CS_UNSCHEDULABLE,
             cs_arena_printf(a, "0/%u nodes are available: %s.", n_nodes, join_reasons(a, &st)),
             in->p->name, in->p->events);
        res->reject_plugins = in->slot < 64 ? 1ull << in->slot : ~0ull;
        /* kube-scheduler runs PostFilter after a PreFilter rejection too: every node has the
         * rejection's code (UnschedulableAndUnresolvable stops preemption on all of them). */
        uint8_t *codes = cs_arena_alloc(a, n_nodes);
        memset(codes, code, n_nodes);
        struct cs_node_status_map sm = { .code = codes, .n = n_nodes };
        post_filter(prof, att, pod, &sm, res);
        return;
    }

    /* Filter */
    int64_t t1 = cs_mono_ns();
    res->ep_ns[CS_EP_PRE_FILTER] = t1 - t0;
    const struct cs_fw_point *fp = &prof->points[CS_EP_FILTER];
    const struct cs_fw_inst **filters = cs_arena_alloc(a, sizeof(*filters) * (fp->n + 1));
    uint32_t n_filters = 0;
    for (uint32_t i = 0; i < fp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[fp->inst[i]];
        if (!skip_filter[in->slot]) {
            filters[n_filters++] = in;
        }
    }
    bool *vol = cs_arena_zalloc(a, sizeof(bool) * prof->n_insts);
    uint64_t vol_mask = 0;
    if ((c->nominator == NULL || cs_nominator_len(c->nominator) == 0) && !att->pf_set &&
        pod_eq_mode(prof, pod, vol, &vol_mask)) {
        uint64_t skip_mask = 0;
        for (uint32_t i = 0; i < prof->n_insts && i < 64; i++) {
            if (skip_filter[i]) {
                skip_mask |= 1ull << i;
            }
        }
        struct cs_node_info *chosen = NULL;
        int r = eq_schedule(prof, c, att, pod, filters, n_filters, skip_mask, vol, vol_mask,
                            &chosen, res);
        if (r < 0) {
            return;
        }
        if (r > 0) {
            best = chosen;
            goto reserve;
        }
    }
    uint32_t want = cs_fw_num_nodes_to_find(n_nodes, prof->pct_nodes_to_score);
    struct cs_node_info **feasible = cs_arena_alloc(a, sizeof(*feasible) * n_nodes);
    struct cs_node_info **fallback =
        prof->n_fallback ? cs_arena_alloc(a, sizeof(*fallback) * n_nodes) : NULL;
    uint32_t n_feasible = 0, n_fb = 0;
    struct reasons rs;
    cs_map_init(&rs.map);
    rs.events = 0;
    uint32_t start = want < n_nodes ? c->next_start % n_nodes : 0;
    uint32_t visited = 0;
    uint8_t *codes = cs_arena_alloc(a, n_nodes);
    memset(codes, CS_SKIP, n_nodes);
    uint64_t rejectors = 0;
    for (; visited < n_nodes && n_feasible < want; visited++) {
        uint32_t idx = start + visited;
        if (idx >= n_nodes) {
            idx -= n_nodes;
        }
        struct cs_node_info *ni = cs_snapshot_node_at(c->snap, idx);
        if (att->pf_set && !pf_allows(att, ni->name)) {
            /* outside PreFilter's node set: not filtered at all */
            codes[idx] = CS_UNSCHEDULABLE_AND_UNRESOLVABLE;
            count_reason(&rs, a, cs_arena_printf(a, "node(s) didn't satisfy plugin(s) %s",
                                                 att->pf_plugins));
            continue;
        }
        struct cs_status st;
        const struct cs_fw_inst *in = NULL;
        enum cs_code code = filter_node_nominated(c, att, filters, n_filters, pod, ni, &st, &in);
        codes[idx] = (uint8_t)code;
        if (code == CS_SUCCESS) {
            if (prof->n_fallback && is_fallback(att, pod, ni)) {
                fallback[n_fb++] = ni;      /* kept aside; they do not end the search */
            } else {
                feasible[n_feasible++] = ni;
            }
            continue;
        }
        if (code == CS_ERROR) {
            cs_map_destroy(&rs.map);
            fail(res, CS_ERROR,
                 cs_arena_printf(a, "running \"%s\" filter plugin: %s", in->p->name,
                                 join_reasons(a, &st)),
                 in->p->name, 0);
            return;
        }
        if (st.n_reasons == 0) {
            count_reason(&rs, a, cs_arena_printf(a, "node(s) were rejected by %s", in->p->name));
        }
        for (uint32_t r = 0; r < st.n_reasons; r++) {
            count_reason(&rs, a, st.reasons[r]);
        }
        rs.events |= in->p->events;
        rejectors |= in->slot < 64 ? 1ull << in->slot : ~0ull;
    }
    c->next_start = (start + visited) % n_nodes;
    if (n_feasible == 0 && n_fb > 0) {
        feasible = fallback;
        n_feasible = n_fb;
    }
    res->ep_ns[CS_EP_FILTER] = cs_mono_ns() - t1;
    res->evaluated = visited;
    res->feasible = n_feasible;
    if (n_feasible == 0) {
        /* PostFilter (preemption) may nominate a node; the pod is still unschedulable now. */
        fail(res, CS_UNSCHEDULABLE, fit_error(a, n_nodes, &rs), NULL, rs.events);
        res->reject_plugins = rejectors;
        cs_map_destroy(&rs.map);
        struct cs_node_status_map sm = { .code = codes, .n = n_nodes };
        post_filter(prof, att, pod, &sm, res);
        return;
    }
    cs_map_destroy(&rs.map);

    /* Score */
    if (pick_best(prof, c, att, pod, feasible, NULL, n_feasible, NULL, &best, res) != 0) {
        return;
    }

reserve:
    /* Reserve, then Permit */
    int64_t t_r = cs_mono_ns();
    const struct cs_fw_point *rp = &prof->points[CS_EP_RESERVE];
    for (uint32_t i = 0; i < rp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[rp->inst[i]];
        if (in->p->reserve == NULL) {
            continue;
        }
        struct cs_status st = { 0 };
        enum cs_code code = in->p->reserve(&att->calls[in->slot], pod, best, &st);
        if (code != CS_SUCCESS) {
            cs_fw_unreserve(att, pod, best->name);
            fail(res, code == CS_ERROR ? CS_ERROR : CS_UNSCHEDULABLE,
                 cs_arena_printf(a, "running Reserve plugin \"%s\": %s", in->p->name,
                                 join_reasons(a, &st)),
                 in->p->name, in->p->events);
            return;
        }
    }
    int64_t t_p = cs_mono_ns();
    res->ep_ns[CS_EP_RESERVE] = t_p - t_r;
    const struct cs_fw_point *pp = &prof->points[CS_EP_PERMIT];
    for (uint32_t i = 0; i < pp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[pp->inst[i]];
        struct cs_status st = { 0 };
        enum cs_code code = in->p->permit(&att->calls[in->slot], pod, best->name, &st);
        if (code == CS_SUCCESS) {
            continue;
        }
        cs_fw_unreserve(att, pod, best->name);
        if (code == CS_WAIT) {
            /* Gangs are placed all-or-nothing by statements; waiting at Permit is not used. */
            fail(res, CS_ERROR,
                 cs_arena_printf(a, "plugin \"%s\" asked to wait at Permit, which cosched does "
                                    "not support", in->p->name),
                 in->p->name, 0);
        } else {
            fail(res, code == CS_ERROR ? CS_ERROR : CS_UNSCHEDULABLE,
                 cs_arena_printf(a, "rejected at Permit by \"%s\": %s", in->p->name,
                                 join_reasons(a, &st)),
                 in->p->name, in->p->events);
        }
        return;
    }
    res->ep_ns[CS_EP_PERMIT] = cs_mono_ns() - t_p;
    res->code = CS_SUCCESS;
    res->node = best;
}

void cs_fw_unreserve(struct cs_fw_attempt *att, const struct cs_pod *pod, const char *node)
{
    struct cs_profile *prof = att->prof;
    const struct cs_fw_point *rp = &prof->points[CS_EP_RESERVE];
    for (uint32_t i = rp->n; i-- > 0;) {
        const struct cs_fw_inst *in = &prof->insts[rp->inst[i]];
        if (in->p->unreserve) {
            in->p->unreserve(&att->calls[in->slot], pod, node);
        }
    }
}

enum cs_code cs_fw_pre_bind(struct cs_fw_attempt *att, const struct cs_pod *pod, const char *node,
                            struct cs_bind_patch *patch, struct cs_status *st)
{
    struct cs_profile *prof = att->prof;
    const struct cs_fw_point *pb = &prof->points[CS_EP_PRE_BIND];
    for (uint32_t i = 0; i < pb->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[pb->inst[i]];
        enum cs_code code = in->p->pre_bind(&att->calls[in->slot], pod, node, patch, st);
        if (code != CS_SUCCESS && code != CS_SKIP) {
            st->plugin = in->p->name;
            return code;
        }
    }
    return CS_SUCCESS;
}

enum cs_code cs_fw_bind(struct cs_fw_attempt *att, const struct cs_pod *pod, const char *node,
                        struct cs_status *st)
{
    struct cs_profile *prof = att->prof;
    const struct cs_fw_point *bp = &prof->points[CS_EP_BIND];
    for (uint32_t i = 0; i < bp->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[bp->inst[i]];
        enum cs_code code = in->p->bind(&att->calls[in->slot], pod, node, st);
        if (code == CS_SKIP) {
            continue;
        }
        st->plugin = in->p->name;
        return code;
    }
    return cs_status_set(st, CS_ERROR, "no bind plugin accepted the pod");
}

void cs_fw_post_bind(struct cs_profile *prof, const struct cs_pod *pod, const char *node)
{
    const struct cs_fw_point *pb = &prof->points[CS_EP_POST_BIND];
    for (uint32_t i = 0; i < pb->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[pb->inst[i]];
        in->p->post_bind(in->priv, pod, node);
    }
}

bool cs_fw_queue_less(struct cs_profile *prof, const struct cs_queued_pod *a,
                      const struct cs_queued_pod *b)
{
    const struct cs_fw_point *qs = &prof->points[CS_EP_QUEUE_SORT];
    if (qs->n == 0) {
        return a->timestamp_ns < b->timestamp_ns;
    }
    const struct cs_fw_inst *in = &prof->insts[qs->inst[0]];
    return in->p->queue_less(in->priv, a, b);
}

bool cs_fw_pre_enqueue(struct cs_profile *prof, const struct cs_pod *pod, char *reason, size_t n)
{
    const struct cs_fw_point *pe = &prof->points[CS_EP_PRE_ENQUEUE];
    for (uint32_t i = 0; i < pe->n; i++) {
        const struct cs_fw_inst *in = &prof->insts[pe->inst[i]];
        struct cs_status st = { 0 };
        if (in->p->pre_enqueue(in->priv, pod, &st) != CS_SUCCESS) {
            /* Reasons of pre_enqueue are static or heap-free strings: format into the buffer. */
            snprintf(reason, n, "%s", st.n_reasons ? st.reasons[0] : in->p->name);
            return false;
        }
    }
    return true;
}

const char *cs_fw_pod_group(struct cs_profile *prof, const struct cs_pod *pod, int32_t *min_member)
{
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        const struct cs_fw_inst *in = &prof->insts[i];
        if (in->p->pod_group) {
            const char *g = in->p->pod_group(in->priv, pod, min_member);
            if (g) {
                return g;
            }
        }
    }
    return NULL;
}
