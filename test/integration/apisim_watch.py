"""Wire semantics of the API server cosched talks to, over raw HTTP: watch, pagination,
binding, status patches, the objects cosched writes (Events, Leases, nominations, evictions,
CRD status) and the error Status bodies. The same checks run against apisim and against the
real kube-apiserver v1.37.2; the few that need an apisim-only feature print "# skip ..." with
the reason on the real server.

Usage: apisim_watch.py URL SERVER   (SERVER: apisim or k8s)
Environment: WATCH_TOKEN (bearer token), WATCH_ETCD (k8s: etcd client URL, for compaction).
Prints one "ok - ..." / "not ok - ..." line per check.
"""
import http.client
import json
import os
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request

URL, SERVER = sys.argv[1], sys.argv[2]
K8S = SERVER == "k8s"
U = urllib.parse.urlsplit(URL)
HOST, PORT, TLS = U.hostname, U.port, U.scheme == "https"
TOKEN = os.environ.get("WATCH_TOKEN", "")
ETCD = os.environ.get("WATCH_ETCD", "")
CTX = ssl._create_unverified_context() if TLS else None
failures = 0


def report(ok, what, detail=""):
    global failures
    if ok:
        print("ok - " + what)
    else:
        failures += 1
        print("not ok - " + what)
        if detail:
            print("#   " + str(detail)[:800])
    sys.stdout.flush()


def skip(what, why):
    """A check that needs something only apisim has: say so instead of running it."""
    print("# skip on %s: %s (%s)" % (SERVER, what, why))
    sys.stdout.flush()


def conn(timeout=15):
    if TLS:
        return http.client.HTTPSConnection(HOST, PORT, timeout=timeout, context=CTX)
    return http.client.HTTPConnection(HOST, PORT, timeout=timeout)


def headers(extra=None):
    h = {"Accept": "application/json"}
    if TOKEN:
        h["Authorization"] = "Bearer " + TOKEN
    h.update(extra or {})
    return h


def req(method, path, body=None, ctype="application/json", accept=None):
    c = conn()
    h = headers({"Accept": accept} if accept else None)
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h["Content-Type"] = ctype
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw


def merge(path, patch):
    return req("PATCH", path, patch, "application/merge-patch+json")


def smp(path, patch):
    return req("PATCH", path, patch, "application/strategic-merge-patch+json")


def watch(path, max_events=100, max_seconds=5.0):
    """Collect watch events until the server closes, max_events or max_seconds.

    Raw socket + own chunked decoding, so waiting for data never disturbs a parser."""
    sock = socket.create_connection((HOST, PORT), timeout=5)
    if TLS:
        sock = CTX.wrap_socket(sock, server_hostname=HOST)
    auth = "Authorization: Bearer %s\r\n" % TOKEN if TOKEN else ""
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n%s\r\n"
                  % (path, HOST, auth)).encode())
    raw, body, events, closed, status = b"", b"", [], False, 0
    deadline = time.time() + max_seconds
    header_done = False
    while len(events) < max_events and time.time() < deadline:
        pending = TLS and sock.pending() > 0
        if not pending and not select.select([sock], [], [], 0.1)[0]:
            continue
        data = sock.recv(65536)
        if not data:
            closed = True
            break
        raw += data
        if not header_done:
            if b"\r\n\r\n" not in raw:
                continue
            head, raw = raw.split(b"\r\n\r\n", 1)
            status = int(head.split(b" ")[1])
            header_done = True
        while True:  # decode complete chunks
            if b"\r\n" not in raw:
                break
            size_line, rest = raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if len(rest) < size + 2:
                break
            if size == 0:
                closed = True
                raw = b""
                break
            body += rest[:size]
            raw = rest[size + 2:]
        while b"\n" in body:
            line, body = body.split(b"\n", 1)
            if line.strip():
                events.append(json.loads(line))
        if closed:
            break
    sock.close()
    return status, events, closed


def pod(name, labels=None, gates=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "labels": labels or {}},
         "spec": {"containers": [{"name": "c", "image": "x"}]}}
    if gates:
        p["spec"]["schedulingGates"] = [{"name": g} for g in gates]
    return p


def status_of(body):
    """The fields of an error Status that clients act on (metadata and the like dropped)."""
    if not isinstance(body, dict):
        return body
    return {k: body.get(k) for k in ("kind", "status", "reason", "code", "message", "details")
            if body.get(k) is not None}


