/* Specification of the informer's reflector behaviour against a scripted server: paginated
 * list with an expired continue token, watch from the list RV, bookmarks, duplicate events,
 * ERROR 410 -> relist with diff, HTTP 500 -> backoff and recovery; streaming lists
 * (sendInitialEvents) and the fallback to pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkg/client/client.h"
#include "pkg/informer/informer.h"
#include "pkg/util/alloc.h"
#include "test/pkg/client/httpsrv.h"

struct fake {
    pthread_mutex_t mu;
    int cont_calls;
    int watch_calls;
    char watch_target[8][1024];
};

#define POD(name, rv) "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"" name "\",\"uid\":\"u-" name \
                      "\",\"resourceVersion\":\"" rv "\"}}"
#define EV(type, name, rv) "{\"type\":\"" type "\",\"object\":{\"kind\":\"Pod\",\"metadata\":" \
                           "{\"namespace\":\"ns\",\"name\":\"" name "\",\"resourceVersion\":\"" rv \
                           "\"}}}\n"

/* A server with streaming lists for /api/v1/wlpods, and without them for /api/v1/oldpods
 * (refused with 422 as a server without the feature does; served by pages instead). */
static int wl_handler(int fd, const char *target, int n)
{
    int initial = strstr(target, "sendInitialEvents=true") != NULL;
    if (initial && n == 1) {
        tsrv_stream_begin(fd);
        tsrv_chunk(fd, EV("ADDED", "x", "3") EV("ADDED", "y", "4"));
        tsrv_chunk(fd, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\",\"metadata\":"
                       "{\"resourceVersion\":\"20\",\"annotations\":"
                       "{\"k8s.io/initial-events-end\":\"true\"}}}}\n");
        tsrv_chunk(fd, EV("MODIFIED", "x", "21"));
        tsrv_stream_end(fd);
        return 1;
    }
    tsrv_stream_begin(fd);
    if (!initial) {
        tsrv_chunk(fd, EV("DELETED", "y", "22"));
    }
    tsrv_wait_close(fd);
    return 1;
}

static int handler(int fd, const char *method, const char *target, const char *body, void *arg)
{
    (void)method;
    (void)body;
    struct fake *f = arg;
    pthread_mutex_lock(&f->mu);
    int is_watch = strstr(target, "watch=true") != NULL;
    int n = 0;
    if (is_watch) {
        n = ++f->watch_calls;
        if (n <= 8) {
            snprintf(f->watch_target[n - 1], sizeof(f->watch_target[0]), "%s", target);
        }
    }
    int relisted = f->watch_calls >= 2;
    int cont = strstr(target, "continue=p2") != NULL;
    int cont_n = cont ? ++f->cont_calls : 0;
    pthread_mutex_unlock(&f->mu);

    if (!strncmp(target, "/api/v1/wlpods?", 15)) {
        return wl_handler(fd, target, n);
    }
    if (!strncmp(target, "/api/v1/broken?", 15)) {
        tsrv_reply(fd, 500, "{\"kind\":\"Status\",\"code\":500}");
        return 0;
    }
    if (!strncmp(target, "/api/v1/slowpods?", 17)) {
        if (is_watch) {
            tsrv_stream_begin(fd);
            tsrv_wait_close(fd);
            return 1;
        }
        usleep(300 * 1000);
        tsrv_reply(fd, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},"
                            "\"items\":[" POD("a", "1") "," POD("b", "2") "," POD("c", "3") "]}");
        return 0;
    }
    if (!strncmp(target, "/api/v1/oldpods?", 16)) {
        if (strstr(target, "sendInitialEvents=true")) {
            tsrv_reply(fd, 422, "{\"kind\":\"Status\",\"code\":422,\"reason\":\"Invalid\"}");
        } else if (is_watch) {
            tsrv_stream_begin(fd);
            tsrv_chunk(fd, EV("MODIFIED", "o", "8"));
            tsrv_wait_close(fd);
            return 1;
        } else {
            tsrv_reply(fd, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"7\"},"
                                "\"items\":[" POD("o", "6") "]}");
        }
        return 0;
    }
    if (!strncmp(target, "/api/v1/pods?", 13) && !is_watch) {
        if (cont && cont_n == 1) {
            tsrv_reply(fd, 410, "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
                                "\"message\":\"continue token expired\"}");
        } else if (!relisted) {
            if (!cont) {
                tsrv_reply(fd, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\","
                                    "\"continue\":\"p2\"},\"items\":[" POD("a", "1") "," POD("b", "2")
                                    "]}");
            } else {
                tsrv_reply(fd, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},"
                                    "\"items\":[" POD("c", "3") "]}");
            }
        } else {
            if (!cont) {
                tsrv_reply(fd, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"12\","
                                    "\"continue\":\"p2\"},\"items\":[" POD("a", "6") "," POD("c", "10")
                                    "]}");
            } else {
                tsrv_reply(fd, 200, "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"12\"},"
                                    "\"items\":[" POD("e", "11") "]}");
            }
        }
        return 0;
    }
    if (!is_watch) {
        tsrv_reply(fd, 404, "{}");
        return 0;
    }
    switch (n) {
    case 1:
        tsrv_stream_begin(fd);
        tsrv_chunk(fd, EV("MODIFIED", "a", "6") EV("ADDED", "d", "7"));
        tsrv_chunk(fd, EV("DELETED", "b", "8") "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
                       "\"metadata\":{\"resourceVersion\":\"9\"}}}\n");
        tsrv_chunk(fd, EV("MODIFIED", "a", "6")); /* duplicate: ignored */
        /* garbage is reported, not fatal */
        tsrv_chunk(fd, "not json at all\n{\"type\":\"ADDED\"}\n"
                       "{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}\n");
        tsrv_stream_end(fd);
        return 1;
    case 2:
        tsrv_stream_begin(fd);
        tsrv_chunk(fd, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,"
                       "\"reason\":\"Expired\",\"message\":\"too old resource version: 9 (11)\"}}\n");
        tsrv_stream_end(fd);
        return 1;
    case 3:
        tsrv_reply(fd, 500, "{\"kind\":\"Status\",\"code\":500}");
        return 0;
    default:
        tsrv_stream_begin(fd);
        tsrv_chunk(fd, EV("MODIFIED", "e", "13"));
        tsrv_wait_close(fd);
        return 1;
    }
}

