#!/usr/bin/env python3
"""Test driver for the real control plane (COSCHED_APISERVER=k8s), which runs no controllers.

It plays the part of controllers that apisim simulates, through the ordinary API, as a test
driver would. Each subcommand reads objects as JSON (kubectl get -o json) on stdin and prints
what the controller would write, as JSON for `kubectl create -f -`:

  tfjob-pods   stdin: a kubeflow.org TFJob or PyTorchJob. stdout: a v1 List of the pods
               kubeflow's training-operator creates for it, as apisim's controller makes
               them (pkg/apisim/sim_ctl.c cs_apisim_ctl_kubeflow): one pod
               <job>-<replica type>-<index> per replica, the template's labels plus the
               training.kubeflow.org/* labels, owned by the job, restartPolicy from the
               replica (Never unless OnFailure or Always).
  rayjob-pods  stdin: a ray.io/v1 RayJob. stdout: the pods of the RayCluster KubeRay creates
               for it: <job>-raycluster-head and <job>-raycluster-<group>-worker-<i> per
               replica (replicas, else minReplicas, times numOfHosts), labelled as KubeRay
               labels them (ray.io/cluster, ray.io/node-type, ray.io/group,
               ray.io/originated-from-crd: RayJob, ray.io/originated-from-cr-name) and owned
               by the RayCluster (which this driver does not create: only the labels tie the
               pods to the job, as on a real cluster where the RayCluster is a separate object).
  spark-pods   stdin: a sparkoperator.k8s.io/v1beta2 SparkApplication; argv: [DRIVER_UID].
               Without DRIVER_UID: the driver pod <app>-driver, owned by the application. With
               it: the executor pods <app>-exec-<i> (executor.instances), owned by the driver
               pod, as Spark makes them. Both labelled sparkoperator.k8s.io/app-name and
               spark-role; requests from cores (or coreRequest) and memory (JVM notation) plus
               Spark's 384Mi minimum overhead; schedulerName from the role's spec.
  workflow-pods  stdin: an argoproj.io/v1alpha1 Workflow. stdout: one pod <wf>-<template> per
               container template, owned by the workflow and labelled
               workflows.argoproj.io/workflow, as Argo runs a steps workflow's container steps.
"""
import json
import sys
import uuid


def tfjob_pods(job):
    md = job["metadata"]
    kind = job.get("kind", "TFJob")
    tf = kind == "TFJob"
    specs = job.get("spec", {}).get("tfReplicaSpecs" if tf else "pytorchReplicaSpecs", {})
    owner = [{"apiVersion": job.get("apiVersion", "kubeflow.org/v1"), "kind": kind,
              "name": md["name"], "uid": md["uid"], "controller": True,
              "blockOwnerDeletion": True}]
    items = []
    for rtype, rspec in specs.items():
        rp = rspec.get("restartPolicy", "")
        template = rspec.get("template", {})
        for idx in range(int(rspec.get("replicas", 1))):
            tmd = template.get("metadata", {})
            labels = dict(tmd.get("labels", {}))
            labels.update({
                "training.kubeflow.org/job-name": md["name"],
                "training.kubeflow.org/replica-type": rtype.lower(),
                "training.kubeflow.org/replica-index": str(idx),
                "training.kubeflow.org/operator-name":
                    "tfjob-controller" if tf else "pytorchjob-controller",
            })
            if rtype.lower() in ("chief", "master"):
                labels["training.kubeflow.org/job-role"] = "master"
            spec = json.loads(json.dumps(template.get("spec", {})))
            spec["restartPolicy"] = rp if rp in ("OnFailure", "Always") else "Never"
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "%s-%s-%d" % (md["name"], rtype.lower(), idx),
                                "namespace": md.get("namespace", "default"),
                                "labels": labels, "ownerReferences": owner},
                   "spec": spec}
            if tmd.get("annotations"):
                pod["metadata"]["annotations"] = dict(tmd["annotations"])
            items.append(pod)
    return {"apiVersion": "v1", "kind": "List", "items": items}


def pod_list(items):
    return {"apiVersion": "v1", "kind": "List", "items": items}


def from_template(name, ns, template, labels, owner):
    tmd = template.get("metadata", {})
    all_labels = dict(tmd.get("labels", {}))
    all_labels.update(labels)
    spec = json.loads(json.dumps(template.get("spec", {})))
    if spec.get("restartPolicy") not in ("Never", "OnFailure", "Always"):
        spec["restartPolicy"] = "Never"
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": ns, "labels": all_labels,
                        "ownerReferences": owner},
           "spec": spec}
    if tmd.get("annotations"):
        pod["metadata"]["annotations"] = dict(tmd["annotations"])
    return pod


