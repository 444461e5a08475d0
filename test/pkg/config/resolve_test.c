/* Specification of plugin-set resolution: defaults expanded over extension points, multiPoint
 * and per-point enable/disable rules, score weights, and the error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/config/config.h"
#include "pkg/config/resolve.h"
#include "pkg/util/buf.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define HDR "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"
#define BIT(ep) (1u << (ep))

struct fake_plugin {
    const char *name;
    unsigned points;
};

static const struct fake_plugin fake_registry[] = {
    { "SchedulingGates", BIT(CS_EP_PRE_ENQUEUE) },
    { "PrioritySort", BIT(CS_EP_QUEUE_SORT) },
    { "NodeName", BIT(CS_EP_FILTER) },
    { "NodePorts", BIT(CS_EP_PRE_FILTER) | BIT(CS_EP_FILTER) },
    { "TaintToleration", BIT(CS_EP_FILTER) | BIT(CS_EP_PRE_SCORE) | BIT(CS_EP_SCORE) },
    { "NodeAffinity",
      BIT(CS_EP_PRE_FILTER) | BIT(CS_EP_FILTER) | BIT(CS_EP_PRE_SCORE) | BIT(CS_EP_SCORE) },
    { "NodeResourcesFit",
      BIT(CS_EP_PRE_FILTER) | BIT(CS_EP_FILTER) | BIT(CS_EP_PRE_SCORE) | BIT(CS_EP_SCORE) },
    { "ImageLocality", BIT(CS_EP_SCORE) },
    { "DefaultBinder", BIT(CS_EP_BIND) },
    { "Gang", BIT(CS_EP_PRE_FILTER) | BIT(CS_EP_POST_FILTER) | BIT(CS_EP_RESERVE) |
                  BIT(CS_EP_PERMIT) },
    { "CustomScore", BIT(CS_EP_SCORE) },
};

static const struct cs_config_default_plugin defaults[] = {
    { "SchedulingGates", 0 }, { "PrioritySort", 0 },     { "NodeName", 0 },
    { "TaintToleration", 3 }, { "NodeAffinity", 2 },     { "NodePorts", 0 },
    { "NodeResourcesFit", 1 }, { "ImageLocality", 1 },   { "DefaultBinder", 0 },
};

static int fake_implements(void *arg, const char *plugin, enum cs_ext_point ep)
{
    int *calls = arg;
    (*calls)++;
    for (size_t i = 0; i < N(fake_registry); i++) {
        if (strcmp(fake_registry[i].name, plugin) == 0) {
            return (fake_registry[i].points & BIT(ep)) ? 1 : 0;
        }
    }
    return -1;
}

/* "Name" per plugin (with ":weight" at Score), comma separated. */
static void dump(const struct cs_resolved_profile *r, enum cs_ext_point ep, char *out, size_t n)
{
    struct cs_buf b;
    cs_buf_init(&b);
    for (size_t i = 0; i < r->n[ep]; i++) {
        cs_buf_printf(&b, "%s%s", i ? "," : "", r->points[ep][i].name);
        if (ep == CS_EP_SCORE) {
            cs_buf_printf(&b, ":%d", (int)r->points[ep][i].weight);
        } else {
            assert_int_equal(r->points[ep][i].weight, 0);
        }
    }
    snprintf(out, n, "%s", b.data ? b.data : "");
    cs_buf_free(&b);
}

/* Load a config whose single profile has the given flow-style `plugins` (and optional extra
 * profile lines), then resolve it. Returns the resolve rc; err gets the message. */
static int resolve_text(const char *plugins, const char *extra, struct cs_resolved_profile *r,
                        char *err, size_t errlen)
{
    char text[2048];
    struct cs_config c;
    int calls = 0;
    snprintf(text, sizeof(text), HDR "profiles:\n- schedulerName: x\n  plugins: %s\n%s", plugins,
             extra ? extra : "");
    if (cs_config_load_string(text, strlen(text), &c, err, errlen) != 0) {
        fail_msg("config did not load: %s\n%s", err, text);
    }
    int rc = cs_config_resolve(&c.profiles[0], defaults, N(defaults), fake_implements, &calls, r,
                               err, errlen);
    assert_true(calls > 0);
    cs_config_free(&c);
    return rc;
}

