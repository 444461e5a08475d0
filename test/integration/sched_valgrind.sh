#!/usr/bin/env bash
# The long-running paths under valgrind: cosched (system-allocator build) lists, watches,
# schedules and binds a few hundred pods, sees deletions and new pods, and stops on SIGTERM.
# valgrind must report no memory errors and no leaked blocks.
. "$(dirname "$0")/lib.sh"
VG_COSCHED=${VG_COSCHED:-$ROOT/build/vg/cosched}
if ! command -v valgrind >/dev/null || [ ! -x "$VG_COSCHED" ]; then
  notok "valgrind and $VG_COSCHED are available (make build/vg/cosched)"; exit 1
fi
start_apisim --cluster-gen "nodes=20,cpu=8,memory=32Gi,pods=110,prefix=node-" \
  --pods-gen "count=300,cpu=100m,memory=100Mi,scheduler=ack-co-scheduler,prefix=vg-" \
  || { notok "apisim starts"; exit 1; }
valgrind --error-exitcode=9 --leak-check=full --show-leak-kinds=definite,indirect \
  --errors-for-leak-kinds=definite,indirect "$VG_COSCHED" --kubeconfig "$KCFG" \
  --leader-elect=false --secure-port 0 -v=1 >"$WORK/vg.out" 2>"$WORK/vg.log" &
VG_PID=$!
wait_until 120 all_ours_bound
check "300 pods bound under valgrind" all_ours_bound
k delete pod vg-1 vg-2 vg-3 --wait=false >/dev/null
"$PY" "$ROOT/test/integration/genpods.py" --count 20 --prefix late- | k create -f - -o name >/dev/null
wait_until 60 all_ours_bound
check "20 more pods bound after deletions" all_ours_bound
kill -TERM "$VG_PID"
wait "$VG_PID"
rc=$?
check "cosched exits 0 under valgrind (valgrind exit $rc)" [ "$rc" = 0 ]
check "valgrind: no memory errors" grep -q "ERROR SUMMARY: 0 errors" "$WORK/vg.log"
check "valgrind: no leaked blocks" \
  bash -c "grep -q 'All heap blocks were freed' '$WORK/vg.log' || grep -q 'definitely lost: 0 bytes' '$WORK/vg.log'"
