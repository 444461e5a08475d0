/*
 * Job kinds: the kind table, the dispatch through each kind's ops, the helpers every kind uses
 * to count a pod template as the scheduler does, and the two families that came first: batch/v1
 * Job and kubeflow's TFJob/PyTorchJob. RayJob, SparkApplication and Workflow have files of
 * their own (jobkind_ray.c, jobkind_spark.c, jobkind_argo.c). See jobkind.h.
 */
#include <stdio.h>
#include <string.h>

#include "api/decode.h"
#include "api/quantity.h"
#include "api/requests.h"
#include "pkg/kqueue/jobkind.h"
#include "pkg/kqueue/jobkind_impl.h"
#include "pkg/util/alloc.h"

static const struct cs_kq_kind_ops batch_ops;
static const struct cs_kq_kind_ops kubeflow_ops;

const struct cs_kq_kind cs_kq_kinds[] = {
    { "job", "Job", "batch/v1", "jobs", NULL, false, &batch_ops },
    { "tfjob", "TFJob", "kubeflow.org/v1", "tfjobs", "tfReplicaSpecs", true, &kubeflow_ops },
    { "pytorchjob", "PyTorchJob", "kubeflow.org/v1", "pytorchjobs", "pytorchReplicaSpecs", true,
      &kubeflow_ops },
    { "rayjob", "RayJob", "ray.io/v1", "rayjobs", NULL, true, &cs_kq_ops_ray },
    /* KubeRay before 1.1 serves only v1alpha1 (same fields for what the queue reads); the same
     * objects as "rayjob" where both versions are served, so only one of the two is on */
    { "rayjobv1alpha1", "RayJob", "ray.io/v1alpha1", "rayjobs", NULL, true, &cs_kq_ops_ray },
    { "sparkapp", "SparkApplication", "sparkoperator.k8s.io/v1beta2", "sparkapplications", NULL,
      true, &cs_kq_ops_spark },
    { "argoworkflow", "Workflow", "argoproj.io/v1alpha1", "workflows", NULL, true,
      &cs_kq_ops_argo },
};
const size_t cs_kq_n_kinds = sizeof(cs_kq_kinds) / sizeof(cs_kq_kinds[0]);

const struct cs_kq_kind *cs_kq_kind_by_ext(const char *ext)
{
    for (size_t i = 0; i < cs_kq_n_kinds; i++) {
        if (strcmp(cs_kq_kinds[i].ext, ext) == 0) {
            return &cs_kq_kinds[i];
        }
    }
    return NULL;
}

const struct cs_kq_kind *cs_kq_kind_by_kind(const char *api_version, const char *kind)
{
    for (size_t i = 0; api_version && kind && i < cs_kq_n_kinds; i++) {
        if (strcmp(cs_kq_kinds[i].kind, kind) == 0 &&
            strcmp(cs_kq_kinds[i].api_version, api_version) == 0) {
            return &cs_kq_kinds[i];
        }
    }
    return NULL;
}

void cs_kq_kind_path(const struct cs_kq_kind *k, const char *ns, const char *name,
                     struct cs_buf *out)
{
    cs_buf_printf(out, "/apis/%s", k->api_version);
    if (ns) {
        cs_buf_printf(out, "/namespaces/%s", ns);
    }
    cs_buf_printf(out, "/%s", k->plural);
    if (name) {
        cs_buf_printf(out, "/%s", name);
    }
}

const json_t *cs_kq_path_get(const json_t *o, const char *a, const char *b, const char *c)
{
    o = json_object_get(o, a);
    if (b) {
        o = json_object_get(o, b);
    }
    if (c) {
        o = json_object_get(o, c);
    }
    return o;
}

bool cs_kq_annotation_held(const json_t *job)
{
    const char *v = json_string_value(
        cs_kq_path_get(job, "metadata", "annotations", CS_KQ_SUSPEND_ANNOTATION));
    return v && strcmp(v, "true") == 0;
}

/* ---- batch/v1 Job and kubeflow.org/v1 jobs ------------------------------------------------ */

static bool batch_held(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    return json_is_true(cs_kq_path_get(job, "spec", "suspend", NULL));
}

static bool kubeflow_held(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    return json_is_true(cs_kq_path_get(job, "spec", "runPolicy", "suspend")) ||
           cs_kq_annotation_held(job);
}

static bool start_time_set(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *t = json_string_value(cs_kq_path_get(job, "status", "startTime", NULL));
    return t && t[0];
}

