#!/usr/bin/env bash
# Installs, when missing, the Debian packages the e2e's real node runs on: containerd and runc
# (the runtime), the CNI plugins (the pods' bridge network), busybox-static (the node image),
# iptables (kube-proxy's Services), util-linux (nsenter, unshare) and iproute2 (the run's network
# namespace), and gcc to compile the image's small C programs. A machine that has them all is not
# touched. Needs root, as the node does.
set -euo pipefail
PACKAGES="containerd runc containernetworking-plugins busybox-static iptables util-linux iproute2 gcc libc6-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "e2e/node/packages.sh: the real node needs root, and these Debian packages:$missing" >&2
  exit 1
fi
echo "installing Debian packages for the real node:$missing" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >&2
