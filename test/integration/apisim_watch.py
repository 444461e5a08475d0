"""Watch, pagination, binding and status-patch semantics of apisim, over raw HTTP.

Usage: apisim_watch.py HOST PORT. Prints one "ok - ..." / "not ok - ..." line per check.
"""
import http.client
import json
import select
import socket
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
failures = 0


def report(ok, what, detail=""):
    global failures
    if ok:
        print("ok - " + what)
    else:
        failures += 1
        print("not ok - " + what)
        if detail:
            print("#   " + str(detail)[:600])
    sys.stdout.flush()


def req(method, path, body=None, ctype="application/json"):
    c = http.client.HTTPConnection(HOST, PORT, timeout=10)
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        headers["Content-Type"] = ctype
    c.request(method, path, body=data, headers=headers)
    r = c.getresponse()
    raw = r.read()
    c.close()
    try:
        return r.status, json.loads(raw)
    except ValueError:
        return r.status, raw


def watch(path, max_events=100, max_seconds=5.0):
    """Collect watch events until the server closes, max_events or max_seconds.

    Raw socket + own chunked decoding, so waiting for data never disturbs a parser."""
    sock = socket.create_connection((HOST, PORT), timeout=5)
    sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nAccept: application/json\r\n\r\n"
                  % (path, HOST)).encode())
    raw, body, events, closed, status = b"", b"", [], False, 0
    deadline = time.time() + max_seconds
    header_done = False
    while len(events) < max_events and time.time() < deadline:
        if not select.select([sock], [], [], 0.1)[0]:
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
        # decode complete chunks
        while True:
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


def pod(name, labels=None, phase=None, gates=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "labels": labels or {}},
         "spec": {"containers": [{"name": "c", "image": "x"}]}}
    if gates:
        p["spec"]["schedulingGates"] = [{"name": g} for g in gates]
    return p


NS = "/api/v1/namespaces/default/pods"

# --- resourceVersion, create, resume ----------------------------------------------------------
st, a = req("POST", NS, pod("w-a", {"app": "a"}))
report(st == 201, "create returns 201", st)
rv_a = int(a["metadata"]["resourceVersion"])
st, b = req("POST", NS, pod("w-b", {"app": "b"}))
rv_b = int(b["metadata"]["resourceVersion"])
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
report(st == 409 and s.get("reason") == "Conflict" and "the object has been modified" in s["message"],
       "PUT with stale RV -> 409 Conflict", s)

# --- selector transitions ---------------------------------------------------------------------
st, cur = req("GET", NS + "/w-a")
rv0 = cur["metadata"]["resourceVersion"]
req("PATCH", NS + "/w-a", {"metadata": {"labels": {"app": "b"}}}, "application/merge-patch+json")
req("PATCH", NS + "/w-a", {"metadata": {"labels": {"app": "b", "y": "1"}}},
    "application/merge-patch+json")
st, last = req("PATCH", NS + "/w-a", {"metadata": {"labels": {"app": "c"}}},
               "application/merge-patch+json")
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
t0 = time.time()
st, evs, closed = watch(NS + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=2&resourceVersion="
                        + last["metadata"]["resourceVersion"], max_seconds=8)
took = time.time() - t0
report(closed and 1.5 <= took < 5, "watch closes cleanly at timeoutSeconds", (closed, took))
bms = [e for e in evs if e["type"] == "BOOKMARK"]
report(len(bms) >= 1 and bms[-1]["object"]["kind"] == "Pod"
       and int(bms[-1]["object"]["metadata"]["resourceVersion"]) >= int(last["metadata"]["resourceVersion"]),
       "BOOKMARK with allowWatchBookmarks", evs)
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
report(st == 422 and s.get("kind") == "Status", "sendInitialEvents without NotOlderThan -> 422", s)

# --- pagination -------------------------------------------------------------------------------
for i in range(5):
    req("POST", "/api/v1/namespaces/default/configmaps",
        {"metadata": {"name": "cm-%d" % i}, "data": {"i": str(i)}})
