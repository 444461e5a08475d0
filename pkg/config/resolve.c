/*
 * Plugin-set resolution (rules in resolve.h). Works on small temporary lists of borrowed names,
 * each remembering the config key path it came from so that errors can name it; the final
 * per-point lists are copied into the caller's struct cs_resolved_profile. Lists are a handful
 * of entries long, so membership tests are linear scans.
 */
#include "pkg/config/resolve.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"

struct entry {
    const char *name;
    int32_t weight;
    int src; /* index in the custom enabled list it came from, or -1 for a default */
};

struct list {
    struct entry *v;
    size_t n, cap;
};

static void push(struct list *l, const char *name, int32_t weight, int src)
{
    l->v = cs_grow(l->v, sizeof(*l->v), l->n + 1, &l->cap);
    l->v[l->n].name = name;
    l->v[l->n].weight = weight;
    l->v[l->n].src = src;
    l->n++;
}

static int list_has(const struct list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

static int refs_has(const struct cs_config_plugin_ref *r, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(r[i].name, name) == 0) {
            return 1;
        }
    }
    return 0;
}

static const char *set_key(int s)
{
    return s == CS_CONFIG_MULTI_POINT ? "multiPoint" : cs_ext_point_config_key((enum cs_ext_point)s);
}

/* Is `name` implemented anywhere? (-1 unknown, else 1). The callback answers -1 for unknown
 * plugins whatever the point, so one probe is enough. */
static int known(cs_config_implements_fn *impl, void *arg, const char *name)
{
    return impl(arg, name, CS_EP_QUEUE_SORT) < 0 ? 0 : 1;
}

/* Steps 1: defaults merged with plugins.multiPoint. */
static int build_multipoint(const struct cs_config_profile *p,
                            const struct cs_config_default_plugin *defaults, size_t n,
                            cs_config_implements_fn *impl, void *arg, struct list *mp, char *err,
                            size_t errlen)
{
    const struct cs_config_plugin_set *set = &p->plugins.sets[CS_CONFIG_MULTI_POINT];
    int all_off = refs_has(set->disabled, set->ndisabled, "*");
    int rc = -1;
    unsigned char *replaced = cs_calloc(set->nenabled ? set->nenabled : 1, 1);

    for (size_t j = 0; j < set->nenabled; j++) {
        if (!known(impl, arg, set->enabled[j].name)) {
            snprintf(err, errlen, "profiles[%zu].plugins.multiPoint.enabled[%zu].name: unknown "
                                  "plugin \"%s\"",
                     p->index, j, set->enabled[j].name);
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!known(impl, arg, defaults[i].name)) {
            snprintf(err, errlen, "default plugin \"%s\" is not registered", defaults[i].name);
            goto done;
        }
        if (all_off || refs_has(set->disabled, set->ndisabled, defaults[i].name)) {
            continue;
        }
        int custom = -1;
        for (size_t j = 0; j < set->nenabled && custom < 0; j++) {
            if (!replaced[j] && strcmp(set->enabled[j].name, defaults[i].name) == 0) {
                custom = (int)j;
            }
        }
        if (custom >= 0) {
            replaced[custom] = 1;
            push(mp, set->enabled[custom].name, set->enabled[custom].weight, custom);
        } else {
            push(mp, defaults[i].name, defaults[i].weight, -1);
        }
    }
    for (size_t j = 0; j < set->nenabled; j++) {
        if (replaced[j]) {
            continue;
        }
        if (list_has(mp, set->enabled[j].name)) {
            snprintf(err, errlen, "profiles[%zu].plugins.multiPoint.enabled[%zu].name: plugin "
                                  "\"%s\" is enabled twice",
                     p->index, j, set->enabled[j].name);
            goto done;
        }
        push(mp, set->enabled[j].name, set->enabled[j].weight, (int)j);
    }
    rc = 0;
done:
    cs_free(replaced);
    return rc;
}

static void emit(struct cs_resolved_profile *out, enum cs_ext_point ep, const struct list *l)
{
    out->n[ep] = l->n;
    out->points[ep] = cs_calloc(l->n ? l->n : 1, sizeof(*out->points[ep]));
    for (size_t i = 0; i < l->n; i++) {
        int32_t w = 0;
        if (ep == CS_EP_SCORE) {
            w = l->v[i].weight > 0 ? l->v[i].weight : 1;
        }
        out->points[ep][i].name = cs_strdup(l->v[i].name);
        out->points[ep][i].weight = w;
    }
}

/* Step 2 for one extension point. */
static int resolve_point(const struct cs_config_profile *p, enum cs_ext_point ep,
                         const struct list *mp, cs_config_implements_fn *impl, void *arg,
                         struct cs_resolved_profile *out, char *err, size_t errlen)
{
    const struct cs_config_plugin_set *set = &p->plugins.sets[ep];
    const char *key = set_key((int)ep);
    struct list here = { 0 }, res = { 0 };
    int rc = -1;

