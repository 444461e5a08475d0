/* The preemption engine (preempt.h). */
#include "pkg/framework/preempt.h"

#include <stdlib.h>
#include <string.h>

#include "pkg/framework/framework.h"
#include "pkg/framework/nominator.h"
#include "pkg/framework/snapshot.h"
#include "pkg/util/arena.h"

struct candidate {
    struct cs_node_info *ni;
    struct cs_pod **victims;
    uint32_t n;
    uint32_t pdb_violations;
};

/* Highest priority first; equal priority: earlier start first (more important to keep). */
static int victim_cmp(const void *pa, const void *pb)
{
    const struct cs_pod *a = *(const struct cs_pod *const *)pa;
    const struct cs_pod *b = *(const struct cs_pod *const *)pb;
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    int64_t sa = a->start_ns ? a->start_ns : a->creation_ns;
    int64_t sb = b->start_ns ? b->start_ns : b->creation_ns;
    return (sa > sb) - (sa < sb);
}

static bool may_evict(struct cs_profile *prof, const struct cs_pod *pod, const struct cs_pod *v)
{
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        const struct cs_fw_inst *in = &prof->insts[i];
        if (in->p->may_evict && !in->p->may_evict(in->priv, pod, v)) {
            return false;
        }
    }
    return true;
}

static bool victims_ok(struct cs_profile *prof, const struct cs_pod *pod,
                       struct cs_pod *const *v, uint32_t n)
{
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        const struct cs_fw_inst *in = &prof->insts[i];
        if (in->p->victims_ok && !in->p->victims_ok(in->priv, pod, v, n)) {
            return false;
        }
    }
    return true;
}

bool cs_fw_may_evict(struct cs_fw_call *c, const struct cs_pod *pod, const struct cs_pod *victim)
{
    struct cs_fw_attempt *att = c->fw;
    return att == NULL || may_evict(att->prof, pod, victim);
}

bool cs_fw_victims_ok(struct cs_fw_call *c, const struct cs_pod *pod,
                      struct cs_pod *const *victims, uint32_t n)
{
    struct cs_fw_attempt *att = c->fw;
    return att == NULL || victims_ok(att->prof, pod, victims, n);
}

static bool fits(struct cs_fw_attempt *att, const struct cs_pod *pod, struct cs_node_info *ni)
{
    struct cs_status st = { 0 };
    return cs_fw_run_filters(att, pod, ni, &st) == CS_SUCCESS;
}

