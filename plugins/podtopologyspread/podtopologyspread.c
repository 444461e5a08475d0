/*
 * PodTopologySpread (kube-scheduler's, v1.37 semantics).
 *
 * Constraints are the pod's own topologySpreadConstraints; a pod without any gets the
 * profile's default constraints when something manages it: with defaultingType System the
 * built-in pair (kubernetes.io/hostname maxSkew 3, topology.kubernetes.io/zone maxSkew 5, both
 * ScheduleAnyway), with List the args' defaultConstraints; their selector is deduced from the
 * pod's Services and controller (plugins/helper/ownersel.h). matchLabelKeys add key=value of
 * the pod's own labels to the selector. Only pods of the pod's namespace that are not
 * terminating count.
 *
 *  PreFilter: the DoNotSchedule constraints (Skip when none). A node counts for a constraint
 *  when it has the topology label of every constraint and passes the constraint's node
 *  inclusion policies (nodeAffinityPolicy Honor: the pod's nodeSelector and required node
 *  affinity; nodeTaintsPolicy Honor: its NoSchedule/NoExecute taints are tolerated). Each
 *  domain's matching pods are summed over those nodes; the global minimum is the smallest
 *  domain count, or 0 when there are fewer domains than minDomains.
 *  Filter: a node without a constraint's label is UnschedulableAndUnresolvable "node(s) didn't
 *  match pod topology spread constraints (missing required label)"; otherwise count in its
 *  domain + 1 if the pod matches the selector itself - global minimum > maxSkew is
 *  Unschedulable "node(s) didn't match pod topology spread constraints".
 *  PreScore/Score/NormalizeScore: the ScheduleAnyway constraints; domains are those of the
 *  feasible nodes (nodes lacking a label are ignored unless system-defaulted), counted over all
 *  nodes; score = sum of count * log(domains + 2) + maxSkew - 1 (hostname: the node's own
 *  count, domains = scored nodes), rounded; normalized as (max + min - s) * 100 / max.
 *
 * Counting goes through plugins/helper/termcount.h: per-node and per-domain counts of each
 * selector are refreshed only for nodes whose snapshot version moved, so an attempt costs
 * O(nodes) array reads, not a scan of every pod. A node changed in place during the attempt
 * (preemption dry runs remove pods and restore the node's version afterwards) is recounted
 * live in Filter.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pkg/framework/snapshot.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/selector.h"
#include "plugins/helper/helper.h"
#include "plugins/helper/nodematch.h"
#include "plugins/helper/ownersel.h"
#include "plugins/helper/termcount.h"
#include "plugins/registry.h"

#define HOSTNAME_KEY "kubernetes.io/hostname"
#define ZONE_KEY "topology.kubernetes.io/zone"
#define ERR_NOT_MATCH "node(s) didn't match pod topology spread constraints"
#define ERR_NO_LABEL ERR_NOT_MATCH " (missing required label)"
#define TC_ENTRIES 256

struct pts_default {
    int32_t max_skew;
    char *key;
    bool do_not_schedule;
};

struct pts {
    bool system_defaulting;
    struct pts_default *defaults;  /* List defaulting */
    uint32_t n_defaults;
    struct cs_tc *tc;
    struct cs_owner_table *owners;
    bool own_owners;
};

/* One constraint of an attempt. */
struct pc {
    int32_t max_skew;
    int32_t min_domains;
    bool honor_affinity;
    bool honor_taints;
    bool hostname;
    bool self_match;
    struct cs_tc_term term;
    const struct cs_tc_view *view;
    int64_t *dcount;               /* per domain id: matching pods on counted nodes */
    uint8_t *dpresent;             /* per domain id: some counted (or feasible) node has it */
    uint32_t n_present;
    int64_t min;                   /* Filter: global minimum (INT32_MAX without domains) */
    double weight;                 /* Score: log(domains + 2) */
};

