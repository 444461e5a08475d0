/*
 * events.k8s.io/v1 Event as a view of stored core/v1 Events, like the real apiserver (both
 * groups serve the same storage). Field mapping: note<->message, regarding<->involvedObject,
 * reportingController<->reportingComponent, deprecatedSource<->source,
 * deprecatedFirstTimestamp/LastTimestamp/Count<->firstTimestamp/lastTimestamp/count; a series
 * also fills core count/lastTimestamp so `kubectl get events` shows repeats.
 */
#include <string.h>

#include "pkg/apisim/http.h"

struct fmap {
    const char *ev, *core;
};
static const struct fmap fields[] = {
    { "note", "message" },
    { "regarding", "involvedObject" },
    { "reportingController", "reportingComponent" },
    { "deprecatedSource", "source" },
    { "deprecatedFirstTimestamp", "firstTimestamp" },
    { "deprecatedLastTimestamp", "lastTimestamp" },
    { "deprecatedCount", "count" },
    { NULL, NULL },
};

static int is_mapped(const char *k, int from_core)
{
    for (const struct fmap *f = fields; f->ev; f++)
        if (!strcmp(k, from_core ? f->core : f->ev))
            return 1;
    return 0;
}

json_t *cs_apisim_event_to_core(const json_t *ev)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ev, k, v) {
        if (!is_mapped(k, 0))
            json_object_set(out, k, v);
    }
    for (const struct fmap *f = fields; f->ev; f++) {
        json_t *x = json_object_get(ev, f->ev);
        if (x && !json_is_null(x))
            json_object_set(out, f->core, x);
    }
    json_object_set_new(out, "apiVersion", json_string("v1"));
    json_object_set_new(out, "kind", json_string("Event"));
    json_t *series = json_object_get(ev, "series");
    if (json_is_object(series)) {
        json_t *cnt = json_object_get(series, "count");
        json_t *last = json_object_get(series, "lastObservedTime");
        if (json_is_integer(cnt))
            json_object_set(out, "count", cnt);
        if (json_is_string(last) && !json_object_get(ev, "deprecatedLastTimestamp")) {
            /* core lastTimestamp is a metav1.Time (seconds) */
            char buf[32];
            const char *s = json_string_value(last);
            size_t n = strcspn(s, ".Z");
            if (n < 20) {
                memcpy(buf, s, n);
                buf[n] = 'Z';
                buf[n + 1] = 0;
                json_object_set_new(out, "lastTimestamp", json_string(buf));
            }
        }
    }
    return out;
}

json_t *cs_apisim_event_from_core(const json_t *core)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)core, k, v) {
        if (!is_mapped(k, 1))
            json_object_set(out, k, v);
    }
    for (const struct fmap *f = fields; f->ev; f++) {
        json_t *x = json_object_get(core, f->core);
        if (x && !json_is_null(x))
            json_object_set(out, f->ev, x);
    }
    json_object_set_new(out, "apiVersion", json_string("events.k8s.io/v1"));
    json_object_set_new(out, "kind", json_string("Event"));
    return out;
}
