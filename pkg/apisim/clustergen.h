#ifndef CS_PKG_APISIM_CLUSTERGEN_H
#define CS_PKG_APISIM_CLUSTERGEN_H
/*
 * Synthetic cluster generator for apisim: Node objects of a given shape (CPU topology, GPUs,
 * ECI virtual nodes, labels, taints, images) and pre-existing Pods (bound or pending), from a
 * compact "key=value,key=value" spec or from a YAML/JSON file holding such specs. Output is
 * jansson trees ready for cs_apisim_store_create. The spec keys are listed in
 * pkg/apisim/SIMULATION.md.
 *
 * Ownership: parsed specs own their strings (free with the matching _free). Generated objects
 * are new references owned by the caller. Thread context: pure functions, any thread.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/buf.h"

/* A string list of "key" -> "value" pairs (labels, annotations). */
struct cs_apisim_kvlist {
    char **keys;
    char **vals;
    size_t len, cap;
};

struct cs_apisim_taint {
    char *key, *value, *effect;
};

struct cs_apisim_nodegen {
    size_t count;
    size_t start;                /* first index appended to prefix */
    char *prefix;                /* "node-" */
    char *cpu, *memory, *pods, *storage;  /* capacity quantities as text */
    size_t zones;                /* >= 1; zone of node i = zone_prefix + (i % zones + 1) */
    char *zone_prefix;           /* "zone-" */
    char *region;                /* NULL = no region label */
    char *instance_type;         /* NULL = none */
    struct cs_apisim_kvlist labels, annotations;
    struct cs_apisim_taint *taints;
    size_t ntaints, taints_cap;
    char **images;
    size_t nimages, images_cap;
    int sockets, cores, threads, numa;   /* CPU topology; sockets == 0 = none */
    int gpus;                    /* GPU devices per node */
    int gpu_mem_gib;             /* per GPU */
    char *gpu_schedule;          /* label ack.node.gpu.schedule (default "share") */
    int eci;                     /* virtual-kubelet node */
    int unschedulable;
};

struct cs_apisim_podgen {
    size_t count;
    size_t start;
    char *prefix;                /* "pod-" */
    char *namespace_;            /* "default" */
    char *cpu, *memory;          /* requests = limits; NULL = none */
    int gpu_mem_gib;             /* aliyun.com/gpu-mem limit; 0 = none */
    int bound;                   /* spread over nodes round-robin, phase Running */
    char *scheduler;             /* schedulerName ("default-scheduler") */
    char *priority_class;        /* NULL = none */
    int has_priority;
    int priority;
    char *image;
    struct cs_apisim_kvlist labels, annotations;
};

void cs_apisim_nodegen_init(struct cs_apisim_nodegen *g);
void cs_apisim_nodegen_free(struct cs_apisim_nodegen *g);
void cs_apisim_podgen_init(struct cs_apisim_podgen *g);
void cs_apisim_podgen_free(struct cs_apisim_podgen *g);

/* Parse "nodes=5000,cpu=4,memory=32Gi,..." (g initialised by the call). Returns 0, or -1 with
 * a message naming the key in err (g is then freed). */
int cs_apisim_nodegen_parse(const char *spec, struct cs_apisim_nodegen *g, struct cs_buf *err);
int cs_apisim_podgen_parse(const char *spec, struct cs_apisim_podgen *g, struct cs_buf *err);
/* Same from a JSON object whose members use the spec keys (labels/annotations may be
 * objects, taints/images arrays). */
int cs_apisim_nodegen_from_json(const json_t *obj, struct cs_apisim_nodegen *g,
                                struct cs_buf *err);
int cs_apisim_podgen_from_json(const json_t *obj, struct cs_apisim_podgen *g,
                               struct cs_buf *err);

/* A whole generator file: YAML or JSON {"nodes":[spec...],"pods":[spec...]} where each spec is
 * a compact string or an object. Fills newly allocated arrays (free each element and the
 * array with cs_free). Returns 0 or -1 with err. */
int cs_apisim_clustergen_parse_file(const char *text, size_t len,
                                    struct cs_apisim_nodegen **nodes, size_t *nnodes,
                                    struct cs_apisim_podgen **pods, size_t *npods,
                                    struct cs_buf *err);

/* Node number i (0 <= i < count) of the spec; gidx is a cluster-wide index used for the
 * node's InternalIP. New reference. */
json_t *cs_apisim_nodegen_node(const struct cs_apisim_nodegen *g, size_t i, size_t gidx);
/* Pod number i of the spec. node = NULL: pending (no nodeName); else bound to node and
 * Running since wall_ns, with host_ip. New reference. */
json_t *cs_apisim_podgen_pod(const struct cs_apisim_podgen *g, size_t i, const char *node,
                             const char *host_ip, int64_t wall_ns);

/* Shared by the generator and the pod lifecycle simulation: turn pod status into Running
 * (phase, conditions Initialized/Ready/ContainersReady/PodScheduled, containerStatuses,
 * hostIP/podIP(s), startTime). pod_ip derives from the pod uid/name when NULL. */
void cs_apisim_pod_set_running(json_t *pod, const char *host_ip, int64_t wall_ns);
/* Terminal phase "Succeeded" or "Failed": containers terminated with exit code 0 or 1,
 * Ready/ContainersReady False. */
void cs_apisim_pod_set_terminated(json_t *pod, const char *phase, int64_t wall_ns);
/* The node's InternalIP address (borrowed string inside node) or NULL. */
const char *cs_apisim_node_internal_ip(const json_t *node);

#endif
