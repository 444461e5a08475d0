/*
 * NodeResourcesFit.
 *  PreFilter: from the pod's requests (resource.PodRequests, computed at decode: containers
 *  summed, init containers and sidecars folded in, overhead added) pick the slots to check:
 *  cpu, memory, ephemeral-storage and every other resource with a non-zero request, minus the
 *  extended resources named in ignoredResources or whose domain is in ignoredResourceGroups.
 *  Reasons for those slots ("Insufficient cpu", "Insufficient nvidia.com/gpu" ...) are made here
 *  once per pod, so the filter never formats or allocates.
 *  Filter: "Too many pods" when pods+1 exceeds allocatable pods; "Insufficient <r>" for each
 *  checked resource whose request exceeds allocatable - requested. All reasons are kept. The code
 *  is Unschedulable, or UnschedulableAndUnresolvable when a request exceeds the node's whole
 *  allocatable (preemption cannot help there).
 *  Score (PreScore computes the pod's per-resource requests): LeastAllocated (default),
 *  MostAllocated or RequestedToCapacityRatio over scoringStrategy.resources (default cpu:1,
 *  memory:1), cpu/memory using the non-zero requests as upstream does.
 *
 * Args (NodeResourcesFitArgs) are validated at init; an invalid field fails init with a message
 * naming it, e.g. "scoringStrategy.resources[0].weight: Invalid value: 101: ...".
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/selector.h"
#include "plugins/helper/helper.h"
#include "plugins/helper/resalloc.h"
#include "plugins/registry.h"

enum fit_strategy { FIT_LEAST, FIT_MOST, FIT_RTCR };

#define FIT_MAX_SHAPE 101

struct fit_priv {
    enum fit_strategy strategy;
    struct cs_res_spec specs[CS_RES_MAX];
    uint32_t n_specs;
    int64_t shape_util[FIT_MAX_SHAPE];
    int64_t shape_score[FIT_MAX_SHAPE]; /* already scaled to 0..100 */
    uint32_t n_shape;
    char **ignored;
    size_t n_ignored;
    char **ignored_groups;
    size_t n_ignored_groups;
};

struct fit_state {
    /* pre_filter */
    bool filter_ready;
    uint8_t check[CS_RES_MAX];
    uint32_t n_check;
    const char *reason[CS_RES_MAX];
    /* pre_score */
    bool score_ready;
    int64_t pod_req[CS_RES_MAX];
};

static const char *const fixed_reasons[CS_RES_NFIXED] = {
    [CS_RES_CPU] = "Insufficient cpu",
    [CS_RES_MEMORY] = "Insufficient memory",
    [CS_RES_PODS] = "Insufficient pods",
    [CS_RES_EPHEMERAL_STORAGE] = "Insufficient ephemeral-storage",
};

/* v1helper.IsExtendedResourceName: has a domain, not kubernetes.io/, not requests.*. */
static bool is_extended(const char *name)
{
    if (strchr(name, '/') == NULL || strstr(name, "kubernetes.io/") != NULL) {
        return false;
    }
    return strncmp(name, "requests.", 9) != 0;
}

static bool is_ignored(const struct fit_priv *p, const char *name)
{
    if (p == NULL || !is_extended(name)) {
        return false;
    }
    for (size_t i = 0; i < p->n_ignored; i++) {
        if (strcmp(p->ignored[i], name) == 0) {
            return true;
        }
    }
    if (p->n_ignored_groups) {
        size_t dl = (size_t)(strchr(name, '/') - name);
        for (size_t i = 0; i < p->n_ignored_groups; i++) {
            if (strlen(p->ignored_groups[i]) == dl && strncmp(p->ignored_groups[i], name, dl) == 0) {
                return true;
            }
        }
    }
    return false;
}

static struct fit_state *fit_state_get(struct fit_state **slot, struct cs_arena *a)
{
    if (*slot == NULL) {
        *slot = CS_ARENA_NEW(a, struct fit_state);
    }
    return *slot;
}

static void fit_compute_filter(struct fit_state *s, const struct fit_priv *p,
                               const struct cs_pod *pod, const struct cs_fw_call *c)
{
    s->n_check = 0;
    for (int slot = 0; slot < CS_RES_MAX; slot++) {
        if (slot == CS_RES_PODS || pod->requests.v[slot] <= 0) {
            continue;
        }
        const char *reason;
        if (slot < CS_RES_NFIXED) {
            reason = fixed_reasons[slot];
        } else {
            const char *name = c->api ? cs_resource_name(c->api->resources, slot) : NULL;
            if (name != NULL && is_ignored(p, name)) {
                continue;
            }
            reason = name ? cs_arena_printf(c->arena, "Insufficient %s", name)
                          : cs_arena_printf(c->arena, "Insufficient resource#%d", slot);
        }
        s->check[s->n_check] = (uint8_t)slot;
        s->reason[s->n_check] = reason;
        s->n_check++;
    }
    s->filter_ready = true;
}

