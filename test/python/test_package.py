"""The installed distribution as PyPI will show it and pip will resolve it: its requirements hold no
cdk8s-plus (jsii makes every peer dependency a requirement; cdk8s-shm declares none), the module
imports alone, and its metadata and description are ready to publish.
"""
import ast
import importlib.metadata
import os
import re
import subprocess
import sys

from conftest import REPO, run

DIST = "cdk8s-shm"


def test_pip_show_lists_no_cdk8s_plus_among_the_requirements():
    shown = run([sys.executable, "-m", "pip", "show", DIST]).stdout
    requires = next(line for line in shown.splitlines() if line.startswith("Requires:"))
    assert "cdk8s" in requires and "constructs" in requires
    assert "cdk8s-plus" not in requires and "cdk8s_plus" not in requires
    assert not [r for r in importlib.metadata.requires(DIST) if "plus" in r]


def test_the_module_imports_alone_and_loads_no_cdk8s_plus():
    # A fresh interpreter, as `python -c "import cdk8s_shm"` runs it.
    loaded = run([sys.executable, "-c", "import sys, cdk8s_shm; print(sorted(m for m in sys.modules if m.startswith('cdk8s_plus')))"]).stdout
    assert loaded.strip() == "[]"


def test_the_metadata_says_what_pypi_needs():
    meta = importlib.metadata.metadata(DIST)
    assert meta["Name"] == DIST
    assert meta["License"] == "Apache-2.0"
    assert meta["Summary"].startswith("Right-sized /dev/shm for Kubernetes pods")
    assert meta["Home-page"].startswith("https://")
    classifiers = meta.get_all("Classifier")
    for expected in ("License :: OSI Approved", "Typing :: Typed", "Programming Language :: Python :: 3 :: Only"):
        assert expected in classifiers
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["Description-Content-Type"] == "text/markdown"


def test_the_licence_is_the_repository_s():
    files = importlib.metadata.files(DIST)
    licence = next(f for f in files if f.name == "LICENSE" and ".dist-info" in str(f.parent))
    with open(os.path.join(REPO, "LICENSE"), encoding="utf8") as f:
        assert licence.read_text(encoding="utf8") == f.read()


def test_the_description_is_the_readme_and_every_python_block_in_it_is_python():
    # jsii-pacmak relabels ```ts blocks as ```python on PyPI without translating them: the README
    # marks its TypeScript ```TypeScript, and this holds every block PyPI shows as Python to be Python.
    description = importlib.metadata.metadata(DIST).get_payload()
    assert "## Quick start" in description
    blocks = re.findall(r"^```python\n(.*?)^```", description, flags=re.M | re.S)
    assert len(blocks) >= 1
    for block in blocks:
        ast.parse(block)


def test_the_command_line_is_installed_with_it():
    command = os.path.join(os.path.dirname(sys.executable), "cdk8s-shm")
    assert os.access(command, os.X_OK)
    result = subprocess.run([command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "inject" in result.stdout and "plan" in result.stdout
