/*
 * CpusetScheduling: CPU-topology-aware placement of pods annotated `cpuset-scheduler: "true"`
 * (ack-co-scheduler's CPU topology feature).
 *
 * The pod asks for as many CPUs as the sum of its containers' integer limits.cpu (requests may
 * be lower); a fractional limit refuses the pod with a reason that names the container.
 *
 * State. Topologies come from NodeResourceTopology objects (name = node, annotation
 * node.koordinator.sh/cpu-topology), parsed once per change on the informer thread into an
 * immutable counted object; the scheduling thread reads a private view of the name -> topology
 * map, refreshed when the map's version moved. Which CPUs are taken is per-node plugin state
 * (cs_fw_node_state): a count per CPU id, kept by the cache and the snapshot as pods come and
 * go, from each pod's `cpuset` annotation. Pods we place carry the annotation PreBind writes
 * (cs_pod_placed), so the snapshot, the cache and a restarted scheduler all see the same
 * allocation, and a discarded statement or a failed bind releases it with the pod.
 *
 * Filter: the node has a topology and enough free CPUs. Score: 100 when the pod fits within one
 * NUMA node, 50 within one socket, 10 otherwise. PreBind: allocate (topology.h) and write
 * `cpuset` = {"<container>":{"<numa>":{"elems":{"<cpu>":{},...}}}}.
 * The plugin is node-local: its results depend on the pod, the node's pinned CPUs and the
 * node's topology; a topology change invalidates cached results (cs_fw_invalidate).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/cpusetscheduling/topology.h"
#include "plugins/registry.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/map.h"

#define ANN_ENABLE "cpuset-scheduler"
#define ANN_RESULT "cpuset"
#define ANN_TOPOLOGY "node.koordinator.sh/cpu-topology"
#define NRT_PATH "/apis/topology.node.k8s.io/v1alpha1/noderesourcetopologies"
#define RAISE_NAME "NodeResourceTopology"

#define NO_TOPOLOGY "node(s) had no CPU topology"
#define NOT_ENOUGH "node(s) didn't have enough free CPUs for the cpuset"

struct topo_entry {
    char *name;
    struct cs_cpu_topo *topo;      /* NULL: the object's annotation is missing or invalid */
    char *reported;                /* the invalid annotation text already reported */
};

/* One per scheduler (cs_fw_shared): the topology map, its watch, the node-state slot. */
struct cpuset_shared {
    struct cs_fw_handle *fw;
    pthread_mutex_t mu;
    struct cs_map live;            /* name -> struct topo_entry (informer writes) */
    _Atomic uint64_t version;
    int slot;                      /* node-state slot, -1 when none (bare tests) */
};

struct cpuset {
    struct cpuset_shared *sh;
    bool own_sh;                   /* bare tests: not from cs_fw_shared */
    struct cs_map view;            /* scheduling thread: name -> struct topo_entry (copies) */
    uint64_t view_version;
};

/* Per-pod cycle state. */
struct cpuset_pod {
    uint32_t k;
};

/* ---- per-node pinned CPUs ------------------------------------------------------------------ */

struct pins {
    uint16_t *cnt;                 /* per cpu id: pods holding it */
    uint32_t cap;
    /* Free counts under memo_topo (counted reference), kept until the pins change: Filter and
     * Score of every pod class read them instead of walking the CPUs. Written only on snapshot
     * copies (the scheduling thread). */
    struct cs_cpu_topo *memo_topo;
    struct cs_cpu_free memo;
};

