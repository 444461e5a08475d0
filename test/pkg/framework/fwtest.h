#ifndef CS_TEST_PKG_FRAMEWORK_FWTEST_H
#define CS_TEST_PKG_FRAMEWORK_FWTEST_H
/*
 * Scaffolding for the framework tests (header-only; each *_test.c is its own binary): pods and
 * nodes from JSON literals (' stands for ") through the real decoder, snapshot nodes built with
 * cs_node_info_* and cs_snapshot_upsert, and kube-scheduler's default profile built exactly as
 * cmd/schedbench does (config defaults -> resolve -> cs_profile_build).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "api/decode.h"
#include "api/nodeinfo.h"
#include "pkg/config/config.h"
#include "pkg/config/resolve.h"
#include "pkg/framework/framework.h"
#include "pkg/framework/snapshot.h"
#include "pkg/framework/statement.h"
#include "plugins/registry.h"

#define FW_END ((const char *)NULL)

/* Copy src into buf turning ' into ". */
static inline const char *fw_quote(char *buf, size_t n, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < n; i++) {
        buf[i] = src[i] == '\'' ? '"' : src[i];
    }
    assert_true(src[i] == '\0');
    buf[i] = '\0';
    return buf;
}

static inline struct cs_pod *fw_pod(const struct cs_api_ctx *api, const char *json)
{
    char buf[4096];
    const char *text = fw_quote(buf, sizeof(buf), json);
    struct cs_pod *p = NULL;
    char err[512] = "";
    int rc = cs_pod_decode_text(api, text, strlen(text), &p, err, sizeof(err));
    if (rc != 0) {
        print_error("pod decode: %s\n%s\n", err, text);
    }
    assert_int_equal(rc, 0);
    return p;
}

__attribute__((format(printf, 2, 3))) static inline struct cs_pod *
fw_podf(const struct cs_api_ctx *api, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    return fw_pod(api, buf);
}

static inline struct cs_node *fw_node(const struct cs_api_ctx *api, const char *json)
{
    char buf[4096];
    const char *text = fw_quote(buf, sizeof(buf), json);
    struct cs_node *n = NULL;
    char err[512] = "";
    int rc = cs_node_decode_text(api, text, strlen(text), &n, err, sizeof(err));
    if (rc != 0) {
        print_error("node decode: %s\n%s\n", err, text);
    }
    assert_int_equal(rc, 0);
    return n;
}

__attribute__((format(printf, 2, 3))) static inline struct cs_node *
fw_nodef(const struct cs_api_ctx *api, const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    return fw_node(api, buf);
}

/* Insert node (and the given already-placed pods) into snap; returns the snapshot's info. */
static inline struct cs_node_info *fw_snap_add(struct cs_snapshot *snap, struct cs_node *node,
                                               struct cs_pod *const *pods, uint32_t n_pods)
{
    struct cs_node_info tmp;
    cs_node_info_init(&tmp, node->name);
    cs_node_info_set_node(&tmp, node);
    for (uint32_t i = 0; i < n_pods; i++) {
        cs_node_info_add_pod(&tmp, pods[i]);
    }
    struct cs_node_info *ni = cs_snapshot_upsert(snap, &tmp);
    cs_node_info_destroy(&tmp);
    return ni;
}

/* Node from JSON plus pod JSONs (FW_END-terminated), straight into the snapshot. */
static inline struct cs_node_info *fw_snap_add_json(struct cs_snapshot *snap,
                                                    const struct cs_api_ctx *api,
                                                    const char *node_json, ...)
{
    struct cs_node *n = fw_node(api, node_json);
    struct cs_pod *pods[16];
    uint32_t np = 0;
    va_list ap;
    va_start(ap, node_json);
    const char *pj;
    while ((pj = va_arg(ap, const char *)) != NULL) {
        assert_true(np < 16);
        pods[np++] = fw_pod(api, pj);
    }
    va_end(ap);
    struct cs_node_info *ni = fw_snap_add(snap, n, pods, np);
    for (uint32_t i = 0; i < np; i++) {
        cs_pod_unref(pods[i]);
    }
    cs_node_unref(n);
    return ni;
}

static inline int fw_implements_cb(void *arg, const char *plugin, enum cs_ext_point ep)
{
    (void)arg;
    return cs_fw_plugin_implements(plugin, ep);
}

/* kube-scheduler's default profile (registry defaults, resolved like the real config), with
 * the plugin `extra` (a test plugin of the binary's cs_registry_extra table, or NULL) first at
 * every point it implements: first at Bind, it sees every bind before DefaultBinder takes it. */
static inline void fw_profile_with(struct cs_profile *prof, const struct cs_api_ctx *api,
                                   int32_t pct, const char *extra)
{
    char err[512] = "";
    struct cs_config cfg;
    cs_config_defaults(&cfg);
    size_t nd = cs_registry_default_profile_len;
    struct cs_config_default_plugin defs[32];
    assert_true(nd <= 32);
    for (size_t i = 0; i < nd; i++) {
        defs[i].name = cs_registry_default_profile[i].name;
        defs[i].weight = cs_registry_default_profile[i].weight;
    }
    struct cs_resolved_profile rp;
    memset(&rp, 0, sizeof(rp));
    int rc = cs_config_resolve(&cfg.profiles[0], defs, nd, fw_implements_cb, NULL, &rp, err,
                               sizeof(err));
    if (rc != 0) {
        print_error("resolve: %s\n", err);
    }
    assert_int_equal(rc, 0);
    struct cs_fw_entry entries[CS_EP_COUNT][33];
    const struct cs_fw_entry *pts[CS_EP_COUNT];
    uint32_t npts[CS_EP_COUNT];
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        assert_true(rp.n[ep] <= 32);
        uint32_t k = 0;
        if (extra && cs_fw_plugin_implements(extra, (enum cs_ext_point)ep)) {
            entries[ep][k].name = extra;
            entries[ep][k++].weight = 1;
        }
        for (size_t i = 0; i < rp.n[ep]; i++) {
            entries[ep][k].name = rp.points[ep][i].name;
            entries[ep][k++].weight = rp.points[ep][i].weight;
        }
        npts[ep] = k;
        pts[ep] = entries[ep];
    }
    rc = cs_profile_build(prof, "default-scheduler", pts, npts, NULL, NULL, pct, api, err,
                          sizeof(err));
    if (rc != 0) {
        print_error("profile: %s\n", err);
    }
    assert_int_equal(rc, 0);
    cs_resolved_profile_free(&rp);
    cs_config_free(&cfg);
}

static inline void fw_default_profile(struct cs_profile *prof, const struct cs_api_ctx *api,
                                      int32_t pct)
{
    fw_profile_with(prof, api, pct, NULL);
}

#endif
