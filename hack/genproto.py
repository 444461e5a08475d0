# Derive cosched's own protobuf schema (api/proto/k8s.proto) from the Kubernetes generated.proto
# files: the messages reachable from the kinds cosched reads and writes, flattened into one
# package, with the fields cosched never reads left out (they are skipped on the wire).
import re, os, sys
M = os.path.expanduser("~/go/pkg/mod")
files = [
  ("meta", M + "/k8s.io/apimachinery@v0.37.2/pkg/apis/meta/v1/generated.proto"),
  ("runtime", M + "/k8s.io/apimachinery@v0.37.2/pkg/runtime/generated.proto"),
  ("resource", M + "/k8s.io/apimachinery@v0.37.2/pkg/api/resource/generated.proto"),
  ("intstr", M + "/k8s.io/apimachinery@v0.37.2/pkg/util/intstr/generated.proto"),
  ("core", M + "/k8s.io/api@v0.37.2/core/v1/generated.proto"),
  ("events", M + "/k8s.io/api@v0.37.2/events/v1/generated.proto"),
  ("coordination", M + "/k8s.io/api@v0.37.2/coordination/v1/generated.proto"),
  ("scheduling", M + "/k8s.io/api@v0.37.2/scheduling/v1/generated.proto"),
]
msgs = {}   # (pkg, name) -> [(label, type, name, num)]
for pkg, path in files:
    text = open(path).read()
    text = re.sub(r"//[^\n]*", "", text)
    for m in re.finditer(r"\nmessage (\w+) \{(.*?)\n\}", text, re.S):
        fields = []
        for f in re.finditer(r"(optional|repeated)?\s*(map<\s*[\w.]+\s*,\s*[\w.]+\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)", m.group(2)):
            fields.append((f.group(1) or "", f.group(2).replace(" ", ""), f.group(3), int(f.group(4))))
        msgs[(pkg, m.group(1))] = fields
def resolve(t, pkg):
    short = t.split(".")[-1]
    if "." in t:
        for p in ("meta", "runtime", "resource", "intstr", "core"):
            if (p, short) in msgs and (t.startswith("k8s.io.apimachinery") or t.startswith("k8s.io.api.core")):
                if ("apimachinery" in t) == (p in ("meta", "runtime", "resource", "intstr")):
                    return (p, short)
    if (pkg, short) in msgs:
        return (pkg, short)
    for p in ("meta", "core", "runtime", "resource", "intstr"):
        if (p, short) in msgs:
            return (p, short)
    return None
SCALARS = {"string","int32","int64","bool","bytes","double","float","uint32","uint64","fixed32","fixed64","sint32","sint64"}
# Fields cosched never reads (skipped on the wire): big subtrees of pods and nodes.
DROP = {
  ("meta","ObjectMeta"): {"managedFields", "selfLink"},
  ("core","Container"): {"env","envFrom","volumeMounts","volumeDevices","livenessProbe","readinessProbe","startupProbe","lifecycle","securityContext","terminationMessagePath","terminationMessagePolicy","imagePullPolicy","stdin","stdinOnce","tty","workingDir","command","args","resizePolicy","restartPolicyRules"},
  ("core","PodSpec"): {"securityContext","imagePullSecrets","dnsConfig","readinessGates","hostAliases","ephemeralContainers","os","hostUsers","resourceClaims"},
  ("core","Volume"): set(),
  ("core","PodStatus"): {"ephemeralContainerStatuses","podIPs","hostIPs","resourceClaimStatuses","extendedResourceClaimStatus"},
  ("core","NodeStatus"): {"volumesInUse","volumesAttached","config","features","runtimeHandlers","declaredFeatures"},
  ("core","NodeSpec"): {"configSource"},
  ("core","ContainerStatus"): {"state","lastState","volumeMounts","user","allocatedResourcesStatus"},
}
# Volume sources: only those cosched reads (claims, ephemeral claims, and the in-tree kinds the
# volume plugins name); the rest of VolumeSource is skipped.
KEEP_VOLSRC = {"persistentVolumeClaim","ephemeral","gcePersistentDisk","awsElasticBlockStore","azureDisk","iscsi","rbd","csi","hostPath","emptyDir","configMap","secret"}
roots = [("meta","Status"),("meta","WatchEvent"),("runtime","Unknown"),("core","Pod"),("core","PodList"),
         ("core","Node"),("core","NodeList"),("core","Binding"),("core","Namespace"),("core","NamespaceList"),
         ("events","Event"),("events","EventList"),("coordination","Lease"),("coordination","LeaseList"),
         ("scheduling","PriorityClass"),("scheduling","PriorityClassList"),("intstr","IntOrString")]
out, seen, order = {}, set(), []
queue = list(roots)
while queue:
    key = queue.pop(0)
    if key in seen: continue
    seen.add(key); order.append(key)
    pkg, name = key
    fields = []
    for label, t, fname, num in msgs[key]:
        if fname in DROP.get(key, set()): continue
        if key == ("core","VolumeSource") and fname not in KEEP_VOLSRC: continue
        if t.startswith("map<"):
            k, v = t[4:-1].split(",")
            vk = v.split(".")[-1]
            if vk not in SCALARS:
                r = resolve(v, pkg); queue.append(r); vk = r[1]
            fields.append(("", "map<%s, %s>" % (k, vk), fname, num)); continue
        short = t.split(".")[-1]
        if short not in SCALARS:
            r = resolve(t, pkg)
            if r is None: sys.exit("unresolved %s in %s" % (t, key))
            queue.append(r); short = r[1]
        fields.append((label or "optional", short, fname, num))
    out[key] = fields
names = [n for _, n in order]
dups = {n for n in names if names.count(n) > 1}
if dups: sys.exit("name clash: %s" % dups)
print('// cosched\'s protobuf schema for the built-in kinds it reads and writes (see api/pbjson.h).')
print('// Messages, field names and numbers are those of the Kubernetes wire format (k8s.io/api and')
print('// apimachinery v0.37.2), flattened into one package; fields cosched never reads are left out')
print('// and skipped on the wire (managedFields first). Regenerate with hack/genproto.py.')
print('syntax = "proto2";\n\npackage cs.k8s;\n')
for key in sorted(order, key=lambda k: k[1]):
    print("message %s {" % key[1])
    for label, t, fname, num in sorted(out[key], key=lambda f: f[3]):
        print("  %s%s %s = %d;" % (label + " " if label else "", t, fname, num))
    print("}\n")
