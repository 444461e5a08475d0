/*
 * Minimal controllers for the simulation: Deployment -> ReplicaSet -> Pods, batch/v1 Job,
 * kubeflow TFJob / PyTorchJob, and owner-reference garbage collection.
 *
 * Each reconcile is level-triggered and idempotent: read the owner, scan the pods of its
 * namespace for the ones it owns (by ownerReference uid), create or delete the difference,
 * then write the status. Status writes only touch timestamps when a condition actually
 * changes, so a reconcile that changes nothing produces an identical object, which the store
 * drops without an event; that is what stops the hook -> reconcile -> write cycle.
 * All functions run on the simulation thread with the store lock held.
 */
#include "pkg/apisim/sim_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define SUSPEND_ANNOTATION "scheduling.x-k8s.io/suspend"
/* Most pods one reconcile creates; the creations' own events trigger the next reconcile, so
 * a huge replica count fills up in bursts instead of holding the store lock for long. */
#define CREATE_BURST 500

/* ---- pods: defaulting, creation, deletion ------------------------------------------------------- */

static long long priority_of_class(struct cs_apisim_store *st, const char *name, int *found)
{
    struct cs_apisim_rtype *rt = cs_apisim_store_rtype(st, "scheduling.k8s.io",
                                                       "priorityclasses");
    *found = 0;
    if (strcmp(name, "system-node-critical") == 0) {
        *found = 1;
        return 2000001000;
    }
    if (strcmp(name, "system-cluster-critical") == 0) {
        *found = 1;
        return 2000000000;
    }
    const json_t *pc = rt ? cs_apisim_store_get(st, rt, NULL, name) : NULL;
    if (pc == NULL) {
        return 0;
    }
    *found = 1;
    return json_integer_value(json_object_get(pc, "value"));
}

static const char *global_default_class(struct cs_apisim_store *st, long long *value)
{
    struct cs_apisim_rtype *rt = cs_apisim_store_rtype(st, "scheduling.k8s.io",
                                                       "priorityclasses");
    size_t it = 0;
    const json_t *pc;
    while (rt != NULL && cs_apisim_store_next(st, rt, &it, &pc)) {
        if (json_is_true(json_object_get(pc, "globalDefault"))) {
            *value = json_integer_value(json_object_get(pc, "value"));
            return cs_apisim_jstr(pc, "metadata.name");
        }
    }
    return NULL;
}

static void default_requests(json_t *containers)
{
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        json_t *res = json_object_get(c, "resources");
        json_t *lim = json_object_get(res, "limits");
        if (!json_is_object(lim)) {
            continue;
        }
        json_t *req = json_object_get(res, "requests");
        if (!json_is_object(req)) {
            req = json_object();
            json_object_set_new(res, "requests", req);
        }
        const char *k;
        json_t *v;
        json_object_foreach(lim, k, v) {
            if (json_object_get(req, k) == NULL) {
                json_object_set(req, k, v);
            }
        }
    }
}

void cs_apisim_sim_default_pod(struct cs_apisim_store *st, json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec");
    if (!json_is_object(spec)) {
        return;
    }
    if (cs_apisim_jstr(spec, "schedulerName")[0] == '\0') {
        json_object_set_new(spec, "schedulerName", json_string("default-scheduler"));
    }
    if (cs_apisim_jstr(spec, "restartPolicy")[0] == '\0') {
        json_object_set_new(spec, "restartPolicy", json_string("Always"));
    }
    if (json_object_get(spec, "terminationGracePeriodSeconds") == NULL) {
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
    }
    default_requests(json_object_get(spec, "containers"));
    default_requests(json_object_get(spec, "initContainers"));
    if (json_object_get(spec, "priority") == NULL) {
        const char *pcn = cs_apisim_jstr(spec, "priorityClassName");
        long long prio = 0;
        int found = 0;
        if (pcn[0] != '\0') {
            prio = priority_of_class(st, pcn, &found);
        } else {
            const char *def = global_default_class(st, &prio);
            if (def != NULL) {
                json_object_set_new(spec, "priorityClassName", json_string(def));
            }
        }
        json_object_set_new(spec, "priority", json_integer(prio));
    }
    if (json_object_get(pod, "status") == NULL) {
        json_object_set_new(pod, "status", json_pack("{s:s}", "phase", "Pending"));
    }
}

static void merge_strmap(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v) {
        json_object_set(dst, k, v);
    }
}

