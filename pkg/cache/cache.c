/*
 * Scheduler cache (see cache.h). Nodes live in a map and in a doubly linked recency list;
 * `touch` stamps a node with the next global generation and moves it to the head. A node
 * deleted while pods still count on it stays as a placeholder without a Node object (as in
 * kube-scheduler) and disappears when its last pod goes.
 *
 * Snapshot refresh walks the list from the head until it reaches a node the snapshot already
 * has (generation <= snapshot generation) and copies those; if the number of nodes differs
 * afterwards, a node was deleted, and one pass over the snapshot drops the missing names.
 */
#include "pkg/cache/cache.h"

#include <string.h>

#include "pkg/framework/snapshot.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"

void cs_cache_init(struct cs_cache *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    cs_map_init(&c->nodes);
    cs_map_init(&c->pods);
    cs_map_init(&c->groups);
}

void cs_cache_set_node_states(struct cs_cache *c, const struct cs_node_state_reg *reg)
{
    c->nsreg = reg;
}

void cs_cache_set_group_fn(struct cs_cache *c,
                           const char *(*group_of)(void *arg, const struct cs_pod *pod), void *arg)
{
    c->group_of = group_of;
    c->group_arg = arg;
}

void cs_cache_enable_journal(struct cs_cache *c)
{
    pthread_mutex_lock(&c->mu);
    c->journal_on = true;
    pthread_mutex_unlock(&c->mu);
}

/* Caller holds the lock; takes its own references. */
static void journal(struct cs_cache *c, struct cs_pod *old_pod, struct cs_pod *new_pod,
                    struct cs_node *old_node, struct cs_node *new_node)
{
    if (!c->journal_on) {
        return;
    }
    if (c->n_journal == c->cap_journal) {
        c->cap_journal = c->cap_journal ? c->cap_journal * 2 : 64;
        c->journal = cs_realloc(c->journal, sizeof(*c->journal) * c->cap_journal);
    }
    c->journal[c->n_journal++] = (struct cs_cache_change){
        .old_pod = cs_pod_ref(old_pod),
        .new_pod = cs_pod_ref(new_pod),
        .old_node = cs_node_ref(old_node),
        .new_node = cs_node_ref(new_node),
    };
}

void cs_cache_journal_pending(struct cs_cache *c, const char *key, struct cs_pod *pod)
{
    /* journal_on is set before the informers start and never cleared: without a listener
     * this costs the pending-pod path no lock. */
    if (!c->journal_on) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    if (c->journal_on) {
        journal(c, NULL, pod, NULL, NULL);
        c->journal[c->n_journal - 1].pending_key = cs_strdup(key);
    }
    pthread_mutex_unlock(&c->mu);
}

static void change_release(struct cs_cache_change *ch)
{
    cs_free(ch->pending_key);
    cs_pod_unref(ch->old_pod);
    cs_pod_unref(ch->new_pod);
    cs_node_unref(ch->old_node);
    cs_node_unref(ch->new_node);
}

uint32_t cs_cache_drain(struct cs_cache *c, void (*fn)(void *arg, const struct cs_cache_change *ch),
                        void *arg)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_change *v = c->journal;
    uint32_t n = c->n_journal;
    c->journal = NULL;
    c->n_journal = c->cap_journal = 0;
    pthread_mutex_unlock(&c->mu);
    for (uint32_t i = 0; i < n; i++) {
        fn(arg, &v[i]);
        change_release(&v[i]);
    }
    cs_free(v);
    return n;
}

