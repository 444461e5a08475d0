/*
 * Coscheduling: gangs placed all or nothing, without holding capacity.
 *
 * The platform does the heavy lifting (pkg/framework/session.c): a gang's pending members are
 * taken from the queue together, placed through one statement and committed only when the gang
 * is ready, else discarded; nothing is assumed or held between sessions, so a gang that cannot
 * complete never starves other pods (the Permit-wait design of scheduler-plugins and
 * koordinator does). This plugin says which pods form a gang and when it is complete:
 *
 *   pod_group    the gang key ("ns/name", or the sorted member list of a koordinator GangGroup)
 *                and its minimum, from the pod's declaration (decl.h) or its PodGroup object;
 *   group_valid  the declaration is consistent (same minimum and priority across members), the
 *                PodGroup exists, enough members exist (pending + bound), the gang is not in its
 *                post-timeout backoff; otherwise every member waits with the reason;
 *   group_ready  per gang of the unit, per match-policy: placed now + bound >= minMember;
 *   on_pod       the ledger of bound/assumed members per gang (and their phases), fed from the
 *                cache's change journal on the scheduling thread;
 *   victims_ok   preemption never leaves another gang running below its minimum (its members
 *                are victims only all together);
 *   session_close  PodGroup status (phase, counts, scheduleStartTime) through the status
 *                subresource, at most once per second per gang, and PodGroup objects for
 *                label-declared gangs.
 *
 * Timeouts (PodGroup scheduleTimeoutSeconds, koordinator waiting-time, or the plugin argument
 * scheduleTimeoutSeconds): a gang that keeps failing for that long from its first attempt is
 * marked Failed, refused for as long again (its members wait for a PodGroup change or the
 * queue's periodic flush, consuming no attempts), then tried afresh.
 *
 * Threads: pod_group runs on the queue's callers too (informer thread, queue lock): it only
 * parses the pod and reads the PodGroup table (own mutex). Everything else runs on the
 * scheduling thread. One instance serves every profile (cs_fw_shared).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/intern.h"
#include "pkg/util/log.h"
#include "pkg/util/map.h"
#include "pkg/util/timeutil.h"
#include "plugins/coscheduling/decl.h"
#include "plugins/coscheduling/podgroups.h"
#include "plugins/registry.h"

#define NAME "Coscheduling"
#define EV_PODGROUP "PodGroup"
#define STATUS_INTERVAL_NS 1000000000LL
#define MAX_GANGS_PER_UNIT 64

struct gang {
    const char *key;               /* interned "ns/name" */
    char ns[64];
    const char *name;              /* in key, after '/' */
    enum cs_gang_kind kind;
    const char *api_group;         /* for PodGroup-backed and label-declared gangs */
    int32_t min;                   /* last known minimum */
    int32_t timeout_s;             /* last known timeout (0 = none) */
    uint32_t assigned;             /* members bound or assumed */
    uint32_t running, succeeded, failed;
    bool satisfied;                /* assigned reached min once (once-satisfied) */
    int64_t first_try_ns;          /* monotonic; 0 = not trying */
    int64_t start_wall_ns;         /* scheduleStartTime */
    int64_t backoff_until_ns;      /* monotonic; timed out, refused until then */
    bool dirty;                    /* status to write */
    int64_t last_write_ns;
    bool create_tried;
    char written_phase[24];
};

struct cosched {
    const struct cs_api_ctx *api;
    struct cs_fw_handle *fw;
    bool shared;                   /* owned by the framework's shared table */
    struct cs_podgroups pgs;
    struct cs_map gangs;           /* key -> struct gang * (scheduling thread) */
    int32_t default_timeout_s;     /* args.scheduleTimeoutSeconds (0 = none) */
    atomic_bool no_crd;            /* creating a PodGroup got 404: stop trying */
    char why[400];                 /* group_valid's reason (scheduling thread; the session
                                    * copies it before the next call) */
    const struct cs_snapshot *snap;    /* this session's (session_open) */
    bool free_known;               /* free_total computed for this session */
    struct cs_resources free_total;    /* sum over nodes of allocatable - requested */
};

