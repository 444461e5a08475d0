/* Interning table: a cs_map from string to itself, guarded by one mutex (see intern.h). */
#include "pkg/util/intern.h"

#include <string.h>

#include "pkg/util/alloc.h"

void cs_intern_init(struct cs_intern *t)
{
    pthread_mutex_init(&t->mu, NULL);
    cs_map_init(&t->map);
}

void cs_intern_destroy(struct cs_intern *t)
{
    size_t it = 0;
    void *v;
    while (cs_map_next(&t->map, &it, NULL, &v)) {
        cs_free(v);
    }
    cs_map_destroy(&t->map);
    pthread_mutex_destroy(&t->mu);
}

const char *cs_intern_n(struct cs_intern *t, const char *s, size_t n)
{
    char stackbuf[256];
    char *tmp = n < sizeof(stackbuf) ? stackbuf : cs_malloc(n + 1);
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    pthread_mutex_lock(&t->mu);
    char *found = cs_map_get(&t->map, tmp);
    if (found == NULL) {
        found = cs_strndup(tmp, n);
        cs_map_put(&t->map, found, found);
    }
    pthread_mutex_unlock(&t->mu);
    if (tmp != stackbuf) {
        cs_free(tmp);
    }
    return found;
}

const char *cs_intern(struct cs_intern *t, const char *s)
{
    return cs_intern_n(t, s, strlen(s));
}

size_t cs_intern_len(struct cs_intern *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = cs_map_len(&t->map);
    pthread_mutex_unlock(&t->mu);
    return n;
}
