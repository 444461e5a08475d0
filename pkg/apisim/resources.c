/*
 * apisim resource endpoints: routing of /api/v1/... and /apis/{g}/{v}/... paths and the
 * generic verbs (get, list, create, update, patch, delete, deletecollection) plus the status
 * and scale subresources, for every served type.
 *
 * Objects are stored in storage form; a request may address a different view (events.k8s.io
 * Events over core Events, or another served version of a CRD). Bodies are converted to
 * storage form on the way in and to the view on the way out. Paginated lists are consistent:
 * the continue token carries the snapshot RV and the last key, and later pages rebuild the
 * snapshot by undoing newer events from the history ring (410 once they fell out of it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/apisim/fieldsel.h"
#include "pkg/apisim/http.h"
#include "pkg/apisim/patch.h"
#include "api/pbjson.h"
#include "pkg/apisim/tls.h"
#include "pkg/util/alloc.h"
#include "pkg/util/selector.h"
#include "pkg/util/yaml.h"

/* --- routing --------------------------------------------------------------------------------- */

int cs_apisim_route(struct cs_apisim_req *q, const char *path)
{
    char *segs[12];
    int n = 0;
    snprintf(q->segbuf, sizeof(q->segbuf), "%s", path);
    char *p = q->segbuf;
    while (*p && n < 12) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        segs[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = 0;
        p = slash + 1;
    }
    int i;
    if (n >= 2 && !strcmp(segs[0], "api")) {
        q->group = "";
        q->version = segs[1];
        i = 2;
    } else if (n >= 3 && !strcmp(segs[0], "apis")) {
        q->group = segs[1];
        q->version = segs[2];
        i = 3;
    } else {
        return -1;
    }
    int rest = n - i;
    if (rest <= 0)
        return -1;
    if (!strcmp(segs[i], "namespaces") && rest >= 3 &&
        !(rest == 3 && (!strcmp(segs[i + 2], "status") || !strcmp(segs[i + 2], "finalize")))) {
        q->ns = segs[i + 1];
        q->resource = segs[i + 2];
        q->name = rest >= 4 ? segs[i + 3] : NULL;
        q->sub = rest >= 5 ? segs[i + 4] : NULL;
        return rest > 5 ? -1 : 0;
    }
    q->resource = segs[i];
    q->name = rest >= 2 ? segs[i + 1] : NULL;
    q->sub = rest >= 3 ? segs[i + 2] : NULL;
    return rest > 3 ? -1 : 0;
}

/* --- helpers --------------------------------------------------------------------------------- */

static const char *kind_of(const struct cs_apisim_req *q)
{
    return q->rt ? q->rt->resource : q->resource;
}

static int is_events_view(const struct cs_apisim_req *q)
{
    return q->rt && !strcmp(q->rt->group, "events.k8s.io") && !strcmp(q->rt->resource, "events");
}

json_t *cs_apisim_to_view(const struct cs_apisim_req *q, const json_t *stored)
{
    if (is_events_view(q))
        return cs_apisim_event_from_core(stored);
    if (q->rt && q->rt->is_crd && strcmp(q->version, q->rt->version)) {
        json_t *j = json_copy((json_t *)stored);
        char av[256];
        snprintf(av, sizeof(av), "%s/%s", q->rt->group, q->version);
        json_object_set_new(j, "apiVersion", json_string(av));
        return j;
    }
    return json_incref((json_t *)stored);
}

/* View body -> storage form (new reference). */
static json_t *to_storage(const struct cs_apisim_req *q, json_t *view)
{
    if (is_events_view(q))
        return cs_apisim_event_to_core(view);
    if (q->rt && q->rt->is_crd) {
        json_t *j = json_incref(view);
        json_object_set_new(j, "apiVersion", json_string(q->rt->api_version));
        return j;
    }
    return json_incref(view);
}

static void reply_obj(struct cs_apisim_req *q, struct cs_apisim_reply *r, int code,
                      const json_t *stored)
{
    if (q->as_table) {
        const json_t *one[1] = { stored };
        r->code = code;
        cs_apisim_table(q, one, 1, NULL, NULL, 1, &r->body);
        return;
    }
    json_t *v = cs_apisim_to_view(q, stored);
    cs_apisim_reply_json(r, code, v);
    json_decref(v);
}

/* Parse the request body (JSON or YAML). Returns a new reference or NULL with a reply. */
static json_t *parse_body(struct cs_apisim_req *q, struct cs_apisim_reply *r, int patch)
{
    const char *ct = cs_apisim_header(q, "Content-Type");
    int yaml = 0;
    if (ct && ct[0]) {
        if (patch) {
            if (!strstr(ct, "application/merge-patch+json") &&
                !strstr(ct, "application/json-patch+json") &&
                !strstr(ct, "application/strategic-merge-patch+json") &&
                !strstr(ct, "application/apply-patch+yaml")) {
                char msg[400];
                snprintf(msg, sizeof(msg), "the body of the request was in an unknown format - "
                         "accepted media types include: application/json-patch+json, "
                         "application/merge-patch+json, application/apply-patch+yaml, "
                         "application/strategic-merge-patch+json (got %.120s)", ct);
                cs_apisim_reply_status(r, 415, "UnsupportedMediaType", msg, NULL, NULL);
                return NULL;
            }
            yaml = strstr(ct, "yaml") != NULL;
        } else if (strstr(ct, "application/yaml")) {
            yaml = 1;
        } else if (strstr(ct, "application/vnd.kubernetes.protobuf")) {
            char perr[300];
            json_t *pj = cs_pb_decode_object(q->body, q->body_len, perr, sizeof(perr));
            if (!pj)
                cs_apisim_reply_status(r, 415, "UnsupportedMediaType", perr, NULL, NULL);
            return pj;
        } else if (!strstr(ct, "application/json") && !strstr(ct, "*/*")) {
            char msg[400];
            snprintf(msg, sizeof(msg), "the body of the request was in an unknown format - "
                     "accepted media types include: application/json, application/yaml "
                     "(got %.120s)", ct);
            cs_apisim_reply_status(r, 415, "UnsupportedMediaType", msg, NULL, NULL);
            return NULL;
        }
    }
    json_t *j = NULL;
    char msg[400];
    if (yaml) {
        char err[256];
        if (cs_yaml_to_json(q->body, q->body_len, &j, err, sizeof(err))) {
            snprintf(msg, sizeof(msg), "invalid YAML body: %s", err);
            cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
            return NULL;
        }
    } else {
        json_error_t e;
        j = json_loadb(q->body, q->body_len, JSON_DECODE_ANY, &e);
        if (!j) {
            snprintf(msg, sizeof(msg), "invalid JSON body: %s (line %d, column %d)", e.text,
                     e.line, e.column);
            cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
            return NULL;
        }
    }
    return j;
}

