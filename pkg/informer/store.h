#ifndef CS_PKG_INFORMER_STORE_H
#define CS_PKG_INFORMER_STORE_H
/*
 * The informer's memory of a collection and the pure rules that turn server data into
 * add/update/delete notifications: per key the last resourceVersion (and optionally the last
 * object); watch events that are not newer than what is known are ignored; a (re)list is a
 * sequence of items between list_begin and list_end, after which every key the list did not
 * contain is deleted. No I/O, no threads: exposed for pkg/informer and its unit tests. One
 * owner thread.
 */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/map.h"

struct cs_inf_entry {
    char *key;                   /* "ns/name" or "name"; owned, also the map key */
    char *uid;                   /* owned, may be NULL */
    char *rv;                    /* owned */
    json_t *obj;                 /* a reference when keep_objects, else NULL */
    uint64_t epoch;              /* the list pass that last saw this key */
};

struct cs_inf_store {
    struct cs_map map;           /* key -> struct cs_inf_entry * */
    uint64_t epoch;
    int keep_objects;
};

/* Notification sink; obj/old are borrowed for the call. old is NULL unless keep_objects. */
struct cs_inf_sink {
    void (*add)(void *arg, json_t *obj);
    void (*update)(void *arg, json_t *old, json_t *obj);
    void (*del)(void *arg, json_t *obj);
    void *arg;
};

enum cs_inf_action {
    CS_INF_IGNORED = 0,          /* stale or duplicate */
    CS_INF_ADDED,
    CS_INF_UPDATED,
    CS_INF_DELETED,
    CS_INF_INVALID = -1,         /* the object has no metadata.name */
};

void cs_inf_store_init(struct cs_inf_store *s, int keep_objects);
void cs_inf_store_free(struct cs_inf_store *s);
size_t cs_inf_store_len(const struct cs_inf_store *s);
/* Entry for a key or NULL. */
struct cs_inf_entry *cs_inf_store_get(const struct cs_inf_store *s, const char *key);

/* Key of an object into buf ("ns/name" or "name"); returns -1 without metadata.name or when
 * it does not fit. */
int cs_inf_object_key(json_t *obj, char *buf, size_t n);

/* The entry obj is a newer version of (a MODIFIED event the store would apply), or NULL. */
struct cs_inf_entry *cs_inf_store_newer(const struct cs_inf_store *s, json_t *obj);
/* Record obj as e's current version without a notification (an update a handler took itself;
 * obj's resourceVersion and uid are read, the object itself is kept only with keep_objects). */
void cs_inf_store_record(struct cs_inf_store *s, struct cs_inf_entry *e, json_t *obj);

/* Apply one watch event: is_delete selects DELETED semantics, otherwise ADDED/MODIFIED. */
int cs_inf_store_apply(struct cs_inf_store *s, int is_delete, json_t *obj,
                       const struct cs_inf_sink *sink);
/* A list pass. */
void cs_inf_store_list_begin(struct cs_inf_store *s);
int cs_inf_store_list_item(struct cs_inf_store *s, json_t *obj, const struct cs_inf_sink *sink);
/* Delete every key not seen since list_begin; returns how many. */
size_t cs_inf_store_list_end(struct cs_inf_store *s, const struct cs_inf_sink *sink);

#endif
