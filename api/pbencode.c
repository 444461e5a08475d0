/*
 * Hand-written protobuf for the binding and the event (see pbencode.h). Each message is built
 * inner first: a nested message is encoded into its own small buffer, then appended to its
 * parent as tag, length, bytes. The messages are a few hundred bytes, so the copies cost less
 * than computing sizes in a first pass would.
 */
#include "api/pbencode.h"

#include <inttypes.h>
#include <string.h>

#include "api/pbjson.h"

#define WT_VARINT 0u

/* A string field (omitted when s is NULL or empty), invalid UTF-8 replaced by U+FFFD. */
static void put_str_n(struct cs_buf *b, unsigned field, const char *s, size_t len)
{
    if (!s || !len) {
        return;
    }
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    int clean = 1;
    for (const unsigned char *q = p; q < end;) {
        size_t k = *q < 0x80 ? 1 : cs_utf8_seq(q);
        if (k == 0 || q + k > end) {
            clean = 0;
            break;
        }
        q += k;
    }
    if (clean) {
        cs_pb_put_bytes(b, field, s, len);
        return;
    }
    struct cs_buf fixed;
    cs_buf_init(&fixed);
    while (p < end) {
        size_t k = *p < 0x80 ? 1 : cs_utf8_seq(p);
        if (k == 0 || p + k > end) {
            cs_buf_append(&fixed, "\xef\xbf\xbd", 3);
            p++;
        } else {
            cs_buf_append(&fixed, p, k);
            p += k;
        }
    }
    cs_pb_put_bytes(b, field, fixed.data, fixed.len);
    cs_buf_free(&fixed);
}

static void put_str(struct cs_buf *b, unsigned field, const char *s)
{
    if (s) {
        put_str_n(b, field, s, strlen(s));
    }
}

static void put_msg(struct cs_buf *b, unsigned field, const struct cs_buf *m)
{
    cs_pb_put_bytes(b, field, m->len ? m->data : "", m->len);
}

/* "k8s\0" + Unknown{typeMeta{apiVersion, kind}, raw}. */
static void envelope(struct cs_buf *b, const char *api_version, const char *kind,
                     const struct cs_buf *raw)
{
    struct cs_buf tm;
    cs_buf_init(&tm);
    put_str(&tm, 1, api_version);
    put_str(&tm, 2, kind);
    cs_buf_append(b, "k8s\0", 4);
    put_msg(b, 1, &tm);
    put_msg(b, 2, raw);
    cs_buf_free(&tm);
}

/* core/v1 ObjectReference: kind 1, namespace 2, name 3, uid 4, apiVersion 5, resourceVersion 6. */
static void object_ref(struct cs_buf *b, const struct cs_object_ref *r)
{
    put_str(b, 1, r->kind ? r->kind : "Pod");
    put_str(b, 2, r->ns);
    put_str(b, 3, r->name);
    put_str(b, 4, r->uid);
    put_str(b, 5, r->api_version ? r->api_version : "v1");
    put_str(b, 6, r->resource_version);
}

void cs_pb_encode_binding(struct cs_buf *b, const char *ns, const char *name, const char *uid,
                          const char *node, const struct cs_label *ann, uint32_t n_ann)
{
    struct cs_buf meta, target, entry, raw;
    cs_buf_init(&meta);
    cs_buf_init(&target);
    cs_buf_init(&entry);
    cs_buf_init(&raw);
    /* ObjectMeta: name 1, namespace 3, uid 5, annotations 12 (map entries key 1, value 2) */
    put_str(&meta, 1, name);
    put_str(&meta, 3, ns);
    put_str(&meta, 5, uid);
    for (uint32_t i = 0; i < n_ann; i++) {
        cs_buf_reset(&entry);
        put_str(&entry, 1, ann[i].key);
        /* a map value is written even when empty, as the key's presence matters */
        const char *v = ann[i].value ? ann[i].value : "";
        if (*v) {
            put_str(&entry, 2, v);
        } else {
            cs_pb_put_bytes(&entry, 2, "", 0);
        }
        put_msg(&meta, 12, &entry);
    }
    /* Binding: metadata 1, target 2 (ObjectReference kind "Node", name) */
    put_str(&target, 1, "Node");
    put_str(&target, 3, node);
    put_msg(&raw, 1, &meta);
    put_msg(&raw, 2, &target);
    envelope(b, "v1", "Binding", &raw);
    cs_buf_free(&meta);
    cs_buf_free(&target);
    cs_buf_free(&entry);
    cs_buf_free(&raw);
}

