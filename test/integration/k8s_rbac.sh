#!/usr/bin/env bash
# cosched under exactly the RBAC we ship (manifests/deploy/cosched.yaml) on the real
# kube-apiserver v1.37.2: a token of the cosched ServiceAccount, the shipped configuration
# (leader election on, every plugin of ours enabled), and what it must be allowed to do: list/watch,
# take its Lease, bind, write Scheduled events and PodScheduled conditions, create a PodGroup for
# a label-declared gang and write its status, read the ElasticQuotaTree and write its status, read
# NodeResourceTopology objects and namespaces. Skipped when the peers are not built.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_k8s.sh"
if ! k8s_available || [ ! -x "$K8S_BIN/kubectl" ]; then
  echo "# skip: build/k8s has no control plane (make k8s-peers builds it)"
  exit 0
fi
start_k8s || { notok "the real control plane starts"; exit 1; }
KA() { "$K8S_BIN/kubectl" --kubeconfig "$KCFG" "$@"; }   # admin, a kubectl of the same version
check "the shipped RBAC, ServiceAccount and configuration apply" \
  KA apply -f "$ROOT/manifests/deploy/cosched.yaml" -o name
check "the PodGroup CRD installs" KA apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_podgroups.yaml" -o name
check "the ElasticQuotaTree CRD installs" KA apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotatrees.yaml" -o name
check "the NodeResourceTopology CRD installs" KA apply -f "$ROOT/manifests/crds/topology.node.k8s.io_noderesourcetopologies.yaml" -o name
KA create namespace team-a -o name >/dev/null
cat <<'EQT' | KA apply -f - -o name >/dev/null
apiVersion: scheduling.sigs.k8s.io/v1beta1
kind: ElasticQuotaTree
metadata: {name: elasticquotatree, namespace: kube-system}
spec:
  root:
    name: root
    min: {cpu: 4}
    max: {cpu: 4}
    children: [{name: root.team-a, namespaces: [team-a], min: {cpu: 1}, max: {cpu: 1}}]
EQT
token=$(KA -n kube-system create token cosched --duration 1h)
check "a token for the cosched ServiceAccount" test -n "$token"
token_kubeconfig "$WORK/cosched.kubeconfig" cosched "$token"
KA -n kube-system get configmap cosched-config -o jsonpath='{.data.scheduler-config\.yaml}' >"$WORK/config.yaml"
printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"r-1"},"status":{"capacity":{"cpu":"8","memory":"16Gi","pods":"110"},"allocatable":{"cpu":"8","memory":"16Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' \
  | KA create -f - -o name >/dev/null
"$COSCHED_BIN" --kubeconfig "$WORK/cosched.kubeconfig" --config "$WORK/config.yaml" \
  --secure-port 0 -v=2 >>"$WORK/cosched.log" 2>&1 &
COSCHED_PID=$!
holder() { KA -n kube-system get lease ack-co-scheduler -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
wait_until 30 nonempty holder
check "cosched took its Lease in kube-system (holder $(holder))" nonempty holder
"$PY" "$ROOT/test/integration/genpods.py" --count 3 --prefix rg- --cpu 100m --memory 10Mi \
  --label pod-group.scheduling.sigs.k8s.io/name=rg --label pod-group.scheduling.sigs.k8s.io/min-available=3 \
  | KA create -f - -o name >/dev/null
nb() { KA get pods -l pod-group.scheduling.sigs.k8s.io/name=rg -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c .; }
wait_until 30 equals 3 nb
check "it binds a gang of 3" equals 3 nb
nev() { KA get events.events.k8s.io -o jsonpath='{range .items[?(@.reason=="Scheduled")]}{.regarding.name}{"\n"}{end}' | grep -c '^rg-'; }
wait_until 15 equals 3 nev
check "it writes a Scheduled event for each" equals 3 nev
pgs() { KA get podgroups.scheduling.sigs.k8s.io rg -o jsonpath='{.status.scheduled}' 2>/dev/null; }
wait_until 15 equals 3 pgs
check "it created the gang's PodGroup and wrote its status" equals 3 pgs
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix rbig- --cpu 64 --memory 10Mi | KA create -f - -o name >/dev/null
cond() { KA get pod rbig-0 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}'; }
wait_until 15 equals Unschedulable cond
check "it writes the PodScheduled condition of a pod that does not fit" equals Unschedulable cond
"$PY" "$ROOT/test/integration/genpods.py" --count 3 --prefix q- --cpu 500m --memory 10Mi \
  --namespace team-a | KA create -f - -o name >/dev/null
quota_used() {
  KA -n kube-system get elasticquotatree elasticquotatree -o jsonpath='{.status.quotas.root\.team-a.used.cpu}' 2>/dev/null
}
wait_until 20 equals 1 quota_used
check "it admits pods by the ElasticQuotaTree and writes the tree's status (used 1 cpu)" equals 1 quota_used
# CpusetScheduling reads the node's NodeResourceTopology; the pod gets its cpuset before binding
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix rc- --sockets 1 --numa 1 --cores 2 | KA create -f - -o name >/dev/null
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix rcs- --cpu 2 --memory 10Mi \
  --annotation cpuset-scheduler=true | KA create -f - -o name >/dev/null
cpuset() { KA get pod rcs-0 -o jsonpath='{.metadata.annotations.cpuset}'; }
wait_until 20 nonempty cpuset
check "it reads NodeResourceTopology objects and writes a cpuset ($(cpuset))" nonempty cpuset
check "no request was forbidden" bash -c "! grep -qi 'forbidden' '$WORK/cosched.log'"
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
exit 0
