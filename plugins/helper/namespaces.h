#ifndef CS_PLUGINS_HELPER_NAMESPACES_H
#define CS_PLUGINS_HELPER_NAMESPACES_H
/*
 * Namespaces' labels as plugins see them: one table per scheduler (cs_fw_shared), fed by one
 * watch on v1 namespaces. A change of a namespace's labels invalidates the framework's cached
 * per-node results (cs_fw_invalidate: plugins may decide by namespace labels) and raises the
 * custom event CS_NS_EVENT for the queue.
 *
 * Thread: written on the informer thread, read on any thread; one mutex inside.
 */
#include <stdbool.h>
#include <stddef.h>

#include "api/plugin.h"
#include "pkg/util/selector.h"

#define CS_NS_EVENT "Namespace"

struct cs_ns_table;

/* The scheduler's table (created with its watch by the first caller); NULL with err when the
 * watch cannot be registered. fw NULL (bare unit tests): a private table the caller frees with
 * cs_ns_table_free. */
struct cs_ns_table *cs_ns_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen);
void cs_ns_table_free(struct cs_ns_table *t);
/* Does namespace ns carry label key with value `value`? */
bool cs_ns_label_is(struct cs_ns_table *t, const char *ns, const char *key, const char *value);
/* Do the labels of namespace ns match sel (NULL matches nothing, an empty selector everything)?
 * A namespace the table does not know counts as having no labels when absent_as_empty
 * (kube-scheduler's namespace-labels snapshot of the pod's own namespace), and otherwise matches
 * nothing (a lister query by selector only returns namespaces that exist). */
bool cs_ns_selector_matches(struct cs_ns_table *t, const char *ns, const struct cs_selector *sel,
                            bool absent_as_empty);
/* Feeding the table directly (tests, and the watch callbacks). */
void cs_ns_table_upsert(struct cs_ns_table *t, const json_t *obj);
void cs_ns_table_delete(struct cs_ns_table *t, const json_t *obj);

#endif
