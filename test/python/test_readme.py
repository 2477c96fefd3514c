"""Every Python block of the README is a program a user can paste into a Python cdk8s app: run with
this environment's Python, it synthesizes, and the quick start gives the sizes and limits its comments say.
"""
import os
import re
import subprocess
import sys

import pytest
import yaml

from conftest import REPO

with open(os.path.join(REPO, "README.md"), encoding="utf8") as f:
    BLOCKS = re.findall(r"^```python\n(.*?)^```", f.read(), flags=re.M | re.S)


def test_the_readme_has_a_python_quick_start():
    assert BLOCKS and "SharedMemory.add_to" in BLOCKS[0]


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_the_block_synthesizes(index, tmp_path):
    program = tmp_path / "main.py"
    program.write_text(BLOCKS[index], encoding="utf8")
    result = subprocess.run([sys.executable, str(program)], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    manifests = list((tmp_path / "dist").glob("*.k8s.yaml"))
    assert manifests
    objects = [o for m in manifests for o in yaml.safe_load_all(m.read_text(encoding="utf8")) if o]
    if index == 0:
        pods = {o["kind"]: o["spec"]["template"]["spec"] for o in objects if o["kind"] in ("Job", "Deployment")}
        sizes = {kind: v["emptyDir"]["sizeLimit"] for kind, pod in pods.items() for v in pod.get("volumes", []) if v["name"] == "dshm"}
        assert sizes == {"Job": "2560Mi", "Deployment": "16Gi"}
        # limit_follows: the trainer's 32Gi grows by the 2560Mi; the Deployment keeps its 96Gi (cdk8s-plus writes 98304Mi).
        limits = {kind: [c["resources"]["limits"]["memory"] for c in pod["containers"]] for kind, pod in pods.items()}
        assert limits == {"Job": ["35328Mi"], "Deployment": ["98304Mi"]}
