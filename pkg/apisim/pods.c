/*
 * Pod admission and pod subresources.
 *
 * Create: defaults (schedulerName, restartPolicy, grace period, DNS policy, tolerations for
 * not-ready/unreachable, container requests from limits, imagePullPolicy), priority from the
 * PriorityClass (or the global default; unknown class -> 403 like the Priority admission
 * plugin), QoS class, a fresh Pending status and PodScheduled=False/SchedulingGated for gated
 * pods. Update: only the mutable spec fields may change.
 * Binding follows BindingREST: preconditions, the three 409 causes with the real messages,
 * spec.nodeName + PodScheduled=True + cleared nominatedNodeName, 201 Status.
 */
#include <stdio.h>
#include <string.h>

#include "api/pbjson.h"
#include "pkg/apisim/http.h"
#include "pkg/util/timeutil.h"

static json_t *ensure(json_t *parent, const char *key, int array)
{
    json_t *o = json_object_get(parent, key);
    if (array ? !json_is_array(o) : !json_is_object(o)) {
        o = array ? json_array() : json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

static void default_str(json_t *o, const char *key, const char *v)
{
    json_t *cur = json_object_get(o, key);
    if (!json_is_string(cur) || !json_string_value(cur)[0])
        json_object_set_new(o, key, json_string(v));
}

static void default_container(json_t *c)
{
    if (!json_is_object(c))
        return;
    json_t *res = json_object_get(c, "resources");
    json_t *lim = json_object_get(res, "limits");
    if (json_is_object(lim) && json_object_size(lim)) {
        json_t *req = ensure(res, "requests", 0);
        const char *k;
        json_t *v;
        json_object_foreach(lim, k, v)
            if (!json_object_get(req, k))
                json_object_set(req, k, v);
    }
    const char *image = json_string_value(json_object_get(c, "image"));
    if (image && !json_object_get(c, "imagePullPolicy")) {
        const char *slash = strrchr(image, '/');
        const char *tag = strchr(slash ? slash : image, ':');
        int latest = !tag || !strcmp(tag, ":latest");
        if (strchr(image, '@'))
            latest = 0;
        json_object_set_new(c, "imagePullPolicy", json_string(latest ? "Always" :
                                                              "IfNotPresent"));
    }
    default_str(c, "terminationMessagePath", "/dev/termination-log");
    default_str(c, "terminationMessagePolicy", "File");
}

static void default_containers(json_t *spec, const char *key)
{
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(spec, key), i, c)
        default_container(c);
}

static int has_toleration(json_t *tols, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach(tols, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *op = json_string_value(json_object_get(t, "operator"));
        const char *eff = json_string_value(json_object_get(t, "effect"));
        if ((!k || !k[0]) && op && !strcmp(op, "Exists") && (!eff || !eff[0] ||
                                                              !strcmp(eff, "NoExecute")))
            return 1;
        if (k && !strcmp(k, key) && (!eff || !eff[0] || !strcmp(eff, "NoExecute")))
            return 1;
    }
    return 0;
}

/* QoS class of a pod spec (containers only, like the real helper's common case). */
static const char *qos_class(const json_t *spec)
{
    int any = 0, guaranteed = 1;
    static const char *const lists[] = { "containers", "initContainers", NULL };
    for (int l = 0; lists[l]; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            json_t *res = json_object_get(c, "resources");
            json_t *req = json_object_get(res, "requests"), *lim = json_object_get(res, "limits");
            static const char *const rs[] = { "cpu", "memory", NULL };
            for (int r = 0; rs[r]; r++) {
                json_t *q = json_object_get(req, rs[r]), *m = json_object_get(lim, rs[r]);
                if (q || m)
                    any = 1;
                if (!m || (q && !json_equal(q, m)))
                    guaranteed = 0;
            }
        }
    }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

static int resolve_priority(struct cs_apisim_server *sv, const char *pod, json_t *spec,
                            struct cs_apisim_status *st)
{
    const char *pcn = json_string_value(json_object_get(spec, "priorityClassName"));
    const json_t *pc = NULL;
    if (pcn && pcn[0]) {
        pc = cs_apisim_store_get(sv->store, sv->pc_rt, NULL, pcn);
        if (!pc)
            return cs_apisim_status_set(st, 403, "Forbidden", "pods \"%s\" is forbidden: no "
                                        "PriorityClass with name %s was found", pod, pcn);
    } else {
        size_t it = 0;
        const json_t *c;
        while (cs_apisim_store_next(sv->store, sv->pc_rt, &it, &c))
            if (json_is_true(json_object_get(c, "globalDefault")))
                pc = c;
        if (pc)
            json_object_set(spec, "priorityClassName",
                            json_object_get(json_object_get(pc, "metadata"), "name"));
    }
    json_int_t value = pc ? json_integer_value(json_object_get(pc, "value")) : 0;
    json_t *given = json_object_get(spec, "priority");
    if (json_is_integer(given) && json_integer_value(given) != value)
        return cs_apisim_status_set(st, 403, "Forbidden", "pods \"%s\" is forbidden: the "
                                    "integer value of priority (%lld) must not be provided in "
                                    "pod spec; priority admission controller computed %lld from "
                                    "the given PriorityClass name", pod,
                                    (long long)json_integer_value(given), (long long)value);
    json_object_set_new(spec, "priority", json_integer(value));
    const char *pp = pc ? json_string_value(json_object_get(pc, "preemptionPolicy")) : NULL;
    default_str(spec, "preemptionPolicy", pp ? pp : "PreemptLowerPriority");
    return 0;
}

/* Fields of a pod spec that an update may change (the rest is immutable). */
static const char *const mutable_spec[] = { "activeDeadlineSeconds", "tolerations",
                                            "schedulingGates", "terminationGracePeriodSeconds",
                                            NULL };

static json_t *masked_spec(const json_t *spec)
{
    json_t *m = json_deep_copy(spec);
    if (!json_is_object(m)) {
        json_decref(m);
        return json_object();
    }
    for (int i = 0; mutable_spec[i]; i++)
        json_object_del(m, mutable_spec[i]);
    static const char *const lists[] = { "containers", "initContainers", NULL };
    for (int l = 0; lists[l]; l++) {
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(m, lists[l]), i, c)
            json_object_del(c, "image");
    }
    return m;
}

