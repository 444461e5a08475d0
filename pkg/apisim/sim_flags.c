/*
 * Command-line flags of the simulation. Each flag takes its value either as `--flag=value` or
 * as the next argv element; cs_apisim_sim_parse_flag consumes one flag per call so apisim's
 * main can offer it every argument it does not know. Values are validated here, with the
 * flag's name in the message, so a typo stops apisim at start instead of silently doing
 * nothing.
 */
#include "pkg/apisim/sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"
#include "pkg/util/buf.h"
#include "pkg/util/log.h"

void cs_apisim_sim_opts_init(struct cs_apisim_sim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->running_delay_ms = 100;
    o->pod_lifecycle = 1;
    o->ctl_deployments = 1;
    o->ctl_jobs = 1;
    o->ctl_kubeflow = 1;
    o->reap_terminating = 1;
    o->seed = 1;
    cs_apisim_fault_config_init(&o->faults);
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        cs_free(v[i]);
    }
    cs_free(v);
}

void cs_apisim_sim_opts_free(struct cs_apisim_sim_opts *o)
{
    strv_free(o->cluster_gen, o->n_cluster_gen);
    strv_free(o->pods_gen, o->n_pods_gen);
    strv_free(o->gen_files, o->n_gen_files);
    o->cluster_gen = o->pods_gen = o->gen_files = NULL;
    o->n_cluster_gen = o->n_pods_gen = o->n_gen_files = 0;
}

static void strv_add(char ***v, size_t *n, const char *s)
{
    *v = cs_realloc(*v, (*n + 1) * sizeof(char *));
    (*v)[(*n)++] = cs_strdup(s);
}

static int parse_bool(const char *v, int *out)
{
    if (v == NULL || strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "on") == 0) {
        *out = 1;
    } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
        *out = 0;
    } else {
        return -1;
    }
    return 0;
}

static const struct {
    const char *flag;
    int op;
} rule_flags[] = {
    { "--fault-bind", CS_APISIM_FAULT_BIND },     { "--fault-create", CS_APISIM_FAULT_CREATE },
    { "--fault-update", CS_APISIM_FAULT_UPDATE }, { "--fault-patch", CS_APISIM_FAULT_PATCH },
    { "--fault-delete", CS_APISIM_FAULT_DELETE }, { "--fault-get", CS_APISIM_FAULT_GET },
    { "--fault-list", CS_APISIM_FAULT_LIST },
};

/* Flags whose value is optional (booleans): `--sim-jobs` alone means true. */
static const char *const bool_flags[] = {
    "--simulate", "--sim-pods", "--sim-deployments", "--sim-jobs", "--sim-kubeflow",
    "--sim-reap", NULL,
};

