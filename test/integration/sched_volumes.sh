#!/usr/bin/env bash
# The volume plugins end to end (default profile): a pod whose WaitForFirstConsumer claim needs
# provisioning is bound and its claim gets volume.kubernetes.io/selected-node for that node; a
# pod whose bound PV is pinned to one node lands there; a pod whose claim does not exist stays
# pending with kube-scheduler's message; a second pod wanting a ReadWriteOncePod claim in use
# waits with VolumeRestrictions' message; a pod whose PV is labelled with a zone lands there; a
# claim of a class without provisioner is bound to the available local PV (its claimRef written)
# and the pod lands on that PV's node; a node whose CSINode allows one volume of a driver takes
# no second pod with a new volume of it.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
node() {  # name zone
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s","topology.kubernetes.io/zone":"%s"}},"status":{"capacity":{"cpu":"4","memory":"8Gi","pods":"110"},"allocatable":{"cpu":"4","memory":"8Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$1" "$1" "$2"
}
{ node vol-a z1; node vol-b z2; node vol-c z2; } >"$WORK/nodes.json"
check "three nodes in two zones" kcreate "$WORK/nodes.json"
cat >"$WORK/storage.json" <<'EOF'
{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"csi-wffc"},
  "provisioner":"csi.example.com","volumeBindingMode":"WaitForFirstConsumer"},
 {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data-wffc","namespace":"default"},
  "spec":{"storageClassName":"csi-wffc","accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}},
 {"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-pinned"},
  "spec":{"storageClassName":"manual","capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],
          "hostPath":{"path":"/tmp/pv-pinned"},
          "claimRef":{"namespace":"default","name":"data-pinned"},
          "nodeAffinity":{"required":{"nodeSelectorTerms":[{"matchExpressions":[
            {"key":"kubernetes.io/hostname","operator":"In","values":["vol-c"]}]}]}}}},
 {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"solo","namespace":"default"},
  "spec":{"storageClassName":"csi-wffc","accessModes":["ReadWriteOncePod"],"resources":{"requests":{"storage":"1Gi"}}}},
 {"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-zonal","labels":{"topology.kubernetes.io/zone":"z1"}},
  "spec":{"storageClassName":"manual","capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"],
          "hostPath":{"path":"/tmp/pv-zonal"},"claimRef":{"namespace":"default","name":"data-zonal"}}},
 {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data-zonal","namespace":"default",
  "annotations":{"pv.kubernetes.io/bind-completed":"yes"}},
  "spec":{"storageClassName":"manual","volumeName":"pv-zonal","accessModes":["ReadWriteOnce"],
          "resources":{"requests":{"storage":"1Gi"}}}},
 {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data-pinned","namespace":"default",
  "annotations":{"pv.kubernetes.io/bind-completed":"yes"}},
  "spec":{"storageClassName":"manual","volumeName":"pv-pinned","accessModes":["ReadWriteOnce"],
          "resources":{"requests":{"storage":"1Gi"}}}}
]}
EOF
check "a WaitForFirstConsumer class and claims, PVs pinned to vol-c and to zone z1, their claims" \
  kcreate "$WORK/storage.json"
start_cosched
volpod() {  # name claim
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{"schedulerName":"ack-co-scheduler","containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"100m"}}}],"volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"%s"}}]}}' "$1" "$2"
}
volpod wffc-pod data-wffc | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node wffc-pod
node_of_wffc=$(pod_node wffc-pod)
check "the pod with a WaitForFirstConsumer claim is bound ($node_of_wffc)" test -n "$node_of_wffc"
selected_of() { k get pvc "$1" -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}'; }
selected() { k get pvc data-wffc -o jsonpath='{.metadata.annotations.volume\.kubernetes\.io/selected-node}'; }
wait_until 10 nonempty selected
check "its claim is annotated with the pod's node ($(selected))" equals "$node_of_wffc" selected

volpod pinned-pod data-pinned | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node pinned-pod
check "the pod whose bound PV is pinned to vol-c lands there ($(pod_node pinned-pod))" \
  equals vol-c pod_node pinned-pod

