/*
 * Kubernetes protobuf <-> JSON (see pbjson.h). The converter knows no kind by itself: it walks
 * the wire bytes with the protobuf-c descriptors generated from api/proto/k8s.proto, looking up
 * each tag with protobuf_c_message_descriptor_get_field (a binary search over the message's
 * fields) and skipping tags the schema does not name without copying them. A handful of
 * messages have a JSON form of their own, recognised by their short name:
 *   Quantity      {string=1}                 -> "100m"
 *   Time          {seconds=1, nanos=2}       -> "2026-12-04T10:00:00Z" (zero: omitted)
 *   MicroTime     {seconds=1, nanos=2}       -> "2026-12-04T10:00:00.123456Z"
 *   IntOrString   {type=1, intVal=2, strVal=3} -> 8 or "50%"
 *   RawExtension  {raw=1}                    -> the embedded object (JSON, or an enveloped
 *                                               protobuf object)
 *   *Entry        {key=1, value=2}           -> the members of a map object
 * Go marshals every value (non-pointer) field, zero or not, where its JSON omits zero values
 * (omitempty). The schema's labels say which is which (hack/genproto.py reads types.go):
 * `required` = a Go value field, `optional` = a Go pointer (on the wire only when set, so a zero
 * there is a real zero and stays), `repeated` = a slice or map. A `required` scalar that decodes
 * to "" / 0 / false is dropped unless the message's rule (api/pbomit.c, bit masks of field
 * numbers keyed by descriptor, looked up once per message and only when needed) keeps it (no
 * omitempty). Embedded structs (json:",inline": Volume.volumeSource,
 * PersistentVolumeSpec.persistentVolumeSource, ...) decode into their parent object. Messages are
 * kept even when empty, as Go's JSON keeps empty structs. Special messages are recognised by
 * descriptor address, map entries by shape; no name is compared per field.
 *
 * Encoding goes the other way in field-number order with map entries sorted by key and the zero
 * values of absent value fields written (an absent value message as its own zero fields), which
 * is what Go's generated marshallers do: for the fields the schema names the bytes are the
 * apiserver's own (pbjson_test checks it against kube-apiserver's for 11 kinds, managedFields
 * aside); fields the schema leaves out are not written.
 *
 * Limits: nesting depth 64; a length or varint running past its buffer, a wire type that does
 * not match the schema's field type, or a group is an error naming the field path.
 */
#include "api/pbjson.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "api/pbkinds.h"
#include "api/proto/k8s.pb-c.h"
#include "pkg/util/timeutil.h"

#define MAX_DEPTH 64

static const unsigned char MAGIC[4] = { 'k', '8', 's', 0 };

struct rd {
    const uint8_t *p, *end;
};

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static int rd_varint(struct rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            return -1;
        }
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int rd_fixed(struct rd *r, size_t n, uint64_t *v)
{
    if ((size_t)(r->end - r->p) < n) {
        return -1;
    }
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        x |= (uint64_t)r->p[i] << (8 * i);
    }
    r->p += n;
    *v = x;
    return 0;
}

static int rd_len(struct rd *r, const uint8_t **p, size_t *n)
{
    uint64_t l;
    if (rd_varint(r, &l) != 0 || l > (uint64_t)(r->end - r->p)) {
        return -1;
    }
    *p = r->p;
    *n = (size_t)l;
    r->p += l;
    return 0;
}

static int rd_skip(struct rd *r, unsigned wt)
{
    uint64_t v;
    const uint8_t *p;
    size_t n;
    switch (wt) {
    case WT_VARINT:
        return rd_varint(r, &v);
    case WT_I64:
        return rd_fixed(r, 8, &v);
    case WT_I32:
        return rd_fixed(r, 4, &v);
    case WT_LEN:
        return rd_len(r, &p, &n);
    default:
        return -1; /* groups (3, 4) and 6, 7 are not used by Kubernetes */
    }
}

/* ---- errors with a field path ---------------------------------------------------------------- */

struct dec {
    char *err;
    size_t errlen;
    int failed;
};

static int fail(struct dec *d, const char *field, const char *what)
{
    if (!d->failed) {
        d->failed = 1;
        snprintf(d->err, d->errlen, "%s: %s", field ? field : "(body)", what);
    }
    return -1;
}

/* Prefix the path of an error raised deeper down with this level's field name. */
static void wrap(struct dec *d, const char *field, long idx)
{
    char tmp[1024];
    if (idx >= 0) {
        snprintf(tmp, sizeof(tmp), "%.100s[%ld].%.800s", field, idx, d->err);
    } else {
        snprintf(tmp, sizeof(tmp), "%.100s.%.800s", field, d->err);
    }
    snprintf(d->err, d->errlen, "%s", tmp);
}

/* ---- decoding ---------------------------------------------------------------------------------- */

static json_t *decode_msg(struct dec *d, const ProtobufCMessageDescriptor *md, const uint8_t *p,
                          size_t n, int depth, const struct cs_pb_proj *pj);
static json_t *decode_enveloped(struct dec *d, const uint8_t *p, size_t n, int depth,
                                const struct cs_pb_proj *pj);

/* The messages with a JSON form of their own, by descriptor (no name comparison per field). */
static int is_special(const ProtobufCMessageDescriptor *md, const ProtobufCMessageDescriptor *which)
{
    return md == which;
}
#define D_TIME (&cs__k8s__time__descriptor)
#define D_MICRO (&cs__k8s__micro_time__descriptor)
#define D_QUANTITY (&cs__k8s__quantity__descriptor)
#define D_INTSTR (&cs__k8s__int_or_string__descriptor)
#define D_RAWEXT (&cs__k8s__raw_extension__descriptor)

/* protoc-c makes a map<K,V> field a repeated XEntry{key=1, value=2}. */
static int is_map_entry(const ProtobufCMessageDescriptor *md)
{
    return md->n_fields == 2 && md->fields[0].id == 1 && md->fields[1].id == 2 &&
           strcmp(md->fields[0].name, "key") == 0 && strcmp(md->fields[1].name, "value") == 0;
}

