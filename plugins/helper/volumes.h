#ifndef CS_PLUGINS_HELPER_VOLUMES_H
#define CS_PLUGINS_HELPER_VOLUMES_H
/*
 * Persistent storage as the volume plugins see it (VolumeBinding, VolumeRestrictions,
 * VolumeZone): one table per scheduler (cs_fw_shared), fed by optional watches (a 404 counts
 * as empty) on v1 persistentvolumeclaims, persistentvolumes, storage.k8s.io/v1 storageclasses
 * and csinodes. A pod's claims come with the pod (cs_pod.claims); which assigned pods use which
 * claim (ReadWriteOncePod) is indexed by uid from a plugin's on_pod (cs_vol_table_pod).
 *
 * The table keeps trimmed JSON; lookups decode what a plugin needs into the caller's arena
 * under the lock, so the results stay valid for the pod attempt whatever the watches do.
 * Any change of a claim, volume or class invalidates the framework's cached per-node results
 * (cs_fw_invalidate) and raises CS_VOL_EVENT for the queue.
 *
 * Thread: written on the informer thread, read on any thread; one mutex inside.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/plugin.h"

#define CS_VOL_EVENT "PersistentVolume"


#define CS_VOL_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define CS_VOL_BIND_COMPLETED "pv.kubernetes.io/bind-completed"
#define CS_VOL_NO_PROVISIONER "kubernetes.io/no-provisioner"

/* Access modes as bits. */
#define CS_VOL_RWO 0x1u
#define CS_VOL_ROX 0x2u
#define CS_VOL_RWX 0x4u
#define CS_VOL_RWOP 0x8u

/* The topology labels of PVs VolumeZone reads: GA zone, GA region, beta zone, beta region. */
extern const char *const CS_VOL_TOPO_KEYS[4];

/* A node selector requirement of a PV's (or class's) topology. */
enum cs_vol_op { CS_VOL_IN = 0, CS_VOL_NOT_IN, CS_VOL_EXISTS, CS_VOL_NOT_EXIST, CS_VOL_GT,
                 CS_VOL_LT, CS_VOL_BAD };

struct cs_vol_req {
    const char *key;
    enum cs_vol_op op;
    const char **values;
    uint32_t n_values;
};

struct cs_vol_term {
    struct cs_vol_req *exprs;          /* matchExpressions (matchLabelExpressions: In) */
    uint32_t n_exprs;
    struct cs_vol_req *fields;         /* matchFields (metadata.name only) */
    uint32_t n_fields;
};

/* Required node affinity (ORed terms); n_terms == 0 with `present` matches no node. */
struct cs_vol_affinity {
    bool present;
    struct cs_vol_term *terms;
    uint32_t n_terms;
};

struct cs_vol_claim {
    const char *ns, *name, *uid, *rv;
    bool deleting;
    const char *class_name;            /* spec.storageClassName, else the beta annotation; "" none */
    const char *volume_name;           /* spec.volumeName; NULL = none */
    bool bind_completed;               /* volumeName and the bind-completed annotation: bound */
    const char *selected_node;         /* annotation, or assumed by a Reserve; NULL = none */
    int64_t request;                   /* spec.resources.requests.storage, bytes */
    uint32_t modes;                    /* CS_VOL_* */
    bool has_selector;                 /* spec.selector: PVs it may bind to */
    struct cs_vol_term selector;       /* matchLabels as In, matchExpressions */
};

struct cs_vol_pv {
    const char *name, *rv;
    bool deleting;
    const char *class_name;            /* "" = none */
    int64_t capacity;                  /* spec.capacity.storage, bytes */
    uint32_t modes;
    const char *claim_ns, *claim_name, *claim_uid;  /* spec.claimRef; claim_name NULL = free */
    const char *assumed_for;           /* claim "ns/name" a Reserve took it for, else NULL */
    const char *topo[4];               /* labels CS_VOL_TOPO_KEYS[i] (NULL when absent) */
    struct cs_vol_affinity affinity;
    const char *csi_driver, *csi_handle;   /* spec.csi.{driver,volumeHandle}; NULL: not CSI */
    struct cs_label *labels;
    uint32_t n_labels;
};

struct cs_vol_class {
    const char *name;
    const char *provisioner;
    bool mode_set;                     /* volumeBindingMode present */
    bool wait_for_consumer;            /* volumeBindingMode WaitForFirstConsumer */
    struct cs_vol_affinity allowed;    /* allowedTopologies (present = restricted) */
};

struct cs_vol_table;

/* The scheduler's table (created with its watches by the first caller); NULL with err when a
 * watch cannot be registered. fw NULL (bare unit tests): a private table freed with
 * cs_vol_table_free. */
