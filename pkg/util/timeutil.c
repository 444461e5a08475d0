/* Clocks and RFC 3339 formatting/parsing for metav1.Time and MicroTime. */
#include "pkg/util/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t cs_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void cs_sleep_ns(int64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL) };
    nanosleep(&ts, NULL);
}

int64_t cs_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The civil date of a day count since 1970-01-01 (proleptic Gregorian; Hinnant's
 * days-to-civil, exact for every int64 day count this file can produce). */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;                                  /* [0, 146096] */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);           /* [0, 365] */
    int64_t mp = (5 * doy + 2) / 153;                                /* [0, 11], March first */
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, int64_t v, int width)
{
    char t[24];
    int k = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        t[k++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *p++ = '-';
    }
    for (int i = k; i < width; i++) {
        *p++ = '0';
    }
    while (k) {
        *p++ = t[--k];
    }
    return p;
}

void cs_fmt_rfc3339(int64_t sec, int64_t nanos, bool micro, char *buf, size_t n)
{
    if (n == 0) {
        return;
    }
    sec += nanos / 1000000000;         /* nanos outside [0, 1e9) move into sec, as in Go */
    nanos %= 1000000000;
    if (nanos < 0) {
        nanos += 1000000000;
        sec--;
    }
    int64_t days = sec / 86400, rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    int mo, d;
    civil_from_days(days, &y, &mo, &d);
    char t[48], *p = t;
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, mo, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, rem / 3600, 2);
    *p++ = ':';
    p = put_digits(p, rem / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, rem % 60, 2);
    if (micro) {
        *p++ = '.';
        p = put_digits(p, nanos / 1000, 6);
    }
    *p++ = 'Z';
    size_t len = (size_t)(p - t);
    if (len >= n) {
        len = n - 1;
    }
    memcpy(buf, t, len);
    buf[len] = '\0';
}

void cs_fmt_time(int64_t wall_ns, char *buf, size_t n)
{
    cs_fmt_rfc3339(0, wall_ns, false, buf, n);
}

void cs_fmt_microtime(int64_t wall_ns, char *buf, size_t n)
{
    cs_fmt_rfc3339(0, wall_ns, true, buf, n);
}

int cs_parse_time(const char *s, int64_t *wall_ns)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (p == NULL) {
        return -1;
    }
    int64_t frac = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (digits < 9) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits < 9) {
            frac *= 10;
            digits++;
        }
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) {
            return -1;
        }
        off = sign * (hh * 3600 + mm * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0') {
        return -1;
    }
    time_t t = timegm(&tm);
    *wall_ns = ((int64_t)t - off) * 1000000000LL + frac;
    return 0;
}
