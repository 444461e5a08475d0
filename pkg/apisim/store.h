#ifndef CS_PKG_APISIM_STORE_H
#define CS_PKG_APISIM_STORE_H
/*
 * apisim's in-memory object store: every API object of every kind (built-in or CRD) as a
 * jansson tree, keyed by (resource type, namespace, name), with one global monotonic
 * resourceVersion and one bounded history ring of watch events shared by all watchers.
 *
 * Ownership
 *   - Stored objects are immutable once published: a write always builds a new tree and
 *     swaps it in. Functions returning `const json_t *` hand out BORROWED references that stay
 *     valid while the caller holds the store lock (do not modify them, do not keep them after
 *     unlocking; json_incref them and json_deep_copy if you need a private copy).
 *   - Functions taking `json_t *obj` STEAL the reference (they decref it, also on error).
 *   - Resource type descriptors (struct cs_apisim_rtype) live until cs_apisim_store_free,
 *     even after a CRD is deleted (they are then marked !served), so pointers stay valid.
 *
 * Thread model
 *   One mutex guards the whole store. Every function except new/free/lock/unlock must
 *   be called with the lock held (cs_apisim_store_lock). The HTTP server thread and the
 *   simulation timer thread both take it; hold it briefly. Write hooks run with the lock held,
 *   synchronously after the write was recorded; they may call store functions (including
 *   writes, which run their own hooks recursively) but must never take the lock again.
 *
 * Resource versions
 *   Every successful write bumps the global RV by exactly one and records exactly one event,
 *   so the history ring is indexed by RV. A write whose result is identical to the stored object
 *   (ignoring metadata.resourceVersion/managedFields) is a no-op: no RV bump, no event, like the
 *   real apiserver.
 */
#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/buf.h"
#include "pkg/util/map.h"

struct cs_apisim_store;
struct cs_apisim_hist;
struct cs_apisim_pending_del;

enum cs_apisim_ev_type {
    CS_APISIM_ADDED = 1,
    CS_APISIM_MODIFIED = 2,
    CS_APISIM_DELETED = 3,
};

/* Error result of a store call: HTTP code + metav1.Status reason + message. code 0 = ok. */
struct cs_apisim_status {
    int code;
    char reason[32];
    char message[512];
};

/*
 * Describes one served resource. Built-ins are registered at start by the server
 * (cs_apisim_builtin_register); CRDs are registered when a CustomResourceDefinition is created.
 * The strings are copied by cs_apisim_store_register.
 */
struct cs_apisim_rtype_def {
    const char *group;           /* "" for the core group */
    const char *version;         /* storage / preferred version, e.g. "v1" */
    const char *const *versions; /* NULL or NULL-terminated list of all served versions */
    const char *resource;        /* plural, e.g. "pods" */
    const char *singular;        /* e.g. "pod" */
    const char *kind;            /* e.g. "Pod" */
    const char *list_kind;       /* e.g. "PodList" */
    const char *const *short_names; /* NULL or NULL-terminated, e.g. {"po", NULL} */
    const char *const *categories;  /* NULL or NULL-terminated, e.g. {"all", NULL} */
    int namespaced;
    int has_status;              /* status subresource */
    int has_scale;               /* scale subresource (spec.replicas / status.replicas) */
    int has_generation;          /* metadata.generation set to 1 and bumped on spec change */
};

struct cs_apisim_obj;  /* internal: one published object version (refcounted) */

struct cs_apisim_rtype {
    char *group, *version, *resource, *singular, *kind, *list_kind;
    char **versions;      /* NULL-terminated, >= 1 entry */
    char **short_names;   /* NULL-terminated (may be empty) */
    char **categories;    /* NULL-terminated (may be empty) */
    int namespaced;
    int has_status;
    int has_scale;
    int has_generation;
    int served;           /* 0 after the owning CRD was deleted */
    int is_crd;
    json_t *printer_columns; /* CRD additionalPrinterColumns per version (owned), or NULL */
    char *api_version;    /* "group/version" or "v1" (for the storage version) */
    /* internal */
    struct cs_map objects; /* key ("ns/name" or "name") -> struct cs_apisim_obj * */
    struct cs_apisim_rtype *next;
};

/*
 * Called after every write, lock held. old is NULL for ADDED, new is the final state for
 * DELETED (the object as it was, with the deletion's RV). rv is the event's RV.
 */
typedef void (*cs_apisim_write_hook_fn)(void *arg, struct cs_apisim_store *s,
                                        const struct cs_apisim_rtype *rt, int type,
                                        const json_t *old_obj, const json_t *new_obj,
                                        uint64_t rv);

/* Mutator for cs_apisim_store_update_fn: edit obj in place (a private copy: every object and
 * array in it is private, but string and number leaves are shared with the stored version, so
 * replace them with json_object_set* / json_array_set* and never change one in place with
 * json_string_set / json_integer_set / json_real_set). Return 0 to commit, or an HTTP code
 * after filling *st to abort without writing. */
