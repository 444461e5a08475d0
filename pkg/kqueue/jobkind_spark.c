/*
 * sparkoperator.k8s.io/v1beta2 SparkApplication as a queued job (ack-features.md 6.4; see
 * jobkind.h for the table).
 *
 * Held by the annotation scheduling.x-k8s.io/suspend: "true" (the operator's queue extension
 * does not submit an application carrying it) and queued while status.applicationState.state
 * is empty (never submitted; ack-features.md writes it status.appState.state); released by
 * removing the annotation, suspended again by setting it.
 *
 * Size: a SparkApplication has no pod templates; its pods are made by spark-submit from the
 * driver and executor specs. Each role is written as the pod Spark makes and counted as the
 * scheduler counts a pod (jobkind.c), so init containers and sidecars weigh as they will:
 *   main container  cpu = coreRequest, else cores (default 1);
 *                   memory = memory (JVM notation: 512m, 2g; no suffix = MiB; default 1g)
 *                            + memoryOverhead (same notation), else max(384 MiB, factor x
 *                            memory) with factor spec.memoryOverheadFactor, else 0.4 for
 *                            Python and R applications and 0.1 for the JVM (Spark's defaults);
 *                   gpu.name = gpu.quantity when a gpu is asked;
 *   sidecars        containers beside it, initContainers as init containers.
 * The application = the driver + executor.instances executors (when unset: initialExecutors,
 * else minExecutors, else 0 under dynamic allocation; Spark's default 2 otherwise).
 *
 * No gang: executors are created by the driver once it runs, so a gang over both could never
 * complete. Pods: the operator labels the driver and executors sparkoperator.k8s.io/app-name
 * (executors are owned by the driver pod, not the application). Ended: state COMPLETED (1),
 * FAILED or SUBMISSION_FAILED (2); the executors are deleted at the end, so the pods never say.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/quantity.h"
#include "pkg/kqueue/jobkind_impl.h"

#define APP_NAME_LABEL "sparkoperator.k8s.io/app-name"
#define MIB (1024LL * 1024)

static bool spark_held(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    return cs_kq_annotation_held(job);
}

static const char *app_state(const json_t *job)
{
    return json_string_value(cs_kq_path_get(job, "status", "applicationState", "state"));
}

static bool spark_started(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *s = app_state(job);
    return s && s[0];
}

static int spark_finished(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    const char *s = app_state(job);
    if (s && strcmp(s, "COMPLETED") == 0) {
        return 1;
    }
    return s && (strcmp(s, "FAILED") == 0 || strcmp(s, "SUBMISSION_FAILED") == 0) ? 2 : 0;
}

/* A JVM memory size ("512m", "2g", "1024" = MiB) in bytes; -1 when it is not one. */
static int jvm_bytes(const char *s, int64_t *out)
{
    static const struct {
        const char *suffix;
        int shift;
    } units[] = { { "b", 0 },   { "k", 10 },  { "kb", 10 }, { "m", 20 }, { "mb", 20 },
                  { "g", 30 },  { "gb", 30 }, { "t", 40 },  { "tb", 40 }, { "p", 50 },
                  { "pb", 50 }, { "", 20 } };
    while (*s == ' ') {
        s++;
    }
    int64_t v = 0;
    const char *p = s;
    for (; isdigit((unsigned char)*p); p++) {
        if (v > (INT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    if (p == s) {
        return -1;
    }
    char suf[4] = "";
    size_t n = 0;
    for (; *p && *p != ' '; p++) {
        if (n + 1 >= sizeof(suf)) {
            return -1;
        }
        suf[n++] = (char)tolower((unsigned char)*p);
    }
    suf[n] = '\0';
    while (*p == ' ') {
        p++;
    }
    if (*p) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(suf, units[i].suffix) == 0) {
            if (v > (INT64_MAX >> units[i].shift)) {
                return -1;
            }
            *out = v << units[i].shift;
            return 0;
        }
    }
    return -1;
}

/* memory (+ overhead) of a role, in bytes. */
static int role_memory(const json_t *job, const json_t *role, const char *what, int64_t *out,
                       char *err, size_t errlen)
{
    const json_t *m = json_object_get(role, "memory");
    int64_t mem = 1024 * MIB;
    if (m && !json_is_null(m) && (!json_is_string(m) || jvm_bytes(json_string_value(m), &mem))) {
        snprintf(err, errlen, "%s.memory: not a JVM memory size (such as 512m or 2g)", what);
        return -1;
    }
    const json_t *o = json_object_get(role, "memoryOverhead");
    int64_t over;
    if (o && !json_is_null(o)) {
        if (!json_is_string(o) || jvm_bytes(json_string_value(o), &over)) {
            snprintf(err, errlen, "%s.memoryOverhead: not a JVM memory size (such as 512m or 2g)",
                     what);
            return -1;
        }
    } else {
        const char *type = json_string_value(cs_kq_path_get(job, "spec", "type", NULL));
        double factor = type && (strcmp(type, "Python") == 0 || strcmp(type, "R") == 0) ? 0.4
                                                                                        : 0.1;
        const char *f = json_string_value(
            cs_kq_path_get(job, "spec", "memoryOverheadFactor", NULL));
        if (f) {
            char *end = NULL;
            double v = strtod(f, &end);
            if (end == f || *end || !(v >= 0 && v < 100)) {
                snprintf(err, errlen, "spec.memoryOverheadFactor: \"%s\" is not a factor", f);
                return -1;
            }
            factor = v;
        }
        over = (int64_t)((double)mem * factor);
        if (over < 384 * MIB) {
            over = 384 * MIB;
        }
    }
    *out = mem > INT64_MAX - over ? INT64_MAX : mem + over;
    return 0;
}

/* The pod Spark makes for a role (driver or executor), counted n times. */
static int add_role(const struct cs_api_ctx *ctx, const json_t *job, const char *what,
                    const char *container, int64_t n, struct cs_kq_job_req *r, char *err,
                    size_t errlen)
{
    const json_t *role = cs_kq_path_get(job, "spec", what + 5, NULL);   /* "spec.driver" */
    char cpu[64];
    const json_t *creq = json_object_get(role, "coreRequest");
    const json_t *cores = json_object_get(role, "cores");
    struct cs_quantity q;
    if (json_is_string(creq)) {
        if (cs_quantity_parse(json_string_value(creq), &q) != 0) {
            snprintf(err, errlen, "%s.coreRequest: \"%s\" is not a quantity", what,
                     json_string_value(creq));
            return -1;
        }
        snprintf(cpu, sizeof(cpu), "%s", json_string_value(creq));
    } else if (cores == NULL || json_is_null(cores)) {
        snprintf(cpu, sizeof(cpu), "1");
    } else if (json_is_integer(cores) && json_integer_value(cores) >= 0) {
        snprintf(cpu, sizeof(cpu), "%lld", (long long)json_integer_value(cores));
    } else {
        snprintf(err, errlen, "%s.cores: not a whole number of cores", what);
        return -1;
    }
    int64_t mem;
    if (role_memory(job, role, what, &mem, err, errlen) != 0) {
        return -1;
    }
    json_t *req = json_pack("{s:s}", "cpu", cpu);
    char m[32];
    snprintf(m, sizeof(m), "%lld", (long long)mem);
    json_object_set_new(req, "memory", json_string(m));
    const json_t *gpu = json_object_get(role, "gpu");
    const char *gname = json_string_value(json_object_get(gpu, "name"));
    if (gpu && !json_is_null(gpu)) {
        const json_t *gq = json_object_get(gpu, "quantity");
        if (gname == NULL || !gname[0] || !json_is_integer(gq) || json_integer_value(gq) < 0) {
            json_decref(req);
            snprintf(err, errlen, "%s.gpu: needs a name and a whole quantity", what);
            return -1;
        }
        snprintf(m, sizeof(m), "%lld", (long long)json_integer_value(gq));
        json_object_set_new(req, gname, json_string(m));
    }
    json_t *containers = json_array();
    json_array_append_new(containers,
                          json_pack("{s:s, s:{s:o}}", "name", container, "resources", "requests",
                                    req));
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(role, "sidecars"), i, c) {
        json_array_append(containers, (json_t *)c);
    }
    json_t *tmpl = json_pack("{s:{s:o}}", "spec", "containers", containers);
    const json_t *init = json_object_get(role, "initContainers");
    if (json_is_array(init)) {
        json_object_set(json_object_get(tmpl, "spec"), "initContainers", (json_t *)init);
    }
    const char *pc = json_string_value(
        cs_kq_path_get(job, "spec", "batchSchedulerOptions", "priorityClassName"));
    if (pc) {
        json_object_set_new(json_object_get(tmpl, "spec"), "priorityClassName", json_string(pc));
    }
    int rc = cs_kq_add_template(ctx, job, what, tmpl, n, r, err, errlen);
    json_decref(tmpl);
    r->priority_class = pc;        /* borrowed from the job, not from the template just freed */
    return rc;
}

