/* Simulation against the store directly: pod lifecycle, Deployment/ReplicaSet, Job,
 * TFJob suspend, garbage collection, generated cluster, admin endpoints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pkg/apisim/sim_internal.h"
#include "pkg/util/alloc.h"
#include "pkg/util/timeutil.h"

static const struct cs_apisim_rtype_def defs[] = {
    { .group = "", .version = "v1", .resource = "namespaces", .kind = "Namespace" },
    { .group = "", .version = "v1", .resource = "nodes", .kind = "Node", .has_status = 1 },
    { .group = "", .version = "v1", .resource = "pods", .kind = "Pod", .namespaced = 1,
      .has_status = 1 },
    { .group = "apps", .version = "v1", .resource = "deployments", .kind = "Deployment",
      .namespaced = 1, .has_status = 1, .has_scale = 1, .has_generation = 1 },
    { .group = "apps", .version = "v1", .resource = "replicasets", .kind = "ReplicaSet",
      .namespaced = 1, .has_status = 1, .has_scale = 1, .has_generation = 1 },
    { .group = "batch", .version = "v1", .resource = "jobs", .kind = "Job", .namespaced = 1,
      .has_status = 1, .has_generation = 1 },
    { .group = "kubeflow.org", .version = "v1", .resource = "tfjobs", .kind = "TFJob",
      .namespaced = 1, .has_status = 1, .has_generation = 1 },
    { .group = "kubeflow.org", .version = "v1", .resource = "pytorchjobs", .kind = "PyTorchJob",
      .namespaced = 1, .has_status = 1, .has_generation = 1 },
    { .group = "scheduling.k8s.io", .version = "v1", .resource = "priorityclasses",
      .kind = "PriorityClass" },
};

struct fx {
    struct cs_apisim_store *st;
    struct cs_apisim_sim *sim;
    struct cs_apisim_rtype *nodes, *pods, *deps, *rss, *jobs, *tfjobs, *ptjobs;
};

static struct fx *fx_start(struct cs_apisim_sim_opts *o)
{
    struct fx *f = cs_calloc(1, sizeof(*f));
    f->st = cs_apisim_store_new(4096, 3);
    cs_apisim_store_lock(f->st);
    for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
        cs_apisim_store_register(f->st, &defs[i]);
    }
    f->nodes = cs_apisim_store_rtype(f->st, "", "nodes");
    f->pods = cs_apisim_store_rtype(f->st, "", "pods");
    f->deps = cs_apisim_store_rtype(f->st, "apps", "deployments");
    f->rss = cs_apisim_store_rtype(f->st, "apps", "replicasets");
    f->jobs = cs_apisim_store_rtype(f->st, "batch", "jobs");
    f->tfjobs = cs_apisim_store_rtype(f->st, "kubeflow.org", "tfjobs");
    f->ptjobs = cs_apisim_store_rtype(f->st, "kubeflow.org", "pytorchjobs");
    cs_apisim_store_unlock(f->st);
    assert_int_equal(cs_apisim_sim_start(o, f->st, &f->sim), 0);
    return f;
}

static void fx_stop(struct fx *f)
{
    cs_apisim_sim_stop(f->sim);
    cs_apisim_store_free(f->st);
    cs_free(f);
}

static void create(struct fx *f, struct cs_apisim_rtype *rt, const char *ns, const char *json)
{
    json_error_t e;
    json_t *o = json_loads(json, 0, &e);
    if (o == NULL) {
        fail_msg("bad fixture JSON: %s", e.text);
    }
    struct cs_apisim_status st = { 0 };
    cs_apisim_store_lock(f->st);
    int rc = cs_apisim_store_create(f->st, rt, ns, o, NULL, &st);
    cs_apisim_store_unlock(f->st);
    if (rc != 0) {
        fail_msg("create failed: %s", st.message);
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* Count objects of rt in ns matching phase (NULL = any) and owned by owner_uid (NULL = any). */
static size_t count(struct fx *f, struct cs_apisim_rtype *rt, const char *ns, const char *phase)
{
    size_t n = 0, it = 0;
    const json_t *o;
    cs_apisim_store_lock(f->st);
    while (cs_apisim_store_next(f->st, rt, &it, &o)) {
        if (ns && strcmp(cs_apisim_jstr(o, "metadata.namespace"), ns) != 0) {
            continue;
        }
        if (json_object_get(json_object_get(o, "metadata"), "deletionTimestamp")) {
            continue;
        }
        if (phase && strcmp(cs_apisim_jstr(o, "status.phase"), phase) != 0) {
            continue;
        }
        n++;
    }
    cs_apisim_store_unlock(f->st);
    return n;
}

