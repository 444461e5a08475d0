/* Specification of apisim's object store: RV, metadata stamping, conflicts, history, deletes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/apisim/store.h"
#include "pkg/util/timeutil.h"

static const struct cs_apisim_rtype_def pod_def = {
    .group = "", .version = "v1", .resource = "pods", .singular = "pod", .kind = "Pod",
    .namespaced = 1, .has_status = 1,
};
static const struct cs_apisim_rtype_def cm_def = {
    .group = "", .version = "v1", .resource = "configmaps", .kind = "ConfigMap",
    .namespaced = 1,
};
static const struct cs_apisim_rtype_def dep_def = {
    .group = "apps", .version = "v1", .resource = "deployments", .kind = "Deployment",
    .namespaced = 1, .has_status = 1, .has_scale = 1, .has_generation = 1,
};

static const char *meta_s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(json_object_get(o, "metadata"), k));
}

static json_t *obj(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void test_create_stamps_metadata_and_bumps_rv(void **state)
{
    (void)state;
    struct cs_apisim_store *s = cs_apisim_store_new(64, 7);
    cs_apisim_store_lock(s);
    struct cs_apisim_rtype *pods = cs_apisim_store_register(s, &pod_def);
    const json_t *out = NULL;
    struct cs_apisim_status st;
    assert_int_equal(cs_apisim_store_create(s, pods, "ns1", obj("{\"metadata\":{\"name\":\"a\"}}"),
                                            &out, &st), 0);
    assert_string_equal(meta_s(out, "resourceVersion"), "1");
    assert_string_equal(meta_s(out, "namespace"), "ns1");
    assert_int_equal(strlen(meta_s(out, "uid")), 36);
    int64_t ts;
    assert_int_equal(cs_parse_time(meta_s(out, "creationTimestamp"), &ts), 0);
    assert_string_equal(json_string_value(json_object_get(out, "kind")), "Pod");
    assert_string_equal(json_string_value(json_object_get(out, "apiVersion")), "v1");
    char uid1[40];
    snprintf(uid1, sizeof(uid1), "%s", meta_s(out, "uid"));

    assert_int_equal(cs_apisim_store_create(s, pods, "ns1",
                                            obj("{\"metadata\":{\"generateName\":\"web-\"}}"),
                                            &out, &st), 0);
    assert_string_equal(meta_s(out, "resourceVersion"), "2");
    assert_int_equal(strncmp(meta_s(out, "name"), "web-", 4), 0);
    assert_int_equal(strlen(meta_s(out, "name")), 9);
    assert_string_not_equal(meta_s(out, "uid"), uid1);

    assert_int_equal(cs_apisim_store_create(s, pods, "ns1", obj("{\"metadata\":{\"name\":\"a\"}}"),
                                            &out, &st), 409);
    assert_string_equal(st.reason, "AlreadyExists");
    assert_string_equal(st.message, "pods \"a\" already exists");
    /* same name in another namespace is fine */
    assert_int_equal(cs_apisim_store_create(s, pods, "ns2", obj("{\"metadata\":{\"name\":\"a\"}}"),
                                            &out, &st), 0);
    assert_int_equal(cs_apisim_store_create(s, pods, "ns1", obj("{\"metadata\":{}}"), &out, &st),
                     422);
    assert_int_equal(cs_apisim_store_create(s, pods, "ns1",
                                            obj("{\"metadata\":{\"name\":\"Bad_Name\"}}"), &out,
                                            &st), 422);
    assert_int_equal(cs_apisim_store_create(s, pods, "ns1",
                                            obj("{\"metadata\":{\"name\":\"x\",\"namespace\":"
                                                "\"other\"}}"), &out, &st), 400);
    assert_int_equal(s->rv, 3);
    assert_int_equal(cs_apisim_store_count(s, pods), 3);
    cs_apisim_store_unlock(s);
    cs_apisim_store_free(s);
}