int cs_apisim_sim_create_pod(struct cs_apisim_sim *s, const char *ns, const json_t *tmpl,
                             const char *name, const char *generate_name,
                             const json_t *owner, const json_t *extra_labels)
{
    struct cs_apisim_rtype *prt = cs_apisim_store_rtype(s->st, "", "pods");
    struct cs_apisim_status st = { 0 };
    if (prt == NULL) {
        return 404;
    }
    const json_t *tm = json_object_get(tmpl, "metadata");
    json_t *labels = json_object();
    json_t *annotations = json_object();
    merge_strmap(labels, json_object_get(tm, "labels"));
    merge_strmap(annotations, json_object_get(tm, "annotations"));
    if (extra_labels != NULL) {
        merge_strmap(labels, extra_labels);
    }
    json_t *meta = json_pack("{s:s,s:o,s:o}", "namespace", ns, "labels", labels,
                             "annotations", annotations);
    if (name != NULL) {
        json_object_set_new(meta, "name", json_string(name));
    } else {
        json_object_set_new(meta, "generateName", json_string(generate_name));
    }
    if (owner != NULL) {
        json_object_set_new(meta, "ownerReferences", json_pack("[o]", cs_apisim_owner_ref(owner)));
    }
    const json_t *tspec = json_object_get(tmpl, "spec");
    json_t *spec = json_is_object(tspec) ? json_deep_copy(tspec) : json_object();
    json_t *pod = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", meta, "spec", spec);
    cs_apisim_sim_default_pod(s->st, pod);
    int rc = cs_apisim_store_create(s->st, prt, ns, pod, NULL, &st);
    if (rc != 0) {
        CS_WARN_S("Simulated controller cannot create pod", CS_KV("namespace", ns),
                  CS_KV("owner", cs_apisim_jstr(owner, "metadata.name")),
                  CS_KV("err", st.message));
    } else {
        s->stats.pods_created++;
    }
    return rc;
}

void cs_apisim_sim_delete_pod(struct cs_apisim_sim *s, const char *ns, const char *name)
{
    struct cs_apisim_rtype *prt = cs_apisim_store_rtype(s->st, "", "pods");
    struct cs_apisim_delete_opts o = { -1, NULL, NULL };
    if (prt != NULL && cs_apisim_store_delete(s->st, prt, ns, name, &o, NULL, NULL) == 0) {
        s->stats.pods_deleted++;
    }
}

/* ---- owned pod scan ----------------------------------------------------------------------------- */

enum { P_PENDING, P_RUNNING, P_SUCCEEDED, P_FAILED };

struct pinfo {
    char *name;
    int phase;
    int terminating;
    int bound;
    char *rtype;        /* kubeflow replica-type label or NULL */
    long index;         /* kubeflow replica-index label or -1 */
};

struct owned {
    struct pinfo *v;
    size_t n, cap;
    size_t active, running, succeeded, failed;
};

static int phase_code(const json_t *pod)
{
    const char *p = cs_apisim_jstr(pod, "status.phase");
    if (strcmp(p, "Running") == 0) {
        return P_RUNNING;
    }
    if (strcmp(p, "Succeeded") == 0) {
        return P_SUCCEEDED;
    }
    if (strcmp(p, "Failed") == 0) {
        return P_FAILED;
    }
    return P_PENDING;
}

static void collect_owned(struct cs_apisim_sim *s, const char *ns, const char *uid,
                          struct owned *o)
{
    struct cs_apisim_rtype *prt = cs_apisim_store_rtype(s->st, "", "pods");
    size_t it = 0;
    const json_t *pod;
    memset(o, 0, sizeof(*o));
    while (prt != NULL && cs_apisim_store_next(s->st, prt, &it, &pod)) {
        if (strcmp(cs_apisim_jstr(pod, "metadata.namespace"), ns) != 0 ||
            !cs_apisim_owned_by(pod, uid)) {
            continue;
        }
        o->v = cs_grow(o->v, sizeof(*o->v), o->n + 1, &o->cap);
        struct pinfo *p = &o->v[o->n++];
        p->name = cs_strdup(cs_apisim_jstr(pod, "metadata.name"));
        p->phase = phase_code(pod);
        p->terminating = json_object_get(json_object_get(pod, "metadata"),
                                         "deletionTimestamp") != NULL;
        p->bound = cs_apisim_jstr(pod, "spec.nodeName")[0] != '\0';
        const char *rt = cs_apisim_label(pod, "training.kubeflow.org/replica-type");
        const char *ix = cs_apisim_label(pod, "training.kubeflow.org/replica-index");
        p->rtype = rt ? cs_strdup(rt) : NULL;
        p->index = -1;
        if (ix != NULL) {
            char *end = NULL;
            long v = strtol(ix, &end, 10);
            if (end != ix && *end == '\0') {
                p->index = v;
            }
        }
        if (p->phase == P_SUCCEEDED) {
            o->succeeded++;
        } else if (p->phase == P_FAILED) {
            o->failed++;
        } else if (!p->terminating) {
            o->active++;
            if (p->phase == P_RUNNING) {
                o->running++;
            }
        }
    }
}