struct cs_vol_table *cs_vol_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen);
void cs_vol_table_free(struct cs_vol_table *t);
struct cs_fw_handle *cs_vol_table_fw(const struct cs_vol_table *t);

/* The private state of a plugin whose only state is the table (the volume plugins): init takes
 * the scheduler's shared table (a private one owned by the plugin without a framework, as in
 * bare unit tests, which read t through the priv pointer); destroy frees only what it owns. */
struct cs_vol_plugin {
    struct cs_vol_table *t;            /* first: unit tests read it through the priv */
    bool owned;
};
int cs_vol_plugin_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen);
void cs_vol_plugin_destroy(void *priv);

/* The claim names of the pod's volumes (persistentVolumeClaim, and ephemeral as
 * "<pod>-<volume>"), as decoded with the pod (borrowed from it). Returns 0. */
int cs_vol_pod_claims(struct cs_vol_table *t, const struct cs_pod *pod, struct cs_arena *a,
                      const char ***names, uint32_t *n);
/* How many claims the pod's volumes name. */
int32_t cs_vol_pod_claim_count(struct cs_vol_table *t, const struct cs_pod *pod);
/* An assigned pod appeared, changed (pod) or went away (pod NULL): the index of who uses which
 * claim (cs_vol_claim_users), fed from a plugin's on_pod (the scheduling thread), so no second
 * pod stream is needed. */
void cs_vol_table_pod(struct cs_vol_table *t, const struct cs_pod *old, const struct cs_pod *pod);
/* Lookups decoded into the arena; false when absent. */
bool cs_vol_claim_get(struct cs_vol_table *t, const char *ns, const char *name,
                      struct cs_arena *a, struct cs_vol_claim *out);
bool cs_vol_pv_get(struct cs_vol_table *t, const char *name, struct cs_arena *a,
                   struct cs_vol_pv *out);
bool cs_vol_class_get(struct cs_vol_table *t, const char *name, struct cs_arena *a,
                      struct cs_vol_class *out);
/* Every PV whose storageClassName is `class_name` ("" = none); returns the count. */
uint32_t cs_vol_pv_list(struct cs_vol_table *t, const char *class_name, struct cs_arena *a,
                        struct cs_vol_pv **out);
/* Assigned, unfinished pods other than `uid` whose volumes use claim ns/name, plus a pod
 * other than `uid` that reserved it (cs_vol_reserve_claim) and is not assigned yet. */
uint32_t cs_vol_claim_users(struct cs_vol_table *t, const char *ns, const char *name,
                            const char *uid);
/* Reserve claim ns/name for pod uid (uid NULL: drop the reservation). A reservation ends when
 * the pod index shows the pod assigned or deleted. */
void cs_vol_reserve_claim(struct cs_vol_table *t, const char *ns, const char *name,
                          const char *uid);

/* The CSINode of node `name`: its drivers with an allocatable count, into the arena. Returns
 * the number of such drivers; -1 when there is no CSINode. */
int32_t cs_vol_node_limits(struct cs_vol_table *t, const char *name, struct cs_arena *a,
                           const char ***drivers, int64_t **counts);

/* Reserve-time assumptions (upstream's assume cache): a PV taken for a claim, a claim given a
 * selected node. Dropped by the forget calls, and when the watch shows the claim bound / the
 * PV's claimRef set. */
void cs_vol_assume_pv(struct cs_vol_table *t, const char *pv, const char *claim_key);
void cs_vol_forget_pv(struct cs_vol_table *t, const char *pv);
void cs_vol_assume_node(struct cs_vol_table *t, const char *claim_key, const char *node);
void cs_vol_forget_node(struct cs_vol_table *t, const char *claim_key);

/* Does the claim's selector (none: every PV) admit the PV's labels? */
bool cs_vol_selector_matches(const struct cs_vol_claim *c, const struct cs_vol_pv *pv);

/* Does the affinity admit the node (absent affinity admits every node)? */
bool cs_vol_affinity_matches(const struct cs_vol_affinity *a, const struct cs_node *node);

/* Feeding the table directly (tests, and the watch callbacks). */
enum cs_vol_kind { CS_VOL_KIND_PVC = 0, CS_VOL_KIND_PV, CS_VOL_KIND_CLASS, CS_VOL_KIND_POD,
                   CS_VOL_KIND_CSINODE };
void cs_vol_table_upsert(struct cs_vol_table *t, enum cs_vol_kind k, const json_t *obj);
void cs_vol_table_delete(struct cs_vol_table *t, enum cs_vol_kind k, const json_t *obj);

#endif
