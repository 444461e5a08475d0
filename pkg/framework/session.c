/*
 * Sessions (session.h). The batch becomes units; units run in order through the allocate
 * action, each through one statement; a pod that did not fit may then preempt (its PostFilter
 * result is applied through a statement of evictions and a nomination).
 */
#include "pkg/framework/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/framework/snapshot.h"
#include "pkg/util/alloc.h"
#include "pkg/util/intern.h"
#include "pkg/util/log.h"
#include "pkg/util/timeutil.h"

int cs_session_parse_actions(const char *list, uint32_t *out, char *err, size_t errlen)
{
    uint32_t m = 0;
    const char *p = list;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && *p == ' ') {
            p++;
            n--;
        }
        if (n == 8 && strncmp(p, "allocate", 8) == 0) {
            m |= CS_ACTION_ALLOCATE;
        } else if (n == 7 && strncmp(p, "preempt", 7) == 0) {
            m |= CS_ACTION_PREEMPT;
        } else if (n) {
            snprintf(err, errlen, "unknown session action \"%.*s\" (known: allocate, preempt)",
                     (int)n, p);
            return -1;
        }
        p = e ? e + 1 : NULL;
    }
    if (!(m & CS_ACTION_ALLOCATE)) {
        snprintf(err, errlen, "session actions must include allocate");
        return -1;
    }
    *out = m;
    return 0;
}

static void stmt_notify(void *arg, enum cs_stmt_event ev, const struct cs_pod *pod,
                        const char *node, bool undo);

void cs_session_init(struct cs_session *s, struct cs_snapshot *snap, struct cs_cycle *cycle,
                     struct cs_profile *profiles, uint32_t n_profiles,
                     const struct cs_session_env *env, const struct cs_api_ctx *api,
                     uint32_t actions)
{
    memset(s, 0, sizeof(*s));
    s->snap = snap;
    s->cycle = cycle;
    s->profiles = profiles;
    s->n_profiles = n_profiles;
    s->env = env;
    s->api = api;
    s->actions = actions ? actions : CS_ACTIONS_DEFAULT;
    s->max_group = 100000;
    cs_stmt_init(&s->stmt);
    s->stmt.notify = stmt_notify;
    s->stmt.notify_arg = s;
}

void cs_session_destroy(struct cs_session *s)
{
    cs_stmt_destroy(&s->stmt);
}

/* ---- plugin hooks across profiles --------------------------------------------------------- */

