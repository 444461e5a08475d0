/* Specification of apisim's patch engines and field selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/apisim/fieldsel.h"
#include "pkg/apisim/patch.h"

static json_t *J(const char *s)
{
    json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static void assert_json(json_t *got, const char *want)
{
    json_t *w = J(want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("got  %s\nwant %s\n", g, want);
        free(g);
        fail();
    }
    json_decref(w);
}

static void test_merge_patch_rfc7386(void **state)
{
    (void)state;
    json_t *doc = J("{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"},\"l\":[1,2]}");
    json_t *p = J("{\"a\":\"z\",\"c\":{\"f\":null},\"l\":[3],\"n\":{\"x\":1}}");
    json_t *out = cs_apisim_merge_patch(doc, p);
    assert_json(out, "{\"a\":\"z\",\"c\":{\"d\":\"e\"},\"l\":[3],\"n\":{\"x\":1}}");
    /* the input is untouched */
    assert_json(doc, "{\"a\":\"b\",\"c\":{\"d\":\"e\",\"f\":\"g\"},\"l\":[1,2]}");
    json_decref(out);
    json_decref(p);
    json_decref(doc);
}

static void test_json_patch_rfc6902(void **state)
{
    (void)state;
    char err[256];
    json_t *doc = J("{\"a\":{\"b\":[1,2,3]},\"x~y\":1,\"s/t\":2}");
    json_t *ops = J("[{\"op\":\"add\",\"path\":\"/a/b/1\",\"value\":9},"
                    "{\"op\":\"add\",\"path\":\"/a/b/-\",\"value\":4},"
                    "{\"op\":\"remove\",\"path\":\"/x~0y\"},"
                    "{\"op\":\"replace\",\"path\":\"/s~1t\",\"value\":3},"
                    "{\"op\":\"copy\",\"from\":\"/a/b/0\",\"path\":\"/c\"},"
                    "{\"op\":\"move\",\"from\":\"/c\",\"path\":\"/d\"},"
                    "{\"op\":\"test\",\"path\":\"/d\",\"value\":1}]");
    json_t *out = cs_apisim_json_patch(doc, ops, err, sizeof(err));
    assert_non_null(out);
    assert_json(out, "{\"a\":{\"b\":[1,9,2,3,4]},\"s/t\":3,\"d\":1}");
    json_decref(out);
    json_decref(ops);
    /* failures leave nothing applied and name the operation */
    ops = J("[{\"op\":\"add\",\"path\":\"/q\",\"value\":1},{\"op\":\"test\",\"path\":\"/q\","
            "\"value\":2}]");
    assert_null(cs_apisim_json_patch(doc, ops, err, sizeof(err)));
    assert_non_null(strstr(err, "operation 1 (test)"));
    json_decref(ops);
    ops = J("[{\"op\":\"replace\",\"path\":\"/missing\",\"value\":1}]");
    assert_null(cs_apisim_json_patch(doc, ops, err, sizeof(err)));
    json_decref(ops);
    ops = J("{\"op\":\"add\"}");
    assert_null(cs_apisim_json_patch(doc, ops, err, sizeof(err)));
    json_decref(ops);
    json_decref(doc);
}

