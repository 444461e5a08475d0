/*
 * The job queue model: units, queues, the charge of released jobs to their quota path, the
 * allow-lists that keep units out of queues, and the release pass with its policies. See
 * kqueue.h.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/kqueue/kqueue.h"
#include "pkg/util/alloc.h"

static const char *const phase_names[] = { "Enqueued", "Dequeued", "Running", "Succeed",
                                           "Failed" };

const char *cs_kq_phase_name(enum cs_kq_phase p)
{
    return (unsigned)p < sizeof(phase_names) / sizeof(phase_names[0]) ? phase_names[p] : "";
}

bool cs_kq_phase_parse(const char *s, enum cs_kq_phase *out)
{
    *out = CS_KQ_ENQUEUED;
    if (s == NULL || s[0] == '\0') {
        return true;
    }
    for (size_t i = 0; i < sizeof(phase_names) / sizeof(phase_names[0]); i++) {
        if (strcmp(s, phase_names[i]) == 0) {
            *out = (enum cs_kq_phase)i;
            return true;
        }
    }
    /* kube-queue's other phases: Reserved is a held reservation, the Sched* ones follow the
     * release. */
    if (strcmp(s, "Reserved") == 0 || strncmp(s, "Sched", 5) == 0) {
        *out = CS_KQ_DEQUEUED;
        return true;
    }
    return false;
}

const char *cs_kq_policy_name(enum cs_kq_policy p)
{
    return p == CS_KQ_BLOCK ? "Block" : "Priority";
}

bool cs_kq_policy_parse(const char *s, enum cs_kq_policy *out)
{
    if (s && strcmp(s, "Priority") == 0) {
        *out = CS_KQ_PRIORITY;
    } else if (s && (strcmp(s, "Block") == 0 || strcmp(s, "StrictPriority") == 0)) {
        *out = CS_KQ_BLOCK;
    } else {
        return false;
    }
    return true;
}

void cs_kq_queue_name(const char *fullname, char *out, size_t n)
{
    if (n == 0) {
        return;
    }
    size_t len = strlen(fullname);
    const char *s = len > 58 ? fullname + len - 58 : fullname;
    size_t o = 0;
    for (; *s && o + 1 < n; s++) {
        char c = (char)tolower((unsigned char)*s);
        out[o++] = (isalnum((unsigned char)c) || c == '.' || c == '-') ? c : '-';
    }
    out[o] = '\0';
    size_t b = 0;
    while (out[b] && !isalnum((unsigned char)out[b])) {
        b++;
    }
    memmove(out, out + b, o - b + 1);
    o -= b;
    while (o > 0 && !isalnum((unsigned char)out[o - 1])) {
        out[--o] = '\0';
    }
    if (o == 0) {
        snprintf(out, n, "queue");
    }
}

/* ---- queues ------------------------------------------------------------------------------ */

static struct cs_kq_queue *queue_add(struct cs_kq_model *m, const char *name, int32_t quota)
{
    struct cs_kq_queue *q = cs_calloc(1, sizeof(*q));
    q->name = cs_strdup(name);
    q->quota = quota;
    q->policy = m->default_policy;
    m->queues = cs_realloc(m->queues, sizeof(*m->queues) * (m->n_queues + 1));
    m->queues[m->n_queues++] = q;
    cs_map_put(&m->queue_by_name, q->name, (void *)(intptr_t)m->n_queues);
    return q;
}

static void queue_free(struct cs_kq_queue *q)
{
    cs_free(q->allow_quotas);
    cs_free(q->name);
    cs_free(q->order);
    cs_free(q);
}

struct cs_kq_queue *cs_kq_queue_get(const struct cs_kq_model *m, const char *name)
{
    intptr_t i = (intptr_t)cs_map_get(&m->queue_by_name, name);
    return i ? m->queues[i - 1] : NULL;
}

static int32_t queue_index(const struct cs_kq_model *m, const char *name)
{
    return (int32_t)(intptr_t)cs_map_get(&m->queue_by_name, name) - 1;
}

/* ---- charging ---------------------------------------------------------------------------- */

static bool holds(enum cs_kq_phase p)
{
    return p == CS_KQ_DEQUEUED || p == CS_KQ_RUNNING;
}

static void charge(struct cs_kq_model *m, struct cs_kq_unit *u, int sign)
{
    const struct cs_quota_tree *t = m->tree;
    if (t == NULL) {
        u->charged = false;
        return;
    }
    for (int32_t i = u->quota; i >= 0; i = t->nodes[i].parent) {
        for (uint32_t d = 0; d < t->n_dims; d++) {
            m->used[i][d] += sign * u->req[d];
            if (!u->preemptible) {
                m->np_used[i][d] += sign * u->req[d];
            }
        }
        m->jobs[i] += sign;
        if (!u->preemptible) {
            m->np_jobs[i] += sign;
        }
    }
    u->charged = sign > 0;
}

