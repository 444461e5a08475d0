/*
 * Server-side printing: meta.k8s.io/v1 Table responses for `kubectl get`. Columns follow the
 * real printers for pods, nodes, namespaces, events, deployments, replicasets, jobs, leases,
 * priorityclasses and configmaps; CRDs use their additionalPrinterColumns (simple
 * .a.b.c JSONPaths); everything else gets Name and Age. Wide-only columns have priority 1.
 * Rows carry the object as PartialObjectMetadata unless includeObject asks otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/apisim/http.h"
#include "pkg/util/timeutil.h"

struct col {
    const char *name, *type, *format;
    int priority;
};

static const json_t *path(const json_t *o, const char *dotted)
{
    const json_t *cur = o;
    const char *p = dotted;
    if (*p == '.')
        p++;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        char *br = strchr(key, '[');
        if (br) {
            long idx = strtol(br + 1, NULL, 10);
            *br = 0;
            cur = json_array_get(json_object_get(cur, key), (size_t)(idx < 0 ? 0 : idx));
        } else {
            cur = json_object_get(cur, key);
        }
        p = dot ? dot + 1 : p + n;
    }
    return cur;
}

static const char *pstr(const json_t *o, const char *dotted)
{
    const char *s = json_string_value(path(o, dotted));
    return s ? s : "";
}

static long long pint(const json_t *o, const char *dotted)
{
    return (long long)json_integer_value(path(o, dotted));
}

/* kubectl's human-readable duration. */
static void human_age(const char *ts, char *buf, size_t n)
{
    int64_t t;
    if (!ts || !ts[0] || cs_parse_time(ts, &t)) {
        snprintf(buf, n, "<unknown>");
        return;
    }
    long long s = (long long)((cs_wall_ns() - t) / 1000000000LL);
    if (s < -1) {
        snprintf(buf, n, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    long long m = s / 60, h = s / 3600;
    if (s < 120)
        snprintf(buf, n, "%llds", s);
    else if (m < 10)
        (s % 60) ? snprintf(buf, n, "%lldm%llds", m, s % 60) : snprintf(buf, n, "%lldm", m);
    else if (m < 180)
        snprintf(buf, n, "%lldm", m);
    else if (h < 8)
        (m % 60) ? snprintf(buf, n, "%lldh%lldm", h, m % 60) : snprintf(buf, n, "%lldh", h);
    else if (h < 48)
        snprintf(buf, n, "%lldh", h);
    else if (h < 24 * 8)
        (h % 24) ? snprintf(buf, n, "%lldd%lldh", h / 24, h % 24)
                 : snprintf(buf, n, "%lldd", h / 24);
    else if (h < 24 * 365 * 2)
        snprintf(buf, n, "%lldd", h / 24);
    else if (h < 24 * 365 * 8)
        ((h / 24) % 365) ? snprintf(buf, n, "%lldy%lldd", h / 24 / 365, (h / 24) % 365)
                         : snprintf(buf, n, "%lldy", h / 24 / 365);
    else
        snprintf(buf, n, "%lldy", h / 24 / 365);
}

static void cell_str(struct cs_buf *b, int *first, const char *s)
{
    if (!*first)
        cs_buf_putc(b, ',');
    *first = 0;
    cs_buf_json_str(b, s ? s : "");
}

static void cell_int(struct cs_buf *b, int *first, long long v)
{
    if (!*first)
        cs_buf_putc(b, ',');
    *first = 0;
    cs_buf_printf(b, "%lld", v);
}

static void cell_age(struct cs_buf *b, int *first, const json_t *o)
{
    char age[32];
    human_age(pstr(o, "metadata.creationTimestamp"), age, sizeof(age));
    cell_str(b, first, age);
}

/* --- per-kind printers ------------------------------------------------------------------------ */

static const struct col pod_cols[] = {
    { "Name", "string", "name", 0 },          { "Ready", "string", "", 0 },
    { "Status", "string", "", 0 },            { "Restarts", "string", "", 0 },
    { "Age", "string", "", 0 },               { "IP", "string", "", 1 },
    { "Node", "string", "", 1 },              { "Nominated Node", "string", "", 1 },
    { "Readiness Gates", "string", "", 1 },   { NULL, NULL, NULL, 0 },
};

static void pod_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    const json_t *cs = path(o, "status.containerStatuses");
    size_t total = json_array_size(path(o, "spec.containers")), ready = 0;
    long long restarts = 0;
    const char *reason = pstr(o, "status.reason");
    const char *status = reason[0] ? reason : pstr(o, "status.phase");
    size_t i;
    json_t *c;
    json_array_foreach(cs, i, c) {
        if (json_is_true(json_object_get(c, "ready")))
            ready++;
        restarts += json_integer_value(json_object_get(c, "restartCount"));
        const char *wr = pstr(c, "state.waiting.reason");
        const char *tr = pstr(c, "state.terminated.reason");
        if (wr[0])
            status = wr;
        else if (tr[0])
            status = tr;
    }
    if (path(o, "metadata.deletionTimestamp"))
        status = "Terminating";
    else if (!strcmp(status, "Pending")) {
        const json_t *gates = path(o, "spec.schedulingGates");
        if (json_array_size(gates))
            status = "SchedulingGated";
    }
    char rb[32], rs[32];
    snprintf(rb, sizeof(rb), "%zu/%zu", ready, total);
    snprintf(rs, sizeof(rs), "%lld", restarts);
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_str(b, &first, rb);
    cell_str(b, &first, status);
    cell_str(b, &first, rs);
    cell_age(b, &first, o);
    const char *ip = pstr(o, "status.podIP");
    const char *node = pstr(o, "spec.nodeName");
    const char *nom = pstr(o, "status.nominatedNodeName");
    cell_str(b, &first, ip[0] ? ip : "<none>");
    cell_str(b, &first, node[0] ? node : "<none>");
    cell_str(b, &first, nom[0] ? nom : "<none>");
    const json_t *rg = path(o, "spec.readinessGates");
    if (json_array_size(rg)) {
        char g[32];
        snprintf(g, sizeof(g), "0/%zu", json_array_size(rg));
        cell_str(b, &first, g);
    } else {
        cell_str(b, &first, "<none>");
    }
}

static const struct col node_cols[] = {
    { "Name", "string", "name", 0 },       { "Status", "string", "", 0 },
    { "Roles", "string", "", 0 },          { "Age", "string", "", 0 },
    { "Version", "string", "", 0 },        { "Internal-IP", "string", "", 1 },
    { "External-IP", "string", "", 1 },    { "OS-Image", "string", "", 1 },
    { "Kernel-Version", "string", "", 1 }, { "Container-Runtime", "string", "", 1 },
    { NULL, NULL, NULL, 0 },
};

static void node_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    char status[64] = "Unknown", roles[256] = "";
    size_t i;
    json_t *c;
    json_array_foreach(path(o, "status.conditions"), i, c) {
        if (!strcmp(pstr(c, "type"), "Ready"))
            snprintf(status, sizeof(status), "%s",
                     !strcmp(pstr(c, "status"), "True") ? "Ready" : "NotReady");
    }
    if (json_is_true(path(o, "spec.unschedulable"))) {
        size_t n = strlen(status);
        snprintf(status + n, sizeof(status) - n, ",SchedulingDisabled");
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(json_object_get(o, "metadata"), "labels"), k, v) {
        const char *role = NULL;
        if (!strncmp(k, "node-role.kubernetes.io/", 24) && k[24])
            role = k + 24;
        else if (!strcmp(k, "kubernetes.io/role"))
            role = json_string_value(v);
        if (role) {
            size_t n = strlen(roles);
            snprintf(roles + n, sizeof(roles) - n, "%s%s", n ? "," : "", role);
        }
    }
    const char *iip = "<none>", *eip = "<none>";
    json_array_foreach(path(o, "status.addresses"), i, c) {
        if (!strcmp(pstr(c, "type"), "InternalIP"))
            iip = pstr(c, "address");
        if (!strcmp(pstr(c, "type"), "ExternalIP"))
            eip = pstr(c, "address");
    }
    const char *ver = pstr(o, "status.nodeInfo.kubeletVersion");
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_str(b, &first, status);
    cell_str(b, &first, roles[0] ? roles : "<none>");
    cell_age(b, &first, o);
    cell_str(b, &first, ver[0] ? ver : "");
    cell_str(b, &first, iip);
    cell_str(b, &first, eip);
    const char *osi = pstr(o, "status.nodeInfo.osImage");
    const char *kv = pstr(o, "status.nodeInfo.kernelVersion");
    const char *cr = pstr(o, "status.nodeInfo.containerRuntimeVersion");
    cell_str(b, &first, osi[0] ? osi : "<unknown>");
    cell_str(b, &first, kv[0] ? kv : "<unknown>");
    cell_str(b, &first, cr[0] ? cr : "<unknown>");
}