st, p1 = req("GET", "/api/v1/namespaces/default/configmaps?limit=2")
tok = p1["metadata"].get("continue", "")
req("POST", "/api/v1/namespaces/default/configmaps", {"metadata": {"name": "cm-00"}})
req("DELETE", "/api/v1/namespaces/default/configmaps/cm-4")
st, p2 = req("GET", "/api/v1/namespaces/default/configmaps?limit=2&continue=" + tok)
st, p3 = req("GET", "/api/v1/namespaces/default/configmaps?limit=2&continue="
             + p2["metadata"].get("continue", ""))
names = [i["metadata"]["name"] for p in (p1, p2, p3) for i in p["items"]]
rvs = {p["metadata"]["resourceVersion"] for p in (p1, p2, p3)}
report(names == ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"] and len(rvs) == 1
       and p1["metadata"].get("remainingItemCount") == 3 and not p3["metadata"].get("continue"),
       "limit/continue pages form one consistent snapshot", (names, rvs, p1["metadata"]))

# --- 410 Expired on a too-old RV --------------------------------------------------------------
for i in range(40):  # the test server runs with --history 32
    req("PATCH", "/api/v1/namespaces/default/configmaps/cm-0", {"data": {"n": str(i)}},
        "application/merge-patch+json")
st, evs, closed = watch(NS + "?watch=1&resourceVersion=" + str(rv_a), max_seconds=3)
report(st == 200 and len(evs) == 1 and evs[0]["type"] == "ERROR"
       and evs[0]["object"]["code"] == 410 and evs[0]["object"]["reason"] == "Expired"
       and evs[0]["object"]["message"].startswith("too old resource version: %d (" % rv_a) and closed,
       "too-old RV -> 200 + one ERROR 410 Expired event", evs)
st, s = req("GET", "/api/v1/namespaces/default/configmaps?limit=2&continue=" + tok)
report(st == 410 and s.get("reason") == "Expired", "expired continue token -> 410", s)

# --- binding ----------------------------------------------------------------------------------
req("POST", "/api/v1/nodes", {"metadata": {"name": "n1"}, "status": {"capacity": {"cpu": "4"}}})
st, p = req("POST", NS, pod("b-1"))
uid = p["metadata"]["uid"]
req("PATCH", NS + "/b-1/status", {"status": {"nominatedNodeName": "n1"}},
    "application/strategic-merge-patch+json")
bind = {"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "b-1", "namespace": "default", "uid": "wrong"},
        "target": {"kind": "Node", "name": "n1"}}
st, s = req("POST", NS + "/b-1/binding", bind)
report(st == 409 and "Precondition failed: UID in precondition" in s.get("message", ""),
       "binding with wrong uid precondition -> 409", s)
bind["metadata"]["uid"] = uid
st, s = req("POST", NS + "/b-1/binding", bind)
report(st == 201 and s.get("status") == "Success" and s.get("code") == 201,
       "binding -> 201 Status code 201", s)
st, p = req("GET", NS + "/b-1")
conds = {c["type"]: c for c in p["status"].get("conditions", [])}
report(p["spec"].get("nodeName") == "n1" and conds.get("PodScheduled", {}).get("status") == "True"
       and "nominatedNodeName" not in p["status"],
       "binding sets nodeName, PodScheduled=True, clears nominatedNodeName", p["status"])
st, s = req("POST", NS + "/b-1/binding", bind)
report(st == 409 and s.get("message") ==
       'Operation cannot be fulfilled on pods/binding "b-1": pod b-1 is already assigned to node "n1"',
       "second binding -> 409 already assigned", s)
st, s = req("POST", NS + "/gone/binding", dict(bind, metadata={"name": "gone"}))
report(st == 404 and s.get("reason") == "NotFound", "binding a missing pod -> 404", s)
st, g = req("POST", NS, pod("g-1", gates=["wait"]))
gc = {c["type"]: c for c in g["status"].get("conditions", [])}
report(gc.get("PodScheduled", {}).get("reason") == "SchedulingGated",
       "gated pod gets PodScheduled=False SchedulingGated", g["status"])