int cs_apisim_pod_admit(struct cs_apisim_server *sv, const char *ns, json_t *obj,
                        const json_t *old, struct cs_apisim_status *st)
{
    const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                         "name"));
    const char *gen = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                        "generateName"));
    char shown[300];
    snprintf(shown, sizeof(shown), "%s", name && name[0] ? name : (gen ? gen : ""));
    (void)ns;
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec))
        return cs_apisim_status_set(st, 422, "Invalid", "Pod \"%s\" is invalid: spec: Required "
                                    "value", shown);
    if (old) {
        json_t *a = masked_spec(json_object_get(old, "spec")), *b = masked_spec(spec);
        int same = json_equal(a, b);
        json_decref(a);
        json_decref(b);
        if (!same)
            return cs_apisim_status_set(st, 422, "Invalid", "Pod \"%s\" is invalid: spec: "
                                        "Forbidden: pod updates may not change fields other "
                                        "than `spec.containers[*].image`, "
                                        "`spec.initContainers[*].image`, "
                                        "`spec.activeDeadlineSeconds`, `spec.tolerations` (only "
                                        "additions to existing tolerations), "
                                        "`spec.terminationGracePeriodSeconds` (allow it to be "
                                        "set to 1 if it was previously negative)", shown);
        json_t *og = json_object_get(json_object_get(old, "spec"), "schedulingGates");
        json_t *ng = json_object_get(spec, "schedulingGates");
        size_t i;
        json_t *g;
        json_array_foreach(ng, i, g) {
            size_t j;
            json_t *h;
            int found = 0;
            json_array_foreach(og, j, h)
                if (json_equal(g, h))
                    found = 1;
            if (!found)
                return cs_apisim_status_set(st, 422, "Invalid", "Pod \"%s\" is invalid: "
                                            "spec.schedulingGates: Forbidden: only deletion is "
                                            "allowed, but found new scheduling gate", shown);
        }
        /* status is owned by the status subresource */
        json_t *os = json_object_get(old, "status");
        if (os)
            json_object_set(obj, "status", os);
        return 0;
    }
    json_t *containers = json_object_get(spec, "containers");
    if (!json_is_array(containers) || json_array_size(containers) == 0)
        return cs_apisim_status_set(st, 422, "Invalid", "Pod \"%s\" is invalid: "
                                    "spec.containers: Required value", shown);
    size_t i;
    json_t *c;
    json_array_foreach(containers, i, c) {
        if (!json_is_object(c) || !json_is_string(json_object_get(c, "name")))
            return cs_apisim_status_set(st, 422, "Invalid", "Pod \"%s\" is invalid: "
                                        "spec.containers[%zu].name: Required value", shown, i);
    }
    default_containers(spec, "containers");
    default_containers(spec, "initContainers");
    default_str(spec, "schedulerName", "default-scheduler");
    default_str(spec, "restartPolicy", "Always");
    default_str(spec, "dnsPolicy", "ClusterFirst");
    if (!json_object_get(spec, "terminationGracePeriodSeconds"))
        json_object_set_new(spec, "terminationGracePeriodSeconds", json_integer(30));
    if (!json_object_get(spec, "securityContext"))
        json_object_set_new(spec, "securityContext", json_object());
    if (!json_object_get(spec, "enableServiceLinks"))
        json_object_set_new(spec, "enableServiceLinks", json_true());
    json_t *tols = ensure(spec, "tolerations", 1);
    static const char *const nt[] = { "node.kubernetes.io/not-ready",
                                      "node.kubernetes.io/unreachable", NULL };
    for (int k = 0; nt[k]; k++)
        if (!has_toleration(tols, nt[k]))
            json_array_append_new(tols, json_pack("{s:s,s:s,s:s,s:I}", "key", nt[k], "operator",
                                                  "Exists", "effect", "NoExecute",
                                                  "tolerationSeconds", (json_int_t)300));
    int rc = resolve_priority(sv, shown, spec, st);
    if (rc)
        return rc;
    json_t *status = json_pack("{s:s,s:s}", "phase", "Pending", "qosClass", qos_class(spec));
    json_t *gates = json_object_get(spec, "schedulingGates");
    if (json_is_array(gates) && json_array_size(gates)) {
        char ts[40];
        cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
        json_object_set_new(status, "conditions",
                            json_pack("[{s:s,s:s,s:n,s:s,s:s,s:s}]", "type", "PodScheduled",
                                      "status", "False", "lastProbeTime", "lastTransitionTime",
                                      ts, "reason", "SchedulingGated", "message",
                                      "Scheduling is blocked due to non-empty scheduling gates"));
    }
    json_object_set_new(obj, "status", status);
    return 0;
}

