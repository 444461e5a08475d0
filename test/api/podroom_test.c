/*
 * A decoded pod is one allocation when it fits (api/podroom.h, cs_pod_new): the pod object sits
 * at the start of its arena's first block, whose size is learnt from the pods decoded before it,
 * and a pod's container resources are kept as compact lists (cs_res_list) that give back the
 * same values as the dense vectors they were packed from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/decode.h"
#include "api/podroom.h"
#include "pkg/util/arena.h"

/* A pod with n_labels labels of about 40 bytes each. */
static struct cs_pod *pod(struct cs_api_ctx *api, int i, int n_labels)
{
    char text[16384], labels[12000] = "";
    size_t off = 0;
    for (int k = 0; k < n_labels; k++)
        off += (size_t)snprintf(labels + off, sizeof(labels) - off,
                                "%s\"example.com/label-%03d\":\"value-value-%03d\"", k ? "," : "",
                                k, k);
    snprintf(text, sizeof(text),
             "{\"metadata\":{\"name\":\"p-%d\",\"namespace\":\"default\",\"uid\":\"u-%d\","
             "\"labels\":{%s}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"pause\","
             "\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"1Gi\"},"
             "\"limits\":{\"cpu\":\"2\"}}}]}}",
             i, i, labels);
    struct cs_pod *p = NULL;
    char err[256];
    assert_int_equal(cs_pod_decode_text(api, text, strlen(text), &p, err, sizeof(err)), 0);
    return p;
}

/* Bytes of the first block's allocation (block header included). */
static size_t first_alloc(const struct cs_pod *p)
{
    return p->arena.block_size + CS_ARENA_BLOCK_OVERHEAD;
}

static void test_pod_lives_in_its_first_block(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *p = pod(&api, 0, 2);
    /* the object is the first thing in its own arena: its address is inside the head block */
    assert_true(p->arena.used_total >= sizeof(struct cs_pod));
    assert_true(p->arena.used_total + CS_ARENA_BLOCK_OVERHEAD <= first_alloc(p));
    assert_int_equal(first_alloc(p), 1024);
    cs_pod_unref(p);  /* frees the block holding p (ASan checks the rest) */
    cs_api_ctx_destroy(&api);
}

static void test_first_block_follows_the_pods_seen(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    /* A new table starts at 1 KiB. Small pods (one label, one container: under 896 bytes with
     * the arena header) move it down to the smallest class that holds them. */
    assert_int_equal(cs_pod_room_size(api.pod_room), 1024);
    size_t small = 0;
    for (int i = 0; i < 300; i++) {
        struct cs_pod *p = pod(&api, i, 1);
        small = p->arena.used_total + CS_ARENA_BLOCK_OVERHEAD;
        cs_pod_unref(p);
    }
    size_t small_cls = cs_pod_room_size(api.pod_room);
    assert_true(small_cls < 1024);
    assert_true(small_cls >= small);
    assert_true(small_cls < small + 128);
    struct cs_pod *sp = pod(&api, 400, 1);
    assert_int_equal(first_alloc(sp), small_cls);  /* and the pod fits it whole */
    assert_true(sp->arena.used_total + CS_ARENA_BLOCK_OVERHEAD <= first_alloc(sp));
    cs_pod_unref(sp);

    /* then pods with 20 labels (~1.9 KiB): within a few windows the class grows to hold them
     * whole, and a new pod no longer spills into a second block */
    size_t need = 0;
    for (int i = 0; i < 1024; i++) {
        struct cs_pod *p = pod(&api, i, 20);
        need = p->arena.used_total + CS_ARENA_BLOCK_OVERHEAD;
        cs_pod_unref(p);
    }
    assert_true(need > 1024);
    size_t cls = cs_pod_room_size(api.pod_room);
    assert_true(cls >= need);
    assert_true(cls < need + 512);  /* the smallest class that fits, not the largest */
    struct cs_pod *p = pod(&api, 5000, 20);
    assert_int_equal(first_alloc(p), cls);
    cs_pod_unref(p);

    /* and back down when the big pods are gone */
    for (int i = 0; i < 2048; i++)
        cs_pod_unref(pod(&api, i, 1));
    assert_int_equal(cs_pod_room_size(api.pod_room), small_cls);
    cs_api_ctx_destroy(&api);
}

