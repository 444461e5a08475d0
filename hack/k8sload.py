#!/usr/bin/env python3
"""Load and watch a real kube-apiserver for make bench-k8s (stdlib only).

  k8sload.py create --server URL --token T --nodes N --existing E --pods P --scheduler NAME
      POST N nodes (4 cpu, 32Gi, 110 pods, Ready), E pods bound round-robin (100m/500Mi) and P
      pending pods for scheduler NAME, from 32 threads; prints the creation rate.
  k8sload.py watch --server URL --token T --want P --scheduler NAME --out FILE [--timeout S]
                   [--events]
      Watch pods from now; record when each pod of NAME first has spec.nodeName (and, with
      --events, when it has its Scheduled event). Writes "first last count last_event
      count_events" (monotonic seconds) to FILE once P are bound (and have events) or at the
      timeout.
"""
import argparse
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["create", "watch", "feed"])
ap.add_argument("--server", required=True)
ap.add_argument("--token", required=True)
ap.add_argument("--nodes", type=int, default=0)
ap.add_argument("--existing", type=int, default=0)
ap.add_argument("--pods", type=int, default=0)
ap.add_argument("--scheduler", default="ack-co-scheduler")
ap.add_argument("--want", type=int, default=0)
ap.add_argument("--out")
ap.add_argument("--timeout", type=float, default=600)
ap.add_argument("--events", action="store_true", help="also wait for each pod's Scheduled event")
ap.add_argument("--rate", type=float, default=0, help="feed: pods created per second")
ap.add_argument("--times", help="feed: write 'name created' lines; watch: write 'name bound' lines")
ap.add_argument("--json-watch", action="store_true",
                help="watch: read the watch streams as JSON (default protobuf, as kubelets and "
                     "kube-scheduler read them, so the observer adds no second encoding)")
a = ap.parse_args()
u = urllib.parse.urlparse(a.server)
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
HDR = {"Authorization": "Bearer " + a.token, "Content-Type": "application/json"}


def conn():
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=120)


def node(i):
    cap = {"cpu": "4", "memory": "32Gi", "pods": "110"}
    return ("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-%d" % i, "labels": {"kubernetes.io/hostname": "node-%d" % i}},
            "status": {"capacity": cap, "allocatable": cap,
                       "conditions": [{"type": "Ready", "status": "True"}]}})


def pod(name, node_name=None):
    res = {"cpu": "100m", "memory": "500Mi"}
    spec = {"schedulerName": a.scheduler,
            "containers": [{"name": "c", "image": "registry.k8s.io/pause:3.9",
                            "resources": {"requests": res, "limits": res}}]}
    if node_name:
        spec["nodeName"] = node_name
    return ("/api/v1/namespaces/default/pods",
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})


def post_all(items, threads=32):
    errors = []
    lock = threading.Lock()
    it = iter(items)

    def worker():
        c = conn()
        while True:
            with lock:
                nxt = next(it, None)
            if nxt is None:
                return
            path, body = nxt
            for _ in range(5):
                try:
                    c.request("POST", path, json.dumps(body), HDR)
                    r = c.getresponse()
                    r.read()
                    if r.status in (200, 201, 409):
                        break
                    time.sleep(0.2)
                except Exception as e:  # reconnect and retry
                    errors.append(str(e))
                    c = conn()
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


if a.mode == "create":
    t0 = time.time()
    post_all([node(i) for i in range(a.nodes)])
    post_all([pod("existing-%d" % i, "node-%d" % (i % max(a.nodes, 1))) for i in range(a.existing)])
    post_all([pod("measured-%d" % i) for i in range(a.pods)])
    n = a.nodes + a.existing + a.pods
    print("created %d objects in %.1f s (%.0f/s)" % (n, time.time() - t0, n / (time.time() - t0)))
    sys.exit(0)

