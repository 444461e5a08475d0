/*
 * Profiles: plugin instances per extension point. Each distinct plugin named anywhere in the
 * profile is initialised once (its args from pluginConfig) and gets one cycle-state slot; the
 * per-point arrays hold instance indexes in call order, with score weights beside them.
 * Unknown names and points a plugin does not implement are configuration errors.
 */
#include "pkg/framework/framework.h"

#include <stdio.h>
#include <string.h>

#include "plugins/registry.h"
#include "pkg/util/alloc.h"

static bool implements(const struct cs_plugin *p, enum cs_ext_point ep)
{
    switch (ep) {
    case CS_EP_PRE_ENQUEUE:
        return p->pre_enqueue != NULL;
    case CS_EP_QUEUE_SORT:
        return p->queue_less != NULL;
    case CS_EP_PRE_FILTER:
        return p->pre_filter != NULL;
    case CS_EP_FILTER:
        return p->filter != NULL;
    case CS_EP_POST_FILTER:
        return p->post_filter != NULL;
    case CS_EP_PRE_SCORE:
        return p->pre_score != NULL;
    case CS_EP_SCORE:
        return p->score != NULL;
    case CS_EP_RESERVE:
        return p->reserve != NULL || p->unreserve != NULL;
    case CS_EP_PERMIT:
        /* The group hooks are the gang barrier kube-scheduler's coscheduling puts at Permit:
         * enabling a plugin at Permit (or through multiPoint) enables them. */
        return p->permit != NULL || p->pod_group != NULL || p->group_valid != NULL ||
               p->group_ready != NULL;
    case CS_EP_PRE_BIND:
        return p->pre_bind != NULL;
    case CS_EP_BIND:
        return p->bind != NULL;
    case CS_EP_POST_BIND:
        return p->post_bind != NULL;
    case CS_EP_COUNT:
        break;
    }
    return false;
}

int cs_fw_plugin_implements(const char *name, enum cs_ext_point ep)
{
    const struct cs_plugin *p = cs_registry_lookup(name);
    if (p == NULL) {
        return -1;
    }
    return implements(p, ep) ? 1 : 0;
}

static int find_or_init(struct cs_profile *prof, struct cs_fw_handle *fw, const char *name,
                        const json_t *(*args_for)(void *arg, const char *plugin), void *args_arg,
                        char *err, size_t errlen)
{
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        if (strcmp(prof->insts[i].p->name, name) == 0) {
            return (int)i;
        }
    }
    const struct cs_plugin *p = cs_registry_lookup(name);
    if (p == NULL) {
        snprintf(err, errlen, "profile %s: unknown plugin \"%s\"", prof->name, name);
        return -1;
    }
    if (p->abi != CS_PLUGIN_ABI_V1) {
        snprintf(err, errlen, "profile %s: plugin %s has ABI %u, want %u", prof->name, name,
                 p->abi, CS_PLUGIN_ABI_V1);
        return -1;
    }
    void *priv = NULL;
    if (p->init) {
        struct cs_plugin_init in = {
            .args = args_for ? args_for(args_arg, name) : NULL,
            .profile = prof->name,
            .api = prof->api,
            .fw = fw,
        };
        char perr[512] = "";
        if (p->init(&in, &priv, perr, sizeof(perr)) != 0) {
            snprintf(err, errlen, "profile %s: plugin %s: %s", prof->name, name,
                     perr[0] ? perr : "init failed");
            return -1;
        }
    }
    prof->insts = cs_realloc(prof->insts, sizeof(*prof->insts) * (prof->n_insts + 1));
    prof->insts[prof->n_insts] = (struct cs_fw_inst){ .p = p, .priv = priv, .slot = prof->n_insts };
    return (int)prof->n_insts++;
}

int cs_profile_build(struct cs_profile *prof, const char *name,
                     const struct cs_fw_entry *const points[CS_EP_COUNT],
                     const uint32_t n_points[CS_EP_COUNT],
                     const json_t *(*args_for)(void *arg, const char *plugin), void *args_arg,
                     int32_t pct_nodes_to_score, const struct cs_api_ctx *api, char *err,
                     size_t errlen)
{
    return cs_profile_build_fw(prof, name, points, n_points, args_for, args_arg,
                               pct_nodes_to_score, api, NULL, err, errlen);
}

