#ifndef CS_API_DECODE_H
#define CS_API_DECODE_H
/*
 * JSON -> Pod / Node, from what `kubectl get -o json` prints, a list's items or a watch event's
 * object (kind and apiVersion may be absent; when kind is present it must match).
 *
 * Rules: unknown fields are ignored; a field of the wrong JSON type, an invalid quantity, time
 * or enum value is an error, reported as
 *     pod <ns>/<name>: <field path>: <what is wrong>
 * (node <name>: ...), with "<unknown>" for the identity when metadata itself is broken.
 * JSON null is treated as absent. Derived fields (requests, nonzero_requests, host ports) are
 * computed by api/requests.c before returning.
 *
 * Ownership: on success *out holds one reference (release with cs_pod_unref/cs_node_unref); on
 * error *out is NULL and nothing leaks. ctx is shared and thread-safe; obj is only borrowed.
 */
#include <stddef.h>

#include <jansson.h>

#include "api/types.h"

int cs_pod_decode(const struct cs_api_ctx *ctx, const json_t *obj, struct cs_pod **out, char *err,
                  size_t errlen);
int cs_node_decode(const struct cs_api_ctx *ctx, const json_t *obj, struct cs_node **out,
                   char *err, size_t errlen);

/* A pod that fails cs_pod_decode is still read as far as it can be, so that a bound pod keeps
 * counting on its node (requests, host ports, labels) and a pending one can be told why it
 * waits: first without the fields scheduling constraints live in (affinity, tolerations,
 * topology spread, node selector, scheduling gates), then, if its containers are unreadable
 * too, with identity, labels and node name only (it counts as one pod). Returns 0 with
 * (*out)->decode_error set to the full decode's error (NULL when that succeeded), or -1 when
 * not even the identity can be read. */
int cs_pod_decode_lenient(const struct cs_api_ctx *ctx, const json_t *obj, struct cs_pod **out,
                          char *err, size_t errlen);

/* The same from JSON text (len bytes). A syntax error is reported with line and column. */
int cs_pod_decode_text(const struct cs_api_ctx *ctx, const char *text, size_t len,
                       struct cs_pod **out, char *err, size_t errlen);
int cs_node_decode_text(const struct cs_api_ctx *ctx, const char *text, size_t len,
                        struct cs_node **out, char *err, size_t errlen);

/* Set up / tear down a context with its own intern and resource-name tables. */
void cs_api_ctx_init(struct cs_api_ctx *ctx);
void cs_api_ctx_destroy(struct cs_api_ctx *ctx);

#endif
