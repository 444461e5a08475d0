/* Event and condition writer (see recorder.h). */
#include "pkg/binder/recorder.h"

#include <string.h>

#include "api/encode.h"
#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

void cs_recorder_init(struct cs_recorder *r, struct cs_client *client, const char *instance,
                      long max_in_flight)
{
    memset(r, 0, sizeof(*r));
    r->client = client;
    r->instance = cs_strdup(instance ? instance : "cosched");
    r->max_in_flight = max_in_flight > 0 ? max_in_flight : 256;
}

void cs_recorder_destroy(struct cs_recorder *r)
{
    cs_free((void *)r->instance);
    r->instance = NULL;
}

static void on_written(void *arg, const struct cs_client_resp *resp)
{
    struct cs_recorder *r = arg;
    atomic_fetch_sub(&r->in_flight, 1);
    if (resp->status >= 200 && resp->status < 300) {
        atomic_fetch_add(&r->sent, 1);
    } else if (resp->status != 404) {
        atomic_fetch_add(&r->failed, 1);
        if (CS_V(2)) {
            CS_WARN_S("Event or status write failed", CS_KVI("status", resp->status),
                      CS_KV("err", resp->err ? resp->err : resp->body));
        }
    }
}

static bool reserve_slot(struct cs_recorder *r)
{
    if (atomic_fetch_add(&r->in_flight, 1) >= r->max_in_flight) {
        atomic_fetch_sub(&r->in_flight, 1);
        atomic_fetch_add(&r->dropped, 1);
        return false;
    }
    return true;
}

static void send(struct cs_recorder *r, const char *method, const char *path,
                 const struct cs_buf *body, const char *ctype)
{
    struct cs_client_req req = {
        .method = method,
        .path = path,
        .body = body->data,
        .body_len = body->len,
        .content_type = ctype,
        .cb = on_written,
        .arg = r,
        .retry = CS_CLIENT_RETRY_DEFAULT,
        .max_attempts = 3,
    };
    if (cs_client_submit(r->client, &req) != 0) {
        atomic_fetch_sub(&r->in_flight, 1);
        atomic_fetch_add(&r->dropped, 1);
    }
}

void cs_recorder_event(struct cs_recorder *r, const struct cs_pod *pod, const char *type,
                       const char *reason, const char *action, const char *note,
                       const char *controller)
{
    if (!reserve_slot(r)) {
        return;
    }
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    struct cs_event ev = {
        .type = type,
        .reason = reason,
        .action = action,
        .note = note,
        .reporting_controller = controller,
        .reporting_instance = r->instance,
        .event_time_ns = cs_wall_ns(),
    };
    cs_object_ref_from_pod(&ev.regarding, pod);
    cs_encode_event(&body, &ev);
    cs_buf_printf(&path, "/apis/events.k8s.io/v1/namespaces/%s/events", pod->ns);
    send(r, "POST", path.data, &body, "application/json");
    cs_buf_free(&body);
    cs_buf_free(&path);
}

void cs_recorder_unschedulable(struct cs_recorder *r, const struct cs_pod *pod, const char *reason,
                               const char *message)
{
    if (!reserve_slot(r)) {
        return;
    }
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    cs_encode_pod_scheduled_false(&body, strcmp(reason, "Unschedulable") == 0, message,
                                  cs_wall_ns(), CS_NOMINATED_KEEP, NULL);
    cs_buf_printf(&path, "/api/v1/namespaces/%s/pods/%s/status", pod->ns, pod->name);
    send(r, "PATCH", path.data, &body, "application/strategic-merge-patch+json");
    cs_buf_free(&body);
    cs_buf_free(&path);
}