def expect_status(got, code, reason, message, details):
    want = {"kind": "Status", "status": "Failure", "reason": reason, "code": code,
            "message": message}
    if details is not None:
        want["details"] = details
    return status_of(got) == want


NS = "/api/v1/namespaces/default/pods"

# --- resourceVersion, create, resume ----------------------------------------------------------
st, a = req("POST", NS, pod("w-a", {"app": "a"}))
report(st == 201, "create returns 201", st)
rv_a = int(a["metadata"]["resourceVersion"])
st, b = req("POST", NS, pod("w-b", {"app": "b"}))
rv_b = int(b["metadata"]["resourceVersion"])
report(rv_b > rv_a, "resourceVersion grows with each write", (rv_a, rv_b))
if K8S:
    skip("global RV increases by exactly one per write",
         "the real server's own writers (its identity lease) interleave with ours")
else:
    report(rv_b == rv_a + 1, "global RV increases by one per write", (rv_a, rv_b))
report(a["metadata"]["uid"] != b["metadata"]["uid"] and "creationTimestamp" in a["metadata"],
       "uid and creationTimestamp set")

st, evs, _ = watch(NS + "?watch=1&resourceVersion=%d" % rv_a, max_events=1, max_seconds=3)
report(st == 200 and len(evs) == 1 and evs[0]["type"] == "ADDED"
       and evs[0]["object"]["metadata"]["name"] == "w-b",
       "watch resumes after the given RV", evs)

st, evs, _ = watch(NS + "?watch=1", max_events=2, max_seconds=3)
names = sorted(e["object"]["metadata"]["name"] for e in evs if e["type"] == "ADDED")
report(names == ["w-a", "w-b"], "watch without RV starts with synthetic ADDED", evs)

# --- stale update conflict --------------------------------------------------------------------
stale = dict(a)
stale["metadata"] = dict(a["metadata"], labels={"app": "a", "x": "1"})
st, s = req("PUT", NS + "/w-a", stale)
report(st == 200, "PUT with current RV succeeds", s)
st, s = req("PUT", NS + "/w-a", stale)
report(st == 409 and expect_status(
    s, 409, "Conflict", 'Operation cannot be fulfilled on pods "w-a": the object has been '
    'modified; please apply your changes to the latest version and try again',
    {"name": "w-a", "kind": "pods"}), "PUT with stale RV -> 409 Conflict (whole Status)", s)

# --- selector transitions ---------------------------------------------------------------------
st, cur = req("GET", NS + "/w-a")
rv0 = cur["metadata"]["resourceVersion"]
merge(NS + "/w-a", {"metadata": {"labels": {"app": "b"}}})
merge(NS + "/w-a", {"metadata": {"labels": {"app": "b", "y": "1"}}})
st, last = merge(NS + "/w-a", {"metadata": {"labels": {"app": "c"}}})
st, evs, _ = watch(NS + "?watch=1&labelSelector=app%3Db&resourceVersion=" + rv0,
                   max_events=3, max_seconds=3)
types = [e["type"] for e in evs]
report(types == ["ADDED", "MODIFIED", "DELETED"], "selector transitions ADDED/MODIFIED/DELETED",
       types)
if len(evs) == 3:
    d = evs[2]["object"]
    report(d["metadata"]["labels"].get("app") == "b"
           and d["metadata"]["resourceVersion"] == last["metadata"]["resourceVersion"],
           "DELETED on stop-matching carries the previous object at the new RV", d["metadata"])

st, evs, _ = watch(NS + "?watch=1&fieldSelector=metadata.name%3Dw-b&resourceVersion=0",
                   max_events=5, max_seconds=1.5)
report([e["object"]["metadata"]["name"] for e in evs] == ["w-b"], "field selector on watch", evs)

# --- bookmarks and timeout --------------------------------------------------------------------
# kube-apiserver sends a watcher's bookmark 2 s before its deadline (or every minute), and only
# once something newer than the RV the watch resumed from exists: one pod write happens while
# the 4 s watch is open.
writer = threading.Timer(0.7, lambda: merge(NS + "/w-b", {"metadata": {"annotations": {"t": "1"}}}))
writer.start()
t0 = time.time()
st, evs, closed = watch(NS + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=4&resourceVersion="
                        + last["metadata"]["resourceVersion"], max_seconds=10)