static void owned_free(struct owned *o)
{
    for (size_t i = 0; i < o->n; i++) {
        cs_free(o->v[i].name);
        cs_free(o->v[i].rtype);
    }
    cs_free(o->v);
    memset(o, 0, sizeof(*o));
}

static int is_active(const struct pinfo *p)
{
    return !p->terminating && (p->phase == P_PENDING || p->phase == P_RUNNING);
}

/* Delete up to n active pods, unbound first, then pending, then running. Returns count. */
static size_t delete_extra(struct cs_apisim_sim *s, const char *ns, struct owned *o, size_t n)
{
    size_t done = 0;
    for (int pass = 0; pass < 3 && done < n; pass++) {
        for (size_t i = 0; i < o->n && done < n; i++) {
            struct pinfo *p = &o->v[i];
            if (!is_active(p)) {
                continue;
            }
            int rank = !p->bound ? 0 : (p->phase == P_PENDING ? 1 : 2);
            if (rank != pass) {
                continue;
            }
            cs_apisim_sim_delete_pod(s, ns, p->name);
            p->terminating = 1;
            done++;
        }
    }
    return done;
}

static size_t delete_active(struct cs_apisim_sim *s, const char *ns, struct owned *o)
{
    return delete_extra(s, ns, o, o->n);
}

/* ---- status writes ------------------------------------------------------------------------------ */

struct status_arg {
    json_t *fields;     /* members copied into .status (json null deletes) */
    json_t *conds;      /* [{type,status,reason,message}] merged by type */
    int64_t now;
};

static void merge_condition(json_t *status, const json_t *want, const char *ts)
{
    const char *type = cs_apisim_jstr(want, "type");
    const char *st = cs_apisim_jstr(want, "status");
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        if (strcmp(cs_apisim_jstr(c, "type"), type) != 0) {
            continue;
        }
        if (strcmp(cs_apisim_jstr(c, "status"), st) == 0 &&
            strcmp(cs_apisim_jstr(c, "reason"), cs_apisim_jstr(want, "reason")) == 0) {
            return;
        }
        break;
    }
    json_t *nc = json_deep_copy(want);
    json_object_set_new(nc, "lastTransitionTime", json_string(ts));
    json_object_set_new(nc, "lastUpdateTime", json_string(ts));
    if (i < json_array_size(conds)) {
        json_array_set_new(conds, i, nc);
    } else {
        json_array_append_new(conds, nc);
    }
}

static int mut_status(json_t *obj, void *arg, struct cs_apisim_status *st)
{
    struct status_arg *a = arg;
    char ts[32];
    (void)st;
    json_t *status = json_object_get(obj, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(obj, "status", status);
    }
    const char *k;
    json_t *v;
    json_object_foreach(a->fields, k, v) {
        if (json_is_null(v)) {
            json_object_del(status, k);
        } else {
            json_object_set(status, k, v);
        }
    }
    cs_fmt_time(a->now, ts, sizeof(ts));
    size_t i;
    json_t *c;
    json_array_foreach(a->conds, i, c) {
        merge_condition(status, c, ts);
    }
    return 0;
}

static void write_status(struct cs_apisim_sim *s, const struct cs_apisim_rtype *rt,
                         const char *ns, const char *name, json_t *fields, json_t *conds)
{
    struct status_arg a = { fields, conds ? conds : json_array(), cs_wall_ns() };
    cs_apisim_store_update_fn(s->st, rt, ns, name, mut_status, &a, NULL, NULL);
    json_decref(fields);
    json_decref(a.conds);
}

static json_t *cond(const char *type, const char *status, const char *reason, const char *msg)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "type", type, "status", status, "reason", reason,
                     "message", msg);
}

static int has_true_condition(const json_t *obj, const char *type)
{
    const json_t *conds = json_object_get(json_object_get(obj, "status"), "conditions");
    size_t i;
    const json_t *c;
    json_array_foreach(conds, i, c) {
        if (strcmp(cs_apisim_jstr(c, "type"), type) == 0 &&
            strcmp(cs_apisim_jstr(c, "status"), "True") == 0) {
            return 1;
        }
    }
    return 0;
}

static long long int_or(const json_t *v, long long def)
{
    return json_is_integer(v) ? json_integer_value(v) : def;
}

/* ---- Deployment / ReplicaSet ---------------------------------------------------------------------- */

static void template_hash(const json_t *tmpl, char *out, size_t n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char *text = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
    uint64_t h = cs_hash_str(text ? text : "");
    free(text);
    size_t i = 0;
    for (; i + 1 < n && i < 10; i++) {
        out[i] = alphabet[h % (sizeof(alphabet) - 1)];
        h /= sizeof(alphabet) - 1;
    }
    out[i] = '\0';
}

struct replicas_arg {
    long long replicas;
};

