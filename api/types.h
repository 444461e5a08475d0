#ifndef CS_API_TYPES_H
#define CS_API_TYPES_H
/*
 * The Kubernetes object model as cosched sees it: compact, immutable, decoded once from JSON.
 *
 * Ownership: a decoded object owns an arena holding every string and array reachable from it,
 * except interned strings (namespaces, node names, scheduler names, label/annotation keys,
 * taint keys, topology keys), which live in the cs_api_ctx's intern table for the life of the
 * process. Objects are reference counted (cs_pod_ref/cs_pod_unref, atomic) and never modified
 * after decode: an update from the API server produces a new object that replaces the old one
 * in the cache. This lets the cache, the queue, snapshots and in-flight binds share pointers
 * across threads without copying.
 *
 * Strings that may be absent are NULL (never ""); arrays come with their counts.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/resource.h"
#include "pkg/util/arena.h"
#include "pkg/util/selector.h"

struct cs_intern;
struct cs_prio_table;
struct cs_pod_room;

/* Everything a decoder needs that outlives one object. Shared by all threads. */
struct cs_api_ctx {
    struct cs_intern *strings;
    struct cs_resource_names *resources;
    struct cs_prio_table *priorities;  /* NULL: spec.priority is taken as given (api/priority.h) */
    struct cs_pod_room *pod_room;      /* learnt size of a decoded pod (api/podroom.h); NULL:
                                        * the smallest */
};

#define CS_POD_MAGIC 0x504f4421u
#define CS_NODE_MAGIC 0x4e4f4445u

enum cs_pod_phase {
    CS_PHASE_PENDING = 0,
    CS_PHASE_RUNNING,
    CS_PHASE_SUCCEEDED,
    CS_PHASE_FAILED,
    CS_PHASE_UNKNOWN,
};

enum cs_protocol { CS_PROTO_TCP = 0, CS_PROTO_UDP, CS_PROTO_SCTP };

enum cs_taint_effect {
    CS_EFFECT_NONE = 0,  /* toleration with empty effect: matches all effects */
    CS_EFFECT_NO_SCHEDULE,
    CS_EFFECT_PREFER_NO_SCHEDULE,
    CS_EFFECT_NO_EXECUTE,
};

enum cs_preemption_policy { CS_PREEMPT_LOWER_PRIORITY = 0, CS_PREEMPT_NEVER };

enum cs_cond_status { CS_COND_UNKNOWN = 0, CS_COND_TRUE, CS_COND_FALSE };

struct cs_owner_ref {
    const char *api_version;
    const char *kind;
    const char *name;
    const char *uid;
    bool controller;
};

struct cs_port {
    int32_t container_port;
    int32_t host_port;      /* 0 when not set */
    enum cs_protocol protocol;
    const char *host_ip;    /* NULL = 0.0.0.0 */
};

struct cs_container {
    const char *name;
    const char *image;
    const struct cs_res_list *requests;    /* limits defaulted in, as the apiserver does; */
    const struct cs_res_list *limits;      /* NULL when none */
    struct cs_res_extras extra_requests;   /* names past the dense table (limits defaulted in) */
    struct cs_port *ports;
    uint32_t n_ports;
    bool restartable;       /* init container with restartPolicy: Always (a sidecar) */
};

/* NodeSelectorRequirement / the compiled node selector term. */
struct cs_node_selector_term {
    struct cs_selector *match_expressions;  /* NULL when the term has none */
    struct cs_selector *match_fields;       /* only metadata.name is supported upstream */
    bool invalid;                           /* a requirement upstream cannot parse (a value
                                             * that is no label value, Gt/Lt with a non-integer):
                                             * the term matches no node, as in kube */
};

struct cs_preferred_term {
    int32_t weight;
    struct cs_node_selector_term term;
};

struct cs_node_affinity {
    /* requiredDuringSchedulingIgnoredDuringExecution: terms are ORed; absent when n_required==0
     * and has_required is false. An explicitly empty list of terms matches nothing. */
    bool has_required;
    struct cs_node_selector_term *required;
    uint32_t n_required;
    struct cs_preferred_term *preferred;
    uint32_t n_preferred;
};