static int wait_count(struct fx *f, struct cs_apisim_rtype *rt, const char *ns,
                      const char *phase, size_t want)
{
    for (int i = 0; i < 1000; i++) {
        if (count(f, rt, ns, phase) == want) {
            return 1;
        }
        sleep_ms(10);
    }
    fprintf(stderr, "want %zu, have %zu\n", want, count(f, rt, ns, phase));
    return 0;
}

/* Copy of a string field of a stored object ("" if absent). */
static void get_field(struct fx *f, struct cs_apisim_rtype *rt, const char *ns,
                      const char *name, const char *path, char *out, size_t n)
{
    cs_apisim_store_lock(f->st);
    const json_t *o = cs_apisim_store_get(f->st, rt, ns, name);
    snprintf(out, n, "%s", o ? cs_apisim_jstr(o, path) : "");
    cs_apisim_store_unlock(f->st);
}

static int has_cond(struct fx *f, struct cs_apisim_rtype *rt, const char *ns,
                    const char *name, const char *type, const char *status)
{
    int found = 0;
    cs_apisim_store_lock(f->st);
    const json_t *o = cs_apisim_store_get(f->st, rt, ns, name);
    const json_t *conds = json_object_get(json_object_get(o, "status"), "conditions");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        if (strcmp(cs_apisim_jstr(c, "type"), type) == 0 &&
            strcmp(cs_apisim_jstr(c, "status"), status) == 0) {
            found = 1;
        }
    }
    cs_apisim_store_unlock(f->st);
    return found;
}

static int wait_cond(struct fx *f, struct cs_apisim_rtype *rt, const char *ns, const char *name,
                     const char *type, const char *status)
{
    for (int i = 0; i < 1000; i++) {
        if (has_cond(f, rt, ns, name, type, status)) {
            return 1;
        }
        sleep_ms(10);
    }
    return 0;
}

struct set_arg {
    const char *node;
    const char *phase;
    const char *ann_key, *ann_val;
};

static int mut_set(json_t *o, void *arg, struct cs_apisim_status *st)
{
    struct set_arg *a = arg;
    (void)st;
    if (a->node) {
        json_object_set_new(json_object_get(o, "spec"), "nodeName", json_string(a->node));
    }
    if (a->phase) {
        json_t *s = json_object_get(o, "status");
        if (!json_is_object(s)) {
            s = json_object();
            json_object_set_new(o, "status", s);
        }
        json_object_set_new(s, "phase", json_string(a->phase));
    }
    if (a->ann_key) {
        json_t *m = json_object_get(o, "metadata");
        json_t *an = json_object_get(m, "annotations");
        if (a->ann_val == NULL) {
            json_object_del(an, a->ann_key);
        } else {
            if (!json_is_object(an)) {
                an = json_object();
                json_object_set_new(m, "annotations", an);
            }
            json_object_set_new(an, a->ann_key, json_string(a->ann_val));
        }
    }
    return 0;
}

static void set(struct fx *f, struct cs_apisim_rtype *rt, const char *ns, const char *name,
                struct set_arg a)
{
    cs_apisim_store_lock(f->st);
    int rc = cs_apisim_store_update_fn(f->st, rt, ns, name, mut_set, &a, NULL, NULL);
    cs_apisim_store_unlock(f->st);
    assert_int_equal(rc, 0);
}

/* Apply a phase to every pod of ns that is not terminal. */
static void set_all_pods(struct fx *f, const char *ns, const char *from, struct set_arg a)
{
    char names[64][128];
    size_t n = 0, it = 0;
    const json_t *o;
    cs_apisim_store_lock(f->st);
    while (cs_apisim_store_next(f->st, f->pods, &it, &o) && n < 64) {
        if (strcmp(cs_apisim_jstr(o, "metadata.namespace"), ns) == 0 &&
            strcmp(cs_apisim_jstr(o, "status.phase"), from) == 0) {
            snprintf(names[n++], sizeof(names[0]), "%s", cs_apisim_jstr(o, "metadata.name"));
        }
    }
    cs_apisim_store_unlock(f->st);
    for (size_t i = 0; i < n; i++) {
        set(f, f->pods, ns, names[i], a);
    }
}

static const char *node_json = "{\"metadata\":{\"name\":\"n1\"},\"status\":{\"addresses\":"
                               "[{\"type\":\"InternalIP\",\"address\":\"10.9.8.7\"}]}}";