/* Calls fn for each distinct (plugin, priv) of the profiles that has the op (seen dedupes). */
#define FOR_EACH_INSTANCE(profiles, n, in, cond, body)                                          \
    do {                                                                                        \
        for (uint32_t pi_ = 0; pi_ < (n); pi_++) {                                              \
            for (uint32_t ii_ = 0; ii_ < (profiles)[pi_].n_insts; ii_++) {                      \
                const struct cs_fw_inst *in = &(profiles)[pi_].insts[ii_];                      \
                if (!(cond)) {                                                                  \
                    continue;                                                                   \
                }                                                                               \
                bool dup_ = false;                                                              \
                for (uint32_t pj_ = 0; pj_ <= pi_ && !dup_; pj_++) {                            \
                    uint32_t lim_ = pj_ == pi_ ? ii_ : (profiles)[pj_].n_insts;                 \
                    for (uint32_t ij_ = 0; ij_ < lim_; ij_++) {                                 \
                        const struct cs_fw_inst *o_ = &(profiles)[pj_].insts[ij_];              \
                        if (o_->p == in->p && o_->priv == in->priv) {                           \
                            dup_ = true;                                                        \
                            break;                                                              \
                        }                                                                       \
                    }                                                                           \
                }                                                                               \
                if (!dup_) {                                                                    \
                    body;                                                                       \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

void cs_fw_notify_pod(struct cs_profile *profiles, uint32_t n, const struct cs_pod *old,
                      const struct cs_pod *new_pod)
{
    FOR_EACH_INSTANCE(profiles, n, in, in->p->on_pod, in->p->on_pod(in->priv, old, new_pod));
}

void cs_fw_notify_node(struct cs_profile *profiles, uint32_t n, const struct cs_node *old,
                       const struct cs_node *new_node)
{
    FOR_EACH_INSTANCE(profiles, n, in, in->p->on_node, in->p->on_node(in->priv, old, new_node));
}

void cs_fw_notify_pending(struct cs_profile *profiles, uint32_t n, const char *key,
                          const struct cs_pod *pod)
{
    FOR_EACH_INSTANCE(profiles, n, in, in->p->on_pending, in->p->on_pending(in->priv, key, pod));
}

/* The statement's hook: every plugin instance with on_stmt hears of evictions and
 * nominations (and their undoing). */
static void stmt_notify(void *arg, enum cs_stmt_event ev, const struct cs_pod *pod,
                        const char *node, bool undo)
{
    struct cs_session *s = arg;
    FOR_EACH_INSTANCE(s->profiles, s->n_profiles, in, in->p->on_stmt,
                      in->p->on_stmt(in->priv, ev, pod, node, undo));
}

bool cs_fw_wants_changes(struct cs_profile *profiles, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t k = 0; k < profiles[i].n_insts; k++) {
            const struct cs_plugin *p = profiles[i].insts[k].p;
            if (p->on_pod || p->on_node || p->on_pending) {
                return true;
            }
        }
    }
    return false;
}

static void session_open(struct cs_session *s)
{
    FOR_EACH_INSTANCE(s->profiles, s->n_profiles, in, in->p->session_open,
                      in->p->session_open(in->priv, s->snap));
}

static void session_close(struct cs_session *s)
{
    FOR_EACH_INSTANCE(s->profiles, s->n_profiles, in, in->p->session_close,
                      in->p->session_close(in->priv));
}

/* First plugin of the profile with the op. */
static const struct cs_fw_inst *first_with(struct cs_profile *prof, size_t off)
{
    for (uint32_t i = 0; i < prof->n_insts; i++) {
        const struct cs_plugin *p = prof->insts[i].p;
        if (*(void *const *)((const char *)p + off) != NULL) {
            return &prof->insts[i];
        }
    }
    return NULL;
}

const char *cs_session_group_key(const struct cs_api_ctx *api, struct cs_profile *prof,
                                 const struct cs_pod *pod, int32_t *min_member)
{
    *min_member = 0;
    const char *g = cs_fw_pod_group(prof, pod, min_member);
    if (g == NULL) {
        return NULL;
    }
    char buf[512];
    if (strchr(g, '/')) {
        snprintf(buf, sizeof(buf), "%s/%s", prof->name, g);
    } else {
        snprintf(buf, sizeof(buf), "%s/%s/%s", prof->name, pod->ns, g);
    }
    return cs_intern(api->strings, buf);
}

/* ---- units -------------------------------------------------------------------------------- */

struct unit {
    struct cs_profile *prof;
    const char *key;               /* group key, NULL for a single pod */
    const char *group;             /* "ns/name" (or the plugin's qualified name) */
    int32_t min_member;
    struct cs_qentry **m;          /* members */
    const struct cs_pod **pods;    /* members' pods (group_view), filled before the hooks */
    uint32_t n;
    uint32_t cap;
    int32_t priority;
    int64_t timestamp;
    uint32_t order;                /* batch position (stable sort) */
};

static void unit_add(struct unit *u, struct cs_qentry *e)
{
    if (u->n == u->cap) {
        u->cap = u->cap ? u->cap * 2 : 4;
        u->m = cs_realloc(u->m, sizeof(*u->m) * u->cap);
    }
    u->m[u->n++] = e;
    const struct cs_pod *pod = e->qp.pod;
    if (u->n == 1 || pod->priority > u->priority) {
        u->priority = pod->priority;
    }
    if (u->n == 1 || e->qp.timestamp_ns < u->timestamp) {
        u->timestamp = e->qp.timestamp_ns;
    }
}

static void group_view(const struct unit *u, struct cs_group_view *v, uint32_t assigned,
                       uint32_t placed)
{
    memset(v, 0, sizeof(*v));
    v->name = u->group;
    v->members = (const struct cs_pod *const *)u->pods;
    v->min_member = u->min_member;
    v->n_pending = u->n;
    v->n_assigned = assigned;
    v->n_placed = placed;
    v->priority = u->priority;
}

static int unit_cmp(const void *pa, const void *pb)
{
    const struct unit *a = pa, *b = pb;
    if (a->prof == b->prof && a->key && b->key) {
        const struct cs_fw_inst *in = first_with(a->prof, offsetof(struct cs_plugin, group_less));
        if (in) {
            struct cs_group_view va, vb;
            group_view(a, &va, 0, 0);
            group_view(b, &vb, 0, 0);
            if (in->p->group_less(in->priv, &va, &vb)) {
                return -1;
            }
            if (in->p->group_less(in->priv, &vb, &va)) {
                return 1;
            }
            return a->order < b->order ? -1 : 1;
        }
    }
    if (a->priority != b->priority) {
        return a->priority > b->priority ? -1 : 1;
    }
    if (a->key == NULL && b->key == NULL) {
        return a->order < b->order ? -1 : 1;   /* the queue already ordered single pods */
    }
    if (a->timestamp != b->timestamp) {
        return a->timestamp < b->timestamp ? -1 : 1;
    }
    return a->order < b->order ? -1 : (a->order > b->order);
}

/* ---- allocate ----------------------------------------------------------------------------- */

static double since(int64_t t0)
{
    return (double)(cs_mono_ns() - t0) / 1e9;
}

static void fail_quiet(struct cs_session *s, struct cs_qentry *e, struct cs_profile *prof,
                       enum cs_code code, const char *msg, uint32_t events, int64_t t0, bool quiet)
{
    struct cs_sched_result r;
    memset(&r, 0, sizeof(r));
    r.code = code;
    r.message = msg;
    r.reject_events = events;
    r.quiet = quiet;
    s->env->failed(s->env->arg, e, prof, &r, since(t0));
}

static void fail_with(struct cs_session *s, struct cs_qentry *e, struct cs_profile *prof,
                      enum cs_code code, const char *msg, uint32_t events, int64_t t0)
{
    fail_quiet(s, e, prof, code, msg, events, t0, false);
}

/* The member that carries a group's Event: the same one every time (the smallest key), so a
 * failure repeated on every retry is recorded once. */
static uint32_t event_member(const struct unit *u)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < u->n; i++) {
        if (strcmp(u->m[i]->qp.pod->key, u->m[best]->qp.pod->key) < 0) {
            best = i;
        }
    }
    return best;
}

