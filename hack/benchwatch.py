#!/usr/bin/env python3
"""Sample cosched's /metrics once a second until `want` pods are bound; print the bench table.

Throughput samples are per-second deltas of cosched_binds_total{result="success"} (as
scheduler_perf samples scheduled pods each second); latency quantiles come from the
scheduler_scheduling_attempt_duration_seconds histogram (result="scheduled"), interpolated as
Prometheus' histogram_quantile does. Peak RSS (VmHWM) and CPU seconds come from /proc.
"""
import argparse
import os
import re
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--pid", type=int, required=True)
ap.add_argument("--want", type=int, required=True)
ap.add_argument("--timeout", type=float, default=300)
ap.add_argument("--ceiling", type=float, default=0)
ap.add_argument("--out", required=True)
ap.add_argument("--base", type=float, default=0, help="binds before this phase (not counted)")
a = ap.parse_args()


def scrape():
    try:
        return urllib.request.urlopen("http://127.0.0.1:%d/metrics" % a.port, timeout=5).read().decode()
    except Exception:
        return ""


def bound(text):
    m = re.search(r'^cosched_binds_total\{result="success"\} ([0-9.e+]+)$', text, re.M)
    return max(0.0, (float(m.group(1)) if m else 0.0) - a.base)


def victims(text):
    m = re.search(r'^scheduler_preemption_victims_sum(?:\{[^}]*\})? ([0-9.e+]+)$', text, re.M)
    return float(m.group(1)) if m else 0.0


def quantile(text, q):
    buckets = []
    for m in re.finditer(r'^cosched_scheduling_attempt_duration_seconds_bucket\{([^}]*)\} ([0-9.e+]+)$', text, re.M):
        labels = m.group(1)
        if 'result="scheduled"' not in labels:
            continue
        le = re.search(r'(?:^|,)le="([^"]+)"', labels).group(1)
        buckets.append((float("inf") if le == "+Inf" else float(le), float(m.group(2))))
    buckets.sort()
    if not buckets or buckets[-1][1] == 0:
        return float("nan")
    total = buckets[-1][1]
    rank = q * total
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / max(c - prev_c, 1e-12))
        prev_le, prev_c = le, c
    return prev_le


def proc_stats(pid):
    rss = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024.0
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(parts[11]) + int(parts[12])) / tick
    return rss, cpu


# Poll every 50 ms (ends interpolated below); per-second throughput
# samples (as scheduler_perf reports them) are aggregated from those polls.
start = time.time()
polls = []            # (time, bound)
text = ""
last = 0.0
while time.time() - start < a.timeout:
    time.sleep(0.05)
    text = scrape()
    n = bound(text)
    polls.append((time.time(), n))
    last = n
    if n >= a.want:
        break
# The first and last binds fall between two polls. Rows that bind for under a second would be
# off by up to one poll interval at each end (about 15 % at 0.6 s), so both ends are placed by
# linear interpolation within the poll interval that contains them, using that interval's rate.
first_t = None
end_t = None
prev_t, prev_n = start, 0.0
for i, (t, n) in enumerate(polls):
    if first_t is None and n > 0:
        first_t = prev_t
        # the rate over the following interval (or this one) places the first bind
        nt, nn = polls[i + 1] if i + 1 < len(polls) else (t, n)
        rate = (nn - n) / (nt - t) if nt > t and nn > n else (n - prev_n) / max(t - prev_t, 1e-9)
        if rate > 0:
            first_t = max(prev_t, t - n / rate)
    if n >= last and end_t is None:
        end_t = t
        if n > prev_n and t > prev_t and first_t is not None:
            end_t = prev_t + (last - prev_n) * (t - prev_t) / (n - prev_n)
    prev_t, prev_n = t, n
samples = []
if first_t is not None:
    edge, edge_n = first_t, 0.0
    for t, n in polls:
        if t <= first_t:
            continue
        if t - edge >= 1.0 or n >= last:
            samples.append((n - edge_n) / (t - edge))
            edge, edge_n = t, n
        if n >= last:
            break
rss, cpu = proc_stats(a.pid)
elapsed = (end_t - first_t) if first_t and end_t else float("nan")
avg = last / elapsed if elapsed and elapsed == elapsed and elapsed > 0 else 0
s = sorted(samples)


def pct(p):
    if not s:
        return 0
    return s[min(len(s) - 1, int(p * (len(s) - 1) + 0.5))]


lines = [
    "| figure | value |",
    "|---|---|",
    "| pods bound | %d of %d |" % (last, a.want),
    "| pods/s average (first to last bind, 1 s samples) | %.0f |" % avg,
    "| pods/s p50 / p90 / p99 of 1 s samples | %.0f / %.0f / %.0f |" % (pct(0.5), pct(0.9), pct(0.99)),
    "| attempt latency p50 / p99 (ms) | %.2f / %.2f |" % (quantile(text, 0.5) * 1000, quantile(text, 0.99) * 1000),
    "| apisim bind ceiling (binds/s, same run) | %.0f |" % a.ceiling,
    "| ratio cosched / ceiling | %.2f |" % (avg / a.ceiling if a.ceiling else float("nan")),
    "| cosched peak RSS (MiB) | %.1f |" % rss,
    "| cosched CPU seconds | %.2f |" % cpu,
]
v = victims(text)
if v:
    lines.append("| preemption victims (all phases) | %d |" % v)
with open(a.out, "w") as f:
    f.write("\n".join(lines) + "\n")