/* A message with a JSON form of its own; *out NULL means "omit". Returns 1 when md is one. */
static int decode_special(struct dec *d, const ProtobufCMessageDescriptor *md, const uint8_t *p,
                          size_t n, int depth, json_t **out, int *err)
{
    struct rd r = { p, p + n };
    *err = 0;
    *out = NULL;
    int is_time = is_special(md, D_TIME), is_micro = is_special(md, D_MICRO);
    if (is_time || is_micro) {
        uint64_t sec = 0, nanos = 0;
        while (r.p < r.end) {
            uint64_t key;
            if (rd_varint(&r, &key) != 0) {
                *err = fail(d, NULL, "truncated time");
                return 1;
            }
            if ((key >> 3) == 1 && (key & 7) == WT_VARINT) {
                *err = rd_varint(&r, &sec);
            } else if ((key >> 3) == 2 && (key & 7) == WT_VARINT) {
                *err = rd_varint(&r, &nanos);
            } else {
                *err = rd_skip(&r, (unsigned)(key & 7));
            }
            if (*err) {
                *err = fail(d, NULL, "malformed time");
                return 1;
            }
        }
        if (sec != 0 || nanos != 0) {
            char buf[64];       /* nanos is an int32 on the wire */
            cs_fmt_rfc3339((int64_t)sec, (int32_t)nanos, is_micro, buf, sizeof(buf));
            *out = json_string(buf);
        }
        return 1;
    }
    if (is_special(md, D_QUANTITY)) {
        const uint8_t *s = (const uint8_t *)"";
        size_t sl = 0;
        while (r.p < r.end) {
            uint64_t key;
            if (rd_varint(&r, &key) != 0) {
                *err = fail(d, NULL, "truncated quantity");
                return 1;
            }
            if ((key >> 3) == 1 && (key & 7) == WT_LEN) {
                *err = rd_len(&r, &s, &sl);
            } else {
                *err = rd_skip(&r, (unsigned)(key & 7));
            }
            if (*err) {
                *err = fail(d, NULL, "malformed quantity");
                return 1;
            }
        }
        *out = json_stringn((const char *)s, sl);
        if (*out == NULL) {
            *err = fail(d, NULL, "quantity is not UTF-8");
        }
        return 1;
    }
    if (is_special(md, D_INTSTR)) {
        uint64_t type = 0, iv = 0;
        const uint8_t *s = (const uint8_t *)"";
        size_t sl = 0;
        while (r.p < r.end) {
            uint64_t key;
            if (rd_varint(&r, &key) != 0) {
                *err = fail(d, NULL, "truncated int-or-string");
                return 1;
            }
            unsigned f = (unsigned)(key >> 3), wt = (unsigned)(key & 7);
            if (f == 1 && wt == WT_VARINT) {
                *err = rd_varint(&r, &type);
            } else if (f == 2 && wt == WT_VARINT) {
                *err = rd_varint(&r, &iv);
            } else if (f == 3 && wt == WT_LEN) {
                *err = rd_len(&r, &s, &sl);
            } else {
                *err = rd_skip(&r, wt);
            }
            if (*err) {
                *err = fail(d, NULL, "malformed int-or-string");
                return 1;
            }
        }
        *out = type == 1 ? json_stringn((const char *)s, sl) : json_integer((int32_t)iv);
        if (*out == NULL) {
            *err = fail(d, NULL, "string is not UTF-8");
        }
        return 1;
    }
    if (is_special(md, D_RAWEXT)) {
        const uint8_t *raw = NULL;
        size_t rl = 0;
        while (r.p < r.end) {
            uint64_t key;
            if (rd_varint(&r, &key) != 0) {
                *err = fail(d, NULL, "truncated raw extension");
                return 1;
            }
            if ((key >> 3) == 1 && (key & 7) == WT_LEN) {
                *err = rd_len(&r, &raw, &rl);
            } else {
                *err = rd_skip(&r, (unsigned)(key & 7));
            }
            if (*err) {
                *err = fail(d, NULL, "malformed raw extension");
                return 1;
            }
        }
        if (raw == NULL || rl == 0) {
            return 1;
        }
        if (rl >= 4 && memcmp(raw, MAGIC, 4) == 0) {
            *out = decode_enveloped(d, raw, rl, depth + 1, NULL);
            *err = *out ? 0 : -1;
        } else {
            json_error_t je;
            *out = json_loadb((const char *)raw, rl, 0, &je);
            if (*out == NULL) {
                *err = fail(d, NULL, "embedded object is neither JSON nor protobuf");
            }
        }
        return 1;
    }
    return 0;
}

/* A scalar field's value (wire type already checked) -> JSON; *zero set when it is zero. */
static json_t *decode_scalar(struct dec *d, const ProtobufCFieldDescriptor *f, struct rd *r,
                             int *zero)
{
    uint64_t v = 0;
    const uint8_t *s;
    size_t sl;
    *zero = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        if (rd_len(r, &s, &sl) != 0) {
            fail(d, f->name, "truncated string");
            return NULL;
        }
        *zero = sl == 0;
        {
            json_t *j = json_stringn((const char *)s, sl);
            if (j == NULL) {
                fail(d, f->name, "string is not UTF-8");
            }
            return j;
        }
    case PROTOBUF_C_TYPE_BYTES:
        if (rd_len(r, &s, &sl) != 0) {
            fail(d, f->name, "truncated bytes");
            return NULL;
        }
        *zero = sl == 0;
        return json_stringn_nocheck((const char *)s, sl); /* never read as text by cosched */
    case PROTOBUF_C_TYPE_BOOL:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_ENUM:
        if (rd_varint(r, &v) != 0) {
            fail(d, f->name, "truncated varint");
            return NULL;
        }
        *zero = v == 0;
        switch (f->type) {
        case PROTOBUF_C_TYPE_BOOL:
            return json_boolean(v != 0);
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_ENUM:
            return json_integer((int32_t)v);
        case PROTOBUF_C_TYPE_SINT32:
            return json_integer((int32_t)((uint32_t)(v >> 1) ^ (uint32_t)-(int32_t)(v & 1)));
        case PROTOBUF_C_TYPE_SINT64:
            return json_integer((json_int_t)((v >> 1) ^ (uint64_t) - (int64_t)(v & 1)));
        case PROTOBUF_C_TYPE_UINT32:
            return json_integer((uint32_t)v);
        default:
            return json_integer((json_int_t)v);
        }
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        if (rd_fixed(r, 4, &v) != 0) {
            fail(d, f->name, "truncated fixed32");
            return NULL;
        }
        *zero = v == 0;
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            float fl;
            uint32_t u = (uint32_t)v;
            memcpy(&fl, &u, sizeof(fl));
            return json_real(fl);
        }
        return json_integer(f->type == PROTOBUF_C_TYPE_SFIXED32 ? (json_int_t)(int32_t)v
                                                                : (json_int_t)v);
    default: /* FIXED64, SFIXED64, DOUBLE */
        if (rd_fixed(r, 8, &v) != 0) {
            fail(d, f->name, "truncated fixed64");
            return NULL;
        }
        *zero = v == 0;
        if (f->type == PROTOBUF_C_TYPE_DOUBLE) {
            double db;
            memcpy(&db, &v, sizeof(db));
            return json_real(db);
        }
        return json_integer((json_int_t)v);
    }
}