/* Object bodies must be objects whose kind/apiVersion (if given) match the endpoint. */
static int check_object_body(struct cs_apisim_req *q, struct cs_apisim_reply *r, json_t *j,
                             const char *want_kind)
{
    char msg[400];
    if (!json_is_object(j)) {
        snprintf(msg, sizeof(msg), "%s in version \"%s\" cannot be handled as a %s: body must be "
                 "a JSON object", want_kind, q->version, want_kind);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        return -1;
    }
    json_t *meta = json_object_get(j, "metadata");
    if (meta && !json_is_object(meta) && !json_is_null(meta)) {
        snprintf(msg, sizeof(msg), "%s in version \"%s\" cannot be handled as a %s: metadata "
                 "must be an object", want_kind, q->version, want_kind);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        return -1;
    }
    json_t *kind = json_object_get(j, "kind");
    if (kind && (!json_is_string(kind) || strcmp(json_string_value(kind), want_kind))) {
        snprintf(msg, sizeof(msg), "%s in version \"%s\" cannot be handled as a %s: kind %s does "
                 "not match", want_kind, q->version, want_kind,
                 json_is_string(kind) ? json_string_value(kind) : "(not a string)");
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        return -1;
    }
    const char *av = json_string_value(json_object_get(j, "apiVersion"));
    char want_av[256];
    if (q->group[0])
        snprintf(want_av, sizeof(want_av), "%s/%s", q->group, q->version);
    else
        snprintf(want_av, sizeof(want_av), "%s", q->version);
    if (av && strcmp(av, want_av)) {
        snprintf(msg, sizeof(msg), "the API version in the data (%s) does not match the expected "
                 "API version (%s)", av, want_av);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        return -1;
    }
    return 0;
}

/* --- selectors ------------------------------------------------------------------------------- */

int cs_apisim_match_obj(const json_t *obj, void *arg)
{
    struct cs_apisim_match *m = arg;
    if (m->labels && !cs_selector_is_empty(m->labels)) {
        struct cs_label lbuf[64];
        size_t n = 0;
        const char *k;
        json_t *v;
        json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
        json_object_foreach(labels, k, v) {
            if (n < 64 && json_is_string(v)) {
                lbuf[n].key = k;
                lbuf[n].value = json_string_value(v);
                n++;
            }
        }
        if (!cs_selector_matches(m->labels, lbuf, n))
            return 0;
    }
    return cs_apisim_fieldsel_match(&m->fields, obj);
}

int cs_apisim_match_init(struct cs_apisim_req *q, struct cs_apisim_reply *r,
                         struct cs_apisim_match *m)
{
    char err[512];
    memset(m, 0, sizeof(*m));
    const char *ls = cs_apisim_query(q, "labelSelector");
    const char *fs = cs_apisim_query(q, "fieldSelector");
    if (ls && ls[0] && cs_selector_parse(ls, NULL, &m->labels, err, sizeof(err))) {
        cs_apisim_reply_status(r, 400, "BadRequest", err, NULL, NULL);
        return -1;
    }
    if (fs && fs[0] &&
        cs_apisim_fieldsel_parse(fs, q->rt->group, q->rt->resource, &m->fields, err,
                                 sizeof(err))) {
        cs_selector_free(m->labels);
        m->labels = NULL;
        cs_apisim_reply_status(r, 400, "BadRequest", err, NULL, NULL);
        return -1;
    }
    return 0;
}

void cs_apisim_match_free(struct cs_apisim_match *m)
{
    cs_selector_free(m->labels);
    cs_apisim_fieldsel_free(&m->fields);
}

/* --- list ------------------------------------------------------------------------------------ */

struct snap_item {
    const char *key;
    struct cs_apisim_obj *obj;
};

static int cmp_snap(const void *a, const void *b)
{
    return strcmp(((const struct snap_item *)a)->key, ((const struct snap_item *)b)->key);
}

static int ns_matches(const struct cs_apisim_rtype *rt, const char *ns, const char *key)
{
    size_t n = ns ? strlen(ns) : 0;
    return !ns || !rt->namespaced || (!strncmp(key, ns, n) && key[n] == '/');
}

/* Objects of rt as they were at rv (<= store rv), via the history ring. Returns 0 or -1 when
 * the history no longer reaches back to rv. Items are borrowed (valid under the lock). */