/* Every member of a group fails with one message; one Event for the group, a condition on
 * each. */
static void fail_group(struct cs_session *s, const struct unit *u, const char *msg,
                       uint32_t events, int64_t t0)
{
    uint32_t ev = event_member(u);
    for (uint32_t i = 0; i < u->n; i++) {
        fail_quiet(s, u->m[i], u->prof, CS_UNSCHEDULABLE, msg, events, t0, i != ev);
    }
}

/* Apply a PostFilter nomination: evict the victims and nominate the node, through a statement
 * committed whole. Returns true when committed. */
static bool preempt(struct cs_session *s, struct cs_qentry *e, struct cs_profile *prof,
                    const struct cs_sched_result *res, int64_t t0)
{
    const struct cs_preempt_result *pr = &res->preempt;
    if (!(s->actions & CS_ACTION_PREEMPT) || pr->node == NULL) {
        return false;
    }
    struct cs_node_info *ni = cs_snapshot_get(s->snap, pr->node);
    if (ni == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < pr->n_victims; i++) {
        if (cs_stmt_evict(&s->stmt, s->snap, pr->victims[i]) != 0) {
            CS_WARN_S("Preemption victim is no longer on its node; not preempting",
                      CS_KV("pod", e->qp.pod->key), CS_KV("victim", pr->victims[i]->key));
            cs_stmt_discard(&s->stmt, s->snap);
            return false;
        }
    }
    cs_stmt_nominate(&s->stmt, res->att, (struct cs_pod *)e->qp.pod, ni, e);
    const char *why = NULL;
    if (s->env->commit(s->env->arg, &s->stmt, t0, &why) != 0) {
        cs_stmt_discard(&s->stmt, s->snap);
        CS_WARN_S("Preemption not committed", CS_KV("pod", e->qp.pod->key),
                  CS_KV("err", why ? why : "?"));
        return false;
    }
    (void)prof;
    return true;
}