/* ---- the PodGroup watches (informer thread) ----------------------------------------------- */

static void pg_event(struct cosched *cs, const char *api_group, const json_t *old,
                     const json_t *obj)
{
    if (obj) {
        cs_podgroups_upsert(&cs->pgs, api_group, obj);
    } else if (old) {
        cs_podgroups_remove(&cs->pgs, api_group, old);
    }
    cs_fw_raise(cs->fw, EV_PODGROUP, old, obj);
}

static void sigs_add(void *p, const json_t *o) { pg_event(p, CS_GANG_API_SIGS, NULL, o); }
static void sigs_upd(void *p, const json_t *old, const json_t *o)
{
    pg_event(p, CS_GANG_API_SIGS, old, o);
}
static void sigs_del(void *p, const json_t *o) { pg_event(p, CS_GANG_API_SIGS, o, NULL); }
static void xk8s_add(void *p, const json_t *o) { pg_event(p, CS_GANG_API_XK8S, NULL, o); }
static void xk8s_upd(void *p, const json_t *old, const json_t *o)
{
    pg_event(p, CS_GANG_API_XK8S, old, o);
}
static void xk8s_del(void *p, const json_t *o) { pg_event(p, CS_GANG_API_XK8S, o, NULL); }

/* ---- lifecycle ---------------------------------------------------------------------------- */

struct create_arg {
    const struct cs_plugin_init *in;
    char *err;
    size_t errlen;
    int rc;
};

static struct cosched *cosched_new(const struct cs_plugin_init *in)
{
    struct cosched *cs = cs_calloc(1, sizeof(*cs));
    cs->api = in->api;
    cs->fw = in->fw;
    cs_podgroups_init(&cs->pgs);
    cs->pgs.names = in->api ? in->api->resources : NULL;
    cs_map_init(&cs->gangs);
    return cs;
}

static void cosched_free(void *obj)
{
    struct cosched *cs = obj;
    size_t it = 0;
    const char *k;
    void *v;
    while (cs_map_next(&cs->gangs, &it, &k, &v)) {
        cs_free(v);
    }
    cs_map_destroy(&cs->gangs);
    cs_podgroups_destroy(&cs->pgs);
    cs_free(cs);
}

static void *shared_create(void *arg)
{
    struct create_arg *ca = arg;
    struct cosched *cs = cosched_new(ca->in);
    cs->shared = true;
    const struct cs_watch_spec w[2] = {
        { .name = "podgroups.scheduling.sigs.k8s.io",
          .path = "/apis/" CS_GANG_API_SIGS "/v1alpha1/podgroups",
          .on_add = sigs_add, .on_update = sigs_upd, .on_delete = sigs_del, .optional = true },
        { .name = "podgroups.scheduling.x-k8s.io",
          .path = "/apis/" CS_GANG_API_XK8S "/v1alpha1/podgroups",
          .on_add = xk8s_add, .on_update = xk8s_upd, .on_delete = xk8s_del, .optional = true },
    };
    for (int i = 0; i < 2 && ca->rc == 0; i++) {
        ca->rc = cs_fw_watch(ca->in->fw, cs, &w[i], ca->err, ca->errlen);
    }
    return cs;
}

