#ifndef CS_PKG_UTIL_SELECTOR_H
#define CS_PKG_UTIL_SELECTOR_H
/*
 * Label selectors: one compiled form for the three ways Kubernetes writes them.
 *
 *   (a) the string syntax of label queries, e.g. `a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j,n>3`;
 *   (b) metav1.LabelSelector JSON {matchLabels, matchExpressions[In|NotIn|Exists|DoesNotExist]};
 *   (c) a JSON array of core/v1 NodeSelectorRequirement {key, operator, values} with
 *       In|NotIn|Exists|DoesNotExist|Gt|Lt.
 *
 * A compiled selector is the AND of its requirements, sorted by key (stable), each with a sorted,
 * de-duplicated value set. Semantics:
 *   - a selector with no requirements (string "", LabelSelector `{}`, empty requirement array)
 *     matches every label set;
 *   - a NULL selector matches nothing (this is what a null/absent LabelSelector compiles to);
 *   - In/Equals/DoubleEquals need the key present with one of the values; NotIn/NotEquals match
 *     when the key is absent or its value is not listed; Gt/Lt need the key present with a value
 *     that parses as a base-10 int64 strictly greater/less than the requirement's number
 *     (a value that does not parse does not match).
 *
 * Memory: every constructor takes `struct cs_arena *a`. When a is non-NULL everything (the
 * selector, its requirements, copies of all strings) is allocated there and nothing is freed
 * individually, including on error. When a is NULL the selector owns a private arena and the
 * caller releases it with cs_selector_free. Selectors are immutable after construction, so one
 * selector may be matched from many threads at once; cs_selector_matches never allocates.
 *
 * Errors: constructors return 0, or -1 with *out = NULL and a message in err naming the
 * selector text or the JSON field path (the `path` argument prefixes it, e.g.
 * "spec.selector.matchExpressions[1].values: ...").
 */
#include <jansson.h>
#include <stddef.h>

#include "pkg/util/arena.h"
#include "pkg/util/buf.h"

/* One label. The object model (Pod/Node labels) stores arrays of these; strings are borrowed. */
struct cs_label {
    const char *key;
    const char *value;
};

enum cs_selector_op {
    CS_SEL_IN,
    CS_SEL_NOT_IN,
    CS_SEL_EXISTS,
    CS_SEL_DOES_NOT_EXIST,
    CS_SEL_GT,
    CS_SEL_LT,
    CS_SEL_EQUALS,        /* a=b */
    CS_SEL_DOUBLE_EQUALS, /* a==b */
    CS_SEL_NOT_EQUALS,    /* a!=b */
};

struct cs_selector_req {
    const char *key;
    enum cs_selector_op op;
    const char *const *values; /* sorted, unique; empty for Exists/DoesNotExist */
    size_t nvalues;
    long long num; /* Gt/Lt operand */
};

struct cs_selector {
    const struct cs_selector_req *reqs;
    size_t nreqs;
    struct cs_arena *own; /* private arena of a heap selector; NULL for arena selectors */
};

/* (a) Parse the string syntax. Keys must be qualified names ([prefix/]name), values label
 * values (<= 63 chars, alphanumerics with -_. inside, may be empty); Gt/Lt (`a>3`, `a<3`) take
 * one int64. Whitespace around tokens is ignored. */
int cs_selector_parse(const char *text, struct cs_arena *a, struct cs_selector **out, char *err,
                      size_t errlen);

/* (b) Compile a metav1.LabelSelector. A NULL pointer or JSON null yields *out = NULL (matches
 * nothing) and returns 0; `{}` matches everything. matchLabels entries become Equals
 * requirements and are ANDed with matchExpressions. In/NotIn need values; Exists/DoesNotExist
 * must have none. Unknown fields are ignored (API objects are decoded leniently). */
int cs_selector_from_label_selector(const json_t *j, const char *path, struct cs_arena *a,
                                    struct cs_selector **out, char *err, size_t errlen);

/* (c) Compile an array of NodeSelectorRequirement (e.g. one NodeSelectorTerm's
 * matchExpressions, or a PreferredSchedulingTerm's). NULL or JSON null is treated as an empty
 * array. Note: the empty result matches everything; a NodeSelectorTerm with no requirements
 * matches nothing in Kubernetes, which is the caller's rule to apply. */
int cs_selector_from_node_requirements(const json_t *arr, const char *path, struct cs_arena *a,
                                       struct cs_selector **out, char *err, size_t errlen);

/* Releases a heap selector (a == NULL at construction). No-op for NULL and for arena selectors. */
void cs_selector_free(struct cs_selector *sel);

/* 1 when sel matches the label set, else 0. Labels need not be sorted. NULL sel -> 0. */
int cs_selector_matches(const struct cs_selector *sel, const struct cs_label *labels, size_t n);

/* 1 when sel has no requirements (matches everything); 0 otherwise, including NULL. */
int cs_selector_is_empty(const struct cs_selector *sel);

/* Append the canonical string form (requirements sorted by key, values sorted, joined by ','),
 * which cs_selector_parse reads back to an equal selector. NULL and empty selectors append "". */
void cs_selector_to_string(const struct cs_selector *sel, struct cs_buf *b);

/* Validation helpers shared with the object model: 0 when valid, else -1 and a reason. */
int cs_selector_validate_key(const char *key, char *err, size_t errlen);
int cs_selector_validate_value(const char *value, char *err, size_t errlen);

#endif
