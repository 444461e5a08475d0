/*
 * Fault injection for apisim. A context holds the configured fractions and a splitmix64
 * state behind one mutex. Each request draws a fixed number of values (one for the failure
 * rule of its op, one for latency jitter when jitter is configured), so for one seed the same
 * sequence of requests always gets the same answers. Watches are dropped either by a
 * per-event coin, by age (every N seconds since the watch began), or by an epoch bump when
 * an operator asks for all watches to go ("restart": state kept, watches lost).
 */
#include "pkg/apisim/fault.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "pkg/util/timeutil.h"

static const char *const op_names[CS_APISIM_FAULT_NOPS] = {
    "bind", "create", "update", "patch", "delete", "get", "list",
};

uint64_t cs_apisim_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double cs_apisim_rand_unit(uint64_t *state)
{
    return (double)(cs_apisim_rand_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

const char *cs_apisim_fault_op_name(int op)
{
    if (op < 0 || op >= CS_APISIM_FAULT_NOPS) {
        return "unknown";
    }
    return op_names[op];
}

int cs_apisim_fault_op_of(const char *verb, const char *subresource)
{
    if (verb == NULL) {
        return -1;
    }
    if (strcmp(verb, "create") == 0) {
        if (subresource != NULL && strcmp(subresource, "binding") == 0) {
            return CS_APISIM_FAULT_BIND;
        }
        return CS_APISIM_FAULT_CREATE;
    }
    if (strcmp(verb, "update") == 0) {
        return CS_APISIM_FAULT_UPDATE;
    }
    if (strcmp(verb, "patch") == 0) {
        return CS_APISIM_FAULT_PATCH;
    }
    if (strcmp(verb, "delete") == 0 || strcmp(verb, "deletecollection") == 0) {
        return CS_APISIM_FAULT_DELETE;
    }
    if (strcmp(verb, "get") == 0) {
        return CS_APISIM_FAULT_GET;
    }
    if (strcmp(verb, "list") == 0) {
        return CS_APISIM_FAULT_LIST;
    }
    return -1;
}

void cs_apisim_fault_config_init(struct cs_apisim_fault_config *c)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; i < CS_APISIM_FAULT_NOPS; i++) {
        c->rules[i].code = 500;
    }
    c->retry_after_s = 1;
}

void cs_apisim_fault_init(struct cs_apisim_fault *f, const struct cs_apisim_fault_config *c)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    if (c != NULL) {
        f->cfg = *c;
    } else {
        cs_apisim_fault_config_init(&f->cfg);
    }
    f->rng = f->cfg.seed != 0 ? f->cfg.seed : 1;
}

void cs_apisim_fault_destroy(struct cs_apisim_fault *f)
{
    pthread_mutex_destroy(&f->mu);
}

void cs_apisim_fault_set(struct cs_apisim_fault *f, const struct cs_apisim_fault_config *c)
{
    pthread_mutex_lock(&f->mu);
    f->cfg = *c;
    if (c->seed != 0) {
        f->rng = c->seed;
    }
    pthread_mutex_unlock(&f->mu);
}

void cs_apisim_fault_get(struct cs_apisim_fault *f, struct cs_apisim_fault_config *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->cfg;
    pthread_mutex_unlock(&f->mu);
}

static void fill_code(struct cs_apisim_fault_decision *d, int code, int retry_after)
{
    d->code = code;
    switch (code) {
    case 409:
        d->reason = "Conflict";
        d->message = "apisim fault injection: the object has been modified; please apply your "
                     "changes to the latest version and try again";
        break;
    case 429:
        d->reason = "TooManyRequests";
        d->message = "apisim fault injection: too many requests, please try again later";
        d->retry_after_s = retry_after > 0 ? retry_after : 1;
        break;
    case 503:
        d->reason = "ServiceUnavailable";
        d->message = "apisim fault injection: service unavailable";
        break;
    default:
        d->reason = "InternalError";
        d->message = "apisim fault injection: internal error";
        break;
    }
}

void cs_apisim_fault_on_request(struct cs_apisim_fault *f, const char *verb,
                                const char *resource, const char *subresource,
                                struct cs_apisim_fault_decision *d)
{
    (void)resource;
    memset(d, 0, sizeof(*d));
    if (f == NULL) {
        return;
    }
    int op = cs_apisim_fault_op_of(verb, subresource);
    pthread_mutex_lock(&f->mu);
    const struct cs_apisim_fault_config *c = &f->cfg;
    d->delay_us = c->latency_us;
    if (c->jitter_us > 0) {
        d->delay_us += (int64_t)(cs_apisim_rand_unit(&f->rng) * (double)(c->jitter_us + 1));
    }
    if (op >= 0 && c->rules[op].fraction > 0) {
        double u = cs_apisim_rand_unit(&f->rng);
        if (u < c->rules[op].fraction) {
            fill_code(d, c->rules[op].code, c->retry_after_s);
            f->injected[op]++;
        }
    }
    pthread_mutex_unlock(&f->mu);
}

