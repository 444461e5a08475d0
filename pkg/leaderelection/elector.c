/*
 * The leader-election runner: one thread that performs an acquire-or-renew step, fires the
 * callbacks, then sleeps (retryPeriod when leading, retryPeriod plus up to 1.2x jitter when
 * campaigning) on a condition variable over CLOCK_MONOTONIC so that stop wakes it at once.
 * A step is: optimistic PUT when leading; else GET, cs_le_decide, and the POST/PUT it asks
 * for. Request timeouts are capped so that a hung request cannot outlive the renew deadline.
 * Leadership state visible to other threads is mirrored under a mutex.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pkg/leaderelection/leaderelection.h"
#include "pkg/util/alloc.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

#define NS_PER_MS 1000000LL
#define HEALTHZ_TOLERANCE_NS (20LL * 1000000000LL)

struct cs_le {
    struct cs_le_params p;          /* strings owned */
    cs_le_request_fn request;
    void *request_arg;
    struct cs_le_callbacks cb;
    int release_on_cancel;

    struct cs_le_state st;          /* elector thread only */
    uint64_t rng;

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;                   /* under mu */
    int finished;                   /* under mu: lost leadership, thread exited */
    int leading;                    /* under mu: mirror of st.leading */
    char holder[CS_LE_HOLDER_MAX];  /* under mu */
    int64_t lease_expiry_ns;        /* under mu: observed_ns + lease duration */
};

struct cs_le *cs_le_new(const struct cs_le_config *cfg, char *err, size_t errlen)
{
    struct cs_le_params p = cfg->lease;
    if (p.lease_duration_ms == 0) {
        p.lease_duration_ms = CS_LE_DEFAULT_LEASE_DURATION_MS;
    }
    if (p.renew_deadline_ms == 0) {
        p.renew_deadline_ms = CS_LE_DEFAULT_RENEW_DEADLINE_MS;
    }
    if (p.retry_period_ms == 0) {
        p.retry_period_ms = CS_LE_DEFAULT_RETRY_PERIOD_MS;
    }
    if (p.namespace_ == NULL || !*p.namespace_ || p.name == NULL || !*p.name ||
        p.identity == NULL || !*p.identity) {
        snprintf(err, errlen, "leader election: namespace, name and identity are required");
        return NULL;
    }
    if (strlen(p.identity) >= CS_LE_HOLDER_MAX) {
        snprintf(err, errlen, "leader election: identity longer than %d bytes",
                 CS_LE_HOLDER_MAX - 1);
        return NULL;
    }
    if (p.lease_duration_ms % 1000 != 0 || p.lease_duration_ms <= p.renew_deadline_ms) {
        snprintf(err, errlen, "leader election: leaseDuration must be whole seconds and "
                              "greater than renewDeadline");
        return NULL;
    }
    if (p.retry_period_ms <= 0 ||
        (double)p.renew_deadline_ms <= CS_LE_JITTER_FACTOR * (double)p.retry_period_ms) {
        snprintf(err, errlen, "leader election: renewDeadline must be greater than "
                              "retryPeriod*%.1f", CS_LE_JITTER_FACTOR);
        return NULL;
    }
    if (cfg->request == NULL) {
        snprintf(err, errlen, "leader election: no transport");
        return NULL;
    }
    struct cs_le *le = cs_calloc(1, sizeof *le);
    le->p = p;
    le->p.namespace_ = cs_strdup(p.namespace_);
    le->p.name = cs_strdup(p.name);
    le->p.identity = cs_strdup(p.identity);
    le->request = cfg->request;
    le->request_arg = cfg->request_arg;
    le->cb = cfg->cb;
    le->release_on_cancel = cfg->release_on_cancel;
    le->rng = (uint64_t)cs_wall_ns() ^ ((uint64_t)(uintptr_t)le << 17) ^ 0x9e3779b97f4a7c15ULL;
    pthread_mutex_init(&le->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&le->cv, &ca);
    pthread_condattr_destroy(&ca);
    return le;
}

static double rand_unit(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (double)((x * 0x2545F4914F6CDD9DULL) >> 11) / 9007199254740992.0;
}

static void mirror(struct cs_le *le)
{
    pthread_mutex_lock(&le->mu);
    le->leading = le->st.leading;
    snprintf(le->holder, sizeof le->holder, "%s", le->st.observed.holder);
    le->lease_expiry_ns = le->st.observed_ns +
                          (int64_t)le->st.observed.lease_duration_s * 1000000000LL;
    pthread_mutex_unlock(&le->mu);
}

