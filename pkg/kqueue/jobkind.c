/*
 * Job kinds: held, started, finished, total requests and the release patch. See jobkind.h.
 */
#include <stdio.h>
#include <string.h>

#include "api/decode.h"
#include "api/quantity.h"
#include "pkg/kqueue/jobkind.h"
#include "pkg/util/alloc.h"

const struct cs_kq_kind cs_kq_kinds[] = {
    { "job", "Job", "batch/v1", "jobs", NULL },
    { "tfjob", "TFJob", "kubeflow.org/v1", "tfjobs", "tfReplicaSpecs" },
    { "pytorchjob", "PyTorchJob", "kubeflow.org/v1", "pytorchjobs", "pytorchReplicaSpecs" },
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

static const json_t *path_get(const json_t *o, const char *a, const char *b, const char *c)
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

static bool annotation_held(const json_t *job)
{
    const char *v = json_string_value(
        path_get(job, "metadata", "annotations", CS_KQ_SUSPEND_ANNOTATION));
    return v && strcmp(v, "true") == 0;
}

bool cs_kq_job_held(const struct cs_kq_kind *k, const json_t *job)
{
    if (k->replica_specs == NULL) {
        return json_is_true(path_get(job, "spec", "suspend", NULL));
    }
    return json_is_true(path_get(job, "spec", "runPolicy", "suspend")) || annotation_held(job);
}

bool cs_kq_job_started(const json_t *job)
{
    const char *t = json_string_value(path_get(job, "status", "startTime", NULL));
    return t && t[0];
}

static bool cond_true(const json_t *job, const char *type)
{
    size_t i;
    const json_t *c;
    json_array_foreach(path_get(job, "status", "conditions", NULL), i, c) {
        const char *ty = json_string_value(json_object_get(c, "type"));
        const char *st = json_string_value(json_object_get(c, "status"));
        if (ty && st && strcmp(ty, type) == 0 && strcmp(st, "True") == 0) {
            return true;
        }
    }
    return false;
}

int cs_kq_job_finished(const struct cs_kq_kind *k, const json_t *job)
{
    if (cond_true(job, "Failed")) {
        return 2;
    }
    return cond_true(job, k->replica_specs ? "Succeeded" : "Complete") ? 1 : 0;
}

static void add_res(struct cs_kq_job_req *r, const char *name, int64_t v)
{
    if (v == 0) {
        return;
    }
    for (uint32_t i = 0; i < r->n_res; i++) {
        if (strcmp(r->res[i].name, name) == 0) {
            r->res[i].v = v > INT64_MAX - r->res[i].v ? INT64_MAX : r->res[i].v + v;
            return;
        }
    }
    r->res = cs_realloc(r->res, sizeof(*r->res) * (r->n_res + 1));
    r->res[r->n_res].name = cs_strdup(name);
    r->res[r->n_res].v = v;
    r->n_res++;
}

static int64_t mul(int64_t v, int64_t n)
{
    return n > 0 && v > INT64_MAX / n ? INT64_MAX : v * n;
}

/* One template: decoded as the scheduler would see its pods, times n. */
static int add_template(const struct cs_api_ctx *ctx, const json_t *job, const char *what,
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
                add_res(r, name, mul(p->requests.v[s], n));
            }
        }
        for (uint32_t i = 0; i < p->extra_requests.n; i++) {
            add_res(r, p->extra_requests.e[i].name, mul(p->extra_requests.e[i].v, n));
        }
        r->pods += (uint32_t)n;
    }
    if (p->priority > r->priority) {
        r->priority = p->priority;
    }
    const char *pc = json_string_value(path_get(tmpl, "spec", "priorityClassName", NULL));
    if (pc && r->priority_class == NULL) {
        r->priority_class = pc;
    }
    cs_pod_unref(p);
    return 0;
}

static int64_t int_or(const json_t *v, int64_t dflt)
{
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

int cs_kq_job_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                       const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->priority = INT32_MIN;
    const json_t *spec = json_object_get(job, "spec");
    int rc = 0;
    if (k->replica_specs == NULL) {
        int64_t n = int_or(json_object_get(spec, "parallelism"), 1);
        const json_t *c = json_object_get(spec, "completions");
        if (json_is_integer(c) && json_integer_value(c) < n) {
            n = json_integer_value(c);
        }
        rc = add_template(ctx, job, "spec.template", json_object_get(spec, "template"), n, out,
                          err, errlen);
    } else {
        const json_t *rs = json_object_get(spec, k->replica_specs);
        const char *type;
        const json_t *r;
        if (!json_is_object(rs) || json_object_size(rs) == 0) {
            snprintf(err, errlen, "spec.%s: no replica types", k->replica_specs);
            rc = -1;
        }
        json_object_foreach((json_t *)rs, type, r) {
            char what[200];
            snprintf(what, sizeof(what), "spec.%s.%s.template", k->replica_specs, type);
            if (rc == 0) {
                rc = add_template(ctx, job, what, json_object_get(r, "template"),
                                  int_or(json_object_get(r, "replicas"), 1), out, err, errlen);
            }
        }
    }
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
    for (uint32_t i = 0; i < r->n_res; i++) {
        cs_free(r->res[i].name);
    }
    cs_free(r->res);
    memset(r, 0, sizeof(*r));
}

bool cs_kq_template_has_gang(const json_t *tmpl)
{
    static const char *const labels[] = { "pod-group.scheduling.sigs.k8s.io/name",
                                          "pod-group.scheduling.sigs.k8s.io",
                                          "scheduling.x-k8s.io/pod-group", NULL };
    for (int i = 0; labels[i]; i++) {
        if (path_get(tmpl, "metadata", "labels", labels[i])) {
            return true;
        }
    }
    return path_get(tmpl, "metadata", "annotations", "gang.scheduling.koordinator.sh/name") !=
           NULL;
}

static void gang_labels(struct cs_buf *out, const char *gang, uint32_t min_available)
{
    cs_buf_puts(out, "{\"metadata\":{\"labels\":{\"pod-group.scheduling.sigs.k8s.io/name\":");
    cs_buf_json_str(out, gang);
    cs_buf_printf(out, ",\"pod-group.scheduling.sigs.k8s.io/min-available\":\"%u\"}}}",
                  min_available);
}

void cs_kq_job_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                             uint32_t min_available, struct cs_buf *out)
{
    bool g = gang && gang[0] && min_available > 1;
    if (k->replica_specs == NULL) {
        cs_buf_puts(out, "{\"spec\":{\"suspend\":false");
        const json_t *tmpl = path_get(job, "spec", "template", NULL);
        if (g && !cs_kq_template_has_gang(tmpl)) {
            cs_buf_puts(out, ",\"template\":");
            gang_labels(out, gang, min_available);
        }
        cs_buf_puts(out, "}}");
        return;
    }
    bool ann = annotation_held(job) ||
               path_get(job, "metadata", "annotations", CS_KQ_SUSPEND_ANNOTATION) != NULL;
    bool rp = json_is_true(path_get(job, "spec", "runPolicy", "suspend"));
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
    const json_t *rs = path_get(job, "spec", k->replica_specs, NULL);
    const char *type;
    const json_t *r;
    bool any = false;
    json_object_foreach((json_t *)rs, type, r) {
        if (!g || cs_kq_template_has_gang(json_object_get(r, "template"))) {
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
        gang_labels(out, gang, min_available);
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

void cs_kq_job_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    cs_buf_puts(out, k->replica_specs == NULL ? "{\"spec\":{\"suspend\":true}}"
                                              : "{\"spec\":{\"runPolicy\":{\"suspend\":true}}}");
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