#define POD(name, extra) "{\"metadata\":{\"name\":\"" name "\"" extra "},\"spec\":{" \
    "\"containers\":[{\"name\":\"c\",\"image\":\"busybox\"}]}}"

static void test_sim_bound_pod_runs_then_succeeds(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    char buf[128];
    cs_apisim_sim_opts_init(&o);
    o.running_delay_ms = 50;
    struct fx *f = fx_start(&o);
    create(f, f->nodes, NULL, node_json);
    create(f, f->pods, "default", POD("a", ""));
    create(f, f->pods, "default",
           POD("b", ",\"annotations\":{\"apisim.cosched.io/run-seconds\":\"0.3\"}"));
    sleep_ms(150);
    /* Unbound pods stay Pending. */
    assert_int_equal(count(f, f->pods, "default", "Running"), 0);
    set(f, f->pods, "default", "a", (struct set_arg){ .node = "n1" });
    set(f, f->pods, "default", "b", (struct set_arg){ .node = "n1" });
    for (int i = 0; i < 1000 && count(f, f->pods, "default", "Running") +
                                   count(f, f->pods, "default", "Succeeded") < 2; i++) {
        sleep_ms(10);
    }
    assert_int_equal(count(f, f->pods, "default", "Running") +
                     count(f, f->pods, "default", "Succeeded"), 2);
    get_field(f, f->pods, "default", "a", "status.hostIP", buf, sizeof(buf));
    assert_string_equal(buf, "10.9.8.7");
    get_field(f, f->pods, "default", "a", "status.podIP", buf, sizeof(buf));
    assert_true(strlen(buf) >= 7);
    get_field(f, f->pods, "default", "a", "status.startTime", buf, sizeof(buf));
    assert_true(buf[0] != '\0');
    assert_true(has_cond(f, f->pods, "default", "a", "Ready", "True"));
    assert_true(has_cond(f, f->pods, "default", "a", "ContainersReady", "True"));
    assert_true(has_cond(f, f->pods, "default", "a", "Initialized", "True"));
    assert_true(has_cond(f, f->pods, "default", "a", "PodScheduled", "True"));
    /* b finishes ~0.3 s after it started; a keeps running. */
    assert_true(wait_count(f, f->pods, "default", "Succeeded", 1));
    get_field(f, f->pods, "default", "b", "status.phase", buf, sizeof(buf));
    assert_string_equal(buf, "Succeeded");
    get_field(f, f->pods, "default", "a", "status.phase", buf, sizeof(buf));
    assert_string_equal(buf, "Running");
    fx_stop(f);
}

static void test_sim_running_delay_off(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    assert_int_equal(cs_apisim_sim_parse_flag(&o, 1, (char *[]){ "--running-delay=off" },
                                              &(int){ 0 }), 1);
    assert_true(o.running_delay_ms < 0);
    struct fx *f = fx_start(&o);
    create(f, f->nodes, NULL, node_json);
    create(f, f->pods, "default", POD("a", ",\"namespace\":\"default\""));
    set(f, f->pods, "default", "a", (struct set_arg){ .node = "n1" });
    sleep_ms(300);
    assert_int_equal(count(f, f->pods, "default", "Running"), 0);
    fx_stop(f);
}

