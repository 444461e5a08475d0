/* The framework handle (handle.h): registration tables filled at init, and the two services
 * (raise, write) forwarded to the owner's hooks. */
#include "pkg/framework/handle.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/log.h"

void cs_fw_handle_init(struct cs_fw_handle *h)
{
    memset(h, 0, sizeof(*h));
}

static char *dup_or_null(const char *s)
{
    return s ? cs_strdup(s) : NULL;
}

void cs_fw_handle_destroy(struct cs_fw_handle *h)
{
    for (uint32_t i = 0; i < h->n_watches; i++) {
        struct cs_watch_spec *w = &h->watches[i].spec;
        cs_free((void *)w->name);
        cs_free((void *)w->path);
        cs_free((void *)w->label_selector);
        cs_free((void *)w->field_selector);
    }
    cs_free(h->watches);
    for (uint32_t i = h->n_shared; i-- > 0;) {
        if (h->shared[i].destroy) {
            h->shared[i].destroy(h->shared[i].obj);
        }
        cs_free(h->shared[i].key);
    }
    cs_free(h->shared);
    memset(h, 0, sizeof(*h));
}

int cs_fw_watch(struct cs_fw_handle *h, void *priv, const struct cs_watch_spec *w, char *err,
                size_t errlen)
{
    if (h == NULL) {
        snprintf(err, errlen, "no framework handle (watch %s)", w->name ? w->name : "?");
        return -1;
    }
    if (w->path == NULL || w->path[0] != '/') {
        snprintf(err, errlen, "watch %s: path must start with /", w->name ? w->name : "?");
        return -1;
    }
    h->watches = cs_realloc(h->watches, sizeof(*h->watches) * (h->n_watches + 1));
    struct cs_fw_watch *fw = &h->watches[h->n_watches++];
    fw->spec = *w;
    fw->spec.name = cs_strdup(w->name ? w->name : w->path);
    fw->spec.path = cs_strdup(w->path);
    fw->spec.label_selector = dup_or_null(w->label_selector);
    fw->spec.field_selector = dup_or_null(w->field_selector);
    fw->priv = priv;
    return 0;
}

void cs_fw_raise(struct cs_fw_handle *h, const char *name, const void *old_obj,
                 const void *new_obj)
{
    if (h && h->raise) {
        h->raise(h->arg, name, old_obj, new_obj);
    }
}

int cs_fw_write(struct cs_fw_handle *h, const struct cs_api_write *w)
{
    if (h == NULL || h->write == NULL) {
        return -1;
    }
    return h->write(h->arg, w);
}

void cs_fw_event(struct cs_fw_handle *h, const struct cs_object_ref *ref, const char *type,
                 const char *reason, const char *note)
{
    if (h && h->event) {
        h->event(h->arg, ref, type, reason, note);
    }
}

void cs_fw_invalidate(struct cs_fw_handle *h)
{
    if (h) {
        atomic_fetch_add(&h->invalidations, 1);
    }
}

struct cs_metrics_registry *cs_fw_metrics(struct cs_fw_handle *h)
{
    return h ? h->metrics : NULL;
}

int cs_fw_node_state(struct cs_fw_handle *h, const struct cs_node_state_ops *ops, void *arg)
{
    if (h == NULL || h->nsreg.n >= CS_NODE_STATE_MAX || ops == NULL || ops->create == NULL ||
        ops->destroy == NULL || ops->copy == NULL || ops->add_pod == NULL ||
        ops->remove_pod == NULL) {
        return -1;
    }
    uint32_t slot = h->nsreg.n++;
    h->nsreg.slot[slot].ops = ops;
    h->nsreg.slot[slot].arg = arg;
    return (int)slot;
}

void *cs_fw_shared(struct cs_fw_handle *h, const char *key, void *(*create)(void *arg),
                   void (*destroy)(void *obj), void *arg)
{
    if (h == NULL) {
        return NULL;
    }
    for (uint32_t i = 0; i < h->n_shared; i++) {
        if (strcmp(h->shared[i].key, key) == 0) {
            return h->shared[i].obj;
        }
    }
    /* Create first: create() may itself ask for shared objects (which then go before it, and
     * are destroyed after it). */
    void *obj = create(arg);
    h->shared = cs_realloc(h->shared, sizeof(*h->shared) * (h->n_shared + 1));
    struct cs_fw_shared_obj *so = &h->shared[h->n_shared++];
    so->key = cs_strdup(key);
    so->obj = obj;
    so->destroy = destroy;
    return obj;
}
