#ifndef CS_PLUGINS_CAPACITYSCHEDULING_OBJECTS_H
#define CS_PLUGINS_CAPACITYSCHEDULING_OBJECTS_H
/*
 * The quota objects as the API serves them: ElasticQuotaTrees in kube-system and flat
 * ElasticQuotas (both API groups), kept by the watch callbacks (informer thread) as deep copies
 * under a mutex, with a generation bumped by every change. The scheduling thread asks for the
 * tree that should be in force (cs_capobj_resolve) when the generation moved: the oldest tree
 * object when there is one, else the flat quotas; refusals and ignored objects are reported
 * once per spec content (an Event on the object and a log line).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "api/plugin.h"
#include "pkg/quota/quota.h"

#define CS_EQT_GROUP "scheduling.sigs.k8s.io"
#define CS_EQT_VERSION "v1beta1"

struct cs_capobj;
struct cs_capobj_watch {
    struct cs_capobj *o;
    const char *kind;              /* "tree", or the flat ElasticQuota's API group */
};

struct cs_capobj {
    pthread_mutex_t mu;
    struct cs_capobj_watch watches[3];
    json_t *trees;                 /* "tree ns/name" -> object */
    json_t *flat;                  /* "<group> ns/name" -> object */
    _Atomic uint64_t gen;
    json_t *reported;              /* "kind ns/name" -> spec text last reported refused */
    struct cs_fw_handle *fw;
};

void cs_capobj_init(struct cs_capobj *o, struct cs_fw_handle *fw);
void cs_capobj_destroy(struct cs_capobj *o);
/* Register the watches (init). 0, or -1 with err. */
int cs_capobj_watch(struct cs_capobj *o, char *err, size_t errlen);

/* Feed objects directly (unit tests; the watch callbacks do the same). kind: "tree" or the
 * flat ElasticQuota's API group. */
void cs_capobj_put(struct cs_capobj *o, const char *kind, const json_t *obj);
void cs_capobj_del(struct cs_capobj *o, const char *kind, const json_t *obj);

enum cs_capobj_result { CS_CAPOBJ_NONE = 0, CS_CAPOBJ_TREE, CS_CAPOBJ_REFUSED };
/* The tree to put in force: NONE (no quota objects: *out NULL), TREE (*out, the caller owns
 * it), REFUSED (the tree object is invalid: keep the current one; reported). Scheduling
 * thread. */
enum cs_capobj_result cs_capobj_resolve(struct cs_capobj *o, struct cs_resource_names *res,
                                        struct cs_quota_tree **out);
/* The object the tree came from, for status writes: the tree object's name (kube-system), or
 * NULL for flat quotas. Copies into buf. */
const char *cs_capobj_tree_name(struct cs_capobj *o, char *buf, size_t n);

#endif
