/* A mutation fuzzer for the protobuf decoders (api/pbjson.h), run under ASan+UBSan: the
 * fixtures read from kube-apiserver (test/fixtures/pb) are damaged in the ways wire data goes
 * wrong -- flipped bits, bytes set to 0x00/0xff/0x80, truncations, lengths and varints made
 * huge, spans duplicated or deleted, two fixtures spliced -- and decoded as an object and as a
 * watch event. The property: every input gives an object or an error with a message, never a
 * crash, a leak, undefined behaviour or a hang, and whatever decodes also encodes.
 * FUZZ_SECONDS (default 20, `make fuzz` runs longer) and FUZZ_SEED choose the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/pbjson.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

struct corpus {
    char *data[40];
    size_t len[40];
    size_t n;
};

static void add(struct corpus *c, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "test/fixtures/pb/%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s", path);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->data[c->n] = cs_malloc((size_t)n + 1);
    assert_int_equal(fread(c->data[c->n], 1, (size_t)n, f), (size_t)n);
    fclose(f);
    c->len[c->n++] = (size_t)n;
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* One damaged copy of a corpus entry into b. */
static void mutate(const struct corpus *c, uint64_t *rng, struct cs_buf *b)
{
    size_t k = next(rng) % c->n;
    cs_buf_reset(b);
    cs_buf_append(b, c->data[k], c->len[k]);
    int edits = 1 + (int)(next(rng) % 4);
    for (int e = 0; e < edits && b->len > 0; e++) {
        size_t at = next(rng) % b->len;
        switch (next(rng) % 8) {
        case 0:
            b->data[at] = (char)(b->data[at] ^ (1 << (next(rng) % 8)));
            break;
        case 1: {
            static const char vals[] = { 0, (char)0xff, (char)0x80, 0x7f, 0x0a, 0x12 };
            b->data[at] = vals[next(rng) % sizeof(vals)];
            break;
        }
        case 2:
            b->len = at; /* truncate */
            break;
        case 3: { /* a huge varint in place */
            static const char big[] = { (char)0xff, (char)0xff, (char)0xff, (char)0xff, 0x0f };
            size_t n = sizeof(big) < b->len - at ? sizeof(big) : b->len - at;
            memcpy(b->data + at, big, n);
            break;
        }
        case 4: { /* delete a span */
            size_t n = next(rng) % 32;
            n = n < b->len - at ? n : b->len - at;
            memmove(b->data + at, b->data + at + n, b->len - at - n);
            b->len -= n;
            break;
        }
        case 5: { /* duplicate a span */
            size_t n = next(rng) % 64;
            n = n < b->len - at ? n : b->len - at;
            char tmp[64];
            memcpy(tmp, b->data + at, n);
            cs_buf_append(b, tmp, n);
            break;
        }
        case 6: { /* splice the tail of another fixture */
            size_t o = next(rng) % c->n, from = next(rng) % c->len[o];
            b->len = at;
            cs_buf_append(b, c->data[o] + from, c->len[o] - from);
            break;
        }
        default: /* an unknown field key */
            b->data[at] = (char)(0xf8 | (next(rng) & 7));
            break;
        }
    }
    cs_buf_reserve(b, 1);
    b->data[b->len] = '\0';
}

static void test_decoders_survive_damaged_wire_data(void **state)
{
    (void)state;
    struct corpus c = { .n = 0 };
    const char *names[] = { "pod.pb", "pod_gated.pb", "pod_vol.pb", "node.pb", "namespace.pb",
                            "priorityclass.pb", "lease.pb", "event.pb", "podlist.pb",
                            "status404.pb", "service.pb", "replicationcontroller.pb",
                            "replicaset.pb", "statefulset.pb", "storageclass.pb", "pvc.pb",
                            "pv.pb", "csinode.pb", "resourcequota.pb", "pdblist.pb",
                            "nodelist.pb", "pvlist.pb" };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        add(&c, names[i]);
    }
    const char *secs = getenv("FUZZ_SECONDS");
    const char *seed = getenv("FUZZ_SEED");
    double limit = secs ? strtod(secs, NULL) : 20;
    uint64_t rng = seed ? strtoull(seed, NULL, 10) : (uint64_t)time(NULL);
    rng = rng ? rng : 1;
    printf("# pbjson fuzz: seed %llu, %.0f s\n", (unsigned long long)rng, limit);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct cs_buf b, out;
    cs_buf_init(&b);
    cs_buf_init(&out);
    unsigned long runs = 0, decoded = 0;
    static const char *const paths[] = { "metadata.name", "metadata.namespace",
                                         "metadata.resourceVersion", "spec.nodeName",
                                         "spec.volumes.persistentVolumeClaim", NULL };
    struct cs_pb_proj *proj = cs_pb_proj_new(paths);
    char err[512];
    for (;;) {
        mutate(&c, &rng, &b);
        err[0] = '\0';
        json_t *j = cs_pb_decode_object(b.data, b.len, err, sizeof(err));
        if (j) {
            decoded++;
            cs_buf_reset(&out);
            if (json_string_value(json_object_get(j, "kind"))) {
                (void)cs_pb_encode_object(j, &out, err, sizeof(err));
            }
        } else if (err[0] == '\0') {
            fail_msg("an input failed without a message (run %lu)", runs);
        }
        /* through a projection: what decodes whole decodes projected (it only skips more) */
        json_t *pj = cs_pb_decode_object_proj(b.data, b.len, proj, err, sizeof(err));
        if ((j && !pj) || (!pj && err[0] == '\0')) {
            fail_msg("the projected decode failed where the whole one did not (run %lu): %s",
                     runs, err);
        }
        json_decref(pj);
        json_decref(j);
        /* the same bytes as a watch event body (past the magic they are a WatchEvent-ish
         * message with random fields) */
        json_decref(cs_pb_decode_watch_event(b.data, b.len, err, sizeof(err)));
        runs++;
        if ((runs & 255) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 >= limit) {
                break;
            }
        }
    }
    printf("# pbjson fuzz: %lu inputs, %lu decoded\n", runs, decoded);
    assert_true(runs > 1000);
    cs_pb_proj_free(proj);
    cs_buf_free(&b);
    cs_buf_free(&out);
    for (size_t i = 0; i < c.n; i++) {
        cs_free(c.data[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoders_survive_damaged_wire_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