static void test_resolve_table(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        const char *plugins;
        enum cs_ext_point ep;
        const char *want;
    } rows[] = {
        { "defaults: filter", "{}", CS_EP_FILTER,
          "NodeName,TaintToleration,NodeAffinity,NodePorts,NodeResourcesFit" },
        { "defaults: score weights", "{}", CS_EP_SCORE,
          "TaintToleration:3,NodeAffinity:2,NodeResourcesFit:1,ImageLocality:1" },
        { "defaults: preFilter", "{}", CS_EP_PRE_FILTER, "NodeAffinity,NodePorts,NodeResourcesFit" },
        { "defaults: preScore", "{}", CS_EP_PRE_SCORE,
          "TaintToleration,NodeAffinity,NodeResourcesFit" },
        { "defaults: queueSort", "{}", CS_EP_QUEUE_SORT, "PrioritySort" },
        { "defaults: preEnqueue", "{}", CS_EP_PRE_ENQUEUE, "SchedulingGates" },
        { "defaults: bind", "{}", CS_EP_BIND, "DefaultBinder" },
        { "defaults: nobody at postFilter", "{}", CS_EP_POST_FILTER, "" },
        { "multiPoint: custom replaces default in place",
          "{multiPoint: {enabled: [{name: NodeAffinity, weight: 7}]}}", CS_EP_SCORE,
          "TaintToleration:3,NodeAffinity:7,NodeResourcesFit:1,ImageLocality:1" },
        { "multiPoint: replacement without weight scores 1",
          "{multiPoint: {enabled: [{name: TaintToleration}]}}", CS_EP_SCORE,
          "TaintToleration:1,NodeAffinity:2,NodeResourcesFit:1,ImageLocality:1" },
        { "multiPoint: replacement keeps filter order",
          "{multiPoint: {enabled: [{name: NodeAffinity, weight: 7}]}}", CS_EP_FILTER,
          "NodeName,TaintToleration,NodeAffinity,NodePorts,NodeResourcesFit" },
        { "multiPoint: new plugin appended", "{multiPoint: {enabled: [{name: Gang}]}}",
          CS_EP_PRE_FILTER, "NodeAffinity,NodePorts,NodeResourcesFit,Gang" },
        { "multiPoint: new plugin at its own points", "{multiPoint: {enabled: [{name: Gang}]}}",
          CS_EP_PERMIT, "Gang" },
        { "multiPoint: disable one default",
          "{multiPoint: {disabled: [{name: TaintToleration}]}}", CS_EP_FILTER,
          "NodeName,NodeAffinity,NodePorts,NodeResourcesFit" },
        { "multiPoint: disable one default (score)",
          "{multiPoint: {disabled: [{name: TaintToleration}]}}", CS_EP_SCORE,
          "NodeAffinity:2,NodeResourcesFit:1,ImageLocality:1" },
        { "multiPoint: disable all, enable some",
          "{multiPoint: {enabled: [{name: NodeName}, {name: DefaultBinder}], disabled: [{name: "
          "'*'}]}}",
          CS_EP_FILTER, "NodeName" },
        { "multiPoint: disable all leaves score empty",
          "{multiPoint: {enabled: [{name: NodeName}], disabled: [{name: '*'}]}}", CS_EP_SCORE, "" },
        { "multiPoint: disabled then re-enabled is appended",
          "{multiPoint: {enabled: [{name: NodeName}], disabled: [{name: NodeName}]}}",
          CS_EP_FILTER, "TaintToleration,NodeAffinity,NodePorts,NodeResourcesFit,NodeName" },
        { "score: re-weight overrides and moves first",
          "{score: {enabled: [{name: ImageLocality, weight: 5}]}}", CS_EP_SCORE,
          "ImageLocality:5,TaintToleration:3,NodeAffinity:2,NodeResourcesFit:1" },
        { "score: new plugin appended with weight 1",
          "{score: {enabled: [{name: CustomScore}]}}", CS_EP_SCORE,
          "TaintToleration:3,NodeAffinity:2,NodeResourcesFit:1,ImageLocality:1,CustomScore:1" },
        { "score: disable one", "{score: {disabled: [{name: NodeAffinity}]}}", CS_EP_SCORE,
          "TaintToleration:3,NodeResourcesFit:1,ImageLocality:1" },
        { "score: disable one leaves filter alone", "{score: {disabled: [{name: NodeAffinity}]}}",
          CS_EP_FILTER, "NodeName,TaintToleration,NodeAffinity,NodePorts,NodeResourcesFit" },
        { "score: disable all, enable one",
          "{score: {enabled: [{name: CustomScore, weight: 2}], disabled: [{name: '*'}]}}",
          CS_EP_SCORE, "CustomScore:2" },
        { "score: disable all keeps preScore",
          "{score: {disabled: [{name: '*'}]}}", CS_EP_PRE_SCORE,
          "TaintToleration,NodeAffinity,NodeResourcesFit" },
        { "filter: disable all", "{filter: {disabled: [{name: '*'}]}}", CS_EP_FILTER, "" },
        { "filter: unknown name in disabled is fine",
          "{filter: {disabled: [{name: NotAPlugin}]}}", CS_EP_FILTER,
          "NodeName,TaintToleration,NodeAffinity,NodePorts,NodeResourcesFit" },
        { "both: per-point weight wins over multiPoint weight",
          "{multiPoint: {enabled: [{name: NodeResourcesFit, weight: 4}]}, score: {enabled: "
          "[{name: NodeResourcesFit, weight: 9}]}}",
          CS_EP_SCORE, "NodeResourcesFit:9,TaintToleration:3,NodeAffinity:2,ImageLocality:1" },
        { "both: multiPoint weight used when no per-point entry",
          "{multiPoint: {enabled: [{name: NodeResourcesFit, weight: 4}]}}", CS_EP_SCORE,
          "TaintToleration:3,NodeAffinity:2,NodeResourcesFit:4,ImageLocality:1" },
        { "enabled and disabled at one point: the explicit entry goes last",
          "{score: {enabled: [{name: NodeAffinity, weight: 5}], disabled: [{name: "
          "NodeAffinity}]}}",
          CS_EP_SCORE, "TaintToleration:3,NodeResourcesFit:1,ImageLocality:1,NodeAffinity:5" },
        { "per-point plugin not in multiPoint", "{postFilter: {enabled: [{name: Gang}]}}",
          CS_EP_POST_FILTER, "Gang" },
        { "per-point plugin not in multiPoint does not spread",
          "{postFilter: {enabled: [{name: Gang}]}}", CS_EP_PERMIT, "" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char err[256] = "";
        char got[512];
        struct cs_resolved_profile r;
        if (resolve_text(rows[i].plugins, NULL, &r, err, sizeof(err)) != 0) {
            fail_msg("row %zu (%s): unexpected error %s", i, rows[i].what, err);
        }
        dump(&r, rows[i].ep, got, sizeof(got));
        if (strcmp(got, rows[i].want) != 0) {
            fail_msg("row %zu (%s) at %s:\n got  %s\n want %s", i, rows[i].what,
                     cs_ext_point_name(rows[i].ep), got, rows[i].want);
        }
        cs_resolved_profile_free(&r);
        for (int ep = 0; ep < CS_EP_COUNT; ep++) {
            assert_null(r.points[ep]);
        }
    }
}