uint32_t cs_cache_group_count(struct cs_cache *c, const char *group)
{
    pthread_mutex_lock(&c->mu);
    uint32_t n = (uint32_t)(uintptr_t)cs_map_get(&c->groups, group);
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void group_adjust(struct cs_cache *c, const char *group, int delta)
{
    uintptr_t n = (uintptr_t)cs_map_get(&c->groups, group);
    if (delta > 0) {
        cs_map_put(&c->groups, group, (void *)(n + 1));
    } else if (n <= 1) {
        cs_map_del(&c->groups, group);
    } else {
        cs_map_put(&c->groups, group, (void *)(n - 1));
    }
}

void cs_cache_destroy(struct cs_cache *c)
{
    size_t it = 0;
    void *v;
    while (cs_map_next(&c->pods, &it, NULL, &v)) {
        struct cs_cache_pod *cp = v;
        cs_pod_unref(cp->pod);
        cs_free(cp->key);
        cs_free(cp);
    }
    it = 0;
    while (cs_map_next(&c->nodes, &it, NULL, &v)) {
        struct cs_cache_node *cn = v;
        cs_node_info_destroy(&cn->info);
        cs_free(cn);
    }
    cs_map_destroy(&c->pods);
    cs_map_destroy(&c->nodes);
    cs_map_destroy(&c->groups);
    for (uint32_t i = 0; i < c->n_journal; i++) {
        change_release(&c->journal[i]);
    }
    cs_free(c->journal);
    pthread_mutex_destroy(&c->mu);
}

static void unlink_node(struct cs_cache *c, struct cs_cache_node *cn)
{
    if (cn->prev) {
        cn->prev->next = cn->next;
    } else if (c->head == cn) {
        c->head = cn->next;
    }
    if (cn->next) {
        cn->next->prev = cn->prev;
    }
    cn->prev = cn->next = NULL;
}

static void touch(struct cs_cache *c, struct cs_cache_node *cn)
{
    cn->info.generation = ++c->generation;
    if (c->head != cn) {
        unlink_node(c, cn);
        cn->next = c->head;
        if (c->head) {
            c->head->prev = cn;
        }
        c->head = cn;
    }
}

static struct cs_cache_node *get_or_add_node(struct cs_cache *c, const char *name)
{
    struct cs_cache_node *cn = cs_map_get(&c->nodes, name);
    if (cn == NULL) {
        cn = cs_calloc(1, sizeof(*cn));
        cs_node_info_init(&cn->info, name);
        cs_node_info_attach_states(&cn->info, c->nsreg);
        cs_map_put(&c->nodes, cn->info.name, cn);
    }
    return cn;
}

static void maybe_drop_node(struct cs_cache *c, struct cs_cache_node *cn)
{
    if (cn->info.node == NULL && cn->info.n_pods == 0) {
        cs_map_del(&c->nodes, cn->info.name);
        unlink_node(c, cn);
        cs_node_info_destroy(&cn->info);
        cs_free(cn);
        c->generation++;
    }
}

void cs_cache_upsert_node(struct cs_cache *c, struct cs_node *node)
{
    cs_node_unref(cs_cache_upsert_node_old(c, node));
}

struct cs_node *cs_cache_upsert_node_old(struct cs_cache *c, struct cs_node *node)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_node *cn = get_or_add_node(c, node->name);
    struct cs_node *old = cn->info.node ? cs_node_ref((struct cs_node *)cn->info.node) : NULL;
    if (cn->info.node == NULL) {
        c->n_real_nodes++;
    }
    journal(c, NULL, NULL, (struct cs_node *)cn->info.node, node);
    cs_node_info_set_node(&cn->info, node);
    touch(c, cn);
    pthread_mutex_unlock(&c->mu);
    return old;
}

void cs_cache_remove_node(struct cs_cache *c, const char *name)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_node *cn = cs_map_get(&c->nodes, name);
    if (cn && cn->info.node) {
        c->n_real_nodes--;
        journal(c, NULL, NULL, (struct cs_node *)cn->info.node, NULL);
        cs_node_info_set_node(&cn->info, NULL);
        touch(c, cn);
        maybe_drop_node(c, cn);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Count pod on node (caller holds the lock). */
static void count_on(struct cs_cache *c, struct cs_cache_pod *cp, struct cs_pod *pod,
                     const char *node)
{
    struct cs_cache_node *cn = get_or_add_node(c, node);
    cs_node_info_add_pod(&cn->info, pod);
    touch(c, cn);
    cp->pod = cs_pod_ref(pod);
    cp->node = cn->info.name;
    cp->group = c->group_of ? c->group_of(c->group_arg, pod) : NULL;
    if (cp->group) {
        group_adjust(c, cp->group, +1);
    }
}

static void uncount(struct cs_cache *c, struct cs_cache_pod *cp)
{
    struct cs_cache_node *cn = cs_map_get(&c->nodes, cp->node);
    if (cn) {
        if (cs_node_info_remove_pod(&cn->info, cp->pod) == 0) {
            touch(c, cn);
        }
        maybe_drop_node(c, cn);
    }
    if (cp->group) {
        group_adjust(c, cp->group, -1);
        cp->group = NULL;
    }
    cs_pod_unref(cp->pod);
    cp->pod = NULL;
    cp->node = NULL;
}

void cs_cache_upsert_pod(struct cs_cache *c, struct cs_pod *pod)
{
    if (pod->node_name == NULL) {
        return;
    }
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, pod->key);
    struct cs_pod *old = NULL;
    if (cp == NULL) {
        cp = cs_calloc(1, sizeof(*cp));
        cp->key = cs_strdup(pod->key);
        cs_map_put(&c->pods, cp->key, cp);
    } else {
        old = cs_pod_ref(cp->pod);
        if (cp->assumed) {
            cp->assumed = false;
            c->n_assumed--;
            if (cp->node != pod->node_name && strcmp(cp->node, pod->node_name) != 0) {
                CS_WARN_S("Pod was assumed on a different node than it was bound to",
                          CS_KV("pod", pod->key), CS_KV("assumedNode", cp->node),
                          CS_KV("currentNode", pod->node_name));
            }
        }
        uncount(c, cp);
    }
    count_on(c, cp, pod, pod->node_name);
    journal(c, old, pod, NULL, NULL);
    cs_pod_unref(old);
    pthread_mutex_unlock(&c->mu);
}

