/*
 * Client configuration: defaults, deep copy, kubeconfig parsing and in-cluster discovery.
 * A kubeconfig is YAML (or JSON); it is converted to a jansson tree with cs_yaml_to_json and
 * the context -> cluster + user chain is resolved from there. `*-data` fields are base64 PEM;
 * file fields are resolved against the kubeconfig's directory. Every error names the field.
 */
#include "pkg/client/client.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/yaml.h"

void cs_client_config_init(struct cs_client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->qps = 50;
    cfg->burst = 100;
    cfg->max_conns_per_host = 8;
    cfg->request_timeout_ms = 60000;
    cfg->token_reread_ms = 60000;
}

void cs_client_config_free(struct cs_client_config *cfg)
{
    cs_free(cfg->server);
    cs_free(cfg->ca_file);
    cs_free(cfg->ca_data);
    cs_free(cfg->cert_file);
    cs_free(cfg->cert_data);
    cs_free(cfg->key_file);
    cs_free(cfg->key_data);
    cs_free(cfg->token);
    cs_free(cfg->token_file);
    cs_free(cfg->tls_server_name);
    cs_free(cfg->namespace_);
    cs_free(cfg->user_agent);
    cs_free(cfg->content_type);
    cs_client_config_init(cfg);
}

static char *dup_s(const char *s)
{
    return s ? cs_strdup(s) : NULL;
}