static void test_resolve_errors(void **state)
{
    (void)state;
    static const struct {
        const char *plugins;
        const char *extra;
        const char *want; /* the whole message */
    } rows[] = {
        { "{score: {enabled: [{name: ImageLocality}, {name: Foo}]}}", NULL,
          "profiles[0].plugins.score.enabled[1].name: unknown plugin \"Foo\"" },
        { "{multiPoint: {enabled: [{name: Foo}]}}", NULL,
          "profiles[0].plugins.multiPoint.enabled[0].name: unknown plugin \"Foo\"" },
        { "{bind: {enabled: [{name: Bar}]}}", NULL,
          "profiles[0].plugins.bind.enabled[0].name: unknown plugin \"Bar\"" },
        { "{score: {enabled: [{name: DefaultBinder}]}}", NULL,
          "profiles[0].plugins.score.enabled[0].name: plugin \"DefaultBinder\" does not "
          "implement Score" },
        { "{filter: {enabled: [{name: NodeName}, {name: NodeName}]}}", NULL,
          "profiles[0].plugins.filter.enabled[1].name: plugin \"NodeName\" is enabled twice" },
        { "{multiPoint: {enabled: [{name: Gang}, {name: Gang}]}}", NULL,
          "profiles[0].plugins.multiPoint.enabled[1].name: plugin \"Gang\" is enabled twice" },
        { "{multiPoint: {enabled: [{name: NodeName}, {name: NodeName}]}}", NULL,
          "profiles[0].plugins.multiPoint.enabled[1].name: plugin \"NodeName\" is enabled twice" },
        { "{}", "  pluginConfig:\n  - name: NodeResourcesFit\n  - name: Foo\n",
          "profiles[0].pluginConfig[1].name: unknown plugin \"Foo\"" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char err[256] = "";
        struct cs_resolved_profile r;
        int rc = resolve_text(rows[i].plugins, rows[i].extra, &r, err, sizeof(err));
        if (rc != -1 || strcmp(err, rows[i].want) != 0) {
            fail_msg("row %zu: rc=%d\n got  %s\n want %s", i, rc, err, rows[i].want);
        }
        for (int ep = 0; ep < CS_EP_COUNT; ep++) {
            assert_null(r.points[ep]);
            assert_int_equal(r.n[ep], 0);
        }
    }
}

static void test_resolve_bad_default_and_second_profile(void **state)
{
    (void)state;
    struct cs_config c;
    char err[256];
    int calls = 0;
    struct cs_resolved_profile r;
    const char *text = HDR "profiles:\n- schedulerName: a\n- schedulerName: b\n"
                           "  plugins: {preBind: {enabled: [{name: Nope}]}}\n";
    assert_int_equal(cs_config_load_string(text, strlen(text), &c, err, sizeof(err)), 0);
    /* The profile index in the message is the profile's own. */
    assert_int_equal(cs_config_resolve(&c.profiles[1], defaults, N(defaults), fake_implements,
                                       &calls, &r, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "profiles[1].plugins.preBind.enabled[0].name: unknown plugin \"Nope\"");
    /* The first profile resolves to the defaults. */
    assert_int_equal(cs_config_resolve(&c.profiles[0], defaults, N(defaults), fake_implements,
                                       &calls, &r, err, sizeof(err)),
                     0);
    assert_int_equal(r.n[CS_EP_FILTER], 5);
    cs_resolved_profile_free(&r);

    static const struct cs_config_default_plugin bad[] = { { "NodeName", 0 }, { "Bogus", 0 } };
    assert_int_equal(cs_config_resolve(&c.profiles[0], bad, N(bad), fake_implements, &calls, &r,
                                       err, sizeof(err)),
                     -1);
    assert_string_equal(err, "default plugin \"Bogus\" is not registered");

    /* No defaults at all: only what the profile enables. */
    assert_int_equal(cs_config_resolve(&c.profiles[0], NULL, 0, fake_implements, &calls, &r, err,
                                       sizeof(err)),
                     0);
    for (int ep = 0; ep < CS_EP_COUNT; ep++) {
        assert_int_equal(r.n[ep], 0);
    }
    cs_resolved_profile_free(&r);
    cs_config_free(&c);
}

static void test_resolved_checks(void **state)
{
    (void)state;
    char err[256];
    struct cs_resolved_profile r[2];
    assert_int_equal(resolve_text("{}", NULL, &r[0], err, sizeof(err)), 0);
    assert_int_equal(cs_resolved_profile_check(&r[0], 0, err, sizeof(err)), 0);

    /* Another queue sort in a second profile. */
    assert_int_equal(resolve_text("{queueSort: {enabled: [{name: Gang}]}}", NULL, &r[1], err,
                                  sizeof(err)),
                     -1); /* Gang does not sort */
    assert_int_equal(resolve_text("{multiPoint: {disabled: [{name: PrioritySort}]}, queueSort: "
                                  "{enabled: [{name: PrioritySort}]}}",
                                  NULL, &r[1], err, sizeof(err)),
                     0);
    assert_int_equal(cs_resolved_profiles_check_queue_sort(r, 2, err, sizeof(err)), 0);
    cs_resolved_profile_free(&r[1]);

    assert_int_equal(resolve_text("{queueSort: {disabled: [{name: '*'}]}}", NULL, &r[1], err,
                                  sizeof(err)),
                     0);
    assert_int_equal(cs_resolved_profile_check(&r[1], 1, err, sizeof(err)), -1);
    assert_string_equal(err, "profiles[1].plugins.queueSort: exactly one queue sort plugin must "
                             "be enabled, got 0");
    assert_int_equal(cs_resolved_profiles_check_queue_sort(r, 2, err, sizeof(err)), -1);
    assert_string_equal(err, "profiles[1].plugins.queueSort: all profiles must use the same "
                             "queue sort plugin (profiles[0] uses \"PrioritySort\", this one "
                             "\"\")");
    cs_resolved_profile_free(&r[1]);

    assert_int_equal(resolve_text("{bind: {disabled: [{name: DefaultBinder}]}}", NULL, &r[1], err,
                                  sizeof(err)),
                     0);
    assert_int_equal(cs_resolved_profile_check(&r[1], 3, err, sizeof(err)), -1);
    assert_string_equal(err, "profiles[3].plugins.bind: at least one bind plugin is needed");
    cs_resolved_profile_free(&r[1]);
    cs_resolved_profile_free(&r[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolve_table),
        cmocka_unit_test(test_resolve_errors),
        cmocka_unit_test(test_resolve_bad_default_and_second_profile),
        cmocka_unit_test(test_resolved_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
