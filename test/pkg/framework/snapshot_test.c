/*
 * Specification of the scheduling snapshot (pkg/framework/snapshot.c): the image index (how
 * many listed nodes have each image) across upserts and removals, the epoch that changes exactly
 * when the node list or the image index changes, the dense node list (index/vers consistent
 * after swaps), and per-node versions that strictly increase on every change, whether through
 * upsert or an in-place change published with cs_snapshot_touch.
 */
#include "test/pkg/framework/fwtest.h"

static struct cs_node *node_with_images(const struct cs_api_ctx *api, const char *name,
                                        const char *images_json)
{
    return fw_nodef(api,
                    "{'metadata':{'name':'%s'},'status':{'allocatable':{'cpu':'4','memory':'8Gi',"
                    "'pods':'110'},'images':%s}}",
                    name, images_json);
}

static struct cs_node_info *upsert_node(struct cs_snapshot *s, struct cs_node *n)
{
    struct cs_node_info *ni = fw_snap_add(s, n, NULL, 0);
    cs_node_unref(n);
    return ni;
}

/* Image counts follow upserts (old images subtracted, new added) and removals; every name of
 * an image counts; a re-upsert of the same Node object changes nothing. */
static void test_snapshot_image_counts(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_snapshot s;
    cs_snapshot_init(&s);
    upsert_node(&s, node_with_images(&api, "n1",
                                     "[{'names':['reg/a:1','reg/a@sha256:aa'],'sizeBytes':100}]"));
    upsert_node(&s, node_with_images(&api, "n2",
                                     "[{'names':['reg/a:1'],'sizeBytes':100},"
                                     "{'names':['reg/b:2'],'sizeBytes':200}]"));
    upsert_node(&s, node_with_images(&api, "n3", "[]"));
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a:1"), 2);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a@sha256:aa"), 1);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/b:2"), 1);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/c:3"), 0);

    /* Same Node object again (e.g. a pod change): counts unchanged. */
    struct cs_node_info *n2 = cs_snapshot_get(&s, "n2");
    struct cs_node_info tmp;
    cs_node_info_init(&tmp, n2->name);
    cs_node_info_copy(&tmp, n2);
    cs_snapshot_upsert(&s, &tmp);
    cs_node_info_destroy(&tmp);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a:1"), 2);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/b:2"), 1);

    /* n1's new version no longer has a, but has b. */
    upsert_node(&s, node_with_images(&api, "n1", "[{'names':['reg/b:2'],'sizeBytes':200}]"));
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a:1"), 1);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a@sha256:aa"), 0);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/b:2"), 2);

    cs_snapshot_remove(&s, "n2");
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a:1"), 0);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/b:2"), 1);
    cs_snapshot_remove(&s, "n1");
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/b:2"), 0);
    assert_int_equal(cs_map_len(&s.images), 0);

    /* Removing an absent node is a no-op. */
    cs_snapshot_remove(&s, "n1");
    assert_int_equal(cs_snapshot_num_nodes(&s), 1);
    cs_snapshot_destroy(&s);
    cs_api_ctx_destroy(&api);
}

/* A node that becomes a placeholder (no Node object) leaves the image index too. */
static void test_snapshot_placeholder_drops_images(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_snapshot s;
    cs_snapshot_init(&s);
    upsert_node(&s, node_with_images(&api, "n1", "[{'names':['reg/a:1'],'sizeBytes':1}]"));
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a:1"), 1);
    struct cs_node_info ph;
    cs_node_info_init(&ph, cs_snapshot_get(&s, "n1")->name);
    cs_snapshot_upsert(&s, &ph);
    cs_node_info_destroy(&ph);
    assert_int_equal(cs_snapshot_image_nodes(&s, "reg/a:1"), 0);
    assert_int_equal(cs_snapshot_num_nodes(&s), 0);
    assert_non_null(cs_snapshot_get(&s, "n1"));
    cs_snapshot_destroy(&s);
    cs_api_ctx_destroy(&api);
}

/* The epoch moves when the node list changes (add, remove, node -> placeholder and back) or
 * the image index changes, and stays when only a listed node's pods change. */
static void test_snapshot_epoch(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_snapshot s;
    cs_snapshot_init(&s);
    uint64_t ep = s.epoch;
    struct cs_node *n1 = node_with_images(&api, "n1", "[]");
    fw_snap_add(&s, n1, NULL, 0);
    assert_true(s.epoch > ep);
    ep = s.epoch;
    upsert_node(&s, node_with_images(&api, "n2", "[]"));
    assert_true(s.epoch > ep);
    ep = s.epoch;

    /* Pods change on n1 (same Node object): same epoch. */
    struct cs_pod *p = fw_pod(&api, "{'metadata':{'name':'p','namespace':'d'},'spec':{"
                                    "'containers':[{'name':'c','image':'i'}]}}");
    fw_snap_add(&s, n1, &p, 1);
    assert_int_equal(s.epoch, ep);
    /* In-place change published with touch: same epoch. */
    struct cs_node_info *ni = cs_snapshot_get(&s, "n2");
    cs_node_info_add_pod(ni, p);
    cs_snapshot_touch(&s, ni);
    assert_int_equal(s.epoch, ep);

    /* A new Node object with an image: the image index changed. */
    upsert_node(&s, node_with_images(&api, "n1", "[{'names':['x:1'],'sizeBytes':1}]"));
    assert_true(s.epoch > ep);
    ep = s.epoch;

    /* A placeholder for a name not listed does not change the list. */
    struct cs_node_info ph;
    cs_node_info_init(&ph, "ghost");
    cs_snapshot_upsert(&s, &ph);
    assert_int_equal(s.epoch, ep);
    assert_int_equal(cs_snapshot_num_nodes(&s), 2);
    cs_node_info_destroy(&ph);

    /* Listed node -> placeholder: leaves the list. */
    cs_node_info_init(&ph, cs_snapshot_get(&s, "n2")->name);
    cs_snapshot_upsert(&s, &ph);
    cs_node_info_destroy(&ph);
    assert_true(s.epoch > ep);
    assert_int_equal(cs_snapshot_num_nodes(&s), 1);
    ep = s.epoch;
    /* ... and back. */
    upsert_node(&s, node_with_images(&api, "n2", "[]"));
    assert_true(s.epoch > ep);
    assert_int_equal(cs_snapshot_num_nodes(&s), 2);
    ep = s.epoch;

    cs_snapshot_remove(&s, "n1");
    assert_true(s.epoch > ep);
    ep = s.epoch;
    cs_snapshot_remove(&s, "ghost"); /* not listed: list unchanged */
    assert_int_equal(s.epoch, ep);
    assert_null(cs_snapshot_get(&s, "ghost"));

    cs_pod_unref(p);
    cs_node_unref(n1);
    cs_snapshot_destroy(&s);
    cs_api_ctx_destroy(&api);
}

