/*
 * Strict decoding of a KubeSchedulerConfiguration document into struct cs_config.
 *
 * The document is first turned into JSON (pkg/util/yaml, so YAML and JSON files both work),
 * then walked object by object: each object's keys are checked against the list of fields the
 * v1 type has (an unknown key is an error naming its full path, as kube-scheduler's strict
 * decoder reports it), and each field is read with a typed getter that names the path when the
 * type is wrong. A JSON null leaves the default in place, as Go's decoder does. Defaults are
 * applied before decoding, the default profile after, then cs_config_validate runs.
 */
#include "pkg/config/config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/config/config_internal.h"
#include "pkg/config/duration.h"
#include "pkg/util/alloc.h"
#include "pkg/util/yaml.h"

#define CS_CONFIG_MAX_FILE (16 * 1024 * 1024)
#define PATH_LEN 256

struct dec {
    char *err;
    size_t errlen;
};

/* Paths are only used in error messages; a truncated one just shortens the message. */
static void pathf(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, PATH_LEN, fmt, ap);
    va_end(ap);
}

static void join(char *out, const char *base, const char *key)
{
    if (base[0] == '\0') {
        pathf(out, "%s", key);
    } else {
        pathf(out, "%s.%s", base, key);
    }
}

static void index_path(char *out, const char *base, size_t i)
{
    pathf(out, "%s[%zu]", base, i);
}

/* Every key of obj must be in allowed (NULL-terminated). */
static int check_fields(struct dec *d, const json_t *obj, const char *path,
                        const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)(uintptr_t)obj, key, v) {
        int ok = 0;
        for (size_t i = 0; allowed[i] != NULL; i++) {
            if (strcmp(allowed[i], key) == 0) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            char p[PATH_LEN];
            join(p, path, key);
            snprintf(d->err, d->errlen, "%s: unknown field", p);
            return -1;
        }
    }
    return 0;
}

/* The field `key` of obj, or NULL when absent or null. */
static const json_t *field(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_null(v) ? NULL : v;
}

static int type_err(struct dec *d, const char *path, const char *key, const char *want)
{
    char p[PATH_LEN];
    join(p, path, key);
    snprintf(d->err, d->errlen, "%s: must be %s", p, want);
    return -1;
}

static int get_int(struct dec *d, const json_t *obj, const char *path, const char *key,
                   int64_t min, int64_t max, int64_t *out)
{
    const json_t *v = field(obj, key);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_integer(v)) {
        return type_err(d, path, key, "an integer");
    }
    json_int_t n = json_integer_value(v);
    if (n < min || n > max) {
        char p[PATH_LEN];
        join(p, path, key);
        snprintf(d->err, d->errlen, "%s: %lld is out of range", p, (long long)n);
        return -1;
    }
    *out = n;
    return 0;
}

static int get_i32(struct dec *d, const json_t *obj, const char *path, const char *key,
                   int32_t *out)
{
    int64_t v = *out;
    if (get_int(d, obj, path, key, INT32_MIN, INT32_MAX, &v) < 0) {
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

/* A percentage: 0..100 (so that the CS_CONFIG_UNSET sentinel can never be written). */
static int get_pct(struct dec *d, const json_t *obj, const char *path, const char *key,
                   int32_t *out)
{
    int64_t v = 0;
    const json_t *f = field(obj, key);
    if (f == NULL) {
        return 0;
    }
    if (!json_is_integer(f)) {
        return type_err(d, path, key, "an integer");
    }
    v = json_integer_value(f);
    if (v < 0 || v > 100) {
        char p[PATH_LEN];
        join(p, path, key);
        snprintf(d->err, d->errlen, "%s: must be between 0 and 100, got %lld", p, (long long)v);
        return -1;
    }
    *out = (int32_t)v;
    return 0;
}

static int get_bool(struct dec *d, const json_t *obj, const char *path, const char *key, int *out)
{
    const json_t *v = field(obj, key);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_boolean(v)) {
        return type_err(d, path, key, "a boolean");
    }
    *out = json_is_true(v);
    return 0;
}

static int get_str(struct dec *d, const json_t *obj, const char *path, const char *key, char **out)
{
    const json_t *v = field(obj, key);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_string(v)) {
        return type_err(d, path, key, "a string");
    }
    cs_free(*out);
    *out = cs_strdup(json_string_value(v));
    return 0;
}

static int get_num(struct dec *d, const json_t *obj, const char *path, const char *key,
                   double *out)
{
    const json_t *v = field(obj, key);
    if (v == NULL) {
        return 0;
    }
    if (!json_is_number(v)) {
        return type_err(d, path, key, "a number");
    }
    *out = json_number_value(v);
    return 0;
}

