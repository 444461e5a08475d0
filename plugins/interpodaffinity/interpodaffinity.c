/*
 * InterPodAffinity (kube-scheduler's, v1.37 semantics).
 *
 * Terms. A pod's term selects pods by label selector (with the term's matchLabelKeys merged in
 * as `key in (the owner's value)` and mismatchLabelKeys as `key notin (...)`, as the apiserver
 * does at creation; absent owner labels add nothing) in a set of namespaces: the listed ones,
 * plus those whose labels match namespaceSelector ({} = all), or the owner's own namespace when
 * neither is given. A namespace the table does not know matches a non-empty selector only for
 * existing pods' terms (kube-scheduler matches those against the incoming pod's namespace
 * labels, empty when the namespace is unknown; the incoming pod's own selectors are expanded
 * to the namespaces that exist).
 *
 *  PreFilter: (a) existing pods' required anti-affinity: nodes with such pods (the node info's
 *  counter) are walked and every term matching the incoming pod counts (topology key, the
 *  node's value); (b) the incoming pod's required affinity: pods matching ALL its terms,
 *  counted per term's topology domain; (c) its required anti-affinity: pods matching each term,
 *  per domain. (b) and (c) go through plugins/helper/termcount.h (per-node counts kept across
 *  attempts, refreshed for nodes whose snapshot version moved). Skip when there is nothing.
 *  Filter: a node lacking an affinity term's topology label, or whose domain has no matching
 *  pod, fails UnschedulableAndUnresolvable "node(s) didn't match pod affinity rules", unless
 *  no pod anywhere matches all terms and the pod matches all of them itself (the first of a
 *  group); a domain with a pod the anti-affinity terms match fails Unschedulable "node(s)
 *  didn't match pod anti-affinity rules"; a node one of whose labels counts in (a) fails
 *  Unschedulable "node(s) didn't satisfy existing pods anti-affinity rules". A node changed in
 *  place since PreFilter (nominated pods, preemption dry runs) is recounted live.
 *  PreScore/Score: per (topology key, value): + weight for pods matching the incoming pod's
 *  preferred affinity terms, - weight for its preferred anti-affinity terms (termcount again),
 *  and, walking only nodes with pods that have any pod (anti-)affinity, + hardPodAffinityWeight
 *  for existing pods' required affinity terms, + / - weight for their preferred (anti-)affinity
 *  terms that match the incoming pod. With ignorePreferredTermsOfExistingPods a pod without
 *  preferred terms is not scored. A node's score is the sum over its labels; NormalizeScore
 *  maps [min, max] onto [0, 100] (all 0 when equal).
 *
 * Equivalence caching: a pod without pod (anti-)affinity is node-local while no assigned pod
 * (on_pod) and no pod placed by the session (reserve/unreserve) has any: then nothing here can
 * reject or score it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/framework/snapshot.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/map.h"
#include "pkg/util/selector.h"
#include "plugins/helper/helper.h"
#include "plugins/helper/namespaces.h"
#include "plugins/helper/termcount.h"
#include "plugins/registry.h"

#define ERR_AFFINITY "node(s) didn't match pod affinity rules"
#define ERR_ANTI_AFFINITY "node(s) didn't match pod anti-affinity rules"
#define ERR_EXISTING_ANTI "node(s) didn't satisfy existing pods anti-affinity rules"
#define TC_ENTRIES 256
#define NS_MEMO 4

struct ipa {
    struct cs_ns_table *ns;        /* first: unit tests feed a bare instance's table through it */
    bool own_ns;
    int32_t hard_weight;
    bool ignore_preferred;
    struct cs_tc *tc;
    int64_t n_assigned;            /* assigned pods with pod (anti-)affinity (on_pod) */
    int64_t n_placed;              /* pods with it placed by the current session */
    struct cs_map placed;          /* their keys (owned) */
};

/* The namespace part of one or more incoming terms (all must select the namespace). */
struct ns_pred {
    struct ipa *p;
    const struct cs_pod_affinity_term *const *terms;
    uint32_t n;
    const char *owner_ns;
    const char *memo_ns[NS_MEMO];
    bool memo_val[NS_MEMO];
    uint32_t n_memo;
};

/* An incoming term counted through termcount. */
struct cterm {
    struct cs_tc_term term;
    const struct cs_tc_view *view;
    int64_t weight;                /* scoring: +weight (affinity) or -weight (anti-affinity) */
};

/* (topology key, value) -> count or score; arrays sorted by key then value. */
struct pair {
    const char *key;
    const char *value;
    int64_t n;
};

/* What one node contributed to the existing anti-affinity counts, at which version. */
struct node_rec {
    int32_t index;
    uint64_t gen;
    uint32_t first, n;             /* in rec_pairs */
};

struct ipa_state {
    bool began;                    /* PreFilter started the attempt's termcount reads */
    /* PreFilter */
    struct cterm *aff;             /* per required affinity term: pods matching all terms */
    uint32_t n_aff;
    bool self_match;               /* the pod matches all its required affinity terms */
    struct cterm *anti;
    uint32_t n_anti;
    struct pair *ex;               /* existing pods' anti-affinity counts, merged by (key, value)
                                    * on first use (nodes changed in place only) */
    uint32_t n_ex;
    bool ex_merged;
    uint32_t n_ex_raw;             /* existing anti-affinity terms matching the pod */
    const char **ex_keys;          /* their distinct topology keys */
    uint32_t n_ex_keys;
    const struct cs_tc_view **ex_dom;  /* per key: the snapshot's domains of that key */
    int64_t **ex_cnt;              /* per key: matching terms per domain id */
    struct node_rec *recs;
    uint32_t n_recs;
    struct pair *rec_pairs;
    /* PreScore */
    bool scored;
    struct cterm *pref;
    uint32_t n_pref;
    struct pair *sc;               /* existing pods' terms' scores */
    uint32_t n_sc;
    const char **sc_keys;          /* the distinct topology keys in sc */
    uint32_t n_sc_keys;
};

