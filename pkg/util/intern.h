#ifndef CS_PKG_UTIL_INTERN_H
#define CS_PKG_UTIL_INTERN_H
/*
 * String interning. cs_intern returns one canonical copy per distinct string, so interned
 * strings compare with ==. The table owns the copies and frees them in cs_intern_destroy; an
 * interned string lives as long as the table. Thread-safe (one mutex). Intern only strings from
 * bounded sets: label keys, namespaces, node names, scheduler names, resource names, container
 * names and images.
 */
#include <pthread.h>

#include "pkg/util/map.h"

struct cs_intern {
    pthread_mutex_t mu;
    struct cs_map map;
};

void cs_intern_init(struct cs_intern *t);
void cs_intern_destroy(struct cs_intern *t);
const char *cs_intern(struct cs_intern *t, const char *s);
const char *cs_intern_n(struct cs_intern *t, const char *s, size_t n);
size_t cs_intern_len(struct cs_intern *t);

#endif