struct pts_state {
    const struct cs_pod *pod;
    struct pc *filter;
    uint32_t n_filter;
    struct pc *score;
    uint32_t n_score;
    bool require_all;              /* Score: nodes lacking a label are ignored */
    uint8_t *ignored;              /* Score: per snapshot node index */
};

/* ---- args --------------------------------------------------------------------------------- */

static int parse_args(struct pts *p, const json_t *args, char *err, size_t errlen)
{
    p->system_defaulting = true;
    if (args == NULL) {
        return 0;
    }
    const json_t *dt = json_object_get(args, "defaultingType");
    if (dt != NULL && !json_is_null(dt)) {
        const char *s = json_string_value(dt);
        if (s && strcmp(s, "List") == 0) {
            p->system_defaulting = false;
        } else if (!s || strcmp(s, "System") != 0) {
            snprintf(err, errlen, "defaultingType: Unsupported value: must be List or System");
            return -1;
        }
    }
    const json_t *dc = json_object_get(args, "defaultConstraints");
    size_t n = json_is_array(dc) ? json_array_size(dc) : 0;
    if (n && p->system_defaulting) {
        snprintf(err, errlen,
                 "defaultConstraints: Invalid value: when .defaultingType is \"System\", "
                 ".defaultConstraints must be empty");
        return -1;
    }
    p->defaults = n ? cs_calloc(n, sizeof(*p->defaults)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(dc, i);
        json_int_t skew = json_integer_value(json_object_get(c, "maxSkew"));
        const char *key = json_string_value(json_object_get(c, "topologyKey"));
        const char *wu = json_string_value(json_object_get(c, "whenUnsatisfiable"));
        if (skew <= 0 || skew > INT32_MAX) {
            snprintf(err, errlen, "defaultConstraints[%zu].maxSkew: must be greater than zero", i);
            return -1;
        }
        if (key == NULL || *key == '\0') {
            snprintf(err, errlen, "defaultConstraints[%zu].topologyKey: Required value", i);
            return -1;
        }
        if (!wu || (strcmp(wu, "DoNotSchedule") != 0 && strcmp(wu, "ScheduleAnyway") != 0)) {
            snprintf(err, errlen,
                     "defaultConstraints[%zu].whenUnsatisfiable: Unsupported value: must be "
                     "DoNotSchedule or ScheduleAnyway", i);
            return -1;
        }
        if (json_object_get(c, "labelSelector") != NULL) {
            snprintf(err, errlen,
                     "defaultConstraints[%zu].labelSelector: Forbidden: constraint must not "
                     "define a selector, as they deduced for each pod", i);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(p->defaults[j].key, key) == 0 &&
                p->defaults[j].do_not_schedule == (strcmp(wu, "DoNotSchedule") == 0)) {
                snprintf(err, errlen, "defaultConstraints[%zu]: Duplicate value: {%s, %s}", i,
                         key, wu);
                return -1;
            }
        }
        p->defaults[i].max_skew = (int32_t)skew;
        p->defaults[i].key = cs_strdup(key);
        p->defaults[i].do_not_schedule = strcmp(wu, "DoNotSchedule") == 0;
        p->n_defaults++;
    }
    return 0;
}

static void pts_destroy(void *priv)
{
    struct pts *p = priv;
    if (p == NULL) {
        return;
    }
    for (uint32_t i = 0; i < p->n_defaults; i++) {
        cs_free(p->defaults[i].key);
    }
    cs_free(p->defaults);
    cs_tc_free(p->tc);
    if (p->own_owners) {
        cs_owner_table_free(p->owners);
    }
    cs_free(p);
}

static int pts_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct pts *p = cs_calloc(1, sizeof(*p));
    if (parse_args(p, in->args, err, errlen) != 0) {
        pts_destroy(p);
        return -1;
    }
    p->owners = cs_owner_table_shared(in->fw, err, errlen);
    if (p->owners == NULL) {
        pts_destroy(p);
        return -1;
    }
    p->own_owners = in->fw == NULL;
    p->tc = cs_tc_new(TC_ENTRIES);
    *priv = p;
    return 0;
}

