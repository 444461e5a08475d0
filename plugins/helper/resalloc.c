/*
 * resourceAllocationScorer inputs (see resalloc.h). Everything works on fixed-size arrays the
 * caller provides, so scoring a node allocates nothing.
 */
#include "plugins/helper/resalloc.h"

#include <stdio.h>
#include <string.h>

static const char *const fixed_names[CS_RES_NFIXED] = {
    [CS_RES_CPU] = "cpu",
    [CS_RES_MEMORY] = "memory",
    [CS_RES_PODS] = "pods",
    [CS_RES_EPHEMERAL_STORAGE] = "ephemeral-storage",
};

static int slot_for(struct cs_resource_names *names, const char *name)
{
    if (names != NULL) {
        return cs_resource_slot(names, name);
    }
    for (int i = 0; i < CS_RES_NFIXED; i++) {
        if (strcmp(fixed_names[i], name) == 0) {
            return i;
        }
    }
    return -1;
}

int cs_res_specs_parse(const json_t *arr, const char *path, struct cs_resource_names *names,
                       struct cs_res_spec *out, uint32_t *n, char *err, size_t errlen)
{
    *n = 0;
    if (arr == NULL || json_is_null(arr) || (json_is_array(arr) && json_array_size(arr) == 0)) {
        out[0] = (struct cs_res_spec){.slot = CS_RES_CPU, .weight = 1, .name = "cpu"};
        out[1] = (struct cs_res_spec){.slot = CS_RES_MEMORY, .weight = 1, .name = "memory"};
        *n = 2;
        return 0;
    }
    if (!json_is_array(arr)) {
        snprintf(err, errlen, "%s: Invalid value: must be a list", path);
        return -1;
    }
    if (json_array_size(arr) > CS_RES_MAX) {
        snprintf(err, errlen, "%s: Too many: %zu: must have at most %d items", path,
                 json_array_size(arr), CS_RES_MAX);
        return -1;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (name == NULL || name[0] == '\0') {
            snprintf(err, errlen, "%s[%zu].name: Required value", path, i);
            return -1;
        }
        const json_t *w = json_object_get(e, "weight");
        if (w != NULL && !json_is_null(w) && !json_is_integer(w)) {
            snprintf(err, errlen, "%s[%zu].weight: Invalid value: must be an integer", path, i);
            return -1;
        }
        int64_t wv = json_is_integer(w) ? (int64_t)json_integer_value(w) : 0;
        out[*n] = (struct cs_res_spec){
            .slot = slot_for(names, name),
            .weight = wv == 0 ? 1 : wv,
            .name = name,
        };
        (*n)++;
    }
    return 0;
}

void cs_res_pod_requests(const struct cs_pod *pod, const struct cs_res_spec *specs, uint32_t n,
                         bool use_requested, int64_t *out)
{
    for (uint32_t i = 0; i < n; i++) {
        int s = specs[i].slot;
        if (s < 0 || s == CS_RES_PODS) {
            out[i] = 0;
        } else if (!use_requested && (s == CS_RES_CPU || s == CS_RES_MEMORY)) {
            out[i] = s == CS_RES_CPU ? pod->nonzero_cpu : pod->nonzero_memory;
        } else {
            out[i] = pod->requests.v[s];
        }
    }
}

void cs_res_node_values(const struct cs_node_info *ni, const struct cs_res_spec *specs,
                        uint32_t n, const int64_t *pod_req, bool use_requested, int64_t *alloc,
                        int64_t *req)
{
    for (uint32_t i = 0; i < n; i++) {
        int s = specs[i].slot;
        alloc[i] = 0;
        req[i] = 0;
        if (s < 0 || s == CS_RES_PODS) {
            continue;
        }
        if (s >= CS_RES_NFIXED && pod_req[i] == 0) {
            continue; /* scalar resource the pod does not ask for */
        }
        int64_t a = ni->allocatable.v[s];
        if (a == 0) {
            continue;
        }
        int64_t used;
        if (!use_requested && (s == CS_RES_CPU || s == CS_RES_MEMORY)) {
            used = ni->nonzero_requested.v[s];
        } else {
            used = ni->requested.v[s];
        }
        alloc[i] = a;
        req[i] = used + pod_req[i];
    }
}
