/*
 * Discovery and server information: /version, /api, /api/v1, /apis, /apis/{g},
 * /apis/{g}/{v}, generated from the registered types (so CRDs appear and disappear), in the
 * legacy (non-aggregated) format. Clients asking for aggregated discovery get the legacy
 * document with Content-Type application/json and fall back, as against older servers.
 * /openapi/v2 and /openapi/v3 answer 404, which kubectl treats as "no schema" and skips
 * client-side validation.
 */
#include <stdio.h>
#include <string.h>

#include "pkg/apisim/http.h"

static void put_strv(struct cs_buf *b, char **v)
{
    cs_buf_putc(b, '[');
    for (size_t i = 0; v && v[i]; i++) {
        if (i)
            cs_buf_putc(b, ',');
        cs_buf_json_str(b, v[i]);
    }
    cs_buf_putc(b, ']');
}

static int serves(const struct cs_apisim_rtype *t, const char *group, const char *version)
{
    if (!t->served || strcmp(t->group, group))
        return 0;
    for (size_t i = 0; t->versions[i]; i++)
        if (!strcmp(t->versions[i], version))
            return 1;
    return 0;
}

static const char *const verbs =
    "[\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\","
    "\"watch\"]";

static void resource_list(struct cs_apisim_server *sv, const char *group, const char *version,
                          struct cs_buf *b)
{
    cs_buf_puts(b, "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"");
    if (group[0])
        cs_buf_printf(b, "%s/", group);
    cs_buf_printf(b, "%s\",\"resources\":[", version);
    int first = 1;
    for (struct cs_apisim_rtype *t = sv->store->types; t; t = t->next) {
        if (!serves(t, group, version))
            continue;
        if (!first)
            cs_buf_putc(b, ',');
        first = 0;
        cs_buf_puts(b, "{\"name\":");
        cs_buf_json_str(b, t->resource);
        cs_buf_puts(b, ",\"singularName\":");
        cs_buf_json_str(b, t->singular);
        cs_buf_printf(b, ",\"namespaced\":%s,\"kind\":", t->namespaced ? "true" : "false");
        cs_buf_json_str(b, t->kind);
        cs_buf_printf(b, ",\"verbs\":%s", verbs);
        if (t->short_names[0]) {
            cs_buf_puts(b, ",\"shortNames\":");
            put_strv(b, t->short_names);
        }
        if (t->categories[0]) {
            cs_buf_puts(b, ",\"categories\":");
            put_strv(b, t->categories);
        }
        cs_buf_puts(b, ",\"storageVersionHash\":\"\"}");
        if (t->has_status) {
            cs_buf_puts(b, ",{\"name\":");
            cs_buf_printf(b, "\"%s/status\",\"singularName\":\"\",\"namespaced\":%s,\"kind\":",
                          t->resource, t->namespaced ? "true" : "false");
            cs_buf_json_str(b, t->kind);
            cs_buf_puts(b, ",\"verbs\":[\"get\",\"patch\",\"update\"]}");
        }
        if (t->has_scale) {
            cs_buf_printf(b, ",{\"name\":\"%s/scale\",\"singularName\":\"\",\"namespaced\":%s,"
                          "\"group\":\"autoscaling\",\"version\":\"v1\",\"kind\":\"Scale\","
                          "\"verbs\":[\"get\",\"patch\",\"update\"]}", t->resource,
                          t->namespaced ? "true" : "false");
        }
        if (!strcmp(t->resource, "pods") && !t->group[0]) {
            cs_buf_puts(b, ",{\"name\":\"pods/binding\",\"singularName\":\"\",\"namespaced\":"
                           "true,\"kind\":\"Binding\",\"verbs\":[\"create\"]},{\"name\":"
                           "\"pods/eviction\",\"singularName\":\"\",\"namespaced\":true,"
                           "\"group\":\"policy\",\"version\":\"v1\",\"kind\":\"Eviction\","
                           "\"verbs\":[\"create\"]}");
        }
    }
    cs_buf_puts(b, "]}");
}

/* One APIGroup object for group (versions in registration order, first = preferred). */
static int group_json(struct cs_apisim_server *sv, const char *group, struct cs_buf *b)
{
    const char *vs[16];
    size_t nv = 0;
    const char *preferred = NULL;
    for (struct cs_apisim_rtype *t = sv->store->types; t; t = t->next) {
        if (!t->served || strcmp(t->group, group))
            continue;
        if (!preferred)
            preferred = t->version;
        for (size_t i = 0; t->versions[i]; i++) {
            int seen = 0;
            for (size_t k = 0; k < nv; k++)
                if (!strcmp(vs[k], t->versions[i]))
                    seen = 1;
            if (!seen && nv < 16)
                vs[nv++] = t->versions[i];
        }
    }
    if (!nv)
        return 0;
    cs_buf_puts(b, "{\"name\":");
    cs_buf_json_str(b, group);
    cs_buf_puts(b, ",\"versions\":[");
    for (size_t i = 0; i < nv; i++)
        cs_buf_printf(b, "%s{\"groupVersion\":\"%s/%s\",\"version\":\"%s\"}", i ? "," : "",
                      group, vs[i], vs[i]);
    cs_buf_printf(b, "],\"preferredVersion\":{\"groupVersion\":\"%s/%s\",\"version\":\"%s\"}}",
                  group, preferred, preferred);
    return 1;
}

int cs_apisim_discovery(struct cs_apisim_server *sv, const char *path,
                        struct cs_apisim_reply *r)
{
    struct cs_buf *b = &r->body;
    char g[256], v[64];
    r->ctype = "application/json";
    if (!strcmp(path, "/version") || !strcmp(path, "/version/")) {
        /* what kube-apiserver v1.37.2 built by hack/k8s-build.sh answers */
        cs_buf_puts(b, "{\"major\":\"1\",\"minor\":\"37\",\"emulationMajor\":\"1\","
                       "\"emulationMinor\":\"37\",\"minCompatibilityMajor\":\"1\","
                       "\"minCompatibilityMinor\":\"36\",\"gitVersion\":\"v1.37.2\","
                       "\"gitCommit\":\"$Format:%H$\",\"gitTreeState\":\"\","
                       "\"buildDate\":\"1970-01-01T00:00:00Z\",\"goVersion\":\"go1.26.8\","
                       "\"compiler\":\"gc\",\"platform\":\"linux/amd64\"}");
        return 1;
    }
    if (!strcmp(path, "/api") || !strcmp(path, "/api/")) {
        cs_buf_printf(b, "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],"
                         "\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\","
                         "\"serverAddress\":\"127.0.0.1:%d\"}]}", sv->port);
        return 1;
    }
    if (!strcmp(path, "/api/v1") || !strcmp(path, "/api/v1/")) {
        resource_list(sv, "", "v1", b);
        return 1;
    }
    if (!strcmp(path, "/apis") || !strcmp(path, "/apis/")) {
        cs_buf_puts(b, "{\"kind\":\"APIGroupList\",\"apiVersion\":\"v1\",\"groups\":[");
        int first = 1;
        for (struct cs_apisim_rtype *t = sv->store->types; t; t = t->next) {
            if (!t->served || !t->group[0])
                continue;
            int seen = 0;
            for (struct cs_apisim_rtype *u = sv->store->types; u != t; u = u->next)
                if (u->served && !strcmp(u->group, t->group))
                    seen = 1;
            if (seen)
                continue;
            if (!first)
                cs_buf_putc(b, ',');
            first = 0;
            group_json(sv, t->group, b);
        }
        cs_buf_puts(b, "]}");
        return 1;
    }
    if (!strncmp(path, "/openapi/", 9)) {
        cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested "
                               "resource", NULL, NULL);
        return 1;
    }
    int n = 0;
    if (sscanf(path, "/apis/%255[^/]/%63[^/]%n", g, v, &n) == 2 &&
        (path[n] == 0 || (path[n] == '/' && path[n + 1] == 0))) {
        struct cs_buf tmp;
        cs_buf_init(&tmp);
        if (group_json(sv, g, &tmp)) {
            int any = 0;
            for (struct cs_apisim_rtype *t = sv->store->types; t; t = t->next)
                if (serves(t, g, v))
                    any = 1;
            if (any) {
                resource_list(sv, g, v, b);
                cs_buf_free(&tmp);
                return 1;
            }
        }
        cs_buf_free(&tmp);
        cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the requested "
                               "resource", NULL, NULL);
        return 1;
    }
    n = 0;
    if (sscanf(path, "/apis/%255[^/]%n", g, &n) == 1 &&
        (path[n] == 0 || (path[n] == '/' && path[n + 1] == 0))) {
        struct cs_buf tmp;
        cs_buf_init(&tmp);
        if (group_json(sv, g, &tmp)) {
            cs_buf_puts(b, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",");
            cs_buf_append(b, tmp.data + 1, tmp.len - 1);
        } else {
            cs_apisim_reply_status(r, 404, "NotFound", "the server could not find the "
                                   "requested resource", NULL, NULL);
        }
        cs_buf_free(&tmp);
        return 1;
    }
    return 0;
}
