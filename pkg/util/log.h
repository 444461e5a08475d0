#ifndef CS_PKG_UTIL_LOG_H
#define CS_PKG_UTIL_LOG_H
/*
 * klog text-format structured logging on stderr:
 *
 *   I1123 10:00:00.000000    1234 file.c:12] "Pod scheduled" pod="ns/p" node="n1" score=87
 *
 * Use CS_INFO_S / CS_WARN_S / CS_ERROR_S with CS_KV (string), CS_KVI (integer) and CS_KVF
 * (double) pairs. Verbosity: wrap chatty lines in `if (CS_V(4))`; the level is set once at start
 * from `-v=N` (cs_log_set_v). Logging is thread-safe; each line is written with one write(2).
 * The verbosity and output stream are process-wide settings, like klog's flags.
 */
#include <stdio.h>

enum cs_log_type { CS_LOG_STR = 1, CS_LOG_INT, CS_LOG_DBL };

struct cs_log_kv {
    const char *key;
    int type;
    const char *s;
    long long i;
    double d;
};

#define CS_KV(k, v)  ((struct cs_log_kv){ .key = (k), .type = CS_LOG_STR, .s = (v) })
#define CS_KVI(k, v) ((struct cs_log_kv){ .key = (k), .type = CS_LOG_INT, .i = (long long)(v) })
#define CS_KVF(k, v) ((struct cs_log_kv){ .key = (k), .type = CS_LOG_DBL, .d = (double)(v) })

/* Internal: a kv array with a leading empty slot so that zero pairs is legal. */
#define CS__KVS(...) \
    ((const struct cs_log_kv[]){ { 0 }, ##__VA_ARGS__ }) + 1, \
    (sizeof((const struct cs_log_kv[]){ { 0 }, ##__VA_ARGS__ }) / sizeof(struct cs_log_kv)) - 1

#define CS_INFO_S(msg, ...) cs_log_emit('I', __FILE__, __LINE__, (msg), NULL, CS__KVS(__VA_ARGS__))
#define CS_WARN_S(msg, ...) cs_log_emit('W', __FILE__, __LINE__, (msg), NULL, CS__KVS(__VA_ARGS__))
#define CS_ERROR_S(err, msg, ...) \
    cs_log_emit('E', __FILE__, __LINE__, (msg), (err), CS__KVS(__VA_ARGS__))
#define CS_FATAL_S(msg, ...) \
    cs_log_fatal(__FILE__, __LINE__, (msg), CS__KVS(__VA_ARGS__))

#define CS_V(n) (cs_log_v() >= (n))

void cs_log_set_v(int v);
int cs_log_v(void);
/* Redirect output (tests); NULL restores stderr. */
void cs_log_set_stream(FILE *f);

/* err may be NULL; otherwise it is logged as err="...". */
void cs_log_emit(char sev, const char *file, int line, const char *msg, const char *err,
                 const struct cs_log_kv *kv, size_t nkv);
__attribute__((noreturn)) void cs_log_fatal(const char *file, int line, const char *msg,
                                            const struct cs_log_kv *kv, size_t nkv);

#endif
