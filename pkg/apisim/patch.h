#ifndef CS_PKG_APISIM_PATCH_H
#define CS_PKG_APISIM_PATCH_H
/*
 * The three PATCH dialects the apiserver accepts for JSON objects:
 *   - JSON merge patch (RFC 7386): objects merge recursively, null deletes, anything else
 *     replaces (arrays included);
 *   - JSON patch (RFC 6902): add/remove/replace/move/copy/test with JSON pointers;
 *   - strategic merge patch (built-in kinds only): like merge patch, but lists with a
 *     patchMergeKey (conditions by type, containers by name, ...) merge element-wise and the
 *     directives $patch (replace|delete|merge), $setElementOrder/<list>, $retainKeys and
 *     $deleteFromPrimitiveList/<list> are honoured.
 *
 * Ownership: every function returns a NEW reference (the input document is not modified) or
 * NULL with a message in err. Thread context: none (pure functions).
 */
#include <jansson.h>
#include <stddef.h>

json_t *cs_apisim_merge_patch(const json_t *doc, const json_t *patch);
json_t *cs_apisim_json_patch(const json_t *doc, const json_t *ops, char *err, size_t errlen);
json_t *cs_apisim_strategic_patch(const json_t *doc, const json_t *patch, char *err,
                                  size_t errlen);
/* The patchMergeKey of a list field by its name ("conditions" -> "type"), or NULL when the
 * list is replaced as a whole. */
const char *cs_apisim_smp_merge_key(const char *field);

#endif