static enum cs_code fit_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   struct cs_status *st)
{
    (void)st;
    struct fit_state *s = fit_state_get((struct fit_state **)c->state, c->arena);
    fit_compute_filter(s, c->priv, pod, c);
    return CS_SUCCESS;
}

static enum cs_code fit_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    struct fit_state *s = fit_state_get((struct fit_state **)c->state, c->arena);
    if (!s->filter_ready) {
        fit_compute_filter(s, c->priv, pod, c);
    }
    enum cs_code code = CS_SUCCESS;
    if ((int64_t)ni->n_pods + 1 > ni->allocatable.v[CS_RES_PODS]) {
        code = CS_UNSCHEDULABLE;
        cs_status_set(st, code, "Too many pods");
    }
    for (uint32_t i = 0; i < s->n_check; i++) {
        int slot = s->check[i];
        int64_t want = pod->requests.v[slot];
        int64_t alloc = ni->allocatable.v[slot];
        if (want > alloc - ni->requested.v[slot]) {
            if (want > alloc) {
                code = CS_UNSCHEDULABLE_AND_UNRESOLVABLE;
            } else if (code == CS_SUCCESS) {
                code = CS_UNSCHEDULABLE;
            }
            cs_status_set(st, code, s->reason[i]);
        }
    }
    /* Resources past the dense table (a cluster with more extended names than it has slots):
     * the same rule, by name. */
    for (uint32_t i = 0; i < pod->extra_requests.n; i++) {
        const struct cs_res_extra *x = &pod->extra_requests.e[i];
        if (x->v <= 0 || is_ignored(c->priv, x->name)) {
            continue;
        }
        int64_t alloc = ni->node ? cs_res_extra_get(&ni->node->extra_allocatable, x->name) : 0;
        if (x->v > alloc - cs_res_extra_get(&ni->extra_requested, x->name)) {
            if (x->v > alloc) {
                code = CS_UNSCHEDULABLE_AND_UNRESOLVABLE;
            } else if (code == CS_SUCCESS) {
                code = CS_UNSCHEDULABLE;
            }
            cs_status_set(st, code, cs_arena_printf(c->arena, "Insufficient %s", x->name));
        }
    }
    return code;
}

/* --- scoring ---------------------------------------------------------------------------------- */

static int64_t least_requested(int64_t req, int64_t cap)
{
    if (cap == 0 || req > cap) {
        return 0;
    }
    return (cap - req) * CS_MAX_NODE_SCORE / cap;
}

static int64_t most_requested(int64_t req, int64_t cap)
{
    if (cap == 0) {
        return 0;
    }
    if (req > cap) {
        req = cap;
    }
    return req * CS_MAX_NODE_SCORE / cap;
}

/* helper.BuildBrokenLinearFunction over the (already x10) shape. */
static int64_t broken_linear(const struct fit_priv *p, int64_t x)
{
    for (uint32_t i = 0; i < p->n_shape; i++) {
        if (x <= p->shape_util[i]) {
            if (i == 0) {
                return p->shape_score[0];
            }
            return p->shape_score[i - 1] + (p->shape_score[i] - p->shape_score[i - 1]) *
                                               (x - p->shape_util[i - 1]) /
                                               (p->shape_util[i] - p->shape_util[i - 1]);
        }
    }
    return p->shape_score[p->n_shape - 1];
}

static int64_t fit_node_score(const struct fit_priv *p, const int64_t *req, const int64_t *alloc)
{
    int64_t node_score = 0, weight_sum = 0;
    for (uint32_t i = 0; i < p->n_specs; i++) {
        if (alloc[i] == 0) {
            continue;
        }
        int64_t w = p->specs[i].weight;
        int64_t rs;
        switch (p->strategy) {
        case FIT_MOST:
            rs = most_requested(req[i], alloc[i]);
            break;
        case FIT_RTCR:
            rs = req[i] > alloc[i] ? broken_linear(p, 100)
                                   : broken_linear(p, req[i] * 100 / alloc[i]);
            if (rs <= 0) {
                continue; /* RTCR only averages resources with a positive score */
            }
            break;
        case FIT_LEAST:
        default:
            rs = least_requested(req[i], alloc[i]);
            break;
        }
        node_score += rs * w;
        weight_sum += w;
    }
    if (weight_sum == 0) {
        return 0;
    }
    if (p->strategy == FIT_RTCR) {
        return (int64_t)llround((double)node_score / (double)weight_sum);
    }
    return node_score / weight_sum;
}

