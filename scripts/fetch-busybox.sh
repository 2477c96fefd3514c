#!/bin/sh
# Fetches a static busybox (Debian's busybox-static package, with apt-get download: no install,
# nothing changes on the machine) for the CSI plugin's mount tests: the plugin runs the `mount`
# and `umount` of its image, which in the official Alpine node image are busybox's, so the tests
# run it against busybox as well as against util-linux. Cached by package version outside the
# clone and idempotent. Prints a directory holding `mount` and `umount` on stdout; progress goes
# to stderr.
#
#   scripts/fetch-busybox.sh   -> ~/.cache/cdk8s-shm/busybox-<version>/bin
set -eu
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/cdk8s-shm"
for dir in "$CACHE_ROOT"/busybox-*/bin; do
  if [ -x "$dir/mount" ]; then echo "$dir"; exit 0; fi
done
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || { echo "no apt-get/dpkg-deb here to fetch busybox-static" >&2; exit 1; }
mkdir -p "$CACHE_ROOT"
WORK=$(mktemp -d "$CACHE_ROOT/busybox-fetch.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
echo "fetching busybox-static with apt-get download ..." >&2
apt-get download busybox-static >&2 2>/dev/null || { apt-get update -qq >&2 && apt-get download busybox-static >&2; }
DEB=$(ls ./*.deb)
VERSION=$(dpkg-deb -f "$DEB" Version | tr ':~+' '---')
dpkg-deb -x "$DEB" root
TARGET="$CACHE_ROOT/busybox-$VERSION"
mkdir -p "$WORK/out/bin"
cp root/bin/busybox "$WORK/out/bin/busybox"
ln -s busybox "$WORK/out/bin/mount"
ln -s busybox "$WORK/out/bin/umount"
# Another test run may be fetching too: move into place at the end (atomic within one file system).
[ -d "$TARGET" ] || mv "$WORK/out" "$TARGET"
echo "$TARGET/bin"
