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
runs --kubeconfig "$KCFG" --session-actions allocate,reclaimx
check "unknown session action: exit 1 naming it" bash -c "[ $(rc) = 1 ] && grep -q 'unknown session action \"reclaimx\"' '$WORK/out.txt'"
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
runs --kubeconfig "$KCFG" --logging-format=json
check "unsupported --logging-format: exit 1" bash -c "[ $(rc) = 1 ] && grep -q 'logging-format' '$WORK/out.txt'"
runs --kubeconfig "$KCFG" --leader-elect-resource-lock=endpoints
check "unsupported --leader-elect-resource-lock: exit 1" bash -c "[ $(rc) = 1 ] && grep -q 'leases' '$WORK/out.txt'"
runs --help
check "--help prints usage and exits 0" bash -c "[ $(rc) = 0 ] && grep -q -- '--kubeconfig' '$WORK/out.txt'"

start_cosched --config "$ROOT/manifests/config/scheduler-config.yaml" --leader-elect=false
"$PY" "$ROOT/test/integration/genpods.py" --count 5 --prefix cfg- | k create -f - -o name >/dev/null
wait_until 15 all_ours_bound
check "the example configuration schedules pods" all_ours_bound
stop_cosched

# kubeadm's kube-scheduler static pod flags work as given (a drop-in replacement), and the
# --leader-elect-* flags override the configuration.
"$COSCHED_BIN" --authentication-kubeconfig="$KCFG" --authorization-kubeconfig="$KCFG" \
  --bind-address=127.0.0.1 --kubeconfig="$KCFG" --leader-elect=true --secure-port=0 \
  --leader-elect-resource-name=cli-lease --leader-elect-lease-duration=3s \
  --leader-elect-renew-deadline=2s --leader-elect-retry-period=500ms --profiling=false -v=3 \
  >>"$WORK/cosched-kubeadm.log" 2>&1 &
COSCHED_PID=$!
holder() { k get lease -n kube-system cli-lease -o jsonpath='{.spec.holderIdentity}' 2>/dev/null; }
wait_until 15 nonempty holder
check "kubeadm-style flags accepted; the lease named by --leader-elect-resource-name is held" \
  test -n "$(holder)"
check "the lease duration comes from --leader-elect-lease-duration" \
  [ "$(k get lease -n kube-system cli-lease -o jsonpath='{.spec.leaseDurationSeconds}')" = 3 ]
"$PY" "$ROOT/test/integration/genpods.py" --count 5 --prefix lead- | k create -f - -o name >/dev/null
wait_until 15 all_ours_bound
check "the elected replica schedules pods" all_ours_bound
check "ignored compatibility flags are logged by name" \
  grep -q 'not acted on" flag="authentication-kubeconfig"' "$WORK/cosched-kubeadm.log"