typedef int (*cs_apisim_mutate_fn)(json_t *obj, void *arg, struct cs_apisim_status *st);

/* One history entry; old/new are borrowed from the ring (valid under the lock). Read them
 * with cs_apisim_obj_json / cs_apisim_obj_text. */
struct cs_apisim_event {
    uint64_t rv;
    int type;                          /* enum cs_apisim_ev_type */
    const struct cs_apisim_rtype *rt;
    struct cs_apisim_obj *old_obj;     /* previous state or NULL (ADDED) */
    struct cs_apisim_obj *new_obj;     /* new state; for DELETED the last state with new RV */
};

struct cs_apisim_hook {
    cs_apisim_write_hook_fn fn;
    void *arg;
};

struct cs_apisim_store {
    pthread_mutex_t mu;
    uint64_t rv;                       /* last assigned resourceVersion */
    struct cs_apisim_rtype *types;     /* registered types (linked) */
    /* history ring: entry for RV r lives at ring[r % ring_cap] when r > rv - ring_len */
    struct cs_apisim_hist *ring;
    size_t ring_cap, ring_len;
    struct cs_apisim_hook *hooks;
    size_t nhooks, hooks_cap;
    /* pending graceful deletions (pods): drained by cs_apisim_store_tick */
    struct cs_apisim_pending_del *pending;
    size_t npending, pending_cap;
    uint64_t uid_seq;                  /* uid generator state (seeded) */
    uint64_t rand_state;               /* generateName suffixes (seeded, deterministic) */
    struct cs_buf scratch;             /* internal: serialization buffer (lock held) */
};

/* history_cap: number of events kept for watch resume (>= 16). seed makes uids/names
 * deterministic. */
struct cs_apisim_store *cs_apisim_store_new(size_t history_cap, uint64_t seed);
void cs_apisim_store_free(struct cs_apisim_store *s);
void cs_apisim_store_lock(struct cs_apisim_store *s);
void cs_apisim_store_unlock(struct cs_apisim_store *s);

/* --- resource types ---------------------------------------------------------------------- */
/* Register (or re-enable and update, when group+resource exists) a type. Never NULL. */
struct cs_apisim_rtype *cs_apisim_store_register(struct cs_apisim_store *s,
                                                 const struct cs_apisim_rtype_def *def);
/* Stop serving a type: deletes all its objects (DELETED events) and marks it !served. */
void cs_apisim_store_unregister(struct cs_apisim_store *s, struct cs_apisim_rtype *rt);
/* Lookup of served types; NULL if unknown. group "" = core. */
struct cs_apisim_rtype *cs_apisim_store_rtype(struct cs_apisim_store *s, const char *group,
                                              const char *resource);
struct cs_apisim_rtype *cs_apisim_store_rtype_by_kind(struct cs_apisim_store *s,
                                                      const char *group, const char *kind);

/* --- reads ------------------------------------------------------------------------------- */
/* Borrowed; NULL if absent. ns is ignored (may be NULL) for cluster-scoped types. */
const json_t *cs_apisim_store_get(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                                  const char *ns, const char *name);
/* Serialized form of the stored object (compact JSON), borrowed; NULL if absent. */
const char *cs_apisim_store_get_json(struct cs_apisim_store *s,
                                     const struct cs_apisim_rtype *rt, const char *ns,
                                     const char *name, size_t *len);
size_t cs_apisim_store_count(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt);
/* Unordered iteration over all objects of a type; no writes while iterating.
 *   size_t it = 0; const json_t *o; while (cs_apisim_store_next(s, rt, &it, &o)) {...} */
int cs_apisim_store_next(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                         size_t *it, const json_t **obj);

/* Match predicate for listing; return nonzero to include. */
typedef int (*cs_apisim_match_fn)(const json_t *obj, void *arg);
/* Snapshot of matching objects sorted by key (namespace, name). ns NULL = all namespaces.
 * The result holds references (items stay valid after unlocking, e.g. across paginated
 * requests) but must be read and released with cs_apisim_list_free under the lock. */
struct cs_apisim_list {
    struct cs_apisim_obj **items;
    size_t len;
    uint64_t rv;   /* store RV at the time of the snapshot */
};
void cs_apisim_store_list(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                          const char *ns, cs_apisim_match_fn match, void *arg,
                          struct cs_apisim_list *out);
void cs_apisim_list_free(struct cs_apisim_list *l);
/* Accessors for snapshot items and history events (lock held). Old versions in the history
 * keep only their text; cs_apisim_obj_json re-parses them on demand. */
const json_t *cs_apisim_obj_json(struct cs_apisim_obj *o);
const char *cs_apisim_obj_text(const struct cs_apisim_obj *o, size_t *len);
const char *cs_apisim_obj_key(const struct cs_apisim_obj *o);

