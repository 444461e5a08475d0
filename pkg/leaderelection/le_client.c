/*
 * Leader-election transport over pkg/client: a blocking cs_client_do per request, called on
 * the elector's own thread (never the client's I/O thread). Requests are not retried by the
 * client: the election loop is the retry policy, and a retried PUT would defeat the renew
 * deadline.
 */
#include <stdlib.h>
#include <string.h>

#include "api/pbjson.h"
#include "pkg/client/client.h"
#include "pkg/util/buf.h"
#include "pkg/leaderelection/leaderelection.h"

int cs_le_client_request(void *arg, const char *method, const char *path, const char *body,
                         long timeout_ms, long *status, struct cs_buf *resp)
{
    struct cs_client *c = arg;
    /* Leases are a built-in kind: over protobuf when the client speaks it; the elector reads
     * and writes JSON either way. */
    struct cs_buf wire;
    cs_buf_init(&wire);
    const char *ctype = NULL, *accept = cs_client_protobuf(c) ? CS_PB_MEDIA ", application/json"
                                                              : NULL;
    if (body) {
        cs_buf_puts(&wire, body);
        cs_client_wire_body(c, &wire, &ctype, &accept);
    }
    struct cs_client_req req = {
        .method = method,
        .path = path,
        .body = body ? wire.data : NULL,
        .body_len = body ? wire.len : 0,
        .content_type = ctype,
        .accept = accept,
        .retry = CS_CLIENT_RETRY_NONE,
        .timeout_ms = timeout_ms > 0 ? timeout_ms : 1,
    };
    struct cs_client_resp out;
    memset(&out, 0, sizeof out);
    *status = 0;
    int rc = -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (cs_client_do(c, &req, &out) != 0) {
            break;
        }
        if (out.err != NULL) {
            break;
        }
        if (!cs_client_is_protobuf(out.content_type)) {
            *status = out.status;
            cs_buf_append(resp, out.body ? out.body : "", out.body ? out.body_len : 0);
            rc = 0;
            break;
        }
        char err[256];
        json_t *obj = cs_pb_decode_object(out.body, out.body_len, err, sizeof(err));
        char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
        json_decref(obj);
        if (text) {
            *status = out.status;
            cs_buf_puts(resp, text);
            free(text);
            rc = 0;
            break;
        }
        /* Undecodable protobuf: ask again for JSON (a GET, or a write the server refused, so
         * repeating it changes nothing; a write it accepted is reported as its status). */
        if (out.status >= 200 && out.status < 300 && body) {
            *status = out.status;
            cs_buf_puts(resp, "{}");
            rc = 0;
            break;
        }
        cs_client_resp_free(&out);
        req.accept = "application/json";
    }
    cs_buf_free(&wire);
    cs_client_resp_free(&out);
    return rc;
}