/* The CPU ids of a `cpuset` annotation; returns how many (at most cap), -1 when malformed. */
static int annotation_ids(const char *text, int32_t *ids, uint32_t cap)
{
    json_t *root = json_loads(text, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    uint32_t n = 0;
    int rc = 0;
    const char *cname, *numa, *cpu;
    json_t *per_numa, *set, *unused;
    json_object_foreach(root, cname, per_numa) {
        json_object_foreach(per_numa, numa, set) {
            json_t *elems = json_object_get(set, "elems");
            if (!json_is_object(elems)) {
                rc = -1;
                continue;
            }
            json_object_foreach(elems, cpu, unused) {
                char *end;
                long id = strtol(cpu, &end, 10);
                if (*end || end == cpu || id < 0 || id > CS_CPUSET_MAX_ID) {
                    rc = -1;
                } else if (n < cap) {
                    ids[n++] = (int32_t)id;
                }
            }
        }
    }
    json_decref(root);
    return rc < 0 ? -1 : (int)n;
}

static void pins_apply(struct pins *p, const struct cs_pod *pod, int delta)
{
    const char *ann = cs_pod_annotation(pod, ANN_RESULT);
    if (ann == NULL || pod->node_name == NULL) {
        return;
    }
    cs_cpu_topo_unref(p->memo_topo);
    p->memo_topo = NULL;
    int32_t ids[CS_CPUSET_MAX_ID + 1];
    int n = annotation_ids(ann, ids, CS_CPUSET_MAX_ID + 1);
    if (n < 0) {
        if (delta > 0) {
            CS_WARN_S("Ignoring a malformed cpuset annotation", CS_KV("pod", pod->key),
                      CS_KV("cpuset", ann));
        }
        return;
    }
    for (int i = 0; i < n; i++) {
        uint32_t id = (uint32_t)ids[i];
        if (id >= p->cap) {
            uint32_t cap = p->cap ? p->cap : 64;
            while (cap <= id) {
                cap *= 2;
            }
            p->cnt = cs_realloc(p->cnt, sizeof(*p->cnt) * cap);
            memset(p->cnt + p->cap, 0, sizeof(*p->cnt) * (cap - p->cap));
            p->cap = cap;
        }
        if (delta > 0) {
            p->cnt[id]++;
        } else if (p->cnt[id] > 0) {
            p->cnt[id]--;
        }
    }
}

static void *pins_create(void *arg, const struct cs_node_info *ni)
{
    (void)arg;
    (void)ni;
    return cs_calloc(1, sizeof(struct pins));
}

static void pins_destroy(void *arg, void *st)
{
    (void)arg;
    struct pins *p = st;
    if (p) {
        cs_cpu_topo_unref(p->memo_topo);
        cs_free(p->cnt);
        cs_free(p);
    }
}

static void *pins_copy(void *arg, void *dst, const void *src)
{
    (void)arg;
    struct pins *d = dst ? dst : cs_calloc(1, sizeof(*d));
    const struct pins *s = src;
    if (d->cap < s->cap) {
        d->cnt = cs_realloc(d->cnt, sizeof(*d->cnt) * s->cap);
        d->cap = s->cap;
    }
    if (s->cap) {
        memcpy(d->cnt, s->cnt, sizeof(*d->cnt) * s->cap);
    }
    if (d->cap > s->cap) {
        memset(d->cnt + s->cap, 0, sizeof(*d->cnt) * (d->cap - s->cap));
    }
    cs_cpu_topo_unref(d->memo_topo);
    d->memo_topo = cs_cpu_topo_ref(s->memo_topo);
    if (s->memo_topo) {
        d->memo = s->memo;
    }
    return d;
}

static void pins_add(void *arg, void *st, const struct cs_node_info *ni, const struct cs_pod *pod)
{
    (void)arg;
    (void)ni;
    pins_apply(st, pod, +1);
}

static void pins_remove(void *arg, void *st, const struct cs_node_info *ni,
                        const struct cs_pod *pod)
{
    (void)arg;
    (void)ni;
    pins_apply(st, pod, -1);
}

static const struct cs_node_state_ops pins_ops = {
    .create = pins_create,
    .destroy = pins_destroy,
    .copy = pins_copy,
    .add_pod = pins_add,
    .remove_pod = pins_remove,
};

static bool pin_free(const void *arg, int32_t id)
{
    const struct pins *p = arg;
    return p == NULL || (uint32_t)id >= p->cap || p->cnt[id] == 0;
}

/* ---- topologies ---------------------------------------------------------------------------- */

static void entry_free(struct topo_entry *e)
{
    if (e) {
        cs_cpu_topo_unref(e->topo);
        cs_free(e->name);
        cs_free(e->reported);
        cs_free(e);
    }
}

static void nrt_put(void *priv, const json_t *obj)
{
    struct cpuset_shared *sh = priv;
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    if (name == NULL) {
        return;
    }
    const char *text = json_string_value(json_object_get(json_object_get(md, "annotations"),
                                                         ANN_TOPOLOGY));
    char err[256] = "";
    struct cs_cpu_topo *topo = text ? cs_cpu_topo_parse(text, err, sizeof(err)) : NULL;
    pthread_mutex_lock(&sh->mu);
    struct topo_entry *e = cs_map_get(&sh->live, name);
    if (e == NULL) {
        e = cs_calloc(1, sizeof(*e));
        e->name = cs_strdup(name);
        cs_map_put(&sh->live, e->name, e);
    }
    cs_cpu_topo_unref(e->topo);
    e->topo = topo;
    bool report = text && topo == NULL && (e->reported == NULL || strcmp(e->reported, text) != 0);
    if (report) {
        cs_free(e->reported);
        e->reported = cs_strdup(text);
    }
    atomic_fetch_add(&sh->version, 1);
    pthread_mutex_unlock(&sh->mu);
    if (report) {
        char note[400];
        snprintf(note, sizeof(note), "invalid %s annotation: %s; node %s gets no cpuset pods",
                 ANN_TOPOLOGY, err, name);
        CS_WARN_S("Invalid CPU topology", CS_KV("noderesourcetopology", name), CS_KV("err", err));
        struct cs_object_ref ref = {
            .kind = "NodeResourceTopology",
            .api_version = "topology.node.k8s.io/v1alpha1",
            .name = name,
            .uid = json_string_value(json_object_get(md, "uid")),
        };
        cs_fw_event(sh->fw, &ref, "Warning", "InvalidCPUTopology", note);
    }
    cs_fw_invalidate(sh->fw);
    cs_fw_raise(sh->fw, RAISE_NAME, NULL, obj);
}

static void nrt_update(void *priv, const json_t *old, const json_t *obj)
{
    (void)old;
    nrt_put(priv, obj);
}

static void nrt_delete(void *priv, const json_t *obj)
{
    struct cpuset_shared *sh = priv;
    const char *name =
        json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
    if (name == NULL) {
        return;
    }
    pthread_mutex_lock(&sh->mu);
    entry_free(cs_map_del(&sh->live, name));
    atomic_fetch_add(&sh->version, 1);
    pthread_mutex_unlock(&sh->mu);
    cs_fw_invalidate(sh->fw);
}

static void clear_map(struct cs_map *m)
{
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(m, &it, &k, &v);) {
        entry_free(v);
    }
    cs_map_destroy(m);
    cs_map_init(m);
}

