/* Watched PodGroup objects (podgroups.h). */
#include "plugins/coscheduling/podgroups.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"

struct entry {
    char *key;                     /* owned: "apigroup|ns/name" */
    struct cs_podgroup pg;
};

void cs_podgroups_init(struct cs_podgroups *t)
{
    pthread_mutex_init(&t->mu, NULL);
    cs_map_init(&t->by_key);
}

void cs_podgroups_destroy(struct cs_podgroups *t)
{
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&t->by_key, &it, &k, &v)) {
        struct entry *e = v;
        cs_free(e->key);
        cs_free(e);
    }
    cs_map_destroy(&t->by_key);
    pthread_mutex_destroy(&t->mu);
}

static bool key_of(const char *api_group, const json_t *obj, char *buf, size_t n)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (name == NULL) {
        return false;
    }
    int w = snprintf(buf, n, "%s|%s/%s", api_group, ns ? ns : "default", name);
    return w > 0 && (size_t)w < n;
}

/* spec.minMember and friends; a malformed field is recorded, never fatal. */
static void reduce(struct cs_resource_names *names, const json_t *obj, struct cs_podgroup *pg)
{
    memset(pg, 0, sizeof(*pg));
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *mm = json_object_get(spec, "minMember");
    if (json_is_integer(mm) && json_integer_value(mm) > 0 && json_integer_value(mm) <= INT32_MAX) {
        pg->min_member = (int32_t)json_integer_value(mm);
    } else if (mm == NULL) {
        snprintf(pg->error, sizeof(pg->error), "spec.minMember is missing");
    } else {
        snprintf(pg->error, sizeof(pg->error), "spec.minMember must be a positive integer");
    }
    const json_t *to = json_object_get(spec, "scheduleTimeoutSeconds");
    if (json_is_integer(to) && json_integer_value(to) > 0 && json_integer_value(to) <= INT32_MAX) {
        pg->timeout_s = (int32_t)json_integer_value(to);
    } else if (to && !json_is_null(to) && pg->error[0] == '\0') {
        snprintf(pg->error, sizeof(pg->error),
                 "spec.scheduleTimeoutSeconds must be a positive integer");
    }
    const json_t *mr = json_object_get(spec, "minResources");
    pg->has_min_resources = json_is_object(mr) && json_object_size(mr) > 0;
    char err[200];
    if (pg->has_min_resources && names &&
        cs_resources_decode(names, mr, "spec.minResources", &pg->min_resources, err,
                            sizeof(err)) != 0) {
        pg->has_min_resources = false;
        if (pg->error[0] == '\0') {
            snprintf(pg->error, sizeof(pg->error), "%.150s", err);
        }
    }
    const char *phase = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
    snprintf(pg->phase, sizeof(pg->phase), "%s", phase ? phase : "");
}

bool cs_podgroups_upsert(struct cs_podgroups *t, const char *api_group, const json_t *obj)
{
    char key[400];
    if (!key_of(api_group, obj, key, sizeof(key))) {
        return false;
    }
    struct cs_podgroup pg;
    reduce(t->names, obj, &pg);
    pthread_mutex_lock(&t->mu);
    struct entry *e = cs_map_get(&t->by_key, key);
    if (e == NULL) {
        e = cs_calloc(1, sizeof(*e));
        e->key = cs_strdup(key);
        cs_map_put(&t->by_key, e->key, e);
    }
    e->pg = pg;
    pthread_mutex_unlock(&t->mu);
    return true;
}

void cs_podgroups_remove(struct cs_podgroups *t, const char *api_group, const json_t *obj)
{
    char key[400];
    if (!key_of(api_group, obj, key, sizeof(key))) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    struct entry *e = cs_map_del(&t->by_key, key);
    pthread_mutex_unlock(&t->mu);
    if (e) {
        cs_free(e->key);
        cs_free(e);
    }
}

bool cs_podgroups_get(struct cs_podgroups *t, const char *api_group, const char *ns,
                      const char *name, struct cs_podgroup *out)
{
    char key[400];
    int w = snprintf(key, sizeof(key), "%s|%s/%s", api_group, ns, name);
    if (w < 0 || (size_t)w >= sizeof(key)) {
        return false;
    }
    pthread_mutex_lock(&t->mu);
    const struct entry *e = cs_map_get(&t->by_key, key);
    if (e) {
        *out = e->pg;
    }
    pthread_mutex_unlock(&t->mu);
    return e != NULL;
}
