#ifndef CS_PKG_FRAMEWORK_SNAPSHOT_H
#define CS_PKG_FRAMEWORK_SNAPSHOT_H
/*
 * The scheduling snapshot: the scheduler thread's private copy of every node info, refreshed
 * incrementally from the cache before each session (pkg/cache copies only nodes whose
 * generation moved). Sessions mutate it tentatively through statements (pkg/framework/
 * statement.h) and undo what they discard, so between sessions it always equals "cache state".
 *
 * Ownership: the snapshot owns its node infos (heap) and the counted references inside them.
 * Thread: only the scheduler thread touches a snapshot; plugins get it read-only.
 */
#include <stdint.h>

#include "api/nodeinfo.h"
#include "api/plugin.h"
#include "pkg/util/map.h"

struct cs_snapshot {
    struct cs_node_info **list;   /* infos that have a Node object, stable order */
    uint32_t n_list;
    uint32_t cap_list;
    struct cs_map by_name;        /* node name -> struct cs_node_info * (incl. placeholders) */
    struct cs_map images;         /* image name (owned copy) -> (uintptr_t) number of nodes */
    uint64_t generation;          /* cache generation this snapshot reflects */
    uint64_t versions;            /* last per-node version handed out (see below) */
    uint64_t *vers;               /* vers[i] = list[i]->generation, dense for fast scans */
    uint64_t epoch;               /* bumped when the node list or the image index changes */
    /* Pods with pod (anti-)affinity on listed nodes, kept by every change of a listed node
     * (so that InterPodAffinity can tell "none anywhere" without visiting every node). */
    uint64_t pods_with_affinity;
    uint64_t pods_with_required_anti_affinity;
    uint32_t *aff_n, *anti_n;     /* per list index: what the totals hold for that node */
};
/* Inside a snapshot, a node info's `generation` is a per-node version that strictly increases
 * on every change (refresh from the cache, or a statement adding/removing a pod), so a cached
 * per-node result is valid exactly while the version it was computed at is current. */

void cs_snapshot_init(struct cs_snapshot *s);
void cs_snapshot_destroy(struct cs_snapshot *s);
/* Insert or refresh the copy of src (matched by name); returns the snapshot's info. */
struct cs_node_info *cs_snapshot_upsert(struct cs_snapshot *s, const struct cs_node_info *src);
/* Drop a node (no-op when absent). */
void cs_snapshot_remove(struct cs_snapshot *s, const char *name);
/* Mutable lookup for statements; NULL when absent. */
struct cs_node_info *cs_snapshot_get(struct cs_snapshot *s, const char *name);
/* After a statement (or an undo) changed a node's pods in place: publish the node's new
 * version in the dense `vers` array. Every in-place change of a listed node must call it. */
void cs_snapshot_touch(struct cs_snapshot *s, struct cs_node_info *ni);

#endif
