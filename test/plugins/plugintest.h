#ifndef CS_TEST_PLUGINS_PLUGINTEST_H
#define CS_TEST_PLUGINS_PLUGINTEST_H
/*
 * Test scaffolding shared by the plugin tests in test/plugins (header-only: the build turns each *_test.c
 * into its own binary). Builds pods and nodes from small JSON literals with the real decoder,
 * node infos with the real cs_node_info_* aggregation, and a cs_fw_call with a cycle arena and
 * a per-pod state slot, then calls plugin ops directly as the framework would.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/decode.h"
#include "api/nodeinfo.h"
#include "api/plugin.h"
#include "pkg/framework/snapshot.h"
#include "pkg/util/arena.h"
#include "plugins/registry.h"

#define PT_MAX_NODES 8
/* Ends pt_add_node's pod list (a typed null: safe through varargs). */
#define PT_END ((const char *)NULL)

struct pt_env {
    const struct cs_plugin *pl;
    struct cs_api_ctx api;
    struct cs_arena arena;
    struct cs_snapshot snap;
    void *priv;
    void *state;
    struct cs_fw_call call;
    struct cs_node_info ni[PT_MAX_NODES];
    uint32_t n_ni;
};

/* JSON literals in tests use ' for " (fewer escapes); this converts into the arena. */
static inline const char *pt_json(struct pt_env *e, const char *src)
{
    char *s = cs_arena_strdup(&e->arena, src);
    for (char *q = s; *q; q++) {
        if (*q == '\'') {
            *q = '"';
        }
    }
    return s;
}

static inline struct cs_pod *pt_pod(struct pt_env *e, const char *json)
{
    json = pt_json(e, json);
    struct cs_pod *p = NULL;
    char err[512] = "";
    int rc = cs_pod_decode_text(&e->api, json, strlen(json), &p, err, sizeof(err));
    if (rc != 0) {
        print_error("pod decode: %s\n%s\n", err, json);
    }
    assert_int_equal(rc, 0);
    return p;
}

static inline struct cs_node *pt_node(struct pt_env *e, const char *json)
{
    json = pt_json(e, json);
    struct cs_node *n = NULL;
    char err[512] = "";
    int rc = cs_node_decode_text(&e->api, json, strlen(json), &n, err, sizeof(err));
    if (rc != 0) {
        print_error("node decode: %s\n%s\n", err, json);
    }
    assert_int_equal(rc, 0);
    return n;
}

/* Init the env; args_json (may be NULL) becomes the plugin's pluginConfig args. Returns the
 * plugin's init rc; err receives its message. */
static inline int pt_env_init_args(struct pt_env *e, const struct cs_plugin *pl,
                                   const char *args_json, char *err, size_t errlen)
{
    memset(e, 0, sizeof(*e));
    e->pl = pl;
    cs_api_ctx_init(&e->api);
    cs_arena_init(&e->arena, 4096);
    cs_snapshot_init(&e->snap);
    json_t *args = NULL;
    if (args_json != NULL) {
        json_error_t jerr;
        args = json_loads(pt_json(e, args_json), 0, &jerr);
        assert_non_null(args);
    }
    int rc = 0;
    if (pl->init) {
        struct cs_plugin_init in = {.args = args, .profile = "default-scheduler", .api = &e->api};
        rc = pl->init(&in, &e->priv, err, errlen);
    }
    json_decref(args);
    e->call.priv = e->priv;
    e->call.state = &e->state;
    e->call.arena = &e->arena;
    e->call.snap = &e->snap;
    e->call.api = &e->api;
    return rc;
}

static inline void pt_env_init(struct pt_env *e, const struct cs_plugin *pl, const char *args_json)
{
    char err[512] = "";
    int rc = pt_env_init_args(e, pl, args_json, err, sizeof(err));
    if (rc != 0) {
        print_error("init: %s\n", err);
    }
    assert_int_equal(rc, 0);
}

/* New pod attempt: fresh state slot and arena. */
static inline void pt_new_cycle(struct pt_env *e)
{
    e->state = NULL;
    cs_arena_reset(&e->arena);
}

