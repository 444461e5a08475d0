#!/usr/bin/env bash
# Restart cosched in the middle of a run (SIGKILL, so binds in flight are lost): nothing is
# bound twice or overcommitted, and every pod is eventually bound.
. "$(dirname "$0")/lib.sh"

start_apisim --cluster-gen "nodes=50,cpu=8,memory=32Gi,pods=110,prefix=node-" \
  || { notok "apisim starts"; exit 1; }
"$PY" "$ROOT/test/integration/genpods.py" --count 3000 --prefix r- --cpu 100m --memory 100Mi >"$WORK/pods.json"
check "3000 pods created" kcreate "$WORK/pods.json"
start_cosched --kube-api-qps 300 --kube-api-burst 300
wait_until 60 bash -c "[ \$(kubectl --kubeconfig '$KCFG' get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{\"\\n\"}{end}' | grep -c .) -ge 300 ]"
first=$(bound_count)
kill -KILL "$COSCHED_PID"; wait "$COSCHED_PID" 2>/dev/null; COSCHED_PID=""
check "killed mid-run with $first of 3000 bound" [ "$first" -lt 3000 ]
start_cosched
if wait_until 120 all_ours_bound; then ok "all 3000 bound after restart"; else notok "all 3000 bound after restart (bound $(bound_count))"; fi
k get nodes -o json >"$WORK/n.json"; k get pods -A -o json >"$WORK/p.json"
check "no node over allocatable" "$PY" "$ROOT/test/integration/k8scheck.py" capacity "$WORK/n.json" "$WORK/p.json"
dups=$(grep -o '"Pod bound" pod="[^"]*"' "$WORK/cosched.log" | sort | uniq -d | wc -l)
check "no pod reported bound twice across both runs" [ "$dups" = 0 ]
ev=$(k get events -o json | "$PY" -c '
import json,sys,collections
c=collections.Counter(e["involvedObject"]["name"] for e in json.load(sys.stdin)["items"] if e.get("reason")=="Scheduled")
print(sum(1 for v in c.values() if v>1))')
check "no pod has two Scheduled events" [ "$ev" = 0 ]
