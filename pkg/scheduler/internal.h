#ifndef CS_PKG_SCHEDULER_INTERNAL_H
#define CS_PKG_SCHEDULER_INTERNAL_H
/* Functions shared by the files of pkg/scheduler (not part of its public contract). */
#include "pkg/scheduler/scheduler.h"

struct cs_profile *cs_sched_profile_for(struct cs_scheduler *s, const char *sched_name);
/* The session environment (commit.c): fills s->env. */
void cs_sched_env_init(struct cs_scheduler *s);
/* One session over a popped batch (commit.c). */
void cs_sched_run_session(struct cs_scheduler *s, struct cs_qentry **batch, size_t n);
/* The group key of a pod in its profile, or NULL (commit.c; cache and queue hooks). */
const char *cs_sched_group_of(void *arg, const struct cs_pod *pod);
/* Plugins' services (services.c): hooks of the framework handle, and the extra informers. */
void cs_sched_services_init(struct cs_scheduler *s);
int cs_sched_services_start(struct cs_scheduler *s, char *err, size_t errlen);
void cs_sched_services_stop(struct cs_scheduler *s);
bool cs_sched_services_synced(struct cs_scheduler *s);
/* Queue a plain API write on the bind connection (services.c). */
int cs_sched_write(struct cs_scheduler *s, const char *method, const char *path, const char *body,
                   const char *content_type, void (*done)(void *arg, long status, const char *body),
                   void *arg);

#endif
