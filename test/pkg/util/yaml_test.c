/* Specification of YAML -> JSON typing, multi-document streams, errors and JSON -> YAML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/yaml.h"

/* Convert yaml and compare the compact, key-sorted JSON dump with want. */
static void check_json(const char *yaml, const char *want)
{
    char err[256];
    json_t *v = NULL;
    int rc = cs_yaml_to_json(yaml, strlen(yaml), &v, err, sizeof(err));
    if (rc != 0) {
        fail_msg("yaml %s: unexpected error %s", yaml, err);
    }
    char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (strcmp(got, want) != 0) {
        fail_msg("yaml %s: got %s want %s", yaml, got, want);
    }
    free(got);
    json_decref(v);
}

static void test_yaml_scalar_typing(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *json;
    } rows[] = {
        { "a: true", "{\"a\":true}" },
        { "a: False", "{\"a\":false}" },
        { "a: TRUE", "{\"a\":true}" },
        { "a: yes", "{\"a\":\"yes\"}" },
        { "a: off", "{\"a\":\"off\"}" },
        { "a: null", "{\"a\":null}" },
        { "a: ~", "{\"a\":null}" },
        { "a:", "{\"a\":null}" },
        { "a: 42", "{\"a\":42}" },
        { "a: -7", "{\"a\":-7}" },
        { "a: +7", "{\"a\":7}" },
        { "a: 1_000", "{\"a\":1000}" },
        { "a: 0x1F", "{\"a\":31}" },
        { "a: 0o17", "{\"a\":15}" },
        { "a: 0644", "{\"a\":420}" },
        { "a: 0", "{\"a\":0}" },
        { "a: 9223372036854775807", "{\"a\":9223372036854775807}" },
        { "a: -9223372036854775808", "{\"a\":-9223372036854775808}" },
        { "a: 1.5", "{\"a\":1.5}" },
        { "a: 1e3", "{\"a\":1000.0}" },
        { "a: .5", "{\"a\":0.5}" },
        { "a: .inf", "{\"a\":\".inf\"}" },
        { "a: \"42\"", "{\"a\":\"42\"}" },
        { "a: 'true'", "{\"a\":\"true\"}" },
        { "a: !!str 12", "{\"a\":\"12\"}" },
        { "a: !!int \"12\"", "{\"a\":12}" },
        { "a: !!float 2", "{\"a\":2.0}" },
        { "a: 100m", "{\"a\":\"100m\"}" },
        { "a: 1Gi", "{\"a\":\"1Gi\"}" },
        { "a: 1.2.3", "{\"a\":\"1.2.3\"}" },
        { "a: 0x", "{\"a\":\"0x\"}" },
        { "a: hello world", "{\"a\":\"hello world\"}" },
        { "1: x", "{\"1\":\"x\"}" },
        { "true: x", "{\"true\":\"x\"}" },
        { "a: |\n  l1\n  l2\n", "{\"a\":\"l1\\nl2\\n\"}" },
        { "a: >-\n  w1\n  w2\n", "{\"a\":\"w1 w2\"}" },
        { "", "null" },
        { "7", "7" },
        { "\"s\"", "\"s\"" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        check_json(rows[i].yaml, rows[i].json);
    }
}

static void test_yaml_structure(void **state)
{
    (void)state;
    check_json("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels: {app: web, tier: \"1\"}\n"
               "spec:\n  containers:\n  - name: c\n    ports: [80, 443]\n  - name: d\n",
               "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"labels\":{\"app\":\"web\","
               "\"tier\":\"1\"},\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\","
               "\"ports\":[80,443]},{\"name\":\"d\"}]}}");
    /* JSON is YAML. */
    check_json("{\"a\": [1, 2.5, \"x\", null, true], \"b\": {}}",
               "{\"a\":[1,2.5,\"x\",null,true],\"b\":{}}");
    /* Anchors, aliases and merge keys; explicit keys win over merged ones wherever they sit. */
    check_json("base: &b {x: 1, y: 2}\nother:\n  y: 3\n  <<: *b\nlist: [*b, *b]\n",
               "{\"base\":{\"x\":1,\"y\":2},\"list\":[{\"x\":1,\"y\":2},{\"x\":1,\"y\":2}],"
               "\"other\":{\"x\":1,\"y\":3}}");
    check_json("a: &s hello\nb: *s\n", "{\"a\":\"hello\",\"b\":\"hello\"}");
    check_json("m:\n  <<: [{a: 1}, {a: 2, b: 2}]\n", "{\"m\":{\"a\":1,\"b\":2}}");
    check_json("- - 1\n  - 2\n- []\n", "[[1,2],[]]");
}