static void test_sim_deployment_recreates_and_scales(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    char buf[256];
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->deps, "web",
           "{\"metadata\":{\"name\":\"nginx\"},\"spec\":{\"replicas\":3,\"selector\":"
           "{\"matchLabels\":{\"app\":\"nginx\"}},\"template\":{\"metadata\":{\"labels\":"
           "{\"app\":\"nginx\"}},\"spec\":{\"schedulerName\":\"ack-co-scheduler\","
           "\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"resources\":{\"limits\":"
           "{\"cpu\":\"2\"}}}]}}}}");
    assert_true(wait_count(f, f->pods, "web", NULL, 3));
    assert_int_equal(count(f, f->rss, "web", NULL), 1);
    /* Pods carry the template's labels, the hash, an owner reference and defaulted requests. */
    char pod[128] = "", rsname[128] = "";
    cs_apisim_store_lock(f->st);
    size_t it = 0;
    const json_t *p;
    cs_apisim_store_next(f->st, f->pods, &it, &p);
    snprintf(pod, sizeof(pod), "%s", cs_apisim_jstr(p, "metadata.name"));
    assert_string_equal(cs_apisim_label(p, "app"), "nginx");
    assert_non_null(cs_apisim_label(p, "pod-template-hash"));
    const json_t *ref = cs_apisim_controller_ref(p);
    assert_non_null(ref);
    assert_string_equal(cs_apisim_jstr(ref, "kind"), "ReplicaSet");
    snprintf(rsname, sizeof(rsname), "%s", cs_apisim_jstr(ref, "name"));
    const json_t *c0 = json_array_get(json_object_get(json_object_get(p, "spec"), "containers"),
                                      0);
    assert_string_equal(cs_apisim_jstr(c0, "resources.requests.cpu"), "2");
    assert_string_equal(cs_apisim_jstr(p, "spec.schedulerName"), "ack-co-scheduler");
    cs_apisim_store_unlock(f->st);
    get_field(f, f->rss, "web", rsname, "metadata.labels.pod-template-hash", buf, sizeof(buf));
    assert_true(strlen(buf) > 0);

    /* A deleted (e.g. preempted) pod is replaced. */
    cs_apisim_store_lock(f->st);
    assert_int_equal(cs_apisim_store_delete(f->st, f->pods, "web", pod, NULL, NULL, NULL), 0);
    cs_apisim_store_unlock(f->st);
    assert_true(wait_count(f, f->pods, "web", NULL, 3));
    cs_apisim_store_lock(f->st);
    assert_null(cs_apisim_store_get(f->st, f->pods, "web", pod));
    cs_apisim_store_unlock(f->st);

    /* Bind them all: Deployment reports 3 ready / available. */
    set_all_pods(f, "web", "Pending", (struct set_arg){ .node = "n1" });
    assert_true(wait_count(f, f->pods, "web", "Running", 3));
    for (int i = 0; i < 1000 && !has_cond(f, f->deps, "web", "nginx", "Available", "True"); i++) {
        sleep_ms(10);
    }
    assert_true(has_cond(f, f->deps, "web", "nginx", "Available", "True"));
    cs_apisim_store_lock(f->st);
    const json_t *d = cs_apisim_store_get(f->st, f->deps, "web", "nginx");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "status"),
                                                        "readyReplicas")), 3);
    cs_apisim_store_unlock(f->st);

    /* Scale up and down. */
    cs_apisim_store_lock(f->st);
    json_t *nd = json_deep_copy(cs_apisim_store_get(f->st, f->deps, "web", "nginx"));
    json_object_set_new(json_object_get(nd, "spec"), "replicas", json_integer(5));
    json_object_del(json_object_get(nd, "metadata"), "resourceVersion");
    assert_int_equal(cs_apisim_store_update(f->st, f->deps, "web", "nginx", nd, 0, NULL, NULL),
                     0);
    cs_apisim_store_unlock(f->st);
    assert_true(wait_count(f, f->pods, "web", NULL, 5));

    /* Deleting the Deployment collects its ReplicaSet and pods. */
    cs_apisim_store_lock(f->st);
    struct cs_apisim_delete_opts now = { 0, NULL, NULL };
    assert_int_equal(cs_apisim_store_delete(f->st, f->deps, "web", "nginx", NULL, NULL, NULL),
                     0);
    cs_apisim_store_unlock(f->st);
    assert_true(wait_count(f, f->rss, "web", NULL, 0));
    (void)now;
    /* Bound pods terminate gracefully (deletionTimestamp), unbound ones vanish at once. */
    assert_true(wait_count(f, f->pods, "web", NULL, 0));
    fx_stop(f);
}

static const char *job_json =
    "{\"metadata\":{\"name\":\"pi\"},\"spec\":{\"suspend\":true,\"parallelism\":2,"
    "\"completions\":3,\"template\":{\"spec\":{\"restartPolicy\":\"Never\",\"containers\":"
    "[{\"name\":\"pi\",\"image\":\"perl\"}]}}}}";

static int mut_unsuspend(json_t *o, void *arg, struct cs_apisim_status *st)
{
    (void)arg;
    (void)st;
    json_object_set_new(json_object_get(o, "spec"), "suspend", json_false());
    return 0;
}