static unsigned wire_type_of(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return WT_LEN;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return WT_I32;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return WT_I64;
    default:
        return WT_VARINT;
    }
}

static void append_to(json_t *obj, const char *name, json_t *v)
{
    json_t *arr = json_object_get(obj, name);
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(obj, name, arr);
    }
    json_array_append_new(arr, v);
}

static int decode_into(struct dec *d, const ProtobufCMessageDescriptor *md, const uint8_t *p,
                       size_t n, int depth, json_t *obj, const struct cs_pb_proj *pj);

/* A message-typed value: its own JSON form, or an object (only pj's members when pj is not
 * NULL). *out NULL with 0 returned = omit. */
static int decode_value_msg(struct dec *d, const ProtobufCMessageDescriptor *sub, const uint8_t *p,
                            size_t n, int depth, json_t **out, const struct cs_pb_proj *pj)
{
    int err = 0;
    if (decode_special(d, sub, p, n, depth, out, &err)) {
        return err ? -1 : 0;
    }
    *out = decode_msg(d, sub, p, n, depth + 1, pj);
    return *out ? 0 : -1;
}

/* One map entry {key=1, value=2} into the object obj[name], without an object of its own. A value
 * dropped as zero is kept in a map ("" or an empty message), as Go's JSON prints it. */
static int decode_entry(struct dec *d, const ProtobufCFieldDescriptor *f, const uint8_t *p,
                        size_t n, json_t *obj, int depth)
{
    const ProtobufCMessageDescriptor *em = f->descriptor;
    const ProtobufCFieldDescriptor *vf = &em->fields[1];
    unsigned vwt = wire_type_of(vf->type);
    struct rd r = { p, p + n };
    const uint8_t *k = (const uint8_t *)"", *vp = NULL;
    size_t kl = 0, vl = 0;
    json_t *v = NULL;
    while (r.p < r.end) {
        uint64_t key;
        if (rd_varint(&r, &key) != 0) {
            json_decref(v);
            return fail(d, NULL, "truncated map entry");
        }
        unsigned wt = (unsigned)(key & 7);
        int rc;
        if (key == ((1u << 3) | WT_LEN)) {
            rc = rd_len(&r, &k, &kl);
        } else if ((key >> 3) == 2 && wt == vwt) {
            if (vwt == WT_LEN) {
                rc = rd_len(&r, &vp, &vl);
                if (rc == 0 && vp == NULL) {
                    vp = (const uint8_t *)"";
                }
            } else {
                int zero;
                json_decref(v);
                v = decode_scalar(d, vf, &r, &zero);
                if (v == NULL) {
                    return -1;
                }
                rc = 0;
            }
        } else if ((key >> 3) == 2 || (key >> 3) == 1) {
            json_decref(v);
            return fail(d, NULL, "map entry of the wrong wire type");
        } else {
            rc = rd_skip(&r, wt);
        }
        if (rc != 0) {
            json_decref(v);
            return fail(d, NULL, "truncated map entry");
        }
    }
    if (vwt == WT_LEN) {
        if (vp == NULL) {
            vp = (const uint8_t *)"";
        }
        if (vf->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (decode_value_msg(d, vf->descriptor, vp, vl, depth, &v, NULL) != 0) {
                return -1;
            }
            if (v == NULL) {
                v = json_null(); /* a zero Time in a map prints as null */
            }
        } else {
            v = json_stringn((const char *)vp, vl);
            if (v == NULL) {
                return fail(d, NULL, "map value is not UTF-8");
            }
        }
    } else if (v == NULL) {
        v = json_integer(0);
    }
    json_t *m = json_object_get(obj, f->name);
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(obj, f->name, m);
    }
    if (json_object_setn_new(m, (const char *)k, kl, v) != 0) {
        return fail(d, NULL, "map key is not UTF-8");
    }
    return 0;
}

static json_t *decode_msg(struct dec *d, const ProtobufCMessageDescriptor *md, const uint8_t *p,
                          size_t n, int depth, const struct cs_pb_proj *pj)
{
    json_t *obj = json_object();
    if (decode_into(d, md, p, n, depth, obj, pj) != 0) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

/* md's field with number id. protoc-c sorts a message's fields by number and Go writes them in
 * that order, so the one after the last found (or the last found again, for a repeated field)
 * is tried before protobuf-c's binary search. */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *md, unsigned id,
                                                unsigned *hint)
{
    unsigned h = *hint;
    if (h < md->n_fields && md->fields[h].id == id) {
        *hint = h + 1;
        return &md->fields[h];
    }
    if (h > 0 && md->fields[h - 1].id == id) {
        return &md->fields[h - 1];
    }
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(md, id);
    if (f) {
        *hint = (unsigned)(f - md->fields) + 1;
    }
    return f;
}

/* Whether md's field f is an embedded struct (json:",inline"); md's rule is looked up on first
 * need (most messages never need it) and cached in *rule / *ruled. */
