/* libFuzzer target for the protobuf decoders (api/pbjson.h), built with clang
 * -fsanitize=fuzzer,address,undefined by hack/fuzz.sh (`make fuzz`). Each input is decoded as an
 * enveloped object and as a watch frame's payload; whatever decodes must encode again (and the
 * re-encoded bytes decode), and decoded through a projection (what decodes whole decodes
 * projected: a projection only skips more). Seeds: the kube-apiserver fixtures of test/fixtures/pb. The property
 * is the sanitizers' (no crash, no leak, no undefined behaviour) plus the asserts below. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/pbjson.h"
#include "pkg/util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(json_t *j)
{
    char err[512];
    struct cs_buf b;
    cs_buf_init(&b);
    if (cs_pb_encode_object(j, &b, err, sizeof(err)) == 0) {
        json_t *k = cs_pb_decode_object(b.data, b.len, err, sizeof(err));
        if (k == NULL) {
            abort(); /* what we encode we must read back */
        }
        json_decref(k);
    }
    cs_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct cs_pb_proj *pj;
    if (pj == NULL) {
        static const char *const paths[] = { "metadata.name", "metadata.namespace",
                                             "metadata.resourceVersion", "spec.nodeName",
                                             "spec.volumes.persistentVolumeClaim", NULL };
        pj = cs_pb_proj_new(paths);
    }
    char err[512];
    json_t *j = cs_pb_decode_object(data, size, err, sizeof(err));
    json_t *p = cs_pb_decode_object_proj(data, size, pj, err, sizeof(err));
    if ((j != NULL && p == NULL) || (p == NULL && err[0] == '\0')) {
        abort();
    }
    json_decref(p);
    if (j != NULL) {
        reencode(j);
        json_decref(j);
    }
    json_t *ev = cs_pb_decode_watch_event(data, size, err, sizeof(err));
    if (ev == NULL && err[0] == '\0') {
        abort();
    }
    json_decref(ev);
    return 0;
}
