/*
 * YAML -> JSON with libyaml's event parser, and JSON -> block YAML with a small hand emitter.
 *
 * The reader is a recursive descent over parser events rather than libyaml's document loader,
 * because the loader replaces a missing tag with !!str and so hides whether a scalar was plain
 * (to be typed) or explicitly a string. Anchored nodes are kept in a small table as finished JSON
 * values; an alias deep-copies the value, and every node produced (including copies) is charged
 * against a budget so that a "billion laughs" document fails instead of eating the machine.
 * Merge keys (`<<`) are collected while a mapping is read and applied at its end, so explicit
 * keys always win whatever their position. Nesting is limited to CS_YAML_MAX_DEPTH.
 *
 * The writer picks plain style only for strings that every YAML 1.1/1.2 reader reads back as the
 * same string; everything else is written as a JSON string literal, which is valid YAML.
 */
#include "pkg/util/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "pkg/util/alloc.h"

#define CS_YAML_MAX_DEPTH 512
#define CS_YAML_MAX_NODES (4u * 1024u * 1024u)

struct yaml_anchor {
    char *name;
    json_t *value;
    size_t nodes; /* nodes in value, charged again on every alias */
};

struct yaml_reader {
    yaml_parser_t parser;
    yaml_event_t ev;
    int have_ev;
    struct yaml_anchor *anchors;
    size_t nanchors, capanchors;
    size_t nodes; /* budget used */
    char *err;
    size_t errlen;
};

static void rd_errf(struct yaml_reader *r, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void rd_errf(struct yaml_reader *r, const yaml_mark_t *m, const char *fmt, ...)
{
    if (r->errlen == 0) {
        return;
    }
    int n = snprintf(r->err, r->errlen, "line %zu column %zu: ", m->line + 1, m->column + 1);
    if (n < 0 || (size_t)n >= r->errlen) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
    va_end(ap);
}

/* Replace the current event with the next one. */
static int rd_next(struct yaml_reader *r)
{
    if (r->have_ev) {
        yaml_event_delete(&r->ev);
        r->have_ev = 0;
    }
    if (!yaml_parser_parse(&r->parser, &r->ev)) {
        const yaml_mark_t *m = &r->parser.problem_mark;
        const char *what = r->parser.problem ? r->parser.problem : "invalid YAML";
        if (r->parser.context) {
            rd_errf(r, m, "%s %s", r->parser.context, what);
        } else {
            rd_errf(r, m, "%s", what);
        }
        return -1;
    }
    r->have_ev = 1;
    return 0;
}

static int rd_charge(struct yaml_reader *r, size_t n, const yaml_mark_t *m)
{
    if (n > CS_YAML_MAX_NODES - r->nodes) {
        rd_errf(r, m, "document too large after alias expansion (more than %u nodes)",
                CS_YAML_MAX_NODES);
        return -1;
    }
    r->nodes += n;
    return 0;
}

static void rd_add_anchor(struct yaml_reader *r, const char *name, json_t *v, size_t nodes)
{
    /* A later anchor with the same name shadows the earlier one (YAML spec). */
    r->anchors = cs_grow(r->anchors, sizeof(*r->anchors), r->nanchors + 1, &r->capanchors);
    r->anchors[r->nanchors].name = cs_strdup(name);
    r->anchors[r->nanchors].value = json_incref(v);
    r->anchors[r->nanchors].nodes = nodes;
    r->nanchors++;
}

static const struct yaml_anchor *rd_find_anchor(const struct yaml_reader *r, const char *name)
{
    for (size_t i = r->nanchors; i > 0; i--) {
        if (strcmp(r->anchors[i - 1].name, name) == 0) {
            return &r->anchors[i - 1];
        }
    }
    return NULL;
}

/* ---- scalar resolution ---------------------------------------------------------------- */

enum scalar_kind { SK_STRING, SK_NULL, SK_BOOL, SK_INT, SK_FLOAT };

static int is_null_text(const char *s)
{
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static int bool_text(const char *s)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0) {
        return 1;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0) {
        return 0;
    }
    return -1;
}

/* Integer forms: [-+]? then 0x.., 0o.., 0b.., 0[0-7]+ (YAML 1.1 octal) or decimal, with `_`
 * separators. Returns 1 and sets *iv when it fits int64, 2 and sets *dv when it is an integer
 * too large for int64, 0 when the text is not an integer. */