static int snapshot_at(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                       const char *ns, uint64_t rv, struct snap_item **out, size_t *nout)
{
    struct cs_map m;
    struct cs_apisim_list cur;
    cs_map_init(&m);
    cs_apisim_store_list(s, rt, ns, NULL, NULL, &cur);
    for (size_t i = 0; i < cur.len; i++)
        cs_map_put(&m, cs_apisim_obj_key(cur.items[i]), cur.items[i]);
    int rc = 0;
    if (rv < s->rv && rv + 1 < cs_apisim_store_oldest_rv(s)) {
        rc = -1;
        goto done;
    }
    for (uint64_t r = s->rv; r > rv; r--) {
        struct cs_apisim_event ev;
        if (!cs_apisim_store_event(s, r, &ev)) {
            rc = -1;
            goto done;
        }
        if (ev.rt != rt)
            continue;
        const char *key = cs_apisim_obj_key(ev.new_obj);
        if (!ns_matches(rt, ns, key))
            continue;
        if (ev.type == CS_APISIM_ADDED)
            cs_map_del(&m, key);
        else
            cs_map_put(&m, cs_apisim_obj_key(ev.old_obj), ev.old_obj);
    }
    size_t n = cs_map_len(&m), k = 0;
    struct snap_item *items = cs_calloc(n ? n : 1, sizeof(*items));
    const char *key;
    void *val;
    for (size_t it = 0; cs_map_next(&m, &it, &key, &val);) {
        items[k].key = cs_apisim_obj_key(val);
        items[k].obj = val;
        k++;
    }
    qsort(items, k, sizeof(*items), cmp_snap);
    *out = items;
    *nout = k;
done:
    cs_map_destroy(&m);
    cs_apisim_list_free(&cur);
    return rc;
}