static const struct col ns_cols[] = {
    { "Name", "string", "name", 0 }, { "Status", "string", "", 0 }, { "Age", "string", "", 0 },
    { NULL, NULL, NULL, 0 },
};

static void ns_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_str(b, &first, pstr(o, "status.phase"));
    cell_age(b, &first, o);
}

static const struct col event_cols[] = {
    { "Last Seen", "string", "", 0 }, { "Type", "string", "", 0 },
    { "Reason", "string", "", 0 },    { "Object", "string", "", 0 },
    { "Subobject", "string", "", 1 }, { "Source", "string", "", 1 },
    { "Message", "string", "", 0 },   { "First Seen", "string", "", 1 },
    { "Count", "integer", "", 1 },    { "Name", "string", "name", 1 },
    { NULL, NULL, NULL, 0 },
};

static void event_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    char last[32], firsts[32], obj[400];
    const char *lt = pstr(o, "lastTimestamp");
    if (!lt[0])
        lt = pstr(o, "eventTime");
    if (!lt[0])
        lt = pstr(o, "metadata.creationTimestamp");
    human_age(lt, last, sizeof(last));
    const char *ft = pstr(o, "firstTimestamp");
    human_age(ft[0] ? ft : lt, firsts, sizeof(firsts));
    char kind_l[64];
    snprintf(kind_l, sizeof(kind_l), "%s", pstr(o, "involvedObject.kind"));
    for (char *p = kind_l; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(obj, sizeof(obj), "%s/%s", kind_l, pstr(o, "involvedObject.name"));
    const char *src = pstr(o, "source.component");
    if (!src[0])
        src = pstr(o, "reportingComponent");
    long long count = pint(o, "count");
    cell_str(b, &first, last);
    cell_str(b, &first, pstr(o, "type"));
    cell_str(b, &first, pstr(o, "reason"));
    cell_str(b, &first, obj);
    cell_str(b, &first, pstr(o, "involvedObject.fieldPath"));
    cell_str(b, &first, src);
    cell_str(b, &first, pstr(o, "message"));
    cell_str(b, &first, firsts);
    cell_int(b, &first, count ? count : 1);
    cell_str(b, &first, pstr(o, "metadata.name"));
}