void cs_pb_encode_event(struct cs_buf *b, const struct cs_event *ev)
{
    const char *ns = ev->regarding.ns ? ev->regarding.ns : "default";
    const char *note = ev->note ? ev->note : "";
    bool truncated;
    size_t keep = cs_note_prefix_len(note, CS_NOTE_LENGTH_LIMIT, &truncated);
    struct cs_buf meta, t, ref, raw, tmp;
    cs_buf_init(&meta);
    cs_buf_init(&t);
    cs_buf_init(&ref);
    cs_buf_init(&raw);
    cs_buf_init(&tmp);
    /* ObjectMeta: name 1 or generateName 2, namespace 3 (named as cs_encode_event names it) */
    if (ev->name != NULL) {
        put_str(&meta, 1, ev->name);
    } else if (ev->use_generate_name) {
        cs_buf_printf(&tmp, "%s.", ev->regarding.name);
        put_str_n(&meta, 2, tmp.data, tmp.len);
    } else {
        cs_buf_printf(&tmp, "%s.%" PRIx64, ev->regarding.name, (uint64_t)ev->event_time_ns);
        put_str_n(&meta, 1, tmp.data, tmp.len);
    }
    put_str(&meta, 3, ns);
    /* MicroTime: seconds 1, nanos 2 (microsecond precision, as the JSON form carries) */
    int64_t sec = ev->event_time_ns / 1000000000, nanos = ev->event_time_ns % 1000000000;
    if (nanos < 0) {
        nanos += 1000000000;
        sec--;
    }
    nanos = nanos / 1000 * 1000;
    if (sec) {
        cs_pb_put_key(&t, 1, WT_VARINT);
        cs_pb_put_varint(&t, (uint64_t)sec);
    }
    if (nanos) {
        cs_pb_put_key(&t, 2, WT_VARINT);
        cs_pb_put_varint(&t, (uint64_t)nanos);
    }
    /* events.k8s.io/v1 Event: metadata 1, eventTime 2, reportingController 4,
     * reportingInstance 5, action 6, reason 7, regarding 8, related 9, note 10, type 11 */
    put_msg(&raw, 1, &meta);
    put_msg(&raw, 2, &t);
    put_str(&raw, 4, ev->reporting_controller);
    put_str(&raw, 5, ev->reporting_instance);
    put_str(&raw, 6, ev->action);
    put_str(&raw, 7, ev->reason);
    object_ref(&ref, &ev->regarding);
    put_msg(&raw, 8, &ref);
    if (ev->related != NULL) {
        cs_buf_reset(&ref);
        object_ref(&ref, ev->related);
        put_msg(&raw, 9, &ref);
    }
    cs_buf_reset(&tmp);
    cs_buf_append(&tmp, note, keep);
    if (truncated) {
        cs_buf_puts(&tmp, " ...");
    }
    put_str_n(&raw, 10, tmp.data, tmp.len);
    put_str(&raw, 11, ev->type);
    cs_pb_put_bytes(&raw, 12, "", 0); /* deprecatedSource: an empty struct, as Go writes it */
    envelope(b, "events.k8s.io/v1", "Event", &raw);
    cs_buf_free(&meta);
    cs_buf_free(&t);
    cs_buf_free(&ref);
    cs_buf_free(&raw);
    cs_buf_free(&tmp);
}