int cs_profile_build_fw(struct cs_profile *prof, const char *name,
                        const struct cs_fw_entry *const points[CS_EP_COUNT],
                        const uint32_t n_points[CS_EP_COUNT],
                        const json_t *(*args_for)(void *arg, const char *plugin), void *args_arg,
                        int32_t pct_nodes_to_score, const struct cs_api_ctx *api,
                        struct cs_fw_handle *fw, char *err, size_t errlen)
{
    memset(prof, 0, sizeof(*prof));
    prof->name = cs_strdup(name);
    prof->api = api;
    prof->pct_nodes_to_score = pct_nodes_to_score;
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        struct cs_fw_point *pt = &prof->points[ep];
        pt->inst = cs_calloc(n_points[ep] ? n_points[ep] : 1, sizeof(*pt->inst));
        pt->weight = cs_calloc(n_points[ep] ? n_points[ep] : 1, sizeof(*pt->weight));
        for (uint32_t i = 0; i < n_points[ep]; i++) {
            int idx = find_or_init(prof, fw, points[ep][i].name, args_for, args_arg, err, errlen);
            if (idx < 0) {
                goto fail;
            }
            if (!implements(prof->insts[idx].p, (enum cs_ext_point)ep)) {
                snprintf(err, errlen, "profile %s: plugin %s does not implement %s", prof->name,
                         points[ep][i].name, cs_ext_point_name((enum cs_ext_point)ep));
                goto fail;
            }
            if (ep == CS_EP_PERMIT && prof->insts[idx].p->permit == NULL) {
                continue;          /* instantiated for its group hooks; no Permit call */
            }
            pt->inst[pt->n] = (uint32_t)idx;
            pt->weight[pt->n] = points[ep][i].weight > 0 ? points[ep][i].weight : 1;
            pt->n++;
        }
    }
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        const struct cs_plugin *p = prof->insts[i].p;
        uint32_t f = p->flags;
        prof->eq_meta = prof->eq_meta || ((f & CS_PLUGIN_NODE_LOCAL) && (f & CS_PLUGIN_POD_META));
        for (uint32_t k = 0; p->meta_keys && p->meta_keys[k]; k++) {
            prof->eq_keys = cs_realloc(prof->eq_keys, sizeof(*prof->eq_keys) * (prof->n_eq_keys + 1));
            prof->eq_keys[prof->n_eq_keys++] = p->meta_keys[k];
        }
    }
    const struct cs_fw_point *fpt = &prof->points[CS_EP_FILTER];
    for (uint32_t i = 0; i < fpt->n; i++) {
        if (prof->insts[fpt->inst[i]].p->fallback) {
            prof->fallback = cs_realloc(prof->fallback, sizeof(*prof->fallback) * (prof->n_fallback + 1));
            prof->fallback[prof->n_fallback++] = fpt->inst[i];
        }
    }
    if (prof->points[CS_EP_QUEUE_SORT].n > 1) {
        snprintf(err, errlen, "profile %s: only one queueSort plugin may be enabled", prof->name);
        goto fail;
    }
    if (prof->points[CS_EP_BIND].n == 0) {
        snprintf(err, errlen, "profile %s: at least one bind plugin is needed", prof->name);
        goto fail;
    }
    return 0;
fail:
    cs_profile_destroy(prof);
    return -1;
}

void cs_profile_destroy(struct cs_profile *prof)
{
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        if (prof->insts[i].p->destroy) {
            prof->insts[i].p->destroy(prof->insts[i].priv);
        }
    }
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        cs_free(prof->points[ep].inst);
        cs_free(prof->points[ep].weight);
    }
    cs_free(prof->insts);
    cs_free(prof->eq_keys);
    cs_free(prof->fallback);
    cs_free((void *)prof->name);
    memset(prof, 0, sizeof(*prof));
}