static int cosched_init(const struct cs_plugin_init *in, void **priv, char *err, size_t errlen)
{
    int32_t timeout = 0;
    const json_t *to = json_object_get(in->args, "scheduleTimeoutSeconds");
    if (to) {
        if (!json_is_integer(to) || json_integer_value(to) < 0 ||
            json_integer_value(to) > 365 * 86400) {
            snprintf(err, errlen, "scheduleTimeoutSeconds must be a non-negative integer");
            return -1;
        }
        timeout = (int32_t)json_integer_value(to);
    }
    struct cosched *cs;
    if (in->fw) {
        struct create_arg ca = { .in = in, .err = err, .errlen = errlen };
        cs = cs_fw_shared(in->fw, "coscheduling", shared_create, cosched_free, &ca);
        if (ca.rc != 0) {
            return -1;
        }
    } else {
        cs = cosched_new(in);      /* unit tests: no framework, no watches */
    }
    if (timeout) {
        cs->default_timeout_s = timeout;
    }
    *priv = cs;
    return 0;
}

static void cosched_destroy(void *priv)
{
    struct cosched *cs = priv;
    if (cs && !cs->shared) {
        cosched_free(cs);
    }
}

/* ---- gangs -------------------------------------------------------------------------------- */

static const char *gang_key(struct cosched *cs, const struct cs_pod *pod, const char *name)
{
    char buf[400];
    snprintf(buf, sizeof(buf), "%s/%s", pod->ns, name);
    return cs_intern(cs->api->strings, buf);
}

/* The ledger entry of the gang a pod declares (created on first sight). */
static struct gang *gang_of(struct cosched *cs, const struct cs_pod *pod,
                            const struct cs_gang_decl *d)
{
    const char *key = gang_key(cs, pod, d->name);
    struct gang *g = cs_map_get(&cs->gangs, key);
    if (g == NULL) {
        g = cs_calloc(1, sizeof(*g));
        g->key = key;
        snprintf(g->ns, sizeof(g->ns), "%s", pod->ns);
        g->name = strchr(key, '/') + 1;
        cs_map_put(&cs->gangs, key, g);
    }
    g->kind = d->kind;
    g->api_group = d->kind == CS_GANG_LABELS ? CS_GANG_API_SIGS : d->api_group;
    return g;
}

/* Minimum and timeout of the gang a pod declares: the declaration's, else its PodGroup's.
 * Returns false with why when neither says (PodGroup missing or malformed). */
static bool gang_limits(struct cosched *cs, const struct cs_pod *pod,
                        const struct cs_gang_decl *d, int32_t *min, int32_t *timeout_s,
                        char *why, size_t n)
{
    *min = d->min;
    *timeout_s = d->wait_ns ? (int32_t)(d->wait_ns / 1000000000LL) : 0;
    if (d->kind != CS_GANG_PODGROUP) {
        if (*timeout_s == 0) {
            struct cs_podgroup pg;
            if (cs_podgroups_get(&cs->pgs, CS_GANG_API_SIGS, pod->ns, d->name, &pg)) {
                *timeout_s = pg.timeout_s;
            }
        }
        return true;
    }
    struct cs_podgroup pg;
    if (!cs_podgroups_get(&cs->pgs, d->api_group, pod->ns, d->name, &pg)) {
        snprintf(why, n, "PodGroup %s/%s (%s) does not exist yet", pod->ns, d->name,
                 d->api_group);
        return false;
    }
    if (pg.error[0]) {
        snprintf(why, n, "PodGroup %s/%s is invalid: %s", pod->ns, d->name, pg.error);
        return false;
    }
    *min = pg.min_member;
    if (*timeout_s == 0) {
        *timeout_s = pg.timeout_s;
    }
    return true;
}

/* ---- pod_group (any thread) --------------------------------------------------------------- */

static const char *cosched_pod_group(void *priv, const struct cs_pod *pod, int32_t *min_member)
{
    struct cosched *cs = priv;
    struct cs_gang_decl d;
    if (!cs_gang_decl_parse(pod, &d)) {
        return NULL;
    }
    int32_t timeout;
    char why[200];
    if (d.error[0] || !gang_limits(cs, pod, &d, min_member, &timeout, why, sizeof(why))) {
        *min_member = 0;           /* group_valid says why */
    }
    if (d.groups && d.error[0] == '\0') {
        char canon[2048], err[200];
        int k = cs_gang_groups_canonical(d.groups, pod->ns, canon, sizeof(canon), err,
                                         sizeof(err));
        if (k > 1) {
            char buf[2100];
            snprintf(buf, sizeof(buf), "gang-group:%s", canon);
            return cs_intern(cs->api->strings, buf);
        }
    }
    return gang_key(cs, pod, d.name);
}