took = time.time() - t0
writer.join()
report(closed and 3.5 <= took < 7, "watch closes cleanly at timeoutSeconds", (closed, took))
mods = [e for e in evs if e["type"] == "MODIFIED"]
bms = [e for e in evs if e["type"] == "BOOKMARK"]
report(len(mods) == 1 and len(bms) >= 1 and bms[-1]["object"]["kind"] == "Pod"
       and int(bms[-1]["object"]["metadata"]["resourceVersion"]) >= int(mods[0]["object"]["metadata"]["resourceVersion"]),
       "BOOKMARK with allowWatchBookmarks after a write", [(e["type"], e["object"]["metadata"].get("resourceVersion")) for e in evs])
last = mods[0]["object"] if mods else last
st, evs, closed = watch(NS + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=4&resourceVersion="
                        + last["metadata"]["resourceVersion"], max_seconds=10)
report(closed and evs == [], "no BOOKMARK when nothing is newer than the watch's RV", evs)
st, evs, closed = watch(NS + "?watch=1&timeoutSeconds=1&resourceVersion="
                        + last["metadata"]["resourceVersion"], max_seconds=5)
report(closed and not any(e["type"] == "BOOKMARK" for e in evs), "no BOOKMARK unless allowed", evs)

# --- sendInitialEvents ------------------------------------------------------------------------
st, evs, _ = watch(NS + "?watch=1&sendInitialEvents=true&allowWatchBookmarks=true"
                   "&resourceVersionMatch=NotOlderThan", max_events=3, max_seconds=3)
types = [e["type"] for e in evs]
report(types == ["ADDED", "ADDED", "BOOKMARK"]
       and evs[2]["object"]["metadata"].get("annotations", {}).get("k8s.io/initial-events-end") == "true",
       "sendInitialEvents: ADDED... then annotated BOOKMARK", evs)
st, s = req("GET", NS + "?watch=1&sendInitialEvents=true")
report(st == 422 and s.get("kind") == "Status" and s.get("reason") == "Invalid",
       "sendInitialEvents without NotOlderThan -> 422", s)

# --- pagination -------------------------------------------------------------------------------
CM = "/api/v1/namespaces/default/configmaps"
for i in range(5):
    req("POST", CM, {"metadata": {"name": "cm-%d" % i}, "data": {"i": str(i)}})
st, p1 = req("GET", CM + "?limit=2")
tok = p1["metadata"].get("continue", "")
req("POST", CM, {"metadata": {"name": "cm-00"}})
st, cm4 = req("GET", CM + "/cm-4")
st, s = req("DELETE", CM + "/cm-4")
report(st == 200 and s.get("kind") == "Status" and s.get("status") == "Success"
       and s.get("details") == {"name": "cm-4", "kind": "configmaps", "uid": cm4["metadata"]["uid"]},
       "DELETE of a ConfigMap -> 200 Status Success, details without a group", s)
st, p2 = req("GET", CM + "?limit=2&continue=" + tok)
st, p3 = req("GET", CM + "?limit=2&continue=" + p2["metadata"].get("continue", ""))
names = [i["metadata"]["name"] for p in (p1, p2, p3) for i in p["items"]]
rvs = {p["metadata"]["resourceVersion"] for p in (p1, p2, p3)}
report(names == ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"] and len(rvs) == 1
       and p1["metadata"].get("remainingItemCount") == 3 and not p3["metadata"].get("continue"),
       "limit/continue pages form one consistent snapshot", (names, rvs, p1["metadata"]))

# --- 410 Gone on a too-old RV -----------------------------------------------------------------
# Core Events: kube-apiserver keeps no watch cache for them (its default --watch-cache-sizes),
# so their lists and watches read etcd and answer 410 once etcd has compacted past the RV; the
# suite compacts etcd itself (its JSON gateway) instead of waiting for the apiserver's 5-minute
# compactor. apisim runs with --history 32 and 40 writes push the RVs out of its window.
CE = "/api/v1/namespaces/default/events"
for i in range(3):
    req("POST", CE, {"metadata": {"name": "old-%d" % i}, "reason": "Old", "message": "m",
                     "involvedObject": {"kind": "Pod", "namespace": "default", "name": "w-a"}})
st, e1 = req("GET", CE + "?limit=1")
etok = e1["metadata"].get("continue", "")
for i in range(40):
    merge(CM + "/cm-0", {"data": {"n": str(i)}})