static void test_strategic_merge_by_key_and_directives(void **state)
{
    (void)state;
    char err[256];
    json_t *doc = J("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
                    "{\"name\":\"b\",\"image\":\"y\"}],\"tolerations\":[{\"key\":\"k\"}]},"
                    "\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
                    "\"reason\":\"Unschedulable\"},{\"type\":\"Ready\",\"status\":\"False\"}]},"
                    "\"metadata\":{\"finalizers\":[\"f1\"]}}");
    /* conditions merge by type; other lists replace; $setElementOrder reorders */
    json_t *p = J("{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"z\"}],"
                  "\"tolerations\":[{\"key\":\"t2\"}]},"
                  "\"status\":{\"$setElementOrder/conditions\":[{\"type\":\"Ready\"},"
                  "{\"type\":\"PodScheduled\"}],\"conditions\":[{\"type\":\"PodScheduled\","
                  "\"status\":\"True\",\"reason\":null}]},"
                  "\"metadata\":{\"finalizers\":[\"f2\"]}}");
    json_t *out = cs_apisim_strategic_patch(doc, p, err, sizeof(err));
    assert_non_null(out);
    assert_json(out, "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"x\"},"
                     "{\"name\":\"b\",\"image\":\"z\"}],\"tolerations\":[{\"key\":\"t2\"}]},"
                     "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"},"
                     "{\"type\":\"PodScheduled\",\"status\":\"True\"}]},"
                     "\"metadata\":{\"finalizers\":[\"f1\",\"f2\"]}}");
    json_decref(out);
    json_decref(p);
    /* $patch: delete removes an element by key; $patch: replace replaces a map */
    p = J("{\"spec\":{\"containers\":[{\"name\":\"a\",\"$patch\":\"delete\"}]},"
          "\"status\":{\"$patch\":\"replace\",\"phase\":\"Running\"},"
          "\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"f1\"]}}");
    out = cs_apisim_strategic_patch(doc, p, err, sizeof(err));
    assert_json(out, "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"}],"
                     "\"tolerations\":[{\"key\":\"k\"}]},\"status\":{\"phase\":\"Running\"},"
                     "\"metadata\":{\"finalizers\":[]}}");
    json_decref(out);
    json_decref(p);
    /* $retainKeys keeps only the listed keys */
    p = J("{\"spec\":{\"$retainKeys\":[\"containers\"],\"containers\":[]}}");
    out = cs_apisim_strategic_patch(doc, p, err, sizeof(err));
    assert_null(json_object_get(json_object_get(out, "spec"), "tolerations"));
    json_decref(out);
    json_decref(p);
    p = J("{\"spec\":{\"$patch\":\"bogus\"}}");
    assert_null(cs_apisim_strategic_patch(doc, p, err, sizeof(err)));
    assert_non_null(strstr(err, "bogus"));
    json_decref(p);
    json_decref(doc);
    assert_string_equal(cs_apisim_smp_merge_key("conditions"), "type");
    assert_null(cs_apisim_smp_merge_key("tolerations"));
}

static void test_field_selectors(void **state)
{
    (void)state;
    char err[256];
    struct cs_apisim_fieldsel fs;
    json_t *pod = J("{\"metadata\":{\"name\":\"p\",\"namespace\":\"d\"},\"spec\":{\"nodeName\":"
                    "\"\",\"schedulerName\":\"s\"},\"status\":{\"phase\":\"Running\"}}");
    assert_int_equal(cs_apisim_fieldsel_parse("status.phase!=Succeeded,status.phase!=Failed", "",
                                              "pods", &fs, err, sizeof(err)), 0);
    assert_int_equal(fs.n, 2);
    assert_true(cs_apisim_fieldsel_match(&fs, pod));
    cs_apisim_fieldsel_free(&fs);
    assert_int_equal(cs_apisim_fieldsel_parse("spec.nodeName=,spec.hostNetwork=false", "", "pods",
                                              &fs, err, sizeof(err)), 0);
    assert_true(cs_apisim_fieldsel_match(&fs, pod));
    cs_apisim_fieldsel_free(&fs);
    assert_int_equal(cs_apisim_fieldsel_parse("spec.schedulerName==other", "", "pods", &fs, err,
                                              sizeof(err)), 0);
    assert_false(cs_apisim_fieldsel_match(&fs, pod));
    cs_apisim_fieldsel_free(&fs);
    assert_int_equal(cs_apisim_fieldsel_parse("spec.bogus=1", "", "pods", &fs, err, sizeof(err)),
                     -1);
    assert_string_equal(err, "field label not supported: spec.bogus");
    assert_int_equal(cs_apisim_fieldsel_parse("spec.nodeName=x", "", "configmaps", &fs, err,
                                              sizeof(err)), -1);
    assert_int_equal(cs_apisim_fieldsel_parse("metadata.name=p", "apps", "deployments", &fs, err,
                                              sizeof(err)), 0);
    cs_apisim_fieldsel_free(&fs);
    assert_int_equal(cs_apisim_fieldsel_parse("noop", "", "pods", &fs, err, sizeof(err)), -1);
    json_t *node = J("{\"metadata\":{\"name\":\"n\"},\"spec\":{\"unschedulable\":true}}");
    assert_int_equal(cs_apisim_fieldsel_parse("spec.unschedulable=true", "", "nodes", &fs, err,
                                              sizeof(err)), 0);
    assert_true(cs_apisim_fieldsel_match(&fs, node));
    cs_apisim_fieldsel_free(&fs);
    json_decref(node);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_patch_rfc7386),
        cmocka_unit_test(test_json_patch_rfc6902),
        cmocka_unit_test(test_strategic_merge_by_key_and_directives),
        cmocka_unit_test(test_field_selectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
