#!/bin/sh
# A Python virtual environment with the wheel jsii-pacmak built (dist/python, by `npx projen
# package:python`) and, from PyPI, what test/python/requirements.txt lists: cdk8s and cdk8s-plus-33
# as a Python cdk8s app has them, and the test tools.
#
#   scripts/python-env.sh VENV            a fresh one: VENV is removed and made again (npm run python)
#   scripts/python-env.sh VENV --reuse    VENV is kept if it exists; only the wheel is installed again
#                                         (npm run examples)
set -eu
VENV=${1:?usage: $0 VENV [--reuse]}
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
set -- "$ROOT"/dist/python/cdk8s_shm-*.whl
if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "python-env: expected one wheel in dist/python, found: $*" >&2
  exit 1
fi
WHEEL=$1
PIP="$VENV/bin/pip --disable-pip-version-check --quiet"
if [ "${2:-}" = "--reuse" ] && [ -x "$VENV/bin/python" ]; then
  # Its version is the same (0.0.0) between releases: pip would keep the old one without --force-reinstall.
  $PIP install --force-reinstall --no-deps "$WHEEL"
else
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  $PIP install "$WHEEL" -r "$ROOT/test/python/requirements.txt"
fi
"$VENV/bin/python" -c 'import importlib.metadata as m; print("python-env:", ", ".join(f"{d} {m.version(d)}" for d in ("cdk8s-shm", "cdk8s", "cdk8s-plus-33", "constructs", "jsii")))'
