#!/usr/bin/env python3
"""Cluster invariants for integration suites, read from `kubectl get -o json` output.

  k8scheck.py capacity NODES.json PODS.json   -> exit 1 and print offenders when any node has
                                                 more pods than allocatable pods, or more
                                                 cpu/memory requested than allocatable
  k8scheck.py summary PODS.json               -> counts by scheduler and bound/pending
"""
import json
import re
import sys

SUFFIX = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
          "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "P": 1e15, "E": 1e18}


def qty(s):
    s = str(s)
    m = re.fullmatch(r"([+-]?[0-9.]+)(e[+-]?[0-9]+|[A-Za-z]*)", s)
    if not m:
        raise ValueError("bad quantity " + s)
    num, suf = m.groups()
    if suf.startswith("e"):
        return float(num) * 10 ** int(suf[1:])
    return float(num) * SUFFIX[suf]


def pod_requests(p):
    tot = {"cpu": 0.0, "memory": 0.0}
    for c in p["spec"].get("containers", []):
        req = c.get("resources", {}).get("requests", {})
        for r in tot:
            if r in req:
                tot[r] += qty(req[r])
    for c in p["spec"].get("initContainers", []):
        req = c.get("resources", {}).get("requests", {})
        for r in tot:
            if r in req:
                tot[r] = max(tot[r], qty(req[r]))
    return tot


def capacity(nodes_file, pods_file):
    nodes = {n["metadata"]["name"]: n for n in json.load(open(nodes_file))["items"]}
    use = {}
    for p in json.load(open(pods_file))["items"]:
        node = p["spec"].get("nodeName")
        if not node or p.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            continue
        u = use.setdefault(node, {"cpu": 0.0, "memory": 0.0, "pods": 0})
        r = pod_requests(p)
        u["cpu"] += r["cpu"]
        u["memory"] += r["memory"]
        u["pods"] += 1
    bad = []
    for name, u in use.items():
        if name not in nodes:
            continue
        alloc = nodes[name]["status"].get("allocatable") or nodes[name]["status"]["capacity"]
        for r in ("cpu", "memory", "pods"):
            if r in alloc and u[r] > qty(alloc[r]) + 1e-9:
                bad.append("%s: %s used %s > allocatable %s" % (name, r, u[r], alloc[r]))
    for b in bad:
        print(b)
    print("nodes_used=%d offenders=%d" % (len(use), len(bad)))
    return 1 if bad else 0


def summary(pods_file):
    cnt = {}
    for p in json.load(open(pods_file))["items"]:
        key = (p["spec"].get("schedulerName", "default-scheduler"),
               "bound" if p["spec"].get("nodeName") else "pending")
        cnt[key] = cnt.get(key, 0) + 1
    for k in sorted(cnt):
        print("%s %s %d" % (k[0], k[1], cnt[k]))
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "capacity":
        sys.exit(capacity(sys.argv[2], sys.argv[3]))
    if sys.argv[1] == "summary":
        sys.exit(summary(sys.argv[2]))
    sys.exit(2)