static int is_inline(const ProtobufCMessageDescriptor *md, const ProtobufCFieldDescriptor *f,
                     const struct cs_pb_rule **rule, int *ruled)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE || f->label == PROTOBUF_C_LABEL_REPEATED ||
        f->id >= 64) {
        return 0;
    }
    if (!*ruled) {
        *rule = cs_pb_rule_of(md), *ruled = 1;
    }
    return *rule && ((*rule)->inline_ & CS_PB_BIT(f->id));
}

/* pj's member called name: NULL when pj does not name it. */
static const struct cs_pb_proj *proj_member(const struct cs_pb_proj *pj, const char *name)
{
    for (size_t i = 0; i < pj->n; i++) {
        if (strcmp(pj->kids[i].name, name) == 0) {
            return &pj->kids[i];
        }
    }
    return NULL;
}

/* The members of md's bytes into obj (a message of its own, or the parent of an inline one).
 * With pj (a projection node with members) only the fields it names are converted; the others
 * are skipped like unknown ones. */
static int decode_into(struct dec *d, const ProtobufCMessageDescriptor *md, const uint8_t *p,
                       size_t n, int depth, json_t *obj, const struct cs_pb_proj *pj)
{
    if (depth > MAX_DEPTH) {
        return fail(d, md->short_name, "nested too deeply");
    }
    const struct cs_pb_rule *rule = NULL;
    int ruled = 0; /* looked up on first need: most messages never need it */
    struct rd r = { p, p + n };
    unsigned hint = 0;
    while (r.p < r.end) {
        uint64_t key;
        if (rd_varint(&r, &key) != 0 || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) {
            return fail(d, md->short_name, "malformed field key");
        }
        unsigned wt = (unsigned)(key & 7);
        const ProtobufCFieldDescriptor *f = field_of(md, (unsigned)(key >> 3), &hint);
        if (f == NULL) {
            if (rd_skip(&r, wt) != 0) {
                return fail(d, md->short_name, "truncated unknown field");
            }
            continue;
        }
        const struct cs_pb_proj *sub_pj = NULL;
        if (pj && !is_inline(md, f, &rule, &ruled)) {
            sub_pj = proj_member(pj, f->name);
            if (sub_pj == NULL) {
                if (rd_skip(&r, wt) != 0) {
                    return fail(d, f->name, "truncated field");
                }
                continue;
            }
            if (sub_pj->n == 0) {
                sub_pj = NULL; /* the whole value */
            }
        }
        unsigned want = wire_type_of(f->type);
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && wt == WT_LEN) {
            const ProtobufCMessageDescriptor *sub = f->descriptor;
            const uint8_t *sp;
            size_t sl;
            if (rd_len(&r, &sp, &sl) != 0) {
                return fail(d, f->name, "truncated message");
            }
            if (sp == NULL) {
                sp = (const uint8_t *)"";
            }
            if (f->label == PROTOBUF_C_LABEL_REPEATED && is_map_entry(sub)) {
                if (decode_entry(d, f, sp, sl, obj, depth) != 0) {
                    wrap(d, f->name, -1);
                    return -1;
                }
                continue;
            }
            if (is_inline(md, f, &rule, &ruled)) {
                /* embedded struct (json:",inline"): its members are obj's */
                if (decode_into(d, sub, sp, sl, depth + 1, obj, pj) != 0) {
                    wrap(d, f->name, -1);
                    return -1;
                }
                continue;
            }
            json_t *v = NULL;
            if (decode_value_msg(d, sub, sp, sl, depth, &v, sub_pj) != 0) {
                long idx = f->label == PROTOBUF_C_LABEL_REPEATED
                               ? (long)json_array_size(json_object_get(obj, f->name))
                               : -1;
                wrap(d, f->name, idx);
                return -1;
            }
            if (v == NULL) {
                continue; /* a zero Time: JSON omits it */
            }
            if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                append_to(obj, f->name, v);
            } else {
                json_object_set_new_nocheck(obj, f->name, v);
            }
            continue;
        }
        if (f->type != PROTOBUF_C_TYPE_MESSAGE && f->label == PROTOBUF_C_LABEL_REPEATED &&
            wt == WT_LEN && want != WT_LEN) {
            /* packed repeated scalars */
            const uint8_t *pp;
            size_t pl;
            if (rd_len(&r, &pp, &pl) != 0) {
                return fail(d, f->name, "truncated packed field");
            }
            struct rd pr = { pp, pp + pl };
            while (pr.p < pr.end) {
                int zero;
                json_t *v = decode_scalar(d, f, &pr, &zero);
                if (v == NULL) {
                    return -1;
                }
                append_to(obj, f->name, v);
            }
            continue;
        }
        if (wt != want) {
            char what[64];
            snprintf(what, sizeof(what), "wire type %u where the schema has %u", wt, want);
            return fail(d, f->name, what);
        }
        int zero;
        json_t *v = decode_scalar(d, f, &r, &zero);
        if (v == NULL) {
            return -1;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            append_to(obj, f->name, v);
            continue;
        }
        if (zero && f->label == PROTOBUF_C_LABEL_REQUIRED) {
            /* a Go value field: on the wire even when zero, in JSON only without omitempty */
            if (!ruled) {
                rule = cs_pb_rule_of(md), ruled = 1;
            }
            if (rule == NULL || f->id >= 64 || !(rule->keep & CS_PB_BIT(f->id))) {
                json_decref(v);
                json_object_del(obj, f->name);
                continue;
            }
        }
        json_object_set_new_nocheck(obj, f->name, v);
    }
    return 0;
}