struct log {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char text[2048];
    int synced;
    int errors;
};

static void put(struct log *l, char op, json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    pthread_mutex_lock(&l->mu);
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof(l->text) - n, "%c:%s@%s ", op,
             json_string_value(json_object_get(md, "name")),
             json_string_value(json_object_get(md, "resourceVersion")));
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static void h_add(void *arg, json_t *obj) { put(arg, 'A', obj); }
static void h_update(void *arg, json_t *old, json_t *obj)
{
    (void)old;
    put(arg, 'U', obj);
}
static void h_delete(void *arg, json_t *obj) { put(arg, 'D', obj); }
static void h_synced(void *arg)
{
    struct log *l = arg;
    pthread_mutex_lock(&l->mu);
    l->synced++;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof(l->text) - n, "S ");
    pthread_mutex_unlock(&l->mu);
}
static void h_error(void *arg, const char *msg)
{
    struct log *l = arg;
    (void)msg;
    pthread_mutex_lock(&l->mu);
    l->errors++;
    pthread_mutex_unlock(&l->mu);
}

static int wait_for(struct log *l, const char *needle, int seconds)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += seconds;
    pthread_mutex_lock(&l->mu);
    int ok = 1;
    while (!strstr(l->text, needle)) {
        if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) != 0) {
            ok = 0;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static void test_reflector_script(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    struct tsrv srv;
    assert_int_equal(tsrv_start(&srv, handler, &f), 0);

    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    cfg.server = cs_strdup(url);
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);

    struct log l;
    memset(&l, 0, sizeof(l));
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    struct cs_informer_opts o = {
        .path = "/api/v1/pods",
        .field_selector = "status.phase!=Succeeded,status.phase!=Failed",
        .no_watch_list = 1,          /* this script serves pages */
        .page_size = 2,
        .watch_timeout_min_s = 5,
        .watch_timeout_max_s = 7,
        .backoff_initial_ms = 20,
        .backoff_max_ms = 100,
        .handlers = { h_add, h_update, h_delete, h_synced, h_error, &l },
    };
    struct cs_informer *inf = cs_informer_new(c, &o, err, sizeof(err));
    assert_non_null(inf);
    assert_false(cs_informer_has_synced(inf));
    assert_int_equal(cs_informer_start(inf), 0);
    assert_true(wait_for(&l, "U:e@13", 20));
    cs_informer_stop(inf);

    assert_string_equal(l.text, "A:a@1 A:b@2 A:c@3 S U:a@6 A:d@7 D:b@8 "   /* list, first watch */
                                "U:c@10 A:e@11 D:d@7 "                     /* relist diff */
                                "U:e@13 ");                                /* after the 500 */
    assert_int_equal(l.synced, 1);
    assert_int_equal(l.errors, 4);            /* 3 bad lines + the HTTP 500 */
    assert_true(cs_informer_has_synced(inf));
    struct cs_informer_stats st;
    cs_informer_stats(inf, &st);
    assert_int_equal(st.lists, 2);
    assert_int_equal(st.relists_410, 2);       /* continue token + watch ERROR */
    assert_int_equal(st.events, 4);
    assert_int_equal(st.events_ignored, 1);
    assert_int_equal(st.bookmarks, 1);
    assert_int_equal(st.watches, 4);
    assert_int_equal(cs_informer_len(inf), 3);  /* a, c, e */

    /* watch requests: from the right RV, bookmarks on, bounded timeout, escaped selector */
    assert_non_null(strstr(f.watch_target[0], "resourceVersion=5"));
    assert_non_null(strstr(f.watch_target[1], "resourceVersion=9"));   /* bookmark advanced it */
    assert_non_null(strstr(f.watch_target[2], "resourceVersion=12"));
    assert_non_null(strstr(f.watch_target[3], "resourceVersion=12"));
    for (int i = 0; i < 4; i++) {
        assert_non_null(strstr(f.watch_target[i], "allowWatchBookmarks=true"));
        assert_non_null(strstr(f.watch_target[i],
                               "fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed"));
        const char *t = strstr(f.watch_target[i], "timeoutSeconds=");
        assert_non_null(t);
        long secs = strtol(t + 15, NULL, 10);
        assert_true(secs >= 5 && secs <= 7);
    }
    cs_informer_free(inf);
    cs_client_free(c);
    tsrv_stop(&srv);
}

