/*
 * Patch engines. All three work on deep copies so a failed patch leaves nothing half-applied.
 * Strategic merge patch needs the Go struct tags of the built-in types; we carry the subset
 * that matters as a field-name table (a list field's name decides its merge key everywhere it
 * appears, which holds for the core, apps, batch and events types we serve).
 */
#include "pkg/apisim/patch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"

/* --- merge patch (RFC 7386) ------------------------------------------------------------------ */

static json_t *merge(json_t *target, const json_t *patch)
{
    if (!json_is_object(patch)) {
        json_decref(target);
        return json_deep_copy(patch);
    }
    if (!json_is_object(target)) {
        json_decref(target);
        target = json_object();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(target, k);
        } else {
            json_t *cur = json_object_get(target, k);
            json_t *merged = merge(cur ? json_incref(cur) : NULL, v);
            json_object_set_new(target, k, merged);
        }
    }
    return target;
}

json_t *cs_apisim_merge_patch(const json_t *doc, const json_t *patch)
{
    return merge(json_deep_copy(doc), patch);
}

/* --- JSON patch (RFC 6902) ------------------------------------------------------------------- */

/* Decode one pointer token (~1 -> /, ~0 -> ~) into buf. */
static void ptr_token(const char *s, size_t n, char *buf, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
            buf[o++] = s[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            buf[o++] = s[i];
        }
    }
    buf[o] = 0;
}

static int parse_index(const char *tok, size_t len_limit, size_t *idx)
{
    char *end;
    if (!tok[0] || (tok[0] == '0' && tok[1]))
        return -1;
    for (const char *p = tok; *p; p++)
        if (*p < '0' || *p > '9')
            return -1;
    unsigned long long v = strtoull(tok, &end, 10);
    if (*end || v > len_limit)
        return -1;
    *idx = (size_t)v;
    return 0;
}

/* Resolve the parent container of pointer path; *last gets the final token. */
static json_t *resolve_parent(json_t *doc, const char *path, char *last, size_t lastcap)
{
    if (path[0] != '/')
        return NULL;
    json_t *cur = doc;
    const char *p = path + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        char tok[256];
        ptr_token(p, n, tok, sizeof(tok));
        if (!slash) {
            snprintf(last, lastcap, "%s", tok);
            return cur;
        }
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            size_t i;
            if (parse_index(tok, json_array_size(cur) ? json_array_size(cur) - 1 : 0, &i) ||
                i >= json_array_size(cur))
                return NULL;
            cur = json_array_get(cur, i);
        } else {
            return NULL;
        }
        if (!cur)
            return NULL;
        p = slash + 1;
    }
}

static json_t *ptr_get(json_t *doc, const char *path)
{
    char last[256];
    if (!path[0])
        return doc;
    json_t *parent = resolve_parent(doc, path, last, sizeof(last));
    if (json_is_object(parent))
        return json_object_get(parent, last);
    if (json_is_array(parent)) {
        size_t i;
        if (parse_index(last, json_array_size(parent), &i) || i >= json_array_size(parent))
            return NULL;
        return json_array_get(parent, i);
    }
    return NULL;
}

/* value is stolen. */
static int ptr_add(json_t **doc, const char *path, json_t *value, int replace)
{
    char last[256];
    if (!path[0]) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    json_t *parent = resolve_parent(*doc, path, last, sizeof(last));
    if (json_is_object(parent)) {
        if (replace && !json_object_get(parent, last))
            goto fail;
        json_object_set_new(parent, last, value);
        return 0;
    }
    if (json_is_array(parent)) {
        size_t n = json_array_size(parent), i;
        if (!replace && !strcmp(last, "-")) {
            json_array_append_new(parent, value);
            return 0;
        }
        if (parse_index(last, n, &i))
            goto fail;
        if (replace) {
            if (i >= n)
                goto fail;
            json_array_set_new(parent, i, value);
        } else {
            json_array_insert_new(parent, i, value);
        }
        return 0;
    }
fail:
    json_decref(value);
    return -1;
}

static int ptr_remove(json_t *doc, const char *path)
{
    char last[256];
    json_t *parent = resolve_parent(doc, path, last, sizeof(last));
    if (json_is_object(parent))
        return json_object_del(parent, last);
    if (json_is_array(parent)) {
        size_t i;
        if (parse_index(last, json_array_size(parent), &i) || i >= json_array_size(parent))
            return -1;
        return json_array_remove(parent, i);
    }
    return -1;
}

