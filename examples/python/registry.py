"""Finds the Python examples and describes the /dev/shm of what they synthesize: the Python twin of
examples/registry.ts, shared by synth.py (`npm run examples`, `npm run python`) and test/python.

Only what the manifests say is read here (the volume mounted at /dev/shm and who mounts it): the
sizing rule is the library's, in every language.
"""
import importlib
import os
from typing import Any, Callable, Dict, List, NamedTuple, Optional

from cdk8s import App, Chart

HERE = os.path.dirname(os.path.abspath(__file__))
NOT_EXAMPLES = {"registry.py", "synth.py", "__init__.py"}
SHM_MOUNT_PATH = "/dev/shm"


class Example(NamedTuple):
    """An example: a module of examples/python whose build(app) makes one chart in an app."""

    name: str  # as the TypeScript example's file is named: pytorch_training.py is 'pytorch-training'
    build: Callable[[App], Chart]


def examples() -> List[Example]:
    """Every example, in the order of its name."""
    found = []
    for file in sorted(os.listdir(HERE)):
        if not file.endswith(".py") or file in NOT_EXAMPLES:
            continue
        module = importlib.import_module(file[:-3])
        if not callable(getattr(module, "build", None)):
            raise TypeError(f"examples/python/{file} must define build(app: App) -> Chart")
        found.append(Example(file[:-3].replace("_", "-"), module.build))
    return found


def pod_template(obj: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The pod template of a workload, the pod itself for a Pod, None for anything else."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"):
        return obj["spec"]["template"]
    return None


def describe_shm(spec: Dict[str, Any]) -> str:
    """What a pod has at /dev/shm, as the TypeScript table says it."""
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    mounts = [m for c in containers for m in c.get("volumeMounts", []) if m["mountPath"] == SHM_MOUNT_PATH]
    if spec.get("hostIPC"):
        return "node's /dev/shm (hostIPC)"
    if not mounts:
        return "64Mi (runtime default)"
    volume = next((v for v in spec.get("volumes", []) if v["name"] == mounts[0]["name"]), {})
    if volume.get("emptyDir", {}).get("medium") == "Memory":
        return volume["emptyDir"].get("sizeLimit", "node memory (no sizeLimit)")
    if "hostPath" in volume:
        return f"host {volume['hostPath']['path']}"
    if "csi" in volume:
        return f"csi {volume['csi']['driver']}"
    return f"volume '{mounts[0]['name']}'"


def mounted_by(spec: Dict[str, Any]) -> List[str]:
    """The containers (app, sidecar and init) that mount something at /dev/shm."""
    containers = spec.get("containers", []) + spec.get("initContainers", [])
    return [c["name"] for c in containers if any(m["mountPath"] == SHM_MOUNT_PATH for m in c.get("volumeMounts", []))]


def shm_rows(objects: List[Dict[str, Any]]) -> List[List[str]]:
    """One row per workload: KIND/name, its /dev/shm, and the containers that mount it."""
    rows = []
    for obj in objects:
        template = pod_template(obj)
        if template is not None:
            spec = template["spec"]
            rows.append([f"{obj['kind']}/{obj['metadata']['name']}", describe_shm(spec), ",".join(mounted_by(spec)) or "-"])
    return rows


def render_table(rows: List[List[str]]) -> str:
    """Rows as an aligned text table."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows)
