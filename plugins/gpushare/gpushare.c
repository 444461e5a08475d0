/*
 * GPUShare: shared-GPU placement by memory (ack-co-scheduler's shared GPU scheduling).
 *
 * A pod asks container limits `aliyun.com/gpu-mem` (GiB). Nodes report `aliyun.com/gpu-mem`
 * (the total) and `aliyun.com/gpu-count`; every GPU of a node has total / count GiB. A pod
 * label `aliyun.com/gpu-count: N` spreads each container's request evenly over N GPUs (each
 * request must divide by N); without it the whole pod shares one GPU.
 *
 * State: per node (cs_fw_node_state) the GiB used on each GPU, rebuilt from the annotations of
 * the node's pods (`scheduler.framework.gpushare.allocation`, else the v1 pair
 * ALIYUN_COM_GPU_MEM_IDX / ALIYUN_COM_GPU_MEM_POD) as the cache and the snapshot add and remove
 * pods. Pods we place carry the annotations PreBind writes (cs_pod_placed), so a session, the
 * cache and a restarted scheduler agree, and a discarded placement or a failed bind gives the
 * memory back with the pod.
 *
 * Filter: N GPUs with the per-GPU request free. Placement `binpack` (default): the fullest GPUs
 * that still fit (then the lowest index), and Score prefers the fullest node; `spread` (node
 * label ack.node.gpu.placement: spread): the emptiest GPUs, and Score prefers the emptiest node.
 * PreBind writes the v1 annotations (IDX, POD, DEV, ASSIGNED "false", ASSUME_TIME in UnixNano)
 * and the v2 allocation {"<containerIdx>":{"<gpuIdx>":<GiB>}}.
 * Not done: unhealthy-GPU ConfigMaps, gpu-core percentages, whole-device placement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/helper/helper.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define RES_MEM "aliyun.com/gpu-mem"
#define RES_COUNT "aliyun.com/gpu-count"
#define LABEL_COUNT "aliyun.com/gpu-count"
#define LABEL_PLACEMENT "ack.node.gpu.placement"
#define ANN_IDX "ALIYUN_COM_GPU_MEM_IDX"
#define ANN_POD "ALIYUN_COM_GPU_MEM_POD"
#define ANN_DEV "ALIYUN_COM_GPU_MEM_DEV"
#define ANN_ASSIGNED "ALIYUN_COM_GPU_MEM_ASSIGNED"
#define ANN_ASSUME "ALIYUN_COM_GPU_MEM_ASSUME_TIME"
#define ANN_ALLOC "scheduler.framework.gpushare.allocation"
#define MAX_GPUS 64

#define NO_GPUS "node(s) had no shared GPUs"
#define TOO_SMALL "node(s) had GPUs with less memory than the request"
#define NO_ROOM "node(s) didn't have GPUs with enough free memory"

struct gpushare_shared {
    struct cs_resource_names *names;
    int slot;                      /* node-state slot, -1 when none (bare tests) */
};

/* Per node. */
struct gpus {
    uint32_t n;                    /* GPUs of the node (0: none or no Node yet) */
    int64_t per_gpu;               /* GiB per GPU */
    bool spread;
    int64_t used[MAX_GPUS];        /* GiB in use per GPU (pods of any scheduler) */
};

struct gpushare {
    struct gpushare_shared *sh;
    bool own_sh;
};

/* Per pod. */
struct gpu_pod {
    uint32_t count;                /* GPUs the pod spreads over */
    int64_t per_gpu;               /* GiB on each of them */
    int64_t total;                 /* the pod's GiB */
};

static int64_t named(struct cs_resource_names *t, const struct cs_resources *r,
                     const struct cs_res_extras *x, const char *name)
{
    int slot = t ? cs_resource_slot_lookup(t, name) : -1;
    if (slot >= 0 && (r->present & (1u << slot))) {
        return r->v[slot];
    }
    return x ? cs_res_extra_get(x, name) : 0;
}

static int64_t container_gib(struct cs_resource_names *t, const struct cs_container *c)
{
    struct cs_resources req;
    cs_res_list_expand(c->requests, &req);
    return named(t, &req, &c->extra_requests, RES_MEM);
}

/* ---- per-node state ------------------------------------------------------------------------ */

static void *gpus_create(void *arg, const struct cs_node_info *ni)
{
    (void)arg;
    (void)ni;
    return cs_calloc(1, sizeof(struct gpus));
}

static void gpus_destroy(void *arg, void *st)
{
    (void)arg;
    cs_free(st);
}