if K8S:
    st, cur = req("GET", CM + "?limit=1")
    rq = urllib.request.Request(ETCD + "/v3/kv/compaction", method="POST",
                                data=json.dumps({"revision": cur["metadata"]["resourceVersion"],
                                                 "physical": True}).encode())
    try:
        urllib.request.urlopen(rq, timeout=10).read()
        compacted = True
    except OSError as e:
        compacted = e
    report(compacted is True, "etcd compacts to the current revision", compacted)
st, evs, closed = watch(CE + "?watch=1&resourceVersion=%d" % rv_a, max_seconds=3)
report(st == 200 and len(evs) == 1 and evs[0]["type"] == "ERROR"
       and evs[0]["object"]["code"] == 410 and evs[0]["object"]["reason"] == "Expired" and closed,
       "watch from a too-old RV -> 200 + one ERROR 410 Expired event", evs)
st, s = req("GET", CE + "?resourceVersion=%d&resourceVersionMatch=Exact" % rv_a)
report(st == 410 and s.get("reason") == "Expired" and s.get("code") == 410,
       "list at a too-old RV (resourceVersionMatch=Exact) -> 410 Expired", s)
st, s = req("GET", CE + "?limit=1&continue=" + etok)
report(st == 410 and s.get("reason") == "Expired" and s.get("code") == 410
       and s.get("message", "").startswith("The provided continue parameter is too old to display "
                                           "a consistent list result. You can start a new list "
                                           "without the continue parameter"),
       "expired continue token -> 410 Expired", s)
if K8S:
    skip("pods watch from a too-old RV -> 410",
         "pods are served from the watch cache, which on a fresh server still holds every event "
         "since start-up (it keeps >= 75 s and up to 100k events)")
else:
    st, evs, closed = watch(NS + "?watch=1&resourceVersion=" + str(rv_a), max_seconds=3)
    report(st == 200 and len(evs) == 1 and evs[0]["type"] == "ERROR"
           and evs[0]["object"]["code"] == 410 and evs[0]["object"]["reason"] == "Expired"
           and evs[0]["object"]["message"].startswith("too old resource version: %d (" % rv_a)
           and closed, "pods watch from a too-old RV -> ERROR 410 'too old resource version'", evs)

# --- binding ----------------------------------------------------------------------------------
req("POST", "/api/v1/nodes", {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "4"}}})
st, p = req("POST", NS, pod("b-1"))
uid = p["metadata"]["uid"]
st, p = smp(NS + "/b-1/status", {"status": {"nominatedNodeName": "n1"}})
report(st == 200 and p["status"].get("nominatedNodeName") == "n1",
       "nominatedNodeName set through pods/status", p)
bind = {"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "b-1", "namespace": "default", "uid": "wrong"},
        "target": {"kind": "Node", "name": "n1"}}
st, s = req("POST", NS + "/b-1/binding", bind)
report(st == 409 and s.get("reason") == "Conflict"
       and "Precondition failed: UID in precondition: wrong, UID in object meta: " + uid
       in s.get("message", ""),
       "binding with wrong uid precondition -> 409", s)
bind["metadata"]["uid"] = uid
bind["metadata"]["annotations"] = {"cosched/placed": "n1"}  # PreBind's annotations ride along
st, s = req("POST", NS + "/b-1/binding", bind)
report(st == 201 and s.get("kind") == "Status" and s.get("status") == "Success"
       and s.get("code") == 201, "binding -> 201 Status code 201", s)
st, p = req("GET", NS + "/b-1")
conds = {c["type"]: c for c in p["status"].get("conditions", [])}
report(p["spec"].get("nodeName") == "n1" and conds.get("PodScheduled", {}).get("status") == "True"
       and "nominatedNodeName" not in p["status"],
       "binding sets nodeName, PodScheduled=True, clears nominatedNodeName", p["status"])
report(p["metadata"].get("annotations", {}).get("cosched/placed") == "n1",
       "binding's metadata.annotations land on the pod", p["metadata"])
st, s = req("POST", NS + "/b-1/binding", bind)
report(st == 409 and expect_status(
    s, 409, "Conflict",
    'Operation cannot be fulfilled on pods/binding "b-1": pod b-1 is already assigned to node "n1"',
    {"name": "b-1", "kind": "pods/binding"}),
    "second binding -> 409 Conflict, reason/code/details as the real server", s)