static void test_yaml_alias_copy_is_independent(void **state)
{
    (void)state;
    const char *y = "a: &x {k: 1}\nb: *x\n";
    char err[128];
    json_t *v = NULL;
    assert_int_equal(cs_yaml_to_json(y, strlen(y), &v, err, sizeof(err)), 0);
    json_object_set_new(json_object_get(v, "b"), "k", json_integer(2));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "a"), "k")), 1);
    json_decref(v);
}

static void test_yaml_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *want; /* substring of the error */
    } rows[] = {
        { "a: [1, 2\n", "line " },
        { "a: 1\na: 2\n", "line 2 column 1: duplicate mapping key \"a\"" },
        { "? [1]\n: x\n", "mapping key must be a scalar" },
        { "a: *nope\n", "unknown anchor \"nope\"" },
        { "a: !!int abc\n", "cannot decode \"abc\"" },
        { "a: !!bool 1\n", "cannot decode" },
        { "a: 1\n---\nb: 2\n", "expected a single YAML document, found 2" },
        { "a:\n\tb: 1\n", "line 2" },
        { "m:\n  <<: 5\n", "merge key << needs a mapping" },
        { "a: b: c\n", "line 1 column 5" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char err[256];
        json_t *v = (json_t *)1;
        int rc = cs_yaml_to_json(rows[i].yaml, strlen(rows[i].yaml), &v, err, sizeof(err));
        if (rc != -1 || v != NULL || strstr(err, rows[i].want) == NULL) {
            fail_msg("row %zu (%s): rc=%d err=%s want %s", i, rows[i].yaml, rc, err,
                     rows[i].want);
        }
    }
}

static void test_yaml_alias_bomb_is_refused(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_puts(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        cs_buf_printf(&b, "a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++) {
            cs_buf_printf(&b, "%s*a%d", j ? ", " : "", i - 1);
        }
        cs_buf_puts(&b, "]\n");
    }
    char err[256];
    json_t *v = NULL;
    assert_int_equal(cs_yaml_to_json(b.data, b.len, &v, err, sizeof(err)), -1);
    assert_null(v);
    assert_non_null(strstr(err, "too large"));
    cs_buf_free(&b);
}

static void test_yaml_docs(void **state)
{
    (void)state;
    const char *y = "---\na: 1\n---\n---\n# only a comment\n---\n- x\n...\n---\nb: &q 2\n";
    char err[128];
    json_t *v = NULL;
    assert_int_equal(cs_yaml_to_json_docs(y, strlen(y), &v, err, sizeof(err)), 0);
    char *got = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(got, "[{\"a\":1},[\"x\"],{\"b\":2}]");
    free(got);
    json_decref(v);

    assert_int_equal(cs_yaml_to_json_docs("", 0, &v, err, sizeof(err)), 0);
    assert_true(json_is_array(v));
    assert_int_equal(json_array_size(v), 0);
    json_decref(v);

    /* Anchors do not leak from one document into the next. */
    const char *y2 = "a: &q 1\n---\nb: *q\n";
    assert_int_equal(cs_yaml_to_json_docs(y2, strlen(y2), &v, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "line 3 column 4: unknown anchor"));
}

