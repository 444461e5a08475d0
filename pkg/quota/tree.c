/*
 * Quota trees: parsing and validation of an ElasticQuotaTree's spec.root (and of flat
 * ElasticQuota objects, seen as a one-level tree). Validation is all-or-nothing: the first
 * broken rule is reported with the nodes it names, and the caller keeps its previous tree.
 *
 * Rules (ack-features.md 2.2): quantities valid and not negative; every node named, names
 * unique; min <= max per node and resource; the children's mins sum to at most the parent's
 * min; namespaces only on leaves, each namespace in at most one leaf; depth at most
 * CS_QUOTA_MAX_DEPTH; at most CS_QUOTA_MAX_DIMS resource names.
 */
#include <stdio.h>
#include <string.h>

#include "api/quantity.h"
#include "pkg/quota/quota.h"
#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"

struct parser {
    struct cs_quota_tree *t;
    struct cs_resource_names *res;
    uint32_t cap;
    struct cs_map names;           /* name -> index + 1 */
    char *err;
    size_t errlen;
};

static bool charged_name(const char *name)
{
    return strncmp(name, "kube-queue/", 11) != 0;
}

static int dim_of(struct parser *p, const char *name)
{
    struct cs_quota_tree *t = p->t;
    for (uint32_t i = 0; i < t->n_dims; i++) {
        if (strcmp(t->dim[i], name) == 0) {
            return (int)i;
        }
    }
    if (t->n_dims == CS_QUOTA_MAX_DIMS) {
        snprintf(p->err, p->errlen, "resources: more than %d resource names in the tree",
                 CS_QUOTA_MAX_DIMS);
        return -1;
    }
    t->dim[t->n_dims] = cs_strdup(name);
    t->dim_slot[t->n_dims] = p->res ? cs_resource_slot(p->res, name) : -1;
    return (int)t->n_dims++;
}

/* Collect the resource names of a ResourceList first, so every node has every dimension. */
static int collect_dims(struct parser *p, const json_t *node, uint32_t depth)
{
    if (!json_is_object(node)) {
        return 0;
    }
    if (depth > CS_QUOTA_MAX_DEPTH) {
        snprintf(p->err, p->errlen, "depth: the tree is deeper than %d levels", CS_QUOTA_MAX_DEPTH);
        return -1;
    }
    static const char *const lists[] = { "min", "max" };
    for (size_t l = 0; l < 2; l++) {
        const json_t *rl = json_object_get(node, lists[l]);
        const char *k;
        const json_t *v;
        if (!json_is_object(rl)) {
            continue;
        }
        json_object_foreach((json_t *)rl, k, v) {
            if (charged_name(k) && dim_of(p, k) < 0) {
                return -1;
            }
        }
    }
    const json_t *ch = json_object_get(node, "children");
    size_t i;
    const json_t *c;
    json_array_foreach(ch, i, c) {
        if (collect_dims(p, c, depth + 1) != 0) {
            return -1;
        }
    }
    return 0;
}

static int parse_list(struct parser *p, const json_t *rl, const char *qname, const char *field,
                      int64_t *out, int64_t dflt, uint32_t *declared)
{
    for (uint32_t d = 0; d < CS_QUOTA_MAX_DIMS; d++) {
        out[d] = dflt;
    }
    if (rl == NULL || json_is_null(rl)) {
        return 0;
    }
    if (!json_is_object(rl)) {
        snprintf(p->err, p->errlen, "quantities: quota %s %s is not a resource list", qname,
                 field);
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)rl, k, v) {
        struct cs_quantity q;
        char e[128];
        if (cs_quantity_from_json(v, &q, e, sizeof(e)) != 0) {
            snprintf(p->err, p->errlen, "quantities: quota %s %s %s: %s", qname, field, k, e);
            return -1;
        }
        if (q.neg) {
            snprintf(p->err, p->errlen, "quantities: quota %s %s %s is negative", qname, field, k);
            return -1;
        }
        if (!charged_name(k)) {
            continue;
        }
        int d = dim_of(p, k);
        if (d < 0) {
            return -1;
        }
        out[d] = strcmp(k, "cpu") == 0 ? cs_quantity_milli(&q) : cs_quantity_value(&q);
        *declared |= 1u << d;
    }
    return 0;
}

