#ifndef CS_PLUGINS_COSCHEDULING_DECL_H
#define CS_PLUGINS_COSCHEDULING_DECL_H
/*
 * How a pod says it belongs to a gang, in every form users write today (ack-features.md §1):
 *
 *   koordinator  annotations gang.scheduling.koordinator.sh/{name, min-available, total-number,
 *                mode, waiting-time, groups, match-policy}
 *   labels       pod-group.scheduling.sigs.k8s.io/name + .../min-available (ACK's lightweight
 *                gang: the scheduler creates the PodGroup object)
 *   PodGroup     label scheduling.x-k8s.io/pod-group (scheduler-plugins), or
 *                pod-group.scheduling.sigs.k8s.io or .../name without min-available (ACK): the
 *                minimum and timeout come from the PodGroup object
 *
 * in that order of precedence. Parsing is pure: it reads the pod only and never fails hard; a
 * declaration that cannot be honoured keeps its gang name (so the pod still waits with its gang)
 * and says why in `error`.
 */
#include <stdbool.h>
#include <stdint.h>

#include "api/types.h"

#define CS_GANG_ERR_MAX 200

enum cs_gang_kind {
    CS_GANG_NONE = 0,
    CS_GANG_KOORD,
    CS_GANG_LABELS,
    CS_GANG_PODGROUP,
};

/* Which members count towards the minimum (koordinator's match-policy). */
enum cs_gang_match {
    CS_GANG_ONCE_SATISFIED = 0,    /* placed + bound >= min, and once met the gang stays met */
    CS_GANG_ONLY_WAITING,          /* members placed in this attempt alone >= min */
    CS_GANG_WAITING_AND_RUNNING,   /* placed + bound >= min, every time */
};

struct cs_gang_decl {
    enum cs_gang_kind kind;
    const char *name;              /* borrowed from the pod */
    const char *api_group;         /* CS_GANG_PODGROUP: the PodGroup's API group */
    int32_t min;                   /* declared minimum; 0 = from the PodGroup object */
    int32_t total;                 /* koordinator total-number (0 = min) */
    bool non_strict;               /* koordinator mode NonStrict */
    enum cs_gang_match match;
    int64_t wait_ns;               /* waiting-time (0 = the PodGroup's or the plugin's) */
    const char *groups;            /* koordinator groups annotation (raw JSON), or NULL */
    char error[CS_GANG_ERR_MAX];   /* non-empty: the declaration cannot be honoured */
};

#define CS_GANG_API_SIGS "scheduling.sigs.k8s.io"
#define CS_GANG_API_XK8S "scheduling.x-k8s.io"

/* Fill d from the pod. Returns false (d->kind NONE) when the pod declares no gang. */
bool cs_gang_decl_parse(const struct cs_pod *pod, struct cs_gang_decl *d);

/* The gangs a koordinator `groups` annotation lists, as "ns/name" (a name without a namespace
 * is in `ns`), sorted and deduplicated, joined by ',' into out. Returns the number of gangs, or
 * -1 with a reason in err when the annotation is not a JSON list of strings. */
int cs_gang_groups_canonical(const char *groups, const char *ns, char *out, size_t n, char *err,
                             size_t errlen);

#endif
