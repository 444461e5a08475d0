#!/usr/bin/env bash
# Scenario S3 (features.md), ECI burst, on apisim and on the real kube-apiserver: one regular
# node with room for 2 pods of cpu 2 and one virtual node (label type=virtual-kubelet, taint
# virtual-kubelet.io/provider=alibabacloud:NoSchedule). `eci`: regular nodes first, the rest on
# the virtual node; `eci_only`: all on the virtual node; no annotation: never there; any other
# value: an Event and the pod stays pending; label alibabacloud.com/eci=true on the pod's
# namespace: the virtual node only, even with room elsewhere.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
# the regular node also scores worse (a PreferNoSchedule taint): ECS-first must not come from scores
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix ecs- --cpu 4 --memory 16Gi --taint spot=true:PreferNoSchedule | kcreate /dev/stdin
"$PY" "$ROOT/test/integration/gennodes.py" --count 1 --prefix virtual-kubelet- --cpu 1000 --memory 4Ti --pods 1000 --virtual | kcreate /dev/stdin
write_config "$WORK/config.yaml" EciBurst
start_cosched --config "$WORK/config.yaml"

gen() { "$PY" "$ROOT/test/integration/genpods.py" --cpu 2 --memory 100Mi "$@"; }
placed() {  # "<pods on ecs> <pods on the virtual node> <pending>" in a namespace
  k get pods -n "${1:-default}" -o jsonpath='{range .items[*]}{.spec.nodeName}{"|"}{.metadata.deletionTimestamp}{"\n"}{end}' |
    awk -F'|' '$2=="" {if ($1 ~ /^ecs-/) e++; else if ($1 ~ /^virtual/) v++; else p++} END {print e+0, v+0, p+0}'
}
clear_pods() { k delete pods --all -n "${1:-default}" --grace-period=0 --force >/dev/null 2>&1; wait_until 20 equals "0 0 0" placed "${1:-default}"; }

gen --count 4 --prefix eci- --annotation alibabacloud.com/burst-resource=eci | kcreate /dev/stdin
wait_until 30 equals "2 2 0" placed
check "eci: 2 pods on the regular node first, 2 burst to the virtual node (even though it scores higher)" equals "2 2 0" placed
clear_pods

gen --count 4 --prefix only- --annotation alibabacloud.com/burst-resource=eci_only | kcreate /dev/stdin
wait_until 30 equals "0 4 0" placed
check "eci_only: all 4 on the virtual node" equals "0 4 0" placed
clear_pods

gen --count 4 --prefix plain- | kcreate /dev/stdin
wait_until 30 equals "2 0 2" placed
sleep 1
check "no annotation: 2 on the regular node, never the virtual node (2 pending)" equals "2 0 2" placed
msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].message}'; }
check "... the pending ones say why: $(msg plain-3)" grep -q "untolerated taint" <<<"$(msg plain-3)$(msg plain-2)"
clear_pods

events() { k get events -A -o jsonpath='{range .items[*]}{.reason}{" "}{.note}{.message}{"\n"}{end}' 2>/dev/null; }
ev_has() { events | grep -q "$1"; }
gen --count 1 --prefix bad- --annotation alibabacloud.com/burst-resource=spot | kcreate /dev/stdin
wait_until 20 ev_has "request type must be"
check "an unknown value gets the event \"request type must be eci, eci_only or ecs\"" \
  grep -q "FailedScheduling.*request type must be eci, eci_only or ecs" <<<"$(events)"
check "... and stays pending" equals "0 0 1" placed
clear_pods

k create namespace burst -o name >/dev/null
k label namespace burst alibabacloud.com/eci=true >/dev/null
gen --count 2 --prefix ns- --namespace burst | kcreate /dev/stdin
wait_until 30 equals "0 2 0" placed burst
check "namespace label alibabacloud.com/eci=true: the virtual node only, though the regular node has room" equals "0 2 0" placed burst
gen --count 1 --prefix lbl- --label alibabacloud.com/eci=true --annotation alibabacloud.com/burst-resource=eci | kcreate /dev/stdin
wait_until 30 equals "0 1 0" placed
check "pod label alibabacloud.com/eci=true overrides burst-resource=eci" equals "0 1 0" placed
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
