#!/usr/bin/env bash
# Fault injection: watches dropped every second and at random, forced 410 on resume, 10% of
# binds failing with 500 and 5% with 429: every pod is bound exactly once, no overcommit.
. "$(dirname "$0")/lib.sh"

start_apisim --cluster-gen "nodes=40,cpu=8,memory=32Gi,pods=110,prefix=node-" --seed 7 \
  --fault-watch-drop-every 1s --fault-watch-drop 0.01 --fault-watch-410 0.5 \
  --fault-bind 0.1:500 || { notok "apisim starts"; exit 1; }
"$PY" "$ROOT/test/integration/genpods.py" --count 1500 --prefix f- --cpu 100m --memory 100Mi >"$WORK/pods.json"
check "1500 pods created" kcreate "$WORK/pods.json"
start_cosched
if wait_until 180 all_ours_bound; then ok "all 1500 bound despite faults"; else notok "all 1500 bound despite faults (bound $(bound_count))"; fi
k get nodes -o json >"$WORK/n.json"; k get pods -A -o json >"$WORK/p.json"
check "no node over allocatable" "$PY" "$ROOT/test/integration/k8scheck.py" capacity "$WORK/n.json" "$WORK/p.json"
fails=$(grep -c '"Binding failed"' "$WORK/cosched.log")
check "binds really failed and were retried ($fails failures)" [ "$fails" -ge 50 ]
dups=$(grep -o '"Pod bound" pod="[^"]*"' "$WORK/cosched.log" | sort | uniq -d | wc -l)
check "no pod bound twice" [ "$dups" = 0 ]
relists=$(grep -c 'relist\|410\|Expired' "$WORK/cosched.log")
check "informers saw dropped watches / 410s and recovered ($relists log lines)" [ "$relists" -ge 1 ]