/* SelectVictimsOnNode. Leaves the node exactly as found. Returns true with cand filled. */
static bool select_victims(struct cs_fw_attempt *att, const struct cs_pod *pod,
                           struct cs_node_info *ni, const struct cs_preempt_opts *opts,
                           struct cs_arena *a, struct candidate *cand)
{
    struct cs_profile *prof = att->prof;
    uint64_t gen = ni->generation;
    struct cs_pod **pot = cs_arena_alloc(a, sizeof(*pot) * (ni->n_pods ? ni->n_pods : 1));
    uint32_t n_pot = 0;
    for (uint32_t i = 0; i < ni->n_pods; i++) {
        struct cs_pod *v = ni->pods[i];
        bool elig = opts->eligible ? opts->eligible(opts->eligible_arg, pod, v)
                                   : v->priority < pod->priority;
        if (elig && v->deletion_ns == 0 && may_evict(prof, pod, v)) {
            pot[n_pot++] = v;
        }
    }
    if (n_pot == 0) {
        return false;
    }
    /* Remove them all (the node keeps its own references through ours: take one each). */
    for (uint32_t i = 0; i < n_pot; i++) {
        cs_pod_ref(pot[i]);
        cs_node_info_remove_pod(ni, pot[i]);
    }
    bool ok = fits(att, pod, ni);
    uint32_t n_victims = 0;
    uint32_t violations = 0;
    struct cs_pod **victims = cs_arena_alloc(a, sizeof(*victims) * n_pot);
    if (ok) {
        qsort(pot, n_pot, sizeof(*pot), victim_cmp);
        /* Reprieve PDB-violating pods first, then the others, most important first. */
        for (int pass = 0; pass < 2; pass++) {
            for (uint32_t i = 0; i < n_pot; i++) {
                bool viol = opts->violates_pdb && opts->violates_pdb(opts->pdb_arg, pot[i]);
                if (viol != (pass == 0)) {
                    continue;
                }
                cs_node_info_add_pod(ni, pot[i]);
                if (!fits(att, pod, ni)) {
                    cs_node_info_remove_pod(ni, pot[i]);
                    victims[n_victims++] = pot[i];
                    violations += viol;
                }
            }
        }
        /* Fitting with nothing evicted means the rejection came from outside this node's
         * pods (a PreFilter rule such as a quota): evicting here cannot help. */
        ok = n_victims > 0 && victims_ok(prof, pod, victims, n_victims);
    }
    /* Restore: put back every pod still removed (the victims, or all when it did not fit). */
    for (uint32_t i = 0; i < n_pot; i++) {
        bool present = false;
        for (uint32_t k = 0; k < ni->n_pods && !present; k++) {
            present = ni->pods[k] == pot[i];
        }
        if (!present) {
            cs_node_info_add_pod(ni, pot[i]);
        }
        cs_pod_unref(pot[i]);
    }
    ni->generation = gen;
    if (!ok) {
        return false;
    }
    qsort(victims, n_victims, sizeof(*victims), victim_cmp);
    cand->ni = ni;
    cand->victims = victims;
    cand->n = n_victims;
    cand->pdb_violations = violations;
    return true;
}

static int64_t start_of(const struct cs_pod *p)
{
    return p->start_ns ? p->start_ns : p->creation_ns;
}

/* kube-scheduler's pickOneNodeForPreemption: is a better than b? */
static bool better(const struct candidate *a, const struct candidate *b)
{
    if (a->pdb_violations != b->pdb_violations) {
        return a->pdb_violations < b->pdb_violations;
    }
    int32_t ha = a->n ? a->victims[0]->priority : INT32_MIN;
    int32_t hb = b->n ? b->victims[0]->priority : INT32_MIN;
    if (ha != hb) {
        return ha < hb;
    }
    int64_t sa = 0, sb = 0;
    for (uint32_t i = 0; i < a->n; i++) {
        sa += (int64_t)a->victims[i]->priority + 2147483648LL;
    }
    for (uint32_t i = 0; i < b->n; i++) {
        sb += (int64_t)b->victims[i]->priority + 2147483648LL;
    }
    if (sa != sb) {
        return sa < sb;
    }
    if (a->n != b->n) {
        return a->n < b->n;
    }
    /* Latest start among the highest-priority victims: the earliest start of that set, later
     * is better. */
    int64_t ea = INT64_MAX, eb = INT64_MAX;
    for (uint32_t i = 0; i < a->n && a->victims[i]->priority == ha; i++) {
        ea = start_of(a->victims[i]) < ea ? start_of(a->victims[i]) : ea;
    }
    for (uint32_t i = 0; i < b->n && b->victims[i]->priority == hb; i++) {
        eb = start_of(b->victims[i]) < eb ? start_of(b->victims[i]) : eb;
    }
    return ea > eb;
}

static bool terminating_victim_on(const struct cs_snapshot *snap, const struct cs_pod *pod)
{
    if (pod->nominated_node_name == NULL) {
        return false;
    }
    const struct cs_node_info *ni = cs_snapshot_node(snap, pod->nominated_node_name);
    if (ni == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < ni->n_pods; i++) {
        const struct cs_pod *v = ni->pods[i];
        if (v->deletion_ns && v->priority < pod->priority) {
            return true;
        }
    }
    return false;
}