static void *shared_create(void *arg)
{
    struct cs_fw_handle *fw = arg;
    struct cpuset_shared *sh = cs_calloc(1, sizeof(*sh));
    sh->fw = fw;
    pthread_mutex_init(&sh->mu, NULL);
    cs_map_init(&sh->live);
    sh->slot = fw ? cs_fw_node_state(fw, &pins_ops, sh) : -1;
    if (fw) {
        struct cs_watch_spec ws = {
            .name = "noderesourcetopologies",
            .path = NRT_PATH,
            .on_add = nrt_put,
            .on_update = nrt_update,
            .on_delete = nrt_delete,
            .optional = true,
        };
        char err[256];
        if (cs_fw_watch(fw, sh, &ws, err, sizeof(err)) != 0) {
            CS_ERROR_S(err, "Cannot watch NodeResourceTopology objects");
        }
    }
    return sh;
}

static void shared_destroy(void *obj)
{
    struct cpuset_shared *sh = obj;
    clear_map(&sh->live);
    cs_map_destroy(&sh->live);
    pthread_mutex_destroy(&sh->mu);
    cs_free(sh);
}

/* The scheduling thread's copy of the map, refreshed when it moved. */
static void sync_view(struct cpuset *p)
{
    struct cpuset_shared *sh = p->sh;
    if (atomic_load(&sh->version) == p->view_version) {
        return;
    }
    clear_map(&p->view);
    pthread_mutex_lock(&sh->mu);
    p->view_version = atomic_load(&sh->version);
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&sh->live, &it, &k, &v);) {
        const struct topo_entry *e = v;
        if (e->topo) {
            struct topo_entry *c = cs_calloc(1, sizeof(*c));
            c->name = cs_strdup(e->name);
            c->topo = cs_cpu_topo_ref(e->topo);
            cs_map_put(&p->view, c->name, c);
        }
    }
    pthread_mutex_unlock(&sh->mu);
}

static const struct cs_cpu_topo *topo_of(const struct cpuset *p, const char *node)
{
    const struct topo_entry *e = cs_map_get(&p->view, node);
    return e ? e->topo : NULL;
}

static struct pins *pins_of(const struct cpuset *p, const struct cs_node_info *ni)
{
    return p->sh->slot >= 0 ? cs_node_state(ni, p->sh->slot) : NULL;
}

