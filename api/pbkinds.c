/* Kinds and zero-value conventions of the protobuf schema (see pbkinds.h). */
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

/* Scalars JSON prints when zero: Go pointers (present on the wire only when set, so a zero on
 * the wire is a real zero) and fields whose json tag has no omitempty (k8s.io/api types.go).
 * "*" stands for every field of the message. */
static const struct {
    const char *message, *field;
} KEEP[] = {
    { "ObjectMeta", "deletionGracePeriodSeconds" },
    { "OwnerReference", "controller" },
    { "OwnerReference", "blockOwnerDeletion" },
    { "OwnerReference", "apiVersion" },
    { "OwnerReference", "kind" },
    { "OwnerReference", "name" },
    { "OwnerReference", "uid" },
    { "PodSpec", "terminationGracePeriodSeconds" },
    { "PodSpec", "activeDeadlineSeconds" },
    { "PodSpec", "automountServiceAccountToken" },
    { "PodSpec", "priority" },
    { "PodSpec", "enableServiceLinks" },
    { "PodSpec", "shareProcessNamespace" },
    { "PodSpec", "setHostnameAsFQDN" },
    { "PodSpec", "preemptionPolicy" },
    { "PodSpec", "runtimeClassName" },
    { "Container", "name" },
    { "ContainerPort", "containerPort" },
    { "TopologySpreadConstraint", "maxSkew" },
    { "TopologySpreadConstraint", "topologyKey" },
    { "TopologySpreadConstraint", "whenUnsatisfiable" },
    { "TopologySpreadConstraint", "minDomains" },
    { "TopologySpreadConstraint", "nodeAffinityPolicy" },
    { "TopologySpreadConstraint", "nodeTaintsPolicy" },
    { "Toleration", "tolerationSeconds" },
    { "Taint", "key" },
    { "Taint", "effect" },
    { "NodeSelectorRequirement", "key" },
    { "NodeSelectorRequirement", "operator" },
    { "LabelSelectorRequirement", "key" },
    { "LabelSelectorRequirement", "operator" },
    { "WeightedPodAffinityTerm", "weight" },
    { "PreferredSchedulingTerm", "weight" },
    { "PodAffinityTerm", "topologyKey" },
    { "PodCondition", "type" },
    { "PodCondition", "status" },
    { "NodeCondition", "type" },
    { "NodeCondition", "status" },
    { "NamespaceCondition", "type" },
    { "NamespaceCondition", "status" },
    { "PodSchedulingGate", "name" },
    { "ContainerImage", "names" },
    { "NodeSystemInfo", "*" },
    { "DaemonEndpoint", "Port" },
    { "NodeAddress", "type" },
    { "NodeAddress", "address" },
    { "LeaseSpec", "holderIdentity" },
    { "LeaseSpec", "leaseDurationSeconds" },
    { "LeaseSpec", "leaseTransitions" },
    { "LeaseSpec", "strategy" },
    { "LeaseSpec", "preferredHolder" },
    { "PriorityClass", "value" },
    { "ListMeta", "remainingItemCount" },
    { "Volume", "name" },
    { "PersistentVolumeClaimVolumeSource", "claimName" },
    { "PodResourceClaim", "name" },
    { "LocalObjectReference", "name" },
};

bool cs_pb_keep_zero(const char *message, const char *field)
{
    for (size_t i = 0; i < sizeof(KEEP) / sizeof(KEEP[0]); i++) {
        if (strcmp(KEEP[i].message, message) == 0 &&
            (KEEP[i].field[0] == '*' || strcmp(KEEP[i].field, field) == 0)) {
            return true;
        }
    }
    return false;
}
