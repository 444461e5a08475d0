#ifndef CS_PKG_BINDER_BINDER_H
#define CS_PKG_BINDER_BINDER_H
/*
 * The binder: asynchronous binding of decided pods, many in flight.
 *
 * For each job: `POST pods/{name}/binding` (with the pod uid as precondition), carrying the
 * annotations PreBind asked for in the Binding's metadata: the apiserver merges them into the
 * pod with spec.nodeName, in one write (a node agent never sees the pod bound without its
 * cpuset or GPU index, and a refused bind leaves no annotation behind). Requests go through the
 * client's limiter and connection pool; completions run on the client's I/O thread, where the
 * binder calls the owner's on_done hook exactly once per job and then frees the job.
 * Binding is never retried here: a failed bind is forgotten and the pod goes back to the queue
 * (the owner decides, following kube-scheduler's rules), so a pod can never be bound twice by
 * us (the API server also refuses a second binding with 409).
 *
 * Thread: cs_binder_submit from any thread; hooks on the I/O thread.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/types.h"

struct cs_client;
struct cs_profile;

struct cs_bind_job {
    struct cs_pod *pod;            /* counted reference (released by the binder) */
    const char *node;              /* interned */
    struct cs_profile *prof;
    struct cs_label *annotations;  /* heap copies (key and value), freed by the binder */
    uint32_t n_annotations;
    int64_t start_ns;              /* when the scheduling attempt began (metrics) */
    uint32_t attempts;             /* scheduling attempts so far (backoff after a failed bind) */
    void *owner;                   /* caller's tag */
};

/* Result of a job. http_status 0 = transport error. */
struct cs_bind_result {
    bool ok;
    long http_status;
    const char *message;           /* borrowed for the call */
};

struct cs_binder_hooks {
    void (*on_done)(void *arg, struct cs_bind_job *job, const struct cs_bind_result *r);
    void *arg;
};

struct cs_binder {
    struct cs_client *client;
    struct cs_binder_hooks hooks;
    atomic_long in_flight;
    atomic_long submitted;
    atomic_long succeeded;
    atomic_long failed;
};

void cs_binder_init(struct cs_binder *b, struct cs_client *client,
                    const struct cs_binder_hooks *hooks);
/* Takes ownership of job (allocate with cs_malloc). */
void cs_binder_submit(struct cs_binder *b, struct cs_bind_job *job);
/* Free a job (what the binder does after on_done; for callers that never submitted it). */
void cs_bind_job_free(struct cs_bind_job *job);

#endif