static int parse_node(struct parser *p, const json_t *obj, int32_t parent, uint32_t depth,
                      const char *where)
{
    if (!json_is_object(obj)) {
        snprintf(p->err, p->errlen, "names: %s is not an object", where);
        return -1;
    }
    const char *name = json_string_value(json_object_get(obj, "name"));
    if (name == NULL || name[0] == '\0') {
        snprintf(p->err, p->errlen, "names: %s has no name", where);
        return -1;
    }
    if (cs_map_get(&p->names, name)) {
        snprintf(p->err, p->errlen, "unique-names: quota name %s appears more than once", name);
        return -1;
    }
    struct cs_quota_tree *t = p->t;
    if (t->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        t->nodes = cs_realloc(t->nodes, sizeof(*t->nodes) * p->cap);
    }
    int32_t idx = (int32_t)t->n++;
    struct cs_quota_node *q = &t->nodes[idx];
    memset(q, 0, sizeof(*q));
    q->name = cs_strdup(name);
    q->parent = parent;
    q->depth = depth;
    cs_map_put(&p->names, q->name, (void *)(intptr_t)(idx + 1));
    if (parse_list(p, json_object_get(obj, "min"), name, "min", q->min, 0, &q->declared) != 0 ||
        parse_list(p, json_object_get(obj, "max"), name, "max", q->max, CS_QUOTA_UNLIMITED,
                   &q->declared) != 0) {
        return -1;
    }
    const json_t *attrs = json_object_get(obj, "attributes");
    if (json_is_object(attrs)) {
        t->nodes[idx].attributes = json_incref((json_t *)attrs);
    }
    const json_t *nss = json_object_get(obj, "namespaces");
    if (nss && !json_is_null(nss) && !json_is_array(nss)) {
        snprintf(p->err, p->errlen, "namespaces: quota %s namespaces is not a list", name);
        return -1;
    }
    size_t n_ns = json_array_size(nss);
    if (n_ns) {
        t->nodes[idx].namespaces = cs_calloc(n_ns, sizeof(char *));
        for (size_t i = 0; i < n_ns; i++) {
            const char *ns = json_string_value(json_array_get(nss, i));
            if (ns == NULL || ns[0] == '\0') {
                snprintf(p->err, p->errlen, "namespaces: quota %s namespace %zu is not a name",
                         name, i);
                return -1;
            }
            t->nodes[idx].namespaces[t->nodes[idx].n_namespaces++] = cs_strdup(ns);
        }
    }
    const json_t *ch = json_object_get(obj, "children");
    if (ch && !json_is_null(ch) && !json_is_array(ch)) {
        snprintf(p->err, p->errlen, "children: quota %s children is not a list", name);
        return -1;
    }
    size_t n_ch = json_array_size(ch);
    if (n_ch && n_ns) {
        snprintf(p->err, p->errlen,
                 "namespaces-on-leaves: quota %s has children and namespaces; only leaves "
                 "carry namespaces", name);
        return -1;
    }
    if (n_ch) {
        int32_t *kids = cs_calloc(n_ch, sizeof(*kids));
        for (size_t i = 0; i < n_ch; i++) {
            char w[300];
            snprintf(w, sizeof(w), "child %zu of quota %s", i, name);
            int32_t k = (int32_t)p->t->n;
            if (parse_node(p, json_array_get(ch, i), idx, depth + 1, w) != 0) {
                cs_free(kids);
                return -1;
            }
            kids[i] = k;
        }
        p->t->nodes[idx].children = kids;
        p->t->nodes[idx].n_children = (uint32_t)n_ch;
    }
    return 0;
}

