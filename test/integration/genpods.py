#!/usr/bin/env python3
"""Write a v1 List of simple pods for kubectl create -f (integration suites, demo, bench).

genpods.py --count N [--prefix p-] [--namespace default] [--cpu 100m] [--memory 500Mi]
           [--scheduler ack-co-scheduler] [--label k=v]... [--node-selector k=v]...
           [--toleration key=value:Effect]... [--host-port N] [--gate name] [--priority N] [--priority-class NAME]
           [--annotation k=v]... [--gpu-mem GiB] [--cpu-limit Q]
"""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--count", type=int, required=True)
ap.add_argument("--prefix", default="p-")
ap.add_argument("--start", type=int, default=0)
ap.add_argument("--namespace", default="default")
ap.add_argument("--cpu", default="100m")
ap.add_argument("--memory", default="500Mi")
ap.add_argument("--scheduler", default="ack-co-scheduler")
ap.add_argument("--label", action="append", default=[])
ap.add_argument("--annotation", action="append", default=[])
ap.add_argument("--node-selector", action="append", default=[])
ap.add_argument("--toleration", action="append", default=[])
ap.add_argument("--host-port", type=int, default=0)
ap.add_argument("--gate", action="append", default=[])
ap.add_argument("--priority", type=int)
ap.add_argument("--priority-class", help="priorityClassName")
ap.add_argument("--grace", type=int, help="terminationGracePeriodSeconds")
ap.add_argument("--affinity-json")
ap.add_argument("--spread-json", help="spec.topologySpreadConstraints (a JSON list)")
ap.add_argument("--gpu-mem", type=int, default=0, help="aliyun.com/gpu-mem limit (GiB)")
ap.add_argument("--cpu-limit", help="limits.cpu when it differs from the request")
a = ap.parse_args()


def kv(items):
    out = {}
    for it in items:
        k, v = it.split("=", 1)
        out[k] = v
    return out


items = []
for i in range(a.start, a.start + a.count):
    res = {}
    if a.cpu:
        res["cpu"] = a.cpu
    if a.memory:
        res["memory"] = a.memory
    lim = dict(res)
    if a.cpu_limit:
        lim["cpu"] = a.cpu_limit
    if a.gpu_mem:
        lim["aliyun.com/gpu-mem"] = str(a.gpu_mem)
    c = {"name": "c", "image": "registry.k8s.io/pause:3.9",
         "resources": {"requests": dict(res), "limits": lim}}
    if a.host_port:
        c["ports"] = [{"containerPort": 8080, "hostPort": a.host_port, "protocol": "TCP"}]
    spec = {"schedulerName": a.scheduler, "containers": [c]}
    if a.node_selector:
        spec["nodeSelector"] = kv(a.node_selector)
    if a.toleration:
        tols = []
        for t in a.toleration:
            kvpart, eff = t.rsplit(":", 1)
            if "=" in kvpart:
                k, v = kvpart.split("=", 1)
                tols.append({"key": k, "operator": "Equal", "value": v, "effect": eff})
            else:
                tols.append({"key": kvpart, "operator": "Exists", "effect": eff})
        spec["tolerations"] = tols
    if a.gate:
        spec["schedulingGates"] = [{"name": g} for g in a.gate]
    if a.priority is not None:
        spec["priority"] = a.priority
    if a.priority_class:
        spec["priorityClassName"] = a.priority_class
    if a.grace is not None:
        spec["terminationGracePeriodSeconds"] = a.grace
    if a.affinity_json:
        spec["affinity"] = json.loads(a.affinity_json)
    if a.spread_json:
        spec["topologySpreadConstraints"] = json.loads(a.spread_json)
    md = {"name": "%s%d" % (a.prefix, i), "namespace": a.namespace}
    if a.label:
        md["labels"] = kv(a.label)
    if a.annotation:
        md["annotations"] = kv(a.annotation)
    items.append({"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