/* ---- constraints of a pod ------------------------------------------------------------------ */

/* The constraint's selector text with matchLabelKeys merged; NULL = matches nothing. */
static const char *selector_text(struct cs_arena *a, const struct cs_spread_constraint *sc,
                                 const struct cs_pod *pod)
{
    if (sc->label_selector == NULL) {
        return NULL;
    }
    struct cs_buf b;
    cs_buf_init(&b);
    cs_selector_to_string(sc->label_selector, &b);
    for (uint32_t k = 0; k < sc->n_match_label_keys; k++) {
        const char *v = cs_pod_label(pod, sc->match_label_keys[k]);
        if (v != NULL) {
            cs_buf_printf(&b, "%s%s=%s", b.len ? "," : "", sc->match_label_keys[k], v);
        }
    }
    const char *out = cs_arena_strdup(a, b.data ? b.data : "");
    cs_buf_free(&b);
    return out;
}

static void pc_init(struct pc *c, const struct cs_pod *pod, int32_t max_skew, const char *key,
                    const char *selector)
{
    memset(c, 0, sizeof(*c));
    c->max_skew = max_skew;
    c->honor_affinity = true;
    c->hostname = strcmp(key, HOSTNAME_KEY) == 0;
    c->term = (struct cs_tc_term){
        .ns_key = "ns",
        .ns = pod->ns,
        .selector = selector,
        .topology_key = key,
        .skip_terminating = true,
    };
}

static bool has_default_constraints(const struct pts *p)
{
    return p->system_defaulting || p->n_defaults > 0;
}

/* The pod's constraints with the given whenUnsatisfiable, in the pod arena. */
static struct pc *constraints(struct pts *p, struct cs_arena *a, const struct cs_pod *pod,
                              bool do_not_schedule, uint32_t *n_out)
{
    *n_out = 0;
    if (pod->n_spread > 0) {
        struct pc *out = cs_arena_alloc(a, sizeof(*out) * pod->n_spread);
        uint32_t n = 0;
        for (uint32_t i = 0; i < pod->n_spread; i++) {
            const struct cs_spread_constraint *sc = &pod->spread[i];
            if (sc->do_not_schedule != do_not_schedule) {
                continue;
            }
            struct pc *c = &out[n++];
            pc_init(c, pod, sc->max_skew, sc->topology_key, selector_text(a, sc, pod));
            c->min_domains = sc->min_domains;
            c->honor_affinity = !sc->node_affinity_policy_ignore;
            c->honor_taints = sc->node_taints_policy_honor;
        }
        *n_out = n;
        return out;
    }
    if (!has_default_constraints(p)) {
        return NULL;
    }
    const char *sel = cs_owner_default_selector(p->owners, pod, a);
    if (sel == NULL) {
        return NULL;
    }
    if (p->system_defaulting) {
        if (do_not_schedule) {
            return NULL;
        }
        struct pc *out = cs_arena_alloc(a, sizeof(*out) * 2);
        pc_init(&out[0], pod, 3, HOSTNAME_KEY, sel);
        pc_init(&out[1], pod, 5, ZONE_KEY, sel);
        *n_out = 2;
        return out;
    }
    struct pc *out = cs_arena_alloc(a, sizeof(*out) * p->n_defaults);
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_defaults; i++) {
        if (p->defaults[i].do_not_schedule == do_not_schedule) {
            pc_init(&out[n++], pod, p->defaults[i].max_skew, p->defaults[i].key, sel);
        }
    }
    *n_out = n;
    return out;
}

static struct pts_state *state_of(struct cs_fw_call *c, const struct cs_pod *pod)
{
    struct pts_state *s = *c->state;
    if (s == NULL) {
        s = cs_arena_alloc(c->arena, sizeof(*s));
        memset(s, 0, sizeof(*s));
        s->pod = pod;
        *c->state = s;
    }
    return s;
}

