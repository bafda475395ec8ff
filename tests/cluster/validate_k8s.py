#!/usr/bin/python3
"""Checks manifests from `furnace export k8s` against the Kubernetes API models.

Each YAML document is deserialised into its model (V1Job, V1Service) by Debian's
python3-kubernetes with client-side validation on (a missing required field or a bad enum value
raises), then serialised back: a key the models do not know, or a value of the wrong type, makes
the round trip differ. On top, furnace's own rules: the image by digest, no privileged container,
no privilege escalation, /dev/shm a memory-backed emptyDir with a size limit, GPUs in limits,
pull secrets by name, and none of the --forbid strings anywhere.

Usage: validate_k8s.py [--forbid TEXT]... [--allow-unpinned] FILE...
"""
import json
import sys

import yaml
from kubernetes import client

MODELS = {("batch/v1", "Job"): "V1Job", ("v1", "Service"): "V1Service"}


class Response:  # what ApiClient.deserialize reads: a body in .data
    def __init__(self, doc):
        self.data = json.dumps(doc)


def fail(path, msg):
    print(f"validate_k8s: {path}: {msg}", file=sys.stderr)
    sys.exit(1)


def without_nulls(v):
    if isinstance(v, dict):
        return {k: without_nulls(x) for k, x in v.items() if x is not None}
    if isinstance(v, list):
        return [without_nulls(x) for x in v]
    return v


def check_job(path, job, allow_unpinned):
    pod = job.spec.template.spec
    if pod.restart_policy not in ("Never", "OnFailure"):
        fail(path, "a Job's pods must have restartPolicy Never or OnFailure")
    if job.spec.backoff_limit is None or job.spec.ttl_seconds_after_finished is None:
        fail(path, "backoffLimit and ttlSecondsAfterFinished must be set")
    sc = pod.security_context
    if sc is None or sc.run_as_user is None or sc.run_as_group is None or sc.fs_group is None:
        fail(path, "the pod must run as the caller (runAsUser, runAsGroup, fsGroup)")
    if sc.fs_group_change_policy != "OnRootMismatch":
        fail(path, "fsGroupChangePolicy must be OnRootMismatch")
    volumes = {v.name: v for v in pod.volumes or []}
    for c in pod.containers:
        if not allow_unpinned and "@sha256:" not in c.image:
            fail(path, f"image {c.image} is not pinned by digest")
        csc = c.security_context
        if csc is None or csc.allow_privilege_escalation is not False or csc.privileged:
            fail(path, "allowPrivilegeEscalation must be false and privileged off")
        shm = [m for m in c.volume_mounts or [] if m.mount_path == "/dev/shm"]
        if len(shm) != 1:
            fail(path, "/dev/shm must be mounted once")
        ed = volumes[shm[0].name].empty_dir
        if ed is None or ed.medium != "Memory" or not ed.size_limit:
            fail(path, "/dev/shm must be an emptyDir with medium Memory and a sizeLimit")
        for m in (c.volume_mounts or [])[1:]:
            if m.mount_path != "/dev/shm" and not m.read_only:
                fail(path, f"dataset mount {m.mount_path} must be read-only")
        limits = (c.resources.limits or {}) if c.resources else {}
        if "nvidia.com/gpu" in ((c.resources.requests or {}) if c.resources else {}):
            fail(path, "GPUs belong in limits")
        print(f"  {path}: container {c.name}: image {c.image}, gpus {limits.get('nvidia.com/gpu', 0)}")


def main(argv):
    forbid, files, allow_unpinned = [], [], False
    it = iter(argv)
    for a in it:
        if a == "--forbid":
            forbid.append(next(it))
        elif a == "--allow-unpinned":
            allow_unpinned = True
        else:
            files.append(a)
    if not files:
        fail("-", "no files")
    api = client.ApiClient()
    assert client.Configuration.get_default_copy().client_side_validation
    for path in files:
        text = open(path, encoding="utf-8").read()
        for secret in forbid:
            if secret in text:
                fail(path, "a secret value is in the manifest")
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
        if not docs:
            fail(path, "no documents")
        for doc in docs:
            model = MODELS.get((doc.get("apiVersion"), doc.get("kind")))
            if model is None:
                fail(path, f"unexpected object {doc.get('apiVersion')}/{doc.get('kind')}")
            try:
                obj = api.deserialize(Response(doc), model)
            except (ValueError, TypeError) as e:
                fail(path, f"{model}: {e}")
            back = without_nulls(api.sanitize_for_serialization(obj))
            if back != doc:
                fail(path, f"{model} does not round-trip (an unknown key or a wrong type):\n"
                     f"  written: {json.dumps(doc, sort_keys=True)}\n"
                     f"  model:   {json.dumps(back, sort_keys=True)}")
            if model == "V1Job":
                check_job(path, obj, allow_unpinned)
            elif obj.spec.cluster_ip != "None":
                fail(path, "the Service must be headless (clusterIP None)")
    print(f"validate_k8s: ok ({len(files)} file(s))")


if __name__ == "__main__":
    main(sys.argv[1:])