/* ---- args, lifecycle ---------------------------------------------------------------------- */

static void ipa_destroy(void *priv)
{
    struct ipa *p = priv;
    if (p == NULL) {
        return;
    }
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&p->placed, &it, &k, &v);) {
        cs_free(v);
    }
    cs_map_destroy(&p->placed);
    cs_tc_free(p->tc);
    if (p->own_ns) {
        cs_ns_table_free(p->ns);
    }
    cs_free(p);
}

static int parse_args(struct ipa *p, const json_t *args, char *err, size_t errlen)
{
    p->hard_weight = 1;
    if (args == NULL) {
        return 0;
    }
    const json_t *w = json_object_get(args, "hardPodAffinityWeight");
    if (w != NULL && !json_is_null(w)) {
        if (!json_is_integer(w)) {
            snprintf(err, errlen, "hardPodAffinityWeight: Invalid value: must be an integer");
            return -1;
        }
        json_int_t v = json_integer_value(w);
        if (v < 0 || v > 100) {
            snprintf(err, errlen,
                     "hardPodAffinityWeight: Invalid value: %lld: not in valid range [0-100]",
                     (long long)v);
            return -1;
        }
        p->hard_weight = (int32_t)v;
    }
    const json_t *ig = json_object_get(args, "ignorePreferredTermsOfExistingPods");
    if (ig != NULL && !json_is_null(ig)) {
        if (!json_is_boolean(ig)) {
            snprintf(err, errlen, "ignorePreferredTermsOfExistingPods: Invalid value: must be a "
                                  "boolean");
            return -1;
        }
        p->ignore_preferred = json_is_true(ig);
    }
    return 0;
}

static int ipa_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct ipa *p = cs_calloc(1, sizeof(*p));
    cs_map_init(&p->placed);
    if (parse_args(p, in->args, err, errlen) != 0) {
        ipa_destroy(p);
        return -1;
    }
    p->ns = cs_ns_table_shared(in->fw, err, errlen);
    if (p->ns == NULL) {
        ipa_destroy(p);
        return -1;
    }
    p->own_ns = in->fw == NULL;
    p->tc = cs_tc_new(TC_ENTRIES);
    *priv = p;
    return 0;
}

/* ---- matching ----------------------------------------------------------------------------- */

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool pod_has_terms(const struct cs_pod *pod)
{
    return pod->pod_affinity != NULL || pod->pod_anti_affinity != NULL;
}

/* Does term t, written by a pod of namespace owner_ns, select namespace ns? */
static bool term_ns(const struct ipa *p, const struct cs_pod_affinity_term *t, const char *owner_ns,
                    const char *ns, bool absent_as_empty)
{
    if (t->n_namespaces == 0 && t->namespace_selector == NULL) {
        return str_eq(ns, owner_ns);
    }
    for (uint32_t i = 0; i < t->n_namespaces; i++) {
        if (str_eq(t->namespaces[i], ns)) {
            return true;
        }
    }
    return t->namespace_selector != NULL &&
           cs_ns_selector_matches(p->ns, ns, t->namespace_selector, absent_as_empty);
}

/* Does `target` match term t of `owner` (namespaces, selector, label keys)? Existing pods'
 * terms (owner_incoming false) see an unknown namespace as one without labels. */
static bool term_matches(const struct ipa *p, const struct cs_pod *owner,
                         const struct cs_pod_affinity_term *t, const struct cs_pod *target,
                         bool owner_incoming)
{
    if (t->label_selector == NULL || !term_ns(p, t, owner->ns, target->ns, !owner_incoming) ||
        !cs_selector_matches(t->label_selector, target->labels, target->n_labels)) {
        return false;
    }
    for (uint32_t k = 0; k < t->n_match_label_keys; k++) {
        const char *v = cs_pod_label(owner, t->match_label_keys[k]);
        if (v != NULL && !str_eq(cs_pod_label(target, t->match_label_keys[k]), v)) {
            return false;
        }
    }
    for (uint32_t k = 0; k < t->n_mismatch_label_keys; k++) {
        const char *v = cs_pod_label(owner, t->mismatch_label_keys[k]);
        if (v != NULL && str_eq(cs_pod_label(target, t->mismatch_label_keys[k]), v)) {
            return false;
        }
    }
    return true;
}

/* kube-scheduler's podMatchesAllAffinityTerms: false without terms. */
static bool matches_all(const struct ipa *p, const struct cs_pod *owner,
                        const struct cs_pod_affinity_term *terms, uint32_t n,
                        const struct cs_pod *target)
{
    if (n == 0) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!term_matches(p, owner, &terms[i], target, true)) {
            return false;
        }
    }
    return true;
}

static bool matches_any(const struct ipa *p, const struct cs_pod *owner,
                        const struct cs_pod_affinity_term *terms, uint32_t n,
                        const struct cs_pod *target, bool owner_incoming)
{
    for (uint32_t i = 0; i < n; i++) {
        if (term_matches(p, owner, &terms[i], target, owner_incoming)) {
            return true;
        }
    }
    return false;
}

