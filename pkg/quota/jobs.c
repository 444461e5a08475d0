/*
 * What the job queue asks of a quota tree (ack-features.md 6.3): the "kube-queue/max-jobs"
 * counts, which the tree parser leaves out of the charged resources, and the path check of a
 * whole job against max (preemptible jobs) or min (non-preemptible ones) with usage the caller
 * keeps. The job queue charges jobs, not pods, so it brings its own usage rows.
 */
#include <stdio.h>
#include <string.h>

#include "api/quantity.h"
#include "pkg/quota/quota.h"

static int jobs_of(const json_t *rl, int64_t *out, const char *qname, const char *field,
                   char *err, size_t errlen)
{
    *out = CS_QUOTA_UNLIMITED;
    const json_t *v = json_object_get(rl, CS_QUOTA_MAX_JOBS);
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    struct cs_quantity q;
    char e[128];
    if (cs_quantity_from_json(v, &q, e, sizeof(e)) != 0 || q.neg) {
        snprintf(err, errlen, "quota %s %s %s: %s", qname, field, CS_QUOTA_MAX_JOBS,
                 q.neg ? "is negative" : e);
        return -1;
    }
    *out = cs_quantity_value(&q);
    return 0;
}

static int walk(const json_t *node, const struct cs_quota_tree *t, int64_t *max_jobs,
                int64_t *min_jobs, uint32_t depth, char *err, size_t errlen)
{
    if (!json_is_object(node) || depth > CS_QUOTA_MAX_DEPTH) {
        return 0;
    }
    const char *name = json_string_value(json_object_get(node, "name"));
    int32_t i = name ? cs_quota_tree_find(t, name) : -1;
    if (i >= 0 &&
        (jobs_of(json_object_get(node, "max"), &max_jobs[i], name, "max", err, errlen) != 0 ||
         jobs_of(json_object_get(node, "min"), &min_jobs[i], name, "min", err, errlen) != 0)) {
        return -1;
    }
    size_t k;
    const json_t *c;
    json_array_foreach(json_object_get(node, "children"), k, c) {
        if (walk(c, t, max_jobs, min_jobs, depth + 1, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int cs_quota_tree_jobs(const json_t *obj, const struct cs_quota_tree *t, int64_t *max_jobs,
                       int64_t *min_jobs, char *err, size_t errlen)
{
    for (uint32_t i = 0; i < t->n; i++) {
        max_jobs[i] = CS_QUOTA_UNLIMITED;
        min_jobs[i] = CS_QUOTA_UNLIMITED;
    }
    return walk(json_object_get(json_object_get(obj, "spec"), "root"), t, max_jobs, min_jobs, 0,
                err, errlen);
}

int32_t cs_quota_path_exceeds(const struct cs_quota_tree *t, int32_t leaf,
                              const int64_t (*used)[CS_QUOTA_MAX_DIMS], const int64_t *req,
                              bool against_min, uint32_t *dim)
{
    for (int32_t i = leaf; i >= 0; i = t->nodes[i].parent) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (req[d] <= 0) {
                continue;
            }
            int64_t lim = against_min ? q->min[d] : q->max[d];
            if (lim == CS_QUOTA_UNLIMITED ||
                (against_min && !(q->declared & (1u << d)))) {
                continue;
            }
            if (used[i][d] > lim - req[d]) {
                *dim = d;
                return i;
            }
        }
    }
    return -1;
}
