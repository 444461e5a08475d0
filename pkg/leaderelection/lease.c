/*
 * The pure half of leader election: Lease JSON in, decision out. Nothing here sleeps, locks
 * or talks to the network; the clock is an argument. The request bodies keep the object we
 * last read (metadata with its resourceVersion, so a PUT is a compare-and-swap on the server)
 * and replace its spec wholesale, the way client-go converts a LeaderElectionRecord into a
 * LeaseSpec.
 */
#include "pkg/leaderelection/leaderelection.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pkg/util/alloc.h"
#include "pkg/util/timeutil.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

void cs_le_state_free(struct cs_le_state *st)
{
    cs_free(st->lease_json);
    st->lease_json = NULL;
}

void cs_le_decision_free(struct cs_le_decision *d)
{
    cs_free(d->body);
    d->body = NULL;
}

static void copy_str(char *dst, size_t n, const char *src)
{
    snprintf(dst, n, "%s", src ? src : "");
}

int cs_le_parse_record(const char *json, size_t len, struct cs_le_record *out)
{
    memset(out, 0, sizeof *out);
    if (json == NULL) {
        return -1;
    }
    json_t *root = json_loadb(json, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    json_t *spec = json_object_get(root, "spec");
    if (spec != NULL && !json_is_object(spec) && !json_is_null(spec)) {
        json_decref(root);
        return -1;
    }
    if (json_is_object(spec)) {
        copy_str(out->holder, sizeof out->holder,
                 json_string_value(json_object_get(spec, "holderIdentity")));
        json_t *d = json_object_get(spec, "leaseDurationSeconds");
        out->lease_duration_s = json_is_integer(d) ? (int)json_integer_value(d) : 0;
        copy_str(out->acquire_time, sizeof out->acquire_time,
                 json_string_value(json_object_get(spec, "acquireTime")));
        copy_str(out->renew_time, sizeof out->renew_time,
                 json_string_value(json_object_get(spec, "renewTime")));
        json_t *t = json_object_get(spec, "leaseTransitions");
        out->transitions = json_is_integer(t) ? (int)json_integer_value(t) : 0;
    }
    json_decref(root);
    return 0;
}

static int record_equal(const struct cs_le_record *a, const struct cs_le_record *b)
{
    return strcmp(a->holder, b->holder) == 0 && a->lease_duration_s == b->lease_duration_s &&
           strcmp(a->acquire_time, b->acquire_time) == 0 &&
           strcmp(a->renew_time, b->renew_time) == 0 && a->transitions == b->transitions;
}

int cs_le_lease_valid(const struct cs_le_state *st, int64_t now_ns)
{
    if (!st->have_observed) {
        return 0;
    }
    return st->observed_ns + (int64_t)st->observed.lease_duration_s * NS_PER_S > now_ns;
}

int cs_le_deadline_passed(const struct cs_le_state *st, const struct cs_le_params *p,
                          int64_t now_ns)
{
    if (!st->leading) {
        return 0;
    }
    return now_ns >= st->renew_ok_ns + (p->retry_period_ms + p->renew_deadline_ms) * NS_PER_MS;
}

static json_t *spec_json(const struct cs_le_record *r)
{
    json_t *spec = json_object();
    if (r->holder[0]) {
        json_object_set_new(spec, "holderIdentity", json_string(r->holder));
    }
    json_object_set_new(spec, "leaseDurationSeconds", json_integer(r->lease_duration_s));
    if (r->acquire_time[0]) {
        json_object_set_new(spec, "acquireTime", json_string(r->acquire_time));
    }
    if (r->renew_time[0]) {
        json_object_set_new(spec, "renewTime", json_string(r->renew_time));
    }
    json_object_set_new(spec, "leaseTransitions", json_integer(r->transitions));
    return spec;
}

static char *dump(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    char *out = cs_strdup(s ? s : "{}");
    free(s);
    json_decref(obj);
    return out;
}

/* The cached object with its spec replaced, or NULL when the cache is unreadable. */
static char *body_from(const char *lease_json, const struct cs_le_record *r)
{
    if (lease_json == NULL) {
        return NULL;
    }
    json_t *root = json_loads(lease_json, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return NULL;
    }
    json_object_del(root, "status");
    json_object_set_new(root, "spec", spec_json(r));
    return dump(root);
}

static char *create_body(const struct cs_le_params *p, const struct cs_le_record *r)
{
    json_t *meta = json_object();
    json_object_set_new(meta, "name", json_string(p->name));
    json_object_set_new(meta, "namespace", json_string(p->namespace_));
    json_t *root = json_object();
    json_object_set_new(root, "apiVersion", json_string("coordination.k8s.io/v1"));
    json_object_set_new(root, "kind", json_string("Lease"));
    json_object_set_new(root, "metadata", meta);
    json_object_set_new(root, "spec", spec_json(r));
    return dump(root);
}

static void fresh_record(const struct cs_le_params *p, int64_t now_wall_ns,
                         struct cs_le_record *r)
{
    memset(r, 0, sizeof *r);
    copy_str(r->holder, sizeof r->holder, p->identity);
    r->lease_duration_s = (int)(p->lease_duration_ms / 1000);
    cs_fmt_microtime(now_wall_ns, r->renew_time, sizeof r->renew_time);
    copy_str(r->acquire_time, sizeof r->acquire_time, r->renew_time);
}

int cs_le_fast_renew(const struct cs_le_state *st, const struct cs_le_params *p,
                     int64_t now_ns, int64_t now_wall_ns, struct cs_le_decision *out)
{
    if (!st->leading || st->lease_json == NULL || !cs_le_lease_valid(st, now_ns) ||
        strcmp(st->observed.holder, p->identity) != 0) {
        return 0;
    }
    struct cs_le_record r;
    fresh_record(p, now_wall_ns, &r);
    copy_str(r.acquire_time, sizeof r.acquire_time, st->observed.acquire_time);
    r.transitions = st->observed.transitions;
    char *body = body_from(st->lease_json, &r);
    if (body == NULL) {
        return 0;
    }
    memset(out, 0, sizeof *out);
    out->action = CS_LE_UPDATE;
    out->body = body;
    out->record = r;
    out->reason = "renewing (optimistic)";
    return 1;
}

void cs_le_decide(struct cs_le_state *st, const struct cs_le_params *p, long get_status,
                  const char *get_body, size_t get_len, int64_t now_ns, int64_t now_wall_ns,
                  struct cs_le_decision *out)
{
    memset(out, 0, sizeof *out);
    if (cs_le_deadline_passed(st, p, now_ns)) {
        out->action = CS_LE_LOSE;
        out->reason = "failed to renew the lease within the renew deadline";
        return;
    }
    if (get_status == 404) {
        fresh_record(p, now_wall_ns, &out->record);
        out->action = CS_LE_CREATE;
        out->body = create_body(p, &out->record);
        out->reason = "lease absent: creating it";
        return;
    }
    struct cs_le_record cur;
    if (get_status != 200 || cs_le_parse_record(get_body, get_len, &cur) != 0) {
        out->action = CS_LE_RETRY;
        out->reason = get_status == 200 ? "unreadable lease" : "cannot read the lease";
        return;
    }
    if (!st->have_observed || !record_equal(&cur, &st->observed)) {
        if (!st->have_observed || strcmp(cur.holder, st->observed.holder) != 0) {
            out->holder_changed = 1;
            copy_str(out->new_holder, sizeof out->new_holder, cur.holder);
        }
        st->observed = cur;
        st->observed_ns = now_ns;
        st->have_observed = 1;
    }
    cs_free(st->lease_json);
    st->lease_json = cs_strndup(get_body, get_len);

    int ours = strcmp(cur.holder, p->identity) == 0;
    if (cur.holder[0] != '\0' && !ours && cs_le_lease_valid(st, now_ns)) {
        if (st->leading) {
            out->action = CS_LE_LOSE;
            out->reason = "the lease is held by another candidate";
        } else {
            out->action = CS_LE_WAIT;
            out->reason = "the lease is held by another candidate and has not expired";
        }
        return;
    }
    fresh_record(p, now_wall_ns, &out->record);
    if (ours) {
        copy_str(out->record.acquire_time, sizeof out->record.acquire_time, cur.acquire_time);
        out->record.transitions = cur.transitions;
        out->reason = "renewing";
    } else {
        out->record.transitions = cur.transitions + 1;
        out->reason = cur.holder[0] ? "the lease expired: taking over" : "the lease is free";
    }
    out->body = body_from(st->lease_json, &out->record);
    out->action = out->body ? CS_LE_UPDATE : CS_LE_RETRY;
}

int cs_le_written(struct cs_le_state *st, const struct cs_le_decision *d, const char *resp,
                  size_t resp_len, int64_t now_ns)
{
    struct cs_le_record stored;
    cs_free(st->lease_json);
    st->lease_json = NULL;
    /* Keep the server's copy (new resourceVersion) for the next optimistic renew; without
     * one the next attempt goes through GET. */
    if (resp != NULL && cs_le_parse_record(resp, resp_len, &stored) == 0) {
        st->lease_json = cs_strndup(resp, resp_len);
    }
    st->observed = d->record;
    st->observed_ns = now_ns;
    st->have_observed = 1;
    st->renew_ok_ns = now_ns;
    int became = !st->leading;
    st->leading = 1;
    return became;
}

char *cs_le_release_body(const struct cs_le_state *st, int64_t now_wall_ns)
{
    struct cs_le_record r;
    memset(&r, 0, sizeof r);
    r.lease_duration_s = 1;
    cs_fmt_microtime(now_wall_ns, r.renew_time, sizeof r.renew_time);
    copy_str(r.acquire_time, sizeof r.acquire_time, r.renew_time);
    r.transitions = st->observed.transitions;
    return body_from(st->lease_json, &r);
}

void cs_le_path(struct cs_buf *out, const struct cs_le_params *p, int with_name)
{
    cs_buf_puts(out, "/apis/coordination.k8s.io/v1/namespaces/");
    cs_buf_url_escape(out, p->namespace_);
    cs_buf_puts(out, "/leases");
    if (with_name) {
        cs_buf_putc(out, '/');
        cs_buf_url_escape(out, p->name);
    }
}

int cs_le_default_identity(char *buf, size_t n)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0) {
        copy_str(host, sizeof host, "localhost");
    }
    host[sizeof host - 1] = '\0';
    unsigned char u[16];
    if (getrandom(u, sizeof u, 0) != (ssize_t)sizeof u) {
        /* fall back on something unique enough for one host */
        uint64_t a = (uint64_t)cs_wall_ns(), b = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
        memcpy(u, &a, 8);
        memcpy(u + 8, &b, 8);
    }
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40);
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80);
    int w = snprintf(buf, n,
                     "%s_%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                     host, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
                     u[11], u[12], u[13], u[14], u[15]);
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}