static void test_sim_job_suspend_parallelism_completions(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    char buf[128];
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->jobs, "batch", job_json);
    assert_true(wait_cond(f, f->jobs, "batch", "pi", "Suspended", "True"));
    sleep_ms(100);
    assert_int_equal(count(f, f->pods, "batch", NULL), 0);

    cs_apisim_store_lock(f->st);
    assert_int_equal(cs_apisim_store_update_fn(f->st, f->jobs, "batch", "pi", mut_unsuspend,
                                               NULL, NULL, NULL), 0);
    cs_apisim_store_unlock(f->st);
    /* parallelism 2 */
    assert_true(wait_count(f, f->pods, "batch", "Pending", 2));
    sleep_ms(100);
    assert_int_equal(count(f, f->pods, "batch", NULL), 2);
    assert_true(wait_cond(f, f->jobs, "batch", "pi", "Suspended", "False"));
    cs_apisim_store_lock(f->st);
    size_t it = 0;
    const json_t *p;
    cs_apisim_store_next(f->st, f->pods, &it, &p);
    assert_string_equal(cs_apisim_label(p, "job-name"), "pi");
    assert_string_equal(cs_apisim_label(p, "batch.kubernetes.io/job-name"), "pi");
    assert_non_null(cs_apisim_label(p, "controller-uid"));
    cs_apisim_store_unlock(f->st);

    /* Two succeed -> one more pod (completions 3 - 2 succeeded = 1 left). */
    set_all_pods(f, "batch", "Pending", (struct set_arg){ .phase = "Succeeded" });
    assert_true(wait_count(f, f->pods, "batch", "Pending", 1));
    set_all_pods(f, "batch", "Pending", (struct set_arg){ .phase = "Succeeded" });
    assert_true(wait_cond(f, f->jobs, "batch", "pi", "Complete", "True"));
    cs_apisim_store_lock(f->st);
    const json_t *j = cs_apisim_store_get(f->st, f->jobs, "batch", "pi");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "status"),
                                                        "succeeded")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "status"),
                                                        "active")), 0);
    cs_apisim_store_unlock(f->st);
    get_field(f, f->jobs, "batch", "pi", "status.completionTime", buf, sizeof(buf));
    assert_true(buf[0] != '\0');
    sleep_ms(100);
    assert_int_equal(count(f, f->pods, "batch", NULL), 3);
    fx_stop(f);
}

static void test_sim_tfjob_suspend_annotation(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->tfjobs, "ml",
           "{\"metadata\":{\"name\":\"mnist\",\"annotations\":{\"scheduling.x-k8s.io/suspend\":"
           "\"true\"}},\"spec\":{\"tfReplicaSpecs\":{\"PS\":{\"replicas\":1,\"template\":{"
           "\"spec\":{\"containers\":[{\"name\":\"tensorflow\",\"image\":\"tf\"}]}}},"
           "\"Worker\":{\"replicas\":2,\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"tensorflow\",\"image\":\"tf\"}]}}}}}}");
    assert_true(wait_cond(f, f->tfjobs, "ml", "mnist", "Suspended", "True"));
    assert_true(has_cond(f, f->tfjobs, "ml", "mnist", "Created", "True"));
    sleep_ms(100);
    assert_int_equal(count(f, f->pods, "ml", NULL), 0);

    set(f, f->tfjobs, "ml", "mnist",
        (struct set_arg){ .ann_key = "scheduling.x-k8s.io/suspend", .ann_val = NULL });
    assert_true(wait_count(f, f->pods, "ml", NULL, 3));
    char buf[128];
    get_field(f, f->pods, "ml", "mnist-worker-1",
              "metadata.labels.training\\.kubeflow\\.org/replica-type", buf, sizeof(buf));
    cs_apisim_store_lock(f->st);
    const json_t *w1 = cs_apisim_store_get(f->st, f->pods, "ml", "mnist-worker-1");
    assert_non_null(w1);
    assert_string_equal(cs_apisim_label(w1, "training.kubeflow.org/job-name"), "mnist");
    assert_string_equal(cs_apisim_label(w1, "training.kubeflow.org/replica-type"), "worker");
    assert_string_equal(cs_apisim_label(w1, "training.kubeflow.org/replica-index"), "1");
    assert_string_equal(cs_apisim_jstr(cs_apisim_controller_ref(w1), "kind"), "TFJob");
    assert_non_null(cs_apisim_store_get(f->st, f->pods, "ml", "mnist-ps-0"));
    cs_apisim_store_unlock(f->st);

    set_all_pods(f, "ml", "Pending", (struct set_arg){ .node = "n1" });
    assert_true(wait_cond(f, f->tfjobs, "ml", "mnist", "Running", "True"));
    set_all_pods(f, "ml", "Running", (struct set_arg){ .phase = "Succeeded" });
    assert_true(wait_cond(f, f->tfjobs, "ml", "mnist", "Succeeded", "True"));
    assert_true(has_cond(f, f->tfjobs, "ml", "mnist", "Running", "False"));
    fx_stop(f);
}

