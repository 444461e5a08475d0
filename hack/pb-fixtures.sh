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
ns = md["namespace"]
sel = {"app": "web"}
tmpl = {"metadata": {"labels": sel}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}
def dump(name, obj):
    json.dump(obj, open(work + "/" + name + ".json", "w"))
# A pod with volumes (embedded volume sources), init containers and a RuntimeClass overhead.
dump("rc_class", {"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass", "metadata": {"name": "kata"},
                  "handler": "kata", "overhead": {"podFixed": {"cpu": "250m", "memory": "120Mi"}}})
vol = json.loads(json.dumps(pod))
vol["metadata"]["name"] = "vol-0"
vol["spec"].pop("nodeName", None)
vol["spec"]["runtimeClassName"] = "kata"
vol["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}},
                          {"name": "cfg", "configMap": {"name": "cfg", "items": [{"key": "a", "path": "a"}]}},
                          {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
                          {"name": "eph", "ephemeral": {"volumeClaimTemplate": {"spec": {
                              "accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                              "resources": {"requests": {"storage": "1Gi"}}}}}}]
dump("vol", vol)
dump("svc", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
             "spec": {"selector": sel, "ports": [{"port": 80, "targetPort": 8080}]}})
dump("rc", {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "web-rc", "namespace": ns},
            "spec": {"replicas": 0, "selector": sel, "template": tmpl}})
dump("rs", {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-rs", "namespace": ns},
            "spec": {"replicas": 0, "selector": {"matchLabels": sel, "matchExpressions": [
                {"key": "tier", "operator": "NotIn", "values": ["db"]}]}, "template": tmpl}})
dump("sts", {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web-ss", "namespace": ns},
             "spec": {"replicas": 0, "serviceName": "web", "selector": {"matchLabels": sel}, "template": tmpl}})
dump("sc", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "fast"},
            "provisioner": "csi.example.com", "parameters": {"type": "ssd"}, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": True,
            "allowedTopologies": [{"matchLabelExpressions": [{"key": "topology.kubernetes.io/zone",
                                                              "values": ["zone-a", "zone-b"]}]}]})
dump("pvc", {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data-0", "namespace": ns},
             "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "fast",
                      "resources": {"requests": {"storage": "10Gi"}},
                      "selector": {"matchLabels": {"disk": "ssd"}}}})
dump("pv", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-0", "labels": {"disk": "ssd"}},
            "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"],
                     "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast",
                     "csi": {"driver": "csi.example.com", "volumeHandle": "vol-123", "fsType": "ext4",
                             "volumeAttributes": {"zone": "zone-a"}},
                     "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                         {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-a"]}]}]}}}})
dump("pvlocal", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-local"},
                 "spec": {"capacity": {"storage": "100Gi"}, "accessModes": ["ReadWriteOnce"],
                          "storageClassName": "local", "local": {"path": "/mnt/disk1"},
                          "claimRef": {"namespace": ns, "name": "other", "uid": "u-2"},
                          "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                              {"key": "kubernetes.io/hostname", "operator": "In",
                               "values": [node["metadata"]["name"]]}]}]}}}})
dump("csinode", {"apiVersion": "storage.k8s.io/v1", "kind": "CSINode", "metadata": {"name": node["metadata"]["name"]},
                 "spec": {"drivers": [{"name": "csi.example.com", "nodeID": "n-1",
                                       "topologyKeys": ["topology.kubernetes.io/zone"], "allocatable": {"count": 16}},
                                      {"name": "other.example.com", "nodeID": "n-1b"}]}})
dump("quota", {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "compute", "namespace": ns},
               "spec": {"hard": {"requests.cpu": "100", "requests.memory": "200Gi", "pods": "0"},
                        "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass",
                                                                "operator": "In", "values": ["ml-high"]}]}}})
dump("pdb", {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web-pdb", "namespace": ns},
             "spec": {"minAvailable": 1, "selector": {"matchLabels": sel}}})
dump("pdb2", {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "train-pdb", "namespace": ns},
              "spec": {"maxUnavailable": "25%", "selector": {"matchLabels": {"app": "train"}},
                       "unhealthyPodEvictionPolicy": "AlwaysAllow"}})
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
post /apis/node.k8s.io/v1/runtimeclasses "$WORK/rc_class.json"
post "/api/v1/namespaces/$NS/pods" "$WORK/vol.json"
post "/api/v1/namespaces/$NS/services" "$WORK/svc.json"
post "/api/v1/namespaces/$NS/replicationcontrollers" "$WORK/rc.json"
post "/apis/apps/v1/namespaces/$NS/replicasets" "$WORK/rs.json"
post "/apis/apps/v1/namespaces/$NS/statefulsets" "$WORK/sts.json"
post /apis/storage.k8s.io/v1/storageclasses "$WORK/sc.json"
post "/api/v1/namespaces/$NS/persistentvolumeclaims" "$WORK/pvc.json"
post /api/v1/persistentvolumes "$WORK/pv.json"
post /api/v1/persistentvolumes "$WORK/pvlocal.json"
post /apis/storage.k8s.io/v1/csinodes "$WORK/csinode.json"
post "/api/v1/namespaces/$NS/resourcequotas" "$WORK/quota.json"
post "/apis/policy/v1/namespaces/$NS/poddisruptionbudgets" "$WORK/pdb.json"
post "/apis/policy/v1/namespaces/$NS/poddisruptionbudgets" "$WORK/pdb2.json"
sleep 1  # no controllers run here: statuses stay as created
get "/api/v1/namespaces/$NS/pods/vol-0" pod_vol
get "/api/v1/namespaces/$NS/services/web" service
get "/api/v1/namespaces/$NS/replicationcontrollers/web-rc" replicationcontroller
get "/apis/apps/v1/namespaces/$NS/replicasets/web-rs" replicaset
get "/apis/apps/v1/namespaces/$NS/statefulsets/web-ss" statefulset
get /apis/storage.k8s.io/v1/storageclasses/fast storageclass
get "/api/v1/namespaces/$NS/persistentvolumeclaims/data-0" pvc
get /api/v1/persistentvolumes/pv-0 pv
get /api/v1/persistentvolumes pvlist
get "/apis/storage.k8s.io/v1/csinodes/$NODE" csinode
get "/api/v1/namespaces/$NS/resourcequotas/compute" resourcequota
get "/apis/policy/v1/namespaces/$NS/poddisruptionbudgets" pdblist
get /api/v1/nodes nodelist
get "/api/v1/namespaces/$NS/pods" podlist
get "/api/v1/namespaces/$NS/pods/missing" status404
curl -sk -H "$T" -H 'Accept: application/vnd.kubernetes.protobuf;stream=watch' --max-time 2 \
  "$K8S_URL/api/v1/namespaces/$NS/pods?watch=true&resourceVersion=0" >"$OUT/watch.pb" || true
ls -l "$OUT"