static void encode_continue(uint64_t rv, const char *key, struct cs_buf *out)
{
    struct cs_buf raw;
    cs_buf_init(&raw);
    cs_buf_printf(&raw, "{\"v\":\"meta.k8s.io/v1\",\"rv\":%llu,\"start\":", (unsigned long long)rv);
    cs_buf_json_str(&raw, key);
    cs_buf_putc(&raw, '}');
    cs_apisim_tls_base64(raw.data, raw.len, out);
    cs_buf_free(&raw);
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

static int decode_continue(const char *tok, uint64_t *rv, char *key, size_t keycap)
{
    struct cs_buf raw;
    unsigned acc = 0;
    int bits = 0, rc = -1;
    cs_buf_init(&raw);
    for (const char *p = tok; *p && *p != '='; p++) {
        int v = b64val((unsigned char)*p);
        if (v < 0)
            goto done;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            cs_buf_putc(&raw, (char)((acc >> bits) & 0xff));
        }
    }
    json_t *j = json_loadb(raw.data ? raw.data : "", raw.len, 0, NULL);
    json_t *jrv = json_object_get(j, "rv");
    const char *start = json_string_value(json_object_get(j, "start"));
    if (json_is_integer(jrv) && json_integer_value(jrv) >= 0 && start) {
        *rv = (uint64_t)json_integer_value(jrv);
        snprintf(key, keycap, "%s", start);
        rc = 0;
    }
    json_decref(j);
done:
    cs_buf_free(&raw);
    return rc;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!s || !s[0] || s[0] == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static void handle_list(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                        struct cs_apisim_reply *r)
{
    struct cs_apisim_store *s = sv->store;
    struct cs_apisim_match m;
    char msg[700];
    if (cs_apisim_match_init(q, r, &m))
        return;
    const char *lim = cs_apisim_query(q, "limit");
    const char *cont = cs_apisim_query(q, "continue");
    const char *rvp = cs_apisim_query(q, "resourceVersion");
    const char *rvm = cs_apisim_query(q, "resourceVersionMatch");
    uint64_t limit = 0, snap_rv = s->rv, want_rv = 0;
    char start[600] = "";
    struct snap_item *items = NULL;
    size_t nitems = 0;
    const json_t **objs = NULL;
    struct cs_apisim_obj **chosen = NULL;
    struct cs_buf tok;
    cs_buf_init(&tok);
    if (lim && lim[0] && parse_u64(lim, &limit)) {
        snprintf(msg, sizeof(msg), "invalid limit %s: must be a non-negative integer", lim);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        goto done;
    }
    if (rvp && rvp[0] && parse_u64(rvp, &want_rv)) {
        snprintf(msg, sizeof(msg), "invalid resource version \"%s\"", rvp);
        cs_apisim_reply_status(r, 400, "BadRequest", msg, NULL, NULL);
        goto done;
    }
    if (cont && cont[0]) {
        if (rvp && rvp[0]) {
            cs_apisim_reply_status(r, 400, "BadRequest", "specifying resource version is not "
                                   "allowed when using continue", NULL, NULL);
            goto done;
        }
        if (decode_continue(cont, &snap_rv, start, sizeof(start)) || snap_rv > s->rv) {
            cs_apisim_reply_status(r, 400, "BadRequest", "continue key is not valid: incorrect "
                                   "encoded start resourceVersion (version meta.k8s.io/v1)",
                                   NULL, NULL);
            goto done;
        }
    } else if (rvm && !strcmp(rvm, "Exact")) {
        if (!rvp || !rvp[0] || want_rv == 0) {
            cs_apisim_reply_status(r, 422, "Invalid", "resourceVersionMatch: Forbidden: "
                                   "resourceVersionMatch \"exact\" is forbidden for "
                                   "resourceVersion \"0\"", NULL, NULL);
            goto done;
        }
        snap_rv = want_rv;
    } else if (rvm && rvm[0] && strcmp(rvm, "NotOlderThan")) {
        snprintf(msg, sizeof(msg), "resourceVersionMatch: Unsupported value: \"%s\": supported "
                 "values: \"Exact\", \"NotOlderThan\"", rvm);
        cs_apisim_reply_status(r, 422, "Invalid", msg, NULL, NULL);
        goto done;
    }
    if (want_rv > s->rv) {
        snprintf(msg, sizeof(msg), "Too large resource version: %llu, current: %llu",
                 (unsigned long long)want_rv, (unsigned long long)s->rv);
        cs_apisim_reply_status(r, 504, "Timeout", msg, NULL, NULL);
        goto done;
    }
    if (snapshot_at(s, q->store_rt, q->ns, snap_rv, &items, &nitems)) {
        if (cont) {
            snprintf(msg, sizeof(msg), "The provided continue parameter is too old to display a "
                     "consistent list result. You can start a new list without the continue "
                     "parameter.");
            cs_apisim_reply_status(r, 410, "Expired", msg, NULL, NULL);
        } else {
            snprintf(msg, sizeof(msg), "too old resource version: %llu (%llu)",
                     (unsigned long long)snap_rv,
                     (unsigned long long)(cs_apisim_store_oldest_rv(s) - 1));
            cs_apisim_reply_status(r, 410, "Expired", msg, NULL, NULL);
        }
        goto done;
    }
    size_t nobjs = 0, remaining = 0;
    const char *last_key = NULL;
    objs = cs_calloc(nitems ? nitems : 1, sizeof(*objs));
    chosen = cs_calloc(nitems ? nitems : 1, sizeof(*chosen));
    for (size_t i = 0; i < nitems; i++) {
        if (start[0] && strcmp(items[i].key, start) <= 0)
            continue;
        const json_t *o = cs_apisim_obj_json(items[i].obj);
        if (!o || !cs_apisim_match_obj(o, &m))
            continue;
        if (limit && nobjs == limit) {
            remaining++;
            continue;
        }
        chosen[nobjs] = items[i].obj;
        objs[nobjs++] = o;
        last_key = items[i].key;
    }
    if (remaining && last_key)
        encode_continue(snap_rv, last_key, &tok);
    char rvbuf[24];
    snprintf(rvbuf, sizeof(rvbuf), "%llu", (unsigned long long)snap_rv);
    r->code = 200;
    if (q->as_table) {
        cs_apisim_table(q, objs, nobjs, rvbuf, tok.len ? tok.data : NULL, 1, &r->body);
        goto done;
    }
    struct cs_buf *b = &r->body;
    char av[256];
    if (q->group[0])
        snprintf(av, sizeof(av), "%s/%s", q->group, q->version);
    else
        snprintf(av, sizeof(av), "%s", q->version);
    cs_buf_printf(b, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{\"resourceVersion\":"
                  "\"%s\"", q->rt->list_kind, av, rvbuf);
    if (tok.len) {
        cs_buf_puts(b, ",\"continue\":");
        cs_buf_json_str(b, tok.data);
        cs_buf_printf(b, ",\"remainingItemCount\":%zu", remaining);
    }
    cs_buf_puts(b, "},\"items\":[");
    int plain = !is_events_view(q) && !(q->rt->is_crd && strcmp(q->version, q->rt->version));
    for (size_t i = 0; i < nobjs; i++) {
        if (i)
            cs_buf_putc(b, ',');
        if (plain) {
            size_t len;
            const char *t = cs_apisim_obj_text(chosen[i], &len);
            cs_buf_append(b, t, len);
        } else {
            json_t *v = cs_apisim_to_view(q, objs[i]);
            char *t = json_dumps(v, JSON_COMPACT);
            if (t) {
                cs_buf_puts(b, t);
                free(t);
            }
            json_decref(v);
        }
    }
    cs_buf_puts(b, "]}");
    if (r->ctype && !strcmp(r->ctype, "application/yaml")) {
        json_t *j = json_loadb(b->data, b->len, 0, NULL);
        cs_buf_reset(b);
        cs_json_to_yaml(j, b);
        json_decref(j);
    }
done:
    cs_buf_free(&tok);
    cs_free(chosen);
    cs_free(objs);
    cs_free(items);
    cs_apisim_match_free(&m);
}

/* --- create / update / patch ----------------------------------------------------------------- */

static int ns_exists(struct cs_apisim_server *sv, const char *ns)
{
    return cs_apisim_store_get(sv->store, sv->ns_rt, NULL, ns) != NULL;
}

/*
 * The events.k8s.io view stores core Events, whose store errors name "events"; the real server
 * names the resource it was asked for ("events.events.k8s.io"). Rewrites the first mention.
 */
static void reply_st_view(struct cs_apisim_reply *r, struct cs_apisim_status *st,
                          const char *name, const struct cs_apisim_req *q)
{
    if (q->rt && q->store_rt && q->rt != q->store_rt && q->rt->group[0]) {
        char pat[160], out[sizeof(st->message)];
        snprintf(pat, sizeof(pat), "%s \"", q->store_rt->resource);
        char *p = strstr(st->message, pat);
        if (p && (p == st->message || p[-1] == ' ')) {
            snprintf(out, sizeof(out), "%.*s%s.%s%s", (int)(p - st->message), st->message,
                     q->rt->resource, q->rt->group, p + strlen(q->store_rt->resource));
            snprintf(st->message, sizeof(st->message), "%s", out);
        }
    }
    cs_apisim_reply_st(r, st, name, kind_of(q));
}

/* events.k8s.io/v1 create: the required fields and values kube-apiserver's event validation
 * checks, with its messages (several errors are reported as one "[a, b]" aggregate). */
static int validate_event_v1(const json_t *ev, struct cs_apisim_status *st)
{
    char errs[sizeof(st->message)] = "";
    int n = 0;
    size_t len = 0;
#define EV_ERR(...)                                                                            \
    do {                                                                                       \
        if (len < sizeof(errs))                                                                \
            len += (size_t)snprintf(errs + len, sizeof(errs) - len, "%s", n ? ", " : "");      \
        if (len < sizeof(errs))                                                                \
            len += (size_t)snprintf(errs + len, sizeof(errs) - len, __VA_ARGS__);              \
        n++;                                                                                   \
    } while (0)
    const char *t = json_string_value(json_object_get(ev, "eventTime"));
    if (!t || !t[0])
        EV_ERR("eventTime: Required value");
    const char *type = json_string_value(json_object_get(ev, "type"));
    if (!type || (strcmp(type, "Normal") && strcmp(type, "Warning")))
        EV_ERR("type: Invalid value: \"\": has invalid value: %s", type ? type : "");
    const char *note = json_string_value(json_object_get(ev, "note"));
    if (note && strlen(note) > 1024)
        EV_ERR("message: Invalid value: \"\": can have at most 1024 characters");
    const char *rc = json_string_value(json_object_get(ev, "reportingController"));
    if (!rc || !rc[0])
        EV_ERR("reportingController: Required value, reportingController: Invalid value: \"\": "
               "name part must be non-empty, reportingController: Invalid value: \"\": name "
               "part must consist of alphanumeric characters, '-', '_' or '.', and must start "
               "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
               "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
               "[A-Za-z0-9]')");
    static const char *const required[] = { "reportingInstance", "action", "reason" };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = json_string_value(json_object_get(ev, required[i]));
        if (!v || !v[0])
            EV_ERR("%s: Required value", required[i]);
    }
#undef EV_ERR
    if (!n)
        return 0;
    const char *name = json_string_value(json_object_get(json_object_get(ev, "metadata"),
                                                         "name"));
    int many = n > 1 || strstr(errs, "reportingController: Required value") != NULL;
    return cs_apisim_status_set(st, 422, "Invalid", "Event \"%s\" is invalid: %s%s%s",
                                name ? name : "", many ? "[" : "", errs, many ? "]" : "");
}

static void handle_create(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                          struct cs_apisim_reply *r)
{
    struct cs_apisim_status st = { 0 };
    char msg[300];
    json_t *body = parse_body(q, r, 0), *obj = NULL;
    if (!body)
        return;
    if (check_object_body(q, r, body, q->rt->kind))
        goto done;
    if (q->rt->namespaced && !q->ns) {
        cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested "
                               "resource", NULL, NULL);
        goto done;
    }
    if (q->rt->namespaced && !ns_exists(sv, q->ns)) {
        snprintf(msg, sizeof(msg), "namespaces \"%s\" not found", q->ns);
        cs_apisim_reply_status(r, 404, "NotFound", msg, q->ns, "namespaces");
        goto done;
    }
    if (is_events_view(q) && validate_event_v1(body, &st)) {
        const char *name = json_string_value(json_object_get(json_object_get(body, "metadata"),
                                                             "name"));
        cs_apisim_reply_st(r, &st, name, kind_of(q));
        goto done;
    }
    obj = to_storage(q, body);
    if (cs_apisim_admit(sv, q->store_rt, q->ns, obj, NULL, &st)) {
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                             "name"));
        cs_apisim_reply_st(r, &st, name, kind_of(q));
        goto done;
    }
    const json_t *out = NULL;
    if (cs_apisim_store_create(sv->store, q->store_rt, q->ns, json_incref(obj), &out, &st)) {
        const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"),
                                                             "name"));
        reply_st_view(r, &st, name, q);
        goto done;
    }
    reply_obj(q, r, 201, out);
