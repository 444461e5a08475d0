#ifndef CS_PLUGINS_REGISTRY_H
#define CS_PLUGINS_REGISTRY_H
/*
 * The plugin registry: every plugin compiled into cosched, and kube-scheduler's default profile.
 * Core code finds plugins only through this table (by name, from the profile configuration).
 */
#include <stddef.h>
#include <stdint.h>

#include "api/plugin.h"

/* One plugin per file under plugins/<name>/; each file exports exactly its descriptor. */
extern const struct cs_plugin cs_plugin_schedulinggates;
extern const struct cs_plugin cs_plugin_prioritysort;
extern const struct cs_plugin cs_plugin_nodeunschedulable;
extern const struct cs_plugin cs_plugin_nodename;
extern const struct cs_plugin cs_plugin_tainttoleration;
extern const struct cs_plugin cs_plugin_nodeaffinity;
extern const struct cs_plugin cs_plugin_nodeports;
extern const struct cs_plugin cs_plugin_noderesources;
extern const struct cs_plugin cs_plugin_balancedallocation;
extern const struct cs_plugin cs_plugin_imagelocality;
extern const struct cs_plugin cs_plugin_defaultbinder;
extern const struct cs_plugin cs_plugin_coscheduling;
extern const struct cs_plugin cs_plugin_capacityscheduling;
extern const struct cs_plugin cs_plugin_cpusetscheduling;
extern const struct cs_plugin cs_plugin_gpushare;
extern const struct cs_plugin cs_plugin_eciburst;
extern const struct cs_plugin cs_plugin_podtopologyspread;
extern const struct cs_plugin cs_plugin_interpodaffinity;
extern const struct cs_plugin cs_plugin_defaultpreemption;
extern const struct cs_plugin cs_plugin_volumebinding;
extern const struct cs_plugin cs_plugin_volumerestrictions;
extern const struct cs_plugin cs_plugin_volumezone;
extern const struct cs_plugin cs_plugin_nodevolumelimits;

/* Every registered plugin, in no particular order. */
extern const struct cs_plugin *const cs_registry_plugins[];
extern const size_t cs_registry_count;

/* The plugin named `name` (kube-scheduler's spelling, e.g. "NodeResourcesFit"), or NULL. */
const struct cs_plugin *cs_registry_lookup(const char *name);

/* One entry of a profile: plugin name and score weight (0 for plugins that do not score). */
struct cs_registry_profile_entry {
    const char *name;
    int32_t weight;
};

/* kube-scheduler's default (v1 multiPoint) profile, in its order, restricted to the plugins
 * cosched has. */
extern const struct cs_registry_profile_entry cs_registry_default_profile[];
extern const size_t cs_registry_default_profile_len;

#endif