/* The identity of a decoded object for error messages: "pod ns/name" or the kind alone. */
static void name_object(const uint8_t *raw, size_t rl, const ProtobufCMessageDescriptor *md,
                        char *buf, size_t n)
{
    /* metadata is field 1 of every top-level kind; name 1, namespace 3 inside it. */
    struct rd r = { raw, raw + rl };
    const uint8_t *mp = NULL, *np = NULL, *nsp = NULL;
    size_t ml = 0, nl = 0, nsl = 0;
    while (r.p < r.end && mp == NULL) {
        uint64_t key;
        if (rd_varint(&r, &key) != 0) {
            break;
        }
        if (key == ((1u << 3) | WT_LEN)) {
            if (rd_len(&r, &mp, &ml) != 0) {
                mp = NULL;
                break;
            }
        } else if (rd_skip(&r, (unsigned)(key & 7)) != 0) {
            break;
        }
    }
    if (mp) {
        struct rd m = { mp, mp + ml };
        while (m.p < m.end) {
            uint64_t key;
            if (rd_varint(&m, &key) != 0) {
                break;
            }
            const uint8_t *s;
            size_t sl;
            if ((key & 7) == WT_LEN) {
                if (rd_len(&m, &s, &sl) != 0) {
                    break;
                }
                if ((key >> 3) == 1) {
                    np = s, nl = sl;
                } else if ((key >> 3) == 3) {
                    nsp = s, nsl = sl;
                }
            } else if (rd_skip(&m, (unsigned)(key & 7)) != 0) {
                break;
            }
        }
    }
    char kind[64];
    snprintf(kind, sizeof(kind), "%s", md->short_name);
    for (char *c = kind; *c; c++) {
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
    }
    if (np) {
        snprintf(buf, n, "%s %.*s%s%.*s", kind, (int)(nsl > 200 ? 200 : nsl),
                 nsp ? (const char *)nsp : "", nsl ? "/" : "", (int)(nl > 200 ? 200 : nl),
                 (const char *)np);
    } else {
        snprintf(buf, n, "%s <unknown>", kind);
    }
}

/* "k8s\0" + runtime.Unknown{typeMeta=1{apiVersion=1, kind=2}, raw=2, contentEncoding=3,
 * contentType=4} -> the object with apiVersion and kind set. */
static json_t *decode_enveloped(struct dec *d, const uint8_t *p, size_t n, int depth,
                                const struct cs_pb_proj *pj)
{
    if (n < 4 || memcmp(p, MAGIC, 4) != 0) {
        fail(d, NULL, "not a Kubernetes protobuf object (no k8s\\0 prefix)");
        return NULL;
    }
    struct rd r = { p + 4, p + n };
    const uint8_t *tm = NULL, *raw = NULL, *enc = NULL;
    size_t tml = 0, rl = 0, encl = 0;
    int cut = 0;
    while (r.p < r.end && !cut) {
        uint64_t key;
        const uint8_t *s;
        size_t sl;
        if (rd_varint(&r, &key) != 0) {
            fail(d, NULL, "truncated envelope");
            return NULL;
        }
        if ((key & 7) == WT_LEN) {
            const uint8_t *at = r.p;
            if (rd_len(&r, &s, &sl) != 0) {
                uint64_t l;
                r.p = at;
                if ((key >> 3) != 2 || tm == NULL || rd_varint(&r, &l) != 0) {
                    fail(d, NULL, "truncated envelope");
                    return NULL;
                }
                /* The object itself is cut short: name it from what arrived. */
                raw = r.p, rl = (size_t)(r.end - r.p), cut = 1;
                break;
            }
            unsigned f = (unsigned)(key >> 3);
            if (f == 1) {
                tm = s, tml = sl;
            } else if (f == 2) {
                raw = s, rl = sl;
            } else if (f == 3) {
                enc = s, encl = sl;
            }
        } else if (rd_skip(&r, (unsigned)(key & 7)) != 0) {
            fail(d, NULL, "malformed envelope");
            return NULL;
        }
    }
    if (encl > 0) {
        (void)enc;
        fail(d, NULL, "compressed (contentEncoding) bodies are not supported");
        return NULL;
    }
    char api_version[128] = "", kind[128] = "";
    struct rd t = { tm, tm ? tm + tml : NULL };
    while (tm && t.p < t.end) {
        uint64_t key;
        const uint8_t *s;
        size_t sl;
        if (rd_varint(&t, &key) != 0 || (key & 7) != WT_LEN || rd_len(&t, &s, &sl) != 0) {
            fail(d, NULL, "malformed typeMeta");
            return NULL;
        }
        char *dst = (key >> 3) == 1 ? api_version : (key >> 3) == 2 ? kind : NULL;
        if (dst) {
            size_t k = sl > 127 ? 127 : sl;
            memcpy(dst, s, k);
            dst[k] = '\0';
        }
    }
    const ProtobufCMessageDescriptor *md = cs_pb_kind_desc(api_version, kind);
    if (md == NULL) {
        char what[300];
        snprintf(what, sizeof(what), "no protobuf schema for %s %s", api_version[0] ? api_version : "?",
                 kind[0] ? kind : "?");
        fail(d, NULL, what);
        return NULL;
    }
    if (cut) {
        char who[480];
        name_object(raw, rl, md, who, sizeof(who));
        snprintf(d->err, d->errlen, "%s: truncated body (%zu bytes of the object arrived)", who, rl);
        d->failed = 1;
        return NULL;
    }
    json_t *obj = decode_msg(d, md, raw ? raw : (const uint8_t *)"", rl, depth + 1, pj);
    if (obj == NULL) {
        char who[480], tmp[1024];
        name_object(raw ? raw : (const uint8_t *)"", rl, md, who, sizeof(who));
        snprintf(tmp, sizeof(tmp), "%.479s: %.500s", who, d->err);
        snprintf(d->err, d->errlen, "%s", tmp);
        return NULL;
    }
    json_object_set_new(obj, "apiVersion", json_string(api_version));
    json_object_set_new(obj, "kind", json_string(kind));
    return obj;
}

bool cs_pb_known(const char *api_version, const char *kind)
{
    return cs_pb_kind_desc(api_version, kind) != NULL;
}

json_t *cs_pb_decode_object(const void *buf, size_t len, char *err, size_t errlen)
{
    return cs_pb_decode_object_proj(buf, len, NULL, err, errlen);
}

