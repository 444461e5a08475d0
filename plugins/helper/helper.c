/*
 * Shared plugin helpers (see helper.h). Taint keys and toleration keys are interned, so the
 * pointer test settles most comparisons before strcmp runs.
 */
#include "plugins/helper/helper.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

bool cs_plugin_str_eq(const char *a, const char *b)
{
    if (a == b) {
        return true;
    }
    if (a == NULL) {
        return b[0] == '\0';
    }
    if (b == NULL) {
        return a[0] == '\0';
    }
    return strcmp(a, b) == 0;
}

static bool parse_i64(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end) {
        return false;
    }
    *out = (int64_t)v;
    return true;
}

bool cs_toleration_tolerates(const struct cs_toleration *t, const struct cs_taint *taint)
{
    if (t->effect != CS_EFFECT_NONE && t->effect != taint->effect) {
        return false;
    }
    if (t->key != NULL && t->key[0] != '\0' && !cs_plugin_str_eq(t->key, taint->key)) {
        return false;
    }
    if (t->op_exists) {
        return true;
    }
    if (t->op_compare) {
        /* Gt tolerates a taint whose value is greater than the toleration's, Lt one whose
         * value is smaller; both must be base-10 integers, else no match. */
        int64_t tv, nv;
        if (!parse_i64(t->value, &tv) || !parse_i64(taint->value, &nv)) {
            return false;
        }
        return t->op_compare == CS_TOL_GT ? nv > tv : nv < tv;
    }
    return cs_plugin_str_eq(t->value, taint->value);
}

bool cs_tolerations_tolerate(const struct cs_toleration *t, uint32_t n,
                             const struct cs_taint *taint)
{
    for (uint32_t i = 0; i < n; i++) {
        if (cs_toleration_tolerates(&t[i], taint)) {
            return true;
        }
    }
    return false;
}

void cs_default_normalize_score(int64_t max_priority, bool reverse, struct cs_node_score *scores,
                                uint32_t n)
{
    int64_t max = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (scores[i].score > max) {
            max = scores[i].score;
        }
    }
    if (max == 0) {
        if (reverse) {
            for (uint32_t i = 0; i < n; i++) {
                scores[i].score = max_priority;
            }
        }
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t s = max_priority * scores[i].score / max;
        scores[i].score = reverse ? max_priority - s : s;
    }
}