static int validate(struct parser *p)
{
    struct cs_quota_tree *t = p->t;
    char a[CS_QUANTITY_STRLEN], b[CS_QUANTITY_STRLEN];
    for (uint32_t i = 0; i < t->n; i++) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t d = 0; d < t->n_dims; d++) {
            if (q->max[d] != CS_QUOTA_UNLIMITED && q->min[d] > q->max[d]) {
                cs_quota_format(t, d, q->min[d], a, sizeof(a));
                cs_quota_format(t, d, q->max[d], b, sizeof(b));
                snprintf(p->err, p->errlen, "min<=max: quota %s min %s %s > max %s", q->name,
                         t->dim[d], a, b);
                return -1;
            }
        }
    }
    for (uint32_t i = 0; i < t->n; i++) {
        const struct cs_quota_node *q = &t->nodes[i];
        if (q->n_children == 0) {
            continue;
        }
        for (uint32_t d = 0; d < t->n_dims; d++) {
            int64_t sum = 0;
            for (uint32_t k = 0; k < q->n_children; k++) {
                int64_t m = t->nodes[q->children[k]].min[d];
                sum = sum > INT64_MAX - m ? INT64_MAX : sum + m;
            }
            if (sum > q->min[d]) {
                struct cs_buf kids;
                cs_buf_init(&kids);
                for (uint32_t k = 0; k < q->n_children; k++) {
                    const struct cs_quota_node *c = &t->nodes[q->children[k]];
                    cs_quota_format(t, d, c->min[d], a, sizeof(a));
                    cs_buf_printf(&kids, "%s%s %s", k ? ", " : "", c->name, a);
                }
                cs_quota_format(t, d, sum, a, sizeof(a));
                cs_quota_format(t, d, q->min[d], b, sizeof(b));
                snprintf(p->err, p->errlen,
                         "children-min: the children of quota %s ask min %s %s > its min %s "
                         "(%s)", q->name, t->dim[d], a, b, kids.data ? kids.data : "");
                cs_buf_free(&kids);
                return -1;
            }
        }
    }
    for (uint32_t i = 0; i < t->n; i++) {
        const struct cs_quota_node *q = &t->nodes[i];
        for (uint32_t k = 0; k < q->n_namespaces; k++) {
            intptr_t prev = (intptr_t)cs_map_get(&t->ns_leaf, q->namespaces[k]);
            if (prev) {
                snprintf(p->err, p->errlen,
                         "namespace-in-one-leaf: namespace %s is in quota %s and quota %s",
                         q->namespaces[k], t->nodes[prev - 1].name, q->name);
                return -1;
            }
            cs_map_put(&t->ns_leaf, q->namespaces[k], (void *)(intptr_t)(i + 1));
        }
    }
    return 0;
}

static struct cs_quota_tree *tree_new(void)
{
    struct cs_quota_tree *t = cs_calloc(1, sizeof(*t));
    cs_map_init(&t->ns_leaf);
    return t;
}

int cs_quota_tree_parse(const json_t *obj, struct cs_resource_names *res,
                        struct cs_quota_tree **out, char *err, size_t errlen)
{
    *out = NULL;
    const json_t *md = json_object_get(obj, "metadata");
    const json_t *root = json_object_get(json_object_get(obj, "spec"), "root");
    struct parser p = { .t = tree_new(), .res = res, .err = err, .errlen = errlen };
    cs_map_init(&p.names);
    char src[512];
    snprintf(src, sizeof(src), "%s/%s",
             json_string_value(json_object_get(md, "namespace")) ?: "",
             json_string_value(json_object_get(md, "name")) ?: "");
    p.t->source = cs_strdup(src);
    p.t->resource_version =
        cs_strdup(json_string_value(json_object_get(md, "resourceVersion")) ?: "");
    int rc = -1;
    if (!json_is_object(root)) {
        snprintf(err, errlen, "root: spec.root is missing or not an object");
    } else if (collect_dims(&p, root, 0) == 0 && parse_node(&p, root, -1, 0, "spec.root") == 0 &&
               validate(&p) == 0) {
        rc = 0;
    }
    cs_map_destroy(&p.names);
    if (rc != 0) {
        cs_quota_tree_free(p.t);
        return -1;
    }
    *out = p.t;
    return 0;
}