bool cs_kq_cond_true(const json_t *job, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(cs_kq_path_get(job, "status", "conditions", NULL), i, c) {
        const char *ty = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (ty && st && strcmp(ty, type) == 0 && strcmp(st, "True") == 0) {
            return true;
        }
    }
    return false;
}

static int batch_finished(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    if (cs_kq_cond_true(job, "Failed")) {
        return 2;
    }
    return cs_kq_cond_true(job, "Complete") ? 1 : 0;
}

static int kubeflow_finished(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    if (cs_kq_cond_true(job, "Failed")) {
        return 2;
    }
    return cs_kq_cond_true(job, "Succeeded") ? 1 : 0;
}

/* A Job whose completions fit its parallelism runs all of its pods at once. */
static bool batch_one_wave(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const json_t *comp = cs_kq_path_get(job, "spec", "completions", NULL);
    int64_t pn = cs_kq_int_or(cs_kq_path_get(job, "spec", "parallelism", NULL), 1);
    return json_is_integer(comp) && json_integer_value(comp) <= pn;
}

static bool always(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    (void)job;
    return true;
}

static void add_res(struct cs_kq_res **list, uint32_t *n, const char *name, int64_t v)
{
    if (v == 0) {
        return;
    }
    for (uint32_t i = 0; i < *n; i++) {
        if (strcmp((*list)[i].name, name) == 0) {
            (*list)[i].v = v > INT64_MAX - (*list)[i].v ? INT64_MAX : (*list)[i].v + v;
            return;
        }
    }
    *list = cs_realloc(*list, sizeof(**list) * (*n + 1));
    (*list)[*n].name = cs_strdup(name);
    (*list)[*n].v = v;
    (*n)++;
}

static int64_t mul(int64_t v, int64_t n)
{
    return n > 0 && v > INT64_MAX / n ? INT64_MAX : v * n;
}

int cs_kq_add_template(const struct cs_api_ctx *ctx, const json_t *job, const char *what,
                        const json_t *tmpl, int64_t n, struct cs_kq_job_req *r, char *err,
                        size_t errlen)
{
    const json_t *md = json_object_get(job, "metadata");
    json_t *pod = json_pack("{s:{s:s, s:s}, s:O}", "metadata", "name",
                            json_string_value(json_object_get(md, "name")) ?: "job",
                            "namespace", json_string_value(json_object_get(md, "namespace")) ?: "",
                            "spec", json_object_get(tmpl, "spec") ?: json_null());
    if (pod == NULL) {
        snprintf(err, errlen, "%s: no pod template", what);
        return -1;
    }
    struct cs_pod *p = NULL;
    char e[400];
    int rc = cs_pod_decode(ctx, pod, &p, e, sizeof(e));
    json_decref(pod);
    if (rc != 0) {
        /* "pod ns/name: spec.containers[0]...: ..." -> the template's words */
        const char *colon = strstr(e, ": ");
        snprintf(err, errlen, "%s: %s", what, colon ? colon + 2 : e);
        return -1;
    }
    if (n > 0) {
        for (int s = 0; s < CS_RES_MAX; s++) {
            const char *name = cs_resource_name(ctx->resources, s);
            if (name && p->requests.v[s]) {
                add_res(&r->res, &r->n_res, name, mul(p->requests.v[s], n));
            }
        }
        for (uint32_t i = 0; i < p->extra_requests.n; i++) {
            add_res(&r->res, &r->n_res, p->extra_requests.e[i].name,
                    mul(p->extra_requests.e[i].v, n));
        }
        struct cs_resources lim;
        cs_pod_aggregate_limits(p, &lim);
        for (int s = 0; s < CS_RES_MAX; s++) {
            const char *name = cs_resource_name(ctx->resources, s);
            if (name && lim.v[s]) {
                add_res(&r->limits, &r->n_limits, name, mul(lim.v[s], n));
            }
        }
        r->pods += (uint32_t)n;
    }
    if (p->priority > r->priority) {
        r->priority = p->priority;
    }
    const char *pc = json_string_value(cs_kq_path_get(tmpl, "spec", "priorityClassName", NULL));
    if (pc && r->priority_class == NULL) {
        r->priority_class = pc;
    }
    cs_pod_unref(p);
    return 0;
}