static int is_bool_flag(const char *name)
{
    for (size_t i = 0; bool_flags[i] != NULL; i++) {
        if (strcmp(name, bool_flags[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

static int known_flag(const char *name)
{
    static const char *const others[] = {
        "--running-delay", "--cluster-gen", "--cluster-gen-file", "--pods-gen", "--seed",
        "--faults", "--fault-latency", "--fault-jitter", "--fault-retry-after",
        "--fault-watch-drop", "--fault-watch-drop-every", "--fault-watch-410", NULL,
    };
    if (is_bool_flag(name)) {
        return 1;
    }
    for (size_t i = 0; others[i] != NULL; i++) {
        if (strcmp(name, others[i]) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < sizeof(rule_flags) / sizeof(rule_flags[0]); i++) {
        if (strcmp(name, rule_flags[i].flag) == 0) {
            return 1;
        }
    }
    return 0;
}

static int parse_prob(const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno != 0 || end == v || *end != '\0' || !(d >= 0 && d <= 1)) {
        return -1;
    }
    *out = d;
    return 0;
}

static int read_faults_file(const char *path, struct cs_buf *b)
{
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    if (f == NULL) {
        return -1;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        cs_buf_append(b, chunk, n);
    }
    fclose(f);
    return 0;
}

static int apply(struct cs_apisim_sim_opts *o, const char *name, const char *v)
{
    int64_t us = 0;
    int b = 0;
    if (is_bool_flag(name)) {
        if (parse_bool(v, &b) < 0) {
            goto bad;
        }
        if (strcmp(name, "--simulate") == 0) {
            o->pod_lifecycle = o->ctl_deployments = o->ctl_jobs = o->ctl_kubeflow = b;
        } else if (strcmp(name, "--sim-pods") == 0) {
            o->pod_lifecycle = b;
        } else if (strcmp(name, "--sim-deployments") == 0) {
            o->ctl_deployments = b;
        } else if (strcmp(name, "--sim-jobs") == 0) {
            o->ctl_jobs = b;
        } else if (strcmp(name, "--sim-kubeflow") == 0) {
            o->ctl_kubeflow = b;
        } else {
            o->reap_terminating = b;
        }
        return 0;
    }
    if (v == NULL) {
        CS_ERROR_S("missing value", "Flag needs a value", CS_KV("flag", name));
        return -1;
    }
    if (strcmp(name, "--running-delay") == 0) {
        if (strcmp(v, "off") == 0 || strcmp(v, "never") == 0) {
            o->running_delay_ms = -1;
        } else if (cs_apisim_fault_parse_duration_us(v, &us) < 0) {
            goto bad;
        } else {
            o->running_delay_ms = us < 0 ? -1 : (us + 999) / 1000;
        }
    } else if (strcmp(name, "--cluster-gen") == 0) {
        strv_add(&o->cluster_gen, &o->n_cluster_gen, v);
    } else if (strcmp(name, "--cluster-gen-file") == 0) {
        strv_add(&o->gen_files, &o->n_gen_files, v);
    } else if (strcmp(name, "--pods-gen") == 0) {
        strv_add(&o->pods_gen, &o->n_pods_gen, v);
    } else if (strcmp(name, "--seed") == 0) {
        char *end = NULL;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || v[0] == '-') {
            goto bad;
        }
        o->seed = x;
        o->faults.seed = x;
    } else if (strcmp(name, "--faults") == 0) {
        struct cs_buf body, err;
        cs_buf_init(&body);
        cs_buf_init(&err);
        int rc = 0;
        if (v[0] == '@') {
            rc = read_faults_file(v + 1, &body);
        } else {
            cs_buf_puts(&body, v);
        }
        uint64_t seed = o->faults.seed;
        if (rc == 0 &&
            cs_apisim_fault_config_from_json(body.data, body.len, &o->faults, &err) < 0) {
            CS_ERROR_S(err.data, "Bad --faults", CS_KV("value", v));
            rc = -1;
        } else if (rc < 0) {
            CS_ERROR_S(strerror(errno), "Cannot read --faults file", CS_KV("file", v + 1));
        }
        if (rc == 0 && o->faults.seed == 0) {
            o->faults.seed = seed;
        }
        cs_buf_free(&body);
        cs_buf_free(&err);
        return rc;
    } else if (strcmp(name, "--fault-latency") == 0 || strcmp(name, "--fault-jitter") == 0) {
        if (cs_apisim_fault_parse_duration_us(v, &us) < 0 || us < 0) {
            goto bad;
        }
        if (name[8] == 'l') {
            o->faults.latency_us = us;
        } else {
            o->faults.jitter_us = us;
        }
    } else if (strcmp(name, "--fault-retry-after") == 0) {
        char *end = NULL;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || x < 0 || x > 3600) {
            goto bad;
        }
        o->faults.retry_after_s = (int)x;
    } else if (strcmp(name, "--fault-watch-drop") == 0) {
        if (parse_prob(v, &o->faults.watch_drop_prob) < 0) {
            goto bad;
        }
    } else if (strcmp(name, "--fault-watch-410") == 0) {
        if (parse_prob(v, &o->faults.watch_410_fraction) < 0) {
            goto bad;
        }
    } else if (strcmp(name, "--fault-watch-drop-every") == 0) {
        if (cs_apisim_fault_parse_duration_us(v, &us) < 0 || us < 0) {
            goto bad;
        }
        o->faults.watch_drop_every_s = (double)us / 1e6;
    } else {
        for (size_t i = 0; i < sizeof(rule_flags) / sizeof(rule_flags[0]); i++) {
            if (strcmp(name, rule_flags[i].flag) == 0) {
                if (cs_apisim_fault_parse_rule(v, &o->faults.rules[rule_flags[i].op]) < 0) {
                    goto bad;
                }
                return 0;
            }
        }
        goto bad;
    }
    return 0;
bad:
    CS_ERROR_S("invalid value", "Bad flag value", CS_KV("flag", name), CS_KV("value", v));
    return -1;
}

int cs_apisim_sim_parse_flag(struct cs_apisim_sim_opts *o, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    char name[64];
    const char *val = NULL;
    if (arg == NULL || strncmp(arg, "--", 2) != 0) {
        return 0;
    }
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
    if (n >= sizeof(name)) {
        return 0;
    }
    memcpy(name, arg, n);
    name[n] = '\0';
    /* "--no-sim-jobs" style negation for the boolean flags. */
    if (strncmp(name, "--no-", 5) == 0) {
        char pos[64];
        snprintf(pos, sizeof(pos), "--%s", name + 5);
        if (is_bool_flag(pos) && eq == NULL) {
            return apply(o, pos, "false") < 0 ? -1 : 1;
        }
        return 0;
    }
    if (!known_flag(name)) {
        return 0;
    }
    if (eq != NULL) {
        val = eq + 1;
    } else if (!is_bool_flag(name)) {
        if (*i + 1 >= argc) {
            CS_ERROR_S("missing value", "Flag needs a value", CS_KV("flag", name));
            return -1;
        }
        val = argv[++(*i)];
    }
    return apply(o, name, val) < 0 ? -1 : 1;
}

void cs_apisim_sim_usage(FILE *f)
{
    fputs("Simulation (see pkg/apisim/SIMULATION.md):\n"
          "  --running-delay D          bound pods turn Running after D (100ms; 0 = at once;\n"
          "                             off/-1 = never)\n"
          "  --simulate=BOOL            all simulation on/off (default true)\n"
          "  --sim-pods --sim-deployments --sim-jobs --sim-kubeflow --sim-reap =BOOL\n"
          "                             individual parts (--no-sim-jobs etc. to disable)\n"
          "  --cluster-gen SPEC         generate nodes, e.g. nodes=100,cpu=4,memory=32Gi,zones=3\n"
          "                             (repeatable)\n"
          "  --cluster-gen-file FILE    YAML/JSON {nodes: [...], pods: [...]} of specs\n"
          "  --pods-gen SPEC            generate pods, e.g. count=1000,cpu=100m,bound=true\n"
          "  --seed N                   PRNG seed for fault injection (default 1)\n"
          "Fault injection (also PUT /apisim/faults):\n"
          "  --faults JSON|@FILE        all settings as JSON\n"
          "  --fault-bind F[:CODE]      fail fraction F of binds with CODE (500, 503, 409, 429)\n"
          "  --fault-create/-update/-patch/-delete/-get/-list F[:CODE]\n"
          "  --fault-latency D --fault-jitter D   add D (+ uniform [0,jitter]) to requests\n"
          "  --fault-retry-after N      Retry-After seconds for 429 (default 1)\n"
          "  --fault-watch-drop P       close a watch with probability P per event\n"
          "  --fault-watch-drop-every D close every watch D after it started\n"
          "  --fault-watch-410 F        answer fraction F of watch resumes with 410 Expired\n",
          f);
}
