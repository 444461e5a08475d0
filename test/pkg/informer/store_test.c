/* Specification of the informer store: event ordering by resourceVersion and the relist diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "pkg/informer/store.h"

struct rec {
    char log[4096];
    int adds, updates, deletes;
    int old_null;
};

static void rec_put(struct rec *r, char op, json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    size_t n = strlen(r->log);
    snprintf(r->log + n, sizeof(r->log) - n, "%c:%s@%s ", op,
             json_string_value(json_object_get(md, "name")),
             json_string_value(json_object_get(md, "resourceVersion")));
}

static void on_add(void *arg, json_t *obj)
{
    struct rec *r = arg;
    r->adds++;
    rec_put(r, 'A', obj);
}

static void on_update(void *arg, json_t *old, json_t *obj)
{
    struct rec *r = arg;
    r->updates++;
    if (!old) {
        r->old_null++;
    } else {
        rec_put(r, 'o', old);
    }
    rec_put(r, 'U', obj);
}

static void on_del(void *arg, json_t *obj)
{
    struct rec *r = arg;
    r->deletes++;
    rec_put(r, 'D', obj);
}

static json_t *pod(const char *ns, const char *name, const char *rv)
{
    return json_pack("{s:{s:s,s:s,s:s,s:s},s:{s:s}}", "metadata", "namespace", ns, "name", name,
                     "resourceVersion", rv, "uid", "u-1", "spec", "nodeName", "n1");
}

static int apply(struct cs_inf_store *s, struct rec *r, int del, const char *name, const char *rv)
{
    struct cs_inf_sink sink = { on_add, on_update, on_del, r };
    json_t *o = pod("ns", name, rv);
    int a = cs_inf_store_apply(s, del, o, &sink);
    json_decref(o);
    return a;
}

static int list_item(struct cs_inf_store *s, struct rec *r, const char *name, const char *rv)
{
    struct cs_inf_sink sink = { on_add, on_update, on_del, r };
    json_t *o = pod("ns", name, rv);
    int a = cs_inf_store_list_item(s, o, &sink);
    json_decref(o);
    return a;
}

static void test_events_ignore_stale_and_duplicate(void **state)
{
    (void)state;
    struct cs_inf_store s;
    struct rec r = { .adds = 0 };
    cs_inf_store_init(&s, 0);
    assert_int_equal(apply(&s, &r, 0, "a", "10"), CS_INF_ADDED);
    assert_int_equal(apply(&s, &r, 0, "a", "10"), CS_INF_IGNORED);  /* duplicate */
    assert_int_equal(apply(&s, &r, 0, "a", "9"), CS_INF_IGNORED);   /* older */
    assert_int_equal(apply(&s, &r, 0, "a", "11"), CS_INF_UPDATED);
    assert_int_equal(apply(&s, &r, 1, "a", "11"), CS_INF_IGNORED);  /* delete not newer */
    assert_int_equal(apply(&s, &r, 1, "zz", "50"), CS_INF_IGNORED); /* unknown key */
    assert_int_equal(apply(&s, &r, 1, "a", "12"), CS_INF_DELETED);
    assert_int_equal(cs_inf_store_len(&s), 0);
    assert_int_equal(apply(&s, &r, 0, "a", "13"), CS_INF_ADDED);   /* recreated */
    assert_string_equal(r.log, "A:a@10 U:a@11 D:a@12 A:a@13 ");
    assert_int_equal(r.old_null, 1); /* no objects kept: old is NULL */
    struct cs_inf_entry *e = cs_inf_store_get(&s, "ns/a");
    assert_non_null(e);
    assert_string_equal(e->rv, "13");
    assert_null(e->obj);
    json_t *bad = json_pack("{s:{}}", "metadata");
    assert_int_equal(cs_inf_store_apply(&s, 0, bad, NULL), CS_INF_INVALID);
    json_decref(bad);
    cs_inf_store_free(&s);
}

