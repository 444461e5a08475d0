/*
 * Pod request aggregation (see requests.h for the rules and their upstream sources).
 *
 * Everything works on fixed-size resource vectors, so the computation allocates nothing except
 * the host-port array. "Present" bits follow the ResourceList keys upstream: a resource exists
 * in the result when some container, the pod level or the overhead names it.
 */
#include "api/requests.h"

#include <string.h>

#include "pkg/util/arena.h"

/* The container's requests (or limits) with defaults filled in for missing slots. */
static void container_list(const struct cs_container *c, bool limits,
                           const struct cs_resources *defaults, struct cs_resources *out)
{
    cs_res_list_expand(limits ? c->limits : c->requests, out);
    if (defaults == NULL)
        return;
    for (int i = 0; i < CS_RES_MAX; i++) {
        uint32_t bit = 1u << i;
        if ((defaults->present & bit) && !(out->present & bit))
            cs_res_set(out, i, defaults->v[i]);
    }
}

/* Steps 1-3 over the containers' requests or limits. */
static void aggregate_containers(const struct cs_pod *p, bool limits,
                                 const struct cs_resources *defaults, struct cs_resources *out)
{
    struct cs_resources sum, sidecars, init_max, cur, tmp;

    memset(&sum, 0, sizeof(sum));
    memset(&sidecars, 0, sizeof(sidecars));
    memset(&init_max, 0, sizeof(init_max));
    for (uint32_t i = 0; i < p->n_containers; i++) {
        container_list(&p->containers[i], limits, defaults, &cur);
        cs_res_add(&sum, &cur);
    }
    for (uint32_t i = 0; i < p->n_init_containers; i++) {
        container_list(&p->init_containers[i], limits, defaults, &cur);
        if (p->init_containers[i].restartable) {
            cs_res_add(&sum, &cur);
            cs_res_add(&sidecars, &cur);
            cs_res_max(&init_max, &sidecars);
        } else {
            tmp = cur;
            cs_res_add(&tmp, &sidecars);
            cs_res_max(&init_max, &tmp);
        }
    }
    cs_res_max(&sum, &init_max);
    *out = sum;
}

void cs_pod_aggregate_requests(const struct cs_pod *p, const struct cs_resources *defaults,
                               struct cs_resources *out)
{
    struct cs_resources sum;

    aggregate_containers(p, false, defaults, &sum);
    /* The decoder keeps only the resources supported at pod level (cpu, memory, hugepages-*). */
    for (int i = 0; p->pod_requests && i < CS_RES_MAX; i++) {
        if (p->pod_requests->present & (1u << i))
            cs_res_set(&sum, i, p->pod_requests->v[i]);
    }
    if (p->overhead)
        cs_res_add(&sum, p->overhead);
    *out = sum;
}

void cs_pod_aggregate_limits(const struct cs_pod *p, struct cs_resources *out)
{
    aggregate_containers(p, true, NULL, out);
    for (int i = 0; p->overhead && i < CS_RES_MAX; i++) {
        uint32_t bit = 1u << i;
        if ((out->present & bit) && (p->overhead->present & bit))
            out->v[i] += p->overhead->v[i];
    }
}

/* Steps 1-3 and 5 for the resources past the dense table, name by name (they are rare: most
 * pods have none and pay one branch). */
static void extra_requests(struct cs_pod *p)
{
    memset(&p->extra_requests, 0, sizeof(p->extra_requests));
    bool any = p->extra_overhead.n > 0;
    for (uint32_t i = 0; i < p->n_containers && !any; i++)
        any = p->containers[i].extra_requests.n > 0;
    for (uint32_t i = 0; i < p->n_init_containers && !any; i++)
        any = p->init_containers[i].extra_requests.n > 0;
    if (!any)
        return;
    struct cs_res_extras names = { 0 };
    const struct cs_res_extras *all[3] = { NULL, NULL, &p->extra_overhead };
    for (uint32_t i = 0; i < p->n_containers; i++)
        for (uint32_t k = 0; k < p->containers[i].extra_requests.n; k++)
            cs_res_extra_apply(&names, &p->arena, p->containers[i].extra_requests.e[k].name, 0, '=');
    for (uint32_t i = 0; i < p->n_init_containers; i++)
        for (uint32_t k = 0; k < p->init_containers[i].extra_requests.n; k++)
            cs_res_extra_apply(&names, &p->arena, p->init_containers[i].extra_requests.e[k].name, 0,
                               '=');
    for (uint32_t k = 0; k < all[2]->n; k++)
        cs_res_extra_apply(&names, &p->arena, all[2]->e[k].name, 0, '=');
    for (uint32_t k = 0; k < names.n; k++) {
        const char *nm = names.e[k].name;
        int64_t sum = 0, sidecars = 0, max_init = 0;
        for (uint32_t i = 0; i < p->n_containers; i++)
            sum += cs_res_extra_get(&p->containers[i].extra_requests, nm);
        for (uint32_t i = 0; i < p->n_init_containers; i++) {
            int64_t v = cs_res_extra_get(&p->init_containers[i].extra_requests, nm);
            int64_t in_use;
            if (p->init_containers[i].restartable) {
                sum += v;
                sidecars += v;
                in_use = sidecars;
            } else {
                in_use = v + sidecars;
            }
            max_init = in_use > max_init ? in_use : max_init;
        }
        int64_t total = (sum > max_init ? sum : max_init) + cs_res_extra_get(all[2], nm);
        if (total > 0)
            cs_res_extra_apply(&p->extra_requests, &p->arena, nm, total, '=');
    }
}

void cs_pod_compute_requests(struct cs_pod *p)
{
    struct cs_resources defaults, nz;

    extra_requests(p);

    cs_pod_aggregate_requests(p, NULL, &p->requests);
    cs_res_set(&p->requests, CS_RES_PODS, 1);

    memset(&defaults, 0, sizeof(defaults));
    bool pod_level = p->pod_requests != NULL;
    uint32_t cpu = 1u << CS_RES_CPU, mem = 1u << CS_RES_MEMORY;
    if (!pod_level || !(p->requests.present & cpu))
        cs_res_set(&defaults, CS_RES_CPU, CS_DEFAULT_MILLI_CPU_REQUEST);
    if (!pod_level || !(p->requests.present & mem))
        cs_res_set(&defaults, CS_RES_MEMORY, CS_DEFAULT_MEMORY_REQUEST);
    cs_pod_aggregate_requests(p, &defaults, &nz);
    p->nonzero_cpu = nz.v[CS_RES_CPU];
    p->nonzero_memory = nz.v[CS_RES_MEMORY];

    uint32_t n = 0;
    for (uint32_t i = 0; i < p->n_containers; i++) {
        for (uint32_t j = 0; j < p->containers[i].n_ports; j++)
            n += p->containers[i].ports[j].host_port > 0;
    }
    p->host_ports = n ? CS_ARENA_ARRAY(&p->arena, struct cs_port, n) : NULL;
    p->n_host_ports = n;
    n = 0;
    for (uint32_t i = 0; i < p->n_containers; i++) {
        for (uint32_t j = 0; j < p->containers[i].n_ports; j++) {
            if (p->containers[i].ports[j].host_port > 0)
                p->host_ports[n++] = p->containers[i].ports[j];
        }
    }
}