static void uncharge(struct cs_kq_model *m, struct cs_kq_unit *u)
{
    if (u->charged) {
        charge(m, u, -1);
    }
}

/* Quota, queue and request of a unit under the current tree. */
static void map_unit(struct cs_kq_model *m, struct cs_kq_unit *u)
{
    const struct cs_quota_tree *t = m->tree;
    u->quota = -1;
    memset(u->req, 0, sizeof(u->req));
    if (t) {
        if (u->want_quota) {
            u->quota = cs_quota_tree_find(t, u->want_quota);
        } else {
            u->quota = (int32_t)(intptr_t)cs_map_get(&t->ns_leaf, u->ns) - 1;
        }
        for (uint32_t d = 0; d < t->n_dims; d++) {
            for (uint32_t r = 0; r < u->n_res; r++) {
                if (strcmp(u->res[r].name, t->dim[d]) == 0) {
                    u->req[d] = u->res[r].v;
                }
            }
        }
    }
    if (u->want_queue) {
        u->queue = queue_index(m, u->want_queue);
    } else if (u->quota >= 0) {
        char qn[64];
        cs_kq_queue_name(t->nodes[u->quota].name, qn, sizeof(qn));
        u->queue = queue_index(m, qn);
    } else {
        u->queue = queue_index(m, "default");
    }
}

/* ---- model ------------------------------------------------------------------------------- */

void cs_kq_model_init(struct cs_kq_model *m, enum cs_kq_policy default_policy)
{
    memset(m, 0, sizeof(*m));
    m->default_policy = default_policy;
    cs_map_init(&m->units);
    cs_map_init(&m->queue_by_name);
    cs_map_init(&m->ns_allow);
    queue_add(m, "default", -1);
}

void cs_kq_res_list_free(struct cs_kq_res *l, uint32_t n)
{
    for (uint32_t r = 0; r < n; r++) {
        cs_free(l[r].name);
    }
    cs_free(l);
}

struct cs_kq_res *cs_kq_res_list_copy(const struct cs_kq_res *l, uint32_t n)
{
    struct cs_kq_res *out = n ? cs_calloc(n, sizeof(*out)) : NULL;
    for (uint32_t r = 0; r < n; r++) {
        out[r].name = cs_strdup(l[r].name);
        out[r].v = l[r].v;
    }
    return out;
}

int64_t cs_kq_res_list_get(const struct cs_kq_res *l, uint32_t n, const char *name)
{
    for (uint32_t r = 0; r < n; r++) {
        if (strcmp(l[r].name, name) == 0) {
            return l[r].v;
        }
    }
    return 0;
}

static void unit_free(struct cs_kq_unit *u)
{
    cs_kq_res_list_free(u->res, u->n_res);
    cs_kq_res_list_free(u->limits, u->n_limits);
    cs_free(u->key);
    cs_free(u->ns);
    cs_free(u->name);
    cs_free(u->want_queue);
    cs_free(u->want_quota);
    cs_free(u);
}

static void tree_free(struct cs_kq_model *m)
{
    cs_quota_tree_free(m->tree);
    cs_free(m->max_jobs);
    cs_free(m->min_jobs);
    cs_free(m->used);
    cs_free(m->np_used);
    cs_free(m->jobs);
    cs_free(m->np_jobs);
    cs_free(m->hungry);
    m->hungry = NULL;
    m->tree = NULL;
    m->max_jobs = m->min_jobs = m->jobs = m->np_jobs = NULL;
    m->used = m->np_used = NULL;
}

static void rq_free(struct cs_kq_rq *q)
{
    for (uint32_t i = 0; i < q->n; i++) {
        cs_free(q->key[i]);
        cs_free(q->res[i]);
    }
    cs_free(q->key);
    cs_free(q->res);
    cs_free(q->hard);
    cs_free(q->used);
    cs_free(q->reserved);
    cs_free(q->ns);
    cs_free(q->name);
    cs_free(q);
}

