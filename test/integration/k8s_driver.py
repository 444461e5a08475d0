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
"""
import json
import sys


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


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("tfjob-pods",):
        sys.stderr.write("usage: k8s_driver.py tfjob-pods < job.json\n")
        return 2
    json.dump(tfjob_pods(json.load(sys.stdin)), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
