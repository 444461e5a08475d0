/*
 * NodeAffinity.
 *  PreFilter: Skip when the pod has no nodeSelector, no required node affinity and the profile
 *  adds none; otherwise it detects the one case decidable up front, required terms whose
 *  matchFields metadata.name In-sets leave no node at all ("pod affinity terms conflict").
 *  Filter: the profile's addedAffinity must match ("node(s) didn't match scheduler-enforced node
 *  affinity"), then nodeSelector (every key=value present) AND at least one required term
 *  ("node(s) didn't match Pod's node affinity/selector"); both UnschedulableAndUnresolvable.
 *  A term matches when its matchExpressions (label selector with In/NotIn/Exists/DoesNotExist/
 *  Gt/Lt) and its matchFields (metadata.name In/NotIn, one value) both hold; a term with
 *  neither matches nothing, and a matchFields requirement on another field or with another
 *  operator makes its term never match (upstream drops terms that fail to parse).
 *  PreScore: Skip when neither the pod nor the profile has preferred terms.
 *  Score: sum of the weights of the matching preferred terms (weight 0 and empty terms ignored);
 *  normalize scales the maximum to 100.
 *
 * Filter and score read the pod's compiled selectors directly, so they need no cycle state and
 * never allocate.
 */
#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "plugins/helper/helper.h"
#include "plugins/helper/nodematch.h"

#define NAME_FIELD CS_NODE_NAME_FIELD
#include "plugins/registry.h"

struct na_priv {
    struct cs_arena arena;
    bool has_added_required;
    struct cs_node_selector_term *added_required;
    uint32_t n_added_required;
    struct cs_preferred_term *added_preferred;
    uint32_t n_added_preferred;
};


/* Is value v in every metadata.name In-requirement of s (other than `skip`)? */
static bool in_all_name_sets(const struct cs_selector *s, const char *v)
{
    for (size_t i = 0; i < s->nreqs; i++) {
        const struct cs_selector_req *r = &s->reqs[i];
        if (r->op != CS_SEL_IN || strcmp(r->key, NAME_FIELD) != 0) {
            continue;
        }
        bool found = false;
        for (size_t j = 0; j < r->nvalues && !found; j++) {
            found = strcmp(r->values[j], v) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* The term's first metadata.name In requirement, or NULL. */
static const struct cs_selector_req *first_name_in(const struct cs_selector *f)
{
    for (size_t i = 0; f != NULL && i < f->nreqs; i++) {
        if (f->reqs[i].op == CS_SEL_IN && strcmp(f->reqs[i].key, NAME_FIELD) == 0) {
            return &f->reqs[i];
        }
    }
    return NULL;
}

/* True when every required term pins metadata.name with In-sets whose intersection is empty. */
static bool required_terms_conflict(const struct cs_node_affinity *na)
{
    if (na->n_required == 0) {
        return false;
    }
    for (uint32_t t = 0; t < na->n_required; t++) {
        const struct cs_selector *f = na->required[t].match_fields;
        const struct cs_selector_req *first = first_name_in(f);
        if (first == NULL) {
            return false; /* this term allows every node name */
        }
        for (size_t j = 0; j < first->nvalues; j++) {
            if (in_all_name_sets(f, first->values[j])) {
                return false; /* this term allows at least one node */
            }
        }
    }
    return true;
}

/* kube-scheduler's PreFilterResult: when every required term pins metadata.name with In, only
 * the union over terms of each term's intersection of names can fit. */
static void prefilter_node_names(struct cs_fw_call *c, const struct cs_node_affinity *na)
{
    const char **names = NULL;
    uint32_t n = 0, cap = 0;
    for (uint32_t t = 0; t < na->n_required; t++) {
        if (na->required[t].invalid) {
            continue;                   /* matches no node: adds none */
        }
        const struct cs_selector *f = na->required[t].match_fields;
        const struct cs_selector_req *first = first_name_in(f);
        if (first == NULL) {
            return;                     /* this term allows every node name */
        }
        for (size_t j = 0; j < first->nvalues; j++) {
            const char *v = first->values[j];
            if (!in_all_name_sets(f, v)) {
                continue;
            }
            bool dup = false;
            for (uint32_t k = 0; k < n && !dup; k++) {
                dup = strcmp(names[k], v) == 0;
            }
            if (!dup) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 4;
                    const char **nn = cs_arena_alloc(c->arena, sizeof(*nn) * cap);
                    if (n) {
                        memcpy(nn, names, sizeof(*nn) * n);
                    }
                    names = nn;
                }
                names[n++] = v;
            }
        }
    }
    cs_fw_prefilter_nodes(c, names, n);
}

static enum cs_code na_pre_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                                  struct cs_status *st)
{
    const struct na_priv *p = c->priv;
    bool added = p != NULL && p->has_added_required;
    if (!cs_pod_has_required_node_affinity(pod) && !added && pod->n_node_selector == 0) {
        return CS_SKIP;
    }
    if (cs_pod_has_required_node_affinity(pod) && required_terms_conflict(pod->node_affinity)) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE, "pod affinity terms conflict");
    }
    if (cs_pod_has_required_node_affinity(pod)) {
        prefilter_node_names(c, pod->node_affinity);
    }
    return CS_SUCCESS;
}

