#!/usr/bin/env bash
# PodTopologySpread (issue 9) on apisim and on the real kube-apiserver: six nodes in three
# zones and one node without a zone label. Placements are checked over `kubectl get pods -o
# json` by spreadcheck.py: zone and hostname spreading with DoNotSchedule, minDomains (the
# pod past the last allowed domain stays pending and says why), matchLabelKeys (a new
# revision spreads on its own), and pods of other namespaces not counting.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
for z in a b c; do
  "$PY" "$ROOT/test/integration/gennodes.py" --count 2 --prefix "$z-" --cpu 8 --memory 32Gi --label zone=$z | kcreate /dev/stdin
done
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix nozone- --cpu 8 --memory 32Gi | kcreate /dev/stdin
write_config "$WORK/config.yaml" PodTopologySpread
start_cosched --config "$WORK/config.yaml"

gen() { "$PY" "$ROOT/test/integration/genpods.py" --cpu 100m --memory 64Mi "$@"; }
spread() {  # selector key maxSkew [extra constraint fields]
  printf '[{"maxSkew":%s,"topologyKey":"%s","whenUnsatisfiable":"DoNotSchedule","labelSelector":{"matchLabels":{"app":"%s"}}%s}]' "$3" "$2" "$1" "${4:-}"
}
counts() {  # selector key [namespace]
  k get pods -A -o json >"$WORK/pods.json" && k get nodes -o json >"$WORK/nodes.json" &&
    "$PY" "$ROOT/test/integration/spreadcheck.py" "$WORK/pods.json" "$WORK/nodes.json" \
      --selector "$1" --key "$2" --namespace "${3:-default}"
}

gen --count 12 --prefix web- --label app=web --spread-json "$(spread web zone 1)" | kcreate /dev/stdin
wait_until 30 equals "a=4 b=4 c=4 pending=0" counts app=web zone
check "zone, maxSkew 1: 12 pods land 4 per zone, none on the node without a zone ($(counts app=web zone))" \
  equals "a=4 b=4 c=4 pending=0" counts app=web zone

gen --count 14 --prefix host- --label app=host --spread-json "$(spread host kubernetes.io/hostname 1)" | kcreate /dev/stdin
wait_until 30 equals "a-0=2 a-1=2 b-0=2 b-1=2 c-0=2 c-1=2 nozone-0=2 pending=0" counts app=host kubernetes.io/hostname
check "hostname, maxSkew 1: 14 pods, 2 on each of the 7 nodes" \
  equals "a-0=2 a-1=2 b-0=2 b-1=2 c-0=2 c-1=2 nozone-0=2 pending=0" counts app=host kubernetes.io/hostname

gen --count 3 --prefix md- --label app=md --spread-json "$(spread md zone 1 ',"minDomains":4')" | kcreate /dev/stdin
wait_until 30 equals "a=1 b=1 c=1 pending=0" counts app=md zone
gen --count 1 --prefix md- --start 3 --label app=md --spread-json "$(spread md zone 1 ',"minDomains":4')" | kcreate /dev/stdin
msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 20 nonempty msg md-3
check "minDomains 4 over 3 zones: one per zone, the fourth pod stays pending ($(counts app=md zone))" \
  equals "a=1 b=1 c=1 pending=1" counts app=md zone
want="Unschedulable|0/7 nodes are available: 1 node(s) didn't match pod topology spread constraints (missing required label), 6 node(s) didn't match pod topology spread constraints. preemption: 0/7 nodes are available: 1 Preemption is not helpful for scheduling, 6 No preemption victims found for incoming pod."
check "... and its condition says why, in kube-scheduler's words: $(msg md-3)" equals "$want" msg md-3

# matchLabelKeys: revision 1 sits in zone a only; revision 2 spreads on its own
gen --count 6 --prefix rev1- --label app=mlk --label rev=1 --node-selector zone=a | kcreate /dev/stdin
wait_until 30 equals "a=6 b=0 c=0 pending=0" counts app=mlk,rev=1 zone
gen --count 3 --prefix rev2- --label app=mlk --label rev=2 --spread-json "$(spread mlk zone 1 ',"matchLabelKeys":["rev"]')" | kcreate /dev/stdin
wait_until 30 equals "a=1 b=1 c=1 pending=0" counts app=mlk,rev=2 zone
check "matchLabelKeys [rev]: revision 2 spreads 1 per zone beside revision 1's 6 pods in zone a" \
  equals "a=1 b=1 c=1 pending=0" counts app=mlk,rev=2 zone
gen --count 2 --prefix rev2x- --label app=mlk --label rev=3 --spread-json "$(spread mlk zone 1)" | kcreate /dev/stdin
wait_until 30 equals "a=0 b=1 c=1 pending=0" counts app=mlk,rev=3 zone
check "without matchLabelKeys the same selector counts revision 1 too: zone a is avoided" \
  equals "a=0 b=1 c=1 pending=0" counts app=mlk,rev=3 zone

# pods of another namespace do not count
k create namespace other -o name >/dev/null
gen --count 3 --prefix o- --namespace other --label app=ns --node-selector zone=a | kcreate /dev/stdin
wait_until 30 equals "a=3 b=0 c=0 pending=0" counts app=ns zone other
gen --count 3 --prefix ns- --label app=ns --spread-json "$(spread ns zone 1)" | kcreate /dev/stdin
wait_until 30 equals "a=1 b=1 c=1 pending=0" counts app=ns zone
check "pods of another namespace do not count: 1 per zone" equals "a=1 b=1 c=1 pending=0" counts app=ns zone

grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