static void run_single(struct cs_session *s, struct unit *u)
{
    struct cs_qentry *e = u->m[0];
    struct cs_profile *prof = u->prof;
    struct cs_cycle *c = s->cycle;
    int64_t t0 = cs_mono_ns();
    struct cs_pod *pod = (struct cs_pod *)e->qp.pod;
    struct cs_sched_result res;
    cs_fw_schedule_pod(prof, c, pod, &res);
    if (s->env->observe) {
        s->env->observe(s->env->arg, prof, &res);
    }
    if (res.code == CS_SUCCESS) {
        struct cs_status st = { 0 };
        enum cs_code code = cs_stmt_allocate(&s->stmt, s->snap, res.att, pod, res.node, e, &st);
        const char *why = NULL;
        if (code != CS_SUCCESS) {
            cs_fw_unreserve(res.att, pod, res.node->name);
            why = cs_arena_printf(&c->arena, "running PreBind plugin \"%s\": %s",
                                  st.plugin ? st.plugin : "?",
                                  st.n_reasons ? st.reasons[0] : cs_code_name(code));
        } else if (s->env->commit(s->env->arg, &s->stmt, t0, &why) != 0) {
            cs_stmt_discard(&s->stmt, s->snap);
        } else {
            why = NULL;
            goto done;
        }
        if (why) {
            fail_with(s, e, prof, CS_ERROR, why, 0, t0);
        }
    } else {
        bool nominated = preempt(s, e, prof, &res, t0);
        (void)nominated;
        s->env->failed(s->env->arg, e, prof, &res, since(t0));
    }
done:
    cs_cycle_reset(c);
}

/* Gang preemption (the group could not be placed as the cluster stands). A dry run on the
 * snapshot places the members one by one, and for a member that does not fit, evicts the
 * victims its PostFilter chose (the platform's engine, with every plugin's may_evict and
 * victims_ok) and places it. Only when the whole group is then ready is anything done: one
 * statement evicts every victim and nominates every member to its node; the members bind once
 * the victims are gone (their nominations keep lower-priority pods out meanwhile). Returns the
 * number of victims, 0 when nothing was done. */