static int get_duration_ms(struct dec *d, const json_t *obj, const char *path, const char *key,
                           int64_t *out_ms)
{
    const json_t *v = field(obj, key);
    char why[160];
    int64_t ns;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_string(v)) {
        return type_err(d, path, key, "a duration string such as \"15s\"");
    }
    if (cs_duration_parse(json_string_value(v), &ns, why, sizeof(why)) < 0) {
        char p[PATH_LEN];
        join(p, path, key);
        snprintf(d->err, d->errlen, "%s: %s", p, why);
        return -1;
    }
    *out_ms = ns / 1000000;
    return 0;
}

static int want_object(struct dec *d, const json_t *v, const char *path)
{
    if (!json_is_object(v)) {
        snprintf(d->err, d->errlen, "%s: must be an object", path);
        return -1;
    }
    return 0;
}

static int want_array(struct dec *d, const json_t *v, const char *path)
{
    if (!json_is_array(v)) {
        snprintf(d->err, d->errlen, "%s: must be an array", path);
        return -1;
    }
    return 0;
}

/* ---- sections ------------------------------------------------------------------------- */

static int dec_leader(struct dec *d, const json_t *o, struct cs_config_leader_election *le)
{
    static const char *const f[] = { "leaderElect", "leaseDuration", "renewDeadline",
                                     "retryPeriod", "resourceLock", "resourceName",
                                     "resourceNamespace", NULL };
    const char *p = "leaderElection";
    if (want_object(d, o, p) < 0 || check_fields(d, o, p, f) < 0 ||
        get_bool(d, o, p, "leaderElect", &le->leader_elect) < 0 ||
        get_duration_ms(d, o, p, "leaseDuration", &le->lease_duration_ms) < 0 ||
        get_duration_ms(d, o, p, "renewDeadline", &le->renew_deadline_ms) < 0 ||
        get_duration_ms(d, o, p, "retryPeriod", &le->retry_period_ms) < 0 ||
        get_str(d, o, p, "resourceLock", &le->resource_lock) < 0 ||
        get_str(d, o, p, "resourceName", &le->resource_name) < 0 ||
        get_str(d, o, p, "resourceNamespace", &le->resource_namespace) < 0) {
        return -1;
    }
    return 0;
}

static int dec_client(struct dec *d, const json_t *o, struct cs_config_client_connection *cc)
{
    static const char *const f[] = { "kubeconfig", "acceptContentTypes", "contentType", "qps",
                                     "burst", NULL };
    const char *p = "clientConnection";
    if (want_object(d, o, p) < 0 || check_fields(d, o, p, f) < 0 ||
        get_str(d, o, p, "kubeconfig", &cc->kubeconfig) < 0 ||
        get_str(d, o, p, "acceptContentTypes", &cc->accept_content_types) < 0 ||
        get_str(d, o, p, "contentType", &cc->content_type) < 0 ||
        get_num(d, o, p, "qps", &cc->qps) < 0 || get_i32(d, o, p, "burst", &cc->burst) < 0) {
        return -1;
    }
    cc->qps_set = json_object_get(o, "qps") != NULL;
    cc->burst_set = json_object_get(o, "burst") != NULL;
    return 0;
}

/* enabled/disabled list: [{name, weight}] */
static int dec_refs(struct dec *d, const json_t *arr, const char *path,
                    struct cs_config_plugin_ref **out, size_t *n)
{
    static const char *const f[] = { "name", "weight", NULL };
    if (want_array(d, arr, path) < 0) {
        return -1;
    }
    size_t cnt = json_array_size(arr);
    *out = cs_calloc(cnt ? cnt : 1, sizeof(**out));
    *n = cnt;
    for (size_t i = 0; i < cnt; i++) {
        char p[PATH_LEN];
        const json_t *item = json_array_get(arr, i);
        index_path(p, path, i);
        if (want_object(d, item, p) < 0 || check_fields(d, item, p, f) < 0 ||
            get_str(d, item, p, "name", &(*out)[i].name) < 0 ||
            get_i32(d, item, p, "weight", &(*out)[i].weight) < 0) {
            return -1;
        }
    }
    return 0;
}