/* ---- group_valid / group_ready (scheduling thread) ---------------------------------------- */

/* The gangs of a unit and their members' tallies. */
struct tally {
    struct gang *g;
    int32_t min;
    int32_t timeout_s;
    enum cs_gang_match match;
    int32_t priority;
    const char *first_pod;
    uint32_t pending;
    uint32_t placed;
};

struct unit_tally {
    struct tally t[MAX_GANGS_PER_UNIT];
    uint32_t n;
    char why[400];
};

static struct tally *tally_for(struct unit_tally *u, struct gang *g)
{
    for (uint32_t i = 0; i < u->n; i++) {
        if (u->t[i].g == g) {
            return &u->t[i];
        }
    }
    if (u->n == MAX_GANGS_PER_UNIT) {
        return NULL;
    }
    struct tally *t = &u->t[u->n++];
    memset(t, 0, sizeof(*t));
    t->g = g;
    return t;
}

/* Walk the members: consistent declarations, per-gang counts. false with u->why otherwise. */
static bool tally_unit(struct cosched *cs, const struct cs_group_view *v, struct unit_tally *u)
{
    memset(u, 0, sizeof(*u));
    for (uint32_t i = 0; i < v->n_pending; i++) {
        const struct cs_pod *pod = v->members[i];
        struct cs_gang_decl d;
        if (!cs_gang_decl_parse(pod, &d)) {
            snprintf(u->why, sizeof(u->why), "pod %s no longer declares the gang", pod->key);
            return false;
        }
        if (d.error[0]) {
            snprintf(u->why, sizeof(u->why), "pod %s: %s", pod->key, d.error);
            return false;
        }
        int32_t min, timeout;
        char why[200];
        if (!gang_limits(cs, pod, &d, &min, &timeout, why, sizeof(why))) {
            snprintf(u->why, sizeof(u->why), "%s", why);
            return false;
        }
        struct gang *g = gang_of(cs, pod, &d);
        struct tally *t = tally_for(u, g);
        if (t == NULL) {
            snprintf(u->why, sizeof(u->why), "more than %d gangs in one gang group",
                     MAX_GANGS_PER_UNIT);
            return false;
        }
        if (t->first_pod == NULL) {
            t->first_pod = pod->key;
            t->min = min;
            t->timeout_s = timeout;
            t->match = d.match;
            t->priority = pod->priority;
        } else if (t->min != min) {
            snprintf(u->why, sizeof(u->why),
                     "members disagree on the minimum: %s says %d, %s says %d", t->first_pod,
                     t->min, pod->key, min);
            return false;
        } else if (t->priority != pod->priority) {
            snprintf(u->why, sizeof(u->why),
                     "members disagree on priority: %s has %d, %s has %d", t->first_pod,
                     t->priority, pod->key, pod->priority);
            return false;
        }
        t->pending++;
        if (v->placed && v->placed[i]) {
            t->placed++;
        }
        g->min = min;
        g->timeout_s = timeout ? timeout : cs->default_timeout_s;
    }
    return true;
}

/* A gang group lists gangs that may have no pending member in this unit: they must exist with
 * enough bound members. */
