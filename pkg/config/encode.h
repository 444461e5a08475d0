#ifndef CS_PKG_CONFIG_ENCODE_H
#define CS_PKG_CONFIG_ENCODE_H
/*
 * The effective configuration back as a v1 KubeSchedulerConfiguration document (what
 * kube-scheduler's --write-config-to writes and what it logs at startup). Unset percentages are
 * left out; durations print in Go form ("15s"); empty plugin sets are left out.
 * The result is a new reference owned by the caller. Any thread; reads c only.
 */
#include <jansson.h>

#include "pkg/config/config.h"

json_t *cs_config_to_json(const struct cs_config *c);

#endif