int64_t cs_kq_int_or(const json_t *v, int64_t dflt)
{
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static int batch_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                          const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen)
{
    (void)k;
    const json_t *spec = json_object_get(job, "spec");
    int64_t n = cs_kq_int_or(json_object_get(spec, "parallelism"), 1);
    const json_t *c = json_object_get(spec, "completions");
    if (json_is_integer(c) && json_integer_value(c) < n) {
        n = json_integer_value(c);
    }
    return cs_kq_add_template(ctx, job, "spec.template", json_object_get(spec, "template"), n,
                              out, err, errlen);
}

static int kubeflow_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                             const json_t *job, struct cs_kq_job_req *out, char *err,
                             size_t errlen)
{
    const json_t *rs = cs_kq_path_get(job, "spec", k->replica_specs, NULL);
    const char *type;
    const json_t *r;
    if (!json_is_object(rs) || json_object_size(rs) == 0) {
        snprintf(err, errlen, "spec.%s: no replica types", k->replica_specs);
        return -1;
    }
    json_object_foreach((json_t *)rs, type, r) {
        char what[200];
        snprintf(what, sizeof(what), "spec.%s.%s.template", k->replica_specs, type);
        if (cs_kq_add_template(ctx, job, what, json_object_get(r, "template"),
                               cs_kq_int_or(json_object_get(r, "replicas"), 1), out, err,
                               errlen) != 0) {
            return -1;
        }
    }
    return 0;
}

int cs_kq_job_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                       const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->priority = INT32_MIN;
    int rc = k->ops->requests(ctx, k, job, out, err, errlen);
    if (out->priority == INT32_MIN) {
        out->priority = 0;
    }
    if (rc != 0) {
        cs_kq_job_req_free(out);
    }
    return rc;
}

void cs_kq_job_req_free(struct cs_kq_job_req *r)
{
    cs_kq_res_list_free(r->res, r->n_res);
    cs_kq_res_list_free(r->limits, r->n_limits);
    memset(r, 0, sizeof(*r));
}

bool cs_kq_template_has_gang(const json_t *tmpl)
{
    static const char *const labels[] = { "pod-group.scheduling.sigs.k8s.io/name",
                                          "pod-group.scheduling.sigs.k8s.io",
                                          "scheduling.x-k8s.io/pod-group", NULL };
    for (int i = 0; labels[i]; i++) {
        if (cs_kq_path_get(tmpl, "metadata", "labels", labels[i])) {
            return true;
        }
    }
    return cs_kq_path_get(tmpl, "metadata", "annotations",
                          "gang.scheduling.koordinator.sh/name") != NULL;
}

void cs_kq_gang_labels(struct cs_buf *out, const char *gang, uint32_t min_available)
{
    cs_buf_puts(out, "{\"metadata\":{\"labels\":{\"pod-group.scheduling.sigs.k8s.io/name\":");
    cs_buf_json_str(out, gang);
    cs_buf_printf(out, ",\"pod-group.scheduling.sigs.k8s.io/min-available\":\"%u\"}}}",
                  min_available);
}

json_t *cs_kq_template_with_gang(const json_t *tmpl, const char *gang, uint32_t min_available)
{
    json_t *t = json_is_object(tmpl) ? json_deep_copy(tmpl) : json_object();
    if (t == NULL || cs_kq_template_has_gang(t)) {
        return t;
    }
    json_t *md = json_object_get(t, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(t, "metadata", md);
    }
    json_t *labels = json_object_get(md, "labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(md, "labels", labels);
    }
    char n[16];
    snprintf(n, sizeof(n), "%u", min_available);
    json_object_set_new(labels, "pod-group.scheduling.sigs.k8s.io/name", json_string(gang));
    json_object_set_new(labels, "pod-group.scheduling.sigs.k8s.io/min-available", json_string(n));
    return t;
}

static void batch_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                                uint32_t min_available, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out, "{\"spec\":{\"suspend\":false");
    const json_t *tmpl = cs_kq_path_get(job, "spec", "template", NULL);
    if (gang && !cs_kq_template_has_gang(tmpl)) {
        cs_buf_puts(out, ",\"template\":");
        cs_kq_gang_labels(out, gang, min_available);
    }
    cs_buf_puts(out, "}}");
}