static int32_t rq_index(const struct cs_kq_model *m, const char *ns, const char *name)
{
    for (uint32_t i = 0; i < m->n_rqs; i++) {
        if (strcmp(m->rqs[i]->ns, ns) == 0 && strcmp(m->rqs[i]->name, name) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

struct cs_kq_rq *cs_kq_rq_set(struct cs_kq_model *m, const char *ns, const char *name,
                              const char *const *key, const char *const *res,
                              const int64_t *hard, uint32_t n)
{
    int32_t i = rq_index(m, ns, name);
    struct cs_kq_rq *old = i >= 0 ? m->rqs[i] : NULL;
    struct cs_kq_rq *q = cs_calloc(1, sizeof(*q));
    q->ns = cs_strdup(ns);
    q->name = cs_strdup(name);
    q->n = n;
    size_t k = n ? n : 1;
    q->key = cs_calloc(k, sizeof(char *));
    q->res = cs_calloc(k, sizeof(char *));
    q->hard = cs_calloc(k, sizeof(int64_t));
    q->used = cs_calloc(k, sizeof(int64_t));
    q->reserved = cs_calloc(k, sizeof(int64_t));
    for (uint32_t j = 0; j < n; j++) {
        q->key[j] = cs_strdup(key[j]);
        q->res[j] = cs_strdup(res[j]);
        q->hard[j] = hard[j];
        for (uint32_t o = 0; old && o < old->n; o++) {
            if (strcmp(old->key[o], key[j]) == 0) {
                q->used[j] = old->used[o];
            }
        }
    }
    if (old) {
        rq_free(old);
        m->rqs[i] = q;
    } else {
        m->rqs = cs_realloc(m->rqs, sizeof(*m->rqs) * (m->n_rqs + 1));
        m->rqs[m->n_rqs++] = q;
    }
    return q;
}

void cs_kq_rq_remove(struct cs_kq_model *m, const char *ns, const char *name)
{
    int32_t i = rq_index(m, ns, name);
    if (i < 0) {
        return;
    }
    rq_free(m->rqs[i]);
    memmove(&m->rqs[i], &m->rqs[i + 1], sizeof(*m->rqs) * (m->n_rqs - (uint32_t)i - 1));
    m->n_rqs--;
}

static int64_t unit_amount(const struct cs_kq_unit *u, const char *res)
{
    return cs_kq_res_list_get(u->res, u->n_res, res);
}

void cs_kq_unit_set_limits(struct cs_kq_unit *u, const struct cs_kq_res *limits, uint32_t n)
{
    cs_kq_res_list_free(u->limits, u->n_limits);
    u->limits = cs_kq_res_list_copy(limits, n);
    u->n_limits = n;
}

/* What u counts against a ResourceQuota key's resource ("cpu", "limits.cpu", "pods"). */
static int64_t rq_amount(const struct cs_kq_unit *u, const char *res)
{
    if (strncmp(res, "limits.", 7) == 0) {
        return cs_kq_res_list_get(u->limits, u->n_limits, res + 7);
    }
    return unit_amount(u, res);
}

static void rq_charge(struct cs_kq_model *m, const struct cs_kq_unit *u)
{
    for (uint32_t i = 0; i < m->n_rqs; i++) {
        struct cs_kq_rq *q = m->rqs[i];
        if (strcmp(q->ns, u->ns) != 0) {
            continue;
        }
        for (uint32_t j = 0; j < q->n; j++) {
            q->reserved[j] += rq_amount(u, q->res[j]);
        }
    }
}

/* The first ResourceQuota of u's namespace it does not fit under, or false. */
static bool rq_blocks(const struct cs_kq_model *m, const struct cs_kq_unit *u, char *why,
                      size_t n)
{
    for (uint32_t i = 0; i < m->n_rqs; i++) {
        const struct cs_kq_rq *q = m->rqs[i];
        if (strcmp(q->ns, u->ns) != 0) {
            continue;
        }
        for (uint32_t j = 0; j < q->n; j++) {
            int64_t need = rq_amount(u, q->res[j]);
            int64_t have = q->used[j] + q->reserved[j];
            if (need > 0 && have > q->hard[j] - need) {
                bool cpu = cs_kq_rq_milli(q->res[j]);
                char a[40], b[40], c[40];
                if (cpu) {
                    snprintf(a, sizeof(a), "%gm", (double)have);
                    snprintf(b, sizeof(b), "%gm", (double)need);
                    snprintf(c, sizeof(c), "%gm", (double)q->hard[j]);
                    if (have % 1000 == 0 && need % 1000 == 0 && q->hard[j] % 1000 == 0) {
                        snprintf(a, sizeof(a), "%lld", (long long)(have / 1000));
                        snprintf(b, sizeof(b), "%lld", (long long)(need / 1000));
                        snprintf(c, sizeof(c), "%lld", (long long)(q->hard[j] / 1000));
                    }
                } else {
                    snprintf(a, sizeof(a), "%lld", (long long)have);
                    snprintf(b, sizeof(b), "%lld", (long long)need);
                    snprintf(c, sizeof(c), "%lld", (long long)q->hard[j]);
                }
                snprintf(why, n, "blocked by ResourceQuota %s/%s because of %s: used %s + job %s "
                         "> hard %s", q->ns, q->name, q->key[j], a, b, c);
                return true;
            }
        }
    }
    return false;
}

void cs_kq_model_destroy(struct cs_kq_model *m)
{
    for (uint32_t i = 0; i < m->n_rqs; i++) {
        rq_free(m->rqs[i]);
    }
    cs_free(m->rqs);
    m->rqs = NULL;
    m->n_rqs = 0;
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&m->units, &it, &k, &v);) {
        unit_free(v);
    }
    cs_map_destroy(&m->units);
    for (uint32_t i = 0; i < m->n_queues; i++) {
        queue_free(m->queues[i]);
    }
    cs_free(m->queues);
    cs_map_destroy(&m->queue_by_name);
    for (size_t it = 0; cs_map_next(&m->ns_allow, &it, &k, &v);) {
        struct cs_kq_ns_allow *a = v;
        cs_free(a->ns);
        cs_free(a->quotas);
        cs_free(a->queues);
        cs_free(a);
    }
    cs_map_destroy(&m->ns_allow);
    tree_free(m);
}

void cs_kq_set_tree(struct cs_kq_model *m, struct cs_quota_tree *t, int64_t *max_jobs,
                    int64_t *min_jobs)
{
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&m->units, &it, &k, &v);) {
        struct cs_kq_unit *u = v;
        u->charged = false;        /* the old usage rows go with the old tree */
    }
    tree_free(m);
    /* Keep the default and the users' queues (with their policies); tree queues are rebuilt. */
    struct cs_kq_queue **old = m->queues;
    uint32_t n_old = m->n_queues;
    m->queues = NULL;
    m->n_queues = 0;
    cs_map_destroy(&m->queue_by_name);
    cs_map_init(&m->queue_by_name);
    m->tree = t;
    if (t) {
        uint32_t n = t->n ? t->n : 1;
        m->max_jobs = max_jobs;
        m->min_jobs = min_jobs;
        if (m->max_jobs == NULL) {
            m->max_jobs = cs_calloc(n, sizeof(int64_t));
            m->min_jobs = cs_calloc(n, sizeof(int64_t));
            for (uint32_t i = 0; i < t->n; i++) {
                m->max_jobs[i] = m->min_jobs[i] = CS_QUOTA_UNLIMITED;
            }
        }
        m->used = cs_calloc(n, sizeof(*m->used));
        m->np_used = cs_calloc(n, sizeof(*m->np_used));
        m->jobs = cs_calloc(n, sizeof(int64_t));
        m->np_jobs = cs_calloc(n, sizeof(int64_t));
        m->hungry = cs_calloc(n, 1);
    } else {
        cs_free(max_jobs);
        cs_free(min_jobs);
    }
    for (uint32_t i = 0; i < n_old; i++) {
        struct cs_kq_queue *q = old[i];
        if (q->from_tree && !q->user) {
            continue;
        }
        struct cs_kq_queue *nq = queue_add(m, q->name, -1);
        nq->user = q->user;
        nq->policy = q->policy;
        nq->policy_set = q->policy_set;
        nq->allow_quotas = q->allow_quotas;
        q->allow_quotas = NULL;
    }
    for (uint32_t i = 0; t && i < t->n; i++) {
        char qn[64];
        cs_kq_queue_name(t->nodes[i].name, qn, sizeof(qn));
        struct cs_kq_queue *q = cs_kq_queue_get(m, qn);
        if (q == NULL) {
            q = queue_add(m, qn, (int32_t)i);
            for (uint32_t j = 0; j < n_old; j++) {   /* a tree queue keeps its policy */
                if (strcmp(old[j]->name, qn) == 0) {
                    q->policy = old[j]->policy;
                    q->policy_set = old[j]->policy_set;
                    q->user = old[j]->user;
                    q->allow_quotas = old[j]->allow_quotas;
                    old[j]->allow_quotas = NULL;
                }
            }
        } else {
            q->quota = (int32_t)i;
        }
        q->from_tree = true;
    }
    for (uint32_t i = 0; i < n_old; i++) {
        queue_free(old[i]);
    }
    cs_free(old);
    for (size_t it = 0; cs_map_next(&m->units, &it, &k, &v);) {
        struct cs_kq_unit *u = v;
        map_unit(m, u);
        if (holds(u->phase)) {
            charge(m, u, 1);
        }
        u->changed = true;
    }
}