    for (size_t j = 0; j < set->nenabled; j++) {
        const char *name = set->enabled[j].name;
        int r = impl(arg, name, ep);
        if (r < 0) {
            snprintf(err, errlen, "profiles[%zu].plugins.%s.enabled[%zu].name: unknown plugin "
                                  "\"%s\"",
                     p->index, key, j, name);
            goto done;
        }
        if (r == 0) {
            snprintf(err, errlen, "profiles[%zu].plugins.%s.enabled[%zu].name: plugin \"%s\" "
                                  "does not implement %s",
                     p->index, key, j, name, cs_ext_point_name(ep));
            goto done;
        }
        if (refs_has(set->enabled, j, name)) {
            snprintf(err, errlen, "profiles[%zu].plugins.%s.enabled[%zu].name: plugin \"%s\" is "
                                  "enabled twice",
                     p->index, key, j, name);
            goto done;
        }
    }
    if (!refs_has(set->disabled, set->ndisabled, "*")) {
        for (size_t i = 0; i < mp->n; i++) {
            if (impl(arg, mp->v[i].name, ep) == 1 &&
                !refs_has(set->disabled, set->ndisabled, mp->v[i].name)) {
                push(&here, mp->v[i].name, mp->v[i].weight, mp->v[i].src);
            }
        }
    }
    /* a. overrides, in plugins.<ep> order */
    for (size_t j = 0; j < set->nenabled; j++) {
        if (list_has(&here, set->enabled[j].name)) {
            push(&res, set->enabled[j].name, set->enabled[j].weight, (int)j);
        }
    }
    /* b. multiPoint plugins not overridden */
    for (size_t i = 0; i < here.n; i++) {
        if (!refs_has(set->enabled, set->nenabled, here.v[i].name)) {
            push(&res, here.v[i].name, here.v[i].weight, here.v[i].src);
        }
    }
    /* c. the other plugins.<ep> entries */
    for (size_t j = 0; j < set->nenabled; j++) {
        if (!list_has(&here, set->enabled[j].name)) {
            push(&res, set->enabled[j].name, set->enabled[j].weight, (int)j);
        }
    }
    emit(out, ep, &res);
    rc = 0;
done:
    cs_free(here.v);
    cs_free(res.v);
    return rc;
}

int cs_config_resolve(const struct cs_config_profile *p, const struct cs_config_default_plugin *defaults,
                      size_t n, cs_config_implements_fn *implements, void *arg,
                      struct cs_resolved_profile *out, char *err, size_t errlen)
{
    struct list mp = { 0 };
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (build_multipoint(p, defaults, n, implements, arg, &mp, err, errlen) < 0) {
        goto done;
    }
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        if (resolve_point(p, (enum cs_ext_point)ep, &mp, implements, arg, out, err, errlen) < 0) {
            goto done;
        }
    }
    for (size_t k = 0; k < p->nplugin_config; k++) {
        if (!known(implements, arg, p->plugin_config[k].name)) {
            snprintf(err, errlen, "profiles[%zu].pluginConfig[%zu].name: unknown plugin \"%s\"",
                     p->index, k, p->plugin_config[k].name);
            goto done;
        }
    }
    rc = 0;
done:
    cs_free(mp.v);
    if (rc < 0) {
        cs_resolved_profile_free(out);
    }
    return rc;
}

void cs_resolved_profile_free(struct cs_resolved_profile *r)
{
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        for (size_t i = 0; i < r->n[ep]; i++) {
            cs_free(r->points[ep][i].name);
        }
        cs_free(r->points[ep]);
        r->points[ep] = NULL;
        r->n[ep] = 0;
    }
}

int cs_resolved_profile_check(const struct cs_resolved_profile *r, size_t profile_index,
                              char *err, size_t errlen)
{
    if (r->n[CS_EP_QUEUE_SORT] != 1) {
        snprintf(err, errlen,
                 "profiles[%zu].plugins.queueSort: exactly one queue sort plugin must be "
                 "enabled, got %zu",
                 profile_index, r->n[CS_EP_QUEUE_SORT]);
        return -1;
    }
    if (r->n[CS_EP_BIND] == 0) {
        snprintf(err, errlen, "profiles[%zu].plugins.bind: at least one bind plugin is needed",
                 profile_index);
        return -1;
    }
    return 0;
}

int cs_resolved_profiles_check_queue_sort(const struct cs_resolved_profile *r, size_t n,
                                          char *err, size_t errlen)
{
    for (size_t i = 1; i < n; i++) {
        const char *a = r[0].n[CS_EP_QUEUE_SORT] ? r[0].points[CS_EP_QUEUE_SORT][0].name : "";
        const char *b = r[i].n[CS_EP_QUEUE_SORT] ? r[i].points[CS_EP_QUEUE_SORT][0].name : "";
        if (strcmp(a, b) != 0 || r[0].n[CS_EP_QUEUE_SORT] != r[i].n[CS_EP_QUEUE_SORT]) {
            snprintf(err, errlen,
                     "profiles[%zu].plugins.queueSort: all profiles must use the same queue "
                     "sort plugin (profiles[0] uses \"%s\", this one \"%s\")",
                     i, a, b);
            return -1;
        }
    }
    return 0;
}
