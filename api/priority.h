#ifndef CS_API_PRIORITY_H
#define CS_API_PRIORITY_H
/*
 * PriorityClasses as the pod decoder sees them: the Priority admission plugin's resolution for
 * servers that do not run it (a pod without spec.priority gets its class's value, or the
 * global default class's when it names none, and the class's preemptionPolicy when it sets
 * none). A real kube-apiserver fills both at creation, so there this only confirms them.
 *
 * Thread: fed by the priorityclasses informer (I/O thread), read by decoders on any thread;
 * one mutex inside. A class that changes later does not change pods already decoded (upstream:
 * a pod's priority is fixed at admission).
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api/types.h"

struct cs_prio_table;

struct cs_prio_table *cs_prio_table_new(void);
void cs_prio_table_free(struct cs_prio_table *t);
/* A scheduling.k8s.io/v1 PriorityClass was added or changed / deleted. */
void cs_prio_table_upsert(struct cs_prio_table *t, const json_t *obj);
void cs_prio_table_delete(struct cs_prio_table *t, const json_t *obj);
/* The class named `name`, or the global default class when name is NULL (with several global
 * defaults, the one of lowest value, as admission picks). False when there is none. */
bool cs_prio_table_lookup(struct cs_prio_table *t, const char *name, int32_t *value,
                          enum cs_preemption_policy *policy);

#endif