static bool group_listed_gangs(struct cosched *cs, const struct cs_group_view *v,
                               struct unit_tally *u)
{
    if (strncmp(v->name, "gang-group:", 11) != 0) {
        return true;
    }
    const char *p = v->name + 11;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char key[400];
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        const char *ik = cs_intern(cs->api->strings, key);
        struct gang *g = cs_map_get(&cs->gangs, ik);
        bool seen = false;
        for (uint32_t i = 0; g && i < u->n; i++) {
            seen = seen || u->t[i].g == g;
        }
        if (!seen && (g == NULL || g->min == 0 || g->assigned < (uint32_t)g->min)) {
            snprintf(u->why, sizeof(u->why), "waiting for gang %.300s of the gang group", key);
            return false;
        }
        p = e ? e + 1 : p + n;
    }
    return true;
}

static void ensure_podgroup(struct cosched *cs, struct gang *g);
static bool min_resources_fit(struct cosched *cs, const struct gang *g,
                              const struct cs_podgroup *pg, char *why, size_t n);

static bool cosched_group_valid(void *priv, const struct cs_group_view *v, struct cs_status *st)
{
    struct cosched *cs = priv;
    struct unit_tally *u = cs_malloc(sizeof(*u));
    bool ok = tally_unit(cs, v, u) && group_listed_gangs(cs, v, u);
    enum cs_code code = CS_UNSCHEDULABLE;
    int64_t now = cs_mono_ns();
    for (uint32_t i = 0; ok && i < u->n; i++) {
        struct tally *t = &u->t[i];
        struct gang *g = t->g;
        if (g->kind == CS_GANG_LABELS) {
            ensure_podgroup(cs, g);
        }
        struct cs_podgroup pg;
        char mwhy[300];
        if (g->api_group && cs_podgroups_get(&cs->pgs, g->api_group, g->ns, g->name, &pg) &&
            !min_resources_fit(cs, g, &pg, mwhy, sizeof(mwhy))) {
            snprintf(u->why, sizeof(u->why), "%s", mwhy);
            ok = false;
        } else if (g->backoff_until_ns > now) {
            snprintf(u->why, sizeof(u->why),
                     "gang %s timed out after %ds without reaching its minimum of %d; backing "
                     "off",
                     g->key, g->timeout_s, t->min);
            code = CS_UNSCHEDULABLE_AND_UNRESOLVABLE;
            ok = false;
        } else if (t->match != CS_GANG_ONLY_WAITING && !(t->match == CS_GANG_ONCE_SATISFIED &&
                                                          g->satisfied) &&
                   t->pending + g->assigned < (uint32_t)t->min) {
            snprintf(u->why, sizeof(u->why),
                     "gang %s: waiting for members: fewer than %d pending, bound or assumed",
                     g->key, t->min);
            ok = false;
        } else if (t->match == CS_GANG_ONLY_WAITING && t->pending < (uint32_t)t->min) {
            snprintf(u->why, sizeof(u->why),
                     "gang %s: waiting for members: fewer than %d pending (only-waiting)",
                     g->key, t->min);
            ok = false;
        }
    }
    if (!ok) {
        snprintf(cs->why, sizeof(cs->why), "%s", u->why);
        cs_status_set(st, code, cs->why);
    }
    cs_free(u);
    return ok;
}

static void try_started(struct gang *g, int64_t now)
{
    if (g->first_try_ns == 0) {
        g->first_try_ns = now;
        g->start_wall_ns = cs_wall_ns();
        g->dirty = true;
    }
}

/* A gang trying for longer than its timeout is backed off (refused for as long again). */
static bool check_timeout(struct gang *g, int64_t now)
{
    if (g->first_try_ns == 0 || g->timeout_s <= 0 ||
        now - g->first_try_ns <= (int64_t)g->timeout_s * 1000000000LL) {
        return false;
    }
    CS_WARN_S("Gang timed out; backing off", CS_KV("gang", g->key),
              CS_KVI("timeoutSeconds", g->timeout_s), CS_KVI("minMember", g->min),
              CS_KVI("assigned", g->assigned));
    g->backoff_until_ns = now + (int64_t)g->timeout_s * 1000000000LL;
    g->first_try_ns = 0;
    g->dirty = true;
    return true;
}