st, s = req("POST", NS + "/gone/binding", dict(bind, metadata={"name": "gone"}))
report(st == 404 and expect_status(s, 404, "NotFound", 'pods "gone" not found',
                                   {"name": "gone", "kind": "pods"}),
       "binding a missing pod -> 404 NotFound", s)
st, g = req("POST", NS, pod("g-1", gates=["wait"]))
gc = {c["type"]: c for c in g["status"].get("conditions", [])}
report(gc.get("PodScheduled", {}).get("reason") == "SchedulingGated",
       "gated pod gets PodScheduled=False SchedulingGated", g["status"])
st, s = req("POST", NS + "/g-1/binding", dict(bind, metadata={"name": "g-1"}))
report(st == 409 and s.get("message") ==
       'Operation cannot be fulfilled on pods/binding "g-1": pod g-1 has non-empty .spec.schedulingGates',
       "binding a gated pod -> 409 schedulingGates", s)
st, s = req("POST", NS + "/b-2/binding", dict(bind, metadata={"name": "other"}))
report(st == 400 and s.get("reason") == "BadRequest" and "does not match" in s.get("message", ""),
       "binding name mismatch -> 400", s)

# --- graceful delete --------------------------------------------------------------------------
st, d = req("DELETE", NS + "/b-1", {"gracePeriodSeconds": 1})
report(st == 200 and "deletionTimestamp" in d["metadata"], "bound pod delete sets deletionTimestamp", d)
if K8S:
    skip("DELETED follows after the grace period",
         "apisim's kubelet simulation finishes the deletion; the real control plane runs no kubelet")
else:
    st2, evs, _ = watch(NS + "?watch=1&resourceVersion=" + d["metadata"]["resourceVersion"],
                        max_events=1, max_seconds=4)
    report(evs and evs[0]["type"] == "DELETED" and evs[0]["object"]["metadata"]["name"] == "b-1",
           "DELETED follows after the grace period", evs)

# --- status patches as cosched writes them ----------------------------------------------------
st, p = req("POST", NS, pod("s-1"))
# pkg/binder/recorder.c: PodScheduled=False with the reason, nominatedNodeName kept
body = {"status": {"conditions": [{"lastProbeTime": None,
                                   "lastTransitionTime": "2026-01-02T03:04:05Z",
                                   "message": "0/3 nodes are available",
                                   "reason": "Unschedulable", "status": "False",
                                   "type": "PodScheduled"}]}}
st, p = smp(NS + "/s-1/status", body)
c = [x for x in p.get("status", {}).get("conditions", []) if x["type"] == "PodScheduled"]
report(st == 200 and len(c) == 1 and c[0].get("reason") == "Unschedulable"
       and c[0].get("message") == "0/3 nodes are available"
       and c[0].get("lastTransitionTime") == "2026-01-02T03:04:05Z",
       "PodScheduled=False Unschedulable through a strategic-merge patch of pods/status", p)
# pkg/scheduler/commit.c nominate(): nominatedNodeName set, then cleared with null
st, p = smp(NS + "/s-1/status", {"status": {"nominatedNodeName": "n1"}})
report(st == 200 and p["status"].get("nominatedNodeName") == "n1"
       and [x["type"] for x in p["status"].get("conditions", [])].count("PodScheduled") == 1,
       "nominatedNodeName set through pods/status keeps the condition", p.get("status"))
st, p = smp(NS + "/s-1/status", {"status": {"nominatedNodeName": None}})
report(st == 200 and "nominatedNodeName" not in p["status"],
       "nominatedNodeName cleared with null", p.get("status"))
st, p = smp(NS + "/s-1/status",
            {"status": {"$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PodScheduled"}],
                        "conditions": [{"type": "Ready", "status": "False"}]}})
conds = p.get("status", {}).get("conditions", [])
report(st == 200 and [c["type"] for c in conds] == ["Ready", "PodScheduled"]
       and conds[1].get("reason") == "Unschedulable",
       "status SMP merges conditions by type with $setElementOrder", conds)
st, p = merge(NS + "/s-1/status", {"status": {"conditions": [
    {"type": "PodScheduled", "status": "False", "reason": "SchedulerError"}]}})
