# Scenarios S2, S3 and S5 of the demo (sourced by hack/demo.sh, which defines k, ROOT, PY and a
# running cosched with CpusetScheduling, GPUShare and EciBurst): which pod got which node, which
# CPUs and which GPU. Each scenario has its own nodes (label pool=...) and its pods select them.
gennodes() { "$PY" "$ROOT/test/integration/gennodes.py" "$@" | k create -f - >/dev/null; }
gen() { "$PY" "$ROOT/test/integration/genpods.py" "$@" | k create -f - >/dev/null; }
show() {  # namespace
  sleep 3
  k get pods -n "$1" -o json | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
print("   %-14s %-20s %s" % ("POD", "NODE", "PLACEMENT"))
for p in sorted(d["items"], key=lambda p: p["metadata"]["name"]):
    a = p["metadata"].get("annotations") or {}
    node = p["spec"].get("nodeName") or "<pending>"
    what = ""
    if "cpuset" in a:
        what = "; ".join("NUMA %s: CPUs %s" % (n, ",".join(sorted(s["elems"], key=int)))
                         for per in json.loads(a["cpuset"]).values() for n, s in per.items())
    if "ALIYUN_COM_GPU_MEM_IDX" in a:
        what = "GPU %s, %s GiB of %s" % (a["ALIYUN_COM_GPU_MEM_IDX"], a["ALIYUN_COM_GPU_MEM_POD"], a["ALIYUN_COM_GPU_MEM_DEV"])
    if not p["spec"].get("nodeName"):
        for c in p.get("status", {}).get("conditions", []):
            if c["type"] == "PodScheduled":
                what = c.get("message", "")
    print("   %-14s %-20s %s" % (p["metadata"]["name"], node, what))'
}

echo "== scenario S2: CPU topology (2 nodes of 2 NUMA nodes x 8 cores x 2 threads)"
gennodes --count 2 --prefix numa- --sockets 1 --numa 2 --cores 8 --label pool=s2
k create namespace s2 >/dev/null
gen --count 2 --prefix nginx-numa- --namespace s2 --cpu 4 --memory 100Mi --annotation cpuset-scheduler=true --node-selector pool=s2
gen --count 1 --prefix frac- --namespace s2 --cpu 1500m --memory 100Mi --annotation cpuset-scheduler=true --node-selector pool=s2
echo "   nginx-numa: 2 replicas, cpu request = limit = 4; frac: limit 1500m"
show s2

echo "== scenario S3: ECI burst (a regular node with room for 2 pods of cpu 2, one virtual node)"
gennodes --count 1 --prefix ecs- --cpu 4 --memory 16Gi --label pool=s3
gennodes --count 1 --prefix virtual-kubelet- --cpu 1000 --memory 4Ti --pods 1000 --virtual --label pool=s3
k create namespace s3 >/dev/null
gen --count 4 --prefix eci- --namespace s3 --cpu 2 --memory 100Mi --annotation alibabacloud.com/burst-resource=eci --node-selector pool=s3
gen --count 1 --prefix bad- --namespace s3 --cpu 2 --memory 100Mi --annotation alibabacloud.com/burst-resource=spot --node-selector pool=s3
echo "   eci-*: burst-resource=eci (regular nodes first); bad-0: burst-resource=spot"
show s3

echo "== scenario S5: shared GPUs, binpack (2 nodes of 4 GPUs x 16 GiB)"
gennodes --count 2 --prefix gpushare- --gpus 4 --gpu-mem 16 --label pool=s5
k create namespace s5 >/dev/null
for i in 0 1 2 3 4 5; do gen --count 1 --start "$i" --prefix infer- --namespace s5 --cpu 100m --memory 100Mi --gpu-mem 6 --node-selector pool=s5; done
gen --count 1 --prefix big- --namespace s5 --cpu 100m --memory 100Mi --gpu-mem 20 --node-selector pool=s5
echo "   infer-*: aliyun.com/gpu-mem 6 each (two fit a 16 GiB GPU); big-0: 20 GiB"
show s5