done:
    json_decref(obj);
    json_decref(body);
}

/* Types whose kube-apiserver strategy has AllowCreateOnUpdate: Leases, Events, Endpoints. */
static int create_on_update(const struct cs_apisim_rtype *rt)
{
    return (!strcmp(rt->group, "coordination.k8s.io") && !strcmp(rt->resource, "leases")) ||
           (!rt->group[0] && (!strcmp(rt->resource, "events") ||
                              !strcmp(rt->resource, "endpoints")));
}

/* Shared tail of PUT and PATCH: obj is the full new object in view form (stolen). */
static void finish_update(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                          struct cs_apisim_reply *r, json_t *view, int subres)
{
    struct cs_apisim_status st = { 0 };
    json_t *obj = to_storage(q, view);
    json_decref(view);
    const json_t *old = cs_apisim_store_get(sv->store, q->store_rt, q->ns, q->name);
    if (!old && !subres && !strcmp(q->method, "PUT") && create_on_update(q->store_rt) &&
        (!q->ns || ns_exists(sv, q->ns))) {
        /* their REST strategies allow create on update: PUT makes a missing one (201) */
        json_t *meta = json_object_get(obj, "metadata");
        if (json_is_object(meta))
            json_object_del(meta, "resourceVersion");
        const json_t *out = NULL;
        if (cs_apisim_admit(sv, q->store_rt, q->ns, obj, NULL, &st) ||
            cs_apisim_store_create(sv->store, q->store_rt, q->ns, json_incref(obj), &out, &st))
            reply_st_view(r, &st, q->name, q);
        else
            reply_obj(q, r, 201, out);
        json_decref(obj);
        return;
    }
    if (!old) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s%s%s \"%s\" not found", kind_of(q),
                 q->rt && q->rt->group[0] ? "." : "", q->rt ? q->rt->group : "", q->name);
        cs_apisim_reply_status(r, 404, "NotFound", msg, q->name, kind_of(q));
        json_decref(obj);
        return;
    }
    if (!subres && cs_apisim_admit(sv, q->store_rt, q->ns, obj, old, &st)) {
        cs_apisim_reply_st(r, &st, q->name, kind_of(q));
        json_decref(obj);
        return;
    }
    const json_t *out = NULL;
    if (cs_apisim_store_update(sv->store, q->store_rt, q->ns, q->name, obj, subres, &out, &st)) {
        reply_st_view(r, &st, q->name, q);
        return;
    }
    reply_obj(q, r, 200, out);
}

/* --- scale subresource ----------------------------------------------------------------------- */

