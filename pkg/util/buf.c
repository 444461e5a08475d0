/* Growable buffer (see buf.h). Capacity doubles; the data is kept NUL-terminated. */
#include "pkg/util/buf.h"

#include <stdio.h>
#include <string.h>

#include "pkg/util/alloc.h"

void cs_buf_init(struct cs_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void cs_buf_free(struct cs_buf *b)
{
    cs_free(b->data);
    cs_buf_init(b);
}

void cs_buf_reset(struct cs_buf *b)
{
    b->len = 0;
    if (b->data) {
        b->data[0] = '\0';
    }
}

void cs_buf_reserve(struct cs_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap) {
        return;
    }
    size_t nc = b->cap ? b->cap * 2 : 256;
    while (nc < need) {
        nc *= 2;
    }
    b->data = cs_realloc(b->data, nc);
    b->cap = nc;
}

void cs_buf_append(struct cs_buf *b, const void *p, size_t n)
{
    cs_buf_reserve(b, n);
    if (n) {
        memcpy(b->data + b->len, p, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}

void cs_buf_puts(struct cs_buf *b, const char *s)
{
    cs_buf_append(b, s, strlen(s));
}

size_t cs_str_join(char *dst, size_t n, ...)
{
    va_list ap;
    va_start(ap, n);
    size_t len = 0;
    for (const char *s = va_arg(ap, const char *); s; s = va_arg(ap, const char *)) {
        size_t k = strlen(s);
        if (len + 1 < n) {
            size_t room = n - 1 - len;
            memcpy(dst + len, s, k < room ? k : room);
        }
        len += k;
    }
    va_end(ap);
    if (n > 0) {
        dst[len < n ? len : n - 1] = '\0';
    }
    return len;
}

void cs_buf_putc(struct cs_buf *b, char c)
{
    cs_buf_append(b, &c, 1);
}

void cs_buf_vprintf(struct cs_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n <= 0) {
        return;
    }
    cs_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void cs_buf_printf(struct cs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cs_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void cs_buf_json_str(struct cs_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    cs_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            cs_buf_append(b, "\\\"", 2);
            break;
        case '\\':
            cs_buf_append(b, "\\\\", 2);
            break;
        case '\n':
            cs_buf_append(b, "\\n", 2);
            break;
        case '\r':
            cs_buf_append(b, "\\r", 2);
            break;
        case '\t':
            cs_buf_append(b, "\\t", 2);
            break;
        default:
            if (c < 0x20) {
                char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
                cs_buf_append(b, e, 6);
            } else {
                cs_buf_putc(b, (char)c);
            }
        }
    }
    cs_buf_putc(b, '"');
}

void cs_buf_url_escape(struct cs_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            cs_buf_putc(b, (char)c);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            cs_buf_append(b, e, 3);
        }
    }
}

void cs_buf_consume(struct cs_buf *b, size_t n)
{
    if (n >= b->len) {
        cs_buf_reset(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}

char *cs_buf_steal(struct cs_buf *b)
{
    char *d = b->data;
    if (d == NULL) {
        d = cs_strdup("");
    }
    cs_buf_init(b);
    return d;
}
