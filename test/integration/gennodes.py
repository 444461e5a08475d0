#!/usr/bin/env python3
"""Write a v1 List of Nodes (and their NodeResourceTopology objects) for kubectl create -f, so
that suites build the same cluster on apisim and on the real kube-apiserver.

gennodes.py --count N [--prefix node-] [--cpu 32] [--memory 64Gi] [--pods 110]
            [--sockets S --numa N --cores C [--threads 2]]   CPU topology (Linux numbering),
                                                             published as a NodeResourceTopology
            [--bad-topology]       the topology annotation is malformed JSON
            [--gpus G --gpu-mem M] aliyun.com/gpu-count G, aliyun.com/gpu-mem G*M
            [--virtual]            an ECI virtual node (label type=virtual-kubelet + taint)
            [--label k=v]... [--taint key=value:Effect]...
"""
import argparse
import json
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--count", type=int, required=True)
ap.add_argument("--prefix", default="node-")
ap.add_argument("--start", type=int, default=0)
ap.add_argument("--cpu")
ap.add_argument("--memory", default="64Gi")
ap.add_argument("--pods", default="110")
ap.add_argument("--sockets", type=int, default=0)
ap.add_argument("--numa", type=int, default=1, help="NUMA nodes per socket")
ap.add_argument("--cores", type=int, default=0, help="cores per NUMA node")
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--bad-topology", action="store_true")
ap.add_argument("--gpus", type=int, default=0)
ap.add_argument("--gpu-mem", type=int, default=0)
ap.add_argument("--virtual", action="store_true")
ap.add_argument("--label", action="append", default=[])
ap.add_argument("--taint", action="append", default=[], help="key=value:Effect")
a = ap.parse_args()


def topology():
    per_thread = a.sockets * a.numa * a.cores
    detail = []
    for th in range(a.threads):
        for c in range(per_thread):
            numa = c // a.cores
            detail.append({"id": th * per_thread + c, "core": c, "socket": numa // a.numa,
                           "node": numa})
    return json.dumps({"detail": detail}, separators=(",", ":"))


items = []
for i in range(a.start, a.start + a.count):
    name = "%s%d" % (a.prefix, i)
    labels = {"kubernetes.io/hostname": name}
    for kv in a.label:
        k, v = kv.split("=", 1)
        labels[k] = v
    cpu = a.cpu or (str(a.sockets * a.numa * a.cores * a.threads) if a.sockets else "32")
    cap = {"cpu": cpu, "memory": a.memory, "pods": a.pods}
    spec = {}
    if a.gpus:
        cap["aliyun.com/gpu-count"] = str(a.gpus)
        cap["aliyun.com/gpu-mem"] = str(a.gpus * a.gpu_mem)
        labels["ack.node.gpu.schedule"] = "share"
    if a.virtual:
        labels["type"] = "virtual-kubelet"
        spec["taints"] = [{"key": "virtual-kubelet.io/provider", "value": "alibabacloud",
                           "effect": "NoSchedule"}]
    for t in a.taint:
        kv, eff = t.rsplit(":", 1)
        k, v = kv.split("=", 1)
        spec.setdefault("taints", []).append({"key": k, "value": v, "effect": eff})
    items.append({"apiVersion": "v1", "kind": "Node",
                  "metadata": {"name": name, "labels": labels}, "spec": spec,
                  "status": {"capacity": cap, "allocatable": cap,
                             "conditions": [{"type": "Ready", "status": "True"}]}})
    if a.sockets:
        text = "{\"detail\":[{\"id\":0," if a.bad_topology else topology()
        items.append({"apiVersion": "topology.node.k8s.io/v1alpha1",
                      "kind": "NodeResourceTopology",
                      "metadata": {"name": name,
                                   "annotations": {"node.koordinator.sh/cpu-topology": text}},
                      "topologyPolicies": ["None"]})
json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout)
