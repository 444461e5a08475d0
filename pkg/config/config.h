#ifndef CS_PKG_CONFIG_CONFIG_H
#define CS_PKG_CONFIG_CONFIG_H
/*
 * KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) as cosched reads it.
 *
 * Loading is strict like kube-scheduler's: apiVersion/kind must be the v1 pair, an unknown field
 * anywhere is an error naming its key path ("profiles[0].plugins.score.enabled[1].wieght:
 * unknown field"), as is a value of the wrong type. After decoding, defaults are applied and the
 * result is validated (see cs_config_validate). YAML and JSON files are both accepted.
 *
 * Ownership: a struct cs_config owns every string, array and json_t inside it; release with
 * cs_config_free. A loaded config is immutable by convention and may then be read from any
 * thread. Loading functions touch no shared state.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg/config/extpoint.h"

#define CS_CONFIG_API_VERSION "kubescheduler.config.k8s.io/v1"
#define CS_CONFIG_KIND "KubeSchedulerConfiguration"
/* Our default profile name (kube-scheduler's would be default-scheduler). */
#define CS_CONFIG_DEFAULT_SCHEDULER_NAME "ack-co-scheduler"
/* percentageOfNodesToScore / percentageOfPlacementsToScore not given. 0 means "adaptive". */
#define CS_CONFIG_UNSET (-1)
/* Index of the multiPoint set in cs_config_plugins.sets (after the real extension points). */
#define CS_CONFIG_MULTI_POINT CS_EP_COUNT
#define CS_CONFIG_NSETS (CS_EP_COUNT + 1)

/* {name, weight}: weight is 0 when absent (resolution turns a score weight of 0 into 1). */
struct cs_config_plugin_ref {
    char *name;
    int32_t weight;
};

/* One extension point's {enabled, disabled}; disabled may name "*" (all defaults). */
struct cs_config_plugin_set {
    struct cs_config_plugin_ref *enabled;
    size_t nenabled;
    struct cs_config_plugin_ref *disabled;
    size_t ndisabled;
};

struct cs_config_plugins {
    struct cs_config_plugin_set sets[CS_CONFIG_NSETS]; /* by enum cs_ext_point, then multiPoint */
};

struct cs_config_plugin_config {
    char *name;
    json_t *args; /* owned reference; NULL when absent or null */
};

struct cs_config_profile {
    size_t index; /* position in profiles[] (for error paths) */
    char *scheduler_name;
    int32_t percentage_of_nodes_to_score;      /* CS_CONFIG_UNSET: use the global value */
    int32_t percentage_of_placements_to_score; /* CS_CONFIG_UNSET when absent */
    struct cs_config_plugins plugins;
    struct cs_config_plugin_config *plugin_config;
    size_t nplugin_config;
};

struct cs_config_client_connection {
    char *kubeconfig;           /* "" when not set */
    char *accept_content_types; /* "" when not set */
    char *content_type;         /* default application/vnd.kubernetes.protobuf */
    double qps;                 /* default 50 */
    int32_t burst;              /* default 100 */
    int qps_set;                /* 1 when the file gave qps (so callers may apply own defaults) */
    int burst_set;              /* 1 when the file gave burst */
};

struct cs_config_leader_election {
    int leader_elect;             /* default 1 */
    int64_t lease_duration_ms;    /* default 15000 */
    int64_t renew_deadline_ms;    /* default 10000 */
    int64_t retry_period_ms;      /* default 2000 */
    char *resource_lock;          /* default "leases" */
    char *resource_name;          /* default "kube-scheduler" */
    char *resource_namespace;     /* default "kube-system" */
};

struct cs_config {
    int32_t parallelism;                       /* default 16 */
    int32_t percentage_of_nodes_to_score;      /* CS_CONFIG_UNSET when absent; 0 = adaptive */
    int32_t percentage_of_placements_to_score; /* CS_CONFIG_UNSET when absent */
    int64_t pod_initial_backoff_seconds;       /* default 1 */
    int64_t pod_max_backoff_seconds;           /* default 10 */
    int enable_profiling;                      /* default 1 */
    int enable_contention_profiling;           /* default 1 */
    int delay_cache_until_active;              /* default 0 */
    struct cs_config_client_connection client_connection;
    struct cs_config_leader_election leader_election;
    struct cs_config_profile *profiles; /* at least one after loading or defaulting */
    size_t nprofiles;
};

/* Fill *c with every default, including one profile named CS_CONFIG_DEFAULT_SCHEDULER_NAME with
 * no plugin customisation. Overwrites *c without freeing it. */
void cs_config_defaults(struct cs_config *c);

/* Load a YAML or JSON file. On success returns 0 and *out is defaulted and validated; on
 * failure returns -1, err names the file and the key path, and *out holds nothing to free. */
int cs_config_load_file(const char *path, struct cs_config *out, char *err, size_t errlen);

/* The same from a text buffer (YAML or JSON). */
int cs_config_load_string(const char *text, size_t len, struct cs_config *out, char *err,
                          size_t errlen);

/* The same from an already-parsed JSON document (borrowed; not modified). */
int cs_config_load_json(const json_t *root, struct cs_config *out, char *err, size_t errlen);

/* Validation run by the loaders, exposed for configs assembled in code (e.g. from flags):
 * parallelism > 0, percentages in 0..100, backoffs > 0 with max >= initial, qps/burst >= 0,
 * leader-election durations > 0 with leaseDuration > renewDeadline > retryPeriod when
 * leaderElect, at least one profile, non-empty unique schedulerNames, weights >= 0, unique
 * pluginConfig names. Returns 0 or -1 with the key path in err. */
int cs_config_validate(const struct cs_config *c, char *err, size_t errlen);

/* Release everything *c owns and zero it. Safe on a zeroed or already-freed struct. */
void cs_config_free(struct cs_config *c);

/* The profile whose schedulerName is name, or NULL. Borrowed. */
const struct cs_config_profile *cs_config_find_profile(const struct cs_config *c,
                                                        const char *name);

/* pluginConfig args for plugin `name` in the profile: a borrowed json_t (valid while the config
 * lives; do not decref) or NULL when the profile has none for that plugin. */
const json_t *cs_config_plugin_args(const struct cs_config_profile *p, const char *name);

/* The profile's percentageOfNodesToScore, falling back to the global one; 0 (adaptive) when
 * neither is set. */
int32_t cs_config_percentage_of_nodes_to_score(const struct cs_config *c,
                                               const struct cs_config_profile *p);

#endif
