/*
 * The configuration model's life cycle: defaults, validation, lookups and release. Decoding
 * from YAML/JSON lives in decode.c; plugin-set resolution in resolve.c. Validation mirrors the
 * checks kube-scheduler's ValidateKubeSchedulerConfiguration applies to the fields we model,
 * and reports the first problem with its key path.
 */
#include "pkg/config/config.h"
#include "pkg/config/config_internal.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"

static void defaults_no_profiles(struct cs_config *c)
{
    memset(c, 0, sizeof(*c));
    c->parallelism = 16;
    c->percentage_of_nodes_to_score = CS_CONFIG_UNSET;
    c->percentage_of_placements_to_score = CS_CONFIG_UNSET;
    c->pod_initial_backoff_seconds = 1;
    c->pod_max_backoff_seconds = 10;
    c->enable_profiling = 1;
    c->enable_contention_profiling = 1;
    c->delay_cache_until_active = 0;
    c->client_connection.kubeconfig = cs_strdup("");
    c->client_connection.accept_content_types = cs_strdup("");
    c->client_connection.content_type = cs_strdup("application/vnd.kubernetes.protobuf");
    c->client_connection.qps = 50;
    c->client_connection.burst = 100;
    c->leader_election.leader_elect = 1;
    c->leader_election.lease_duration_ms = 15000;
    c->leader_election.renew_deadline_ms = 10000;
    c->leader_election.retry_period_ms = 2000;
    c->leader_election.resource_lock = cs_strdup("leases");
    c->leader_election.resource_name = cs_strdup("kube-scheduler");
    c->leader_election.resource_namespace = cs_strdup("kube-system");
}

void cs_config_defaults_base(struct cs_config *c)
{
    defaults_no_profiles(c);
}

void cs_config_add_default_profile(struct cs_config *c)
{
    c->profiles = cs_realloc(c->profiles, sizeof(*c->profiles) * (c->nprofiles + 1));
    struct cs_config_profile *p = &c->profiles[c->nprofiles];
    memset(p, 0, sizeof(*p));
    p->index = c->nprofiles;
    p->scheduler_name = cs_strdup(CS_CONFIG_DEFAULT_SCHEDULER_NAME);
    p->percentage_of_nodes_to_score = CS_CONFIG_UNSET;
    p->percentage_of_placements_to_score = CS_CONFIG_UNSET;
    c->nprofiles++;
}

void cs_config_defaults(struct cs_config *c)
{
    defaults_no_profiles(c);
    cs_config_add_default_profile(c);
}

static void free_refs(struct cs_config_plugin_ref *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cs_free(r[i].name);
    }
    cs_free(r);
}

static void free_profile(struct cs_config_profile *p)
{
    cs_free(p->scheduler_name);
    for (int s = 0; s < CS_CONFIG_NSETS; s++) {
        free_refs(p->plugins.sets[s].enabled, p->plugins.sets[s].nenabled);
        free_refs(p->plugins.sets[s].disabled, p->plugins.sets[s].ndisabled);
    }
    for (size_t i = 0; i < p->nplugin_config; i++) {
        cs_free(p->plugin_config[i].name);
        json_decref(p->plugin_config[i].args);
    }
    cs_free(p->plugin_config);
    memset(p, 0, sizeof(*p));
}

void cs_config_free(struct cs_config *c)
{
    cs_free(c->client_connection.kubeconfig);
    cs_free(c->client_connection.accept_content_types);
    cs_free(c->client_connection.content_type);
    cs_free(c->leader_election.resource_lock);
    cs_free(c->leader_election.resource_name);
    cs_free(c->leader_election.resource_namespace);
    for (size_t i = 0; i < c->nprofiles; i++) {
        free_profile(&c->profiles[i]);
    }
    cs_free(c->profiles);
    memset(c, 0, sizeof(*c));
}

