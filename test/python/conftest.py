"""The Python suite of cdk8s-shm (`npm run python`): the wheel jsii-pacmak built, installed from its
file into a fresh virtual environment with cdk8s and cdk8s-plus-33 from PyPI, used as a Python app
uses it. Every fixture synthesizes for real: the Python examples through the jsii runtime, the
TypeScript ones through ts-node from the sources, as `npm run examples` does.
"""
import os
import subprocess
import sys
from typing import Any, Dict, List

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLES = os.path.join(REPO, "examples")
sys.path.insert(0, os.path.join(EXAMPLES, "python"))


def run(args: List[str], **kwargs: Any) -> subprocess.CompletedProcess:
    """Runs a command from the repository; fails the test with both outputs if it fails."""
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def load_manifests(outdir: str) -> Dict[str, List[Dict[str, Any]]]:
    """The objects of every chart an app wrote to `outdir`, by chart (the example's name)."""
    manifests = {}
    for file in sorted(os.listdir(outdir)):
        with open(os.path.join(outdir, file), encoding="utf8") as f:
            manifests[file[: -len(".yaml")]] = [o for o in yaml.safe_load_all(f) if o]
    return manifests


@pytest.fixture(scope="session")
def typescript_manifests(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Dict[str, Any]]]:
    """What the TypeScript examples synthesize (examples/*.ts, cdk8s-plus-28), by example."""
    outdir = str(tmp_path_factory.mktemp("typescript"))
    ts_node = os.path.join(REPO, "node_modules", ".bin", "ts-node")
    # Transpiled only: `npm run examples` type-checks the same files; here only what they synthesize counts.
    run([ts_node, "--transpile-only", "--project", "examples/tsconfig.json", "--require", "./scripts/self-import.js", "examples/synth.ts", outdir])
    return load_manifests(outdir)


@pytest.fixture(scope="session")
def python_manifests(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Dict[str, Any]]]:
    """What the Python examples synthesize (examples/python/*.py, cdk8s-plus-33), by example, run as a user runs them."""
    outdir = str(tmp_path_factory.mktemp("python"))
    run([sys.executable, os.path.join(EXAMPLES, "python", "synth.py"), outdir])
    return load_manifests(outdir)