static int64_t executors(const json_t *job)
{
    const json_t *n = cs_kq_path_get(job, "spec", "executor", "instances");
    if (json_is_integer(n)) {
        return json_integer_value(n) < 0 ? 0 : json_integer_value(n);
    }
    const json_t *da = cs_kq_path_get(job, "spec", "dynamicAllocation", NULL);
    if (json_is_true(json_object_get(da, "enabled"))) {
        const json_t *init = json_object_get(da, "initialExecutors");
        return json_is_integer(init) ? json_integer_value(init)
                                     : cs_kq_int_or(json_object_get(da, "minExecutors"), 0);
    }
    return 2;
}

static int spark_requests(const struct cs_api_ctx *ctx, const struct cs_kq_kind *k,
                          const json_t *job, struct cs_kq_job_req *out, char *err, size_t errlen)
{
    (void)k;
    if (!json_is_object(cs_kq_path_get(job, "spec", "driver", NULL))) {
        snprintf(err, errlen, "spec.driver: missing");
        return -1;
    }
    if (add_role(ctx, job, "spec.driver", "spark-kubernetes-driver", 1, out, err, errlen) != 0) {
        return -1;
    }
    return add_role(ctx, job, "spec.executor", "spark-kubernetes-executor", executors(job), out,
                    err, errlen);
}