/* --- binding --------------------------------------------------------------------------------- */

struct bind_arg {
    const char *pod;
    const char *node;
    const char *uid;          /* precondition or NULL */
    const char *rv;           /* precondition or NULL */
    const json_t *annotations;
};

static int do_bind(json_t *pod, void *arg, struct cs_apisim_status *st)
{
    struct bind_arg *b = arg;
    json_t *meta = json_object_get(pod, "metadata");
    const char *uid = json_string_value(json_object_get(meta, "uid"));
    const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
    if (b->uid && b->uid[0] && (!uid || strcmp(uid, b->uid)))
        return cs_apisim_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on pods "
                                    "\"%s\": Precondition failed: UID in precondition: %s, UID "
                                    "in object meta: %s", b->pod, b->uid, uid ? uid : "");
    if (b->rv && b->rv[0] && (!rv || strcmp(rv, b->rv)))
        return cs_apisim_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on pods "
                                    "\"%s\": Precondition failed: ResourceVersion in "
                                    "precondition: %s, ResourceVersion in object meta: %s",
                                    b->pod, b->rv, rv ? rv : "");
    /* copy-on-write object (cs_apisim_store_update_cow): cs_apisim_cow before editing */
    json_t *spec = json_object_get(pod, "spec");
    const char *cur = json_string_value(json_object_get(spec, "nodeName"));
    if (json_object_get(meta, "deletionTimestamp"))
        return cs_apisim_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on "
                                    "pods/binding \"%s\": pod %s is being deleted, cannot be "
                                    "assigned to a host", b->pod, b->pod);
    if (cur && cur[0])
        return cs_apisim_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on "
                                    "pods/binding \"%s\": pod %s is already assigned to node "
                                    "\"%s\"", b->pod, b->pod, cur);
    json_t *gates = json_object_get(spec, "schedulingGates");
    if (json_is_array(gates) && json_array_size(gates))
        return cs_apisim_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on "
                                    "pods/binding \"%s\": pod %s has non-empty "
                                    ".spec.schedulingGates", b->pod, b->pod);
    spec = cs_apisim_cow(pod, "spec", 0);
    json_object_set_new(spec, "nodeName", json_string(b->node));
    if (json_is_object(b->annotations) && json_object_size(b->annotations)) {
        json_t *ann = cs_apisim_cow(meta, "annotations", 0);
        json_object_update(ann, (json_t *)b->annotations);
    }
    json_t *status = cs_apisim_cow(pod, "status", 0);
    json_object_del(status, "nominatedNodeName");
    json_t *conds = cs_apisim_cow(status, "conditions", 1);
    char ts[40];
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
    size_t i;
    json_t *c;
    json_array_foreach(conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && !strcmp(t, "PodScheduled")) {
            const char *s = json_string_value(json_object_get(c, "status"));
            int changed = !s || strcmp(s, "True");
            json_t *ltt = json_object_get(c, "lastTransitionTime");
            json_t *nc = json_pack("{s:s,s:s,s:n}", "type", "PodScheduled", "status", "True",
                                   "lastProbeTime");
            if (changed || !ltt)
                json_object_set_new(nc, "lastTransitionTime", json_string(ts));
            else
                json_object_set(nc, "lastTransitionTime", ltt);
            json_array_set_new(conds, i, nc);
            return 0;
        }
    }
    json_array_append_new(conds, json_pack("{s:s,s:s,s:n,s:s}", "type", "PodScheduled", "status",
                                           "True", "lastProbeTime", "lastTransitionTime", ts));
    return 0;
}