static int int_text(const char *s, long long *iv, double *dv)
{
    const char *p = s;
    int neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    int base = 10;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O')) {
        base = 8;
        p += 2;
    } else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
        base = 2;
        p += 2;
    } else if (p[0] == '0' && p[1] != '\0') {
        base = 8;
        p += 1;
    }
    if (*p == '\0' || *p == '_') {
        return 0;
    }
    unsigned long long acc = 0;
    int overflow = 0;
    double dacc = 0;
    for (; *p; p++) {
        if (*p == '_') {
            continue;
        }
        int d;
        if (*p >= '0' && *p <= '9') {
            d = *p - '0';
        } else if (*p >= 'a' && *p <= 'f') {
            d = *p - 'a' + 10;
        } else if (*p >= 'A' && *p <= 'F') {
            d = *p - 'A' + 10;
        } else {
            return 0;
        }
        if (d >= base) {
            return 0;
        }
        dacc = dacc * base + d;
        if (acc > (~0ULL - (unsigned long long)d) / (unsigned long long)base) {
            overflow = 1;
        } else {
            acc = acc * (unsigned long long)base + (unsigned long long)d;
        }
    }
    if (!overflow && !neg && acc <= (unsigned long long)INT64_MAX) {
        *iv = (long long)acc;
        return 1;
    }
    if (!overflow && neg && acc <= (unsigned long long)INT64_MAX + 1ULL) {
        *iv = acc == (unsigned long long)INT64_MAX + 1ULL ? INT64_MIN : -(long long)acc;
        return 1;
    }
    *dv = neg ? -dacc : dacc;
    return 2;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ (\.[0-9]*)? ) ([eE][-+]?[0-9]+)? with `_` allowed in digit runs. */
static int float_text(const char *s, double *dv)
{
    const char *p = s;
    size_t digits = 0;
    if (*p == '-' || *p == '+') {
        p++;
    }
    while (isdigit((unsigned char)*p) || (*p == '_' && digits > 0)) {
        digits += *p != '_';
        p++;
    }
    if (*p == '.') {
        p++;
        size_t frac = 0;
        while (isdigit((unsigned char)*p) || (*p == '_' && frac > 0)) {
            frac += *p != '_';
            p++;
        }
        if (digits == 0 && frac == 0) {
            return 0;
        }
    } else if (digits == 0) {
        return 0;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+') {
            p++;
        }
        if (!isdigit((unsigned char)*p)) {
            return 0;
        }
        while (isdigit((unsigned char)*p)) {
            p++;
        }
    }
    if (*p != '\0') {
        return 0;
    }
    char tmp[128];
    size_t j = 0;
    for (const char *q = s; *q && j + 1 < sizeof(tmp); q++) {
        if (*q != '_') {
            tmp[j++] = *q;
        }
    }
    tmp[j] = '\0';
    errno = 0;
    char *end = NULL;
    double d = strtod(tmp, &end);
    if (end == tmp || *end != '\0' || !isfinite(d)) {
        return 0;
    }
    *dv = d;
    return 1;
}

/* Type an untagged plain scalar. Never fails; returns a new reference. */
static json_t *resolve_plain(const char *s, size_t len, enum scalar_kind *kind)
{
    long long iv = 0;
    double dv = 0;
    int b;
    if (strlen(s) != len) { /* embedded NUL: only a string can hold it */
        *kind = SK_STRING;
        return json_stringn(s, len);
    }
    if (is_null_text(s)) {
        *kind = SK_NULL;
        return json_null();
    }
    b = bool_text(s);
    if (b >= 0) {
        *kind = SK_BOOL;
        return json_boolean(b);
    }
    if (strlen(s) < 100) {
        int it = int_text(s, &iv, &dv);
        if (it == 1) {
            *kind = SK_INT;
            return json_integer(iv);
        }
        if (it == 2 && isfinite(dv)) {
            *kind = SK_INT;
            return json_real(dv);
        }
        if (float_text(s, &dv)) {
            *kind = SK_FLOAT;
            return json_real(dv);
        }
    }
    *kind = SK_STRING;
    return json_stringn(s, len);
}