report(st == 200 and [c["type"] for c in p["status"].get("conditions", [])] == ["PodScheduled"],
       "merge patch of pods/status replaces the conditions list", p.get("status"))
st, p = merge(NS + "/s-1/status", {"spec": {"nodeName": "sneaky"}, "status": {"phase": "Running"}})
report(st == 200 and p["status"]["phase"] == "Running" and not p["spec"].get("nodeName"),
       "status subresource ignores spec changes", p.get("spec"))
st, s = smp(NS + "/nope/status", {"status": {"nominatedNodeName": "n1"}})
report(st == 404 and s.get("reason") == "NotFound", "status patch of a missing pod -> 404", s)

# --- Events (events.k8s.io/v1, as pkg/binder/recorder.c writes them) -------------------------
EV = "/apis/events.k8s.io/v1/namespaces/default/events"
ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event",
      "metadata": {"name": "s-1.18a2b3c4d5e6f708", "namespace": "default"},
      "eventTime": "2026-01-02T03:04:05.123456Z", "reportingController": "ack-co-scheduler",
      "reportingInstance": "ack-co-scheduler-host", "action": "Scheduling",
      "reason": "FailedScheduling",
      "regarding": {"kind": "Pod", "namespace": "default", "name": "s-1",
                    "uid": p["metadata"]["uid"], "apiVersion": "v1"},
      "note": "0/3 nodes are available", "type": "Warning"}
st, e = req("POST", EV, ev)
report(st == 201 and e.get("note") == ev["note"] and e.get("reportingController") == "ack-co-scheduler"
       and e.get("eventTime") == ev["eventTime"] and e["metadata"].get("resourceVersion"),
       "events.k8s.io/v1 Event create -> 201", e)
st, ce = req("GET", "/api/v1/namespaces/default/events/" + ev["metadata"]["name"])
report(st == 200 and ce.get("reportingComponent") == "ack-co-scheduler"
       and ce.get("message") == ev["note"] and ce.get("involvedObject", {}).get("name") == "s-1",
       "the Event reads back as a core/v1 Event", ce)
st, s = req("POST", EV, ev)
report(st == 409 and expect_status(
    s, 409, "AlreadyExists", 'events.events.k8s.io "%s" already exists' % ev["metadata"]["name"],
    {"name": ev["metadata"]["name"], "group": "events.k8s.io", "kind": "events"}),
    "duplicate Event -> 409 AlreadyExists with group in details", s)
bad = json.loads(json.dumps(ev))
bad["metadata"]["name"] = "s-1.bad"
del bad["reportingController"]
st, s = req("POST", EV, bad)
report(st == 422 and s.get("reason") == "Invalid"
       and "reportingController" in [c.get("field") for c in s.get("details", {}).get("causes", [])],
       "Event without reportingController -> 422 naming the field", s)
bad = json.loads(json.dumps(ev))
bad["metadata"]["name"] = "s-1.bad2"
del bad["action"], bad["reason"]
st, s = req("POST", EV, bad)
report(st == 422 and expect_status(
    s, 422, "Invalid", 'Event "s-1.bad2" is invalid: [action: Required value, reason: Required value]',
    {"name": "s-1.bad2", "kind": "Event", "causes": [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "action"},
        {"reason": "FieldValueRequired", "message": "Required value", "field": "reason"}]}),
    "Event without action and reason -> 422 with one cause per field", s)
st, s = req("GET", EV + "/nope")
report(st == 404 and expect_status(s, 404, "NotFound", 'events.events.k8s.io "nope" not found',
                                   {"name": "nope", "group": "events.k8s.io", "kind": "events"}),
       "GET a missing events.k8s.io Event -> 404 naming the group", s)

# --- Lease (coordination.k8s.io/v1, pkg/leaderelection) --------------------------------------
LS = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
         "metadata": {"name": "ack-co-scheduler", "namespace": "kube-system"},
         "spec": {"holderIdentity": "a_1", "leaseDurationSeconds": 15,
                  "acquireTime": "2026-01-02T03:04:05.000000Z",
                  "renewTime": "2026-01-02T03:04:05.000000Z", "leaseTransitions": 0}}
st, l1 = req("POST", LS, lease)
report(st == 201 and l1["spec"].get("holderIdentity") == "a_1"
       and l1["spec"].get("renewTime") == "2026-01-02T03:04:05.000000Z",
       "Lease create -> 201 with MicroTime kept", l1)
