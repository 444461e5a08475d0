/*
 * Const name tables for the extension points: the metric label form ("PreFilter") and the
 * configuration key form ("preFilter"). Indexed by enum cs_ext_point.
 */
#include "pkg/config/extpoint.h"

#include <string.h>

static const char *const ep_names[CS_EP_COUNT] = {
    [CS_EP_PRE_ENQUEUE] = "PreEnqueue", [CS_EP_QUEUE_SORT] = "QueueSort",
    [CS_EP_PRE_FILTER] = "PreFilter",   [CS_EP_FILTER] = "Filter",
    [CS_EP_POST_FILTER] = "PostFilter", [CS_EP_PRE_SCORE] = "PreScore",
    [CS_EP_SCORE] = "Score",            [CS_EP_RESERVE] = "Reserve",
    [CS_EP_PERMIT] = "Permit",          [CS_EP_PRE_BIND] = "PreBind",
    [CS_EP_BIND] = "Bind",              [CS_EP_POST_BIND] = "PostBind",
};

static const char *const ep_keys[CS_EP_COUNT] = {
    [CS_EP_PRE_ENQUEUE] = "preEnqueue", [CS_EP_QUEUE_SORT] = "queueSort",
    [CS_EP_PRE_FILTER] = "preFilter",   [CS_EP_FILTER] = "filter",
    [CS_EP_POST_FILTER] = "postFilter", [CS_EP_PRE_SCORE] = "preScore",
    [CS_EP_SCORE] = "score",            [CS_EP_RESERVE] = "reserve",
    [CS_EP_PERMIT] = "permit",          [CS_EP_PRE_BIND] = "preBind",
    [CS_EP_BIND] = "bind",              [CS_EP_POST_BIND] = "postBind",
};

const char *cs_ext_point_name(enum cs_ext_point ep)
{
    if ((unsigned)ep >= CS_EP_COUNT) {
        return "?";
    }
    return ep_names[ep];
}

const char *cs_ext_point_config_key(enum cs_ext_point ep)
{
    if ((unsigned)ep >= CS_EP_COUNT) {
        return "?";
    }
    return ep_keys[ep];
}

enum cs_ext_point cs_ext_point_from_config_key(const char *key)
{
    for (int i = 0; i < CS_EP_COUNT; i++) {
        if (strcmp(ep_keys[i], key) == 0) {
            return (enum cs_ext_point)i;
        }
    }
    return CS_EP_COUNT;
}
