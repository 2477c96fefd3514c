#!/bin/sh
# What `npm run python` and the Python examples of `npm run examples` need besides Node.js: python3
# with its venv module and ensurepip (each environment they make gets pip from it, and jsii-pacmak
# makes one to build the wheel). Debian and Ubuntu ship venv and ensurepip apart from python3, in
# python3-venv: on such a machine this installs what is missing with apt-get (as root, or through
# sudo). Elsewhere it says what is missing and fails. .ci/run calls it first.
set -eu

if python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "python-prerequisites: python3 with its venv module and ensurepip is needed; install them with this system's package manager" >&2
  exit 1
fi
SUDO=
if [ "$(id -u)" != 0 ]; then
  SUDO=sudo
fi
echo "python-prerequisites: installing python3 and python3-venv with apt-get" >&2
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv
python3 -c 'import ensurepip, venv'
