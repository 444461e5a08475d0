#ifndef CS_TEST_PKG_CLIENT_HTTPSRV_H
#define CS_TEST_PKG_CLIENT_HTTPSRV_H
/*
 * A tiny threaded HTTP/1.1 server for tests (header-only, static functions). Each connection
 * runs on its own thread; every request goes to the test's handler with the method, the
 * request target and the body. The handler writes the response with the helpers below.
 * Keep-alive is supported; a handler that streams returns 1 to close the connection after.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pkg/util/buf.h"

typedef int (*tsrv_handler)(int fd, const char *method, const char *target, const char *body,
                            void *arg);

struct tsrv {
    int lfd;
    int port;
    pthread_t th;
    int stop;
    tsrv_handler h;
    void *arg;
};

struct tsrv_conn {
    struct tsrv *s;
    int fd;
};

static void tsrv_send(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) {
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void tsrv_reply(int fd, int code, const char *body)
{
    char h[256];
    int n = snprintf(h, sizeof(h),
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     code, strlen(body));
    tsrv_send(fd, h, (size_t)n);
    tsrv_send(fd, body, strlen(body));
}

static void tsrv_stream_begin(int fd)
{
    const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n";
    tsrv_send(fd, h, strlen(h));
}

static void tsrv_chunk(int fd, const char *data)
{
    char h[32];
    int n = snprintf(h, sizeof(h), "%zx\r\n", strlen(data));
    tsrv_send(fd, h, (size_t)n);
    tsrv_send(fd, data, strlen(data));
    tsrv_send(fd, "\r\n", 2);
}

static void tsrv_stream_end(int fd)
{
    tsrv_send(fd, "0\r\n\r\n", 5);
}

/* Block until the peer closes (for streams the client must cancel). */
static void tsrv_wait_close(int fd)
{
    char c;
    while (recv(fd, &c, 1, 0) > 0) {
    }
}

static void *tsrv_conn_main(void *arg)
{
    struct tsrv_conn *cn = arg;
    int fd = cn->fd;
    struct cs_buf in;
    cs_buf_init(&in);
    char tmp[8192];
    for (;;) {
        char *end = in.data ? strstr(in.data, "\r\n\r\n") : NULL;
        if (!end) {
            ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
            if (r <= 0) {
                break;
            }
            cs_buf_append(&in, tmp, (size_t)r);
            continue;
        }
        size_t hlen = (size_t)(end - in.data) + 4;
        size_t blen = 0;
        const char *cl = strcasestr(in.data, "Content-Length:");
        if (cl && cl < end) {
            blen = strtoul(cl + 15, NULL, 10);
        }
        while (in.len < hlen + blen) {
            ssize_t r = recv(fd, tmp, sizeof(tmp), 0);
            if (r <= 0) {
                goto out;
            }
            cs_buf_append(&in, tmp, (size_t)r);
        }
        char method[16] = "", target[2048] = "";
        sscanf(in.data, "%15s %2047s", method, target);
        char *body = cs_strndup(in.data + hlen, blen);
        cs_buf_consume(&in, hlen + blen);
        int close_after = cn->s->h(fd, method, target, body, cn->s->arg);
        cs_free(body);
        if (close_after) {
            break;
        }
    }
out:
    cs_buf_free(&in);
    close(fd);
    cs_free(cn);
    return NULL;
}

static void *tsrv_accept_main(void *arg)
{
    struct tsrv *s = arg;
    for (;;) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0) {
            if (__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
                break;
            }
            continue;
        }
        struct tsrv_conn *cn = cs_malloc(sizeof(*cn));
        cn->s = s;
        cn->fd = fd;
        pthread_t t;
        pthread_create(&t, NULL, tsrv_conn_main, cn);
        pthread_detach(t);
    }
    return NULL;
}

static int tsrv_start(struct tsrv *s, tsrv_handler h, void *arg)
{
    memset(s, 0, sizeof(*s));
    s->h = h;
    s->arg = arg;
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s->lfd, 64) < 0) {
        return -1;
    }
    socklen_t al = sizeof(a);
    getsockname(s->lfd, (struct sockaddr *)&a, &al);
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->th, NULL, tsrv_accept_main, s) == 0 ? 0 : -1;
}

static void tsrv_stop(struct tsrv *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
    shutdown(s->lfd, SHUT_RDWR);
    close(s->lfd);
    pthread_join(s->th, NULL);
}

#endif
