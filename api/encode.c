/*
 * Encoders for the scheduler's writes. Bodies are small and fixed-shape, so they are printed
 * straight into a cs_buf rather than built as jansson trees: one pass, no allocation beyond the
 * buffer. Field order follows what client-go sends (Go struct order), which keeps captured
 * traffic comparable. Strings go through one escaper that also repairs invalid UTF-8, since
 * messages can carry user-provided text (label values, plugin reasons).
 */
#include "api/encode.h"

#include <inttypes.h>
#include <string.h>

#include "pkg/util/timeutil.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid. */
size_t cs_utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* The escaped body of a JSON string (no quotes). s must be NUL-terminated at or after len. */
static void put_raw(struct cs_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            cs_buf_append(b, e, 2);
            p++;
        } else if (c == '\n') {
            cs_buf_append(b, "\\n", 2);
            p++;
        } else if (c == '\r') {
            cs_buf_append(b, "\\r", 2);
            p++;
        } else if (c == '\t') {
            cs_buf_append(b, "\\t", 2);
            p++;
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            cs_buf_append(b, e, 6);
            p++;
        } else if (c < 0x80) {
            cs_buf_putc(b, (char)c);
            p++;
        } else {
            size_t n = cs_utf8_seq(p);  /* stops at the NUL, so never reads past the string */
            if (n == 0 || n > (size_t)(end - p)) {
                cs_buf_append(b, "\\ufffd", 6);
                p++;
            } else {
                cs_buf_append(b, p, n);
                p += n;
            }
        }
    }
}

static void put_str_n(struct cs_buf *b, const char *s, size_t len)
{
    cs_buf_putc(b, '"');
    put_raw(b, s, len);
    cs_buf_putc(b, '"');
}

void cs_encode_str(struct cs_buf *b, const char *s)
{
    if (s == NULL)
        cs_buf_puts(b, "null");
    else
        put_str_n(b, s, strlen(s));
}

/* ,"key":"value" (or without the comma when first) */
static void field(struct cs_buf *b, bool comma, const char *key, const char *val)
{
    if (comma)
        cs_buf_putc(b, ',');
    cs_encode_str(b, key);
    cs_buf_putc(b, ':');
    cs_encode_str(b, val);
}

void cs_encode_binding(struct cs_buf *b, const char *ns, const char *name, const char *uid,
                       const char *node)
{
    cs_encode_binding_annotated(b, ns, name, uid, node, NULL, 0);
}