static int mut_run_policy_resume(json_t *o, void *arg, struct cs_apisim_status *st)
{
    (void)arg;
    (void)st;
    json_object_set_new(json_object_get(json_object_get(o, "spec"), "runPolicy"), "suspend",
                        json_false());
    return 0;
}

static void test_sim_pytorchjob_run_policy_and_restart(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    char uid0[64], uid1[64], buf[64];
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->ptjobs, "ml",
           "{\"metadata\":{\"name\":\"bert\"},\"spec\":{\"runPolicy\":{\"suspend\":true},"
           "\"pytorchReplicaSpecs\":{\"Master\":{\"replicas\":1,\"restartPolicy\":\"OnFailure\","
           "\"template\":{\"spec\":{\"containers\":[{\"name\":\"pytorch\",\"image\":\"pt\"}]}}},"
           "\"Worker\":{\"replicas\":2,\"restartPolicy\":\"ExitCode\",\"template\":{\"spec\":"
           "{\"containers\":[{\"name\":\"pytorch\",\"image\":\"pt\"}]}}}}}}");
    assert_true(wait_cond(f, f->ptjobs, "ml", "bert", "Suspended", "True"));
    sleep_ms(100);
    assert_int_equal(count(f, f->pods, "ml", NULL), 0);
    cs_apisim_store_lock(f->st);
    assert_int_equal(cs_apisim_store_update_fn(f->st, f->ptjobs, "ml", "bert",
                                               mut_run_policy_resume, NULL, NULL, NULL), 0);
    cs_apisim_store_unlock(f->st);
    assert_true(wait_count(f, f->pods, "ml", NULL, 3));
    get_field(f, f->pods, "ml", "bert-master-0", "spec.restartPolicy", buf, sizeof(buf));
    assert_string_equal(buf, "OnFailure");
    get_field(f, f->pods, "ml", "bert-worker-0", "spec.restartPolicy", buf, sizeof(buf));
    assert_string_equal(buf, "Never");
    cs_apisim_store_lock(f->st);
    assert_string_equal(cs_apisim_label(cs_apisim_store_get(f->st, f->pods, "ml",
                                                            "bert-master-0"),
                                        "training.kubeflow.org/job-role"), "master");
    cs_apisim_store_unlock(f->st);

    /* A failed master (OnFailure) is replaced by a new pod of the same name. */
    get_field(f, f->pods, "ml", "bert-master-0", "metadata.uid", uid0, sizeof(uid0));
    set(f, f->pods, "ml", "bert-master-0", (struct set_arg){ .node = "n1", .phase = "Failed" });
    for (int i = 0; i < 1000; i++) {
        get_field(f, f->pods, "ml", "bert-master-0", "metadata.uid", uid1, sizeof(uid1));
        if (uid1[0] != '\0' && strcmp(uid1, uid0) != 0) {
            break;
        }
        sleep_ms(10);
    }
    assert_true(uid1[0] != '\0' && strcmp(uid1, uid0) != 0);
    assert_false(has_cond(f, f->ptjobs, "ml", "bert", "Failed", "True"));

    /* The master succeeding completes the job. */
    set(f, f->pods, "ml", "bert-master-0", (struct set_arg){ .node = "n1", .phase = "Succeeded" });
    assert_true(wait_cond(f, f->ptjobs, "ml", "bert", "Succeeded", "True"));
    fx_stop(f);
}

static void test_sim_job_backoff_limit_fails(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->jobs, "batch",
           "{\"metadata\":{\"name\":\"bad\"},\"spec\":{\"backoffLimit\":1,\"template\":{\"spec\":"
           "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}");
    assert_true(wait_count(f, f->pods, "batch", "Pending", 1));
    set_all_pods(f, "batch", "Pending", (struct set_arg){ .phase = "Failed" });
    /* one failure is within backoffLimit 1: a replacement appears */
    assert_true(wait_count(f, f->pods, "batch", "Pending", 1));
    assert_false(has_cond(f, f->jobs, "batch", "bad", "Failed", "True"));
    set_all_pods(f, "batch", "Pending", (struct set_arg){ .phase = "Failed" });
    assert_true(wait_cond(f, f->jobs, "batch", "bad", "Failed", "True"));
    sleep_ms(100);
    assert_int_equal(count(f, f->pods, "batch", "Pending"), 0);
    assert_int_equal(count(f, f->pods, "batch", "Failed"), 2);
    fx_stop(f);
}