static json_t *scale_of(const json_t *obj)
{
    const json_t *meta = json_object_get(obj, "metadata");
    json_t *sc = json_pack("{s:s,s:s}", "kind", "Scale", "apiVersion", "autoscaling/v1");
    json_t *m = json_object();
    static const char *const keys[] = { "name", "namespace", "uid", "resourceVersion",
                                        "creationTimestamp", NULL };
    for (int i = 0; keys[i]; i++)
        if (json_object_get(meta, keys[i]))
            json_object_set(m, keys[i], json_object_get(meta, keys[i]));
    json_object_set_new(sc, "metadata", m);
    json_t *rep = json_object_get(json_object_get(obj, "spec"), "replicas");
    json_object_set_new(sc, "spec", json_pack("{s:I}", "replicas",
                                              (json_int_t)(json_is_integer(rep) ?
                                                           json_integer_value(rep) : 1)));
    json_t *status = json_object();
    json_t *srep = json_object_get(json_object_get(obj, "status"), "replicas");
    json_object_set_new(status, "replicas", json_integer(json_integer_value(srep)));
    json_t *sel = json_object_get(json_object_get(json_object_get(obj, "spec"), "selector"),
                                  "matchLabels");
    if (json_is_object(sel)) {
        struct cs_buf b;
        const char *k;
        json_t *v;
        cs_buf_init(&b);
        json_object_foreach(sel, k, v) {
            if (b.len)
                cs_buf_putc(&b, ',');
            cs_buf_printf(&b, "%s=%s", k, json_string_value(v) ? json_string_value(v) : "");
        }
        json_object_set_new(status, "selector", json_string(b.data ? b.data : ""));
        cs_buf_free(&b);
    }
    json_object_set_new(sc, "status", status);
    return sc;
}

struct scale_arg {
    json_int_t replicas;
};

static int apply_scale(json_t *obj, void *arg, struct cs_apisim_status *st)
{
    struct scale_arg *a = arg;
    (void)st;
    json_t *spec = json_object_get(obj, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(obj, "spec", spec);
    }
    json_object_set_new(spec, "replicas", json_integer(a->replicas));
    return 0;
}

static void handle_scale(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                         struct cs_apisim_reply *r, const json_t *cur)
{
    struct cs_apisim_status st = { 0 };
    json_t *sc = scale_of(cur), *nsc = NULL, *body = NULL;
    char err[400];
    if (!strcmp(q->method, "GET")) {
        cs_apisim_reply_json(r, 200, sc);
        goto done;
    }
    body = parse_body(q, r, !strcmp(q->method, "PATCH"));
    if (!body)
        goto done;
    if (!strcmp(q->method, "PUT")) {
        nsc = json_incref(body);
    } else {
        const char *ct = cs_apisim_header(q, "Content-Type");
        if (ct && strstr(ct, "json-patch"))
            nsc = cs_apisim_json_patch(sc, body, err, sizeof(err));
        else if (ct && strstr(ct, "strategic"))
            nsc = cs_apisim_strategic_patch(sc, body, err, sizeof(err));
        else
            nsc = cs_apisim_merge_patch(sc, body);
        if (!nsc) {
            cs_apisim_reply_status(r, 422, "Invalid", err, q->name, kind_of(q));
            goto done;
        }
    }
    json_t *rep = json_object_get(json_object_get(nsc, "spec"), "replicas");
    if (!json_is_integer(rep) || json_integer_value(rep) < 0) {
        cs_apisim_reply_status(r, 422, "Invalid", "Scale.autoscaling \"\" is invalid: "
                               "spec.replicas: Invalid value: must be a non-negative integer",
                               q->name, kind_of(q));
        goto done;
    }
    const char *brv = json_string_value(json_object_get(json_object_get(nsc, "metadata"),
                                                        "resourceVersion"));
    const char *crv = json_string_value(json_object_get(json_object_get(cur, "metadata"),
                                                        "resourceVersion"));
    if (brv && brv[0] && crv && strcmp(brv, crv)) {
        snprintf(err, sizeof(err), "Operation cannot be fulfilled on %s.%s \"%s\": the object "
                 "has been modified; please apply your changes to the latest version and try "
                 "again", q->rt->resource, q->rt->group, q->name);
        cs_apisim_reply_status(r, 409, "Conflict", err, q->name, kind_of(q));
        goto done;
    }
    struct scale_arg a = { json_integer_value(rep) };
    const json_t *out = NULL;
    if (cs_apisim_store_update_fn(sv->store, q->store_rt, q->ns, q->name, apply_scale, &a, &out,
                                  &st)) {
        cs_apisim_reply_st(r, &st, q->name, kind_of(q));
        goto done;
    }
    json_t *res = scale_of(out);
    cs_apisim_reply_json(r, 200, res);
    json_decref(res);
done:
    json_decref(sc);
    json_decref(nsc);
    json_decref(body);
}

static void handle_patch(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                         struct cs_apisim_reply *r, const json_t *cur, int subres)
{
    char err[512];
    json_t *patch = parse_body(q, r, 1);
    if (!patch)
        return;
    const char *ct = cs_apisim_header(q, "Content-Type");
    json_t *view = cs_apisim_to_view(q, cur), *res = NULL;
    if (ct && strstr(ct, "json-patch")) {
        res = cs_apisim_json_patch(view, patch, err, sizeof(err));
        if (!res) {
            cs_apisim_reply_status(r, 422, "Invalid", err, q->name, kind_of(q));
            goto done;
        }
    } else if (ct && strstr(ct, "strategic-merge-patch")) {
        if (q->rt->is_crd) {
            cs_apisim_reply_status(r, 415, "UnsupportedMediaType",
                                   "the body of the request was in an unknown format - accepted "
                                   "media types include: application/json-patch+json, "
                                   "application/merge-patch+json, application/apply-patch+yaml",
                                   NULL, NULL);
            goto done;
        }
        if (!json_is_object(patch)) {
            cs_apisim_reply_status(r, 400, "BadRequest", "strategic merge patch body must be a "
                                   "JSON object", q->name, kind_of(q));
            goto done;
        }
        res = cs_apisim_strategic_patch(view, patch, err, sizeof(err));
        if (!res) {
            cs_apisim_reply_status(r, 422, "Invalid", err, q->name, kind_of(q));
            goto done;
        }
    } else {
        /* merge patch; server-side apply is approximated by a merge of the applied config */
        if (!json_is_object(patch)) {
            cs_apisim_reply_status(r, 400, "BadRequest", "merge patch body must be a JSON "
                                   "object", q->name, kind_of(q));
            goto done;
        }
        res = cs_apisim_merge_patch(view, patch);
    }
    if (!json_is_object(res) || (json_object_get(res, "metadata") &&
                                 !json_is_object(json_object_get(res, "metadata")))) {
        cs_apisim_reply_status(r, 422, "Invalid", "the patched object is not a valid object",
                               q->name, kind_of(q));
        goto done;
    }
    finish_update(sv, q, r, res, subres);
    res = NULL;
done:
    json_decref(res);
    json_decref(view);
    json_decref(patch);
}

