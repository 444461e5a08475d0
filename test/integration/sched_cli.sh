#!/usr/bin/env bash
# Flags and configuration: mistakes are reported clearly and cosched exits 1 before touching
# the cluster (apisim sees no request); the shipped example configuration runs.
. "$(dirname "$0")/lib.sh"

start_apisim --cluster-gen "nodes=3,cpu=4,memory=8Gi,pods=110,prefix=node-" || { notok "apisim starts"; exit 1; }
runs() { "$COSCHED_BIN" "$@" >"$WORK/out.txt" 2>&1; echo $? >"$WORK/rc.txt"; }
rc() { cat "$WORK/rc.txt"; }
said() { grep -q -- "$1" "$WORK/out.txt"; }

runs --kubeconfig "$KCFG" --frobnicate
check "unknown flag: exit 1 naming it" bash -c "[ $(rc) = 1 ] && grep -q -- 'unknown flag: --frobnicate' '$WORK/out.txt'"
runs --kubeconfig "$KCFG" --secure-port notaport
check "bad flag value: exit 1 naming the flag" bash -c "[ $(rc) = 1 ] && grep -q -- '--secure-port' '$WORK/out.txt'"
runs --kubeconfig "$KCFG" --config "$WORK/missing.yaml"
check "missing config file: exit 1" bash -c "[ $(rc) = 1 ] && grep -q 'missing.yaml' '$WORK/out.txt'"
printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: x\n  plugins:\n    score:\n      enabled:\n      - name: Foo\n' >"$WORK/bad.yaml"
runs --kubeconfig "$KCFG" --config "$WORK/bad.yaml"
check "unknown plugin: exit 1 naming the key" \
  bash -c "[ $(rc) = 1 ] && grep -q 'profiles\[0\].plugins.score.enabled\[0\].name: unknown plugin \"Foo\"' '$WORK/out.txt'"
printf 'apiVersion: kubescheduler.config.k8s.io/v1beta9\nkind: KubeSchedulerConfiguration\n' >"$WORK/old.yaml"
runs --kubeconfig "$KCFG" --config "$WORK/old.yaml"
check "unsupported apiVersion: exit 1" bash -c "[ $(rc) = 1 ] && grep -qi 'apiVersion' '$WORK/out.txt'"
printf 'apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\npodMaxBackofSeconds: 3\n' >"$WORK/typo.yaml"
runs --kubeconfig "$KCFG" --config "$WORK/typo.yaml"
check "misspelt field: exit 1 naming it" bash -c "[ $(rc) = 1 ] && grep -q 'podMaxBackofSeconds' '$WORK/out.txt'"
pods_seen=$(k get events -A -o name | wc -l)
check "none of the failed starts wrote to the cluster" [ "$pods_seen" = 0 ]
runs --help
check "--help prints usage and exits 0" bash -c "[ $(rc) = 0 ] && grep -q -- '--kubeconfig' '$WORK/out.txt'"

start_cosched --config "$ROOT/manifests/config/scheduler-config.yaml" --leader-elect=false
"$PY" "$ROOT/test/integration/genpods.py" --count 5 --prefix cfg- | k create -f - -o name >/dev/null
wait_until 15 all_ours_bound
check "the example configuration schedules pods" all_ours_bound
