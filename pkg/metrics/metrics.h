#ifndef CS_PKG_METRICS_METRICS_H
#define CS_PKG_METRICS_METRICS_H
/*
 * A small Prometheus registry: counters, gauges and histograms, each a *family* (a vector keyed
 * by label values; a family without labels has exactly one child) and a renderer for the text
 * exposition format 0.0.4.
 *
 * Ownership. The registry owns every family and child; both live until
 * cs_metrics_registry_free. Names, help texts, label names, label values and bucket bounds are
 * copied. Family and child pointers may be cached by the caller for the registry's lifetime.
 *
 * Threads. Registration (cs_metrics_*_new) is thread-safe but meant for startup. Every
 * observation function and cs_metrics_render may be called from any thread at any time.
 * The hot path is lock-free: looking up an existing label combination probes an atomic table,
 * and values are updated with atomic operations; a mutex is taken only when a new label
 * combination is created. Children are never removed.
 *
 * Rendering follows the Go client: families sorted by name, families with no child omitted,
 * label pairs printed sorted by label name, children sorted by those values, floats printed
 * like Go's strconv.FormatFloat(v, 'g', -1, 64) ("1e-05", "0.001", "100", "+Inf").
 */
#include <stddef.h>
#include <stdint.h>

#include "pkg/util/buf.h"

enum cs_metrics_type { CS_METRICS_COUNTER = 1, CS_METRICS_GAUGE, CS_METRICS_HISTOGRAM };

#define CS_METRICS_MAX_LABELS 8
#define CS_METRICS_MAX_BUCKETS 64

struct cs_metrics_registry;
struct cs_metric;        /* a family */
struct cs_metric_child;  /* one label combination of a family */

/* Label-name / label-value list literal: CS_METRICS_LABELS("result", "profile"). */
#define CS_METRICS_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

struct cs_metrics_registry *cs_metrics_registry_new(void);
/* Frees every family and child. NULL is a no-op. No observation may run concurrently. */
void cs_metrics_registry_free(struct cs_metrics_registry *r);

/* Register a family. label_names is a NULL-terminated list (or NULL for none, at most
 * CS_METRICS_MAX_LABELS). Returns NULL (and logs) when the name or a label name is not a
 * valid Prometheus name, a label is "le" on a histogram, or the name is already registered. */
struct cs_metric *cs_metrics_counter_new(struct cs_metrics_registry *r, const char *name,
                                         const char *help, const char *const *label_names);
struct cs_metric *cs_metrics_gauge_new(struct cs_metrics_registry *r, const char *name,
                                       const char *help, const char *const *label_names);
/* buckets: nbuckets strictly increasing finite upper bounds (1..CS_METRICS_MAX_BUCKETS);
 * the +Inf bucket is implicit. */
struct cs_metric *cs_metrics_histogram_new(struct cs_metrics_registry *r, const char *name,
                                           const char *help, const char *const *label_names,
                                           const double *buckets, size_t nbuckets);

/* Bucket helpers: fill out[0..count-1]; return count, or 0 on invalid arguments
 * (exponential: start > 0, factor > 1; linear: width > 0; count >= 1). */
size_t cs_metrics_exp_buckets(double start, double factor, size_t count, double *out);
size_t cs_metrics_linear_buckets(double start, double width, size_t count, double *out);

/* The child for these label values (exactly as many as the family has label names, in
 * registration order; NULL for a family without labels). Created on first use; never NULL
 * for a valid family (a NULL family gives NULL). */
struct cs_metric_child *cs_metrics_with(struct cs_metric *m, const char *const *label_values);

/* Child operations (NULL child: no-op). Counters ignore negative and NaN increments;
 * calling an operation of another type (e.g. observe on a counter) is a no-op. Setting a
 * counter is meant for collectors that mirror a count kept elsewhere (e.g. CPU seconds). */
void cs_metrics_child_inc(struct cs_metric_child *c);                 /* counter, gauge */
void cs_metrics_child_add(struct cs_metric_child *c, double v);       /* counter, gauge */
void cs_metrics_child_set(struct cs_metric_child *c, double v);       /* gauge, counter */
void cs_metrics_child_observe(struct cs_metric_child *c, double v);   /* histogram */

/* Family + label values in one call (lookup then the child operation). */
void cs_metrics_inc(struct cs_metric *m, const char *const *label_values);
void cs_metrics_add(struct cs_metric *m, const char *const *label_values, double v);
void cs_metrics_set(struct cs_metric *m, const char *const *label_values, double v);
void cs_metrics_observe(struct cs_metric *m, const char *const *label_values, double v);

/* Readers (tests, debug): counter/gauge value; histogram sample count and sum. */
double cs_metrics_child_value(const struct cs_metric_child *c);
uint64_t cs_metrics_child_count(const struct cs_metric_child *c);
double cs_metrics_child_sum(const struct cs_metric_child *c);
/* Number of children (label combinations) of a family. */
size_t cs_metrics_children(struct cs_metric *m);
const char *cs_metrics_name(const struct cs_metric *m);

/* A collector runs at the start of every cs_metrics_render (on the rendering thread, before
 * any family is read) to refresh values that are sampled rather than counted. arg is
 * borrowed unless free_arg is given, in which case the registry calls free_arg(arg) when it
 * is freed. Collectors may call any observation function. */
typedef void (*cs_metrics_collect_fn)(void *arg);
void cs_metrics_add_collector(struct cs_metrics_registry *r, cs_metrics_collect_fn fn, void *arg,
                              void (*free_arg)(void *arg));

/* Register the standard process_* metrics (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_virtual_memory_bytes, process_start_time_seconds,
 * process_open_fds, process_max_fds) with a collector reading /proc/self. Returns 0 or -1
 * (already registered). Linux only. */
int cs_metrics_register_process(struct cs_metrics_registry *r);

/* Append the whole registry in text format 0.0.4 to out. */
void cs_metrics_render(struct cs_metrics_registry *r, struct cs_buf *out);
/* The Content-Type of that format. */
#define CS_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Append v formatted like Go's strconv.FormatFloat(v, 'g', -1, 64) (exposed for tests). */
void cs_metrics_format_float(struct cs_buf *out, double v);

#endif
