#!/usr/bin/env bash
# Capture the protobuf fixtures of test/api/pbjson_test.c from the real kube-apiserver v1.37.2
# (build/k8s, `make k8s-peers`): the same objects read as JSON and as protobuf, a list, a watch
# stream and a Status error body, into test/fixtures/pb/. Run again when the schema grows.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
OUT=$ROOT/test/fixtures/pb
WORK=$(mktemp -d /tmp/cosched-pbfix.XXXXXX)
KCFG=$WORK/kubeconfig
# shellcheck source=/dev/null
. "$ROOT/test/integration/lib_k8s.sh"
trap 'set +e; stop_k8s; rm -rf "$WORK"' EXIT
start_k8s >/dev/null
mkdir -p "$OUT"
T="Authorization: Bearer cosched-admin-token"
post() {  # path json-file
  local code; code=$(curl -sk -o "$WORK/post.out" -w "%{http_code}" -H "$T" -H 'Content-Type: application/json' -X POST --data-binary "@$2" "$K8S_URL$1")
  if [ "$code" != 201 ]; then echo "POST $1: $code $(head -c 600 "$WORK/post.out")" >&2; return 1; fi
}
get() {  # path name
  curl -sk -H "$T" -H 'Accept: application/json' "$K8S_URL$1" >"$OUT/$2.json"
  curl -sk -H "$T" -H 'Accept: application/vnd.kubernetes.protobuf' "$K8S_URL$1" >"$OUT/$2.pb"
}
# The objects: the unit-test fixtures pod_full.json and node_full.json, adapted to what the
# server accepts (a bound pod has no scheduling gates; server-set fields are dropped).
"$PY" - "$ROOT/test/fixtures" "$WORK" <<'PYEOF'
import json, sys
src, work = sys.argv[1:]
pod = json.load(open(src + "/pod_full.json"))
md = pod["metadata"]
for k in ("creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "uid",
          "resourceVersion", "generateName"):
    md.pop(k, None)
md["ownerReferences"] = [o for o in md.get("ownerReferences", []) if o.get("uid")]
pod["spec"].pop("schedulingGates", None)
pod["spec"].pop("priority", None)  # Priority admission sets it from the class
pod["spec"].pop("hostNetwork", None)  # host ports need not equal container ports then
pod["spec"].pop("overhead", None)  # RuntimeClass admission refuses it without a class
pod.pop("status", None)
json.dump(pod, open(work + "/pod.json", "w"))
gated = json.loads(json.dumps(pod))
gated["metadata"]["name"] = "gated-0"
gated["spec"].pop("nodeName", None)
gated["spec"]["schedulingGates"] = [{"name": "example.com/quota-check"}]
json.dump(gated, open(work + "/gated.json", "w"))
node = json.load(open(src + "/node_full.json"))
for k in ("creationTimestamp", "uid", "resourceVersion"):
    node["metadata"].pop(k, None)
json.dump(node, open(work + "/node.json", "w"))
json.dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": md["namespace"],
           "labels": {"team": "ml"}}}, open(work + "/ns.json", "w"))
json.dump({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
           "metadata": {"name": pod["spec"].get("priorityClassName", "ml-high")},
           "value": 1000, "preemptionPolicy": "Never", "description": "fixture"},
          open(work + "/pc.json", "w"))
json.dump({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
           "metadata": {"name": "ack-co-scheduler", "namespace": "kube-system"},
           "spec": {"holderIdentity": "host_1", "leaseDurationSeconds": 15,
                    "acquireTime": "2026-12-04T10:00:00.123456Z",
                    "renewTime": "2026-12-04T10:00:05.654321Z", "leaseTransitions": 2}},
          open(work + "/lease.json", "w"))
json.dump({"apiVersion": "events.k8s.io/v1", "kind": "Event",
           "metadata": {"name": "train-job-0.scheduled", "namespace": md["namespace"]},
           "eventTime": "2026-12-04T10:00:00.500000Z", "reportingController": "ack-co-scheduler",
           "reportingInstance": "ack-co-scheduler-host_1", "action": "Binding",
           "reason": "Scheduled", "type": "Normal",
           "note": "Successfully assigned ml/train-job-0 to gpu-node-1",
           "regarding": {"kind": "Pod", "apiVersion": "v1", "namespace": md["namespace"],
                         "name": md["name"], "uid": "u-1"}},
          open(work + "/event.json", "w"))
print(md["namespace"], md["name"], node["metadata"]["name"])
PYEOF
read -r NS POD NODE < <("$PY" -c 'import json,sys; p=json.load(open(sys.argv[1])); n=json.load(open(sys.argv[2])); print(p["metadata"]["namespace"], p["metadata"]["name"], n["metadata"]["name"])' "$WORK/pod.json" "$WORK/node.json")
post /api/v1/namespaces "$WORK/ns.json"
post /apis/scheduling.k8s.io/v1/priorityclasses "$WORK/pc.json"
post /api/v1/nodes "$WORK/node.json"
post "/api/v1/namespaces/$NS/pods" "$WORK/pod.json"
post "/api/v1/namespaces/$NS/pods" "$WORK/gated.json"
post /apis/coordination.k8s.io/v1/namespaces/kube-system/leases "$WORK/lease.json"
post "/apis/events.k8s.io/v1/namespaces/$NS/events" "$WORK/event.json"
get "/api/v1/namespaces/$NS/pods/$POD" pod
get "/api/v1/namespaces/$NS/pods/gated-0" pod_gated
get "/api/v1/nodes/$NODE" node
get "/api/v1/namespaces/$NS" namespace
get "/apis/scheduling.k8s.io/v1/priorityclasses/ml-high" priorityclass
get /apis/coordination.k8s.io/v1/namespaces/kube-system/leases/ack-co-scheduler lease
get "/apis/events.k8s.io/v1/namespaces/$NS/events/train-job-0.scheduled" event
get "/api/v1/namespaces/$NS/pods" podlist
get "/api/v1/namespaces/$NS/pods/missing" status404
curl -sk -H "$T" -H 'Accept: application/vnd.kubernetes.protobuf;stream=watch' --max-time 2 \
  "$K8S_URL/api/v1/namespaces/$NS/pods?watch=true&resourceVersion=0" >"$OUT/watch.pb" || true
ls -l "$OUT"
