/*
 * argoproj.io/v1alpha1 Workflow as a queued job (ack-features.md 6.4; see jobkind.h for the
 * table).
 *
 * Held by spec.suspend: true, or by a Suspend node that runs the template kube-queue-suspend
 * (ACK's name; koord-queue's koord-queue-suspend too): the workflow's first step is a
 * `suspend: {}` template of that name, so Argo starts the workflow and parks it there. It is
 * queued while no Pod node exists yet (nothing of it ran). Released as `argo resume` does it:
 * spec.suspend unset, and each running queue Suspend node marked Succeeded in status.nodes
 * (a Workflow has no status subresource, so one merge patch on the object does both); Argo
 * then runs the next steps. Suspended again by spec.suspend: true.
 *
 * Size: a workflow's pods come and go step by step, so the whole workflow is queued with what
 * its annotation kube-queue/min-resources says it needs at least (a ResourceList in YAML or
 * JSON: "cpu: 4\nmemory: 8Gi"). It is counted as one pod asking that much (jobkind.c), so
 * quantities read as the scheduler reads them; priority from spec.podPriorityClassName. A
 * workflow without the annotation, or one that cannot be read, is refused with the annotation
 * named (an Event on the workflow; it stays held).
 *
 * Pods run at once: unknown (0), so a workflow gets no gang, is never requeued for unbound
 * pods, and ends by its status.phase only (Succeeded 1, Failed or Error 2). Its pods carry the
 * label workflows.argoproj.io/workflow: <name>.
 */
#include <stdio.h>
#include <string.h>

#include "api/quantity.h"
#include "pkg/kqueue/jobkind_impl.h"
#include "pkg/util/yaml.h"

#define MIN_RESOURCES "kube-queue/min-resources"
#define WORKFLOW_LABEL "workflows.argoproj.io/workflow"

static bool queue_suspend_node(const json_t *node)
{
    const char *type = json_string_value(json_object_get(node, "type"));
    const char *phase = json_string_value(json_object_get(node, "phase"));
    const char *tmpl = json_string_value(json_object_get(node, "templateName"));
    return type && phase && tmpl && strcmp(type, "Suspend") == 0 &&
           strcmp(phase, "Running") == 0 &&
           (strcmp(tmpl, "kube-queue-suspend") == 0 || strcmp(tmpl, "koord-queue-suspend") == 0);
}

static bool argo_held(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    if (json_is_true(cs_kq_path_get(job, "spec", "suspend", NULL))) {
        return true;
    }
    const char *id;
    const json_t *n;
    json_object_foreach((json_t *)cs_kq_path_get(job, "status", "nodes", NULL), id, n) {
        if (queue_suspend_node(n)) {
            return true;
        }
    }
    return false;
}

static bool argo_started(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *id;
    const json_t *n;
    json_object_foreach((json_t *)cs_kq_path_get(job, "status", "nodes", NULL), id, n) {
        const char *type = json_string_value(json_object_get(n, "type"));
        if (type && strcmp(type, "Pod") == 0) {
            return true;
        }
    }
    return false;
}

static int argo_finished(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *p = json_string_value(cs_kq_path_get(job, "status", "phase", NULL));
    if (p && strcmp(p, "Succeeded") == 0) {
        return 1;
    }
    return p && (strcmp(p, "Failed") == 0 || strcmp(p, "Error") == 0) ? 2 : 0;
}

static int argo_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                         const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen)
{
    (void)k;
    const char *txt = json_string_value(
        cs_kq_path_get(job, "metadata", "annotations", MIN_RESOURCES));
    if (txt == NULL) {
        snprintf(err, errlen, "annotation " MIN_RESOURCES ": missing (a Workflow is queued "
                              "with the resources it names)");
        return -1;
    }
    json_t *rl = NULL;
    char e[200];
    if (cs_yaml_to_json(txt, strlen(txt), &rl, e, sizeof(e)) != 0) {
        snprintf(err, errlen, "annotation " MIN_RESOURCES ": %s", e);
        return -1;
    }
    if (!json_is_object(rl)) {
        json_decref(rl);
        snprintf(err, errlen, "annotation " MIN_RESOURCES ": not a ResourceList");
        return -1;
    }
    /* Each quantity as a string, checked here so that the error names the resource. */
    json_t *req = json_object();
    const char *name;
    json_t *v;
    int rc = 0;
    json_object_foreach(rl, name, v) {
        struct cs_quantity q;
        if (rc == 0 && cs_quantity_from_json(v, &q, e, sizeof(e)) != 0) {
            snprintf(err, errlen, "annotation " MIN_RESOURCES ": %s: %s", name, e);
            rc = -1;
        }
        if (rc == 0) {
            char s[64];
            cs_quantity_format(&q, s, sizeof(s));
            json_object_set_new(req, name, json_string(s));
        }
    }
    json_decref(rl);
    if (rc != 0) {
        json_decref(req);
        return -1;
    }
    json_t *tmpl = json_pack("{s:{s:[{s:s, s:{s:o}}]}}", "spec", "containers", "name", "workflow",
                             "resources", "requests", req);
    const char *pc = json_string_value(cs_kq_path_get(job, "spec", "podPriorityClassName", NULL));
    if (pc) {
        json_object_set_new(json_object_get(tmpl, "spec"), "priorityClassName", json_string(pc));
    }
    rc = cs_kq_add_template(ctx, job, "annotation " MIN_RESOURCES, tmpl, 1, out, err, errlen);
    json_decref(tmpl);
    out->priority_class = pc;      /* borrowed from the job, not from the template just freed */
    out->pods = 0;
    return rc;
}

static void argo_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                               uint32_t min_available, struct cs_buf *out)
{
    (void)k;
    (void)gang;
    (void)min_available;
    cs_buf_puts(out, "{");
    bool spec = json_is_true(cs_kq_path_get(job, "spec", "suspend", NULL));
    if (spec) {
        cs_buf_puts(out, "\"spec\":{\"suspend\":null}");
    }
    bool any = false;
    const char *id;
    const json_t *n;
    json_object_foreach((json_t *)cs_kq_path_get(job, "status", "nodes", NULL), id, n) {
        if (!queue_suspend_node(n)) {
            continue;
        }
        cs_buf_puts(out, any ? "," : spec ? ",\"status\":{\"nodes\":{" : "\"status\":{\"nodes\":{");
        cs_buf_json_str(out, id);
        cs_buf_puts(out, ":{\"phase\":\"Succeeded\",\"message\":\"released by kube-queue\"}");
        any = true;
    }
    cs_buf_puts(out, any ? "}}}" : "}");
}

static void argo_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out, "{\"spec\":{\"suspend\":true}}");
}

static const char *argo_pod_job(const json_t *pod)
{
    return json_string_value(cs_kq_path_get(pod, "metadata", "labels", WORKFLOW_LABEL));
}

static bool argo_one_wave(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    (void)job;
    return false;
}

const struct cs_kq_kind_ops cs_kq_ops_argo = {
    .held = argo_held,
    .started = argo_started,
    .finished = argo_finished,
    .requests = argo_requests,
    .release_patch = argo_release_patch,
    .suspend_patch = argo_suspend_patch,
    .pod_job = argo_pod_job,
    .one_wave = argo_one_wave,
};
