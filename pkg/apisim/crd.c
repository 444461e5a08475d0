/*
 * CustomResourceDefinitions: validation on admission (names, group, scope, versions), the
 * Established/NamesAccepted status, and a store hook that starts serving a custom type when
 * its CRD is stored and stops serving it (deleting its objects) when the CRD goes away.
 */
#include <stdio.h>
#include <string.h>

#include "pkg/apisim/http.h"
#include "pkg/util/alloc.h"
#include "pkg/util/timeutil.h"

static const char *sget(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

int cs_apisim_crd_admit(struct cs_apisim_server *sv, json_t *obj, const json_t *old,
                        struct cs_apisim_status *st)
{
    (void)sv;
    const char *name = sget(json_object_get(obj, "metadata"), "name");
    json_t *spec = json_object_get(obj, "spec");
    json_t *names = json_object_get(spec, "names");
    const char *group = sget(spec, "group"), *plural = sget(names, "plural");
    const char *kind = sget(names, "kind"), *scope = sget(spec, "scope");
    json_t *versions = json_object_get(spec, "versions");
    if (!group[0] || !plural[0] || !kind[0])
        return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition.apiextensions."
                                    "k8s.io \"%s\" is invalid: spec: Required value: group, "
                                    "names.plural and names.kind are required", name);
    char want[512];
    snprintf(want, sizeof(want), "%s.%s", plural, group);
    if (strcmp(name, want))
        return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition.apiextensions."
                                    "k8s.io \"%s\" is invalid: metadata.name: Invalid value: "
                                    "\"%s\": must be spec.names.plural+\".\"+spec.group", name,
                                    name);
    if (strcmp(scope, "Namespaced") && strcmp(scope, "Cluster"))
        return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition.apiextensions."
                                    "k8s.io \"%s\" is invalid: spec.scope: Unsupported value: "
                                    "\"%s\": supported values: \"Cluster\", \"Namespaced\"",
                                    name, scope);
    if (!json_is_array(versions) || !json_array_size(versions))
        return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition.apiextensions."
                                    "k8s.io \"%s\" is invalid: spec.versions: Invalid value: "
                                    "must have exactly one version marked as storage version",
                                    name);
    int storage = 0;
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
        if (!sget(v, "name")[0])
            return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition."
                                        "apiextensions.k8s.io \"%s\" is invalid: "
                                        "spec.versions[%zu].name: Required value", name, i);
        if (json_is_true(json_object_get(v, "storage")))
            storage++;
    }
    if (storage != 1)
        return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition.apiextensions."
                                    "k8s.io \"%s\" is invalid: spec.versions: Invalid value: "
                                    "must have exactly one version marked as storage version",
                                    name);
    if (old && strcmp(sget(json_object_get(old, "spec"), "scope"), scope))
        return cs_apisim_status_set(st, 422, "Invalid", "CustomResourceDefinition.apiextensions."
                                    "k8s.io \"%s\" is invalid: spec.scope: Invalid value: "
                                    "\"%s\": field is immutable", name, scope);
    char ts[40];
    cs_fmt_time(cs_wall_ns(), ts, sizeof(ts));
    json_t *status = json_object();
    json_object_set_new(status, "conditions",
                        json_pack("[{s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s}]",
                                  "type", "NamesAccepted", "status", "True",
                                  "lastTransitionTime", ts, "reason", "NoConflicts",
                                  "message", "no conflicts found",
                                  "type", "Established", "status", "True",
                                  "lastTransitionTime", ts, "reason", "InitialNamesAccepted",
                                  "message", "the initial names have been accepted"));
    json_object_set(status, "acceptedNames", names);
    json_t *stored = json_array();
    json_array_foreach(versions, i, v)
        if (json_is_true(json_object_get(v, "storage")))
            json_array_append(stored, json_object_get(v, "name"));
    json_object_set_new(status, "storedVersions", stored);
    json_object_set_new(obj, "status", status);
    return 0;
}

static char **str_array(const json_t *arr)
{
    size_t n = json_array_size(arr), k = 0;
    char **out = cs_calloc(n + 1, sizeof(char *));
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (json_is_string(v))
            out[k++] = (char *)json_string_value(v);
    return out;
}

void cs_apisim_crd_serve(struct cs_apisim_store *s, const json_t *crd)
{
    json_t *spec = json_object_get(crd, "spec");
    json_t *names = json_object_get(spec, "names");
    json_t *versions = json_object_get(spec, "versions");
    const char *served[32];
    size_t ns = 0;
    const char *storage = NULL;
    int has_status = 0, has_scale = 0;
    json_t *columns = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(versions, i, v) {
        const char *vn = sget(v, "name");
        if (json_is_true(json_object_get(v, "storage"))) {
            storage = vn;
            json_t *sub = json_object_get(v, "subresources");
            has_status = json_object_get(sub, "status") != NULL;
            has_scale = json_object_get(sub, "scale") != NULL;
        }
        if (json_is_false(json_object_get(v, "served")) || ns >= 31)
            continue;
        served[ns++] = vn;
        json_t *cols = json_object_get(v, "additionalPrinterColumns");
        if (json_is_array(cols))
            json_object_set(columns, vn, cols);
    }
    served[ns] = NULL;
    if (!storage || !ns) {
        json_decref(columns);
        return;
    }
    char **shorts = str_array(json_object_get(names, "shortNames"));
    char **cats = str_array(json_object_get(names, "categories"));
    struct cs_apisim_rtype_def def = {
        .group = sget(spec, "group"), .version = storage, .versions = served,
        .resource = sget(names, "plural"), .singular = sget(names, "singular"),
        .kind = sget(names, "kind"),
        .list_kind = sget(names, "listKind")[0] ? sget(names, "listKind") : NULL,
        .short_names = (const char *const *)shorts, .categories = (const char *const *)cats,
        .namespaced = !strcmp(sget(spec, "scope"), "Namespaced"),
        .has_status = has_status, .has_scale = has_scale, .has_generation = 1,
    };
    if (!def.singular[0])
        def.singular = NULL;
    struct cs_apisim_rtype *rt = cs_apisim_store_register(s, &def);
    rt->is_crd = 1;
    rt->printer_columns = columns;
    cs_free(shorts);
    cs_free(cats);
}

void cs_apisim_crd_hook(void *arg, struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                        int type, const json_t *old_obj, const json_t *new_obj, uint64_t rv)
{
    struct cs_apisim_server *sv = arg;
    (void)rv;
    if (rt != sv->crd_rt)
        return;
    if (type == CS_APISIM_DELETED || type == CS_APISIM_MODIFIED) {
        const json_t *spec = json_object_get(old_obj, "spec");
        const char *g = sget(spec, "group");
        const char *p = sget(json_object_get(spec, "names"), "plural");
        struct cs_apisim_rtype *t = cs_apisim_store_rtype(s, g, p);
        if (t && t->is_crd && type == CS_APISIM_DELETED)
            cs_apisim_store_unregister(s, t);
    }
    if (type != CS_APISIM_DELETED)
        cs_apisim_crd_serve(s, new_obj);
}