static bool taints_tolerated(const struct cs_pod *pod, const struct cs_node *node)
{
    for (uint32_t i = 0; i < node->n_taints; i++) {
        const struct cs_taint *t = &node->taints[i];
        if ((t->effect == CS_EFFECT_NO_SCHEDULE || t->effect == CS_EFFECT_NO_EXECUTE) &&
            !cs_tolerations_tolerate(pod->tolerations, pod->n_tolerations, t)) {
            return false;
        }
    }
    return true;
}

/* MatchNodeInclusionPolicies; aff caches the pod's node-affinity answer for the node
 * (0 unknown, 1 match, 2 no match). */
static bool node_included(const struct pc *c, const struct cs_pod *pod, const struct cs_node *node,
                          bool pod_has_affinity, uint8_t *aff)
{
    if (c->honor_affinity && pod_has_affinity) {
        if (*aff == 0) {
            *aff = cs_pod_required_node_match(pod, node) ? 1 : 2;
        }
        if (*aff == 2) {
            return false;
        }
    }
    return !c->honor_taints || taints_tolerated(pod, node);
}

static bool pod_has_node_affinity(const struct cs_pod *pod)
{
    return pod->n_node_selector > 0 || cs_pod_has_required_node_affinity(pod);
}

static int fetch_views(struct pts *p, struct cs_fw_call *c, struct pc *cs, uint32_t n,
                       struct cs_status *st)
{
    for (uint32_t k = 0; k < n; k++) {
        char err[256] = "";
        cs[k].view = cs_tc_get(p->tc, c->snap, &cs[k].term, err, sizeof(err));
        if (cs[k].view == NULL) {
            cs_status_set(st, CS_ERROR,
                          cs_arena_strdup(c->arena, err[0] ? err : "invalid spread selector"));
            return -1;
        }
        uint32_t nd = cs[k].view->n_domains ? cs[k].view->n_domains : 1;
        cs[k].dcount = cs_arena_alloc(c->arena, sizeof(int64_t) * nd);
        cs[k].dpresent = cs_arena_alloc(c->arena, nd);
        memset(cs[k].dcount, 0, sizeof(int64_t) * nd);
        memset(cs[k].dpresent, 0, nd);
    }
    return 0;
}

/* Does snapshot node i have the topology label of every constraint? */
static bool has_all_keys(const struct pc *cs, uint32_t n, uint32_t i)
{
    for (uint32_t k = 0; k < n; k++) {
        if (cs[k].view->node_domain[i] < 0) {
            return false;
        }
    }
    return true;
}

/* ---- filtering ----------------------------------------------------------------------------- */

static enum cs_code pts_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   struct cs_status *st)
{
    struct pts *p = c->priv;
    cs_tc_begin(p->tc);
    struct pts_state *s = state_of(c, pod);
    s->filter = constraints(p, c->arena, pod, true, &s->n_filter);
    if (s->n_filter == 0) {
        return CS_SKIP;
    }
    if (fetch_views(p, c, s->filter, s->n_filter, st) != 0) {
        return CS_ERROR;
    }
    const struct cs_snapshot *snap = c->snap;
    bool pod_aff = pod_has_node_affinity(pod);
    for (uint32_t i = 0; i < snap->n_list; i++) {
        if (!has_all_keys(s->filter, s->n_filter, i)) {
            continue;
        }
        const struct cs_node *node = snap->list[i]->node;
        uint8_t aff = 0;
        for (uint32_t k = 0; k < s->n_filter; k++) {
            struct pc *pc = &s->filter[k];
            if (!node_included(pc, pod, node, pod_aff, &aff)) {
                continue;
            }
            int32_t d = pc->view->node_domain[i];
            pc->dcount[d] += pc->view->node_count[i];
            pc->dpresent[d] = 1;
        }
    }
    for (uint32_t k = 0; k < s->n_filter; k++) {
        struct pc *pc = &s->filter[k];
        pc->min = INT32_MAX;
        for (uint32_t d = 0; d < pc->view->n_domains; d++) {
            if (pc->dpresent[d]) {
                pc->n_present++;
                if (pc->dcount[d] < pc->min) {
                    pc->min = pc->dcount[d];
                }
            }
        }
        if (pc->min_domains > 0 && pc->n_present < (uint32_t)pc->min_domains) {
            pc->min = 0;
        }
        pc->self_match = cs_tc_term_matches(p->tc, &pc->term, pod);
    }
    return CS_SUCCESS;
}