bool cs_cache_confirm_assumed(struct cs_cache *c, const char *key, const char *uid,
                              const char *node)
{
    bool ok = false;
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, key);
    if (cp && cp->assumed && cp->pod->uid && strcmp(cp->pod->uid, uid) == 0 &&
        strcmp(cp->node, node) == 0) {
        cp->assumed = false;
        c->n_assumed--;
        ok = true;
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static void drop_pod(struct cs_cache *c, struct cs_cache_pod *cp)
{
    journal(c, cp->pod, NULL, NULL, NULL);
    cs_map_del(&c->pods, cp->key);
    if (cp->assumed) {
        c->n_assumed--;
    }
    uncount(c, cp);
    cs_free(cp->key);
    cs_free(cp);
}

void cs_cache_remove_pod(struct cs_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, key);
    if (cp) {
        drop_pod(c, cp);
    }
    pthread_mutex_unlock(&c->mu);
}

int cs_cache_assume_pod(struct cs_cache *c, struct cs_pod *pod, const char *node)
{
    int rc = 0;
    pthread_mutex_lock(&c->mu);
    if (cs_map_get(&c->pods, pod->key)) {
        rc = -1;
        goto out;
    }
    struct cs_cache_pod *cp = cs_calloc(1, sizeof(*cp));
    cp->key = cs_strdup(pod->key);
    cp->assumed = true;
    cs_map_put(&c->pods, cp->key, cp);
    count_on(c, cp, pod, node);
    journal(c, NULL, pod, NULL, NULL);
    c->n_assumed++;
out:
    pthread_mutex_unlock(&c->mu);
    return rc;
}

int cs_cache_assume_all(struct cs_cache *c, struct cs_pod *const *pods, uint32_t n, uint32_t *bad)
{
    pthread_mutex_lock(&c->mu);
    for (uint32_t i = 0; i < n; i++) {
        if (cs_map_get(&c->pods, pods[i]->key)) {
            *bad = i;
            pthread_mutex_unlock(&c->mu);
            return -1;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        struct cs_cache_pod *cp = cs_calloc(1, sizeof(*cp));
        cp->key = cs_strdup(pods[i]->key);
        cp->assumed = true;
        cs_map_put(&c->pods, cp->key, cp);
        count_on(c, cp, pods[i], pods[i]->node_name);
        journal(c, NULL, pods[i], NULL, NULL);
        c->n_assumed++;
    }
    pthread_mutex_unlock(&c->mu);
    return 0;
}

bool cs_cache_has_pod(struct cs_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    bool r = cs_map_get(&c->pods, key) != NULL;
    pthread_mutex_unlock(&c->mu);
    return r;
}

void cs_cache_finish_binding(struct cs_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, key);
    if (cp && cp->assumed) {
        cp->binding_done = true;
    }
    pthread_mutex_unlock(&c->mu);
}

int cs_cache_forget_pod(struct cs_cache *c, const char *key)
{
    int rc = -1;
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, key);
    if (cp && cp->assumed) {
        drop_pod(c, cp);
        rc = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

bool cs_cache_is_assumed(struct cs_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, key);
    bool r = cp && cp->assumed;
    pthread_mutex_unlock(&c->mu);
    return r;
}

const char *cs_cache_pod_node(struct cs_cache *c, const char *key)
{
    pthread_mutex_lock(&c->mu);
    struct cs_cache_pod *cp = cs_map_get(&c->pods, key);
    const char *n = cp ? cp->node : NULL;
    pthread_mutex_unlock(&c->mu);
    return n;
}

void cs_cache_update_snapshot(struct cs_cache *c, struct cs_snapshot *snap)
{
    pthread_mutex_lock(&c->mu);
    for (struct cs_cache_node *cn = c->head; cn; cn = cn->next) {
        if (cn->info.generation <= snap->generation) {
            break;
        }
        cs_snapshot_upsert(snap, &cn->info);
    }
    if (cs_map_len(&snap->by_name) != cs_map_len(&c->nodes)) {
        /* Some node was dropped from the cache: remove the names it no longer has. */
        size_t it = 0;
        const char *name;
        const char **gone = NULL;
        size_t n_gone = 0, cap = 0;
        while (cs_map_next(&snap->by_name, &it, &name, NULL)) {
            if (cs_map_get(&c->nodes, name) == NULL) {
                gone = cs_grow(gone, sizeof(*gone), n_gone + 1, &cap);
                gone[n_gone++] = name;
            }
        }
        for (size_t i = 0; i < n_gone; i++) {
            cs_snapshot_remove(snap, gone[i]);
        }
        cs_free(gone);
    }
    snap->generation = c->generation;
    pthread_mutex_unlock(&c->mu);
}

void cs_cache_stats(struct cs_cache *c, struct cs_cache_stats *out)
{
    pthread_mutex_lock(&c->mu);
    out->nodes = c->n_real_nodes;
    out->pods = (uint32_t)cs_map_len(&c->pods);
    out->assumed = c->n_assumed;
    pthread_mutex_unlock(&c->mu);
}
