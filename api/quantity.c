/*
 * Quantity parsing and formatting.
 *
 * Design: a quantity's magnitude is held exactly as a count of nano-units. With the 2^63-1 unit
 * cap that is below 2^93, so unsigned 128-bit arithmetic is exact everywhere. Parsing collects
 * the significant digits into a 128-bit integer D and a power of ten e such that the value in
 * nano-units is D * 10^e * 2^b (b from a binary suffix). Digits beyond 29 significant ones are
 * only remembered as "something non-zero was dropped" (sticky), which is exact: once D holds 29
 * digits, either the dropped digits sit below 1n (and only make us round up) or the value is far
 * above the cap. Multiplying by 2^b first and dividing by 10^-e last keeps the one rounding step
 * (ceil) exact. Formatting follows the canonical rules of k8s-api.md §8.
 */
#include "api/quantity.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef unsigned __int128 u128_t;

#define NANO 1000000000ull
/* Cap: (2^63-1) units in nano-units. */
#define MAX_NANOS ((u128_t)INT64_MAX * NANO)
/* D keeps accumulating digits while below this (29 significant digits fit). */
#define D_LIMIT ((u128_t)10000000000000000000ull * 1000000000ull)

static u128_t to_nanos(const struct cs_quantity *q)
{
    return (u128_t)q->whole * NANO + q->nanos;
}

static void set_nanos(struct cs_quantity *q, u128_t n, bool neg, enum cs_quantity_format f)
{
    if (n > MAX_NANOS)
        n = MAX_NANOS;
    q->whole = (uint64_t)(n / NANO);
    q->nanos = (uint32_t)(n % NANO);
    q->neg = neg && n != 0;
    q->format = f;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Suffix -> (decimal exponent, binary exponent, format). Returns -1 when not a suffix. */
static int parse_suffix(const char *p, const char *end, int *dexp, int *bexp,
                        enum cs_quantity_format *f)
{
    static const char dec_chars[] = "num kMGTPE";
    static const char bin_chars[] = "KMGTPE";
    size_t len = (size_t)(end - p);

    *dexp = 0;
    *bexp = 0;
    *f = CS_QF_DECIMAL_SI;
    if (len == 0)
        return 0;
    if (len == 1 && p[0] != ' ') {
        const char *c = memchr(dec_chars, p[0], sizeof(dec_chars) - 1);
        if (c == NULL)
            return -1;
        *dexp = 3 * (int)(c - dec_chars) - 9;
        return 0;
    }
    if (len == 2 && p[1] == 'i') {
        const char *c = memchr(bin_chars, p[0], sizeof(bin_chars) - 1);
        if (c == NULL)
            return -1;
        *bexp = 10 * (int)(c - bin_chars + 1);
        *f = CS_QF_BINARY_SI;
        return 0;
    }
    if (p[0] != 'e' && p[0] != 'E')
        return -1;
    p++;
    bool neg = false;
    if (*p == '+' || *p == '-') {
        neg = *p == '-';
        p++;
    }
    if (p == end)
        return -1;
    int x = 0;
    for (; p < end; p++) {
        if (!is_digit(*p))
            return -1;
        /* Beyond +-1000 the value is saturated or rounds to 1n either way. */
        if (x < 1000)
            x = x * 10 + (*p - '0');
    }
    *dexp = neg ? -x : x;
    *f = CS_QF_DECIMAL_EXPONENT;
    return 0;
}

int cs_quantity_parse_n(const char *s, size_t n, struct cs_quantity *q)
{
    const char *p = s, *end = s + n;
    bool neg = false;

    if (p < end && (*p == '+' || *p == '-')) {
        neg = *p == '-';
        p++;
    }
    const char *int_start = p;
    while (p < end && is_digit(*p))
        p++;
    const char *int_end = p;
    const char *frac_start = p, *frac_end = p;
    if (p < end && *p == '.') {
        frac_start = ++p;
        while (p < end && is_digit(*p))
            p++;
        frac_end = p;
    }
    if (int_end == int_start && frac_end == frac_start)
        return -1;

    int dexp, bexp;
    enum cs_quantity_format fmt;
    if (parse_suffix(p, end, &dexp, &bexp, &fmt) != 0)
        return -1;

    /* nano-units = D * 10^e * 2^bexp */
    u128_t d = 0;
    int e = dexp - (int)(frac_end - frac_start) + 9;
    bool sticky = false;
    for (const char *c = int_start; c < frac_end; c++) {
        if (c == int_end)
            continue;  /* the '.' */
        unsigned dig = (unsigned)(*c - '0');
        if (d < D_LIMIT) {
            d = d * 10 + dig;
        } else {
            e++;
            sticky |= dig != 0;
        }
    }

    u128_t result;
    bool saturated = false;
    if (d != 0 && bexp > 0) {
        /* Make room for the binary factor; dropping decimals only feeds the round-up. */
        while (d > (((u128_t)1 << 126) >> bexp)) {
            if (e >= 0) {
                saturated = true;
                break;
            }
            sticky |= d % 10 != 0;
            d /= 10;
            e++;
        }
        d <<= bexp;
    }
    if (saturated) {
        result = MAX_NANOS;
    } else if (e >= 0) {
        result = d;
        for (int i = 0; i < e && result != 0; i++) {
            if (result > MAX_NANOS) {
                break;
            }
            result *= 10;
        }
    } else if (-e > 38) {
        result = (d != 0 || sticky) ? 1 : 0;
    } else {
        u128_t pow = 1;
        for (int i = 0; i < -e; i++)
            pow *= 10;
        result = d / pow;
        if (d % pow != 0 || sticky)
            result++;
    }
    if (fmt == CS_QF_BINARY_SI && result != 0 && result < NANO)
        fmt = CS_QF_DECIMAL_SI;
    set_nanos(q, result, neg, fmt);
    return 0;
}

int cs_quantity_parse(const char *s, struct cs_quantity *q)
{
    return cs_quantity_parse_n(s, strlen(s), q);
}

/* The shortest %g rendering that reads back as the same double (what a JSON encoder wrote). */
static void shortest_double(double v, char *buf, size_t n)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

int cs_quantity_from_json(const json_t *v, struct cs_quantity *q, char *err, size_t errlen)
{
    char num[64];
    const char *s;
    int rc = -1;

    if (json_is_string(v)) {
        s = json_string_value(v);
        if (cs_quantity_parse_n(s, json_string_length(v), q) == 0 && strlen(s) == json_string_length(v))
            rc = 0;
        else
            snprintf(err, errlen, "invalid quantity \"%s\"", s);
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        rc = cs_quantity_parse(num, q);
        if (rc != 0)
            snprintf(err, errlen, "invalid quantity %s", num);
    } else if (json_is_real(v) && isfinite(json_real_value(v))) {
        shortest_double(json_real_value(v), num, sizeof(num));
        rc = cs_quantity_parse(num, q);
        if (rc != 0)
            snprintf(err, errlen, "invalid quantity %s", num);
    } else {
        snprintf(err, errlen, "quantity must be a string or a number");
    }
    return rc;
}

/* ceil(nanos / div) with sign, saturating to int64. */
static int64_t scaled(const struct cs_quantity *q, uint64_t div)
{
    u128_t n = to_nanos(q);
    u128_t v = n / div + (n % div != 0);
    if (v > (u128_t)INT64_MAX)
        return q->neg ? INT64_MIN : INT64_MAX;
    return q->neg ? -(int64_t)v : (int64_t)v;
}

int64_t cs_quantity_milli(const struct cs_quantity *q)
{
    return scaled(q, 1000000u);
}

int64_t cs_quantity_value(const struct cs_quantity *q)
{
    return scaled(q, NANO);
}

bool cs_quantity_is_zero(const struct cs_quantity *q)
{
    return q->whole == 0 && q->nanos == 0;
}

int cs_quantity_cmp(const struct cs_quantity *a, const struct cs_quantity *b)
{
    u128_t x = to_nanos(a), y = to_nanos(b);
    int sa = x == 0 ? 0 : (a->neg ? -1 : 1);
    int sb = y == 0 ? 0 : (b->neg ? -1 : 1);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (x == y)
        return 0;
    int mag = x < y ? -1 : 1;
    return sa < 0 ? -mag : mag;
}

void cs_quantity_from_milli(struct cs_quantity *q, int64_t milli)
{
    bool neg = milli < 0;
    u128_t m = neg ? (u128_t)(-(milli + 1)) + 1 : (u128_t)milli;
    set_nanos(q, m * 1000000u, neg, CS_QF_DECIMAL_SI);
}

void cs_quantity_from_value(struct cs_quantity *q, int64_t v, enum cs_quantity_format format)
{
    bool neg = v < 0;
    u128_t m = neg ? (u128_t)(-(v + 1)) + 1 : (u128_t)v;
    set_nanos(q, m * NANO, neg, format);
}

/* Decimal digits of a u128 into out (no NUL); returns the count. */
static size_t u128_digits(u128_t v, char *out)
{
    char tmp[40];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (unsigned)(v % 10));
        v /= 10;
    } while (v != 0);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

