/* Leader election end to end: two electors over pkg/client against a real apisim process
 * ($APISIM_BIN, else build/asan/apisim; skipped when neither exists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pkg/client/client.h"
#include "pkg/leaderelection/leaderelection.h"
#include "pkg/util/buf.h"
#include "pkg/util/timeutil.h"

extern char **environ;

struct sim {
    pid_t pid;
    char url[256];
    char kubeconfig[128];
};

static int sim_start(struct sim *s)
{
    const char *bin = getenv("APISIM_BIN");
    if (bin == NULL || access(bin, X_OK) != 0) {
        bin = "build/asan/apisim";
    }
    if (access(bin, X_OK) != 0) {
        return -1;
    }
    snprintf(s->kubeconfig, sizeof s->kubeconfig, "/tmp/cosched-le-kc-%d", (int)getpid());
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    char *argv[] = { (char *)bin, "--listen", "127.0.0.1:0", "--kubeconfig-out", s->kubeconfig,
                     NULL };
    assert_int_equal(posix_spawn(&s->pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    struct cs_buf out;
    cs_buf_init(&out);
    int64_t deadline = cs_mono_ns() + 20LL * 1000000000LL;
    const char *mark = "apisim: serving on ";
    char *line = NULL;
    while (cs_mono_ns() < deadline) {
        struct pollfd p = { .fd = fds[0], .events = POLLIN };
        if (poll(&p, 1, 200) <= 0) {
            continue;
        }
        char chunk[512];
        ssize_t n = read(fds[0], chunk, sizeof chunk);
        if (n <= 0) {
            break;
        }
        cs_buf_append(&out, chunk, (size_t)n);
        line = strstr(out.data, mark);
        if (line != NULL && strchr(line, '\n') != NULL) {
            break;
        }
        line = NULL;
    }
    close(fds[0]);
    assert_non_null(line);
    line += strlen(mark);
    *strchr(line, '\n') = '\0';
    snprintf(s->url, sizeof s->url, "%s", line);
    cs_buf_free(&out);
    return 0;
}

static void sim_stop(struct sim *s)
{
    kill(s->pid, SIGTERM);
    int st;
    waitpid(s->pid, &st, 0);
    unlink(s->kubeconfig);
}

struct events {
    atomic_int started, stopped;
};

static void on_started(void *arg)
{
    atomic_fetch_add(&((struct events *)arg)->started, 1);
}

static void on_stopped(void *arg, int lost)
{
    (void)lost;
    atomic_fetch_add(&((struct events *)arg)->stopped, 1);
}

static struct cs_le *elector(struct cs_client *c, const char *id, struct events *ev)
{
    struct cs_le_config cfg = {
        .lease = { .namespace_ = "kube-system", .name = "cosched-test", .identity = id,
                   .lease_duration_ms = 2000, .renew_deadline_ms = 1500,
                   .retry_period_ms = 200 },
        .request = cs_le_client_request,
        .request_arg = c,
        .cb = { .on_started_leading = on_started, .on_stopped_leading = on_stopped,
                .arg = ev },
    };
    char err[256];
    struct cs_le *le = cs_le_new(&cfg, err, sizeof err);
    assert_non_null(le);
    assert_int_equal(cs_le_start(le), 0);
    return le;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void test_two_electors_against_apisim(void **state)
{
    (void)state;
    struct sim sim;
    if (sim_start(&sim) != 0) {
        skip();
    }
    struct cs_client_config cfg;
    cs_client_config_init(&cfg);
    char err[256];
    assert_int_equal(cs_kubeconfig_load(sim.kubeconfig, NULL, &cfg, err, sizeof err), 0);
    cfg.qps = 0;
    struct cs_client *c = cs_client_new(&cfg, err, sizeof err);
    assert_non_null(c);
    assert_int_equal(cs_client_start(c), 0);

    struct events ea = { 0 }, eb = { 0 };
    struct cs_le *a = elector(c, "node-a_1", &ea);
    struct cs_le *b = elector(c, "node-b_2", &eb);
    struct cs_le *leader = NULL;
    for (int i = 0; i < 300 && leader == NULL; i++) {
        if (cs_le_is_leader(a)) {
            leader = a;
        } else if (cs_le_is_leader(b)) {
            leader = b;
        } else {
            sleep_ms(20);
        }
    }
    assert_non_null(leader);
    for (int i = 0; i < 50; i++) { /* 2 s, i.e. ten renewals: still exactly one leader */
        assert_false(cs_le_is_leader(a) && cs_le_is_leader(b));
        assert_true(cs_le_is_leader(leader));
        sleep_ms(40);
    }
    struct cs_le *other = leader == a ? b : a;
    const char *other_id = leader == a ? "node-b_2" : "node-a_1";
    cs_le_stop(leader); /* no release: the other waits out the 2 s lease */
    int took = 0;
    for (int i = 0; i < 400 && !cs_le_is_leader(other); i++) {
        sleep_ms(20);
        took = i;
    }
    assert_true(cs_le_is_leader(other));
    assert_true(took * 20 >= 1000);
    assert_int_equal(atomic_load(&ea.started) + atomic_load(&eb.started), 2);

    /* the stored lease names the new holder, one transition later */
    struct cs_client_req req = {
        .method = "GET",
        .path = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/cosched-test",
    };
    struct cs_client_resp resp;
    assert_int_equal(cs_client_do(c, &req, &resp), 0);
    assert_int_equal(resp.status, 200);
    struct cs_le_record rec;
    assert_int_equal(cs_le_parse_record(resp.body, resp.body_len, &rec), 0);
    assert_string_equal(rec.holder, other_id);
    assert_int_equal(rec.transitions, 1);
    assert_int_equal(rec.lease_duration_s, 2);
    cs_client_resp_free(&resp);

    cs_le_free(a);
    cs_le_free(b);
    assert_int_equal(atomic_load(&ea.stopped) + atomic_load(&eb.stopped), 2);
    cs_client_free(c);
    cs_client_config_free(&cfg);
    sim_stop(&sim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_electors_against_apisim),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
