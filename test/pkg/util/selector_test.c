/* Specification of label selectors: string syntax, LabelSelector and NodeSelectorRequirement
 * JSON, matching, canonical printing and every validation rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/arena.h"
#include "pkg/util/buf.h"
#include "pkg/util/selector.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Labels written as "k=v;k2=v2" ("" = no labels). Strings live in storage. */
static size_t make_labels(const char *spec, char *storage, size_t cap, struct cs_label *out,
                          size_t max)
{
    size_t n = 0;
    snprintf(storage, cap, "%s", spec);
    char *p = storage;
    while (*p && n < max) {
        char *semi = strchr(p, ';');
        if (semi) {
            *semi = '\0';
        }
        char *eq = strchr(p, '=');
        assert_non_null(eq);
        *eq = '\0';
        out[n].key = p;
        out[n].value = eq + 1;
        n++;
        if (!semi) {
            break;
        }
        p = semi + 1;
    }
    return n;
}

static int match_spec(const struct cs_selector *sel, const char *labels)
{
    char storage[512];
    struct cs_label l[16];
    size_t n = make_labels(labels, storage, sizeof(storage), l, N(l));
    return cs_selector_matches(sel, l, n);
}

static void test_selector_string_matching(void **state)
{
    (void)state;
    static const struct {
        const char *sel;
        const char *labels;
        int want;
    } rows[] = {
        { "", "", 1 },
        { "", "a=b", 1 },
        { "a=b", "a=b", 1 },
        { "a=b", "a=c", 0 },
        { "a=b", "", 0 },
        { "a==b", "a=b;x=y", 1 },
        { "a!=b", "a=c", 1 },
        { "a!=b", "", 1 },
        { "a!=b", "a=b", 0 },
        { "a in (x,y)", "a=y", 1 },
        { "a in (x,y)", "a=z", 0 },
        { "a in (x,y)", "", 0 },
        { "a notin (x,y)", "a=z", 1 },
        { "a notin (x,y)", "", 1 },
        { "a notin (x,y)", "a=x", 0 },
        { "a", "a=", 1 },
        { "a", "b=1", 0 },
        { "!a", "b=1", 1 },
        { "!a", "a=1", 0 },
        { "a=", "a=", 1 },
        { "a=", "a=x", 0 },
        { "a in ()", "a=", 1 },
        { "a in (x,)", "a=", 1 },
        { "n>3", "n=4", 1 },
        { "n>3", "n=3", 0 },
        { "n<3", "n=-10", 1 },
        { "n>3", "n=abc", 0 },
        { "n>3", "", 0 },
        { "n<-2", "n=-3", 1 },
        { "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j",
          "a=b;c=x;e=x;f=w;g=1;i=j", 1 },
        { "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j",
          "a=b;c=x;e=x;f=w;g=1;i=j;h=1", 0 },
        { "  a = b ,  c  in ( x , y )  ", "a=b;c=y", 1 },
        { "example.com/tier=gpu", "example.com/tier=gpu", 1 },
        { "a=b,a=c", "a=b", 0 },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char err[256] = "";
        struct cs_selector *sel = NULL;
        if (cs_selector_parse(rows[i].sel, NULL, &sel, err, sizeof(err)) != 0) {
            fail_msg("row %zu \"%s\": unexpected error %s", i, rows[i].sel, err);
        }
        int got = match_spec(sel, rows[i].labels);
        if (got != rows[i].want) {
            fail_msg("row %zu \"%s\" on {%s}: got %d want %d", i, rows[i].sel, rows[i].labels,
                     got, rows[i].want);
        }
        cs_selector_free(sel);
    }
}

