#!/usr/bin/env python3
"""p50 and p99 of the scheduling-attempt latency histogram in a Prometheus text dump (summed
over its labels), interpolated within buckets as Prometheus' histogram_quantile does: cosched's
finer cosched_scheduling_attempt_duration_seconds when present (kube's
scheduler_scheduling_attempt_duration_seconds starts at 1 ms), else kube's.
Prints "p50 / p99" in milliseconds, or "?" when neither is there."""
import re
import sys

text = open(sys.argv[1], errors="replace").read()
name = ("cosched_scheduling_attempt_duration_seconds"
        if "cosched_scheduling_attempt_duration_seconds_bucket" in text
        else "scheduler_scheduling_attempt_duration_seconds")
buckets = {}
for line in text.splitlines():
    m = re.match(name + r'_bucket\{(.*)\} ([0-9.e+-]+)$', line.strip())
    if not m:
        continue
    le = re.search(r'(?:^|,)le="([^"]+)"', m.group(1)).group(1)
    le = float("inf") if le == "+Inf" else float(le)
    buckets[le] = buckets.get(le, 0) + float(m.group(2))
if not buckets or max(buckets.values()) == 0:
    print("?")
    sys.exit(0)
edges = sorted(buckets)
total = buckets[edges[-1]]


def q(x):
    rank = x * total
    prev_le, prev_c = 0.0, 0.0
    for le in edges:
        c = buckets[le]
        if c >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * ((rank - prev_c) / (c - prev_c) if c > prev_c else 0)
        prev_le, prev_c = le, c
    return edges[-2]


print("%.2f / %.2f" % (1000 * q(0.5), 1000 * q(0.99)))
