/*
 * Built-in resource types, the objects every cluster starts with (namespaces default,
 * kube-system, kube-public, kube-node-lease; the system PriorityClasses), and admission for
 * the non-pod kinds: status handling on create, defaulting (node allocatable, namespace
 * phase, workload defaults) and the few validations clients rely on. Pod admission lives in
 * pods.c, CRD validation in crd.c.
 */
#include <stdio.h>
#include <string.h>

#include "pkg/apisim/http.h"
#include "pkg/util/timeutil.h"

#define NS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct cs_apisim_rtype_def builtin_types[] = {
    { .group = "", .version = "v1", .resource = "namespaces", .singular = "namespace",
      .kind = "Namespace", .short_names = NS("ns"), .has_status = 1 },
    { .group = "", .version = "v1", .resource = "nodes", .singular = "node", .kind = "Node",
      .short_names = NS("no"), .has_status = 1 },
    { .group = "", .version = "v1", .resource = "pods", .singular = "pod", .kind = "Pod",
      .short_names = NS("po"), .categories = NS("all"), .namespaced = 1, .has_status = 1 },
    { .group = "", .version = "v1", .resource = "events", .singular = "event", .kind = "Event",
      .short_names = NS("ev"), .namespaced = 1 },
    { .group = "", .version = "v1", .resource = "configmaps", .singular = "configmap",
      .kind = "ConfigMap", .short_names = NS("cm"), .namespaced = 1 },
    { .group = "", .version = "v1", .resource = "secrets", .singular = "secret",
      .kind = "Secret", .namespaced = 1 },
    { .group = "", .version = "v1", .resource = "serviceaccounts", .singular = "serviceaccount",
      .kind = "ServiceAccount", .short_names = NS("sa"), .namespaced = 1 },
    { .group = "", .version = "v1", .resource = "services", .singular = "service",
      .kind = "Service", .short_names = NS("svc"), .categories = NS("all"), .namespaced = 1,
      .has_status = 1 },
    { .group = "", .version = "v1", .resource = "resourcequotas", .singular = "resourcequota",
      .kind = "ResourceQuota", .short_names = NS("quota"), .namespaced = 1, .has_status = 1 },
    { .group = "", .version = "v1", .resource = "persistentvolumeclaims",
      .singular = "persistentvolumeclaim", .kind = "PersistentVolumeClaim",
      .short_names = NS("pvc"), .namespaced = 1, .has_status = 1 },
    { .group = "", .version = "v1", .resource = "persistentvolumes",
      .singular = "persistentvolume", .kind = "PersistentVolume", .short_names = NS("pv"),
      .has_status = 1 },
    { .group = "", .version = "v1", .resource = "replicationcontrollers",
      .singular = "replicationcontroller", .kind = "ReplicationController",
      .short_names = NS("rc"), .namespaced = 1, .has_status = 1, .has_scale = 1,
      .has_generation = 1 },
    { .group = "apps", .version = "v1", .resource = "deployments", .singular = "deployment",
      .kind = "Deployment", .short_names = NS("deploy"), .categories = NS("all"),
      .namespaced = 1, .has_status = 1, .has_scale = 1, .has_generation = 1 },
    { .group = "apps", .version = "v1", .resource = "replicasets", .singular = "replicaset",
      .kind = "ReplicaSet", .short_names = NS("rs"), .categories = NS("all"), .namespaced = 1,
      .has_status = 1, .has_scale = 1, .has_generation = 1 },
    { .group = "apps", .version = "v1", .resource = "statefulsets", .singular = "statefulset",
      .kind = "StatefulSet", .short_names = NS("sts"), .categories = NS("all"),
      .namespaced = 1, .has_status = 1, .has_scale = 1, .has_generation = 1 },
    { .group = "apps", .version = "v1", .resource = "daemonsets", .singular = "daemonset",
      .kind = "DaemonSet", .short_names = NS("ds"), .categories = NS("all"), .namespaced = 1,
      .has_status = 1, .has_generation = 1 },
    { .group = "batch", .version = "v1", .resource = "jobs", .singular = "job", .kind = "Job",
      .categories = NS("all"), .namespaced = 1, .has_status = 1, .has_generation = 1 },
    { .group = "coordination.k8s.io", .version = "v1", .resource = "leases",
      .singular = "lease", .kind = "Lease", .namespaced = 1 },
    { .group = "scheduling.k8s.io", .version = "v1", .resource = "priorityclasses",
      .singular = "priorityclass", .kind = "PriorityClass", .short_names = NS("pc") },
    { .group = "policy", .version = "v1", .resource = "poddisruptionbudgets",
      .singular = "poddisruptionbudget", .kind = "PodDisruptionBudget",
      .short_names = NS("pdb"), .namespaced = 1, .has_status = 1, .has_generation = 1 },
    { .group = "storage.k8s.io", .version = "v1", .resource = "storageclasses",
      .singular = "storageclass", .kind = "StorageClass", .short_names = NS("sc") },
    { .group = "storage.k8s.io", .version = "v1", .resource = "csinodes", .singular = "csinode",
      .kind = "CSINode" },
    { .group = "events.k8s.io", .version = "v1", .resource = "events", .singular = "event",
      .kind = "Event", .short_names = NS("ev"), .namespaced = 1 },
    { .group = "apiextensions.k8s.io", .version = "v1", .resource = "customresourcedefinitions",
      .singular = "customresourcedefinition", .kind = "CustomResourceDefinition",
      .short_names = NS("crd", "crds"), .has_status = 1, .has_generation = 1 },
};

