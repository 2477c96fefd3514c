#!/bin/sh
# Builds csi-sanity, the CSI conformance suite (kubernetes-csi/csi-test), from the Go module proxy
# with `go install`, for the conformance tests (npm run conformance). Cached by version outside the
# clone and idempotent: a second run only prints the path. Prints the binary's path on stdout;
# progress goes to stderr. Needs Go (1.22 or newer).
#
#   scripts/fetch-csi-sanity.sh   -> ~/.cache/cdk8s-shm/csi-sanity-v5.6.0/csi-sanity
set -eu
VERSION='v5.6.0'
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-shm/csi-sanity-$VERSION"
BIN="$CACHE/csi-sanity"
if [ ! -x "$BIN" ]; then
  command -v go >/dev/null || { echo "csi-sanity needs Go to build (go install); none is on PATH" >&2; exit 1; }
  mkdir -p "$CACHE"
  # Another test run may be building at the same time: build into a private directory and move
  # the binary into place at the end (mv within one file system is atomic).
  WORK=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  echo "building csi-sanity $VERSION from the Go module proxy ..." >&2
  # The machine is shared: two build jobs at most.
  GOBIN="$WORK" GOFLAGS=-mod=mod GOMAXPROCS=2 go install -p 2 "github.com/kubernetes-csi/csi-test/v5/cmd/csi-sanity@$VERSION" >&2
  mv "$WORK/csi-sanity" "$BIN"
fi
echo "$BIN"
