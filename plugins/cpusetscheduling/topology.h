#ifndef CS_PLUGINS_CPUSETSCHEDULING_TOPOLOGY_H
#define CS_PLUGINS_CPUSETSCHEDULING_TOPOLOGY_H
/*
 * A node's CPU topology (from the annotation node.koordinator.sh/cpu-topology of its
 * NodeResourceTopology) and the cpuset allocator over it.
 *
 * Allocation of k CPUs, given which CPUs are free (deterministic for the same input):
 *   1. one NUMA node when one has k free CPUs: the one with the least left over (best fit),
 *      then the lowest id;
 *   2. else one socket (least left over, lowest id), over the fewest of its NUMA nodes;
 *   3. else the whole machine over the fewest NUMA nodes.
 *   Spreading over m NUMA nodes takes the m-1 with the most free CPUs and, for the rest, the
 *   one with the fewest free CPUs that still completes the request. Inside a NUMA node whole
 *   free physical cores go first (k / threads-per-core of them, lowest ids), the remainder
 *   comes from cores already partly used, then from further whole cores.
 *
 * Ownership: a topology is immutable once parsed and counted (cs_cpu_topo_ref/unref): the
 * plugin's map, the scheduling thread's view and the node states may all hold it.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_CPUSET_MAX_ID 4095
#define CS_CPUSET_MAX_NUMA 64
#define CS_CPUSET_MAX_SOCKETS 64

struct cs_cpu {
    int32_t id, core, socket, numa;
    uint32_t core_idx;             /* dense index of (socket, core) */
};

struct cs_cpu_topo {
    atomic_int refcnt;
    struct cs_cpu *cpus;           /* sorted by id */
    uint32_t n;
    uint32_t n_cores;
    uint32_t threads;              /* most CPUs on one core */
    int32_t *numa_ids;             /* distinct, ascending */
    uint32_t n_numa;
    int32_t *socket_ids;           /* distinct, ascending */
    uint32_t n_sockets;
    uint32_t *numa_of;             /* per cpu: index into numa_ids */
    uint32_t *socket_of;           /* per cpu: index into socket_ids */
    uint32_t *core_start;          /* cores in CSR form: the cpus of core c are */
    uint32_t *core_list;           /* core_list[core_start[c] .. core_start[c+1]), by id */
    uint32_t *numa_socket;         /* per NUMA index: the socket index of its first cpu */
};

/* Parse {"detail":[{"id":0,"core":0,"socket":0,"node":0},...]}. NULL with a message in err
 * (missing or non-integer fields, negative or duplicate ids, ids past CS_CPUSET_MAX_ID, an
 * empty list, invalid JSON). */
struct cs_cpu_topo *cs_cpu_topo_parse(const char *text, char *err, size_t errlen);
struct cs_cpu_topo *cs_cpu_topo_ref(struct cs_cpu_topo *t);
void cs_cpu_topo_unref(struct cs_cpu_topo *t);

/* free_of(arg, id): is the CPU with that id free? */
typedef bool (*cs_cpu_free_fn)(const void *arg, int32_t id);

/* Free CPUs in total, per NUMA index and per socket index. */
struct cs_cpu_free {
    uint32_t total;
    uint32_t numa[CS_CPUSET_MAX_NUMA];
    uint32_t socket[CS_CPUSET_MAX_SOCKETS];
};
void cs_cpu_count_free(const struct cs_cpu_topo *t, cs_cpu_free_fn free_of, const void *arg,
                       struct cs_cpu_free *out);

/* How k CPUs would be placed given the free counts: 1 = within one NUMA node, 2 = within one
 * socket, 3 = spread over sockets, 0 = not enough free CPUs. */
int cs_cpu_fit_level_free(const struct cs_cpu_topo *t, const struct cs_cpu_free *f, uint32_t k);
/* The same, counting first. */
int cs_cpu_fit_level(const struct cs_cpu_topo *t, cs_cpu_free_fn free_of, const void *arg,
                     uint32_t k);

/* Allocate k CPUs: out (k slots) receives their indexes into t->cpus, ascending by id.
 * Returns the number of NUMA nodes used, or -1 when fewer than k CPUs are free. */
int cs_cpu_allocate(const struct cs_cpu_topo *t, cs_cpu_free_fn free_of, const void *arg,
                    uint32_t k, uint32_t *out);

#endif
