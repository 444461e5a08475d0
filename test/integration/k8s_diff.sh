#!/usr/bin/env bash
# Differential test against kube-scheduler v1.37.2 on the real control plane (issue 8): the same
# unschedulable pods, once for kube-scheduler (schedulerName default-scheduler) and once for
# cosched (ack-co-scheduler), both with kube-scheduler's default plugins; the PodScheduled
# condition's reason and message must be identical. Skipped when the peers are not built.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/k8s.sh"
if ! k8s_available || [ ! -x "$K8S_BIN/kube-scheduler" ]; then
  echo "# skip: build/k8s has no control plane (make k8s-peers builds it)"
  exit 0
fi
start_k8s || { notok "the real control plane starts"; exit 1; }
node() {  # name cpu extra-spec labels
  printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"%s}},"spec":{%s},"status":{"capacity":{"cpu":"%s","memory":"16Gi","pods":"110"},"allocatable":{"cpu":"%s","memory":"16Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' \
    "$1" "$1" "${4:-}" "${3:-}" "$2" "$2"
}
{
  node d-a 4 "" ',"zone":"a"'
  node d-b 4 '"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]' ',"zone":"b"'
  node d-c 4 '"unschedulable":true' ',"zone":"c"'
} >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nleaderElection: {leaderElect: false}\nclientConnection: {kubeconfig: %s}\n' "$KCFG" >"$WORK/ks.yaml"
"$K8S_BIN/kube-scheduler" --config "$WORK/ks.yaml" --secure-port 0 -v=0 >"$WORK/kube-scheduler.log" 2>&1 &
KS_PID=$!
start_cosched
# a pod that fills a-'s cpu, bound by kube-scheduler (lower priority than nothing: victims none)
"$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix fill- --cpu 3 --scheduler default-scheduler \
  --node-selector zone=a | k create -f - -o name >/dev/null
scenario() {  # name genpods-args...
  local name=$1; shift
  "$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix "ks-$name-" --scheduler default-scheduler "$@" \
    | k create -f - -o name >/dev/null
  "$PY" "$ROOT/test/integration/genpods.py" --count 1 --prefix "cs-$name-" --scheduler ack-co-scheduler "$@" \
    | k create -f - -o name >/dev/null
}
msg() { k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="PodScheduled")].reason}|{.status.conditions[?(@.type=="PodScheduled")].message}'; }
scenario toobig --cpu 9
scenario nofit --cpu 2
scenario selector --cpu 100m --node-selector zone=z
scenario tainted --cpu 100m --node-selector zone=b
scenario cordoned --cpu 100m --node-selector zone=c
for s in toobig nofit selector tainted cordoned; do
  wait_until 20 nonempty msg "ks-$s-0"
  wait_until 20 nonempty msg "cs-$s-0"
  ks=$(msg "ks-$s-0"); cs=$(msg "cs-$s-0")
  echo "# $s: kube-scheduler: $ks"
  check "$s: cosched's PodScheduled reason and message equal kube-scheduler's (cosched: $cs)" test "$ks" = "$cs"
done
kill "$KS_PID" 2>/dev/null; wait "$KS_PID" 2>/dev/null
stop_cosched
exit 0