static uint32_t preempt_group(struct cs_session *s, struct unit *u, uint32_t assigned,
                              int64_t t0)
{
    struct cs_profile *prof = u->prof;
    struct cs_cycle *c = s->cycle;
    struct cs_node_info **node = cs_calloc(u->n, sizeof(*node));
    struct cs_fw_attempt **att = cs_calloc(u->n, sizeof(*att));
    bool *ok = cs_calloc(u->n, sizeof(*ok));
    uint32_t cap = 16, n_vict = 0, placed = 0;
    struct cs_pod **vict = cs_malloc(sizeof(*vict) * cap);
    bool feasible = true;
    for (uint32_t i = 0; i < u->n && feasible; i++) {
        struct cs_pod *pod = (struct cs_pod *)u->m[i]->qp.pod;
        struct cs_sched_result res;
        cs_fw_schedule_pod(prof, c, pod, &res);
        if (res.code != CS_SUCCESS) {
            const struct cs_preempt_result *pr = &res.preempt;
            feasible = res.code == CS_UNSCHEDULABLE && pr->node != NULL && pr->n_victims > 0;
            for (uint32_t k = 0; feasible && k < pr->n_victims; k++) {
                if (cs_stmt_evict(&s->stmt, s->snap, pr->victims[k]) != 0) {
                    feasible = false;
                    break;
                }
                if (n_vict == cap) {
                    cap *= 2;
                    vict = cs_realloc(vict, sizeof(*vict) * cap);
                }
                vict[n_vict++] = cs_pod_ref(pr->victims[k]);
            }
            cs_cycle_reset(c);
            if (!feasible) {
                break;
            }
            cs_fw_schedule_pod(prof, c, pod, &res);   /* room made: place it */
            feasible = res.code == CS_SUCCESS;
            if (!feasible) {
                break;
            }
        }
        struct cs_status st = { 0 };
        if (cs_stmt_allocate(&s->stmt, s->snap, res.att, pod, res.node, u->m[i], &st) !=
            CS_SUCCESS) {
            cs_fw_unreserve(res.att, pod, res.node->name);
            feasible = false;
            break;
        }
        node[i] = res.node;
        att[i] = res.att;
        ok[i] = true;
        placed++;
        cs_cycle_reset(c);
    }
    bool ready = false;
    if (feasible && n_vict > 0) {
        struct cs_group_view v;
        group_view(u, &v, assigned, placed);
        v.placed = ok;
        const struct cs_fw_inst *rd = first_with(prof, offsetof(struct cs_plugin, group_ready));
        ready = rd ? rd->p->group_ready(rd->priv, &v)
                   : (int64_t)placed + assigned >= (int64_t)u->min_member;
    }
    cs_stmt_discard(&s->stmt, s->snap);    /* the dry run: undone whatever the outcome */
    uint32_t done = 0;
    if (ready) {
        bool all = true;
        for (uint32_t k = 0; k < n_vict && all; k++) {
            all = cs_stmt_evict(&s->stmt, s->snap, vict[k]) == 0;
        }
        for (uint32_t i = 0; i < u->n && all; i++) {
            if (ok[i]) {
                cs_stmt_nominate(&s->stmt, att[i], (struct cs_pod *)u->m[i]->qp.pod, node[i],
                                 u->m[i]);
            }
        }
        const char *why = NULL;
        if (all && s->env->commit(s->env->arg, &s->stmt, t0, &why) == 0) {
            done = n_vict;
            CS_INFO_S("Pod group preempting", CS_KV("group", u->key), CS_KVI("members", placed),
                      CS_KVI("victims", n_vict));
        } else {
            cs_stmt_discard(&s->stmt, s->snap);
            CS_WARN_S("Pod group preemption not committed", CS_KV("group", u->key),
                      CS_KV("err", why ? why : "a victim is gone"));
        }
    }
    for (uint32_t k = 0; k < n_vict; k++) {
        cs_pod_unref(vict[k]);
    }
    cs_free(vict);
    cs_free(node);
    cs_free(att);
    cs_free(ok);
    return done;
}