static void test_selector_string_errors(void **state)
{
    (void)state;
    static const struct {
        const char *sel;
        const char *want;
    } rows[] = {
        { "a=b,", "position 4: expected a key or '!', found end of string" },
        { ",a", "position 0: expected a key or '!'" },
        { "a in (x", "expected ',' or ')' in value set, found end of string" },
        { "a in x", "expected '(' after in/notin" },
        { "a in (x y)", "expected ',' or ')'" },
        { "a b", "expected an operator" },
        { "a=b=c", "expected ',' or end of string, found '='" },
        { "a==(", "expected a value after the operator, found '('" },
        { "!", "expected a key after '!'" },
        { "!a=b", "expected ',' or end of string, found '='" },
        { "-a=b", "invalid key \"-a\": key name must begin and end with an alphanumeric" },
        { "a/b/c=d", "at most one '/'" },
        { "/a=b", "key prefix must be non-empty" },
        { "Example.com/a=b", "lowercase DNS subdomain" },
        { "a=b-", "invalid value \"b-\"" },
        { "a=x@y", "may contain only alphanumerics" },
        { "n>x", "the value of '>' must be an integer, found \"x\"" },
        { "n<", "the value of '<' must be an integer" },
        { "n>99999999999999999999", "must be an integer" },
        { "a=0123456789012345678901234567890123456789012345678901234567890123",
          "no more than 63 characters" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char err[256] = "";
        struct cs_selector *sel = (struct cs_selector *)1;
        int rc = cs_selector_parse(rows[i].sel, NULL, &sel, err, sizeof(err));
        if (rc != -1 || sel != NULL || strstr(err, rows[i].want) == NULL) {
            fail_msg("row %zu \"%s\": rc=%d err=\"%s\" want \"%s\"", i, rows[i].sel, rc, err,
                     rows[i].want);
        }
        /* The message quotes the selector text. */
        assert_non_null(strstr(err, "label selector \""));
    }
}

static void test_selector_canonical_string(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want;
    } rows[] = {
        { "", "" },
        { "z=1, a in (y,x,y), !m, k", "a in (x,y),k,!m,z=1" },
        { "b notin (q), a!=c, c==d", "a!=c,b notin (q),c==d" },
        { "n>3,n<10", "n>3,n<10" },
        { "a in ()", "a in ()" },
        { "a=", "a=" },
    };
    struct cs_arena ar;
    cs_arena_init(&ar, 256);
    for (size_t i = 0; i < N(rows); i++) {
        char err[256];
        struct cs_selector *sel = NULL;
        assert_int_equal(cs_selector_parse(rows[i].in, &ar, &sel, err, sizeof(err)), 0);
        struct cs_buf b;
        cs_buf_init(&b);
        cs_selector_to_string(sel, &b);
        assert_string_equal(b.data ? b.data : "", rows[i].want);
        /* Reading the canonical form back gives the same canonical form. */
        struct cs_selector *again = NULL;
        assert_int_equal(cs_selector_parse(b.data ? b.data : "", &ar, &again, err, sizeof(err)),
                         0);
        struct cs_buf b2;
        cs_buf_init(&b2);
        cs_selector_to_string(again, &b2);
        assert_string_equal(b2.data ? b2.data : "", rows[i].want);
        cs_buf_free(&b);
        cs_buf_free(&b2);
        cs_selector_free(sel); /* arena selector: no-op */
    }
    cs_arena_destroy(&ar);
}

static void test_selector_null_and_empty(void **state)
{
    (void)state;
    struct cs_label l[1] = { { "a", "b" } };
    assert_int_equal(cs_selector_matches(NULL, l, 1), 0);
    assert_int_equal(cs_selector_matches(NULL, NULL, 0), 0);
    assert_int_equal(cs_selector_is_empty(NULL), 0);

    char err[128];
    struct cs_selector *sel = (struct cs_selector *)1;
    assert_int_equal(cs_selector_from_label_selector(NULL, "spec.selector", NULL, &sel, err,
                                                     sizeof(err)),
                     0);
    assert_null(sel);
    json_t *jnull = json_null();
    sel = (struct cs_selector *)1;
    assert_int_equal(cs_selector_from_label_selector(jnull, "spec.selector", NULL, &sel, err,
                                                     sizeof(err)),
                     0);
    assert_null(sel);
    json_t *empty = json_object();
    assert_int_equal(cs_selector_from_label_selector(empty, "spec.selector", NULL, &sel, err,
                                                     sizeof(err)),
                     0);
    assert_non_null(sel);
    assert_int_equal(cs_selector_is_empty(sel), 1);
    assert_int_equal(cs_selector_matches(sel, l, 1), 1);
    assert_int_equal(cs_selector_matches(sel, NULL, 0), 1);
    cs_selector_free(sel);
    json_decref(empty);
    json_decref(jnull);
}