static void test_update_conflicts_noops_and_status_subresource(void **state)
{
    (void)state;
    struct cs_apisim_store *s = cs_apisim_store_new(64, 1);
    cs_apisim_store_lock(s);
    struct cs_apisim_rtype *pods = cs_apisim_store_register(s, &pod_def);
    const json_t *out;
    struct cs_apisim_status st;
    assert_int_equal(cs_apisim_store_create(s, pods, "d",
                                            obj("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"a\":1},"
                                                "\"status\":{\"phase\":\"Pending\"}}"), &out, &st),
                     0);
    /* stale RV -> 409 with the real message */
    assert_int_equal(cs_apisim_store_update(s, pods, "d", "p",
                                            obj("{\"metadata\":{\"name\":\"p\",\"resourceVersion\":"
                                                "\"99\"},\"spec\":{\"a\":2}}"), 0, &out, &st), 409);
    assert_string_equal(st.reason, "Conflict");
    assert_non_null(strstr(st.message, "the object has been modified"));
    /* main resource update ignores .status */
    assert_int_equal(cs_apisim_store_update(s, pods, "d", "p",
                                            obj("{\"metadata\":{\"name\":\"p\",\"resourceVersion\":"
                                                "\"1\"},\"spec\":{\"a\":2},\"status\":{\"phase\":"
                                                "\"Running\"}}"), 0, &out, &st), 0);
    assert_string_equal(meta_s(out, "resourceVersion"), "2");
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
                        "Pending");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "spec"), "a")), 2);
    assert_non_null(meta_s(out, "uid"));
    /* status update ignores spec */
    assert_int_equal(cs_apisim_store_update(s, pods, "d", "p",
                                            obj("{\"spec\":{\"a\":3},\"status\":{\"phase\":"
                                                "\"Running\"}}"), 1, &out, &st), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(out, "status"), "phase")),
                        "Running");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "spec"), "a")), 2);
    assert_int_equal(s->rv, 3);
    /* identical write: no RV bump, no event */
    assert_int_equal(cs_apisim_store_update(s, pods, "d", "p",
                                            obj("{\"spec\":{\"a\":2}}"), 0, &out, &st), 0);
    assert_int_equal(s->rv, 3);
    assert_string_equal(meta_s(out, "resourceVersion"), "3");
    /* wrong name / missing object */
    assert_int_equal(cs_apisim_store_update(s, pods, "d", "p",
                                            obj("{\"metadata\":{\"name\":\"q\"}}"), 0, &out, &st),
                     400);
    assert_int_equal(cs_apisim_store_update(s, pods, "d", "zz", obj("{}"), 0, &out, &st), 404);
    assert_string_equal(st.message, "pods \"zz\" not found");
    cs_apisim_store_unlock(s);
    cs_apisim_store_free(s);
}

static int set_replicas(json_t *o, void *arg, struct cs_apisim_status *st)
{
    (void)st;
    json_object_set_new(json_object_get(o, "spec"), "replicas", json_integer(*(int *)arg));
    return 0;
}

static int refuse(json_t *o, void *arg, struct cs_apisim_status *st)
{
    (void)o;
    (void)arg;
    return cs_apisim_status_set(st, 409, "Conflict", "nope %d", 1);
}

struct hook_log {
    int n;
    int types[16];
    uint64_t rvs[16];
};

static void log_hook(void *arg, struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                     int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv)
{
    (void)s;
    (void)rt;
    struct hook_log *l = arg;
    assert_true(type == CS_APISIM_ADDED ? old_obj == NULL : old_obj != NULL);
    assert_non_null(new_obj);
    if (l->n < 16) {
        l->types[l->n] = type;
        l->rvs[l->n] = rv;
    }
    l->n++;
}

static void test_update_fn_generation_hooks_and_history(void **state)
{
    (void)state;
    struct cs_apisim_store *s = cs_apisim_store_new(16, 1);
    struct hook_log log = { 0 };
    cs_apisim_store_lock(s);
    cs_apisim_store_add_hook(s, log_hook, &log);
    struct cs_apisim_rtype *deps = cs_apisim_store_register(s, &dep_def);
    const json_t *out;
    struct cs_apisim_status st;
    assert_int_equal(cs_apisim_store_create(s, deps, "d",
                                            obj("{\"metadata\":{\"name\":\"x\"},\"spec\":"
                                                "{\"replicas\":1}}"), &out, &st), 0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"),
                                                        "generation")), 1);
    int r = 5;
    assert_int_equal(cs_apisim_store_update_fn(s, deps, "d", "x", set_replicas, &r, &out, &st),
                     0);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(out, "metadata"),
                                                        "generation")), 2);
    assert_int_equal(cs_apisim_store_update_fn(s, deps, "d", "x", refuse, NULL, &out, &st), 409);
    assert_string_equal(st.message, "nope 1");
    assert_int_equal(cs_apisim_store_update_fn(s, deps, "d", "nope", set_replicas, &r, &out, &st),
                     404);
    assert_int_equal(log.n, 2);
    assert_int_equal(log.types[0], CS_APISIM_ADDED);
    assert_int_equal(log.types[1], CS_APISIM_MODIFIED);
    assert_int_equal(log.rvs[1], 2);

    struct cs_apisim_event ev;
    assert_int_equal(cs_apisim_store_event(s, 2, &ev), 1);
    assert_int_equal(ev.type, CS_APISIM_MODIFIED);
    assert_ptr_equal(ev.rt, deps);
    size_t len;
    assert_non_null(strstr(cs_apisim_obj_text(ev.new_obj, &len), "\"replicas\":5"));
    assert_non_null(strstr(cs_apisim_obj_text(ev.old_obj, &len), "\"replicas\":1"));
    assert_int_equal(cs_apisim_store_event(s, 3, &ev), 0);
    /* wrap the 16-slot ring: the oldest events fall out */
    for (int i = 0; i < 30; i++) {
        r = 10 + i;
        assert_int_equal(cs_apisim_store_update_fn(s, deps, "d", "x", set_replicas, &r, NULL,
                                                   &st), 0);
    }
    assert_int_equal(s->rv, 32);
    assert_int_equal(cs_apisim_store_oldest_rv(s), 17);
    assert_int_equal(cs_apisim_store_event(s, 16, &ev), 0);
    assert_int_equal(cs_apisim_store_event(s, 17, &ev), 1);
    assert_int_equal(ev.rv, 17);
    cs_apisim_store_remove_hook(s, log_hook, &log);
    cs_apisim_store_unlock(s);
    cs_apisim_store_free(s);
}

