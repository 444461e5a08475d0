/* Nominated pods (nominator.h). A map by pod key, and an index by node (a list per node), so
 * that Filter's per-node lookup costs O(pods nominated to that node) however many preemptors
 * wait (quota reclaim can nominate thousands at once). */
#include "pkg/framework/nominator.h"

#include <string.h>

#include "pkg/util/alloc.h"

struct cs_nomination {
    char *key;                     /* owned */
    struct cs_pod *pod;            /* counted */
    const char *node;              /* interned by the caller */
    struct cs_nomination *prev, *next;   /* in its node's list */
};

struct nom_node {
    const char *node;              /* the map key (interned) */
    struct cs_nomination *head;
};

void cs_nominator_init(struct cs_nominator *n)
{
    memset(n, 0, sizeof(*n));
    pthread_mutex_init(&n->mu, NULL);
    cs_map_init(&n->by_pod);
    cs_map_init(&n->by_node);
}

static void nom_free(struct cs_nomination *nm)
{
    cs_pod_unref(nm->pod);
    cs_free(nm->key);
    cs_free(nm);
}

void cs_nominator_destroy(struct cs_nominator *n)
{
    size_t it = 0;
    void *v;
    while (cs_map_next(&n->by_pod, &it, NULL, &v)) {
        nom_free(v);
    }
    it = 0;
    while (cs_map_next(&n->by_node, &it, NULL, &v)) {
        cs_free(v);
    }
    cs_map_destroy(&n->by_pod);
    cs_map_destroy(&n->by_node);
    pthread_mutex_destroy(&n->mu);
}

static void remove_locked(struct cs_nominator *n, const char *key)
{
    struct cs_nomination *nm = cs_map_get(&n->by_pod, key);
    if (nm) {
        struct nom_node *nn = cs_map_get(&n->by_node, nm->node);
        if (nm->prev) {
            nm->prev->next = nm->next;
        } else if (nn) {
            nn->head = nm->next;
        }
        if (nm->next) {
            nm->next->prev = nm->prev;
        }
        if (nn && nn->head == NULL) {
            cs_map_del(&n->by_node, nn->node);
            cs_free(nn);
        }
        cs_map_del(&n->by_pod, nm->key);
        nom_free(nm);
        n->n--;
    }
}

void cs_nominator_set(struct cs_nominator *n, struct cs_pod *pod, const char *node)
{
    pthread_mutex_lock(&n->mu);
    remove_locked(n, pod->key);
    if (node) {
        struct cs_nomination *nm = cs_calloc(1, sizeof(*nm));
        nm->key = cs_strdup(pod->key);
        nm->pod = cs_pod_ref(pod);
        nm->node = node;
        cs_map_put(&n->by_pod, nm->key, nm);
        struct nom_node *nn = cs_map_get(&n->by_node, node);
        if (nn == NULL) {
            nn = cs_calloc(1, sizeof(*nn));
            nn->node = node;
            cs_map_put(&n->by_node, nn->node, nn);
        }
        nm->next = nn->head;
        if (nn->head) {
            nn->head->prev = nm;
        }
        nn->head = nm;
        n->n++;
    }
    pthread_mutex_unlock(&n->mu);
}

void cs_nominator_remove(struct cs_nominator *n, const char *key)
{
    pthread_mutex_lock(&n->mu);
    remove_locked(n, key);
    pthread_mutex_unlock(&n->mu);
}

const char *cs_nominator_node_of(struct cs_nominator *n, const char *key)
{
    pthread_mutex_lock(&n->mu);
    struct cs_nomination *nm = cs_map_get(&n->by_pod, key);
    const char *node = nm ? nm->node : NULL;
    pthread_mutex_unlock(&n->mu);
    return node;
}

uint32_t cs_nominator_len(struct cs_nominator *n)
{
    pthread_mutex_lock(&n->mu);
    uint32_t len = n->n;
    pthread_mutex_unlock(&n->mu);
    return len;
}

uint32_t cs_nominator_on_node(struct cs_nominator *n, const char *node, const struct cs_pod *pod,
                              struct cs_pod ***out, struct cs_arena *a)
{
    uint32_t k = 0;
    pthread_mutex_lock(&n->mu);
    if (n->n == 0) {
        pthread_mutex_unlock(&n->mu);
        return 0;
    }
    struct nom_node *nn = cs_map_get(&n->by_node, node);
    uint32_t cnt = 0;
    for (struct cs_nomination *nm = nn ? nn->head : NULL; nm; nm = nm->next) {
        cnt++;
    }
    struct cs_pod **v = cs_arena_alloc(a, sizeof(*v) * (cnt ? cnt : 1));
    for (struct cs_nomination *nm = nn ? nn->head : NULL; nm; nm = nm->next) {
        if (strcmp(nm->key, pod->key) != 0 && nm->pod->priority >= pod->priority) {
            v[k++] = cs_pod_ref(nm->pod);
        }
    }
    pthread_mutex_unlock(&n->mu);
    *out = v;
    return k;
}