int cs_pb_watch_split(const void *buf, size_t len, const char **type, size_t *type_len,
                      const void **obj, size_t *obj_len, char *err, size_t errlen)
{
    struct dec d = { err, errlen, 0 };
    err[0] = '\0';
    struct rd r = { buf, (const uint8_t *)buf + len };
    const uint8_t *tp = NULL, *op = NULL;
    size_t tl = 0, ol = 0;
    while (r.p < r.end) {
        uint64_t key;
        const uint8_t *s;
        size_t sl;
        if (rd_varint(&r, &key) != 0) {
            return fail(&d, NULL, "truncated watch event");
        }
        if ((key & 7) == WT_LEN) {
            if (rd_len(&r, &s, &sl) != 0) {
                return fail(&d, NULL, "truncated watch event");
            }
            if ((key >> 3) == 1) {
                tp = s, tl = sl;
            } else if ((key >> 3) == 2) {
                op = s, ol = sl;
            }
        } else if (rd_skip(&r, (unsigned)(key & 7)) != 0) {
            return fail(&d, NULL, "malformed watch event");
        }
    }
    /* object is a RawExtension{raw=1}: its raw bytes hold the enveloped object. */
    struct rd o = { op, op ? op + ol : NULL };
    const uint8_t *raw = NULL;
    size_t rl = 0;
    while (op && o.p < o.end) {
        uint64_t key;
        if (rd_varint(&o, &key) != 0) {
            return fail(&d, NULL, "truncated watch event object");
        }
        if (key == ((1u << 3) | WT_LEN)) {
            if (rd_len(&o, &raw, &rl) != 0) {
                return fail(&d, NULL, "truncated watch event object");
            }
        } else if (rd_skip(&o, (unsigned)(key & 7)) != 0) {
            return fail(&d, NULL, "malformed watch event object");
        }
    }
    if (tp == NULL || raw == NULL) {
        return fail(&d, NULL, "watch event without type or object");
    }
    *type = (const char *)tp, *type_len = tl;
    *obj = raw, *obj_len = rl;
    return 0;
}

json_t *cs_pb_decode_object_proj(const void *buf, size_t len, const struct cs_pb_proj *proj,
                                 char *err, size_t errlen)
{
    struct dec d = { err, errlen, 0 };
    err[0] = '\0';
    return decode_enveloped(&d, buf, len, 0, proj && proj->n ? proj : NULL);
}

json_t *cs_pb_decode_watch_event(const void *buf, size_t len, char *err, size_t errlen)
{
    const char *type;
    const void *raw;
    size_t tl, rl;
    if (cs_pb_watch_split(buf, len, &type, &tl, &raw, &rl, err, errlen) != 0) {
        return NULL;
    }
    json_t *o2 = cs_pb_decode_object(raw, rl, err, errlen);
    if (o2 == NULL) {
        return NULL;
    }
    json_t *tj = json_stringn(type, tl);
    if (tj == NULL) {
        json_decref(o2);
        snprintf(err, errlen, "type: not UTF-8");
        return NULL;
    }
    json_t *ev = json_object();
    json_object_set_new(ev, "type", tj);
    json_object_set_new(ev, "object", o2);
    return ev;
}

/* ---- projections ------------------------------------------------------------------------------ */

static void proj_clear(struct cs_pb_proj *pj)
{
    for (size_t i = 0; i < pj->n; i++) {
        proj_clear(&pj->kids[i]);
        free(pj->kids[i].name);
    }
    free(pj->kids);
    pj->kids = NULL;
    pj->n = 0;
}

/* Adds the dotted path at p (length n) under pj. A member already taken whole stays whole; a path
 * that ends at a member with members of its own makes it whole. */
static int proj_add(struct cs_pb_proj *pj, const char *p, size_t n)
{
    const char *dot = memchr(p, '.', n);
    size_t head = dot ? (size_t)(dot - p) : n;
    if (head == 0 || (dot && head + 1 == n)) {
        return -1;
    }
    struct cs_pb_proj *m = NULL;
    for (size_t i = 0; i < pj->n; i++) {
        if (strlen(pj->kids[i].name) == head && memcmp(pj->kids[i].name, p, head) == 0) {
            m = &pj->kids[i];
            if (m->n == 0) {
                return 0; /* already whole */
            }
        }
    }
    if (m == NULL) {
        struct cs_pb_proj *k = realloc(pj->kids, (pj->n + 1) * sizeof(*k));
        if (k == NULL) {
            return -1;
        }
        pj->kids = k;
        m = &k[pj->n];
        *m = (struct cs_pb_proj){ .name = strndup(p, head) };
        if (m->name == NULL) {
            return -1;
        }
        pj->n++;
        if (dot == NULL) {
            return 0;
        }
    } else if (dot == NULL) {
        proj_clear(m);
        return 0;
    }
    return proj_add(m, dot + 1, n - head - 1);
}

struct cs_pb_proj *cs_pb_proj_new(const char *const *paths)
{
    struct cs_pb_proj *pj = calloc(1, sizeof(*pj));
    for (size_t i = 0; pj && paths && paths[i]; i++) {
        if (proj_add(pj, paths[i], strlen(paths[i])) != 0) {
            cs_pb_proj_free(pj);
            return NULL;
        }
    }
    return pj;
}

void cs_pb_proj_free(struct cs_pb_proj *pj)
{
    if (pj) {
        proj_clear(pj);
        free(pj);
    }
}

/* ---- encoding ---------------------------------------------------------------------------------- */

void cs_pb_put_varint(struct cs_buf *b, uint64_t v)
{
    char tmp[10];
    size_t n = 0;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        tmp[n++] = (char)(c | (v ? 0x80 : 0));
    } while (v);
    cs_buf_append(b, tmp, n);
}

void cs_pb_put_key(struct cs_buf *b, uint32_t field, unsigned wt)
{
    cs_pb_put_varint(b, ((uint64_t)field << 3) | wt);
}

void cs_pb_put_bytes(struct cs_buf *b, uint32_t field, const void *p, size_t n)
{
    cs_pb_put_key(b, field, WT_LEN);
    cs_pb_put_varint(b, n);
    cs_buf_append(b, p, n);
}

static void put_fixed(struct cs_buf *b, uint64_t v, size_t n)
{
    char tmp[8];
    for (size_t i = 0; i < n; i++) {
        tmp[i] = (char)(v >> (8 * i));
    }
    cs_buf_append(b, tmp, n);
}

