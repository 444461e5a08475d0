/*
 * klog text format writer. A line is assembled in a stack buffer and written with one fwrite
 * under the stream lock, so lines from different threads never interleave. String values are
 * quoted with Go's %q rules for the characters that matter (quote, backslash, control bytes).
 */
#include "pkg/util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int log_level;
static FILE *_Atomic log_stream;

void cs_log_set_v(int v)
{
    atomic_store(&log_level, v);
}

int cs_log_v(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

void cs_log_set_stream(FILE *f)
{
    atomic_store(&log_stream, f);
}

struct line {
    char buf[4096];
    size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
    if (l->len + n > sizeof(l->buf) - 2) {
        n = sizeof(l->buf) - 2 - l->len;
    }
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void putf(struct line *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof(l->buf) - 2 - l->len;
    int n = vsnprintf(l->buf + l->len, room, fmt, ap);
    va_end(ap);
    if (n > 0) {
        l->len += (size_t)n < room ? (size_t)n : room - 1;
    }
}

static void put_quoted(struct line *l, const char *s)
{
    put(l, "\"", 1);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            put(l, e, 2);
        } else if (c == '\n') {
            put(l, "\\n", 2);
        } else if (c == '\t') {
            put(l, "\\t", 2);
        } else if (c < 0x20) {
            putf(l, "\\x%02x", c);
        } else {
            put(l, (const char *)&c, 1);
        }
    }
    put(l, "\"", 1);
}

static void format_line(struct line *l, char sev, const char *file, int line, const char *msg,
                        const char *err, const struct cs_log_kv *kv, size_t nkv)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    localtime_r(&tv.tv_sec, &tm);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    l->len = 0;
    putf(l, "%c%02d%02d %02d:%02d:%02d.%06ld %7d %s:%d] ", sev, tm.tm_mon + 1, tm.tm_mday,
         tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec, (int)getpid(), base, line);
    put_quoted(l, msg);
    if (err) {
        put(l, " err=", 5);
        put_quoted(l, err);
    }
    for (size_t i = 0; i < nkv; i++) {
        putf(l, " %s=", kv[i].key ? kv[i].key : "?");
        switch (kv[i].type) {
        case CS_LOG_INT:
            putf(l, "%lld", kv[i].i);
            break;
        case CS_LOG_DBL:
            putf(l, "%g", kv[i].d);
            break;
        default:
            put_quoted(l, kv[i].s ? kv[i].s : "");
            break;
        }
    }
    l->buf[l->len++] = '\n';
}

void cs_log_emit(char sev, const char *file, int line, const char *msg, const char *err,
                 const struct cs_log_kv *kv, size_t nkv)
{
    struct line l;
    format_line(&l, sev, file, line, msg, err, kv, nkv);
    FILE *f = atomic_load(&log_stream);
    if (f == NULL) {
        f = stderr;
    }
    flockfile(f);
    fwrite(l.buf, 1, l.len, f);
    fflush(f);
    funlockfile(f);
}

void cs_log_fatal(const char *file, int line, const char *msg, const struct cs_log_kv *kv,
                  size_t nkv)
{
    cs_log_emit('F', file, line, msg, NULL, kv, nkv);
    exit(1);
}
