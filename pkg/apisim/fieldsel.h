#ifndef CS_PKG_APISIM_FIELDSEL_H
#define CS_PKG_APISIM_FIELDSEL_H
/*
 * Field selectors as the apiserver accepts them: `f=v`, `f==v`, `f!=v`, joined by commas (AND),
 * values may be empty and may escape `\`, `,` and `=` with a backslash. Which fields a kind
 * supports follows the real server: metadata.name/metadata.namespace everywhere, plus the
 * pod, node, event and namespace fields listed in fieldsel.c; anything else is rejected with
 * `field label not supported: <f>`.
 *
 * Ownership: a parsed selector owns its strings (cs_apisim_fieldsel_free).
 * Thread context: none (pure functions).
 */
#include <jansson.h>
#include <stddef.h>

struct cs_apisim_fieldreq {
    char *field;
    char *value;
    int neg;  /* != */
};

struct cs_apisim_fieldsel {
    struct cs_apisim_fieldreq *reqs;
    size_t n;
};

/* Parse text for objects of resource (group "" core, resource plural). Returns 0, or -1 with
 * err filled ("field label not supported: x" or a syntax message). */
int cs_apisim_fieldsel_parse(const char *text, const char *group, const char *resource,
                             struct cs_apisim_fieldsel *out, char *err, size_t errlen);
/* 1 when obj (stored form) satisfies every requirement. An empty selector matches all. */
int cs_apisim_fieldsel_match(const struct cs_apisim_fieldsel *fs, const json_t *obj);
void cs_apisim_fieldsel_free(struct cs_apisim_fieldsel *fs);

#endif