static int mut_replicas(json_t *obj, void *arg, struct cs_apisim_status *st)
{
    struct replicas_arg *a = arg;
    (void)st;
    json_t *spec = json_object_get(obj, "spec");
    if (json_is_object(spec)) {
        json_object_set_new(spec, "replicas", json_integer(a->replicas));
    }
    return 0;
}

static json_t *new_replicaset(const json_t *d, const char *hash, long long replicas)
{
    char name[320];
    snprintf(name, sizeof(name), "%s-%s", cs_apisim_jstr(d, "metadata.name"), hash);
    const json_t *spec = json_object_get(d, "spec");
    json_t *tmpl = json_deep_copy(json_object_get(spec, "template"));
    if (!json_is_object(tmpl)) {
        json_decref(tmpl);
        tmpl = json_object();
    }
    json_t *tm = json_object_get(tmpl, "metadata");
    if (!json_is_object(tm)) {
        tm = json_object();
        json_object_set_new(tmpl, "metadata", tm);
    }
    json_t *tl = json_object_get(tm, "labels");
    if (!json_is_object(tl)) {
        tl = json_object();
        json_object_set_new(tm, "labels", tl);
    }
    json_object_set_new(tl, "pod-template-hash", json_string(hash));
    json_t *sel = json_deep_copy(json_object_get(spec, "selector"));
    if (!json_is_object(sel)) {
        json_decref(sel);
        sel = json_object();
    }
    json_t *ml = json_object_get(sel, "matchLabels");
    if (!json_is_object(ml)) {
        ml = json_object();
        json_object_set_new(sel, "matchLabels", ml);
    }
    json_object_set_new(ml, "pod-template-hash", json_string(hash));
    long long rev = int_or(json_object_get(json_object_get(d, "metadata"), "generation"), 1);
    char revs[32];
    snprintf(revs, sizeof(revs), "%lld", rev);
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:O,s:{s:s},s:[o]},s:{s:I,s:o,s:o}}", "apiVersion",
                     "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "namespace",
                     cs_apisim_jstr(d, "metadata.namespace"), "labels", tl, "annotations",
                     "deployment.kubernetes.io/revision", revs, "ownerReferences",
                     cs_apisim_owner_ref(d), "spec", "replicas", (json_int_t)replicas,
                     "selector", sel, "template", tmpl);
}

void cs_apisim_ctl_deployment(struct cs_apisim_sim *s, const char *ns, const char *name)
{
    struct cs_apisim_rtype *drt = cs_apisim_store_rtype(s->st, "apps", "deployments");
    struct cs_apisim_rtype *rrt = cs_apisim_store_rtype(s->st, "apps", "replicasets");
    const json_t *d = drt ? cs_apisim_store_get(s->st, drt, ns, name) : NULL;
    char hash[16], uid[128], cur_name[320] = "";
    long long tot = 0, ready = 0, avail = 0, updated = 0;
    struct old_rs { char name[320]; } *olds = NULL;
    size_t nold = 0, oldcap = 0;
    if (d == NULL || rrt == NULL ||
        json_object_get(json_object_get(d, "metadata"), "deletionTimestamp") != NULL) {
        return;
    }
    /* Private copy: the writes below may replace objects under borrowed pointers. */
    json_t *dcopy = json_deep_copy(d);
    d = dcopy;
    snprintf(uid, sizeof(uid), "%s", cs_apisim_jstr(d, "metadata.uid"));
    const json_t *spec = json_object_get(d, "spec");
    long long want = int_or(json_object_get(spec, "replicas"), 1);
    long long gen = int_or(json_object_get(json_object_get(d, "metadata"), "generation"), 1);
    template_hash(json_object_get(spec, "template"), hash, sizeof(hash));

    size_t it = 0;
    const json_t *rs;
    long long cur_replicas = -1;
    while (cs_apisim_store_next(s->st, rrt, &it, &rs)) {
        if (strcmp(cs_apisim_jstr(rs, "metadata.namespace"), ns) != 0 ||
            !cs_apisim_owned_by(rs, uid)) {
            continue;
        }
        const json_t *rst = json_object_get(rs, "status");
        tot += int_or(json_object_get(rst, "replicas"), 0);
        ready += int_or(json_object_get(rst, "readyReplicas"), 0);
        avail += int_or(json_object_get(rst, "availableReplicas"), 0);
        const char *h = cs_apisim_label(rs, "pod-template-hash");
        if (h != NULL && strcmp(h, hash) == 0) {
            snprintf(cur_name, sizeof(cur_name), "%s", cs_apisim_jstr(rs, "metadata.name"));
            cur_replicas = int_or(json_object_get(json_object_get(rs, "spec"), "replicas"), 1);
            updated = int_or(json_object_get(rst, "replicas"), 0);
        } else if (int_or(json_object_get(json_object_get(rs, "spec"), "replicas"), 1) != 0) {
            olds = cs_grow(olds, sizeof(*olds), nold + 1, &oldcap);
            snprintf(olds[nold++].name, sizeof(olds[0].name), "%s",
                     cs_apisim_jstr(rs, "metadata.name"));
        }
    }
    /* Old templates are scaled to zero at once (Recreate-like rollout). */
    struct replicas_arg zero = { 0 }, wa = { want };
    for (size_t i = 0; i < nold; i++) {
        cs_apisim_store_update_fn(s->st, rrt, ns, olds[i].name, mut_replicas, &zero, NULL, NULL);
    }
    cs_free(olds);
    if (cur_name[0] == '\0') {
        struct cs_apisim_status st = { 0 };
        json_t *nrs = new_replicaset(d, hash, want);
        if (cs_apisim_store_create(s->st, rrt, ns, nrs, NULL, &st) != 0) {
            CS_WARN_S("Simulated deployment cannot create its ReplicaSet",
                      CS_KV("deployment", name), CS_KV("err", st.message));
        }
    } else if (cur_replicas != want) {
        cs_apisim_store_update_fn(s->st, rrt, ns, cur_name, mut_replicas, &wa, NULL, NULL);
    }
    json_t *fields = json_pack("{s:I,s:I,s:I,s:I,s:I}", "observedGeneration", (json_int_t)gen,
                               "replicas", (json_int_t)tot, "updatedReplicas",
                               (json_int_t)updated, "readyReplicas", (json_int_t)ready,
                               "availableReplicas", (json_int_t)avail);
    json_object_set_new(fields, "unavailableReplicas",
                        want > avail ? json_integer(want - avail) : json_null());
    json_t *conds = json_array();
    if (avail >= want) {
        json_array_append_new(conds, cond("Available", "True", "MinimumReplicasAvailable",
                                          "Deployment has minimum availability."));
    } else {
        json_array_append_new(conds, cond("Available", "False", "MinimumReplicasUnavailable",
                                          "Deployment does not have minimum availability."));
    }
    json_array_append_new(conds, cond("Progressing", "True",
                                      updated >= want ? "NewReplicaSetAvailable"
                                                      : "ReplicaSetUpdated",
                                      "ReplicaSet is progressing."));
    write_status(s, drt, ns, name, fields, conds);
    json_decref(dcopy);
}