size_t cs_quantity_format(const struct cs_quantity *q, char *buf, size_t n)
{
    static const char *const dec_suffix[] = {"n", "u", "m", "", "k", "M", "G", "T", "P", "E"};
    static const char *const bin_suffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
    char out[CS_QUANTITY_STRLEN];
    size_t len = 0;
    u128_t mag = to_nanos(q);
    const char *suffix = "";
    char expbuf[16];

    if (mag == 0)
        return (size_t)snprintf(buf, n, "0");
    if (q->neg)
        out[len++] = '-';

    enum cs_quantity_format f = q->format;
    if (f == CS_QF_BINARY_SI && (mag < (u128_t)1024 * NANO || mag % NANO != 0))
        f = CS_QF_DECIMAL_SI;

    if (f == CS_QF_BINARY_SI) {
        u128_t units = mag / NANO;
        int k = 0;
        while (k < 6 && units % 1024 == 0) {
            units /= 1024;
            k++;
        }
        len += u128_digits(units, out + len);
        suffix = bin_suffix[k];
    } else {
        int x = -9;
        while (mag % 10 == 0) {
            mag /= 10;
            x++;
        }
        while (x % 3 != 0) {
            mag *= 10;
            x--;
        }
        if (f == CS_QF_DECIMAL_SI) {
            while (x > 18) {
                mag *= 1000;
                x -= 3;
            }
            suffix = dec_suffix[(x + 9) / 3];
        } else if (x != 0) {
            snprintf(expbuf, sizeof(expbuf), "e%d", x);
            suffix = expbuf;
        }
        len += u128_digits(mag, out + len);
    }
    out[len] = '\0';
    return (size_t)snprintf(buf, n, "%s%s", out, suffix);
}