static void test_selector_label_selector_json(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *labels;
        int want;
        const char *canon;
    } rows[] = {
        { "{\"matchLabels\":{\"app\":\"web\"}}", "app=web", 1, "app=web" },
        { "{\"matchLabels\":{\"app\":\"web\"}}", "app=db", 0, "app=web" },
        { "{\"matchLabels\":{\"app\":\"web\",\"tier\":\"fe\"}}", "app=web", 0,
          "app=web,tier=fe" },
        { "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"b\",\"a\"]}]}",
          "zone=a", 1, "zone in (a,b)" },
        { "{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"a\"]}]}",
          "", 1, "zone notin (a)" },
        { "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}", "gpu=", 1, "gpu" },
        { "{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\",\"values\":[]}]}",
          "gpu=1", 0, "!gpu" },
        /* matchLabels ANDed with expressions */
        { "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"env\","
          "\"operator\":\"In\",\"values\":[\"prod\"]}]}",
          "app=web;env=dev", 0, "app=web,env in (prod)" },
        { "{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":[{\"key\":\"env\","
          "\"operator\":\"In\",\"values\":[\"prod\"]}]}",
          "app=web;env=prod", 1, "app=web,env in (prod)" },
        { "{\"matchLabels\":null,\"matchExpressions\":null,\"unknown\":1}", "x=y", 1, "" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        json_error_t je;
        json_t *j = json_loads(rows[i].json, 0, &je);
        assert_non_null(j);
        char err[256] = "";
        struct cs_selector *sel = NULL;
        if (cs_selector_from_label_selector(j, "spec.selector", NULL, &sel, err, sizeof(err)) !=
            0) {
            fail_msg("row %zu: unexpected error %s", i, err);
        }
        if (match_spec(sel, rows[i].labels) != rows[i].want) {
            fail_msg("row %zu %s on {%s}: want %d", i, rows[i].json, rows[i].labels,
                     rows[i].want);
        }
        struct cs_buf b;
        cs_buf_init(&b);
        cs_selector_to_string(sel, &b);
        assert_string_equal(b.data ? b.data : "", rows[i].canon);
        cs_buf_free(&b);
        cs_selector_free(sel);
        json_decref(j);
    }
}

static void test_selector_label_selector_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *want;
    } rows[] = {
        { "[]", "spec.selector: must be an object" },
        { "{\"matchLabels\":[]}", "spec.selector.matchLabels: must be an object" },
        { "{\"matchLabels\":{\"a\":1}}", "spec.selector.matchLabels.a: must be a string" },
        { "{\"matchLabels\":{\"-a\":\"x\"}}", "spec.selector.matchLabels.-a: invalid key" },
        { "{\"matchLabels\":{\"a\":\"x y\"}}", "spec.selector.matchLabels.a: invalid value" },
        { "{\"matchExpressions\":{}}", "spec.selector.matchExpressions: must be an array" },
        { "{\"matchExpressions\":[1]}", "spec.selector.matchExpressions[0]: must be an object" },
        { "{\"matchExpressions\":[{\"operator\":\"Exists\"}]}",
          "spec.selector.matchExpressions[0].key: required" },
        { "{\"matchExpressions\":[{\"key\":\"a\"}]}",
          "spec.selector.matchExpressions[0].operator: required" },
        { "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}",
          "unsupported operator \"Gt\"" },
        { "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"in\",\"values\":[\"1\"]}]}",
          "unsupported operator \"in\"" },
        { "{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\"},{\"key\":\"b\","
          "\"operator\":\"In\"}]}",
          "spec.selector.matchExpressions[1].values: must be non-empty when operator is In" },
        { "{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"NotIn\",\"values\":[]}]}",
          "must be non-empty when operator is NotIn" },
        { "{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"Exists\",\"values\":[\"x\"]}]}",
          "matchExpressions[0].values: must be empty when operator is Exists" },
        { "{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"DoesNotExist\",\"values\":[\"x\"]}"
          "]}",
          "must be empty when operator is DoesNotExist" },
        { "{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"In\",\"values\":[1]}]}",
          "matchExpressions[0].values[0]: must be a string" },
        { "{\"matchExpressions\":[{\"key\":\"b\",\"operator\":\"In\",\"values\":\"x\"}]}",
          "matchExpressions[0].values: must be an array of strings" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        json_error_t je;
        json_t *j = json_loads(rows[i].json, JSON_DECODE_ANY, &je);
        assert_non_null(j);
        char err[256] = "";
        struct cs_selector *sel = (struct cs_selector *)1;
        int rc = cs_selector_from_label_selector(j, "spec.selector", NULL, &sel, err, sizeof(err));
        if (rc != -1 || sel != NULL || strstr(err, rows[i].want) == NULL) {
            fail_msg("row %zu %s: rc=%d err=\"%s\" want \"%s\"", i, rows[i].json, rc, err,
                     rows[i].want);
        }
        json_decref(j);
    }
}

static void test_selector_node_requirements(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *labels;
        int want; /* -1: construction must fail with err containing `err` */
        const char *err;
    } rows[] = {
        { "[{\"key\":\"cpu\",\"operator\":\"Gt\",\"values\":[\"8\"]}]", "cpu=16", 1, NULL },
        { "[{\"key\":\"cpu\",\"operator\":\"Gt\",\"values\":[\"8\"]}]", "cpu=8", 0, NULL },
        { "[{\"key\":\"cpu\",\"operator\":\"Gt\",\"values\":[\"8\"]}]", "cpu=lots", 0, NULL },
        { "[{\"key\":\"cpu\",\"operator\":\"Gt\",\"values\":[\"8\"]}]", "", 0, NULL },
        { "[{\"key\":\"cpu\",\"operator\":\"Lt\",\"values\":[\"8\"]}]", "cpu=-1", 1, NULL },
        { "[{\"key\":\"cpu\",\"operator\":\"Lt\",\"values\":[\"8\"]}]", "cpu= 7", 0, NULL },
        { "[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]},"
          "{\"key\":\"gpu\",\"operator\":\"Exists\"}]",
          "zone=a;gpu=t4", 1, NULL },
        { "[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]},"
          "{\"key\":\"gpu\",\"operator\":\"Exists\"}]",
          "zone=a", 0, NULL },
        { "[]", "", 1, NULL },
        { "null", "a=b", 1, NULL },
        { "[{\"key\":\"cpu\",\"operator\":\"Gt\",\"values\":[\"8\",\"9\"]}]", "", -1,
          "spec.terms[0].matchExpressions[0].values: must have exactly one value when operator "
          "is Gt" },
        { "[{\"key\":\"cpu\",\"operator\":\"Lt\"}]", "", -1, "exactly one value" },
        { "[{\"key\":\"cpu\",\"operator\":\"Lt\",\"values\":[\"1.5\"]}]", "", -1,
          "matchExpressions[0].values[0]: must be an integer for operator Lt, found \"1.5\"" },
        { "[{\"key\":\"cpu\",\"operator\":\"Exists\",\"values\":[\"1\"]}]", "", -1,
          "must be empty when operator is Exists" },
        { "[{\"key\":\"cpu\",\"operator\":\"Equals\",\"values\":[\"1\"]}]", "", -1,
          "unsupported operator \"Equals\" (want In, NotIn, Exists, DoesNotExist, Gt or Lt)" },
        { "{}", "", -1, "spec.terms[0].matchExpressions: must be an array" },
    };
    for (size_t i = 0; i < N(rows); i++) {
        json_error_t je;
        json_t *j = json_loads(rows[i].json, JSON_DECODE_ANY, &je);
        assert_non_null(j);
        char err[256] = "";
        struct cs_arena ar;
        cs_arena_init(&ar, 512);
        struct cs_selector *sel = NULL;
        int rc = cs_selector_from_node_requirements(j, "spec.terms[0].matchExpressions", &ar,
                                                    &sel, err, sizeof(err));
        if (rows[i].want < 0) {
            if (rc != -1 || sel != NULL || strstr(err, rows[i].err) == NULL) {
                fail_msg("row %zu %s: rc=%d err=\"%s\" want \"%s\"", i, rows[i].json, rc, err,
                         rows[i].err);
            }
        } else {
            if (rc != 0) {
                fail_msg("row %zu %s: unexpected error %s", i, rows[i].json, err);
            }
            if (match_spec(sel, rows[i].labels) != rows[i].want) {
                fail_msg("row %zu %s on {%s}: want %d", i, rows[i].json, rows[i].labels,
                         rows[i].want);
            }
        }
        cs_arena_destroy(&ar);
        json_decref(j);
    }
}