void cs_apisim_ctl_replicaset(struct cs_apisim_sim *s, const char *ns, const char *name)
{
    struct cs_apisim_rtype *rrt = cs_apisim_store_rtype(s->st, "apps", "replicasets");
    const json_t *rs = rrt ? cs_apisim_store_get(s->st, rrt, ns, name) : NULL;
    struct owned o;
    char gen_name[320];
    if (rs == NULL || json_object_get(json_object_get(rs, "metadata"), "deletionTimestamp")) {
        return;
    }
    /* Keep a private copy: creating pods changes the store under the borrowed pointer. */
    json_t *copy = json_deep_copy(rs);
    const json_t *spec = json_object_get(copy, "spec");
    long long want = int_or(json_object_get(spec, "replicas"), 1);
    long long gen = int_or(json_object_get(json_object_get(copy, "metadata"), "generation"), 1);
    collect_owned(s, ns, cs_apisim_jstr(copy, "metadata.uid"), &o);
    long long active = (long long)o.active;
    snprintf(gen_name, sizeof(gen_name), "%s-", name);
    for (long long i = active, end = active + CREATE_BURST; i < want && i < end; i++) {
        if (cs_apisim_sim_create_pod(s, ns, json_object_get(spec, "template"), NULL, gen_name,
                                     copy, NULL) == 0) {
            active++;
        }
    }
    if (active > want) {
        active -= (long long)delete_extra(s, ns, &o, (size_t)(active - want));
    }
    json_t *fields = json_pack("{s:I,s:I,s:I,s:I,s:I}", "replicas", (json_int_t)active,
                               "fullyLabeledReplicas", (json_int_t)active, "readyReplicas",
                               (json_int_t)o.running, "availableReplicas",
                               (json_int_t)o.running, "observedGeneration", (json_int_t)gen);
    write_status(s, rrt, ns, name, fields, NULL);
    owned_free(&o);
    json_decref(copy);
}

/* ---- Job ---------------------------------------------------------------------------------------- */