static bool ns_pred_match(void *arg, const char *ns)
{
    struct ns_pred *np = arg;
    for (uint32_t i = 0; i < np->n_memo; i++) {
        if (np->memo_ns[i] == ns) {
            return np->memo_val[i];
        }
    }
    bool ok = true;
    for (uint32_t i = 0; i < np->n && ok; i++) {
        ok = term_ns(np->p, np->terms[i], np->owner_ns, ns, false);
    }
    uint32_t slot = np->n_memo < NS_MEMO ? np->n_memo++ : (uint32_t)((uintptr_t)ns % NS_MEMO);
    np->memo_ns[slot] = ns;
    np->memo_val[slot] = ok;
    return ok;
}

static bool term_is_simple(const struct cs_pod_affinity_term *t)
{
    return t->n_namespaces == 0 && t->namespace_selector == NULL;
}

/* The namespace identity of a term for termcount ("ns:a,b|sel:<selector>"). */
static void ns_key_append(struct cs_buf *b, const struct cs_pod_affinity_term *t,
                          const char *owner_ns)
{
    if (term_is_simple(t)) {
        cs_buf_printf(b, "ns:%s", owner_ns ? owner_ns : "");
        return;
    }
    cs_buf_puts(b, "list:");
    for (uint32_t i = 0; i < t->n_namespaces; i++) {
        cs_buf_printf(b, "%s%s", i ? "," : "", t->namespaces[i]);
    }
    if (t->namespace_selector != NULL) {
        cs_buf_puts(b, "|sel:");
        cs_selector_to_string(t->namespace_selector, b);
    }
}

/* The term's selector text with the owner's label keys merged; false = matches nothing. */
static bool selector_append(struct cs_buf *b, const struct cs_pod_affinity_term *t,
                            const struct cs_pod *owner)
{
    if (t->label_selector == NULL) {
        return false;
    }
    size_t start = b->len;
    cs_selector_to_string(t->label_selector, b);
    for (uint32_t k = 0; k < t->n_match_label_keys; k++) {
        const char *v = cs_pod_label(owner, t->match_label_keys[k]);
        if (v != NULL) {
            cs_buf_printf(b, "%s%s=%s", b->len > start ? "," : "", t->match_label_keys[k], v);
        }
    }
    for (uint32_t k = 0; k < t->n_mismatch_label_keys; k++) {
        const char *v = cs_pod_label(owner, t->mismatch_label_keys[k]);
        if (v != NULL) {
            cs_buf_printf(b, "%s%s!=%s", b->len > start ? "," : "", t->mismatch_label_keys[k],
                          v);
        }
    }
    return true;
}

/* A termcount term for the AND of n incoming terms (one for anti-affinity and preferred
 * terms), counted by `key`'s domains. */
static void cterm_build(struct ipa *p, struct cs_arena *a, struct cterm *ct,
                        const struct cs_pod_affinity_term *const *terms, uint32_t n,
                        const struct cs_pod *pod, const char *key)
{
    memset(ct, 0, sizeof(*ct));
    struct cs_buf nsk, sel;
    cs_buf_init(&nsk);
    cs_buf_init(&sel);
    bool simple = true, none = false;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0) {
            cs_buf_putc(&nsk, '&');
        }
        ns_key_append(&nsk, terms[i], pod->ns);
        simple = simple && term_is_simple(terms[i]);
        size_t before = sel.len;
        if (before > 0) {
            cs_buf_putc(&sel, ',');
        }
        size_t start = sel.len;
        if (!selector_append(&sel, terms[i], pod)) {
            none = true;
        }
        if (sel.len == start && sel.data != NULL) {
            sel.len = before;      /* an empty selector adds no requirement */
            sel.data[before] = '\0';
        }
    }
    ct->term.ns_key = cs_arena_strdup(a, nsk.data ? nsk.data : "");
    ct->term.ns = pod->ns;
    if (!simple) {
        struct ns_pred *np = cs_arena_alloc(a, sizeof(*np));
        memset(np, 0, sizeof(*np));
        np->p = p;
        np->terms = terms;
        np->n = n;
        np->owner_ns = pod->ns;
        ct->term.ns_match = ns_pred_match;
        ct->term.ns_arg = np;
    }
    ct->term.selector = none ? NULL : cs_arena_strdup(a, sel.data ? sel.data : "");
    ct->term.topology_key = key;
    ct->term.skip_terminating = false;
    cs_buf_free(&nsk);
    cs_buf_free(&sel);
}

static const struct cs_pod_affinity_term *const *one_term(struct cs_arena *a,
                                                          const struct cs_pod_affinity_term *t)
{
    const struct cs_pod_affinity_term **arr = cs_arena_alloc(a, sizeof(*arr));
    arr[0] = t;
    return arr;
}

static int fetch(struct ipa *p, struct cs_fw_call *c, struct cterm *ct, struct cs_status *st)
{
    char err[256] = "";
    ct->view = cs_tc_get(p->tc, c->snap, &ct->term, err, sizeof(err));
    if (ct->view == NULL) {
        cs_status_set(st, CS_ERROR,
                      cs_arena_strdup(c->arena, err[0] ? err : "invalid pod affinity selector"));
        return -1;
    }
    return 0;
}

/* The term's matching pods in ni's domain and in total, ni recounted when it changed in place
 * since the view was read. has_domain false: ni has no such domain. */
