/*
 * NodeName (Filter): a pod that names a node in spec.nodeName fits only that node; elsewhere it
 * gets UnschedulableAndUnresolvable "node(s) didn't match the requested node name". Names are
 * interned, so the pointer test almost always decides; strcmp is the fallback.
 */
#include <string.h>

#include "plugins/registry.h"

static enum cs_code nodename_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                    const struct cs_node_info *ni, struct cs_status *st)
{
    (void)c;
    const char *want = pod->node_name;
    if (want == NULL || want[0] == '\0' || want == ni->name ||
        (ni->name != NULL && strcmp(want, ni->name) == 0)) {
        return CS_SUCCESS;
    }
    return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                         "node(s) didn't match the requested node name");
}

const struct cs_plugin cs_plugin_nodename = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodeName",
    .events = CS_EV_NODE_ADD,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .filter = nodename_filter,
};
