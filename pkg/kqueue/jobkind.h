#ifndef CS_PKG_KQUEUE_JOBKIND_H
#define CS_PKG_KQUEUE_JOBKIND_H
/*
 * The job kinds the queue holds (ack-features.md 6.4), read from their JSON: whether a job is
 * held (suspended) and has not started, whether it finished, what all of its pods request
 * together, and the patch that releases it. Pure functions of the object (no I/O).
 *
 *   kind        extension    held by                                   released by
 *   batch/v1    job          spec.suspend: true                        spec.suspend: false
 *   Job
 *   kubeflow.   tfjob,       spec.runPolicy.suspend: true, or the      both unset
 *   org/v1      pytorchjob   annotation scheduling.x-k8s.io/suspend:
 *   TFJob,                   "true"
 *   PyTorchJob
 *
 * A held job is queued only when it has no status.startTime (it never ran).
 * Requests: each pod template decoded as a pod (api/decode.c, so requests are what the
 * scheduler counts, init containers and overhead included), times its replicas (a Job runs
 * min(parallelism, completions) pods at once, parallelism 1 by default; a replica type 1 by
 * default), summed. Priority: the highest of the templates (class resolved through the
 * decoder's PriorityClass table).
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api/types.h"
#include "pkg/kqueue/kqueue.h"
#include "pkg/util/buf.h"

#define CS_KQ_SUSPEND_ANNOTATION "scheduling.x-k8s.io/suspend"

struct cs_kq_kind {
    const char *ext;             /* --enabled-extensions name: "job", "tfjob", "pytorchjob" */
    const char *kind;            /* "Job", "TFJob", "PyTorchJob" */
    const char *api_version;     /* "batch/v1", "kubeflow.org/v1" */
    const char *plural;          /* "jobs", "tfjobs", "pytorchjobs" */
    const char *replica_specs;   /* "tfReplicaSpecs", ...; NULL: spec.template (a Job) */
};

extern const struct cs_kq_kind cs_kq_kinds[];
extern const size_t cs_kq_n_kinds;
const struct cs_kq_kind *cs_kq_kind_by_ext(const char *ext);
const struct cs_kq_kind *cs_kq_kind_by_kind(const char *api_version, const char *kind);
/* The collection path of a kind ("/apis/batch/v1/jobs"), or of one object when ns is set. */
void cs_kq_kind_path(const struct cs_kq_kind *k, const char *ns, const char *name,
                     struct cs_buf *out);

bool cs_kq_job_held(const struct cs_kq_kind *k, const json_t *job);
bool cs_kq_job_started(const json_t *job);
/* 0 still going, 1 succeeded, 2 failed, from status.conditions. */
int cs_kq_job_finished(const struct cs_kq_kind *k, const json_t *job);

struct cs_kq_job_req {
    struct cs_kq_res *res;       /* heap; cs_kq_job_req_free */
    uint32_t n_res;
    uint32_t pods;               /* pods running at once */
    int32_t priority;
    const char *priority_class;  /* borrowed from the job, NULL when none */
};
/* Total requests of a job. -1 with err naming the template and field when a template cannot be
 * read (an unparsable quantity ...). */
int cs_kq_job_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                       const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen);
void cs_kq_job_req_free(struct cs_kq_job_req *r);
/* The merge patch that releases a held job. With gang set (and min_available > 1), every pod
 * template that declares no gang of its own gets ACK's gang labels
 * (pod-group.scheduling.sigs.k8s.io/name = gang, .../min-available = min_available), so the
 * scheduler binds all of the job's pods or none (a suspended Job that never ran may change its
 * template's labels). */
void cs_kq_job_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                             uint32_t min_available, struct cs_buf *out);
/* The merge patch that suspends a released job again (spec.suspend, spec.runPolicy.suspend). */
void cs_kq_job_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out);
/* Does a pod template declare a gang (ACK labels, a PodGroup label, koordinator annotations)? */
bool cs_kq_template_has_gang(const json_t *tmpl);
/* A ResourceList of res as JSON text ({"cpu":"3","memory":"3Gi"}). */
void cs_kq_res_json(const struct cs_kq_res *res, uint32_t n, struct cs_buf *out);

#endif
