/*
 * Services the scheduler performs for plugins (api/plugin.h, the framework handle): the
 * informers of plugins' watches, cluster events plugins raise, and API writes on the bind
 * connection. cosched's own writes of this kind (evictions, nominations) use the same path.
 */
#include <stdio.h>
#include <string.h>

#include "pkg/client/client.h"
#include "pkg/informer/informer.h"
#include "pkg/scheduler/internal.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"

/* ---- API writes --------------------------------------------------------------------------- */

struct write_ctx {
    void (*done)(void *arg, long status, const char *body);
    void *arg;
    char *what;                    /* "METHOD path" for logs */
};

static void on_written(void *arg, const struct cs_client_resp *resp)
{
    struct write_ctx *w = arg;
    if (resp->status < 200 || resp->status >= 300) {
        CS_WARN_S("API write failed", CS_KV("request", w->what), CS_KVI("status", resp->status),
                  CS_KV("err", resp->err ? resp->err : resp->body));
    }
    if (w->done) {
        w->done(w->arg, resp->status, resp->body);
    }
    cs_free(w->what);
    cs_free(w);
}

int cs_sched_write(struct cs_scheduler *s, const char *method, const char *path, const char *body,
                   const char *content_type, void (*done)(void *arg, long status, const char *body),
                   void *arg)
{
    if (s->bind_client == NULL) {
        return -1;
    }
    struct write_ctx *w = cs_calloc(1, sizeof(*w));
    w->done = done;
    w->arg = arg;
    size_t n = strlen(method) + strlen(path) + 2;
    w->what = cs_malloc(n);
    snprintf(w->what, n, "%s %s", method, path);
    if (content_type == NULL && body && strcmp(method, "PATCH") == 0) {
        content_type = "application/merge-patch+json";
    }
    struct cs_client_req req = {
        .method = method,
        .path = path,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .content_type = content_type,
        .cb = on_written,
        .arg = w,
        .retry = CS_CLIENT_RETRY_DEFAULT,
    };
    if (cs_client_submit(s->bind_client, &req) != 0) {
        cs_free(w->what);
        cs_free(w);
        return -1;
    }
    return 0;
}

static int hook_write(void *arg, const struct cs_api_write *w)
{
    return cs_sched_write(arg, w->method, w->path, w->body, w->content_type, w->done, w->arg);
}

/* ---- raised events ------------------------------------------------------------------------ */

static void hook_raise(void *arg, const char *name, const void *old_obj, const void *new_obj)
{
    struct cs_scheduler *s = arg;
    if (CS_V(4)) {
        CS_INFO_S("Plugin event", CS_KV("event", name));
    }
    struct cs_event_info info = { .event = CS_EV_CUSTOM, .custom = name, .old_obj = old_obj,
                                  .new_obj = new_obj };
    cs_queue_on_event_info(&s->queue, &info);
}

/* ---- plugins' watches --------------------------------------------------------------------- */


static void w_add(void *arg, json_t *obj)
{
    const struct cs_fw_watch *w = arg;
    if (w->spec.on_add) {
        w->spec.on_add(w->priv, obj);
    }
}

static void w_update(void *arg, json_t *old, json_t *obj)
{
    const struct cs_fw_watch *w = arg;
    if (w->spec.on_update) {
        w->spec.on_update(w->priv, old, obj);
    }
}

static void w_delete(void *arg, json_t *obj)
{
    const struct cs_fw_watch *w = arg;
    if (w->spec.on_delete) {
        w->spec.on_delete(w->priv, obj);
    }
}

static void w_error(void *arg, const char *msg)
{
    const struct cs_fw_watch *w = arg;
    CS_WARN_S("Plugin informer error; retrying", CS_KV("watch", w->spec.name), CS_KV("err", msg));
}

static void hook_event(void *arg, const struct cs_object_ref *ref, const char *type,
                       const char *reason, const char *note)
{
    struct cs_scheduler *s = arg;
    cs_recorder_event_obj(&s->recorder, ref->kind, ref->api_version, ref->ns ? ref->ns : "default",
                          ref->name, ref->uid, type, reason, "Scheduling", note,
                          s->n_profiles ? s->profiles[0].name : "cosched");
}

void cs_sched_services_init(struct cs_scheduler *s)
{
    s->fw.raise = hook_raise;
    s->fw.write = hook_write;
    s->fw.event = hook_event;
    s->fw.arg = s;
    s->fw.metrics = s->registry;
}

int cs_sched_services_start(struct cs_scheduler *s, char *err, size_t errlen)
{
    if (s->fw.n_watches == 0) {
        return 0;
    }
    s->extra_inf = cs_calloc(s->fw.n_watches, sizeof(*s->extra_inf));
    for (uint32_t i = 0; i < s->fw.n_watches; i++) {
        const struct cs_fw_watch *w = &s->fw.watches[i];
        struct cs_informer_opts o = {
            .path = w->spec.path,
            .label_selector = w->spec.label_selector,
            .field_selector = w->spec.field_selector,
            .name = w->spec.name,
            .keep_objects = 1,
            .sync_on_404 = w->spec.optional,
            .handlers = {
                .on_add = w_add,
                .on_update = w_update,
                .on_delete = w_delete,
                .on_error = w_error,
                .arg = (void *)w,
            },
        };
        s->extra_inf[i] = cs_informer_new(s->client, &o, err, errlen);
        if (s->extra_inf[i] == NULL) {
            return -1;
        }
        s->n_extra_inf = i + 1;
        if (cs_informer_start(s->extra_inf[i]) != 0) {
            snprintf(err, errlen, "cannot start informer %s: client not running", w->spec.name);
            return -1;
        }
    }
    return 0;
}

void cs_sched_services_stop(struct cs_scheduler *s)
{
    for (uint32_t i = 0; i < s->n_extra_inf; i++) {
        cs_informer_stop(s->extra_inf[i]);
    }
}

bool cs_sched_services_synced(struct cs_scheduler *s)
{
    for (uint32_t i = 0; i < s->n_extra_inf; i++) {
        if (!cs_informer_has_synced(s->extra_inf[i])) {
            return false;
        }
    }
    return s->n_extra_inf == s->fw.n_watches;
}