json_t *cs_apisim_json_patch(const json_t *doc, const json_t *ops, char *err, size_t errlen)
{
    if (!json_is_array(ops)) {
        snprintf(err, errlen, "json patch must be an array of operations");
        return NULL;
    }
    json_t *out = json_deep_copy(doc);
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        const char *name = json_string_value(json_object_get(op, "op"));
        const char *path = json_string_value(json_object_get(op, "path"));
        const char *from = json_string_value(json_object_get(op, "from"));
        json_t *value = json_object_get(op, "value");
        if (!name || !path) {
            snprintf(err, errlen, "json patch operation %zu: op and path are required", i);
            goto fail;
        }
        if (!strcmp(name, "add") || !strcmp(name, "replace")) {
            if (!value) {
                snprintf(err, errlen, "json patch operation %zu (%s): value is required", i,
                         name);
                goto fail;
            }
            if (ptr_add(&out, path, json_deep_copy(value), name[0] == 'r')) {
                snprintf(err, errlen, "json patch operation %zu (%s): path %s does not exist",
                         i, name, path);
                goto fail;
            }
        } else if (!strcmp(name, "remove")) {
            if (ptr_remove(out, path)) {
                snprintf(err, errlen, "json patch operation %zu (remove): path %s does not "
                         "exist", i, path);
                goto fail;
            }
        } else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
            json_t *src = from ? ptr_get(out, from) : NULL;
            if (!src) {
                snprintf(err, errlen, "json patch operation %zu (%s): from %s does not exist",
                         i, name, from ? from : "(missing)");
                goto fail;
            }
            json_t *v = json_deep_copy(src);
            if (name[0] == 'm' && ptr_remove(out, from)) {
                json_decref(v);
                snprintf(err, errlen, "json patch operation %zu (move): cannot remove %s", i,
                         from);
                goto fail;
            }
            if (ptr_add(&out, path, v, 0)) {
                snprintf(err, errlen, "json patch operation %zu (%s): path %s does not exist",
                         i, name, path);
                goto fail;
            }
        } else if (!strcmp(name, "test")) {
            json_t *cur = ptr_get(out, path);
            if (!cur || !value || !json_equal(cur, value)) {
                snprintf(err, errlen, "json patch operation %zu (test): testing value %s failed",
                         i, path);
                goto fail;
            }
        } else {
            snprintf(err, errlen, "json patch operation %zu: unsupported op %s", i, name);
            goto fail;
        }
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* --- strategic merge patch ------------------------------------------------------------------- */

struct mk {
    const char *field, *key;
};
static const struct mk merge_keys[] = {
    { "conditions", "type" },       { "containers", "name" },
    { "initContainers", "name" },   { "ephemeralContainers", "name" },
    { "env", "name" },              { "ports", "containerPort" },
    { "volumes", "name" },          { "volumeMounts", "mountPath" },
    { "volumeDevices", "devicePath" }, { "imagePullSecrets", "name" },
    { "hostAliases", "ip" },        { "addresses", "type" },
    { "ownerReferences", "uid" },   { "podIPs", "ip" },
    { "hostIPs", "ip" },            { "resourceClaims", "name" },
    { "schedulingGates", "name" },  { "topologySpreadConstraints", "topologyKey" },
    { "readinessGates", "conditionType" }, { "envFrom", NULL },
    { NULL, NULL },
};

const char *cs_apisim_smp_merge_key(const char *field)
{
    for (const struct mk *m = merge_keys; m->field; m++)
        if (!strcmp(m->field, field))
            return m->key;
    return NULL;
}

static int is_primitive_merge(const char *field)
{
    return !strcmp(field, "finalizers");
}

static json_t *smp_map(json_t *orig, const json_t *patch, char *err, size_t errlen);

/* Copy of v without $-directives (recursively for objects). */
static json_t *strip(const json_t *v)
{
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (k[0] == '$')
                continue;
            json_object_set_new(o, k, strip(x));
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            json_array_append_new(a, strip(x));
        return a;
    }
    return json_deep_copy(v);
}

static json_t *find_by_key(json_t *list, const char *key, const json_t *val, size_t *idx)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        if (json_equal(json_object_get(e, key), (json_t *)val)) {
            if (idx)
                *idx = i;
            return e;
        }
    }
    return NULL;
}

/* orig: owned list (or NULL); returns the merged list (owned). */
static json_t *smp_list(json_t *orig, const json_t *patch, const char *key, char *err,
                        size_t errlen)
{
    size_t i;
    json_t *e;
    json_array_foreach(patch, i, e) {
        const char *d = json_string_value(json_object_get(e, "$patch"));
        if (d && !strcmp(d, "replace")) {
            json_decref(orig);
            json_t *out = json_array();
            size_t j;
            json_t *x;
            json_array_foreach(patch, j, x) {
                const char *dd = json_string_value(json_object_get(x, "$patch"));
                if (!dd || strcmp(dd, "replace"))
                    json_array_append_new(out, strip(x));
            }
            return out;
        }
    }
    if (!json_is_array(orig)) {
        json_decref(orig);
        orig = json_array();
    }
    json_array_foreach(patch, i, e) {
        const json_t *kv = json_is_object(e) ? json_object_get(e, key) : NULL;
        const char *d = json_string_value(json_object_get(e, "$patch"));
        if (!kv) {
            if (d && !strcmp(d, "delete"))
                continue;
            json_array_append_new(orig, strip(e));
            continue;
        }
        size_t at;
        json_t *cur = find_by_key(orig, key, kv, &at);
        if (d && !strcmp(d, "delete")) {
            while (cur) {
                json_array_remove(orig, at);
                cur = find_by_key(orig, key, kv, &at);
            }
            continue;
        }
        if (cur) {
            json_t *m = smp_map(json_incref(cur), e, err, errlen);
            if (!m) {
                json_decref(orig);
                return NULL;
            }
            json_array_set_new(orig, at, m);
        } else {
            json_array_append_new(orig, strip(e));
        }
    }
    return orig;
}