/* --- delete ---------------------------------------------------------------------------------- */

static int delete_opts(struct cs_apisim_req *q, struct cs_apisim_reply *r,
                       struct cs_apisim_delete_opts *o, json_t **body_out)
{
    memset(o, 0, sizeof(*o));
    o->grace_seconds = -1;
    *body_out = NULL;
    const char *g = cs_apisim_query(q, "gracePeriodSeconds");
    if (g && g[0]) {
        char *end;
        long long v = strtoll(g, &end, 10);
        if (*end) {
            cs_apisim_reply_status(r, 400, "BadRequest", "gracePeriodSeconds must be an integer",
                                   NULL, NULL);
            return -1;
        }
        o->grace_seconds = v;
    }
    if (q->body_len) {
        json_t *b = parse_body(q, r, 0);
        if (!b)
            return -1;
        if (!json_is_object(b)) {
            json_decref(b);
            cs_apisim_reply_status(r, 400, "BadRequest", "DeleteOptions body must be an object",
                                   NULL, NULL);
            return -1;
        }
        json_t *gp = json_object_get(b, "gracePeriodSeconds");
        if (json_is_integer(gp))
            o->grace_seconds = json_integer_value(gp);
        json_t *pre = json_object_get(b, "preconditions");
        o->precond_uid = json_string_value(json_object_get(pre, "uid"));
        o->precond_rv = json_string_value(json_object_get(pre, "resourceVersion"));
        *body_out = b;
    }
    return 0;
}

static void reply_deleted(struct cs_apisim_req *q, struct cs_apisim_reply *r,
                          const json_t *out)
{
    const json_t *meta = json_object_get(out, "metadata");
    if (json_object_get(meta, "deletionTimestamp") &&
        !strcmp(q->store_rt->resource, "pods")) {
        reply_obj(q, r, 200, out);
        return;
    }
    if (!strcmp(q->store_rt->resource, "pods") || q->rt->is_crd ||
        !strcmp(q->store_rt->resource, "namespaces") ||
        !strcmp(q->store_rt->resource, "customresourcedefinitions")) {
        reply_obj(q, r, 200, out);
        return;
    }
    struct cs_buf *b = &r->body;
    r->code = 200;
    cs_buf_reset(b);
    cs_buf_puts(b, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                   "\"Success\",\"details\":{\"name\":");
    cs_buf_json_str(b, q->name);
    if (q->rt->group[0]) {  /* omitted for the core group, like the real server */
        cs_buf_puts(b, ",\"group\":");
        cs_buf_json_str(b, q->rt->group);
    }
    cs_buf_puts(b, ",\"kind\":");
    cs_buf_json_str(b, q->rt->resource);
    cs_buf_puts(b, ",\"uid\":");
    cs_buf_json_str(b, json_string_value(json_object_get(meta, "uid")) ?
                       json_string_value(json_object_get(meta, "uid")) : "");
    cs_buf_puts(b, "}}");
}

/* Delete every namespaced object in ns (namespace deletion). */
static void purge_namespace(struct cs_apisim_server *sv, const char *ns)
{
    for (struct cs_apisim_rtype *t = sv->store->types; t; t = t->next) {
        if (!t->served || !t->namespaced)
            continue;
        struct cs_apisim_list l;
        cs_apisim_store_list(sv->store, t, ns, NULL, NULL, &l);
        struct cs_apisim_delete_opts o = { .grace_seconds = 0 };
        for (size_t i = 0; i < l.len; i++) {
            const char *name = json_string_value(json_object_get(
                json_object_get(cs_apisim_obj_json(l.items[i]), "metadata"), "name"));
            if (name)
                cs_apisim_store_delete(sv->store, t, ns, name, &o, NULL, NULL);
        }
        cs_apisim_list_free(&l);
    }
}

static void handle_delete(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                          struct cs_apisim_reply *r)
{
    struct cs_apisim_delete_opts o;
    struct cs_apisim_status st = { 0 };
    json_t *body = NULL;
    char msg[300];
    if (delete_opts(q, r, &o, &body))
        return;
    if (q->store_rt == sv->ns_rt) {
        if (!strcmp(q->name, "default") || !strcmp(q->name, "kube-system") ||
            !strcmp(q->name, "kube-public")) {
            snprintf(msg, sizeof(msg), "namespaces \"%s\" is forbidden: this namespace may not "
                     "be deleted", q->name);
            cs_apisim_reply_status(r, 403, "Forbidden", msg, q->name, "namespaces");
            goto done;
        }
        if (cs_apisim_store_get(sv->store, sv->ns_rt, NULL, q->name))
            purge_namespace(sv, q->name);
    }
    const json_t *out = NULL;
    if (cs_apisim_store_delete(sv->store, q->store_rt, q->ns, q->name, &o, &out, &st)) {
        reply_st_view(r, &st, q->name, q);
        goto done;
    }
    reply_deleted(q, r, out);
done:
    json_decref(body);
}