void cs_apisim_ctl_job(struct cs_apisim_sim *s, const char *ns, const char *name)
{
    struct cs_apisim_rtype *jrt = cs_apisim_store_rtype(s->st, "batch", "jobs");
    const json_t *j = jrt ? cs_apisim_store_get(s->st, jrt, ns, name) : NULL;
    struct owned o;
    char ts[32], gen_name[320];
    if (j == NULL || json_object_get(json_object_get(j, "metadata"), "deletionTimestamp")) {
        return;
    }
    json_t *copy = json_deep_copy(j);
    const json_t *spec = json_object_get(copy, "spec");
    const char *uid = cs_apisim_jstr(copy, "metadata.uid");
    int suspend = json_is_true(json_object_get(spec, "suspend"));
    long long par = int_or(json_object_get(spec, "parallelism"), 1);
    const json_t *compv = json_object_get(spec, "completions");
    long long comp = int_or(compv, -1);
    long long backoff = int_or(json_object_get(spec, "backoffLimit"), 6);
    int finished = has_true_condition(copy, "Complete") || has_true_condition(copy, "Failed");
    json_t *fields = json_object();
    json_t *conds = json_array();
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
    collect_owned(s, ns, uid, &o);
    long long active = (long long)o.active;

    if (finished) {
        active -= (long long)delete_active(s, ns, &o);
    } else if (suspend) {
        active -= (long long)delete_active(s, ns, &o);
        json_array_append_new(conds, cond("Suspended", "True", "JobSuspended", "Job suspended"));
        json_object_set_new(fields, "startTime", json_null());
    } else {
        const json_t *jst = json_object_get(copy, "status");
        if (has_true_condition(copy, "Suspended")) {
            json_array_append_new(conds, cond("Suspended", "False", "JobResumed",
                                              "Job resumed"));
        }
        if (json_object_get(jst, "startTime") == NULL) {
            json_object_set_new(fields, "startTime", json_string(ts));
        }
        long long want;
        int done = 0, failed = 0;
        if ((long long)o.failed > backoff) {
            failed = 1;
            want = 0;
        } else if (compv != NULL && json_is_integer(compv)) {
            long long left = comp - (long long)o.succeeded;
            want = left < par ? left : par;
            done = left <= 0;
        } else {
            done = o.succeeded > 0 && active == 0;
            want = o.succeeded > 0 ? 0 : par;
        }
        if (want < 0) {
            want = 0;
        }
        if (done || failed) {
            active -= (long long)delete_active(s, ns, &o);
            json_object_set_new(fields, "completionTime", json_string(ts));
            if (failed) {
                json_array_append_new(conds, cond("FailureTarget", "True",
                                                  "BackoffLimitExceeded",
                                                  "Job has reached the specified backoff limit"));
                json_array_append_new(conds, cond("Failed", "True", "BackoffLimitExceeded",
                                                  "Job has reached the specified backoff limit"));
            } else {
                json_array_append_new(conds, cond("SuccessCriteriaMet", "True",
                                                  "CompletionsReached",
                                                  "Reached expected number of succeeded pods"));
                json_array_append_new(conds, cond("Complete", "True", "CompletionsReached",
                                                  "Reached expected number of succeeded pods"));
            }
        } else {
            json_t *extra = json_pack("{s:s,s:s,s:s,s:s}", "job-name", name, "controller-uid",
                                      uid, "batch.kubernetes.io/job-name", name,
                                      "batch.kubernetes.io/controller-uid", uid);
            snprintf(gen_name, sizeof(gen_name), "%s-", name);
            for (long long i = active, end = active + CREATE_BURST; i < want && i < end; i++) {
                if (cs_apisim_sim_create_pod(s, ns, json_object_get(spec, "template"), NULL,
                                             gen_name, copy, extra) == 0) {
                    active++;
                }
            }
            json_decref(extra);
            if (active > want) {
                active -= (long long)delete_extra(s, ns, &o, (size_t)(active - want));
            }
        }
    }
    json_object_set_new(fields, "active", json_integer(active));
    json_object_set_new(fields, "succeeded", json_integer((json_int_t)o.succeeded));
    json_object_set_new(fields, "failed", json_integer((json_int_t)o.failed));
    json_object_set_new(fields, "ready", json_integer((json_int_t)o.running));
    owned_free(&o);
    write_status(s, jrt, ns, name, fields, conds);
    json_decref(copy);
}

/* ---- TFJob / PyTorchJob ---------------------------------------------------------------------------- */

static void lower(const char *in, char *out, size_t n)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < n; i++) {
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[i] = '\0';
}

static int is_leader_type(const char *rt)
{
    return strcasecmp(rt, "Chief") == 0 || strcasecmp(rt, "Master") == 0;
}

