#!/usr/bin/env python3
"""Check cpuset and shared-GPU allocations from the API objects, as a node agent would see them.

devcheck.py PODS.json NODES.json [TOPOLOGIES.json]  ->  one JSON line:
  cpuset_pods     pods annotated cpuset-scheduler: "true"
  cpuset_bound    ... of them bound (not being deleted)
  cpuset_missing  bound ones without a `cpuset` annotation
  cpuset_wrong    bound ones whose cpuset size differs from their integer limits.cpu
  cpuset_overlap  CPUs held by two live pods of one node
  cpuset_unknown  CPUs not in the node's topology
  cpuset_single   bound ones within one NUMA node
  cpu_free        free CPUs left over all nodes with a topology
  gpu_pods, gpu_bound, gpu_missing (no allocation annotation), gpu_overcommit (GPUs over their
  memory), gpu_in_use (GPUs with memory allocated), gpu_min (the fewest GPUs that could hold
  the bound pods' memory: sum / per-GPU, rounded up), gpu_free (GiB left on all GPUs)
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)["items"]


def qty_cpu(v):
    v = str(v)
    return int(v[:-1]) if v.endswith("m") else int(float(v) * 1000)


pods = load(sys.argv[1])
nodes = {n["metadata"]["name"]: n for n in load(sys.argv[2])}
topos = {}
if len(sys.argv) > 3:
    for t in load(sys.argv[3]):
        ann = t["metadata"].get("annotations", {}).get("node.koordinator.sh/cpu-topology")
        try:
            topos[t["metadata"]["name"]] = {c["id"]: c for c in json.loads(ann)["detail"]}
        except Exception:
            pass

out = dict(cpuset_pods=0, cpuset_bound=0, cpuset_missing=0, cpuset_wrong=0, cpuset_overlap=0,
           cpuset_unknown=0, cpuset_single=0, cpu_free=0, gpu_pods=0, gpu_bound=0,
           gpu_missing=0, gpu_overcommit=0, gpu_in_use=0, gpu_min=0, gpu_free=0)
held = {}          # node -> set of cpu ids
gpu_used = {}      # node -> {idx: GiB}
gpu_total = 0
for p in pods:
    md, spec = p["metadata"], p["spec"]
    ann = md.get("annotations") or {}
    live = spec.get("nodeName") and not md.get("deletionTimestamp")
    node = spec.get("nodeName")
    if ann.get("cpuset-scheduler") == "true":
        out["cpuset_pods"] += 1
        if live:
            out["cpuset_bound"] += 1
            want = sum(qty_cpu(c.get("resources", {}).get("limits", {}).get("cpu", "0")) // 1000
                       for c in spec["containers"])
            if "cpuset" not in ann:
                out["cpuset_missing"] += 1
                continue
            ids, numas = [], set()
            for cname, per in json.loads(ann["cpuset"]).items():
                for numa, s in per.items():
                    numas.add(numa)
                    ids += [int(i) for i in s["elems"]]
            if len(ids) != want:
                out["cpuset_wrong"] += 1
            out["cpuset_single"] += len(numas) == 1
            h = held.setdefault(node, set())
            for i in ids:
                if i in h:
                    out["cpuset_overlap"] += 1
                h.add(i)
                if node in topos and i not in topos[node]:
                    out["cpuset_unknown"] += 1
    gmem = sum(int(c.get("resources", {}).get("limits", {}).get("aliyun.com/gpu-mem", "0"))
               for c in spec["containers"])
    if gmem > 0:
        out["gpu_pods"] += 1
        if live:
            out["gpu_bound"] += 1
            gpu_total += gmem
            alloc = ann.get("scheduler.framework.gpushare.allocation")
            if alloc is None or ann.get("ALIYUN_COM_GPU_MEM_IDX") is None:
                out["gpu_missing"] += 1
                continue
            u = gpu_used.setdefault(node, {})
            for per in json.loads(alloc).values():
                for idx, gib in per.items():
                    u[int(idx)] = u.get(int(idx), 0) + gib

for name, topo in topos.items():
    if name in nodes:
        out["cpu_free"] += len(set(topo) - held.get(name, set()))
per_gpu = None
for name, n in nodes.items():
    cap = n["status"].get("allocatable", {})
    count = int(cap.get("aliyun.com/gpu-count", "0"))
    if count == 0:
        continue
    per = int(cap["aliyun.com/gpu-mem"]) // count
    per_gpu = per
    u = gpu_used.get(name, {})
    for i in range(count):
        used = u.get(i, 0)
        out["gpu_overcommit"] += used > per
        out["gpu_in_use"] += used > 0
        out["gpu_free"] += max(per - used, 0)
if per_gpu:
    out["gpu_min"] = -(-gpu_total // per_gpu)
print(json.dumps(out, sort_keys=True))