static void test_sim_controllers_can_be_disabled(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    int i = 0;
    assert_int_equal(cs_apisim_sim_parse_flag(&o, 1, (char *[]){ "--simulate=false" }, &i), 1);
    struct fx *f = fx_start(&o);
    create(f, f->nodes, NULL, node_json);
    create(f, f->jobs, "batch", "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"template\":{\"spec\":"
                                "{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}}}");
    create(f, f->pods, "default", POD("a", ""));
    set(f, f->pods, "default", "a", (struct set_arg){ .node = "n1" });
    sleep_ms(300);
    assert_int_equal(count(f, f->pods, "batch", NULL), 0);
    assert_int_equal(count(f, f->pods, "default", "Running"), 0);
    fx_stop(f);
}

static void test_sim_large_replica_count_fills_in_bursts(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->rss, "big",
           "{\"metadata\":{\"name\":\"many\"},\"spec\":{\"replicas\":1234,\"template\":{"
           "\"metadata\":{\"labels\":{\"app\":\"many\"}},\"spec\":{\"containers\":[{\"name\":"
           "\"c\",\"image\":\"x\"}]}}}}");
    assert_true(wait_count(f, f->pods, "big", NULL, 1234));
    sleep_ms(200);
    assert_int_equal(count(f, f->pods, "big", NULL), 1234);
    fx_stop(f);
}

static void test_sim_generates_cluster(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    char *argv[] = { "apisim", "--cluster-gen", "nodes=50,cpu=8,zones=2", "--cluster-gen",
                     "nodes=2,eci=true,prefix=vk-", "--pods-gen=count=104,bound=true,cpu=1",
                     "--pods-gen", "count=5,prefix=pending-,namespace=queue", "--seed", "7" };
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    for (int i = 1; i < argc; i++) {
        assert_int_equal(cs_apisim_sim_parse_flag(&o, argc, argv, &i), 1);
    }
    assert_int_equal(o.seed, 7);
    struct fx *f = fx_start(&o);
    cs_apisim_sim_opts_free(&o);
    assert_int_equal(count(f, f->nodes, NULL, NULL), 52);
    assert_int_equal(count(f, f->pods, "default", "Running"), 104);
    assert_int_equal(count(f, f->pods, "queue", "Pending"), 5);
    /* Round-robin: 104 bound pods over 52 nodes = 2 each. */
    struct cs_map per;
    cs_map_init(&per);
    cs_apisim_store_lock(f->st);
    size_t it = 0;
    const json_t *p;
    while (cs_apisim_store_next(f->st, f->pods, &it, &p)) {
        const char *n = cs_apisim_jstr(p, "spec.nodeName");
        if (n[0]) {
            uintptr_t c = (uintptr_t)cs_map_get(&per, n);
            cs_map_put(&per, n, (void *)(c + 1));
        }
    }
    assert_int_equal(cs_map_len(&per), 52);
    const char *k;
    void *v;
    for (size_t i = 0; cs_map_next(&per, &i, &k, &v);) {
        assert_int_equal((uintptr_t)v, 2);
    }
    cs_apisim_store_unlock(f->st);
    cs_map_destroy(&per);
    fx_stop(f);

    /* A bad spec fails the start with nothing left running. */
    struct cs_apisim_sim_opts bad;
    cs_apisim_sim_opts_init(&bad);
    int i = 0;
    assert_int_equal(cs_apisim_sim_parse_flag(&bad, 2, (char *[]){ "--cluster-gen=cpu=x", NULL },
                                              &i), 1);
    struct cs_apisim_store *st = cs_apisim_store_new(64, 1);
    struct cs_apisim_sim *sim = (struct cs_apisim_sim *)1;
    assert_int_equal(cs_apisim_sim_start(&bad, st, &sim), -1);
    assert_null(sim);
    cs_apisim_store_free(st);
    cs_apisim_sim_opts_free(&bad);
}

