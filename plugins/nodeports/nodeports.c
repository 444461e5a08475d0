/*
 * NodePorts. pre_filter returns Skip for pods without host ports (most pods), so the framework
 * never calls the filter for them. The filter checks each of the pod's host ports (collected at
 * decode from containers and init containers) against the node's used ports with kube-scheduler's
 * HostPortInfo rules (cs_node_info_port_free: same protocol and port conflict when either IP is
 * 0.0.0.0 or both IPs are equal). Reason: "node(s) didn't have free ports for the requested pod
 * ports" (Unschedulable: deleting the holder frees the port).
 */
#include "plugins/registry.h"

static enum cs_code ports_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                     struct cs_status *st)
{
    (void)c;
    (void)st;
    return pod->n_host_ports == 0 ? CS_SKIP : CS_SUCCESS;
}

static enum cs_code ports_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                 const struct cs_node_info *ni, struct cs_status *st)
{
    (void)c;
    if (ni->n_ports == 0) {
        return CS_SUCCESS;
    }
    for (uint32_t i = 0; i < pod->n_host_ports; i++) {
        if (!cs_node_info_port_free(ni, &pod->host_ports[i])) {
            return cs_status_set(st, CS_UNSCHEDULABLE,
                                 "node(s) didn't have free ports for the requested pod ports");
        }
    }
    return CS_SUCCESS;
}

const struct cs_plugin cs_plugin_nodeports = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodePorts",
    .events = CS_EV_POD_DELETE | CS_EV_NODE_ADD | CS_EV_NODE_UPDATE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .pre_filter = ports_pre_filter,
    .filter = ports_filter,
};
