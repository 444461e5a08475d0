#ifndef CS_PLUGINS_HELPER_PDB_H
#define CS_PLUGINS_HELPER_PDB_H
/*
 * PodDisruptionBudgets as the preemption paths see them: one table per scheduler (shared by
 * every plugin that preempts, through cs_fw_shared), fed by one watch on policy/v1
 * poddisruptionbudgets. A victim violates a budget when a budget of its namespace selects it
 * and its status.disruptionsAllowed is 0.
 *
 * Thread: written on the informer thread, read on the scheduling thread; one mutex inside.
 * Selectors are immutable once compiled.
 */
#include <stdbool.h>

#include "api/plugin.h"

struct cs_pdb_table;

/* The scheduler's table (created, with its watch, by the first caller); NULL with err when
 * the watch cannot be registered. fw NULL (bare unit tests): a private empty table the caller
 * frees with cs_pdb_table_free. */
struct cs_pdb_table *cs_pdb_table_shared(struct cs_fw_handle *fw, char *err, size_t errlen);
void cs_pdb_table_free(struct cs_pdb_table *t);
/* Would evicting the victim violate a budget? (arg: the table; the shape of
 * cs_preempt_opts.violates_pdb.) */
bool cs_pdb_violates(void *table, const struct cs_pod *victim);

/* Feeding the table directly (tests, and the watch callbacks). */
void cs_pdb_table_upsert(struct cs_pdb_table *t, const json_t *obj);
void cs_pdb_table_delete(struct cs_pdb_table *t, const json_t *obj);

#endif