void cs_kq_queue_upsert(struct cs_kq_model *m, const char *name, const char *policy)
{
    struct cs_kq_queue *q = cs_kq_queue_get(m, name);
    if (q == NULL) {
        q = queue_add(m, name, -1);
        const char *k;
        void *v;
        for (size_t it = 0; cs_map_next(&m->units, &it, &k, &v);) {
            struct cs_kq_unit *u = v;
            if (u->want_queue && strcmp(u->want_queue, name) == 0) {
                map_unit(m, u);
            }
        }
    }
    q->user = !q->from_tree;
    enum cs_kq_policy p;
    if (policy && cs_kq_policy_parse(policy, &p)) {
        q->policy = p;
        q->policy_set = true;
    } else {
        q->policy = m->default_policy;
        q->policy_set = false;
    }
}

void cs_kq_queue_remove(struct cs_kq_model *m, const char *name)
{
    int32_t i = queue_index(m, name);
    if (i < 0 || m->queues[i]->from_tree || strcmp(name, "default") == 0) {
        if (i >= 0) {
            m->queues[i]->policy = m->default_policy;
            m->queues[i]->policy_set = false;
        }
        return;
    }
    queue_free(m->queues[i]);
    memmove(&m->queues[i], &m->queues[i + 1], sizeof(*m->queues) * (m->n_queues - (uint32_t)i - 1));
    m->n_queues--;
    cs_map_destroy(&m->queue_by_name);
    cs_map_init(&m->queue_by_name);
    for (uint32_t j = 0; j < m->n_queues; j++) {
        cs_map_put(&m->queue_by_name, m->queues[j]->name, (void *)(intptr_t)(j + 1));
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&m->units, &it, &k, &v);) {
        map_unit(m, v);
    }
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? cs_strdup(s) : NULL;
}