static void cterm_counts(struct ipa *p, const struct cterm *ct, const struct cs_node_info *ni,
                         const char *value, int64_t *in_domain, int64_t *total)
{
    const struct cs_tc_view *v = ct->view;
    int32_t i = ni->index;
    bool listed = i >= 0 && (uint32_t)i < v->n_nodes;
    int32_t d = listed ? v->node_domain[i] : -1;
    if (d < 0 && value != NULL) {
        for (uint32_t k = 0; k < v->n_domains; k++) {
            if (strcmp(v->domain_value[k], value) == 0) {
                d = (int32_t)k;
                break;
            }
        }
    }
    *in_domain = d >= 0 ? v->domain_count[d] : 0;
    *total = v->total;
    if (listed && ni->generation != v->node_version[i] && v->node_domain[i] >= 0) {
        int64_t delta = (int64_t)cs_tc_count_node(p->tc, &ct->term, ni) - v->node_count[i];
        *total += delta;
        if (v->node_domain[i] == d) {
            *in_domain += delta;
        }
    }
}

/* ---- pair arrays -------------------------------------------------------------------------- */

static int pair_cmp(const void *a, const void *b)
{
    const struct pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

/* Sort and merge equal pairs (summing n); returns the new length. */
static uint32_t pairs_merge(struct pair *v, uint32_t n)
{
    if (n == 0) {
        return 0;
    }
    qsort(v, n, sizeof(*v), pair_cmp);
    uint32_t k = 0;
    for (uint32_t i = 1; i < n; i++) {
        if (pair_cmp(&v[k], &v[i]) == 0) {
            v[k].n += v[i].n;
        } else {
            v[++k] = v[i];
        }
    }
    return k + 1;
}

/* The distinct keys of a sorted pair array (arena): a node is then looked up by those of its
 * labels only, not by every label it has. */
static const char **pair_keys(const struct pair *v, uint32_t n, struct cs_arena *a, uint32_t *n_out)
{
    const char **keys = cs_arena_alloc(a, sizeof(*keys) * (n ? n : 1));
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (k == 0 || strcmp(keys[k - 1], v[i].key) != 0) {
            keys[k++] = v[i].key;
        }
    }
    *n_out = k;
    return keys;
}

static int64_t pairs_get(const struct pair *v, uint32_t n, const char *key, const char *value)
{
    struct pair want = { .key = key, .value = value };
    const struct pair *got = n ? bsearch(&want, v, n, sizeof(*v), pair_cmp) : NULL;
    return got ? got->n : 0;
}

struct pairbuf {
    struct pair *v;
    uint32_t n, cap;
};

static void pb_add(struct pairbuf *b, const char *key, const char *value, int64_t n)
{
    if (b->n == b->cap) {
        b->cap = b->cap ? 2 * b->cap : 16;
        b->v = cs_realloc(b->v, b->cap * sizeof(*b->v));
    }
    b->v[b->n++] = (struct pair){ .key = key, .value = value, .n = n };
}

/* Copy a heap pair buffer into the arena (merged when merge). */
static struct pair *pb_to_arena(struct pairbuf *b, struct cs_arena *a, bool merge, uint32_t *n_out)
{
    uint32_t n = merge ? pairs_merge(b->v, b->n) : b->n;
    struct pair *out = cs_arena_alloc(a, sizeof(*out) * (n ? n : 1));
    if (n) {
        memcpy(out, b->v, sizeof(*out) * n);
    }
    cs_free(b->v);
    b->v = NULL;
    b->n = b->cap = 0;
    *n_out = n;
    return out;
}

/* Existing pods' required anti-affinity terms on ni that match pod, as (key, value) pairs. */
static void existing_anti_of_node(const struct ipa *p, const struct cs_node_info *ni,
                                  const struct cs_pod *pod, struct pairbuf *out)
{
    if (ni->node == NULL) {
        return;
    }
    for (uint32_t j = 0; j < ni->n_pods; j++) {
        const struct cs_pod *q = ni->pods[j];
        const struct cs_pod_affinity *aa = q->pod_anti_affinity;
        if (aa == NULL) {
            continue;
        }
        for (uint32_t t = 0; t < aa->n_required; t++) {
            const struct cs_pod_affinity_term *term = &aa->required[t];
            const char *v = cs_node_label(ni->node, term->topology_key);
            if (v != NULL && term_matches(p, q, term, pod, false)) {
                pb_add(out, term->topology_key, v, 1);
            }
        }
    }
}

/* ---- filtering ---------------------------------------------------------------------------- */

static struct ipa_state *state_of(struct cs_fw_call *c)
{
    struct ipa_state *s = *c->state;
    if (s == NULL) {
        s = cs_arena_alloc(c->arena, sizeof(*s));
        memset(s, 0, sizeof(*s));
        *c->state = s;
    }
    return s;
}

