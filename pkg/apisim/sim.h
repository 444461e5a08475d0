#ifndef CS_PKG_APISIM_SIM_H
#define CS_PKG_APISIM_SIM_H
/*
 * apisim simulation: generated clusters, pod lifecycle, minimal controllers (Deployment/
 * ReplicaSet, Job, TFJob/PyTorchJob), fault injection and the /apisim/ admin endpoints.
 * See pkg/apisim/SIMULATION.md for the user-facing flags, annotations and JSON formats.
 *
 * ---- Wiring for apisim-core (cmd/apisim/main.c and the HTTP layer) -------------------------
 *  1. main:   struct cs_apisim_sim_opts so; cs_apisim_sim_opts_init(&so);
 *  2. flags:  in the argv loop, before rejecting an unknown flag:
 *                 int r = cs_apisim_sim_parse_flag(&so, argc, argv, &i);
 *             r == 1: consumed (i now points at the last argv element used, as for any flag
 *             with a separate value; the loop's i++ moves past it); r == 0: not a sim flag;
 *             r < 0: bad value, already logged -> exit 2. `--help`: also call
 *             cs_apisim_sim_usage(stdout).
 *  3. start:  after the store exists and --cluster FILE is loaded:
 *                 struct cs_apisim_sim *sim; if (cs_apisim_sim_start(&so, store, &sim) < 0) exit 1;
 *             (creates generated nodes/pods in the store, registers a store write hook, starts
 *             the simulation thread). so may be freed after start (cs_apisim_sim_opts_free).
 *  4. every API request, after routing, before touching the store (any thread):
 *                 struct cs_apisim_fault_decision d;
 *                 cs_apisim_fault_on_request(cs_apisim_sim_fault(sim), verb, resource, sub, &d);
 *             verb: "get","list","watch","create","update","patch","delete"; resource: plural
 *             ("pods"); sub: subresource ("binding","status") or NULL. Then: sleep d.delay_us if
 *             > 0; if d.code != 0 answer a Status {code:d.code, reason:d.reason,
 *             message:d.message} and, if d.retry_after_s > 0, header `Retry-After: <n>`.
 *  5. watches: when a watch starts: struct cs_apisim_fault_watch w;
 *                 if (cs_apisim_fault_watch_begin(fault, rv_given_and_nonzero, &w))
 *                     -> send the 410 Expired ERROR event and close, exactly as for a too-old RV;
 *             before sending each event and on every idle/bookmark tick (at least 1/s):
 *                 if (cs_apisim_fault_watch_should_drop(fault, &w)) -> end the stream cleanly.
 *  6. admin:  any request whose path starts with "/apisim/":
 *                 int code; char *body; size_t len;
 *                 cs_apisim_sim_admin(sim, method, path, req_body, req_len, &code, &body, &len);
 *             answer `code` with Content-Type application/json and `body` (cs_free it).
 *  7. exit:   cs_apisim_sim_stop(sim) before destroying the store.
 * All hooks accept sim/fault == NULL (no faults, admin answers 404).
 *
 * REQUESTS to apisim-core (store/loader owners), used by the simulation:
 *  a. `void cs_apisim_store_compact(struct cs_apisim_store *s);` in store.h (lock held): drop
 *     every history event older than the current RV, so a watch resuming from an older RV
 *     gets 410. sim_core.c references it weakly; until it exists PUT {"compactNow":true}
 *     answers 501.
 *  b. load.c: an item that already exists (the PriorityClasses and namespaces that
 *     cs_apisim_server_prepare_store creates) should be skipped or replaced, not fail the
 *     load: today a GET /apisim/dump cannot be loaded back with --cluster
 *     (test/integration/apisim_sim.sh "apisim starts from a dump").
 *  c. store.h says cs_apisim_store_tick takes wall-clock ns, store.c compares monotonic ns;
 *     the sim passes cs_mono_ns() (matching the code). Please fix the comment.
 * -------------------------------------------------------------------------------------------
 *
 * Ownership: the sim owns its fault context, its thread and copies of the options. Thread
 * context: start/stop from the main thread; the fault hooks and the admin handler are
 * thread-safe and may be called from any HTTP thread.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pkg/apisim/fault.h"

struct cs_apisim_store;
struct cs_apisim_sim;

struct cs_apisim_sim_opts {
    /* Bound pods turn Running after this delay; 0 = at once; < 0 = never. Default 100 ms. */
    int64_t running_delay_ms;
    int pod_lifecycle;          /* 1 = simulate pod phases (default 1) */
    int ctl_deployments;        /* Deployment + ReplicaSet controllers (default 1) */
    int ctl_jobs;               /* batch/v1 Job controller (default 1) */
    int ctl_kubeflow;           /* TFJob / PyTorchJob controller (default 1) */
    /* Grace period enforcement for pods whose deletionTimestamp is set and that the store
     * leaves in place: remove them when it elapses (default 1). */
    int reap_terminating;
    uint64_t seed;              /* --seed, for fault injection (default 1) */
    char **cluster_gen;         /* --cluster-gen SPEC, repeatable; owned */
    size_t n_cluster_gen;
    char **pods_gen;            /* --pods-gen SPEC, repeatable; owned */
    size_t n_pods_gen;
    char **gen_files;           /* --cluster-gen-file FILE (YAML/JSON), repeatable; owned */
    size_t n_gen_files;
    struct cs_apisim_fault_config faults; /* initial faults from --fault-* flags */
};

void cs_apisim_sim_opts_init(struct cs_apisim_sim_opts *o);
void cs_apisim_sim_opts_free(struct cs_apisim_sim_opts *o);

/* Parse argv[*i] if it is one of the simulation flags (`--flag value` or `--flag=value`).
 * Returns 1 when consumed (*i advanced to the last element used), 0 when not a sim flag,
 * -1 on a bad value (logged, naming the flag). */
int cs_apisim_sim_parse_flag(struct cs_apisim_sim_opts *o, int argc, char **argv, int *i);
void cs_apisim_sim_usage(FILE *f);

/* Generate the configured nodes and pods into the store, hook store writes and start the
 * simulation thread. Returns 0 and *out, or -1 (logged; nothing left running). */
int cs_apisim_sim_start(const struct cs_apisim_sim_opts *o, struct cs_apisim_store *st,
                        struct cs_apisim_sim **out);
/* Stop the thread and free everything. NULL is a no-op. */
void cs_apisim_sim_stop(struct cs_apisim_sim *s);

/* The fault context (never NULL for a started sim); NULL for sim == NULL. */
struct cs_apisim_fault *cs_apisim_sim_fault(struct cs_apisim_sim *s);

/* Admin endpoints (any thread):
 *   GET  /apisim/faults  -> current fault settings (JSON)
 *   PUT  /apisim/faults  -> replace the settings with the JSON body (absent fields = off);
 *                           actions {"compactNow":true} and {"dropWatchesNow":true} run once
 *   GET  /apisim/dump    -> every object in the store as {"kind":"List","items":[...]}
 *   GET  /apisim/stats   -> simulation counters
 * Returns 0; *code is the HTTP status; *body (cs_malloc'd JSON, caller frees) and *len. */
int cs_apisim_sim_admin(struct cs_apisim_sim *s, const char *method, const char *path,
                        const char *req_body, size_t req_len, int *code, char **body,
                        size_t *len);

#endif