static void test_selector_key_value_validation(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int key_ok;
        int value_ok;
    } rows[] = {
        { "app", 1, 1 },
        { "", 0, 1 },
        { "a.b_c-d", 1, 1 },
        { "kubernetes.io/hostname", 1, 0 },
        { "a-b.example.com/x", 1, 0 },
        { "a..b/x", 0, 0 },
        { "-a.com/x", 0, 0 },
        { "a.com/", 0, 0 },
        { "_x", 0, 0 },
        { "x_", 0, 0 },
        { "012345678901234567890123456789012345678901234567890123456789012", 1, 1 },
        { "0123456789012345678901234567890123456789012345678901234567890123", 0, 0 },
    };
    for (size_t i = 0; i < N(rows); i++) {
        char err[160];
        if ((cs_selector_validate_key(rows[i].s, err, sizeof(err)) == 0) != rows[i].key_ok) {
            fail_msg("key \"%s\": want ok=%d", rows[i].s, rows[i].key_ok);
        }
        if ((cs_selector_validate_value(rows[i].s, err, sizeof(err)) == 0) != rows[i].value_ok) {
            fail_msg("value \"%s\": want ok=%d", rows[i].s, rows[i].value_ok);
        }
    }
}

/* Many values: membership is a binary search over the sorted set. */
static void test_selector_large_value_set(void **state)
{
    (void)state;
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_puts(&b, "k in (");
    for (int i = 999; i >= 0; i--) {
        cs_buf_printf(&b, "v%d%s", i, i ? "," : ")");
    }
    char err[256];
    struct cs_selector *sel = NULL;
    assert_int_equal(cs_selector_parse(b.data, NULL, &sel, err, sizeof(err)), 0);
    assert_int_equal(sel->nreqs, 1);
    assert_int_equal(sel->reqs[0].nvalues, 1000);
    for (int i = 0; i < 1000; i++) {
        char v[16];
        snprintf(v, sizeof(v), "v%d", i);
        struct cs_label l = { "k", v };
        assert_int_equal(cs_selector_matches(sel, &l, 1), 1);
    }
    struct cs_label miss = { "k", "v1000" };
    assert_int_equal(cs_selector_matches(sel, &miss, 1), 0);
    cs_selector_free(sel);
    cs_buf_free(&b);
}