static void test_pod_delete_is_graceful_only_when_bound(void **state)
{
    (void)state;
    struct cs_apisim_store *s = cs_apisim_store_new(64, 1);
    cs_apisim_store_lock(s);
    struct cs_apisim_rtype *pods = cs_apisim_store_register(s, &pod_def);
    struct cs_apisim_rtype *cms = cs_apisim_store_register(s, &cm_def);
    const json_t *out;
    struct cs_apisim_status st;
    assert_int_equal(cs_apisim_store_create(s, pods, "d",
                                            obj("{\"metadata\":{\"name\":\"bound\"},\"spec\":"
                                                "{\"nodeName\":\"n1\",\"terminationGracePeriod"
                                                "Seconds\":1}}"), NULL, &st), 0);
    assert_int_equal(cs_apisim_store_create(s, pods, "d",
                                            obj("{\"metadata\":{\"name\":\"free\"}}"), NULL, &st),
                     0);
    assert_int_equal(cs_apisim_store_create(s, cms, "d", obj("{\"metadata\":{\"name\":\"c\"}}"),
                                            NULL, &st), 0);
    /* unbound pod: gone at once */
    assert_int_equal(cs_apisim_store_delete(s, pods, "d", "free", NULL, &out, &st), 0);
    assert_null(cs_apisim_store_get(s, pods, "d", "free"));
    struct cs_apisim_event ev;
    assert_int_equal(cs_apisim_store_event(s, s->rv, &ev), 1);
    assert_int_equal(ev.type, CS_APISIM_DELETED);
    assert_string_equal(meta_s(cs_apisim_obj_json(ev.new_obj), "resourceVersion"), "4");
    /* bound pod: deletionTimestamp first */
    assert_int_equal(cs_apisim_store_delete(s, pods, "d", "bound", NULL, &out, &st), 0);
    assert_non_null(meta_s(out, "deletionTimestamp"));
    assert_non_null(cs_apisim_store_get(s, pods, "d", "bound"));
    assert_int_equal(cs_apisim_store_event(s, s->rv, &ev), 1);
    assert_int_equal(ev.type, CS_APISIM_MODIFIED);
    assert_int_equal(cs_apisim_store_tick(s, cs_mono_ns()), 0);
    assert_int_equal(cs_apisim_store_tick(s, cs_mono_ns() + 2000000000LL), 1);
    assert_null(cs_apisim_store_get(s, pods, "d", "bound"));
    assert_int_equal(cs_apisim_store_event(s, s->rv, &ev), 1);
    assert_int_equal(ev.type, CS_APISIM_DELETED);
    /* preconditions and plain deletes */
    struct cs_apisim_delete_opts o = { .grace_seconds = -1, .precond_uid = "nope" };
    assert_int_equal(cs_apisim_store_delete(s, cms, "d", "c", &o, &out, &st), 409);
    assert_int_equal(cs_apisim_store_delete(s, cms, "d", "c", NULL, &out, &st), 0);
    assert_int_equal(cs_apisim_store_delete(s, cms, "d", "c", NULL, &out, &st), 404);
    cs_apisim_store_unlock(s);
    cs_apisim_store_free(s);
}

static int has_label_app(const json_t *o, void *arg)
{
    (void)arg;
    return json_object_get(json_object_get(json_object_get(o, "metadata"), "labels"), "app") !=
           NULL;
}