/* A subresource body as JSON, from JSON or from a protobuf envelope (pbjson.h). */
static json_t *body_json(const struct cs_apisim_req *q, json_error_t *e)
{
    const char *ct = cs_apisim_header(q, "Content-Type");
    if (ct && !strncmp(ct, CS_PB_MEDIA, strlen(CS_PB_MEDIA)))
        return cs_pb_decode_object(q->body, q->body_len, e->text, sizeof(e->text));
    return json_loadb(q->body, q->body_len, 0, e);
}

void cs_apisim_pod_binding(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                           struct cs_apisim_reply *r)
{
    json_error_t e;
    struct cs_apisim_status st = { 0 };
    char msg[512];
    json_t *b = body_json(q, &e);
    if (!json_is_object(b)) {
        snprintf(msg, sizeof(msg), "Binding in version \"v1\" cannot be handled as a Binding: %s",
                 b ? "body must be a JSON object" : e.text);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        goto done;
    }
    json_t *meta = json_object_get(b, "metadata");
    json_t *target = json_object_get(b, "target");
    const char *bname = json_string_value(json_object_get(meta, "name"));
    if (bname && bname[0] && strcmp(bname, q->name)) {
        cs_apisim_reply_status(r, 400, "BadRequest", "name in URL does not match name in Binding "
                               "object", NULL, NULL);
        goto done;
    }
    const char *tkind = json_string_value(json_object_get(target, "kind"));
    const char *tname = json_string_value(json_object_get(target, "name"));
    if (tkind && tkind[0] && strcmp(tkind, "Node")) {
        snprintf(msg, sizeof(msg), "Binding.meta.k8s.io \"%s\" is invalid: target.kind: Invalid "
                 "value: \"%s\": must be empty or 'Node'", q->name, tkind);
        cs_apisim_reply_status(r, 422, "Invalid", msg, q->name, "Binding");
        goto done;
    }
    if (!tname || !tname[0]) {
        snprintf(msg, sizeof(msg), "Binding \"%s\" is invalid: target.name: Required value",
                 q->name);
        cs_apisim_reply_status(r, 422, "Invalid", msg, q->name, "Binding");
        goto done;
    }
    struct bind_arg a = {
        .pod = q->name, .node = tname,
        .uid = json_string_value(json_object_get(meta, "uid")),
        .rv = json_string_value(json_object_get(meta, "resourceVersion")),
        .annotations = json_object_get(meta, "annotations"),
    };
    int rc = cs_apisim_store_update_cow(sv->store, sv->pod_rt, q->ns, q->name, do_bind, &a,
                                        NULL, &st);
    if (rc) {
        const char *kind = strstr(st.message, "pods/binding") ? "pods/binding" : "pods";
        cs_apisim_reply_st(r, &st, q->name, kind);
        goto done;
    }
    r->code = 201;
    cs_buf_puts(&r->body, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                          "\"Success\",\"code\":201}");
done:
    json_decref(b);
}