static void run_group(struct cs_session *s, struct unit *u)
{
    struct cs_profile *prof = u->prof;
    struct cs_cycle *c = s->cycle;
    int64_t t0 = cs_mono_ns();
    uint32_t assigned = s->env->group_assigned ? s->env->group_assigned(s->env->arg, u->key) : 0;
    struct cs_group_view v;
    group_view(u, &v, assigned, 0);

    const struct cs_fw_inst *valid = first_with(prof, offsetof(struct cs_plugin, group_valid));
    struct cs_status vst = { 0 };
    if (valid && !valid->p->group_valid(valid->priv, &v, &vst)) {
        const char *msg = cs_arena_printf(&c->arena, "pod group %s: %s", u->group,
                                          vst.n_reasons ? vst.reasons[0] : "not valid yet");
        /* The members wait for the events of the plugin that refused the group; refused as
         * unresolvable, only for the plugin's own (custom) events. */
        uint32_t ev = vst.code == CS_UNSCHEDULABLE_AND_UNRESOLVABLE
                          ? CS_EV_CUSTOM
                          : (valid->p->events ? valid->p->events : CS_EV_ALL);
        fail_group(s, u, msg, ev, t0);
        cs_cycle_reset(c);
        return;
    }
    if ((int64_t)u->n + assigned < (int64_t)u->min_member) {
        /* Stable text (no running count): members arrive one by one and each arrival retries
         * the group, which must not rewrite every member's condition. */
        const char *msg = cs_arena_printf(
            &c->arena, "pod group %s: waiting for members: fewer than %d pending, bound or assumed",
            u->group, u->min_member);
        if (CS_V(4)) {
            CS_INFO_S("Pod group short of members", CS_KV("group", u->key),
                      CS_KVI("pending", u->n), CS_KVI("assigned", assigned),
                      CS_KVI("minMember", u->min_member));
        }
        fail_group(s, u, msg, CS_EV_POD_ADD | CS_EV_CUSTOM, t0);
        cs_cycle_reset(c);
        return;
    }

    uint32_t placed = 0;
    bool may_preempt = false;      /* some member's PostFilter found victims */
    char **msgs = cs_calloc(u->n, sizeof(*msgs));
    uint32_t *events = cs_calloc(u->n, sizeof(*events));
    bool *ok = cs_calloc(u->n, sizeof(*ok));
    for (uint32_t i = 0; i < u->n; i++) {
        struct cs_pod *pod = (struct cs_pod *)u->m[i]->qp.pod;
        struct cs_sched_result res;
        cs_fw_schedule_pod(prof, c, pod, &res);
        if (s->env->observe) {
            s->env->observe(s->env->arg, prof, &res);
        }
        if (res.code == CS_SUCCESS) {
            struct cs_status st = { 0 };
            enum cs_code code = cs_stmt_allocate(&s->stmt, s->snap, res.att, pod, res.node,
                                                 u->m[i], &st);
            if (code == CS_SUCCESS) {
                ok[i] = true;
                placed++;
            } else {
                cs_fw_unreserve(res.att, pod, res.node->name);
                msgs[i] = cs_strdup(st.n_reasons ? st.reasons[0] : "PreBind failed");
            }
        } else {
            msgs[i] = cs_strdup(res.message ? res.message : "scheduling failed");
            events[i] = res.reject_events;
            may_preempt = may_preempt || (res.preempt.node && res.preempt.n_victims);
        }
        cs_cycle_reset(c);
    }
    group_view(u, &v, assigned, placed);
    v.placed = ok;
    const struct cs_fw_inst *rd = first_with(prof, offsetof(struct cs_plugin, group_ready));
    bool ready = rd ? rd->p->group_ready(rd->priv, &v)
                    : (int64_t)placed + assigned >= (int64_t)u->min_member;
    const char *why = NULL;
    if (ready && placed > 0 && s->env->commit(s->env->arg, &s->stmt, t0, &why) == 0) {
        s->groups_committed++;
        for (uint32_t i = 0; i < u->n; i++) {
            if (!ok[i]) {
                fail_with(s, u->m[i], prof, CS_UNSCHEDULABLE, msgs[i], events[i], t0);
            }
        }
    } else if (ready && placed == 0) {
        /* Nothing to commit: the group is complete without these pods. */
        for (uint32_t i = 0; i < u->n; i++) {
            fail_with(s, u->m[i], prof, CS_UNSCHEDULABLE, msgs[i], events[i], t0);
        }
    } else {
        cs_stmt_discard(&s->stmt, s->snap);
        s->groups_discarded++;
        uint32_t victims = 0;
        if (why == NULL && may_preempt && (s->actions & CS_ACTION_PREEMPT)) {
            cs_cycle_reset(c);
            victims = preempt_group(s, u, assigned, t0);
        }
        if (victims) {
            const char *msg = cs_arena_printf(
                &c->arena, "pod group %s: preempting %u lower-priority pods to make room",
                u->group, victims);
            fail_group(s, u, msg, CS_EV_POD_DELETE | CS_EV_CUSTOM, t0);
            goto out;
        }
        const char *first = NULL;
        uint32_t ev = 0, evm = event_member(u);
        for (uint32_t i = 0; i < u->n; i++) {
            if (msgs[i] && first == NULL) {
                first = msgs[i];
            }
            ev |= events[i];
        }
        for (uint32_t i = 0; i < u->n; i++) {
            const char *msg;
            if (why) {
                msg = cs_arena_printf(&c->arena, "pod group %s: not committed: %s", u->group, why);
            } else {
                msg = cs_arena_printf(
                    &c->arena,
                    "pod group %s: only %u of %u pending pods could be placed together "
                    "(%u bound or assumed), %d needed%s%s",
                    u->group, placed, u->n, assigned, u->min_member,
                    msgs[i] ? ": " : (first ? "; e.g. " : ""),
                    msgs[i] ? msgs[i] : (first ? first : ""));
            }
            fail_quiet(s, u->m[i], prof, why ? CS_ERROR : CS_UNSCHEDULABLE, msg,
                       why ? 0
                           : (ev ? ev : CS_EV_ALL) | CS_EV_POD_ADD | CS_EV_POD_DELETE |
                                 CS_EV_CUSTOM,   /* group plugins announce their changes */
                       t0, i != evm);
        }
    }
out:
    for (uint32_t i = 0; i < u->n; i++) {
        cs_free(msgs[i]);
    }
    cs_free(msgs);
    cs_free(events);
    cs_free(ok);
    cs_cycle_reset(c);
}

