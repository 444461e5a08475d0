#ifndef CS_PKG_CONFIG_DURATION_H
#define CS_PKG_CONFIG_DURATION_H
/*
 * Go duration strings (time.ParseDuration), as metav1.Duration fields carry them:
 * "15s", "1m30s", "500ms", "1.5h", "-2us", "0". Units: ns, us, µs, μs, ms, s, m, h.
 * Pure functions; any thread.
 */
#include <stddef.h>
#include <stdint.h>

/* Parse s into nanoseconds. Returns 0, or -1 with a reason in err for malformed input, a
 * missing unit, an unknown unit or overflow of int64 nanoseconds. */
int cs_duration_parse(const char *s, int64_t *ns, char *err, size_t errlen);

/* Append-free formatting into out (Go's Duration.String form, e.g. "1m30s", "500ms", "0s"). */
void cs_duration_format(int64_t ns, char *out, size_t outlen);

#endif
