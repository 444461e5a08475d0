#ifndef CS_PKG_CONFIG_CONFIG_INTERNAL_H
#define CS_PKG_CONFIG_CONFIG_INTERNAL_H
/*
 * Helpers shared by the files of pkg/config only (not part of the public API).
 */
#include "pkg/config/config.h"

/* cs_config_defaults without the default profile (profiles empty). */
void cs_config_defaults_base(struct cs_config *c);
/* Append a profile named CS_CONFIG_DEFAULT_SCHEDULER_NAME with no customisation. */
void cs_config_add_default_profile(struct cs_config *c);

#endif
