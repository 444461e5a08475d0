#ifndef CS_PKG_FRAMEWORK_HANDLE_H
#define CS_PKG_FRAMEWORK_HANDLE_H
/*
 * The framework handle: what plugins reach at init (api/plugin.h, "the framework handle"). It
 * collects, while profiles are built, the watches plugins ask for, the per-node state kinds
 * they register and the objects they share across profiles; the owner (pkg/scheduler) starts
 * the watches with the other informers and performs raised events and API writes through the
 * hooks below.
 *
 * Ownership: the handle owns copies of the watch specs and the shared objects (destroyed with
 * it, after the profiles). Thread: built on the main thread; cs_fw_raise and cs_fw_write may be
 * called from any thread once the owner set its hooks.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "api/plugin.h"

struct cs_fw_watch {
    struct cs_watch_spec spec;     /* strings owned */
    void *priv;                    /* the plugin instance the callbacks get */
};

struct cs_fw_shared_obj {
    char *key;
    void *obj;
    void (*destroy)(void *obj);
};

struct cs_fw_handle {
    struct cs_node_state_reg nsreg;
    struct cs_fw_watch *watches;
    uint32_t n_watches;
    struct cs_fw_shared_obj *shared;
    uint32_t n_shared;
    /* owner hooks (NULL until set: raise is dropped, write fails) */
    void (*raise)(void *arg, const char *name, const void *old_obj, const void *new_obj);
    int (*write)(void *arg, const struct cs_api_write *w);
    void (*event)(void *arg, const struct cs_object_ref *ref, const char *type,
                  const char *reason, const char *note);
    void *arg;
    struct cs_metrics_registry *metrics;   /* borrowed; NULL = none */
    _Atomic uint64_t invalidations;        /* cs_fw_invalidate calls; the owner bumps the
                                            * snapshot epoch when it moved */
};

void cs_fw_handle_init(struct cs_fw_handle *h);
void cs_fw_handle_destroy(struct cs_fw_handle *h);

#endif