static const struct col deploy_cols[] = {
    { "Name", "string", "name", 0 },      { "Ready", "string", "", 0 },
    { "Up-to-date", "integer", "", 0 },   { "Available", "integer", "", 0 },
    { "Age", "string", "", 0 },           { "Containers", "string", "", 1 },
    { "Images", "string", "", 1 },        { "Selector", "string", "", 1 },
    { NULL, NULL, NULL, 0 },
};

static void containers_images(const json_t *o, char *cn, size_t cnn, char *im, size_t imn)
{
    size_t i;
    json_t *c;
    cn[0] = im[0] = 0;
    json_array_foreach(path(o, "spec.template.spec.containers"), i, c) {
        size_t a = strlen(cn), d = strlen(im);
        snprintf(cn + a, cnn - a, "%s%s", a ? "," : "", pstr(c, "name"));
        snprintf(im + d, imn - d, "%s%s", d ? "," : "", pstr(c, "image"));
    }
}

static void selector_str(const json_t *o, char *buf, size_t n)
{
    const char *k;
    json_t *v;
    buf[0] = 0;
    json_object_foreach((json_t *)path(o, "spec.selector.matchLabels"), k, v) {
        size_t a = strlen(buf);
        snprintf(buf + a, n - a, "%s%s=%s", a ? "," : "", k,
                 json_string_value(v) ? json_string_value(v) : "");
    }
}

