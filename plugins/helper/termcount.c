/*
 * Term counts kept current by snapshot node versions (design: termcount.h).
 *
 * An entry mirrors, per snapshot node index, the version it last counted the node at, the
 * count and the node's domain; domain totals are adjusted by differences on every rescan, so
 * they always equal the sum over the mirrored nodes.
 */
#include "plugins/helper/termcount.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/framework/snapshot.h"
#include "pkg/util/alloc.h"
#include "pkg/util/map.h"
#include "pkg/util/selector.h"

struct tc_entry {
    char *id;                      /* identity, the map's key */
    struct cs_selector *sel;       /* heap; NULL = matches no pod */
    char *ns;                      /* the term's namespace when ns_match is NULL */
    const char *topo;
    bool skip_terminating;
    const struct cs_snapshot *snap;
    uint64_t epoch;
    bool built;
    uint64_t used;                 /* tick of the last read */
    uint32_t cap_nodes;
    uint64_t *ver;
    int32_t *count;
    int32_t *dom;
    struct cs_map dom_ids;         /* value -> (uintptr_t)(id + 1); keys are dvalue strings */
    char **dvalue;
    int64_t *dcount;
    int32_t *dnodes;
    uint32_t n_dom, cap_dom;
    int64_t total;
    struct cs_tc_view view;
};

struct cs_tc {
    struct cs_map by_id;
    uint32_t max_entries;
    uint64_t tick;
    uint64_t rescans;
};

struct cs_tc *cs_tc_new(uint32_t max_entries)
{
    struct cs_tc *tc = cs_calloc(1, sizeof(*tc));
    cs_map_init(&tc->by_id);
    tc->max_entries = max_entries ? max_entries : 1;
    tc->tick = 1;
    return tc;
}

static void entry_clear_domains(struct tc_entry *e)
{
    for (uint32_t d = 0; d < e->n_dom; d++)
        free(e->dvalue[d]);
    e->n_dom = 0;
    cs_map_destroy(&e->dom_ids);
    cs_map_init(&e->dom_ids);
    e->total = 0;
}

static void entry_free(struct tc_entry *e)
{
    entry_clear_domains(e);
    cs_map_destroy(&e->dom_ids);
    cs_selector_free(e->sel);
    free(e->dvalue);
    free(e->dcount);
    free(e->dnodes);
    free(e->ver);
    free(e->count);
    free(e->dom);
    free(e->ns);
    free(e->id);
    free(e);
}

void cs_tc_free(struct cs_tc *tc)
{
    if (!tc)
        return;
    const char *k;
    void *v;
    for (size_t it = 0; cs_map_next(&tc->by_id, &it, &k, &v);)
        entry_free(v);
    cs_map_destroy(&tc->by_id);
    free(tc);
}

void cs_tc_begin(struct cs_tc *tc) { tc->tick++; }

uint32_t cs_tc_entries(const struct cs_tc *tc) { return (uint32_t)cs_map_len(&tc->by_id); }
uint64_t cs_tc_rescans(const struct cs_tc *tc) { return tc->rescans; }

static char *term_id(const struct cs_tc_term *t)
{
    const char *nsk = t->ns_key ? t->ns_key : "";
    const char *ns = t->ns_match ? "" : (t->ns ? t->ns : "");
    const char *sel = t->selector ? t->selector : "\x01";   /* NULL selector != "" */
    const char *topo = t->topology_key ? t->topology_key : "";
    size_t n = strlen(nsk) + strlen(ns) + strlen(sel) + strlen(topo) + 8;
    char *id = cs_malloc(n);
    snprintf(id, n, "%s\x1f%s\x1f%s\x1f%s\x1f%c", nsk, ns, sel, topo,
             t->skip_terminating ? 't' : 'a');
    return id;
}

static void evict_one(struct cs_tc *tc)
{
    const char *k, *victim = NULL;
    void *v;
    uint64_t oldest = UINT64_MAX;
    for (size_t it = 0; cs_map_next(&tc->by_id, &it, &k, &v);) {
        const struct tc_entry *e = v;
        if (e->used < tc->tick && e->used < oldest) {
            oldest = e->used;
            victim = k;
        }
    }
    if (victim)
        entry_free(cs_map_del(&tc->by_id, victim));
}

static struct tc_entry *entry_get(struct cs_tc *tc, const struct cs_tc_term *t, char *err,
                                  size_t errlen)
{
    char *id = term_id(t);
    struct tc_entry *e = cs_map_get(&tc->by_id, id);
    if (e) {
        free(id);
        e->used = tc->tick;
        return e;
    }
    struct cs_selector *sel = NULL;
    if (t->selector && cs_selector_parse(t->selector, NULL, &sel, err, errlen) != 0) {
        free(id);
        return NULL;
    }
    if (cs_map_len(&tc->by_id) >= tc->max_entries)
        evict_one(tc);
    e = cs_calloc(1, sizeof(*e));
    e->id = id;
    e->sel = sel;
    e->ns = (!t->ns_match && t->ns) ? strdup(t->ns) : NULL;
    e->topo = t->topology_key;
    e->skip_terminating = t->skip_terminating;
    e->used = tc->tick;
    cs_map_init(&e->dom_ids);
    cs_map_put(&tc->by_id, e->id, e);
    return e;
}