void cs_encode_binding_annotated(struct cs_buf *b, const char *ns, const char *name,
                                 const char *uid, const char *node, const struct cs_label *ann,
                                 uint32_t n_ann)
{
    cs_buf_puts(b, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{");
    field(b, false, "name", name);
    field(b, true, "namespace", ns);
    if (uid != NULL)
        field(b, true, "uid", uid);
    if (n_ann) {
        cs_buf_puts(b, ",\"annotations\":{");
        for (uint32_t i = 0; i < n_ann; i++) {
            field(b, i > 0, ann[i].key, ann[i].value ? ann[i].value : "");
        }
        cs_buf_putc(b, '}');
    }
    cs_buf_puts(b, "},\"target\":{\"kind\":\"Node\",");
    field(b, false, "name", node);
    cs_buf_puts(b, "}}");
}

void cs_encode_pod_binding(struct cs_buf *b, const struct cs_pod *p, const char *node)
{
    cs_encode_binding(b, p->ns, p->name, p->uid, node);
}

void cs_encode_status_patch(struct cs_buf *b, const struct cs_condition_patch *cond,
                            enum cs_nominated_op op, const char *nominated_node)
{
    bool comma = false;
    cs_buf_puts(b, "{\"status\":{");
    if (cond != NULL) {
        cs_buf_puts(b, "\"conditions\":[{\"lastProbeTime\":null");
        if (cond->last_transition_ns != 0) {
            char t[40];
            cs_fmt_time(cond->last_transition_ns, t, sizeof(t));
            field(b, true, "lastTransitionTime", t);
        }
        if (cond->message != NULL)
            field(b, true, "message", cond->message);
        if (cond->reason != NULL)
            field(b, true, "reason", cond->reason);
        field(b, true, "status", cond->status);
        field(b, true, "type", cond->type);
        cs_buf_puts(b, "}]");
        comma = true;
    }
    if (op == CS_NOMINATED_SET) {
        field(b, comma, "nominatedNodeName", nominated_node);
    } else if (op == CS_NOMINATED_CLEAR) {
        cs_buf_puts(b, comma ? ",\"nominatedNodeName\":null" : "\"nominatedNodeName\":null");
    }
    cs_buf_puts(b, "}}");
}

void cs_encode_pod_scheduled_false(struct cs_buf *b, bool unschedulable, const char *message,
                                   int64_t transition_ns, enum cs_nominated_op op,
                                   const char *nominated_node)
{
    struct cs_condition_patch c = {
        .type = "PodScheduled",
        .status = "False",
        .reason = unschedulable ? "Unschedulable" : "SchedulerError",
        .message = message,
        .last_transition_ns = transition_ns,
    };
    cs_encode_status_patch(b, &c, op, nominated_node);
}

void cs_object_ref_from_pod(struct cs_object_ref *r, const struct cs_pod *p)
{
    r->kind = "Pod";
    r->api_version = "v1";
    r->ns = p->ns;
    r->name = p->name;
    r->uid = p->uid;
    r->resource_version = p->resource_version;
}

static void object_ref(struct cs_buf *b, const struct cs_object_ref *r)
{
    cs_buf_putc(b, '{');
    field(b, false, "kind", r->kind ? r->kind : "Pod");
    if (r->ns != NULL)
        field(b, true, "namespace", r->ns);
    field(b, true, "name", r->name);
    if (r->uid != NULL)
        field(b, true, "uid", r->uid);
    field(b, true, "apiVersion", r->api_version ? r->api_version : "v1");
    if (r->resource_version != NULL)
        field(b, true, "resourceVersion", r->resource_version);
    cs_buf_putc(b, '}');
}

size_t cs_note_prefix_len(const char *s, size_t limit, bool *truncated)
{
    static const size_t suffix = 4;  /* " ..." */
    size_t len = strlen(s);
    *truncated = len > limit;
    if (!*truncated)
        return len;
    size_t keep = limit > suffix ? limit - suffix : 0;
    /* Do not cut a multi-byte character: back off over continuation bytes. */
    while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
        keep--;
    return keep;
}

void cs_encode_event(struct cs_buf *b, const struct cs_event *ev)
{
    char t[40];
    const char *ns = ev->regarding.ns ? ev->regarding.ns : "default";
    const char *note = ev->note ? ev->note : "";
    bool truncated;
    size_t keep = cs_note_prefix_len(note, CS_NOTE_LENGTH_LIMIT, &truncated);

    cs_buf_puts(b, "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{");
    if (ev->name != NULL) {
        field(b, false, "name", ev->name);
    } else if (ev->use_generate_name) {
        cs_buf_puts(b, "\"generateName\":\"");
        put_raw(b, ev->regarding.name, strlen(ev->regarding.name));
        cs_buf_puts(b, ".\"");
    } else {
        cs_buf_puts(b, "\"name\":\"");
        put_raw(b, ev->regarding.name, strlen(ev->regarding.name));
        cs_buf_printf(b, ".%" PRIx64 "\"", (uint64_t)ev->event_time_ns);
    }
    field(b, true, "namespace", ns);
    cs_buf_puts(b, "},");
    cs_fmt_microtime(ev->event_time_ns, t, sizeof(t));
    field(b, false, "eventTime", t);
    field(b, true, "reportingController", ev->reporting_controller);
    field(b, true, "reportingInstance", ev->reporting_instance);
    field(b, true, "action", ev->action);
    field(b, true, "reason", ev->reason);
    cs_buf_puts(b, ",\"regarding\":");
    object_ref(b, &ev->regarding);
    if (ev->related != NULL) {
        cs_buf_puts(b, ",\"related\":");
        object_ref(b, ev->related);
    }
    cs_buf_puts(b, ",\"note\":\"");
    put_raw(b, note, keep);
    cs_buf_puts(b, truncated ? " ...\"" : "\"");
    field(b, true, "type", ev->type);
    cs_buf_putc(b, '}');
}
