#!/usr/bin/env python3
"""Placement checks for inter-pod affinity over `kubectl get pods -o json` and `kubectl get
nodes -o json`.

    affinitycheck.py PODS.json NODES.json --selector app=web [--namespace ns] --key LABEL

prints, for the bound, non-terminating pods matching the selector (in the namespace, default
"default"; "*" = all), the count per value of the node label LABEL (sorted, "value=count"
joined by spaces, nodes without the label as "-") and then "pending=N", e.g. "b=4 pending=0".
With --max-per-domain it prints instead "max=M bound=B pending=P", M being the largest count
in one domain (1 means no two pods share a domain).
"""
import argparse
import json

ap = argparse.ArgumentParser()
ap.add_argument("pods")
ap.add_argument("nodes")
ap.add_argument("--selector", default="")
ap.add_argument("--namespace", default="default")
ap.add_argument("--key", required=True)
ap.add_argument("--max-per-domain", action="store_true")
a = ap.parse_args()

want = dict(kv.split("=", 1) for kv in a.selector.split(",") if kv)
pods = json.load(open(a.pods))["items"]
nodes = json.load(open(a.nodes))["items"]
value = {n["metadata"]["name"]: n["metadata"].get("labels", {}).get(a.key, "-") for n in nodes}
counts = {}
pending = 0
for p in pods:
    md = p["metadata"]
    if a.namespace != "*" and md.get("namespace") != a.namespace:
        continue
    if md.get("deletionTimestamp"):
        continue
    labels = md.get("labels", {})
    if any(labels.get(k) != v for k, v in want.items()):
        continue
    node = p["spec"].get("nodeName")
    if not node:
        pending += 1
        continue
    v = value.get(node, "-")
    counts[v] = counts.get(v, 0) + 1
if a.max_per_domain:
    print("max=%d bound=%d pending=%d" % (max(counts.values(), default=0), sum(counts.values()),
                                          pending))
else:
    print(" ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)) + " pending=%d" % pending)