static enum cs_code na_filter(struct cs_fw_call *c, const struct cs_pod *pod,
                              const struct cs_node_info *ni, struct cs_status *st)
{
    const struct na_priv *p = c->priv;
    const struct cs_node *node = ni->node;
    if (node == NULL) {
        return cs_status_set(st, CS_ERROR, "node not found");
    }
    if (p != NULL && p->has_added_required &&
        !cs_node_terms_match(p->added_required, p->n_added_required, node)) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                             "node(s) didn't match scheduler-enforced node affinity");
    }
    if (!cs_pod_required_node_match(pod, node)) {
        return cs_status_set(st, CS_UNSCHEDULABLE_AND_UNRESOLVABLE,
                             "node(s) didn't match Pod's node affinity/selector");
    }
    return CS_SUCCESS;
}

static enum cs_code na_pre_score(struct cs_fw_call *c, const struct cs_pod *pod,
                                 struct cs_node_info *const *feasible, uint32_t n,
                                 struct cs_status *st)
{
    (void)feasible;
    (void)n;
    (void)st;
    const struct na_priv *p = c->priv;
    bool pod_pref = pod->node_affinity != NULL && pod->node_affinity->n_preferred > 0;
    bool added_pref = p != NULL && p->n_added_preferred > 0;
    return (pod_pref || added_pref) ? CS_SUCCESS : CS_SKIP;
}

static int64_t na_score(struct cs_fw_call *c, const struct cs_pod *pod,
                        const struct cs_node_info *ni)
{
    const struct na_priv *p = c->priv;
    const struct cs_node *node = ni->node;
    if (node == NULL) {
        return 0;
    }
    int64_t sum = 0;
    if (p != NULL && p->n_added_preferred) {
        sum += cs_node_preferred_score(p->added_preferred, p->n_added_preferred, node);
    }
    if (pod->node_affinity != NULL) {
        sum += cs_node_preferred_score(pod->node_affinity->preferred, pod->node_affinity->n_preferred,
                               node);
    }
    return sum;
}

static void na_normalize(struct cs_fw_call *c, const struct cs_pod *pod,
                         struct cs_node_score *scores, uint32_t n)
{
    (void)c;
    (void)pod;
    cs_default_normalize_score(CS_MAX_NODE_SCORE, false, scores, n);
}

/* --- args: NodeAffinityArgs{addedAffinity} ------------------------------------------------- */

static int parse_term(struct na_priv *p, const json_t *j, const char *path,
                      struct cs_node_selector_term *out, char *err, size_t errlen)
{
    char sub[256];
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s: must be an object", path);
        return -1;
    }
    snprintf(sub, sizeof(sub), "%s.matchExpressions", path);
    if (cs_selector_from_node_requirements(json_object_get(j, "matchExpressions"), sub,
                                           &p->arena, &out->match_expressions, err,
                                           errlen) != 0) {
        return -1;
    }
    snprintf(sub, sizeof(sub), "%s.matchFields", path);
    if (cs_selector_from_node_requirements(json_object_get(j, "matchFields"), sub, &p->arena,
                                           &out->match_fields, err, errlen) != 0) {
        return -1;
    }
    return 0;
}