/* --- writes (all return 0 or an HTTP error code with *st filled; st may be NULL) -------- */
/*
 * Create. Sets metadata.uid, creationTimestamp, resourceVersion, generation (1), kind and
 * apiVersion when missing; expands generateName; defaults namespace to ns (namespaced types:
 * ns must be given; a body namespace that differs -> 400). 409 AlreadyExists on duplicates.
 * No admission here (namespace existence, pod defaulting): that is the HTTP layer's job.
 * *out (optional) receives the stored object (borrowed).
 */
int cs_apisim_store_create(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                           const char *ns, json_t *obj, const json_t **out,
                           struct cs_apisim_status *st);
/*
 * Replace (PUT). If obj carries metadata.resourceVersion it must equal the stored one (else
 * 409 Conflict). uid, creationTimestamp, deletionTimestamp are preserved from the stored
 * object. For types with a status subresource, `subres` selects what changes: 0 = main
 * resource (stored .status kept), 1 = status (only .status taken from obj). 404 if absent.
 */
int cs_apisim_store_update(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                           const char *ns, const char *name, json_t *obj, int subres,
                           const json_t **out, struct cs_apisim_status *st);
/*
 * Read-modify-write: deep-copies the stored object, calls fn on the copy, and stores the
 * result (bumping RV, emitting MODIFIED unless nothing changed). 404 if absent. This is what
 * controllers and the binding handler use. fn is trusted: it may change any field (e.g.
 * deletionTimestamp); metadata.generation is bumped when anything outside metadata/status
 * changed (types with has_generation).
 */
int cs_apisim_store_update_fn(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                              const char *ns, const char *name, cs_apisim_mutate_fn fn,
                              void *arg, const json_t **out, struct cs_apisim_status *st);
/*
 * Like cs_apisim_store_update_fn, but fn gets a copy-on-write object: only the top level and
 * its metadata are private, every other object or array is still shared with the stored
 * version and must be made private with cs_apisim_cow before it is edited. For hot paths that
 * touch a few fields of a big object (pods/binding).
 */
int cs_apisim_store_update_cow(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                               const char *ns, const char *name, cs_apisim_mutate_fn fn,
                               void *arg, const json_t **out, struct cs_apisim_status *st);
/* Make parent[key] a private shallow copy (a new empty object, or array when array != 0, if
 * it is missing or of another type) and return it (borrowed from parent). */
json_t *cs_apisim_cow(json_t *parent, const char *key, int array);

struct cs_apisim_delete_opts {
    long long grace_seconds;     /* < 0: type default (pods: terminationGracePeriodSeconds
                                  * or 30); 0: immediate */
    const char *precond_uid;     /* NULL or required metadata.uid */
    const char *precond_rv;      /* NULL or required metadata.resourceVersion */
};
/*
 * Delete. Pods with grace > 0 that are bound to a node and not terminal get
 * deletionTimestamp/deletionGracePeriodSeconds set (MODIFIED) and are removed (DELETED) by
 * cs_apisim_store_tick after the grace period; everything else is removed at once. A second
 * delete with a shorter grace shortens the wait. *out receives the object as returned to the
 * client (borrowed; the last state for immediate deletes). opts may be NULL.
 */
int cs_apisim_store_delete(struct cs_apisim_store *s, const struct cs_apisim_rtype *rt,
                           const char *ns, const char *name,
                           const struct cs_apisim_delete_opts *opts, const json_t **out,
                           struct cs_apisim_status *st);
/* Finish graceful deletions due at monotonic time now_ns (cs_mono_ns()). Returns how many. */
size_t cs_apisim_store_tick(struct cs_apisim_store *s, int64_t now_ns);

/* --- watch support ------------------------------------------------------------------------ */
void cs_apisim_store_add_hook(struct cs_apisim_store *s, cs_apisim_write_hook_fn fn, void *arg);
void cs_apisim_store_remove_hook(struct cs_apisim_store *s, cs_apisim_write_hook_fn fn,
                                 void *arg);
/* Oldest RV still in the history ring (events with rv >= this are available); rv+1 if empty. */
/* Drop all watch history but the newest event (fault injection: "compact now"); watches
 * resuming from an older resourceVersion then get 410 Expired. Store lock held. */
void cs_apisim_store_compact(struct cs_apisim_store *s);
uint64_t cs_apisim_store_oldest_rv(struct cs_apisim_store *s);
/* The event recorded at rv; 0 and *ev untouched if rv is outside the ring. */
int cs_apisim_store_event(struct cs_apisim_store *s, uint64_t rv, struct cs_apisim_event *ev);

/* Fill a Status error helper (printf-style message). Returns code. */
int cs_apisim_status_set(struct cs_apisim_status *st, int code, const char *reason,
                         const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