void cs_apisim_ctl_kubeflow(struct cs_apisim_sim *s, int kind, const char *ns,
                            const char *name)
{
    int tf = kind == CS_APISIM_W_TFJOB;
    struct cs_apisim_rtype *krt = cs_apisim_store_rtype(s->st, "kubeflow.org",
                                                        tf ? "tfjobs" : "pytorchjobs");
    const json_t *j = krt ? cs_apisim_store_get(s->st, krt, ns, name) : NULL;
    const char *kname = tf ? "TFJob" : "PyTorchJob";
    struct owned o;
    char ts[32], msg[512];
    if (j == NULL || json_object_get(json_object_get(j, "metadata"), "deletionTimestamp")) {
        return;
    }
    json_t *copy = json_deep_copy(j);
    const json_t *spec = json_object_get(copy, "spec");
    const json_t *rspecs = json_object_get(spec, tf ? "tfReplicaSpecs" : "pytorchReplicaSpecs");
    const char *sa = cs_apisim_annotation(copy, SUSPEND_ANNOTATION);
    int suspended = json_is_true(json_object_get(json_object_get(spec, "runPolicy"),
                                                 "suspend")) ||
                    (sa != NULL && strcmp(sa, "true") == 0);
    int finished = has_true_condition(copy, "Succeeded") || has_true_condition(copy, "Failed");
    json_t *fields = json_object();
    json_t *conds = json_array();
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
    collect_owned(s, ns, cs_apisim_jstr(copy, "metadata.uid"), &o);

    snprintf(msg, sizeof(msg), "%s %s/%s is created.", kname, ns, name);
    json_array_append_new(conds, cond("Created", "True", tf ? "TFJobCreated"
                                                            : "PyTorchJobCreated", msg));
    if (suspended && !finished) {
        delete_active(s, ns, &o);
        snprintf(msg, sizeof(msg), "%s %s is suspended.", kname, name);
        json_array_append_new(conds, cond("Suspended", "True", tf ? "TFJobSuspended"
                                                                  : "PyTorchJobSuspended", msg));
        if (has_true_condition(copy, "Running")) {
            json_array_append_new(conds, cond("Running", "False", tf ? "TFJobSuspended"
                                                                     : "PyTorchJobSuspended",
                                              msg));
        }
        json_object_set_new(fields, "startTime", json_null());
    } else if (!finished) {
        if (has_true_condition(copy, "Suspended")) {
            snprintf(msg, sizeof(msg), "%s %s is resumed.", kname, name);
            json_array_append_new(conds, cond("Suspended", "False", tf ? "TFJobResumed"
                                                                       : "PyTorchJobResumed",
                                              msg));
        }
        if (json_object_get(json_object_get(copy, "status"), "startTime") == NULL) {
            json_object_set_new(fields, "startTime", json_string(ts));
        }
        json_t *rstat = json_object();
        int leader_seen = 0, leader_ok = 0, workers_seen = 0, workers_ok = 1, any_failed = 0;
        int restarting = 0;
        size_t total = 0, total_ok = 0;
        const char *rtn;
        json_t *rsp;
        json_object_foreach((json_t *)rspecs, rtn, rsp) {
            char lrt[64];
            lower(rtn, lrt, sizeof(lrt));
            long long reps = int_or(json_object_get(rsp, "replicas"), 1);
            /* The replica's restartPolicy becomes the pods' (ExitCode -> Never). */
            const char *rp = cs_apisim_jstr(rsp, "restartPolicy");
            int restarts = strcmp(rp, "OnFailure") == 0 || strcmp(rp, "Always") == 0;
            json_t *tmpl = json_deep_copy(json_object_get(rsp, "template"));
            if (!json_is_object(tmpl)) {
                json_decref(tmpl);
                tmpl = json_object();
            }
            if (!json_is_object(json_object_get(tmpl, "spec"))) {
                json_object_set_new(tmpl, "spec", json_object());
            }
            json_object_set_new(json_object_get(tmpl, "spec"), "restartPolicy",
                                json_string(restarts ? rp : "Never"));
            long long ract = 0, rsucc = 0, rfail = 0;
            for (long long idx = 0; idx < reps; idx++) {
                const struct pinfo *p = NULL;
                for (size_t k = 0; k < o.n; k++) {
                    if (o.v[k].rtype != NULL && strcmp(o.v[k].rtype, lrt) == 0 &&
                        o.v[k].index == idx) {
                        p = &o.v[k];
                    }
                }
                total++;
                if (p == NULL) {
                    char pname[320], idxs[24];
                    snprintf(pname, sizeof(pname), "%s-%s-%lld", name, lrt, idx);
                    snprintf(idxs, sizeof(idxs), "%lld", idx);
                    json_t *extra = json_pack("{s:s,s:s,s:s,s:s}",
                                              "training.kubeflow.org/job-name", name,
                                              "training.kubeflow.org/replica-type", lrt,
                                              "training.kubeflow.org/replica-index", idxs,
                                              "training.kubeflow.org/operator-name",
                                              tf ? "tfjob-controller" : "pytorchjob-controller");
                    if (is_leader_type(rtn)) {
                        json_object_set_new(extra, "training.kubeflow.org/job-role",
                                            json_string("master"));
                    }
                    if (cs_apisim_sim_create_pod(s, ns, tmpl, pname, NULL, copy, extra) == 0) {
                        ract++;
                    }
                    json_decref(extra);
                    if (!is_leader_type(rtn)) {
                        workers_ok = 0;
                    }
                    continue;
                }
                if (p->phase == P_SUCCEEDED) {
                    rsucc++;
                    total_ok++;
                } else if (p->phase == P_FAILED) {
                    rfail++;
                    if (restarts) {
                        /* Restarted by replacing the pod: delete it, recreated next pass. */
                        cs_apisim_sim_delete_pod(s, ns, p->name);
                        restarting = 1;
                    } else {
                        any_failed = 1;
                    }
                } else if (!p->terminating) {
                    ract++;
                }
                if (is_leader_type(rtn)) {
                    leader_seen = 1;
                    leader_ok = p->phase == P_SUCCEEDED;
                } else if (strcasecmp(rtn, "Worker") == 0) {
                    workers_seen = 1;
                    if (p->phase != P_SUCCEEDED) {
                        workers_ok = 0;
                    }
                }
            }
            if (is_leader_type(rtn)) {
                leader_seen = 1;
            }
            json_decref(tmpl);
            json_object_set_new(rstat, rtn, json_pack("{s:I,s:I,s:I}", "active",
                                                      (json_int_t)ract, "succeeded",
                                                      (json_int_t)rsucc, "failed",
                                                      (json_int_t)rfail));
        }
        json_object_set_new(fields, "replicaStatuses", rstat);
        int succeeded = total > 0 && (leader_seen ? leader_ok
                                                  : (workers_seen ? workers_ok
                                                                  : total_ok == total));
        if (any_failed) {
            snprintf(msg, sizeof(msg), "%s %s has failed because a replica failed.", kname,
                     name);
            json_array_append_new(conds, cond("Running", "False", tf ? "TFJobFailed"
                                                                     : "PyTorchJobFailed", msg));
            json_array_append_new(conds, cond("Failed", "True", tf ? "TFJobFailed"
                                                                   : "PyTorchJobFailed", msg));
            json_object_set_new(fields, "completionTime", json_string(ts));
            delete_active(s, ns, &o);
        } else if (succeeded) {
            snprintf(msg, sizeof(msg), "%s %s/%s successfully completed.", kname, ns, name);
            json_array_append_new(conds, cond("Running", "False", tf ? "TFJobSucceeded"
                                                                     : "PyTorchJobSucceeded",
                                              msg));
            json_array_append_new(conds, cond("Succeeded", "True", tf ? "TFJobSucceeded"
                                                                      : "PyTorchJobSucceeded",
                                              msg));
            json_object_set_new(fields, "completionTime", json_string(ts));
            delete_active(s, ns, &o);
        } else if (restarting) {
            snprintf(msg, sizeof(msg), "%s %s/%s is restarting a failed replica.", kname, ns,
                     name);
            json_array_append_new(conds, cond("Restarting", "True", tf ? "TFJobRestarting"
                                                                       : "PyTorchJobRestarting",
                                              msg));
        } else if (o.running > 0) {
            snprintf(msg, sizeof(msg), "%s %s/%s is running.", kname, ns, name);
            json_array_append_new(conds, cond("Running", "True", tf ? "TFJobRunning"
                                                                    : "PyTorchJobRunning", msg));
        }
    }
    owned_free(&o);
    write_status(s, krt, ns, name, fields, conds);
    json_decref(copy);
}