static int parse_added(struct na_priv *p, const json_t *aff, char *err, size_t errlen)
{
    char path[256];
    if (!json_is_object(aff)) {
        snprintf(err, errlen, "addedAffinity: must be an object");
        return -1;
    }
    const json_t *req = json_object_get(aff, "requiredDuringSchedulingIgnoredDuringExecution");
    if (req != NULL && !json_is_null(req)) {
        const json_t *terms = json_object_get(req, "nodeSelectorTerms");
        if (!json_is_array(terms) || json_array_size(terms) == 0) {
            snprintf(err, errlen,
                     "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                     "nodeSelectorTerms: Required value: must have at least one node selector "
                     "term");
            return -1;
        }
        size_t n = json_array_size(terms);
        p->added_required = CS_ARENA_ARRAY(&p->arena, struct cs_node_selector_term, n);
        for (size_t i = 0; i < n; i++) {
            snprintf(path, sizeof(path),
                     "addedAffinity.requiredDuringSchedulingIgnoredDuringExecution."
                     "nodeSelectorTerms[%zu]",
                     i);
            if (parse_term(p, json_array_get(terms, i), path, &p->added_required[i], err,
                           errlen) != 0) {
                return -1;
            }
        }
        p->n_added_required = (uint32_t)n;
        p->has_added_required = true;
    }
    const json_t *pref = json_object_get(aff, "preferredDuringSchedulingIgnoredDuringExecution");
    if (pref != NULL && !json_is_null(pref)) {
        if (!json_is_array(pref)) {
            snprintf(err, errlen,
                     "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution: must be a "
                     "list");
            return -1;
        }
        size_t n = json_array_size(pref);
        p->added_preferred = CS_ARENA_ARRAY(&p->arena, struct cs_preferred_term, n);
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(pref, i);
            const json_t *w = json_object_get(e, "weight");
            json_int_t wv = json_is_integer(w) ? json_integer_value(w) : 0;
            if (wv < 1 || wv > 100) {
                snprintf(err, errlen,
                         "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[%zu]."
                         "weight: Invalid value: %lld: must be in the range 1-100",
                         i, (long long)wv);
                return -1;
            }
            snprintf(path, sizeof(path),
                     "addedAffinity.preferredDuringSchedulingIgnoredDuringExecution[%zu]."
                     "preference",
                     i);
            p->added_preferred[i].weight = (int32_t)wv;
            if (parse_term(p, json_object_get(e, "preference"), path,
                           &p->added_preferred[i].term, err, errlen) != 0) {
                return -1;
            }
        }
        p->n_added_preferred = (uint32_t)n;
    }
    return 0;
}

static void na_destroy(void *priv)
{
    struct na_priv *p = priv;
    if (p == NULL) {
        return;
    }
    cs_arena_destroy(&p->arena);
    cs_free(p);
}

static int na_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    struct na_priv *p = cs_calloc(1, sizeof(*p));
    cs_arena_init(&p->arena, 4096);
    const json_t *aff = in && in->args ? json_object_get(in->args, "addedAffinity") : NULL;
    if (aff != NULL && !json_is_null(aff) && parse_added(p, aff, err, errlen) != 0) {
        na_destroy(p);
        *priv = NULL;
        return -1;
    }
    *priv = p;
    return 0;
}

const struct cs_plugin cs_plugin_nodeaffinity = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = "NodeAffinity",
    .events = CS_EV_NODE_ADD | CS_EV_NODE_UPDATE | CS_EV_POD_UPDATE,
    .flags = CS_PLUGIN_NODE_LOCAL,
    .init = na_init,
    .destroy = na_destroy,
    .pre_filter = na_pre_filter,
    .filter = na_filter,
    .pre_score = na_pre_score,
    .score = na_score,
    .normalize_score = na_normalize,
};