static void *gpus_copy(void *arg, void *dst, const void *src)
{
    (void)arg;
    struct gpus *d = dst ? dst : cs_malloc(sizeof(*d));
    memcpy(d, src, sizeof(*d));
    return d;
}

static void gpus_set_node(void *arg, void *st, const struct cs_node_info *ni)
{
    struct gpushare_shared *sh = arg;
    struct gpus *g = st;
    const struct cs_node *node = ni->node;
    if (node == NULL) {
        g->n = 0;
        return;
    }
    int64_t count = named(sh->names, &node->allocatable, &node->extra_allocatable, RES_COUNT);
    int64_t mem = named(sh->names, &node->allocatable, &node->extra_allocatable, RES_MEM);
    g->n = count > 0 && mem > 0 ? (uint32_t)(count > MAX_GPUS ? MAX_GPUS : count) : 0;
    g->per_gpu = g->n ? mem / count : 0;
    const char *pl = cs_node_label(node, LABEL_PLACEMENT);
    g->spread = pl && strcmp(pl, "spread") == 0;
}

/* Apply a pod's GPU annotations to g (sign +1 or -1). */
static void gpus_apply(struct gpus *g, const struct cs_pod *pod, int sign)
{
    const char *alloc = cs_pod_annotation(pod, ANN_ALLOC);
    if (alloc) {
        json_t *root = json_loads(alloc, 0, NULL);
        const char *ck, *gk;
        json_t *per, *v;
        bool bad = !json_is_object(root);
        json_object_foreach(root, ck, per) {
            json_object_foreach(per, gk, v) {
                char *end;
                long idx = strtol(gk, &end, 10);
                if (*end || end == gk || idx < 0 || idx >= MAX_GPUS || !json_is_integer(v)) {
                    bad = true;
                    continue;
                }
                g->used[idx] += sign * (int64_t)json_integer_value(v);
            }
        }
        json_decref(root);
        if (bad && sign > 0) {
            CS_WARN_S("Ignoring a malformed GPU allocation annotation", CS_KV("pod", pod->key),
                      CS_KV(ANN_ALLOC, alloc));
        }
        return;
    }
    const char *idx = cs_pod_annotation(pod, ANN_IDX), *mem = cs_pod_annotation(pod, ANN_POD);
    if (idx == NULL || mem == NULL) {
        return;
    }
    long ids[MAX_GPUS];
    int n = 0;
    for (const char *p = idx; *p && n < MAX_GPUS;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v >= MAX_GPUS) {
            return;
        }
        ids[n++] = v;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') {
            return;
        }
    }
    char *end;
    long long total = strtoll(mem, &end, 10);
    if (*end || end == mem || total < 0) {
        return;
    }
    for (int i = 0; n > 0 && i < n; i++) {
        g->used[ids[i]] += sign * (int64_t)(total / n);
    }
}

static void gpus_add(void *arg, void *st, const struct cs_node_info *ni, const struct cs_pod *pod)
{
    (void)arg;
    (void)ni;
    gpus_apply(st, pod, +1);
}

static void gpus_remove(void *arg, void *st, const struct cs_node_info *ni,
                        const struct cs_pod *pod)
{
    (void)arg;
    (void)ni;
    gpus_apply(st, pod, -1);
}

static const struct cs_node_state_ops gpus_ops = {
    .create = gpus_create,
    .destroy = gpus_destroy,
    .copy = gpus_copy,
    .add_pod = gpus_add,
    .remove_pod = gpus_remove,
    .set_node = gpus_set_node,
};

/* ---- choosing GPUs ------------------------------------------------------------------------- */

/* The `count` GPUs for a per-GPU request: binpack takes the fullest that fit, spread the
 * emptiest; ties by lowest index. Returns false when fewer than count fit. */
static bool choose(const struct gpus *g, const struct gpu_pod *ps, uint32_t *out)
{
    uint32_t cand[MAX_GPUS], n = 0;
    for (uint32_t i = 0; i < g->n; i++) {
        if (g->per_gpu - g->used[i] >= ps->per_gpu) {
            cand[n++] = i;
        }
    }
    if (n < ps->count) {
        return false;
    }
    for (uint32_t i = 1; i < n; i++) {   /* stable insertion sort by free memory */
        uint32_t x = cand[i], j = i;
        int64_t fx = g->per_gpu - g->used[x];
        for (; j > 0; j--) {
            int64_t fy = g->per_gpu - g->used[cand[j - 1]];
            if (g->spread ? fy >= fx : fy <= fx) {
                break;
            }
            cand[j] = cand[j - 1];
        }
        cand[j] = x;
    }
    for (uint32_t i = 0; i < ps->count; i++) {
        out[i] = cand[i];
    }
    /* ascending indexes for the annotations */
    for (uint32_t i = 1; i < ps->count; i++) {
        uint32_t x = out[i], j = i;
        for (; j > 0 && out[j - 1] > x; j--) {
            out[j] = out[j - 1];
        }
        out[j] = x;
    }
    return true;
}

