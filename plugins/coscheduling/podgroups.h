#ifndef CS_PLUGINS_COSCHEDULING_PODGROUPS_H
#define CS_PLUGINS_COSCHEDULING_PODGROUPS_H
/*
 * The PodGroup objects the plugin watches (scheduling.sigs.k8s.io/v1alpha1 and
 * scheduling.x-k8s.io/v1alpha1), reduced to what scheduling needs. Written by the watch callbacks
 * on the informer thread, read on the scheduling thread and by the queue (pod_group, any thread):
 * one mutex, lookups copy the entry out.
 */
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/resource.h"
#include "pkg/util/map.h"

struct cs_podgroup {
    int32_t min_member;            /* spec.minMember (0 when absent or invalid) */
    int32_t timeout_s;             /* spec.scheduleTimeoutSeconds (0 = none) */
    bool has_min_resources;        /* spec.minResources is set */
    struct cs_resources min_resources;  /* its dense part (names past the table are ignored) */
    char phase[24];                /* status.phase as last seen */
    char error[160];               /* non-empty: the object is malformed (why) */
};

struct cs_podgroups {
    struct cs_resource_names *names;   /* the process's resource table (minResources) */
    pthread_mutex_t mu;
    struct cs_map by_key;          /* "apigroup|ns/name" -> struct cs_podgroup * */
};

void cs_podgroups_init(struct cs_podgroups *t);
void cs_podgroups_destroy(struct cs_podgroups *t);
/* Add or replace from a PodGroup object of api_group; returns false when obj has no name. */
bool cs_podgroups_upsert(struct cs_podgroups *t, const char *api_group, const json_t *obj);
void cs_podgroups_remove(struct cs_podgroups *t, const char *api_group, const json_t *obj);
/* Copy of the PodGroup ns/name of api_group into out; false when there is none. */
bool cs_podgroups_get(struct cs_podgroups *t, const char *api_group, const char *ns,
                      const char *name, struct cs_podgroup *out);

#endif
