/*
 * Binder (see binder.h). A job is a tiny state machine driven by client callbacks on the I/O
 * thread: POST binding (with PreBind's annotations in its metadata) -> on_done. The request
 * bodies are encoded with
 * api/encode.h; the responses are classified by HTTP status only (201 = bound).
 */
#include "pkg/binder/binder.h"

#include <stdio.h>
#include <string.h>

#include "api/encode.h"
#include "api/pbencode.h"
#include "pkg/client/client.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"

struct bind_ctx {
    struct cs_binder *b;
    struct cs_bind_job *job;
};

void cs_binder_init(struct cs_binder *b, struct cs_client *client,
                    const struct cs_binder_hooks *hooks)
{
    memset(b, 0, sizeof(*b));
    b->client = client;
    b->hooks = *hooks;
}

void cs_bind_job_free(struct cs_bind_job *job)
{
    if (job == NULL) {
        return;
    }
    for (uint32_t i = 0; i < job->n_annotations; i++) {
        cs_free((void *)job->annotations[i].key);
        cs_free((void *)job->annotations[i].value);
    }
    cs_free(job->annotations);
    cs_pod_unref(job->pod);
    cs_free(job);
}

static void finish(struct bind_ctx *bc, bool ok, long status, const char *msg)
{
    struct cs_binder *b = bc->b;
    atomic_fetch_sub(&b->in_flight, 1);
    atomic_fetch_add(ok ? &b->succeeded : &b->failed, 1);
    struct cs_bind_result r = { .ok = ok, .http_status = status, .message = msg };
    if (b->hooks.on_done) {
        b->hooks.on_done(b->hooks.arg, bc->job, &r);
    }
    cs_bind_job_free(bc->job);
    cs_free(bc);
}

/* Pull "message" out of a Status body for logs and events; falls back to the raw text. */
static const char *status_message(const struct cs_client_resp *resp, char *buf, size_t n)
{
    if (resp->err) {
        return resp->err;
    }
    if (cs_client_is_protobuf(resp->content_type)) {
        char t[400];
        snprintf(buf, n, "HTTP %ld: %s", resp->status, cs_client_resp_text(resp, t, sizeof(t)));
        return buf;
    }
    const char *m = strstr(resp->body, "\"message\":\"");
    if (m == NULL) {
        snprintf(buf, n, "HTTP %ld: %.200s", resp->status, resp->body);
        return buf;
    }
    m += 11;
    size_t i = 0;
    while (*m && *m != '"' && i + 1 < n) {
        if (*m == '\\' && m[1]) {
            m++;
        }
        buf[i++] = *m++;
    }
    buf[i] = '\0';
    return buf;
}

static void on_bound(void *arg, const struct cs_client_resp *resp)
{
    struct bind_ctx *bc = arg;
    char buf[512];
    if (resp->status == 201 || resp->status == 200) {
        finish(bc, true, resp->status, NULL);
    } else {
        finish(bc, false, resp->status, status_message(resp, buf, sizeof(buf)));
    }
}

static void post_binding(struct bind_ctx *bc)
{
    struct cs_bind_job *job = bc->job;
    struct cs_buf body, path;
    cs_buf_init(&body);
    cs_buf_init(&path);
    cs_buf_printf(&path, "/api/v1/namespaces/%s/pods/%s/binding", job->pod->ns, job->pod->name);
    const char *ctype = NULL, *accept = NULL;
    if (cs_client_protobuf(bc->b->client)) {
        cs_pb_encode_binding(&body, job->pod->ns, job->pod->name, job->pod->uid, job->node,
                             job->annotations, job->n_annotations);
        ctype = CS_CLIENT_PB_MEDIA;
        accept = CS_CLIENT_PB_MEDIA ", application/json";
    } else {
        cs_encode_binding_annotated(&body, job->pod->ns, job->pod->name, job->pod->uid,
                                    job->node, job->annotations, job->n_annotations);
    }
    struct cs_client_req req = {
        .method = "POST",
        .path = path.data,
        .body = body.data,
        .body_len = body.len,
        .content_type = ctype,
        .accept = accept,
        .cb = on_bound,
        .arg = bc,
        .retry = CS_CLIENT_RETRY_NONE,
    };
    if (cs_client_submit(bc->b->client, &req) != 0) {
        finish(bc, false, 0, "client stopped");
    }
    cs_buf_free(&body);
    cs_buf_free(&path);
}

void cs_binder_submit(struct cs_binder *b, struct cs_bind_job *job)
{
    struct bind_ctx *bc = cs_malloc(sizeof(*bc));
    bc->b = b;
    bc->job = job;
    atomic_fetch_add(&b->in_flight, 1);
    atomic_fetch_add(&b->submitted, 1);
    post_binding(bc);
}
