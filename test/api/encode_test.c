/* Binding, status patch and Event bodies parse back with the right fields (k8s-api.md §2-§4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/decode.h"
#include "api/encode.h"
#include "pkg/util/timeutil.h"

static json_t *parse(const struct cs_buf *b)
{
    json_error_t je;
    json_t *j = json_loadb(b->data, b->len, JSON_DECODE_ANY, &je);
    if (j == NULL)
        fail_msg("invalid JSON (%s): %s", je.text, b->data);
    return j;
}

static const char *str_at(json_t *root, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *p = strtok_r(buf, ".", &save); p != NULL; p = strtok_r(NULL, ".", &save)) {
        cur = json_is_array(cur) ? json_array_get(cur, (size_t)strtol(p, NULL, 10))
                                 : json_object_get(cur, p);
        if (cur == NULL)
            fail_msg("%s: missing", path);
    }
    if (!json_is_string(cur))
        fail_msg("%s: not a string", path);
    return json_string_value(cur);
}

static void test_binding(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    cs_encode_binding(&b, "ml", "train-0", "uid-1", "node-a");
    json_t *j = parse(&b);
    assert_string_equal(str_at(j, "apiVersion"), "v1");
    assert_string_equal(str_at(j, "kind"), "Binding");
    assert_string_equal(str_at(j, "metadata.name"), "train-0");
    assert_string_equal(str_at(j, "metadata.namespace"), "ml");
    assert_string_equal(str_at(j, "metadata.uid"), "uid-1");
    assert_string_equal(str_at(j, "target.kind"), "Node");
    assert_string_equal(str_at(j, "target.name"), "node-a");
    assert_int_equal(json_object_size(j), 4);
    json_decref(j);

    cs_buf_reset(&b);
    cs_encode_binding(&b, "ns", "we\"ird\\", NULL, "n\n1");
    j = parse(&b);
    assert_string_equal(str_at(j, "metadata.name"), "we\"ird\\");
    assert_null(json_object_get(json_object_get(j, "metadata"), "uid"));
    assert_string_equal(str_at(j, "target.name"), "n\n1");
    json_decref(j);
    cs_buf_free(&b);
}

/* PreBind's annotations ride in the Binding's metadata (the apiserver merges them into the pod
 * with spec.nodeName); keys and values are escaped like any string. */
static void test_binding_with_annotations(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    struct cs_label ann[2] = {
        { .key = "cpuset", .value = "{\"c\":{\"0\":{\"elems\":{\"3\":{}}}}}" },
        { .key = "ALIYUN_COM_GPU_MEM_IDX", .value = "1" },
    };
    cs_encode_binding_annotated(&b, "ml", "train-0", "uid-1", "node-a", ann, 2);
    json_t *j = parse(&b);
    json_t *a = json_object_get(json_object_get(j, "metadata"), "annotations");
    assert_int_equal(json_object_size(a), 2);
    assert_string_equal(json_string_value(json_object_get(a, "cpuset")), ann[0].value);
    assert_string_equal(json_string_value(json_object_get(a, "ALIYUN_COM_GPU_MEM_IDX")), "1");
    assert_string_equal(str_at(j, "target.name"), "node-a");
    json_decref(j);
    cs_buf_free(&b);
}

static void test_pod_binding_from_decoded_pod(void **state)
{
    (void)state;
    struct cs_api_ctx ctx;
    cs_api_ctx_init(&ctx);
    const char *text = "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"team\",\"uid\":\"u-9\","
                       "\"resourceVersion\":\"42\"}}";
    struct cs_pod *p;
    char err[256];
    assert_int_equal(cs_pod_decode_text(&ctx, text, strlen(text), &p, err, sizeof(err)), 0);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_encode_pod_binding(&b, p, "node-7");
    json_t *j = parse(&b);
    assert_string_equal(str_at(j, "metadata.name"), "p1");
    assert_string_equal(str_at(j, "metadata.namespace"), "team");
    assert_string_equal(str_at(j, "metadata.uid"), "u-9");
    assert_string_equal(str_at(j, "target.name"), "node-7");
    json_decref(j);

    struct cs_object_ref r;
    cs_object_ref_from_pod(&r, p);
    struct cs_event ev = {
        .regarding = r, .reason = "Scheduled", .action = "Binding", .type = "Normal",
        .note = "Successfully assigned team/p1 to node-7",
        .reporting_controller = "ack-co-scheduler",
        .reporting_instance = "ack-co-scheduler-host1", .event_time_ns = 1000,
    };
    cs_buf_reset(&b);
    cs_encode_event(&b, &ev);
    j = parse(&b);
    assert_string_equal(str_at(j, "regarding.resourceVersion"), "42");
    assert_string_equal(str_at(j, "regarding.uid"), "u-9");
    assert_string_equal(str_at(j, "metadata.name"), "p1.3e8");
    json_decref(j);
    cs_buf_free(&b);
    cs_pod_unref(p);
    cs_api_ctx_destroy(&ctx);
}