static bool pod_counts(const struct tc_entry *e, const struct cs_tc_term *t,
                       const struct cs_pod *p)
{
    if (!e->sel)
        return false;
    if (e->skip_terminating && p->deletion_ns)
        return false;
    if (t->ns_match) {
        if (!t->ns_match(t->ns_arg, p->ns))
            return false;
    } else if (!e->ns || !p->ns || (p->ns != e->ns && strcmp(p->ns, e->ns) != 0)) {
        return false;
    }
    return cs_selector_matches(e->sel, p->labels, p->n_labels) != 0;
}

bool cs_tc_term_matches(struct cs_tc *tc, const struct cs_tc_term *t, const struct cs_pod *pod)
{
    char err[256];
    const struct tc_entry *e = entry_get(tc, t, err, sizeof(err));
    return e && pod_counts(e, t, pod);
}

static int32_t domain_of(struct tc_entry *e, const struct cs_node_info *ni)
{
    const char *v = (ni->node && e->topo) ? cs_node_label(ni->node, e->topo) : NULL;
    if (!v)
        return -1;
    void *got = cs_map_get(&e->dom_ids, v);
    if (got)
        return (int32_t)((uintptr_t)got - 1);
    if (e->n_dom == e->cap_dom) {
        e->cap_dom = e->cap_dom ? 2 * e->cap_dom : 16;
        e->dvalue = cs_realloc(e->dvalue, e->cap_dom * sizeof(*e->dvalue));
        e->dcount = cs_realloc(e->dcount, e->cap_dom * sizeof(*e->dcount));
        e->dnodes = cs_realloc(e->dnodes, e->cap_dom * sizeof(*e->dnodes));
    }
    uint32_t d = e->n_dom++;
    e->dvalue[d] = strdup(v);
    e->dcount[d] = 0;
    e->dnodes[d] = 0;
    cs_map_put(&e->dom_ids, e->dvalue[d], (void *)(uintptr_t)(d + 1));
    return (int32_t)d;
}

static int32_t count_node(const struct tc_entry *e, const struct cs_tc_term *t,
                          const struct cs_node_info *ni)
{
    int32_t c = 0;
    for (uint32_t j = 0; j < ni->n_pods; j++)
        c += pod_counts(e, t, ni->pods[j]);
    return c;
}

int32_t cs_tc_count_node(struct cs_tc *tc, const struct cs_tc_term *t,
                         const struct cs_node_info *ni)
{
    char err[256];
    const struct tc_entry *e = entry_get(tc, t, err, sizeof(err));
    return e ? count_node(e, t, ni) : 0;
}

/* Bring node i up to date: take the old count out of its old domain, put the new one in. */
static void rescan(struct cs_tc *tc, struct tc_entry *e, const struct cs_tc_term *t,
                   const struct cs_node_info *ni, uint32_t i, uint64_t ver)
{
    int32_t d0 = e->dom[i], c0 = e->count[i];
    if (d0 >= 0) {
        e->dcount[d0] -= c0;
        e->dnodes[d0]--;
        e->total -= c0;
    }
    int32_t d1 = domain_of(e, ni);
    int32_t c1 = count_node(e, t, ni);
    if (d1 >= 0) {
        e->dcount[d1] += c1;
        e->dnodes[d1]++;
        e->total += c1;
    }
    e->dom[i] = d1;
    e->count[i] = c1;
    e->ver[i] = ver;
    tc->rescans++;
}

const struct cs_tc_view *cs_tc_get(struct cs_tc *tc, const struct cs_snapshot *snap,
                                   const struct cs_tc_term *t, char *err, size_t errlen)
{
    struct tc_entry *e = entry_get(tc, t, err, errlen);
    if (!e)
        return NULL;
    uint32_t n = snap->n_list;
    if (!e->built || e->snap != snap || e->epoch != snap->epoch) {
        if (n > e->cap_nodes) {
            e->cap_nodes = n;
            e->ver = cs_realloc(e->ver, n * sizeof(*e->ver));
            e->count = cs_realloc(e->count, n * sizeof(*e->count));
            e->dom = cs_realloc(e->dom, n * sizeof(*e->dom));
        }
        entry_clear_domains(e);
        for (uint32_t i = 0; i < n; i++) {
            e->dom[i] = -1;
            e->count[i] = 0;
            rescan(tc, e, t, snap->list[i], i, snap->vers[i]);
        }
        e->snap = snap;
        e->epoch = snap->epoch;
        e->built = true;
    } else {
        const uint64_t *vers = snap->vers;
        for (uint32_t i = 0; i < n; i++)
            if (vers[i] != e->ver[i])
                rescan(tc, e, t, snap->list[i], i, vers[i]);
    }
    e->view = (struct cs_tc_view){
        .n_nodes = n,
        .node_count = e->count,
        .node_domain = e->dom,
        .node_version = e->ver,
        .n_domains = e->n_dom,
        .domain_value = (const char *const *)e->dvalue,
        .domain_count = e->dcount,
        .domain_nodes = e->dnodes,
        .total = e->total,
    };
    return &e->view;
}
