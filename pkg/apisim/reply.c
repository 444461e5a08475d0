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
    if (name || kind) {
        cs_buf_puts(b, ",\"details\":{");
        if (name) {
            cs_buf_puts(b, "\"name\":");
            cs_buf_json_str(b, name);
        }
        if (kind) {
            cs_buf_puts(b, name ? ",\"kind\":" : "\"kind\":");
            cs_buf_json_str(b, kind);
        }
        cs_buf_putc(b, '}');
    }
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