static void test_pod_scheduled_false_patch(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    int64_t now = 0;
    assert_int_equal(cs_parse_time("2024-05-01T10:00:00Z", &now), 0);
    cs_encode_pod_scheduled_false(&b, true, "0/3 nodes are available: 3 Insufficient cpu.", now,
                                  CS_NOMINATED_KEEP, NULL);
    json_t *j = parse(&b);
    json_t *status = json_object_get(j, "status");
    assert_int_equal(json_object_size(j), 1);
    assert_int_equal(json_object_size(status), 1);
    json_t *conds = json_object_get(status, "conditions");
    assert_int_equal(json_array_size(conds), 1);
    assert_string_equal(str_at(conds, "0.type"), "PodScheduled");
    assert_string_equal(str_at(conds, "0.status"), "False");
    assert_string_equal(str_at(conds, "0.reason"), "Unschedulable");
    assert_string_equal(str_at(conds, "0.message"), "0/3 nodes are available: 3 Insufficient cpu.");
    assert_string_equal(str_at(conds, "0.lastTransitionTime"), "2024-05-01T10:00:00Z");
    assert_true(json_is_null(json_object_get(json_array_get(conds, 0), "lastProbeTime")));
    json_decref(j);

    cs_buf_reset(&b);
    cs_encode_pod_scheduled_false(&b, false, "binding rejected: 409", now, CS_NOMINATED_SET, "node-2");
    j = parse(&b);
    assert_string_equal(str_at(j, "status.conditions.0.reason"), "SchedulerError");
    assert_string_equal(str_at(j, "status.nominatedNodeName"), "node-2");
    json_decref(j);

    cs_buf_reset(&b);
    cs_encode_pod_scheduled_false(&b, true, "x", 0, CS_NOMINATED_CLEAR, NULL);
    j = parse(&b);
    status = json_object_get(j, "status");
    assert_non_null(json_object_get(status, "nominatedNodeName"));
    assert_true(json_is_null(json_object_get(status, "nominatedNodeName")));
    assert_null(json_object_get(json_array_get(json_object_get(status, "conditions"), 0),
                                "lastTransitionTime"));
    json_decref(j);

    /* nomination only */
    cs_buf_reset(&b);
    cs_encode_status_patch(&b, NULL, CS_NOMINATED_SET, "node-9");
    assert_string_equal(b.data, "{\"status\":{\"nominatedNodeName\":\"node-9\"}}");
    cs_buf_reset(&b);
    cs_encode_status_patch(&b, NULL, CS_NOMINATED_CLEAR, NULL);
    assert_string_equal(b.data, "{\"status\":{\"nominatedNodeName\":null}}");

    /* preemption victim condition */
    struct cs_condition_patch dt = {"DisruptionTarget", "True", "PreemptionByScheduler",
                                    "ack-co-scheduler: preempting to accommodate a higher priority pod", 0};
    cs_buf_reset(&b);
    cs_encode_status_patch(&b, &dt, CS_NOMINATED_KEEP, NULL);
    j = parse(&b);
    assert_string_equal(str_at(j, "status.conditions.0.type"), "DisruptionTarget");
    assert_string_equal(str_at(j, "status.conditions.0.reason"), "PreemptionByScheduler");
    json_decref(j);
    cs_buf_free(&b);
}

static void test_event_fields(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    int64_t t = 0;
    assert_int_equal(cs_parse_time("2024-05-01T10:00:00.123456Z", &t), 0);
    struct cs_object_ref preemptor = {"Pod", "v1", "ml", "big", "uid-big", NULL};
    struct cs_event ev = {
        .regarding = {"Pod", "v1", "ml", "victim", "uid-v", "17"},
        .related = &preemptor,
        .reason = "Preempted", .action = "Preempting", .type = "Normal",
        .note = "Preempted by pod uid-big on node n1",
        .reporting_controller = "ack-co-scheduler",
        .reporting_instance = "ack-co-scheduler-host",
        .event_time_ns = t,
    };
    cs_encode_event(&b, &ev);
    json_t *j = parse(&b);
    assert_string_equal(str_at(j, "apiVersion"), "events.k8s.io/v1");
    assert_string_equal(str_at(j, "kind"), "Event");
    char want[64];
    snprintf(want, sizeof(want), "victim.%llx", (unsigned long long)t);
    assert_string_equal(str_at(j, "metadata.name"), want);
    assert_string_equal(str_at(j, "metadata.namespace"), "ml");
    assert_string_equal(str_at(j, "eventTime"), "2024-05-01T10:00:00.123456Z");
    assert_string_equal(str_at(j, "reportingController"), "ack-co-scheduler");
    assert_string_equal(str_at(j, "reportingInstance"), "ack-co-scheduler-host");
    assert_string_equal(str_at(j, "action"), "Preempting");
    assert_string_equal(str_at(j, "reason"), "Preempted");
    assert_string_equal(str_at(j, "type"), "Normal");
    assert_string_equal(str_at(j, "note"), "Preempted by pod uid-big on node n1");
    assert_string_equal(str_at(j, "regarding.kind"), "Pod");
    assert_string_equal(str_at(j, "regarding.apiVersion"), "v1");
    assert_string_equal(str_at(j, "regarding.namespace"), "ml");
    assert_string_equal(str_at(j, "regarding.name"), "victim");
    assert_string_equal(str_at(j, "regarding.uid"), "uid-v");
    assert_string_equal(str_at(j, "regarding.resourceVersion"), "17");
    assert_string_equal(str_at(j, "related.name"), "big");
    assert_null(json_object_get(json_object_get(j, "related"), "resourceVersion"));
    json_decref(j);

    /* generateName, no related, cluster-scoped regarding -> namespace default */
    ev.related = NULL;
    ev.use_generate_name = true;
    ev.regarding.ns = NULL;
    ev.regarding.name = "we\"ird";
    cs_buf_reset(&b);
    cs_encode_event(&b, &ev);
    j = parse(&b);
    assert_string_equal(str_at(j, "metadata.generateName"), "we\"ird.");
    assert_null(json_object_get(json_object_get(j, "metadata"), "name"));
    assert_string_equal(str_at(j, "metadata.namespace"), "default");
    assert_null(json_object_get(json_object_get(j, "regarding"), "namespace"));
    assert_null(json_object_get(j, "related"));
    json_decref(j);

    /* explicit name wins */
    ev.name = "fixed-name";
    cs_buf_reset(&b);
    cs_encode_event(&b, &ev);
    j = parse(&b);
    assert_string_equal(str_at(j, "metadata.name"), "fixed-name");
    json_decref(j);
    cs_buf_free(&b);
}