/* The node's free counts under t, from the memo when the pins did not change since. */
static const struct cs_cpu_free *free_counts(struct pins *pn, const struct cs_cpu_topo *t,
                                             struct cs_cpu_free *scratch)
{
    if (pn == NULL) {
        cs_cpu_count_free(t, pin_free, NULL, scratch);
        return scratch;
    }
    if (pn->memo_topo != t) {
        cs_cpu_count_free(t, pin_free, pn, &pn->memo);
        cs_cpu_topo_unref(pn->memo_topo);
        pn->memo_topo = cs_cpu_topo_ref((struct cs_cpu_topo *)t);
    }
    return &pn->memo;
}

/* ---- plugin ops ---------------------------------------------------------------------------- */

static int cpuset_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    struct cpuset *p = cs_calloc(1, sizeof(*p));
    if (in->fw) {
        p->sh = cs_fw_shared(in->fw, "cpusetscheduling", shared_create, shared_destroy, in->fw);
    } else {
        p->sh = shared_create(NULL);
        p->own_sh = true;
    }
    cs_map_init(&p->view);
    p->view_version = (uint64_t)-1;
    *priv = p;
    return 0;
}

static void cpuset_destroy(void *priv)
{
    struct cpuset *p = priv;
    clear_map(&p->view);
    cs_map_destroy(&p->view);
    if (p->own_sh) {
        shared_destroy(p->sh);
    }
    cs_free(p);
}

/* How many CPUs the pod pins: the sum of its containers' integer limits.cpu. 0 with a reason
 * in the arena when a limit is fractional or no container has one. */
static uint32_t pod_cpus(const struct cs_pod *pod, struct cs_arena *a, const char **why)
{
    int64_t total = 0;
    for (uint32_t i = 0; i < pod->n_containers; i++) {
        const struct cs_container *ct = &pod->containers[i];
        int64_t m = cs_res_list_get(ct->limits, CS_RES_CPU);
        if (m == 0) {
            continue;
        }
        if (m % 1000 != 0) {
            *why = cs_arena_printf(a,
                                   "cpuset-scheduler: container %s has limits.cpu %lldm, not a "
                                   "whole number of CPUs",
                                   ct->name ? ct->name : "?", (long long)m);
            return 0;
        }
        total += m / 1000;
    }
    if (total == 0) {
        *why = "cpuset-scheduler: no container has an integer limits.cpu";
        return 0;
    }
    if (total > CS_CPUSET_MAX_ID + 1) {
        *why = cs_arena_printf(a, "cpuset-scheduler: %lld CPUs asked, more than any node has",
                               (long long)total);
        return 0;
    }
    return (uint32_t)total;
}

static bool wants_cpuset(const struct cs_pod *pod)
{
    const char *v = cs_pod_annotation(pod, ANN_ENABLE);
    return v && strcmp(v, "true") == 0;
}

static enum cs_code cpuset_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                      struct cs_status *st)
{
    if (!wants_cpuset(pod)) {
        return CS_SKIP;
    }
    const char *why = NULL;
    uint32_t k = pod_cpus(pod, c->arena, &why);
    if (k == 0) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, why);
    }
    sync_view(c->priv);
    struct cpuset_pod *ps = cs_arena_alloc(c->arena, sizeof(*ps));
    ps->k = k;
    *c->state = ps;
    return CS_SUCCESS;
}

static enum cs_code cpuset_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                  const struct cs_node_info *ni, struct cs_status *st)
{
    (void)pod;
    const struct cpuset_pod *ps = *c->state;
    if (ps == NULL) {
        return CS_SUCCESS;
    }
    const struct cs_cpu_topo *t = topo_of(c->priv, ni->name);
    if (t == NULL) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, NO_TOPOLOGY);
    }
    struct cs_cpu_free scratch;
    if (cs_cpu_fit_level_free(t, free_counts(pins_of(c->priv, ni), t, &scratch), ps->k) == 0) {
        return cs_status_set(st, CS_UNSCHEDULABLE, NOT_ENOUGH);
    }
    return CS_SUCCESS;
}

static enum cs_code cpuset_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                     struct cs_node_info *const *feasible, uint32_t n,
                                     struct cs_status *st)
{
    (void)pod;
    (void)feasible;
    (void)n;
    (void)st;
    return *c->state ? CS_SUCCESS : CS_SKIP;
}

