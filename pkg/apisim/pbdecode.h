#ifndef CS_PKG_APISIM_PBDECODE_H
#define CS_PKG_APISIM_PBDECODE_H
/*
 * Minimal decoding of Kubernetes protobuf request bodies (`k8s\0` + runtime.Unknown), for the
 * typed kubectl commands that send protobuf (e.g. `kubectl create namespace`). Only kinds
 * whose wire form is fully covered are accepted: objects consisting of ObjectMeta (name,
 * generateName, namespace, labels, annotations, finalizers) and nothing else that matters,
 * currently Namespace. Returns a new JSON object or NULL with err filled.
 * Thread context: none (pure function).
 */
#include <jansson.h>
#include <stddef.h>

json_t *cs_apisim_pb_decode(const char *data, size_t len, char *err, size_t errlen);

#endif