void cs_apisim_builtin_register(struct cs_apisim_server *sv)
{
    struct cs_apisim_store *s = sv->store;
    for (size_t i = 0; i < sizeof(builtin_types) / sizeof(builtin_types[0]); i++)
        cs_apisim_store_register(s, &builtin_types[i]);
    struct cs_apisim_rtype *ns = cs_apisim_store_rtype(s, "", "namespaces");
    static const char *const namespaces[] = { "default", "kube-system", "kube-public",
                                              "kube-node-lease", NULL };
    for (int i = 0; namespaces[i]; i++) {
        json_t *o = json_pack("{s:{s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "metadata", "name",
                              namespaces[i], "labels", "kubernetes.io/metadata.name",
                              namespaces[i], "spec", "finalizers", "kubernetes", "status",
                              "phase", "Active");
        cs_apisim_store_create(s, ns, NULL, o, NULL, NULL);
    }
    struct cs_apisim_rtype *pc = cs_apisim_store_rtype(s, "scheduling.k8s.io", "priorityclasses");
    static const struct { const char *name; long long v; const char *desc; } pcs[] = {
        { "system-node-critical", 2000001000,
          "Used for system critical pods that must not be moved from their current node." },
        { "system-cluster-critical", 2000000000,
          "Used for system critical pods that must run in the cluster, but can be moved to "
          "another node if necessary." },
    };
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_pack("{s:{s:s},s:I,s:b,s:s,s:s}", "metadata", "name", pcs[i].name,
                              "value", (json_int_t)pcs[i].v, "globalDefault", 0, "description",
                              pcs[i].desc, "preemptionPolicy", "PreemptLowerPriority");
        cs_apisim_store_create(s, pc, NULL, o, NULL, NULL);
    }
}

/* --- admission for non-pod kinds ------------------------------------------------------------- */

static json_t *ensure_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static void default_int(json_t *o, const char *key, json_int_t v)
{
    if (!json_object_get(o, key) || json_is_null(json_object_get(o, key)))
        json_object_set_new(o, key, json_integer(v));
}

static int is(const struct cs_apisim_rtype *rt, const char *group, const char *resource)
{
    return !strcmp(rt->group, group) && !strcmp(rt->resource, resource);
}