struct cs_pod_affinity_term {
    struct cs_selector *label_selector;      /* NULL = matches nothing */
    const char **namespaces;                 /* empty + no ns selector = the pod's namespace */
    uint32_t n_namespaces;
    struct cs_selector *namespace_selector;  /* NULL when absent; {} matches all */
    const char *topology_key;                /* interned */
    const char **match_label_keys;
    uint32_t n_match_label_keys;
    const char **mismatch_label_keys;
    uint32_t n_mismatch_label_keys;
};

struct cs_weighted_affinity_term {
    int32_t weight;
    struct cs_pod_affinity_term term;
};

struct cs_pod_affinity {
    struct cs_pod_affinity_term *required;
    uint32_t n_required;
    struct cs_weighted_affinity_term *preferred;
    uint32_t n_preferred;
};

#define CS_TOL_GT 1
#define CS_TOL_LT 2

struct cs_toleration {
    const char *key;         /* interned; NULL = empty key (matches all keys with Exists) */
    const char *value;       /* NULL = empty */
    int64_t toleration_seconds;
    enum cs_taint_effect effect;
    bool has_seconds;
    bool op_exists;          /* operator Exists */
    uint8_t op_compare;      /* CS_TOL_GT / CS_TOL_LT (numeric comparison), else 0 (Equal) */
};

struct cs_taint {
    const char *key;         /* interned */
    const char *value;       /* NULL = empty */
    enum cs_taint_effect effect;
};

struct cs_spread_constraint {
    int32_t max_skew;
    const char *topology_key;           /* interned */
    bool do_not_schedule;               /* whenUnsatisfiable: DoNotSchedule (else ScheduleAnyway) */
    struct cs_selector *label_selector; /* NULL = matches nothing */
    int32_t min_domains;                /* 0 = unset */
    bool node_affinity_policy_ignore;   /* nodeAffinityPolicy: Ignore (default Honor) */
    bool node_taints_policy_honor;      /* nodeTaintsPolicy: Honor (default Ignore) */
    const char **match_label_keys;
    uint32_t n_match_label_keys;
};

struct cs_condition {
    const char *type;
    enum cs_cond_status status;
    const char *reason;
    const char *message;
    int64_t last_transition_ns;  /* 0 when absent */
};

struct cs_pod {
    /* Fields are ordered so that every 32-bit count shares an 8-byte word with another (a
     * cached pod is one allocator size class: 48 bytes of holes cost a class at 150k pods). */
    unsigned magic;
    atomic_int refcnt;
    struct cs_arena arena;
    struct cs_pod *base;          /* a placed pod (cs_pod_placed): the queued pod it extends,
                                   * whose arena its borrowed fields live in (counted) */

    /* metadata */
    const char *ns;               /* interned */
    const char *name;             /* inside key, after "ns/" */
    const char *key;              /* "ns/name" */
    const char *uid;
    const char *resource_version;
    uint64_t rv;                  /* resource_version parsed; 0 when not numeric */
    int64_t creation_ns;
    int64_t deletion_ns;          /* 0 = not being deleted */
    struct cs_label *labels;      /* keys interned, values copied; in API order */
    struct cs_label *annotations;
    uint32_t n_labels;
    uint32_t n_annotations;
    struct cs_owner_ref *owners;
    uint32_t n_owners;