l2 = json.loads(json.dumps(l1))
l2["spec"]["renewTime"] = "2026-01-02T03:04:07.000000Z"
st, l2r = req("PUT", LS + "/ack-co-scheduler", l2)
report(st == 200 and l2r["spec"].get("renewTime") == "2026-01-02T03:04:07.000000Z"
       and l2r["metadata"]["resourceVersion"] != l1["metadata"]["resourceVersion"],
       "Lease renew (PUT at the current RV) -> 200", l2r)
l3 = json.loads(json.dumps(l1))
l3["spec"]["holderIdentity"] = "b_2"
st, s = req("PUT", LS + "/ack-co-scheduler", l3)
report(st == 409 and expect_status(
    s, 409, "Conflict", 'Operation cannot be fulfilled on leases.coordination.k8s.io '
    '"ack-co-scheduler": the object has been modified; please apply your changes to the latest '
    'version and try again',
    {"name": "ack-co-scheduler", "group": "coordination.k8s.io", "kind": "leases"}),
    "Lease update at a stale RV -> 409 Conflict (whole Status)", s)
st, l4 = req("GET", LS + "/ack-co-scheduler")
report(st == 200 and l4["spec"].get("holderIdentity") == "a_1", "the stale update changed nothing", l4)
st, s = req("POST", LS, lease)
report(st == 409 and expect_status(
    s, 409, "AlreadyExists", 'leases.coordination.k8s.io "ack-co-scheduler" already exists',
    {"name": "ack-co-scheduler", "group": "coordination.k8s.io", "kind": "leases"}),
    "Lease create when it exists -> 409 AlreadyExists (whole Status)", s)
st, s = req("PUT", LS + "/other", dict(lease, metadata={"name": "other", "resourceVersion": "1"}))
report(st == 201 and s.get("kind") == "Lease" and s["metadata"]["resourceVersion"] != "1",
       "Lease PUT of a missing lease creates it (create on update) -> 201", s)
st, s = merge(LS + "/nope", {"spec": {"holderIdentity": "x"}})
report(st == 404 and expect_status(
    s, 404, "NotFound", 'leases.coordination.k8s.io "nope" not found',
    {"name": "nope", "group": "coordination.k8s.io", "kind": "leases"}),
    "Lease patch of a missing lease -> 404 NotFound (whole Status)", s)

# --- eviction (policy/v1) ---------------------------------------------------------------------
st, p = req("POST", NS, pod("ev-1"))
evict = {"apiVersion": "policy/v1", "kind": "Eviction",
         "metadata": {"name": "ev-1", "namespace": "default"}}
st, s = req("POST", NS + "/ev-1/eviction", evict)
report(st == 201 and s.get("kind") == "Status" and s.get("status") == "Success"
       and s.get("code") == 201, "Eviction POST -> 201 Status Success", s)
st, s = req("GET", NS + "/ev-1")
report(st == 404, "an evicted unbound pod is gone at once", (st, s))
st, p = req("POST", NS, pod("ev-2"))
req("POST", NS + "/ev-2/binding", {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "ev-2"},
                                   "target": {"kind": "Node", "name": "n1"}})
st, s = req("POST", NS + "/ev-2/eviction", dict(evict, metadata={"name": "ev-2"}))
st, p = req("GET", NS + "/ev-2")
dt = [c for c in p.get("status", {}).get("conditions", []) if c["type"] == "DisruptionTarget"]
report(st == 200 and p["metadata"].get("deletionTimestamp") and len(dt) == 1
       and (dt[0]["status"], dt[0].get("reason"), dt[0].get("message"))
       == ("True", "EvictionByEvictionAPI", "Eviction API: evicting"),
       "an evicted bound pod gets DisruptionTarget (EvictionByEvictionAPI) and a graceful delete", p)
st, s = req("POST", NS + "/ev-nope/eviction", dict(evict, metadata={"name": "ev-nope"}))
report(st == 404 and expect_status(s, 404, "NotFound", 'pods "ev-nope" not found',
                                   {"name": "ev-nope", "kind": "pods"}),
       "evicting a missing pod -> 404 NotFound", s)