static void prefilter_existing(struct ipa *p, struct cs_fw_call *c, struct ipa_state *s,
                               const struct cs_pod *pod)
{
    const struct cs_snapshot *snap = c->snap;
    struct pairbuf recs_pairs = { 0 };
    struct node_rec *recs = NULL;
    uint32_t n_recs = 0, cap_recs = 0;
    for (uint32_t i = 0; i < snap->n_list; i++) {
        const struct cs_node_info *ni = snap->list[i];
        if (ni->n_pods_with_required_anti_affinity == 0) {
            continue;
        }
        uint32_t first = recs_pairs.n;
        existing_anti_of_node(p, ni, pod, &recs_pairs);
        if (n_recs == cap_recs) {
            cap_recs = cap_recs ? 2 * cap_recs : 16;
            recs = cs_realloc(recs, cap_recs * sizeof(*recs));
        }
        recs[n_recs++] = (struct node_rec){
            .index = (int32_t)i, .gen = ni->generation, .first = first,
            .n = recs_pairs.n - first,
        };
    }
    uint32_t n_rec_pairs;
    s->rec_pairs = pb_to_arena(&recs_pairs, c->arena, false, &n_rec_pairs);
    s->recs = cs_arena_alloc(c->arena, sizeof(*s->recs) * (n_recs ? n_recs : 1));
    if (n_recs) {
        memcpy(s->recs, recs, sizeof(*recs) * n_recs);
    }
    s->n_recs = n_recs;
    cs_free(recs);
    s->n_ex_raw = n_rec_pairs;
    /* Count the terms per domain of their topology key (termcount's domain index of the key,
     * refreshed only where nodes changed): Filter is then one array read per key and node. */
    s->ex_keys = cs_arena_alloc(c->arena, sizeof(*s->ex_keys) * (n_rec_pairs ? n_rec_pairs : 1));
    s->n_ex_keys = 0;
    for (uint32_t r = 0; r < n_rec_pairs; r++) {
        uint32_t k = 0;
        while (k < s->n_ex_keys && strcmp(s->ex_keys[k], s->rec_pairs[r].key) != 0) {
            k++;
        }
        if (k == s->n_ex_keys) {
            s->ex_keys[s->n_ex_keys++] = s->rec_pairs[r].key;
        }
    }
    uint32_t nk = s->n_ex_keys ? s->n_ex_keys : 1;
    s->ex_dom = cs_arena_alloc(c->arena, sizeof(*s->ex_dom) * nk);
    s->ex_cnt = cs_arena_alloc(c->arena, sizeof(*s->ex_cnt) * nk);
    for (uint32_t k = 0; k < s->n_ex_keys; k++) {
        struct cs_tc_term dom = { .ns_key = "domains", .topology_key = s->ex_keys[k] };
        char err[128];
        s->ex_dom[k] = cs_tc_get(p->tc, snap, &dom, err, sizeof(err));
        uint32_t nd = s->ex_dom[k]->n_domains ? s->ex_dom[k]->n_domains : 1;
        s->ex_cnt[k] = cs_arena_alloc(c->arena, sizeof(int64_t) * nd);
        memset(s->ex_cnt[k], 0, sizeof(int64_t) * nd);
    }
    for (uint32_t i = 0; i < n_recs; i++) {
        for (uint32_t r = 0; r < s->recs[i].n; r++) {
            const struct pair *rp = &s->rec_pairs[s->recs[i].first + r];
            uint32_t k = 0;
            while (strcmp(s->ex_keys[k], rp->key) != 0) {
                k++;
            }
            int32_t d = s->ex_dom[k]->node_domain[s->recs[i].index];
            if (d >= 0) {
                s->ex_cnt[k][d]++;
            }
        }
    }
}

static enum cs_code ipa_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                   struct cs_status *st)
{
    struct ipa *p = c->priv;
    const struct cs_pod_affinity *pa0 = pod->pod_affinity, *paa0 = pod->pod_anti_affinity;
    if ((pa0 == NULL || pa0->n_required == 0) && (paa0 == NULL || paa0->n_required == 0) &&
        c->snap->pods_with_required_anti_affinity == 0) {
        return CS_SKIP;            /* nothing to check: no terms, no anti-affinity anywhere */
    }
    cs_tc_begin(p->tc);
    struct ipa_state *s = state_of(c);
    s->began = true;
    prefilter_existing(p, c, s, pod);
    const struct cs_pod_affinity *pa = pod->pod_affinity, *paa = pod->pod_anti_affinity;
    uint32_t na = pa ? pa->n_required : 0, nn = paa ? paa->n_required : 0;
    if (s->n_ex_raw == 0 && na == 0 && nn == 0) {
        return CS_SKIP;
    }
    if (na > 0) {
        const struct cs_pod_affinity_term **all = cs_arena_alloc(c->arena, sizeof(*all) * na);
        for (uint32_t i = 0; i < na; i++) {
            all[i] = &pa->required[i];
        }
        s->aff = cs_arena_alloc(c->arena, sizeof(*s->aff) * na);
        for (uint32_t i = 0; i < na; i++) {
            cterm_build(p, c->arena, &s->aff[i], all, na, pod, pa->required[i].topology_key);
            if (fetch(p, c, &s->aff[i], st) != 0) {
                return CS_ERROR;
            }
        }
        s->n_aff = na;
        s->self_match = cs_tc_term_matches(p->tc, &s->aff[0].term, pod);
    }
    if (nn > 0) {
        s->anti = cs_arena_alloc(c->arena, sizeof(*s->anti) * nn);
        for (uint32_t i = 0; i < nn; i++) {
            cterm_build(p, c->arena, &s->anti[i], one_term(c->arena, &paa->required[i]), 1, pod,
                        paa->required[i].topology_key);
            if (fetch(p, c, &s->anti[i], st) != 0) {
                return CS_ERROR;
            }
        }
        s->n_anti = nn;
    }
    return CS_SUCCESS;
}

static bool satisfies_affinity(struct ipa *p, const struct ipa_state *s,
                               const struct cs_node_info *ni)
{
    if (s->n_aff == 0) {
        return true;
    }
    bool exist = true;
    int64_t any_total = 0;
    for (uint32_t k = 0; k < s->n_aff; k++) {
        const char *v = cs_node_label(ni->node, s->aff[k].term.topology_key);
        if (v == NULL) {
            return false;          /* every topology label must be on the node */
        }
        int64_t in_domain, total;
        cterm_counts(p, &s->aff[k], ni, v, &in_domain, &total);
        if (in_domain <= 0) {
            exist = false;
        }
        if (total > 0) {
            any_total = total;
        }
    }
    /* The first pod of a group that selects itself may go anywhere its topology exists. */
    return exist || (any_total == 0 && s->self_match);
}

