#!/usr/bin/env bash
# Builds the Kubernetes binaries of one e2e module from the Go module proxy, once: etcd and the
# commands the module's go.mod lists as tools (e2e/kube: the control plane and the node of
# v1.36.3; e2e/kube-1.37: a v1.37.2 control plane). The binaries are cached outside the clone,
# keyed by the Kubernetes version and a hash of the module, so a second run only prints the path.
# Prints the directory that holds the binaries on stdout; progress goes to stderr.
#
#   e2e/kube/build.sh                 -> ~/.cache/cdk8s-shm/kube-v1.36.3-<hash>/bin
#   e2e/kube/build.sh e2e/kube-1.37   -> ~/.cache/cdk8s-shm/kube-v1.37.2-<hash>/bin
#
# CDK8S_SHM_CACHE moves the cache (default ~/.cache/cdk8s-shm). The machine has 2 cores shared with
# others: the build runs with -p 2 and GOMAXPROCS=2.
set -euo pipefail
HERE=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
MODULE=$(CDPATH= cd -- "${1:-$HERE}" && pwd)
cd "$MODULE"
NAME=${MODULE#"$(dirname "$HERE")/"}
command -v go >/dev/null || { echo "e2e/kube/build.sh needs Go (1.26 or newer, with the Go module proxy) on PATH; npm test does not" >&2; exit 1; }

# The one place the version lives is go.mod's require of k8s.io/kubernetes.
KUBE_VERSION=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ { print $2; exit }' go.mod)
[ -n "$KUBE_VERSION" ] || { echo "e2e/$NAME/go.mod: no require of k8s.io/kubernetes" >&2; exit 1; }
STAGING="v0.${KUBE_VERSION#v1.}"
# Each staging module must be the one published with that release, or the build mixes two releases.
WRONG=$(awk -v want="$STAGING" '$2 == "=>" && $1 ~ /^k8s\.io\// && $4 != want { print $1 " => " $3 " " $4 }' go.mod)
if [ -n "$WRONG" ]; then
  echo "e2e/$NAME/go.mod requires k8s.io/kubernetes $KUBE_VERSION, so every staging module must be pinned to $STAGING; these are not:" >&2
  echo "$WRONG" >&2
  exit 1
fi

# What the release build stamps in (hack/lib/version.sh): without it the binaries report v0.0.0,
# and kubectl warns about version skew.
MINOR=${KUBE_VERSION#v1.}
MINOR=${MINOR%%.*}
LDFLAGS="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LDFLAGS="$LDFLAGS -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

CACHE="${CDK8S_SHM_CACHE:-$HOME/.cache/cdk8s-shm}"
# What the module builds: etcd (its cmd/etcd) and the tools its go.mod lists.
# (a block, or one line: go mod tidy writes a single tool on one line)
TOOLS=$(awk '/^tool \(/ { on = 1; next } on && /^\)/ { on = 0 } on { print $1 } /^tool [^(]/ { print $2 }' go.mod)
[ -n "$TOOLS" ] || { echo "e2e/$NAME/go.mod lists no tools to build" >&2; exit 1; }
COMMANDS="etcd $(for t in $TOOLS; do basename "$t"; done | paste -sd ' ')"

# The cache key: the version, and a hash of everything that decides the binaries.
HASH=$( (cat go.mod go.sum cmd/etcd/main.go; echo "$LDFLAGS") | sha256sum | cut -c1-12)
OUT="$CACHE/kube-$KUBE_VERSION-$HASH"
if [ -f "$OUT/complete" ]; then
  echo "$OUT/bin"
  exit 0
fi

mkdir -p "$CACHE"
# Another run may build at the same time: build into a private directory and move it into place
# at the end (rename within one file system is atomic; the loser's copy is dropped).
WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
echo "building Kubernetes $KUBE_VERSION ($COMMANDS) into $OUT; a cold build takes a while ..." >&2
START=$(date +%s)

mkdir -p "$WORK/bin"
# -mod=readonly: go.sum decides every module; -buildvcs=false: the binaries do not depend on the clone's git state.
# shellcheck disable=SC2086 # TOOLS is a list of package paths
GOMAXPROCS=2 CGO_ENABLED=0 GOFLAGS='-mod=readonly -buildvcs=false' go build -p 2 -trimpath -ldflags "$LDFLAGS" -o "$WORK/bin/" ./cmd/etcd $TOOLS
for c in $COMMANDS; do
  [ -x "$WORK/bin/$c" ] || { echo "build did not produce $c" >&2; exit 1; }
done
echo "$KUBE_VERSION built in $(( $(date +%s) - START )) s" | tee "$WORK/build-time" >&2
touch "$WORK/complete"
if ! mv -T "$WORK" "$OUT" 2>/dev/null; then
  [ -f "$OUT/complete" ] || { echo "could not move the build into $OUT" >&2; exit 1; }
fi
echo "$OUT/bin"