static void deploy_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    char ready[48], cn[256], im[512], sel[256];
    snprintf(ready, sizeof(ready), "%lld/%lld", pint(o, "status.readyReplicas"),
             pint(o, "spec.replicas"));
    containers_images(o, cn, sizeof(cn), im, sizeof(im));
    selector_str(o, sel, sizeof(sel));
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_str(b, &first, ready);
    cell_int(b, &first, pint(o, "status.updatedReplicas"));
    cell_int(b, &first, pint(o, "status.availableReplicas"));
    cell_age(b, &first, o);
    cell_str(b, &first, cn);
    cell_str(b, &first, im);
    cell_str(b, &first, sel);
}

static const struct col rs_cols[] = {
    { "Name", "string", "name", 0 }, { "Desired", "integer", "", 0 },
    { "Current", "integer", "", 0 }, { "Ready", "integer", "", 0 },
    { "Age", "string", "", 0 },      { "Containers", "string", "", 1 },
    { "Images", "string", "", 1 },   { "Selector", "string", "", 1 },
    { NULL, NULL, NULL, 0 },
};

static void rs_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    char cn[256], im[512], sel[256];
    containers_images(o, cn, sizeof(cn), im, sizeof(im));
    selector_str(o, sel, sizeof(sel));
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_int(b, &first, pint(o, "spec.replicas"));
    cell_int(b, &first, pint(o, "status.replicas"));
    cell_int(b, &first, pint(o, "status.readyReplicas"));
    cell_age(b, &first, o);
    cell_str(b, &first, cn);
    cell_str(b, &first, im);
    cell_str(b, &first, sel);
}

static const struct col job_cols[] = {
    { "Name", "string", "name", 0 },     { "Status", "string", "", 0 },
    { "Completions", "string", "", 0 },  { "Duration", "string", "", 0 },
    { "Age", "string", "", 0 },          { "Containers", "string", "", 1 },
    { "Images", "string", "", 1 },       { "Selector", "string", "", 1 },
    { NULL, NULL, NULL, 0 },
};

static void job_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    char comp[48], dur[32], cn[256], im[512], sel[256];
    const char *status = "Running";
    size_t i;
    json_t *c;
    json_array_foreach(path(o, "status.conditions"), i, c) {
        if (strcmp(pstr(c, "status"), "True"))
            continue;
        if (!strcmp(pstr(c, "type"), "Complete"))
            status = "Complete";
        else if (!strcmp(pstr(c, "type"), "Failed"))
            status = "Failed";
        else if (!strcmp(pstr(c, "type"), "Suspended"))
            status = "Suspended";
    }
    if (json_is_true(path(o, "spec.suspend")) && !strcmp(status, "Running"))
        status = "Suspended";
    snprintf(comp, sizeof(comp), "%lld/%lld", pint(o, "status.succeeded"),
             pint(o, "spec.completions") ? pint(o, "spec.completions") : 1);
    human_age(pstr(o, "status.startTime"), dur, sizeof(dur));
    if (!pstr(o, "status.startTime")[0])
        snprintf(dur, sizeof(dur), "%s", "");
    containers_images(o, cn, sizeof(cn), im, sizeof(im));
    selector_str(o, sel, sizeof(sel));
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_str(b, &first, status);
    cell_str(b, &first, comp);
    cell_str(b, &first, dur);
    cell_age(b, &first, o);
    cell_str(b, &first, cn);
    cell_str(b, &first, im);
    cell_str(b, &first, sel);
}