static bool satisfies_anti_affinity(struct ipa *p, const struct ipa_state *s,
                                    const struct cs_node_info *ni)
{
    for (uint32_t k = 0; k < s->n_anti; k++) {
        const char *v = cs_node_label(ni->node, s->anti[k].term.topology_key);
        if (v == NULL) {
            continue;
        }
        int64_t in_domain, total;
        cterm_counts(p, &s->anti[k], ni, v, &in_domain, &total);
        if (in_domain > 0) {
            return false;
        }
    }
    return true;
}

static const struct node_rec *find_rec(const struct ipa_state *s, int32_t index)
{
    uint32_t lo = 0, hi = s->n_recs;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s->recs[mid].index < index) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo < s->n_recs && s->recs[lo].index == index ? &s->recs[lo] : NULL;
}

static bool satisfies_existing(struct ipa *p, const struct ipa_state *s, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_arena *arena)
{
    const struct node_rec *rec = find_rec(s, ni->index);
    bool changed = rec ? rec->gen != ni->generation : ni->n_pods_with_required_anti_affinity > 0;
    if (s->n_ex_raw == 0 && !changed) {
        return true;
    }
    if (!changed && ni->index >= 0) {
        for (uint32_t k = 0; k < s->n_ex_keys; k++) {
            if ((uint32_t)ni->index >= s->ex_dom[k]->n_nodes) {
                break;             /* not a node of this snapshot: the general path below */
            }
            int32_t d = s->ex_dom[k]->node_domain[ni->index];
            if (d >= 0 && s->ex_cnt[k][d] > 0) {
                return false;
            }
            if (k + 1 == s->n_ex_keys) {
                return true;
            }
        }
    }
    if (!s->ex_merged) {
        struct ipa_state *ms = (struct ipa_state *)s;   /* merged once, on first need */
        ms->ex = cs_arena_alloc(arena, sizeof(*ms->ex) * (s->n_ex_raw ? s->n_ex_raw : 1));
        if (s->n_ex_raw) {
            memcpy(ms->ex, s->rec_pairs, sizeof(*ms->ex) * s->n_ex_raw);
        }
        ms->n_ex = pairs_merge(ms->ex, s->n_ex_raw);
        ms->ex_merged = true;
    }
    struct pairbuf live = { 0 };
    uint32_t n_live = 0;
    if (changed) {
        existing_anti_of_node(p, ni, pod, &live);
        n_live = pairs_merge(live.v, live.n);
    }
    bool ok = true;
    for (uint32_t l = 0; l < ni->node->n_labels && ok; l++) {
        const char *k = ni->node->labels[l].key, *v = ni->node->labels[l].value;
        if (v == NULL) {
            v = "";
        }
        int64_t n = pairs_get(s->ex, s->n_ex, k, v);
        if (changed) {
            for (uint32_t r = 0; rec && r < rec->n; r++) {
                const struct pair *rp = &s->rec_pairs[rec->first + r];
                n -= strcmp(rp->key, k) == 0 && strcmp(rp->value, v) == 0;
            }
            n += pairs_get(live.v, n_live, k, v);
        }
        ok = n <= 0;
    }
    cs_free(live.v);
    return ok;
}

static enum cs_code ipa_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                               const struct cs_node_info *ni, struct cs_status *st)
{
    struct ipa *p = c->priv;
    const struct ipa_state *s = *c->state;
    if (s == NULL || ni->node == NULL) {
        return CS_SUCCESS;
    }
    if (!satisfies_affinity(p, s, ni)) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, ERR_AFFINITY);
    }
    if (!satisfies_anti_affinity(p, s, ni)) {
        return cs_status_set(st, CS_UNSCHEDULABLE, ERR_ANTI_AFFINITY);
    }
    if (!satisfies_existing(p, s, pod, ni, c->arena)) {
        return cs_status_set(st, CS_UNSCHEDULABLE, ERR_EXISTING_ANTI);
    }
    return CS_SUCCESS;
}

/* ---- scoring ------------------------------------------------------------------------------ */

/* Existing pod q's terms that match the incoming pod, as scores on q's node's domains. */
static void score_existing_pod(const struct ipa *p, const struct cs_pod *q,
                               const struct cs_node *node, const struct cs_pod *pod,
                               struct pairbuf *out)
{
    const struct cs_pod_affinity *pa = q->pod_affinity, *paa = q->pod_anti_affinity;
    if (pa != NULL && p->hard_weight > 0) {
        for (uint32_t t = 0; t < pa->n_required; t++) {
            const struct cs_pod_affinity_term *term = &pa->required[t];
            const char *v = cs_node_label(node, term->topology_key);
            if (v != NULL && term_matches(p, q, term, pod, false)) {
                pb_add(out, term->topology_key, v, p->hard_weight);
            }
        }
    }
    for (int anti = 0; anti < 2; anti++) {
        const struct cs_pod_affinity *a = anti ? paa : pa;
        for (uint32_t t = 0; a != NULL && t < a->n_preferred; t++) {
            const struct cs_pod_affinity_term *term = &a->preferred[t].term;
            const char *v = cs_node_label(node, term->topology_key);
            if (v != NULL && term_matches(p, q, term, pod, false)) {
                int64_t w = a->preferred[t].weight;
                pb_add(out, term->topology_key, v, anti ? -w : w);
            }
        }
    }
}

