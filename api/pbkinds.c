/* Kinds of the protobuf schema (see pbkinds.h); the zero-value table is in pbomit.c. */
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
