#ifndef CS_PKG_KQUEUE_JOBKIND_H
#define CS_PKG_KQUEUE_JOBKIND_H
/*
 * The job kinds the queue holds (ack-features.md 6.4), read from their JSON: whether a job is
 * held (suspended) and has not started, whether it finished, what all of its pods request
 * together, and the patches that release it and suspend it again. Pure functions of the object
 * (no I/O). Each kind is a const descriptor with an ops table; the family of a kind lives in a
 * file of its own:
 *
 *   kind            ext           held by                          released by      file
 *   batch/v1 Job    job           spec.suspend: true               spec.suspend:    jobkind.c
 *                                                                  false
 *   kubeflow.org/v1 tfjob,        spec.runPolicy.suspend: true,    both unset       jobkind.c
 *   TFJob,          pytorchjob    or the annotation
 *   PyTorchJob                    scheduling.x-k8s.io/suspend:
 *                                 "true"
 *   ray.io/v1       rayjob        spec.suspend: true               spec.suspend:    jobkind_ray.c
 *   RayJob                                                         false
 *   sparkoperator.  sparkapp      the annotation                   annotation       jobkind_spark.c
 *   k8s.io/v1beta2                scheduling.x-k8s.io/suspend:     removed
 *   SparkApplication              "true"
 *   argoproj.io/    argoworkflow  spec.suspend: true, or a         spec.suspend     jobkind_argo.c
 *   v1alpha1                      running Suspend node of the      unset, the
 *   Workflow                      template kube-queue-suspend      Suspend node
 *                                 (or koord-queue-suspend)         Succeeded
 *
 * A held job is queued only when it never started: no status.startTime (Job, kubeflow, RayJob),
 * an empty status.applicationState.state (SparkApplication), no Pod node yet (Workflow).
 * Requests: each pod template decoded as a pod (api/decode.c, so requests are what the
 * scheduler counts, init containers and overhead included), times the pods it makes at once,
 * summed; the per-kind files say what a template and a count are for their kind. Priority: the
 * highest of the templates (class resolved through the decoder's PriorityClass table).
 */
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "api/types.h"
#include "pkg/kqueue/kqueue.h"
#include "pkg/util/buf.h"

#define CS_KQ_SUSPEND_ANNOTATION "scheduling.x-k8s.io/suspend"

struct cs_kq_kind;

struct cs_kq_job_req {
    struct cs_kq_res *res;       /* heap; cs_kq_job_req_free */
    uint32_t n_res;
    struct cs_kq_res *limits;    /* the pods' limits summed the same way (ResourceQuota
                                  * limits.*), heap */
    uint32_t n_limits;
    uint32_t pods;               /* pods running at once (0: not known, e.g. a Workflow: no gang,
                                  * no requeue, no end read from its pods) */
    int32_t priority;
    const char *priority_class;  /* borrowed from the job, NULL when none */
};

/* What a kind does; every op is a pure function of the job's JSON (any thread). */
struct cs_kq_kind_ops {
    bool (*held)(const struct cs_kq_kind *k, const json_t *job);
    bool (*started)(const struct cs_kq_kind *k, const json_t *job);
    /* 0 still going, 1 succeeded, 2 failed. */
    int (*finished)(const struct cs_kq_kind *k, const json_t *job);
    /* Total requests (out zeroed by the caller, priority INT32_MIN); -1 with err naming the
     * field when the job cannot be read. */
    int (*requests)(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k, const json_t *job,
                    struct cs_kq_job_req *out, char *err, size_t errlen);
    void (*release_patch)(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                          uint32_t min_available, struct cs_buf *out);
    void (*suspend_patch)(const struct cs_kq_kind *k, struct cs_buf *out);
    /* The name of the job of this kind a pod belongs to when its controller owner is not the
     * job itself (a RayJob's pods are owned by its RayCluster, a Spark executor by the driver
     * pod), read from the labels the operator sets; NULL: the ownerReference says it. */
    const char *(*pod_job)(const json_t *pod);
    /* Do all of a job's pods run in one wave, so that all of them ending ends the job? */
    bool (*one_wave)(const struct cs_kq_kind *k, const json_t *job);
};

struct cs_kq_kind {
    const char *ext;             /* --enabled-extensions name: "job", "tfjob", ... */
    const char *kind;            /* "Job", "TFJob", ... */
    const char *api_version;     /* "batch/v1", "kubeflow.org/v1", ... */
    const char *plural;          /* "jobs", "tfjobs", ... */
    const char *replica_specs;   /* kubeflow: "tfReplicaSpecs", ...; NULL otherwise */
    bool crd;                    /* served by a CRD that may be missing (its informer syncs on a
                                  * 404 and retries) */
    const struct cs_kq_kind_ops *ops;
};

extern const struct cs_kq_kind cs_kq_kinds[];
extern const size_t cs_kq_n_kinds;
const struct cs_kq_kind *cs_kq_kind_by_ext(const char *ext);
const struct cs_kq_kind *cs_kq_kind_by_kind(const char *api_version, const char *kind);
/* The collection path of a kind ("/apis/batch/v1/jobs"), or of one object when ns is set. */
void cs_kq_kind_path(const struct cs_kq_kind *k, const char *ns, const char *name,
                     struct cs_buf *out);

bool cs_kq_job_held(const struct cs_kq_kind *k, const json_t *job);
bool cs_kq_job_started(const struct cs_kq_kind *k, const json_t *job);
/* 0 still going, 1 succeeded, 2 failed (conditions, states or phases of the kind). */
int cs_kq_job_finished(const struct cs_kq_kind *k, const json_t *job);
/* Do the job's pods all run at once (a Job whose completions fit its parallelism, a kubeflow
 * job, a RayJob's cluster)? Then their end is the job's end when its status says nothing. */
bool cs_kq_job_one_wave(const struct cs_kq_kind *k, const json_t *job);
/* The name of the job of kind k a pod belongs to by the operator's labels, NULL when none. */
const char *cs_kq_pod_job(const struct cs_kq_kind *k, const json_t *pod);

/* Total requests of a job. -1 with err naming the template and field when a template cannot be
 * read (an unparsable quantity ...) or a field the kind needs is missing. */
int cs_kq_job_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                       const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen);
void cs_kq_job_req_free(struct cs_kq_job_req *r);
/* The merge patch that releases a held job. With gang set (and min_available > 1), every pod
 * template that declares no gang of its own gets ACK's gang labels
 * (pod-group.scheduling.sigs.k8s.io/name = gang, .../min-available = min_available), so the
 * scheduler binds all of the job's pods or none (a suspended job that never ran may change its
 * templates' labels). Kinds whose pods do not start together (SparkApplication: executors come
 * after the driver runs; Workflow: step by step) are released without gang. */
void cs_kq_job_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                             uint32_t min_available, struct cs_buf *out);
/* The merge patch that suspends a released job again. */
void cs_kq_job_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out);
/* Does a pod template declare a gang (ACK labels, a PodGroup label, koordinator annotations)? */
bool cs_kq_template_has_gang(const json_t *tmpl);
/* A ResourceList of res as JSON text ({"cpu":"3","memory":"3Gi"}). */
void cs_kq_res_json(const struct cs_kq_res *res, uint32_t n, struct cs_buf *out);

#endif
