#ifndef CS_API_RESOURCE_H
#define CS_API_RESOURCE_H
/*
 * Resource vectors. A vector has fixed slots for the four core resources and CS_RES_MAX - 4 slots
 * for extended resources (nvidia.com/gpu, aliyun.com/gpu-mem, hugepages-2Mi ...). Extended names
 * are mapped to slots by a shared cs_resource_names table (thread-safe, append-only), so the
 * scheduler's hot loops compare int64 arrays and never strings. Names past the table's size are
 * not refused: they are kept by name beside the vector (struct cs_res_extras below), so there
 * is no limit on how many extended resources a cluster has.
 * Units: cpu in millicores; every other resource in integer units (bytes for memory), both
 * rounded up from the Quantity as the apiserver and kube-scheduler do.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum cs_res_slot {
    CS_RES_CPU = 0,
    CS_RES_MEMORY = 1,
    CS_RES_PODS = 2,
    CS_RES_EPHEMERAL_STORAGE = 3,
    CS_RES_NFIXED = 4,
};

#define CS_RES_MAX 16

struct cs_resources {
    int64_t v[CS_RES_MAX];
    uint32_t present;  /* bit i set when slot i was given explicitly (even as 0) */
};

struct cs_resource_names {
    pthread_mutex_t mu;
    const char *names[CS_RES_MAX];  /* owned copies; [0..3] are the fixed names */
    _Atomic int n;
};

void cs_resource_names_init(struct cs_resource_names *t);
void cs_resource_names_destroy(struct cs_resource_names *t);
/* Slot for a resource name, registering extended names on first use; -1 when the table is full. */
int cs_resource_slot(struct cs_resource_names *t, const char *name);
/* Slot for a name without registering it; -1 when unknown. */
int cs_resource_slot_lookup(struct cs_resource_names *t, const char *name);
/* Name of a slot (NULL when unused). */
const char *cs_resource_name(struct cs_resource_names *t, int slot);
int cs_resource_count(struct cs_resource_names *t);

static inline void cs_res_set(struct cs_resources *r, int slot, int64_t v)
{
    r->v[slot] = v;
    r->present |= 1u << slot;
}

/* a += b (saturating), present bits OR'ed. */
void cs_res_add(struct cs_resources *a, const struct cs_resources *b);
/* a -= b, present bits kept. */
void cs_res_sub(struct cs_resources *a, const struct cs_resources *b);
/* a = max(a, b) per slot. */
void cs_res_max(struct cs_resources *a, const struct cs_resources *b);

/* A resource vector stored compactly: the values of the present slots, in slot order. Objects
 * the cache holds by the hundred thousand keep lists (a container's requests and limits: two
 * or three values each, 24-32 bytes instead of 136); computations expand them. NULL is the
 * empty list. */
struct cs_res_list {
    uint32_t present;
    int64_t v[];
};

static inline bool cs_res_list_has(const struct cs_res_list *l, int slot)
{
    return l != NULL && (l->present & (1u << slot)) != 0;
}

/* The value of slot, 0 when absent. */
static inline int64_t cs_res_list_get(const struct cs_res_list *l, int slot)
{
    if (!cs_res_list_has(l, slot))
        return 0;
    return l->v[__builtin_popcount(l->present & ((1u << slot) - 1u))];
}

/* The dense vector of l (all zero for NULL). */
void cs_res_list_expand(const struct cs_res_list *l, struct cs_resources *out);
/* r packed into a (NULL when r names nothing). */
struct cs_arena;
struct cs_res_list *cs_res_list_pack(struct cs_arena *a, const struct cs_resources *r);
bool cs_res_list_eq(const struct cs_res_list *a, const struct cs_res_list *b);

/* The unit a quantity of this resource is stored in: milli for cpu, whole units otherwise. */
bool cs_resource_is_milli(int slot);
/* Extended resources as kube-scheduler tells them: a name with a domain prefix ("vendor.com/gpu")
 * outside the kubernetes.io/ namespaces and not starting with the quota prefix "requests.". */
bool cs_resource_is_extended(const char *name);
bool cs_resource_is_hugepages(const char *name);

/* Resources beyond the dense table. A process meets any number of extended resource names; the
 * first CS_RES_MAX - 4 get dense slots (the hot path), the rest are kept by name beside the
 * vector, in "extras" (small arrays, in the owning object's arena or on the heap). Scheduling
 * treats both alike (fit checks, node accounting); only scoring ignores extras. */
struct cs_res_extra {
    const char *name;              /* interned */
    int64_t v;
};
struct cs_res_extras {
    struct cs_res_extra *e;
    uint32_t n;
    uint32_t cap;
};
struct cs_arena;
struct cs_intern;
/* Where cs_resources_decode puts names the table has no slot for (NULL: that is an error). */
struct cs_res_sink {
    struct cs_arena *a;            /* NULL: heap (the caller frees e) */
    struct cs_intern *strings;
    struct cs_res_extras *out;
};
/* Value of name in x (0 when absent). */
int64_t cs_res_extra_get(const struct cs_res_extras *x, const char *name);
/* x[name] = op(x[name], v); op: '+', '-', 'M' (max), '=' (set). Grows x in a (or the heap). */
void cs_res_extra_apply(struct cs_res_extras *x, struct cs_arena *a, const char *name, int64_t v,
                        char op);

/* Decode a core/v1 ResourceList (JSON object name -> Quantity) into out (zeroed first). cpu is
 * stored as MilliValue, everything else as Value; unknown names get slots (registered in t).
 * NULL or JSON null leaves out empty and returns 0. Errors (-1) put a message naming
 * `path.<name>` into err: not an object, invalid quantity, or the table is full and there is no
 * sink. */
int cs_resources_decode(struct cs_resource_names *t, const json_t *obj, const char *path,
                        struct cs_resources *out, char *err, size_t errlen);
int cs_resources_decode_sink(struct cs_resource_names *t, const json_t *obj, const char *path,
                             struct cs_resources *out, const struct cs_res_sink *sink, char *err,
                             size_t errlen);
/* Append the present slots as "name=value,..." (cpu as "<n>m") for logs. */
struct cs_buf;
void cs_resources_format(struct cs_resource_names *t, const struct cs_resources *r, struct cs_buf *b);

#endif
