#ifndef CS_PKG_CONFIG_RESOLVE_H
#define CS_PKG_CONFIG_RESOLVE_H
/*
 * Plugin-set resolution: turn a profile's `plugins` section plus the default plugin list into
 * one ordered (name, weight) list per extension point, following kube-scheduler v1:
 *
 * 1. multiPoint: the defaults (a multiPoint-style list) are merged with the profile's
 *    plugins.multiPoint: multiPoint.disabled drops defaults by name ("*" drops all of them);
 *    a custom multiPoint.enabled entry with a default's name replaces it in place (its weight
 *    wins), the other custom entries are appended in their order.
 * 2. Each extension point E then receives, in this order:
 *      a. the plugins of plugins.E.enabled that are also in the multiPoint list ("overrides",
 *         which take their weight from the plugins.E entry), in plugins.E order;
 *      b. the multiPoint plugins that implement E, in multiPoint order, minus those disabled
 *         at E (plugins.E.disabled by name) and minus the overrides of (a);
 *      c. the remaining plugins.E.enabled entries, in their order.
 *    plugins.E.disabled containing "*" skips (b) entirely: E gets only plugins.E.enabled.
 * 3. Score weights of 0 (absent) become 1; other points carry weight 0.
 *
 * Errors (return -1, message in err): a name the `implements` callback does not know, e.g.
 *   profiles[0].plugins.score.enabled[1].name: unknown plugin "Foo"
 * a plugin enabled at a point it does not implement, a plugin enabled twice at one point, a
 * pluginConfig entry for an unknown plugin, and an unknown name in the defaults (a programming
 * error, reported as `default plugin "X"`). Disabling an unknown plugin is allowed.
 *
 * Output strings are copies owned by *out; release with cs_resolved_profile_free. Pure: any
 * thread, as long as `implements` is.
 */
#include <stddef.h>
#include <stdint.h>

#include "pkg/config/config.h"
#include "pkg/config/extpoint.h"

struct cs_config_default_plugin {
    const char *name;
    int32_t weight; /* 0 for plugins that do not score */
};

struct cs_resolved_plugin {
    char *name;
    int32_t weight; /* >= 1 at CS_EP_SCORE, 0 elsewhere */
};

struct cs_resolved_profile {
    struct cs_resolved_plugin *points[CS_EP_COUNT];
    size_t n[CS_EP_COUNT];
};

/* Returns 1 when `plugin` acts at `ep`, 0 when it does not, -1 when there is no such plugin. */
typedef int cs_config_implements_fn(void *arg, const char *plugin, enum cs_ext_point ep);

int cs_config_resolve(const struct cs_config_profile *p, const struct cs_config_default_plugin *defaults,
                      size_t n, cs_config_implements_fn *implements, void *arg,
                      struct cs_resolved_profile *out, char *err, size_t errlen);

void cs_resolved_profile_free(struct cs_resolved_profile *r);

/* Checks kube-scheduler makes when it builds a framework from a resolved profile: exactly one
 * queueSort plugin and at least one bind plugin. profile_index names the profile in err. */
int cs_resolved_profile_check(const struct cs_resolved_profile *r, size_t profile_index,
                              char *err, size_t errlen);

/* All profiles of one scheduler share one queue, so they must use the same queueSort plugin.
 * r is an array of n resolved profiles (in profiles[] order). */
int cs_resolved_profiles_check_queue_sort(const struct cs_resolved_profile *r, size_t n,
                                          char *err, size_t errlen);

#endif
