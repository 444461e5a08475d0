#ifndef CS_PKG_UTIL_TIMEUTIL_H
#define CS_PKG_UTIL_TIMEUTIL_H
/* Clocks and Kubernetes time formats. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in nanoseconds (for durations, timers, backoff). */
int64_t cs_mono_ns(void);
/* Wall clock in nanoseconds since the epoch. */
int64_t cs_wall_ns(void);
/* Sleep ns nanoseconds (a signal may end it early). */
void cs_sleep_ns(int64_t ns);
/* RFC 3339 in UTC of sec seconds plus nanos nanoseconds since the epoch (nanos may lie outside
 * [0, 1e9): it is carried into the seconds, as Go does), as Go's time.Time marshals:
 * "2006-01-02T15:04:05Z", or with micro "2006-01-02T15:04:05.000000Z"; any year (at least 4
 * digits, a sign when negative). Truncated to fit buf. No libc time calls (hot in decoders). */
void cs_fmt_rfc3339(int64_t sec, int64_t nanos, bool micro, char *buf, size_t n);
/* RFC 3339 in UTC, "2006-01-02T15:04:05Z" (metav1.Time) into buf (>= 21 bytes). */
void cs_fmt_time(int64_t wall_ns, char *buf, size_t n);
/* RFC 3339 with microseconds, "2006-01-02T15:04:05.000000Z" (metav1.MicroTime), buf >= 28. */
void cs_fmt_microtime(int64_t wall_ns, char *buf, size_t n);
/* Parse RFC 3339 (with optional fraction and offset); returns 0 and sets *wall_ns, or -1. */
int cs_parse_time(const char *s, int64_t *wall_ns);

#endif