int cs_apisim_fault_watch_begin(struct cs_apisim_fault *f, int resume,
                                struct cs_apisim_fault_watch *w)
{
    int expire = 0;
    w->started_ns = cs_mono_ns();
    w->epoch = 0;
    if (f == NULL) {
        return 0;
    }
    pthread_mutex_lock(&f->mu);
    w->epoch = f->epoch;
    if (resume && f->cfg.watch_410_fraction > 0 &&
        cs_apisim_rand_unit(&f->rng) < f->cfg.watch_410_fraction) {
        expire = 1;
        f->watches_410++;
    }
    pthread_mutex_unlock(&f->mu);
    return expire;
}

int cs_apisim_fault_watch_should_drop(struct cs_apisim_fault *f,
                                      struct cs_apisim_fault_watch *w)
{
    int drop = 0;
    if (f == NULL) {
        return 0;
    }
    pthread_mutex_lock(&f->mu);
    if (w->epoch != f->epoch) {
        drop = 1;
    } else if (f->cfg.watch_drop_every_s > 0 &&
               (double)(cs_mono_ns() - w->started_ns) >= f->cfg.watch_drop_every_s * 1e9) {
        drop = 1;
    } else if (f->cfg.watch_drop_prob > 0 &&
               cs_apisim_rand_unit(&f->rng) < f->cfg.watch_drop_prob) {
        drop = 1;
    }
    if (drop) {
        f->watches_dropped++;
    }
    pthread_mutex_unlock(&f->mu);
    return drop;
}

void cs_apisim_fault_drop_all_watches(struct cs_apisim_fault *f)
{
    pthread_mutex_lock(&f->mu);
    f->epoch++;
    pthread_mutex_unlock(&f->mu);
}

static int valid_code(int code)
{
    return code == 500 || code == 503 || code == 409 || code == 429;
}

int cs_apisim_fault_parse_rule(const char *s, struct cs_apisim_fault_rule *r)
{
    char *end = NULL;
    errno = 0;
    double frac = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(frac) || frac < 0 || frac > 1) {
        return -1;
    }
    int code = 500;
    if (*end == ':') {
        const char *cs = end + 1;
        errno = 0;
        long v = strtol(cs, &end, 10);
        if (errno != 0 || end == cs || !valid_code((int)v)) {
            return -1;
        }
        code = (int)v;
    }
    if (*end != '\0') {
        return -1;
    }
    r->fraction = frac;
    r->code = code;
    return 0;
}

int cs_apisim_fault_parse_duration_us(const char *s, int64_t *us)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || !isfinite(v)) {
        return -1;
    }
    double mult;
    if (*end == '\0' || strcmp(end, "ms") == 0) {
        mult = 1e3;
    } else if (strcmp(end, "s") == 0) {
        mult = 1e6;
    } else if (strcmp(end, "us") == 0) {
        mult = 1;
    } else if (strcmp(end, "m") == 0) {
        mult = 60e6;
    } else {
        return -1;
    }
    double r = v * mult;
    if (r > 9e18 || r < -9e18) {
        return -1;
    }
    *us = (int64_t)llround(r);
    return 0;
}

static int json_num(json_t *v, double *out)
{
    if (!json_is_number(v)) {
        return -1;
    }
    *out = json_number_value(v);
    return isfinite(*out) ? 0 : -1;
}

static int parse_json_rule(json_t *v, const char *key, struct cs_apisim_fault_rule *r,
                           struct cs_buf *err)
{
    double frac = 0, code = 500;
    const char *k;
    json_t *x;
    if (!json_is_object(v)) {
        goto bad;
    }
    json_object_foreach(v, k, x) {
        if (strcmp(k, "fraction") == 0) {
            if (json_num(x, &frac) < 0 || frac < 0 || frac > 1) {
                if (err) {
                    cs_buf_printf(err, "%s.fraction: must be a number in [0,1]", key);
                }
                return -1;
            }
        } else if (strcmp(k, "code") == 0) {
            if (json_num(x, &code) < 0 || !valid_code((int)code) || code != (int)code) {
                if (err) {
                    cs_buf_printf(err, "%s.code: must be 500, 503, 409 or 429", key);
                }
                return -1;
            }
        } else {
            if (err) {
                cs_buf_printf(err, "%s.%s: unknown field", key, k);
            }
            return -1;
        }
    }
    r->fraction = frac;
    r->code = (int)code;
    return 0;
bad:
    if (err) {
        cs_buf_printf(err, "%s: must be an object {\"fraction\":F,\"code\":C}", key);
    }
    return -1;
}

