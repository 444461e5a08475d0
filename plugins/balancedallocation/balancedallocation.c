/*
 * NodeResourcesBalancedAllocation (Score). Favors nodes whose resources would be used evenly
 * after placing the pod: for each configured resource (default cpu, memory) the fraction
 * (requested + pod) / allocatable, capped at 1; score = (1 - std) * 100 truncated, where std is
 * |f0 - f1| / 2 for two resources, the population standard deviation for more, 0 for one.
 * Unlike the Fit strategies it uses the pod's and the node's actual requests (no 100m/200Mi
 * defaults). PreScore returns Skip for a best-effort pod (requests nothing of the configured
 * resources), as upstream does to avoid piling such pods onto one node.
 *
 * Args (NodeResourcesBalancedAllocationArgs{resources}) are validated at init: every weight
 * must be 1 and names must be unique.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "plugins/helper/helper.h"
#include "plugins/helper/resalloc.h"
#include "plugins/registry.h"

struct ba_priv {
    struct cs_res_spec specs[CS_RES_MAX];
    uint32_t n_specs;
};

struct ba_state {
    int64_t pod_req[CS_RES_MAX];
};

static int64_t balanced_score(const int64_t *req, const int64_t *alloc, uint32_t n)
{
    double fr[CS_RES_MAX];
    uint32_t k = 0;
    double total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (alloc[i] == 0) {
            continue;
        }
        double f = (double)req[i] / (double)alloc[i];
        if (f > 1) {
            f = 1;
        }
        total += f;
        fr[k++] = f;
    }
    double sd = 0;
    if (k == 2) {
        sd = fabs((fr[0] - fr[1]) / 2);
    } else if (k > 2) {
        double mean = total / (double)k;
        double sum = 0;
        for (uint32_t i = 0; i < k; i++) {
            sum += (fr[i] - mean) * (fr[i] - mean);
        }
        sd = sqrt(sum / (double)k);
    }
    return (int64_t)((1 - sd) * (double)CS_MAX_NODE_SCORE);
}

static enum cs_code ba_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                 struct cs_node_info *const *feasible, uint32_t n,
                                 struct cs_status *st)
{
    (void)feasible;
    (void)n;
    (void)st;
    const struct ba_priv *p = c->priv;
    struct ba_state *s = CS_ARENA_NEW(c->arena, struct ba_state);
    cs_res_pod_requests(pod, p->specs, p->n_specs, true, s->pod_req);
    bool best_effort = true;
    for (uint32_t i = 0; i < p->n_specs; i++) {
        if (s->pod_req[i] != 0) {
            best_effort = false;
        }
    }
    if (best_effort) {
        return CS_SKIP;
    }
    *c->state = s;
    return CS_SUCCESS;
}

static int64_t ba_score(struct cs_fw_call *c, const struct cs_pod *pod,
                        const struct cs_node_info *ni)
{
    const struct ba_priv *p = c->priv;
    struct ba_state *s = *c->state;
    int64_t local[CS_RES_MAX];
    const int64_t *pod_req;
    if (s != NULL) {
        pod_req = s->pod_req;
    } else {
        cs_res_pod_requests(pod, p->specs, p->n_specs, true, local);
        pod_req = local;
        bool best_effort = true;
        for (uint32_t i = 0; i < p->n_specs; i++) {
            if (local[i] != 0) {
                best_effort = false;
            }
        }
        if (best_effort) {
            return 0;
        }
    }
    int64_t alloc[CS_RES_MAX], req[CS_RES_MAX];
    cs_res_node_values(ni, p->specs, p->n_specs, pod_req, true, alloc, req);
    return balanced_score(req, alloc, p->n_specs);
}

static void ba_destroy(void *priv)
{
    cs_free(priv);
}

static int ba_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct ba_priv *p = cs_calloc(1, sizeof(*p));
    const json_t *args = in ? in->args : NULL;
    struct cs_resource_names *names = in && in->api ? in->api->resources : NULL;
    const json_t *res = json_is_object(args) ? json_object_get(args, "resources") : NULL;
    if (cs_res_specs_parse(res, "resources", names, p->specs, &p->n_specs, err, errlen) != 0) {
        goto fail;
    }
    for (uint32_t i = 0; i < p->n_specs; i++) {
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(p->specs[i].name, p->specs[j].name) == 0) {
                snprintf(err, errlen, "resources[%u].name: Duplicate value: \"%s\"", i,
                         p->specs[i].name);
                goto fail;
            }
        }
        if (p->specs[i].weight != 1) {
            snprintf(err, errlen, "resources[%u].weight: Invalid value: %lld: must be 1", i,
                     (long long)p->specs[i].weight);
            goto fail;
        }
    }
    for (uint32_t i = 0; i < p->n_specs; i++) {
        p->specs[i].name = NULL; /* borrowed from args */
    }
    *priv = p;
    return 0;
fail:
    cs_free(p);
    *priv = NULL;
    return -1;
}

const struct cs_plugin cs_plugin_balancedallocation = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodeResourcesBalancedAllocation",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_DELETE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = ba_init,
    .destroy = ba_destroy,
    .pre_score = ba_pre_score,
    .score = ba_score,
};
