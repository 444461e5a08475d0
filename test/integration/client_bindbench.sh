#!/usr/bin/env bash
# pkg/client end to end against apisim: bindbench lists pending pods and nodes, binds every pod
# with many requests in flight and two watchers that must each see every bind; then the same
# over TLS with a bearer token. Prints "ok - ..." / "not ok - ..." per check.
set -uo pipefail
cd "$(dirname "$0")/../.."
APISIM=${APISIM_BIN:-build/asan/apisim}
BINDBENCH=${BINDBENCH_BIN:-build/bindbench}
tmp=$(mktemp -d)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail=0
check() { if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; fail=1; fi; }

for b in "$APISIM" "$BINDBENCH"; do
  if [ ! -x "$b" ]; then echo "not ok - $b is built"; exit 1; fi
done

start_apisim() { # extra flags...
  rm -f "$tmp/kubeconfig" "$tmp/apisim.log"
  "$APISIM" --listen 127.0.0.1:0 --kubeconfig-out "$tmp/kubeconfig" \
    --cluster-gen "nodes=20,cpu=4,memory=32Gi,pods=110" --pods-gen "count=300,cpu=100m,memory=500Mi" \
    "$@" >"$tmp/apisim.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    if grep -q 'serving on' "$tmp/apisim.log" 2>/dev/null && [ -s "$tmp/kubeconfig" ]; then return 0; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tmp/apisim.log"
  return 1
}
stop_apisim() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=; }

run_case() { # name, apisim flags...
  local name=$1; shift
  if ! start_apisim "$@"; then check 1 "$name: apisim starts"; return; fi
  out=$("$BINDBENCH" --kubeconfig "$tmp/kubeconfig" --concurrency 32 --watchers 2 2>"$tmp/bb.err")
  rc=$?
  echo "# $name: $out"
  check "$rc" "$name: bindbench exits 0"
  echo "$out" | grep -q 'binds=300 ' ; check $? "$name: all 300 pending pods bound"
  echo "$out" | grep -q ' errors=0' ; check $? "$name: no bind errors"
  echo "$out" | grep -q 'watch_missing=0' ; check $? "$name: both watchers saw every bind"
  # a second run finds nothing left to bind (the binds really happened)
  out2=$("$BINDBENCH" --kubeconfig "$tmp/kubeconfig" 2>>"$tmp/bb.err")
  echo "$out2" | grep -q '^binds=0 ' ; check $? "$name: nothing pending afterwards"
  [ -s "$tmp/bb.err" ] && sed 's/^/# /' "$tmp/bb.err" | head -20
  stop_apisim
}

run_case "http"
run_case "tls+token" --tls --token s3cret-token
if start_apisim --tls --token s3cret-token; then
  sed -i 's/s3cret-token/wrong-token/' "$tmp/kubeconfig"
  "$BINDBENCH" --kubeconfig "$tmp/kubeconfig" >"$tmp/out" 2>&1
  [ $? -ne 0 ] && grep -q '401' "$tmp/out"; check $? "tls+token: a wrong token is refused with 401"
  stop_apisim
fi
exit $fail
