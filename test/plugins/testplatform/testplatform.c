/*
 * TestPlatform: a plugin that exists only to exercise every service of the plugin platform in
 * integration tests (it is linked into build/asan/cosched-test, never into cosched). Each
 * behaviour is switched on by a pod label, so one profile serves every scenario of
 * test/integration/sched_platform.sh:
 *
 *   test.cosched.io/gated=true     PreFilter rejects the pod until a `Gate` object named "open"
 *                                   exists (a watch on the CRD test.cosched.io/v1 gates); the
 *                                   watch raises the custom event "gate" so the pod is retried
 *                                   at once instead of after the 5-minute flush, and records
 *                                   status.seenBy on the Gate (an API write, status subresource).
 *   test.cosched.io/slots=true     the pod takes one "slot" of its node: nodes labelled
 *                                   test.cosched.io/slots=N have N. Slots in use are per-node
 *                                   plugin state rebuilt from the annotation test.cosched.io/slot
 *                                   that PreBind writes (so the cache must hold the placed pod).
 *   test.cosched.io/group=G        pod group G with min-available test.cosched.io/min
 *                                   (all-or-nothing through one statement).
 *   test.cosched.io/preemptor=true PostFilter asks the preemption engine for victims; they are
 *                                   evicted through the session's statement.
 *
 * Per-pod state: PreFilter stores the pod's key in the pod arena; PreBind and Unreserve check
 * that the state they get is their own pod's (logged as an error otherwise, which the suite
 * greps for). One shared counter object serves every profile that enables the plugin.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/framework/preempt.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "plugins/registry.h"

#define L_GATED "test.cosched.io/gated"
#define L_SLOTS "test.cosched.io/slots"
#define L_GROUP "test.cosched.io/group"
#define L_MIN "test.cosched.io/min"
#define L_PREEMPTOR "test.cosched.io/preemptor"
#define A_SLOT "test.cosched.io/slot"

struct shared_counts {
    atomic_long unreserves;
    atomic_long assigned_seen;      /* on_pod adds */
};

struct tp {
    struct cs_fw_handle *fw;
    struct shared_counts *shared;
    atomic_bool gate_open;
    int slot_state;                 /* per-node state slot */
};

struct pod_state {
    const char *key;                /* pod arena copy */
    int slot;                       /* chosen slot (Reserve) */
};

/* ---- per-node state: which slots are taken ------------------------------------------------ */

struct slots {
    uint64_t used;                  /* bit i: slot i taken */
};

static void *slots_create(void *arg, const struct cs_node_info *ni)
{
    (void)arg;
    (void)ni;
    return cs_calloc(1, sizeof(struct slots));
}

static void slots_destroy(void *arg, void *st)
{
    (void)arg;
    cs_free(st);
}

static void *slots_copy(void *arg, void *dst, const void *src)
{
    (void)arg;
    if (dst == NULL) {
        dst = cs_malloc(sizeof(struct slots));
    }
    memcpy(dst, src, sizeof(struct slots));
    return dst;
}

static int slot_of(const struct cs_pod *pod)
{
    const char *v = cs_pod_annotation(pod, A_SLOT);
    return v ? (int)strtol(v, NULL, 10) : -1;
}

static void slots_add(void *arg, void *st, const struct cs_node_info *ni, const struct cs_pod *pod)
{
    (void)arg;
    int s = slot_of(pod);
    if (s >= 0 && s < 64) {
        struct slots *sl = st;
        if (sl->used & (1ull << s)) {
            CS_ERROR_S(NULL, "TestPlatform: slot handed out twice", CS_KV("node", ni->name),
                       CS_KV("pod", pod->key), CS_KVI("slot", s));
        }
        sl->used |= 1ull << s;
    }
}

static void slots_remove(void *arg, void *st, const struct cs_node_info *ni,
                         const struct cs_pod *pod)
{
    (void)arg;
    (void)ni;
    int s = slot_of(pod);
    if (s >= 0 && s < 64) {
        ((struct slots *)st)->used &= ~(1ull << s);
    }
}

static const struct cs_node_state_ops slot_ops = {
    .create = slots_create,
    .destroy = slots_destroy,
    .copy = slots_copy,
    .add_pod = slots_add,
    .remove_pod = slots_remove,
};