/* ---- allow-lists ------------------------------------------------------------------------- */

void cs_kq_queue_set_quotas(struct cs_kq_model *m, const char *name, const char *quotas)
{
    struct cs_kq_queue *q = cs_kq_queue_get(m, name);
    if (q) {
        cs_free(q->allow_quotas);
        q->allow_quotas = dup_or_null(quotas);
    }
}

void cs_kq_ns_set(struct cs_kq_model *m, const char *ns, const char *quotas, const char *queues)
{
    struct cs_kq_ns_allow *a = cs_map_get(&m->ns_allow, ns);
    if (a == NULL && (quotas == NULL || !quotas[0]) && (queues == NULL || !queues[0])) {
        return;
    }
    if (a == NULL) {
        a = cs_calloc(1, sizeof(*a));
        a->ns = cs_strdup(ns);
        cs_map_put(&m->ns_allow, a->ns, a);
    }
    cs_free(a->quotas);
    cs_free(a->queues);
    a->quotas = dup_or_null(quotas);
    a->queues = dup_or_null(queues);
    if (a->quotas == NULL && a->queues == NULL) {
        cs_map_del(&m->ns_allow, ns);
        cs_free(a->ns);
        cs_free(a);
    }
}

/* Does an allow-list name name? A comma-separated list (blanks around names ignored) or, as
 * koord-queue writes available-queue-in-namespace, a JSON object keyed by name; "*" = all. */
static bool list_has(const char *list, const char *name)
{
    const char *s = list;
    while (*s == ' ') {
        s++;
    }
    if (*s == '{') {
        json_t *o = json_loads(s, 0, NULL);
        bool has = json_object_get(o, name) != NULL || json_object_get(o, "*") != NULL;
        json_decref(o);
        return has;
    }
    size_t nl = strlen(name);
    while (*s) {
        while (*s == ' ' || *s == ',') {
            s++;
        }
        const char *e = s;
        while (*e && *e != ',') {
            e++;
        }
        const char *t = e;
        while (t > s && t[-1] == ' ') {
            t--;
        }
        size_t l = (size_t)(t - s);
        if ((l == 1 && *s == '*') || (l == nl && l > 0 && strncmp(s, name, l) == 0)) {
            return true;
        }
        s = e;
    }
    return false;
}

bool cs_kq_denied(const struct cs_kq_model *m, const struct cs_kq_unit *u, char *why, size_t n)
{
    if (u->queue < 0) {
        return false;
    }
    const struct cs_kq_ns_allow *na = cs_map_get(&m->ns_allow, u->ns);
    const struct cs_kq_queue *q = m->queues[u->queue];
    const struct cs_quota_tree *t = m->tree;
    const char *quota = t && u->quota >= 0 ? t->nodes[u->quota].name : NULL;
    bool own_queue = q->from_tree && u->quota >= 0 && q->quota == u->quota;
    if (na && na->queues && u->want_queue && !own_queue && !list_has(na->queues, q->name)) {
        snprintf(why, n, "not admitted to queue %s: the queue is not available in namespace %s "
                 "(kube-queue/available-queue-in-namespace: %.100s)", q->name, u->ns, na->queues);
        return true;
    }
    if (na && na->quotas && u->want_quota && quota) {
        int32_t leaf = (int32_t)(intptr_t)cs_map_get(&t->ns_leaf, u->ns) - 1;
        if (u->quota != leaf && !list_has(na->quotas, quota)) {
            snprintf(why, n, "not admitted to queue %s: quota %s is not available in namespace "
                     "%s (kube-queue/available-quota-in-namespace: %.100s)", q->name, quota,
                     u->ns, na->quotas);
            return true;
        }
    }
    if (q->allow_quotas && !own_queue && !(quota && list_has(q->allow_quotas, quota))) {
        if (quota) {
            snprintf(why, n, "not admitted to queue %s: it does not take units of quota %s "
                     "(kube-queue/available-quota-in-queue: %.100s)", q->name, quota,
                     q->allow_quotas);
        } else {
            snprintf(why, n, "not admitted to queue %s: it takes units of its quotas only and "
                     "this one is in no quota (kube-queue/available-quota-in-queue: %.100s)",
                     q->name, q->allow_quotas);
        }
        return true;
    }
    return false;
}