static bool cosched_group_ready(void *priv, const struct cs_group_view *v)
{
    struct cosched *cs = priv;
    struct unit_tally *u = cs_malloc(sizeof(*u));
    bool ready = tally_unit(cs, v, u) && u->n > 0;
    int64_t now = cs_mono_ns();
    for (uint32_t i = 0; ready && i < u->n; i++) {
        const struct tally *t = &u->t[i];
        const struct gang *g = t->g;
        switch (t->match) {
        case CS_GANG_ONLY_WAITING:
            ready = t->placed >= (uint32_t)t->min;
            break;
        case CS_GANG_ONCE_SATISFIED:
            ready = g->satisfied || t->placed + g->assigned >= (uint32_t)t->min;
            break;
        case CS_GANG_WAITING_AND_RUNNING:
            ready = t->placed + g->assigned >= (uint32_t)t->min;
            break;
        }
    }
    for (uint32_t i = 0; i < u->n; i++) {
        struct gang *g = u->t[i].g;
        if (ready) {
            g->first_try_ns = 0;
            continue;
        }
        try_started(g, now);
        check_timeout(g, now);
    }
    cs_free(u);
    return ready;
}

/* ---- the ledger (scheduling thread, from the cache's change journal) ---------------------- */

static void count(struct cosched *cs, const struct cs_pod *pod, int delta)
{
    struct cs_gang_decl d;
    if (pod == NULL || !cs_gang_decl_parse(pod, &d)) {
        return;
    }
    struct gang *g = gang_of(cs, pod, &d);
    int32_t min, timeout;
    char why[200];
    if (d.error[0] == '\0' && gang_limits(cs, pod, &d, &min, &timeout, why, sizeof(why))) {
        g->min = min;
    }
    g->assigned += (uint32_t)delta;
    switch (pod->phase) {
    case CS_PHASE_RUNNING:
        g->running += (uint32_t)delta;
        break;
    case CS_PHASE_SUCCEEDED:
        g->succeeded += (uint32_t)delta;
        break;
    case CS_PHASE_FAILED:
        g->failed += (uint32_t)delta;
        break;
    default:
        break;
    }
    if (g->min > 0 && g->assigned >= (uint32_t)g->min && !g->satisfied) {
        g->satisfied = true;
        g->backoff_until_ns = 0;
    }
    g->dirty = true;
}

static void cosched_on_pod(void *priv, const struct cs_pod *old, const struct cs_pod *new_pod)
{
    struct cosched *cs = priv;
    count(cs, old, -1);
    count(cs, new_pod, +1);
}

/* ---- preemption: a satisfied gang loses members only as a whole (scheduling thread) ------- */

static bool cosched_victims_ok(void *priv, const struct cs_pod *preemptor,
                               struct cs_pod *const *victims, uint32_t n)
{
    (void)preemptor;
    struct cosched *cs = priv;
    for (uint32_t i = 0; i < n; i++) {
        struct cs_gang_decl d;
        if (!cs_gang_decl_parse(victims[i], &d)) {
            continue;
        }
        const struct gang *g = cs_map_get(&cs->gangs, gang_key(cs, victims[i], d.name));
        if (g == NULL || g->min <= 0) {
            continue;
        }
        uint32_t k = 0;
        for (uint32_t j = 0; j < n; j++) {
            struct cs_gang_decl dj;
            k += cs_gang_decl_parse(victims[j], &dj) && strcmp(dj.name, d.name) == 0 &&
                 strcmp(victims[j]->ns, victims[i]->ns) == 0;
        }
        if (k < g->assigned && g->assigned - k < (uint32_t)g->min) {
            return false;          /* would leave the gang running below its minimum */
        }
    }
    return true;
}

/* ---- PodGroup objects and status (scheduling thread; writes on the bind connection) ------- */