static void test_pods_share_container_names_and_images(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *a = pod(&api, 1, 1), *b = pod(&api, 2, 1);
    assert_string_equal(a->containers[0].image, "pause");
    assert_ptr_equal(a->containers[0].image, b->containers[0].image);  /* one copy */
    assert_ptr_equal(a->containers[0].name, b->containers[0].name);
    /* and a pod's name is the tail of its key, not a second copy */
    assert_string_equal(a->key, "default/p-1");
    assert_string_equal(a->name, "p-1");
    assert_ptr_equal(a->name, a->key + strlen("default/"));
    cs_pod_unref(a);
    cs_pod_unref(b);
    cs_api_ctx_destroy(&api);
}

static void test_room_without_a_learner(void **state)
{
    (void)state;
    assert_int_equal(cs_pod_room_size(NULL), 1024);
    cs_pod_room_note(NULL, 5000);  /* ignored, no crash */
}

static void test_resource_lists_keep_the_values(void **state)
{
    (void)state;
    struct cs_arena a;
    cs_arena_init(&a, 1024);
    struct cs_resources r, back;
    memset(&r, 0, sizeof(r));
    assert_null(cs_res_list_pack(&a, &r));  /* nothing named: no list */
    cs_res_list_expand(NULL, &back);
    assert_int_equal(back.present, 0);
    assert_int_equal(cs_res_list_get(NULL, CS_RES_CPU), 0);

    cs_res_set(&r, CS_RES_CPU, 1500);
    cs_res_set(&r, CS_RES_PODS, 0);  /* present even as 0 */
    cs_res_set(&r, 9, 7);
    cs_res_set(&r, CS_RES_MAX - 1, INT64_MAX);
    const struct cs_res_list *l = cs_res_list_pack(&a, &r);
    assert_non_null(l);
    assert_int_equal(cs_res_list_get(l, CS_RES_CPU), 1500);
    assert_int_equal(cs_res_list_get(l, CS_RES_MEMORY), 0);
    assert_false(cs_res_list_has(l, CS_RES_MEMORY));
    assert_true(cs_res_list_has(l, CS_RES_PODS));
    assert_int_equal(cs_res_list_get(l, 9), 7);
    assert_int_equal(cs_res_list_get(l, CS_RES_MAX - 1), INT64_MAX);
    cs_res_list_expand(l, &back);
    assert_memory_equal(&back, &r, sizeof(r));

    struct cs_resources r2 = r;
    assert_true(cs_res_list_eq(l, cs_res_list_pack(&a, &r2)));
    cs_res_set(&r2, 9, 8);
    assert_false(cs_res_list_eq(l, cs_res_list_pack(&a, &r2)));
    r2 = r;
    cs_res_set(&r2, CS_RES_MEMORY, 0);  /* same values, one more name */
    assert_false(cs_res_list_eq(l, cs_res_list_pack(&a, &r2)));
    assert_false(cs_res_list_eq(l, NULL));
    assert_true(cs_res_list_eq(NULL, NULL));
    cs_arena_destroy(&a);
}

static void test_decoded_container_resources(void **state)
{
    (void)state;
    struct cs_api_ctx api;
    cs_api_ctx_init(&api);
    struct cs_pod *p = pod(&api, 1, 0);
    const struct cs_container *c = &p->containers[0];
    assert_int_equal(cs_res_list_get(c->requests, CS_RES_CPU), 100);
    assert_int_equal(cs_res_list_get(c->requests, CS_RES_MEMORY), 1LL << 30);
    assert_int_equal(cs_res_list_get(c->limits, CS_RES_CPU), 2000);
    assert_false(cs_res_list_has(c->limits, CS_RES_MEMORY));
    /* no overhead and no pod-level resources: nothing kept for them */
    assert_null(p->overhead);
    assert_null(p->pod_requests);
    assert_int_equal(p->nonzero_cpu, 100);
    assert_int_equal(p->nonzero_memory, 1LL << 30);
    cs_pod_unref(p);
    cs_api_ctx_destroy(&api);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pod_lives_in_its_first_block),
        cmocka_unit_test(test_first_block_follows_the_pods_seen),
        cmocka_unit_test(test_pods_share_container_names_and_images),
        cmocka_unit_test(test_room_without_a_learner),
        cmocka_unit_test(test_resource_lists_keep_the_values),
        cmocka_unit_test(test_decoded_container_resources),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