struct cs_quota_tree *cs_quota_tree_from_flat(const json_t *const *objs, size_t n,
                                              struct cs_resource_names *res, char *errs,
                                              size_t errlen)
{
    /* Build the equivalent tree document, then parse it like any tree: one validation path.
     * Objects are checked one by one first so that one bad object does not hide the others. */
    json_t *children = json_array();
    json_t *rmin = json_object();
    struct cs_buf eb;
    cs_buf_init(&eb);
    for (size_t i = 0; i < n; i++) {
        const json_t *md = json_object_get(objs[i], "metadata");
        const json_t *spec = json_object_get(objs[i], "spec");
        const char *ns = json_string_value(json_object_get(md, "namespace"));
        const char *name = json_string_value(json_object_get(md, "name"));
        if (ns == NULL || name == NULL) {
            continue;
        }
        char leaf[512];
        snprintf(leaf, sizeof(leaf), "%s/%s", ns, name);
        json_t *node = json_pack("{s:s, s:[s]}", "name", leaf, "namespaces", ns);
        if (json_object_get(spec, "min")) {
            json_object_set(node, "min", json_object_get(spec, "min"));
        }
        if (json_object_get(spec, "max")) {
            json_object_set(node, "max", json_object_get(spec, "max"));
        }
        /* Validate alone (as a root of its own). */
        json_t *one = json_pack("{s:{s:O}}", "spec", "root", node);
        struct cs_quota_tree *t1 = NULL;
        char e[512];
        if (cs_quota_tree_parse(one, res, &t1, e, sizeof(e)) != 0) {
            cs_buf_printf(&eb, "%sElasticQuota %s: %s", eb.len ? "\n" : "", leaf, e);
            json_decref(one);
            json_decref(node);
            continue;
        }
        bool dup = false;
        size_t k;
        const json_t *c;
        json_array_foreach(children, k, c) {
            const char *cns = json_string_value(json_array_get(json_object_get(c, "namespaces"), 0));
            dup = dup || (cns && strcmp(cns, ns) == 0);
        }
        if (dup) {
            cs_buf_printf(&eb, "%sElasticQuota %s: namespace-in-one-leaf: namespace %s has more "
                               "than one ElasticQuota; this one is ignored",
                          eb.len ? "\n" : "", leaf, ns);
        } else {
            for (uint32_t d = 0; d < t1->n_dims; d++) {
                if (json_object_get(json_object_get(spec, "min"), t1->dim[d]) == NULL) {
                    continue;      /* only declared guarantees make the budget */
                }
                int64_t v = t1->nodes[0].min[d];
                json_t *old = json_object_get(rmin, t1->dim[d]);
                int64_t sum = (old ? json_integer_value(old) : 0) + v;
                json_object_set_new(rmin, t1->dim[d], json_integer(sum));
            }
            json_array_append(children, node);
        }
        cs_quota_tree_free(t1);
        json_decref(one);
        json_decref(node);
    }
    snprintf(errs, errlen, "%s", eb.data ? eb.data : "");
    cs_buf_free(&eb);
    struct cs_quota_tree *t = NULL;
    if (json_array_size(children)) {
        /* cpu sums are in millicores: write them back as "<n>m". */
        json_t *rq = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(rmin, k, v) {
            char q[64];
            snprintf(q, sizeof(q), "%lld%s", (long long)json_integer_value(v),
                     strcmp(k, "cpu") == 0 ? "m" : "");
            json_object_set_new(rq, k, json_string(q));
        }
        json_t *doc = json_pack("{s:{s:s}, s:{s:{s:s, s:O, s:O, s:O}}}", "metadata", "name",
                                "ElasticQuota", "spec", "root", "name", "root", "min", rq, "max",
                                rq, "children", children);
        char e[512];
        if (cs_quota_tree_parse(doc, res, &t, e, sizeof(e)) != 0) {
            size_t l = strlen(errs);
            snprintf(errs + l, errlen - l, "%sElasticQuota: %s", l ? "\n" : "", e);
            t = NULL;
        } else {
            cs_free(t->source);
            t->source = cs_strdup("ElasticQuota");
        }
        json_decref(doc);
        json_decref(rq);
    }
    json_decref(rmin);
    json_decref(children);
    return t;
}

