#!/usr/bin/env python3
"""One churn round against an API server URL (apisim, plain HTTP): create 100 cpuset pods (limits
1..4 CPUs, request 100m) and 100 shared-GPU pods (1..8 GiB) in random order, then delete 30 % of
all pods of the namespace at random, bound or not. Requests go out 8 at a time.

churn.py URL ROUND
churn.py URL fill NCPU NGIB PREFIX   NCPU cpuset pods of 1 CPU and NGIB GPU pods of 1 GiB
"""
import json
import random
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

url = sys.argv[1].rstrip("/")
base = url + "/api/v1/namespaces/default/pods"


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.read()
    except urllib.error.HTTPError as e:
        if e.code != 404:
            raise
        return b""


def pod(name, res, ann):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "annotations": ann},
            "spec": {"schedulerName": "ack-co-scheduler", "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "pause", "resources": res}]}}


if sys.argv[2] == "fill":
    ncpu, ngib, prefix = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    one_cpu = {"requests": {"cpu": "10m", "memory": "10Mi"}, "limits": {"cpu": "1", "memory": "10Mi"}}
    one_gib = {"requests": {"cpu": "10m", "memory": "10Mi", "aliyun.com/gpu-mem": "1"},
               "limits": {"memory": "10Mi", "aliyun.com/gpu-mem": "1"}}
    pods = [pod("%sc-%d" % (prefix, i), one_cpu, {"cpuset-scheduler": "true"}) for i in range(ncpu)]
    pods += [pod("%sg-%d" % (prefix, i), one_gib, {}) for i in range(ngib)]
    with ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda p: call("POST", base, p), pods))
    print("filled: %d cpuset pods, %d GPU pods" % (ncpu, ngib))
    sys.exit(0)

r = int(sys.argv[2])
random.seed(r)
items = []
for i in range(100):
    res = {"requests": {"cpu": "100m", "memory": "10Mi"},
           "limits": {"cpu": str(random.randint(1, 4)), "memory": "10Mi"}}
    items.append(("cs-%d-%d" % (r, i), res, {"cpuset-scheduler": "true"}))
    g = str(random.randint(1, 8))
    res = {"requests": {"cpu": "10m", "memory": "10Mi", "aliyun.com/gpu-mem": g},
           "limits": {"memory": "10Mi", "aliyun.com/gpu-mem": g}}
    items.append(("gp-%d-%d" % (r, i), res, {}))
random.shuffle(items)
pods = [pod(n, res, a) for n, res, a in items]
with ThreadPoolExecutor(8) as ex:
    list(ex.map(lambda p: call("POST", base, p), pods))
    names = [p["metadata"]["name"] for p in json.loads(call("GET", base))["items"]
             if not p["metadata"].get("deletionTimestamp")]
    victims = random.sample(names, len(names) * 3 // 10)
    list(ex.map(lambda n: call("DELETE", base + "/" + n), victims))
print("round %d: created %d, deleted %d of %d" % (r, len(pods), len(victims), len(names)))