def rayjob_pods(job):
    md = job["metadata"]
    ns = md.get("namespace", "default")
    cluster = md["name"] + "-raycluster"
    rc = job.get("spec", {}).get("rayClusterSpec", {})
    # The RayCluster's uid: not a real object here, derived from the job's so it is stable.
    owner = [{"apiVersion": "ray.io/v1", "kind": "RayCluster", "name": cluster,
              "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, md["uid"])), "controller": True,
              "blockOwnerDeletion": True}]
    common = {"ray.io/cluster": cluster, "ray.io/originated-from-crd": "RayJob",
              "ray.io/originated-from-cr-name": md["name"], "app.kubernetes.io/created-by":
              "kuberay-operator"}
    items = [from_template(cluster + "-head", ns, rc.get("headGroupSpec", {}).get("template", {}),
                           dict(common, **{"ray.io/node-type": "head",
                                           "ray.io/group": "headgroup"}), owner)]
    for g in rc.get("workerGroupSpecs", []):
        n = g.get("replicas", g.get("minReplicas", 1)) * g.get("numOfHosts", 1)
        for i in range(int(n)):
            items.append(from_template(
                "%s-%s-worker-%d" % (cluster, g.get("groupName", "workers"), i), ns,
                g.get("template", {}),
                dict(common, **{"ray.io/node-type": "worker", "ray.io/group": g.get("groupName", "")}),
                owner))
    return pod_list(items)


def jvm_mib(s):
    s = (s or "1g").strip().lower()
    units = {"": 1, "b": 1.0 / (1 << 20), "k": 1.0 / 1024, "kb": 1.0 / 1024, "m": 1, "mb": 1,
             "g": 1024, "gb": 1024, "t": 1 << 20, "tb": 1 << 20}
    digits = s.rstrip("bkmgt")
    return int(int(digits) * units[s[len(digits):]])


def spark_pods(app, driver_uid):
    md = app["metadata"]
    ns = md.get("namespace", "default")
    spec = app.get("spec", {})

    def pod(name, role, rspec, owner, extra):
        cpu = rspec.get("coreRequest") or str(rspec.get("cores", 1))
        mem = "%dMi" % (jvm_mib(rspec.get("memory")) + 384)
        labels = dict(rspec.get("labels", {}))
        labels.update({"sparkoperator.k8s.io/app-name": md["name"],
                       "sparkoperator.k8s.io/launched-by-spark-operator": "true",
                       "spark-role": role})
        labels.update(extra)
        p = {"apiVersion": "v1", "kind": "Pod",
             "metadata": {"name": name, "namespace": ns, "labels": labels,
                          "ownerReferences": owner},
             "spec": {"restartPolicy": "Never",
                      "containers": [{"name": "spark-kubernetes-" + role, "image": "spark:3.5.0",
                                      "resources": {"requests": {"cpu": cpu, "memory": mem}}}]}}
        if rspec.get("schedulerName"):
            p["spec"]["schedulerName"] = rspec["schedulerName"]
        return p

    if driver_uid is None:
        owner = [{"apiVersion": app.get("apiVersion", "sparkoperator.k8s.io/v1beta2"),
                  "kind": "SparkApplication", "name": md["name"], "uid": md["uid"],
                  "controller": True, "blockOwnerDeletion": True}]
        return pod_list([pod(md["name"] + "-driver", "driver", spec.get("driver", {}), owner, {})])
    owner = [{"apiVersion": "v1", "kind": "Pod", "name": md["name"] + "-driver",
              "uid": driver_uid, "controller": True, "blockOwnerDeletion": True}]
    ex = spec.get("executor", {})
    return pod_list([pod("%s-exec-%d" % (md["name"], i + 1), "executor", ex, owner,
                         {"spark-exec-id": str(i + 1)})
                     for i in range(int(ex.get("instances", 2)))])


def workflow_pods(wf):
    md = wf["metadata"]
    owner = [{"apiVersion": wf.get("apiVersion", "argoproj.io/v1alpha1"), "kind": "Workflow",
              "name": md["name"], "uid": md["uid"], "controller": True,
              "blockOwnerDeletion": True}]
    spec = wf.get("spec", {})
    items = []
    for t in spec.get("templates", []):
        if "container" not in t:
            continue
        c = dict(t["container"])
        c.setdefault("name", "main")
        pspec = {"restartPolicy": "Never", "containers": [c]}
        if spec.get("schedulerName"):
            pspec["schedulerName"] = spec["schedulerName"]
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": "%s-%s" % (md["name"], t["name"]),
                                   "namespace": md.get("namespace", "default"),
                                   "labels": {"workflows.argoproj.io/workflow": md["name"]},
                                   "annotations": {"workflows.argoproj.io/node-name":
                                                   "%s.%s" % (md["name"], t["name"])},
                                   "ownerReferences": owner},
                      "spec": pspec})
    return pod_list(items)


COMMANDS = ("tfjob-pods", "rayjob-pods", "spark-pods", "workflow-pods")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.stderr.write("usage: k8s_driver.py %s < object.json\n" % "|".join(COMMANDS))
        return 2
    obj = json.load(sys.stdin)
    cmd = sys.argv[1]
    if cmd == "tfjob-pods":
        out = tfjob_pods(obj)
    elif cmd == "rayjob-pods":
        out = rayjob_pods(obj)
    elif cmd == "spark-pods":
        out = spark_pods(obj, sys.argv[2] if len(sys.argv) > 2 else None)
    else:
        out = workflow_pods(obj)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