void cs_session_run(struct cs_session *s, struct cs_qentry **batch, size_t n)
{
    s->units = 0;
    session_open(s);
    struct unit *units = cs_calloc(n ? n : 1, sizeof(*units));
    uint32_t nu = 0;
    struct cs_map by_key;
    cs_map_init(&by_key);
    for (size_t i = 0; i < n; i++) {
        struct cs_qentry *e = batch[i];
        struct cs_profile *prof = s->env->profile_for(s->env->arg, e->qp.pod);
        if (prof == NULL) {
            s->env->drop(s->env->arg, e);
            continue;
        }
        int32_t min_member = 0;
        const char *key = cs_session_group_key(s->api, prof, e->qp.pod, &min_member);
        uintptr_t at = key ? (uintptr_t)cs_map_get(&by_key, key) : 0;   /* index + 1 */
        struct unit *u;
        if (at == 0) {
            u = &units[nu];
            u->prof = prof;
            u->key = key;
            u->order = nu++;
            if (key) {
                u->group = key + strlen(prof->name) + 1;
                u->min_member = min_member;
                cs_map_put(&by_key, key, (void *)(uintptr_t)nu);
            }
        } else {
            u = &units[at - 1];
        }
        if (key && min_member > u->min_member) {
            u->min_member = min_member;
        }
        unit_add(u, e);
    }
    cs_map_destroy(&by_key);
    /* The rest of every group, from wherever it waits in the queue. */
    for (uint32_t i = 0; i < nu; i++) {
        struct unit *u = &units[i];
        if (u->key == NULL || s->env->take_group == NULL) {
            continue;
        }
        struct cs_qentry *more[256];
        size_t got;
        while (u->n < s->max_group &&
               (got = s->env->take_group(s->env->arg, u->key, more,
                                         sizeof(more) / sizeof(more[0]))) > 0) {
            for (size_t k = 0; k < got; k++) {
                unit_add(u, more[k]);
            }
        }
    }
    for (uint32_t i = 0; i < nu; i++) {
        struct unit *u = &units[i];
        if (u->key) {
            u->pods = cs_malloc(sizeof(*u->pods) * u->n);
            for (uint32_t k = 0; k < u->n; k++) {
                u->pods[k] = u->m[k]->qp.pod;
            }
        }
    }
    qsort(units, nu, sizeof(*units), unit_cmp);
    for (uint32_t i = 0; i < nu; i++) {
        struct unit *u = &units[i];
        s->units++;
        if (u->key) {
            run_group(s, u);
        } else {
            run_single(s, u);
        }
        cs_cycle_release(s->cycle);   /* no statement holds this unit's pods any more */
        cs_free(u->m);
        cs_free(u->pods);
    }
    cs_free(units);
    session_close(s);
}
