#!/usr/bin/env bash
# Run every cmocka unit test binary under build/asan/test and every integration suite in
# test/integration/*.sh, then print one closing line "N passed, N failed".
# Unit tests count their cmocka cases; integration suites print TAP-like "ok - ..." and
# "not ok - ..." lines, each counted once. A binary or suite that crashes counts as one failure.
set -uo pipefail
ASAN_DIR=${1:-build/asan}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export COSCHED_BIN=${COSCHED_BIN:-$ASAN_DIR/cosched}
export APISIM_BIN=${APISIM_BIN:-$ASAN_DIR/apisim}
ONLY=${TEST_ONLY:-}
passed=0
failed=0
failures=()
log_dir=build/test-logs
mkdir -p "$log_dir"

for bin in $(find "$ASAN_DIR/test" -type f -name '*_test' 2>/dev/null | sort); do
  name=${bin#"$ASAN_DIR"/}
  if [ -n "$ONLY" ] && [[ "$name" != *"$ONLY"* ]]; then continue; fi
  out="$log_dir/$(echo "$name" | tr / _).log"
  "$bin" >"$out" 2>&1
  rc=$?
  p=$(grep -E '^\[  PASSED  \] [0-9]+ test' "$out" | awk '{s+=$4} END{print s+0}')
  f=$(grep -E '^\[  FAILED  \] [0-9]+ test' "$out" | awk '{s+=$4} END{print s+0}')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    failures+=("$name"); echo "FAIL $name ($p passed, $f failed; log $out)"; tail -n 30 "$out"
  else
    echo "ok   $name ($p cases)"
  fi
done

# A short libFuzzer run over the protobuf decoders (make fuzz runs it longer); hack/fuzz.sh installs
# clang on first use and falls back to the built-in mutation fuzzer without it.
if [ -z "$ONLY" ] || [[ "fuzz" == *"$ONLY"* ]]; then
  out="$log_dir/fuzz.log"
  FUZZ_SECONDS=${CI_FUZZ_SECONDS:-30} bash hack/fuzz.sh >"$out" 2>&1
  if [ $? -eq 0 ]; then
    passed=$((passed + 1)); echo "ok   fuzz ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out" | grep -o '[0-9]*$' || echo '?') runs; log $out)"
  else
    failed=$((failed + 1)); failures+=("fuzz"); echo "FAIL fuzz (log $out)"; tail -n 30 "$out"
  fi
fi

# Suites that also run against the real kube-apiserver v1.37.2 (COSCHED_APISERVER=k8s, see
# test/integration/lib.sh) when build/k8s has it: those that need none of apisim's own features
# (fault injection, generators of pods, its controllers, objects the real server refuses).
K8S_SUITES="apisim_kubectl apisim_watch queue_gang queue_s6 sched_affinity sched_basic sched_cli sched_cpuset sched_eci sched_spread sched_extended sched_gang sched_gpushare sched_leader sched_placement sched_platform sched_preempt sched_quota sched_quota_flat sched_quota_gang sched_restart sched_unschedulable sched_valgrind sched_volumes"
# Suites that run once more with cosched speaking JSON to the server (protobuf is the default
# for built-in kinds): the wire format must not change what cosched does.
JSON_SUITES="sched_basic sched_preempt sched_leader sched_quota"
runs=$(ls test/integration/*.sh 2>/dev/null | grep -v "/lib[^/]*\.sh$" | sort)
for s in $JSON_SUITES; do runs="$runs test/integration/$s.sh@apisim-json"; done
if [ -x build/k8s/kube-apiserver ] && [ -x build/k8s/etcd ]; then
  for s in $K8S_SUITES; do runs="$runs test/integration/$s.sh@k8s"; done
  for s in $JSON_SUITES; do runs="$runs test/integration/$s.sh@k8s-json"; done
fi
for run in $runs; do
  suite=${run%@*}
  name=$(basename "$suite" .sh)
  server=apisim
  flags=""
  case "$run" in
    *@k8s) name="$name@k8s"; server=k8s ;;
    *@k8s-json) name="$name@k8s-json"; server=k8s; flags="--kube-api-content-type application/json" ;;
    *@apisim-json) name="$name@apisim-json"; flags="--kube-api-content-type application/json" ;;
  esac
  if [ -n "$ONLY" ] && [[ "$suite" != *"$ONLY"* ]]; then continue; fi
  out="$log_dir/integration_$name.log"
  start=$(date +%s)
  COSCHED_APISERVER=$server COSCHED_FLAGS=$flags timeout 900 bash "$suite" >"$out" 2>&1
  rc=$?
  p=$(grep -cE '^ok - ' "$out")
  f=$(grep -cE '^not ok - ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    failures+=("integration/$name"); echo "FAIL integration/$name ($p ok, $f not ok, rc=$rc; log $out)"
    grep -E '^not ok - ' "$out" | head -20; tail -n 40 "$out"
  else
    echo "ok   integration/$name ($p checks, $(( $(date +%s) - start ))s)"
  fi
done

if [ "${#failures[@]}" -gt 0 ]; then echo "failed: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
