/*
 * The direct protobuf encoders of the binding and the Scheduled event write the same objects as
 * the JSON encoders: decoding the direct encoding gives exactly what decoding the JSON body
 * converted by the generic encoder (cs_pb_encode_object) gives, and the JSON body itself for
 * every field the JSON carries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/encode.h"
#include "api/pbencode.h"
#include "api/pbjson.h"

/* decode(direct) must equal decode(generic(json)) and contain every field of json. */
static void assert_same_object(const struct cs_buf *json_body, const struct cs_buf *direct)
{
    char err[256];
    json_error_t je;
    json_t *j = json_loadb(json_body->data, json_body->len, 0, &je);
    if (!j) {
        fail_msg("JSON encoder output invalid: %s", je.text);
    }
    struct cs_buf generic;
    cs_buf_init(&generic);
    assert_int_equal(cs_pb_encode_object(j, &generic, err, sizeof(err)), 0);
    json_t *from_generic = cs_pb_decode_object(generic.data, generic.len, err, sizeof(err));
    json_t *from_direct = cs_pb_decode_object(direct->data, direct->len, err, sizeof(err));
    if (!from_direct) {
        fail_msg("direct encoding does not decode: %s", err);
    }
    assert_non_null(from_generic);
    if (!json_equal(from_generic, from_direct)) {
        char *a = json_dumps(from_generic, JSON_SORT_KEYS), *b = json_dumps(from_direct, JSON_SORT_KEYS);
        fail_msg("objects differ\n generic: %s\n direct:  %s", a, b);
    }
    /* every JSON field comes back with its value (the decoder writes what the server would) */
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
        json_t *got = json_object_get(from_direct, k);
        if (!got || (json_is_string(v) && !json_equal(v, got))) {
            fail_msg("field %s lost or changed", k);
        }
    }
    json_decref(j);
    json_decref(from_generic);
    json_decref(from_direct);
    cs_buf_free(&generic);
}

static void test_a_binding_is_the_same_object_as_its_json(void **state)
{
    (void)state;
    struct cs_buf js, pb;
    cs_buf_init(&js);
    cs_buf_init(&pb);
    cs_encode_binding_annotated(&js, "ml", "train-0", "uid-1", "node-a", NULL, 0);
    cs_pb_encode_binding(&pb, "ml", "train-0", "uid-1", "node-a", NULL, 0);
    assert_memory_equal(pb.data, "k8s\0", 4);
    assert_same_object(&js, &pb);

    struct cs_label ann[] = { { .key = "cpuset", .value = "{\"c\":[0,1]}" },
                              { .key = "empty", .value = "" },
                              { .key = "gpu/idx", .value = NULL } };
    cs_buf_reset(&js);
    cs_buf_reset(&pb);
    cs_encode_binding_annotated(&js, "ns", "p", NULL, "n1", ann, 3);
    cs_pb_encode_binding(&pb, "ns", "p", NULL, "n1", ann, 3);
    assert_same_object(&js, &pb);
    char err[128];
    json_t *o = cs_pb_decode_object(pb.data, pb.len, err, sizeof(err));
    json_t *a = json_object_get(json_object_get(o, "metadata"), "annotations");
    assert_int_equal(json_object_size(a), 3);
    assert_string_equal(json_string_value(json_object_get(a, "empty")), "");
    assert_string_equal(json_string_value(json_object_get(a, "cpuset")), "{\"c\":[0,1]}");
    json_decref(o);
    cs_buf_free(&js);
    cs_buf_free(&pb);
}

static void event_case(const struct cs_event *ev)
{
    struct cs_buf js, pb;
    cs_buf_init(&js);
    cs_buf_init(&pb);
    cs_encode_event(&js, ev);
    cs_pb_encode_event(&pb, ev);
    assert_same_object(&js, &pb);
    cs_buf_free(&js);
    cs_buf_free(&pb);
}

static void test_a_scheduled_event_is_the_same_object_as_its_json(void **state)
{
    (void)state;
    struct cs_event ev = {
        .regarding = { .kind = "Pod", .api_version = "v1", .ns = "ml", .name = "train-0",
                       .uid = "u-1" },
        .reason = "Scheduled",
        .action = "Binding",
        .type = "Normal",
        .note = "Successfully assigned ml/train-0 to node-a",
        .reporting_controller = "ack-co-scheduler",
        .reporting_instance = "ack-co-scheduler-host",
        .event_time_ns = 1764870000123456789LL,
    };
    event_case(&ev);
    ev.use_generate_name = true;
    event_case(&ev);
    ev.name = "fixed-name";
    event_case(&ev);
    /* a related object (Preempted), a cluster-scoped regarding (namespace "default") */
    struct cs_object_ref rel = { .kind = "Pod", .api_version = "v1", .ns = "ml", .name = "hi",
                                 .resource_version = "42" };
    ev.name = NULL;
    ev.related = &rel;
    ev.regarding.ns = NULL;
    ev.regarding.kind = "Node";
    event_case(&ev);
}

static void test_notes_are_truncated_and_repaired_as_in_json(void **state)
{
    (void)state;
    char note[3000];
    memset(note, 'x', sizeof(note) - 1);
    note[sizeof(note) - 1] = '\0';
    memcpy(note + 1018, "\xc3\xa9\xc3\xa9", 4); /* a two-byte character across the cut */
    struct cs_event ev = {
        .regarding = { .kind = "Pod", .api_version = "v1", .ns = "a", .name = "b" },
        .reason = "FailedScheduling", .action = "Scheduling", .type = "Warning", .note = note,
        .reporting_controller = "c", .reporting_instance = "i", .event_time_ns = 1000,
    };
    event_case(&ev);
    ev.note = "bad \xff\xfe utf-8 \xe2\x82";
    event_case(&ev);
    struct cs_buf pb;
    cs_buf_init(&pb);
    cs_pb_encode_event(&pb, &ev);
    char err[128];
    json_t *o = cs_pb_decode_object(pb.data, pb.len, err, sizeof(err));
    assert_string_equal(json_string_value(json_object_get(o, "note")),
                        "bad \xef\xbf\xbd\xef\xbf\xbd utf-8 \xef\xbf\xbd\xef\xbf\xbd");
    json_decref(o);
    cs_buf_free(&pb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_binding_is_the_same_object_as_its_json),
        cmocka_unit_test(test_a_scheduled_event_is_the_same_object_as_its_json),
        cmocka_unit_test(test_notes_are_truncated_and_repaired_as_in_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