/* Add a node info from node JSON and any number of (already placed) pod JSONs, NULL-ended.
 * The node also goes into the snapshot (for image counts and node totals). */
static inline struct cs_node_info *pt_add_node(struct pt_env *e, const char *node_json, ...)
{
    assert_true(e->n_ni < PT_MAX_NODES);
    struct cs_node_info *ni = &e->ni[e->n_ni++];
    struct cs_node *n = pt_node(e, node_json);
    cs_node_info_init(ni, n->name);
    cs_node_info_set_node(ni, n);
    cs_node_unref(n);
    va_list ap;
    va_start(ap, node_json);
    const char *pj;
    while ((pj = va_arg(ap, const char *)) != NULL) {
        struct cs_pod *p = pt_pod(e, pj);
        cs_node_info_add_pod(ni, p);
        cs_pod_unref(p);
    }
    va_end(ap);
    struct cs_node_info *copy = cs_snapshot_upsert(&e->snap, ni);
    ni->index = copy->index;
    return ni;
}

static inline void pt_env_destroy(struct pt_env *e)
{
    for (uint32_t i = 0; i < e->n_ni; i++) {
        cs_node_info_destroy(&e->ni[i]);
    }
    if (e->pl->destroy) {
        e->pl->destroy(e->priv);
    }
    cs_snapshot_destroy(&e->snap);
    cs_arena_destroy(&e->arena);
    cs_api_ctx_destroy(&e->api);
}

/* Run pre_filter (if any) then filter for pod on ni; returns the final code and fills st.
 * A pre_filter Skip means the framework would not run the filter: reported as CS_SUCCESS. */
static inline enum cs_code pt_filter(struct pt_env *e, const struct cs_pod *pod,
                                     const struct cs_node_info *ni, struct cs_status *st)
{
    memset(st, 0, sizeof(*st));
    pt_new_cycle(e);
    if (e->pl->pre_filter) {
        enum cs_code pc = e->pl->pre_filter(&e->call, pod, st);
        if (pc == CS_SKIP) {
            memset(st, 0, sizeof(*st));
            return CS_SUCCESS;
        }
        if (pc != CS_SUCCESS) {
            return pc;
        }
    }
    return e->pl->filter(&e->call, pod, ni, st);
}

/* Score pod on every env node (pre_score, score, normalize) into out[]. Returns the pre_score
 * code (CS_SKIP leaves out[] at 0). */
static inline enum cs_code pt_score_all(struct pt_env *e, const struct cs_pod *pod, int64_t *out)
{
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    pt_new_cycle(e);
    struct cs_node_info *feasible[PT_MAX_NODES];
    struct cs_node_score scores[PT_MAX_NODES];
    for (uint32_t i = 0; i < e->n_ni; i++) {
        feasible[i] = &e->ni[i];
        out[i] = 0;
    }
    enum cs_code pc = CS_SUCCESS;
    if (e->pl->pre_score) {
        pc = e->pl->pre_score(&e->call, pod, feasible, e->n_ni, &st);
        if (pc == CS_SKIP) {
            return pc;
        }
        assert_int_equal(pc, CS_SUCCESS);
    }
    for (uint32_t i = 0; i < e->n_ni; i++) {
        scores[i].index = (int32_t)i;
        scores[i].score = e->pl->score(&e->call, pod, &e->ni[i]);
    }
    if (e->pl->normalize_score) {
        e->pl->normalize_score(&e->call, pod, scores, e->n_ni);
    }
    for (uint32_t i = 0; i < e->n_ni; i++) {
        out[i] = scores[i].score;
    }
    return pc;
}

static inline void pt_assert_reasons(const struct cs_status *st, const char *const *want)
{
    uint32_t n = 0;
    while (want[n] != NULL) {
        n++;
    }
    if (st->n_reasons != n) {
        for (uint32_t i = 0; i < st->n_reasons; i++) {
            print_error("  got reason[%u] = %s\n", i, st->reasons[i]);
        }
    }
    assert_int_equal(st->n_reasons, n);
    for (uint32_t i = 0; i < n; i++) {
        assert_string_equal(st->reasons[i], want[i]);
    }
}

#endif
