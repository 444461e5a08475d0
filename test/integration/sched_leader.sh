#!/usr/bin/env bash
# Leader election: two cosched replicas with --leader-elect=true share one Lease; exactly one
# schedules; when the leader is killed the other takes the lease over and schedules new pods.
. "$(dirname "$0")/lib.sh"

start_apisim --cluster-gen "nodes=5,cpu=8,memory=16Gi,pods=110,prefix=node-" || { notok "apisim starts"; exit 1; }
cat >"$WORK/config.yaml" <<'YAML'
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  leaseDuration: 3s
  renewDeadline: 2s
  retryPeriod: 500ms
  resourceName: ack-co-scheduler
  resourceNamespace: kube-system
YAML
run_replica() {
  # shellcheck disable=SC2086
  "$COSCHED_BIN" --kubeconfig "$KCFG" --config "$WORK/config.yaml" --secure-port 0 -v=3 \
    ${COSCHED_FLAGS:-} >>"$WORK/cosched-$1.log" 2>&1 &
  echo $!
}
A=$(run_replica a)
B=$(run_replica b)
holder() { k get lease -n kube-system ack-co-scheduler -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
wait_until 15 nonempty holder
first=$(holder)
check "a replica holds the lease ($first)" test -n "$first"
"$PY" "$ROOT/test/integration/genpods.py" --count 20 --prefix one- | k create -f - -o name >/dev/null
wait_until 20 all_ours_bound
check "20 pods bound by the leader" all_ours_bound
na=$(grep -c '"Pod bound"' "$WORK/cosched-a.log" 2>/dev/null; true)
nb=$(grep -c '"Pod bound"' "$WORK/cosched-b.log" 2>/dev/null; true)
na=${na:-0}; nb=${nb:-0}
check "exactly one replica scheduled (a=$na b=$nb)" bash -c "[ \$(( ($na == 0) + ($nb == 0) )) = 1 ]"
if [ "$na" -gt 0 ]; then leader=$A; follower=$B; else leader=$B; follower=$A; fi
kill -KILL "$leader"; wait "$leader" 2>/dev/null
wait_until 20 bash -c "h=\$(kubectl --kubeconfig '$KCFG' get lease -n kube-system ack-co-scheduler -o jsonpath='{.spec.holderIdentity}'); [ -n \"\$h\" ] && [ \"\$h\" != '$first' ]"
second=$(holder)
check "the other replica took the lease over ($second)" bash -c "[ -n '$second' ] && [ '$second' != '$first' ]"
transitions=$(k get lease -n kube-system ack-co-scheduler -o jsonpath='{.spec.leaseTransitions}')
check "leaseTransitions counted the takeover ($transitions)" [ "${transitions:-0}" -ge 1 ]
"$PY" "$ROOT/test/integration/genpods.py" --count 20 --prefix two- | k create -f - -o name >/dev/null
wait_until 20 all_ours_bound
check "pods created after the takeover are bound by the new leader" all_ours_bound
if [ "$follower" = "$A" ]; then flog=$WORK/cosched-a.log; else flog=$WORK/cosched-b.log; fi
kill -TERM "$follower"
wait_until 15 bash -c "! kill -0 $follower 2>/dev/null"
check "the new leader stops cleanly on SIGTERM" bash -c "! kill -0 $follower 2>/dev/null && grep -q '\"Stopped\"' '$flog'"