struct cs_kq_unit *cs_kq_unit_upsert(struct cs_kq_model *m, const struct cs_kq_unit_spec *s)
{
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", s->ns, s->name);
    struct cs_kq_unit *u = cs_map_get(&m->units, key);
    if (u == NULL) {
        u = cs_calloc(1, sizeof(*u));
        u->key = cs_strdup(key);
        u->ns = cs_strdup(s->ns);
        u->name = cs_strdup(s->name);
        u->phase = CS_KQ_ENQUEUED;
        cs_map_put(&m->units, u->key, u);
    }
    bool was = u->charged;
    uncharge(m, u);
    u->priority = s->priority;
    u->creation_ns = s->creation_ns;
    u->preemptible = s->preemptible;
    cs_free(u->want_queue);
    cs_free(u->want_quota);
    u->want_queue = dup_or_null(s->queue);
    u->want_quota = dup_or_null(s->quota);
    cs_kq_res_list_free(u->res, u->n_res);
    u->res = cs_kq_res_list_copy(s->res, s->n_res);
    u->n_res = s->n_res;
    map_unit(m, u);
    if (was || holds(u->phase)) {
        charge(m, u, 1);
    }
    return u;
}

struct cs_kq_unit *cs_kq_unit_get(const struct cs_kq_model *m, const char *key)
{
    return cs_map_get(&m->units, key);
}

void cs_kq_unit_set_phase(struct cs_kq_model *m, struct cs_kq_unit *u, enum cs_kq_phase p)
{
    if (u->phase == p) {
        return;
    }
    uncharge(m, u);
    u->phase = p;
    if (holds(p)) {
        charge(m, u, 1);
        u->message[0] = '\0';
        u->position = u->waiting = 0;
    }
    u->changed = true;
}

void cs_kq_unit_requeue(struct cs_kq_model *m, struct cs_kq_unit *u, int64_t backoff_ns,
                        const char *why)
{
    cs_kq_unit_set_phase(m, u, CS_KQ_ENQUEUED);
    u->backoff_until_ns = m->now_ns + backoff_ns;
    u->requeues++;
    snprintf(u->requeue_why, sizeof(u->requeue_why), "%s", why ? why : "");
    u->message[0] = '\0';
    u->changed = true;
}

void cs_kq_unit_remove(struct cs_kq_model *m, const char *key)
{
    struct cs_kq_unit *u = cs_map_del(&m->units, key);
    if (u == NULL) {
        return;
    }
    uncharge(m, u);
    for (uint32_t i = 0; i < m->n_queues; i++) {   /* no dangling pointer in an order */
        struct cs_kq_queue *q = m->queues[i];
        for (uint32_t j = 0; j < q->n_order; j++) {
            if (q->order[j] == u) {
                memmove(&q->order[j], &q->order[j + 1], sizeof(*q->order) * (q->n_order - j - 1));
                q->n_order--;
                q->changed = true;
                break;
            }
        }
    }
    unit_free(u);
}

/* ---- release ----------------------------------------------------------------------------- */

static bool related(const struct cs_quota_tree *t, int32_t a, int32_t b)
{
    for (int32_t i = a; i >= 0; i = t->nodes[i].parent) {
        if (i == b) {
            return true;
        }
    }
    for (int32_t i = b; i >= 0; i = t->nodes[i].parent) {
        if (i == a) {
            return true;
        }
    }
    return false;
}

/* A hungry node other than u's quota (and its line), when u would make its quota borrow. */
static int32_t hungry_other(const struct cs_kq_model *m, const struct cs_kq_unit *u)
{
    const struct cs_quota_tree *t = m->tree;
    const struct cs_quota_node *q = &t->nodes[u->quota];
    bool borrows = false;
    for (uint32_t d = 0; d < t->n_dims && !borrows; d++) {
        borrows = u->req[d] > 0 && m->used[u->quota][d] > q->min[d] - u->req[d];
    }
    if (!borrows) {
        return -1;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        if (m->hungry[i] && !related(t, (int32_t)i, u->quota)) {
            return (int32_t)i;
        }
    }
    return -1;
}