static enum cs_code pts_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    struct pts *p = c->priv;
    const struct pts_state *s = *c->state;
    if (s == NULL || s->n_filter == 0) {
        return CS_SUCCESS;
    }
    int32_t i = ni->index;
    bool pod_aff = pod_has_node_affinity(pod);
    uint8_t aff = 0;
    for (uint32_t k = 0; k < s->n_filter; k++) {
        const struct pc *pc = &s->filter[k];
        if (ni->node == NULL || cs_node_label(ni->node, pc->term.topology_key) == NULL) {
            return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_NO_LABEL);
        }
        int64_t match = 0, min = pc->min;
        if (i >= 0 && (uint32_t)i < pc->view->n_nodes) {
            int32_t d = pc->view->node_domain[i];
            if (d >= 0 && pc->dpresent[d]) {
                match = pc->dcount[d];
                /* Changed in place since counted (a preemption dry run): recount the node. */
                if (ni->generation != pc->view->node_version[i] &&
                    has_all_keys(s->filter, s->n_filter, (uint32_t)i) &&
                    node_included(pc, pod, ni->node, pod_aff, &aff)) {
                    match += cs_tc_count_node(p->tc, &pc->term, ni) - pc->view->node_count[i];
                    if (match < min && !(pc->min_domains > 0 &&
                                         pc->n_present < (uint32_t)pc->min_domains)) {
                        min = match;
                    }
                }
            }
        }
        if (match + (pc->self_match ? 1 : 0) - min > pc->max_skew) {
            return cs_status_set(st, CS_UNSCHEDULABLE, ERR_NOT_MATCH);
        }
    }
    return CS_SUCCESS;
}

/* ---- scoring ------------------------------------------------------------------------------- */

static enum cs_code pts_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_node_info *const *feasible, uint32_t n,
                                  struct cs_status *st)
{
    struct pts *p = c->priv;
    struct pts_state *s = state_of(c, pod);
    s->score = constraints(p, c->arena, pod, false, &s->n_score);
    if (s->n_score == 0 || n == 0) {
        s->n_score = 0;
        return CS_SKIP;
    }
    if (fetch_views(p, c, s->score, s->n_score, st) != 0) {
        return CS_ERROR;
    }
    const struct cs_snapshot *snap = c->snap;
    s->require_all = pod->n_spread > 0 || !p->system_defaulting;
    s->ignored = cs_arena_alloc(c->arena, snap->n_list ? snap->n_list : 1);
    memset(s->ignored, 0, snap->n_list ? snap->n_list : 1);
    uint32_t scored = 0;
    for (uint32_t f = 0; f < n; f++) {
        int32_t i = feasible[f]->index;
        if (i < 0 || (uint32_t)i >= snap->n_list) {
            continue;
        }
        if (s->require_all && !has_all_keys(s->score, s->n_score, (uint32_t)i)) {
            s->ignored[i] = 1;
            continue;
        }
        scored++;
        for (uint32_t k = 0; k < s->n_score; k++) {
            struct pc *pc = &s->score[k];
            int32_t d = pc->view->node_domain[i];
            if (!pc->hostname && d >= 0 && !pc->dpresent[d]) {
                pc->dpresent[d] = 1;
                pc->n_present++;
            }
        }
    }
    bool pod_aff = pod_has_node_affinity(pod);
    for (uint32_t i = 0; i < snap->n_list; i++) {
        if (s->require_all && !has_all_keys(s->score, s->n_score, i)) {
            continue;
        }
        const struct cs_node *node = snap->list[i]->node;
        uint8_t aff = 0;
        for (uint32_t k = 0; k < s->n_score; k++) {
            struct pc *pc = &s->score[k];
            int32_t d = pc->view->node_domain[i];
            if (pc->hostname || d < 0 || !pc->dpresent[d] ||
                !node_included(pc, pod, node, pod_aff, &aff)) {
                continue;
            }
            pc->dcount[d] += pc->view->node_count[i];
        }
    }
    for (uint32_t k = 0; k < s->n_score; k++) {
        struct pc *pc = &s->score[k];
        pc->weight = log((double)((pc->hostname ? scored : pc->n_present) + 2));
    }
    return CS_SUCCESS;
}

