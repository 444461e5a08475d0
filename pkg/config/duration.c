/*
 * Go duration parsing and printing. A duration is an optional sign followed by one or more
 * <decimal number><unit> terms; the bare string "0" is also accepted. Whole parts are summed in
 * unsigned 64-bit nanoseconds with overflow checks; a fractional part contributes
 * floor(fraction * unit) using at most 18 fractional digits, as Go does.
 */
#include "pkg/config/duration.h"

#include <stdio.h>
#include <string.h>

#define NS_PER_US 1000ULL
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define NS_PER_M (60ULL * NS_PER_S)
#define NS_PER_H (60ULL * NS_PER_M)

struct dur_unit {
    const char *name;
    unsigned long long ns;
};

/* Longer names first so "ms" is not read as "m" followed by "s". */
static const struct dur_unit dur_units[] = {
    { "ns", 1ULL },           { "us", NS_PER_US },    { "\xc2\xb5s", NS_PER_US },
    { "\xce\xbcs", NS_PER_US }, { "ms", NS_PER_MS },  { "s", NS_PER_S },
    { "m", NS_PER_M },        { "h", NS_PER_H },
};

int cs_duration_parse(const char *s, int64_t *ns, char *err, size_t errlen)
{
    const char *orig = s;
    int neg = 0;
    unsigned long long total = 0;
    const unsigned long long limit = 1ULL << 63; /* |INT64_MIN| */

    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return 0;
    }
    if (*s == '\0') {
        snprintf(err, errlen, "invalid duration \"%s\"", orig);
        return -1;
    }
    while (*s != '\0') {
        unsigned long long whole = 0;
        int digits = 0, overflow = 0;
        while (*s >= '0' && *s <= '9') {
            unsigned d = (unsigned)(*s - '0');
            if (whole > (limit - d) / 10) {
                overflow = 1;
            } else {
                whole = whole * 10 + d;
            }
            digits++;
            s++;
        }
        unsigned long long frac = 0, scale = 1;
        int fdigits = 0;
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                if (scale < 1000000000000000000ULL) {
                    frac = frac * 10 + (unsigned)(*s - '0');
                    scale *= 10;
                }
                fdigits++;
                s++;
            }
        }
        if (digits == 0 && fdigits == 0) {
            snprintf(err, errlen, "invalid duration \"%s\"", orig);
            return -1;
        }
        const struct dur_unit *u = NULL;
        for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++) {
            size_t n = strlen(dur_units[i].name);
            if (strncmp(s, dur_units[i].name, n) == 0 && !(s[n] >= 'a' && s[n] <= 'z')) {
                u = &dur_units[i];
                s += n;
                break;
            }
        }
        if (u == NULL) {
            if (*s == '\0') {
                snprintf(err, errlen, "missing unit in duration \"%s\"", orig);
            } else {
                snprintf(err, errlen, "unknown unit in duration \"%s\"", orig);
            }
            return -1;
        }
        if (overflow || (whole > 0 && whole > limit / u->ns)) {
            goto too_big;
        }
        unsigned long long v = whole * u->ns;
        if (frac > 0) {
            /* frac/scale * unit without overflow: unit <= 3.6e12 and frac < 1e18. */
            long double f = (long double)frac * (long double)u->ns / (long double)scale;
            v += (unsigned long long)f;
        }
        if (v > limit - total) {
            goto too_big;
        }
        total += v;
    }
    if (!neg && total > limit - 1) {
        goto too_big;
    }
    *ns = neg ? (total == limit ? INT64_MIN : -(int64_t)total) : (int64_t)total;
    return 0;
too_big:
    snprintf(err, errlen, "duration \"%s\" is out of range", orig);
    return -1;
}

void cs_duration_format(int64_t ns, char *out, size_t outlen)
{
    unsigned long long u = ns < 0 ? (unsigned long long)(-(ns + 1)) + 1ULL : (unsigned long long)ns;
    const char *sign = ns < 0 ? "-" : "";
    if (u == 0) {
        snprintf(out, outlen, "0s");
    } else if (u < NS_PER_US) {
        snprintf(out, outlen, "%s%lluns", sign, u);
    } else if (u < NS_PER_MS) {
        snprintf(out, outlen, "%s%llu.%03lluus", sign, u / NS_PER_US, u % NS_PER_US);
    } else if (u < NS_PER_S) {
        snprintf(out, outlen, "%s%llu.%06llums", sign, u / NS_PER_MS, u % NS_PER_MS);
    } else {
        unsigned long long h = u / NS_PER_H, m = (u % NS_PER_H) / NS_PER_M;
        unsigned long long sec = (u % NS_PER_M) / NS_PER_S, sub = u % NS_PER_S;
        char secs[48];
        if (sub != 0) {
            snprintf(secs, sizeof(secs), "%llu.%09llus", sec, sub);
        } else {
            snprintf(secs, sizeof(secs), "%llus", sec);
        }
        if (h > 0) {
            snprintf(out, outlen, "%s%lluh%llum%s", sign, h, m, secs);
        } else if (m > 0) {
            snprintf(out, outlen, "%s%llum%s", sign, m, secs);
        } else {
            snprintf(out, outlen, "%s%s", sign, secs);
        }
    }
    /* Trim trailing zeros of a fraction ("1.500000ms" -> "1.5ms", "2.000000ms" -> "2ms"). */
    char *dot = strchr(out, '.');
    if (dot != NULL) {
        char *unit = dot + 1;
        while (*unit >= '0' && *unit <= '9') {
            unit++;
        }
        char *end = unit;
        while (end > dot + 1 && end[-1] == '0') {
            end--;
        }
        if (end == dot + 1) {
            end = dot;
        }
        memmove(end, unit, strlen(unit) + 1);
    }
}
