#!/usr/bin/env bash
# A pod that fits nowhere gets PodScheduled=False/Unschedulable and a FailedScheduling event;
# adding a node that fits makes it schedule within 2 seconds.
. "$(dirname "$0")/lib.sh"

start_apisim --cluster-gen "nodes=3,cpu=4,memory=8Gi,pods=110,prefix=small-" \
  || { notok "apisim starts"; exit 1; }
start_cosched
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix big- --cpu 9 --memory 1Gi | k create -f - -o name >/dev/null
msg() { k get pod big-0 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 10 nonempty msg
want="0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
check "condition says $want (got: $(msg))" [ "$(msg)" = "$want" ]
check "reason Unschedulable" [ "$(k get pod big-0 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}')" = Unschedulable ]
evs() { k get events --field-selector involvedObject.name=big-0 -o jsonpath='{range .items[*]}{.reason}{"|"}{.message}{"\n"}{end}'; }
wait_until 5 bash -c "kubectl --kubeconfig '$KCFG' get events --field-selector involvedObject.name=big-0 -o name | grep -q ."
check "FailedScheduling event with the same message" bash -c "[[ \"$(evs)\" == *'FailedScheduling|$want'* ]]"
sleep 3
n_events=$(k get events --field-selector involvedObject.name=big-0 -o json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
check "no event flood while nothing changes (events: $n_events)" [ "$n_events" -le 3 ]
# A pod with spread constraints that fits nowhere, and a restarted cosched: the condition the pod
# already carries is not written again (issue 7, defect 9: no status-write loop, no rewrite).
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix spread- --cpu 9 --memory 1Gi \
  --label app=spread | "$PY" -c '
import json, sys
l = json.load(sys.stdin)
for p in l["items"]:
    p["spec"]["topologySpreadConstraints"] = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": {"app": "spread"}}}]
json.dump(l, sys.stdout)' | k create -f - -o name >/dev/null
smsg() { k get pod spread-0 -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
wait_until 10 nonempty smsg
rv() { k get pod spread-0 -o jsonpath='{.metadata.resourceVersion}'; }
rv1=$(rv); sleep 3; rv2=$(rv)
check "an unschedulable pod with spread constraints is not rewritten in a loop (rv $rv1 -> $rv2)" test "$rv1" = "$rv2"
stop_cosched
if [ -n "$APISIM_URL" ]; then
  # Every PATCH now fails (apisim's faults): a condition write by the restarted cosched would
  # show in the fault counters.
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' "$APISIM_URL/apisim/faults" \
    -d '{"patch":{"fraction":1,"code":500}}'
fi
mv "$WORK/cosched.log" "$WORK/cosched-before-restart.log"
start_cosched
sleep 3
rv3=$(rv)
if [ -n "$APISIM_URL" ]; then
  patches=$(curl -sf "$APISIM_URL/apisim/faults" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["stats"]["injected"]["patch"])')
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' "$APISIM_URL/apisim/faults" -d '{}'
else
  patches=0                        # the real apiserver: the resourceVersion alone tells
fi
check "after a restart its unchanged condition is not written again (rv $rv2 -> $rv3, PATCH attempts $patches)" \
  bash -c "[ '$rv2' = '$rv3' ] && [ '$patches' = 0 ]"
printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"big-node","labels":{"kubernetes.io/hostname":"big-node"}},"status":{"capacity":{"cpu":"16","memory":"64Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' >"$WORK/node.json"
t0=$(date +%s%N)
k create -f "$WORK/node.json" -o name >/dev/null
wait_until 5 equals big-node pod_node big-0
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "bound to the new node within 2 s (took ${ms} ms)" bash -c "[ '$(pod_node big-0)' = big-node ] && [ $ms -le 2000 ]"
