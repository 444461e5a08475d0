#!/usr/bin/env bash
# Gang scheduling against the real kube-apiserver v1.37.2 (built by `make k8s-peers`; skipped
# with a note when it is not built): the PodGroup CRD installs (with the api-approved
# annotation the real server demands), a label-declared gang that cannot fit binds nothing and
# gets its PodGroup, a node arrives and the whole gang binds, and a gang of 200 binds whole.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_k8s.sh"
if ! k8s_available; then
  echo "# skip: build/k8s has no kube-apiserver/etcd (make k8s-peers builds them)"
  exit 0
fi
start_k8s || { notok "the real control plane starts"; exit 1; }
node() {  # name cpu
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"pool":"gang"}},"status":{"capacity":{"cpu":"%s","memory":"64Gi","pods":"110"},"allocatable":{"cpu":"%s","memory":"64Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$1" "$2" "$2"
}
{ node kg-a 2; node kg-b 2; } >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
check "the PodGroup CRD installs on the real apiserver" \
  k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_podgroups.yaml" -o name
wait_until 15 bash -c "kubectl --kubeconfig '$KCFG' get podgroups.scheduling.sigs.k8s.io -A >/dev/null 2>&1"
cat >"$WORK/config.yaml" <<CFG
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: ack-co-scheduler
  plugins:
    multiPoint:
      enabled: [{name: Coscheduling}]
CFG
start_cosched --config "$WORK/config.yaml"
gen() { "$PY" "$ROOT/test/integration/genpods.py" --memory 10Mi "$@"; }
nb() { k get pods -l "$1" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c .; }
cond_msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
gen --count 5 --prefix g- --cpu 1 --node-selector pool=gang \
  --label pod-group.scheduling.sigs.k8s.io/name=five --label pod-group.scheduling.sigs.k8s.io/min-available=5 \
  | k create -f - -o name >/dev/null
wait_until 20 nonempty cond_msg g-0
sleep 1
check "a gang of 5 with room for 4 binds nothing" equals 0 nb pod-group.scheduling.sigs.k8s.io/name=five
check "its pods name the gang" grep -q "default/five" <<<"$(cond_msg g-0)"
pgmin() { k get podgroups.scheduling.sigs.k8s.io five -o jsonpath='{.spec.minMember}'; }
wait_until 10 equals 5 pgmin
check "cosched created the PodGroup for the label-declared gang" equals 5 pgmin
node kg-c 1 | k create -f - -o name >/dev/null
wait_until 30 equals 5 nb pod-group.scheduling.sigs.k8s.io/name=five
check "a node arrives: all 5 bind" equals 5 nb pod-group.scheduling.sigs.k8s.io/name=five
pgs() { k get podgroups.scheduling.sigs.k8s.io five -o jsonpath='{.status.scheduled}'; }
wait_until 10 equals 5 pgs
check "the PodGroup status (status subresource) counts 5 scheduled" equals 5 pgs
pgp() { k get podgroups.scheduling.sigs.k8s.io five -o jsonpath='{.status.phase}'; }
check "its phase is one the CRD's enum accepts: $(pgp)" equals Scheduling pgp
{ for i in $(seq 0 39); do node big-$i 1; done; } | k create -f - -o name >/dev/null
t0=$(date +%s%N)
gen --count 200 --prefix b- --cpu 100m --node-selector pool=gang \
  --label pod-group.scheduling.sigs.k8s.io/name=big --label pod-group.scheduling.sigs.k8s.io/min-available=200 \
  | k create -f - -o name >/dev/null
wait_until 60 equals 200 nb pod-group.scheduling.sigs.k8s.io/name=big
echo "# a 200-pod gang bound on the real apiserver in $(( ($(date +%s%N) - t0) / 1000000 )) ms (creation included)"
check "a gang of 200 binds whole on the real apiserver" equals 200 nb pod-group.scheduling.sigs.k8s.io/name=big
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
exit 0
