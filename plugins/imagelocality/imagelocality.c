/*
 * ImageLocality (Score). Favors nodes that already hold the pod's container images (init and
 * regular containers). Each image present on the node contributes its size scaled by its spread
 * (nodes holding it / all nodes, which damps piling onto the few nodes that have an image); the
 * sum is clamped to [23MiB, 1000MiB x containers] and mapped linearly onto 0..100.
 * Image names are normalised as upstream does: a reference without a tag (last ':' not after the
 * last '/') gets ":latest"; registries are not rewritten (upstream leaves "nginx" and
 * "docker.io/library/nginx" distinct too), node image names are compared as reported.
 *
 * PreScore resolves names and spread counts once per pod (arena), so Score only compares the
 * node's image names with the pod's.
 */
#include <string.h>

#include "plugins/helper/helper.h"
#include "plugins/registry.h"

#define MIB (1024LL * 1024LL)
#define MIN_THRESHOLD (23 * MIB)
#define MAX_CONTAINER_THRESHOLD (1000 * MIB)

struct il_image {
    const char *name;    /* normalised */
    uint32_t num_nodes;  /* nodes in the snapshot listing it */
};

struct il_state {
    struct il_image *images;
    uint32_t n_images;
    uint32_t total_nodes;
    uint32_t n_containers;
};

static const char *normalized_name(struct cs_arena *a, const char *image)
{
    if (image == NULL) {
        image = "";
    }
    const char *colon = strrchr(image, ':');
    const char *slash = strrchr(image, '/');
    if (colon == NULL || (slash != NULL && colon < slash)) {
        return cs_arena_printf(a, "%s:latest", image);
    }
    return image;
}

static struct il_state *il_build(struct cs_fw_call *c, const struct cs_pod *pod)
{
    struct il_state *s = CS_ARENA_NEW(c->arena, struct il_state);
    uint32_t n = pod->n_init_containers + pod->n_containers;
    s->n_containers = n;
    s->total_nodes = c->snap ? cs_snapshot_num_nodes(c->snap) : 0;
    s->images = CS_ARENA_ARRAY(c->arena, struct il_image, n ? n : 1);
    for (uint32_t i = 0; i < n; i++) {
        const struct cs_container *ct = i < pod->n_init_containers
                                            ? &pod->init_containers[i]
                                            : &pod->containers[i - pod->n_init_containers];
        struct il_image *im = &s->images[s->n_images++];
        im->name = normalized_name(c->arena, ct->image);
        im->num_nodes = c->snap ? cs_snapshot_image_nodes(c->snap, im->name) : 0;
    }
    return s;
}

static enum cs_code il_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                 struct cs_node_info *const *feasible, uint32_t n,
                                 struct cs_status *st)
{
    (void)feasible;
    (void)n;
    (void)st;
    *c->state = il_build(c, pod);
    return CS_SUCCESS;
}

static int64_t node_image_size(const struct cs_node *node, const char *name)
{
    for (uint32_t i = 0; i < node->n_images; i++) {
        const struct cs_image *img = &node->images[i];
        for (uint32_t j = 0; j < img->n_names; j++) {
            if (strcmp(img->names[j], name) == 0) {
                return img->size_bytes;
            }
        }
    }
    return -1;
}

static int64_t il_score(struct cs_fw_call *c, const struct cs_pod *pod,
                        const struct cs_node_info *ni)
{
    struct il_state *s = *c->state;
    if (s == NULL) {
        s = il_build(c, pod);
        *c->state = s;
    }
    if (ni->node == NULL || s->total_nodes == 0 || s->n_containers == 0) {
        return 0;
    }
    int64_t sum = 0;
    for (uint32_t i = 0; i < s->n_images; i++) {
        if (s->images[i].num_nodes == 0) {
            continue; /* on no node at all, so not on this one */
        }
        int64_t size = node_image_size(ni->node, s->images[i].name);
        if (size < 0) {
            continue;
        }
        double spread = (double)s->images[i].num_nodes / (double)s->total_nodes;
        sum += (int64_t)((double)size * spread);
    }
    int64_t max_threshold = MAX_CONTAINER_THRESHOLD * (int64_t)s->n_containers;
    if (sum < MIN_THRESHOLD) {
        sum = MIN_THRESHOLD;
    } else if (sum > max_threshold) {
        sum = max_threshold;
    }
    return CS_MAX_NODE_SCORE * (sum - MIN_THRESHOLD) / (max_threshold - MIN_THRESHOLD);
}

const struct cs_plugin cs_plugin_imagelocality = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "ImageLocality",
    .events = 0,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .pre_score = il_pre_score,
    .score = il_score,
};
