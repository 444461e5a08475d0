/*
 * cs_config -> JSON in the v1 field names, the inverse of decode.c: reading the output back
 * with cs_config_load_json gives an equal configuration.
 */
#include "pkg/config/encode.h"

#include <stdint.h>

#include "pkg/config/duration.h"
#include "pkg/config/extpoint.h"

static json_t *duration_ms(int64_t ms)
{
    char buf[64];
    cs_duration_format(ms * 1000000, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *refs(const struct cs_config_plugin_ref *r, size_t n, int with_weight)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s}", "name", r[i].name);
        if (with_weight && r[i].weight != 0) {
            json_object_set_new(o, "weight", json_integer(r[i].weight));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *profile(const struct cs_config_profile *p)
{
    json_t *o = json_pack("{s:s}", "schedulerName", p->scheduler_name);
    if (p->percentage_of_nodes_to_score != CS_CONFIG_UNSET) {
        json_object_set_new(o, "percentageOfNodesToScore",
                            json_integer(p->percentage_of_nodes_to_score));
    }
    if (p->percentage_of_placements_to_score != CS_CONFIG_UNSET) {
        json_object_set_new(o, "percentageOfPlacementsToScore",
                            json_integer(p->percentage_of_placements_to_score));
    }
    json_t *plugins = json_object();
    for (int s = 0; s < CS_CONFIG_NSETS; s++) {
        const struct cs_config_plugin_set *set = &p->plugins.sets[s];
        if (set->nenabled == 0 && set->ndisabled == 0) {
            continue;
        }
        json_t *js = json_object();
        if (set->nenabled > 0) {
            json_object_set_new(js, "enabled", refs(set->enabled, set->nenabled, 1));
        }
        if (set->ndisabled > 0) {
            json_object_set_new(js, "disabled", refs(set->disabled, set->ndisabled, 0));
        }
        json_object_set_new(plugins,
                            s == CS_CONFIG_MULTI_POINT
                                ? "multiPoint"
                                : cs_ext_point_config_key((enum cs_ext_point)s),
                            js);
    }
    if (json_object_size(plugins) > 0) {
        json_object_set_new(o, "plugins", plugins);
    } else {
        json_decref(plugins);
    }
    if (p->nplugin_config > 0) {
        json_t *pc = json_array();
        for (size_t i = 0; i < p->nplugin_config; i++) {
            json_t *e = json_pack("{s:s}", "name", p->plugin_config[i].name);
            if (p->plugin_config[i].args != NULL) {
                json_object_set_new(e, "args", json_deep_copy(p->plugin_config[i].args));
            }
            json_array_append_new(pc, e);
        }
        json_object_set_new(o, "pluginConfig", pc);
    }
    return o;
}

json_t *cs_config_to_json(const struct cs_config *c)
{
    const struct cs_config_client_connection *cc = &c->client_connection;
    const struct cs_config_leader_election *le = &c->leader_election;
    json_t *o = json_pack("{s:s, s:s, s:i, s:I, s:I, s:b, s:b, s:b}", "apiVersion",
                          CS_CONFIG_API_VERSION, "kind", CS_CONFIG_KIND, "parallelism",
                          (int)c->parallelism, "podInitialBackoffSeconds",
                          (json_int_t)c->pod_initial_backoff_seconds, "podMaxBackoffSeconds",
                          (json_int_t)c->pod_max_backoff_seconds, "enableProfiling",
                          c->enable_profiling, "enableContentionProfiling",
                          c->enable_contention_profiling, "delayCacheUntilActive",
                          c->delay_cache_until_active);
    if (c->percentage_of_nodes_to_score != CS_CONFIG_UNSET) {
        json_object_set_new(o, "percentageOfNodesToScore",
                            json_integer(c->percentage_of_nodes_to_score));
    }
    if (c->percentage_of_placements_to_score != CS_CONFIG_UNSET) {
        json_object_set_new(o, "percentageOfPlacementsToScore",
                            json_integer(c->percentage_of_placements_to_score));
    }
    json_object_set_new(o, "clientConnection",
                        json_pack("{s:s, s:s, s:s, s:f, s:i}", "kubeconfig",
                                  cc->kubeconfig ? cc->kubeconfig : "", "acceptContentTypes",
                                  cc->accept_content_types ? cc->accept_content_types : "",
                                  "contentType", cc->content_type ? cc->content_type : "", "qps",
                                  cc->qps, "burst", (int)cc->burst));
    json_t *jle = json_pack("{s:b, s:s, s:s, s:s}", "leaderElect", le->leader_elect,
                            "resourceLock", le->resource_lock ? le->resource_lock : "",
                            "resourceName", le->resource_name ? le->resource_name : "",
                            "resourceNamespace",
                            le->resource_namespace ? le->resource_namespace : "");
    json_object_set_new(jle, "leaseDuration", duration_ms(le->lease_duration_ms));
    json_object_set_new(jle, "renewDeadline", duration_ms(le->renew_deadline_ms));
    json_object_set_new(jle, "retryPeriod", duration_ms(le->retry_period_ms));
    json_object_set_new(o, "leaderElection", jle);
    json_t *profiles = json_array();
    for (size_t i = 0; i < c->nprofiles; i++) {
        json_array_append_new(profiles, profile(&c->profiles[i]));
    }
    json_object_set_new(o, "profiles", profiles);
    return o;
}
