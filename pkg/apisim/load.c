/*
 * --cluster file loading. The file is parsed with the YAML reader (JSON is YAML), flattened
 * into a list of objects, and each object is routed to its type by apiVersion + kind.
 * Server-set fields (uid, resourceVersion, creationTimestamp) are re-stamped by the store.
 */
#include "pkg/apisim/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/apisim/http.h"
#include "pkg/apisim/server.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/yaml.h"

static void flatten(json_t *v, json_t *out)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
            flatten(x, out);
    } else if (json_is_object(v)) {
        const char *kind = json_string_value(json_object_get(v, "kind"));
        json_t *items = json_object_get(v, "items");
        if (json_is_array(items) && (!kind || strstr(kind, "List")))
            flatten(items, out);
        else
            json_array_append(out, v);
    }
}

static struct cs_apisim_rtype *type_of(struct cs_apisim_store *s, const json_t *o)
{
    const char *av = json_string_value(json_object_get(o, "apiVersion"));
    const char *kind = json_string_value(json_object_get(o, "kind"));
    if (!av || !kind)
        return NULL;
    char group[256];
    const char *slash = strchr(av, '/');
    snprintf(group, sizeof(group), "%.*s", slash ? (int)(slash - av) : 0, av);
    return cs_apisim_store_rtype_by_kind(s, group, kind);
}

static int load_one(struct cs_apisim_store *s, json_t *o, int crds_only, const char *path,
                    size_t idx, char *err, size_t errlen)
{
    struct cs_apisim_rtype *rt = type_of(s, o);
    const char *kind = json_string_value(json_object_get(o, "kind"));
    int is_crd = kind && !strcmp(kind, "CustomResourceDefinition");
    if (crds_only != is_crd)
        return 0;
    const char *name = json_string_value(json_object_get(json_object_get(o, "metadata"),
                                                         "name"));
    if (!rt) {
        snprintf(err, errlen, "%s: item %zu (%s %s): unknown apiVersion/kind %s/%s", path, idx,
                 kind ? kind : "?", name ? name : "?",
                 json_string_value(json_object_get(o, "apiVersion")) ?
                     json_string_value(json_object_get(o, "apiVersion")) : "(none)",
                 kind ? kind : "(none)");
        return -1;
    }
    json_t *c = json_deep_copy(o);
    json_t *meta = json_object_get(c, "metadata");
    if (json_is_object(meta)) {
        json_object_del(meta, "resourceVersion");
        json_object_del(meta, "managedFields");
    }
    if (!strcmp(rt->resource, "nodes") && !rt->group[0]) {
        json_t *st = json_object_get(c, "status");
        if (json_is_object(json_object_get(st, "capacity")) &&
            !json_object_get(st, "allocatable"))
            json_object_set_new(st, "allocatable",
                                json_deep_copy(json_object_get(st, "capacity")));
    }
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    if (rt->namespaced) {
        if (!ns || !ns[0])
            ns = "default";
        struct cs_apisim_rtype *nsrt = cs_apisim_store_rtype(s, "", "namespaces");
        if (!cs_apisim_store_get(s, nsrt, NULL, ns)) {
            json_t *n = json_pack("{s:{s:s,s:{s:s}},s:{s:[s]},s:{s:s}}", "metadata", "name", ns,
                                  "labels", "kubernetes.io/metadata.name", ns, "spec",
                                  "finalizers", "kubernetes", "status", "phase", "Active");
            cs_apisim_store_create(s, nsrt, NULL, n, NULL, NULL);
        }
    }
    struct cs_apisim_status st;
    char nsbuf[256];
    snprintf(nsbuf, sizeof(nsbuf), "%s", ns ? ns : "");
    const json_t *stored = NULL;
    json_t *again = json_deep_copy(c);  /* for the replace path; create steals c */
    if (cs_apisim_store_create(s, rt, rt->namespaced ? nsbuf : NULL, c, &stored, &st)) {
        if (st.code == 409 && name) {
            /* The object exists already (built-in namespaces and PriorityClasses are part of
             * every dump): the loaded version replaces it, status included. */
            json_t *status_copy = rt->has_status ? json_deep_copy(again) : NULL;
            int rc = cs_apisim_store_update(s, rt, rt->namespaced ? nsbuf : NULL, name, again, 0,
                                            &stored, &st);
            again = NULL;
            if (rc == 0 && status_copy) {
                rc = cs_apisim_store_update(s, rt, rt->namespaced ? nsbuf : NULL, name,
                                            status_copy, 1, &stored, &st);
                status_copy = NULL;
            }
            json_decref(status_copy);
            if (rc == 0) {
                if (is_crd)
                    cs_apisim_crd_serve(s, stored);
                return 1;
            }
        }
        json_decref(again);
        snprintf(err, errlen, "%s: item %zu (%s %s): %s", path, idx, kind, name ? name : "?",
                 st.message);
        return -1;
    }
    json_decref(again);
    if (is_crd)
        cs_apisim_crd_serve(s, stored);
    return 1;
}

int cs_apisim_load_file(struct cs_apisim_store *s, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    struct cs_buf b;
    char yerr[256];
    json_t *docs = NULL, *items = json_array();
    int n = 0;
    cs_buf_init(&b);
    if (!f) {
        snprintf(err, errlen, "--cluster: cannot open %s", path);
        n = -1;
        goto done;
    }
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof(chunk), f)) > 0)
        cs_buf_append(&b, chunk, k);
    fclose(f);
    if (cs_yaml_to_json_docs(b.data ? b.data : "", b.len, &docs, yerr, sizeof(yerr))) {
        snprintf(err, errlen, "--cluster %s: %s", path, yerr);
        n = -1;
        goto done;
    }
    flatten(docs, items);
    cs_apisim_server_prepare_store(s);
    cs_apisim_store_lock(s);
    for (int pass = 1; pass >= 0 && n >= 0; pass--) {
        size_t i;
        json_t *o;
        json_array_foreach(items, i, o) {
            int r = load_one(s, o, pass, path, i, err, errlen);
            if (r < 0) {
                n = -1;
                break;
            }
            n += r;
        }
    }
    cs_apisim_store_unlock(s);
done:
    json_decref(docs);
    json_decref(items);
    cs_buf_free(&b);
    return n;
}
