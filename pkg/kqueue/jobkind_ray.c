/*
 * ray.io/v1 RayJob as a queued job (ack-features.md 6.4; see jobkind.h for the table).
 *
 * Held by spec.suspend: true and queued while status.startTime is unset; released by
 * spec.suspend: false (KubeRay then creates the RayCluster and the submitter), suspended again
 * by spec.suspend: true (KubeRay deletes the cluster).
 *
 * Size: the RayCluster the job creates, from spec.rayClusterSpec: the head group's template
 * once, plus each worker group's template times its replicas (minReplicas when replicas is not
 * set, 1 when neither is) times numOfHosts (multi-host groups make that many pods per replica).
 * Each template counts as the scheduler counts a pod (jobkind.c). The submitter pod of
 * K8sJobMode is small, short-lived and not part of the cluster: it is not counted (and not
 * part of the gang). A RayJob without rayClusterSpec (it runs on an existing cluster named by
 * clusterSelector) has nothing to queue and is refused with the field named.
 *
 * Gang: head and workers start together, so a released RayJob's templates get ACK's gang
 * labels (min-available = head + workers). workerGroupSpecs is a list, which a merge patch
 * replaces whole, so the patch carries every group, each a copy with its template labelled.
 *
 * Pods: KubeRay's pods are owned by the RayCluster, not the RayJob; KubeRay labels them
 * ray.io/originated-from-crd: RayJob and ray.io/originated-from-cr-name: <job>, which is how
 * they are counted for the job. Ended: status.jobStatus SUCCEEDED (1) or FAILED/STOPPED (2),
 * else jobDeploymentStatus Complete (1) or Failed (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/kqueue/jobkind_impl.h"

static bool ray_held(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    return json_is_true(cs_kq_path_get(job, "spec", "suspend", NULL));
}

static bool ray_started(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *t = json_string_value(cs_kq_path_get(job, "status", "startTime", NULL));
    return t && t[0];
}

static int ray_finished(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *js = json_string_value(cs_kq_path_get(job, "status", "jobStatus", NULL));
    const char *ds = json_string_value(cs_kq_path_get(job, "status", "jobDeploymentStatus", NULL));
    if (js && strcmp(js, "SUCCEEDED") == 0) {
        return 1;
    }
    if (js && (strcmp(js, "FAILED") == 0 || strcmp(js, "STOPPED") == 0)) {
        return 2;
    }
    if (ds && strcmp(ds, "Failed") == 0) {
        return 2;
    }
    return ds && strcmp(ds, "Complete") == 0 ? 1 : 0;
}

/* Pods of one worker group: replicas (else minReplicas, else 1) x numOfHosts. */
static int64_t group_pods(const json_t *g)
{
    const json_t *rep = json_object_get(g, "replicas");
    int64_t n = json_is_integer(rep) ? json_integer_value(rep)
                                     : cs_kq_int_or(json_object_get(g, "minReplicas"), 1);
    int64_t hosts = cs_kq_int_or(json_object_get(g, "numOfHosts"), 1);
    if (n < 0) {
        n = 0;
    }
    if (hosts < 1) {
        hosts = 1;
    }
    return n > INT32_MAX / hosts ? INT32_MAX : n * hosts;
}

static int ray_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                        const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen)
{
    (void)k;
    const json_t *rc = cs_kq_path_get(job, "spec", "rayClusterSpec", NULL);
    if (!json_is_object(rc)) {
        snprintf(err, errlen, "spec.rayClusterSpec: missing (a RayJob on an existing cluster is "
                              "not queued)");
        return -1;
    }
    const json_t *head = cs_kq_path_get(rc, "headGroupSpec", "template", NULL);
    if (!json_is_object(head)) {
        snprintf(err, errlen, "spec.rayClusterSpec.headGroupSpec.template: missing");
        return -1;
    }
    if (cs_kq_add_template(ctx, job, "spec.rayClusterSpec.headGroupSpec.template", head, 1, out,
                           err, errlen) != 0) {
        return -1;
    }
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(rc, "workerGroupSpecs"), i, g) {
        char what[200];
        snprintf(what, sizeof(what), "spec.rayClusterSpec.workerGroupSpecs[%zu].template", i);
        const json_t *tmpl = json_object_get(g, "template");
        if (!json_is_object(tmpl)) {
            snprintf(err, errlen, "%s: missing", what);
            return -1;
        }
        if (cs_kq_add_template(ctx, job, what, tmpl, group_pods(g), out, err, errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

static void ray_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                              uint32_t min_available, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out, "{\"spec\":{\"suspend\":false");
    const json_t *rc = cs_kq_path_get(job, "spec", "rayClusterSpec", NULL);
    const json_t *head = cs_kq_path_get(rc, "headGroupSpec", "template", NULL);
    const json_t *groups = json_object_get(rc, "workerGroupSpecs");
    bool head_g = gang && json_is_object(head) && !cs_kq_template_has_gang(head);
    bool workers_g = false;
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g) {
        workers_g = workers_g || (gang && !cs_kq_template_has_gang(json_object_get(g, "template")));
    }
    if (head_g || workers_g) {
        cs_buf_puts(out, ",\"rayClusterSpec\":{");
        if (head_g) {
            cs_buf_puts(out, "\"headGroupSpec\":{\"template\":");
            cs_kq_gang_labels(out, gang, min_available);
            cs_buf_puts(out, "}");
        }
        if (workers_g) {
            json_t *copy = json_array();
            json_array_foreach(groups, i, g) {
                json_t *ng = json_deep_copy(g);
                json_t *t = cs_kq_template_with_gang(json_object_get(g, "template"), gang,
                                                     min_available);
                if (ng && t) {
                    json_object_set(ng, "template", t);
                }
                json_decref(t);
                json_array_append_new(copy, ng ? ng : json_null());
            }
            char *txt = json_dumps(copy, JSON_COMPACT);
            cs_buf_printf(out, "%s\"workerGroupSpecs\":%s", head_g ? "," : "", txt ? txt : "[]");
            free(txt);
            json_decref(copy);
        }
        cs_buf_puts(out, "}");
    }
    cs_buf_puts(out, "}}");
}

static void ray_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out, "{\"spec\":{\"suspend\":true}}");
}

static const char *ray_pod_job(const json_t *pod)
{
    const char *crd = json_string_value(
        cs_kq_path_get(pod, "metadata", "labels", "ray.io/originated-from-crd"));
    if (crd == NULL || strcmp(crd, "RayJob") != 0) {
        return NULL;
    }
    return json_string_value(
        cs_kq_path_get(pod, "metadata", "labels", "ray.io/originated-from-cr-name"));
}

static bool ray_one_wave(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    (void)job;
    return true;
}

const struct cs_kq_kind_ops cs_kq_ops_ray = {
    .held = ray_held,
    .started = ray_started,
    .finished = ray_finished,
    .requests = ray_requests,
    .release_patch = ray_release_patch,
    .suspend_patch = ray_suspend_patch,
    .pod_job = ray_pod_job,
    .one_wave = ray_one_wave,
};