/* Reorder list by order (elements matched by key, or by value for primitives); elements not
 * named keep their relative order after the named ones. */
static void set_order(json_t *list, const json_t *order, const char *key)
{
    if (!json_is_array(list) || !json_is_array(order))
        return;
    json_t *out = json_array();
    json_t *used = json_array();
    size_t n = json_array_size(list);
    char *taken = cs_calloc(n ? n : 1, 1);
    size_t i;
    json_t *o;
    json_array_foreach(order, i, o) {
        const json_t *want = key ? json_object_get(o, key) : o;
        for (size_t j = 0; j < n; j++) {
            json_t *e = json_array_get(list, j);
            const json_t *have = key ? json_object_get(e, key) : e;
            if (!taken[j] && want && have && json_equal((json_t *)want, (json_t *)have)) {
                taken[j] = 1;
                json_array_append(out, e);
                break;
            }
        }
    }
    for (size_t j = 0; j < n; j++)
        if (!taken[j])
            json_array_append(out, json_array_get(list, j));
    json_array_clear(list);
    json_array_extend(list, out);
    json_decref(out);
    json_decref(used);
    cs_free(taken);
}

/* orig owned (may be NULL / non-object); returns merged object (owned) or NULL on error. */
static json_t *smp_map(json_t *orig, const json_t *patch, char *err, size_t errlen)
{
    const char *d = json_string_value(json_object_get(patch, "$patch"));
    if (d && !strcmp(d, "replace")) {
        json_decref(orig);
        return strip(patch);
    }
    if (d && strcmp(d, "merge") && strcmp(d, "delete")) {
        snprintf(err, errlen, "unknown patch type: %s", d);
        json_decref(orig);
        return NULL;
    }
    if (!json_is_object(orig)) {
        json_decref(orig);
        orig = json_object();
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (k[0] == '$')
            continue;
        if (json_is_null(v)) {
            json_object_del(orig, k);
            continue;
        }
        json_t *cur = json_object_get(orig, k);
        json_t *res;
        if (json_is_object(v)) {
            const char *vd = json_string_value(json_object_get(v, "$patch"));
            if (vd && !strcmp(vd, "delete")) {
                json_object_del(orig, k);
                continue;
            }
            res = smp_map(cur ? json_incref(cur) : NULL, v, err, errlen);
        } else if (json_is_array(v) && cs_apisim_smp_merge_key(k)) {
            res = smp_list(cur ? json_incref(cur) : NULL, v, cs_apisim_smp_merge_key(k), err,
                           errlen);
        } else if (json_is_array(v) && is_primitive_merge(k) && json_is_array(cur)) {
            res = json_deep_copy(cur);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                size_t j;
                json_t *y;
                int found = 0;
                json_array_foreach(res, j, y)
                    if (json_equal(x, y))
                        found = 1;
                if (!found)
                    json_array_append(res, x);
            }
        } else {
            res = strip(v);
        }
        if (!res) {
            json_decref(orig);
            return NULL;
        }
        json_object_set_new(orig, k, res);
    }
    /* directives that refer to sibling lists */
    json_object_foreach((json_t *)patch, k, v) {
        if (!strncmp(k, "$setElementOrder/", 17)) {
            const char *field = k + 17;
            set_order(json_object_get(orig, field), v, cs_apisim_smp_merge_key(field));
        } else if (!strncmp(k, "$deleteFromPrimitiveList/", 25)) {
            json_t *list = json_object_get(orig, k + 25);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x) {
                for (size_t j = json_array_size(list); j-- > 0;)
                    if (json_equal(json_array_get(list, j), x))
                        json_array_remove(list, j);
            }
        }
    }
    json_t *retain = json_object_get(patch, "$retainKeys");
    if (json_is_array(retain)) {
        void *tmp;
        json_object_foreach_safe(orig, tmp, k, v) {
            size_t i;
            json_t *x;
            int keep = 0;
            json_array_foreach(retain, i, x)
                if (json_is_string(x) && !strcmp(json_string_value(x), k))
                    keep = 1;
            if (!keep)
                json_object_del(orig, k);
        }
    }
    return orig;
}

json_t *cs_apisim_strategic_patch(const json_t *doc, const json_t *patch, char *err,
                                  size_t errlen)
{
    if (!json_is_object(patch)) {
        snprintf(err, errlen, "strategic merge patch must be a JSON object");
        return NULL;
    }
    return smp_map(json_deep_copy(doc), patch, err, errlen);
}
