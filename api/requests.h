#ifndef CS_API_REQUESTS_H
#define CS_API_REQUESTS_H
/*
 * Pod resource requests as kube-scheduler computes them (k8s-api.md §8, resource.PodRequests
 * and the scheduler's NodeInfo.calculateResource):
 *
 *   1. sum the requests of the regular containers;
 *   2. walk the init containers in order; a restartable one (restartPolicy Always, a sidecar) is
 *      added to the sum and to a running sidecar total, and its in-use value is that total; a
 *      plain init container's in-use value is its requests plus the sidecars started before it;
 *   3. take per resource max(sum, largest in-use value);
 *   4. pod-level spec.resources.requests, when set, replaces cpu, memory and hugepages-*;
 *   5. add spec.overhead;
 *   6. the pods slot is set to 1 (every pod consumes one of the node's allocatable pods).
 *
 * nonzero_requests equals requests except for cpu and memory, which are recomputed with every
 * container (regular and init) that does not request cpu counted as 100m and one that does not
 * request memory counted as 200Mi. A container that requests 0 explicitly keeps 0. When
 * pod-level requests are set, the defaults are used only for a resource that neither the pod
 * level nor any container requests. This mirrors getNonMissingContainerRequests upstream;
 * scoring plugins (LeastAllocated, BalancedAllocation) use these values.
 *
 * Container requests are taken as decoded: the decoder applies the apiserver's defaulting
 * (a resource with a limit and no request requests its limit), so objects from a server that
 * does not default (a test double) give the same result as from a real apiserver.
 *
 * host_ports lists the ports of regular containers with hostPort > 0, as the NodePorts plugin
 * collects them (init containers are not considered upstream).
 */
#include "api/types.h"

#define CS_DEFAULT_MILLI_CPU_REQUEST 100
#define CS_DEFAULT_MEMORY_REQUEST (200LL * 1024 * 1024)

/* Fill p->requests, p->nonzero_cpu/nonzero_memory, p->host_ports/n_host_ports (host ports allocated in
 * p->arena). Called by cs_pod_decode; callers building pods by hand call it once after filling
 * containers, init containers, overhead and pod_requests. */
void cs_pod_compute_requests(struct cs_pod *p);

/* The aggregate of steps 1-5 with optional per-container defaults for missing cpu/memory
 * (defaults == NULL: none). Exposed for tests and for plugins that need variants. */
void cs_pod_aggregate_requests(const struct cs_pod *p, const struct cs_resources *defaults,
                               struct cs_resources *out);

/* The pod's limits as the ResourceQuota evaluator counts them (resourcehelper.PodLimits): steps
 * 1-3 over the containers' limits, then spec.overhead added to each resource that has a limit.
 * Dense-table resources only; pod-level limits are not kept by the decoder. */
void cs_pod_aggregate_limits(const struct cs_pod *p, struct cs_resources *out);

/* p->requests with cpu and memory defaulted for scoring (NonZeroRequested upstream). */
static inline void cs_pod_nonzero_requests(const struct cs_pod *p, struct cs_resources *out)
{
    *out = p->requests;
    cs_res_set(out, CS_RES_CPU, p->nonzero_cpu);
    cs_res_set(out, CS_RES_MEMORY, p->nonzero_memory);
}

#endif