static void test_relist_diff(void **state)
{
    (void)state;
    struct cs_inf_store s;
    struct rec r = { .adds = 0 };
    cs_inf_store_init(&s, 0);
    cs_inf_store_list_begin(&s);
    list_item(&s, &r, "keep", "1");
    list_item(&s, &r, "change", "2");
    list_item(&s, &r, "gone", "3");
    assert_int_equal(cs_inf_store_list_end(&s, NULL), 0);
    assert_int_equal(r.adds, 3);
    memset(&r, 0, sizeof(r));
    /* relist after 410: one unchanged, one changed, one missing, one new */
    struct cs_inf_sink sink = { on_add, on_update, on_del, &r };
    cs_inf_store_list_begin(&s);
    assert_int_equal(list_item(&s, &r, "keep", "1"), CS_INF_IGNORED);
    assert_int_equal(list_item(&s, &r, "change", "7"), CS_INF_UPDATED);
    assert_int_equal(list_item(&s, &r, "new", "8"), CS_INF_ADDED);
    assert_int_equal(cs_inf_store_list_end(&s, &sink), 1);
    assert_int_equal(r.adds, 1);
    assert_int_equal(r.updates, 1);
    assert_int_equal(r.deletes, 1);
    /* the deleted object is a stub with identity and the last RV known */
    assert_non_null(strstr(r.log, "D:gone@3"));
    assert_int_equal(cs_inf_store_len(&s), 3);
    assert_null(cs_inf_store_get(&s, "ns/gone"));
    /* an empty relist deletes everything */
    memset(&r, 0, sizeof(r));
    cs_inf_store_list_begin(&s);
    assert_int_equal(cs_inf_store_list_end(&s, &sink), 3);
    assert_int_equal(r.deletes, 3);
    assert_int_equal(cs_inf_store_len(&s), 0);
    cs_inf_store_free(&s);
}

static json_t *last_deleted;

static void keep_del(void *arg, json_t *obj)
{
    (void)arg;
    last_deleted = json_incref(obj);
}

static void test_keep_objects_gives_old_and_full_last_state(void **state)
{
    (void)state;
    struct cs_inf_store s;
    struct rec r = { .adds = 0 };
    cs_inf_store_init(&s, 1);
    apply(&s, &r, 0, "p", "5");
    apply(&s, &r, 0, "p", "6");
    assert_int_equal(r.old_null, 0);
    assert_string_equal(r.log, "A:p@5 o:p@5 U:p@6 ");
    struct cs_inf_sink sink = { NULL, NULL, keep_del, NULL };
    cs_inf_store_list_begin(&s);
    assert_int_equal(cs_inf_store_list_end(&s, &sink), 1);
    assert_non_null(last_deleted);
    /* the full object, not a stub */
    assert_string_equal(json_string_value(json_object_get(json_object_get(last_deleted, "spec"),
                                                          "nodeName")),
                        "n1");
    json_decref(last_deleted);
    cs_inf_store_free(&s);
}

static void test_keys_cluster_scoped_and_namespaced(void **state)
{
    (void)state;
    char k[64];
    json_t *n = json_pack("{s:{s:s}}", "metadata", "name", "node-1");
    json_t *p = pod("default", "web", "1");
    assert_int_equal(cs_inf_object_key(n, k, sizeof(k)), 0);
    assert_string_equal(k, "node-1");
    assert_int_equal(cs_inf_object_key(p, k, sizeof(k)), 0);
    assert_string_equal(k, "default/web");
    assert_int_equal(cs_inf_object_key(p, k, 5), -1);
    json_decref(n);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_ignore_stale_and_duplicate),
        cmocka_unit_test(test_relist_diff),
        cmocka_unit_test(test_keep_objects_gives_old_and_full_last_state),
        cmocka_unit_test(test_keys_cluster_scoped_and_namespaced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
