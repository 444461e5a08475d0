/*
 * Building apisim replies: metav1.Status errors with the HTTP code repeated in `code`, and
 * object bodies (JSON, or YAML when the client asked for it).
 */
#include "pkg/apisim/http.h"

#include <stdlib.h>
#include <string.h>

#include "pkg/util/yaml.h"

void cs_apisim_reply_init(struct cs_apisim_reply *r)
{
    memset(r, 0, sizeof(*r));
    r->code = 200;
    r->ctype = "application/json";
    cs_buf_init(&r->body);
}

void cs_apisim_reply_free(struct cs_apisim_reply *r)
{
    cs_buf_free(&r->body);
}

/* A copy of s[0..n) as a NUL-terminated string in buf (cut to fit). */
static const char *copy_n(char *buf, size_t size, const char *s, size_t n)
{
    if (n >= size)
        n = size - 1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

/* The StatusCause reason of one field error, from its body ("Required value", "Invalid
 * value: ..."), as apimachinery's field.ErrorType names it; NULL when unknown. */
static const char *cause_reason(const char *body)
{
    static const struct { const char *prefix, *reason; } types[] = {
        { "Required value", "FieldValueRequired" },
        { "Invalid value", "FieldValueInvalid" },
        { "Forbidden", "FieldValueForbidden" },
        { "Unsupported value", "FieldValueNotSupported" },
        { "Duplicate value", "FieldValueDuplicate" },
        { "Not found", "FieldValueNotFound" },
        { "Too long", "FieldValueTooLong" },
        { "Too many", "FieldValueTooMany" },
        { "Internal error", "InternalError" },
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = strlen(types[i].prefix);
        if (!strncmp(body, types[i].prefix, n) &&
            (body[n] == 0 || body[n] == ':' || body[n] == ','))
            return types[i].reason;
    }
    return NULL;
}

/* Does s start a field error, "<field>: <Type>..." (the field has no spaces)? Returns the
 * ": " after the field, or NULL. */
static const char *field_error_at(const char *s, const char *end)
{
    const char *colon = strstr(s, ": ");
    if (!colon || colon >= end || colon == s || memchr(s, ' ', (size_t)(colon - s)))
        return NULL;
    return cause_reason(colon + 2) ? colon : NULL;
}

/* One StatusCause per field error of errs: "<field>: <error>" or an aggregate
 * "[<field>: <error>, <field>: <error>]" (split where the next field error starts). */
static void put_causes(struct cs_buf *b, const char *errs)
{
    char ebuf[1024];
    size_t elen = strlen(errs);
    if (errs[0] == '[' && elen > 1 && errs[elen - 1] == ']')
        errs = copy_n(ebuf, sizeof(ebuf), errs + 1, elen - 2);
    const char *p = errs, *end = errs + strlen(errs);
    const char *colon = field_error_at(p, end);
    if (!colon)
        return;
    cs_buf_puts(b, ",\"causes\":[");
    char fbuf[256], mbuf[1024];
    for (int first = 1; colon; first = 0) {
        const char *next = NULL, *ncolon = NULL;
        for (const char *c = strstr(colon + 2, ", "); c && c < end; c = strstr(c + 2, ", "))
            if ((ncolon = field_error_at(c + 2, end))) {
                next = c;
                break;
            }
        const char *stop = next ? next : end;
        const char *body = copy_n(mbuf, sizeof(mbuf), colon + 2, (size_t)(stop - colon - 2));
        cs_buf_puts(b, first ? "{\"reason\":" : ",{\"reason\":");
        cs_buf_json_str(b, cause_reason(body));
        cs_buf_puts(b, ",\"message\":");
        cs_buf_json_str(b, body);
        cs_buf_puts(b, ",\"field\":");
        cs_buf_json_str(b, copy_n(fbuf, sizeof(fbuf), p, (size_t)(colon - p)));
        cs_buf_putc(b, '}');
        p = next ? next + 2 : end;
        colon = next ? ncolon : NULL;
    }
    cs_buf_putc(b, ']');
}

/*
 * The details of a Status, as kube-apiserver fills them: for 422 Invalid (message
 * `<Kind>[.<group>] "<name>" is invalid: <field errors>`) the kind, group and one cause per
 * field error; otherwise the resource passed as kind and, when the message names it qualified
 * (`<resource>.<group> "<name>"`), its group.
 */
static void status_details(struct cs_buf *b, int code, const char *reason, const char *message,
                           const char *name, const char *kind)
{
    char kbuf[128], gbuf[128];
    const char *group = NULL, *errs = NULL;
    const char *inv = message ? strstr(message, "\" is invalid: ") : NULL;
    const char *q = inv ? memchr(message, '"', (size_t)(inv - message)) : NULL;
    if (code == 422 && reason && !strcmp(reason, "Invalid") && q && q > message && q[-1] == ' ') {
        const char *dot = memchr(message, '.', (size_t)(q - 1 - message));
        kind = copy_n(kbuf, sizeof(kbuf), message, (size_t)((dot ? dot : q - 1) - message));
        if (dot)
            group = copy_n(gbuf, sizeof(gbuf), dot + 1, (size_t)(q - 2 - dot));
        errs = inv + strlen("\" is invalid: ");
    } else if (kind && message && !strchr(kind, '/')) {
        size_t kl = strlen(kind);
        for (const char *p = strstr(message, kind); p; p = strstr(p + 1, kind)) {
            const char *g = p + kl, *end;
            if ((p == message || p[-1] == ' ') && *g == '.' && (end = strstr(g, " \"")) &&
                !memchr(g, ' ', (size_t)(end - g))) {
                group = copy_n(gbuf, sizeof(gbuf), g + 1, (size_t)(end - g - 1));
                break;
            }
        }
    }
    if (!name && !kind)
        return;
    cs_buf_puts(b, ",\"details\":{");
    const char *sep = "";
    if (name) {
        cs_buf_puts(b, "\"name\":");
        cs_buf_json_str(b, name);
        sep = ",";
    }
    if (group && group[0]) {
        cs_buf_printf(b, "%s\"group\":", sep);
        cs_buf_json_str(b, group);
        sep = ",";
    }
    if (kind) {
        cs_buf_printf(b, "%s\"kind\":", sep);
        cs_buf_json_str(b, kind);
    }
    if (errs)
        put_causes(b, errs);
    cs_buf_putc(b, '}');
}

void cs_apisim_status_json(struct cs_buf *b, int code, const char *reason, const char *message,
                           const char *name, const char *kind)
{
    cs_buf_puts(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":");
    cs_buf_puts(b, code < 300 ? "\"Success\"" : "\"Failure\"");
    if (message) {
        cs_buf_puts(b, ",\"message\":");
        cs_buf_json_str(b, message);
    }
    if (reason && reason[0]) {
        cs_buf_puts(b, ",\"reason\":");
        cs_buf_json_str(b, reason);
    }
    status_details(b, code, reason, message, name, kind);
    cs_buf_printf(b, ",\"code\":%d}", code);
}

void cs_apisim_reply_status(struct cs_apisim_reply *r, int code, const char *reason,
                            const char *message, const char *name, const char *kind)
{
    r->code = code;
    r->ctype = "application/json";
    cs_buf_reset(&r->body);
    cs_apisim_status_json(&r->body, code, reason, message, name, kind);
}

void cs_apisim_reply_st(struct cs_apisim_reply *r, const struct cs_apisim_status *st,
                        const char *name, const char *kind)
{
    cs_apisim_reply_status(r, st->code, st->reason, st->message, name, kind);
}

void cs_apisim_reply_text(struct cs_apisim_reply *r, int code, const char *json, size_t len)
{
    r->code = code;
    cs_buf_reset(&r->body);
    if (r->ctype && !strcmp(r->ctype, "application/yaml")) {
        json_t *j = json_loadb(json, len, 0, NULL);
        if (j) {
            cs_json_to_yaml(j, &r->body);
            json_decref(j);
            return;
        }
        r->ctype = "application/json";
    }
    cs_buf_append(&r->body, json, len);
}

void cs_apisim_reply_json(struct cs_apisim_reply *r, int code, const json_t *j)
{
    r->code = code;
    cs_buf_reset(&r->body);
    if (r->ctype && !strcmp(r->ctype, "application/yaml")) {
        cs_json_to_yaml(j, &r->body);
        return;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s) {
        cs_buf_puts(&r->body, s);
        free(s);
    }
}
