/* Placed pods (placed.h). */
#include "api/placed.h"

#include <string.h>

#include "pkg/util/alloc.h"

struct cs_pod *cs_pod_placed(struct cs_pod *pod, const char *node, const struct cs_label *ann,
                             uint32_t n_ann)
{
    struct cs_pod *p = cs_pod_new(n_ann ? 256 : 0);
    struct cs_arena a = p->arena;
    memcpy(p, pod, sizeof(*p));
    p->arena = a;
    atomic_init(&p->refcnt, 1);
    p->base = cs_pod_ref(pod);
    p->node_name = node;
    if (n_ann) {
        uint32_t n = pod->n_annotations;
        struct cs_label *v = CS_ARENA_ARRAY(&p->arena, struct cs_label, n + n_ann);
        if (n) {
            memcpy(v, pod->annotations, sizeof(*v) * n);
        }
        for (uint32_t i = 0; i < n_ann; i++) {
            const char *val = cs_arena_strdup(&p->arena, ann[i].value ? ann[i].value : "");
            uint32_t j = 0;
            while (j < n && strcmp(v[j].key, ann[i].key) != 0) {
                j++;
            }
            if (j == n) {
                v[n].key = cs_arena_strdup(&p->arena, ann[i].key);
                n++;
            }
            v[j].value = val;
        }
        p->annotations = v;
        p->n_annotations = n;
    }
    return p;
}
