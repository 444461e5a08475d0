/* Event and condition writer (see recorder.h). */
#include "pkg/binder/recorder.h"

#include <string.h>

#include "api/encode.h"
#include "api/pbencode.h"
#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

struct cs_recorder_item {
    struct cs_recorder_item *next;
    const char *method;            /* static */
    const char *ctype;             /* static */
    const char *accept;            /* static, NULL = JSON */
    char *path;
    char *body;
    size_t body_len;
};

void cs_recorder_init(struct cs_recorder *r, struct cs_client *client, const char *instance,
                      long max_in_flight)
{
    memset(r, 0, sizeof(*r));
    r->client = client;
    r->instance = cs_strdup(instance ? instance : "cosched");
    r->max_in_flight = max_in_flight > 0 ? max_in_flight : 64;
    r->max_pending = 20000;
    pthread_mutex_init(&r->mu, NULL);
}

static void item_free(struct cs_recorder_item *it)
{
    cs_free(it->path);
    cs_free(it->body);
    cs_free(it);
}

void cs_recorder_destroy(struct cs_recorder *r)
{
    while (r->head) {
        struct cs_recorder_item *it = r->head;
        r->head = it->next;
        item_free(it);
    }
    r->tail = NULL;
    r->n_pending = 0;
    pthread_mutex_destroy(&r->mu);
    cs_free((void *)r->instance);
    r->instance = NULL;
}

static void pump(struct cs_recorder *r);

static void on_written(void *arg, const struct cs_client_resp *resp)
{
    struct cs_recorder *r = arg;
    if (resp->status >= 200 && resp->status < 300) {
        atomic_fetch_add(&r->sent, 1);
    } else if (resp->status != 404) {
        atomic_fetch_add(&r->failed, 1);
        if (CS_V(2)) {
            char t[400];
            CS_WARN_S("Event or status write failed", CS_KVI("status", resp->status),
                      CS_KV("err", resp->err ? resp->err : cs_client_resp_text(resp, t, sizeof(t))));
        }
    }
    pthread_mutex_lock(&r->mu);
    atomic_fetch_sub(&r->in_flight, 1);
    pthread_mutex_unlock(&r->mu);
    pump(r);
}

/* Send queued writes while there is room in flight. */
static void pump(struct cs_recorder *r)
{
    for (;;) {
        pthread_mutex_lock(&r->mu);
        struct cs_recorder_item *it = NULL;
        if (r->head && atomic_load(&r->in_flight) < r->max_in_flight) {
            it = r->head;
            r->head = it->next;
            if (r->head == NULL) {
                r->tail = NULL;
            }
            r->n_pending--;
            atomic_fetch_add(&r->in_flight, 1);
        }
        pthread_mutex_unlock(&r->mu);
        if (it == NULL) {
            return;
        }
        struct cs_client_req req = {
            .method = it->method,
            .path = it->path,
            .body = it->body,
            .body_len = it->body_len,
            .content_type = it->ctype,
            .accept = it->accept,
            .cb = on_written,
            .arg = r,
            .retry = CS_CLIENT_RETRY_DEFAULT,
            .max_attempts = 3,
        };
        if (cs_client_submit(r->client, &req) != 0) {
            atomic_fetch_sub(&r->in_flight, 1);
            atomic_fetch_add(&r->dropped, 1);
        }
        item_free(it);
    }
}

/* Queue one write (takes the buffers) and send what fits. */
static void send(struct cs_recorder *r, const char *method, struct cs_buf *path,
                 struct cs_buf *body, const char *ctype)
{
    const char *accept = NULL;
    if (ctype && strcmp(ctype, CS_CLIENT_PB_MEDIA) == 0) {
        accept = CS_CLIENT_PB_MEDIA ", application/json"; /* encoded as protobuf already */
    } else if (strcmp(method, "POST") == 0) {
        cs_client_wire_body(r->client, body, &ctype, &accept);
    }
    pthread_mutex_lock(&r->mu);
    if (r->n_pending >= r->max_pending) {
        pthread_mutex_unlock(&r->mu);
        atomic_fetch_add(&r->dropped, 1);
        cs_buf_free(path);
        cs_buf_free(body);
        return;
    }
    struct cs_recorder_item *it = cs_calloc(1, sizeof(*it));
    it->method = method;
    it->ctype = ctype;
    it->accept = accept;
    it->body_len = body->len;
    it->path = cs_buf_steal(path);
    it->body = cs_buf_steal(body);
    if (r->tail) {
        r->tail->next = it;
    } else {
        r->head = it;
    }
    r->tail = it;
    r->n_pending++;
    pthread_mutex_unlock(&r->mu);
    pump(r);
}

void cs_recorder_event_ref(struct cs_recorder *r, const char *ns, const char *name,
                           const char *uid, const char *type, const char *reason,
                           const char *action, const char *note, const char *controller)
{
    cs_recorder_event_obj(r, "Pod", "v1", ns, name, uid, type, reason, action, note,
                          controller);
}

void cs_recorder_event_obj(struct cs_recorder *r, const char *kind, const char *api_version,
                           const char *ns, const char *name, const char *uid, const char *type,
                           const char *reason, const char *action, const char *note,
                           const char *controller)
{
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    struct cs_event ev = {
        .regarding = { .kind = kind, .api_version = api_version, .ns = ns, .name = name,
                       .uid = uid },
        .type = type,
        .reason = reason,
        .action = action,
        .note = note,
        .reporting_controller = controller,
        .reporting_instance = r->instance,
        .event_time_ns = cs_wall_ns(),
    };
    cs_buf_printf(&path, "/apis/events.k8s.io/v1/namespaces/%s/events", ns);
    if (cs_client_protobuf(r->client)) {
        cs_pb_encode_event(&body, &ev);
        send(r, "POST", &path, &body, CS_CLIENT_PB_MEDIA);
    } else {
        cs_encode_event(&body, &ev);
        send(r, "POST", &path, &body, "application/json");
    }
}

void cs_recorder_event(struct cs_recorder *r, const struct cs_pod *pod, const char *type,
                       const char *reason, const char *action, const char *note,
                       const char *controller)
{
    cs_recorder_event_ref(r, pod->ns, pod->name, pod->uid, type, reason, action, note,
                          controller);
}

void cs_recorder_unschedulable(struct cs_recorder *r, const struct cs_pod *pod, const char *reason,
                               const char *message)
{
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    cs_encode_pod_scheduled_false(&body, strcmp(reason, "Unschedulable") == 0, message,
                                  cs_wall_ns(), CS_NOMINATED_KEEP, NULL);
    cs_buf_printf(&path, "/api/v1/namespaces/%s/pods/%s/status", pod->ns, pod->name);
    send(r, "PATCH", &path, &body, "application/strategic-merge-patch+json");
}
