/* The PriorityClass table (priority.h). */
#include "api/priority.h"

#include <pthread.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/map.h"

struct prio_class {
    char *name;
    int32_t value;
    enum cs_preemption_policy policy;
    bool global_default;
};

struct cs_prio_table {
    pthread_mutex_t mu;
    struct cs_map by_name;         /* name -> struct prio_class * (owns the name) */
};

struct cs_prio_table *cs_prio_table_new(void)
{
    struct cs_prio_table *t = cs_calloc(1, sizeof(*t));
    pthread_mutex_init(&t->mu, NULL);
    cs_map_init(&t->by_name);
    return t;
}

static void class_free(struct prio_class *c)
{
    if (c) {
        cs_free(c->name);
        cs_free(c);
    }
}

void cs_prio_table_free(struct cs_prio_table *t)
{
    if (t == NULL) {
        return;
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&t->by_name, &it, &k, &v);) {
        class_free(v);
    }
    cs_map_destroy(&t->by_name);
    pthread_mutex_destroy(&t->mu);
    cs_free(t);
}

static const char *class_name(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

void cs_prio_table_upsert(struct cs_prio_table *t, const json_t *obj)
{
    const char *name = class_name(obj);
    const json_t *v = json_object_get(obj, "value");
    if (name == NULL || !json_is_integer(v)) {
        return;
    }
    struct prio_class *c = cs_calloc(1, sizeof(*c));
    c->name = cs_strdup(name);
    json_int_t val = json_integer_value(v);
    c->value = val > INT32_MAX ? INT32_MAX : val < INT32_MIN ? INT32_MIN : (int32_t)val;
    const char *pol = json_string_value(json_object_get(obj, "preemptionPolicy"));
    c->policy = pol && strcmp(pol, "Never") == 0 ? CS_PREEMPT_NEVER : CS_PREEMPT_LOWER_PRIORITY;
    c->global_default = json_is_true(json_object_get(obj, "globalDefault"));
    pthread_mutex_lock(&t->mu);
    class_free(cs_map_put(&t->by_name, c->name, c));
    pthread_mutex_unlock(&t->mu);
}

void cs_prio_table_delete(struct cs_prio_table *t, const json_t *obj)
{
    const char *name = class_name(obj);
    if (name == NULL) {
        return;
    }
    pthread_mutex_lock(&t->mu);
    class_free(cs_map_del(&t->by_name, name));
    pthread_mutex_unlock(&t->mu);
}

bool cs_prio_table_lookup(struct cs_prio_table *t, const char *name, int32_t *value,
                          enum cs_preemption_policy *policy)
{
    if (t == NULL) {
        return false;
    }
    pthread_mutex_lock(&t->mu);
    const struct prio_class *c = NULL;
    if (name != NULL) {
        c = cs_map_get(&t->by_name, name);
    } else {
        const char *k;
        void *v;
        for (size_t it = 0; cs_map_next(&t->by_name, &it, &k, &v);) {
            const struct prio_class *x = v;
            if (x->global_default && (c == NULL || x->value < c->value)) {
                c = x;
            }
        }
    }
    if (c) {
        *value = c->value;
        *policy = c->policy;
    }
    pthread_mutex_unlock(&t->mu);
    return c != NULL;
}