static const struct col lease_cols[] = {
    { "Name", "string", "name", 0 }, { "Holder", "string", "", 0 }, { "Age", "string", "", 0 },
    { NULL, NULL, NULL, 0 },
};

static void lease_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_str(b, &first, pstr(o, "spec.holderIdentity"));
    cell_age(b, &first, o);
}

static const struct col pc_cols[] = {
    { "Name", "string", "name", 0 },         { "Value", "integer", "", 0 },
    { "Global-Default", "boolean", "", 0 },  { "Age", "string", "", 0 },
    { "Preemption-Policy", "string", "", 0 }, { NULL, NULL, NULL, 0 },
};

static void pc_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_int(b, &first, pint(o, "value"));
    cs_buf_puts(b, json_is_true(path(o, "globalDefault")) ? ",true" : ",false");
    cell_age(b, &first, o);
    cell_str(b, &first, pstr(o, "preemptionPolicy"));
}

static const struct col cm_cols[] = {
    { "Name", "string", "name", 0 }, { "Data", "integer", "", 0 }, { "Age", "string", "", 0 },
    { NULL, NULL, NULL, 0 },
};

static void cm_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_int(b, &first, (long long)(json_object_size(path(o, "data")) +
                                    json_object_size(path(o, "binaryData"))));
    cell_age(b, &first, o);
}

static const struct col default_cols[] = {
    { "Name", "string", "name", 0 }, { "Age", "string", "", 0 }, { NULL, NULL, NULL, 0 },
};

static void default_row(const json_t *o, struct cs_buf *b)
{
    int first = 1;
    cell_str(b, &first, pstr(o, "metadata.name"));
    cell_age(b, &first, o);
}

struct printer {
    const char *group, *resource;
    const struct col *cols;
    void (*row)(const json_t *o, struct cs_buf *b);
};

static const struct printer printers[] = {
    { "", "pods", pod_cols, pod_row },
    { "", "nodes", node_cols, node_row },
    { "", "namespaces", ns_cols, ns_row },
    { "", "events", event_cols, event_row },
    { "events.k8s.io", "events", event_cols, event_row },
    { "apps", "deployments", deploy_cols, deploy_row },
    { "apps", "replicasets", rs_cols, rs_row },
    { "batch", "jobs", job_cols, job_row },
    { "coordination.k8s.io", "leases", lease_cols, lease_row },
    { "scheduling.k8s.io", "priorityclasses", pc_cols, pc_row },
    { "", "configmaps", cm_cols, cm_row },
    { NULL, NULL, NULL, NULL },
};

static void put_cols(struct cs_buf *b, const struct col *cols)
{
    for (size_t i = 0; cols[i].name; i++) {
        if (i)
            cs_buf_putc(b, ',');
        cs_buf_puts(b, "{\"name\":");
        cs_buf_json_str(b, cols[i].name);
        cs_buf_printf(b, ",\"type\":\"%s\",\"format\":\"%s\",\"description\":\"\","
                      "\"priority\":%d}", cols[i].type, cols[i].format, cols[i].priority);
    }
}

/* additionalPrinterColumns of the CRD for this version, or NULL. */
static const json_t *crd_columns(const struct cs_apisim_req *q)
{
    if (!q->rt->is_crd || !q->rt->printer_columns)
        return NULL;
    const json_t *c = json_object_get(q->rt->printer_columns, q->version);
    return json_array_size(c) ? c : NULL;
}