static int64_t pts_score(struct cs_fw_call *c, const struct cs_pod *pod,
                         const struct cs_node_info *ni)
{
    (void)pod;
    const struct pts_state *s = *c->state;
    int32_t i = ni->index;
    if (s == NULL || s->n_score == 0 || i < 0 || s->ignored[i]) {
        return 0;
    }
    double score = 0;
    for (uint32_t k = 0; k < s->n_score; k++) {
        const struct pc *pc = &s->score[k];
        int32_t d = (uint32_t)i < pc->view->n_nodes ? pc->view->node_domain[i] : -1;
        if (d < 0) {
            continue;
        }
        int64_t cnt = pc->hostname ? pc->view->node_count[i] : pc->dcount[d];
        score += (double)cnt * pc->weight + (double)(pc->max_skew - 1);
    }
    return (int64_t)llround(score);
}

static void pts_normalize(struct cs_fw_call *c, const struct cs_pod *pod,
                          struct cs_node_score *scores, uint32_t n)
{
    (void)pod;
    const struct pts_state *s = *c->state;
    if (s == NULL || s->n_score == 0) {
        return;
    }
    int64_t min = INT64_MAX, max = 0;
    for (uint32_t k = 0; k < n; k++) {
        if (s->ignored[scores[k].index]) {
            continue;
        }
        if (scores[k].score < min) {
            min = scores[k].score;
        }
        if (scores[k].score > max) {
            max = scores[k].score;
        }
    }
    for (uint32_t k = 0; k < n; k++) {
        if (s->ignored[scores[k].index]) {
            scores[k].score = 0;
        } else if (max == 0) {
            scores[k].score = CS_MAX_NODE_SCORE;
        } else {
            scores[k].score = CS_MAX_NODE_SCORE * (max + min - scores[k].score) / max;
        }
    }
}

/* Pods without constraints of their own and without default ones decide nothing here. */
static bool pts_node_local(void *priv, const struct cs_pod *pod)
{
    struct pts *p = priv;
    if (pod->n_spread > 0) {
        return false;
    }
    if (!has_default_constraints(p)) {
        return true;
    }
    struct cs_arena a;
    cs_arena_init(&a, 256);
    bool none = cs_owner_default_selector(p->owners, pod, &a) == NULL;
    cs_arena_destroy(&a);
    return none;
}

const struct cs_plugin cs_plugin_podtopologyspread = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "PodTopologySpread",
    .events = CS_EV_POD_ADD | CS_EV_POD_UPDATE | CS_EV_POD_DELETE | CS_EV_NODE_ADD |
              CS_EV_NODE_UPDATE | CS_EV_NODE_DELETE,
    .init = pts_init,
    .destroy = pts_destroy,
    .pre_filter = pts_pre_filter,
    .filter = pts_filter,
    .pre_score = pts_pre_score,
    .score = pts_score,
    .normalize_score = pts_normalize,
    .node_local = pts_node_local,
};