static enum cs_code fit_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_node_info *const *feasible, uint32_t n,
                                  struct cs_status *st)
{
    (void)feasible;
    (void)n;
    (void)st;
    const struct fit_priv *p = c->priv;
    struct fit_state *s = fit_state_get((struct fit_state **)c->state, c->arena);
    cs_res_pod_requests(pod, p->specs, p->n_specs, false, s->pod_req);
    s->score_ready = true;
    return CS_SUCCESS;
}

static int64_t fit_score(struct cs_fw_call *c, const struct cs_pod *pod,
                         const struct cs_node_info *ni)
{
    const struct fit_priv *p = c->priv;
    struct fit_state *s = fit_state_get((struct fit_state **)c->state, c->arena);
    if (!s->score_ready) {
        cs_res_pod_requests(pod, p->specs, p->n_specs, false, s->pod_req);
        s->score_ready = true;
    }
    int64_t alloc[CS_RES_MAX], req[CS_RES_MAX];
    cs_res_node_values(ni, p->specs, p->n_specs, s->pod_req, false, alloc, req);
    return fit_node_score(p, req, alloc);
}

/* --- args ------------------------------------------------------------------------------------- */

static void fit_destroy(void *priv)
{
    struct fit_priv *p = priv;
    if (p == NULL) {
        return;
    }
    for (size_t i = 0; i < p->n_ignored; i++) {
        cs_free(p->ignored[i]);
    }
    for (size_t i = 0; i < p->n_ignored_groups; i++) {
        cs_free(p->ignored_groups[i]);
    }
    cs_free(p->ignored);
    cs_free(p->ignored_groups);
    cs_free(p);
}

static int parse_string_list(const json_t *arr, const char *field, bool group, char ***out,
                             size_t *n, char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    if (arr == NULL || json_is_null(arr)) {
        return 0;
    }
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "%s: Invalid value: must be a list of strings", field);
        return -1;
    }
    size_t cnt = json_array_size(arr);
    *out = cs_calloc(cnt ? cnt : 1, sizeof(char *));
    for (size_t i = 0; i < cnt; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL) {
            snprintf(err, errlen, "%s[%zu]: Invalid value: must be a string", field, i);
            return -1;
        }
        if (group && strchr(s, '/') != NULL) {
            snprintf(err, errlen, "%s[%zu]: Invalid value: \"%s\": resource group name can't "
                     "contain '/'", field, i, s);
            return -1;
        }
        char why[160];
        if (cs_selector_validate_key(s, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s[%zu]: Invalid value: \"%s\": %s", field, i, s, why);
            return -1;
        }
        (*out)[(*n)++] = cs_strdup(s);
    }
    return 0;
}

static int parse_shape(struct fit_priv *p, const json_t *rtcr, char *err, size_t errlen)
{
    const json_t *shape = json_is_object(rtcr) ? json_object_get(rtcr, "shape") : NULL;
    if (!json_is_array(shape) || json_array_size(shape) == 0) {
        snprintf(err, errlen, "scoringStrategy.shape: Required value: at least one point must be "
                 "specified");
        return -1;
    }
    if (json_array_size(shape) > FIT_MAX_SHAPE) {
        snprintf(err, errlen, "scoringStrategy.shape: Too many: %zu: must have at most %d items",
                 json_array_size(shape), FIT_MAX_SHAPE);
        return -1;
    }
    size_t i;
    const json_t *pt;
    json_array_foreach(shape, i, pt)
    {
        const json_t *u = json_object_get(pt, "utilization");
        const json_t *s = json_object_get(pt, "score");
        json_int_t uv = json_is_integer(u) ? json_integer_value(u) : 0;
        json_int_t sv = json_is_integer(s) ? json_integer_value(s) : 0;
        if ((u != NULL && !json_is_integer(u)) || uv < 0 || uv > 100) {
            snprintf(err, errlen, "scoringStrategy.shape[%zu].utilization: Invalid value: %lld: "
                     "not in valid range [0, 100]", i, (long long)uv);
            return -1;
        }
        if ((s != NULL && !json_is_integer(s)) || sv < 0 || sv > 10) {
            snprintf(err, errlen, "scoringStrategy.shape[%zu].score: Invalid value: %lld: not in "
                     "valid range [0, 10]", i, (long long)sv);
            return -1;
        }
        if (i > 0 && p->shape_util[i - 1] >= uv) {
            snprintf(err, errlen, "scoringStrategy.shape[%zu].utilization: Invalid value: %lld: "
                     "utilization values must be sorted in increasing order", i, (long long)uv);
            return -1;
        }
        p->shape_util[i] = uv;
        /* MaxCustomPriorityScore is 10; scores are scaled to the scheduler's 0..100. */
        p->shape_score[i] = sv * (CS_MAX_NODE_SCORE / 10);
    }
    p->n_shape = (uint32_t)json_array_size(shape);
    return 0;
}

