#ifndef CS_API_PBKINDS_H
#define CS_API_PBKINDS_H
/*
 * The kinds of cosched's protobuf schema (api/proto/k8s.proto) and the JSON conventions the
 * converter (api/pbjson.c) needs from Go's types: which apiVersion/kind each top-level message
 * is, and which scalar fields JSON prints even when zero (pointers in Go, or no omitempty).
 * Read-only tables; thread-safe.
 */
#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

/* The message of apiVersion/kind, or NULL when the schema does not have it. */
const ProtobufCMessageDescriptor *cs_pb_kind_desc(const char *api_version, const char *kind);

/* The apiVersion of kind (e.g. "Lease" -> "coordination.k8s.io/v1"), or NULL when the schema
 * does not have it. */
const char *cs_pb_kind_api_version(const char *kind);

/* Whether field of message (short names, e.g. "PodSpec", "priority") keeps a zero value in JSON
 * (api/pbomit.c). */
bool cs_pb_keep_zero(const char *message, const char *field);

#endif