static int dec_plugins(struct dec *d, const json_t *o, const char *path,
                       struct cs_config_plugins *pl)
{
    static const char *const f[] = { "preEnqueue", "queueSort", "preFilter", "filter",
                                     "postFilter", "preScore",  "score",     "reserve",
                                     "permit",     "preBind",   "bind",      "postBind",
                                     "multiPoint", NULL };
    static const char *const sf[] = { "enabled", "disabled", NULL };
    if (want_object(d, o, path) < 0 || check_fields(d, o, path, f) < 0) {
        return -1;
    }
    for (int s = 0; s < CS_CONFIG_NSETS; s++) {
        const char *key = s == CS_CONFIG_MULTI_POINT ? "multiPoint"
                                                     : cs_ext_point_config_key((enum cs_ext_point)s);
        const json_t *set = field(o, key);
        char p[PATH_LEN], q[PATH_LEN];
        if (set == NULL) {
            continue;
        }
        join(p, path, key);
        if (want_object(d, set, p) < 0 || check_fields(d, set, p, sf) < 0) {
            return -1;
        }
        const json_t *en = field(set, "enabled");
        const json_t *dis = field(set, "disabled");
        join(q, p, "enabled");
        if (en != NULL && dec_refs(d, en, q, &pl->sets[s].enabled, &pl->sets[s].nenabled) < 0) {
            return -1;
        }
        join(q, p, "disabled");
        if (dis != NULL &&
            dec_refs(d, dis, q, &pl->sets[s].disabled, &pl->sets[s].ndisabled) < 0) {
            return -1;
        }
    }
    return 0;
}

static int dec_plugin_config(struct dec *d, const json_t *arr, const char *path,
                             struct cs_config_profile *prof)
{
    static const char *const f[] = { "name", "args", NULL };
    if (want_array(d, arr, path) < 0) {
        return -1;
    }
    size_t cnt = json_array_size(arr);
    prof->plugin_config = cs_calloc(cnt ? cnt : 1, sizeof(*prof->plugin_config));
    prof->nplugin_config = cnt;
    for (size_t i = 0; i < cnt; i++) {
        char p[PATH_LEN], q[PATH_LEN];
        const json_t *item = json_array_get(arr, i);
        index_path(p, path, i);
        if (want_object(d, item, p) < 0 || check_fields(d, item, p, f) < 0 ||
            get_str(d, item, p, "name", &prof->plugin_config[i].name) < 0) {
            return -1;
        }
        const json_t *args = field(item, "args");
        join(q, p, "args");
        if (args != NULL) {
            if (want_object(d, args, q) < 0) {
                return -1;
            }
            prof->plugin_config[i].args = json_deep_copy(args);
        }
    }
    return 0;
}

static int dec_profiles(struct dec *d, const json_t *arr, struct cs_config *c)
{
    static const char *const f[] = { "schedulerName", "percentageOfNodesToScore",
                                     "percentageOfPlacementsToScore", "plugins", "pluginConfig",
                                     NULL };
    if (want_array(d, arr, "profiles") < 0) {
        return -1;
    }
    size_t cnt = json_array_size(arr);
    c->profiles = cs_calloc(cnt ? cnt : 1, sizeof(*c->profiles));
    for (size_t i = 0; i < cnt; i++) {
        char p[PATH_LEN], q[PATH_LEN];
        const json_t *o = json_array_get(arr, i);
        struct cs_config_profile *prof = &c->profiles[i];
        prof->index = i;
        prof->percentage_of_nodes_to_score = CS_CONFIG_UNSET;
        prof->percentage_of_placements_to_score = CS_CONFIG_UNSET;
        c->nprofiles = i + 1; /* so cs_config_free sees partially decoded profiles */
        index_path(p, "profiles", i);
        if (want_object(d, o, p) < 0 || check_fields(d, o, p, f) < 0 ||
            get_str(d, o, p, "schedulerName", &prof->scheduler_name) < 0 ||
            get_pct(d, o, p, "percentageOfNodesToScore", &prof->percentage_of_nodes_to_score) <
                0 ||
            get_pct(d, o, p, "percentageOfPlacementsToScore",
                    &prof->percentage_of_placements_to_score) < 0) {
            return -1;
        }
        const json_t *pl = field(o, "plugins");
        join(q, p, "plugins");
        if (pl != NULL && dec_plugins(d, pl, q, &prof->plugins) < 0) {
            return -1;
        }
        const json_t *pc = field(o, "pluginConfig");
        join(q, p, "pluginConfig");
        if (pc != NULL && dec_plugin_config(d, pc, q, prof) < 0) {
            return -1;
        }
    }
    return 0;
}