/* Timeout of one request: the renew deadline, or less when leading and closer to it. */
static long request_timeout_ms(const struct cs_le *le)
{
    long t = (long)le->p.renew_deadline_ms;
    if (le->st.leading) {
        int64_t left = (le->st.renew_ok_ns +
                        (le->p.retry_period_ms + le->p.renew_deadline_ms) * NS_PER_MS -
                        cs_mono_ns()) / NS_PER_MS;
        if (left < t) {
            t = left < 100 ? 100 : (long)left;
        }
    }
    return t;
}

/* Send d; on success record it. Returns 1 when the write succeeded. */
static int write_lease(struct cs_le *le, const struct cs_le_decision *d, int *became)
{
    struct cs_buf path, resp;
    cs_buf_init(&path);
    cs_buf_init(&resp);
    cs_le_path(&path, &le->p, d->action == CS_LE_UPDATE);
    long status = 0;
    const char *method = d->action == CS_LE_UPDATE ? "PUT" : "POST";
    int rc = le->request(le->request_arg, method, path.data, d->body, request_timeout_ms(le),
                         &status, &resp);
    int ok = rc == 0 && (status == 200 || status == 201);
    if (ok) {
        *became = cs_le_written(&le->st, d, resp.data, resp.len, cs_mono_ns());
    } else if (CS_V(2) || !le->st.leading) {
        CS_INFO_S("Lease write failed", CS_KV("method", method), CS_KVI("status", status),
                  CS_KV("lease", le->p.name), CS_KV("why", d->reason));
    } else {
        CS_WARN_S("Lease renewal failed", CS_KV("method", method), CS_KVI("status", status),
                  CS_KV("lease", le->p.name));
    }
    cs_buf_free(&path);
    cs_buf_free(&resp);
    return ok;
}

/* One acquire-or-renew step. Returns 1 when leadership was lost. */
static int step(struct cs_le *le)
{
    int became = 0, ok = 0, lost = 0;
    char new_holder[CS_LE_HOLDER_MAX] = "";
    int holder_changed = 0;
    const char *prev_holder_known = le->st.have_observed ? le->st.observed.holder : NULL;
    char prev_holder[CS_LE_HOLDER_MAX];
    snprintf(prev_holder, sizeof prev_holder, "%s", prev_holder_known ? prev_holder_known : "");

    if (cs_le_deadline_passed(&le->st, &le->p, cs_mono_ns())) {
        lost = 1;
    }
    struct cs_le_decision d;
    if (!lost && cs_le_fast_renew(&le->st, &le->p, cs_mono_ns(), cs_wall_ns(), &d)) {
        ok = write_lease(le, &d, &became);
        cs_le_decision_free(&d);
    }
    if (!lost && !ok) {
        struct cs_buf path, resp;
        cs_buf_init(&path);
        cs_buf_init(&resp);
        cs_le_path(&path, &le->p, 1);
        long status = 0;
        if (le->request(le->request_arg, "GET", path.data, NULL, request_timeout_ms(le),
                        &status, &resp) != 0) {
            status = 0;
        }
        cs_le_decide(&le->st, &le->p, status, resp.data ? resp.data : "", resp.len,
                     cs_mono_ns(), cs_wall_ns(), &d);
        cs_buf_free(&path);
        cs_buf_free(&resp);
        if (d.holder_changed) {
            holder_changed = 1;
            snprintf(new_holder, sizeof new_holder, "%s", d.new_holder);
        }
        switch (d.action) {
        case CS_LE_CREATE:
        case CS_LE_UPDATE:
            ok = write_lease(le, &d, &became);
            break;
        case CS_LE_LOSE:
            lost = 1;
            CS_ERROR_S(d.reason, "Leader election lost", CS_KV("lease", le->p.name),
                       CS_KV("identity", le->p.identity));
            break;
        case CS_LE_WAIT:
            if (CS_V(4)) {
                CS_INFO_S("Lease held by another candidate", CS_KV("holder",
                          le->st.observed.holder), CS_KV("lease", le->p.name));
            }
            break;
        case CS_LE_RETRY:
            CS_INFO_S("Cannot read lease", CS_KV("lease", le->p.name), CS_KVI("status", status));
            break;
        }
        cs_le_decision_free(&d);
    }
    if (!lost && cs_le_deadline_passed(&le->st, &le->p, cs_mono_ns())) {
        lost = 1;
        CS_ERROR_S("renew deadline passed", "Leader election lost", CS_KV("lease", le->p.name),
                   CS_KV("identity", le->p.identity));
    }
    if (ok && strcmp(prev_holder, le->p.identity) != 0) {
        holder_changed = 1;
        snprintf(new_holder, sizeof new_holder, "%s", le->p.identity);
    }
    if (lost) {
        le->st.leading = 0;
    }
    mirror(le);
    if (holder_changed && le->cb.on_new_leader) {
        le->cb.on_new_leader(le->cb.arg, new_holder);
    }
    if (became) {
        CS_INFO_S("Successfully acquired lease", CS_KV("lease", le->p.name),
                  CS_KV("identity", le->p.identity));
        if (le->cb.on_started_leading) {
            le->cb.on_started_leading(le->cb.arg);
        }
    }
    if (lost && le->cb.on_stopped_leading) {
        le->cb.on_stopped_leading(le->cb.arg, 1);
    }
    return lost;
}