/* ---- plugin ops ---------------------------------------------------------------------------- */

struct shared_args {
    struct cs_fw_handle *fw;
    struct cs_resource_names *names;
};

static void *shared_create(void *arg)
{
    const struct shared_args *a = arg;
    struct gpushare_shared *sh = cs_calloc(1, sizeof(*sh));
    sh->names = a->names;
    sh->slot = a->fw ? cs_fw_node_state(a->fw, &gpus_ops, sh) : -1;
    return sh;
}

static void shared_destroy(void *obj)
{
    cs_free(obj);
}

static int gpu_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct gpushare *p = cs_calloc(1, sizeof(*p));
    struct shared_args a = { .fw = in->fw, .names = in->api ? in->api->resources : NULL };
    if (in->fw) {
        p->sh = cs_fw_shared(in->fw, "gpushare", shared_create, shared_destroy, &a);
    } else {
        p->sh = shared_create(&a);
        p->own_sh = true;
    }
    *priv = p;
    return 0;
}

static void gpu_destroy(void *priv)
{
    struct gpushare *p = priv;
    if (p->own_sh) {
        shared_destroy(p->sh);
    }
    cs_free(p);
}

static const struct gpus *gpus_of(const struct gpushare *p, const struct cs_node_info *ni)
{
    return p->sh->slot >= 0 ? cs_node_state(ni, p->sh->slot) : NULL;
}

static enum cs_code gpu_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   struct cs_status *st)
{
    struct gpushare *p = c->priv;
    int64_t total = 0;
    for (uint32_t i = 0; i < pod->n_containers; i++) {
        total += container_gib(p->sh->names, &pod->containers[i]);
    }
    if (total <= 0) {
        return CS_SKIP;
    }
    uint32_t count = 1;
    const char *label = cs_pod_label(pod, LABEL_COUNT);
    if (label) {
        char *end;
        long v = strtol(label, &end, 10);
        if (*end || end == label || v < 1 || v > MAX_GPUS) {
            return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                                 cs_arena_printf(c->arena,
                                                 "gpushare: label %s=%s is not a GPU count "
                                                 "between 1 and %d",
                                                 LABEL_COUNT, label, MAX_GPUS));
        }
        count = (uint32_t)v;
    }
    for (uint32_t i = 0; i < pod->n_containers; i++) {
        int64_t g = container_gib(p->sh->names, &pod->containers[i]);
        if (g % count != 0) {
            return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                                 cs_arena_printf(c->arena,
                                                 "gpushare: %s %lld of container %s does not "
                                                 "divide evenly over %u GPUs",
                                                 RES_MEM, (long long)g,
                                                 pod->containers[i].name
                                                     ? pod->containers[i].name : "?",
                                                 count));
        }
    }
    struct gpu_pod *ps = cs_arena_alloc(c->arena, sizeof(*ps));
    ps->count = count;
    ps->total = total;
    ps->per_gpu = total / count;
    *c->state = ps;
    return CS_SUCCESS;
}

static enum cs_code gpu_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    const struct gpu_pod *ps = *c->state;
    if (ps == NULL) {
        return CS_SUCCESS;
    }
    const struct gpus *g = gpus_of(c->priv, ni);
    if (g == NULL || g->n == 0) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, NO_GPUS);
    }
    if (g->per_gpu < ps->per_gpu || g->n < ps->count) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, TOO_SMALL);
    }
    uint32_t out[MAX_GPUS];
    if (!choose(g, ps, out)) {
        return cs_status_set(st, CS_UNSCHEDULABLE, NO_ROOM);
    }
    return CS_SUCCESS;
}

static enum cs_code gpu_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_node_info *const *feasible, uint32_t n,
                                  struct cs_status *st)
{
    (void)pod;
    (void)feasible;
    (void)n;
    (void)st;
    return *c->state ? CS_SUCCESS : CS_SKIP;
}

