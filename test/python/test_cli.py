"""The `cdk8s-shm` command as `pip install cdk8s-shm` installs it (a script that runs the packaged
command line through the jsii runtime, in node): files, standard input and exit codes as from npm.
"""
import os
import subprocess
import sys

import yaml

from conftest import EXAMPLES

COMMAND = os.path.join(os.path.dirname(sys.executable), "cdk8s-shm")
VENDOR = os.path.join(EXAMPLES, "manifests", "vendor.yaml")


def cdk8s_shm(*args: str, stdin: str = None) -> subprocess.CompletedProcess:
    return subprocess.run([COMMAND, *args], input=stdin, capture_output=True, text=True)


def test_plan_reads_a_file_and_prints_what_each_workload_gets():
    result = cdk8s_shm("plan", "-f", VENDOR)
    assert result.returncode == 0, result.stderr
    ray = next(line for line in result.stdout.splitlines() if line.startswith("Deployment/ray-worker"))
    # WORKLOAD NAMESPACE POD-LIMIT BASIS (container) /DEV/SHM ACTION
    assert ray.split()[:7] == ["Deployment/ray-worker", "analytics", "16Gi", "16Gi", "(ray)", "8Gi", "inject"]


def test_inject_reads_standard_input_and_writes_manifests():
    with open(VENDOR, encoding="utf8") as f:
        result = cdk8s_shm("inject", "-f", "-", stdin=f.read())
    assert result.returncode == 0, result.stderr
    ray = next(o for o in yaml.safe_load_all(result.stdout) if o and o["metadata"]["name"] == "ray-worker")
    [volume] = [v for v in ray["spec"]["template"]["spec"]["volumes"] if v["name"] == "dshm"]
    assert volume["emptyDir"] == {"medium": "Memory", "sizeLimit": "8Gi"}


def test_check_exits_1_when_something_would_change():
    assert cdk8s_shm("check", "-f", VENDOR).returncode == 1
