#ifndef CS_API_PBJSON_H
#define CS_API_PBJSON_H
/*
 * Kubernetes protobuf wire format <-> jansson, for the built-in kinds cosched reads and writes.
 *
 * The schema is our own (api/proto/k8s.proto, compiled with protoc-c): it names only the fields
 * cosched's decoders read and its writers send, with the field numbers of the Kubernetes wire
 * format (k8s.io/api generated.proto). Conversion walks the wire bytes guided by protobuf-c's
 * message descriptors; fields the schema does not name (managedFields first) are skipped without
 * being copied. The JSON produced reads as the apiserver's own JSON would for those fields
 * (omitempty, Quantity and Time as strings, IntOrString, maps as objects), so every JSON decoder
 * in cosched works unchanged on it.
 *
 * Envelope: a single object or list is the 4 bytes "k8s\0" followed by a runtime.Unknown
 * (typeMeta{apiVersion, kind}, raw = the object's own message). A watch stream
 * (application/vnd.kubernetes.protobuf;stream=watch) is a sequence of frames: a 4-byte
 * big-endian length, then a metav1.WatchEvent{type, object.raw = an enveloped object}.
 *
 * Errors: NULL / -1 with err filled, naming the object when its identity could be read
 * ("pod ns/name: spec.containers[0]: truncated field"); never a crash on any input.
 * Thread context: none (pure functions; the schema tables are read-only).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "pkg/util/buf.h"

#define CS_PB_MEDIA "application/vnd.kubernetes.protobuf"
#define CS_PB_MEDIA_WATCH "application/vnd.kubernetes.protobuf;stream=watch"

/* Whether the schema has apiVersion/kind (e.g. "v1"/"Pod", "v1"/"PodList"). */
bool cs_pb_known(const char *api_version, const char *kind);

/* An enveloped body -> a new JSON object with apiVersion and kind set from the envelope. A list
 * kind gives {"apiVersion","kind","metadata":{resourceVersion, continue, remainingItemCount},
 * "items":[...]} with items as in the server's JSON list (no apiVersion/kind of their own). */
json_t *cs_pb_decode_object(const void *buf, size_t len, char *err, size_t errlen);

/* One watch frame's payload (without its 4-byte length) -> {"type":"ADDED", "object":{...}}. */
json_t *cs_pb_decode_watch_event(const void *buf, size_t len, char *err, size_t errlen);

/* One watch frame's payload split without converting anything: the event's type (not
 * terminated) and the enveloped object's bytes, both pointing into buf. 0, or -1 with err. */
int cs_pb_watch_split(const void *buf, size_t len, const char **type, size_t *type_len,
                      const void **obj, size_t *obj_len, char *err, size_t errlen);

/* A projection: the members a caller needs, as JSON paths ("metadata.name", "spec.nodeName"). A
 * node without members (n == 0) stands for its whole value, and so does a map (paths below a
 * map's name are taken as the map's name). A decode through one converts only
 * what it names (plus apiVersion and kind) and skips the rest of the bytes unconverted; the
 * bytes are still checked as far as they are walked. Built by cs_pb_proj_new from a
 * NULL-terminated list (NULL on an empty segment such as "a..b" or on ENOMEM); immutable after,
 * so one projection may be shared by threads. */
struct cs_pb_proj {
    char *name;                  /* JSON member name; NULL at the root */
    struct cs_pb_proj *kids;
    size_t n;
};
struct cs_pb_proj *cs_pb_proj_new(const char *const *paths);
void cs_pb_proj_free(struct cs_pb_proj *pj);

/* cs_pb_decode_object keeping only what proj names (NULL or an empty root: everything). */
json_t *cs_pb_decode_object_proj(const void *buf, size_t len, const struct cs_pb_proj *proj,
                                 char *err, size_t errlen);

/* obj (its apiVersion and kind must be set and known) -> envelope appended to out. */
int cs_pb_encode_object(const json_t *obj, struct cs_buf *out, char *err, size_t errlen);

/* Wire-format writers (for hand-written encoders such as api/pbencode.c): a varint, a field key
 * (wire type 0 varint, 2 length-delimited), a length-delimited field. */
void cs_pb_put_varint(struct cs_buf *b, uint64_t v);
void cs_pb_put_key(struct cs_buf *b, uint32_t field, unsigned wire_type);
void cs_pb_put_bytes(struct cs_buf *b, uint32_t field, const void *p, size_t n);

/* A watch frame (4-byte length included) for type and obj, appended to out. */
int cs_pb_encode_watch_event(const char *type, const json_t *obj, struct cs_buf *out, char *err,
                             size_t errlen);

#endif
