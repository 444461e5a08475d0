/*
 * Snapshot storage (snapshot.h). Node infos are heap objects found by name through a map and by
 * position through `list`; removal swaps the last entry into the hole and fixes its index. The
 * image map counts, for each image name, how many nodes list it, maintained on every upsert and
 * remove by subtracting the old node's images and adding the new node's.
 */
#include "pkg/framework/snapshot.h"

#include <stdint.h>
#include <string.h>

#include "pkg/util/alloc.h"

void cs_snapshot_init(struct cs_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    cs_map_init(&s->by_name);
    cs_map_init(&s->images);
}

static void images_adjust(struct cs_snapshot *s, const struct cs_node *node, int delta)
{
    if (node == NULL) {
        return;
    }
    for (uint32_t i = 0; i < node->n_images; i++) {
        const struct cs_image *img = &node->images[i];
        for (uint32_t j = 0; j < img->n_names; j++) {
            const char *name = img->names[j];
            const char *key = cs_map_get_key(&s->images, name);
            uintptr_t cnt = key ? (uintptr_t)cs_map_get(&s->images, key) : 0;
            s->epoch++;
            if (delta > 0) {
                cs_map_put(&s->images, key ? key : cs_strdup(name), (void *)(cnt + 1));
            } else if (cnt == 1) {
                cs_map_del(&s->images, key);
                cs_free((void *)key);
            } else if (cnt > 1) {
                cs_map_put(&s->images, key, (void *)(cnt - 1));
            }
        }
    }
}

void cs_snapshot_destroy(struct cs_snapshot *s)
{
    size_t it = 0;
    void *v;
    while (cs_map_next(&s->by_name, &it, NULL, &v)) {
        struct cs_node_info *ni = v;
        cs_node_info_destroy(ni);
        cs_free(ni);
    }
    cs_map_destroy(&s->by_name);
    it = 0;
    const char *k;
    while (cs_map_next(&s->images, &it, &k, NULL)) {
        cs_free((void *)k);
    }
    cs_map_destroy(&s->images);
    cs_free(s->list);
    cs_free(s->vers);
    cs_free(s->aff_n);
    cs_free(s->anti_n);
    memset(s, 0, sizeof(*s));
}

/* Bring the affinity totals up to date with listed node i. */
static void counts_set(struct cs_snapshot *s, uint32_t i, const struct cs_node_info *ni)
{
    s->pods_with_affinity += (uint64_t)ni->n_pods_with_affinity - s->aff_n[i];
    s->pods_with_required_anti_affinity +=
        (uint64_t)ni->n_pods_with_required_anti_affinity - s->anti_n[i];
    s->aff_n[i] = ni->n_pods_with_affinity;
    s->anti_n[i] = ni->n_pods_with_required_anti_affinity;
}

static void list_add(struct cs_snapshot *s, struct cs_node_info *ni)
{
    if (s->n_list == s->cap_list) {
        s->cap_list = s->cap_list ? s->cap_list * 2 : 64;
        s->list = cs_realloc(s->list, sizeof(*s->list) * s->cap_list);
        s->vers = cs_realloc(s->vers, sizeof(*s->vers) * s->cap_list);
        s->aff_n = cs_realloc(s->aff_n, sizeof(*s->aff_n) * s->cap_list);
        s->anti_n = cs_realloc(s->anti_n, sizeof(*s->anti_n) * s->cap_list);
    }
    ni->index = (int32_t)s->n_list;
    s->vers[s->n_list] = ni->generation;
    s->aff_n[s->n_list] = 0;
    s->anti_n[s->n_list] = 0;
    counts_set(s, s->n_list, ni);
    s->list[s->n_list++] = ni;
    s->epoch++;
}

static void list_remove(struct cs_snapshot *s, struct cs_node_info *ni)
{
    if (ni->index < 0 || (uint32_t)ni->index >= s->n_list || s->list[ni->index] != ni) {
        return;
    }
    uint32_t i = (uint32_t)ni->index;
    s->pods_with_affinity -= s->aff_n[i];
    s->pods_with_required_anti_affinity -= s->anti_n[i];
    s->list[i] = s->list[--s->n_list];
    s->vers[i] = s->vers[s->n_list];
    s->aff_n[i] = s->aff_n[s->n_list];
    s->anti_n[i] = s->anti_n[s->n_list];
    s->list[i]->index = (int32_t)i;
    ni->index = -1;
    s->epoch++;
}

struct cs_node_info *cs_snapshot_upsert(struct cs_snapshot *s, const struct cs_node_info *src)
{
    struct cs_node_info *ni = cs_map_get(&s->by_name, src->name);
    if (ni == NULL) {
        ni = cs_malloc(sizeof(*ni));
        cs_node_info_init(ni, src->name);
        cs_map_put(&s->by_name, src->name, ni);
    }
    const struct cs_node *old_node = ni->node;
    if (old_node != src->node) {
        images_adjust(s, old_node, -1);
        images_adjust(s, src->node, +1);
    }
    bool was_listed = ni->index >= 0;
    uint64_t old_version = ni->generation;
    cs_node_info_copy(ni, src);
    ni->generation = (s->versions > old_version ? s->versions : old_version) + 1;
    s->versions = ni->generation;
    /* cs_node_info_copy preserves our index; the map key must stay the interned name. */
    if (ni->node && !was_listed) {
        list_add(s, ni);
    } else if (ni->node == NULL && was_listed) {
        list_remove(s, ni);
    } else if (was_listed) {
        s->vers[ni->index] = ni->generation;
        counts_set(s, (uint32_t)ni->index, ni);
    }
    return ni;
}

void cs_snapshot_remove(struct cs_snapshot *s, const char *name)
{
    struct cs_node_info *ni = cs_map_del(&s->by_name, name);
    if (ni == NULL) {
        return;
    }
    images_adjust(s, ni->node, -1);
    list_remove(s, ni);
    cs_node_info_destroy(ni);
    cs_free(ni);
}

struct cs_node_info *cs_snapshot_get(struct cs_snapshot *s, const char *name)
{
    return cs_map_get(&s->by_name, name);
}

void cs_snapshot_touch(struct cs_snapshot *s, struct cs_node_info *ni)
{
    if (ni->index >= 0 && (uint32_t)ni->index < s->n_list && s->list[ni->index] == ni) {
        s->vers[ni->index] = ni->generation;
        counts_set(s, (uint32_t)ni->index, ni);
    }
}

const struct cs_node_info *cs_snapshot_node(const struct cs_snapshot *s, const char *name)
{
    return cs_map_get(&s->by_name, name);
}

uint32_t cs_snapshot_num_nodes(const struct cs_snapshot *s)
{
    return s->n_list;
}

struct cs_node_info *cs_snapshot_node_at(const struct cs_snapshot *s, uint32_t i)
{
    return i < s->n_list ? s->list[i] : NULL;
}

uint32_t cs_snapshot_image_nodes(const struct cs_snapshot *s, const char *image)
{
    return (uint32_t)(uintptr_t)cs_map_get(&s->images, image);
}
