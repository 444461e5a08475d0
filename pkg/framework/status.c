/*
 * Status helpers of the plugin ABI (api/plugin.h): code names as kube-scheduler spells them,
 * reason accumulation, and the pre-bind patch builder. Reasons are borrowed pointers (static
 * strings or cycle-arena strings); nothing here allocates from the heap.
 */
#include "api/plugin.h"

#include <string.h>

static const char *const code_names[] = {
    [CS_SUCCESS] = "Success",
    [CS_ERROR] = "Error",
    [CS_UNSCHEDULABLE] = "Unschedulable",
    [CS_UNSCHEDULABLE_AND_UNRESOLVABLE] = "UnschedulableAndUnresolvable",
    [CS_WAIT] = "Wait",
    [CS_SKIP] = "Skip",
    [CS_PENDING] = "Pending",
};

const char *cs_code_name(enum cs_code c)
{
    if ((unsigned)c < sizeof(code_names) / sizeof(code_names[0])) {
        return code_names[c];
    }
    return "Unknown";
}

enum cs_code cs_status_set(struct cs_status *st, enum cs_code code, const char *reason)
{
    st->code = code;
    if (reason && st->n_reasons < CS_STATUS_MAX_REASONS) {
        st->reasons[st->n_reasons++] = reason;
    }
    return code;
}

void cs_bind_patch_annotate(struct cs_bind_patch *p, struct cs_arena *a, const char *key,
                            const char *value)
{
    for (uint32_t i = 0; i < p->n_annotations; i++) {
        if (strcmp(p->annotations[i].key, key) == 0) {
            p->annotations[i].value = cs_arena_strdup(a, value);
            return;
        }
    }
    if (p->n_annotations == p->cap_annotations) {
        uint32_t nc = p->cap_annotations ? p->cap_annotations * 2 : 4;
        struct cs_label *n = cs_arena_alloc(a, sizeof(*n) * nc);
        if (p->n_annotations) {
            memcpy(n, p->annotations, sizeof(*n) * p->n_annotations);
        }
        p->annotations = n;
        p->cap_annotations = nc;
    }
    p->annotations[p->n_annotations].key = cs_arena_strdup(a, key);
    p->annotations[p->n_annotations].value = cs_arena_strdup(a, value);
    p->n_annotations++;
}
