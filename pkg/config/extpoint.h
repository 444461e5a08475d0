#ifndef CS_PKG_CONFIG_EXTPOINT_H
#define CS_PKG_CONFIG_EXTPOINT_H
/*
 * Scheduling-framework extension points, in the order a pod meets them. multiPoint is a
 * configuration shorthand, not a point of its own. The name tables are const; any thread.
 */

enum cs_ext_point {
    CS_EP_PRE_ENQUEUE,
    CS_EP_QUEUE_SORT,
    CS_EP_PRE_FILTER,
    CS_EP_FILTER,
    CS_EP_POST_FILTER,
    CS_EP_PRE_SCORE,
    CS_EP_SCORE,
    CS_EP_RESERVE,
    CS_EP_PERMIT,
    CS_EP_PRE_BIND,
    CS_EP_BIND,
    CS_EP_POST_BIND,
    CS_EP_COUNT
};

/* "PreFilter" etc., as kube-scheduler names points in metrics labels; "?" when out of range. */
const char *cs_ext_point_name(enum cs_ext_point ep);
/* "preFilter" etc., the key under profiles[].plugins; "?" when out of range. */
const char *cs_ext_point_config_key(enum cs_ext_point ep);
/* Reverse of cs_ext_point_config_key; returns CS_EP_COUNT when key is not an extension point
 * (note: "multiPoint" is not one). */
enum cs_ext_point cs_ext_point_from_config_key(const char *key);

#endif