static void write_done(void *arg, long http_status, const char *body)
{
    if (arg && http_status == 404) {
        atomic_store((atomic_bool *)arg, true);   /* the PodGroup CRD is not installed */
    }
    if (http_status >= 300 && http_status != 409 && CS_V(2)) {
        CS_INFO_S("PodGroup write failed", CS_KVI("status", http_status),
                  CS_KV("body", body ? body : ""));
    }
}

/* A label-declared gang gets a PodGroup object so that `kubectl get podgroups` shows it. */
static void ensure_podgroup(struct cosched *cs, struct gang *g)
{
    struct cs_podgroup pg;
    if (g->create_tried || g->min <= 0 || atomic_load(&cs->no_crd) ||
        cs_podgroups_get(&cs->pgs, CS_GANG_API_SIGS, g->ns, g->name, &pg)) {
        return;
    }
    g->create_tried = true;
    struct cs_buf path, body;
    cs_buf_init(&path);
    cs_buf_init(&body);
    cs_buf_printf(&path, "/apis/%s/v1alpha1/namespaces/%s/podgroups", CS_GANG_API_SIGS, g->ns);
    cs_buf_printf(&body,
                  "{\"apiVersion\":\"%s/v1alpha1\",\"kind\":\"PodGroup\",\"metadata\":{\"name\":"
                  "\"%s\",\"namespace\":\"%s\",\"labels\":{\"app.kubernetes.io/managed-by\":"
                  "\"cosched\"}},\"spec\":{\"minMember\":%d}}",
                  CS_GANG_API_SIGS, g->name, g->ns, g->min);
    struct cs_api_write w = { .method = "POST", .path = path.data, .body = body.data,
                              .done = write_done, .arg = &cs->no_crd };
    cs_fw_write(cs->fw, &w);
    cs_buf_free(&path);
    cs_buf_free(&body);
}

/* scheduler-plugins' phases (the CRD's enum), from what the scheduler knows: Scheduling once
 * minMember are bound but fewer run, Unknown while only part of the gang is bound. */
static const char *phase_of(const struct gang *g, int64_t now)
{
    uint32_t min = g->min > 0 ? (uint32_t)g->min : 1;
    if (g->backoff_until_ns > now ||
        (g->failed > 0 && g->failed + g->running + g->succeeded >= min)) {
        return "Failed";
    }
    if (g->succeeded >= min) {
        return "Finished";
    }
    if (g->running + g->succeeded >= min) {
        return "Running";
    }
    if (g->assigned >= min) {
        return "Scheduling";
    }
    if (g->assigned > 0) {
        return "Unknown";
    }
    return "Pending";
}

static void write_status(struct cosched *cs, struct gang *g, int64_t now)
{
    struct cs_podgroup pg;
    if (g->api_group == NULL || !cs_podgroups_get(&cs->pgs, g->api_group, g->ns, g->name, &pg)) {
        return;                    /* no object (yet): nothing to write to */
    }
    const char *phase = phase_of(g, now);
    struct cs_buf path, body;
    cs_buf_init(&path);
    cs_buf_init(&body);
    cs_buf_printf(&path, "/apis/%s/v1alpha1/namespaces/%s/podgroups/%s/status", g->api_group,
                  g->ns, g->name);
    cs_buf_printf(&body,
                  "{\"status\":{\"phase\":\"%s\",\"scheduled\":%u,\"running\":%u,\"succeeded\":"
                  "%u,\"failed\":%u",
                  phase, g->assigned, g->running, g->succeeded, g->failed);
    if (g->start_wall_ns) {
        char ts[40];
        cs_fmt_time(g->start_wall_ns, ts, sizeof(ts));
        cs_buf_printf(&body, ",\"scheduleStartTime\":\"%s\"", ts);
    }
    cs_buf_puts(&body, "}}");
    struct cs_api_write w = { .method = "PATCH", .path = path.data, .body = body.data,
                              .content_type = "application/merge-patch+json",
                              .done = write_done };
    cs_fw_write(cs->fw, &w);
    cs_buf_free(&path);
    cs_buf_free(&body);
    snprintf(g->written_phase, sizeof(g->written_phase), "%s", phase);
    g->last_write_ns = now;
    g->dirty = false;
}

