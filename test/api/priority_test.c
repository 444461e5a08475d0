/*
 * PriorityClasses in the pod decoder (api/priority.h): a pod without spec.priority takes its
 * class's value and preemptionPolicy, or the global default class's when it names none; a pod
 * that carries spec.priority (a real apiserver's admission wrote it) keeps it; unknown classes
 * and an empty table leave 0; deleting and changing classes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "api/decode.h"
#include "api/priority.h"

static json_t *jl(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

static void add_class(struct cs_prio_table *t, const char *text)
{
    json_t *j = jl(text);
    cs_prio_table_upsert(t, j);
    json_decref(j);
}

static struct cs_pod *pod(struct cs_api_ctx *api, const char *spec)
{
    char buf[512];
    snprintf(buf, sizeof(buf),
             "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{%s"
             "\"containers\":[{\"name\":\"c\"}]}}",
             spec);
    struct cs_pod *p = NULL;
    char err[256];
    assert_int_equal(cs_pod_decode_text(api, buf, strlen(buf), &p, err, sizeof(err)), 0);
    return p;
}

static void test_class_resolution(void **unused)
{
    (void)unused;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *p = pod(&api, "\"priorityClassName\":\"high\",");
    assert_int_equal(p->priority, 0);                 /* no table: as given */
    cs_pod_unref(p);

    api.priorities = cs_prio_table_new();
    add_class(api.priorities, "{\"metadata\":{\"name\":\"high\"},\"value\":1000}");
    add_class(api.priorities, "{\"metadata\":{\"name\":\"batch\"},\"value\":10,"
                              "\"preemptionPolicy\":\"Never\"}");
    p = pod(&api, "\"priorityClassName\":\"high\",");
    assert_int_equal(p->priority, 1000);
    assert_int_equal(p->preemption_policy, CS_PREEMPT_LOWER_PRIORITY);
    cs_pod_unref(p);
    p = pod(&api, "\"priorityClassName\":\"batch\",");
    assert_int_equal(p->priority, 10);
    assert_int_equal(p->preemption_policy, CS_PREEMPT_NEVER);
    cs_pod_unref(p);
    /* the pod's own preemptionPolicy wins over the class's */
    p = pod(&api, "\"priorityClassName\":\"batch\",\"preemptionPolicy\":\"PreemptLowerPriority\",");
    assert_int_equal(p->preemption_policy, CS_PREEMPT_LOWER_PRIORITY);
    cs_pod_unref(p);
    /* spec.priority written by admission is kept */
    p = pod(&api, "\"priorityClassName\":\"high\",\"priority\":5,");
    assert_int_equal(p->priority, 5);
    cs_pod_unref(p);
    /* unknown class; no class and no global default */
    p = pod(&api, "\"priorityClassName\":\"nope\",");
    assert_int_equal(p->priority, 0);
    cs_pod_unref(p);
    p = pod(&api, "");
    assert_int_equal(p->priority, 0);
    cs_pod_unref(p);
    /* global defaults: the lowest value among them */
    add_class(api.priorities, "{\"metadata\":{\"name\":\"d1\"},\"value\":300,\"globalDefault\":true}");
    add_class(api.priorities, "{\"metadata\":{\"name\":\"d2\"},\"value\":200,\"globalDefault\":true}");
    p = pod(&api, "");
    assert_int_equal(p->priority, 200);
    cs_pod_unref(p);
    /* deletion and change */
    json_t *d2 = jl("{\"metadata\":{\"name\":\"d2\"}}");
    cs_prio_table_delete(api.priorities, d2);
    json_decref(d2);
    add_class(api.priorities, "{\"metadata\":{\"name\":\"high\"},\"value\":2000}");
    p = pod(&api, "");
    assert_int_equal(p->priority, 300);
    cs_pod_unref(p);
    p = pod(&api, "\"priorityClassName\":\"high\",");
    assert_int_equal(p->priority, 2000);
    cs_pod_unref(p);
    /* malformed classes are ignored */
    add_class(api.priorities, "{\"metadata\":{\"name\":\"bad\"},\"value\":\"x\"}");
    p = pod(&api, "\"priorityClassName\":\"bad\",");
    assert_int_equal(p->priority, 0);
    cs_pod_unref(p);
    cs_prio_table_free(api.priorities);
    api.priorities = NULL;
    cs_api_ctx_destroy(&api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_class_resolution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
