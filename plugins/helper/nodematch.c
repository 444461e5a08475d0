/*
 * Node selection rules of a pod against one node (contract: nodematch.h).
 */
#include "plugins/helper/nodematch.h"

#include <string.h>

#include "plugins/helper/helper.h"

static bool sel_has_reqs(const struct cs_selector *s)
{
    return s != NULL && s->nreqs > 0;
}

static bool term_is_empty(const struct cs_node_selector_term *t)
{
    return !sel_has_reqs(t->match_expressions) && !sel_has_reqs(t->match_fields);
}

static bool fields_match(const struct cs_selector *s, const char *node_name)
{
    for (size_t i = 0; i < s->nreqs; i++) {
        const struct cs_selector_req *r = &s->reqs[i];
        if (strcmp(r->key, CS_NODE_NAME_FIELD) != 0 || r->nvalues != 1) {
            return false;
        }
        bool eq = node_name != NULL && strcmp(r->values[0], node_name) == 0;
        if (r->op == CS_SEL_IN) {
            if (!eq) {
                return false;
            }
        } else if (r->op == CS_SEL_NOT_IN) {
            if (eq) {
                return false;
            }
        } else {
            return false;
        }
    }
    return true;
}

bool cs_node_term_matches(const struct cs_node_selector_term *t, const struct cs_node *node)
{
    if (t->invalid || term_is_empty(t)) {
        return false;
    }
    if (sel_has_reqs(t->match_expressions) &&
        !cs_selector_matches(t->match_expressions, node->labels, node->n_labels)) {
        return false;
    }
    if (sel_has_reqs(t->match_fields) && !fields_match(t->match_fields, node->name)) {
        return false;
    }
    return true;
}

bool cs_node_terms_match(const struct cs_node_selector_term *terms, uint32_t n,
                             const struct cs_node *node)
{
    for (uint32_t i = 0; i < n; i++) {
        if (cs_node_term_matches(&terms[i], node)) {
            return true;
        }
    }
    return false;
}

int64_t cs_node_preferred_score(const struct cs_preferred_term *terms, uint32_t n,
                               const struct cs_node *node)
{
    int64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (terms[i].weight != 0 && cs_node_term_matches(&terms[i].term, node)) {
            sum += terms[i].weight;
        }
    }
    return sum;
}

static const char *label_value(const struct cs_node *node, const char *key)
{
    for (uint32_t i = 0; i < node->n_labels; i++) {
        const char *k = node->labels[i].key;
        if (k == key || strcmp(k, key) == 0) {
            return node->labels[i].value ? node->labels[i].value : "";
        }
    }
    return NULL;
}

bool cs_pod_has_required_node_affinity(const struct cs_pod *pod)
{
    const struct cs_node_affinity *na = pod->node_affinity;
    return na != NULL && (na->has_required || na->n_required > 0);
}

bool cs_pod_required_node_match(const struct cs_pod *pod, const struct cs_node *node)
{
    for (uint32_t i = 0; i < pod->n_node_selector; i++) {
        const char *v = label_value(node, pod->node_selector[i].key);
        if (v == NULL || !cs_plugin_str_eq(v, pod->node_selector[i].value)) {
            return false;
        }
    }
    if (cs_pod_has_required_node_affinity(pod)) {
        const struct cs_node_affinity *na = pod->node_affinity;
        return cs_node_terms_match(na->required, na->n_required, node);
    }
    return true;
}