static int rd_scalar(struct yaml_reader *r, json_t **out)
{
    const yaml_event_t *e = &r->ev;
    const char *val = (const char *)e->data.scalar.value;
    size_t len = e->data.scalar.length;
    const char *tag = (const char *)e->data.scalar.tag;
    int plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    json_t *v = NULL;
    enum scalar_kind kind = SK_STRING;

    if (tag != NULL && strcmp(tag, YAML_STR_TAG) == 0) {
        v = json_stringn(val, len);
    } else if (tag != NULL && (strcmp(tag, YAML_INT_TAG) == 0 ||
                               strcmp(tag, YAML_FLOAT_TAG) == 0 ||
                               strcmp(tag, YAML_BOOL_TAG) == 0 ||
                               strcmp(tag, YAML_NULL_TAG) == 0)) {
        v = resolve_plain(val, len, &kind);
        int ok = (strcmp(tag, YAML_INT_TAG) == 0 && kind == SK_INT) ||
                 (strcmp(tag, YAML_FLOAT_TAG) == 0 && (kind == SK_FLOAT || kind == SK_INT)) ||
                 (strcmp(tag, YAML_BOOL_TAG) == 0 && kind == SK_BOOL) ||
                 (strcmp(tag, YAML_NULL_TAG) == 0 && kind == SK_NULL);
        if (!ok) {
            rd_errf(r, &e->start_mark, "cannot decode \"%.*s\" as %s", (int)(len > 64 ? 64 : len),
                    val, tag);
            json_decref(v);
            return -1;
        }
        if (kind == SK_INT && strcmp(tag, YAML_FLOAT_TAG) == 0 && json_is_integer(v)) {
            json_t *f = json_real((double)json_integer_value(v));
            json_decref(v);
            v = f;
        }
    } else if (plain) {
        v = resolve_plain(val, len, &kind);
    } else {
        v = json_stringn(val, len);
    }
    if (v == NULL) {
        rd_errf(r, &e->start_mark, "scalar is not valid UTF-8");
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- structure ------------------------------------------------------------------------ */

static int rd_node(struct yaml_reader *r, int depth, json_t **out, size_t *nodes);

static int rd_apply_merge(struct yaml_reader *r, json_t *obj, json_t *src, const yaml_mark_t *m)
{
    const char *k;
    size_t klen;
    json_t *v;
    if (json_is_array(src)) {
        size_t i;
        json_t *item;
        json_array_foreach(src, i, item) {
            if (rd_apply_merge(r, obj, item, m) < 0) {
                return -1;
            }
        }
        return 0;
    }
    if (!json_is_object(src)) {
        rd_errf(r, m, "merge key << needs a mapping or a sequence of mappings");
        return -1;
    }
    json_object_keylen_foreach(src, k, klen, v) {
        if (json_object_getn(obj, k, klen) == NULL) {
            json_object_setn(obj, k, klen, v);
        }
    }
    return 0;
}

static int rd_mapping(struct yaml_reader *r, int depth, json_t **out, size_t *nodes)
{
    json_t *obj = json_object();
    json_t *merges = json_array();
    json_t *val = NULL;
    char *key = NULL;
    size_t keylen = 0;
    yaml_mark_t start = r->ev.start_mark;

    for (;;) {
        if (rd_next(r) < 0) {
            goto fail;
        }
        if (r->ev.type == YAML_MAPPING_END_EVENT) {
            break;
        }
        yaml_mark_t kmark = r->ev.start_mark;
        int is_merge = 0;
        if (r->ev.type == YAML_SCALAR_EVENT) {
            keylen = r->ev.data.scalar.length;
            key = cs_strndup((const char *)r->ev.data.scalar.value, keylen);
            is_merge = r->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                       r->ev.data.scalar.tag == NULL && strcmp(key, "<<") == 0;
        } else if (r->ev.type == YAML_ALIAS_EVENT) {
            const struct yaml_anchor *a =
                rd_find_anchor(r, (const char *)r->ev.data.alias.anchor);
            if (a == NULL || !json_is_string(a->value)) {
                rd_errf(r, &kmark, "mapping key must be a string scalar");
                goto fail;
            }
            keylen = json_string_length(a->value);
            key = cs_strndup(json_string_value(a->value), keylen);
        } else {
            rd_errf(r, &kmark, "mapping key must be a scalar, not a %s",
                    r->ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "sequence");
            goto fail;
        }
        if (rd_next(r) < 0) {
            goto fail;
        }
        if (rd_node(r, depth + 1, &val, nodes) < 0) {
            goto fail;
        }
        if (is_merge) {
            json_array_append_new(merges, val);
        } else {
            if (json_object_getn(obj, key, keylen) != NULL) {
                rd_errf(r, &kmark, "duplicate mapping key \"%s\"", key);
                goto fail;
            }
            json_object_setn_new(obj, key, keylen, val);
        }
        val = NULL;
        cs_free(key);
        key = NULL;
    }
    size_t i;
    json_t *m;
    json_array_foreach(merges, i, m) {
        if (rd_apply_merge(r, obj, m, &start) < 0) {
            goto fail;
        }
    }
    json_decref(merges);
    *out = obj;
    return 0;
fail:
    json_decref(val);
    cs_free(key);
    json_decref(merges);
    json_decref(obj);
    return -1;
}

static int rd_sequence(struct yaml_reader *r, int depth, json_t **out, size_t *nodes)
{
    json_t *arr = json_array();
    for (;;) {
        if (rd_next(r) < 0) {
            goto fail;
        }
        if (r->ev.type == YAML_SEQUENCE_END_EVENT) {
            break;
        }
        json_t *item = NULL;
        if (rd_node(r, depth + 1, &item, nodes) < 0) {
            goto fail;
        }
        json_array_append_new(arr, item);
    }
    *out = arr;
    return 0;
fail:
    json_decref(arr);
    return -1;
}

/* The current event starts a node; on return the current event is the node's last event.
 * *nodes is increased by the number of JSON values produced. */
static int rd_node(struct yaml_reader *r, int depth, json_t **out, size_t *nodes)
{
    yaml_mark_t m = r->ev.start_mark;
    char *anchor = NULL;
    size_t mine = 0;
    json_t *v = NULL;
    int rc = -1;

    if (depth > CS_YAML_MAX_DEPTH) {
        rd_errf(r, &m, "nesting deeper than %d levels", CS_YAML_MAX_DEPTH);
        return -1;
    }
    switch (r->ev.type) {
    case YAML_ALIAS_EVENT: {
        const struct yaml_anchor *a = rd_find_anchor(r, (const char *)r->ev.data.alias.anchor);
        if (a == NULL) {
            rd_errf(r, &m, "unknown anchor \"%s\"", (const char *)r->ev.data.alias.anchor);
            goto done;
        }
        if (rd_charge(r, a->nodes, &m) < 0) {
            goto done;
        }
        *nodes += a->nodes;
        *out = json_deep_copy(a->value);
        return 0;
    }
    case YAML_SCALAR_EVENT:
        if (r->ev.data.scalar.anchor) {
            anchor = cs_strdup((const char *)r->ev.data.scalar.anchor);
        }
        if (rd_charge(r, 1, &m) < 0 || rd_scalar(r, &v) < 0) {
            goto done;
        }
        mine = 1;
        break;
    case YAML_SEQUENCE_START_EVENT:
        if (r->ev.data.sequence_start.anchor) {
            anchor = cs_strdup((const char *)r->ev.data.sequence_start.anchor);
        }
        if (rd_charge(r, 1, &m) < 0) {
            goto done;
        }
        mine = 1;
        if (rd_sequence(r, depth, &v, &mine) < 0) {
            goto done;
        }
        break;
    case YAML_MAPPING_START_EVENT:
        if (r->ev.data.mapping_start.anchor) {
            anchor = cs_strdup((const char *)r->ev.data.mapping_start.anchor);
        }
        if (rd_charge(r, 1, &m) < 0) {
            goto done;
        }
        mine = 1;
        if (rd_mapping(r, depth, &v, &mine) < 0) {
            goto done;
        }
        break;
    default:
        rd_errf(r, &m, "unexpected YAML event %d", (int)r->ev.type);
        goto done;
    }
    if (anchor) {
        rd_add_anchor(r, anchor, v, mine);
    }
    *nodes += mine;
    *out = v;
    v = NULL;
    rc = 0;
done:
    json_decref(v);
    cs_free(anchor);
    return rc;
}

/* Read the whole stream; documents (null ones dropped when skip_null) go into *out as an array. */
static int rd_stream(const char *text, size_t len, int skip_null, json_t **out, char *err,
                     size_t errlen)
{
    struct yaml_reader r;
    json_t *docs = json_array();
    int rc = -1;

    memset(&r, 0, sizeof(r));
    r.err = err;
    r.errlen = errlen;
    if (errlen > 0) {
        err[0] = '\0';
    }
    *out = NULL;
    if (!yaml_parser_initialize(&r.parser)) {
        snprintf(err, errlen, "cannot initialise the YAML parser");
        json_decref(docs);
        return -1;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    for (;;) {
        if (rd_next(&r) < 0) {
            goto done;
        }
        if (r.ev.type == YAML_STREAM_END_EVENT) {
            break;
        }
        if (r.ev.type != YAML_DOCUMENT_START_EVENT) {
            continue; /* STREAM_START */
        }
        json_t *doc = NULL;
        size_t nodes = 0;
        /* Anchors do not cross document boundaries. */
        for (size_t i = 0; i < r.nanchors; i++) {
            cs_free(r.anchors[i].name);
            json_decref(r.anchors[i].value);
        }
        r.nanchors = 0;
        if (rd_next(&r) < 0 || rd_node(&r, 0, &doc, &nodes) < 0) {
            goto done;
        }
        if (rd_next(&r) < 0) { /* DOCUMENT_END */
            json_decref(doc);
            goto done;
        }
        if (skip_null && json_is_null(doc)) {
            json_decref(doc);
        } else {
            json_array_append_new(docs, doc);
        }
    }
    *out = docs;
    docs = NULL;
    rc = 0;
done:
    if (r.have_ev) {
        yaml_event_delete(&r.ev);
    }
    for (size_t i = 0; i < r.nanchors; i++) {
        cs_free(r.anchors[i].name);
        json_decref(r.anchors[i].value);
    }
    cs_free(r.anchors);
    yaml_parser_delete(&r.parser);
    json_decref(docs);
    return rc;
}

int cs_yaml_to_json(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
    json_t *docs = NULL;
    *out = NULL;
    if (rd_stream(text, len, 0, &docs, err, errlen) < 0) {
        return -1;
    }
    size_t n = json_array_size(docs);
    if (n > 1) {
        snprintf(err, errlen, "expected a single YAML document, found %zu", n);
        json_decref(docs);
        return -1;
    }
    *out = n == 1 ? json_incref(json_array_get(docs, 0)) : json_null();
    json_decref(docs);
    return 0;
}

int cs_yaml_to_json_docs(const char *text, size_t len, json_t **out, char *err, size_t errlen)
{
    return rd_stream(text, len, 1, out, err, errlen);
}

/* ---- writer --------------------------------------------------------------------------- */

static int plain_safe_char(char c)
{
    return isalnum((unsigned char)c) || strchr("-_./+@=()~ ,;$^%!'\"`", c) != NULL ||
           (unsigned char)c >= 0x80;
}

/* 1 when s can be written without quotes and reads back as the same string. */
static int plain_ok(const char *s, size_t len)
{
    if (len == 0 || strlen(s) != len) {
        return 0;
    }
    unsigned char c0 = (unsigned char)s[0];
    if (!(isalnum(c0) || c0 == '.' || c0 == '/' || c0 == '_' || c0 >= 0x80)) {
        return 0;
    }
    if (s[len - 1] == ' ' || s[len - 1] == ':') {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == ':') {
            if (s[i + 1] == ' ') {
                return 0;
            }
            continue;
        }
        if (c == '"' || c == '\'' || c == '`' || c == '!') {
            if (i == 0) {
                return 0;
            }
        }
        if (!plain_safe_char(c)) {
            return 0;
        }
    }
    /* Number-like text (any base, any length) is quoted even when our resolver would leave it
     * a string, since other readers may still take it for a number. */
    if (isdigit(c0) || c0 == '.') {
        int numberish = 1;
        for (size_t i = 0; i < len && numberish; i++) {
            numberish = strchr("0123456789abcdefABCDEFxXoO._+-", s[i]) != NULL;
        }
        if (numberish) {
            return 0;
        }
    }
    /* Anything a YAML reader would type (ours, or YAML 1.1's yes/no/on/off/y/n, .inf, .nan). */
    enum scalar_kind kind;
    json_t *t = resolve_plain(s, len, &kind);
    json_decref(t);
    if (kind != SK_STRING) {
        return 0;
    }
    static const char *const yaml11[] = { "y", "n", "yes", "no", "on", "off", ".inf", ".nan",
                                          "+.inf", "-.inf" };
    for (size_t i = 0; i < sizeof(yaml11) / sizeof(yaml11[0]); i++) {
        if (strcasecmp(s, yaml11[i]) == 0) {
            return 0;
        }
    }
    return 1;
}

static void wr_string(struct cs_buf *b, const char *s, size_t len)
{
    if (plain_ok(s, len)) {
        cs_buf_append(b, s, len);
        return;
    }
    if (strlen(s) == len) {
        cs_buf_json_str(b, s);
        return;
    }
    /* Embedded NULs: escape byte by byte. */
    cs_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        char one[2] = { s[i], '\0' };
        if (s[i] == '\0') {
            cs_buf_puts(b, "\\0");
        } else {
            struct cs_buf t;
            cs_buf_init(&t);
            cs_buf_json_str(&t, one);
            cs_buf_append(b, t.data + 1, t.len - 2);
            cs_buf_free(&t);
        }
    }
    cs_buf_putc(b, '"');
}

static void wr_scalar(struct cs_buf *b, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        wr_string(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        cs_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        char tmp[64];
        snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
        cs_buf_puts(b, tmp);
        if (strpbrk(tmp, ".eEn") == NULL) {
            cs_buf_puts(b, ".0");
        }
        break;
    }
    case JSON_TRUE:
        cs_buf_puts(b, "true");
        break;
    case JSON_FALSE:
        cs_buf_puts(b, "false");
        break;
    case JSON_NULL:
        cs_buf_puts(b, "null");
        break;
    case JSON_OBJECT:
        cs_buf_puts(b, "{}");
        break;
    case JSON_ARRAY:
        cs_buf_puts(b, "[]");
        break;
    }
}

