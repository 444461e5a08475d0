/*
 * Field selector parsing and matching. A field name is resolved to a value by walking the
 * dotted path in the object; booleans render as "true"/"false" and an absent field as "" (so
 * `spec.nodeName=` selects unassigned pods and `spec.hostNetwork=false` matches pods without
 * the field). The per-kind allow lists mirror the real apiserver's selectable fields.
 */
#include "pkg/apisim/fieldsel.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

static const char *const pod_fields[] = {
    "spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
    "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName", NULL,
};
static const char *const node_fields[] = { "spec.unschedulable", NULL };
static const char *const event_fields[] = {
    "involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
    "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
    "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type", NULL,
};
static const char *const ns_fields[] = { "status.phase", NULL };

static int in_list(const char *const *l, const char *f)
{
    for (size_t i = 0; l && l[i]; i++)
        if (!strcmp(l[i], f))
            return 1;
    return 0;
}

static int supported(const char *group, const char *resource, const char *f)
{
    if (!strcmp(f, "metadata.name") || !strcmp(f, "metadata.namespace"))
        return 1;
    if (group[0] == 0 && !strcmp(resource, "pods"))
        return in_list(pod_fields, f);
    if (group[0] == 0 && !strcmp(resource, "nodes"))
        return in_list(node_fields, f);
    if (!strcmp(resource, "events") && (!group[0] || !strcmp(group, "events.k8s.io")))
        return in_list(event_fields, f);
    if (group[0] == 0 && !strcmp(resource, "namespaces"))
        return in_list(ns_fields, f);
    return 0;
}

/* Read one token up to an unescaped stop character; returns the new position. */
static const char *token(const char *p, const char *stops, struct cs_buf *b)
{
    cs_buf_reset(b);
    while (*p && !strchr(stops, *p)) {
        if (*p == '\\' && p[1])
            p++;
        cs_buf_putc(b, *p++);
    }
    return p;
}

static void trim(struct cs_buf *b)
{
    size_t s = 0;
    while (s < b->len && b->data[s] == ' ')
        s++;
    cs_buf_consume(b, s);
    while (b->len && b->data[b->len - 1] == ' ')
        b->data[--b->len] = 0;
}

int cs_apisim_fieldsel_parse(const char *text, const char *group, const char *resource,
                             struct cs_apisim_fieldsel *out, char *err, size_t errlen)
{
    struct cs_buf f, v;
    size_t cap = 0;
    int rc = 0;
    cs_buf_init(&f);
    cs_buf_init(&v);
    memset(out, 0, sizeof(*out));
    const char *p = text ? text : "";
    while (*p) {
        int neg = 0;
        p = token(p, "=!,", &f);
        trim(&f);
        if (*p == '!' && p[1] == '=') {
            neg = 1;
            p += 2;
        } else if (*p == '=' && p[1] == '=') {
            p += 2;
        } else if (*p == '=') {
            p += 1;
        } else {
            snprintf(err, errlen, "invalid selector: '%s'; can't understand '%s'", text,
                     f.len ? f.data : "");
            rc = -1;
            goto done;
        }
        p = token(p, ",", &v);
        trim(&v);
        if (*p == ',')
            p++;
        if (!f.len) {
            snprintf(err, errlen, "invalid selector: '%s'; empty field name", text);
            rc = -1;
            goto done;
        }
        if (!supported(group ? group : "", resource, f.data)) {
            snprintf(err, errlen, "field label not supported: %s", f.data);
            rc = -1;
            goto done;
        }
        out->reqs = cs_grow(out->reqs, sizeof(*out->reqs), out->n + 1, &cap);
        out->reqs[out->n].field = cs_strdup(f.data);
        out->reqs[out->n].value = cs_strdup(v.len ? v.data : "");
        out->reqs[out->n].neg = neg;
        out->n++;
    }
done:
    if (rc)
        cs_apisim_fieldsel_free(out);
    cs_buf_free(&f);
    cs_buf_free(&v);
    return rc;
}

/* Value of a dotted field path as text into buf ("" when absent). */
static const char *field_value(const json_t *obj, const char *field, char *buf, size_t n)
{
    const json_t *cur = obj;
    const char *p = field;
    if (!strcmp(field, "source"))
        p = "source.component";
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        snprintf(key, sizeof(key), "%.*s", (int)len, p);
        cur = json_object_get(cur, key);
        p = dot ? dot + 1 : p + len;
    }
    if (json_is_string(cur))
        return json_string_value(cur);
    if (json_is_true(cur))
        return "true";
    if (json_is_integer(cur)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(cur));
        return buf;
    }
    if (!strcmp(field, "spec.hostNetwork") || !strcmp(field, "spec.unschedulable"))
        return "false";
    return "";
}

int cs_apisim_fieldsel_match(const struct cs_apisim_fieldsel *fs, const json_t *obj)
{
    char buf[32];
    for (size_t i = 0; fs && i < fs->n; i++) {
        const char *v = field_value(obj, fs->reqs[i].field, buf, sizeof(buf));
        int eq = !strcmp(v, fs->reqs[i].value);
        if (eq == fs->reqs[i].neg)
            return 0;
    }
    return 1;
}

void cs_apisim_fieldsel_free(struct cs_apisim_fieldsel *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        cs_free(fs->reqs[i].field);
        cs_free(fs->reqs[i].value);
    }
    cs_free(fs->reqs);
    memset(fs, 0, sizeof(*fs));
}
