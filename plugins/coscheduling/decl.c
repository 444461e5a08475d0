/* Gang declarations on pods (decl.h). */
#include "plugins/coscheduling/decl.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/config/duration.h"

#define K_KOORD "gang.scheduling.koordinator.sh/"
#define K_ACK "pod-group.scheduling.sigs.k8s.io"
#define L_XK8S_REF "scheduling.x-k8s.io/pod-group"

/* A positive int32 written in decimal, nothing else. */
static bool parse_positive(const char *s, int32_t *out)
{
    if (s == NULL || *s == '\0') {
        return false;
    }
    errno = 0;
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v <= 0 || v > INT32_MAX) {
        return false;
    }
    *out = (int32_t)v;
    return true;
}

/* RFC 1123 subdomain: what Kubernetes accepts as an object name. */
static bool dns_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && c != '.') {
            return false;
        }
        if ((i == 0 || i == n - 1) && !alnum) {
            return false;
        }
    }
    return true;
}

static void set_err(struct cs_gang_decl *d, const char *fmt, const char *a, const char *b)
{
    if (d->error[0] == '\0') {
        snprintf(d->error, sizeof(d->error), fmt, a, b ? b : "");
    }
}

static void parse_koord_extras(const struct cs_pod *pod, struct cs_gang_decl *d)
{
    const char *v = cs_pod_annotation(pod, K_KOORD "total-number");
    if (v && !parse_positive(v, &d->total)) {
        set_err(d, "annotation %stotal-number \"%s\" is not a positive integer", K_KOORD, v);
    }
    v = cs_pod_annotation(pod, K_KOORD "mode");
    if (v) {
        if (strcmp(v, "NonStrict") == 0) {
            d->non_strict = true;
        } else if (strcmp(v, "Strict") != 0) {
            set_err(d, "annotation %smode \"%s\" must be Strict or NonStrict", K_KOORD, v);
        }
    }
    v = cs_pod_annotation(pod, K_KOORD "waiting-time");
    if (v) {
        char derr[120];
        if (cs_duration_parse(v, &d->wait_ns, derr, sizeof(derr)) != 0 || d->wait_ns <= 0) {
            d->wait_ns = 0;
            set_err(d, "annotation %swaiting-time \"%s\" is not a positive duration", K_KOORD,
                    v);
        }
    }
    v = cs_pod_annotation(pod, K_KOORD "groups");
    if (v && strcmp(v, "[]") != 0 && *v) {
        d->groups = v;
    }
}

static void parse_match(const struct cs_pod *pod, struct cs_gang_decl *d)
{
    const char *v = cs_pod_annotation(pod, K_KOORD "match-policy");
    if (v == NULL) {
        v = cs_pod_annotation(pod, K_ACK "/match-policy");
    }
    if (v == NULL) {
        v = cs_pod_label(pod, K_ACK "/match-policy");
    }
    if (v == NULL || strcmp(v, "once-satisfied") == 0) {
        d->match = CS_GANG_ONCE_SATISFIED;
    } else if (strcmp(v, "only-waiting") == 0) {
        d->match = CS_GANG_ONLY_WAITING;
    } else if (strcmp(v, "waiting-and-running") == 0) {
        d->match = CS_GANG_WAITING_AND_RUNNING;
    } else {
        set_err(d,
                "match-policy \"%s\" must be once-satisfied, only-waiting or "
                "waiting-and-running%s",
                v, NULL);
    }
}

bool cs_gang_decl_parse(const struct cs_pod *pod, struct cs_gang_decl *d)
{
    memset(d, 0, sizeof(*d));
    const char *v;
    if ((v = cs_pod_annotation(pod, K_KOORD "name")) != NULL) {
        d->kind = CS_GANG_KOORD;
        d->name = v;
        const char *m = cs_pod_annotation(pod, K_KOORD "min-available");
        if (m == NULL) {
            set_err(d, "annotation %smin-available is missing%s", K_KOORD, NULL);
        } else if (!parse_positive(m, &d->min)) {
            set_err(d, "annotation %smin-available \"%s\" is not a positive integer", K_KOORD, m);
        }
        parse_koord_extras(pod, d);
    } else if ((v = cs_pod_label(pod, K_ACK "/name")) != NULL) {
        d->name = v;
        const char *m = cs_pod_label(pod, K_ACK "/min-available");
        if (m == NULL) {
            d->kind = CS_GANG_PODGROUP;            /* the PodGroup object holds the minimum */
            d->api_group = CS_GANG_API_SIGS;
        } else {
            d->kind = CS_GANG_LABELS;
            if (!parse_positive(m, &d->min)) {
                set_err(d, "label " K_ACK "/min-available \"%s\" is not a positive integer%s", m,
                        NULL);
            }
        }
    } else if ((v = cs_pod_label(pod, L_XK8S_REF)) != NULL) {
        d->kind = CS_GANG_PODGROUP;
        d->name = v;
        d->api_group = CS_GANG_API_XK8S;
    } else if ((v = cs_pod_label(pod, K_ACK)) != NULL) {
        d->kind = CS_GANG_PODGROUP;
        d->name = v;
        d->api_group = CS_GANG_API_SIGS;
    } else {
        return false;
    }
    if (!dns_subdomain(d->name)) {
        set_err(d, "gang name \"%s\" is not a valid object name (DNS subdomain)%s", d->name, NULL);
    }
    parse_match(pod, d);
    return true;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int cs_gang_groups_canonical(const char *groups, const char *ns, char *out, size_t n, char *err,
                             size_t errlen)
{
    json_error_t jerr;
    json_t *arr = json_loads(groups, 0, &jerr);
    if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > 64) {
        snprintf(err, errlen, "annotation " K_KOORD "groups %s is not a JSON list of 1 to 64 "
                              "gang names", groups);
        json_decref(arr);
        return -1;
    }
    size_t k = json_array_size(arr);
    char names[64][320];
    const char *ptrs[64] = { 0 };
    for (size_t i = 0; i < k; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL || *s == '\0' || strlen(s) > 300) {
            snprintf(err, errlen, "annotation " K_KOORD "groups %s: entry %zu is not a gang name",
                     groups, i);
            json_decref(arr);
            return -1;
        }
        if (strchr(s, '/')) {
            snprintf(names[i], sizeof(names[i]), "%s", s);
        } else {
            snprintf(names[i], sizeof(names[i]), "%s/%s", ns, s);
        }
        ptrs[i] = names[i];
    }
    json_decref(arr);
    qsort(ptrs, k, sizeof(ptrs[0]), str_cmp);
    size_t len = 0;
    int count = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && strcmp(ptrs[i], ptrs[i - 1]) == 0) {
            continue;
        }
        int w = snprintf(out + len, n - len, "%s%s", count ? "," : "", ptrs[i]);
        if (w < 0 || (size_t)w >= n - len) {
            snprintf(err, errlen, "annotation " K_KOORD "groups is too long");
            return -1;
        }
        len += (size_t)w;
        count++;
    }
    return count;
}