struct selfkill {
    struct cs_informer *inf;
    int adds;                    /* atomic */
};

static void kill_on_add(void *arg, json_t *obj)
{
    (void)obj;
    struct selfkill *k = arg;
    if (__atomic_add_fetch(&k->adds, 1, __ATOMIC_SEQ_CST) == 1) {
        cs_informer_free(k->inf); /* from the I/O thread, inside a handler */
    }
}

static void test_free_while_listing_and_from_a_handler(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    struct tsrv srv;
    assert_int_equal(tsrv_start(&srv, handler, &f), 0);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    cfg.server = cs_strdup(url);
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_int_equal(cs_client_start(c), 0);

    /* freed from the main thread while its LIST is in flight: no handler runs afterwards */
    struct selfkill k0 = { .inf = NULL, .adds = 0 };
    struct cs_informer_opts o = { .path = "/api/v1/slowpods", .no_watch_list = 1,
                                  .handlers = { .on_add = kill_on_add, .arg = &k0 } };
    k0.adds = 1; /* kill_on_add must not free: this informer is freed by the test */
    struct cs_informer *inf = cs_informer_new(c, &o, err, sizeof(err));
    assert_int_equal(cs_informer_start(inf), 0);
    usleep(50 * 1000);
    cs_informer_free(inf);
    usleep(450 * 1000);
    assert_int_equal(__atomic_load_n(&k0.adds, __ATOMIC_SEQ_CST), 1);

    /* freed by its own handler at the first add: the rest of the page is not delivered */
    struct selfkill k = { .inf = NULL, .adds = 0 };
    o.handlers.arg = &k;
    k.inf = cs_informer_new(c, &o, err, sizeof(err));
    assert_int_equal(cs_informer_start(k.inf), 0);
    usleep(600 * 1000);
    assert_int_equal(__atomic_load_n(&k.adds, __ATOMIC_SEQ_CST), 1);
    cs_client_free(c);
    tsrv_stop(&srv);
}

