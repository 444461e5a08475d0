/*
 * The registry table. Adding a plugin = one extern in registry.h plus one line here (and a line
 * in the default profile when kube-scheduler enables it by default). Lookups are linear: they
 * only happen while building profiles, never per pod.
 */
#include "plugins/registry.h"

#include <string.h>

const struct cs_plugin *const cs_registry_plugins[] = {
    &cs_plugin_schedulinggates,
    &cs_plugin_prioritysort,
    &cs_plugin_nodeunschedulable,
    &cs_plugin_nodename,
    &cs_plugin_tainttoleration,
    &cs_plugin_nodeaffinity,
    &cs_plugin_nodeports,
    &cs_plugin_noderesources,
    &cs_plugin_balancedallocation,
    &cs_plugin_imagelocality,
    &cs_plugin_defaultbinder,
    &cs_plugin_coscheduling,
    &cs_plugin_capacityscheduling,
    &cs_plugin_cpusetscheduling,
    &cs_plugin_gpushare,
    &cs_plugin_eciburst,
    &cs_plugin_podtopologyspread,
    &cs_plugin_interpodaffinity,
    &cs_plugin_defaultpreemption,
    &cs_plugin_volumebinding,
    &cs_plugin_volumerestrictions,
    &cs_plugin_volumezone,
    &cs_plugin_nodevolumelimits,
};

const size_t cs_registry_count = sizeof(cs_registry_plugins) / sizeof(cs_registry_plugins[0]);

/* A test binary may link a second table of plugins that never ship (test/plugins/); the
 * weak references are NULL in cosched itself. */
extern const struct cs_plugin *const cs_registry_extra[] __attribute__((weak));
extern const size_t cs_registry_extra_count __attribute__((weak));

const struct cs_plugin *cs_registry_lookup(const char *name)
{
    if (name == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < cs_registry_count; i++) {
        if (strcmp(cs_registry_plugins[i]->name, name) == 0) {
            return cs_registry_plugins[i];
        }
    }
    if (&cs_registry_extra_count != NULL && cs_registry_extra != NULL) {
        for (size_t i = 0; i < cs_registry_extra_count; i++) {
            if (strcmp(cs_registry_extra[i]->name, name) == 0) {
                return cs_registry_extra[i];
            }
        }
    }
    return NULL;
}

/* kube-scheduler v1 defaults (multiPoint). */
const struct cs_registry_profile_entry cs_registry_default_profile[] = {
    {"SchedulingGates", 0},
    {"PrioritySort", 0},
    {"NodeUnschedulable", 0},
    {"NodeName", 0},
    {"TaintToleration", 3},
    {"NodeAffinity", 2},
    {"NodePorts", 0},
    {"NodeResourcesFit", 1},
    {"VolumeRestrictions", 0},
    {"NodeVolumeLimits", 0},
    {"VolumeBinding", 0},
    {"VolumeZone", 0},
    {"PodTopologySpread", 2},
    {"InterPodAffinity", 2},
    {"DefaultPreemption", 0},
    {"NodeResourcesBalancedAllocation", 1},
    {"ImageLocality", 1},
    {"DefaultBinder", 0},
};

const size_t cs_registry_default_profile_len =
    sizeof(cs_registry_default_profile) / sizeof(cs_registry_default_profile[0]);
