#!/usr/bin/env python3
"""Placement checks over `kubectl get pods -o json` and `kubectl get nodes -o json`.

    spreadcheck.py PODS.json NODES.json --selector app=web [--namespace ns] --key zone

prints the number of bound, non-terminating pods matching the selector per value of the node
label `key` (sorted by value, "value=count" joined by spaces; nodes without the label are
"-"), then the pending count: e.g. "a=4 b=4 c=4 pending=0". With --max-skew N it prints
"ok" when max - min <= N over the domains (every label value of the nodes), else the counts.
"""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
ap.add_argument("pods")
ap.add_argument("nodes")
ap.add_argument("--selector", default="")
ap.add_argument("--namespace", default="default")
ap.add_argument("--key", required=True)
ap.add_argument("--max-skew", type=int)
a = ap.parse_args()

want = dict(kv.split("=", 1) for kv in a.selector.split(",") if kv)
pods = json.load(open(a.pods))["items"]
nodes = json.load(open(a.nodes))["items"]
value = {n["metadata"]["name"]: n["metadata"].get("labels", {}).get(a.key, "-") for n in nodes}
counts = {v: 0 for v in value.values() if v != "-"}
pending = 0
for p in pods:
    md = p["metadata"]
    if md.get("namespace") != a.namespace or md.get("deletionTimestamp"):
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
text = " ".join("%s=%d" % (k, counts[k]) for k in sorted(counts)) + " pending=%d" % pending
if a.max_skew is not None:
    real = [c for k, c in counts.items() if k != "-"]
    print("ok" if real and max(real) - min(real) <= a.max_skew and counts.get("-", 0) == 0
          else text)
else:
    print(text)
