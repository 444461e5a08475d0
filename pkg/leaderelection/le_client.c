/*
 * Leader-election transport over pkg/client: a blocking cs_client_do per request, called on
 * the elector's own thread (never the client's I/O thread). Requests are not retried by the
 * client: the election loop is the retry policy, and a retried PUT would defeat the renew
 * deadline.
 */
#include <string.h>

#include "pkg/client/client.h"
#include "pkg/leaderelection/leaderelection.h"

int cs_le_client_request(void *arg, const char *method, const char *path, const char *body,
                         long timeout_ms, long *status, struct cs_buf *resp)
{
    struct cs_client *c = arg;
    struct cs_client_req req = {
        .method = method,
        .path = path,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .retry = CS_CLIENT_RETRY_NONE,
        .timeout_ms = timeout_ms > 0 ? timeout_ms : 1,
    };
    struct cs_client_resp out;
    memset(&out, 0, sizeof out);
    *status = 0;
    if (cs_client_do(c, &req, &out) != 0) {
        return -1;
    }
    int rc = -1;
    if (out.err == NULL) {
        *status = out.status;
        cs_buf_append(resp, out.body ? out.body : "", out.body ? out.body_len : 0);
        rc = 0;
    }
    cs_client_resp_free(&out);
    return rc;
}