/* binpack: how full the node's GPUs are once the pod is on them (0..100); spread: how empty. */
static int64_t gpu_score(struct cs_fw_call *c, const struct cs_pod *pod,
                         const struct cs_node_info *ni)
{
    (void)pod;
    const struct gpu_pod *ps = *c->state;
    const struct gpus *g = gpus_of(c->priv, ni);
    if (ps == NULL || g == NULL || g->n == 0 || g->per_gpu <= 0) {
        return 0;
    }
    int64_t used = ps->total;
    for (uint32_t i = 0; i < g->n; i++) {
        used += g->used[i];
    }
    int64_t cap = g->per_gpu * g->n;
    int64_t full = used >= cap ? CS_MAX_NODE_SCORE : used * CS_MAX_NODE_SCORE / cap;
    return g->spread ? CS_MAX_NODE_SCORE - full : full;
}

static enum cs_code gpu_pre_bind(struct cs_fw_call *c, const struct cs_pod *pod,
                                 const char *node, struct cs_bind_patch *patch,
                                 struct cs_status *st)
{
    const struct gpu_pod *ps = *c->state;
    if (ps == NULL) {
        return CS_SUCCESS;
    }
    struct gpushare *p = c->priv;
    const struct cs_node_info *ni = cs_snapshot_node(c->snap, node);
    const struct gpus *g = ni ? gpus_of(p, ni) : NULL;
    uint32_t idx[MAX_GPUS];
    if (g == NULL || !choose(g, ps, idx)) {
        return cs_status_set(st, CS_UNSCHEDULABLE, NO_ROOM);
    }
    struct cs_arena *a = c->arena;
    char *list = cs_arena_printf(a, "%u", idx[0]);
    for (uint32_t i = 1; i < ps->count; i++) {
        list = cs_arena_printf(a, "%s,%u", list, idx[i]);
    }
    json_t *alloc = json_object();
    for (uint32_t i = 0; i < pod->n_containers; i++) {
        int64_t gib = container_gib(p->sh->names, &pod->containers[i]);
        if (gib <= 0) {
            continue;
        }
        json_t *per = json_object();
        for (uint32_t k = 0; k < ps->count; k++) {
            char key[16];
            snprintf(key, sizeof(key), "%u", idx[k]);
            json_object_set_new(per, key, json_integer(gib / ps->count));
        }
        char ckey[16];
        snprintf(ckey, sizeof(ckey), "%u", i);
        json_object_set_new(alloc, ckey, per);
    }
    char *alloc_s = json_dumps(alloc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(alloc);
    cs_bind_patch_annotate(patch, a, ANN_IDX, list);
    cs_bind_patch_annotate(patch, a, ANN_POD, cs_arena_printf(a, "%lld", (long long)ps->total));
    cs_bind_patch_annotate(patch, a, ANN_DEV, cs_arena_printf(a, "%lld", (long long)g->per_gpu));
    cs_bind_patch_annotate(patch, a, ANN_ASSIGNED, "false");
    cs_bind_patch_annotate(patch, a, ANN_ASSUME,
                           cs_arena_printf(a, "%lld", (long long)cs_wall_ns()));
    cs_bind_patch_annotate(patch, a, ANN_ALLOC, alloc_s);
    if (CS_V(4)) {
        CS_INFO_S("GPU memory allocated", CS_KV("pod", pod->key), CS_KV("node", node),
                  CS_KV("gpus", list), CS_KV("allocation", alloc_s));
    }
    free(alloc_s);
    return CS_SUCCESS;
}

static enum cs_qhint gpu_hint(void *priv, const struct cs_event_info *ev,
                              const struct cs_pod *pod)
{
    (void)priv;
    (void)pod;
    if (ev->event == CS_EV_POD_DELETE && ev->old_pod) {
        return cs_pod_annotation(ev->old_pod, ANN_ALLOC) || cs_pod_annotation(ev->old_pod, ANN_IDX)
                   ? CS_QHINT_QUEUE
                   : CS_QHINT_SKIP;
    }
    return CS_QHINT_QUEUE;
}

static const char *const gpu_meta_keys[] = { LABEL_COUNT, NULL };

const struct cs_plugin cs_plugin_gpushare = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "GPUShare",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_DELETE | CS_EV_POD_UPDATE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .meta_keys = gpu_meta_keys,
    .init = gpu_init,
    .destroy = gpu_destroy,
    .queueing_hint = gpu_hint,
    .pre_filter = gpu_pre_filter,
    .filter = gpu_filter,
    .pre_score = gpu_pre_score,
    .score = gpu_score,
    .pre_bind = gpu_pre_bind,
};