static int admit_priorityclass(struct cs_apisim_server *sv, json_t *obj, const json_t *old,
                               struct cs_apisim_status *st)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                         "name"));
    if (!json_is_integer(json_object_get(obj, "value")))
        return cs_apisim_status_set(st, 422, "Invalid", "PriorityClass.scheduling.k8s.io \"%s\" "
                                    "is invalid: value: Required value", name ? name : "");
    if (old && !json_equal(json_object_get(obj, "value"), json_object_get(old, "value")))
        return cs_apisim_status_set(st, 422, "Invalid", "PriorityClass.scheduling.k8s.io \"%s\" "
                                    "is invalid: Value: Forbidden: may not be changed in an "
                                    "update.", name ? name : "");
    if (!json_object_get(obj, "preemptionPolicy"))
        json_object_set_new(obj, "preemptionPolicy", json_string("PreemptLowerPriority"));
    if (json_is_true(json_object_get(obj, "globalDefault"))) {
        size_t it = 0;
        const json_t *pc;
        while (cs_apisim_store_next(sv->store, sv->pc_rt, &it, &pc)) {
            const char *n = json_string_value(json_object_get(json_object_get(pc, "metadata"),
                                                              "name"));
            if (json_is_true(json_object_get(pc, "globalDefault")) && n && name &&
                strcmp(n, name))
                return cs_apisim_status_set(st, 422, "Invalid",
                                            "PriorityClass.scheduling.k8s.io \"%s\" is invalid: "
                                            "globalDefault: Invalid value: true: globalDefault "
                                            "is already set by PriorityClass %s", name, n);
        }
    }
    return 0;
}

int cs_apisim_admit(struct cs_apisim_server *sv, const struct cs_apisim_rtype *rt,
                    const char *ns, json_t *obj, const json_t *old, struct cs_apisim_status *st)
{
    if (is(rt, "", "pods"))
        return cs_apisim_pod_admit(sv, ns, obj, old, st);
    if (is(rt, "apiextensions.k8s.io", "customresourcedefinitions"))
        return cs_apisim_crd_admit(sv, obj, old, st);
    if (is(rt, "scheduling.k8s.io", "priorityclasses"))
        return admit_priorityclass(sv, obj, old, st);
    if (is(rt, "", "nodes")) {
        json_t *status = ensure_obj(obj, "status");
        json_t *cap = json_object_get(status, "capacity");
        if (json_is_object(cap) && !json_is_object(json_object_get(status, "allocatable")))
            json_object_set_new(status, "allocatable", json_deep_copy(cap));
        return 0;
    }
    if (is(rt, "", "namespaces")) {
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                             "name"));
        json_t *labels = ensure_obj(ensure_obj(obj, "metadata"), "labels");
        if (name)
            json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
        if (!old) {
            json_object_set_new(obj, "spec", json_pack("{s:[s]}", "finalizers", "kubernetes"));
            json_object_set_new(obj, "status", json_pack("{s:s}", "phase", "Active"));
        }
        return 0;
    }
    if (!old && rt->has_status)
        json_object_del(obj, "status");
    if (is(rt, "apps", "deployments") || is(rt, "apps", "replicasets") ||
        is(rt, "apps", "statefulsets") || is(rt, "", "replicationcontrollers")) {
        json_t *spec = ensure_obj(obj, "spec");
        default_int(spec, "replicas", 1);
        if (is(rt, "apps", "deployments")) {
            default_int(spec, "revisionHistoryLimit", 10);
            default_int(spec, "progressDeadlineSeconds", 600);
            if (!json_object_get(spec, "strategy"))
                json_object_set_new(spec, "strategy",
                                    json_pack("{s:s,s:{s:s,s:s}}", "type", "RollingUpdate",
                                              "rollingUpdate", "maxUnavailable", "25%",
                                              "maxSurge", "25%"));
        }
    } else if (is(rt, "batch", "jobs")) {
        json_t *spec = ensure_obj(obj, "spec");
        if (!json_object_get(spec, "parallelism") && !json_object_get(spec, "completions")) {
            json_object_set_new(spec, "parallelism", json_integer(1));
            json_object_set_new(spec, "completions", json_integer(1));
        }
        default_int(spec, "parallelism", 1);
        default_int(spec, "backoffLimit", 6);
        if (!json_object_get(spec, "completionMode"))
            json_object_set_new(spec, "completionMode", json_string("NonIndexed"));
        if (!json_object_get(spec, "suspend"))
            json_object_set_new(spec, "suspend", json_false());
    }
    (void)ns;
    return 0;
}
