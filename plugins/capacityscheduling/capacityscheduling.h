#ifndef CS_PLUGINS_CAPACITYSCHEDULING_CAPACITYSCHEDULING_H
#define CS_PLUGINS_CAPACITYSCHEDULING_CAPACITYSCHEDULING_H
/*
 * CapacityScheduling's shared state (one per scheduler, through cs_fw_shared): the quota
 * objects (informer side), the quota model (scheduling thread), and what status.c needs to
 * write statuses and metrics. Internal to the plugin's folder.
 */
#include <stdint.h>

#include "api/plugin.h"
#include "pkg/quota/quota.h"
#include "plugins/capacityscheduling/objects.h"

struct cs_pdb_table;
struct cs_metric;

struct cs_capsched {
    struct cs_capobj objs;
    uint64_t applied_gen;          /* objs.gen the model reflects */
    struct cs_quota_model model;
    struct cs_resource_names *res;
    struct cs_fw_handle *fw;
    struct cs_pdb_table *pdbs;
    bool own_pdbs;
    const struct cs_snapshot *snap;   /* the session's (session_open .. session_close) */
    /* status.c */
    int64_t last_status_ns;
    uint64_t status_version;       /* model version last written */
    json_t *written;               /* what was last written, per target */
    struct cs_metric *m_min, *m_max, *m_used, *m_borrowed, *m_pending;
    uint64_t preemptions;          /* victims chosen by quota reclaim (stats) */
    bool evicted;                  /* this session's statements evicted a pod */
};

/* status.c: write statuses and metrics when the model changed, at most once per second
 * (force: now). */
void cs_capsched_status(struct cs_capsched *cs, bool force);
void cs_capsched_metrics_init(struct cs_capsched *cs);

#endif