static int check_pct(int32_t v, const char *path, char *err, size_t errlen)
{
    if (v != CS_CONFIG_UNSET && (v < 0 || v > 100)) {
        snprintf(err, errlen, "%s: must be between 0 and 100, got %d", path, (int)v);
        return -1;
    }
    return 0;
}

static int validate_profile(const struct cs_config_profile *p, char *err, size_t errlen)
{
    char path[160];
    size_t i = p->index;
    if (p->scheduler_name == NULL || p->scheduler_name[0] == '\0') {
        snprintf(err, errlen, "profiles[%zu].schedulerName: required", i);
        return -1;
    }
    snprintf(path, sizeof(path), "profiles[%zu].percentageOfNodesToScore", i);
    if (check_pct(p->percentage_of_nodes_to_score, path, err, errlen) < 0) {
        return -1;
    }
    snprintf(path, sizeof(path), "profiles[%zu].percentageOfPlacementsToScore", i);
    if (check_pct(p->percentage_of_placements_to_score, path, err, errlen) < 0) {
        return -1;
    }
    for (int s = 0; s < CS_CONFIG_NSETS; s++) {
        const struct cs_config_plugin_set *set = &p->plugins.sets[s];
        const char *key = s == CS_CONFIG_MULTI_POINT ? "multiPoint"
                                                     : cs_ext_point_config_key((enum cs_ext_point)s);
        for (size_t k = 0; k < set->nenabled; k++) {
            if (set->enabled[k].name == NULL || set->enabled[k].name[0] == '\0') {
                snprintf(err, errlen, "profiles[%zu].plugins.%s.enabled[%zu].name: required", i,
                         key, k);
                return -1;
            }
            if (set->enabled[k].weight < 0) {
                snprintf(err, errlen,
                         "profiles[%zu].plugins.%s.enabled[%zu].weight: must be non-negative, "
                         "got %d",
                         i, key, k, (int)set->enabled[k].weight);
                return -1;
            }
        }
        for (size_t k = 0; k < set->ndisabled; k++) {
            if (set->disabled[k].name == NULL || set->disabled[k].name[0] == '\0') {
                snprintf(err, errlen, "profiles[%zu].plugins.%s.disabled[%zu].name: required", i,
                         key, k);
                return -1;
            }
        }
    }
    for (size_t k = 0; k < p->nplugin_config; k++) {
        if (p->plugin_config[k].name == NULL || p->plugin_config[k].name[0] == '\0') {
            snprintf(err, errlen, "profiles[%zu].pluginConfig[%zu].name: required", i, k);
            return -1;
        }
        for (size_t j = 0; j < k; j++) {
            if (strcmp(p->plugin_config[j].name, p->plugin_config[k].name) == 0) {
                snprintf(err, errlen,
                         "profiles[%zu].pluginConfig[%zu].name: duplicate plugin config for "
                         "\"%s\"",
                         i, k, p->plugin_config[k].name);
                return -1;
            }
        }
    }
    return 0;
}

