/* Which scalar fields of the protobuf schema JSON prints even when zero (see pbkinds.h). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "api/pbkinds.h"

/* From k8s.io/api and apimachinery v0.37.2 types.go, for every scalar (and repeated scalar) field
 * of api/proto/k8s.proto: Go pointers (on the wire only when set, so a zero on the wire is a real
 * zero) and fields whose json tag has no omitempty. Time/MicroTime fields are not scalars here
 * (JSON prints a zero Time as null); maps and messages follow their own rules in pbjson.c.
 * The comment is the Go type, and whether the tag has omitempty. */
static const struct {
    const char *message, *field;
} KEEP[] = {
    { "AWSElasticBlockStoreVolumeSource", "volumeID" }, /* string */
    { "AzureDiskVolumeSource", "diskName" }, /* string */
    { "AzureDiskVolumeSource", "diskURI" }, /* string */
    { "AzureDiskVolumeSource", "cachingMode" }, /* *AzureDataDiskCachingMode omitempty */
    { "AzureDiskVolumeSource", "fsType" }, /* *string omitempty */
    { "AzureDiskVolumeSource", "readOnly" }, /* *bool omitempty */
    { "AzureDiskVolumeSource", "kind" }, /* *AzureDataDiskKind omitempty */
    { "CSIVolumeSource", "driver" }, /* string */
    { "CSIVolumeSource", "readOnly" }, /* *bool omitempty */
    { "CSIVolumeSource", "fsType" }, /* *string omitempty */
    { "ConfigMapVolumeSource", "defaultMode" }, /* *int32 omitempty */
    { "ConfigMapVolumeSource", "optional" }, /* *bool omitempty */
    { "ConfigMapVolumeSource", "defaultUser" }, /* *int64 omitempty */
    { "Container", "name" }, /* string */
    { "Container", "restartPolicy" }, /* *ContainerRestartPolicy omitempty */
    { "ContainerImage", "names" }, /* []string */
    { "ContainerPort", "containerPort" }, /* int32 */
    { "ContainerStatus", "name" }, /* string */
    { "ContainerStatus", "ready" }, /* bool */
    { "ContainerStatus", "restartCount" }, /* int32 */
    { "ContainerStatus", "image" }, /* string */
    { "ContainerStatus", "imageID" }, /* string */
    { "ContainerStatus", "started" }, /* *bool omitempty */
    { "ContainerStatus", "stopSignal" }, /* *Signal omitempty */
    { "DaemonEndpoint", "Port" }, /* int32 */
    { "EmptyDirVolumeSource", "mode" }, /* *int32 omitempty */
    { "EventSeries", "count" }, /* int32 */
    { "EvictionResponder", "name" }, /* string */
    { "EvictionResponder", "priority" }, /* *int32 */
    { "GCEPersistentDiskVolumeSource", "pdName" }, /* string */
    { "HostPathVolumeSource", "path" }, /* string */
    { "HostPathVolumeSource", "type" }, /* *HostPathType omitempty */
    { "ISCSIVolumeSource", "targetPortal" }, /* string */
    { "ISCSIVolumeSource", "iqn" }, /* string */
    { "ISCSIVolumeSource", "lun" }, /* int32 */
    { "ISCSIVolumeSource", "initiatorName" }, /* *string omitempty */
    { "KeyToPath", "key" }, /* string */
    { "KeyToPath", "path" }, /* string */
    { "KeyToPath", "mode" }, /* *int32 omitempty */
    { "KeyToPath", "user" }, /* *int64 omitempty */
    { "LabelSelectorRequirement", "key" }, /* string */
    { "LabelSelectorRequirement", "operator" }, /* LabelSelectorOperator */
    { "LeaseSpec", "holderIdentity" }, /* *string omitempty */
    { "LeaseSpec", "leaseDurationSeconds" }, /* *int32 omitempty */
    { "LeaseSpec", "leaseTransitions" }, /* *int32 omitempty */
    { "LeaseSpec", "strategy" }, /* *CoordinatedLeaseStrategy omitempty */
    { "LeaseSpec", "preferredHolder" }, /* *string omitempty */
    { "ListMeta", "remainingItemCount" }, /* *int64 omitempty */
    { "NamespaceCondition", "type" }, /* NamespaceConditionType */
    { "NamespaceCondition", "status" }, /* ConditionStatus */
    { "NodeAddress", "type" }, /* NodeAddressType */
    { "NodeAddress", "address" }, /* string */
    { "NodeAllocatableMappedResources", "name" }, /* ResourceName */
    { "NodeAllocatableOverheadResources", "name" }, /* ResourceName */
    { "NodeAllocatableResourceClaimStatus", "resourceClaimName" }, /* string */
    { "NodeCondition", "type" }, /* NodeConditionType */
    { "NodeCondition", "status" }, /* ConditionStatus */
    { "NodeSelectorRequirement", "key" }, /* string */
    { "NodeSelectorRequirement", "operator" }, /* NodeSelectorOperator */
    { "NodeSwapStatus", "capacity" }, /* *int64 omitempty */
    { "NodeSystemInfo", "machineID" }, /* string */
    { "NodeSystemInfo", "systemUUID" }, /* string */
    { "NodeSystemInfo", "bootID" }, /* string */
    { "NodeSystemInfo", "kernelVersion" }, /* string */
    { "NodeSystemInfo", "osImage" }, /* string */
    { "NodeSystemInfo", "containerRuntimeVersion" }, /* string */
    { "NodeSystemInfo", "kubeletVersion" }, /* string */
    { "NodeSystemInfo", "kubeProxyVersion" }, /* string */
    { "NodeSystemInfo", "operatingSystem" }, /* string */
    { "NodeSystemInfo", "architecture" }, /* string */
    { "NodeSystemInfo", "runningInUserNamespace" }, /* *bool omitempty */
    { "ObjectMeta", "deletionGracePeriodSeconds" }, /* *int64 omitempty */
    { "OwnerReference", "kind" }, /* string */
    { "OwnerReference", "name" }, /* string */
    { "OwnerReference", "uid" }, /* types.UID */
    { "OwnerReference", "apiVersion" }, /* string */
    { "OwnerReference", "controller" }, /* *bool omitempty */
    { "OwnerReference", "blockOwnerDeletion" }, /* *bool omitempty */
    { "PersistentVolumeClaimSpec", "storageClassName" }, /* *string omitempty */
    { "PersistentVolumeClaimSpec", "volumeMode" }, /* *PersistentVolumeMode omitempty */
    { "PersistentVolumeClaimSpec", "volumeAttributesClassName" }, /* *string omitempty */
    { "PersistentVolumeClaimVolumeSource", "claimName" }, /* string */
    { "PodAffinityTerm", "topologyKey" }, /* string */
    { "PodCondition", "type" }, /* PodConditionType */
    { "PodCondition", "status" }, /* ConditionStatus */
    { "PodSchedulingGate", "name" }, /* string */
    { "PodSchedulingGroup", "podGroupName" }, /* *string omitempty */
    { "PodSpec", "terminationGracePeriodSeconds" }, /* *int64 omitempty */
    { "PodSpec", "activeDeadlineSeconds" }, /* *int64 omitempty */
    { "PodSpec", "automountServiceAccountToken" }, /* *bool omitempty */
    { "PodSpec", "priority" }, /* *int32 omitempty */
    { "PodSpec", "shareProcessNamespace" }, /* *bool omitempty */
    { "PodSpec", "runtimeClassName" }, /* *string omitempty */
    { "PodSpec", "enableServiceLinks" }, /* *bool omitempty */
    { "PodSpec", "preemptionPolicy" }, /* *PreemptionPolicy omitempty */
    { "PodSpec", "setHostnameAsFQDN" }, /* *bool omitempty */
    { "PodSpec", "hostnameOverride" }, /* *string omitempty */
    { "PodVolumeHealth", "name" }, /* string */
    { "PreferredSchedulingTerm", "weight" }, /* int32 */
    { "PriorityClass", "value" }, /* int32 */
    { "PriorityClass", "preemptionPolicy" }, /* *apiv1.PreemptionPolicy omitempty */
    { "RBDVolumeSource", "monitors" }, /* []string */
    { "RBDVolumeSource", "image" }, /* string */
    { "ResourceClaim", "name" }, /* string */
    { "SecretVolumeSource", "defaultMode" }, /* *int32 omitempty */
    { "SecretVolumeSource", "optional" }, /* *bool omitempty */
    { "SecretVolumeSource", "defaultUser" }, /* *int64 omitempty */
    { "ShardInfo", "selector" }, /* string */
    { "Taint", "key" }, /* string */
    { "Taint", "effect" }, /* TaintEffect */
    { "Toleration", "tolerationSeconds" }, /* *int64 omitempty */
    { "TopologySpreadConstraint", "maxSkew" }, /* int32 */
    { "TopologySpreadConstraint", "topologyKey" }, /* string */
    { "TopologySpreadConstraint", "whenUnsatisfiable" }, /* UnsatisfiableConstraintAction */
    { "TopologySpreadConstraint", "minDomains" }, /* *int32 omitempty */
    { "TopologySpreadConstraint", "nodeAffinityPolicy" }, /* *NodeInclusionPolicy omitempty */
    { "TopologySpreadConstraint", "nodeTaintsPolicy" }, /* *NodeInclusionPolicy omitempty */
    { "TypedLocalObjectReference", "apiGroup" }, /* *string */
    { "TypedLocalObjectReference", "kind" }, /* string */
    { "TypedLocalObjectReference", "name" }, /* string */
    { "TypedObjectReference", "apiGroup" }, /* *string */
    { "TypedObjectReference", "kind" }, /* string */
    { "TypedObjectReference", "name" }, /* string */
    { "TypedObjectReference", "namespace" }, /* *string omitempty */
    { "Volume", "name" }, /* string */
    { "VolumeHealthCondition", "status" }, /* VolumeHealthStatusType */
    { "VolumeHealthCondition", "reason" }, /* string */
    { "WeightedPodAffinityTerm", "weight" }, /* int32 */
};

bool cs_pb_keep_zero(const char *message, const char *field)
{
    if (message == NULL || field == NULL) {
        return false;
    }
    for (size_t i = 0; i < sizeof(KEEP) / sizeof(KEEP[0]); i++) {
        if (strcmp(KEEP[i].message, message) == 0 && strcmp(KEEP[i].field, field) == 0) {
            return true;
        }
    }
    return false;
}