static void test_json_to_yaml_layout(void **state)
{
    (void)state;
    json_t *v = json_pack("{s:s, s:{s:s, s:{s:s}}, s:[{s:s, s:[i, i]}, s, []], s:{}, s:b, s:n, "
                          "s:f}",
                          "apiVersion", "v1", "metadata", "name", "p", "labels", "app", "web",
                          "items", "name", "c", "ports", 80, 443, "plain", "empty", "yes", 1,
                          "nothing", "ratio", 0.5);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_json_to_yaml(v, &b);
    assert_string_equal(b.data, "apiVersion: v1\n"
                                "metadata:\n"
                                "  name: p\n"
                                "  labels:\n"
                                "    app: web\n"
                                "items:\n"
                                "- name: c\n"
                                "  ports:\n"
                                "  - 80\n"
                                "  - 443\n"
                                "- plain\n"
                                "- []\n"
                                "empty: {}\n"
                                "\"yes\": true\n"
                                "nothing: null\n"
                                "ratio: 0.5\n");
    cs_buf_free(&b);
    json_decref(v);
}

/* Strings that look like other types, or contain YAML syntax, survive a round trip. */
static void test_json_to_yaml_round_trip(void **state)
{
    (void)state;
    static const char *const strs[] = {
        "true", "False", "null", "~", "", "42", "0644", "1.5", "1e3", "yes", "No", "on",
        ".inf", "a: b", "a:b", "- x", "#c", "x #c", "[1]", "{a}", "&a", "*a", "!t", "|", ">",
        " lead", "trail ", "multi\nline", "tab\there", "quote\"s", "back\\slash", "é",
        "http://x/y", "100m", "ns/name", "key:", "%p", "@at", "?q", "a,b",
        "1.2.3", "0x", "v1.2", "0b102",
        "123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890"
        "1234567890",
    };
    json_t *arr = json_array();
    json_t *obj = json_object();
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        json_array_append_new(arr, json_string(strs[i]));
        json_object_set_new(obj, strs[i], json_integer((json_int_t)i));
    }
    json_t *top = json_pack("{s:o, s:o, s:[[i, [i]], {}], s:I, s:f}", "arr", arr, "obj", obj,
                            "nested", 1, 2, "big", (json_int_t)INT64_MIN, "neg", -2.25);
    struct cs_buf b;
    cs_buf_init(&b);
    cs_json_to_yaml(top, &b);
    char err[256];
    json_t *back = NULL;
    if (cs_yaml_to_json(b.data, b.len, &back, err, sizeof(err)) != 0) {
        fail_msg("re-read failed: %s\n%s", err, b.data);
    }
    if (!json_equal(top, back)) {
        char *s = json_dumps(back, JSON_COMPACT);
        fail_msg("round trip differs:\n%s\n%s", b.data, s);
    }
    json_decref(back);
    json_decref(top);
    cs_buf_free(&b);

    cs_buf_init(&b);
    json_t *s = json_string("x");
    cs_json_to_yaml(s, &b);
    assert_string_equal(b.data, "x\n");
    json_decref(s);
    cs_buf_free(&b);
}

/* Random bytes never crash the reader; every failure explains itself. */
static void test_yaml_garbage_does_not_crash(void **state)
{
    (void)state;
    static const char alphabet[] = "ab:-[]{},&*!|>'\"%@`#?~ \n\t01.\\<<";
    unsigned seed = 12345;
    char text[96];
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(iter % 64) + 1;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        char err[256] = "";
        json_t *v = NULL;
        int rc = iter % 2 ? cs_yaml_to_json(text, len, &v, err, sizeof(err))
                          : cs_yaml_to_json_docs(text, len, &v, err, sizeof(err));
        if (rc == 0) {
            assert_non_null(v);
            ok++;
        } else {
            assert_int_equal(rc, -1);
            assert_null(v);
            assert_true(err[0] != '\0');
            bad++;
        }
        json_decref(v);
    }
    /* The alphabet produces both outcomes. */
    assert_true(ok > 100);
    assert_true(bad > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_scalar_typing),
        cmocka_unit_test(test_yaml_structure),
        cmocka_unit_test(test_yaml_alias_copy_is_independent),
        cmocka_unit_test(test_yaml_errors),
        cmocka_unit_test(test_yaml_alias_bomb_is_refused),
        cmocka_unit_test(test_yaml_docs),
        cmocka_unit_test(test_json_to_yaml_layout),
        cmocka_unit_test(test_json_to_yaml_round_trip),
        cmocka_unit_test(test_yaml_garbage_does_not_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
