/*
 * Protobuf wire-format reader for the runtime.Unknown envelope and ObjectMeta. Varints,
 * length-delimited fields and skipping of unknown fields are all that is needed.
 */
#include "pkg/apisim/pbdecode.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct pb {
    const unsigned char *p, *end;
};

static int varint(struct pb *b, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && b->p < b->end; shift += 7) {
        unsigned char c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            return 0;
    }
    return -1;
}

/* Next field: *tag, *wt; for wire type 2 sets *sub to the payload. */
static int field(struct pb *b, uint64_t *tag, int *wt, struct pb *sub, uint64_t *num)
{
    uint64_t key;
    if (varint(b, &key))
        return -1;
    *tag = key >> 3;
    *wt = (int)(key & 7);
    if (*wt == 0)
        return varint(b, num);
    if (*wt == 2) {
        uint64_t n;
        if (varint(b, &n) || n > (uint64_t)(b->end - b->p))
            return -1;
        sub->p = b->p;
        sub->end = b->p + n;
        b->p += n;
        return 0;
    }
    if (*wt == 1 && b->end - b->p >= 8) {
        b->p += 8;
        return 0;
    }
    if (*wt == 5 && b->end - b->p >= 4) {
        b->p += 4;
        return 0;
    }
    return -1;
}

static json_t *str_of(const struct pb *s)
{
    return json_stringn((const char *)s->p, (size_t)(s->end - s->p));
}

static int map_entry(struct pb e, json_t *into)
{
    json_t *k = NULL, *v = NULL;
    while (e.p < e.end) {
        uint64_t tag, num;
        int wt;
        struct pb sub;
        if (field(&e, &tag, &wt, &sub, &num))
            goto fail;
        if (wt == 2 && tag == 1) {
            json_decref(k);
            k = str_of(&sub);
        } else if (wt == 2 && tag == 2) {
            json_decref(v);
            v = str_of(&sub);
        }
    }
    if (!k)
        goto fail;
    json_object_set_new(into, json_string_value(k), v ? v : json_string(""));
    json_decref(k);
    return 0;
fail:
    json_decref(k);
    json_decref(v);
    return -1;
}

static json_t *object_meta(struct pb m)
{
    json_t *meta = json_object();
    while (m.p < m.end) {
        uint64_t tag, num;
        int wt;
        struct pb sub;
        if (field(&m, &tag, &wt, &sub, &num)) {
            json_decref(meta);
            return NULL;
        }
        if (wt != 2)
            continue;
        if (tag == 1 || tag == 2 || tag == 3) {
            static const char *const names[] = { "", "name", "generateName", "namespace" };
            if (sub.end > sub.p)
                json_object_set_new(meta, names[tag], str_of(&sub));
        } else if (tag == 11 || tag == 12) {
            const char *key = tag == 11 ? "labels" : "annotations";
            json_t *o = json_object_get(meta, key);
            if (!o) {
                o = json_object();
                json_object_set_new(meta, key, o);
            }
            if (map_entry(sub, o)) {
                json_decref(meta);
                return NULL;
            }
        } else if (tag == 14) {
            json_t *a = json_object_get(meta, "finalizers");
            if (!a) {
                a = json_array();
                json_object_set_new(meta, "finalizers", a);
            }
            json_array_append_new(a, str_of(&sub));
        }
    }
    return meta;
}

json_t *cs_apisim_pb_decode(const char *data, size_t len, char *err, size_t errlen)
{
    if (len < 4 || memcmp(data, "k8s\0", 4)) {
        snprintf(err, errlen, "protobuf body lacks the k8s envelope prefix");
        return NULL;
    }
    struct pb b = { (const unsigned char *)data + 4, (const unsigned char *)data + len };
    char av[128] = "", kind[128] = "";
    struct pb raw = { NULL, NULL };
    while (b.p < b.end) {
        uint64_t tag, num;
        int wt;
        struct pb sub;
        if (field(&b, &tag, &wt, &sub, &num))
            goto bad;
        if (wt == 2 && tag == 1) {
            while (sub.p < sub.end) {
                struct pb s2;
                uint64_t t2, n2;
                int w2;
                if (field(&sub, &t2, &w2, &s2, &n2))
                    goto bad;
                if (w2 == 2 && (t2 == 1 || t2 == 2))
                    snprintf(t2 == 1 ? av : kind, 128, "%.*s", (int)(s2.end - s2.p),
                             (const char *)s2.p);
            }
        } else if (wt == 2 && tag == 2) {
            raw = sub;
        }
    }
    if (strcmp(kind, "Namespace") || strcmp(av, "v1")) {
        snprintf(err, errlen, "protobuf bodies are only accepted for v1 Namespace (got %s %s); "
                 "send application/json", av, kind);
        return NULL;
    }
    json_t *obj = json_pack("{s:s,s:s}", "apiVersion", av, "kind", kind);
    while (raw.p && raw.p < raw.end) {
        uint64_t tag, num;
        int wt;
        struct pb sub;
        if (field(&raw, &tag, &wt, &sub, &num)) {
            json_decref(obj);
            goto bad;
        }
        if (wt == 2 && tag == 1) {
            json_t *meta = object_meta(sub);
            if (!meta) {
                json_decref(obj);
                goto bad;
            }
            json_object_set_new(obj, "metadata", meta);
        }
    }
    return obj;
bad:
    snprintf(err, errlen, "malformed protobuf body");
    return NULL;
}