static void cosched_session_open(void *priv, const struct cs_snapshot *snap)
{
    struct cosched *cs = priv;
    cs->snap = snap;
    cs->free_known = false;
}

/* scheduler-plugins' CheckClusterResource, simplified to the cluster's total free resources:
 * a gang whose PodGroup asks minResources waits until that much is free (its bound members'
 * share counts as available to it). Computed once per session, only when asked. */
static bool min_resources_fit(struct cosched *cs, const struct gang *g,
                              const struct cs_podgroup *pg, char *why, size_t n)
{
    if (!pg->has_min_resources || cs->snap == NULL || g->satisfied) {
        return true;
    }
    if (!cs->free_known) {
        memset(&cs->free_total, 0, sizeof(cs->free_total));
        for (uint32_t i = 0; i < cs_snapshot_num_nodes(cs->snap); i++) {
            const struct cs_node_info *ni = cs_snapshot_node_at(cs->snap, i);
            for (int s = 0; s < CS_RES_MAX; s++) {
                int64_t f = ni->allocatable.v[s] - ni->requested.v[s];
                cs->free_total.v[s] += f > 0 ? f : 0;
            }
        }
        cs->free_known = true;
    }
    for (int s = 0; s < CS_RES_MAX; s++) {
        if (!(pg->min_resources.present & (1u << s)) || s == CS_RES_PODS) {
            continue;
        }
        if (cs->free_total.v[s] < pg->min_resources.v[s]) {
            const char *name = cs_resource_name(cs->pgs.names, s);
            snprintf(why, n, "gang %s: minResources not available: %s free %lld, needs %lld",
                     g->key, name ? name : "?", (long long)cs->free_total.v[s],
                     (long long)pg->min_resources.v[s]);
            return false;
        }
    }
    return true;
}

static void cosched_session_close(void *priv)
{
    struct cosched *cs = priv;
    if (cs->fw == NULL) {
        return;
    }
    int64_t now = cs_mono_ns();
    size_t it = 0;
    const char *k;
    void *v;
    bool expired = false;
    while (cs_map_next(&cs->gangs, &it, &k, &v)) {
        struct gang *g = v;
        /* Members of a gang that failed wait for cluster events: its timeout is checked here
         * too, and the change announced so that they hear the gang is refused now. */
        expired = check_timeout(g, now) || expired;
        if (g->backoff_until_ns && g->backoff_until_ns <= now) {
            g->backoff_until_ns = 0;   /* its members wait for a custom event: raise one */
            g->dirty = true;
            expired = true;
        }
        if (g->dirty && now - g->last_write_ns >= STATUS_INTERVAL_NS) {
            write_status(cs, g, now);
        }
    }
    if (expired) {
        cs_fw_raise(cs->fw, "GangTimeout", NULL, NULL);
    }
}

const struct cs_plugin cs_plugin_coscheduling = {
    .abi = CS_PLUGIN_ABI_V1,
    .name = NAME,
    /* A gang refused for lack of members waits for pods to arrive; one refused for its
     * declaration for pod changes; one waiting for its PodGroup for PodGroup events. */
    .events = CS_EV_POD_ADD | CS_EV_POD_UPDATE | CS_EV_CUSTOM,
    .init = cosched_init,
    .destroy = cosched_destroy,
    .session_open = cosched_session_open,
    .session_close = cosched_session_close,
    .on_pod = cosched_on_pod,
    .pod_group = cosched_pod_group,
    .group_valid = cosched_group_valid,
    .group_ready = cosched_group_ready,
    .victims_ok = cosched_victims_ok,
};