static enum cs_code ipa_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_node_info *const *feasible, uint32_t n,
                                  struct cs_status *st)
{
    (void)feasible;
    (void)n;
    struct ipa *p = c->priv;
    if (!pod_has_terms(pod) && c->snap->pods_with_affinity == 0) {
        return CS_SKIP;            /* no preferred terms here, no pod with terms anywhere */
    }
    struct ipa_state *s = state_of(c);
    if (!s->began) {
        cs_tc_begin(p->tc);        /* a profile that scores without filtering here */
        s->began = true;
    }
    const struct cs_pod_affinity *pa = pod->pod_affinity, *paa = pod->pod_anti_affinity;
    uint32_t np = (pa ? pa->n_preferred : 0) + (paa ? paa->n_preferred : 0);
    if (p->ignore_preferred && np == 0) {
        return CS_SKIP;
    }
    bool any = false;
    if (np > 0) {
        s->pref = cs_arena_alloc(c->arena, sizeof(*s->pref) * np);
        for (int anti = 0; anti < 2; anti++) {
            const struct cs_pod_affinity *a = anti ? paa : pa;
            for (uint32_t t = 0; a != NULL && t < a->n_preferred; t++) {
                struct cterm *ct = &s->pref[s->n_pref];
                const struct cs_pod_affinity_term *term = &a->preferred[t].term;
                cterm_build(p, c->arena, ct, one_term(c->arena, term), 1, pod,
                            term->topology_key);
                if (fetch(p, c, ct, st) != 0) {
                    return CS_ERROR;
                }
                ct->weight = anti ? -(int64_t)a->preferred[t].weight : a->preferred[t].weight;
                s->n_pref++;
                any = any || ct->view->total > 0;
            }
        }
    }
    struct pairbuf sc = { 0 };
    const struct cs_snapshot *snap = c->snap;
    for (uint32_t i = 0; i < snap->n_list; i++) {
        const struct cs_node_info *ni = snap->list[i];
        if (ni->n_pods_with_affinity == 0 || ni->node == NULL || ni->node->n_labels == 0) {
            continue;
        }
        for (uint32_t j = 0; j < ni->n_pods; j++) {
            if (pod_has_terms(ni->pods[j])) {
                score_existing_pod(p, ni->pods[j], ni->node, pod, &sc);
            }
        }
    }
    any = any || sc.n > 0;
    s->sc = pb_to_arena(&sc, c->arena, true, &s->n_sc);
    s->sc_keys = pair_keys(s->sc, s->n_sc, c->arena, &s->n_sc_keys);
    if (!any) {
        return CS_SKIP;
    }
    s->scored = true;
    return CS_SUCCESS;
}

static int64_t ipa_score(struct cs_fw_call *c, const struct cs_pod *pod,
                         const struct cs_node_info *ni)
{
    (void)pod;
    struct ipa *p = c->priv;
    const struct ipa_state *s = *c->state;
    if (s == NULL || !s->scored || ni->node == NULL) {
        return 0;
    }
    int64_t score = 0;
    for (uint32_t k = 0; k < s->n_pref; k++) {
        const char *v = cs_node_label(ni->node, s->pref[k].term.topology_key);
        if (v != NULL) {
            int64_t in_domain, total;
            cterm_counts(p, &s->pref[k], ni, v, &in_domain, &total);
            score += s->pref[k].weight * in_domain;
        }
    }
    for (uint32_t k = 0; k < s->n_sc_keys; k++) {
        const char *v = cs_node_label(ni->node, s->sc_keys[k]);
        if (v != NULL) {
            score += pairs_get(s->sc, s->n_sc, s->sc_keys[k], v);
        }
    }
    return score;
}

static void ipa_normalize(struct cs_fw_call *c, const struct cs_pod *pod,
                          struct cs_node_score *scores, uint32_t n)
{
    (void)pod;
    const struct ipa_state *s = *c->state;
    if (s == NULL || !s->scored || n == 0) {
        return;
    }
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (uint32_t k = 0; k < n; k++) {
        if (scores[k].score < min) {
            min = scores[k].score;
        }
        if (scores[k].score > max) {
            max = scores[k].score;
        }
    }
    int64_t diff = max - min;
    for (uint32_t k = 0; k < n; k++) {
        double f = 0;
        if (diff > 0) {
            f = (double)CS_MAX_NODE_SCORE * ((double)(scores[k].score - min) / (double)diff);
        }
        scores[k].score = (int64_t)f;
    }
}

/* ---- equivalence: pods with affinity known on the snapshot -------------------------------- */

static enum cs_code ipa_reserve(struct cs_fw_call *c, const struct cs_pod *pod,
                                const struct cs_node_info *ni, struct cs_status *st)
{
    (void)ni;
    (void)st;
    struct ipa *p = c->priv;
    if (pod_has_terms(pod) && cs_map_get(&p->placed, pod->key) == NULL) {
        char *k = cs_strdup(pod->key);
        cs_map_put(&p->placed, k, k);
        p->n_placed++;
    }
    return CS_SUCCESS;
}

static void ipa_unreserve(struct cs_fw_call *c, const struct cs_pod *pod, const char *node)
{
    (void)node;
    struct ipa *p = c->priv;
    char *k = cs_map_del(&p->placed, pod->key);
    if (k != NULL) {
        cs_free(k);
        p->n_placed--;
    }
}

