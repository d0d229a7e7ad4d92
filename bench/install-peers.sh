#!/usr/bin/env bash
# Installs the comparison peers (haproxy, nginx + stream module, caddy), wrk (keep-alive HTTP load) and the Go toolchain used to build
# the new-connection load generator (bench/load/tlsload). Idempotent: does nothing when all are present.
# A policy-rc.d stops the packages' postinst from starting system services (the bench starts its own
# instances), as /work/shared/peers-bench/install.sh does.
# Usage: sudo bench/install-peers.sh [--no-go]
set -euo pipefail
PKGS="haproxy nginx libnginx-mod-stream wrk caddy"
[ "${1:-}" = "--no-go" ] || PKGS="$PKGS golang-go"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -z "$missing" ]; then echo "install-peers: already installed:$PKGS"; exit 0; fi

echo "install-peers: installing$missing"
POLICY=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e $POLICY ]; then printf '#!/bin/sh\nexit 101\n' > $POLICY; chmod +x $POLICY; own_policy=1; fi
cleanup() { [ $own_policy = 1 ] && rm -f $POLICY; return 0; }
trap cleanup EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || true
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $missing
# stop any distro-started daemons so the bench ports are free (only the service pids, by pidfile)
for f in /run/nginx.pid /run/haproxy.pid; do [ -f $f ] && kill "$(cat $f)" 2>/dev/null || true; done
echo "install-peers: done"
