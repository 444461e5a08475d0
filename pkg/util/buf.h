#ifndef CS_PKG_UTIL_BUF_H
#define CS_PKG_UTIL_BUF_H
/*
 * Growable byte buffer, always NUL-terminated. The buffer owns its memory; cs_buf_steal hands
 * it to the caller (who frees it with cs_free) and leaves the buffer empty.
 */
#include <stdarg.h>
#include <stddef.h>

struct cs_buf {
    char *data;
    size_t len;
    size_t cap;
};

void cs_buf_init(struct cs_buf *b);
void cs_buf_free(struct cs_buf *b);
void cs_buf_reset(struct cs_buf *b);
void cs_buf_reserve(struct cs_buf *b, size_t extra);
void cs_buf_append(struct cs_buf *b, const void *p, size_t n);
void cs_buf_puts(struct cs_buf *b, const char *s);
void cs_buf_putc(struct cs_buf *b, char c);
void cs_buf_printf(struct cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cs_buf_vprintf(struct cs_buf *b, const char *fmt, va_list ap);
/* Append s as a JSON string literal (with quotes and escapes). */
void cs_buf_json_str(struct cs_buf *b, const char *s);
/* Append s percent-encoded for a URL query value. */
void cs_buf_url_escape(struct cs_buf *b, const char *s);
/* Drop the first n bytes. */
void cs_buf_consume(struct cs_buf *b, size_t n);
char *cs_buf_steal(struct cs_buf *b);

/* The strings up to a NULL, concatenated into dst (n bytes; NUL-terminated and cut to fit when
 * n > 0). Returns the length of the whole concatenation as snprintf does (>= n: cut short).
 * For hot paths where snprintf("%s%s...") showed in profiles. */
size_t cs_str_join(char *dst, size_t n, ...) __attribute__((sentinel));

#endif