static int node_slots(const struct cs_node_info *ni)
{
    const char *v = ni->node ? cs_node_label(ni->node, L_SLOTS) : NULL;
    int n = v ? (int)strtol(v, NULL, 10) : 0;
    return n > 64 ? 64 : n;
}

/* ---- the gate watch ----------------------------------------------------------------------- */

static bool is_open_gate(const json_t *obj)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    return name && strcmp(name, "open") == 0;
}

static void gate_seen_written(void *arg, long http_status, const char *body)
{
    (void)arg;
    (void)body;
    CS_INFO_S("TestPlatform wrote the Gate's status", CS_KVI("status", http_status));
}

/* The open Gate's status records that the plugin saw it (an API write through the framework,
 * on the status subresource), once. */
static void mark_seen(struct tp *t, const json_t *obj)
{
    if (json_object_get(json_object_get(obj, "status"), "seenBy")) {
        return;
    }
    struct cs_api_write w = {
        .method = "PATCH",
        .path = "/apis/test.cosched.io/v1/gates/open/status",
        .body = "{\"status\":{\"seenBy\":\"TestPlatform\"}}",
        .done = gate_seen_written,
    };
    cs_fw_write(t->fw, &w);
}

static void gate_add(void *priv, const json_t *obj)
{
    struct tp *t = priv;
    if (is_open_gate(obj)) {
        atomic_store(&t->gate_open, true);
        cs_fw_raise(t->fw, "gate", NULL, obj);
        mark_seen(t, obj);
    }
}

static void gate_update(void *priv, const json_t *old, const json_t *obj)
{
    (void)old;
    gate_add(priv, obj);
}

static void gate_delete(void *priv, const json_t *obj)
{
    struct tp *t = priv;
    if (is_open_gate(obj)) {
        atomic_store(&t->gate_open, false);
        cs_fw_raise(t->fw, "gate", obj, NULL);
    }
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void *shared_create(void *arg)
{
    (void)arg;
    return cs_calloc(1, sizeof(struct shared_counts));
}

static int tp_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct tp *t = cs_calloc(1, sizeof(*t));
    t->fw = in->fw;
    t->slot_state = -1;
    if (in->fw) {
        t->shared = cs_fw_shared(in->fw, "testplatform", shared_create, cs_free, NULL);
        t->slot_state = cs_fw_node_state(in->fw, &slot_ops, t);
        struct cs_watch_spec w = {
            .name = "gates",
            .path = "/apis/test.cosched.io/v1/gates",
            .on_add = gate_add,
            .on_update = gate_update,
            .on_delete = gate_delete,
        };
        if (cs_fw_watch(in->fw, t, &w, err, errlen) != 0 || t->slot_state < 0) {
            cs_free(t);
            return -1;
        }
    }
    *priv = t;
    return 0;
}

static void tp_destroy(void *priv)
{
    struct tp *t = priv;
    if (t->shared) {
        CS_INFO_S("TestPlatform totals", CS_KVI("unreserves", atomic_load(&t->shared->unreserves)),
                  CS_KVI("assignedSeen", atomic_load(&t->shared->assigned_seen)));
    }
    cs_free(t);
}

/* ---- scheduling --------------------------------------------------------------------------- */

static bool label_true(const struct cs_pod *pod, const char *key)
{
    const char *v = cs_pod_label(pod, key);
    return v && strcmp(v, "true") == 0;
}

static enum cs_code tp_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_status *st)
{
    struct tp *t = c->priv;
    struct pod_state *ps = CS_ARENA_NEW(c->arena, struct pod_state);
    ps->key = cs_arena_strdup(c->arena, pod->key);
    ps->slot = -1;
    *c->state = ps;
    if (label_true(pod, L_GATED) && !atomic_load(&t->gate_open)) {
        return cs_status_set(st, CS_UNSCHEDULABLE, "gate closed");
    }
    return CS_SUCCESS;
}

static int free_slot(const struct tp *t, const struct cs_node_info *ni)
{
    const struct slots *sl = cs_node_state(ni, t->slot_state);
    int n = node_slots(ni);
    for (int i = 0; sl && i < n; i++) {
        if (!(sl->used & (1ull << i))) {
            return i;
        }
    }
    return -1;
}

