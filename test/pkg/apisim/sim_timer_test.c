/* The simulation's timer heap: earliest deadline first, FIFO among equal deadlines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "pkg/apisim/sim_internal.h"
#include "pkg/util/alloc.h"

static void test_timer_heap_orders_by_deadline(void **state)
{
    (void)state;
    struct cs_apisim_timer_heap h;
    struct cs_apisim_timer t;
    cs_apisim_timer_heap_init(&h);
    assert_null(cs_apisim_timer_peek(&h));
    assert_int_equal(cs_apisim_timer_pop(&h, &t), 0);
    cs_apisim_timer_push(&h, 30, CS_APISIM_T_RUN, "ns/c", "u3");
    cs_apisim_timer_push(&h, 10, CS_APISIM_T_FINISH, "ns/a", "u1");
    cs_apisim_timer_push(&h, 20, CS_APISIM_T_RUN, "ns/b", "u2");
    assert_int_equal(cs_apisim_timer_peek(&h)->deadline_ns, 10);
    static const char *const want[] = { "ns/a", "ns/b", "ns/c" };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cs_apisim_timer_pop(&h, &t), 1);
        assert_string_equal(t.key, want[i]);
        assert_int_equal(t.kind, i == 0 ? CS_APISIM_T_FINISH : CS_APISIM_T_RUN);
        cs_free(t.key);
        cs_free(t.uid);
    }
    assert_int_equal(h.len, 0);
    cs_apisim_timer_heap_free(&h);
}

static void test_timer_heap_fifo_ties_and_random(void **state)
{
    (void)state;
    struct cs_apisim_timer_heap h;
    struct cs_apisim_timer t;
    char key[32];
    cs_apisim_timer_heap_init(&h);
    /* Equal deadlines come out in insertion order. */
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "ns/p%d", i);
        cs_apisim_timer_push(&h, 5, CS_APISIM_T_RUN, key, "");
    }
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "ns/p%d", i);
        assert_int_equal(cs_apisim_timer_pop(&h, &t), 1);
        assert_string_equal(t.key, key);
        cs_free(t.key);
        cs_free(t.uid);
    }
    /* Pseudo-random deadlines: popped in non-decreasing order; all come back. */
    uint64_t x = 12345;
    for (int i = 0; i < 5000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        cs_apisim_timer_push(&h, (int64_t)(x >> 40), CS_APISIM_T_RUN, "ns/x", "u");
    }
    int64_t last = -1;
    int n = 0;
    while (cs_apisim_timer_pop(&h, &t)) {
        assert_true(t.deadline_ns >= last);
        last = t.deadline_ns;
        cs_free(t.key);
        cs_free(t.uid);
        n++;
    }
    assert_int_equal(n, 5000);
    /* Freeing a non-empty heap releases its keys (checked by ASan). */
    cs_apisim_timer_push(&h, 1, CS_APISIM_T_RUN, "ns/left", "u");
    cs_apisim_timer_heap_free(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer_heap_orders_by_deadline),
        cmocka_unit_test(test_timer_heap_fifo_ties_and_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
