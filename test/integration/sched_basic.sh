#!/usr/bin/env bash
# Scheduler core, the basic contract: 100 nodes and 2000 pods for ack-co-scheduler all get
# bound, no node ends over its allocatable cpu/memory/pod count, and pods of other schedulers
# are never touched but their usage is counted (the cluster is sized so that ignoring them
# would overcommit every node).
. "$(dirname "$0")/lib.sh"

# 100 nodes x 4 cpu; 100 pre-bound pods of default-scheduler using 2 cpu each (one per node),
# so exactly 2 cpu per node is left: 20 pods of 100m each, 2000 in total.
start_apisim --cluster-gen "nodes=100,cpu=4,memory=32Gi,pods=110,prefix=node-" \
  --pods-gen "count=100,cpu=2,memory=1Gi,bound=true,scheduler=default-scheduler,prefix=other-" \
  || { notok "apisim starts"; exit 1; }
"$PY" "$ROOT/test/integration/genpods.py" --count 2000 --prefix ours- >"$WORK/pods.json"
"$PY" "$ROOT/test/integration/genpods.py" --count 5 --prefix foreign-pending- \
  --scheduler default-scheduler >"$WORK/foreign.json"
check "kubectl creates 2000 pods for ack-co-scheduler" kcreate "$WORK/pods.json"
check "kubectl creates 5 pending pods for default-scheduler" kcreate "$WORK/foreign.json"
others() { k get pods -o jsonpath='{range .items[*]}{.metadata.name}={.spec.nodeName}{"\n"}{end}' | grep '^other-' | sort; }
others >"$WORK/others-before.txt"
start_cosched
start=$(date +%s%N)
if wait_until 180 all_ours_bound; then
  ok "all 2000 pods bound ($(( ($(date +%s%N) - start) / 1000000 )) ms)"
else
  notok "all 2000 pods bound (bound: $(bound_count))"
fi
k get nodes -o json >"$WORK/nodes-after.json"
k get pods -A -o json >"$WORK/pods-after.json"
check "no node over allocatable cpu, memory or pod count" \
  "$PY" "$ROOT/test/integration/k8scheck.py" capacity "$WORK/nodes-after.json" "$WORK/pods-after.json"
foreign_bound=$(k get pods -o json | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
print(sum(1 for p in d["items"] if p["metadata"]["name"].startswith("foreign-pending-") and p["spec"].get("nodeName")))')
check "pending pods of default-scheduler untouched" [ "$foreign_bound" = 0 ]
others >"$WORK/others-after.txt"
same_others() { [ "$(grep -c . "$WORK/others-before.txt")" = 100 ] && cmp -s "$WORK/others-before.txt" "$WORK/others-after.txt"; }
check "100 pre-bound pods of default-scheduler keep their nodes" same_others
ev=$(k get events -o json | "$PY" -c '
import json,sys
d=json.load(sys.stdin)
print(sum(1 for e in d["items"] if e.get("reason")=="Scheduled"))')
check "a Scheduled event per bound pod (got $ev)" [ "$ev" = 2000 ]
port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | head -1 | cut -d= -f2)
curl -s "http://127.0.0.1:$port/metrics" >"$WORK/metrics.txt"
check "/healthz answers ok" bash -c "[ \"\$(curl -s http://127.0.0.1:$port/healthz)\" = ok ]"
check "/readyz answers ok once informers synced" bash -c "[ \"\$(curl -s http://127.0.0.1:$port/readyz)\" = ok ]"
check "scheduler_schedule_attempts_total counts 2000 scheduled" \
  grep -q '^scheduler_schedule_attempts_total{profile="ack-co-scheduler",result="scheduled"} 2000$' "$WORK/metrics.txt"
for m in scheduler_scheduling_attempt_duration_seconds_bucket scheduler_pending_pods \
         scheduler_framework_extension_point_duration_seconds_bucket \
         scheduler_plugin_execution_duration_seconds_bucket scheduler_scheduler_cache_size; do
  check "/metrics exposes $m" grep -q "^$m" "$WORK/metrics.txt"
done
stop_cosched
check "cosched exits 0 on SIGTERM" [ "${COSCHED_RC:-1}" = 0 ]
dups=$(grep -o '"Pod bound" pod="[^"]*"' "$WORK/cosched.log" | sort | uniq -d | wc -l)
check "no pod bound twice" [ "$dups" = 0 ]