static struct cs_informer *start_logged(struct cs_client *c, const char *path, struct log *l)
{
    memset(l, 0, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    struct cs_informer_opts o = {
        .path = path,
        .handlers = { .on_add = h_add, .on_update = h_update, .on_delete = h_delete,
                      .on_synced = h_synced, .on_error = h_error, .arg = l },
    };
    char err[256];
    struct cs_informer *inf = cs_informer_new(c, &o, err, sizeof(err));
    assert_non_null(inf);
    assert_int_equal(cs_informer_start(inf), 0);
    return inf;
}

/* A streaming list: the initial ADDED events are the list, the annotated bookmark completes it
 * (synced, resourceVersion 20), the same stream goes on as the watch; when it ends the watch
 * resumes from the last resourceVersion without listing again. A server that refuses it gets
 * paginated lists. */
static void test_streaming_list_then_watch_and_fallback_to_pages(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    struct tsrv srv;
    assert_int_equal(tsrv_start(&srv, handler, &f), 0);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    cfg.server = cs_strdup(url);
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_int_equal(cs_client_start(c), 0);

    struct log l;
    struct cs_informer *inf = start_logged(c, "/api/v1/wlpods", &l);
    assert_true(wait_for(&l, "D:y@22", 10));
    assert_string_equal(l.text, "A:x@3 A:y@4 S U:x@21 D:y@22 ");
    struct cs_informer_stats st;
    cs_informer_stats(inf, &st);
    assert_int_equal(st.lists, 1);
    assert_int_equal(st.relists_410, 0);
    assert_non_null(strstr(f.watch_target[0], "sendInitialEvents=true"));
    assert_non_null(strstr(f.watch_target[0], "resourceVersionMatch=NotOlderThan"));
    assert_non_null(strstr(f.watch_target[0], "allowWatchBookmarks=true"));
    assert_null(strstr(f.watch_target[1], "sendInitialEvents"));
    assert_non_null(strstr(f.watch_target[1], "resourceVersion=21"));
    cs_informer_free(inf);

    struct log l2;
    inf = start_logged(c, "/api/v1/oldpods", &l2);
    assert_true(wait_for(&l2, "U:o@8", 10));
    assert_string_equal(l2.text, "A:o@6 S U:o@8 ");
    assert_int_equal(l2.errors, 0);
    cs_informer_free(inf);
    cs_client_free(c);
    tsrv_stop(&srv);
}

static int errors_seen;

static void count_error(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
    __atomic_add_fetch(&errors_seen, 1, __ATOMIC_SEQ_CST);
}

/* An informer backing off when its client stops, freed afterwards: nothing leaks (LSan). */
static void test_free_after_client_stop_while_backing_off(void **state)
{
    (void)state;
    struct fake f;
    memset(&f, 0, sizeof(f));
    pthread_mutex_init(&f.mu, NULL);
    struct tsrv srv;
    assert_int_equal(tsrv_start(&srv, handler, &f), 0);
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char url[64], err[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    cfg.server = cs_strdup(url);
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_int_equal(cs_client_start(c), 0);
    struct cs_informer_opts o = { .path = "/api/v1/broken", .backoff_initial_ms = 10000,
                                  .handlers = { .on_error = count_error } };
    struct cs_informer *inf = cs_informer_new(c, &o, err, sizeof(err));
    assert_int_equal(cs_informer_start(inf), 0);
    for (int i = 0; i < 200 && !__atomic_load_n(&errors_seen, __ATOMIC_SEQ_CST); i++) {
        usleep(10 * 1000);
    }
    assert_int_equal(__atomic_load_n(&errors_seen, __ATOMIC_SEQ_CST), 1); /* now backing off */
    cs_client_stop(c);
    assert_false(cs_informer_has_synced(inf));
    cs_informer_free(inf);
    cs_client_free(c);
    tsrv_stop(&srv);
}

/* A client that never started: stop/free of its informer neither hang nor leak. */
static void test_stop_free_with_client_not_started(void **state)
{
    (void)state;
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    cfg.server = cs_strdup("http://127.0.0.1:1");
    char err[256];
    struct cs_client *c = cs_client_new(&cfg, err, sizeof(err));
    cs_client_config_free(&cfg);
    assert_non_null(c);
    assert_false(cs_client_running(c));
    struct cs_informer_opts o = { .path = "/api/v1/pods" };
    struct cs_informer *inf = cs_informer_new(c, &o, err, sizeof(err));
    assert_int_equal(cs_informer_start(inf), 0); /* queued until the client runs */
    cs_informer_stop(inf);
    cs_informer_free(inf);
    cs_client_free(c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reflector_script),
        cmocka_unit_test(test_streaming_list_then_watch_and_fallback_to_pages),
        cmocka_unit_test(test_free_while_listing_and_from_a_handler),
        cmocka_unit_test(test_free_after_client_stop_while_backing_off),
        cmocka_unit_test(test_stop_free_with_client_not_started),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