static int is_block(const json_t *v)
{
    return (json_is_object(v) && json_object_size(v) > 0) ||
           (json_is_array(v) && json_array_size(v) > 0);
}

static void wr_pad(struct cs_buf *b, int n)
{
    for (int i = 0; i < n; i++) {
        cs_buf_putc(b, ' ');
    }
}

/* v is a non-empty object or array. When first_inline, the cursor already sits at column
 * `indent` (after "- ") so the first line gets no padding. */
static void wr_block(struct cs_buf *b, const json_t *v, int indent, int first_inline)
{
    int first = 1;
    if (json_is_object(v)) {
        const char *k;
        size_t klen;
        json_t *child;
        /* json_object_keylen_foreach wants a non-const object; iteration does not modify it. */
        json_t *obj = (json_t *)(uintptr_t)v;
        json_object_keylen_foreach(obj, k, klen, child) {
            if (!first || !first_inline) {
                wr_pad(b, indent);
            }
            first = 0;
            wr_string(b, k, klen);
            cs_buf_putc(b, ':');
            if (!is_block(child)) {
                cs_buf_putc(b, ' ');
                wr_scalar(b, child);
                cs_buf_putc(b, '\n');
            } else if (json_is_object(child)) {
                cs_buf_putc(b, '\n');
                wr_block(b, child, indent + 2, 0);
            } else {
                cs_buf_putc(b, '\n');
                wr_block(b, child, indent, 0);
            }
        }
        return;
    }
    size_t i;
    const json_t *item;
    for (i = 0; i < json_array_size(v); i++) {
        item = json_array_get(v, i);
        if (!first || !first_inline) {
            wr_pad(b, indent);
        }
        first = 0;
        cs_buf_puts(b, "- ");
        if (!is_block(item)) {
            wr_scalar(b, item);
            cs_buf_putc(b, '\n');
        } else {
            wr_block(b, item, indent + 2, 1);
        }
    }
}

void cs_json_to_yaml(const json_t *v, struct cs_buf *b)
{
    if (v == NULL) {
        cs_buf_puts(b, "null\n");
        return;
    }
    if (is_block(v)) {
        wr_block(b, v, 0, 0);
    } else {
        wr_scalar(b, v);
        cs_buf_putc(b, '\n');
    }
}
