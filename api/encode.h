#ifndef CS_API_ENCODE_H
#define CS_API_ENCODE_H
/*
 * JSON bodies the scheduler writes to the API server (k8s-api.md §2-§4): the pods/binding
 * create, the pods/status strategic-merge patch and events.k8s.io/v1 Events.
 *
 * Every encoder appends to a caller-owned struct cs_buf (nothing else is allocated that
 * outlives the call) and escapes every string: quotes, backslashes and control characters
 * are escaped and invalid UTF-8 becomes U+FFFD, so the output is always valid JSON.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/types.h"
#include "pkg/util/buf.h"

/* Event notes are limited to 1024 bytes; longer ones keep a prefix and end in " ..." (total
 * <= 1024, cut on a UTF-8 character boundary), as kube-scheduler's truncateMessage. */
#define CS_NOTE_LENGTH_LIMIT 1024

/* POST /api/v1/namespaces/{ns}/pods/{name}/binding body. uid NULL omits metadata.uid. */
void cs_encode_binding(struct cs_buf *b, const char *ns, const char *name, const char *uid,
                       const char *node);
/* The same with metadata.annotations, which the apiserver merges into the pod together with
 * spec.nodeName (BindingREST's setPodHostAndAnnotations): PreBind's writes in the bind itself. */
void cs_encode_binding_annotated(struct cs_buf *b, const char *ns, const char *name,
                                 const char *uid, const char *node, const struct cs_label *ann,
                                 uint32_t n_ann);
void cs_encode_pod_binding(struct cs_buf *b, const struct cs_pod *p, const char *node);

/* One pod condition in a status patch. */
struct cs_condition_patch {
    const char *type;             /* "PodScheduled", "DisruptionTarget" */
    const char *status;           /* "True", "False", "Unknown" */
    const char *reason;           /* NULL omits */
    const char *message;          /* NULL omits */
    int64_t last_transition_ns;   /* 0 omits */
};

enum cs_nominated_op {
    CS_NOMINATED_KEEP = 0,  /* do not mention status.nominatedNodeName */
    CS_NOMINATED_SET,       /* "nominatedNodeName": <node> */
    CS_NOMINATED_CLEAR,     /* "nominatedNodeName": null */
};

/* Strategic-merge patch for pods/status: {"status":{"conditions":[{..}],"nominatedNodeName":..}}.
 * conditions merge by "type" on the server; lastProbeTime is always null. cond may be NULL
 * (nomination only). */
void cs_encode_status_patch(struct cs_buf *b, const struct cs_condition_patch *cond,
                            enum cs_nominated_op op, const char *nominated_node);

/* The PodScheduled=False patch of a failed attempt: reason "Unschedulable" when the pod did
 * not fit (a FitError), else "SchedulerError"; message is the full error text. */
void cs_encode_pod_scheduled_false(struct cs_buf *b, bool unschedulable, const char *message,
                                   int64_t transition_ns, enum cs_nominated_op op,
                                   const char *nominated_node);

/* core/v1 ObjectReference as used by events (regarding, related). */
struct cs_object_ref {
    const char *kind;             /* "Pod" */
    const char *api_version;      /* "v1" */
    const char *ns;
    const char *name;
    const char *uid;              /* NULL omits */
    const char *resource_version; /* NULL omits */
};

void cs_object_ref_from_pod(struct cs_object_ref *r, const struct cs_pod *p);

struct cs_event {
    struct cs_object_ref regarding;
    const struct cs_object_ref *related;  /* NULL omits (set for Preempted) */
    const char *reason;                   /* "Scheduled", "FailedScheduling", "Preempted" */
    const char *action;                   /* "Binding", "Scheduling", "Preempting" */
    const char *type;                     /* "Normal" or "Warning" */
    const char *note;                     /* truncated to CS_NOTE_LENGTH_LIMIT */
    const char *reporting_controller;     /* the profile's schedulerName */
    const char *reporting_instance;       /* "<controller>-<hostname>" */
    int64_t event_time_ns;                /* wall clock */
    /* Naming: name when set; else generateName "<regarding.name>." when use_generate_name;
     * else "<regarding.name>.<hex event_time_ns>" as client-go names events. */
    const char *name;
    bool use_generate_name;
};

/* POST /apis/events.k8s.io/v1/namespaces/{ns}/events body. The namespace is regarding.ns,
 * or "default" when that is NULL (cluster-scoped objects). */
void cs_encode_event(struct cs_buf *b, const struct cs_event *ev);

/* Length of the prefix of s that fits in limit bytes together with " ..." when s is longer
 * than limit; strlen(s) when it fits (then *truncated = false). */
size_t cs_note_prefix_len(const char *s, size_t limit, bool *truncated);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not valid (s must be
 * NUL-terminated at or after the sequence). */
size_t cs_utf8_seq(const unsigned char *s);

/* Append s as a JSON string (escaped, invalid UTF-8 replaced). NULL appends null. */
void cs_encode_str(struct cs_buf *b, const char *s);

#endif