static int dec_root(struct dec *d, const json_t *root, struct cs_config *c)
{
    static const char *const f[] = { "apiVersion", "kind", "parallelism", "leaderElection",
                                     "clientConnection", "enableProfiling",
                                     "enableContentionProfiling", "percentageOfNodesToScore",
                                     "percentageOfPlacementsToScore", "podInitialBackoffSeconds",
                                     "podMaxBackoffSeconds", "profiles", "extenders",
                                     "delayCacheUntilActive", NULL };
    if (!json_is_object(root)) {
        snprintf(d->err, d->errlen, "the document must be a KubeSchedulerConfiguration object");
        return -1;
    }
    const json_t *av = json_object_get(root, "apiVersion");
    const json_t *kind = json_object_get(root, "kind");
    if (!json_is_string(av)) {
        snprintf(d->err, d->errlen, "apiVersion: required (want %s)", CS_CONFIG_API_VERSION);
        return -1;
    }
    if (strcmp(json_string_value(av), CS_CONFIG_API_VERSION) != 0) {
        if (strncmp(json_string_value(av), "kubescheduler.config.k8s.io/", 28) == 0) {
            snprintf(d->err, d->errlen, "apiVersion: %s is not supported; use %s",
                     json_string_value(av), CS_CONFIG_API_VERSION);
        } else {
            snprintf(d->err, d->errlen, "apiVersion: unknown API version \"%s\" (want %s)",
                     json_string_value(av), CS_CONFIG_API_VERSION);
        }
        return -1;
    }
    if (!json_is_string(kind) || strcmp(json_string_value(kind), CS_CONFIG_KIND) != 0) {
        snprintf(d->err, d->errlen, "kind: want %s, got %s%s%s", CS_CONFIG_KIND,
                 json_is_string(kind) ? "\"" : "",
                 json_is_string(kind) ? json_string_value(kind) : "nothing",
                 json_is_string(kind) ? "\"" : "");
        return -1;
    }
    if (check_fields(d, root, "", f) < 0 ||
        get_i32(d, root, "", "parallelism", &c->parallelism) < 0 ||
        get_pct(d, root, "", "percentageOfNodesToScore", &c->percentage_of_nodes_to_score) < 0 ||
        get_pct(d, root, "", "percentageOfPlacementsToScore",
                &c->percentage_of_placements_to_score) < 0 ||
        get_int(d, root, "", "podInitialBackoffSeconds", INT64_MIN, INT64_MAX,
                &c->pod_initial_backoff_seconds) < 0 ||
        get_int(d, root, "", "podMaxBackoffSeconds", INT64_MIN, INT64_MAX,
                &c->pod_max_backoff_seconds) < 0 ||
        get_bool(d, root, "", "enableProfiling", &c->enable_profiling) < 0 ||
        get_bool(d, root, "", "enableContentionProfiling", &c->enable_contention_profiling) <
            0 ||
        get_bool(d, root, "", "delayCacheUntilActive", &c->delay_cache_until_active) < 0) {
        return -1;
    }
    const json_t *v = field(root, "leaderElection");
    if (v != NULL && dec_leader(d, v, &c->leader_election) < 0) {
        return -1;
    }
    v = field(root, "clientConnection");
    if (v != NULL && dec_client(d, v, &c->client_connection) < 0) {
        return -1;
    }
    v = field(root, "extenders");
    if (v != NULL) {
        if (want_array(d, v, "extenders") < 0) {
            return -1;
        }
        if (json_array_size(v) > 0) {
            snprintf(d->err, d->errlen, "extenders: scheduler extenders are not supported by "
                                        "cosched");
            return -1;
        }
    }
    v = field(root, "profiles");
    if (v != NULL && dec_profiles(d, v, c) < 0) {
        return -1;
    }
    if (c->nprofiles == 0) {
        cs_config_add_default_profile(c);
    } else if (c->nprofiles == 1 && c->profiles[0].scheduler_name == NULL) {
        c->profiles[0].scheduler_name = cs_strdup(CS_CONFIG_DEFAULT_SCHEDULER_NAME);
    }
    return 0;
}

int cs_config_load_json(const json_t *root, struct cs_config *out, char *err, size_t errlen)
{
    struct dec d = { err, errlen };
    cs_config_defaults_base(out);
    if (dec_root(&d, root, out) < 0 || cs_config_validate(out, err, errlen) < 0) {
        cs_config_free(out);
        return -1;
    }
    return 0;
}

int cs_config_load_string(const char *text, size_t len, struct cs_config *out, char *err,
                          size_t errlen)
{
    json_t *root = NULL;
    memset(out, 0, sizeof(*out));
    if (cs_yaml_to_json(text, len, &root, err, errlen) < 0) {
        return -1;
    }
    int rc = cs_config_load_json(root, out, err, errlen);
    json_decref(root);
    return rc;
}

int cs_config_load_file(const char *path, struct cs_config *out, char *err, size_t errlen)
{
    char inner[512];
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = -1;
    FILE *f = fopen(path, "rb");

    memset(out, 0, sizeof(*out));
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        text = cs_grow(text, 1, len + 4096 + 1, &cap);
        size_t got = fread(text + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            break;
        }
        if (len > CS_CONFIG_MAX_FILE) {
            snprintf(err, errlen, "%s: file larger than %d bytes", path, CS_CONFIG_MAX_FILE);
            goto done;
        }
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: read error", path);
        goto done;
    }
    text[len] = '\0';
    if (cs_config_load_string(text, len, out, inner, sizeof(inner)) < 0) {
        snprintf(err, errlen, "%s: %s", path, inner);
        goto done;
    }
    rc = 0;
done:
    fclose(f);
    cs_free(text);
    return rc;
}
