#ifndef CS_PLUGINS_HELPER_OWNERSEL_H
#define CS_PLUGINS_HELPER_OWNERSEL_H
/*
 * The selector kube-scheduler deduces for a pod from what manages it (helper.DefaultSelector):
 * the labels of every Service of the pod's namespace whose selector matches the pod, merged
 * with the selector of the pod's controller when that is a ReplicationController, a ReplicaSet
 * or a StatefulSet. PodTopologySpread's default constraints count the pods this selects.
 *
 * One table per scheduler (cs_fw_shared), fed by watches on v1 services and
 * replicationcontrollers and apps/v1 replicasets and statefulsets (optional: a server that
 * does not serve one counts as having none). Thread: written on the informer thread, read on
 * the scheduling thread; one mutex inside.
 */
#include <stddef.h>

#include "api/plugin.h"
#include "pkg/util/arena.h"

struct cs_owner_table;

/* The scheduler's table (created with its watches by the first caller); NULL with err when a
 * watch cannot be registered. fw NULL (unit tests): a private table freed by
 * cs_owner_table_free. */
struct cs_owner_table *cs_owner_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen);
void cs_owner_table_free(struct cs_owner_table *t);
/* The pod's default selector in cs_selector_parse syntax (in arena a), or NULL when nothing
 * manages the pod (an empty selector: no default constraint applies). */
const char *cs_owner_default_selector(struct cs_owner_table *t, const struct cs_pod *pod,
                                      struct cs_arena *a);
/* Feeding the table directly (tests, and the watch callbacks). kind: "Service",
 * "ReplicationController", "ReplicaSet" or "StatefulSet". */
void cs_owner_table_upsert(struct cs_owner_table *t, const char *kind, const json_t *obj);
void cs_owner_table_delete(struct cs_owner_table *t, const char *kind, const json_t *obj);

#endif