/* Removing a node from the middle keeps the list dense: index and vers stay consistent. */
static void test_snapshot_list_stays_dense(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_snapshot s;
    cs_snapshot_init(&s);
    char name[16];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        upsert_node(&s, node_with_images(&api, name, "[]"));
    }
    for (int i = 0; i < 100; i += 3) {
        snprintf(name, sizeof(name), "n%d", i);
        cs_snapshot_remove(&s, name);
    }
    assert_int_equal(cs_snapshot_num_nodes(&s), 66);
    for (uint32_t i = 0; i < cs_snapshot_num_nodes(&s); i++) {
        struct cs_node_info *ni = cs_snapshot_node_at(&s, i);
        assert_int_equal(ni->index, (int32_t)i);
        assert_int_equal(s.vers[i], ni->generation);
        assert_ptr_equal(cs_snapshot_node(&s, ni->name), ni);
        int k = -1;
        assert_int_equal(sscanf(ni->name, "n%d", &k), 1);
        assert_true(k % 3 != 0);
    }
    assert_null(cs_snapshot_node_at(&s, 66));
    cs_snapshot_destroy(&s);
    cs_api_ctx_destroy(&api);
}

/* A node's version strictly increases on every upsert (even when the source's own generation
 * is lower than what the snapshot handed out) and on every in-place change published with
 * touch; vers always mirrors it. */
static void test_snapshot_versions_strictly_increase(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_snapshot s;
    cs_snapshot_init(&s);
    struct cs_node *na = node_with_images(&api, "a", "[]");
    struct cs_node *nb = node_with_images(&api, "b", "[]");
    struct cs_pod *p = fw_pod(&api, "{'metadata':{'name':'p','namespace':'d'},'spec':{"
                                    "'containers':[{'name':'c','image':'i'}]}}");
    struct cs_node_info src;
    cs_node_info_init(&src, na->name);
    cs_node_info_set_node(&src, na);
    struct cs_node_info *a = cs_snapshot_upsert(&s, &src);
    struct cs_node_info *b = fw_snap_add(&s, nb, NULL, 0);
    uint64_t last = a->generation;
    assert_true(last > 0);
    for (int round = 0; round < 50; round++) {
        if (round % 3 == 0) {
            /* The source's generation stays small (like the cache's) */
            src.generation = 1;
            struct cs_node_info *again = cs_snapshot_upsert(&s, &src);
            assert_ptr_equal(again, a);
        } else if (round % 3 == 1) {
            cs_node_info_add_pod(a, p);
            cs_snapshot_touch(&s, a);
        } else {
            assert_int_equal(cs_node_info_remove_pod(a, p), 0);
            cs_snapshot_touch(&s, a);
            /* Interleave changes of another node. */
            fw_snap_add(&s, nb, &p, 1);
        }
        if (a->generation <= last) {
            print_error("round %d: version %llu after %llu\n", round,
                        (unsigned long long)a->generation, (unsigned long long)last);
        }
        assert_true(a->generation > last);
        assert_int_equal(s.vers[a->index], a->generation);
        assert_int_equal(s.vers[b->index], b->generation);
        last = a->generation;
    }
    /* A removed and re-added node is a new list entry: its version may be lower than the old
     * entry's (in-place versions are per node), so the epoch moves, which is what drops every
     * per-index cached result. */
    uint64_t ep = s.epoch;
    cs_snapshot_remove(&s, "a");
    a = cs_snapshot_upsert(&s, &src);
    assert_true(s.epoch > ep);
    assert_true(a->generation > 0);
    assert_int_equal(s.vers[a->index], a->generation);
    cs_node_info_destroy(&src);
    cs_pod_unref(p);
    cs_node_unref(na);
    cs_node_unref(nb);
    cs_snapshot_destroy(&s);
    cs_api_ctx_destroy(&api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_snapshot_image_counts),
        cmocka_unit_test(test_snapshot_placeholder_drops_images),
        cmocka_unit_test(test_snapshot_epoch),
        cmocka_unit_test(test_snapshot_list_stays_dense),
        cmocka_unit_test(test_snapshot_versions_strictly_increase),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