if a.mode == "feed":
    # --pods measured pods at --rate per second (each sent at its due time by 16 workers), so
    # that the scheduler works on a stream instead of a backlog; creation times (monotonic,
    # comparable with the watcher's) go to --times.
    created = {}
    t0 = time.monotonic()
    due = iter(range(a.pods))
    lock_f = threading.Lock()

    def feeder():
        c = conn()
        while True:
            with lock_f:
                i = next(due, None)
            if i is None:
                return
            wait = t0 + i / a.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            path, body = pod("measured-%d" % i)
            for _ in range(5):
                try:
                    c.request("POST", path, json.dumps(body), HDR)
                    r = c.getresponse()
                    r.read()
                    if r.status in (200, 201, 409):
                        created["measured-%d" % i] = time.monotonic()
                        break
                    time.sleep(0.2)
                except Exception:
                    c = conn()
    ts = [threading.Thread(target=feeder) for _ in range(16)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(a.times, "w") as f:
        for k, v in created.items():
            f.write("%s %.6f\n" % (k, v))
    el = time.monotonic() - t0
    print("fed %d pods in %.1f s (%.0f/s, asked %.0f/s)" % (len(created), el, len(created) / el, a.rate))
    sys.exit(0)

# watch: a stream the server ends (it drops slow watchers) is resumed after a list. With
# --events a second stream follows events.k8s.io/v1 Events and records when each measured pod
# has its Scheduled event (the writes any scheduler makes per pod: the bind and the event).
seen = set()
seen_ev = set()
bound_at = {}
first = last = last_ev = None
deadline = time.monotonic() + a.timeout
lock = threading.Lock()


def note(o):
    global first, last
    spec = o.get("spec", {})
    name = o.get("metadata", {}).get("name", "")
    if spec.get("nodeName") and spec.get("schedulerName") == a.scheduler and \
            name.startswith("measured-") and name not in seen:
        with lock:
            seen.add(name)
            now = time.monotonic()
            bound_at[name] = now
            first = first if first is not None else now
            last = now


def note_event(o):
    global last_ev
    name = (o.get("regarding") or {}).get("name", "")
    if o.get("reason") == "Scheduled" and name.startswith("measured-") and name not in seen_ev:
        with lock:
            seen_ev.add(name)
            last_ev = time.monotonic()


# Protobuf watch frames, read by hand (no protobuf module needed): a 4-byte big-endian length,
# then metav1.WatchEvent{type = 1, object = 2 {raw = 1}}, raw being "k8s\0" +
# runtime.Unknown{raw = 2}, the object's own message. Only the fields the observer needs are
# picked: Pod metadata(1).name(1), .resourceVersion(6), spec(2).nodeName(10),
# .schedulerName(19); Event reason(7), regarding(8).name(3).
def pb_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def pb_fields(b):
    i, n = 0, len(b)
    while i < n:
        key, i = pb_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            _, i = pb_varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            ln, i = pb_varint(b, i)
            yield num, b[i:i + ln]
            i += ln
        else:
            raise ValueError("wire type %d" % wt)


def pb_get(b, *path):
    for want in path:
        for num, v in pb_fields(b):
            if num == want:
                b = v
                break
        else:
            return None
    return b


def pb_str(b, *path):
    v = pb_get(b, *path)
    return bytes(v).decode() if v is not None else ""


def pb_object(frame):
    """(type, object message) of one watch frame."""
    typ = pb_str(frame, 1)
    raw = pb_get(frame, 2, 1)
    if raw is None or bytes(raw[:4]) != b"k8s\0":
        return typ, None
    return typ, pb_get(raw[4:], 2)


def pod_from_pb(m):
    return {"metadata": {"name": pb_str(m, 1, 1), "resourceVersion": pb_str(m, 1, 6)},
            "spec": {"nodeName": pb_str(m, 2, 10), "schedulerName": pb_str(m, 2, 19)}}


def event_from_pb(m):
    return {"metadata": {"resourceVersion": pb_str(m, 1, 6)}, "reason": pb_str(m, 7),
            "regarding": {"name": pb_str(m, 8, 3)}}


def relist(path, fn):
    c = conn()
    c.request("GET", path, headers=HDR)
    doc = json.loads(c.getresponse().read())
    c.close()
    for o in doc.get("items") or []:
        fn(o)
    return doc["metadata"]["resourceVersion"]


def follow(path, query, fn, have, from_pb, listed):
    rv = relist(path + query, fn)
    listed.set()
    hdr = dict(HDR)
    if not a.json_watch:
        hdr["Accept"] = "application/vnd.kubernetes.protobuf;stream=watch"
    while have() < a.want and time.monotonic() < deadline:
        c = conn()
        c.request("GET", "%s%swatch=1&resourceVersion=%s&timeoutSeconds=%d"
                  % (path, query + "&" if query else "?", rv,
                     max(1, int(deadline - time.monotonic()))), headers=hdr)
        r = c.getresponse()
        pb = "protobuf" in (r.getheader("Content-Type") or "")
        buf = b""
        while have() < a.want:
            chunk = r.read1(65536)
            if not chunk:
                break
            buf += chunk
            off = 0
            while pb and len(buf) - off >= 4:
                ln = int.from_bytes(buf[off:off + 4], "big")
                if len(buf) - off < 4 + ln:
                    break
                typ, m = pb_object(memoryview(buf)[off + 4:off + 4 + ln])
                if typ in ("ADDED", "MODIFIED") and m is not None:
                    o = from_pb(m)
                    fn(o)
                    rv = o["metadata"]["resourceVersion"] or rv
                off += 4 + ln
            if off:
                buf = buf[off:]
            while not pb and b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if line.strip():
                    ev = json.loads(line)
                    if ev.get("type") in ("ADDED", "MODIFIED"):
                        fn(ev.get("object", {}))
                        rv = ev["object"]["metadata"].get("resourceVersion", rv)
        c.close()
        if have() < a.want:
            rv = relist(path + query, fn)


# "ready" once every stream has its initial list (150000 pods take the observer tens of
# seconds to parse in the scale run): a scheduler started earlier would bind while the observer
# still parses, and the binds would be timed when the observer catches up, not when they happen.
streams = [("/api/v1/pods", "?fieldSelector=spec.schedulerName%3D" + urllib.parse.quote(a.scheduler),
            note, lambda: len(seen), pod_from_pb)]
if a.events:
    streams.append(("/apis/events.k8s.io/v1/events", "", note_event, lambda: len(seen_ev),
                    event_from_pb))
listed = [threading.Event() for _ in streams]
threads = [threading.Thread(target=follow, args=s + (e,)) for s, e in zip(streams, listed)]
for t in threads:
    t.start()
for e in listed:
    while not e.wait(1) and any(t.is_alive() for t in threads):
        pass
print("ready", flush=True)
for t in threads:
    t.join()
with open(a.out, "w") as f:
    f.write("%s %s %d %s %d\n" % (first or 0, last or 0, len(seen), last_ev or 0, len(seen_ev)))
if bound_at:
    # binds per 1 s sample from the first bind (scheduler_perf's SchedulingThroughput samples)
    t_first = min(bound_at.values())
    buckets = {}
    for v in bound_at.values():
        buckets[int(v - t_first)] = buckets.get(int(v - t_first), 0) + 1
    samples = sorted(buckets.get(i, 0) for i in range(max(buckets) + 1))
    q = lambda x: samples[min(len(samples) - 1, int(x * len(samples)))]
    with open(a.out, "a") as f:
        f.write("samples %d %d %d\n" % (q(0.5), q(0.9), q(0.99)))
if a.times:
    with open(a.times, "w") as f:
        for k, v in bound_at.items():
            f.write("%s %.6f\n" % (k, v))