void cs_quota_tree_free(struct cs_quota_tree *t)
{
    if (t == NULL) {
        return;
    }
    for (uint32_t i = 0; i < t->n; i++) {
        struct cs_quota_node *q = &t->nodes[i];
        cs_free(q->name);
        cs_free(q->children);
        for (uint32_t k = 0; k < q->n_namespaces; k++) {
            cs_free(q->namespaces[k]);
        }
        cs_free(q->namespaces);
        json_decref(q->attributes);
    }
    for (uint32_t d = 0; d < t->n_dims; d++) {
        cs_free(t->dim[d]);
    }
    cs_map_destroy(&t->ns_leaf);
    cs_free(t->nodes);
    cs_free(t->source);
    cs_free(t->resource_version);
    cs_free(t);
}

static int64_t lim_of(const struct cs_quota_tree *t, const struct cs_quota_node *q,
                      const char *dim, bool max)
{
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (strcmp(t->dim[d], dim) == 0) {
            return max ? q->max[d] : q->min[d];
        }
    }
    return max ? CS_QUOTA_UNLIMITED : 0;
}

bool cs_quota_tree_same(const struct cs_quota_tree *a, const struct cs_quota_tree *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    if (a->n != b->n || a->n_dims != b->n_dims) {
        return false;
    }
    for (uint32_t i = 0; i < a->n; i++) {
        const struct cs_quota_node *x = &a->nodes[i], *y = &b->nodes[i];
        bool attrs_same = (x->attributes == NULL && y->attributes == NULL) ||
                          (x->attributes && y->attributes &&
                           json_equal(x->attributes, y->attributes));
        if (!attrs_same || strcmp(x->name, y->name) != 0 || x->parent != y->parent ||
            x->n_children != y->n_children || x->n_namespaces != y->n_namespaces) {
            return false;
        }
        for (uint32_t k = 0; k < x->n_namespaces; k++) {
            if (strcmp(x->namespaces[k], y->namespaces[k]) != 0) {
                return false;
            }
        }
        for (uint32_t d = 0; d < a->n_dims; d++) {
            if (x->min[d] != lim_of(b, y, a->dim[d], false) ||
                x->max[d] != lim_of(b, y, a->dim[d], true)) {
                return false;
            }
        }
    }
    return true;
}

int32_t cs_quota_tree_find(const struct cs_quota_tree *t, const char *name)
{
    for (uint32_t i = 0; t && i < t->n; i++) {
        if (strcmp(t->nodes[i].name, name) == 0) {
            return (int32_t)i;
        }
    }
    return -1;
}

void cs_quota_format(const struct cs_quota_tree *t, uint32_t dim, int64_t v, char *out, size_t n)
{
    const char *name = t && dim < t->n_dims ? t->dim[dim] : "";
    if (v == CS_QUOTA_UNLIMITED) {
        snprintf(out, n, "unlimited");
        return;
    }
    struct cs_quantity q;
    if (strcmp(name, "cpu") == 0) {
        cs_quantity_from_milli(&q, v);
    } else {
        bool bin = strcmp(name, "memory") == 0 || strcmp(name, "ephemeral-storage") == 0 ||
                   strncmp(name, "hugepages-", 10) == 0;
        cs_quantity_from_value(&q, v, bin ? CS_QF_BINARY_SI : CS_QF_DECIMAL_SI);
    }
    cs_quantity_format(&q, out, n);
}