static int parse_fit_args(struct fit_priv *p, const struct cs_plugin_init *in, char *err,
                          size_t errlen)
{
    const json_t *args = in ? in->args : NULL;
    struct cs_resource_names *names = in && in->api ? in->api->resources : NULL;
    p->strategy = FIT_LEAST;
    if (args != NULL && !json_is_null(args) && !json_is_object(args)) {
        snprintf(err, errlen, "args: Invalid value: NodeResourcesFitArgs must be an object");
        return -1;
    }
    const json_t *ss = args ? json_object_get(args, "scoringStrategy") : NULL;
    if (args && parse_string_list(json_object_get(args, "ignoredResources"), "ignoredResources",
                                  false, &p->ignored, &p->n_ignored, err, errlen) != 0) {
        return -1;
    }
    if (args && parse_string_list(json_object_get(args, "ignoredResourceGroups"),
                                  "ignoredResourceGroups", true, &p->ignored_groups,
                                  &p->n_ignored_groups, err, errlen) != 0) {
        return -1;
    }
    if (ss == NULL || json_is_null(ss)) {
        return cs_res_specs_parse(NULL, "scoringStrategy.resources", names, p->specs,
                                  &p->n_specs, err, errlen);
    }
    if (!json_is_object(ss)) {
        snprintf(err, errlen, "scoringStrategy: Invalid value: must be an object");
        return -1;
    }
    const char *type = json_string_value(json_object_get(ss, "type"));
    if (type != NULL && strcmp(type, "LeastAllocated") == 0) {
        p->strategy = FIT_LEAST;
    } else if (type != NULL && strcmp(type, "MostAllocated") == 0) {
        p->strategy = FIT_MOST;
    } else if (type != NULL && strcmp(type, "RequestedToCapacityRatio") == 0) {
        p->strategy = FIT_RTCR;
    } else {
        snprintf(err, errlen, "scoringStrategy.type: Unsupported value: \"%s\": supported values: "
                 "\"LeastAllocated\", \"MostAllocated\", \"RequestedToCapacityRatio\"",
                 type ? type : "");
        return -1;
    }
    if (cs_res_specs_parse(json_object_get(ss, "resources"), "scoringStrategy.resources", names,
                           p->specs, &p->n_specs, err, errlen) != 0) {
        return -1;
    }
    for (uint32_t i = 0; i < p->n_specs; i++) {
        if (p->specs[i].weight <= 0 || p->specs[i].weight > 100) {
            snprintf(err, errlen, "scoringStrategy.resources[%u].weight: Invalid value: %lld: "
                     "resource weight of %s not in valid range (0, 100]", i,
                     (long long)p->specs[i].weight, p->specs[i].name);
            return -1;
        }
        p->specs[i].name = NULL; /* borrowed from args: do not keep */
    }
    if (p->strategy == FIT_RTCR) {
        return parse_shape(p, json_object_get(ss, "requestedToCapacityRatio"), err, errlen);
    }
    return 0;
}

static int fit_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct fit_priv *p = cs_calloc(1, sizeof(*p));
    if (parse_fit_args(p, in, err, errlen) != 0) {
        fit_destroy(p);
        *priv = NULL;
        return -1;
    }
    *priv = p;
    return 0;
}

/* Queueing hint (isSchedulableAfterNodeChange): a node update helps only when some allocatable
 * resource the pod requests grew; a new node only when it is big enough for the pod alone;
 * a deleted pod always may. */
static enum cs_qhint fit_hint(void *priv, const struct cs_event_info *ev, const struct cs_pod *pod)
{
    (void)priv;
    const struct cs_node *n = ev->new_node;
    if ((ev->event != CS_EV_NODE_ADD && ev->event != CS_EV_NODE_UPDATE) || n == NULL) {
        return CS_QHINT_QUEUE;
    }
    bool fits_empty = true, grew = ev->old_node == NULL;
    for (int i = 0; i < CS_RES_MAX; i++) {
        if (!(pod->requests.present & (1u << i)) || pod->requests.v[i] == 0) {
            continue;
        }
        fits_empty = fits_empty && pod->requests.v[i] <= n->allocatable.v[i];
        grew = grew || (ev->old_node && n->allocatable.v[i] > ev->old_node->allocatable.v[i]);
    }
    return fits_empty && grew ? CS_QHINT_QUEUE : CS_QHINT_SKIP;
}

const struct cs_plugin cs_plugin_noderesources = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodeResourcesFit",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_DELETE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = fit_init,
    .destroy = fit_destroy,
    .pre_filter = fit_pre_filter,
    .filter = fit_filter,
    .queueing_hint = fit_hint,
    .pre_score = fit_pre_score,
    .score = fit_score,
};