/* Random selector text never crashes; parse(to_string(s)) is stable for whatever parses. */
static void test_selector_garbage_does_not_crash(void **state)
{
    (void)state;
    static const char alphabet[] = "ab=!,() <>-in notin./1_";
    unsigned seed = 777;
    char text[64];
    int ok = 0, bad = 0;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = (size_t)(iter % 40);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            text[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
        }
        text[len] = '\0';
        char err[256] = "";
        struct cs_selector *sel = NULL;
        if (cs_selector_parse(text, NULL, &sel, err, sizeof(err)) == 0) {
            ok++;
            struct cs_buf b, b2;
            cs_buf_init(&b);
            cs_buf_init(&b2);
            cs_selector_to_string(sel, &b);
            struct cs_selector *again = NULL;
            if (cs_selector_parse(b.data ? b.data : "", NULL, &again, err, sizeof(err)) != 0) {
                fail_msg("\"%s\" printed as \"%s\" which does not parse: %s", text, b.data, err);
            }
            cs_selector_to_string(again, &b2);
            assert_string_equal(b.data ? b.data : "", b2.data ? b2.data : "");
            cs_selector_free(again);
            cs_buf_free(&b);
            cs_buf_free(&b2);
        } else {
            assert_null(sel);
            assert_true(err[0] != '\0');
            bad++;
        }
        cs_selector_free(sel);
    }
    assert_true(ok > 100);
    assert_true(bad > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selector_string_matching),
        cmocka_unit_test(test_selector_string_errors),
        cmocka_unit_test(test_selector_canonical_string),
        cmocka_unit_test(test_selector_null_and_empty),
        cmocka_unit_test(test_selector_label_selector_json),
        cmocka_unit_test(test_selector_label_selector_errors),
        cmocka_unit_test(test_selector_node_requirements),
        cmocka_unit_test(test_selector_key_value_validation),
        cmocka_unit_test(test_selector_large_value_set),
        cmocka_unit_test(test_selector_garbage_does_not_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