int cs_config_validate(const struct cs_config *c, char *err, size_t errlen)
{
    const struct cs_config_leader_election *le = &c->leader_election;
    if (c->parallelism <= 0) {
        snprintf(err, errlen, "parallelism: must be greater than zero, got %d",
                 (int)c->parallelism);
        return -1;
    }
    if (check_pct(c->percentage_of_nodes_to_score, "percentageOfNodesToScore", err, errlen) < 0 ||
        check_pct(c->percentage_of_placements_to_score, "percentageOfPlacementsToScore", err,
                  errlen) < 0) {
        return -1;
    }
    if (c->pod_initial_backoff_seconds <= 0) {
        snprintf(err, errlen, "podInitialBackoffSeconds: must be greater than zero, got %lld",
                 (long long)c->pod_initial_backoff_seconds);
        return -1;
    }
    if (c->pod_max_backoff_seconds < c->pod_initial_backoff_seconds) {
        snprintf(err, errlen,
                 "podMaxBackoffSeconds: must be greater than or equal to "
                 "podInitialBackoffSeconds (%lld), got %lld",
                 (long long)c->pod_initial_backoff_seconds, (long long)c->pod_max_backoff_seconds);
        return -1;
    }
    if (c->client_connection.qps < 0) {
        snprintf(err, errlen, "clientConnection.qps: must be non-negative, got %g",
                 c->client_connection.qps);
        return -1;
    }
    if (c->client_connection.burst < 0) {
        snprintf(err, errlen, "clientConnection.burst: must be non-negative, got %d",
                 (int)c->client_connection.burst);
        return -1;
    }
    if (le->leader_elect) {
        if (le->lease_duration_ms <= 0 || le->renew_deadline_ms <= 0 || le->retry_period_ms <= 0) {
            snprintf(err, errlen, "leaderElection.%s: must be greater than zero",
                     le->lease_duration_ms <= 0   ? "leaseDuration"
                     : le->renew_deadline_ms <= 0 ? "renewDeadline"
                                                  : "retryPeriod");
            return -1;
        }
        if (le->lease_duration_ms <= le->renew_deadline_ms) {
            snprintf(err, errlen,
                     "leaderElection.leaseDuration: must be greater than renewDeadline");
            return -1;
        }
        if (le->renew_deadline_ms <= le->retry_period_ms) {
            snprintf(err, errlen, "leaderElection.renewDeadline: must be greater than retryPeriod");
            return -1;
        }
        if (le->resource_lock == NULL || strcmp(le->resource_lock, "leases") != 0) {
            snprintf(err, errlen, "leaderElection.resourceLock: unsupported lock \"%s\" (only "
                                  "\"leases\")",
                     le->resource_lock ? le->resource_lock : "");
            return -1;
        }
        if (le->resource_name == NULL || le->resource_name[0] == '\0' ||
            le->resource_namespace == NULL || le->resource_namespace[0] == '\0') {
            snprintf(err, errlen, "leaderElection.%s: required",
                     le->resource_name == NULL || le->resource_name[0] == '\0'
                         ? "resourceName"
                         : "resourceNamespace");
            return -1;
        }
    }
    if (c->nprofiles == 0) {
        snprintf(err, errlen, "profiles: at least one profile is required");
        return -1;
    }
    for (size_t i = 0; i < c->nprofiles; i++) {
        if (validate_profile(&c->profiles[i], err, errlen) < 0) {
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(c->profiles[j].scheduler_name, c->profiles[i].scheduler_name) == 0) {
                snprintf(err, errlen,
                         "profiles[%zu].schedulerName: duplicate \"%s\" (also profiles[%zu])", i,
                         c->profiles[i].scheduler_name, j);
                return -1;
            }
        }
    }
    return 0;
}

const struct cs_config_profile *cs_config_find_profile(const struct cs_config *c,
                                                        const char *name)
{
    for (size_t i = 0; i < c->nprofiles; i++) {
        if (strcmp(c->profiles[i].scheduler_name, name) == 0) {
            return &c->profiles[i];
        }
    }
    return NULL;
}

const json_t *cs_config_plugin_args(const struct cs_config_profile *p, const char *name)
{
    for (size_t i = 0; i < p->nplugin_config; i++) {
        if (strcmp(p->plugin_config[i].name, name) == 0) {
            return p->plugin_config[i].args;
        }
    }
    return NULL;
}

int32_t cs_config_percentage_of_nodes_to_score(const struct cs_config *c,
                                               const struct cs_config_profile *p)
{
    if (p != NULL && p->percentage_of_nodes_to_score != CS_CONFIG_UNSET) {
        return p->percentage_of_nodes_to_score;
    }
    if (c->percentage_of_nodes_to_score != CS_CONFIG_UNSET) {
        return c->percentage_of_nodes_to_score;
    }
    return 0;
}
