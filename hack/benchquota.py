#!/usr/bin/env python3
"""The CapacityQuota bench shape (make bench; stdlib only).

  benchquota.py gen --nodes N --out FILE
      apisim's generator file: N nodes (4 cpu, 32Gi, 110 pods) and the borrowing wave: 320 pods
      (100m/100Mi) in each of the leaves q0..q49, i.e. 32 cpu per leaf (min 16, max 40).
  benchquota.py tree
      The ElasticQuotaTree (YAML on stdout): root min = max = 1600 cpu; ten departments d0..d9
      (min 160, max 400); ten leaves each, q0..q99 (min 16, max 40): 100 leaves in 3 levels.
  benchquota.py reclaim --server URL
      POST the reclaiming wave, 80 pods (100m/100Mi: 8 cpu, within the min of 16) in each of
      q50..q99, from 16 threads; prints the creation time. Each takes back 100m from a borrower.
The borrowing wave fills the root (50 x 32 = 1600 cpu) by borrowing; the reclaiming wave
arrives once it is bound, so 4000 pods of the borrowers are preempted to give the other 50
leaves their min.
"""
import argparse
import http.client
import json
import sys
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["gen", "tree", "reclaim"])
ap.add_argument("--nodes", type=int, default=1000)
ap.add_argument("--out")
ap.add_argument("--server")
a = ap.parse_args()

SCHED = "ack-co-scheduler"


def pod(ns, name):
    res = {"cpu": "100m", "memory": "100Mi"}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"schedulerName": SCHED, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                                     "resources": {"requests": res, "limits": res}}]}}


if a.mode == "gen":
    pods = [{"count": 320, "cpu": "100m", "memory": "100Mi", "scheduler": SCHED,
             "namespace": "q%d" % q, "prefix": "borrow-"} for q in range(50)]
    doc = {"nodes": ["nodes=%d,cpu=4,memory=32Gi,pods=110,prefix=node-" % a.nodes], "pods": pods}
    with open(a.out, "w") as f:
        json.dump(doc, f)
elif a.mode == "tree":
    out = ["apiVersion: scheduling.sigs.k8s.io/v1beta1", "kind: ElasticQuotaTree",
           "metadata: {name: elasticquotatree, namespace: kube-system}", "spec:", "  root:",
           "    name: root", "    min: {cpu: 1600}", "    max: {cpu: 1600}", "    children:"]
    for d in range(10):
        out += ["    - name: d%d" % d, "      min: {cpu: 160}", "      max: {cpu: 400}",
                "      children:"]
        for j in range(10):
            q = d * 10 + j
            out.append("      - {name: q%d, namespaces: [q%d], min: {cpu: 16}, max: {cpu: 40}}" % (q, q))
    print("\n".join(out))
else:
    u = urllib.parse.urlparse(a.server)
    work = [("q%d" % q, "reclaim-%d" % i) for q in range(50, 100) for i in range(80)]
    lock = threading.Lock()
    errors = []

    def worker():
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        while True:
            with lock:
                if not work:
                    return
                ns, name = work.pop(0)
            body = json.dumps(pod(ns, name))
            c.request("POST", "/api/v1/namespaces/%s/pods" % ns, body,
                      {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            if r.status >= 300:
                errors.append("%d %s" % (r.status, name))

    c0 = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for q in range(50, 100):      # their namespaces (409: already there)
        c0.request("POST", "/api/v1/namespaces",
                   json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "q%d" % q}}),
                   {"Content-Type": "application/json"})
        c0.getresponse().read()
    t0 = time.time()
    ts = [threading.Thread(target=worker) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("created 4000 reclaiming pods in %.1f s (%d errors%s)" %
          (time.time() - t0, len(errors), (", first: " + errors[0]) if errors else ""))
    sys.exit(1 if errors else 0)