/* The session's placements reach on_pod (as assumed pods) when the next session opens. */
static void ipa_session_close(void *priv)
{
    struct ipa *p = priv;
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&p->placed, &it, &k, &v);) {
        cs_free(v);
    }
    cs_map_destroy(&p->placed);
    cs_map_init(&p->placed);
    p->n_placed = 0;
}

static void ipa_on_pod(void *priv, const struct cs_pod *old, const struct cs_pod *new_pod)
{
    struct ipa *p = priv;
    if (old != NULL && pod_has_terms(old)) {
        p->n_assigned--;
    }
    if (new_pod != NULL && pod_has_terms(new_pod)) {
        p->n_assigned++;
    }
}

static bool ipa_node_local(void *priv, const struct cs_pod *pod)
{
    const struct ipa *p = priv;
    return !pod_has_terms(pod) && p->n_assigned <= 0 && p->n_placed <= 0;
}

/* ---- queueing hints ----------------------------------------------------------------------- */

static enum cs_qhint pod_hint(const struct ipa *p, const struct cs_event_info *ev,
                              const struct cs_pod *pod)
{
    const struct cs_pod *old = ev->old_pod, *nw = ev->new_pod;
    if ((nw && nw->node_name == NULL) || (old && old->node_name == NULL)) {
        return CS_QHINT_SKIP;      /* unassigned pods change nothing */
    }
    const struct cs_pod_affinity *pa = pod->pod_affinity, *paa = pod->pod_anti_affinity;
    const struct cs_pod_affinity_term *aff = pa ? pa->required : NULL;
    const struct cs_pod_affinity_term *anti = paa ? paa->required : NULL;
    uint32_t na = pa ? pa->n_required : 0, nn = paa ? paa->n_required : 0;
    if (old && nw) {
        if (!matches_all(p, pod, aff, na, old) && matches_all(p, pod, aff, na, nw)) {
            return CS_QHINT_QUEUE;
        }
        if (matches_any(p, pod, anti, nn, old, true) && !matches_any(p, pod, anti, nn, nw, true)) {
            return CS_QHINT_QUEUE;
        }
        return CS_QHINT_SKIP;
    }
    if (nw) {
        return matches_all(p, pod, aff, na, nw) ? CS_QHINT_QUEUE : CS_QHINT_SKIP;
    }
    if (old) {
        if (matches_any(p, pod, anti, nn, old, true)) {
            return CS_QHINT_QUEUE;
        }
        /* The deleted pod's own anti-affinity may have been what kept this one out. */
        const struct cs_pod_affinity *oa = old->pod_anti_affinity;
        if (oa && matches_any(p, old, oa->required, oa->n_required, pod, false)) {
            return CS_QHINT_QUEUE;
        }
        return CS_QHINT_SKIP;
    }
    return CS_QHINT_QUEUE;
}

static enum cs_qhint node_hint(const struct cs_event_info *ev, const struct cs_pod *pod)
{
    const struct cs_node *old = ev->old_node, *nw = ev->new_node;
    if (nw == NULL || (old == NULL && ev->event != CS_EV_NODE_ADD)) {
        return CS_QHINT_QUEUE;
    }
    const struct cs_pod_affinity *pa = pod->pod_affinity, *paa = pod->pod_anti_affinity;
    for (uint32_t t = 0; pa && t < pa->n_required; t++) {
        const char *key = pa->required[t].topology_key;
        const char *nv = cs_node_label(nw, key);
        if (old == NULL) {
            if (nv != NULL) {
                return CS_QHINT_QUEUE;     /* a new node in the term's topology */
            }
            continue;
        }
        const char *ov = cs_node_label(old, key);
        if (nv != NULL && (ov == NULL || strcmp(ov, nv) != 0)) {
            return CS_QHINT_QUEUE;         /* joined a domain, or moved to another */
        }
    }
    for (uint32_t t = 0; paa && t < paa->n_required; t++) {
        if (old == NULL) {
            return CS_QHINT_QUEUE;         /* a new node may be a domain without such pods */
        }
        const char *key = paa->required[t].topology_key;
        const char *ov = cs_node_label(old, key), *nv = cs_node_label(nw, key);
        if (ov != NULL && (nv == NULL || strcmp(ov, nv) != 0)) {
            return CS_QHINT_QUEUE;         /* left a domain, or moved to another */
        }
    }
    return CS_QHINT_SKIP;
}

static enum cs_qhint ipa_hint(void *priv, const struct cs_event_info *ev, const struct cs_pod *pod)
{
    const struct ipa *p = priv;
    switch (ev->event) {
    case CS_EV_POD_ADD:
    case CS_EV_POD_UPDATE:
    case CS_EV_POD_DELETE:
        return pod_hint(p, ev, pod);
    case CS_EV_NODE_ADD:
    case CS_EV_NODE_UPDATE:
        return node_hint(ev, pod);
    default:
        return CS_QHINT_QUEUE;
    }
}

const struct cs_plugin cs_plugin_interpodaffinity = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "InterPodAffinity",
    .events = CS_EV_POD_ADD | CS_EV_POD_UPDATE | CS_EV_POD_DELETE | CS_EV_NODE_ADD |
              CS_EV_NODE_UPDATE,
    .init = ipa_init,
    .destroy = ipa_destroy,
    .queueing_hint = ipa_hint,
    .pre_filter = ipa_pre_filter,
    .filter = ipa_filter,
    .pre_score = ipa_pre_score,
    .score = ipa_score,
    .normalize_score = ipa_normalize,
    .reserve = ipa_reserve,
    .unreserve = ipa_unreserve,
    .session_close = ipa_session_close,
    .on_pod = ipa_on_pod,
    .node_local = ipa_node_local,
};
