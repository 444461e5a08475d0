#!/usr/bin/env bash
# Flat ElasticQuotas (scheduler-plugins' namespaced CRD) when no ElasticQuotaTree exists, on
# apisim and on the real kube-apiserver: the guaranteed total (the sum of the mins) is the budget;
# a namespace borrows up to it, another takes its min back by preemption; status.used is written
# through the status subresource; an invalid ElasticQuota is refused with an Event and ignored.
. "$(dirname "$0")/lib.sh"

start_apisim || { notok "apisim starts"; exit 1; }
printf '%s' '{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"},"status":{"capacity":{"cpu":"64","memory":"64Gi","pods":"110"},"allocatable":{"cpu":"64","memory":"64Gi","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' \
  | k create -f - -o name >/dev/null
k apply -f "$ROOT/manifests/crds/scheduling.sigs.k8s.io_elasticquotas.yaml" -o name >/dev/null
for ns in qa qb qc; do k create namespace "$ns" -o name >/dev/null; done
wait_until 10 k get elasticquotas -A
eq() {  # namespace min max
  printf 'apiVersion: scheduling.sigs.k8s.io/v1alpha1\nkind: ElasticQuota\nmetadata: {name: quota, namespace: %s}\nspec: {min: {cpu: "%s"}, max: {cpu: "%s"}}\n' "$1" "$2" "$3"
}
{ eq qa 4 10; echo ---; eq qb 4 8; echo ---; eq qc 9 1; } | k apply -f - -o name >/dev/null
write_config "$WORK/config.yaml" CapacityScheduling
start_cosched --config "$WORK/config.yaml"

running() { reap_deleted; running_in "$1"; }
gen() { "$PY" "$ROOT/test/integration/genpods.py" --cpu 1 --memory 10Mi "$@"; }

gen --count 10 --prefix a- --namespace qa | k create -f - -o name >/dev/null
wait_until 30 equals 8 running qa
check "qa (max 10) borrows up to the guaranteed total, 4 + 4 = 8 cpu" equals 8 running qa
used() { k get elasticquota quota -n "$1" -o jsonpath='{.status.used.cpu}'; }
wait_until 15 equals 8 used qa
check "status.used of qa's ElasticQuota is 8 (status subresource)" equals 8 used qa

gen --count 2 --prefix b- --namespace qb | k create -f - -o name >/dev/null
wait_until 60 equals 2 running qb
check "qb, below its min, takes 2 cpu back from qa" equals 2 running qb
check "... and qa keeps 6" equals 6 running qa
events() { k get events -n qc -o jsonpath='{range .items[*]}{.reason}{" "}{.note}{.message}{"\n"}{end}' 2>/dev/null; }
wait_until 15 grep -q "InvalidElasticQuota" <(events)
check "the invalid ElasticQuota of qc (min 9 > max 1) is refused with an Event naming the rule" \
  grep -q "InvalidElasticQuota.*rule min<=max" <<<"$(events)"
gen --count 1 --prefix c- --namespace qc | k create -f - -o name >/dev/null
wait_until 20 equals 1 running qc
check "qc's pods are in no quota (its ElasticQuota is ignored)" equals 1 running qc
grep -q "AddressSanitizer\|runtime error" "$WORK/cosched.log" && notok "no sanitizer reports in cosched's log" || ok "no sanitizer reports in cosched's log"
exit "$FAILS"