    /* spec */
    int32_t priority;             /* 0 when absent */
    const char *scheduler_name;   /* interned; "default-scheduler" when absent */
    const char *node_name;        /* interned; NULL when unassigned */
    const char *priority_class_name;
    enum cs_preemption_policy preemption_policy;
    bool has_priority;
    bool host_network;
    struct cs_container *containers;
    struct cs_container *init_containers;
    uint32_t n_containers;
    uint32_t n_init_containers;
    const struct cs_resources *overhead;      /* spec.overhead; NULL when it names nothing */
    struct cs_res_extras extra_overhead;
    const struct cs_resources *pod_requests;  /* spec.resources.requests (pod-level); NULL if
                                               * unset; only cpu, memory and hugepages-* kept */
    struct cs_label *node_selector;    /* keys interned */
    struct cs_toleration *tolerations;
    uint32_t n_node_selector;
    uint32_t n_tolerations;
    struct cs_node_affinity *node_affinity;      /* NULL when absent */
    struct cs_pod_affinity *pod_affinity;        /* NULL when absent */
    struct cs_pod_affinity *pod_anti_affinity;   /* NULL when absent */
    struct cs_spread_constraint *spread;
    const char **scheduling_gates;
    uint32_t n_spread;
    uint32_t n_scheduling_gates;
    const char *decode_error;          /* set by cs_pod_decode_lenient: why the full decode
                                        * failed (this object holds only what could be read) */
    uint64_t constraints_hash;         /* of spec.affinity's pod (anti-)affinity and spread
                                        * constraints, 0 when the pod has none */
    const char **claims;               /* PersistentVolumeClaims its volumes use: each
                                        * persistentVolumeClaim.claimName, and "<pod>-<volume>"
                                        * for ephemeral volumes (their generated claims) */
    uint32_t n_claims;

    /* status */
    enum cs_pod_phase phase;
    uint32_t n_conditions;
    struct cs_condition *conditions;
    const char *nominated_node_name;  /* interned; NULL when none */
    int64_t start_ns;                 /* status.startTime, 0 when absent */

    /* derived once at decode (see api/requests.h) */
    struct cs_port *host_ports;            /* every regular container port with host_port > 0
                                            * (NodePorts ignores init containers upstream) */
    uint32_t n_host_ports;
    struct cs_resources requests;          /* resource.PodRequests incl. overhead; pods slot = 1 */
    struct cs_res_extras extra_requests;   /* the same for names past the dense table */
    int64_t nonzero_cpu;                   /* requests' cpu and memory defaulted for scoring */
    int64_t nonzero_memory;                /* (cs_pod_nonzero_requests gives the whole vector) */
};

struct cs_image {
    const char **names;
    uint32_t n_names;
    int64_t size_bytes;
};

struct cs_node {
    unsigned magic;
    atomic_int refcnt;
    struct cs_arena arena;

    const char *name;             /* interned */
    const char *uid;
    const char *resource_version;
    uint64_t rv;
    int64_t creation_ns;
    int64_t deletion_ns;
    struct cs_label *labels;      /* keys interned */
    uint32_t n_labels;
    struct cs_label *annotations;
    uint32_t n_annotations;

    bool unschedulable;
    struct cs_taint *taints;
    uint32_t n_taints;
    struct cs_resources capacity;
    struct cs_resources allocatable;  /* defaults to capacity when absent */
    struct cs_res_extras extra_allocatable;  /* names past the dense table (arena) */
    struct cs_condition *conditions;
    uint32_t n_conditions;
    struct cs_image *images;
    uint32_t n_images;
};

/* A zeroed pod (magic set, one reference) at the start of the first block of its own arena:
 * the object and its strings and arrays are one allocation of CS_ARENA_BLOCK_OVERHEAD +
 * sizeof(struct cs_pod) + room bytes while they fit. Never NULL. */
struct cs_pod *cs_pod_new(size_t room);
/* Reference counting (thread-safe). unref frees at zero. NULL is accepted. */
struct cs_pod *cs_pod_ref(struct cs_pod *p);
void cs_pod_unref(struct cs_pod *p);
struct cs_node *cs_node_ref(struct cs_node *n);
void cs_node_unref(struct cs_node *n);

/* Lookups (linear; objects are small). Return NULL when absent. */
const char *cs_label_get(const struct cs_label *labels, uint32_t n, const char *key);
const char *cs_pod_label(const struct cs_pod *p, const char *key);
const char *cs_pod_annotation(const struct cs_pod *p, const char *key);
const char *cs_node_label(const struct cs_node *n, const char *key);
const char *cs_node_annotation(const struct cs_node *n, const char *key);
const struct cs_condition *cs_pod_condition(const struct cs_pod *p, const char *type);
const struct cs_condition *cs_node_condition(const struct cs_node *n, const char *type);
/* The controller owner reference, or NULL. */
const struct cs_owner_ref *cs_pod_controller(const struct cs_pod *p);

#endif