static void test_escaping_and_invalid_utf8(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    const char *nasty = "quote\" back\\ nl\n tab\t ctl\x01 del\x7f é 日本 \xf0\x9f\x98\x80";
    cs_encode_str(&b, nasty);
    json_t *j = parse(&b);
    assert_string_equal(json_string_value(j), nasty);
    json_decref(j);

    cs_buf_reset(&b);
    cs_encode_str(&b, "bad \xc3 and \xff and overlong \xc0\xaf and surrogate \xed\xa0\x80!");
    j = parse(&b);
    assert_string_equal(json_string_value(j),
                        "bad \xef\xbf\xbd and \xef\xbf\xbd and overlong \xef\xbf\xbd\xef\xbf\xbd"
                        " and surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!");
    json_decref(j);

    cs_buf_reset(&b);
    cs_encode_str(&b, NULL);
    assert_string_equal(b.data, "null");
    cs_buf_free(&b);
}

static struct cs_event failed_event(const char *note)
{
    struct cs_event ev = {
        .regarding = {"Pod", "v1", "default", "p", "u", NULL},
        .reason = "FailedScheduling", .action = "Scheduling", .type = "Warning", .note = note,
        .reporting_controller = "default-scheduler", .reporting_instance = "default-scheduler-h",
        .event_time_ns = 1,
    };
    return ev;
}

static void test_note_truncation(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    char note[3000];

    /* exactly at the limit: unchanged */
    memset(note, 'a', CS_NOTE_LENGTH_LIMIT);
    note[CS_NOTE_LENGTH_LIMIT] = '\0';
    struct cs_event ev = failed_event(note);
    cs_encode_event(&b, &ev);
    json_t *j = parse(&b);
    assert_string_equal(str_at(j, "note"), note);
    assert_string_equal(str_at(j, "type"), "Warning");
    json_decref(j);

    /* one over: 1020 bytes + " ..." */
    memset(note, 'b', 2999);
    note[2999] = '\0';
    ev = failed_event(note);
    cs_buf_reset(&b);
    cs_encode_event(&b, &ev);
    j = parse(&b);
    const char *got = str_at(j, "note");
    assert_int_equal(strlen(got), CS_NOTE_LENGTH_LIMIT);
    assert_string_equal(got + CS_NOTE_LENGTH_LIMIT - 4, " ...");
    assert_int_equal(got[CS_NOTE_LENGTH_LIMIT - 5], 'b');
    json_decref(j);

    /* a multi-byte character straddling the cut is dropped whole */
    memset(note, 'c', 1019);
    memcpy(note + 1019, "\xe6\x97\xa5", 3);  /* 日 at bytes 1019..1021 */
    memset(note + 1022, 'd', 100);
    note[1122] = '\0';
    bool truncated;
    assert_int_equal(cs_note_prefix_len(note, CS_NOTE_LENGTH_LIMIT, &truncated), 1019);
    assert_true(truncated);
    ev = failed_event(note);
    cs_buf_reset(&b);
    cs_encode_event(&b, &ev);
    j = parse(&b);
    got = str_at(j, "note");
    assert_int_equal(strlen(got), 1023);
    assert_string_equal(got + 1019, " ...");
    json_decref(j);

    assert_int_equal(cs_note_prefix_len("short", CS_NOTE_LENGTH_LIMIT, &truncated), 5);
    assert_false(truncated);
    cs_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_binding_with_annotations),
        cmocka_unit_test(test_pod_binding_from_decoded_pod),
        cmocka_unit_test(test_pod_scheduled_false_patch),
        cmocka_unit_test(test_event_fields),
        cmocka_unit_test(test_escaping_and_invalid_utf8),
        cmocka_unit_test(test_note_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