static enum cs_code tp_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                              const struct cs_node_info *ni, struct cs_status *st)
{
    struct tp *t = c->priv;
    if (label_true(pod, L_SLOTS) && free_slot(t, ni) < 0) {
        return cs_status_set(st, CS_UNSCHEDULABLE, "node(s) had no free slot");
    }
    return CS_SUCCESS;
}

static enum cs_code tp_post_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   const struct cs_node_status_map *statuses,
                                   struct cs_preempt_result *out, struct cs_status *st)
{
    if (!label_true(pod, L_PREEMPTOR)) {
        return CS_UNSCHEDULABLE;
    }
    const char *why = NULL;
    enum cs_code code = cs_fw_preempt(c, pod, statuses, NULL, out, &why);
    if (code != CS_SUCCESS) {
        return cs_status_set(st, code, why);
    }
    CS_INFO_S("TestPlatform preempting", CS_KV("pod", pod->key), CS_KV("node", out->node),
              CS_KVI("victims", out->n_victims));
    return CS_SUCCESS;
}

static void check_state(struct cs_fw_call *c, const struct cs_pod *pod, const char *op)
{
    const struct pod_state *ps = *c->state;
    if (ps == NULL || strcmp(ps->key, pod->key) != 0) {
        CS_ERROR_S(NULL, "TestPlatform: per-pod state is not this pod's", CS_KV("op", op),
                   CS_KV("pod", pod->key), CS_KV("state", ps ? ps->key : "<none>"));
    }
}

static enum cs_code tp_reserve(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    struct tp *t = c->priv;
    (void)st;
    check_state(c, pod, "Reserve");
    struct pod_state *ps = *c->state;
    if (ps && label_true(pod, L_SLOTS)) {
        ps->slot = free_slot(t, ni);
    }
    return CS_SUCCESS;
}

static void tp_unreserve(struct cs_fw_call *c, const struct cs_pod *pod, const char *node)
{
    struct tp *t = c->priv;
    /* After a failed bind the attempt's state is gone: Unreserve gets a fresh one. */
    if (*c->state) {
        check_state(c, pod, "Unreserve");
    }
    if (t->shared) {
        atomic_fetch_add(&t->shared->unreserves, 1);
    }
    if (CS_V(2)) {
        CS_INFO_S("TestPlatform unreserve", CS_KV("pod", pod->key), CS_KV("node", node));
    }
}

static enum cs_code tp_pre_bind(struct cs_fw_call *c, const struct cs_pod *pod, const char *node,
                                struct cs_bind_patch *patch, struct cs_status *st)
{
    (void)node;
    (void)st;
    check_state(c, pod, "PreBind");
    const struct pod_state *ps = *c->state;
    if (ps && ps->slot >= 0) {
        cs_bind_patch_annotate(patch, c->arena, A_SLOT, cs_arena_printf(c->arena, "%d", ps->slot));
    }
    return CS_SUCCESS;
}

static const char *tp_pod_group(void *priv, const struct cs_pod *pod, int32_t *min_member)
{
    (void)priv;
    const char *g = cs_pod_label(pod, L_GROUP);
    if (g == NULL) {
        return NULL;
    }
    const char *m = cs_pod_label(pod, L_MIN);
    *min_member = m ? (int)strtol(m, NULL, 10) : 1;
    return g;
}

static void tp_on_pod(void *priv, const struct cs_pod *old, const struct cs_pod *new_pod)
{
    struct tp *t = priv;
    if (old == NULL && new_pod && t->shared) {
        atomic_fetch_add(&t->shared->assigned_seen, 1);
    }
}

const struct cs_plugin cs_plugin_testplatform = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "TestPlatform",
    .events = CS_EV_CUSTOM | CS_EV_POD_DELETE | CS_EV_NODE_ADD | CS_EV_NODE_UPDATE,
    .init = tp_init,
    .destroy = tp_destroy,
    .pre_filter = tp_pre_filter,
    .filter = tp_filter,
    .post_filter = tp_post_filter,
    .reserve = tp_reserve,
    .unreserve = tp_unreserve,
    .pre_bind = tp_pre_bind,
    .pod_group = tp_pod_group,
    .on_pod = tp_on_pod,
};

/* The extra registry table of the test binary (plugins/registry.c looks here too). */
const struct cs_plugin *const cs_registry_extra[] = { &cs_plugin_testplatform };
const size_t cs_registry_extra_count = 1;
