#ifndef CS_API_QUANTITY_H
#define CS_API_QUANTITY_H
/*
 * Kubernetes resource.Quantity: exact fixed-point parsing, rounding and canonical formatting.
 *
 * Grammar (k8s-api.md §8):  [+-] number suffix
 *   number  = digits | digits "." digits | digits "." | "." digits   (at least one digit)
 *   suffix  = "" | n u m k M G T P E           (decimal SI)
 *           | Ki Mi Gi Ti Pi Ei                (binary SI)
 *           | (e|E) [+-] digits                (decimal exponent; "E" alone is exa)
 * Nothing else is accepted: no whitespace, no digit-less numbers ("." or "Gi"; upstream's
 * hand-written parser lets those through as zero, the OpenAPI pattern does not and neither do we).
 *
 * Value model, as the apiserver's parser behaves:
 *  - a non-zero value is rounded up (away from zero) to a multiple of 1n (1e-9): "0.1n" -> "1n".
 *    The upstream doc comment claims 3 decimals ("0.1m -> 1m"), but the parser keeps 1n
 *    precision, so "0.1m" stays 100u; what the scheduler sees, cs_quantity_milli("0.1m"), is 1.
 *  - the magnitude is capped at 2^63-1 units (the doc comment's limit; upstream enforces it for
 *    binary suffixes and saturates when converting to int64 anyway).
 *  - the suffix family is remembered (decimal SI, binary SI, decimal exponent) and used by the
 *    canonical form; a binary value below 1 in magnitude becomes decimal SI.
 *
 * A struct cs_quantity is a plain value: no allocation, copy freely.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum cs_quantity_format {
    CS_QF_DECIMAL_SI = 0,
    CS_QF_BINARY_SI,
    CS_QF_DECIMAL_EXPONENT,
};

struct cs_quantity {
    uint64_t whole;    /* integer part of the magnitude, <= INT64_MAX */
    uint32_t nanos;    /* fractional part of the magnitude in 1e-9 units, < 1e9 */
    bool neg;          /* false for zero */
    enum cs_quantity_format format;
};

/* Longest canonical string plus NUL: sign, 28 digits, two-letter suffix. */
#define CS_QUANTITY_STRLEN 48

/* Parse s (NUL-terminated). Returns 0, or -1 on any syntax error (q untouched). */
int cs_quantity_parse(const char *s, struct cs_quantity *q);
/* Parse exactly n bytes of s. */
int cs_quantity_parse_n(const char *s, size_t n, struct cs_quantity *q);
/* A JSON value: a string in the grammar above or a bare number (OpenAPI int-or-string).
 * Returns 0, or -1 with a message (without the field path) in err. */
int cs_quantity_from_json(const json_t *v, struct cs_quantity *q, char *err, size_t errlen);

/* MilliValue(): value x 1000 rounded up (away from zero), saturating at INT64_MAX/INT64_MIN. */
int64_t cs_quantity_milli(const struct cs_quantity *q);
/* Value(): rounded up (away from zero), saturating. */
int64_t cs_quantity_value(const struct cs_quantity *q);
bool cs_quantity_is_zero(const struct cs_quantity *q);
/* -1, 0, 1 comparing values (format ignored). */
int cs_quantity_cmp(const struct cs_quantity *a, const struct cs_quantity *b);

/* Build quantities from scheduler units. */
void cs_quantity_from_milli(struct cs_quantity *q, int64_t milli);
void cs_quantity_from_value(struct cs_quantity *q, int64_t v, enum cs_quantity_format format);

/* Canonical string into buf (truncated like snprintf); returns the full length. */
size_t cs_quantity_format(const struct cs_quantity *q, char *buf, size_t n);

#endif
