#!/usr/bin/env bash
# Watch / pagination / binding / status-patch semantics of apisim (raw HTTP from Python).
set -uo pipefail
APISIM_BIN=${APISIM_BIN:-build/asan/apisim}
work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  rm -rf "$work"
}
trap cleanup EXIT
"$APISIM_BIN" --listen 127.0.0.1:0 --kubeconfig-out "$work/kc" --history 32 >"$work/url" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q 'serving on' "$work/url" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's|^apisim: serving on http://127.0.0.1:\([0-9]*\)$|\1|p' "$work/url")
if [ -z "$port" ]; then echo "not ok - apisim starts"; cat "$work/log"; exit 1; fi
/usr/bin/python3 "$(dirname "$0")/apisim_watch.py" 127.0.0.1 "$port"
rc=$?
kill "$pid"; wait "$pid"; src=$?; pid=""
if [ "$src" -eq 0 ]; then echo "ok - apisim exits 0 after the watch suite"; else echo "not ok - apisim exit status $src"; tail -20 "$work/log"; fi
exit $rc