volpod lost-pod no-such-claim | k create -f - -o name >/dev/null
msg() { k get pod lost-pod -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 15 nonempty msg
want='0/3 nodes are available: persistentvolumeclaim "no-such-claim" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.'
check "a pod with a missing claim waits: $(msg)" equals "$want" msg
check "and is not bound" test -z "$(pod_node lost-pod)"
printf '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"no-such-claim","namespace":"default"},"spec":{"storageClassName":"csi-wffc","accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}' \
  | k create -f - -o name >/dev/null
wait_until 20 nonempty pod_node lost-pod
check "once the claim is created, it is bound ($(pod_node lost-pod))" test -n "$(pod_node lost-pod)"

volpod zonal-pod data-zonal | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node zonal-pod
check "the pod whose PV is in zone z1 lands on vol-a ($(pod_node zonal-pod))" equals vol-a pod_node zonal-pod

volpod solo-1 solo | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node solo-1
check "a pod with a ReadWriteOncePod claim is bound ($(pod_node solo-1))" test -n "$(pod_node solo-1)"
volpod solo-2 solo | k create -f - -o name >/dev/null
msg2() { k get pod solo-2 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
rwop_msg() { msg2 | grep -q "^0/3 nodes are available: 3 node has pod using PersistentVolumeClaim with the same name and ReadWriteOncePod access mode\."; }
wait_until 15 rwop_msg
check "a second pod wanting it waits: $(msg2)" rwop_msg
k delete pod solo-1 --grace-period=0 --force >/dev/null 2>&1
wait_until 20 nonempty pod_node solo-2
check "when the first goes, the second is bound where the claim was provisioned" equals "$(selected_of solo)" pod_node solo-2
cat >"$WORK/local.json" <<'EOF'
{"apiVersion":"v1","kind":"List","items":[
 {"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"local-wffc"},
  "provisioner":"kubernetes.io/no-provisioner","volumeBindingMode":"WaitForFirstConsumer"},
 {"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"pv-local"},
  "spec":{"storageClassName":"local-wffc","capacity":{"storage":"2Gi"},"accessModes":["ReadWriteOnce"],
          "local":{"path":"/mnt/disk"},
          "nodeAffinity":{"required":{"nodeSelectorTerms":[{"matchExpressions":[
            {"key":"kubernetes.io/hostname","operator":"In","values":["vol-b"]}]}]}}}},
 {"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"data-local","namespace":"default"},
  "spec":{"storageClassName":"local-wffc","accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}
]}
EOF
check "a class without provisioner, a local PV on vol-b, a claim of that class" kcreate "$WORK/local.json"
volpod local-pod data-local | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node local-pod
check "the pod lands on the local PV's node ($(pod_node local-pod))" equals vol-b pod_node local-pod
claimref() { k get pv pv-local -o jsonpath='{.spec.claimRef.namespace}/{.spec.claimRef.name}'; }
wait_until 10 equals default/data-local claimref
check "and the PV is bound to the claim ($(claimref))" equals default/data-local claimref

csinode() {
  printf '{"apiVersion":"storage.k8s.io/v1","kind":"CSINode","metadata":{"name":"%s"},"spec":{"drivers":[{"name":"csi.limited.example.com","nodeID":"%s","allocatable":{"count":1}}]}}\n' "$1" "$1"
}
{ csinode vol-a; csinode vol-b; csinode vol-c; } >"$WORK/csinodes.json"
printf '%s\n' '{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass","metadata":{"name":"limited"},"provisioner":"csi.limited.example.com","volumeBindingMode":"WaitForFirstConsumer"}' >>"$WORK/csinodes.json"
for c in lim-1 lim-2; do
  printf '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"%s","namespace":"default"},"spec":{"storageClassName":"limited","accessModes":["ReadWriteOnce"],"resources":{"requests":{"storage":"1Gi"}}}}\n' "$c" >>"$WORK/csinodes.json"
done
check "CSINodes allowing one volume of csi.limited.example.com, a class and two claims" kcreate "$WORK/csinodes.json"
limpod() {  # name claim: pinned to vol-a
  printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{"schedulerName":"ack-co-scheduler","nodeSelector":{"kubernetes.io/hostname":"vol-a"},"containers":[{"name":"c","image":"i","resources":{"requests":{"cpu":"100m"}}}],"volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"%s"}}]}}' "$1" "$2"
}
limpod lim-pod-1 lim-1 | k create -f - -o name >/dev/null
wait_until 15 nonempty pod_node lim-pod-1
check "a pod with one such volume goes to vol-a ($(pod_node lim-pod-1))" equals vol-a pod_node lim-pod-1
limpod lim-pod-2 lim-2 | k create -f - -o name >/dev/null
msg3() { k get pod lim-pod-2 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
lim_msg() { msg3 | grep -q "1 node(s) exceed max volume count"; }
wait_until 15 lim_msg
check "a second one waits: $(msg3)" lim_msg
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
exit 0