int cs_apisim_fault_config_from_json(const char *json, size_t len,
                                     struct cs_apisim_fault_config *c, struct cs_buf *err)
{
    json_error_t jerr;
    struct cs_apisim_fault_config nc;
    const char *key;
    json_t *v;
    int rc = -1;
    json_t *root = json_loadb(json, len, 0, &jerr);

    cs_apisim_fault_config_init(&nc);
    if (root == NULL) {
        if (err) {
            cs_buf_printf(err, "invalid JSON: %s (line %d)", jerr.text, jerr.line);
        }
        goto out;
    }
    if (!json_is_object(root)) {
        if (err) {
            cs_buf_puts(err, "fault settings must be a JSON object");
        }
        goto out;
    }
    json_object_foreach(root, key, v) {
        double d = 0;
        int op = -1;
        for (int i = 0; i < CS_APISIM_FAULT_NOPS; i++) {
            if (strcmp(key, op_names[i]) == 0) {
                op = i;
            }
        }
        if (op >= 0) {
            if (parse_json_rule(v, key, &nc.rules[op], err) < 0) {
                goto out;
            }
            continue;
        }
        /* Actions and read-only counters are accepted and handled elsewhere. */
        if (strcmp(key, "stats") == 0 || strcmp(key, "compactNow") == 0 ||
            strcmp(key, "dropWatchesNow") == 0) {
            continue;
        }
        if (json_num(v, &d) < 0 || d < 0) {
            if (err) {
                cs_buf_printf(err, "%s: must be a non-negative number", key);
            }
            goto out;
        }
        if (strcmp(key, "seed") == 0) {
            nc.seed = (uint64_t)d;
        } else if (strcmp(key, "retryAfterSeconds") == 0) {
            nc.retry_after_s = (int)d;
        } else if (strcmp(key, "latencyMs") == 0) {
            nc.latency_us = (int64_t)(d * 1000.0);
        } else if (strcmp(key, "jitterMs") == 0) {
            nc.jitter_us = (int64_t)(d * 1000.0);
        } else if (strcmp(key, "watchDropProbability") == 0 ||
                   strcmp(key, "watch410Fraction") == 0) {
            if (d > 1) {
                if (err) {
                    cs_buf_printf(err, "%s: must be in [0,1]", key);
                }
                goto out;
            }
            if (key[5] == 'D') {
                nc.watch_drop_prob = d;
            } else {
                nc.watch_410_fraction = d;
            }
        } else if (strcmp(key, "watchDropEverySeconds") == 0) {
            nc.watch_drop_every_s = d;
        } else {
            if (err) {
                cs_buf_printf(err, "%s: unknown field", key);
            }
            goto out;
        }
    }
    *c = nc;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

void cs_apisim_fault_to_json(struct cs_apisim_fault *f, struct cs_buf *out)
{
    pthread_mutex_lock(&f->mu);
    const struct cs_apisim_fault_config *c = &f->cfg;
    cs_buf_printf(out, "{\"seed\":%llu", (unsigned long long)c->seed);
    for (int i = 0; i < CS_APISIM_FAULT_NOPS; i++) {
        cs_buf_printf(out, ",\"%s\":{\"fraction\":%.6g,\"code\":%d}", op_names[i],
                      c->rules[i].fraction, c->rules[i].code);
    }
    cs_buf_printf(out, ",\"retryAfterSeconds\":%d,\"latencyMs\":%.3f,\"jitterMs\":%.3f",
                  c->retry_after_s, (double)c->latency_us / 1000.0,
                  (double)c->jitter_us / 1000.0);
    cs_buf_printf(out, ",\"watchDropProbability\":%.6g,\"watchDropEverySeconds\":%.6g"
                  ",\"watch410Fraction\":%.6g", c->watch_drop_prob, c->watch_drop_every_s,
                  c->watch_410_fraction);
    cs_buf_puts(out, ",\"stats\":{\"injected\":{");
    for (int i = 0; i < CS_APISIM_FAULT_NOPS; i++) {
        cs_buf_printf(out, "%s\"%s\":%llu", i ? "," : "", op_names[i],
                      (unsigned long long)f->injected[i]);
    }
    cs_buf_printf(out, "},\"watchesDropped\":%llu,\"watches410\":%llu}}",
                  (unsigned long long)f->watches_dropped, (unsigned long long)f->watches_410);
    pthread_mutex_unlock(&f->mu);
}