st, s = req("POST", NS + "/g-1/binding", dict(bind, metadata={"name": "g-1"}))
report(st == 409 and s.get("message") ==
       'Operation cannot be fulfilled on pods/binding "g-1": pod g-1 has non-empty .spec.schedulingGates',
       "binding a gated pod -> 409 schedulingGates", s)
st, s = req("POST", NS + "/b-2/binding", dict(bind, metadata={"name": "other"}))
report(st == 400 and "does not match" in s.get("message", ""), "binding name mismatch -> 400", s)

# --- graceful delete --------------------------------------------------------------------------
st, d = req("DELETE", NS + "/b-1", {"gracePeriodSeconds": 1})
report(st == 200 and "deletionTimestamp" in d["metadata"], "bound pod delete sets deletionTimestamp", d)
st, s = req("POST", NS + "/b-1/binding", dict(bind, metadata={"name": "b-1"}))
st2, evs, _ = watch(NS + "?watch=1&resourceVersion=" + d["metadata"]["resourceVersion"],
                    max_events=1, max_seconds=4)
report(evs and evs[0]["type"] == "DELETED" and evs[0]["object"]["metadata"]["name"] == "b-1",
       "DELETED follows after the grace period", evs)

# --- status patch merges conditions by type ---------------------------------------------------
st, p = req("POST", NS, pod("s-1"))
req("PATCH", NS + "/s-1/status",
    {"status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                "message": "0/3 nodes are available"}]}},
    "application/strategic-merge-patch+json")
st, p = req("PATCH", NS + "/s-1/status",
            {"status": {"$setElementOrder/conditions": [{"type": "Ready"}, {"type": "PodScheduled"}],
                        "conditions": [{"type": "Ready", "status": "False"}]}},
            "application/strategic-merge-patch+json")
conds = p.get("status", {}).get("conditions", [])
report(st == 200 and [c["type"] for c in conds] == ["Ready", "PodScheduled"]
       and conds[1].get("reason") == "Unschedulable",
       "status SMP merges conditions by type with $setElementOrder", conds)
st, p = req("PATCH", NS + "/s-1/status", {"spec": {"nodeName": "sneaky"}, "status": {"phase": "Running"}},
            "application/merge-patch+json")
report(st == 200 and p["status"]["phase"] == "Running" and not p["spec"].get("nodeName"),
       "status subresource ignores spec changes", p.get("spec"))

# --- bad input --------------------------------------------------------------------------------
st, s = req("POST", NS, b"{not json")
report(st == 400 and s.get("kind") == "Status", "malformed JSON -> 400 Status", s)
st, s = req("POST", NS, b"[1,2]")
report(st == 400 and s.get("kind") == "Status", "wrong JSON type -> 400 Status", s)
st, s = req("POST", NS, b"x" * (3 * 1024 * 1024 + 10))
report(st == 413 and s.get("kind") == "Status", "huge body -> 413 Status", s)
st, s = req("POST", NS, b"a=b", "text/plain")
report(st == 415 and s.get("kind") == "Status", "unsupported content type -> 415 Status", s)
c = http.client.HTTPConnection(HOST, PORT, timeout=5)
c.request("GET", NS, headers={"Accept": "application/vnd.kubernetes.protobuf"})
r = c.getresponse()
report(r.status == 406 and json.loads(r.read()).get("kind") == "Status", "protobuf-only Accept -> 406")
c.close()
st, s = req("GET", "/api/v1/nonsense")
report(st == 404 and s.get("kind") == "Status", "unknown path -> 404 Status", s)
st, s = req("PATCH", NS + "/s-1", {"x": 1}, "application/json-patch+json")
report(st in (400, 422) and s.get("kind") == "Status", "JSON patch that is not an array -> 4xx", s)

sys.exit(1 if failures else 0)