static void spark_release_patch(const struct cs_kq_kind *k, const json_t *job, const char *gang,
                                uint32_t min_available, struct cs_buf *out)
{
    (void)k;
    (void)job;
    (void)gang;
    (void)min_available;
    cs_buf_puts(out, "{\"metadata\":{\"annotations\":{\"" CS_KQ_SUSPEND_ANNOTATION "\":null}}}");
}

static void spark_suspend_patch(const struct cs_kq_kind *k, struct cs_buf *out)
{
    (void)k;
    cs_buf_puts(out,
                "{\"metadata\":{\"annotations\":{\"" CS_KQ_SUSPEND_ANNOTATION "\":\"true\"}}}");
}

static const char *spark_pod_job(const json_t *pod)
{
    return json_string_value(cs_kq_path_get(pod, "metadata", "labels", APP_NAME_LABEL));
}

static bool spark_one_wave(const struct cs_kq_kind *k, const json_t *job)
{
    (void)k;
    (void)job;
    return false;
}

const struct cs_kq_kind_ops cs_kq_ops_spark = {
    .held = spark_held,
    .started = spark_started,
    .finished = spark_finished,
    .requests = spark_requests,
    .release_patch = spark_release_patch,
    .suspend_patch = spark_suspend_patch,
    .pod_job = spark_pod_job,
    .one_wave = spark_one_wave,
};
