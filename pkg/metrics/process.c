/*
 * The process_* metrics every Go component exports (client_golang's process collector),
 * sampled from /proc/self at scrape time by a registry collector. Values that cannot be read
 * are left at their previous value rather than reported as zero.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pkg/metrics/metrics.h"
#include "pkg/util/alloc.h"

struct proc_metrics {
    struct cs_metric *cpu, *rss, *vsize, *start, *fds, *max_fds;
};

static double boot_time_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) {
        return 0;
    }
    char line[256];
    double bt = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "btime ", 6) == 0) {
            bt = strtod(line + 6, NULL);
            break;
        }
    }
    fclose(f);
    return bt;
}

static void collect(void *arg)
{
    struct proc_metrics *pm = arg;
    FILE *f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        char buf[1024];
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        /* fields after the parenthesised command name (which may contain spaces) */
        char *p = strrchr(buf, ')');
        if (p != NULL) {
            double field[64] = { 0 };
            int i = 3; /* p + 2 starts at field 3 (state) */
            char *save = NULL;
            for (char *tok = strtok_r(p + 2, " ", &save); tok && i < 64;
                 tok = strtok_r(NULL, " ", &save), i++) {
                field[i] = strtod(tok, NULL);
            }
            double tck = (double)sysconf(_SC_CLK_TCK);
            double page = (double)sysconf(_SC_PAGESIZE);
            if (i > 24 && tck > 0) {
                cs_metrics_set(pm->cpu, NULL, (field[14] + field[15]) / tck);
                cs_metrics_set(pm->vsize, NULL, field[23]);
                cs_metrics_set(pm->rss, NULL, field[24] * page);
                double bt = boot_time_s();
                if (bt > 0) {
                    cs_metrics_set(pm->start, NULL, bt + field[22] / tck);
                }
            }
        }
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        long n = 0;
        const struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] != '.') {
                n++;
            }
        }
        closedir(d);
        cs_metrics_set(pm->fds, NULL, (double)(n > 0 ? n - 1 : 0)); /* minus the DIR's own fd */
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        cs_metrics_set(pm->max_fds, NULL, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
    }
}

static void free_pm(void *arg)
{
    cs_free(arg);
}

int cs_metrics_register_process(struct cs_metrics_registry *r)
{
    struct proc_metrics pm;
    pm.cpu = cs_metrics_counter_new(r, "process_cpu_seconds_total",
                                    "CPU time (user plus system) used by this process, in seconds.", NULL);
    pm.rss = cs_metrics_gauge_new(r, "process_resident_memory_bytes",
                                  "Bytes of this process resident in memory.", NULL);
    pm.vsize = cs_metrics_gauge_new(r, "process_virtual_memory_bytes",
                                    "Bytes of virtual address space of this process.", NULL);
    pm.start = cs_metrics_gauge_new(r, "process_start_time_seconds",
                                    "When this process started, in seconds since the Unix epoch.",
                                    NULL);
    pm.fds = cs_metrics_gauge_new(r, "process_open_fds", "File descriptors this process has open.",
                                  NULL);
    pm.max_fds = cs_metrics_gauge_new(r, "process_max_fds",
                                      "Limit on open file descriptors (RLIMIT_NOFILE soft limit).", NULL);
    if (!pm.cpu || !pm.rss || !pm.vsize || !pm.start || !pm.fds || !pm.max_fds) {
        return -1;
    }
    struct proc_metrics *heap = cs_malloc(sizeof *heap);
    *heap = pm;
    cs_metrics_add_collector(r, collect, heap, free_pm);
    return 0;
}