/* Would u keep its quota within min (so its quota is hungry while u waits)? */
static bool within_min(const struct cs_kq_model *m, const struct cs_kq_unit *u)
{
    const struct cs_quota_tree *t = m->tree;
    const struct cs_quota_node *q = &t->nodes[u->quota];
    bool any = false;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (u->req[d] <= 0) {
            continue;
        }
        if (m->used[u->quota][d] > q->min[d] - u->req[d]) {
            return false;
        }
        any = true;
    }
    return any && (m->max_jobs[u->quota] == CS_QUOTA_UNLIMITED ||
                   m->jobs[u->quota] + 1 <= m->max_jobs[u->quota]);
}

static bool backing_off(const struct cs_kq_model *m, const struct cs_kq_unit *u)
{
    return u->backoff_until_ns > 0 && m->now_ns > 0 && m->now_ns < u->backoff_until_ns;
}

static void find_hungry(struct cs_kq_model *m)
{
    if (m->tree == NULL) {
        return;
    }
    memset(m->hungry, 0, m->tree->n ? m->tree->n : 1);
    for (uint32_t i = 0; i < m->n_queues; i++) {
        const struct cs_kq_queue *q = m->queues[i];
        for (uint32_t j = 0; j < q->n_order; j++) {
            const struct cs_kq_unit *u = q->order[j];
            if (u->quota >= 0 && !backing_off(m, u) && within_min(m, u)) {
                m->hungry[u->quota] = 1;
            }
            if (q->policy == CS_KQ_BLOCK) {
                break;             /* only the head may go */
            }
        }
    }
}

bool cs_kq_fits(const struct cs_kq_model *m, const struct cs_kq_unit *u, char *why, size_t n)
{
    why[0] = '\0';
    if (u->queue < 0) {
        snprintf(why, n, "queue %s does not exist", u->want_queue ? u->want_queue : "");
        return false;
    }
    if (cs_kq_denied(m, u, why, n)) {
        return false;
    }
    const struct cs_quota_tree *t = m->tree;
    if (u->want_quota && u->quota < 0) {
        snprintf(why, n, "quota %s does not exist", u->want_quota);
        return false;
    }
    if (t == NULL) {
        return !rq_blocks(m, u, why, n);
    }
    if (u->quota < 0) {
        return true;
    }
    bool np = !u->preemptible;
    const int64_t *lim_jobs = np ? m->min_jobs : m->max_jobs;
    const int64_t *jobs = np ? m->np_jobs : m->jobs;
    const char *kind = np ? "min" : "max";
    if (!np && m->hungry) {
        int32_t h = hungry_other(m, u);
        if (h >= 0) {
            snprintf(why, n, "blocked by quota %s because of min: it would borrow while quota %s "
                     "waits below its min", t->nodes[u->quota].name, t->nodes[h].name);
            return false;
        }
    }
    uint32_t d = 0;
    int32_t at = cs_quota_path_exceeds(t, u->quota, (const int64_t(*)[CS_QUOTA_MAX_DIMS])(np ? m->np_used : m->used),
                                       u->req, np, &d);
    if (at >= 0) {
        char a[48], b[48], c[48];
        const int64_t *used = (np ? m->np_used : m->used)[at];
        const struct cs_quota_node *q = &t->nodes[at];
        cs_quota_format(t, d, used[d], a, sizeof(a));
        cs_quota_format(t, d, u->req[d], b, sizeof(b));
        cs_quota_format(t, d, np ? q->min[d] : q->max[d], c, sizeof(c));
        snprintf(why, n, "blocked by quota %s because of %s: %s used %s + job %s > %s %s",
                 q->name, kind, t->dim[d], a, b, kind, c);
        return false;
    }
    for (int32_t i = u->quota; i >= 0; i = t->nodes[i].parent) {
        if (lim_jobs[i] != CS_QUOTA_UNLIMITED && jobs[i] + 1 > lim_jobs[i]) {
            snprintf(why, n, "blocked by quota %s because of %s %s: %lld released, %s %lld",
                     t->nodes[i].name, kind, CS_QUOTA_MAX_JOBS, (long long)jobs[i], kind,
                     (long long)lim_jobs[i]);
            return false;
        }
    }
    return true;
}

static int release_order(const void *pa, const void *pb)
{
    const struct cs_kq_unit *a = *(struct cs_kq_unit *const *)pa;
    const struct cs_kq_unit *b = *(struct cs_kq_unit *const *)pb;
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    if (a->creation_ns != b->creation_ns) {
        return a->creation_ns < b->creation_ns ? -1 : 1;
    }
    return strcmp(a->key, b->key);
}

static void set_message(struct cs_kq_unit *u, const char *msg, uint32_t pos, uint32_t waiting)
{
    if (strcmp(u->message, msg) != 0 || u->position != pos || u->waiting != waiting) {
        snprintf(u->message, sizeof(u->message), "%s", msg);
        u->position = pos;
        u->waiting = waiting;
        u->changed = true;
    }
}

