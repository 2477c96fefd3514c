"""Every example of examples/ has a Python twin in examples/python, and the two give every workload
the same /dev/shm, object by object: the volume mounted there, which containers mount it and how,
the memory requests and limits it is sized from, and the cdk8s-shm.io/ annotations the pod carries.
Each /dev/shm is also the one worked out by hand (as test/examples.test.ts has it), so a size wrong
in both languages fails too.
"""
import os
from typing import Any, Dict, List

import pytest

from conftest import EXAMPLES
from registry import SHM_MOUNT_PATH, describe_shm, examples, pod_template

# The /dev/shm of every workload, worked out by hand from the rule (docs/sizing-rule.md).
EXPECTED = {
    # Half of the trainer's 32Gi; the init container has no limit, so the pod has none to cap it.
    "pytorch-training": {"Job/pytorch-training-resnet50-c86e8205": "16Gi"},
    # Half of vllm's 96Gi is 48Gi, lowered by 'maximum' to 16Gi.
    "nccl-inference": {"Deployment/nccl-inference-llama-70b-c88aa1bb": "16Gi"},
    # A quarter of 8Gi.
    "postgres": {"StatefulSet/postgres-db-c86e295c": "2Gi"},
    # An exact size.
    "selenium-chrome": {"Deployment/selenium-chrome-chrome-node-c846b68d": "2Gi"},
    "plain-yaml": {
        "Deployment/ray-worker": "8Gi",
        "StatefulSet/oracle-xe": "3Gi",  # the pod's own cdk8s-shm.io/size annotation
        "CronJob/nightly-report": "1Gi",
        "Deployment/legacy-api": "64Mi (runtime default)",  # no memory limit: left alone
    },
    "node-agent": {
        "DaemonSet/routing-agent-csi": "64Mi (runtime default)",
        "DaemonSet/routing-agent": "csi routing-agent.cdk8s-shm.io",
        "Deployment/node-agent-web-c8a8f3bf": "csi routing-agent.cdk8s-shm.io",
    },
}


def workloads(objects: List[Dict[str, Any]]) -> Dict[str, Dict[str, Any]]:
    """The pod template of each workload among `objects`, by KIND/name."""
    return {f"{o['kind']}/{o['metadata']['name']}": pod_template(o) for o in objects if pod_template(o) is not None}


def shm_of(template: Dict[str, Any]) -> Dict[str, Any]:
    """All a pod template says about /dev/shm: each container's memory, the volumes mounted there, each container's mounts of them, our annotations."""
    spec = template["spec"]
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    mounts = {c["name"]: [m for m in c.get("volumeMounts", []) if m["mountPath"] == SHM_MOUNT_PATH] for c in containers}
    names = {m["name"] for ms in mounts.values() for m in ms}
    annotations = template.get("metadata", {}).get("annotations", {})
    return {
        # The memory each container may use: /dev/shm is sized from it, and limitFollows grows it.
        "memory": {c["name"]: {k: v["memory"] for k, v in c.get("resources", {}).items() if "memory" in v} for c in containers},
        "volumes": sorted((v for v in spec.get("volumes", []) if v["name"] in names), key=lambda v: v["name"]),
        "mounts": {name: ms for name, ms in mounts.items() if ms},
        "annotations": {k: v for k, v in annotations.items() if k.startswith("cdk8s-shm.io/")},
        "hostIPC": spec.get("hostIPC", False),
    }


def test_every_typescript_example_has_its_python_twin():
    typescript = sorted(f[: -len(".ts")] for f in os.listdir(EXAMPLES) if f.endswith(".ts") and f not in ("synth.ts", "registry.ts"))
    assert sorted(e.name for e in examples()) == typescript
    assert sorted(EXPECTED) == typescript


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_the_python_example_gives_every_workload_the_dev_shm_worked_out_by_hand(example, python_manifests):
    got = {name: describe_shm(t["spec"]) for name, t in workloads(python_manifests[example]).items()}
    assert got == EXPECTED[example]


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_the_typescript_example_gives_every_workload_the_dev_shm_worked_out_by_hand(example, typescript_manifests):
    got = {name: describe_shm(t["spec"]) for name, t in workloads(typescript_manifests[example]).items()}
    assert got == EXPECTED[example]


@pytest.mark.parametrize("example", sorted(EXPECTED))
def test_python_and_typescript_give_each_workload_the_same_volume_mounts_and_annotations(example, python_manifests, typescript_manifests):
    python = workloads(python_manifests[example])
    typescript = workloads(typescript_manifests[example])
    assert sorted(python) == sorted(typescript)
    for name in typescript:
        assert shm_of(python[name]) == shm_of(typescript[name]), name


def test_the_comparison_sees_a_wrong_size(python_manifests):
    # What the comparison is made of must notice a size that differs, not only a missing volume.
    template = workloads(python_manifests["postgres"])["StatefulSet/postgres-db-c86e295c"]
    wrong = {**template, "spec": {**template["spec"], "volumes": [
        {**v, "emptyDir": {**v["emptyDir"], "sizeLimit": "3Gi"}} if "emptyDir" in v and v["emptyDir"].get("medium") == "Memory" else v
        for v in template["spec"]["volumes"]
    ]}}
    assert shm_of(wrong) != shm_of(template)
    assert describe_shm(wrong["spec"]) == "3Gi"