static void crd_cell(const json_t *o, const json_t *col, struct cs_buf *b)
{
    const char *type = pstr(col, "type");
    const json_t *v = path(o, pstr(col, "jsonPath"));
    cs_buf_putc(b, ',');
    if (!strcmp(type, "date") && json_is_string(v)) {
        char age[32];
        human_age(json_string_value(v), age, sizeof(age));
        cs_buf_json_str(b, age);
    } else if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        cs_buf_puts(b, t ? t : "null");
        free(t);
    } else if (v) {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cs_buf_json_str(b, t ? t : "");
        free(t);
    } else {
        cs_buf_puts(b, "null");
    }
}

void cs_apisim_table(const struct cs_apisim_req *q, const json_t *const *objs, size_t n,
                     const char *rv, const char *cont, int with_columns, struct cs_buf *b)
{
    const struct printer *pr = NULL;
    for (const struct printer *p = printers; p->resource; p++)
        if (!strcmp(p->group, q->rt->group) && !strcmp(p->resource, q->rt->resource))
            pr = p;
    const json_t *ccols = pr ? NULL : crd_columns(q);
    const char *inc = cs_apisim_query(q, "includeObject");
    cs_buf_puts(b, "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{");
    if (rv)
        cs_buf_printf(b, "\"resourceVersion\":\"%s\"", rv);
    if (cont) {
        cs_buf_puts(b, rv ? ",\"continue\":" : "\"continue\":");
        cs_buf_json_str(b, cont);
    }
    cs_buf_puts(b, "},\"columnDefinitions\":[");
    if (with_columns) {
        if (pr) {
            put_cols(b, pr->cols);
        } else if (ccols) {
            put_cols(b, default_cols);  /* Name, then the CRD's columns (Age replaced) */
            b->len -= 0;
            /* drop the Age column definition just written */
            char *age = strstr(b->data, ",{\"name\":\"Age\"");
            if (age) {
                b->len = (size_t)(age - b->data);
                b->data[b->len] = 0;
            }
            size_t i;
            json_t *c;
            json_array_foreach(ccols, i, c) {
                cs_buf_puts(b, ",{\"name\":");
                cs_buf_json_str(b, pstr(c, "name"));
                cs_buf_puts(b, ",\"type\":");
                cs_buf_json_str(b, pstr(c, "type")[0] ? pstr(c, "type") : "string");
                cs_buf_puts(b, ",\"format\":");
                cs_buf_json_str(b, pstr(c, "format"));
                cs_buf_puts(b, ",\"description\":");
                cs_buf_json_str(b, pstr(c, "description"));
                cs_buf_printf(b, ",\"priority\":%lld}", pint(c, "priority"));
            }
        } else {
            put_cols(b, default_cols);
        }
    }
    cs_buf_puts(b, "],\"rows\":[");
    for (size_t i = 0; i < n; i++) {
        const json_t *o = objs[i];
        if (i)
            cs_buf_putc(b, ',');
        cs_buf_puts(b, "{\"cells\":[");
        if (pr) {
            pr->row(o, b);
        } else if (ccols) {
            cs_buf_json_str(b, pstr(o, "metadata.name"));
            size_t k;
            json_t *c;
            json_array_foreach(ccols, k, c)
                crd_cell(o, c, b);
        } else {
            default_row(o, b);
        }
        cs_buf_puts(b, "],\"object\":");
        if (inc && !strcmp(inc, "None")) {
            cs_buf_puts(b, "null");
        } else if (inc && !strcmp(inc, "Object")) {
            json_t *v = cs_apisim_to_view(q, o);
            char *t = json_dumps(v, JSON_COMPACT);
            cs_buf_puts(b, t ? t : "null");
            free(t);
            json_decref(v);
        } else {
            char *t = json_dumps(json_object_get(o, "metadata"), JSON_COMPACT);
            cs_buf_puts(b, "{\"kind\":\"PartialObjectMetadata\",\"apiVersion\":"
                           "\"meta.k8s.io/v1\",\"metadata\":");
            cs_buf_puts(b, t ? t : "{}");
            cs_buf_putc(b, '}');
            free(t);
        }
        cs_buf_putc(b, '}');
    }
    cs_buf_puts(b, "]}");
}