static void handle_delete_collection(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                                     struct cs_apisim_reply *r)
{
    struct cs_apisim_match m;
    if (cs_apisim_match_init(q, r, &m))
        return;
    struct cs_apisim_delete_opts o;
    json_t *body = NULL;
    if (delete_opts(q, r, &o, &body)) {
        cs_apisim_match_free(&m);
        return;
    }
    struct cs_apisim_list l;
    cs_apisim_store_list(sv->store, q->store_rt, q->ns, cs_apisim_match_obj, &m, &l);
    char av[256];
    snprintf(av, sizeof(av), "%s%s%s", q->group, q->group[0] ? "/" : "", q->version);
    cs_buf_printf(&r->body, "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{},\"items\":[",
                  q->rt->list_kind, av);
    for (size_t i = 0; i < l.len; i++) {
        const json_t *meta = json_object_get(cs_apisim_obj_json(l.items[i]), "metadata");
        const char *name = json_string_value(json_object_get(meta, "name"));
        const char *ns = json_string_value(json_object_get(meta, "namespace"));
        const json_t *out = NULL;
        if (name && !cs_apisim_store_delete(sv->store, q->store_rt, ns, name, &o, &out, NULL)) {
            char *t = json_dumps(out, JSON_COMPACT);
            if (r->body.data[r->body.len - 1] != '[')
                cs_buf_putc(&r->body, ',');
            cs_buf_puts(&r->body, t ? t : "{}");
            free(t);
        }
    }
    cs_buf_puts(&r->body, "]}");
    cs_apisim_list_free(&l);
    json_decref(body);
    cs_apisim_match_free(&m);
}

/* --- dispatch -------------------------------------------------------------------------------- */

static int version_served(const struct cs_apisim_rtype *rt, const char *v)
{
    for (size_t i = 0; rt->versions[i]; i++)
        if (!strcmp(rt->versions[i], v))
            return 1;
    return 0;
}

static void not_found(struct cs_apisim_reply *r)
{
    cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested resource",
                           NULL, NULL);
}

static void method_not_allowed(struct cs_apisim_req *q, struct cs_apisim_reply *r)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "the server does not allow this method on the requested resource"
             " (%s)", q->method);
    cs_apisim_reply_status(r, 405, "MethodNotAllowed", msg, NULL, NULL);
}

void cs_apisim_handle_resource(struct cs_apisim_server *sv, struct cs_apisim_req *q,
                               struct cs_apisim_reply *r)
{
    struct cs_apisim_store *s = sv->store;
    q->rt = cs_apisim_store_rtype(s, q->group, q->resource);
    if (!q->rt || !version_served(q->rt, q->version)) {
        not_found(r);
        return;
    }
    q->store_rt = is_events_view(q) ? sv->event_rt : q->rt;
    if ((q->ns && !q->rt->namespaced) || (q->rt->namespaced && q->name && !q->ns)) {
        not_found(r);
        return;
    }
    const char *m = q->method;
    if (!q->name) {
        if (!strcmp(m, "GET")) {
            const char *w = cs_apisim_query(q, "watch");
            if (w && (!strcmp(w, "true") || !strcmp(w, "1")))
                cs_apisim_watch_start(sv, q, r);
            else
                handle_list(sv, q, r);
        } else if (!strcmp(m, "POST")) {
            handle_create(sv, q, r);
        } else if (!strcmp(m, "DELETE")) {
            handle_delete_collection(sv, q, r);
        } else {
            method_not_allowed(q, r);
        }
        return;
    }
    if (q->sub && !strcmp(m, "POST") && q->store_rt == sv->pod_rt) {
        if (!strcmp(q->sub, "binding"))
            cs_apisim_pod_binding(sv, q, r);
        else if (!strcmp(q->sub, "eviction"))
            cs_apisim_pod_eviction(sv, q, r);
        else
            not_found(r);
        return;
    }
    int subres = 0;
    if (q->sub) {
        if (!strcmp(q->sub, "status") && q->rt->has_status)
            subres = 1;
        else if (!strcmp(q->sub, "scale") && q->rt->has_scale)
            subres = 2;
        else {
            not_found(r);
            return;
        }
    }
    const json_t *cur = cs_apisim_store_get(s, q->store_rt, q->ns, q->name);
    if (!cur && strcmp(m, "POST") &&
        !(!subres && !strcmp(m, "PUT") && create_on_update(q->store_rt))) {
        char msg[400];
        if (q->rt->group[0])
            snprintf(msg, sizeof(msg), "%s.%s \"%s\" not found", q->rt->resource, q->rt->group,
                     q->name);
        else
            snprintf(msg, sizeof(msg), "%s \"%s\" not found", q->rt->resource, q->name);
        cs_apisim_reply_status(r, 404, "NotFound", msg, q->name, q->rt->resource);
        return;
    }
    if (subres == 2) {
        if (!strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "PATCH"))
            handle_scale(sv, q, r, cur);
        else
            method_not_allowed(q, r);
        return;
    }
    if (!strcmp(m, "GET")) {
        reply_obj(q, r, 200, cur);
    } else if (!strcmp(m, "PUT")) {
        json_t *body = parse_body(q, r, 0);
        if (!body)
            return;
        if (check_object_body(q, r, body, q->rt->kind)) {
            json_decref(body);
            return;
        }
        finish_update(sv, q, r, body, subres);
    } else if (!strcmp(m, "PATCH")) {
        handle_patch(sv, q, r, cur, subres);
    } else if (!strcmp(m, "DELETE") && !subres) {
        handle_delete(sv, q, r);
    } else {
        method_not_allowed(q, r);
    }
}
