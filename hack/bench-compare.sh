#!/usr/bin/env bash
# Side-by-side benchmark of two cosched builds in one run: SchedulingBasic end to end against
# apisim (pods/s) and the scheduler-only decision rate (schedbench), alternating old and new
# ROUNDS times so that machine noise hits both alike; prints each run, the medians and the
# new/old ratios.
#
#   hack/bench-compare.sh OLD_BUILD_DIR [NEW_BUILD_DIR]     (NEW defaults to build/)
#   e.g. git worktree add /tmp/base <rev> && make -C /tmp/base all
#        hack/bench-compare.sh /tmp/base/build
# ROUNDS (default 3), BENCH_NODES/BENCH_EXISTING/BENCH_PODS as in hack/bench.sh.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OLD=${1:?usage: bench-compare.sh OLD_BUILD_DIR [NEW_BUILD_DIR]}
NEW=${2:-$ROOT/build}
ROUNDS=${ROUNDS:-3}
NODES=${BENCH_NODES:-5000}; EXISTING=${BENCH_EXISTING:-1000}; PODS=${BENCH_PODS:-10000}
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/cosched-cmp.XXXXXX)
KCFG=$WORK/kubeconfig
APID=""; CPID=""
cleanup() {
  [ -n "$CPID" ] && kill "$CPID" 2>/dev/null
  [ -n "$APID" ] && kill "$APID" 2>/dev/null
  wait 2>/dev/null; rm -rf "$WORK"
}
trap cleanup EXIT

start_apisim() {  # apisim from the new build serves both
  rm -f "$WORK/apisim.out"
  "$NEW/apisim" --listen 127.0.0.1:0 --kubeconfig-out "$KCFG" --running-delay off \
    --cluster-gen "nodes=$NODES,cpu=4,memory=32Gi,pods=110,prefix=node-" \
    --pods-gen "count=$EXISTING,cpu=100m,memory=500Mi,bound=true,scheduler=ack-co-scheduler,prefix=existing-" \
    --pods-gen "count=$PODS,cpu=100m,memory=500Mi,scheduler=ack-co-scheduler,prefix=measured-" \
    >"$WORK/apisim.out" 2>"$WORK/apisim.log" &
  APID=$!
  for _ in $(seq 1 600); do grep -q "serving on" "$WORK/apisim.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "apisim did not start"; exit 1
}

basic() {  # build-dir -> prints pods/s
  start_apisim
  "$1/cosched" --kubeconfig "$KCFG" --leader-elect=false --secure-port 0 -v=0 \
    >"$WORK/cosched.log" 2>&1 &
  CPID=$!
  for _ in $(seq 1 100); do grep -q healthPort "$WORK/cosched.log" && break; sleep 0.1; done
  local port
  port=$(grep -o 'healthPort=[0-9]*' "$WORK/cosched.log" | head -1 | cut -d= -f2)
  "$PY" "$ROOT/hack/benchwatch.py" --port "$port" --pid "$CPID" --want "$PODS" --timeout 300 \
    --out "$WORK/result.txt" >/dev/null
  kill -TERM "$CPID"; wait "$CPID" 2>/dev/null; CPID=""
  kill "$APID" 2>/dev/null; wait "$APID" 2>/dev/null; APID=""
  grep 'pods/s average' "$WORK/result.txt" | grep -o '[0-9.]* |$' | tr -d ' |'
  grep 'CPU seconds' "$WORK/result.txt" | grep -o '[0-9.]* |$' | tr -d ' |' >>"$WORK/cpu.$2"
}

decisions() {  # build-dir -> prints decisions/s
  "$1/schedbench" --nodes "$NODES" --existing "$EXISTING" --pods "$PODS" 2>/dev/null |
    grep -o 'decisions_per_sec=[0-9]*' | tail -1 | cut -d= -f2
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "# old=$OLD new=$NEW rounds=$ROUNDS; SchedulingBasic $NODES nodes, $EXISTING existing, $PODS pods; $(nproc) cores"
: >"$WORK/cpu.old"; : >"$WORK/cpu.new"; : >"$WORK/ob"; : >"$WORK/nb"; : >"$WORK/od"; : >"$WORK/nd"
for r in $(seq 1 "$ROUNDS"); do
  ob=$(basic "$OLD" old); nb=$(basic "$NEW" new); od=$(decisions "$OLD"); nd=$(decisions "$NEW")
  echo "round $r: SchedulingBasic pods/s old=$ob new=$nb; scheduler-only decisions/s old=$od new=$nd"
  echo "$ob" >>"$WORK/ob"; echo "$nb" >>"$WORK/nb"; echo "$od" >>"$WORK/od"; echo "$nd" >>"$WORK/nd"
done
mob=$(median <"$WORK/ob"); mnb=$(median <"$WORK/nb"); mod=$(median <"$WORK/od"); mnd=$(median <"$WORK/nd")
echo "median SchedulingBasic pods/s: old=$mob new=$mnb ratio=$(awk -v a="$mnb" -v b="$mob" 'BEGIN{printf "%.3f", (b>0)?a/b:0}')"
echo "median cosched CPU seconds for the run: old=$(median <"$WORK/cpu.old") new=$(median <"$WORK/cpu.new")"
echo "median scheduler-only decisions/s: old=$mod new=$mnd ratio=$(awk -v a="$mnd" -v b="$mod" 'BEGIN{printf "%.3f", (b>0)?a/b:0}')"