static int parse_time(const char *s, int64_t *sec, int32_t *nanos)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL) {
        return -1;
    }
    *nanos = 0;
    if (*rest == '.') {
        rest++;
        int32_t ns = 0, digits = 0;
        while (*rest >= '0' && *rest <= '9') {
            if (digits < 9) {
                ns = ns * 10 + (*rest - '0');
                digits++;
            }
            rest++;
        }
        while (digits++ < 9) {
            ns *= 10;
        }
        *nanos = ns;
    }
    if (strcmp(rest, "Z") != 0) {
        return -1;
    }
    *sec = (int64_t)timegm(&tm);
    return 0;
}

static int encode_msg(const ProtobufCMessageDescriptor *md, const json_t *obj, struct cs_buf *b,
                      char *err, size_t errlen, int depth);

/* A message with its own JSON form (see the top) into b; returns 1 when md is one. */
static int encode_special(const ProtobufCMessageDescriptor *md, const json_t *v, struct cs_buf *b,
                          char *err, size_t errlen, int *rc)
{
    *rc = 0;
    if (is_special(md, D_TIME) || is_special(md, D_MICRO)) {
        int64_t sec;
        int32_t ns;
        if (v == NULL || json_is_null(v)) {
            return 1; /* a zero Time: an empty message */
        }
        if (!json_is_string(v) || parse_time(json_string_value(v), &sec, &ns) != 0) {
            snprintf(err, errlen, "%s: not an RFC 3339 time", md->short_name);
            *rc = -1;
            return 1;
        }
        /* Go's Timestamp writes both fields, zero or not */
        cs_pb_put_key(b, 1, WT_VARINT);
        cs_pb_put_varint(b, (uint64_t)sec);
        cs_pb_put_key(b, 2, WT_VARINT);
        cs_pb_put_varint(b, (uint64_t)(int64_t)ns);
        return 1;
    }
    if (is_special(md, D_QUANTITY)) {
        char tmp[64];
        const char *s = v == NULL ? "0" : json_string_value(v); /* Go's zero Quantity is "0" */
        if (json_is_integer(v)) {
            snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            s = tmp;
        }
        if (s == NULL) {
            snprintf(err, errlen, "quantity is not a string");
            *rc = -1;
            return 1;
        }
        cs_pb_put_bytes(b, 1, s, strlen(s));
        return 1;
    }
    if (is_special(md, D_INTSTR)) {
        /* Go writes type, intVal and strVal, zero or not */
        if (v == NULL || json_is_integer(v)) {
            cs_pb_put_key(b, 1, WT_VARINT);
            cs_pb_put_varint(b, 0);
            cs_pb_put_key(b, 2, WT_VARINT);
            cs_pb_put_varint(b, (uint64_t)(int64_t)(int32_t)(v ? json_integer_value(v) : 0));
            cs_pb_put_bytes(b, 3, "", 0);
        } else if (json_is_string(v)) {
            cs_pb_put_key(b, 1, WT_VARINT);
            cs_pb_put_varint(b, 1);
            cs_pb_put_key(b, 2, WT_VARINT);
            cs_pb_put_varint(b, 0);
            cs_pb_put_bytes(b, 3, json_string_value(v), json_string_length(v));
        } else {
            snprintf(err, errlen, "int-or-string is neither");
            *rc = -1;
        }
        return 1;
    }
    if (is_special(md, D_RAWEXT)) {
        char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
        if (text) {
            cs_pb_put_bytes(b, 1, text, strlen(text));
            free(text);
        }
        return 1;
    }
    return 0;
}

/* The zero value of a Go value field (absent from the JSON), as gogo writes it. */
static void put_zero(const ProtobufCFieldDescriptor *f, struct cs_buf *b)
{
    unsigned wt = wire_type_of(f->type);
    cs_pb_put_key(b, f->id, wt);
    switch (wt) {
    case WT_LEN:
        cs_pb_put_varint(b, 0);
        break;
    case WT_I32:
        put_fixed(b, 0, 4);
        break;
    case WT_I64:
        put_fixed(b, 0, 8);
        break;
    default:
        cs_pb_put_varint(b, 0);
        break;
    }
}

static int encode_scalar(const ProtobufCFieldDescriptor *f, const json_t *v, struct cs_buf *b,
                         char *err, size_t errlen)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
        if (!json_is_string(v)) {
            snprintf(err, errlen, "%s: not a string", f->name);
            return -1;
        }
        cs_pb_put_bytes(b, f->id, json_string_value(v), json_string_length(v));
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) {
            snprintf(err, errlen, "%s: not a boolean", f->name);
            return -1;
        }
        cs_pb_put_key(b, f->id, WT_VARINT);
        cs_pb_put_varint(b, json_is_true(v) ? 1 : 0);
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (!json_is_number(v)) {
            snprintf(err, errlen, "%s: not a number", f->name);
            return -1;
        }
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            float fl = (float)json_number_value(v);
            uint32_t u;
            memcpy(&u, &fl, sizeof(u));
            cs_pb_put_key(b, f->id, WT_I32);
            put_fixed(b, u, 4);
        } else {
            double db = json_number_value(v);
            uint64_t u;
            memcpy(&u, &db, sizeof(u));
            cs_pb_put_key(b, f->id, WT_I64);
            put_fixed(b, u, 8);
        }
        return 0;
    default:
        break;
    }
    if (!json_is_integer(v)) {
        snprintf(err, errlen, "%s: not an integer", f->name);
        return -1;
    }
    int64_t x = (int64_t)json_integer_value(v);
    unsigned wt = wire_type_of(f->type);
    cs_pb_put_key(b, f->id, wt);
    switch (f->type) {
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SINT64:
        cs_pb_put_varint(b, ((uint64_t)x << 1) ^ (x < 0 ? UINT64_MAX : 0));
        break;
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
        put_fixed(b, (uint64_t)x, 4);
        break;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
        put_fixed(b, (uint64_t)x, 8);
        break;
    default:
        cs_pb_put_varint(b, (uint64_t)x);
        break;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One message-typed value as field f (length-delimited) into b. */
static int encode_sub(const ProtobufCFieldDescriptor *f, const json_t *v, struct cs_buf *b,
                      char *err, size_t errlen, int depth)
{
    struct cs_buf sub;
    cs_buf_init(&sub);
    int rc = 0;
    if (!encode_special(f->descriptor, v, &sub, err, errlen, &rc)) {
        rc = encode_msg(f->descriptor, v, &sub, err, errlen, depth + 1);
    }
    if (rc == 0) {
        cs_pb_put_bytes(b, f->id, sub.data ? sub.data : "", sub.len);
    }
    cs_buf_free(&sub);
    return rc;
}

static int encode_field(const ProtobufCFieldDescriptor *f, const json_t *v, struct cs_buf *b,
                        char *err, size_t errlen, int depth)
{
    if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
        return encode_scalar(f, v, b, err, errlen);
    }
    return encode_sub(f, v, b, err, errlen, depth);
}