static void test_sim_flags(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    char *argv[] = { "x", "--fault-bind", "0.5:429", "--fault-latency=5ms", "--no-sim-jobs",
                     "--sim-kubeflow=false", "--unrelated", "--fault-watch-410", "0.3",
                     "--running-delay", "0" };
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    int consumed = 0, i;
    for (i = 1; i < argc; i++) {
        int r = cs_apisim_sim_parse_flag(&o, argc, argv, &i);
        assert_true(r >= 0);
        consumed += r;
    }
    assert_int_equal(consumed, 6);
    assert_true(o.faults.rules[CS_APISIM_FAULT_BIND].fraction == 0.5);
    assert_int_equal(o.faults.rules[CS_APISIM_FAULT_BIND].code, 429);
    assert_int_equal(o.faults.latency_us, 5000);
    assert_true(o.faults.watch_410_fraction == 0.3);
    assert_int_equal(o.ctl_jobs, 0);
    assert_int_equal(o.ctl_kubeflow, 0);
    assert_int_equal(o.ctl_deployments, 1);
    assert_int_equal(o.running_delay_ms, 0);
    i = 0;
    assert_int_equal(cs_apisim_sim_parse_flag(&o, 2, (char *[]){ "--fault-bind=2", NULL }, &i),
                     -1);
    i = 0;
    assert_int_equal(cs_apisim_sim_parse_flag(&o, 1, (char *[]){ "--pods-gen" }, &i), -1);
    i = 0;
    assert_int_equal(cs_apisim_sim_parse_flag(&o, 1, (char *[]){ "--faults={\"bind\":1}" },
                                              &i), -1);
    cs_apisim_sim_opts_free(&o);
}

static void test_sim_admin_endpoints(void **state)
{
    (void)state;
    struct cs_apisim_sim_opts o;
    cs_apisim_sim_opts_init(&o);
    struct fx *f = fx_start(&o);
    create(f, f->nodes, NULL, node_json);
    int code;
    char *body;
    size_t len;
    const char *put = "{\"bind\":{\"fraction\":1,\"code\":500},\"dropWatchesNow\":true}";
    cs_apisim_sim_admin(f->sim, "PUT", "/apisim/faults", put, strlen(put), &code, &body, &len);
    assert_int_equal(code, 200);
    cs_free(body);
    struct cs_apisim_fault_decision d;
    cs_apisim_fault_on_request(cs_apisim_sim_fault(f->sim), "create", "pods", "binding", &d);
    assert_int_equal(d.code, 500);
    cs_apisim_sim_admin(f->sim, "GET", "/apisim/faults", NULL, 0, &code, &body, &len);
    assert_int_equal(code, 200);
    json_t *g = json_loadb(body, len, 0, NULL);
    assert_true(json_number_value(json_object_get(json_object_get(g, "bind"), "fraction")) == 1.0);
    json_decref(g);
    cs_free(body);
    cs_apisim_sim_admin(f->sim, "PUT", "/apisim/faults", "{}", 2, &code, &body, &len);
    cs_free(body);
    cs_apisim_fault_on_request(cs_apisim_sim_fault(f->sim), "create", "pods", "binding", &d);
    assert_int_equal(d.code, 0);
    cs_apisim_sim_admin(f->sim, "PUT", "/apisim/faults", "{\"bind\":7}", 10, &code, &body, &len);
    assert_int_equal(code, 400);
    assert_non_null(strstr(body, "bind"));
    cs_free(body);
    cs_apisim_sim_admin(f->sim, "GET", "/apisim/dump", NULL, 0, &code, &body, &len);
    assert_int_equal(code, 200);
    json_t *dump = json_loadb(body, len, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(dump, "kind")), "List");
    assert_int_equal(json_array_size(json_object_get(dump, "items")), 1);
    assert_string_equal(cs_apisim_jstr(json_array_get(json_object_get(dump, "items"), 0),
                                       "kind"), "Node");
    json_decref(dump);
    cs_free(body);
    cs_apisim_sim_admin(f->sim, "GET", "/apisim/nothing", NULL, 0, &code, &body, &len);
    assert_int_equal(code, 404);
    cs_free(body);
    cs_apisim_sim_admin(NULL, "GET", "/apisim/faults", NULL, 0, &code, &body, &len);
    assert_int_equal(code, 404);
    cs_free(body);
    fx_stop(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_bound_pod_runs_then_succeeds),
        cmocka_unit_test(test_sim_running_delay_off),
        cmocka_unit_test(test_sim_deployment_recreates_and_scales),
        cmocka_unit_test(test_sim_job_suspend_parallelism_completions),
        cmocka_unit_test(test_sim_tfjob_suspend_annotation),
        cmocka_unit_test(test_sim_pytorchjob_run_policy_and_restart),
        cmocka_unit_test(test_sim_job_backoff_limit_fails),
        cmocka_unit_test(test_sim_controllers_can_be_disabled),
        cmocka_unit_test(test_sim_large_replica_count_fills_in_bursts),
        cmocka_unit_test(test_sim_generates_cluster),
        cmocka_unit_test(test_sim_flags),
        cmocka_unit_test(test_sim_admin_endpoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
