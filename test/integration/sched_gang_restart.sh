#!/usr/bin/env bash
# A gang half bound when cosched dies: half of all binds fail (apisim fault injection), so a
# committed gang of 40 binds in waves; cosched is killed (SIGKILL) while only part of it is
# bound, binds are healed, and a new cosched completes the gang from what the API server holds:
# the bound members count towards the minimum, the rest bind, none is bound twice.
. "$(dirname "$0")/lib.sh"

start_apisim --fault-bind 0.5 || { notok "apisim starts"; exit 1; }
{
  for i in $(seq 0 9); do
    printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n-%s"},"status":{"capacity":{"cpu":"8","memory":"64Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}\n' "$i"
  done
} >"$WORK/nodes.json"
check "nodes created" kcreate "$WORK/nodes.json"
cat >"$WORK/config.yaml" <<CFG
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: ack-co-scheduler
  plugins:
    multiPoint:
      enabled: [{name: Coscheduling}]
CFG
sel=pod-group.scheduling.sigs.k8s.io/name=wave
"$PY" "$ROOT/test/integration/genpods.py" --count 40 --prefix w- --cpu 500m --memory 10Mi \
  --label "$sel" --label pod-group.scheduling.sigs.k8s.io/min-available=40 | k create -f - -o name >/dev/null
nb() { k get pods -l "$sel" -o jsonpath='{range .items[*]}{.spec.nodeName}{"\n"}{end}' | grep -c .; }
partial() { local n; n=$(nb); [ "$n" -ge 1 ] && [ "$n" -lt 40 ]; }
start_cosched --config "$WORK/config.yaml"
wait_until 20 partial
at_kill=$(nb)
kill -KILL "$COSCHED_PID" 2>/dev/null; wait "$COSCHED_PID" 2>/dev/null; COSCHED_PID=""
echo "# members bound when cosched was killed: $at_kill of 40"
check "cosched was killed with the gang partly bound" test "$at_kill" -ge 1 -a "$at_kill" -lt 40
curl -sf -o /dev/null -X PUT -H 'Content-Type: application/json' "$APISIM_URL/apisim/faults" -d '{}'
mv "$WORK/cosched.log" "$WORK/cosched-first.log"
start_cosched --config "$WORK/config.yaml"
wait_until 30 equals 40 nb
check "after the restart the gang completes: 40 of 40 bound" equals 40 nb
check "the restarted cosched never tried to bind a bound member" \
  bash -c "! grep -q 'already assigned' '$WORK/cosched.log'"
stop_cosched
check "cosched exits 0 on SIGTERM" test "${COSCHED_RC:-1}" = 0
exit 0