static int encode_map(const ProtobufCFieldDescriptor *f, const json_t *v, struct cs_buf *b,
                      char *err, size_t errlen, int depth)
{
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s: not an object", f->name);
        return -1;
    }
    const ProtobufCMessageDescriptor *em = f->descriptor;
    size_t n = json_object_size(v), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof(*keys));
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)v, k, val) {
        keys[i++] = k;
    }
    qsort(keys, n, sizeof(*keys), cmp_str);
    int rc = 0;
    for (i = 0; i < n && rc == 0; i++) {
        struct cs_buf e;
        cs_buf_init(&e);
        cs_pb_put_bytes(&e, 1, keys[i], strlen(keys[i]));
        rc = encode_field(&em->fields[1], json_object_get(v, keys[i]), &e, err, errlen, depth);
        if (rc == 0) {
            cs_pb_put_bytes(b, f->id, e.data ? e.data : "", e.len);
        }
        cs_buf_free(&e);
    }
    free(keys);
    return rc;
}

static int encode_msg(const ProtobufCMessageDescriptor *md, const json_t *obj, struct cs_buf *b,
                      char *err, size_t errlen, int depth)
{
    if (depth > MAX_DEPTH) {
        snprintf(err, errlen, "%s: nested too deeply", md->short_name);
        return -1;
    }
    if (obj != NULL && !json_is_object(obj)) {
        snprintf(err, errlen, "%s: not an object", md->short_name);
        return -1;
    }
    const struct cs_pb_rule *rule = cs_pb_rule_of(md);
    for (unsigned i = 0; i < md->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &md->fields[i];
        int rc = 0;
        if (rule && f->id < 64 && (rule->inline_ & CS_PB_BIT(f->id))) {
            /* embedded struct: its members are obj's own; a value field, always written */
            if (encode_sub(f, obj, b, err, errlen, depth) != 0) {
                return -1;
            }
            continue;
        }
        const json_t *v = obj ? json_object_get(obj, f->name) : NULL;
        if (v == NULL || json_is_null(v)) {
            /* Go writes its value fields even when zero; pointers, slices and maps only when set */
            if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
                if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                    rc = encode_sub(f, NULL, b, err, errlen, depth);
                } else {
                    put_zero(f, b);
                }
            }
            if (rc != 0) {
                return -1;
            }
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
            is_map_entry(f->descriptor)) {
            rc = encode_map(f, v, b, err, errlen, depth);
        } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (!json_is_array(v)) {
                snprintf(err, errlen, "%s: not an array", f->name);
                return -1;
            }
            size_t k;
            const json_t *it;
            json_array_foreach(v, k, it) {
                if ((rc = encode_field(f, it, b, err, errlen, depth)) != 0) {
                    break;
                }
            }
        } else {
            rc = encode_field(f, v, b, err, errlen, depth);
        }
        if (rc != 0) {
            return -1;
        }
    }
    return 0;
}

int cs_pb_encode_object(const json_t *obj, struct cs_buf *out, char *err, size_t errlen)
{
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const ProtobufCMessageDescriptor *md = av && kind ? cs_pb_kind_desc(av, kind) : NULL;
    if (md == NULL) {
        snprintf(err, errlen, "no protobuf schema for %s %s", av ? av : "?", kind ? kind : "?");
        return -1;
    }
    struct cs_buf raw, tm;
    cs_buf_init(&raw);
    cs_buf_init(&tm);
    if (encode_msg(md, obj, &raw, err, errlen, 0) != 0) {
        cs_buf_free(&raw);
        return -1;
    }
    cs_pb_put_bytes(&tm, 1, av, strlen(av));
    cs_pb_put_bytes(&tm, 2, kind, strlen(kind));
    cs_buf_append(out, MAGIC, 4);
    cs_pb_put_bytes(out, 1, tm.data, tm.len);
    cs_pb_put_bytes(out, 2, raw.data ? raw.data : "", raw.len);
    /* contentEncoding and contentType: present and empty, as the apiserver writes them */
    cs_pb_put_bytes(out, 3, "", 0);
    cs_pb_put_bytes(out, 4, "", 0);
    cs_buf_free(&raw);
    cs_buf_free(&tm);
    return 0;
}

int cs_pb_encode_watch_event(const char *type, const json_t *obj, struct cs_buf *out, char *err,
                             size_t errlen)
{
    struct cs_buf env, ro, ev;
    cs_buf_init(&env);
    cs_buf_init(&ro);
    cs_buf_init(&ev);
    int rc = cs_pb_encode_object(obj, &env, err, errlen);
    if (rc == 0) {
        cs_pb_put_bytes(&ro, 1, env.data, env.len);
        cs_pb_put_bytes(&ev, 1, type, strlen(type));
        cs_pb_put_bytes(&ev, 2, ro.data, ro.len);
        char len[4] = { (char)(ev.len >> 24), (char)(ev.len >> 16), (char)(ev.len >> 8),
                        (char)ev.len };
        cs_buf_append(out, len, 4);
        cs_buf_append(out, ev.data, ev.len);
    }
    cs_buf_free(&env);
    cs_buf_free(&ro);
    cs_buf_free(&ev);
    return rc;
}