static int64_t cpuset_score(struct cs_fw_call *c, const struct cs_pod *pod,
                            const struct cs_node_info *ni)
{
    (void)pod;
    const struct cpuset_pod *ps = *c->state;
    const struct cs_cpu_topo *t = ps ? topo_of(c->priv, ni->name) : NULL;
    if (t == NULL) {
        return 0;
    }
    static const int64_t by_level[] = { 0, 100, 50, 10 };
    struct cs_cpu_free scratch;
    return by_level[cs_cpu_fit_level_free(t, free_counts(pins_of(c->priv, ni), t, &scratch),
                                          ps->k)];
}

/* The annotation for an allocation: each container asking CPUs takes the next ones. */
static char *result_json(const struct cs_pod *pod, const struct cs_cpu_topo *t,
                         const uint32_t *cpus, uint32_t k)
{
    json_t *root = json_object();
    uint32_t next = 0;
    for (uint32_t i = 0; i < pod->n_containers && next < k; i++) {
        const struct cs_container *ct = &pod->containers[i];
        int64_t m = cs_res_list_get(ct->limits, CS_RES_CPU);
        if (m <= 0) {
            continue;
        }
        json_t *per_numa = json_object();
        for (int64_t j = 0; j < m / 1000 && next < k; j++) {
            const struct cs_cpu *cpu = &t->cpus[cpus[next++]];
            char numa[16], id[16];
            snprintf(numa, sizeof(numa), "%d", cpu->numa);
            snprintf(id, sizeof(id), "%d", cpu->id);
            json_t *set = json_object_get(per_numa, numa);
            if (set == NULL) {
                set = json_pack("{s:{}}", "elems");
                json_object_set_new(per_numa, numa, set);
            }
            json_object_set_new(json_object_get(set, "elems"), id, json_object());
        }
        json_object_set_new(root, ct->name ? ct->name : "", per_numa);
    }
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    return s;
}

static enum cs_code cpuset_pre_bind(struct cs_fw_call *c, const struct cs_pod *pod,
                                    const char *node, struct cs_bind_patch *patch,
                                    struct cs_status *st)
{
    const struct cpuset_pod *ps = *c->state;
    if (ps == NULL) {
        return CS_SUCCESS;
    }
    struct cpuset *p = c->priv;
    const struct cs_node_info *ni = cs_snapshot_node(c->snap, node);
    const struct cs_cpu_topo *t = topo_of(p, node);
    if (ni == NULL || t == NULL) {
        return cs_status_set(st, CS_UNSCHEDULABLE, NO_TOPOLOGY);
    }
    uint32_t *cpus = cs_arena_alloc(c->arena, sizeof(*cpus) * ps->k);
    int numa = cs_cpu_allocate(t, pin_free, pins_of(p, ni), ps->k, cpus);
    if (numa < 0) {
        return cs_status_set(st, CS_UNSCHEDULABLE, NOT_ENOUGH);
    }
    char *json = result_json(pod, t, cpus, ps->k);
    cs_bind_patch_annotate(patch, c->arena, ANN_RESULT, json);
    if (CS_V(4)) {
        CS_INFO_S("Cpuset allocated", CS_KV("pod", pod->key), CS_KV("node", node),
                  CS_KVI("numaNodes", numa), CS_KV("cpuset", json));
    }
    free(json);
    return CS_SUCCESS;
}

static enum cs_qhint cpuset_hint(void *priv, const struct cs_event_info *ev,
                                 const struct cs_pod *pod)
{
    (void)priv;
    if (ev->event == CS_EV_CUSTOM) {
        return ev->custom && strcmp(ev->custom, RAISE_NAME) == 0 && wants_cpuset(pod)
                   ? CS_QHINT_QUEUE
                   : CS_QHINT_SKIP;
    }
    if (ev->event == CS_EV_POD_DELETE && ev->old_pod) {
        return cs_pod_annotation(ev->old_pod, ANN_RESULT) ? CS_QHINT_QUEUE : CS_QHINT_SKIP;
    }
    return CS_QHINT_QUEUE;
}

static const char *const cpuset_meta_keys[] = { ANN_ENABLE, NULL };

const struct cs_plugin cs_plugin_cpusetscheduling = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "CpusetScheduling",
    .events = CS_EV_NODE_ADD | CS_EV_POD_DELETE | CS_EV_POD_UPDATE | CS_EV_CUSTOM,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .meta_keys = cpuset_meta_keys,
    .init = cpuset_init,
    .destroy = cpuset_destroy,
    .queueing_hint = cpuset_hint,
    .pre_filter = cpuset_pre_filter,
    .filter = cpuset_filter,
    .pre_score = cpuset_pre_score,
    .score = cpuset_score,
    .pre_bind = cpuset_pre_bind,
};
