/*
 * SchedulingGates (PreEnqueue): a pod listing spec.schedulingGates stays out of the active queue
 * with UnschedulableAndUnresolvable "waiting for scheduling gates: [a b]" (Go's %v of the gate
 * names). It comes back when an update removes its gates.
 *
 * pre_enqueue gets no arena, yet the reason must outlive the call. The plugin instance keeps an
 * intern table of the reason strings it produced: one copy per distinct gate list (a small,
 * bounded set in practice), valid until destroy. The queue calls under its lock, the intern
 * table has its own mutex, so this is safe from any thread.
 */
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/intern.h"
#include "plugins/registry.h"

struct gates_priv {
    struct cs_intern reasons;
};

static int gates_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    (void)in;
    (void)err;
    (void)errlen;
    struct gates_priv *p = cs_calloc(1, sizeof(*p));
    cs_intern_init(&p->reasons);
    *priv = p;
    return 0;
}

static void gates_destroy(void *priv)
{
    struct gates_priv *p = priv;
    if (p == NULL) {
        return;
    }
    cs_intern_destroy(&p->reasons);
    cs_free(p);
}

static enum cs_code gates_pre_enqueue(void *priv, const struct cs_pod *pod, struct cs_status *st)
{
    if (pod->n_scheduling_gates == 0) {
        return CS_SUCCESS;
    }
    struct gates_priv *p = priv;
    if (p == NULL) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "waiting for scheduling gates");
    }
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_puts(&b, "waiting for scheduling gates: [");
    for (uint32_t i = 0; i < pod->n_scheduling_gates; i++) {
        if (i > 0) {
            cs_buf_putc(&b, ' ');
        }
        cs_buf_puts(&b, pod->scheduling_gates[i] ? pod->scheduling_gates[i] : "");
    }
    cs_buf_putc(&b, ']');
    const char *reason = cs_intern(&p->reasons, b.data);
    cs_buf_free(&b);
    return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, reason);
}

const struct cs_plugin cs_plugin_schedulinggates = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "SchedulingGates",
    .events = CS_EV_POD_UPDATE,
    .init = gates_init,
    .destroy = gates_destroy,
    .pre_enqueue = gates_pre_enqueue,
};