enum cs_code cs_fw_preempt(struct cs_fw_call *c, const struct cs_pod *pod,
                           const struct cs_node_status_map *statuses,
                           const struct cs_preempt_opts *opts, struct cs_preempt_result *out,
                           const char **why)
{
    struct cs_fw_attempt *att = c->fw;
    memset(out, 0, sizeof(*out));
    if (att == NULL) {
        *why = "no framework attempt";
        return CS_ERROR;
    }
    if (pod->preemption_policy == CS_PREEMPT_NEVER) {
        *why = "not eligible due to preemptionPolicy=Never.";
        return CS_UNSCHEDULABLE;
    }
    struct cs_snapshot *snap = (struct cs_snapshot *)c->snap;
    if (terminating_victim_on(snap, pod)) {
        *why = "not eligible due to a terminating pod on the nominated node.";
        return CS_UNSCHEDULABLE;
    }
    uint32_t n = cs_snapshot_num_nodes(snap);
    int64_t pct = opts && opts->min_candidate_pct ? opts->min_candidate_pct : 10;
    int64_t abs_min = opts && opts->min_candidate_abs ? opts->min_candidate_abs : 100;
    pct = pct < 0 ? 0 : pct;               /* negative: an explicit 0 */
    abs_min = abs_min < 0 ? 0 : abs_min;
    int64_t want = (int64_t)n * pct / 100;
    if (want < abs_min) {
        want = abs_min;
    }
    if (want > n) {
        want = n;
    }
    struct cs_preempt_opts o = opts ? *opts : (struct cs_preempt_opts){ 0 };
    struct cs_arena *a = c->arena;
    struct cs_cycle *cyc = att->cycle;
    uint64_t x = cyc ? cyc->rng : 0x9e3779b97f4a7c15ULL;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if (cyc) {
        cyc->rng = x;
    }
    uint32_t offset = n ? (uint32_t)(x % n) : 0;
    struct candidate best = { 0 };
    bool have = false;
    int64_t found = 0, nonviolating = 0;
    for (uint32_t k = 0; k < n && nonviolating < want; k++) {
        uint32_t idx = (offset + k) % n;
        if (statuses && idx < statuses->n &&
            (statuses->code[idx] == CS_UNSCHEDULABLE_AND_UNRESOLVABLE ||
             statuses->code[idx] == CS_SUCCESS)) {
            continue;
        }
        struct cs_node_info *ni = cs_snapshot_node_at(snap, idx);
        struct candidate cand;
        if (!select_victims(att, pod, ni, &o, a, &cand)) {
            continue;
        }
        found++;
        nonviolating += cand.pdb_violations == 0;
        if (!have || better(&cand, &best)) {
            best = cand;
            have = true;
        }
    }
    (void)found;
    if (!have) {
        /* kube-scheduler's message: every node where preemption cannot help (its Filter said
         * UnschedulableAndUnresolvable), and every other one, where no victims were found;
         * "<count> <reason>" items sorted as strings. */
        uint32_t unresolvable = 0;
        for (uint32_t k = 0; statuses && k < n && k < statuses->n; k++) {
            unresolvable += statuses->code[k] == CS_UNSCHEDULABLE_AND_UNRESOLVABLE ||
                            statuses->code[k] == CS_SUCCESS;
        }
        char *x1 = unresolvable ? cs_arena_printf(a, "%u Preemption is not helpful for "
                                                     "scheduling", unresolvable)
                                : NULL;
        char *x2 = n - unresolvable ? cs_arena_printf(a, "%u No preemption victims found for "
                                                         "incoming pod", n - unresolvable)
                                    : NULL;
        if (x1 && x2 && strcmp(x2, x1) < 0) {
            char *t = x1;
            x1 = x2;
            x2 = t;
        }
        *why = cs_arena_printf(a, "0/%u nodes are available: %s%s%s.", n, x1 ? x1 : "",
                               x1 && x2 ? ", " : "", x2 ? x2 : "");
        return CS_UNSCHEDULABLE;
    }
    out->node = best.ni->name;
    out->victims = best.victims;
    out->n_victims = best.n;
    out->pdb_violations = best.pdb_violations;
    return CS_SUCCESS;
}