static void *run(void *arg)
{
    struct cs_le *le = arg;
    CS_INFO_S("Attempting to acquire leader lease", CS_KV("namespace", le->p.namespace_),
              CS_KV("name", le->p.name), CS_KV("identity", le->p.identity));
    for (;;) {
        pthread_mutex_lock(&le->mu);
        int stopping = le->stopping;
        pthread_mutex_unlock(&le->mu);
        if (stopping) {
            break;
        }
        if (step(le)) {
            pthread_mutex_lock(&le->mu);
            le->finished = 1;
            pthread_mutex_unlock(&le->mu);
            return NULL;
        }
        int64_t wait_ms = le->p.retry_period_ms;
        if (!le->st.leading) {
            wait_ms += (int64_t)(rand_unit(&le->rng) * CS_LE_JITTER_FACTOR *
                                 (double)le->p.retry_period_ms);
        }
        int64_t until = cs_mono_ns() + wait_ms * NS_PER_MS;
        struct timespec ts = { (time_t)(until / 1000000000LL), (long)(until % 1000000000LL) };
        pthread_mutex_lock(&le->mu);
        while (!le->stopping) {
            if (pthread_cond_timedwait(&le->cv, &le->mu, &ts) == ETIMEDOUT) {
                break;
            }
        }
        pthread_mutex_unlock(&le->mu);
    }
    /* asked to stop */
    if (le->st.leading) {
        if (le->release_on_cancel) {
            char *body = cs_le_release_body(&le->st, cs_wall_ns());
            if (body != NULL) {
                struct cs_buf path, resp;
                cs_buf_init(&path);
                cs_buf_init(&resp);
                cs_le_path(&path, &le->p, 1);
                long status = 0;
                int rc = le->request(le->request_arg, "PUT", path.data, body,
                                     request_timeout_ms(le), &status, &resp);
                CS_INFO_S("Released leader lease", CS_KV("lease", le->p.name),
                          CS_KVI("status", rc == 0 ? status : 0));
                cs_buf_free(&path);
                cs_buf_free(&resp);
                cs_free(body);
            }
        }
        le->st.leading = 0;
        mirror(le);
        if (le->cb.on_stopped_leading) {
            le->cb.on_stopped_leading(le->cb.arg, 0);
        }
    }
    return NULL;
}

int cs_le_start(struct cs_le *le)
{
    if (le->started) {
        return -1;
    }
    if (pthread_create(&le->thread, NULL, run, le) != 0) {
        return -1;
    }
    le->started = 1;
    return 0;
}

void cs_le_stop(struct cs_le *le)
{
    if (le == NULL || !le->started) {
        return;
    }
    pthread_mutex_lock(&le->mu);
    le->stopping = 1;
    pthread_cond_broadcast(&le->cv);
    pthread_mutex_unlock(&le->mu);
    pthread_join(le->thread, NULL);
    le->started = 0;
}

void cs_le_free(struct cs_le *le)
{
    if (le == NULL) {
        return;
    }
    cs_le_stop(le);
    cs_le_state_free(&le->st);
    cs_free((char *)(uintptr_t)le->p.namespace_);
    cs_free((char *)(uintptr_t)le->p.name);
    cs_free((char *)(uintptr_t)le->p.identity);
    pthread_cond_destroy(&le->cv);
    pthread_mutex_destroy(&le->mu);
    cs_free(le);
}

int cs_le_is_leader(struct cs_le *le)
{
    pthread_mutex_lock(&le->mu);
    int l = le->leading;
    pthread_mutex_unlock(&le->mu);
    return l;
}

void cs_le_leader(struct cs_le *le, char *buf, size_t n)
{
    pthread_mutex_lock(&le->mu);
    snprintf(buf, n, "%s", le->holder);
    pthread_mutex_unlock(&le->mu);
}

int cs_le_finished(struct cs_le *le)
{
    pthread_mutex_lock(&le->mu);
    int f = le->finished;
    pthread_mutex_unlock(&le->mu);
    return f;
}

int cs_le_check(void *arg, struct cs_buf *reason)
{
    struct cs_le *le = arg;
    pthread_mutex_lock(&le->mu);
    int bad = le->leading && cs_mono_ns() > le->lease_expiry_ns + HEALTHZ_TOLERANCE_NS;
    pthread_mutex_unlock(&le->mu);
    if (bad) {
        cs_buf_printf(reason, "failed election to renew leadership on lease %s", le->p.name);
        return -1;
    }
    return 0;
}