static char *dup_n(const char *p, size_t n)
{
    if (!p) {
        return NULL;
    }
    char *d = cs_malloc(n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

void cs_client_config_copy(struct cs_client_config *dst, const struct cs_client_config *src)
{
    *dst = *src;
    dst->server = dup_s(src->server);
    dst->ca_file = dup_s(src->ca_file);
    dst->ca_data = dup_n(src->ca_data, src->ca_data_len);
    dst->cert_file = dup_s(src->cert_file);
    dst->cert_data = dup_n(src->cert_data, src->cert_data_len);
    dst->key_file = dup_s(src->key_file);
    dst->key_data = dup_n(src->key_data, src->key_data_len);
    dst->token = dup_s(src->token);
    dst->token_file = dup_s(src->token_file);
    dst->tls_server_name = dup_s(src->tls_server_name);
    dst->namespace_ = dup_s(src->namespace_);
    dst->user_agent = dup_s(src->user_agent);
    dst->content_type = dup_s(src->content_type);
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int b64val(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+' || ch == '-') {
        return 62;
    }
    if (ch == '/' || ch == '_') {
        return 63;
    }
    return -1;
}

/* Decode standard (or URL-safe) base64, ignoring whitespace; padding optional.
 * Returns a NUL-terminated buffer and its length, or NULL on bad input. */
static char *b64_decode(const char *s, size_t *outlen)
{
    size_t n = strlen(s);
    char *out = cs_malloc(n / 4 * 3 + 4);
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
            continue;
        }
        if (ch == '=') {
            pad++;
            continue;
        }
        int v = b64val(ch);
        if (v < 0 || pad) {
            cs_free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    if (bits >= 6) { /* a single dangling sextet cannot encode a byte */
        cs_free(out);
        return NULL;
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static char *resolve_path(const char *dir, const char *p)
{
    if (p[0] == '/' || !dir || !*dir) {
        return cs_strdup(p);
    }
    struct cs_buf b;
    cs_buf_init(&b);
    cs_buf_printf(&b, "%s/%s", dir, p);
    return cs_buf_steal(&b);
}

/* Find the entry named `name` in the kubeconfig list `list_key` and return its `inner` object. */
static json_t *find_named(json_t *root, const char *list_key, const char *inner, const char *name)
{
    json_t *arr = json_object_get(root, list_key);
    if (!json_is_array(arr)) {
        return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        const char *n = json_string_value(json_object_get(e, "name"));
        if (n && !strcmp(n, name)) {
            json_t *v = json_object_get(e, inner);
            return json_is_object(v) ? v : e; /* no inner mapping: nothing set */
        }
    }
    return NULL;
}

/* Optional string field: 0 ok (*out may stay NULL), -1 wrong type. */
static int get_str(json_t *obj, const char *key, const char **out, const char *what, char *err,
                   size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v)) {
        return 0;
    }
    if (!json_is_string(v)) {
        seterr(err, errlen, "kubeconfig: %s: field %s must be a string", what, key);
        return -1;
    }
    *out = json_string_value(v);
    if (!**out) {
        *out = NULL;
    }
    return 0;
}

static int get_data(json_t *obj, const char *key, char **data, size_t *len, const char *what,
                    char *err, size_t errlen)
{
    const char *s;
    if (get_str(obj, key, &s, what, err, errlen) < 0) {
        return -1;
    }
    if (!s) {
        return 0;
    }
    *data = b64_decode(s, len);
    if (!*data) {
        seterr(err, errlen, "kubeconfig: %s: field %s is not valid base64", what, key);
        return -1;
    }
    return 0;
}

static int get_file(json_t *obj, const char *key, const char *dir, char **out, const char *what,
                    char *err, size_t errlen)
{
    const char *s;
    if (get_str(obj, key, &s, what, err, errlen) < 0) {
        return -1;
    }
    if (s) {
        *out = resolve_path(dir, s);
    }
    return 0;
}

static int parse_tree(json_t *root, const char *dir, const char *context,
                      struct cs_client_config *cfg, char *err, size_t errlen)
{
    char what[512];
    if (!json_is_object(root)) {
        seterr(err, errlen, "kubeconfig: top level must be a mapping");
        return -1;
    }
    const char *ctxname = context && *context ? context
                                               : json_string_value(json_object_get(root,
                                                                                   "current-context"));
    if (!ctxname || !*ctxname) {
        seterr(err, errlen, "kubeconfig: current-context is not set and no context was given");
        return -1;
    }
    json_t *ctx = find_named(root, "contexts", "context", ctxname);
    if (!ctx) {
        seterr(err, errlen, "kubeconfig: context \"%s\" not found", ctxname);
        return -1;
    }
    snprintf(what, sizeof(what), "context \"%s\"", ctxname);
    const char *clname, *username, *ns;
    if (get_str(ctx, "cluster", &clname, what, err, errlen) < 0 ||
        get_str(ctx, "user", &username, what, err, errlen) < 0 ||
        get_str(ctx, "namespace", &ns, what, err, errlen) < 0) {
        return -1;
    }
    if (!clname) {
        seterr(err, errlen, "kubeconfig: context \"%s\": cluster is not set", ctxname);
        return -1;
    }
    json_t *cl = find_named(root, "clusters", "cluster", clname);
    if (!cl) {
        seterr(err, errlen, "kubeconfig: cluster \"%s\" (of context \"%s\") not found", clname,
               ctxname);
        return -1;
    }
    snprintf(what, sizeof(what), "cluster \"%s\"", clname);
    const char *server, *sni;
    if (get_str(cl, "server", &server, what, err, errlen) < 0 ||
        get_str(cl, "tls-server-name", &sni, what, err, errlen) < 0) {
        return -1;
    }
    if (!server) {
        seterr(err, errlen, "kubeconfig: cluster \"%s\": server is not set", clname);
        return -1;
    }
    cfg->server = cs_strdup(server);
    cfg->tls_server_name = dup_s(sni);
    cfg->namespace_ = dup_s(ns);
    json_t *insecure = json_object_get(cl, "insecure-skip-tls-verify");
    if (insecure && !json_is_boolean(insecure) && !json_is_null(insecure)) {
        seterr(err, errlen, "kubeconfig: cluster \"%s\": insecure-skip-tls-verify must be a boolean",
               clname);
        return -1;
    }
    cfg->insecure_skip_tls_verify = json_is_true(insecure);
    if (get_data(cl, "certificate-authority-data", &cfg->ca_data, &cfg->ca_data_len, what, err,
                 errlen) < 0 ||
        get_file(cl, "certificate-authority", dir, &cfg->ca_file, what, err, errlen) < 0) {
        return -1;
    }
    if (!username) {
        return 0; /* anonymous */
    }
    json_t *u = find_named(root, "users", "user", username);
    if (!u) {
        seterr(err, errlen, "kubeconfig: user \"%s\" (of context \"%s\") not found", username,
               ctxname);
        return -1;
    }
    snprintf(what, sizeof(what), "user \"%s\"", username);
    const char *tok;
    if (get_str(u, "token", &tok, what, err, errlen) < 0) {
        return -1;
    }
    cfg->token = dup_s(tok);
    if (get_file(u, "tokenFile", dir, &cfg->token_file, what, err, errlen) < 0 ||
        get_data(u, "client-certificate-data", &cfg->cert_data, &cfg->cert_data_len, what, err,
                 errlen) < 0 ||
        get_data(u, "client-key-data", &cfg->key_data, &cfg->key_data_len, what, err, errlen) < 0 ||
        get_file(u, "client-certificate", dir, &cfg->cert_file, what, err, errlen) < 0 ||
        get_file(u, "client-key", dir, &cfg->key_file, what, err, errlen) < 0) {
        return -1;
    }
    if (json_object_get(u, "exec") && !json_is_null(json_object_get(u, "exec"))) {
        seterr(err, errlen, "kubeconfig: user \"%s\": exec credential plugins are not supported",
               username);
        return -1;
    }
    if (json_object_get(u, "auth-provider") && !json_is_null(json_object_get(u, "auth-provider"))) {
        seterr(err, errlen, "kubeconfig: user \"%s\": auth-provider is not supported", username);
        return -1;
    }
    if ((cfg->cert_data || cfg->cert_file) != (cfg->key_data || cfg->key_file)) {
        seterr(err, errlen,
               "kubeconfig: user \"%s\": client certificate and client key must be given together",
               username);
        return -1;
    }
    return 0;
}

int cs_kubeconfig_parse(const char *text, size_t len, const char *dir, const char *context,
                        struct cs_client_config *cfg, char *err, size_t errlen)
{
    json_t *root = NULL;
    char yerr[256];
    if (cs_yaml_to_json(text, len, &root, yerr, sizeof(yerr)) < 0) {
        seterr(err, errlen, "kubeconfig: %s", yerr);
        return -1;
    }
    int rc = parse_tree(root, dir, context, cfg, err, errlen);
    json_decref(root);
    if (rc < 0) {
        cs_client_config_free(cfg);
    }
    return rc;
}

static int slurp(const char *path, char **out, size_t *outlen)
{
    int rc = -1;
    struct cs_buf b;
    cs_buf_init(&b);
    FILE *f = fopen(path, "rb");
    if (!f) {
        goto out;
    }
    char tmp[8192];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        cs_buf_append(&b, tmp, n);
    }
    if (ferror(f)) {
        goto out;
    }
    cs_buf_reserve(&b, 0);
    *outlen = b.len;
    *out = cs_buf_steal(&b);
    rc = 0;
out:
    if (f) {
        fclose(f);
    }
    cs_buf_free(&b);
    return rc;
}

int cs_kubeconfig_load(const char *path, const char *context, struct cs_client_config *cfg,
                       char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    if (slurp(path, &text, &len) < 0) {
        seterr(err, errlen, "kubeconfig: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char *dir = cs_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        if (slash == dir) {
            dir[0] = '/';
            dir[1] = '\0';
        }
    } else {
        dir[0] = '.';
        dir[1] = '\0';
    }
    int rc = cs_kubeconfig_parse(text, len, dir, context, cfg, err, errlen);
    cs_free(dir);
    cs_free(text);
    return rc;
}

int cs_client_config_in_cluster(struct cs_client_config *cfg, const char *root, char *err,
                                size_t errlen)
{
    const char *host = getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
        seterr(err, errlen,
               "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
               "(not running in a cluster)");
        return -1;
    }
    if (!root) {
        root = "/var/run/secrets/kubernetes.io/serviceaccount";
    }
    struct cs_buf b;
    cs_buf_init(&b);
    if (strchr(host, ':')) {
        cs_buf_printf(&b, "https://[%s]:%s", host, port);
    } else {
        cs_buf_printf(&b, "https://%s:%s", host, port);
    }
    cfg->server = cs_buf_steal(&b);
    cs_buf_printf(&b, "%s/token", root);
    FILE *f = fopen(b.data, "rb");
    if (!f) {
        seterr(err, errlen, "in-cluster config: cannot read token file %s: %s", b.data,
               strerror(errno));
        cs_buf_free(&b);
        cs_client_config_free(cfg);
        return -1;
    }
    fclose(f);
    cfg->token_file = cs_buf_steal(&b);
    cs_buf_printf(&b, "%s/ca.crt", root);
    cfg->ca_file = cs_buf_steal(&b);
    cs_buf_printf(&b, "%s/namespace", root);
    char *ns = NULL;
    size_t nslen = 0;
    if (slurp(b.data, &ns, &nslen) == 0) {
        while (nslen > 0 && (ns[nslen - 1] == '\n' || ns[nslen - 1] == ' ')) {
            ns[--nslen] = '\0';
        }
        cfg->namespace_ = ns;
    }
    cs_buf_free(&b);
    return 0;
}
