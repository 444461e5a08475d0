#ifndef CS_PLUGINS_HELPER_RESALLOC_H
#define CS_PLUGINS_HELPER_RESALLOC_H
/*
 * The resource-allocation scoring core shared by NodeResourcesFit's scoring strategies and
 * NodeResourcesBalancedAllocation (kube-scheduler's resourceAllocationScorer): a list of
 * (resource slot, weight) specs parsed from args, the pod's request per spec computed once per
 * pod, and per node the (allocatable, requested-after-placing-the-pod) pairs the scorers read.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "api/nodeinfo.h"
#include "api/resource.h"
#include "api/types.h"

struct cs_res_spec {
    int slot;        /* -1: a name the resource table could not register (never scores) */
    int64_t weight;
    const char *name; /* borrowed from the args JSON or static; valid during init only */
};

/* Parse a `resources: [{name, weight}]` list. A missing or empty list yields cpu:1, memory:1;
 * weight 0 (or absent) becomes 1 as kube-scheduler's v1 defaulting does. Names map to slots
 * through `names` (registering extended names; NULL = only the four fixed names). Weights are
 * returned unvalidated. Returns 0, or -1 with err naming `path`. */
int cs_res_specs_parse(const json_t *arr, const char *path, struct cs_resource_names *names,
                       struct cs_res_spec *out, uint32_t *n, char *err, size_t errlen);

/* The pod's request for each spec. use_requested=false takes cpu/memory from the non-zero
 * requests (100m / 200Mi for containers without requests), as the Fit strategies do. */
void cs_res_pod_requests(const struct cs_pod *pod, const struct cs_res_spec *specs, uint32_t n,
                         bool use_requested, int64_t *out);

/* Per spec: the node's allocatable and its requested amount plus the pod's request. A pair is
 * (0, 0), i.e. ignored by the scorers, for an extended resource the pod does not request, for a
 * resource the node does not offer, and for "pods". cpu/memory come from the non-zero requested
 * aggregate unless use_requested. */
void cs_res_node_values(const struct cs_node_info *ni, const struct cs_res_spec *specs,
                        uint32_t n, const int64_t *pod_req, bool use_requested, int64_t *alloc,
                        int64_t *req);

#endif
