/*
 * DefaultBinder (Bind): accepts every pod; the binder then POSTs pods/{name}/binding to the
 * chosen node. Plugins never talk to the API server themselves.
 */
#include "plugins/registry.h"

static enum cs_code binder_bind(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                                struct cs_status *st)
{
    (void)c;
    (void)pod;
    (void)node;
    (void)st;
    return CS_SUCCESS;
}

const struct cs_plugin cs_plugin_defaultbinder = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "DefaultBinder",
    .events = 0,
    .bind = binder_bind,
};
