/*
 * Specification of the framework handle's shared objects (pkg/framework/handle.c): one object
 * per key whatever the number of callers; a create() may itself ask for another shared object
 * (CapacityScheduling's state asks for the PodDisruptionBudget table), and objects are
 * destroyed in reverse order of creation, so an object outlives everything created from it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pkg/framework/handle.h"
#include "pkg/util/alloc.h"

static char order[8][16];
static int n_order;

struct obj {
    char name[16];
    void *inner;
};

static void destroy(void *p)
{
    struct obj *o = p;
    snprintf(order[n_order++], sizeof(order[0]), "%s", o->name);
    cs_free(o);
}

static void *create_inner(void *arg)
{
    (void)arg;
    struct obj *o = cs_calloc(1, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "inner");
    return o;
}

static void *create_outer(void *arg)
{
    struct cs_fw_handle *h = arg;
    struct obj *o = cs_calloc(1, sizeof(*o));
    snprintf(o->name, sizeof(o->name), "outer");
    /* Several inner requests while the outer one is being created (the table grows). */
    o->inner = cs_fw_shared(h, "inner", create_inner, destroy, NULL);
    for (int i = 0; i < 5; i++) {
        assert_ptr_equal(cs_fw_shared(h, "inner", create_inner, destroy, NULL), o->inner);
    }
    return o;
}

static void test_shared_reentrant_and_destroyed_in_reverse(void **state)
{
    (void)state;
    struct cs_fw_handle h;
    cs_fw_handle_init(&h);
    n_order = 0;
    struct obj *outer = cs_fw_shared(&h, "outer", create_outer, destroy, &h);
    assert_non_null(outer);
    assert_string_equal(outer->name, "outer");
    assert_ptr_equal(cs_fw_shared(&h, "outer", create_outer, destroy, &h), outer);
    struct obj *inner = cs_fw_shared(&h, "inner", create_inner, destroy, NULL);
    assert_ptr_equal(inner, outer->inner);
    assert_int_equal(h.n_shared, 2);
    cs_fw_handle_destroy(&h);
    assert_int_equal(n_order, 2);
    assert_string_equal(order[0], "outer");
    assert_string_equal(order[1], "inner");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_reentrant_and_destroyed_in_reverse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
