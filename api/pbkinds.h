#ifndef CS_API_PBKINDS_H
#define CS_API_PBKINDS_H
/*
 * The kinds of cosched's protobuf schema (api/proto/k8s.proto) and the JSON conventions the
 * converter (api/pbjson.c) needs from Go's types: which apiVersion/kind each top-level message
 * is, which value fields JSON prints even when zero (no omitempty) and which are embedded
 * (json:",inline"). Whether a field is a Go pointer is its label in the schema (`optional`; a
 * value field is `required`). Read-only tables; thread-safe.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* The message of apiVersion/kind, or NULL when the schema does not have it. */
const ProtobufCMessageDescriptor *cs_pb_kind_desc(const char *api_version, const char *kind);

/* The apiVersion of kind (e.g. "Lease" -> "coordination.k8s.io/v1"), or NULL when the schema
 * does not have it. */
const char *cs_pb_kind_api_version(const char *kind);

/* Per message, bit masks of field numbers (all below 64 in the schema; hack/genproto.py checks):
 * keep = value scalars JSON prints when zero, inline = embedded messages. Generated into
 * api/pbomit.c by hack/genproto.py. */
#define CS_PB_BIT(n) ((uint64_t)1 << (n))
struct cs_pb_rule {
    const ProtobufCMessageDescriptor *desc;
    uint64_t keep, inline_;
};
extern const struct cs_pb_rule cs_pb_rules[];
extern const size_t cs_pb_n_rules;

/* The rule of md, or NULL when it has none (every zero value scalar omitted, nothing inline). */
const struct cs_pb_rule *cs_pb_rule_of(const ProtobufCMessageDescriptor *md);

#endif
