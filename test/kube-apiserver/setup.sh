#!/bin/bash
# setup.sh - install what build.sh and up.sh need, from Debian bookworm packages only.
# Mirrors the machine's own apt sources as deb-src entries (needed by `apt-get source
# kubernetes`). Idempotent. Run as root.
set -euo pipefail
have_src() { grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; }
if ! have_src; then
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    grep -q '^Types: deb$' "$f" || continue
    sed 's/^Types: deb$/Types: deb-src/' "$f" > "${f%.sources}-src.sources"
  done
  if [ -f /etc/apt/sources.list ] && grep -q '^deb ' /etc/apt/sources.list; then
    sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > /etc/apt/sources.list.d/mirror-src.list
  fi
fi
have_src || { echo "setup.sh: found no Debian apt source to mirror as deb-src" >&2; exit 1; }
# A mirror sometimes fails one (multiarch) index: retry, then go on with
# what was fetched (ingressd's copy of this script; the rest is as given).
for i in 1 2 3; do apt-get update -q && break; sleep $((i * 5)); done || true
for i in 1 2 3; do
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    dpkg-dev golang-go golang-github-modern-go-reflect2-dev etcd-server etcd-client openssl curl jq && break
  sleep $((i * 5)); apt-get update -q || true
done