/* The condition the Eviction API sets before it deletes (PodDisruptionConditions). */
static int add_disruption_target(json_t *pod, void *arg, struct cs_apisim_status *st)
{
    (void)arg;
    (void)st;
    json_t *status = json_object_get(pod, "status");
    if (!json_is_object(status)) {
        status = json_object();
        json_object_set_new(pod, "status", status);
    }
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    char ts[40];
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
    json_t *c = json_pack("{s:s,s:s,s:n,s:s,s:s,s:s}", "type", "DisruptionTarget", "status",
                          "True", "lastProbeTime", "lastTransitionTime", ts, "reason",
                          "EvictionByEvictionAPI", "message", "Eviction API: evicting");
    size_t i;
    json_t *x;
    json_array_foreach(conds, i, x) {
        const char *t = json_string_value(json_object_get(x, "type"));
        if (t && !strcmp(t, "DisruptionTarget")) {
            json_array_set_new(conds, i, c);
            return 0;
        }
    }
    json_array_append_new(conds, c);
    return 0;
}

void cs_apisim_pod_eviction(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                            struct cs_apisim_reply *r)
{
    struct cs_apisim_status st = { 0 };
    struct cs_apisim_delete_opts o = { .grace_seconds = -1 };
    json_error_t e;
    json_t *b = body_json(q, &e);
    json_t *dopt = json_object_get(b, "deleteOptions");
    if (json_is_integer(json_object_get(dopt, "gracePeriodSeconds")))
        o.grace_seconds = json_integer_value(json_object_get(dopt, "gracePeriodSeconds"));
    const json_t *cur = cs_apisim_store_get(sv->store, sv->pod_rt, q->ns, q->name);
    const json_t *dts = json_object_get(json_object_get(cur, "metadata"), "deletionTimestamp");
    if (cur && !json_is_string(dts) &&
        cs_apisim_store_update_fn(sv->store, sv->pod_rt, q->ns, q->name, add_disruption_target,
                                  NULL, NULL, &st)) {
        cs_apisim_reply_st(r, &st, q->name, "pods");
    } else if (cs_apisim_store_delete(sv->store, sv->pod_rt, q->ns, q->name, &o, NULL, &st)) {
        cs_apisim_reply_st(r, &st, q->name, "pods");
    } else {
        r->code = 201;
        cs_buf_puts(&r->body, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                              "\"status\":\"Success\",\"code\":201}");
    }
    json_decref(b);
}