uint32_t cs_kq_schedule(struct cs_kq_model *m, struct cs_kq_unit ***out)
{
    *out = NULL;
    uint32_t n_out = 0, cap_out = 0;
    /* The waiting units of each queue; units whose queue is missing wait apart. */
    for (uint32_t i = 0; i < m->n_queues; i++) {
        m->queues[i]->n_order = 0;
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&m->units, &it, &k, &v);) {
        struct cs_kq_unit *u = v;
        u->denied = false;
        if (u->phase != CS_KQ_ENQUEUED) {
            continue;
        }
        char why[sizeof(u->message)];
        if (u->queue < 0) {
            cs_kq_fits(m, u, why, sizeof(why));
            set_message(u, why, 0, 0);
            continue;
        }
        if (cs_kq_denied(m, u, why, sizeof(why))) {
            u->denied = true;      /* waits apart: in no queue's order, blocking no one */
            set_message(u, why, 0, 0);
            continue;
        }
        struct cs_kq_queue *q = m->queues[u->queue];
        if (q->n_order == q->cap_order) {
            q->cap_order = q->cap_order ? q->cap_order * 2 : 16;
            q->order = cs_realloc(q->order, sizeof(*q->order) * q->cap_order);
        }
        q->order[q->n_order++] = u;
    }
    for (uint32_t i = 0; i < m->n_queues; i++) {
        struct cs_kq_queue *q = m->queues[i];
        if (q->n_order > 1) {
            qsort(q->order, q->n_order, sizeof(*q->order), release_order);
        }
    }
    find_hungry(m);
    for (uint32_t i = 0; i < m->n_rqs; i++) {
        memset(m->rqs[i]->reserved, 0, sizeof(int64_t) * (m->rqs[i]->n ? m->rqs[i]->n : 1));
    }
    for (size_t it = 0; m->n_rqs && cs_map_next(&m->units, &it, &k, &v);) {
        const struct cs_kq_unit *u = v;
        if (holds(u->phase)) {
            rq_charge(m, u);
        }
    }
    for (uint32_t i = 0; i < m->n_queues; i++) {
        struct cs_kq_queue *q = m->queues[i];
        bool blocked = false;
        uint32_t kept = 0;
        for (uint32_t j = 0; j < q->n_order; j++) {
            struct cs_kq_unit *u = q->order[j];
            char why[8];
            if (!blocked && !backing_off(m, u) && cs_kq_fits(m, u, why, sizeof(why))) {
                cs_kq_unit_set_phase(m, u, CS_KQ_DEQUEUED);
                rq_charge(m, u);
                if (n_out == cap_out) {
                    cap_out = cap_out ? cap_out * 2 : 8;
                    *out = cs_realloc(*out, sizeof(**out) * cap_out);
                }
                (*out)[n_out++] = u;
                continue;
            }
            blocked = blocked || q->policy == CS_KQ_BLOCK;
            q->order[kept++] = u;
        }
        if (kept != q->n_order) {
            q->changed = true;
        }
        q->n_order = kept;
    }
    /* Messages: the position, then why, against what is released now (hungry quotas too). */
    find_hungry(m);
    for (uint32_t i = 0; i < m->n_queues; i++) {
        struct cs_kq_queue *q = m->queues[i];
        uint32_t kept = q->n_order;
        for (uint32_t j = 0; j < kept; j++) {
            struct cs_kq_unit *u = q->order[j];
            char why[240], msg[sizeof(u->message)];
            if (q->policy == CS_KQ_BLOCK && j > 0) {
                snprintf(why, sizeof(why), "waiting behind %s (queue policy Block)",
                         q->order[0]->key);
            } else if (backing_off(m, u)) {
                snprintf(why, sizeof(why), "requeued (%s); backing off %lld s more",
                         u->requeue_why,
                         (long long)((u->backoff_until_ns - m->now_ns + 999999999) / 1000000000));
            } else {
                cs_kq_fits(m, u, why, sizeof(why));
            }
            int w = snprintf(msg, sizeof(msg), "position %u of %u in queue %s%s%s", j + 1, kept,
                             q->name, why[0] ? "; " : "", why);
            if (u->requeues && !backing_off(m, u) && w > 0 && (size_t)w < sizeof(msg)) {
                snprintf(msg + w, sizeof(msg) - (size_t)w, "; requeued %u time%s, last: %s",
                         u->requeues, u->requeues == 1 ? "" : "s", u->requeue_why);
            }
            if (u->position != j + 1 || u->waiting != kept) {
                q->changed = true;
            }
            set_message(u, msg, j + 1, kept);
        }
    }
    return n_out;
}