/* ---- garbage collection ------------------------------------------------------------------------ */

void cs_apisim_ctl_gc(struct cs_apisim_sim *s, const char *ns, const char *owner_uid)
{
    struct cs_apisim_rtype *rrt = cs_apisim_store_rtype(s->st, "apps", "replicasets");
    struct owned o;
    if (owner_uid[0] == '\0') {
        return;
    }
    if (rrt != NULL) {
        char **names = NULL;
        size_t n = 0, cap = 0, it = 0;
        const json_t *rs;
        while (cs_apisim_store_next(s->st, rrt, &it, &rs)) {
            if (strcmp(cs_apisim_jstr(rs, "metadata.namespace"), ns) == 0 &&
                cs_apisim_owned_by(rs, owner_uid)) {
                names = cs_grow(names, sizeof(char *), n + 1, &cap);
                names[n++] = cs_strdup(cs_apisim_jstr(rs, "metadata.name"));
            }
        }
        for (size_t i = 0; i < n; i++) {
            cs_apisim_store_delete(s->st, rrt, ns, names[i], NULL, NULL, NULL);
            cs_free(names[i]);
        }
        cs_free(names);
    }
    collect_owned(s, ns, owner_uid, &o);
    for (size_t i = 0; i < o.n; i++) {
        if (!o.v[i].terminating) {
            cs_apisim_sim_delete_pod(s, ns, o.v[i].name);
        }
    }
    owned_free(&o);
}