static void test_list_is_sorted_filtered_and_a_snapshot(void **state)
{
    (void)state;
    struct cs_apisim_store *s = cs_apisim_store_new(64, 1);
    cs_apisim_store_lock(s);
    struct cs_apisim_rtype *cms = cs_apisim_store_register(s, &cm_def);
    const char *names[] = { "b", "a", "c" };
    for (int i = 0; i < 3; i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}}}", names[i],
                 i == 2 ? "" : "\"app\":\"x\"");
        assert_int_equal(cs_apisim_store_create(s, cms, "ns", obj(buf), NULL, NULL), 0);
    }
    assert_int_equal(cs_apisim_store_create(s, cms, "aa", obj("{\"metadata\":{\"name\":\"z\"}}"),
                                            NULL, NULL), 0);
    struct cs_apisim_list l;
    cs_apisim_store_list(s, cms, NULL, NULL, NULL, &l);
    assert_int_equal(l.len, 4);
    assert_string_equal(cs_apisim_obj_key(l.items[0]), "aa/z");
    assert_string_equal(cs_apisim_obj_key(l.items[1]), "ns/a");
    assert_string_equal(cs_apisim_obj_key(l.items[3]), "ns/c");
    assert_int_equal(l.rv, 4);
    /* the snapshot survives deletion of its items */
    assert_int_equal(cs_apisim_store_delete(s, cms, "aa", "z", NULL, NULL, NULL), 0);
    assert_string_equal(meta_s(cs_apisim_obj_json(l.items[0]), "name"), "z");
    cs_apisim_list_free(&l);
    cs_apisim_store_list(s, cms, "ns", has_label_app, NULL, &l);
    assert_int_equal(l.len, 2);
    assert_string_equal(cs_apisim_obj_key(l.items[0]), "ns/a");
    assert_string_equal(cs_apisim_obj_key(l.items[1]), "ns/b");
    cs_apisim_list_free(&l);
    /* unregister removes everything with DELETED events */
    uint64_t before = s->rv;
    cs_apisim_store_unregister(s, cms);
    assert_int_equal(s->rv, before + 3);
    assert_null(cs_apisim_store_rtype(s, "", "configmaps"));
    cs_apisim_store_unlock(s);
    cs_apisim_store_free(s);
}

/* Compaction (fault injection "compactNow") keeps only the newest event: a watch resuming
 * from the current resourceVersion misses nothing, any older one is out of the window. */
static void test_compact_keeps_only_the_newest_event(void **state)
{
    (void)state;
    struct cs_apisim_store *s = cs_apisim_store_new(64, 3);
    cs_apisim_store_lock(s);
    struct cs_apisim_rtype *pods = cs_apisim_store_register(s, &pod_def);
    struct cs_apisim_status st;
    const json_t *out = NULL;
    char buf[96];
    for (int i = 0; i < 5; i++) {
        snprintf(buf, sizeof(buf), "{\"metadata\":{\"name\":\"p%d\"}}", i);
        assert_int_equal(cs_apisim_store_create(s, pods, "d", obj(buf), &out, &st), 0);
    }
    uint64_t rv = s->rv;
    struct cs_apisim_event ev;
    assert_true(cs_apisim_store_oldest_rv(s) < rv);
    assert_int_equal(cs_apisim_store_event(s, rv - 1, &ev), 1);
    cs_apisim_store_compact(s);
    assert_int_equal(cs_apisim_store_oldest_rv(s), rv);
    assert_int_equal(cs_apisim_store_event(s, rv - 1, &ev), 0);
    assert_int_equal(cs_apisim_store_event(s, rv, &ev), 1);
    /* history grows again after compaction */
    assert_int_equal(cs_apisim_store_create(s, pods, "d", obj("{\"metadata\":{\"name\":\"q\"}}"),
                                            &out, &st), 0);
    assert_int_equal(cs_apisim_store_event(s, rv, &ev), 1);
    assert_int_equal(cs_apisim_store_event(s, rv + 1, &ev), 1);
    cs_apisim_store_unlock(s);
    cs_apisim_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_stamps_metadata_and_bumps_rv),
        cmocka_unit_test(test_update_conflicts_noops_and_status_subresource),
        cmocka_unit_test(test_update_fn_generation_hooks_and_history),
        cmocka_unit_test(test_pod_delete_is_graceful_only_when_bound),
        cmocka_unit_test(test_list_is_sorted_filtered_and_a_snapshot),
        cmocka_unit_test(test_compact_keeps_only_the_newest_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
