#ifndef CS_API_RESOURCE_H
#define CS_API_RESOURCE_H
/*
 * Resource vectors. A vector has fixed slots for the four core resources and CS_RES_MAX - 4 slots
 * for extended resources (nvidia.com/gpu, aliyun.com/gpu-mem, hugepages-2Mi ...). Extended names
 * are mapped to slots by a shared cs_resource_names table (thread-safe, append-only), so the
 * scheduler's hot loops compare int64 arrays and never strings.
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

/* The unit a quantity of this resource is stored in: milli for cpu, whole units otherwise. */
bool cs_resource_is_milli(int slot);
/* Extended resources as kube-scheduler tells them: a name with a domain prefix ("vendor.com/gpu")
 * outside the kubernetes.io/ namespaces and not starting with the quota prefix "requests.". */
bool cs_resource_is_extended(const char *name);
bool cs_resource_is_hugepages(const char *name);

/* Decode a core/v1 ResourceList (JSON object name -> Quantity) into out (zeroed first). cpu is
 * stored as MilliValue, everything else as Value; unknown names get slots (registered in t).
 * NULL or JSON null leaves out empty and returns 0. Errors (-1) put a message naming
 * `path.<name>` into err: not an object, invalid quantity, or the table is full. */
int cs_resources_decode(struct cs_resource_names *t, const json_t *obj, const char *path,
                        struct cs_resources *out, char *err, size_t errlen);
/* Append the present slots as "name=value,..." (cpu as "<n>m") for logs. */
struct cs_buf;
void cs_resources_format(struct cs_resource_names *t, const struct cs_resources *r, struct cs_buf *b);

#endif
