#ifndef CS_PKG_KQUEUE_JOBKIND_IMPL_H
#define CS_PKG_KQUEUE_JOBKIND_IMPL_H
/*
 * What the job kind files (jobkind.c, jobkind_ray.c, jobkind_spark.c, jobkind_argo.c) share:
 * the ops tables of each family and the helpers that count a pod template as the scheduler
 * does. Not for use outside pkg/kqueue/jobkind*.c.
 */
#include "pkg/kqueue/jobkind.h"

extern const struct cs_kq_kind_ops cs_kq_ops_ray;
extern const struct cs_kq_kind_ops cs_kq_ops_spark;
extern const struct cs_kq_kind_ops cs_kq_ops_argo;

/* o.a.b.c, any of b and c NULL; NULL when a step is missing. */
const json_t *cs_kq_path_get(const json_t *o, const char *a, const char *b, const char *c);
/* metadata.annotations[scheduling.x-k8s.io/suspend] == "true" */
bool cs_kq_annotation_held(const json_t *job);
/* status.conditions has type with status "True". */
bool cs_kq_cond_true(const json_t *job, const char *type);
/* v as an integer, else dflt. */
int64_t cs_kq_int_or(const json_t *v, int64_t dflt);
/* One pod template ({"metadata":...,"spec":...}) decoded as the scheduler decodes a pod of the
 * job (api/decode.c: init containers, overhead, extended resources), its requests times n
 * added to r (n <= 0: only its priority counts). -1 with err "<what>: <field>: <problem>". */
int cs_kq_add_template(const struct cs_api_ctx *ctx, const json_t *job, const char *what,
                       const json_t *tmpl, int64_t n, struct cs_kq_job_req *r, char *err,
                       size_t errlen);
/* {"metadata":{"labels":{<ACK gang labels>}}} */
void cs_kq_gang_labels(struct cs_buf *out, const char *gang, uint32_t min_available);
/* A deep copy of tmpl (a JSON pod template) with ACK's gang labels added unless it declares a
 * gang already; a new reference. */
json_t *cs_kq_template_with_gang(const json_t *tmpl, const char *gang, uint32_t min_available);

#endif
