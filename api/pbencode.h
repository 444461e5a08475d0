#ifndef CS_API_PBENCODE_H
#define CS_API_PBENCODE_H
/*
 * The scheduler's two per-pod writes, the pods/binding create and the Scheduled event, encoded
 * straight into the Kubernetes protobuf envelope ("k8s\0" + runtime.Unknown). They carry the
 * same fields as cs_encode_binding_annotated and cs_encode_event write as JSON (api/encode.h),
 * so the server stores the same object either way; the generic path (JSON text -> jansson ->
 * cs_pb_encode_object) stays for every other body. Field numbers are those of k8s.io/api's
 * generated.proto (api/proto/k8s.proto); fields left at their zero value are omitted, which a
 * proto2 reader takes as the zero value. Strings get the JSON encoders' UTF-8 repair (invalid
 * bytes become U+FFFD). Appends to a caller-owned buffer; nothing else is allocated.
 */
#include <stdint.h>

#include "api/encode.h"
#include "pkg/util/buf.h"

void cs_pb_encode_binding(struct cs_buf *b, const char *ns, const char *name, const char *uid,
                          const char *node, const struct cs_label *ann, uint32_t n_ann);
void cs_pb_encode_event(struct cs_buf *b, const struct cs_event *ev);

#endif