static void kubeflow_release_patch(const struct cs_kq_kind *k, const json_t *job,
                                   const char *gang, uint32_t min_available, struct cs_buf *out)
{
    bool ann = cs_kq_path_get(job, "metadata", "annotations", CS_KQ_SUSPEND_ANNOTATION) != NULL;
    bool rp = json_is_true(cs_kq_path_get(job, "spec", "runPolicy", "suspend"));
    cs_buf_puts(out, "{");
    if (ann) {
        cs_buf_puts(out, "\"metadata\":{\"annotations\":{\"" CS_KQ_SUSPEND_ANNOTATION
                         "\":null}}");
    }
    bool spec_open = false;
    if (rp) {
        cs_buf_printf(out, "%s\"spec\":{\"runPolicy\":{\"suspend\":false}", ann ? "," : "");
        spec_open = true;
    }
    const json_t *rs = cs_kq_path_get(job, "spec", k->replica_specs, NULL);
    const char *type;
    const json_t *r;
    bool any = false;
    json_object_foreach((json_t *)rs, type, r) {
        if (gang == NULL || cs_kq_template_has_gang(json_object_get(r, "template"))) {
            continue;
        }
        if (!spec_open) {
            cs_buf_printf(out, "%s\"spec\":{", ann ? "," : "");
            spec_open = true;
            cs_buf_printf(out, "\"%s\":{", k->replica_specs);
        } else if (!any) {
            cs_buf_printf(out, ",\"%s\":{", k->replica_specs);
        }
        cs_buf_puts(out, any ? "," : "");
        cs_buf_json_str(out, type);
        cs_buf_puts(out, ":{\"template\":");
        cs_kq_gang_labels(out, gang, min_available);
        cs_buf_puts(out, "}");
        any = true;
    }
    if (any) {
        cs_buf_puts(out, "}");
    }
    if (spec_open) {
        cs_buf_puts(out, "}");
    }
    cs_buf_puts(out, "}");
}

void cs_kq_job_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                             uint32_t min_available, struct cs_buf *out)
{
    bool g = gang && gang[0] && min_available > 1;
    k->ops->release_patch(k, job, g ? gang : NULL, min_available, out);
}

static void batch_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out, "{\"spec\":{\"suspend\":true}}");
}

static void kubeflow_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out, "{\"spec\":{\"runPolicy\":{\"suspend\":true}}}");
}

void cs_kq_job_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    k->ops->suspend_patch(k, out);
}

static const struct cs_kq_kind_ops batch_ops = {
    .held = batch_held,
    .started = start_time_set,
    .finished = batch_finished,
    .requests = batch_requests,
    .release_patch = batch_release_patch,
    .suspend_patch = batch_suspend_patch,
    .pod_job = NULL,
    .one_wave = batch_one_wave,
};

static const struct cs_kq_kind_ops kubeflow_ops = {
    .held = kubeflow_held,
    .started = start_time_set,
    .finished = kubeflow_finished,
    .requests = kubeflow_requests,
    .release_patch = kubeflow_release_patch,
    .suspend_patch = kubeflow_suspend_patch,
    .pod_job = NULL,
    .one_wave = always,
};

/* ---- dispatch ---------------------------------------------------------------------------- */

bool cs_kq_job_held(const struct cs_kq_kind *k, const json_t *job)
{
    return k->ops->held(k, job);
}

bool cs_kq_job_started(const struct cs_kq_kind *k, const json_t *job)
{
    return k->ops->started(k, job);
}

int cs_kq_job_finished(const struct cs_kq_kind *k, const json_t *job)
{
    return k->ops->finished(k, job);
}

bool cs_kq_job_one_wave(const struct cs_kq_kind *k, const json_t *job)
{
    return k->ops->one_wave(k, job);
}

const char *cs_kq_pod_job(const struct cs_kq_kind *k, const json_t *pod)
{
    return k->ops->pod_job ? k->ops->pod_job(pod) : NULL;
}

void cs_kq_res_json(const struct cs_kq_res *res, uint32_t n, struct cs_buf *out)
{
    cs_buf_puts(out, "{");
    for (uint32_t i = 0; i < n; i++) {
        struct cs_quantity q;
        const char *name = res[i].name;
        if (strcmp(name, "cpu") == 0) {
            cs_quantity_from_milli(&q, res[i].v);
        } else {
            bool bin = strcmp(name, "memory") == 0 || strcmp(name, "ephemeral-storage") == 0 ||
                       strncmp(name, "hugepages-", 10) == 0;
            cs_quantity_from_value(&q, res[i].v, bin ? CS_QF_BINARY_SI : CS_QF_DECIMAL_SI);
        }
        char v[64];
        cs_quantity_format(&q, v, sizeof(v));
        cs_buf_printf(out, "%s", i ? "," : "");
        cs_buf_json_str(out, name);
        cs_buf_putc(out, ':');
        cs_buf_json_str(out, v);
    }
    cs_buf_puts(out, "}");
}
