/* Kinds of the protobuf schema (see pbkinds.h); the rules table is generated into pbomit.c. */
#include "api/pbkinds.h"

#include <string.h>

#include "api/proto/k8s.pb-c.h"

static const struct {
    const char *api_version, *kind;
    const ProtobufCMessageDescriptor *desc;
} KINDS[] = {
    { "v1", "Pod", &cs__k8s__pod__descriptor },
    { "v1", "PodList", &cs__k8s__pod_list__descriptor },
    { "v1", "Node", &cs__k8s__node__descriptor },
    { "v1", "NodeList", &cs__k8s__node_list__descriptor },
    { "v1", "Binding", &cs__k8s__binding__descriptor },
    { "v1", "Namespace", &cs__k8s__namespace__descriptor },
    { "v1", "NamespaceList", &cs__k8s__namespace_list__descriptor },
    { "v1", "Status", &cs__k8s__status__descriptor },
    { "events.k8s.io/v1", "Event", &cs__k8s__event__descriptor },
    { "events.k8s.io/v1", "EventList", &cs__k8s__event_list__descriptor },
    { "coordination.k8s.io/v1", "Lease", &cs__k8s__lease__descriptor },
    { "coordination.k8s.io/v1", "LeaseList", &cs__k8s__lease_list__descriptor },
    { "scheduling.k8s.io/v1", "PriorityClass", &cs__k8s__priority_class__descriptor },
    { "scheduling.k8s.io/v1", "PriorityClassList", &cs__k8s__priority_class_list__descriptor },
    { "v1", "Service", &cs__k8s__service__descriptor },
    { "v1", "ServiceList", &cs__k8s__service_list__descriptor },
    { "v1", "ReplicationController", &cs__k8s__replication_controller__descriptor },
    { "v1", "ReplicationControllerList", &cs__k8s__replication_controller_list__descriptor },
    { "v1", "PersistentVolumeClaim", &cs__k8s__persistent_volume_claim__descriptor },
    { "v1", "PersistentVolumeClaimList", &cs__k8s__persistent_volume_claim_list__descriptor },
    { "v1", "PersistentVolume", &cs__k8s__persistent_volume__descriptor },
    { "v1", "PersistentVolumeList", &cs__k8s__persistent_volume_list__descriptor },
    { "v1", "ResourceQuota", &cs__k8s__resource_quota__descriptor },
    { "v1", "ResourceQuotaList", &cs__k8s__resource_quota_list__descriptor },
    { "policy/v1", "PodDisruptionBudget", &cs__k8s__pod_disruption_budget__descriptor },
    { "policy/v1", "PodDisruptionBudgetList", &cs__k8s__pod_disruption_budget_list__descriptor },
    { "policy/v1", "Eviction", &cs__k8s__eviction__descriptor },
    { "apps/v1", "ReplicaSet", &cs__k8s__replica_set__descriptor },
    { "apps/v1", "ReplicaSetList", &cs__k8s__replica_set_list__descriptor },
    { "apps/v1", "StatefulSet", &cs__k8s__stateful_set__descriptor },
    { "apps/v1", "StatefulSetList", &cs__k8s__stateful_set_list__descriptor },
    { "storage.k8s.io/v1", "StorageClass", &cs__k8s__storage_class__descriptor },
    { "storage.k8s.io/v1", "StorageClassList", &cs__k8s__storage_class_list__descriptor },
    { "storage.k8s.io/v1", "CSINode", &cs__k8s__csinode__descriptor },
    { "storage.k8s.io/v1", "CSINodeList", &cs__k8s__csinode_list__descriptor },
};

const ProtobufCMessageDescriptor *cs_pb_kind_desc(const char *api_version, const char *kind)
{
    if (api_version == NULL || kind == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
        if (strcmp(KINDS[i].kind, kind) == 0 && strcmp(KINDS[i].api_version, api_version) == 0) {
            return KINDS[i].desc;
        }
    }
    return NULL;
}

const char *cs_pb_kind_api_version(const char *kind)
{
    if (kind == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < sizeof(KINDS) / sizeof(KINDS[0]); i++) {
        if (strcmp(KINDS[i].kind, kind) == 0) {
            return KINDS[i].api_version;
        }
    }
    return NULL;
}

const struct cs_pb_rule *cs_pb_rule_of(const ProtobufCMessageDescriptor *md)
{
    for (size_t i = 0; i < cs_pb_n_rules; i++) {
        if (cs_pb_rules[i].desc == md) {
            return &cs_pb_rules[i];
        }
    }
    return NULL;
}