# --- CRD status subresource (manifests/crds PodGroup, installed by the .sh) -------------------
PG = "/apis/scheduling.sigs.k8s.io/v1alpha1/namespaces/default/podgroups"
st, g = req("POST", PG, {"apiVersion": "scheduling.sigs.k8s.io/v1alpha1", "kind": "PodGroup",
                         "metadata": {"name": "pg-1"}, "spec": {"minMember": 3},
                         "status": {"phase": "Running"}})
report(st == 201 and not g.get("status", {}).get("phase"),
       "PodGroup create drops status (status subresource)", g)
g["status"] = {"phase": "Pending", "scheduled": 1}
g["spec"]["minMember"] = 9
st, g2 = req("PUT", PG + "/pg-1/status", g)
report(st == 200 and g2.get("status", {}).get("phase") == "Pending"
       and g2["spec"].get("minMember") == 3,
       "PUT podgroups/status writes status only", g2)
st, s = req("PUT", PG + "/pg-1/status", g)
report(st == 409 and s.get("reason") == "Conflict" and s.get("code") == 409,
       "PUT podgroups/status at a stale RV -> 409 Conflict", s)
st, g3 = merge(PG + "/pg-1/status", {"status": {"phase": "Running"}})
report(st == 200 and g3.get("status", {}).get("phase") == "Running"
       and g3["status"].get("scheduled") == 1, "merge patch of podgroups/status", g3)

# --- errors: 404 and 422 ----------------------------------------------------------------------
st, s = req("GET", NS + "/nope")
report(st == 404 and expect_status(s, 404, "NotFound", 'pods "nope" not found',
                                   {"name": "nope", "kind": "pods"}),
       "GET a missing pod -> 404 NotFound (whole Status)", s)
st, s = req("POST", NS, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bad"},
                         "spec": {"containers": []}})
report(st == 422 and expect_status(
    s, 422, "Invalid", 'Pod "bad" is invalid: spec.containers: Required value',
    {"name": "bad", "kind": "Pod", "causes": [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers"}]}),
    "pod without containers -> 422 Invalid with causes[].field", s)
st, s = req("POST", NS, pod("Bad_Name"))
causes = s.get("details", {}).get("causes", []) if isinstance(s, dict) else []
report(st == 422 and s.get("reason") == "Invalid"
       and [(c.get("reason"), c.get("field")) for c in causes] == [("FieldValueInvalid", "metadata.name")],
       "invalid pod name -> 422 Invalid, cause FieldValueInvalid on metadata.name", s)

# --- bad input --------------------------------------------------------------------------------
st, s = req("POST", NS, b"{not json")
report(st == 400 and s.get("kind") == "Status", "malformed JSON -> 400 Status", s)
st, s = req("POST", NS, b"[1,2]")
report(st == 400 and s.get("kind") == "Status", "wrong JSON type -> 400 Status", s)
st, s = req("POST", NS, b"x" * (3 * 1024 * 1024 + 10))
report(st == 413 and s.get("kind") == "Status", "huge body -> 413 Status", s)
st, s = req("POST", NS, b"a=b", "text/plain")
report(st == 415 and s.get("kind") == "Status", "unsupported content type -> 415 Status", s)
# Protobuf: built-in kinds answer it (the k8s\0 envelope), custom resources cannot (406 when
# JSON is not acceptable, JSON when it is).
st, s = req("GET", NS, accept="application/vnd.kubernetes.protobuf")
report(st == 200 and isinstance(s, bytes) and s[:4] == b"k8s\x00",
       "Namespace with a protobuf Accept -> protobuf envelope", s[:40] if isinstance(s, bytes) else s)
st, s = req("GET", PG, accept="application/vnd.kubernetes.protobuf")
report(st == 406 and isinstance(s, bytes) and s[:4] == b"k8s\x00" and b"NotAcceptable" in s,
       "custom resource with a protobuf-only Accept -> 406 (a protobuf Status)", s)
st, s = req("GET", PG, accept="application/vnd.kubernetes.protobuf, application/json")
report(st == 200 and isinstance(s, dict) and s.get("kind") == "PodGroupList",
       "custom resource with protobuf then JSON -> JSON", s)
st, s = req("GET", "/api/v1/nonsense")
report(st == 404 and s.get("kind") == "Status", "unknown path -> 404 Status", s)
st, s = req("PATCH", NS + "/s-1", {"x": 1}, "application/json-patch+json")
report(st in (400, 422) and s.get("kind") == "Status", "JSON patch that is not an array -> 4xx", s)

sys.exit(1 if failures else 0)
